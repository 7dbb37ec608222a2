//! `cargo xtask fuzz`: coverage-guided fuzzing with libFuzzer.
//!
//! Builds `fuzz/` (its own workspace, one binary for every target, see
//! `fuzz/src/main.rs`) in release mode with the SanitizerCoverage flags
//! cargo-fuzz passes, all of them stable `rustc` options (`-Cpasses=
//! sancov-module` and `-Cllvm-args=-sanitizer-coverage-*`), so no nightly
//! toolchain and no cargo-fuzz are needed; only AddressSanitizer, which
//! needs `-Zsanitizer`, is left out (safe Rust has no use for it here).
//! Each target runs for `--seconds` on its corpus, `fuzz/corpus/TARGET`,
//! which starts from the target's seeds; what it finds new is merged back
//! (libFuzzer's `-merge=1` keeps only inputs that add coverage). A crash,
//! timeout or memory blow-up is saved under `fuzz/artifacts/TARGET/` and
//! fails the command; turn it into a regression fixture before fixing it.
//! Each run appends a line to `fuzz/REPORT.md` (executions, corpus,
//! findings) and rewrites its total. `cargo test` replays the corpus
//! (`fuzz_readers`, `fuzz_frontend`): CI runs the corpus, not the
//! campaign. The workers' temporary files (the package targets unpack
//! every input into a directory of their own) go to a memory file
//! system when the machine has one (`/dev/shm`), so that an input costs
//! no disk writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// Every target of the fuzz binary.
#[path = "../../fuzz/src/targets.rs"]
mod targets;
use targets::TARGETS;

/// Options of `cargo xtask fuzz`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Targets to run (default: all); repeatable.
    #[arg(long = "target")]
    pub targets: Vec<String>,
    /// Seconds per target.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// libFuzzer worker processes per target.
    #[arg(long, default_value_t = 1)]
    pub jobs: u32,
    /// Seconds one input may take before it counts as a hang.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
    /// Only build the fuzz binary and print its path.
    #[arg(long)]
    pub build_only: bool,
}

/// The flags cargo-fuzz gives rustc for libFuzzer's coverage feedback.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
     -Cllvm-args=-sanitizer-coverage-level=4 \
     -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
     -Cllvm-args=-sanitizer-coverage-pc-table \
     -Cllvm-args=-sanitizer-coverage-trace-compares \
     -Cllvm-args=-sanitizer-coverage-stack-depth \
     --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// What one target's run did.
struct Run {
    target: String,
    executions: u64,
    corpus: usize,
    findings: Vec<PathBuf>,
}

pub fn run(sh: &Shell, o: &Options) -> Result<()> {
    let root = crate::setup::project_root();
    let binary = build(sh, &root)?;
    if o.build_only {
        println!("{}", binary.display());
        return Ok(());
    }
    let targets: Vec<String> = if o.targets.is_empty() {
        TARGETS.iter().map(|t| t.to_string()).collect()
    } else {
        o.targets.clone()
    };
    for t in &targets {
        if !TARGETS.contains(&t.as_str()) {
            bail!("unknown fuzz target '{t}': one of {}", TARGETS.join(", "));
        }
    }
    let mut runs = Vec::new();
    for t in &targets {
        runs.push(fuzz_one(&root, &binary, t, o)?);
    }
    let mut table =
        String::from("| target | executions | corpus | findings |\n|---|---:|---:|---|\n");
    for r in &runs {
        let findings = if r.findings.is_empty() {
            "none".to_string()
        } else {
            r.findings
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {findings} |",
            r.target, r.executions, r.corpus
        );
    }
    print!("{table}");
    append_report(&root, o, &runs)?;
    if runs.iter().any(|r| !r.findings.is_empty()) {
        bail!("the fuzzer found inputs that fail (above): make each a regression fixture");
    }
    Ok(())
}

/// Builds the fuzz binary for the host, named as a target (`--target`) so
/// that RUSTFLAGS reach only it and not build scripts or proc macros,
/// which would not link without libFuzzer.
fn build(sh: &Shell, root: &Path) -> Result<PathBuf> {
    let manifest = root.join("fuzz/Cargo.toml");
    let target_dir = root.join("fuzz/target");
    let version = cmd!(sh, "rustc -vV").read()?;
    let Some(host) = version.lines().find_map(|l| l.strip_prefix("host: ")) else {
        bail!("rustc -vV names no host triple");
    };
    cmd!(
        sh,
        "cargo build --release --manifest-path {manifest} --target-dir {target_dir} --target {host}"
    )
    .env("RUSTFLAGS", RUSTFLAGS)
    .run()
    .context("building the fuzz binary (fuzz/)")?;
    Ok(target_dir.join(host).join("release/stapkit-fuzz"))
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn fuzz_one(root: &Path, binary: &Path, target: &str, o: &Options) -> Result<Run> {
    let corpus = root.join("fuzz/corpus").join(target);
    let artifacts = root.join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    if files_in(&corpus) == 0 {
        let status = Command::new(binary)
            .env("STAPKIT_FUZZ_TARGET", target)
            .env("STAPKIT_FUZZ_SEEDS", &corpus)
            .status()
            .context("writing the seeds")?;
        if !status.success() {
            bail!("writing the seeds of {target} failed ({status})");
        }
    }
    let scratch = tempfile::tempdir()?;
    let temp = scratch_dir()?;
    let before: Vec<_> = list(&artifacts);
    let mut executions = 0;
    std::fs::create_dir_all(scratch.path().join("new"))?;
    let mut workers = Vec::new();
    for job in 0..o.jobs.max(1) {
        let log = scratch.path().join(format!("log-{job}"));
        let child = Command::new(binary)
            .env("STAPKIT_FUZZ_TARGET", target)
            .env("TMPDIR", temp.path())
            .arg(format!("-max_total_time={}", o.seconds))
            .arg(format!("-timeout={}", o.timeout))
            .arg("-rss_limit_mb=3072")
            .arg("-malloc_limit_mb=2048")
            .arg("-print_final_stats=1")
            .arg(format!("-seed={}", 1 + job))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(scratch.path().join("new"))
            .arg(&corpus)
            .stdout(std::fs::File::create(&log)?)
            .stderr(std::fs::File::create(
                scratch.path().join(format!("err-{job}")),
            )?)
            .spawn();
        workers.push((job, child.context("starting the fuzz binary")?));
    }
    for (job, mut child) in workers {
        child.wait()?;
        let err = std::fs::read_to_string(scratch.path().join(format!("err-{job}")))?;
        executions += err
            .lines()
            .filter_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .filter_map(|n| n.trim().parse::<u64>().ok())
            .sum::<u64>();
    }
    // Keep only what adds coverage: merge the new inputs into the corpus.
    let status = Command::new(binary)
        .env("STAPKIT_FUZZ_TARGET", target)
        .env("TMPDIR", temp.path())
        .arg("-merge=1")
        .arg(format!("-timeout={}", o.timeout))
        .arg("-rss_limit_mb=3072")
        .arg(&corpus)
        .arg(scratch.path().join("new"))
        .stderr(std::process::Stdio::null())
        .status()?;
    if !status.success() {
        bail!("merging the new inputs of {target} into its corpus failed ({status})");
    }
    let findings = list(&artifacts)
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    Ok(Run {
        target: target.to_string(),
        executions,
        corpus: files_in(&corpus),
        findings,
    })
}

/// A directory for the workers' temporary files: in `/dev/shm` (memory)
/// when there is one, else in the usual temporary directory.
fn scratch_dir() -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::Builder::new()
            .prefix("stapkit-fuzz")
            .tempdir_in(shm)
    } else {
        tempfile::Builder::new().prefix("stapkit-fuzz").tempdir()
    };
    dir.context("a directory for the fuzz workers' temporary files")
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn append_report(root: &Path, o: &Options, runs: &[Run]) -> Result<()> {
    let path = root.join("fuzz/REPORT.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut text = without_total(&text);
    for r in runs {
        let _ = writeln!(
            text,
            "| {} | {} s x {} | {} | {} | {} |",
            r.target,
            o.seconds,
            o.jobs.max(1),
            r.executions,
            r.corpus,
            r.findings.len()
        );
    }
    let total = report_total(&text);
    let _ = writeln!(text, "\n{TOTAL_PREFIX}{total} executions");
    std::fs::write(&path, text)?;
    println!("fuzz/REPORT.md: {total} executions in total");
    Ok(())
}

/// The start of the report's last line, which `cargo xtask fuzz` rewrites.
const TOTAL_PREFIX: &str = "Total of the runs above: ";

/// The report without its total line (and the blank line before it).
fn without_total(text: &str) -> String {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(TOTAL_PREFIX))
        .collect();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The executions column (the third) added up over the table's rows.
fn report_total(text: &str) -> u64 {
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| target "))
        .filter_map(|l| l.split('|').nth(3)?.trim().parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_adds_up_the_rows_and_is_rewritten() {
        let report = "# Fuzzing\n\n| target | time x workers | executions | corpus | findings |\n\
                      |---|---|---:|---:|---:|\n| btf | 40 s x 1 | 100 | 3 | 0 |\n\
                      | rpm | 60 s x 1 | 23 | 4 | 0 |\n\nTotal of the runs above: 5 executions\n";
        assert_eq!(report_total(report), 123);
        let kept = without_total(report);
        assert!(
            kept.ends_with("| rpm | 60 s x 1 | 23 | 4 | 0 |\n"),
            "{kept}"
        );
        assert_eq!(report_total(&kept), 123);
    }
}
