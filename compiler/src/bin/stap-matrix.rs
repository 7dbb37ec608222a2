//! `stap-matrix`: build scripts for kernels, run them in QEMU, compare.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use stapkit::kernel::{Cache, Catalog};
use stapkit::matrix::{self, render, Options};

/// Build every script for every kernel, boot each kernel once in QEMU, run
/// the modules, and compare their output with the expected file beside
/// each script.
#[derive(Parser)]
#[command(name = "stap-matrix", version)]
struct Cli {
    /// Kernel manifest names, or `all`.
    #[arg(long = "kernel", required = true)]
    kernels: Vec<String>,
    /// Print each case's outcome instead of comparing.
    #[arg(long)]
    print: bool,
    /// Parallel builds (default: the number of CPUs).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Run shard I of N, e.g. 2/4.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// The static staprun for the guests (default: $STAPKIT_STAPRUN, else beside this program).
    #[arg(long)]
    staprun: Option<PathBuf>,
    /// The static staprun for arm64 guests (default: $STAPKIT_STAPRUN_ARM64, else the
    /// aarch64-unknown-linux-gnu counterpart of --staprun in cargo's target directory).
    #[arg(long)]
    staprun_arm64: Option<PathBuf>,
    /// The static busybox for guests of this machine's architecture (others use the one
    /// stap-prep fetched with their kernel).
    #[arg(long, default_value = "/bin/busybox")]
    busybox: PathBuf,
    /// Use KVM instead of TCG.
    #[arg(long)]
    kvm: bool,
    /// Kernel cache directory.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Keep build products and console logs here (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Build the modules and stop: no guest boots (to time or check builds).
    #[arg(long)]
    build_only: bool,
    /// The scripts.
    #[arg(required = true)]
    scripts: Vec<PathBuf>,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, e.g. 1/4")?;
    let (i, n): (usize, usize) = (
        i.parse().map_err(|_| "I must be a number")?,
        n.parse().map_err(|_| "N must be a number")?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(format!("shard {i}/{n} is out of range: need 1 <= I <= N"));
    }
    Ok((i, n))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stap-matrix: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    let kernels = if cli.kernels.iter().any(|k| k == "all") {
        let catalog = Catalog::load().map_err(|e| e.to_string())?;
        catalog.all().iter().map(|m| m.name.clone()).collect()
    } else {
        cli.kernels
    };
    let staprun = cli
        .staprun
        .or_else(|| std::env::var_os("STAPKIT_STAPRUN").map(PathBuf::from))
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .map(|e| e.with_file_name("staprun"))
        })
        .ok_or("cannot locate staprun; pass --staprun")?;
    let temp;
    let work_dir = match cli.work_dir {
        Some(d) => d,
        None => {
            temp = tempfile::Builder::new()
                .prefix("stap-matrix")
                .tempdir()
                .map_err(|e| e.to_string())?;
            temp.path().to_path_buf()
        }
    };
    let options = Options {
        kernels,
        scripts: cli.scripts,
        print: cli.print,
        jobs: cli.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }),
        shard: cli.shard,
        staprun,
        staprun_arm64: cli
            .staprun_arm64
            .or_else(|| std::env::var_os("STAPKIT_STAPRUN_ARM64").map(PathBuf::from)),
        busybox: cli.busybox,
        kvm: cli.kvm,
        cache: Cache::locate(cli.cache_dir.as_deref()),
        work_dir,
        build_only: cli.build_only,
    };
    let report = matrix::run(&options, &|line| eprintln!("{line}"))?;
    if options.print {
        for cell in &report.cells {
            println!("=== {} on {}", cell.script, cell.kernel);
            print!("{}", render(&cell.outcome));
        }
    }
    println!("{}", report.table());
    if options.build_only {
        // A cell that built only was not run: only build failures count.
        let failed: Vec<_> = report
            .cells
            .iter()
            .filter(|c| matches!(c.outcome, matrix::Outcome::BuildFailed(_)))
            .collect();
        for c in &failed {
            print!("== {} on {}\n{}", c.script, c.kernel, render(&c.outcome));
        }
        return Ok(if failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if report.failed() {
        print!("{}", report.details());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
