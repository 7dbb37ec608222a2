//! Shared helpers for the integration tests: running the scripts of
//! `tests/scripts/` on a kernel in QEMU and snapshotting each outcome beside
//! its script (`tests/scripts/NAME.snap`), the file `stap-matrix` compares
//! against too.
//!
//! **Architecture Invariant:** these tests only ever load modules inside
//! QEMU guests; nothing here runs staprun on the build machine.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use stapkit::kernel::Cache;
use stapkit::matrix::{self, render};

/// `tests/scripts/`.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// Every `*.stp` in `tests/scripts/`, sorted.
pub fn all_scripts() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scripts_dir())
        .expect("tests/scripts exists")
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "stp"))
        .collect();
    files.sort();
    files
}

/// The static staprun built by `cargo xtask test` (`STAPKIT_STAPRUN`).
pub fn staprun() -> PathBuf {
    match std::env::var_os("STAPKIT_STAPRUN") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "STAPKIT_STAPRUN is not set: the QEMU tests need the static staprun; \
             run them with `cargo xtask test`, which builds it and fetches the kernels"
        ),
    }
}

/// Runs every script on `kernel` in one guest and checks each outcome
/// against its snapshot; all mismatches are reported together.
pub fn run_scripts_on(kernel: &str) {
    let work = tempfile::Builder::new()
        .prefix("stapkit-qemu")
        .tempdir()
        .expect("temp dir");
    let options = matrix::Options {
        kernels: vec![kernel.to_string()],
        scripts: all_scripts(),
        print: true,
        jobs: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        shard: None,
        staprun: staprun(),
        staprun_arm64: std::env::var_os("STAPKIT_STAPRUN_ARM64").map(PathBuf::from),
        busybox: PathBuf::from("/bin/busybox"),
        kvm: false,
        cache: Cache::locate(None),
        work_dir: work.path().to_path_buf(),
    };
    let report =
        matrix::run(&options, &|line| eprintln!("{line}")).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", report.table());
    assert!(
        report.boots.is_empty(),
        "the guest did not finish cleanly:\n{}",
        report.details()
    );
    let mut failures = Vec::new();
    for cell in &report.cells {
        // A script whose `# requires:` this kernel does not meet has no
        // outcome here to compare: its one snapshot is another kernel's.
        if let matrix::Outcome::NotApplicable(why) = &cell.outcome {
            eprintln!("{} on {kernel}: not applicable: {why}", cell.script);
            continue;
        }
        let text = render(&cell.outcome);
        let result = catch_unwind(AssertUnwindSafe(|| {
            insta::with_settings!({
                snapshot_path => scripts_dir(),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(cell.script.clone(), text);
            });
        }));
        if result.is_err() {
            failures.push(format!("{} on {kernel}", cell.script));
        }
    }
    assert!(
        failures.is_empty(),
        "outcomes differ from tests/scripts/*.snap: {}",
        failures.join(", ")
    );
}
