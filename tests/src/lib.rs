//! Shared helpers for the integration tests: running the scripts of
//! `tests/scripts/` on a kernel in QEMU and comparing each outcome with
//! real SystemTap's, recorded beside the script (`NAME.oracle`, see
//! `stapkit::matrix::oracle`), or, for a script that says why it is not
//! held to SystemTap's output or has no record yet, with its insta
//! snapshot (`NAME.snap`) — the files `stap-matrix` compares against too.
//!
//! **Architecture Invariant:** these tests only ever load modules inside
//! QEMU guests; nothing here runs staprun on the build machine.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use stapkit::kernel::Cache;
use stapkit::matrix::oracle::{self, judge, Reference, Tally};
use stapkit::matrix::{self, render, Verdict};

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
        jobs: jobs(),
        shard: None,
        staprun: staprun(),
        staprun_arm64: std::env::var_os("STAPKIT_STAPRUN_ARM64").map(PathBuf::from),
        busybox: PathBuf::from("/bin/busybox"),
        kvm: false,
        cache: Cache::locate(None),
        work_dir: work.path().to_path_buf(),
        build_only: false,
    };
    // Where the kernel's time went is printed past libtest's capture
    // (a direct write to stderr), so that `cargo xtask test` shows it for
    // passing tests too; the rest is shown only for a failing one.
    let progress = |line: &str| {
        if line.contains(": time: ") {
            let _ = writeln!(std::io::stderr(), "{line}");
        } else {
            eprintln!("{line}");
        }
    };
    let report = matrix::run(&options, &progress).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", report.table());
    if !report.boots.is_empty() {
        let details = report.details();
        record_failures(
            kernel,
            &failure_detail("the guest", kernel, "a clean boot", &details),
        );
        panic!("the guest did not finish cleanly:\n{details}");
    }
    let mut failures = Vec::new();
    let mut details = Vec::new();
    let mut tally = Tally::default();
    for cell in &report.cells {
        // A script whose `# requires:` this kernel does not meet has no
        // outcome here to compare: its one snapshot is another kernel's.
        if let matrix::Outcome::NotApplicable(why) = &cell.outcome {
            eprintln!("{} on {kernel}: not applicable: {why}", cell.script);
            continue;
        }
        let path = scripts_dir().join(format!("{}.stp", cell.script));
        let (verdict, reference) = judge(&path, kernel, &cell.outcome);
        tally.add(&oracle::tally(&[matrix::Cell {
            verdict: verdict.clone(),
            reference: Some(reference.clone()),
            ..cell.clone()
        }]));
        // Held to real SystemTap's record (NAME.oracle): no snapshot.
        if let Reference::SystemTap {
            kernel: recorded, ..
        } = &reference
        {
            if let Verdict::Mismatch(diff) = &verdict {
                eprintln!(
                    "{} on {kernel} differs from real SystemTap's outcome (recorded on {recorded}; \
                     normalised; - SystemTap, + stapkit):\n{diff}",
                    cell.script
                );
                failures.push(format!("{} on {kernel} (SystemTap)", cell.script));
                details.push(failure_detail(
                    &cell.script,
                    kernel,
                    "SystemTap's record",
                    diff,
                ));
            }
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
            let diff = match &verdict {
                Verdict::Mismatch(diff) => diff.clone(),
                _ => format!("+{}", text.replace('\n', "\n+")),
            };
            details.push(failure_detail(&cell.script, kernel, "its snapshot", &diff));
        }
    }
    let summary = format!("{kernel}: {}", tally.summary());
    eprintln!("{summary}");
    // `cargo xtask test` adds up every kernel's counts and prints them last.
    if let Some(dir) = std::env::var_os("STAPKIT_ORACLE_TALLY_DIR") {
        let dir = PathBuf::from(dir);
        let file = dir.join(format!("{kernel}.tally"));
        std::fs::write(&file, tally.to_text()).expect("writing the oracle tally");
    }
    if !details.is_empty() {
        record_failures(kernel, &details.concat());
    }
    assert!(
        failures.is_empty(),
        "outcomes differ from real SystemTap's (NAME.oracle) or stapkit's (NAME.snap): {}",
        failures.join(", ")
    );
}

/// Parallel builds: every core, or when another kernel's guest may run
/// beside the builds (`cargo xtask test` sets
/// `stapkit::matrix::phases::PHASES_ENV`), every core but the one its
/// TCG guest runs on, so that the guest is not slowed by them.
fn jobs() -> usize {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    if std::env::var_os(stapkit::matrix::phases::PHASES_ENV).is_some() {
        cores.saturating_sub(1).max(1)
    } else {
        cores
    }
}

/// Keeps a kernel's failed cases for `cargo xtask test`, which prints them
/// again at the very end of the suite, where a CI log that keeps only its
/// head and tail still shows them.
fn record_failures(kernel: &str, details: &str) {
    if let Some(dir) = std::env::var_os("STAPKIT_ORACLE_TALLY_DIR") {
        let file = PathBuf::from(dir).join(format!("{kernel}.failures"));
        std::fs::write(&file, details).expect("writing the failures");
    }
}

/// A failed case for the suite's closing summary: its name, what it was
/// compared with, and the first lines of the diff.
fn failure_detail(script: &str, kernel: &str, against: &str, diff: &str) -> String {
    const LINES: usize = 40;
    let mut text =
        format!("--- {script} on {kernel} differs from {against} (- expected, + stapkit):\n");
    for line in diff.lines().take(LINES) {
        text.push_str(line);
        text.push('\n');
    }
    let more = diff.lines().count().saturating_sub(LINES);
    if more > 0 {
        text.push_str(&format!("... {more} more line(s)\n"));
    }
    text
}
