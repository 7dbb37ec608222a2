//! The one question-answering interface every debug-information source
//! implements ([`TypeSource`]): DWARF, BTF, and the calling-convention
//! fallback that only knows a function exists and where its arguments are.
//! [`KernelInfo`](super::KernelInfo) asks them in that order.

use std::fmt;

use super::btf::Btf;
use super::callconv::Arch;
use super::cdecl::TypeNames;
use super::ctype::{CType, FieldPath, Layout, Prototype};
use super::dwarf::DwarfKernel;
use super::error::DebugInfoError;

/// Where an answer came from (reported under `stap -v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// DWARF from the debug vmlinux.
    Dwarf,
    /// BTF from the kernel image.
    Btf,
    /// The architecture's calling convention (no type information).
    CallingConvention,
    /// The tree's headers (tracepoints, syscalls).
    Headers,
    /// `System.map`.
    SystemMap,
    /// `Module.symvers`.
    Symvers,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Dwarf => "DWARF",
            Source::Btf => "BTF",
            Source::CallingConvention => "calling convention",
            Source::Headers => "headers",
            Source::SystemMap => "System.map",
            Source::Symvers => "Module.symvers",
        })
    }
}

/// An answer and the source that gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The answer.
    pub value: T,
    /// Who answered.
    pub source: Source,
}

/// What a source knows about a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFacts {
    /// Its prototype (parameters `None` from the calling-convention fallback).
    pub prototype: Prototype,
    /// Whether an out-of-line copy exists (something a kprobe can hit).
    pub out_of_line: bool,
    /// How many inlined copies exist; `None` when the source cannot tell.
    pub inlined: Option<u32>,
    /// Some places it was inlined into (`caller@file:line`), DWARF only.
    pub inline_sites: Vec<String>,
    /// The declaring file (`fs/sync.c`), DWARF only.
    pub file: Option<String>,
    /// The declaration line, DWARF only.
    pub line: Option<u32>,
}

/// A source of function and type facts.
pub trait TypeSource {
    /// Which source this is.
    fn source(&self) -> Source;
    /// What the source knows about function `name`; `None` if nothing.
    fn function(&self, name: &str) -> Option<FunctionFacts>;
    /// The layout of a struct, union or typedef of one.
    fn layout(&self, name: &str) -> Result<Layout, DebugInfoError>;
    /// A member chain from aggregate `base` (see [`FieldPath`]).
    fn member_path(&self, base: &str, path: &[&str]) -> Result<FieldPath, DebugInfoError>;
    /// A named type (`pid_t`, `struct stat`), for header declarations.
    fn named_type(&self, name: &str) -> Option<CType>;
}

impl TypeSource for Btf {
    fn source(&self) -> Source {
        Source::Btf
    }

    fn function(&self, name: &str) -> Option<FunctionFacts> {
        Some(FunctionFacts {
            prototype: self.prototype(name)?,
            out_of_line: true,
            inlined: None,
            inline_sites: Vec::new(),
            file: None,
            line: None,
        })
    }

    fn layout(&self, name: &str) -> Result<Layout, DebugInfoError> {
        Btf::layout(self, name)
    }

    fn member_path(&self, base: &str, path: &[&str]) -> Result<FieldPath, DebugInfoError> {
        Btf::member_path(self, base, path)
    }

    fn named_type(&self, name: &str) -> Option<CType> {
        TypeNames::named_type(self, name)
    }
}

impl TypeSource for DwarfKernel {
    fn source(&self) -> Source {
        Source::Dwarf
    }

    fn function(&self, name: &str) -> Option<FunctionFacts> {
        let all = self.functions(name);
        let best = all.iter().max_by_key(|f| (f.out_of_line, f.inlined))?;
        Some(FunctionFacts {
            prototype: self.prototype(name, best.file.as_deref())?,
            out_of_line: best.out_of_line,
            inlined: Some(all.iter().map(|f| f.inlined).sum()),
            inline_sites: all.iter().flat_map(|f| f.inline_sites.clone()).collect(),
            file: best.file.clone(),
            line: Some(best.line),
        })
    }

    fn layout(&self, name: &str) -> Result<Layout, DebugInfoError> {
        DwarfKernel::layout(self, name)
    }

    fn member_path(&self, base: &str, path: &[&str]) -> Result<FieldPath, DebugInfoError> {
        DwarfKernel::member_path(self, base, path)
    }

    fn named_type(&self, name: &str) -> Option<CType> {
        TypeNames::named_type(self, name)
    }
}

/// The last resort: a function exists if a symbol table says so, its
/// arguments are wherever the calling convention puts them, and nothing
/// is known about types.
#[derive(Debug, Clone)]
pub struct CallingConvention {
    /// The architecture.
    pub arch: Arch,
    /// Known function names, sorted (System.map text symbols, or exports).
    pub functions: Vec<String>,
}

impl TypeSource for CallingConvention {
    fn source(&self) -> Source {
        Source::CallingConvention
    }

    fn function(&self, name: &str) -> Option<FunctionFacts> {
        self.functions
            .binary_search_by(|f| f.as_str().cmp(name))
            .ok()?;
        Some(FunctionFacts {
            prototype: Prototype {
                name: name.to_string(),
                ret: CType::Int {
                    name: "long".into(),
                    size: 8,
                    signed: true,
                },
                params: None,
                variadic: false,
            },
            out_of_line: true,
            inlined: None,
            inline_sites: Vec::new(),
            file: None,
            line: None,
        })
    }

    fn layout(&self, name: &str) -> Result<Layout, DebugInfoError> {
        Err(DebugInfoError::NoSuchType {
            name: name.to_string(),
            source: "calling convention (no type information)".into(),
        })
    }

    fn member_path(&self, base: &str, _: &[&str]) -> Result<FieldPath, DebugInfoError> {
        self.layout(base)
            .map(|_| unreachable!("the calling convention has no layouts"))
    }

    fn named_type(&self, _: &str) -> Option<CType> {
        None
    }
}

impl TypeNames for Btf {
    fn named_type(&self, name: &str) -> Option<CType> {
        self.named_type_ctype(name)
    }
}
