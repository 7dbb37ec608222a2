//! C parameter declarations as written in headers (`const char __user
//! *filename`, `struct task_struct *prev`, `unsigned long`), turned into a
//! name and a [`CType`]. Named types (`pid_t`, `struct stat`) are resolved
//! through a [`TypeNames`] source; builtin integers use the LP64 sizes.

use super::ctype::{AggregateKind, CType};

/// Looks named types up (BTF or DWARF).
pub trait TypeNames {
    /// The type called `name`: a typedef (`pid_t`), `struct X`, `union X`
    /// or `enum X`.
    fn named_type(&self, name: &str) -> Option<CType>;
}

/// Resolves nothing: builtin types only.
pub struct NoTypes;

impl TypeNames for NoTypes {
    fn named_type(&self, _: &str) -> Option<CType> {
        None
    }
}

/// A parameter as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Its name, if the declaration has one.
    pub name: Option<String>,
    /// The declaration text, normalised (`const char __user *filename`).
    pub text: String,
    /// Whether it points into user space (`__user`).
    pub user: bool,
    /// Its type.
    pub ty: CType,
}

/// Annotations that do not change the type.
const IGNORED: &[&str] = &[
    "__user",
    "__rcu",
    "__iomem",
    "__percpu",
    "__force",
    "__kernel",
    "__must_check",
    "register",
    "__attribute_const__",
    "__maybe_unused",
    "__nocast",
    "__private",
];

/// Words that make up builtin type names.
const BUILTIN_WORDS: &[&str] = &[
    "void", "char", "short", "int", "long", "signed", "unsigned", "_Bool", "bool", "float",
    "double",
];

/// Parses one parameter declaration; `None` for `void` or `...`.
pub fn parse_param(decl: &str, types: &dyn TypeNames) -> Option<Declared> {
    let text = decl.split_whitespace().collect::<Vec<_>>().join(" ");
    if text == "void" || text == "..." || text.is_empty() {
        return None;
    }
    let user = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == "__user");
    // Function pointers: `ret (*name)(args)`.
    if let Some(star) = text.find("(*") {
        let rest = &text[star + 2..];
        let end = rest.find(')').unwrap_or(rest.len());
        let name = rest[..end].trim();
        let ret = parse_param(&text[..star], types)
            .map(|d| d.ty)
            .unwrap_or(CType::Void);
        return Some(Declared {
            name: (!name.is_empty()).then(|| name.to_string()),
            text,
            user,
            ty: CType::Pointer(Box::new(CType::Function {
                ret: Box::new(ret),
                params: Vec::new(),
                variadic: false,
            })),
        });
    }
    // Split off array suffixes: `char comm[16]`.
    let (body, array) = match text.find('[') {
        Some(i) => (&text[..i], text[i + 1..].split(']').next().map(str::trim)),
        None => (text.as_str(), None),
    };
    let spaced = body.replace('*', " * ");
    let mut words: Vec<&str> = spaced
        .split_whitespace()
        .filter(|w| !IGNORED.contains(w))
        .collect();
    // The name is the last identifier, unless it is part of the type
    // (`unsigned long`, `struct foo *`, a lone typedef).
    let name = match words.as_slice() {
        [.., before, last]
            if is_ident(last)
                && !BUILTIN_WORDS.contains(last)
                && !matches!(*before, "struct" | "union" | "enum") =>
        {
            let n = last.to_string();
            words.pop();
            Some(n)
        }
        _ => None,
    };
    let pointers = words.iter().filter(|w| **w == "*").count();
    let mut const_base = false;
    let mut base_words = Vec::new();
    for (i, w) in words.iter().enumerate() {
        match *w {
            "*" => {}
            "const" | "volatile" if words[..i].contains(&"*") => {}
            "const" => const_base = true,
            "volatile" => {}
            w => base_words.push(w),
        }
    }
    let mut ty = base_type(&base_words, types);
    if const_base {
        ty = CType::Const(Box::new(ty));
    }
    for _ in 0..pointers {
        ty = CType::Pointer(Box::new(ty));
    }
    if let Some(len) = array {
        ty = CType::Array {
            elem: Box::new(ty),
            len: len.parse().ok(),
        };
    }
    Some(Declared {
        name,
        text,
        user,
        ty,
    })
}

fn is_ident(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && w.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The type named by specifier words (`unsigned long`, `struct file`, `pid_t`).
fn base_type(words: &[&str], types: &dyn TypeNames) -> CType {
    match words {
        [] => CType::Void,
        ["void"] => CType::Void,
        [kw @ ("struct" | "union"), tag, ..] => {
            let name = format!("{kw} {tag}");
            types.named_type(&name).unwrap_or(CType::Aggregate {
                kind: if *kw == "struct" {
                    AggregateKind::Struct
                } else {
                    AggregateKind::Union
                },
                name: Some(tag.to_string()),
                size: None,
            })
        }
        ["enum", tag, ..] => types
            .named_type(&format!("enum {tag}"))
            .unwrap_or(CType::Enum {
                name: Some(tag.to_string()),
                size: 4,
                signed: false,
            }),
        ws if ws.iter().all(|w| BUILTIN_WORDS.contains(w)) => builtin(ws),
        [name, ..] => types.named_type(name).unwrap_or(CType::Typedef {
            name: name.to_string(),
            target: Box::new(CType::Void),
        }),
    }
}

/// A builtin arithmetic type by its specifiers, LP64.
fn builtin(words: &[&str]) -> CType {
    let has = |w: &str| words.contains(&w);
    let longs = words.iter().filter(|w| **w == "long").count();
    if has("float") || has("double") {
        let size = if has("float") {
            4
        } else if longs > 0 {
            16
        } else {
            8
        };
        return CType::Float {
            name: words.join(" "),
            size,
        };
    }
    let (size, signed) = if has("_Bool") || has("bool") {
        (1, false)
    } else if has("char") {
        (1, !has("unsigned"))
    } else if has("short") {
        (2, !has("unsigned"))
    } else if longs > 0 {
        (8, !has("unsigned"))
    } else {
        (4, !has("unsigned"))
    };
    CType::Int {
        name: words.join(" "),
        size,
        signed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pid;
    impl TypeNames for Pid {
        fn named_type(&self, name: &str) -> Option<CType> {
            (name == "pid_t").then(|| CType::Typedef {
                name: "pid_t".into(),
                target: Box::new(CType::Int {
                    name: "int".into(),
                    size: 4,
                    signed: true,
                }),
            })
        }
    }

    fn one(decl: &str) -> (Option<String>, String, bool) {
        let d = parse_param(decl, &Pid).unwrap();
        (d.name, d.ty.render(), d.user)
    }

    #[test]
    fn parameters_as_headers_write_them() {
        assert_eq!(
            one("pid_t pid"),
            (Some("pid".into()), "pid_t".into(), false)
        );
        assert_eq!(
            one("const char __user *filename"),
            (Some("filename".into()), "const char*".into(), true)
        );
        assert_eq!(one("unsigned long"), (None, "unsigned long".into(), false));
        assert_eq!(one("int __user *"), (None, "int*".into(), true));
        assert_eq!(
            one("struct task_struct *prev"),
            (Some("prev".into()), "struct task_struct*".into(), false)
        );
        assert_eq!(
            one("struct rusage __user * ru"),
            (Some("ru".into()), "struct rusage*".into(), true)
        );
        assert_eq!(one("umode_t"), (None, "umode_t".into(), false));
        assert_eq!(
            one("char comm[16]"),
            (Some("comm".into()), "char[16]".into(), false)
        );
        assert_eq!(one("void (*fn)(int)").0.as_deref(), Some("fn"));
        assert!(parse_param("void", &Pid).is_none());
        let d = parse_param("unsigned int fd", &NoTypes).unwrap();
        assert_eq!((d.ty.size(), d.ty.is_signed()), (Some(4), false));
        let d = parse_param("long sig", &NoTypes).unwrap();
        assert_eq!((d.ty.size(), d.ty.is_signed()), (Some(8), true));
        let d = parse_param("const char *const *argv", &NoTypes).unwrap();
        assert_eq!(d.ty.render(), "const char**");
    }
}
