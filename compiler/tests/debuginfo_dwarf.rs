//! DWARF against BTF on the real Debian 6.1 amd64 kernel with its `-dbg`
//! package: the answers both can give must agree, and the DWARF-only ones
//! (inlining, `name@file.c`, the kprobe blacklist from the real
//! `System.map`) are snapshotted.
//!
//! The `-dbg` package is 800+ MB, so this target is not run by a plain
//! `cargo test` (`test = false` in Cargo.toml). Run it with
//! `STAPKIT_DEBUG_KERNEL=debian-6.1-amd64 cargo test -p stapkit --test debuginfo_dwarf`
//! after `stap-prep fetch --debug debian-6.1-amd64`. The first run builds
//! the DWARF index (seconds in release, a minute or more in a debug build).

use std::fmt::Write as _;
use std::sync::OnceLock;

use stapkit::debuginfo::{BlacklistAnswer, KernelFiles, KernelInfo, Source, TypeSource};
use stapkit::kernel::{Cache, HeaderTree};

const ENV: &str = "STAPKIT_DEBUG_KERNEL";
const SNAPSHOT_KERNEL: &str = "debian-6.1-amd64";

fn kernel() -> &'static KernelInfo {
    static INFO: OnceLock<KernelInfo> = OnceLock::new();
    INFO.get_or_init(|| {
        let name = std::env::var(ENV).unwrap_or_else(|_| {
            panic!(
                "{ENV} is not set: these tests need a kernel fetched with its -dbg package; run \
                 `stap-prep fetch --debug {SNAPSHOT_KERNEL}` then \
                 `{ENV}={SNAPSHOT_KERNEL} cargo test -p stapkit --test debuginfo_dwarf`"
            )
        });
        assert_eq!(
            name, SNAPSHOT_KERNEL,
            "the snapshots are of {SNAPSHOT_KERNEL}"
        );
        let state = Cache::locate(None)
            .state(&name)
            .unwrap_or_else(|e| panic!("cannot read the kernel cache: {e}"))
            .unwrap_or_else(|| {
                panic!("{name} is not fetched: run `stap-prep fetch --debug {name}`")
            });
        assert!(
            state.debug_vmlinux.is_some(),
            "{name} was fetched without its -dbg package: run `stap-prep fetch --debug {name}`"
        );
        let tree = HeaderTree::from_fetched(state).unwrap_or_else(|e| panic!("{e}"));
        let k = KernelInfo::new(KernelFiles::from_tree(&tree));
        assert!(k.dwarf().is_some(), "{:?}", k.describe_sources());
        assert!(k.btf().is_some(), "{:?}", k.describe_sources());
        assert!(
            k.system_map().is_some(),
            "the -dbg package's System.map is missing"
        );
        k
    })
}

fn redact(text: &str) -> String {
    text.replace(&kernel().files().release, "<release>")
}

#[test]
fn prototypes_agree() {
    let k = kernel();
    let (dwarf, btf) = (k.dwarf().unwrap(), k.btf().unwrap());
    for name in [
        "vfs_read",
        "do_sys_openat2",
        "__x64_sys_kill",
        "vfs_fsync",
        "schedule",
        "do_exit",
        "_printk",
    ] {
        let d = TypeSource::function(dwarf, name).unwrap_or_else(|| panic!("DWARF lacks {name}"));
        let b = TypeSource::function(btf, name).unwrap_or_else(|| panic!("BTF lacks {name}"));
        assert_eq!(d.prototype, b.prototype, "{name}");
        assert!(d.out_of_line, "{name}");
    }
    let f = k.function("vfs_read").unwrap();
    assert_eq!(f.source, Source::Dwarf);
    assert_eq!(f.value.file.as_deref(), Some("fs/read_write.c"));
}

#[test]
fn layouts_agree() {
    let k = kernel();
    let (dwarf, btf) = (k.dwarf().unwrap(), k.btf().unwrap());
    for ty in [
        "struct task_struct",
        "struct file",
        "struct mm_struct",
        "struct sk_buff",
        "struct pt_regs",
        "atomic_t",
    ] {
        let d = dwarf.layout(ty).unwrap_or_else(|e| panic!("{e}"));
        let b = btf.layout(ty).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((d.size, d.members.len()), (b.size, b.members.len()), "{ty}");
        for (dm, bm) in d.members.iter().zip(&b.members) {
            assert_eq!(
                (&dm.name, dm.bit_offset, dm.bitfield_size, dm.ty.size()),
                (&bm.name, bm.bit_offset, bm.bitfield_size, bm.ty.size()),
                "{ty}"
            );
        }
    }
    for path in [
        &["pid"][..],
        &["comm"],
        &["real_parent", "pid"],
        &["mm", "mmap_lock"],
        &["se", "vruntime"],
    ] {
        let d = dwarf.member_path("struct task_struct", path).unwrap();
        let b = btf.member_path("struct task_struct", path).unwrap();
        assert_eq!(d, b, "{path:?}");
    }
}

#[test]
fn function_sets_agree() {
    let k = kernel();
    let (dwarf, btf) = (k.dwarf().unwrap(), k.btf().unwrap());
    let btf_names = btf.function_names();
    let missing: Vec<&str> = btf_names
        .iter()
        .copied()
        .filter(|n| dwarf.functions(n).is_empty())
        .collect();
    // DWARF describes every function BTF has.
    assert!(
        missing.is_empty(),
        "{} missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    // Some have no code in DWARF: identical-code folding made their
    // symbols aliases of another function's code. They stay probe-able.
    let dwarf_code = dwarf.function_names();
    let folded: Vec<&str> = btf_names
        .iter()
        .copied()
        .filter(|n| dwarf_code.binary_search(n).is_err())
        .collect();
    assert!(folded.contains(&"HUF_getErrorName"), "{folded:?}");
    for name in &folded {
        let f = k.function(name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.source, Source::Dwarf);
        assert!(f.value.out_of_line, "{name}");
    }
    let vfs_dwarf = k.functions_matching("vfs_*");
    assert_eq!(vfs_dwarf.source, Source::Dwarf);
    for name in btf
        .function_names()
        .into_iter()
        .filter(|n| n.starts_with("vfs_"))
    {
        if !vfs_dwarf.value.iter().any(|n| n == name) {
            assert!(
                matches!(k.blacklisted(name), BlacklistAnswer::Forbidden(_)),
                "{name}"
            );
        }
    }
}

#[test]
fn dwarf_only_answers() {
    let k = kernel();
    let mut out = String::new();
    let f = k.function("do_fsync").unwrap();
    let _ = writeln!(
        out,
        "do_fsync ({}): {} in {}:{}, out of line: {}, inlined {} times: {}",
        f.source,
        f.value.prototype.render(),
        f.value.file.as_deref().unwrap_or("?"),
        f.value.line.unwrap_or(0),
        f.value.out_of_line,
        f.value.inlined.unwrap_or(0),
        f.value.inline_sites.join(", ")
    );
    let _ = writeln!(out, "{}", k.probeable("do_fsync").unwrap_err());
    let _ = writeln!(out, "{}", k.probeable("vfs_raed").unwrap_err());
    let in_file = k.functions_in_file("vfs_*", "fs/read_write.c").unwrap();
    let names: Vec<&str> = in_file.iter().map(|f| f.name.as_str()).collect();
    let _ = writeln!(out, "vfs_*@fs/read_write.c: {}", names.join(" "));
    let signal = k.functions_in_file("*", "kernel/signal.c").unwrap();
    let _ = writeln!(
        out,
        "*@kernel/signal.c: {} functions, {} with code",
        signal.len(),
        signal.iter().filter(|f| f.out_of_line).count()
    );
    for name in [
        "vfs_read",
        "do_int3",
        "exc_int3",
        "do_syscall_64",
        "entry_SYSCALL_64",
        "start_kernel",
    ] {
        let answer = match k.blacklisted(name) {
            BlacklistAnswer::Allowed => "allowed".to_string(),
            BlacklistAnswer::Forbidden(why) => format!("forbidden ({why})"),
            BlacklistAnswer::Unknown => "unknown".to_string(),
        };
        let _ = writeln!(out, "kprobe on {name}: {answer}");
    }
    let _ = writeln!(out, "{}", k.probeable("exc_int3").unwrap_err());
    insta::assert_snapshot!(redact(&out));
}

#[test]
fn events_agree_with_dwarf_types() {
    let k = kernel();
    let btf_only = KernelInfo::new(k.files().clone().without_debug());
    for spec in ["sched:sched_switch", "sched:sched_process_exec"] {
        assert_eq!(
            k.tracepoint(spec).unwrap(),
            btf_only.tracepoint(spec).unwrap(),
            "{spec}"
        );
    }
    for name in ["kill", "openat", "fsync", "clone"] {
        let d = k.syscall(name).unwrap().value;
        let b = btf_only.syscall(name).unwrap().value;
        assert_eq!(d, b, "{name}");
    }
    // Without a header declaration, DWARF still knows the arch syscalls'
    // parameters through their (inlined) `__do_sys_NAME`.
    let mmap = k.syscall("mmap").unwrap().value;
    assert_eq!(mmap.params_source, Some(Source::Dwarf));
    let names: Vec<&str> = mmap.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["addr", "len", "prot", "flags", "fd", "off"]);
}

/// `@var("name@file")`: DWARF's definition of a variable in a compilation
/// unit, at the address System.map gives it; a file-static one too.
#[test]
fn variables_in_files() {
    use stapkit::debuginfo::variables::VariableLocation;
    use stapkit::debuginfo::CType;
    let k = kernel();
    let map = k.system_map().expect("the -dbg System.map");
    let v = k.variable("nr_threads", Some("kernel/fork.c")).unwrap();
    assert!(
        matches!(
            v.ty,
            CType::Int {
                size: 4,
                signed: true,
                ..
            }
        ),
        "{:?}",
        v.ty
    );
    assert_eq!(v.header, "kernel/fork.c");
    let VariableLocation::Mapped {
        address,
        anchor_address,
    } = v.location
    else {
        panic!("a DWARF variable is located by address: {v:?}");
    };
    assert_eq!(address, map.get("nr_threads").unwrap().addr);
    assert_eq!(anchor_address, map.get("jiffies").unwrap().addr);
    // `@file` forms: a base name matches too.
    let same = k.variable("nr_threads", Some("fork.c")).unwrap();
    assert_eq!(same.location, v.location);
    // A struct, defined in its own file.
    let init = k.variable("init_task", Some("init/init_task.c")).unwrap();
    assert_eq!(
        init.ty.aggregate_name().as_deref(),
        Some("struct task_struct")
    );
    // Not defined in that file.
    let err = k.variable("nr_threads", Some("kernel/exit.c")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no compilation unit matching 'kernel/exit.c' defines it at file scope"
    );
}

/// `.inline`: do_fsync is inlined into the fsync and fdatasync syscalls
/// (their x86-64 and ia32 wrappers) on 6.1. Each copy becomes a kprobe at
/// a unique symbol plus an offset that lands on the copy's entry, inside
/// the function that contains it. Addresses move between Debian point
/// releases, so they are checked against System.map, not snapshotted.
#[test]
fn inline_instances_of_do_fsync() {
    let k = kernel();
    let map = k.system_map().unwrap();
    let probes = k.inline_probes("do_fsync", None, false).unwrap();
    let mut containing: Vec<&str> = probes.iter().map(|p| p.containing.as_str()).collect();
    containing.sort();
    assert_eq!(
        containing,
        [
            "__ia32_sys_fdatasync",
            "__ia32_sys_fsync",
            "__x64_sys_fdatasync",
            "__x64_sys_fsync"
        ]
    );
    for p in &probes {
        assert_eq!(p.function, "do_fsync");
        assert_eq!(map.count(&p.symbol), 1, "{p:?}");
        let anchor = map.get(&p.symbol).unwrap();
        assert_eq!(anchor.addr + p.offset, p.address, "{p:?}");
        let func = map.get(&p.containing).unwrap();
        assert!(func.addr < p.address, "{p:?} is not inside its function");
        assert_eq!(map.text_symbol_at(p.address).unwrap().name, p.containing);
    }
    // The same copies through the file and through a wildcard.
    assert_eq!(
        k.inline_probes("do_fsync", Some("fs/sync.c"), false)
            .unwrap(),
        probes
    );
    let wild = k.inline_probes("do_fs*nc", Some("sync.c"), false).unwrap();
    assert_eq!(wild, probes);
    // A wildcard over thousands of functions reads each unit once for all
    // of them (issue 18: `d*` once grew to gigabytes) and finds the same
    // copies of each as asking for it alone.
    let broad = k.inline_probes("d*", None, false).unwrap();
    let of_do_fsync: Vec<_> = broad
        .iter()
        .filter(|p| p.function == "do_fsync")
        .cloned()
        .collect();
    assert_eq!(of_do_fsync, probes);
    let functions: std::collections::BTreeSet<&str> =
        broad.iter().map(|p| p.function.as_str()).collect();
    assert!(functions.len() > 100, "{} functions", functions.len());
    for f in functions.iter().step_by(97).take(5) {
        let alone = k.inline_probes(f, None, false).unwrap();
        let within: Vec<_> = broad.iter().filter(|p| p.function == *f).cloned().collect();
        assert_eq!(alone, within, "{f}");
    }
    // Errors name what is wrong.
    let mut out = String::new();
    for (f, file) in [
        ("do_fsync", Some("fs/open.c")),
        ("vfs_raed", None),
        ("start_kernel", None),
        // Inlined only into do_syscall_64, which is .noinstr.text.
        ("do_syscall_x64", None),
    ] {
        let _ = writeln!(out, "{}", k.inline_probes(f, file, false).unwrap_err());
    }
    assert!(k
        .inline_probes("no_such_*", None, false)
        .unwrap()
        .is_empty());
    insta::assert_snapshot!(redact(&out));
}

/// `.inline` points through sema: one per copy, and `$vars` refused.
#[test]
fn inline_points_in_scripts() {
    use stapkit::ir;
    let info = std::sync::Arc::new(KernelInfo::new(k_files()));
    let analyze = |text: &str| analyze_on(&info, "inline.stp", text);
    let (program, errors) =
        analyze("probe kernel.function(\"do_fsync\").inline { println(pp(), \" \", probefunc()) }");
    let program = program.unwrap_or_else(|| panic!("{errors}"));
    let points: Vec<&ir::ProbePoint> = program.probes.iter().flat_map(|p| &p.points).collect();
    assert_eq!(points.len(), 4);
    for p in points {
        assert_eq!(p.name, "kernel.function(\"do_fsync\").inline");
        assert!(
            matches!(&p.kind, ir::ProbeKind::KprobeInline { function, .. } if function == "do_fsync")
        );
    }
    // An exact name's copies each read their variables where DWARF puts
    // them at the copy's entry; `$$parms` shows `?` for one it cannot.
    let (program, errors) =
        analyze("probe kernel.function(\"do_fsync\").inline { println($fd, \" \", $$parms) }");
    assert_eq!(
        program
            .unwrap_or_else(|| panic!("{errors}"))
            .probes
            .iter()
            .flat_map(|p| &p.points)
            .count(),
        4
    );
    // do_fsync has no out-of-line copy: kernel.function covers its
    // inlined copies (SystemTap's DWARF function probes do), .call none.
    let (program, errors) = analyze("probe kernel.function(\"do_fsync\") { println($fd) }");
    let program = program.unwrap_or_else(|| panic!("{errors}"));
    assert_eq!(program.probes.iter().flat_map(|p| &p.points).count(), 4);
    // A wildcard's copies share one body, without variables; .return and
    // .call find nothing to probe.
    let (program, wildcard) =
        analyze("probe kernel.function(\"do_fs*nc\").inline { println($fd) }");
    assert!(program.is_none());
    let (_, ret) = analyze("probe kernel.function(\"do_fsync\").return { }");
    let (_, call) = analyze("probe kernel.function(\"do_fsync\").call { }");
    insta::assert_snapshot!(redact(&format!("{wildcard}\n{ret}\n{call}")));
}

/// Passes 1 and 2 of script `text` (named `name`) on `info`: the program,
/// if it elaborated, and the rendered diagnostics.
fn analyze_on(
    info: &std::sync::Arc<KernelInfo>,
    name: &str,
    text: &str,
) -> (Option<stapkit::ir::Program>, String) {
    use stapkit::diag::{render_all, SourceMap};
    use stapkit::{sema, syntax};
    let mut map = SourceMap::new();
    let file = map.add(name.to_string(), text.to_string());
    let cfg = syntax::PreprocessConfig::default();
    let parsed = syntax::parse(&map, file, &cfg);
    let config = sema::Config {
        preprocess: cfg,
        kernel: Some(info.clone()),
        ..Default::default()
    };
    let analysis = sema::analyze(&mut map, &parsed.script, &config);
    let errors = render_all(&map, &analysis.diagnostics);
    (analysis.program, errors)
}

/// The files of the kernel [`kernel`] describes, for a second `KernelInfo`.
fn k_files() -> KernelFiles {
    kernel().files().clone()
}

/// `kernel.statement("do_nanosleep@*:*")` (the published `linetimes.stp`):
/// one kprobe per statement of do_nanosleep's own file, each at a unique
/// symbol plus an offset that lands inside do_nanosleep; one line is a
/// subset of all; a missing function is an error. Lines move between
/// Debian point releases, so they are checked against each other and
/// System.map, not snapshotted.
#[test]
fn statements_of_do_nanosleep() {
    use stapkit::debuginfo::statements::Lines;
    let k = kernel();
    let map = k.system_map().unwrap();
    let all = k.statement_probes("do_nanosleep", "*", Lines::All).unwrap();
    assert!(all.len() > 5, "{all:?}");
    for p in &all {
        assert_eq!(p.function, "do_nanosleep");
        assert_eq!(p.file, "kernel/time/hrtimer.c");
        assert_eq!(p.containing, "do_nanosleep");
        let at = map.get(&p.symbol).unwrap().addr + p.offset;
        assert_eq!(map.text_symbol_at(at).unwrap().name, "do_nanosleep");
    }
    let line = all[all.len() / 2].line;
    let one = k
        .statement_probes(
            "do_nanosleep",
            "kernel/time/hrtimer.c",
            Lines::Range {
                first: line,
                last: line,
            },
        )
        .unwrap();
    assert!(!one.is_empty() && one.iter().all(|p| p.line == line));
    assert!(one.iter().all(|p| all.contains(p)));
    let missing = k
        .statement_probes("no_such_function", "*", Lines::All)
        .unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
}

/// A line named exactly whose line-table rows are none of them
/// statements (`is_stmt` clear): line 133 of 6.1's `do_sync_work`, rows
/// at +0x8b, +0xa0 and +0xa5. SystemTap 5.6 probes it once, at its first
/// row (`-p2 -vv`: `pc=0xffffffff813abdbb`, December 7, 2026); `:*` does
/// not list it.
#[test]
fn a_line_without_a_statement_row_is_probed_at_its_first_address() {
    use stapkit::debuginfo::statements::Lines;
    let k = kernel();
    let map = k.system_map().unwrap();
    let line = |n| Lines::Range { first: n, last: n };
    let one = k
        .statement_probes("do_sync_work", "fs/sync.c", line(133))
        .unwrap();
    assert_eq!(one.len(), 1, "{one:?}");
    assert_eq!(
        (one[0].line, one[0].containing.as_str()),
        (133, "do_sync_work")
    );
    let at = map.get(&one[0].symbol).unwrap().addr + one[0].offset;
    assert_eq!(at - map.get("do_sync_work").unwrap().addr, 0x8b);
    let all = k
        .statement_probes("do_sync_work", "fs/sync.c", Lines::All)
        .unwrap();
    assert!(all.iter().all(|p| p.line != 133), "{all:?}");
    // A line with a statement row is probed there, as before.
    let stmt = k
        .statement_probes("do_sync_work", "fs/sync.c", line(132))
        .unwrap();
    assert!(stmt.len() == 1 && all.contains(&stmt[0]), "{stmt:?}");
}

/// `kernel.statement` through sema: each point named with its file and
/// line, and `$$vars` refused with the reason.
#[test]
fn statement_points_in_scripts() {
    use stapkit::ir;
    let info = std::sync::Arc::new(KernelInfo::new(k_files()));
    let analyze = |text: &str| analyze_on(&info, "statement.stp", text);
    let (program, errors) =
        analyze("probe kernel.statement(\"do_nanosleep@*:*\") { println(pp()) }");
    let program = program.unwrap_or_else(|| panic!("{errors}"));
    let points: Vec<&ir::ProbePoint> = program.probes.iter().flat_map(|p| &p.points).collect();
    assert!(points.len() > 5);
    for p in points {
        assert!(
            p.name
                .starts_with("kernel.statement(\"do_nanosleep@kernel/time/hrtimer.c:"),
            "{}",
            p.name
        );
        assert!(matches!(&p.kind, ir::ProbeKind::KprobeInline { .. }));
    }
    let (program, errors) =
        analyze("probe kernel.statement(\"do_nanosleep@*:*\") { println($$vars) }");
    assert!(program.is_some(), "{errors}");
    // do_sys_open has an abstract instance and a concrete out-of-line
    // copy: its statements are the copy's (the published varwatch.stp).
    let (program, errors) =
        analyze("probe kernel.statement(\"do_sys_open@fs/open.c:*\") { println($$vars, $dfd) }");
    let program = program.unwrap_or_else(|| panic!("{errors}"));
    assert!(program.probes.iter().flat_map(|p| &p.points).count() >= 2);
    // `f@file+N`: N lines past the declaration (do_sys_open is declared
    // on the line before its first statement's).
    let (_, errors) = analyze("probe kernel.statement(\"do_sys_open@fs/open.c+2\") { }");
    assert!(!errors.contains("is written"), "{errors}");
}

/// Where DWARF puts join_session_keyring's variables at its label
/// `error2` (the published cve-2016-0728.stp): `keyring` in a register,
/// `name` only as its value at entry, which is refused with the reason.
#[test]
fn variables_located_at_a_label() {
    use stapkit::debuginfo::dwarf::located::KernelLoc;
    let k = kernel();
    let dwarf = k.dwarf().unwrap();
    let f = &dwarf.index().functions_named("join_session_keyring")[0];
    let scopes = dwarf.code_scopes(f.die);
    assert_eq!(scopes.len(), 1);
    let label = scopes[0]
        .labels
        .iter()
        .find(|l| l.name == "error2")
        .unwrap();
    let located = dwarf.located(&scopes[0], label.pc);
    let names: Vec<&str> = located.vars.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["name", "old", "new", "keyring", "ret", "serial"]);
    assert!(matches!(
        located.var("keyring").unwrap().location,
        Ok(KernelLoc::Register(_))
    ));
    let name = located.var("name").unwrap().location.as_ref().unwrap_err();
    assert!(name.contains("DW_OP_entry_value"), "{name}");
}
