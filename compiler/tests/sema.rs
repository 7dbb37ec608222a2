//! Data-driven tests of semantic analysis that run offline, on any
//! machine: with no kernel, or on the fixture kernel (`kernel_support`: a
//! miniature tree and BTF made for these tests).
//!
//! * `tests/data/sema/ok/*.stp` must analyze without errors, with no
//!   kernel; the snapshot holds the `-p2` listing.
//! * `tests/data/sema/err/*.stp` must produce at least one error, with no
//!   kernel; the snapshot holds the rendered diagnostics.
//! * `tests/data/sema/kernel_ok/*.stp` must analyze without errors on the
//!   fixture kernel (target variables, `@cast`, tracepoints, syscall
//!   aliases, `@var`); the snapshots hold the listing and the generated C,
//!   where the kernel's offsets, types and registers show.
//! * `tests/data/sema/kernel_err/*.stp` must produce at least one error on
//!   the fixture kernel; the snapshot holds the diagnostics.
//! * `stap -l`/`-L` listings on the fixture kernel.
//!
//! Fixtures use the default preprocessor target (Debian 6.1 x86_64) unless
//! a `//@` header line says otherwise. The same kernel fixtures against the
//! real Debian 6.1 tree, with the QEMU scripts' generated C and listings,
//! are `sema_kernel.rs`, which `cargo xtask test` runs. Update snapshots
//! with `INSTA_UPDATE=always cargo test -p stapkit --test sema` and review
//! them.

mod frontend_support;
mod kernel_support;
mod sema_support;

use frontend_support::fixtures;
use kernel_support::fixture_kernel;
use sema_support::{
    analyze, analyze_for, elaborate, listing_refused, listings, run_all, snapshot, test_sysroot,
    translate,
};
use stapkit::diag::render_all;

#[test]
fn ok_fixtures_analyze_cleanly() {
    run_all(fixtures("sema/ok"), |name, text| {
        let (listing, _) = elaborate(name, text, None)?;
        snapshot("sema_ok", name, &listing);
        Ok(())
    });
}

/// Inference has no round cap: types flow back through a chain of calls
/// of any depth (`data/sema/ok/deep_call_chain.stp` has 40), in both
/// definition orders, and a global's type through the same chain.
#[test]
fn long_call_chains_infer_their_types() {
    const DEPTH: usize = 1000;
    let chain = |reverse: bool| {
        let mut text = String::from("global g\n");
        let mut functions: Vec<String> = (0..DEPTH - 1)
            .map(|i| format!("function f{i}(x) {{ return f{}(x) }}\n", i + 1))
            .collect();
        functions.push(format!(
            "function f{}(x) {{ g = x; return x }}\n",
            DEPTH - 1
        ));
        if reverse {
            functions.reverse();
        }
        text.extend(functions);
        text.push_str("probe begin { println(f0(\"deep\"), g) }\n");
        text
    };
    for reverse in [false, true] {
        let (map, analysis) = analyze("chain.stp", &chain(reverse));
        let program = analysis
            .program
            .unwrap_or_else(|| panic!("{}", render_all(&map, &analysis.diagnostics)));
        assert_eq!(program.functions.len(), DEPTH);
        assert!(program
            .functions
            .iter()
            .all(|f| f.ret == Some(stapkit::ir::Type::String)
                && f.locals[0].ty == stapkit::ir::Type::String));
        assert_eq!(
            program.globals[0].kind,
            stapkit::ir::GlobalKind::Scalar(stapkit::ir::Type::String)
        );
    }
}

#[test]
fn err_fixtures_report_errors() {
    run_all(fixtures("sema/err"), |name, text| {
        let (map, analysis) = analyze(&format!("{name}.stp"), text);
        if analysis.program.is_some() {
            return Err("expected a semantic error, got none".to_string());
        }
        // The sysroot lives in this checkout's target directory.
        let out = render_all(&map, &analysis.diagnostics)
            .replace(&test_sysroot().display().to_string(), "<sysroot>");
        snapshot("sema_err", name, &out);
        Ok(())
    });
}

#[test]
fn kernel_ok_fixtures_analyze_on_the_fixture_kernel() {
    let kernel = fixture_kernel();
    run_all(fixtures("sema/kernel_ok"), |name, text| {
        let (listing, program) = elaborate(name, text, Some(kernel.clone()))?;
        snapshot("codegen_fixture_kernel", name, &translate(name, &program));
        snapshot("sema_fixture_kernel_ok", name, &listing);
        Ok(())
    });
}

/// The points of a wildcard probe share one handler: the module's C grows
/// with the script, not with the number of points. Each point keeps its
/// own `struct stp_probe` (its `pp()` and `probefunc()`).
#[test]
fn a_wildcard_probe_has_one_handler_for_its_points() {
    let text = "probe kernel.function(\"vfs_*\") { printf(\"%s %s\\n\", pp(), probefunc()) }\n";
    let (_, program) = elaborate("wildcard_one", text, Some(fixture_kernel())).unwrap();
    let points: Vec<&str> = program
        .probes
        .iter()
        .flat_map(|p| &p.points)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        points,
        [
            "kernel.function(\"vfs_fsync\")",
            "kernel.function(\"vfs_read\")",
            "kernel.function(\"vfs_write\")"
        ]
    );
    let c = translate("wildcard_one", &program);
    let handlers: Vec<&str> = c
        .lines()
        .filter(|l| l.starts_with("static void stp_probe_"))
        .collect();
    assert_eq!(
        handlers,
        ["static void stp_probe_0(struct stp_context *c) {"]
    );
    let frames = c
        .lines()
        .filter(|l| l.starts_with("struct stp_probe_"))
        .count();
    assert_eq!(frames, 1, "one locals frame:\n{c}");
    for (i, point) in points.iter().enumerate() {
        let function = &point["kernel.function(\"".len()..point.len() - 2];
        let entry = format!(
            "static const struct stp_probe stp_probe_{i}_0 = {{ \"kernel.function(\\\"{function}\\\")\", stp_probe_0, \"{function}\" }};"
        );
        assert!(c.contains(&entry), "no {entry} in:\n{c}");
    }
}

#[test]
fn kernel_err_fixtures_report_errors_on_the_fixture_kernel() {
    run_all(fixtures("sema/kernel_err"), |name, text| {
        let (map, analysis) = analyze_for(&format!("{name}.stp"), text, Some(fixture_kernel()));
        if analysis.program.is_some() {
            return Err("expected a semantic error, got none".to_string());
        }
        snapshot(
            "sema_fixture_kernel_err",
            name,
            &render_all(&map, &analysis.diagnostics),
        );
        Ok(())
    });
}

/// `stap -l`/`-L` on the fixture kernel: syscall aliases with their
/// variables, functions with BTF prototypes, tracepoints of the image and
/// of a module, process points, wildcards.
#[test]
fn probe_point_listings_on_the_fixture_kernel() {
    let kernel = fixture_kernel();
    let mut out = listings(
        &kernel,
        &[
            ("syscall.kill", true),
            ("syscall.kill.return", true),
            ("syscall.*", false),
            ("syscall.f*sync.return", true),
            ("kernel.function(\"vfs_*\")", true),
            ("kernel.function(\"vfs_read\").return", true),
            ("kernel.trace(\"sched:*\")", true),
            ("kernel.trace(\"*:ext4_sync_file_*\")", true),
            ("kernel.trace(\"*\")", false),
            (
                "process(\"/bin/stapkit-workload\").function(\"stapkit_*\")",
                false,
            ),
            ("process(\"/bin/stapkit-workload\").mark(\"*\")", true),
            (
                "process(\"/bin/stapkit-workload\").provider(\"stap*\").mark(\"s*\")",
                false,
            ),
            // Stripped, its DWARF found at its build-id path.
            ("process(\"/bin/userdebug\").function(\"*user*\")", true),
            (
                "process(\"/bin/userdebug\").function(\"user_*\").return",
                true,
            ),
            (
                "process(\"/bin/userdebug\").statement(\"user_total@userdebug.c:31\")",
                true,
            ),
            (
                "process(\"/bin/userdebug\").function(\"user_total\").label(\"*\")",
                true,
            ),
            // A shared library the program needs, found by its soname.
            (
                "process(\"/bin/uselib\").library(\"libstaplib.so.1\").function(\"*\")",
                true,
            ),
            ("signal.{send,handle}", true),
            ("timer.*", false),
            ("procfs(\"status\").*", true),
        ],
    );
    for pattern in [
        "syscall.kil",
        "kernel.function(\"vfs_rea\")",
        "process(\"/bin/stapkit-workload\").mark(\"size\")",
        "process(\"/bin/stapkit-workload\").plt",
    ] {
        out.push_str(&listing_refused(&kernel, pattern));
    }
    // The sysroot lives in this checkout's target directory.
    let out = out.replace(&test_sysroot().display().to_string(), "<sysroot>");
    snapshot("listing", "fixture_kernel_listings", &out);
}

/// `stap -l`/`-L` over the guests' user-space programs as the test
/// sysroot holds them (stripped, their DWARF in separate files at their
/// build-id paths): functions with their parameters and locals typed
/// from the debug file, `.return` and statement points, a shared
/// library's functions by soname, by path and by wildcard over the
/// libraries a program loads, PLT stubs, and SDT markers by provider.
#[test]
fn user_space_listings() {
    let kernel = fixture_kernel();
    let mut out = listings(
        &kernel,
        &[
            // A static program: its own functions have DWARF, libc's not.
            ("process(\"/bin/userdebug\").function(\"main\")", true),
            ("process(\"/bin/userdebug\").function(\"user_*\")", false),
            // A dynamically linked one: local arrays and structs.
            ("process(\"/bin/userlibmain\").function(\"*\")", true),
            // Its library, by soname, by wildcard and by path.
            (
                "process(\"/bin/userlibmain\").library(\"libuserlib.so.1\").function(\"*\")",
                true,
            ),
            (
                "process(\"/bin/userlibmain\").library(\"*\").function(\"userlib_*\").return",
                true,
            ),
            (
                "process(\"/bin/userlibmain\").library(\"libuserlib.so.1\").statement(\"userlib_sum@userlib.c:28\")",
                true,
            ),
            (
                "process(\"/usr/lib/libuserlib.so.1\").function(\"userlib_sum\")",
                true,
            ),
            // Every line with code, and those of a range.
            (
                "process(\"/usr/lib/libuserlib.so.1\").statement(\"userlib_sum@userlib.c:*\")",
                false,
            ),
            (
                "process(\"/usr/lib/libuserlib.so.1\").statement(\"userlib_sum@userlib.c:26-28\")",
                true,
            ),
            ("process(\"/usr/lib/libuserlib.so.1\").function(\"*\")", false),
            // PLT stubs: every one, and one by name.
            ("process(\"/bin/userdyn\").plt", false),
            ("process(\"/bin/userdyn\").plt(\"m*\")", true),
            ("process(\"/bin/userlibmain\").plt(\"userlib_sum\")", true),
            // SDT markers of two providers in one program.
            ("process(\"/bin/staprun\").mark(\"*\")", true),
            ("process(\"/bin/staprun\").provider(\"stapio\").mark(\"*\")", false),
        ],
    );
    for pattern in [
        // The library has no such function; its DWARF is read.
        "process(\"/bin/userlibmain\").library(\"libuserlib.so.1\").function(\"userlib_sun\")",
        // The program does not load such a library (one that needs no C
        // library: whether the sysroot has the guests' libc.so.6 depends
        // on which test laid it out first).
        "process(\"/bin/uselib\").library(\"libnone.so.1\").function(\"*\")",
        // A static program has no PLT (its .rela.plt has only ifuncs).
        "process(\"/bin/userdebug\").plt",
        // No line of the range has code.
        "process(\"/bin/userlibmain\").library(\"libuserlib.so.1\").statement(\"userlib_sum@userlib.c:1-20\")",
    ] {
        out.push_str(&listing_refused(&kernel, pattern));
    }
    // The sysroot lives in this checkout's target directory; build ids
    // differ with the host's compiler.
    let out = out.replace(&test_sysroot().display().to_string(), "<sysroot>");
    let out = out
        .split(".build-id/")
        .enumerate()
        .map(|(i, part)| match (i, part.split_once(".debug")) {
            (0, _) | (_, None) => part.to_string(),
            (_, Some((_, rest))) => format!("<build-id>.debug{rest}"),
        })
        .collect::<Vec<_>>()
        .join(".build-id/");
    snapshot("listing", "user_space_listings", &out);
}

/// Unknown names of 100,000 characters in probe points are errors in the
/// time short ones take (the suggester and the matchers once cost the
/// product of the name's length and the number of kernel names).
#[test]
fn huge_unknown_names_fail_fast_on_the_fixture_kernel() {
    let huge = "a".repeat(100_000);
    let started = std::time::Instant::now();
    for point in [
        format!("kernel.function(\"{huge}\")"),
        format!("kernel.trace(\"{huge}\")"),
        format!("kernel.trace(\"{huge}*\")"),
        format!("syscall.{huge}"),
        format!("{huge}.{huge}.{huge}"),
    ] {
        let text = format!("probe {point} {{}}\n");
        let (_, analysis) = analyze_for("huge.stp", &text, Some(fixture_kernel()));
        assert!(analysis.program.is_none(), "{}", &point[..40]);
        assert!(analysis.diagnostics.iter().any(|d| d.is_error()));
    }
    // Minutes before; generous for a loaded machine's debug build.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// send and recv exist only through 32-bit programs' socketcall(2) on
/// x86-64: a kernel without that entry (the fixture kernel has none)
/// says so, and names the calls programs make instead.
#[test]
fn send_and_recv_are_unavailable_without_the_compat_socketcall_entry() {
    let text = "probe syscall.send { }\nprobe nd_syscall.recv.return { }\n";
    let (map, analysis) = analyze_for("send.stp", text, Some(fixture_kernel()));
    assert!(analysis.program.is_none());
    let out = render_all(&map, &analysis.diagnostics);
    assert!(out.contains("semantic error: probe point 'syscall.send' is not available: this kernel has no send system call: its programs call sendto() (C libraries implement send() with it), and only 32-bit programs reach a send through socketcall(2); use syscall.sendto\n"), "{out}");
    assert!(out.contains("probe point 'nd_syscall.recv.return' is not available: this kernel has no recv system call"), "{out}");
}

/// Which `kernel.trace` points need the modules' tracepoints learnt
/// before pass 2 (the driver fetches them then): wildcards, and names
/// neither the image nor a header has in that subsystem.
#[test]
fn tracepoints_that_need_the_modules_list() {
    let kernel = fixture_kernel();
    for (spec, needs) in [
        ("sched:sched_switch", false),
        ("sched_switch", false),
        ("ext4:ext4_sync_file_enter", false),
        ("ext4_sync_file_enter", false),
        ("sched:*", true),
        ("*", true),
        ("i915:i915_request_add", true),
        ("sched:sched_swich", true),
        ("signal:sched_switch", true),
        ("sched:ext4_sync_file_enter", true),
    ] {
        assert_eq!(kernel.tracepoint_needs_modules(spec), needs, "{spec}");
    }
}

/// Analyzes `text` as `stap -d PATH...` would, on no kernel.
fn analyze_unwinding(
    text: &str,
    unwind_paths: &[&str],
) -> (stapkit::diag::SourceMap, stapkit::sema::Analysis) {
    let mut cfg = frontend_support::fixture_config(text);
    let mut map = stapkit::diag::SourceMap::new();
    let (macros, _) = stapkit::sema::library_macros(&mut map, &[], &cfg);
    cfg.library_macros = macros;
    let file = map.add("u.stp".to_string(), text.to_string());
    let parsed = stapkit::syntax::parse(&map, file, &cfg);
    let config = stapkit::sema::Config {
        preprocess: cfg,
        programs: sema_support::test_programs(),
        unwind_paths: unwind_paths.iter().map(|p| p.to_string()).collect(),
        ..Default::default()
    };
    let analysis = stapkit::sema::analyze(&mut map, &parsed.script, &config);
    (map, analysis)
}

#[test]
fn user_stack_functions_carry_the_probed_programs_and_those_named_with_d() {
    let script = r#"probe process("/bin/stapkit-workload").function("stapkit_workload_add") { print_ubacktrace() }"#;
    let (map, analysis) = analyze_unwinding(script, &["/bin/stapkit-ustack"]);
    let program = analysis
        .program
        .unwrap_or_else(|| panic!("{}", render_all(&map, &analysis.diagnostics)));
    let modules: Vec<(&str, Vec<&str>)> = program
        .user_modules
        .iter()
        .map(|m| {
            (
                m.path.as_str(),
                m.symbols.iter().map(|s| s.name.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        modules,
        vec![
            (
                "/bin/stapkit-workload",
                vec!["main", "stapkit_workload_add", "stapkit_workload_text"]
            ),
            (
                "/bin/stapkit-ustack",
                vec![
                    "main",
                    "stapkit_ustack_inner",
                    "stapkit_ustack_middle",
                    "stapkit_ustack_outer"
                ]
            ),
        ]
    );
    // Without the user-stack tapset nothing is carried.
    let (_, analysis) = analyze_unwinding(
        r#"probe begin { println(uaddr()) }"#,
        &["/bin/stapkit-ustack"],
    );
    assert!(analysis.program.unwrap().user_modules.is_empty());
}

#[test]
fn a_d_path_that_cannot_be_read_is_an_error_naming_it() {
    let (map, analysis) =
        analyze_unwinding("probe begin { print_ubacktrace() }", &["/no/such/libx.so"]);
    assert!(analysis.program.is_none());
    let out = render_all(&map, &analysis.diagnostics);
    assert!(
        out.contains("cannot read the unwind data of '/no/such/libx.so': cannot read "),
        "{out}"
    );
}
