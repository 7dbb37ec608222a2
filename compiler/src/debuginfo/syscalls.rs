//! The syscall table and syscall prototypes of a tree, read from its
//! headers: numbers and entry symbols from the generated table
//! (`arch/x86/include/generated/asm/syscalls_64.h` on x86-64, the generic
//! `include/uapi/asm-generic/unistd.h` or a generated `syscall_table_64.h`
//! on arm64), user-facing names from `unistd_64.h`'s `__NR_*`, and
//! parameter names and types from `include/linux/syscalls.h` (with `#if`
//! blocks decided by `.config`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::callconv::Arch;
use super::cdecl::{parse_param, TypeNames};
use super::cheader::{balanced, select_config_branches, split_top_level, strip_comments};
use super::ctype::CType;

/// One syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// Its number.
    pub nr: u32,
    /// The name users write (`stat`, from `__NR_stat`).
    pub name: String,
    /// The table's entry (`sys_newstat`); the kernel function is this with
    /// the architecture's prefix (`__x64_sys_newstat`).
    pub entry: String,
}

/// One syscall parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallParam {
    /// Its name (`argN` when the header has none).
    pub name: String,
    /// Its declaration as the header writes it.
    pub decl: String,
    /// Whether it points into user space.
    pub user: bool,
    /// Its type.
    pub ty: CType,
}

/// The numbers and entries of the native (64-bit) syscall table.
#[derive(Debug, Clone, Default)]
pub struct SyscallTable {
    /// By number.
    pub syscalls: Vec<Syscall>,
}

impl SyscallTable {
    /// The syscall users call `name` (`stat`), or whose entry is `sys_name`.
    pub fn get(&self, name: &str) -> Option<&Syscall> {
        self.syscalls.iter().find(|s| s.name == name).or_else(|| {
            self.syscalls
                .iter()
                .find(|s| s.entry.strip_prefix("sys_") == Some(name))
        })
    }

    /// The syscall numbered `nr`.
    pub fn by_nr(&self, nr: u32) -> Option<&Syscall> {
        self.syscalls.iter().find(|s| s.nr == nr)
    }
}

/// The kernel function that a syscall's entry becomes on `arch`
/// (`sys_kill` → `__x64_sys_kill` / `__arm64_sys_kill`).
pub fn entry_function(arch: Arch, entry: &str) -> String {
    format!("{}{entry}", arch.syscall_prefix())
}

/// Files that hold the table, relative to a source directory, per arch:
/// (table file, names file).
fn table_files(arch: Arch) -> Vec<(&'static str, &'static str)> {
    if arch == Arch::Arm64 {
        vec![
            (
                "arch/arm64/include/generated/asm/syscall_table_64.h",
                "arch/arm64/include/generated/uapi/asm/unistd_64.h",
            ),
            (
                "include/uapi/asm-generic/unistd.h",
                "include/uapi/asm-generic/unistd.h",
            ),
        ]
    } else {
        vec![(
            "arch/x86/include/generated/asm/syscalls_64.h",
            "arch/x86/include/generated/uapi/asm/unistd_64.h",
        )]
    }
}

/// Reads the syscall table from the first source directory that has it.
pub fn read_table(source_dirs: &[PathBuf], arch: Arch) -> Option<SyscallTable> {
    for (table, names) in table_files(arch) {
        for dir in source_dirs {
            let Ok(table_text) = std::fs::read_to_string(dir.join(table)) else {
                continue;
            };
            let names_text = source_dirs
                .iter()
                .find_map(|d| std::fs::read_to_string(d.join(names)).ok())
                .unwrap_or_default();
            let t = parse_table(&table_text, &names_text);
            if !t.syscalls.is_empty() {
                return Some(t);
            }
        }
    }
    None
}

/// Builds the table from the table text (`__SYSCALL(nr, sym)` and the
/// `__SC_*` variants, `nr` numeric or `__NR_x`) and `#define __NR_x n` text.
pub fn parse_table(table: &str, names: &str) -> SyscallTable {
    let defines = nr_defines(&strip_comments(names));
    let table_defines = nr_defines(&strip_comments(table));
    let resolve = |nr: &str| -> Option<u32> {
        nr.parse().ok().or_else(|| {
            let mut name = nr;
            for _ in 0..4 {
                match table_defines.get(name).or_else(|| defines.get(name))? {
                    NrValue::Number(n) => return Some(*n),
                    NrValue::Alias(a) => name = a,
                }
            }
            None
        })
    };
    let by_number: HashMap<u32, String> = defines
        .iter()
        .chain(table_defines.iter())
        .filter_map(|(k, _)| Some((resolve(k)?, k.strip_prefix("__NR_")?.to_string())))
        .collect();
    let mut seen = BTreeMap::new();
    let text = strip_comments(table);
    // `__SYSCALL_COMMON`/`__SYSCALL_64` are the 64-bit table before 5.11
    // (`__SYSCALL_X32` entries are left out: not native syscalls).
    for (macro_name, entry_at) in [
        ("__SYSCALL_COMMON", 1),
        ("__SYSCALL_64", 1),
        ("__SYSCALL_WITH_COMPAT", 1),
        ("__SYSCALL", 1),
        // 6.10+ marks the calls that never return (exit, exit_group).
        ("__SYSCALL_NORETURN", 1),
        ("__SC_COMP_3264", 2),
        ("__SC_3264", 2),
        ("__SC_COMP", 1),
    ] {
        let mut from = 0;
        while let Some(pos) = text[from..].find(macro_name) {
            let at = from + pos;
            from = at + macro_name.len();
            let rest = &text[from..];
            let preceded_ok = text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            if !preceded_ok || !rest.starts_with('(') || text[..at].trim_end().ends_with("#define")
            {
                continue;
            }
            let Some(inner) = balanced(rest) else {
                continue;
            };
            let args = split_top_level(inner);
            let (Some(nr), Some(entry)) =
                (args.first().and_then(|n| resolve(n)), args.get(entry_at))
            else {
                continue;
            };
            if entry == "sys_ni_syscall" || !entry.starts_with("sys_") {
                continue;
            }
            let name = by_number
                .get(&nr)
                .cloned()
                .unwrap_or_else(|| entry.trim_start_matches("sys_").to_string());
            seen.entry(nr).or_insert(Syscall {
                nr,
                name,
                entry: entry.clone(),
            });
        }
    }
    SyscallTable {
        syscalls: seen.into_values().collect(),
    }
}

/// The `arch/` directory name of `arch`.
pub(crate) fn arch_dir(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86",
        Arch::Arm64 => "arm64",
    }
}

enum NrValue {
    Number(u32),
    Alias(String),
}

/// `#define __NR_x 12` and `#define __NR_x __NR3264_x` lines.
fn nr_defines(text: &str) -> HashMap<String, NrValue> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "#define").then_some(())?;
            let name = w.next()?;
            if !name.starts_with("__NR") || name == "__NR_syscalls" {
                return None;
            }
            let value = w.next()?.trim_start_matches('(').trim_end_matches(')');
            let v = match value.parse() {
                Ok(n) => NrValue::Number(n),
                Err(_) if value.starts_with("__NR") => NrValue::Alias(value.to_string()),
                Err(_) => return None,
            };
            Some((name.to_string(), v))
        })
        .collect()
}

/// The `sys_*` prototypes of the tree: parameter declarations by entry
/// name (`sys_kill` → `["pid_t pid", "int sig"]`).
pub fn read_prototypes(
    source_dirs: &[PathBuf],
    arch: Arch,
    config: &BTreeMap<String, String>,
) -> HashMap<String, Vec<String>> {
    let arch_dir = arch_dir(arch);
    let mut out = HashMap::new();
    for rel in [
        "include/linux/syscalls.h".to_string(),
        format!("arch/{arch_dir}/include/asm/syscalls.h"),
    ] {
        for dir in source_dirs {
            if let Ok(text) = std::fs::read_to_string(dir.join(&rel)) {
                for (name, params) in parse_prototypes(&text, config) {
                    out.entry(name).or_insert(params);
                }
            }
        }
    }
    out
}

/// `[asmlinkage] long sys_NAME(params);` declarations of one header. Where
/// `#if` blocks declare a syscall differently (`sys_clone`), the branch
/// `.config` selects wins. `CONFIG_ARCH_HAS_SYSCALL_WRAPPER` is ignored:
/// syscalls.h keeps its declarations under `#ifndef` of it, but it only
/// changes how they are called, not their parameters. Declarations only in
/// unselected blocks still count, after the selected ones.
pub fn parse_prototypes(
    text: &str,
    config: &BTreeMap<String, String>,
) -> Vec<(String, Vec<String>)> {
    let stripped = strip_comments(text);
    let mut config = config.clone();
    config.remove("CONFIG_ARCH_HAS_SYSCALL_WRAPPER");
    let mut out = declarations(&select_config_branches(&stripped, &config));
    for (name, params) in declarations(&stripped) {
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, params));
        }
    }
    out
}

fn declarations(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("long sys_") {
        let at = from + pos + "long ".len();
        from = at;
        let name_len = text[at..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(0);
        let name = &text[at..at + name_len];
        let rest = text[at + name_len..].trim_start();
        let Some(inner) = rest.starts_with('(').then(|| balanced(rest)).flatten() else {
            continue;
        };
        let params = split_top_level(inner)
            .into_iter()
            .filter(|p| p != "void")
            .collect();
        out.push((name.to_string(), params));
    }
    out
}

/// Parses a syscall's parameter declarations; unnamed ones take names
/// from `fallback_names` (BTF's `__do_sys_NAME`) or become `argN`.
pub fn params_of(
    decls: &[String],
    fallback_names: &[String],
    types: &dyn TypeNames,
) -> Vec<SyscallParam> {
    decls
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let p = parse_param(text, types)?;
            let name = p
                .name
                .or_else(|| fallback_names.get(i).cloned())
                .unwrap_or_else(|| format!("arg{}", i + 1));
            Some(SyscallParam {
                name,
                decl: p.text,
                user: p.user,
                ty: p.ty,
            })
        })
        .collect()
}

/// The numeric `#define NAME VALUE` lines of the first of `files` (paths
/// relative to a source directory) that each source directory has, in
/// order of the files and then of the lines; a name defined twice keeps its
/// first value (`SIGABRT` before `SIGIOT`). Values may be decimal, octal
/// (`00000100`), hex or negative (`-100`, `(-100)`); symbolic ones
/// (`#define SIGPOLL SIGIO`) are left out. This is how the syscall tapset
/// learns the target's `O_*` flags, signal numbers and errno names.
pub fn read_defines(source_dirs: &[PathBuf], files: &[String]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for rel in files {
        let Some(text) = source_dirs
            .iter()
            .find_map(|d| std::fs::read_to_string(d.join(rel)).ok())
        else {
            continue;
        };
        for (name, value) in parse_defines(&text) {
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, value));
            }
        }
    }
    out
}

/// The numeric `#define`s of one header, in order.
pub fn parse_defines(text: &str) -> Vec<(String, i64)> {
    strip_comments(text)
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l.strip_prefix('#')?.trim_start().strip_prefix("define")?;
            let mut w = rest.split_whitespace();
            let name = w.next()?;
            if name.contains('(') {
                return None;
            }
            let value: String = w.collect::<Vec<_>>().join("");
            Some((name.to_string(), define_value(&value)?))
        })
        .collect()
}

/// A `#define`'s value: a number, or numbers combined with `<<` and `|`
/// (7.2's uapi headers write `O_CREAT` as `(1 << 6)`), in parentheses or
/// not.
fn define_value(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        if balanced(text) == Some(inner) {
            return define_value(inner);
        }
    }
    if let Some((a, b)) = text.split_once('|') {
        return Some(define_value(a)? | define_value(b)?);
    }
    if let Some((a, b)) = text.split_once("<<") {
        return define_value(a)?.checked_shl(u32::try_from(define_value(b)?).ok()?);
    }
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let digits = digits.trim_end_matches(['U', 'L', 'u', 'l']);
    let v = if let Some(h) = digits.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::cdecl::NoTypes;

    #[test]
    fn numeric_defines_of_a_header() {
        let text = "#ifndef O_CREAT\n#define O_CREAT\t\t00000100\t/* not fcntl */\n#endif\n#define AT_FDCWD\t\t-100\n#define SIGPOLL\t\tSIGIO\n#define EPERM\t\t 1\n#define X(a) 3\n#define M 0x10UL\n#define O_TRUNC\t(1 << 9)\t/* 7.2 */\n#define B (1U << 2 | 1)\n#define S (A | 1)\n#define N (-100)\n";
        assert_eq!(
            parse_defines(text),
            [
                ("O_CREAT".to_string(), 0o100),
                ("AT_FDCWD".to_string(), -100),
                ("EPERM".to_string(), 1),
                ("M".to_string(), 16),
                ("O_TRUNC".to_string(), 0o1000),
                ("B".to_string(), 5),
                ("N".to_string(), -100)
            ]
        );
    }

    #[test]
    fn x86_table_with_unistd_names() {
        let table = "__SYSCALL(0, sys_read)\n__SYSCALL(4, sys_newstat)\n__SYSCALL(62, sys_kill)\n__SYSCALL(134, sys_ni_syscall)\n";
        let names = "#define __NR_read 0\n#define __NR_stat 4\n#define __NR_kill 62\n";
        let t = parse_table(table, names);
        assert_eq!(t.syscalls.len(), 3);
        let stat = t.get("stat").unwrap();
        assert_eq!((stat.nr, stat.entry.as_str()), (4, "sys_newstat"));
        assert_eq!(t.get("newstat").unwrap().nr, 4);
        assert_eq!(t.by_nr(62).unwrap().name, "kill");
        assert!(t.by_nr(134).is_none());
        assert_eq!(entry_function(Arch::X86_64, "sys_kill"), "__x64_sys_kill");
        assert_eq!(entry_function(Arch::Arm64, "sys_kill"), "__arm64_sys_kill");
    }

    /// 6.12's table (6.10+) gives exit and exit_group their own macro.
    #[test]
    fn x86_table_with_noreturn_calls() {
        let table = "__SYSCALL(0, sys_read)\n__SYSCALL_NORETURN(60, sys_exit)\n__SYSCALL(62, sys_kill)\n__SYSCALL_NORETURN(231, sys_exit_group)\n";
        let names = "#define __NR_read 0\n#define __NR_exit 60\n#define __NR_kill 62\n#define __NR_exit_group 231\n";
        let t = parse_table(table, names);
        let got: Vec<(u32, &str, &str)> = t
            .syscalls
            .iter()
            .map(|s| (s.nr, s.name.as_str(), s.entry.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (0, "read", "sys_read"),
                (60, "exit", "sys_exit"),
                (62, "kill", "sys_kill"),
                (231, "exit_group", "sys_exit_group"),
            ]
        );
    }

    #[test]
    fn x86_table_before_5_11() {
        let table = "__SYSCALL_COMMON(0, sys_read)\n__SYSCALL_64(15, sys_rt_sigreturn)\n__SYSCALL_X32(512, compat_sys_x32_rt_sigreturn)\n__SYSCALL_X32(520, sys_x32_thing)\n";
        let t = parse_table(table, "#define __NR_read 0\n#define __NR_rt_sigreturn 15\n");
        let entries: Vec<(u32, &str)> = t
            .syscalls
            .iter()
            .map(|s| (s.nr, s.entry.as_str()))
            .collect();
        assert_eq!(entries, [(0, "sys_read"), (15, "sys_rt_sigreturn")]);
    }

    #[test]
    fn generic_table_with_symbolic_numbers() {
        let text = "\
#define __NR_io_setup 0
__SC_COMP(__NR_io_setup, sys_io_setup, compat_sys_io_setup)
#define __NR3264_fcntl 25
__SC_COMP_3264(__NR3264_fcntl, sys_fcntl64, sys_fcntl, compat_sys_fcntl64)
#define __NR_kill 129
__SYSCALL(__NR_kill, sys_kill)
#define __NR_fcntl __NR3264_fcntl
#define __SYSCALL(x, y)
";
        let t = parse_table(text, text);
        let names: Vec<(u32, &str, &str)> = t
            .syscalls
            .iter()
            .map(|s| (s.nr, s.name.as_str(), s.entry.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (0, "io_setup", "sys_io_setup"),
                (25, "fcntl", "sys_fcntl"),
                (129, "kill", "sys_kill")
            ]
        );
    }

    #[test]
    fn prototypes_follow_config() {
        let text = "\
asmlinkage long sys_kill(pid_t pid, int sig);
asmlinkage long sys_openat(int dfd, const char __user *filename, int flags,
			   umode_t mode);
#ifdef CONFIG_CLONE_BACKWARDS
asmlinkage long sys_clone(unsigned long, unsigned long, int __user *, unsigned long,
	       int __user *);
#else
asmlinkage long sys_clone(unsigned long, unsigned long, int __user *,
	       int __user *, unsigned long);
#endif
asmlinkage long sys_sync(void);
";
        let wrapped = "#ifndef CONFIG_ARCH_HAS_SYSCALL_WRAPPER\nasmlinkage long sys_kill(pid_t pid, int sig);\n#endif\n";
        let cfg: BTreeMap<String, String> = [(
            "CONFIG_ARCH_HAS_SYSCALL_WRAPPER".to_string(),
            "y".to_string(),
        )]
        .into();
        assert_eq!(
            parse_prototypes(wrapped, &cfg)[0].1,
            ["pid_t pid", "int sig"]
        );
        let protos = parse_prototypes(text, &BTreeMap::new());
        let names: Vec<&str> = protos.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["sys_kill", "sys_openat", "sys_clone", "sys_sync"]);
        assert_eq!(protos[1].1.len(), 4);
        assert_eq!(protos[2].1[2], "int __user *");
        assert_eq!(protos[2].1[4], "unsigned long");
        assert!(protos[3].1.is_empty());
        let fallback: Vec<String> = [
            "clone_flags",
            "newsp",
            "parent_tidptr",
            "child_tidptr",
            "tls",
        ]
        .map(String::from)
        .to_vec();
        let params = params_of(&protos[2].1, &fallback, &NoTypes);
        assert_eq!(params[2].name, "parent_tidptr");
        assert!(params[2].user);
        let kill = params_of(&protos[0].1, &[], &NoTypes);
        assert_eq!(
            (kill[0].name.as_str(), kill[1].name.as_str()),
            ("pid", "sig")
        );
    }
}
