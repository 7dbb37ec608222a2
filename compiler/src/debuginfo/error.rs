//! What can go wrong when asking the kernel's debug information, each as
//! one line that names the fix.

use std::fmt;
use std::path::PathBuf;

/// A debug-information question that could not be answered.
#[derive(Debug)]
pub enum DebugInfoError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The kernel image is not in a format stapkit can unpack.
    Image {
        /// The image file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The image (or a vmlinux) has no `.BTF` section.
    NoBtf {
        /// The file searched.
        path: PathBuf,
        /// What to install instead.
        hint: String,
    },
    /// A `.BTF` section that does not decode.
    Btf {
        /// Where it came from.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A DWARF vmlinux that does not decode.
    Dwarf {
        /// The vmlinux.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The question needs DWARF and there is no debug vmlinux.
    NeedsDwarf {
        /// What was asked (`'vfs_read@fs/read_write.c' matching`).
        what: String,
        /// What to install or fetch.
        hint: String,
    },
    /// No source knows the function.
    NoSuchFunction {
        /// The function asked for.
        name: String,
        /// Why (`it is inlined or does not exist`, `it is inlined`).
        why: String,
        /// Nearest probe-able alternatives, best first.
        suggestions: Vec<String>,
        /// Which source was asked (`BTF`, `DWARF`).
        source: String,
    },
    /// The kernel forbids kprobes on the function.
    Blacklisted {
        /// The function.
        name: String,
        /// How we know (`NOKPROBE_SYMBOL`, `.noinstr.text`).
        reason: String,
    },
    /// No struct, union or typedef of that name.
    NoSuchType {
        /// The name asked for.
        name: String,
        /// Which source was asked.
        source: String,
    },
    /// The aggregate has no such member.
    NoSuchMember {
        /// The aggregate (`struct task_struct`).
        ty: String,
        /// The member asked for.
        member: String,
        /// Members with similar names.
        suggestions: Vec<String>,
    },
    /// A member access on something that is not a struct, union or pointer to one.
    NotAnAggregate {
        /// The access so far (`struct task_struct->pid`).
        path: String,
        /// Its type.
        ty: String,
    },
    /// No tracepoint of that name.
    NoSuchTracepoint {
        /// The name asked for (`sched:sched_swtich`).
        name: String,
        /// Similar tracepoints.
        suggestions: Vec<String>,
    },
    /// No syscall of that name.
    NoSuchSyscall {
        /// The name asked for.
        name: String,
        /// Similar syscalls.
        suggestions: Vec<String>,
    },
    /// A file the tree should have is missing or unreadable.
    TreeLayout {
        /// What is missing.
        what: String,
    },
}

/// `; did you mean a, b or c?`-style tail, or nothing.
fn alternatives(prefix: &str, names: &[String]) -> String {
    let end = if prefix.starts_with("did") { "?" } else { "" };
    match names {
        [] => String::new(),
        [one] => format!("; {prefix} {one}{end}"),
        [init @ .., last] => format!("; {prefix} {} or {last}{end}", init.join(", ")),
    }
}

impl fmt::Display for DebugInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DebugInfoError::*;
        match self {
            Io { path, error } => write!(f, "{}: {error}", path.display()),
            Image { path, message } => {
                write!(f, "cannot read kernel image {}: {message}", path.display())
            }
            NoBtf { path, hint } => write!(
                f,
                "{} has no .BTF section (kernel built without CONFIG_DEBUG_INFO_BTF); {hint}",
                path.display()
            ),
            Btf { path, message } => {
                write!(f, "the BTF of {} is unreadable: {message}", path.display())
            }
            Dwarf { path, message } => {
                write!(
                    f,
                    "the DWARF of {} is unreadable: {message}",
                    path.display()
                )
            }
            NeedsDwarf { what, hint } => write!(f, "no debug info for {what}: {hint}"),
            NoSuchFunction {
                name,
                why,
                suggestions,
                source,
            } => write!(
                f,
                "function '{name}' is not in this kernel's {source}: {why}{}",
                alternatives("try", suggestions)
            ),
            Blacklisted { name, reason } => write!(
                f,
                "function '{name}' cannot be probed: the kernel forbids kprobes on it ({reason})"
            ),
            NoSuchType { name, source } => {
                write!(
                    f,
                    "no struct, union or typedef '{name}' in this kernel's {source}"
                )
            }
            NoSuchMember {
                ty,
                member,
                suggestions,
            } => write!(
                f,
                "{ty} has no member '{member}'{}",
                alternatives("did you mean", suggestions)
            ),
            NotAnAggregate { path, ty } => write!(
                f,
                "'{path}' has type {ty}, which is not a struct, union or pointer to one"
            ),
            NoSuchTracepoint { name, suggestions } => write!(
                f,
                "no tracepoint '{name}' in this kernel{}",
                alternatives("did you mean", suggestions)
            ),
            NoSuchSyscall { name, suggestions } => write!(
                f,
                "no syscall '{name}' in this kernel's syscall table{}",
                alternatives("did you mean", suggestions)
            ),
            TreeLayout { what } => write!(f, "unexpected kernel tree layout: {what}"),
        }
    }
}

impl std::error::Error for DebugInfoError {}

impl DebugInfoError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        DebugInfoError::Io {
            path: path.into(),
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_fix() {
        let e = DebugInfoError::NoSuchFunction {
            name: "do_fsync".into(),
            why: "it is inlined or does not exist".into(),
            suggestions: vec![
                "__x64_sys_fsync".into(),
                "vfs_fsync".into(),
                "syscall.fsync".into(),
            ],
            source: "BTF".into(),
        };
        assert_eq!(
            e.to_string(),
            "function 'do_fsync' is not in this kernel's BTF: it is inlined or does not exist; \
             try __x64_sys_fsync, vfs_fsync or syscall.fsync"
        );
        let e = DebugInfoError::NeedsDwarf {
            what: "'vfs_read@fs/read_write.c' matching".into(),
            hint:
                "install linux-image-6.1.0-56-amd64-dbg (stap-prep fetch --debug debian-6.1-amd64)"
                    .into(),
        };
        assert_eq!(
            e.to_string(),
            "no debug info for 'vfs_read@fs/read_write.c' matching: install \
             linux-image-6.1.0-56-amd64-dbg (stap-prep fetch --debug debian-6.1-amd64)"
        );
        let e = DebugInfoError::NoSuchMember {
            ty: "struct task_struct".into(),
            member: "pdi".into(),
            suggestions: vec!["pid".into()],
        };
        assert_eq!(
            e.to_string(),
            "struct task_struct has no member 'pdi'; did you mean pid?"
        );
        assert!(!e.to_string().contains('\n'));
    }
}
