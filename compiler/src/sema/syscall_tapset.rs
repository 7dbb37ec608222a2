//! The `syscall.*` tapset, generated for the target kernel: one
//! `syscall.NAME` and one `syscall.NAME.return` alias per entry of the
//! tree's syscall table, over the `__syscall("NAME")` provider, plus the
//! decoder functions `argstr`/`retstr` use, whose tables (signal numbers,
//! errno names, `O_*` open flags, `AT_FDCWD`) come from the tree's own
//! uapi headers.
//!
//! Every alias sets `name` and `argstr`; each parameter of the syscall
//! becomes a variable of its own name (a user string is read and quoted,
//! as SystemTap's `argstr` shows it), and a small table of the common
//! syscalls uses SystemTap's variable names and formats instead (`kill`:
//! `pid`, `sig`, `argstr` `"1234, SIGTERM"`; `openat`: `dfd`, `dfd_str`,
//! `filename`, `flags`, `flags_str`, `mode`, `AT_FDCWD, "/f", O_RDONLY`).
//! `.return` aliases set `name`, `retval` and `retstr` (`-2 (ENOENT)`).
//! Each alias is also named `nd_syscall.NAME` (`.return`): SystemTap's
//! debuginfo-free syscall points, which these already are.
//!
//! **Architecture Invariant:** nothing here is hand-written per syscall
//! except the renames and formats of [`special`]; every other alias is
//! derived from the prototypes the tree declares.

use std::fmt::Write as _;

use crate::debuginfo::{KernelInfo, SyscallInfo};

/// The name of the generated tapset in diagnostics.
pub const TAPSET_NAME: &str = "<generated syscall tapset>";

/// Syscalls that never return: no `.return` alias.
const NO_RETURN: &[&str] = &["exit", "exit_group"];

/// Words of the script language a parameter may not be named.
const RESERVED: &[&str] = &[
    "probe", "global", "function", "if", "else", "while", "for", "foreach", "in", "limit",
    "return", "delete", "try", "catch", "break", "continue", "next", "string", "long", "private",
    "name", "argstr", "retstr", "retval",
];

/// The numbers the decoders name, read from the target's headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoders {
    /// Signal numbers and names (`15`, `SIGTERM`).
    pub signals: Vec<(i64, String)>,
    /// Errno numbers and names (`2`, `ENOENT`).
    pub errnos: Vec<(i64, String)>,
    /// Single-bit open flags and names, by value (`0o100`, `O_CREAT`);
    /// the access mode (the low two bits) is decoded apart.
    pub open_flags: Vec<(i64, String)>,
    /// The value of `AT_FDCWD`.
    pub at_fdcwd: i64,
}

impl Decoders {
    /// Reads the tables from the tree's uapi headers.
    pub fn read(kernel: &KernelInfo) -> Decoders {
        let signals = kernel.uapi_defines(&["asm/signal.h", "asm-generic/signal.h"]);
        let errnos = kernel.uapi_defines(&["asm-generic/errno-base.h", "asm-generic/errno.h"]);
        let fcntl = kernel.uapi_defines(&["asm/fcntl.h", "asm-generic/fcntl.h", "linux/fcntl.h"]);
        Decoders::from_defines(&signals, &errnos, &fcntl)
    }

    /// Builds the tables from `#define`s (see [`KernelInfo::uapi_defines`]).
    pub fn from_defines(
        signals: &[(String, i64)],
        errnos: &[(String, i64)],
        fcntl: &[(String, i64)],
    ) -> Decoders {
        let mut d = Decoders {
            at_fdcwd: -100,
            ..Decoders::default()
        };
        for (name, v) in signals {
            let plain = name.len() > 3 && name[3..].chars().all(|c| c.is_ascii_uppercase());
            if name.starts_with("SIG")
                && plain
                && (1..32).contains(v)
                && !d.signals.iter().any(|(n, _)| n == v)
            {
                d.signals.push((*v, name.clone()));
            }
        }
        for (name, v) in errnos {
            if name.starts_with('E') && *v > 0 && !d.errnos.iter().any(|(n, _)| n == v) {
                d.errnos.push((*v, name.clone()));
            }
        }
        for (name, v) in fcntl {
            if name == "AT_FDCWD" {
                d.at_fdcwd = *v;
                continue;
            }
            // `__O_SYNC` and `__O_TMPFILE` are the bits O_SYNC/O_TMPFILE add.
            let shown = name.strip_prefix("__").unwrap_or(name);
            let single_bit = *v > 3 && (*v & (*v - 1)) == 0;
            if shown.starts_with("O_") && single_bit && !d.open_flags.iter().any(|(n, _)| n == v) {
                d.open_flags.push((*v, shown.to_string()));
            }
        }
        d.open_flags.sort();
        d
    }

    /// `SIGTERM` for 15, `SIG_0` for 0, else the number.
    #[cfg(test)]
    pub fn signal_str(&self, sig: i64) -> String {
        match sig {
            0 => "SIG_0".to_string(),
            _ => lookup(&self.signals, sig).unwrap_or_else(|| sig.to_string()),
        }
    }

    /// `-2 (ENOENT)` for -2, else the number.
    #[cfg(test)]
    pub fn retstr(&self, ret: i64) -> String {
        match lookup(&self.errnos, ret.wrapping_neg()) {
            Some(e) if ret < 0 => format!("{ret} ({e})"),
            _ => ret.to_string(),
        }
    }

    /// `O_WRONLY|O_CREAT|O_TRUNC` for 0o1101; unknown bits as octal.
    #[cfg(test)]
    pub fn open_flags_str(&self, flags: i64) -> String {
        let mut s = match flags & 3 {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            2 => "O_RDWR",
            _ => "O_ACCMODE",
        }
        .to_string();
        let mut rest = flags & !3;
        for (bit, name) in &self.open_flags {
            if flags & bit != 0 {
                let _ = write!(s, "|{name}");
                rest &= !bit;
            }
        }
        if rest != 0 {
            let _ = write!(s, "|0{rest:o}");
        }
        s
    }

    /// The decoder functions as script; the test-only methods above are
    /// their reference (the unit tests hold both to the same tables).
    pub fn script(&self) -> String {
        let mut s = String::new();
        s.push_str("function __sc_signal_str:string (sig:long) {\n");
        for (v, n) in &self.signals {
            let _ = writeln!(s, "\tif (sig == {v}) return \"{n}\"");
        }
        // SystemTap names the null signal too: `kill(pid, 0)`'s argstr is
        // `PID, SIG_0` (tests/scripts/syscall_all.oracle).
        s.push_str("\treturn sig == 0 ? \"SIG_0\" : sprintf(\"%d\", sig)\n}\n\n");
        s.push_str("function __sc_errno_str:string (e:long) {\n");
        for (v, n) in &self.errnos {
            let _ = writeln!(s, "\tif (e == {v}) return \"{n}\"");
        }
        s.push_str("\treturn \"\"\n}\n\n");
        s.push_str(
            "function __sc_retstr:string (ret:long) {\n\
             \tif (ret < 0) {\n\
             \t\te = __sc_errno_str(-ret)\n\
             \t\tif (e != \"\") return sprintf(\"%d (%s)\", ret, e)\n\
             \t}\n\
             \treturn sprintf(\"%d\", ret)\n}\n\n",
        );
        s.push_str(
            "function __sc_open_flags_str:string (flags:long) {\n\
             \tacc = flags & 3\n\
             \tif (acc == 0) s = \"O_RDONLY\"\n\
             \telse if (acc == 1) s = \"O_WRONLY\"\n\
             \telse if (acc == 2) s = \"O_RDWR\"\n\
             \telse s = \"O_ACCMODE\"\n\
             \trest = flags & ~3\n",
        );
        for (v, n) in &self.open_flags {
            let _ = writeln!(s, "\tif (flags & {v}) {{ s .= \"|{n}\"; rest &= ~{v} }}");
        }
        s.push_str("\tif (rest) s .= sprintf(\"|%#o\", rest)\n\treturn s\n}\n\n");
        let _ = write!(
            s,
            "function __sc_dfd_str:string (dfd:long) {{\n\
             \tif (dfd == {}) return \"AT_FDCWD\"\n\
             \treturn sprintf(\"%d\", dfd)\n}}\n\n",
            self.at_fdcwd
        );
        s.push_str(
            "function __sc_ustr:string (addr:long) {\n\
             \tif (addr == 0) return \"NULL\"\n\
             \ttry { return string_quoted(user_string(addr)) } catch { return sprintf(\"%p\", addr) }\n\
             }\n\n\
             function __sc_ustr_n:string (addr:long, n:long) {\n\
             \tif (addr == 0) return \"NULL\"\n\
             \ttry { return string_quoted(user_string_n(addr, n)) } catch { return sprintf(\"%p\", addr) }\n\
             }\n\n",
        );
        s
    }
}

#[cfg(test)]
fn lookup(table: &[(i64, String)], v: i64) -> Option<String> {
    table.iter().find(|(n, _)| *n == v).map(|(_, s)| s.clone())
}

/// One variable an entry alias sets: its name, the expression, and how
/// `argstr` shows it (a printf conversion).
struct Var {
    name: String,
    value: String,
    conversion: &'static str,
}

/// The variables and `argstr` of the syscalls SystemTap users know by
/// their tapset names. `$N` in the texts is parameter N's target variable.
/// `None` when the syscall is not one of them or its prototype does not
/// have the expected shape on this kernel.
fn special(info: &SyscallInfo) -> Option<(Vec<(&'static str, String)>, String)> {
    let n = info.params.len();
    let v = |vars: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        vars.iter().map(|(a, b)| (*a, b.to_string())).collect()
    };
    let open_argstr = |prefix: &str| {
        format!(
            "flags & {{O_CREAT}} ? sprintf(\"{prefix}%s, %s, %#o\", {}filename, flags_str, mode) : sprintf(\"{prefix}%s, %s\", {}filename, flags_str)",
            if prefix.is_empty() { "" } else { "dfd_str, " },
            if prefix.is_empty() { "" } else { "dfd_str, " },
        )
    };
    Some(match (info.syscall.name.as_str(), n) {
        ("kill" | "tkill", 2) => (
            v(&[("pid", "$0"), ("sig", "$1")]),
            "sprintf(\"%d, %s\", pid, __sc_signal_str(sig))".into(),
        ),
        ("tgkill", 3) => (
            v(&[("tgid", "$0"), ("pid", "$1"), ("sig", "$2")]),
            "sprintf(\"%d, %d, %s\", tgid, pid, __sc_signal_str(sig))".into(),
        ),
        ("open", 3) => (
            v(&[
                ("filename", "__sc_ustr($0)"),
                ("flags", "$1"),
                ("flags_str", "__sc_open_flags_str(flags)"),
                ("mode", "$2"),
            ]),
            open_argstr(""),
        ),
        ("openat", 4) => (
            v(&[
                ("dfd", "$0"),
                ("dfd_str", "__sc_dfd_str(dfd)"),
                ("filename", "__sc_ustr($1)"),
                ("flags", "$2"),
                ("flags_str", "__sc_open_flags_str(flags)"),
                ("mode", "$3"),
            ]),
            open_argstr("%s, "),
        ),
        ("close" | "fsync" | "fdatasync", 1) => (v(&[("fd", "$0")]), "sprintf(\"%d\", fd)".into()),
        ("read", 3) => (
            v(&[("fd", "$0"), ("buf_uaddr", "$1"), ("count", "$2")]),
            "sprintf(\"%d, %p, %u\", fd, buf_uaddr, count)".into(),
        ),
        ("write", 3) => (
            v(&[("fd", "$0"), ("buf_uaddr", "$1"), ("count", "$2")]),
            "sprintf(\"%d, %s, %u\", fd, __sc_ustr_n(buf_uaddr, count), count)".into(),
        ),
        ("exit_group" | "exit", 1) => (v(&[("status", "$0")]), "sprintf(\"%d\", status)".into()),
        ("nanosleep", 2) => (
            v(&[("req_uaddr", "$0"), ("rem_uaddr", "$1")]),
            "sprintf(\"%p, %p\", req_uaddr, rem_uaddr)".into(),
        ),
        ("execve", 3) => (
            v(&[
                ("filename", "__sc_ustr($0)"),
                ("args_uaddr", "$1"),
                ("env_uaddr", "$2"),
            ]),
            "sprintf(\"%s, %p, %p\", filename, args_uaddr, env_uaddr)".into(),
        ),
        _ => return None,
    })
}

/// The generic variables: each parameter under its own name.
fn generic(info: &SyscallInfo) -> Vec<Var> {
    info.params
        .iter()
        .map(|p| {
            let name = if RESERVED.contains(&p.name.as_str()) {
                format!("{}_arg", p.name)
            } else {
                p.name.clone()
            };
            let target = format!("${}", p.name);
            if p.user && p.ty.is_string() {
                Var {
                    name,
                    value: format!("__sc_ustr({target})"),
                    conversion: "%s",
                }
            } else if p.ty.is_pointer() {
                Var {
                    name,
                    value: target,
                    conversion: "%p",
                }
            } else {
                Var {
                    name,
                    value: target,
                    conversion: if p.ty.is_signed() { "%d" } else { "%u" },
                }
            }
        })
        .collect()
}

/// The two aliases of one syscall.
fn aliases(info: &SyscallInfo, decoders: &Decoders, out: &mut String) {
    let name = &info.syscall.name;
    let _ = writeln!(out, "probe syscall.{name} = __syscall(\"{name}\") {{");
    let _ = writeln!(out, "\tname = \"{name}\"");
    let target = |text: &str| {
        let mut t = text.replace("{O_CREAT}", &open_creat(decoders).to_string());
        for (i, p) in info.params.iter().enumerate().rev() {
            t = t.replace(&format!("${i}"), &format!("${}", p.name));
        }
        t
    };
    match special(info) {
        Some((vars, argstr)) => {
            for (var, value) in vars {
                let _ = writeln!(out, "\t{var} = {}", target(&value));
            }
            let _ = writeln!(out, "\targstr = {}", target(&argstr));
        }
        None => {
            let vars = generic(info);
            for var in &vars {
                let _ = writeln!(out, "\t{} = {}", var.name, var.value);
            }
            if vars.is_empty() {
                out.push_str("\targstr = \"\"\n");
            } else {
                let format: Vec<&str> = vars.iter().map(|v| v.conversion).collect();
                let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
                let _ = writeln!(
                    out,
                    "\targstr = sprintf(\"{}\", {})",
                    format.join(", "),
                    names.join(", ")
                );
            }
        }
    }
    out.push_str("}\n");
    if !NO_RETURN.contains(&name.as_str()) {
        let _ = writeln!(
            out,
            "probe syscall.{name}.return = __syscall(\"{name}\").return {{\n\
             \tname = \"{name}\"\n\
             \tretval = $return\n\
             \tretstr = __sc_retstr(retval)\n}}"
        );
    }
    // nd_syscall.NAME is SystemTap's debuginfo-free twin of syscall.NAME:
    // stapkit's syscall points need no debuginfo, so it is the same point.
    let _ = writeln!(out, "probe nd_syscall.{name} = syscall.{name} {{ }}");
    if !NO_RETURN.contains(&name.as_str()) {
        let _ = writeln!(
            out,
            "probe nd_syscall.{name}.return = syscall.{name}.return {{ }}"
        );
    }
}

fn open_creat(d: &Decoders) -> i64 {
    d.open_flags
        .iter()
        .find(|(_, n)| n == "O_CREAT")
        .map(|(v, _)| *v)
        .unwrap_or(0o100)
}

/// The tapset text for `kernel`, or `None` without a syscall table.
pub fn generate(kernel: &KernelInfo) -> Option<String> {
    let syscalls = kernel.syscalls("*").ok()?;
    let decoders = Decoders::read(kernel);
    let mut out = String::from(
        "// Generated from the target kernel's syscall table; see sema/syscall_tapset.rs.\n\n",
    );
    out.push_str(&decoders.script());
    for info in syscalls.iter().filter(|i| i.entry_exists != Some(false)) {
        aliases(info, &decoders, &mut out);
    }
    // SystemTap's name for the open-flags decoder, which scripts call
    // (the published process/pfiles.stp); last, so that the aliases'
    // lines (in error locations) do not move.
    out.push_str(
        "function _sys_open_flag_str:string (f:long) {\n\treturn __sc_open_flags_str(f)\n}\n",
    );
    let names: Vec<&str> = syscalls.iter().map(|i| i.syscall.name.as_str()).collect();
    let compat = compat_socketcall(kernel);
    socketcall_only(&names, compat, &mut out);
    generic_table_lacks(&names, &mut out);
    Some(out)
}

/// The socket calls SystemTap documents that exist only through
/// socketcall(2) on architectures whose table lacks them (x86-64 and
/// arm64 have no `send` or `recv`), with the call programs make instead.
const SOCKETCALL_ONLY: &[(&str, &str)] = &[("send", "sendto"), ("recv", "recvfrom")];

/// The x86-64 kernel's entry of 32-bit programs' socketcall(2), when it
/// can be probed: its `struct pt_regs *regs` holds the call number in
/// `bx` and the user address of the 32-bit argument words in `cx` (the
/// i386 system call convention). The points read it as the first
/// argument, cast through BTF, so that they need no DWARF.
const IA32_SOCKETCALL: &str = "__ia32_compat_sys_socketcall";

/// [`IA32_SOCKETCALL`] when `kernel` is x86-64 and has it.
fn compat_socketcall(kernel: &KernelInfo) -> Option<&'static str> {
    (kernel.arch() == crate::arch::Arch::X86_64 && kernel.probeable(IA32_SOCKETCALL).is_ok())
        .then_some(IA32_SOCKETCALL)
}

/// socketcall(2)'s numbers of the [`SOCKETCALL_ONLY`] calls (`SYS_SEND`,
/// `SYS_RECV` of the uapi `linux/net.h`, fixed by the i386 ABI).
fn socketcall_number(name: &str) -> Option<u32> {
    match name {
        "send" => Some(9),
        "recv" => Some(10),
        _ => None,
    }
}

/// The `MSG_*` flags of send(2)/recv(2) and their values (fixed by the
/// ABI: `linux/socket.h`), as `flags_str` shows them.
const MSG_FLAGS: &[(u32, &str)] = &[
    (0x1, "MSG_OOB"),
    (0x2, "MSG_PEEK"),
    (0x4, "MSG_DONTROUTE"),
    (0x8, "MSG_CTRUNC"),
    (0x10, "MSG_PROXY"),
    (0x20, "MSG_TRUNC"),
    (0x40, "MSG_DONTWAIT"),
    (0x80, "MSG_EOR"),
    (0x100, "MSG_WAITALL"),
    (0x200, "MSG_FIN"),
    (0x400, "MSG_SYN"),
    (0x800, "MSG_CONFIRM"),
    (0x1000, "MSG_RST"),
    (0x2000, "MSG_ERRQUEUE"),
    (0x4000, "MSG_NOSIGNAL"),
    (0x8000, "MSG_MORE"),
    (0x10000, "MSG_WAITFORONE"),
    (0x4000000, "MSG_ZEROCOPY"),
    (0x20000000, "MSG_FASTOPEN"),
    (0x40000000, "MSG_CMSG_CLOEXEC"),
];

/// `__sc_msg_flags_str(f)`: the set `MSG_*` flags joined by `|`, bits no
/// name covers in hex after them, `0` for none.
fn msg_flags_function(out: &mut String) {
    out.push_str("function __sc_msg_flags_str:string (f:long) {\n\ts = \"\"\n");
    for (value, name) in MSG_FLAGS {
        let _ = writeln!(
            out,
            "\tif (f & {value:#x}) {{ s .= (s == \"\" ? \"\" : \"|\") . \"{name}\"; f &= ~{value:#x} }}"
        );
    }
    out.push_str(
        "\tif (f) s .= sprintf(\"%s%#x\", s == \"\" ? \"\" : \"|\", f)\n\treturn s == \"\" ? \"0\" : s\n}\n",
    );
}

/// `syscall.NAME` (and `.return`, `nd_syscall.*`) for the
/// [`SOCKETCALL_ONLY`] calls the table lacks. Where 32-bit programs reach
/// them through socketcall(2) (`compat`, the kernel's entry of that call,
/// see [`IA32_SOCKETCALL`]), the points are that entry when its call
/// number is NAME's, with the variables SystemTap documents (`s`,
/// `buf_uaddr`, `len`, `flags`, `flags_str`), as SystemTap resolves them
/// there; 64-bit programs never reach them (they call the replacement).
/// Elsewhere they are unavailable, saying why and what to probe instead.
fn socketcall_only(table: &[&str], compat: Option<&str>, out: &mut String) {
    let mut decoder = false;
    for (name, instead) in SOCKETCALL_ONLY {
        if table.contains(name) {
            continue;
        }
        if let (Some(entry), Some(number)) = (compat, socketcall_number(name)) {
            if !decoder {
                msg_flags_function(out);
                decoder = true;
            }
            let _ = writeln!(
                out,
                "probe syscall.{name} = kernel.function(\"{entry}\") {{\n\
                 \t__regs = pointer_arg(1)\n\
                 \tif (@cast(__regs, \"pt_regs\", \"kernel\")->bx != {number}) next\n\
                 \t__args = @cast(__regs, \"pt_regs\", \"kernel\")->cx & 0xffffffff\n\
                 \tname = \"{name}\"\n\
                 \ts = user_int32(__args)\n\
                 \tbuf_uaddr = user_uint32(__args + 4)\n\
                 \tlen = user_uint32(__args + 8)\n\
                 \tflags = user_uint32(__args + 12)\n\
                 \tflags_str = __sc_msg_flags_str(flags)\n\
                 \targstr = sprintf(\"%d, %p, %u, %s\", s, buf_uaddr, len, flags_str)\n}}"
            );
            let _ = writeln!(
                out,
                "probe syscall.{name}.return = kernel.function(\"{entry}\").return {{\n\
                 \tif (@entry(@cast(pointer_arg(1), \"pt_regs\", \"kernel\")->bx) != {number}) next\n\
                 \tname = \"{name}\"\n\
                 \tretval = returnval()\n\
                 \tretstr = __sc_retstr(retval)\n}}"
            );
            let _ = writeln!(out, "probe nd_syscall.{name} = syscall.{name} {{ }}");
            let _ = writeln!(
                out,
                "probe nd_syscall.{name}.return = syscall.{name}.return {{ }}"
            );
            continue;
        }
        let why = format!(
            "this kernel has no {name} system call: its programs call {instead}() (C libraries implement {name}() with it), and only 32-bit programs reach a {name} through socketcall(2); use syscall.{instead}"
        );
        for prefix in ["syscall", "nd_syscall"] {
            for suffix in ["", ".return"] {
                let _ = writeln!(
                    out,
                    "probe {prefix}.{name}{suffix} = __unavailable(\"{why}{suffix}\") {{ }}"
                );
            }
        }
    }
}

/// Calls of SystemTap's syscall tapset that the generic system call
/// table (arm64's) lacks, with the calls C libraries make for them there,
/// first found first.
const GENERIC_TABLE_LACKS: &[(&str, &[&str])] = &[
    ("open", &["openat"]),
    ("creat", &["openat"]),
    ("stat", &["newfstatat", "statx"]),
    ("lstat", &["newfstatat", "statx"]),
    ("access", &["faccessat", "faccessat2"]),
    ("mkdir", &["mkdirat"]),
    ("rmdir", &["unlinkat"]),
    ("unlink", &["unlinkat"]),
    ("rename", &["renameat", "renameat2"]),
    ("link", &["linkat"]),
    ("symlink", &["symlinkat"]),
    ("readlink", &["readlinkat"]),
    ("chmod", &["fchmodat"]),
    ("chown", &["fchownat"]),
    ("lchown", &["fchownat"]),
    ("mknod", &["mknodat"]),
    ("utimes", &["utimensat"]),
    ("futimesat", &["utimensat"]),
    ("getdents", &["getdents64"]),
    ("pipe", &["pipe2"]),
    ("dup2", &["dup3"]),
    ("poll", &["ppoll"]),
    ("select", &["pselect6"]),
    ("epoll_create", &["epoll_create1"]),
    ("epoll_wait", &["epoll_pwait"]),
    ("inotify_init", &["inotify_init1"]),
    ("eventfd", &["eventfd2"]),
    ("signalfd", &["signalfd4"]),
    ("fork", &["clone"]),
    ("vfork", &["clone"]),
];

/// `syscall.NAME` (and `.return`, `nd_syscall.*`) for the
/// [`GENERIC_TABLE_LACKS`] calls this kernel's table lacks while it has
/// their replacement: unavailable, naming the call to probe instead
/// (published examples probe `syscall.open`, which arm64 never had).
fn generic_table_lacks(table: &[&str], out: &mut String) {
    for (name, candidates) in GENERIC_TABLE_LACKS {
        if table.contains(name) {
            continue;
        }
        let Some(instead) = candidates.iter().find(|c| table.contains(c)) else {
            continue;
        };
        for prefix in ["syscall", "nd_syscall"] {
            for suffix in ["", ".return"] {
                let _ = writeln!(
                    out,
                    "probe {prefix}.{name}{suffix} = __unavailable(\"this kernel has no {name} system call: its programs call {instead}() (C libraries implement {name}() with it); use {prefix}.{instead}{suffix}\") {{ }}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::syscalls::{params_of, parse_defines, Syscall};
    use crate::debuginfo::CType;

    fn decoders() -> Decoders {
        let signals = parse_defines("#define SIGHUP 1\n#define SIGKILL 9\n#define SIGTERM 15\n#define SIGIOT 6\n#define SIGABRT 6\n#define SIGRTMIN 32\n#define SIGPOLL SIGIO\n");
        let errnos =
            parse_defines("#define EPERM 1\n#define ENOENT 2\n#define EWOULDBLOCK EAGAIN\n");
        let fcntl = parse_defines("#define O_ACCMODE 00000003\n#define O_RDONLY 00000000\n#define O_WRONLY 00000001\n#define O_CREAT 00000100\n#define O_TRUNC 00001000\n#define O_CLOEXEC 02000000\n#define __O_TMPFILE 020000000\n#define AT_FDCWD -100\n");
        Decoders::from_defines(&signals, &errnos, &fcntl)
    }

    #[test]
    fn socketcall_only_calls_are_unavailable_where_the_table_lacks_them() {
        let mut out = String::new();
        socketcall_only(&["sendto", "recv", "recvfrom"], None, &mut out);
        assert!(out.contains(
            "probe syscall.send = __unavailable(\"this kernel has no send system call: its programs call sendto()"
        ));
        assert!(out.contains("use syscall.sendto.return\") { }\n"));
        assert!(out.contains("probe nd_syscall.send.return = __unavailable("));
        assert!(!out.contains("syscall.recv"));
    }

    #[test]
    fn socketcall_only_calls_are_the_compat_entry_where_the_kernel_has_it() {
        let mut out = String::new();
        socketcall_only(&["sendto", "recvfrom"], Some(IA32_SOCKETCALL), &mut out);
        assert!(out.contains(
            "probe syscall.send = kernel.function(\"__ia32_compat_sys_socketcall\") {\n\t__regs = pointer_arg(1)\n\tif (@cast(__regs, \"pt_regs\", \"kernel\")->bx != 9) next\n\t__args = @cast(__regs, \"pt_regs\", \"kernel\")->cx & 0xffffffff\n"
        ), "{out}");
        assert!(out.contains("\ts = user_int32(__args)\n\tbuf_uaddr = user_uint32(__args + 4)\n"));
        assert!(out.contains(
            "probe syscall.recv.return = kernel.function(\"__ia32_compat_sys_socketcall\").return {\n\tif (@entry(@cast(pointer_arg(1), \"pt_regs\", \"kernel\")->bx) != 10) next\n"
        ));
        assert!(out.contains("probe nd_syscall.recv.return = syscall.recv.return { }\n"));
        assert!(!out.contains("__unavailable"));
        // One decoder for both calls.
        assert_eq!(out.matches("function __sc_msg_flags_str").count(), 1);
        let mut map = crate::diag::SourceMap::new();
        let file = map.add("t", out.clone());
        let parsed = crate::syntax::parse(&map, file, &crate::syntax::PreprocessConfig::default());
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
    }

    #[test]
    fn calls_the_generic_table_lacks_name_their_replacement() {
        let mut out = String::new();
        generic_table_lacks(
            &["openat", "newfstatat", "statx", "unlinkat", "stat"],
            &mut out,
        );
        assert!(out.contains(
            "probe syscall.open = __unavailable(\"this kernel has no open system call: its programs call openat() (C libraries implement open() with it); use syscall.openat\") { }\n"
        ));
        assert!(out.contains("probe nd_syscall.open.return = __unavailable(\"this kernel has no open system call: its programs call openat() (C libraries implement open() with it); use nd_syscall.openat.return\") { }\n"));
        assert!(out.contains("use syscall.newfstatat\") { }"), "{out}");
        assert!(out.contains("probe syscall.rmdir = "));
        // The table has stat; it has nothing replacing mkdir.
        assert!(!out.contains("syscall.stat ="));
        assert!(!out.contains("syscall.mkdir"));
        // On a table that has the call, nothing.
        let mut out = String::new();
        generic_table_lacks(&["open", "openat"], &mut out);
        assert!(!out.contains("syscall.open ="), "{out}");
    }

    #[test]
    fn decoders_name_signals_errnos_and_flags() {
        let d = decoders();
        assert_eq!(d.signal_str(15), "SIGTERM");
        // The first name of a number wins.
        assert_eq!(d.signal_str(6), "SIGIOT");
        assert_eq!(d.signal_str(40), "40");
        assert_eq!(d.signal_str(0), "SIG_0");
        assert_eq!(d.retstr(-2), "-2 (ENOENT)");
        assert_eq!(d.retstr(3), "3");
        assert_eq!(d.retstr(-999), "-999");
        assert_eq!(d.open_flags_str(0), "O_RDONLY");
        assert_eq!(d.open_flags_str(0o1101), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(d.open_flags_str(0o2000000 | 2), "O_RDWR|O_CLOEXEC");
        assert_eq!(d.open_flags_str(0o20000000), "O_RDONLY|O_TMPFILE");
        assert_eq!(d.open_flags_str(0o10), "O_RDONLY|010");
        assert_eq!(d.at_fdcwd, -100);
        let script = d.script();
        assert!(script.contains("if (sig == 15) return \"SIGTERM\""));
        assert!(script.contains("return sig == 0 ? \"SIG_0\" : sprintf(\"%d\", sig)"));
        assert!(script.contains("if (flags & 64) { s .= \"|O_CREAT\"; rest &= ~64 }"));
        assert!(script.contains("if (dfd == -100) return \"AT_FDCWD\""));
    }

    fn info(name: &str, decls: &[&str]) -> SyscallInfo {
        let decls: Vec<String> = decls.iter().map(|s| s.to_string()).collect();
        SyscallInfo {
            syscall: Syscall {
                nr: 1,
                name: name.into(),
                entry: format!("sys_{name}"),
            },
            entry_function: format!("__x64_sys_{name}"),
            entry_exists: Some(true),
            params: params_of(&decls, &[], &crate::debuginfo::cdecl::NoTypes),
            params_source: None,
            ret: CType::Int {
                name: "long".into(),
                size: 8,
                signed: true,
            },
        }
    }

    #[test]
    fn common_syscalls_use_tapset_names() {
        let mut out = String::new();
        aliases(
            &info("kill", &["pid_t pid", "int sig"]),
            &decoders(),
            &mut out,
        );
        assert_eq!(
            out,
            "probe syscall.kill = __syscall(\"kill\") {\n\tname = \"kill\"\n\tpid = $pid\n\tsig = $sig\n\targstr = sprintf(\"%d, %s\", pid, __sc_signal_str(sig))\n}\n\
             probe syscall.kill.return = __syscall(\"kill\").return {\n\tname = \"kill\"\n\tretval = $return\n\tretstr = __sc_retstr(retval)\n}\n\
             probe nd_syscall.kill = syscall.kill { }\n\
             probe nd_syscall.kill.return = syscall.kill.return { }\n"
        );
        let mut out = String::new();
        let openat = info(
            "openat",
            &[
                "int dfd",
                "const char __user *filename",
                "int flags",
                "umode_t mode",
            ],
        );
        aliases(&openat, &decoders(), &mut out);
        assert!(out.contains("\tfilename = __sc_ustr($filename)\n"), "{out}");
        assert!(out.contains("argstr = flags & 64 ? sprintf(\"%s, %s, %s, %#o\", dfd_str, filename, flags_str, mode)"), "{out}");
    }

    #[test]
    fn other_syscalls_get_generic_variables() {
        let mut out = String::new();
        let exit = info("exit", &["int error_code"]);
        aliases(&exit, &decoders(), &mut out);
        assert!(!out.contains(".return"), "exit never returns: {out}");
        let mut out = String::new();
        let sethostname = info("sethostname", &["char __user *name", "int len"]);
        aliases(&sethostname, &decoders(), &mut out);
        assert!(
            out.contains("\tname_arg = __sc_ustr($name)\n\tlen = $len\n"),
            "{out}"
        );
        assert!(
            out.contains("argstr = sprintf(\"%s, %d\", name_arg, len)"),
            "{out}"
        );
        let mut out = String::new();
        aliases(&info("sync", &[]), &decoders(), &mut out);
        assert!(out.contains("\targstr = \"\"\n"), "{out}");
    }
}
