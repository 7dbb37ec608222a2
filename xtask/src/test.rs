//! `cargo xtask test`: the whole test suite, as CI runs it.
//!
//! Sets up the machine, then runs every test of the workspace, including
//! the QEMU tests in `tests/`, which find the static staprun and the kernel
//! cache through the environment. Nothing is skipped: a missing kernel or
//! QEMU is installed here, not tolerated there.

use anyhow::Result;
use stapkit::matrix::oracle::Tally;
use xshell::{cmd, Shell};

use crate::setup;

/// Options of `cargo xtask test`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Arguments passed on to `cargo test` (e.g. a test name filter).
    #[arg(last = true)]
    pub cargo_args: Vec<String>,
}

/// Runs the suite.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let started = std::time::Instant::now();
    let kernels = setup::ci_kernels()?;
    let debug_kernels = setup::ci_debug_kernels()?;
    let prepared = setup::run(
        sh,
        &setup::Options {
            kernels,
            debug_kernels: debug_kernels.clone(),
        },
    )?;
    setup::install_actionlint(sh)?;
    let staprun = prepared.staprun.display().to_string();
    let extra = &options.cargo_args;
    let tallies = tempfile::tempdir()?;
    // Every test binary runs even after one fails, so one CI run names
    // every failure; without backtraces the end of the log (all a CI
    // summary keeps) holds the failing cases, not the harness's frames.
    let mut test = cmd!(sh, "cargo test --workspace --no-fail-fast {extra...}")
        .env("RUST_BACKTRACE", "0")
        .env("STAPKIT_STAPRUN", &staprun)
        .env("STAPKIT_ORACLE_TALLY_DIR", tallies.path());
    if let Some(arm64) = &prepared.staprun_arm64 {
        test = test.env("STAPKIT_STAPRUN_ARM64", arm64);
    }
    let result = test.run();
    print_tally(tallies.path());
    result?;
    // Not part of a plain `cargo test`: they need the fetched kernels
    // (ci_actionlint: the actionlint package setup installs; fetch_local
    // also boots its RPM-fetched tree, with this staprun).
    cmd!(
        sh,
        "cargo test -p stapkit --test sema_kernel --test debuginfo --test cross_arm64 --test kbuild_batch --test module_cache --test ci_actionlint --test fetch_local {extra...}"
    )
    .env("STAPKIT_STAPRUN", &staprun)
    .run()?;
    // Not part of a plain `cargo test` (it needs a -dbg package).
    for kernel in &debug_kernels {
        cmd!(
            sh,
            "cargo test -p stapkit --test debuginfo_dwarf {extra...}"
        )
        .env("STAPKIT_DEBUG_KERNEL", kernel)
        .run()?;
    }
    eprintln!(
        "xtask: whole test suite passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Adds up the QEMU tests' per-kernel counts of cases compared with real
/// SystemTap (see `stapkit::matrix::oracle`) and prints them, after the
/// failed cases' diffs.
fn print_tally(dir: &std::path::Path) {
    let mut total = Tally::default();
    let mut kernels = 0;
    let mut failures = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "failures") {
            failures.push(text);
        } else {
            total.add(&Tally::from_text(&text));
            kernels += 1;
        }
    }
    if !failures.is_empty() {
        eprintln!("xtask: QEMU cases that failed:\n{}", failures.concat());
    }
    if kernels > 0 {
        eprintln!(
            "xtask: QEMU cases on {kernels} kernel(s): {}",
            total.summary()
        );
    }
}
