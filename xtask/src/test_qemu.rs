//! The QEMU tests of `cargo xtask test` (`tests/tests/qemu_*.rs`, one per
//! kernel), [`AT_ONCE`] at a time.
//!
//! A kernel's test builds its modules (both cores: translation threads
//! and make's jobs), then runs them in one TCG guest, which uses one host
//! thread. Run one after another, a core idles through every guest. Run
//! together, they share turns (`stapkit::matrix::phases`): one build at a
//! time, beside one guest, or two guests at once while nothing builds,
//! and a waiting build goes first, so later kernels' modules are built
//! ahead and the suite ends with two guests side by side.
//! Cargo holds its build-directory lock while test binaries run, so the
//! binaries are built with `cargo test --no-run` and run here as `cargo
//! test` runs them: from the package's directory, with
//! `CARGO_MANIFEST_DIR` set.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cargo_metadata::Message;
use stapkit::matrix::phases::PHASES_ENV;

use crate::setup;
use crate::test::FailedTests;

/// The package of the QEMU tests.
pub const PACKAGE: &str = "stapkit-tests";

/// How the QEMU tests' target names begin.
const PREFIX: &str = "qemu_";

/// QEMU tests run at once: one more than the phases that run at a time
/// (`phases::SLOTS`), so that a kernel builds ahead while two others hold
/// the slots, and a slot that comes free has a built kernel to boot.
/// Replaying the turns with the last warm figures of the six kernels
/// (builds 81-144 s, guests 97-187 s) gives about 800-820 s with three
/// and 825-885 s with two, against 920 s for one guest at a time; where
/// builds take longer than guests (a busy host), the builds set the pace
/// either way.
const AT_ONCE: usize = 3;

/// The test targets of [`PACKAGE`]: the QEMU ones and the others.
pub fn targets() -> Result<(Vec<String>, Vec<String>)> {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(setup::project_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let package = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == PACKAGE)
        .with_context(|| format!("no package {PACKAGE} in the workspace"))?;
    let tests = package
        .targets
        .iter()
        .filter(|t| t.kind.iter().any(|k| *k == "test"))
        .map(|t| t.name.clone());
    Ok(tests.partition(|name| name.starts_with(PREFIX)))
}

/// Builds the QEMU test binaries `names` and runs them, [`AT_ONCE`] at a
/// time, each with `configure`'s environment; their failures are added to
/// `failed`. An error when one failed.
pub fn run(
    names: &[String],
    configure: &(dyn Fn(&mut Command) + Sync),
    failed: &mut FailedTests,
) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let binaries = build(names)?;
    let turns = tempfile::Builder::new()
        .prefix("stapkit-matrix-turns")
        .tempdir()?;
    let package_dir = setup::project_root().join("tests");
    let next = Mutex::new(binaries.into_iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..AT_ONCE {
            s.spawn(|| loop {
                let Some((name, exe)) = next.lock().unwrap().next() else {
                    break;
                };
                let mut command = Command::new(&exe);
                command
                    .current_dir(&package_dir)
                    .env("CARGO_MANIFEST_DIR", &package_dir)
                    .env("RUST_BACKTRACE", "0")
                    .env(PHASES_ENV, turns.path());
                configure(&mut command);
                let started = Instant::now();
                let mut mine = FailedTests::default();
                let result = mine.run_into(command, &mut LineOut);
                eprintln!(
                    "xtask: {name} {} in {:.0?}",
                    if result.is_ok() { "passed" } else { "failed" },
                    started.elapsed()
                );
                results.lock().unwrap().push((name, result, mine));
            });
        }
    });
    let mut errors = Vec::new();
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, result, mine) in results {
        failed.extend(mine);
        if let Err(e) = result {
            errors.push(format!("{name}: {e}"));
        }
    }
    if !errors.is_empty() {
        bail!("QEMU tests failed:\n{}", errors.join("\n"));
    }
    Ok(())
}

/// `cargo test --no-run` of the targets `names`: each one's executable.
fn build(names: &[String]) -> Result<Vec<(String, PathBuf)>> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(setup::project_root())
        .args([
            "test",
            "-p",
            PACKAGE,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped());
    for name in names {
        command.args(["--test", name]);
    }
    eprintln!("$ {command:?}");
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {command:?}"))?;
    let stdout = child.stdout.take().context("cargo has no stdout")?;
    let mut binaries = Vec::new();
    for message in Message::parse_stream(std::io::BufReader::new(stdout)) {
        if let Message::CompilerArtifact(artifact) = message.context("cargo's messages")? {
            if let Some(exe) = artifact.executable {
                if names.contains(&artifact.target.name) {
                    binaries.push((artifact.target.name.clone(), exe.into_std_path_buf()));
                }
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("{command:?} failed: {status}");
    }
    if let Some(missing) = names
        .iter()
        .find(|n| !binaries.iter().any(|(b, _)| b == *n))
    {
        bail!("cargo built no executable for the test {missing}");
    }
    binaries.sort();
    Ok(binaries)
}

/// Standard output, a whole line per write, so that two tests' lines do
/// not mix.
struct LineOut;

impl std::io::Write for LineOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout().lock().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
