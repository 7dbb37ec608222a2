//! C types as every debug-info source describes them: one small tree that
//! BTF and DWARF both convert to, so the rest of the compiler never sees
//! either format. Aggregates are named, not expanded (their members are
//! asked for separately), so a `CType` is always finite.

use std::fmt;

/// Pointer size in bytes: both supported architectures (x86-64, arm64) are LP64.
pub const POINTER_SIZE: u64 = 8;

/// A C type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CType {
    /// `void` (also an unknown or unrepresentable type).
    Void,
    /// An integer type, `char` and `_Bool` included.
    Int {
        /// Its C spelling (`unsigned int`, `char`, `_Bool`, `long long unsigned int`).
        name: String,
        /// Size in bytes.
        size: u64,
        /// Whether it is signed.
        signed: bool,
    },
    /// A floating-point type.
    Float {
        /// Its C spelling.
        name: String,
        /// Size in bytes.
        size: u64,
    },
    /// `T *`.
    Pointer(Box<CType>),
    /// `T[len]`; `len` is `None` for flexible arrays (`T[]`).
    Array {
        /// The element type.
        elem: Box<CType>,
        /// The element count, when known.
        len: Option<u64>,
    },
    /// A struct or union, by tag; `name` is `None` for an anonymous one.
    Aggregate {
        /// `struct` or `union`.
        kind: AggregateKind,
        /// The tag (`task_struct`), if any.
        name: Option<String>,
        /// Size in bytes; `None` for a declaration without definition.
        size: Option<u64>,
    },
    /// An enum, by tag.
    Enum {
        /// The tag, if any.
        name: Option<String>,
        /// Size in bytes.
        size: u64,
        /// Whether its values are signed.
        signed: bool,
    },
    /// A typedef name and what it stands for.
    Typedef {
        /// The typedef's name (`pid_t`).
        name: String,
        /// The aliased type.
        target: Box<CType>,
    },
    /// `const T`.
    Const(Box<CType>),
    /// `volatile T`.
    Volatile(Box<CType>),
    /// A function type (only ever seen behind a pointer).
    Function {
        /// The return type.
        ret: Box<CType>,
        /// Parameter types.
        params: Vec<CType>,
        /// Whether it ends in `...`.
        variadic: bool,
    },
}

/// `struct` or `union`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateKind {
    /// `struct`.
    Struct,
    /// `union`.
    Union,
}

impl AggregateKind {
    /// The C keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            AggregateKind::Struct => "struct",
            AggregateKind::Union => "union",
        }
    }
}

impl CType {
    /// The type with typedefs, `const` and `volatile` removed.
    pub fn strip(&self) -> &CType {
        match self {
            CType::Typedef { target, .. } => target.strip(),
            CType::Const(t) | CType::Volatile(t) => t.strip(),
            t => t,
        }
    }

    /// Size in bytes; `None` for `void`, functions and incomplete types.
    pub fn size(&self) -> Option<u64> {
        match self {
            CType::Void | CType::Function { .. } => None,
            CType::Int { size, .. } | CType::Float { size, .. } | CType::Enum { size, .. } => {
                Some(*size)
            }
            CType::Pointer(_) => Some(POINTER_SIZE),
            CType::Array { elem, len } => elem.size()?.checked_mul((*len)?),
            CType::Aggregate { size, .. } => *size,
            CType::Typedef { target, .. } => target.size(),
            CType::Const(t) | CType::Volatile(t) => t.size(),
        }
    }

    /// Whether values of this type are signed (integers and enums only).
    pub fn is_signed(&self) -> bool {
        match self.strip() {
            CType::Int { signed, .. } | CType::Enum { signed, .. } => *signed,
            _ => false,
        }
    }

    /// Whether this is (after stripping) a pointer.
    pub fn is_pointer(&self) -> bool {
        matches!(self.strip(), CType::Pointer(_))
    }

    /// What a pointer (or array) points to, after stripping.
    pub fn pointee(&self) -> Option<&CType> {
        match self.strip() {
            CType::Pointer(t) => Some(t),
            CType::Array { elem, .. } => Some(elem),
            _ => None,
        }
    }

    /// Whether this is a `char *`-like string pointer or `char[N]` array.
    pub fn is_string(&self) -> bool {
        matches!(self.pointee().map(CType::strip), Some(CType::Int { name, size: 1, .. }) if name.contains("char"))
    }

    /// The name to look an aggregate up by, through pointers and typedefs:
    /// `struct file *` gives `struct file`, `atomic_t` gives `atomic_t`
    /// (a typedef of an anonymous struct), `int` gives `None`.
    pub fn aggregate_name(&self) -> Option<String> {
        match self {
            CType::Aggregate {
                kind,
                name: Some(n),
                ..
            } => Some(format!("{} {n}", kind.keyword())),
            CType::Typedef { name, target } => match target.strip() {
                CType::Aggregate { name: None, .. } => Some(name.clone()),
                CType::Aggregate { .. } | CType::Pointer(_) => target.aggregate_name(),
                _ => None,
            },
            CType::Const(t) | CType::Volatile(t) | CType::Pointer(t) => t.aggregate_name(),
            _ => None,
        }
    }

    /// The C spelling in SystemTap's style: `struct file*`, `const char*`,
    /// `char[16]`, `int (*)(void*, int)`.
    pub fn render(&self) -> String {
        let (prefix, suffix) = self.declarator_parts();
        format!("{prefix}{suffix}")
    }

    /// The declarator split around where a name would go.
    fn declarator_parts(&self) -> (String, String) {
        match self {
            CType::Void => ("void".into(), String::new()),
            CType::Int { name, .. } | CType::Float { name, .. } => (name.clone(), String::new()),
            CType::Aggregate { kind, name, .. } => (
                format!(
                    "{} {}",
                    kind.keyword(),
                    name.as_deref().unwrap_or("<anonymous>")
                ),
                String::new(),
            ),
            CType::Enum { name, .. } => (
                format!("enum {}", name.as_deref().unwrap_or("<anonymous>")),
                String::new(),
            ),
            CType::Typedef { name, .. } => (name.clone(), String::new()),
            CType::Const(t) => qualified("const", t),
            CType::Volatile(t) => qualified("volatile", t),
            CType::Pointer(t) => match t.as_ref() {
                CType::Function { .. } | CType::Array { .. } => {
                    let (p, s) = t.declarator_parts();
                    (format!("{p}(*"), format!("){s}"))
                }
                _ => {
                    let (p, s) = t.declarator_parts();
                    (format!("{p}*"), s)
                }
            },
            CType::Array { elem, len } => {
                let (p, s) = elem.declarator_parts();
                let n = len.map(|n| n.to_string()).unwrap_or_default();
                (p, format!("[{n}]{s}"))
            }
            CType::Function {
                ret,
                params,
                variadic,
            } => {
                let mut list: Vec<String> = params.iter().map(CType::render).collect();
                if *variadic {
                    list.push("...".into());
                }
                if list.is_empty() {
                    list.push("void".into());
                }
                let (p, s) = ret.declarator_parts();
                (format!("{p} "), format!("({}){s}", list.join(", ")))
            }
        }
    }
}

/// `const T` for simple `T`, `T* const` for pointers.
fn qualified(qual: &str, t: &CType) -> (String, String) {
    let (p, s) = t.declarator_parts();
    if matches!(t, CType::Pointer(_)) {
        (format!("{p} {qual}"), s)
    } else {
        (format!("{qual} {p}"), s)
    }
}

impl fmt::Display for CType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// One named parameter of a function, syscall or tracepoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Its name (`argN` when the source has none).
    pub name: String,
    /// Its type.
    pub ty: CType,
}

/// A function's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prototype {
    /// The function's name.
    pub name: String,
    /// The return type.
    pub ret: CType,
    /// The parameters, or `None` when the source knows the function exists
    /// but not its parameters (the calling-convention fallback).
    pub params: Option<Vec<Param>>,
    /// Whether it ends in `...`.
    pub variadic: bool,
}

impl Prototype {
    /// `long vfs_read(struct file* file, char* buf, ...)`, for listings and
    /// snapshots.
    pub fn render(&self) -> String {
        let params = match &self.params {
            None => "?".to_string(),
            Some(ps) => {
                let mut list: Vec<String> = ps
                    .iter()
                    .map(|p| format!("{} {}", p.ty.render(), p.name))
                    .collect();
                if self.variadic {
                    list.push("...".into());
                }
                if list.is_empty() {
                    "void".into()
                } else {
                    list.join(", ")
                }
            }
        };
        format!("{} {}({params})", self.ret.render(), self.name)
    }
}

/// One step of a member access chain (`->real_parent`, `.pid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldStep {
    /// The member's name.
    pub name: String,
    /// Whether the value reached so far is a pointer that must be
    /// dereferenced before adding `offset` (`->` rather than `.`).
    pub deref: bool,
    /// Byte offset of the member within the aggregate it is reached from
    /// (anonymous struct/union members already added in).
    pub offset: u64,
    /// For a bitfield: its bit offset within the byte at `offset` and its
    /// width in bits.
    pub bitfield: Option<(u32, u32)>,
    /// The member's type.
    pub ty: CType,
}

/// A resolved member access chain, for `$p->a->b` and `@cast(p, "T")->a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// The aggregate the chain starts from (`struct task_struct`).
    pub base: String,
    /// One step per member name.
    pub steps: Vec<FieldStep>,
}

impl FieldPath {
    /// The type of the last member.
    pub fn ty(&self) -> &CType {
        &self
            .steps
            .last()
            .expect("a field path has at least one step")
            .ty
    }
}

/// A struct or union's members, one level deep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `struct` or `union`.
    pub kind: AggregateKind,
    /// The tag or typedef name looked up.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Members in declaration order; anonymous members have an empty name.
    pub members: Vec<Member>,
}

/// One member of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Its name (empty for an anonymous struct/union member).
    pub name: String,
    /// Offset in bits from the start of the aggregate.
    pub bit_offset: u64,
    /// Width in bits, for a bitfield.
    pub bitfield_size: Option<u32>,
    /// Its type.
    pub ty: CType,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int() -> CType {
        CType::Int {
            name: "int".into(),
            size: 4,
            signed: true,
        }
    }

    fn char_() -> CType {
        CType::Int {
            name: "char".into(),
            size: 1,
            signed: true,
        }
    }

    #[test]
    fn renders_in_systemtap_style() {
        let file = CType::Aggregate {
            kind: AggregateKind::Struct,
            name: Some("file".into()),
            size: Some(232),
        };
        assert_eq!(
            CType::Pointer(Box::new(file.clone())).render(),
            "struct file*"
        );
        assert_eq!(
            CType::Pointer(Box::new(CType::Const(Box::new(char_())))).render(),
            "const char*"
        );
        assert_eq!(
            CType::Array {
                elem: Box::new(char_()),
                len: Some(16)
            }
            .render(),
            "char[16]"
        );
        let f = CType::Function {
            ret: Box::new(int()),
            params: vec![CType::Pointer(Box::new(CType::Void)), int()],
            variadic: false,
        };
        assert_eq!(CType::Pointer(Box::new(f)).render(), "int (*)(void*, int)");
        assert_eq!(
            CType::Const(Box::new(CType::Pointer(Box::new(char_())))).render(),
            "char* const"
        );
    }

    #[test]
    fn sizes_signedness_and_aggregate_names() {
        let pid_t = CType::Typedef {
            name: "pid_t".into(),
            target: Box::new(CType::Typedef {
                name: "__kernel_pid_t".into(),
                target: Box::new(int()),
            }),
        };
        assert_eq!(pid_t.size(), Some(4));
        assert!(pid_t.is_signed());
        let comm = CType::Array {
            elem: Box::new(char_()),
            len: Some(16),
        };
        assert_eq!(comm.size(), Some(16));
        assert!(comm.is_string());
        let atomic = CType::Typedef {
            name: "atomic_t".into(),
            target: Box::new(CType::Aggregate {
                kind: AggregateKind::Struct,
                name: None,
                size: Some(4),
            }),
        };
        assert_eq!(atomic.aggregate_name().as_deref(), Some("atomic_t"));
        let task = CType::Pointer(Box::new(CType::Aggregate {
            kind: AggregateKind::Struct,
            name: Some("task_struct".into()),
            size: None,
        }));
        assert_eq!(task.aggregate_name().as_deref(), Some("struct task_struct"));
        assert_eq!(int().aggregate_name(), None);
    }
}
