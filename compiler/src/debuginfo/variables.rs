//! Kernel global variables for `@var("name")`: where a module finds one
//! and what type it has, without the debug package when possible.
//!
//! Checked on Debian's trees (5.10 to 7.2): the image's BTF describes only
//! per-CPU variables (`runqueues`), not globals such as `jiffies` or
//! `init_task`, and the image package's `System.map` is a placeholder (the
//! real one is in the `-dbg` package). So:
//!
//! * the **type** comes from the variable's `extern` declaration in the
//!   tree's headers (`extern struct task_struct init_task;` in
//!   `include/linux/sched/task.h`), its named types resolved by BTF or
//!   DWARF;
//! * the **address** is the symbol itself when `Module.symvers` exports it
//!   (the module references it by name and the kernel's loader relocates
//!   it, KASLR included), else the real `System.map`'s address relocated
//!   at run time by an exported anchor symbol (`jiffies`): the whole image
//!   moves by one offset.
//!
//! `@var("name@file.c")` names a compilation unit: it needs the `-dbg`
//! package's DWARF, which gives the type and the link-time address of a
//! global or file-static variable defined there (relocated as above).
//!
//! Per-CPU variables (`DECLARE_PER_CPU`) and, without a file, file-static
//! ones (no header declares them) are refused with the reason.

use std::path::{Path, PathBuf};

use super::callconv::Arch;
use super::cdecl::{self, TypeNames};
use super::cheader::strip_comments;
use super::ctype::CType;
use super::info::KernelInfo;

/// The exported variable every kernel has, used to relocate `System.map`
/// addresses at run time.
pub const ANCHOR: &str = "jiffies";

/// A kernel global variable a module can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVariable {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: CType,
    /// Where it is declared, for messages: the header
    /// (`include/linux/jiffies.h`), or the compilation unit of `name@file`.
    pub header: String,
    /// How the module finds it.
    pub location: VariableLocation,
}

/// How a module finds a kernel variable's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableLocation {
    /// Exported: referenced by symbol name, relocated by the module loader.
    Exported,
    /// Link-time `address` from `System.map`; at run time it is `address +
    /// (&ANCHOR - anchor_address)`.
    Mapped {
        /// The variable's `System.map` address.
        address: u64,
        /// [`ANCHOR`]'s `System.map` address.
        anchor_address: u64,
    },
}

/// Why `@var("name")` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableError {
    /// No header declares it `extern` (a file-static variable, or a typo).
    NotDeclared,
    /// It is declared per-CPU (`DECLARE_PER_CPU`).
    PerCpu {
        /// The declaring header.
        header: String,
    },
    /// The declaration's type could not be read.
    UnknownType {
        /// The declaring header.
        header: String,
        /// The declaration.
        text: String,
    },
    /// Not exported, and no real `System.map` to find it in.
    NoAddress {
        /// The declaring header.
        header: String,
        /// What to install for `System.map`.
        hint: String,
    },
    /// Not exported and not in `System.map`.
    NotInSystemMap {
        /// The declaring header.
        header: String,
    },
    /// `name@file` without the kernel's DWARF.
    NeedsDwarf {
        /// What to install.
        hint: String,
    },
    /// No compilation unit matching the file defines it.
    NotInFile {
        /// The file pattern.
        file: String,
    },
    /// DWARF found it, but there is no real `System.map` to relocate by.
    NoAnchor {
        /// What to install.
        hint: String,
    },
}

impl std::fmt::Display for VariableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VariableError::NotDeclared => f.write_str(
                "no header of the kernel tree declares it 'extern' (a file-static variable \
                 needs the kernel's DWARF, which stapkit does not read for variables yet)",
            ),
            VariableError::PerCpu { header } => write!(
                f,
                "it is a per-CPU variable (per {header}): each CPU has its own copy, \
                 which @var cannot read"
            ),
            VariableError::UnknownType { header, text } => write!(
                f,
                "its declaration '{text}' ({header}) names a type the kernel's BTF does not describe"
            ),
            VariableError::NoAddress { header, hint } => write!(
                f,
                "it is declared in {header} but not exported, and its address is only in the \
                 real System.map: {hint}"
            ),
            VariableError::NotInSystemMap { header } => write!(
                f,
                "it is declared in {header} but neither exported nor in System.map \
                 (not built into this kernel)"
            ),
            VariableError::NeedsDwarf { hint } => write!(
                f,
                "finding it in a compilation unit needs the kernel's DWARF: {hint}"
            ),
            VariableError::NotInFile { file } => write!(
                f,
                "no compilation unit matching '{file}' defines it at file scope"
            ),
            VariableError::NoAnchor { hint } => write!(
                f,
                "relocating its address needs the real System.map: {hint}"
            ),
        }
    }
}

/// A variable's declaration found in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The header, relative to its tree (`include/linux/jiffies.h`).
    pub header: String,
    /// The declaration without `extern` and `;`, whitespace normalised.
    pub text: String,
    /// Declared with `DECLARE_PER_CPU`.
    pub per_cpu: bool,
}

/// The header directories searched, relative to each source root.
fn header_dirs(arch: Arch) -> Vec<String> {
    let arch_dir = match arch {
        Arch::X86_64 => "x86",
        Arch::Arm64 => "arm64",
    };
    vec![
        "include/linux".into(),
        format!("arch/{arch_dir}/include/asm"),
        "include/asm-generic".into(),
    ]
}

/// The first `extern` (or `DECLARE_PER_CPU`) declaration of `name` in the
/// headers under `roots`, most specific root first.
pub fn find_declaration(roots: &[PathBuf], arch: Arch, name: &str) -> Option<Declaration> {
    for root in roots {
        for dir in header_dirs(arch) {
            let mut files = Vec::new();
            collect_headers(&root.join(&dir), &mut files);
            files.sort();
            for file in files {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                if !text.contains(name) {
                    continue;
                }
                if let Some((decl, per_cpu)) = declaration_in(&strip_comments(&text), name) {
                    let header = file
                        .strip_prefix(root)
                        .unwrap_or(&file)
                        .display()
                        .to_string();
                    return Some(Declaration {
                        header,
                        text: decl,
                        per_cpu,
                    });
                }
            }
        }
    }
    None
}

fn collect_headers(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_headers(&p, out);
        } else if p.extension().is_some_and(|x| x == "h") {
            out.push(p);
        }
    }
}

/// `extern T name;` (or `DECLARE_PER_CPU(T, name);`) in comment-free
/// header text: the declaration without `extern`, and whether per-CPU.
fn declaration_in(text: &str, name: &str) -> Option<(String, bool)> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (at, _) in text.match_indices(name) {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        if before.is_some_and(is_ident) || after.is_some_and(is_ident) {
            continue;
        }
        // The statement around it: from the previous ';', '{', '}' or
        // line start of a preprocessor line, to the next ';'.
        let start =
            text[..at]
                .rfind([';', '{', '}', '#'])
                .map_or(0, |i| match text.as_bytes()[i] {
                    // A preprocessor line ends at its newline.
                    b'#' => text[i..].find('\n').map_or(at, |n| i + n + 1),
                    _ => i + 1,
                });
        let Some(end) = text[at..].find(';').map(|e| at + e) else {
            continue;
        };
        if start > at {
            continue;
        }
        let stmt = text[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for per_cpu in ["DECLARE_PER_CPU", "DECLARE_PER_CPU_ALIGNED"] {
            if let Some(args) = stmt.strip_prefix(per_cpu).map(str::trim) {
                if args.starts_with('(') && args.ends_with(&format!("{name})")) {
                    return Some((stmt.clone(), true));
                }
            }
        }
        let Some(decl) = stmt.strip_prefix("extern ") else {
            continue;
        };
        // Functions and function pointers are not variables.
        if decl.contains('(') || decl.contains('=') {
            continue;
        }
        // `extern int a, b;` is rare in the kernel: only a lone declarator.
        if decl.contains(',') {
            continue;
        }
        let last = decl.split('[').next().unwrap_or(decl).trim_end();
        if last.ends_with(name)
            && !last[..last.len() - name.len()]
                .chars()
                .next_back()
                .is_some_and(is_ident)
        {
            return Some((decl.to_string(), false));
        }
    }
    None
}

/// Named types through [`KernelInfo`] (DWARF, then BTF).
struct KernelTypes<'a>(&'a KernelInfo);

impl TypeNames for KernelTypes<'_> {
    fn named_type(&self, name: &str) -> Option<CType> {
        self.0.named_type(name).map(|s| s.value)
    }
}

/// The type a declaration gives its variable: qualifiers and attribute
/// macros (`volatile`, `__read_mostly`, `__cacheline_aligned_in_smp`) are
/// dropped, words that name types (`__u64`) kept.
pub fn declared_type(decl: &str, types: &dyn TypeNames) -> Option<CType> {
    let spaced = decl.replace('*', " * ");
    let words: Vec<&str> = spaced
        .split_whitespace()
        .filter(|w| !matches!(*w, "volatile" | "const" | "static"))
        .filter(|w| !w.starts_with("__") || types.named_type(w).is_some())
        .collect();
    let d = cdecl::parse_param(&words.join(" "), types)?;
    match d.ty {
        CType::Void => None,
        ty => Some(ty),
    }
}

impl KernelInfo {
    /// Kernel variable `name`, read by `@var("name")`, or with `file`
    /// by `@var("name@file")` (each looked up once).
    pub fn variable(
        &self,
        name: &str,
        file: Option<&str>,
    ) -> Result<KernelVariable, VariableError> {
        let key = match file {
            Some(f) => format!("{name}@{f}"),
            None => name.to_string(),
        };
        if let Some(found) = self.variables.lock().expect("not poisoned").get(&key) {
            return found.clone();
        }
        let found = match file {
            Some(f) => self.find_variable_in(name, f),
            None => self.find_variable(name),
        };
        self.variables
            .lock()
            .expect("not poisoned")
            .insert(key, found.clone());
        found
    }

    fn find_variable_in(&self, name: &str, file: &str) -> Result<KernelVariable, VariableError> {
        let hint = self.files().debug_hint.clone();
        let dwarf = self
            .dwarf()
            .ok_or(VariableError::NeedsDwarf { hint: hint.clone() })?;
        let found = dwarf
            .variable_in(name, file)
            .ok_or_else(|| VariableError::NotInFile {
                file: file.to_string(),
            })?;
        let anchor = self
            .system_map()
            .and_then(|m| m.get(ANCHOR))
            .ok_or(VariableError::NoAnchor { hint })?;
        Ok(KernelVariable {
            name: name.to_string(),
            ty: found.ty,
            header: found.file,
            location: VariableLocation::Mapped {
                address: found.address,
                anchor_address: anchor.addr,
            },
        })
    }

    fn find_variable(&self, name: &str) -> Result<KernelVariable, VariableError> {
        let Some(decl) = find_declaration(&self.files().source_dirs, self.arch(), name) else {
            // The image's BTF lists the per-CPU variables, declared or not.
            if self.btf().is_some_and(|b| b.has_variable(name)) {
                return Err(VariableError::PerCpu {
                    header: "the kernel's BTF".into(),
                });
            }
            return Err(VariableError::NotDeclared);
        };
        if decl.per_cpu {
            return Err(VariableError::PerCpu {
                header: decl.header,
            });
        }
        let ty = declared_type(&decl.text, &KernelTypes(self)).ok_or_else(|| {
            VariableError::UnknownType {
                header: decl.header.clone(),
                text: decl.text.clone(),
            }
        })?;
        let location = if self.exports().get(name).is_some() {
            VariableLocation::Exported
        } else {
            let Some(map) = self.system_map() else {
                return Err(VariableError::NoAddress {
                    header: decl.header,
                    hint: self.files().debug_hint.clone(),
                });
            };
            match (map.get(name), map.get(ANCHOR)) {
                (Some(v), Some(a)) if !v.is_text() => VariableLocation::Mapped {
                    address: v.addr,
                    anchor_address: a.addr,
                },
                _ => {
                    return Err(VariableError::NotInSystemMap {
                        header: decl.header,
                    })
                }
            }
        };
        Ok(KernelVariable {
            name: name.to_string(),
            ty,
            header: decl.header,
            location,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::cdecl::NoTypes;

    #[test]
    fn extern_declarations_are_found() {
        let text =
            "extern unsigned long volatile __cacheline_aligned_in_smp __jiffy_arch_data jiffies;\n\
                    extern u64 jiffies_64;\nextern int jiffies_to_msecs(const unsigned long j);\n";
        assert_eq!(
            declaration_in(text, "jiffies"),
            Some((
                "unsigned long volatile __cacheline_aligned_in_smp __jiffy_arch_data jiffies"
                    .into(),
                false
            ))
        );
        assert_eq!(declaration_in(text, "jiffies_to_msecs"), None);
        assert_eq!(
            declaration_in("#include <x.h>\nDECLARE_PER_CPU(int, foo);\n", "foo"),
            Some(("DECLARE_PER_CPU(int, foo)".into(), true))
        );
        assert_eq!(
            declaration_in("struct s { int nr_threads; };\n", "nr_threads"),
            None
        );
        assert_eq!(
            declaration_in("#define X 1\nextern char buf[16];\n", "buf"),
            Some(("char buf[16]".into(), false))
        );
    }

    #[test]
    fn declared_types_drop_attributes() {
        let ty = declared_type(
            "unsigned long volatile __cacheline_aligned_in_smp __jiffy_arch_data jiffies",
            &NoTypes,
        );
        assert!(
            matches!(
                &ty,
                Some(CType::Int {
                    size: 8,
                    signed: false,
                    ..
                })
            ),
            "{ty:?}"
        );
        let ty = declared_type("int nr_threads", &NoTypes);
        assert!(
            matches!(
                &ty,
                Some(CType::Int {
                    size: 4,
                    signed: true,
                    ..
                })
            ),
            "{ty:?}"
        );
    }
}
