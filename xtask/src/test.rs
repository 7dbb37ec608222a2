//! `cargo xtask test`: the whole test suite, as CI runs it.
//!
//! Sets up the machine, then runs every test of the workspace, including
//! the QEMU tests in `tests/`, which find the static staprun and the kernel
//! cache through the environment. Nothing is skipped: a missing kernel or
//! QEMU is installed here, not tolerated there.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use stapkit::matrix::oracle::Tally;
use xshell::Shell;

use crate::setup;
use crate::test_qemu;

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
    let mut failed = FailedTests::default();
    let configure = |test: &mut Command| {
        test.env("STAPKIT_STAPRUN", &staprun)
            .env("STAPKIT_ORACLE_TALLY_DIR", tallies.path());
        if let Some(arm64) = &prepared.staprun_arm64 {
            test.env("STAPKIT_STAPRUN_ARM64", arm64);
        }
    };
    // The whole workspace, the QEMU tests apart: they run several at a
    // time (`test_qemu`), taking turns to build and to boot.
    let (qemu, others) = test_qemu::targets()?;
    let mut test = cargo_test(
        sh,
        &[
            "--workspace",
            "--exclude",
            test_qemu::PACKAGE,
            "--no-fail-fast",
        ],
        extra,
    );
    configure(&mut test);
    let mut result = failed.run(test);
    let mut package = vec!["-p", test_qemu::PACKAGE, "--no-fail-fast", "--lib"];
    for name in &others {
        package.extend(["--test", name.as_str()]);
    }
    let mut test = cargo_test(sh, &package, extra);
    configure(&mut test);
    result = result.and(failed.run(test));
    let mut test = cargo_test(sh, &["-p", test_qemu::PACKAGE, "--doc"], extra);
    configure(&mut test);
    result = result.and(failed.run(test));
    // A name filter given to `cargo test` selects the QEMU tests too.
    let binary_args = test_binary_args(extra);
    let configure_qemu = |test: &mut Command| {
        configure(test);
        test.args(&binary_args);
    };
    result = result.and(test_qemu::run(&qemu, &configure_qemu, &mut failed));
    print_tally(tallies.path());
    failed.print();
    result?;
    // Not part of a plain `cargo test`: they need the fetched kernels
    // (ci_actionlint: the actionlint package setup installs; fetch_local
    // also boots its RPM-fetched trees, with these staprun).
    let mut kernel_tests = cargo_test(
        sh,
        &[
            "-p",
            "stapkit",
            "--no-fail-fast",
            "--test",
            "sema_kernel",
            "--test",
            "debuginfo",
            "--test",
            "cross_arm64",
            "--test",
            "kbuild_batch",
            "--test",
            "module_cache",
            "--test",
            "ci_actionlint",
            "--test",
            "fetch_local",
        ],
        extra,
    );
    kernel_tests.env("STAPKIT_STAPRUN", &staprun);
    if let Some(arm64) = &prepared.staprun_arm64 {
        kernel_tests.env("STAPKIT_STAPRUN_ARM64", arm64);
    }
    let result = failed.run(kernel_tests);
    failed.print();
    result?;
    // Not part of a plain `cargo test` (it needs a -dbg package).
    for kernel in &debug_kernels {
        let mut dwarf = cargo_test(sh, &["-p", "stapkit", "--test", "debuginfo_dwarf"], extra);
        dwarf.env("STAPKIT_DEBUG_KERNEL", kernel);
        let result = failed.run(dwarf);
        failed.print();
        result?;
    }
    eprintln!(
        "xtask: whole test suite passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// `cargo test ARGS EXTRA`, without backtraces: the end of a CI log (all
/// its summary keeps) then holds the failing cases, not the frames.
fn cargo_test(sh: &Shell, args: &[&str], extra: &[String]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(sh.current_dir())
        .arg("test")
        .args(args)
        .args(extra)
        .env("RUST_BACKTRACE", "0");
    command
}

/// What a test binary is given of `cargo test`'s arguments: those after
/// `--`, or without one, the test name filters (cargo's own options,
/// which begin with `-`, are cargo's).
fn test_binary_args(extra: &[String]) -> Vec<String> {
    match extra.iter().position(|a| a == "--") {
        Some(i) => extra[i + 1..].to_vec(),
        None => extra
            .iter()
            .filter(|a| !a.starts_with('-'))
            .cloned()
            .collect(),
    }
}

/// The tests that failed in the `cargo test` runs so far, each with the
/// first line of its panic message, gathered while their output passes
/// through unchanged.
#[derive(Default)]
pub(crate) struct FailedTests {
    /// `(test name, first line of its message)` in the order reported.
    cases: Vec<(String, String)>,
    /// The test whose `---- NAME stdout ----` section is being read.
    reading: Option<String>,
    /// Whether the next line is the message after `panicked at ...:`.
    message_next: bool,
}

impl FailedTests {
    /// Runs `command`, copying its standard output to ours and noting
    /// failed tests; an error when it exits non-zero.
    fn run(&mut self, command: Command) -> Result<()> {
        self.run_into(command, &mut std::io::stdout().lock())
    }

    /// Adds `other`'s failed tests to these.
    pub(crate) fn extend(&mut self, other: FailedTests) {
        self.cases.extend(other.cases);
    }

    /// [`Self::run`], copying the output to `out` a whole line per write.
    pub(crate) fn run_into(&mut self, mut command: Command, out: &mut impl Write) -> Result<()> {
        eprintln!("$ {command:?}");
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {command:?}"))?;
        let stdout = child.stdout.take().context("cargo test has no stdout")?;
        for line in BufReader::new(stdout).split(b'\n') {
            let mut line = line.context("reading cargo test's output")?;
            self.read(&String::from_utf8_lossy(&line));
            line.push(b'\n');
            out.write_all(&line)?;
        }
        out.flush()?;
        let status = child.wait()?;
        if !status.success() {
            bail!("{command:?} failed: {status}");
        }
        Ok(())
    }

    /// Notes one line of libtest's output.
    fn read(&mut self, line: &str) {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            self.reading = Some(name.to_string());
            self.message_next = false;
        } else if line.starts_with("thread '") && line.contains(" panicked at ") {
            self.message_next = self.reading.is_some();
        } else if self.message_next {
            self.message_next = false;
            if let Some(name) = self.reading.take() {
                self.cases.push((name, line.trim().to_string()));
            }
        }
    }

    /// Prints the failed tests in at most `LINES` lines, after everything
    /// else, so that a log cut to its end still names them.
    fn print(&self) {
        const LINES: usize = 20;
        if self.cases.is_empty() {
            return;
        }
        eprintln!("xtask: tests that failed:");
        for (name, message) in self.cases.iter().take(LINES) {
            let mut message = message.clone();
            if message.len() > 160 {
                let mut end = 160;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
                message.push_str(" ...");
            }
            eprintln!("    {name}: {message}");
        }
        if self.cases.len() > LINES {
            eprintln!("    ... ({} test(s) in all)", self.cases.len());
        }
    }
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
    if !failures.is_empty() {
        eprintln!("xtask: in short:\n{}", short_failures(&failures.concat()));
    }
}

/// The failed cases' headers, each with its first changed lines, in at
/// most `LINES` lines: what a CI log cut to its last lines still shows.
fn short_failures(details: &str) -> String {
    const LINES: usize = 20;
    const PER_CASE: usize = 3;
    let mut out = Vec::new();
    let mut in_case = 0;
    for line in details.lines() {
        if line.starts_with("--- ") && line.contains(" differs from ") {
            out.push(line.trim_start_matches("--- ").to_string());
            in_case = 0;
        } else if (line.starts_with('+') || line.starts_with('-')) && in_case < PER_CASE {
            out.push(format!("    {line}"));
            in_case += 1;
        }
    }
    let cases = details
        .lines()
        .filter(|l| l.starts_with("--- ") && l.contains(" differs from "))
        .count();
    if out.len() > LINES {
        out.truncate(LINES);
        out.push(format!("    ... ({cases} case(s) in all, diffs above)"));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::{short_failures, test_binary_args, FailedTests};

    #[test]
    fn test_binaries_get_the_filters_or_what_follows_the_separator() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(test_binary_args(&args(&["amd64"])), args(&["amd64"]));
        assert_eq!(
            test_binary_args(&args(&["--release", "x", "--", "--nocapture"])),
            args(&["--nocapture"])
        );
        assert!(test_binary_args(&[]).is_empty());
    }

    #[test]
    fn a_failing_run_passes_its_output_through_and_names_the_test() {
        let mut failed = FailedTests::default();
        let mut command = std::process::Command::new("sh");
        command.args([
            "-c",
            "printf '%s\\n' '---- t stdout ----' \"thread 't' (1) panicked at x.rs:1:1:\" boom; exit 101",
        ]);
        let mut out = Vec::new();
        let error = failed.run_into(command, &mut out).unwrap_err();
        assert!(String::from_utf8_lossy(&out).ends_with("boom\n"));
        assert!(error.to_string().contains("101"), "{error}");
        assert_eq!(failed.cases, [("t".to_string(), "boom".to_string())]);
    }

    #[test]
    fn failed_tests_are_named_with_their_message() {
        let mut failed = FailedTests::default();
        for line in [
            "test a::b ... FAILED",
            "failures:",
            "",
            "---- a::b stdout ----",
            "",
            "thread 'a::b' (7449) panicked at src/x.rs:607:9:",
            "'process(\"relative\").begin': no program",
            "note: run with `RUST_BACKTRACE=1`",
            "---- c stdout ----",
            "some output of a test that did not panic",
        ] {
            failed.read(line);
        }
        assert_eq!(
            failed.cases,
            [(
                "a::b".to_string(),
                "'process(\"relative\").begin': no program".to_string()
            )]
        );
    }

    #[test]
    fn short_failures_keep_headers_and_first_changes() {
        let details = "--- a on k differs from its snapshot (- expected, + stapkit):\n \
                       same\n-old 1\n+new 1\n-old 2\n+new 2\n\
                       --- b on k differs from its snapshot (- expected, + stapkit):\n-x\n";
        assert_eq!(
            short_failures(details),
            "a on k differs from its snapshot (- expected, + stapkit):\n    -old 1\n    +new 1\n    -old 2\n\
             b on k differs from its snapshot (- expected, + stapkit):\n    -x"
        );
    }
}
