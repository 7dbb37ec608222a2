//! stapkit's translator: SystemTap scripts in, loadable kernel modules out.
//!
//! The pipeline runs in one direction, each stage seeing only the output of
//! the one before it:
//!
//! ```text
//! syntax (tokens, AST) -> sema (resolution, types) -> ir -> codegen (C text)
//!        -> kernel (header trees, kbuild, module checks) -> vm (QEMU runs)
//! ```
//!
//! [`driver`] strings the passes together for the `stap` binary;
//! [`matrix`] runs many scripts on many kernels for `stap-matrix`;
//! [`ship`] makes bundles and signed modules for hosts without a compiler.

pub mod arch;
pub mod codegen;
pub mod debuginfo;
pub mod diag;
pub mod driver;
pub mod ir;
pub mod kernel;
pub mod markers;
pub mod matrix;
pub mod modcache;
pub mod runtime;
pub mod runtime_object;
pub mod sema;
pub mod ship;
pub mod syntax;
pub mod text;
pub mod vm;

/// ELF objects shaped as kernel modules, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/elf_fixture/mod.rs"]
mod elf_fixture;
