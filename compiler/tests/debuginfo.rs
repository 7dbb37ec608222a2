//! The debug-information layer on the real Debian 6.1 amd64 kernel, as a
//! machine without the `-dbg` package sees it: BTF from the image, names
//! from the headers, symbols from `Module.symvers`. Each answer is
//! snapshotted (`snapshots/debuginfo__*.snap`), with the kernel release
//! replaced by `<release>` so a Debian point release only moves offsets.
//!
//! The kernel comes from the stapkit cache (`cargo xtask test` fetches it);
//! a missing kernel is a failure, not a skip.

use std::fmt::Write as _;
use std::sync::OnceLock;

use stapkit::debuginfo::{
    arg_location, return_register, syscall_arg_register, BlacklistAnswer, CType, KernelFiles,
    KernelInfo, Prototype, Source, Suggest,
};
use stapkit::kernel::{Cache, HeaderTree};

const KERNEL: &str = "debian-6.1-amd64";

/// One shared `KernelInfo` (BTF is extracted or read from the cache once).
fn kernel() -> &'static KernelInfo {
    static INFO: OnceLock<KernelInfo> = OnceLock::new();
    INFO.get_or_init(|| {
        let state = Cache::locate(None)
            .state(KERNEL)
            .unwrap_or_else(|e| panic!("cannot read the kernel cache: {e}"))
            .unwrap_or_else(|| {
                panic!(
                    "the {KERNEL} kernel is not fetched: run `stap-prep fetch {KERNEL}` \
                     (`cargo xtask test` does) with the same STAPKIT_CACHE"
                )
            });
        let tree = HeaderTree::from_fetched(state).unwrap_or_else(|e| panic!("{e}"));
        let files = KernelFiles::from_tree(&tree);
        KernelInfo::new(files.without_debug())
    })
}

/// `text` with the kernel release (it changes with Debian point releases) redacted.
fn redact(text: &str) -> String {
    text.replace(&kernel().files().release, "<release>")
}

fn describe_type(ty: &CType) -> String {
    let size = ty.size().map_or("?".to_string(), |s| s.to_string());
    let sign = if ty.is_signed() { "signed" } else { "unsigned" };
    format!("{ty} ({size} bytes, {sign})")
}

fn describe_prototype(p: &Prototype, source: Source) -> String {
    let mut out = format!(
        "{}\n  source: {source}\n  returns: {}\n",
        p.render(),
        describe_type(&p.ret)
    );
    for (i, param) in p.params.iter().flatten().enumerate() {
        let _ = writeln!(out, "  ${}: {}", param.name, describe_type(&param.ty));
        let _ = writeln!(
            out,
            "    entry: {}",
            arg_location(kernel().arch(), i as u32 + 1).unwrap()
        );
    }
    out
}

#[test]
fn sources_without_the_debug_package() {
    let k = kernel();
    assert!(k.btf().is_some(), "{:?}", k.describe_sources());
    assert!(k.dwarf().is_none());
    assert!(k.system_map().is_none());
    let lines: Vec<String> = k
        .describe_sources()
        .into_iter()
        .map(|l| l.split(" (").next().unwrap_or(&l).to_string())
        .map(|l| {
            if l.starts_with("BTF:") {
                "BTF: the image".into()
            } else {
                l
            }
        })
        .collect();
    insta::assert_snapshot!(lines.join("\n"));
}

#[test]
fn function_prototypes() {
    let k = kernel();
    let mut out = String::new();
    for name in ["vfs_read", "do_sys_openat2", "__x64_sys_kill"] {
        let f = k.function(name).unwrap_or_else(|e| panic!("{e}"));
        assert!(f.value.out_of_line);
        out.push_str(&describe_prototype(&f.value.prototype, f.source));
    }
    let _ = writeln!(
        out,
        "return value at .return: regs->{}\n__x64_sys_kill user args: pid in regs->{}, sig in regs->{}",
        return_register(k.arch()),
        syscall_arg_register(k.arch(), 1).unwrap(),
        syscall_arg_register(k.arch(), 2).unwrap()
    );
    insta::assert_snapshot!(out);
}

#[test]
fn task_struct_members() {
    let k = kernel();
    let mut out = String::new();
    for path in [
        &["pid"][..],
        &["comm"],
        &["real_parent"],
        &["real_parent", "pid"],
        &["real_parent", "comm"],
        &["mm", "mmap_lock"],
    ] {
        let p = k
            .member_path("struct task_struct", path)
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = writeln!(out, "task_struct->{} ({}):", path.join("->"), p.source);
        for s in &p.value.steps {
            let _ = writeln!(
                out,
                "  {}{} at +{}: {}",
                if s.deref { "load pointer, then " } else { "" },
                s.name,
                s.offset,
                describe_type(&s.ty)
            );
        }
    }
    let cast = k
        .member_path("struct file", &["f_path", "dentry", "d_name", "name"])
        .unwrap_or_else(|e| panic!("{e}"));
    let steps: Vec<String> = cast
        .value
        .steps
        .iter()
        .map(|s| format!("{}{}+{}", if s.deref { "*" } else { "" }, s.name, s.offset))
        .collect();
    let _ = writeln!(
        out,
        "@cast(f, \"struct file\")->f_path->dentry->d_name->name: {} : {}",
        steps.join(" "),
        cast.value.ty()
    );
    let e = k.member_path("struct task_struct", &["pdi"]).unwrap_err();
    let _ = writeln!(out, "error: {e}");
    let layout = k
        .layout("struct task_struct")
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = writeln!(
        out,
        "sizeof(struct task_struct) = {} ({} members)",
        layout.value.size,
        layout.value.members.len()
    );
    insta::assert_snapshot!(out);
}

#[test]
fn tracepoint_arguments() {
    let k = kernel();
    let mut out = String::new();
    for spec in [
        "sched:sched_switch",
        "sched:sched_process_exec",
        "sched_process_fork",
    ] {
        let tp = k.tracepoint(spec).unwrap_or_else(|e| panic!("{e}"));
        let _ = writeln!(
            out,
            "{} (names: {}, in kernel: {:?}, header: {})",
            tp.value.full_name(),
            tp.source,
            tp.value.in_kernel,
            tp.value
                .header
                .as_ref()
                .map(|h| h.display().to_string())
                .unwrap_or_default()
        );
        for p in &tp.value.params {
            let _ = writeln!(
                out,
                "  ${}: {} [{}]",
                p.name,
                describe_type(&p.ty),
                p.decl.as_deref().unwrap_or("-")
            );
        }
    }
    let sched = k.tracepoints("sched:*");
    let _ = writeln!(out, "sched:* matches {} tracepoints", sched.len());
    let all = k.tracepoints("*");
    let named = all.iter().filter(|t| t.source == Source::Headers).count();
    let _ = writeln!(
        out,
        "* matches {} tracepoints, {} with argument names from headers",
        all.len(),
        named
    );
    let e = k.tracepoint("sched:sched_swtich").unwrap_err();
    let _ = writeln!(out, "error: {e}");
    insta::assert_snapshot!(out);
}

#[test]
fn syscalls() {
    let k = kernel();
    let mut out = String::new();
    for name in ["kill", "openat", "fsync", "stat", "clone", "getpid", "mmap"] {
        let s = k.syscall(name).unwrap_or_else(|e| panic!("{e}"));
        let v = &s.value;
        let _ = writeln!(
            out,
            "syscall.{} = #{} {} -> {} (exists: {:?}, parameters from {:?})",
            v.syscall.name,
            v.syscall.nr,
            v.syscall.entry,
            v.entry_function,
            v.entry_exists,
            v.params_source
        );
        for (i, p) in v.params.iter().enumerate() {
            let _ = writeln!(
                out,
                "  {}: {}{} in regs->{}",
                p.name,
                describe_type(&p.ty),
                if p.user { " __user" } else { "" },
                syscall_arg_register(k.arch(), i as u32 + 1).unwrap()
            );
        }
    }
    let table = k.syscall_table().unwrap();
    let all = k.syscalls("*").unwrap();
    let missing: Vec<&str> = all
        .iter()
        .filter(|s| s.entry_exists != Some(true) || s.params_source.is_none())
        .map(|s| s.syscall.name.as_str())
        .collect();
    let _ = writeln!(
        out,
        "{} syscalls; without an entry function or prototype: {}",
        table.syscalls.len(),
        missing.join(" ")
    );
    let e = k.syscall("kil").unwrap_err();
    let _ = writeln!(out, "error: {e}");
    insta::assert_snapshot!(out);
}

#[test]
fn inlined_functions_get_alternatives() {
    let k = kernel();
    let e = k.function("do_fsync").unwrap_err();
    assert_eq!(
        e.to_string(),
        "function 'do_fsync' is not in this kernel's BTF: it is inlined or does not exist; \
         try __x64_sys_fsync, vfs_fsync or syscall.fsync"
    );
    assert_eq!(k.blacklisted("vfs_read"), BlacklistAnswer::Unknown);
    let e = k
        .functions_in_file("vfs_read", "fs/read_write.c")
        .unwrap_err();
    insta::assert_snapshot!(redact(&format!(
        "{e}\n{}",
        k.probeable("vfs_raed").unwrap_err()
    )));
}

/// An error nobody will see (an optional point's) names no alternatives,
/// which cost a walk over every function; its reason is the same.
#[test]
fn errors_for_optional_points_skip_the_alternatives() {
    let k = kernel();
    let quiet = k
        .probeable_for("do_fsync", Suggest::Nothing)
        .unwrap_err()
        .to_string();
    assert_eq!(
        quiet,
        "function 'do_fsync' is not in this kernel's BTF: it is inlined or does not exist"
    );
    let told = k.probeable("do_fsync").unwrap_err().to_string();
    assert!(told.starts_with(&quiet) && told.contains("try "), "{told}");
}

#[test]
fn wildcards_and_exports() {
    let k = kernel();
    let vfs = k.functions_matching("vfs_*");
    assert_eq!(vfs.source, Source::Btf);
    let exports = k.exports();
    let gpl = |n: &str| {
        exports.get(n).map(|e| {
            if e.gpl_only {
                "EXPORT_SYMBOL_GPL"
            } else {
                "EXPORT_SYMBOL"
            }
        })
    };
    let out = format!(
        "vfs_* matches {} functions (from {}), first: {}\nvfs_read: {:?}\nvfs_fsync: {:?}\nfilp_open: {:?}\nexports: {}",
        vfs.value.len(),
        vfs.source,
        vfs.value[..5].join(" "),
        gpl("vfs_read"),
        gpl("vfs_fsync"),
        gpl("filp_open"),
        exports.len()
    );
    insta::assert_snapshot!(out);
}
