//! Small text algorithms every stage shares: shell-style globs as
//! SystemTap matches probe points and preprocessor conditions (`glob`),
//! "did you mean" suggestions (`similar`), stable content hashes for names
//! and cache keys (`hash`) and the word splitting of script header lines
//! (`header`: `# matrix:`, `# oracle:`, `//@`), and where a file that must
//! be UTF-8 is not (`utf8`).
//!
//! **Architecture Invariant:** `text` depends on nothing else in the crate,
//! so `syntax`, `sema`, `debuginfo`, `kernel`, `matrix` and xtask can all use
//! it without new edges between them.

pub mod glob;
pub mod hash;
pub mod header;
pub mod similar;
pub mod utf8;
