//! The SystemTap language front end: preprocessor, lexer, parser, AST.
//!
//! **Architecture Invariant:** this module knows nothing of the rest of the
//! compiler; it depends only on [`crate::diag`].
