//! Semantic analysis and code generation against the real Debian 6.1
//! amd64 tree (its BTF, symbols and headers; `cargo xtask test` fetches
//! it, and runs this target, which a plain `cargo test` does not: `test =
//! false` in Cargo.toml, since it needs the fetched kernel).
//!
//! * `tests/data/sema/kernel_err/*.stp` must produce at least one error
//!   (missing and inlined functions, unknown members); the snapshot holds
//!   the diagnostics. `sema.rs` runs them on the fixture kernel too, in
//!   every `cargo test`: both must agree but for names of the kernel.
//! * `tests/data/sema/kernel_ok/*.stp`, which `sema.rs` snapshots on the
//!   fixture kernel, must analyze and translate here too (the fixture
//!   kernel stays true to a real one).
//! * `tests/scripts/*.stp` (the QEMU suite) are translated to C, as the QEMU
//!   test builds them; the snapshot holds the generated C, which must be
//!   deterministic.
//! * `stap -l`/`-L` listings and every generated syscall alias.
//!
//! Run it with `cargo test -p stapkit --test sema_kernel` after `cargo
//! xtask setup` (or `stap-prep fetch --modules debian-6.1-amd64`); update
//! snapshots with `INSTA_UPDATE=always` and review them.

mod frontend_support;
mod sema_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use frontend_support::fixtures;
use sema_support::{
    analyze_for, elaborate, listing_refused, listings, run_all, snapshot, translate,
};
use stapkit::debuginfo::{KernelFiles, KernelInfo};
use stapkit::diag::render_all;
use stapkit::kernel::{Cache, Catalog, HeaderTree};

/// The kernel the QEMU scripts are translated for.
const QEMU_KERNEL: &str = "debian-6.1-amd64";

/// The fetched [`QEMU_KERNEL`]'s information; panics with the fix when it
/// has not been fetched.
fn qemu_kernel() -> Arc<KernelInfo> {
    let catalog = Catalog::load().expect("kernel manifests");
    let tree = HeaderTree::resolve(Some(QEMU_KERNEL), &Cache::locate(None), &catalog)
        .unwrap_or_else(|e| {
            panic!("{e}\nfetch it first: cargo xtask setup (or stap-prep fetch {QEMU_KERNEL})")
        });
    // What a machine without the -dbg package sees, whatever is cached.
    let files = KernelFiles::from_tree(&tree);
    // The fixtures' module("ext4") points and @casts read ext4's types,
    // which stap learns before pass 2.
    if let Some(source) = &files.modules {
        stapkit::kernel::module_btf::prepare(source, &["ext4".to_string()], &mut |_| {})
            .unwrap_or_else(|e| panic!("learning ext4's types: {e}"));
    }
    Arc::new(KernelInfo::new(files.without_debug()))
}

/// The fetched [`QEMU_KERNEL`] with its `-dbg` package, for the QEMU
/// scripts that `# requires: debuginfo` (CI fetches it with it).
fn qemu_kernel_with_debug() -> Arc<KernelInfo> {
    static INFO: std::sync::OnceLock<Arc<KernelInfo>> = std::sync::OnceLock::new();
    INFO.get_or_init(|| {
        let catalog = Catalog::load().expect("kernel manifests");
        let tree = HeaderTree::resolve(Some(QEMU_KERNEL), &Cache::locate(None), &catalog)
            .unwrap_or_else(|e| panic!("{e}"));
        let info = KernelInfo::new(KernelFiles::from_tree(&tree));
        assert!(
            info.dwarf().is_some() && info.system_map().is_some(),
            "scripts with '# requires: debuginfo' are translated with {QEMU_KERNEL}'s -dbg \
             package: stap-prep fetch --debug {QEMU_KERNEL}"
        );
        Arc::new(info)
    })
    .clone()
}

#[test]
fn kernel_err_fixtures_report_errors() {
    let kernel = qemu_kernel();
    let release = kernel.files().release.clone();
    run_all(fixtures("sema/kernel_err"), |name, text| {
        let (map, analysis) = analyze_for(&format!("{name}.stp"), text, Some(kernel.clone()));
        if analysis.program.is_some() {
            return Err("expected a semantic error, got none".to_string());
        }
        // Debian point releases change the release, not the answers.
        let out = render_all(&map, &analysis.diagnostics).replace(&release, "<release>");
        snapshot("sema_kernel_err", name, &out);
        Ok(())
    });
}

#[test]
fn kernel_ok_fixtures_analyze_on_the_real_kernel_too() {
    let kernel = qemu_kernel();
    run_all(fixtures("sema/kernel_ok"), |name, text| {
        let (_, program) = elaborate(name, text, Some(kernel.clone()))?;
        translate(name, &program);
        Ok(())
    });
}

#[test]
fn qemu_scripts_translate_to_deterministic_c() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "stp"))
        .collect();
    files.sort();
    let kernel = qemu_kernel();
    sema_support::test_sysroot_with_userland();
    run_all(files, |name, text| {
        let kernel = match text
            .lines()
            .any(|l| l.trim_end() == "# requires: debuginfo")
        {
            true => qemu_kernel_with_debug(),
            false => kernel.clone(),
        };
        let (_, program) = elaborate(name, text, Some(kernel))?;
        let c = translate(name, &program);
        let again = translate(name, &program);
        if c != again {
            return Err("generated C differs between two runs".to_string());
        }
        snapshot("codegen", name, &c);
        Ok(())
    });
}

/// `stap -l`/`-L` against the 6.1 tree without its debug package: the
/// generated syscall aliases with their variables and types, functions
/// with BTF prototypes, tracepoints of the image and of modules (ext4's,
/// learnt from the kernel's modules package), process points (functions
/// from the synthetic program's symbol table) and points without
/// variables; wildcard components name only points that need no
/// parameter (`timer.*` is `timer.profile`), as SystemTap lists them.
#[test]
fn probe_point_listings() {
    let kernel = qemu_kernel();
    let mut out = listings(
        &kernel,
        &[
            ("syscall.kill", true),
            ("syscall.kill.return", true),
            ("syscall.{openat,close,fsync,read,write}", true),
            ("syscall.fsync*", false),
            ("syscall.f*sync.return", true),
            ("syscall.exit_group", true),
            ("kernel.function(\"vfs_fsync*\")", true),
            ("kernel.function(\"vfs_read\").return", true),
            ("begin", true),
            ("timer.ms(100)", false),
            ("kernel.trace(\"ext4:ext4_sync_file_*\")", true),
            ("kernel.trace(\"*:ext4_sync_file_*\")", false),
            ("kernel.trace(\"sched:sched_process_fork\")", true),
            ("kernel.function(\"vfs_read\").*", false),
            ("process.*", false),
            ("process.begin", false),
            ("process.end", true),
            ("process(\"/bin/stapkit-workload\").*", false),
            (
                "process(\"/bin/stapkit-workload\").function(\"stapkit_*\")",
                false,
            ),
            (
                "process(\"/bin/stapkit-workload\").function(\"stapkit_*\").return",
                true,
            ),
            ("timer.*", false),
            ("begin*", false),
            ("*", false),
            ("vfs.**", false),
            ("process(\"/bin/stapkit-workload\").**", false),
        ],
    );
    // Unknown syscalls are errors naming the nearest ones.
    out.push_str(&listing_refused(&kernel, "syscall.kil"));
    snapshot("listing", "probe_point_listings", &out);
}

/// `kernel.function("f").label("L")` from the -dbg package's DWARF: each
/// label with code named as SystemTap names label points (the function
/// at the label's line), a pattern matching no label names the labels
/// there, and `$$vars` gives the variables DWARF locates at the label.
#[test]
fn kernel_label_points() {
    let kernel = qemu_kernel_with_debug();
    let mut out = listings(
        &kernel,
        &[("kernel.function(\"ksys_unshare\").label(\"*\")", true)],
    );
    out.push_str(&listing_refused(
        &kernel,
        "kernel.function(\"ksys_unshare\").label(\"nope\")",
    ));
    snapshot("listing", "kernel_label_points", &out);
    let (map, analysis) = sema_support::analyze_for(
        "label.stp",
        "probe kernel.function(\"ksys_unshare\").label(\"*\") { println($$vars) }",
        Some(kernel),
    );
    let errors = render_all(&map, &analysis.diagnostics);
    assert!(analysis.program.is_some(), "{errors}");
}

/// send and recv, which x86-64's table lacks, are 32-bit programs'
/// socketcall(2) through the compat entry, with SystemTap's variables,
/// without DWARF.
#[test]
fn send_and_recv_are_the_compat_socketcall_entry() {
    let text = "probe syscall.send { printf(\"%d %d %d %s %s\\n\", s, buf_uaddr, len, flags_str, argstr) }\n\
                probe nd_syscall.recv.return { println(name, retval, retstr) }\n";
    let (map, analysis) = analyze_for("send.stp", text, Some(qemu_kernel()));
    let Some(program) = analysis.program else {
        panic!("{}", render_all(&map, &analysis.diagnostics));
    };
    let points: Vec<&str> = program
        .probes
        .iter()
        .flat_map(|p| &p.points)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        points,
        [
            "kernel.function(\"__ia32_compat_sys_socketcall\")",
            "kernel.function(\"__ia32_compat_sys_socketcall\").return"
        ]
    );
}

/// Every alias of the generated syscall tapset elaborates on the 6.1 tree:
/// `syscall.*` and `syscall.*.return` with their variables all used.
/// (Built and loaded in guests of 5.10, 6.1, 6.12 and 7.2 by hand: several
/// hundred kprobes take about 40 s to register under TCG, too slow for
/// the suite.)
#[test]
fn every_syscall_alias_elaborates() {
    let text = "global calls\n\
                probe syscall.* { calls[name, argstr]++ }\n\
                probe syscall.*.return { calls[name, retstr] += retval }\n";
    let (map, analysis) = analyze_for("all.stp", text, Some(qemu_kernel()));
    let Some(program) = analysis.program else {
        panic!("{}", render_all(&map, &analysis.diagnostics));
    };
    let entries = program
        .probes
        .iter()
        .flat_map(|p| &p.points)
        .filter(|p| p.name.starts_with("kernel.function") && !p.name.ends_with(".return"))
        .count();
    let returns = program
        .probes
        .iter()
        .flat_map(|p| &p.points)
        .filter(|p| p.name.ends_with(".return"))
        .count();
    // 6.1's x86-64 table, without exit and exit_group on return.
    assert!(entries > 300, "{entries} entries");
    assert_eq!(returns + 2, entries);
}

/// The fetched kernel `name` (without its -dbg package), with the
/// symbols and types of `modules` learnt as stap learns them before
/// pass 2.
fn kernel_with_modules(name: &str, modules: &[&str]) -> Arc<KernelInfo> {
    let catalog = Catalog::load().expect("kernel manifests");
    let tree =
        HeaderTree::resolve(Some(name), &Cache::locate(None), &catalog).unwrap_or_else(|e| {
            panic!("{e}\nfetch it first: cargo xtask setup (or stap-prep fetch {name})")
        });
    let files = KernelFiles::from_tree(&tree);
    if let Some(source) = &files.modules {
        let modules: Vec<String> = modules.iter().map(|m| m.to_string()).collect();
        stapkit::kernel::module_btf::prepare(source, &modules, &mut |_| {})
            .unwrap_or_else(|e| panic!("learning {modules:?} of {name}: {e}"));
    }
    Arc::new(KernelInfo::new(files.without_debug()))
}

/// The rendered errors of `text` on `kernel`, `None` when it analyzes.
fn errors_on(kernel: &Arc<KernelInfo>, text: &str) -> Option<String> {
    let (map, analysis) = analyze_for("m.stp", text, Some(kernel.clone()));
    match analysis.program {
        Some(_) => None,
        None => Some(render_all(&map, &analysis.diagnostics)),
    }
}

/// Module functions are checked against the module's symbol table as
/// well as its BTF (both learnt before pass 2): on 6.1, nfsd's
/// `nfsd_open` names two functions, a static one first, where the kernel
/// would place the probe, so it is refused, and so is the tapset's
/// `nfsd.open` on it; a name in neither is refused saying so.
#[test]
fn module_functions_are_checked_against_the_symbol_table() {
    let kernel = kernel_with_modules(QEMU_KERNEL, &["nfsd"]);
    let shared =
        errors_on(&kernel, "probe module(\"nfsd\").function(\"nfsd_open\") {}").expect("refused");
    assert!(
        shared.contains("module 'nfsd' has 2 functions named 'nfsd_open' (1 of them static)")
            && shared.contains("(a static one)"),
        "{shared}"
    );
    let alias = errors_on(&kernel, "probe nfsd.open {}").expect("refused");
    assert!(
        alias.contains("probe point 'nfsd.open' is not available")
            && alias.contains("nfsd_open_verified"),
        "{alias}"
    );
    let gone = errors_on(
        &kernel,
        "probe module(\"nfsd\").function(\"stapkit_no_such_function\") {}",
    )
    .expect("refused");
    assert!(
        gone.contains("neither its BTF nor its symbol table names one"),
        "{gone}"
    );
}

/// On 7.2 (a CI kernel) sunrpc's BTF leaves `rpc_call_sync` out (the
/// compiler split off `rpc_call_sync.part.0`), though the function is
/// there: it resolves from the symbol table, without `$vars`, and so does
/// the tapset's `sunrpc.clnt.call_sync`.
#[test]
fn a_module_function_the_btf_leaves_out_resolves_from_the_symbol_table() {
    let kernel = kernel_with_modules("debian-7.2-amd64", &["sunrpc"]);
    assert_eq!(
        errors_on(
            &kernel,
            "probe module(\"sunrpc\").function(\"rpc_call_sync\") { println(pointer_arg(1)) }"
        ),
        None
    );
    assert_eq!(
        errors_on(
            &kernel,
            "probe sunrpc.clnt.call_sync { println(servername, progname) }"
        ),
        None
    );
    let vars = errors_on(
        &kernel,
        "probe module(\"sunrpc\").function(\"rpc_call_sync\") { println($clnt) }",
    )
    .expect("$clnt refused");
    assert!(
        vars.contains("which the BTF of module 'sunrpc' leaves out"),
        "{vars}"
    );
}
