//! `cargo xtask`: developer automation for stapkit.
//!
//! - `cargo xtask setup` installs what building and testing need on Debian
//!   (apt packages, the default kernel, a static staprun).
//! - `cargo xtask demo [SCRIPT]` builds a script for the default kernel and
//!   runs it in QEMU, printing its output (the README's main job).
//! - `cargo xtask test` runs the whole test suite, VM tests included (the
//!   README's test command; `.ci/run` calls it).
//! - `cargo xtask staprun [--target aarch64]` builds the static staprun
//!   for x86_64 (or arm64) guests and prints its path.
//! - `cargo xtask bench NAME` runs a benchmark and prints its figures.
//! - `cargo xtask oracle [SCRIPT...]` runs scripts under real SystemTap
//!   (Debian's packages) in QEMU and records what it does; with
//!   `--record`, QEMU test scripts' expected outputs.
//! - `cargo xtask corpus` measures how many of SystemTap's published
//!   examples translate; `cargo xtask tapset-coverage` how many documented
//!   tapset functions and probe points resolve.
//! - `cargo xtask fuzz [--target T] [--seconds N]` runs the libFuzzer
//!   targets of `fuzz/` on their corpus and records the run in
//!   `fuzz/REPORT.md`.

mod bench;
mod bench_build;
mod bench_overhead;
mod corpus;
mod demo;
mod fuzz;
mod measure;
mod oracle;
mod setup;
mod tapset_coverage;
mod test;
mod test_qemu;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install packages, fetch the default kernel, build the static staprun.
    Setup(setup::Options),
    /// Build a script for the default kernel and run it in QEMU.
    Demo(demo::Options),
    /// Run the whole test suite (unit, snapshot and QEMU tests).
    Test(test::Options),
    /// Build the static staprun (and stapkit-workload) for the guests and print its path.
    Staprun(setup::StaprunOptions),
    /// Run a benchmark and print its figures.
    Bench(bench::Options),
    /// Run scripts under real SystemTap in QEMU and record its behaviour.
    Oracle(oracle::Options),
    /// Translate SystemTap's published examples and count what passes.
    Corpus(corpus::Options),
    /// Count the documented tapset functions and probes that resolve.
    TapsetCoverage(tapset_coverage::Options),
    /// Coverage-guided fuzzing (libFuzzer) of the front end and the readers.
    Fuzz(fuzz::Options),
}

/// Runs the command; an error ends in one line naming it (no backtrace,
/// even where CI sets `RUST_BACKTRACE`: the end of a CI log must show
/// what failed, not xtask's frames).
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let sh = xshell::Shell::new()?;
    sh.change_dir(setup::project_root());
    match cli.command {
        Command::Setup(o) => setup::run(&sh, &o).map(drop),
        Command::Demo(o) => demo::run(&sh, &o),
        Command::Test(o) => test::run(&sh, &o),
        Command::Staprun(o) => {
            println!("{}", setup::build_staprun(&sh, o.target)?.display());
            Ok(())
        }
        Command::Bench(o) => bench::run(&sh, &o),
        Command::Oracle(o) => oracle::run(&sh, &o),
        Command::Corpus(o) => corpus::run(&sh, &o),
        Command::TapsetCoverage(o) => tapset_coverage::run(&sh, &o),
        Command::Fuzz(o) => fuzz::run(&sh, &o),
    }
}
