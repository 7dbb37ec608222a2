//! What the kernel looks like without compiling against it: symbols
//! (System.map, the image's ELF), function prototypes and struct layouts
//! (BTF from the image, DWARF from a -dbg package), tracepoints, syscalls.

pub mod btf;
pub mod ctype;
pub mod error;
pub mod image;
mod fields;
pub mod similar;

pub use ctype::{AggregateKind, CType, FieldPath, FieldStep, Layout, Member, Param, Prototype};
pub use error::DebugInfoError;
