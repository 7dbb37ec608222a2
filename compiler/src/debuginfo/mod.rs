//! What the kernel looks like without compiling against it: function
//! prototypes and struct layouts (DWARF from a `-dbg` vmlinux, BTF from the
//! image), symbols and the kprobe blacklist (`System.map`), exports
//! (`Module.symvers`), tracepoints and syscalls (the tree's headers), and
//! where arguments live (the calling convention).
//!
//! Entry point: [`KernelInfo`], built from [`KernelFiles`] (usually
//! `KernelFiles::from_tree(&HeaderTree)`), asks DWARF, then BTF, then the
//! calling convention ([`TypeSource`]) and says which one answered
//! ([`Sourced`]). Answers use the source-neutral [`CType`] family.
//!
//! ```text
//! image ──► image (unpack, cache .BTF) ──► btf ─┐
//! -dbg vmlinux ──► dwarf (gimli, cached index) ─┼─► source::TypeSource ─► info::KernelInfo
//! System.map / Module.symvers ──► symbols ──────┘        ▲
//! headers ──► tracepoints, syscalls (cheader, cdecl) ────┘ events
//! ```
//!
//! **Architecture Invariant:** nothing here knows the SystemTap language or
//! generates C; it answers questions about one kernel. It never loads a
//! module and never runs the kernel.

#![warn(missing_docs)]

pub mod btf;
pub mod callconv;
pub mod cdecl;
pub mod cfi;
pub mod cheader;
pub mod ctype;
pub mod debugfile;
pub mod debuginfod;
pub mod dwarf;
pub mod error;
pub mod events;
mod fields;
pub mod file_offsets;
pub mod files;
pub mod frame_base;
pub mod functions;
pub mod image;
pub mod info;
pub mod inline;
pub mod libraries;
pub mod module_types;
pub mod plt;
pub mod probeable;
pub mod programs;
pub mod sdt;
pub mod source;
pub mod statements;
mod suggest;
pub mod symbols;
pub mod syscalls;
pub mod testprog;
pub mod tracepoints;
pub mod umodule;
pub mod userdebug;
pub mod variables;

/// A tracepoint one of the kernel's own modules defines.
pub use crate::kernel::module_tracepoints::ModuleTracepoint;
pub use callconv::{
    arg_location, param_locations, return_register, syscall_arg_offset, syscall_arg_register, Arch,
    ArgLocation, ArgShape,
};
pub use ctype::{AggregateKind, CType, FieldPath, FieldStep, Layout, Member, Param, Prototype};
pub use error::DebugInfoError;
pub use events::{SyscallInfo, TracepointMatches};
pub use files::KernelFiles;
pub use functions::{BlacklistAnswer, Suggest};
pub use info::KernelInfo;
pub use programs::UserPrograms;
pub use source::{FunctionFacts, Source, Sourced, TypeSource};
pub use tracepoints::{TraceParam, Tracepoint};
