//! `stap-matrix`: build scripts for kernels, run them in QEMU, compare;
//! `stap-matrix report` merges shards' results, `stap-matrix ci` writes
//! a CI definition that runs the matrix.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use stapkit::kernel::lock::{self, AllKernels};
use stapkit::kernel::{Cache, Catalog};
use stapkit::matrix::results::ShardResult;
use stapkit::matrix::{self, ci, html, junit, markdown, merge, render, Options};

/// Build every script for every kernel, boot each kernel once in QEMU, run
/// the modules, and compare their output with the expected file beside
/// each script.
#[derive(Parser)]
#[command(
    name = "stap-matrix",
    version,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Merge the result files of shards (--json) into one Markdown summary
    /// and one static HTML report.
    Report(ReportArgs),
    /// Write a CI definition running the matrix as kernels x shards.
    Ci(CiArgs),
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The result files stap-matrix --json wrote.
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// Write the Markdown summary here (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write the HTML report into this directory (index.html and pages).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Where readers find the HTML report, said in the Markdown summary.
    #[arg(long)]
    html_link: Option<String>,
    /// Write the merged JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    /// GitHub Actions.
    Github,
    /// GitLab CI.
    Gitlab,
}

#[derive(clap::Args)]
struct CiArgs {
    /// The CI engine.
    engine: EngineArg,
    /// Kernel manifest names (default: every manifest the lock file holds).
    #[arg(long = "kernel")]
    kernels: Vec<String>,
    /// Kernels to fetch with their debug-info package (DWARF).
    #[arg(long = "debug-kernel")]
    debug_kernels: Vec<String>,
    /// Shards per kernel.
    #[arg(long, default_value_t = 2)]
    shards: usize,
    /// The scripts, as a shell pattern relative to the repository.
    #[arg(long, default_value = "tests/scripts/*.stp")]
    scripts: String,
    /// Where the jobs `cargo install` stapkit from: `git:URL[#REV]`, or
    /// `path:DIR` for stapkit's workspace in the repository (`path:.` in
    /// stapkit's own); or `host:/DIR` for self-hosted shell runners on
    /// prepared machines with stapkit installed under DIR (no container,
    /// nothing installed by the jobs).
    #[arg(long, value_name = "SPEC")]
    install: String,
    /// The lock file the jobs fetch kernels at (`stap-prep fetch
    /// --locked`), committed in the repository; relative to its root.
    #[arg(long, default_value = "kernels/kernels.lock", value_name = "FILE")]
    lock: String,
    /// Write the definition here instead of to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Do not write: fail when --output differs from what would be written.
    #[arg(long, requires = "output")]
    check: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Kernel manifest names, or `all`: every manifest the lock file holds
    /// or the cache has fetched (the others are named, with the reason).
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
    /// stap-prep fetched with their kernel, else another fetched kernel's of their architecture).
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
    /// Write the results as JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write the results as JSON here (what stap-matrix report merges).
    #[arg(long)]
    json: Option<PathBuf>,
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
    let result = match cli.command {
        Some(Command::Report(args)) => report(args),
        Some(Command::Ci(args)) => write_ci(args),
        None => run(cli.run),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stap-matrix: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: RunArgs) -> Result<ExitCode, String> {
    let kernels = if cli.kernels.iter().any(|k| k == "all") {
        let cache = Cache::locate(cli.cache_dir.as_deref());
        let fetched: Vec<String> = cache
            .list()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|s| s.manifest)
            .collect();
        let all = all_kernels(None, &fetched)?;
        for line in all.notes("stap-matrix: --kernel all") {
            eprintln!("{line}");
        }
        all.chosen
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
        // Absolute: builds run compilers in subdirectories of it (a
        // relative `--work-dir work`, as CI passes, named files that the
        // compiler, started inside `work/...`, could not find).
        Some(d) => {
            std::path::absolute(&d).map_err(|e| format!("--work-dir {}: {e}", d.display()))?
        }
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
    let outcome = matrix::run(&options, &|line| eprintln!("{line}"));
    if cli.junit.is_some() || cli.json.is_some() {
        // A run that failed as a whole still leaves a result saying why,
        // so the merged report shows its kernels and the reason.
        let result = match &outcome {
            Ok(report) => {
                ShardResult::from_report(report, &options.kernels, &options.scripts, options.shard)
            }
            Err(e) => ShardResult::failed_run(
                &format!("stap-matrix failed: {e}"),
                &options.kernels,
                &options.scripts,
                options.shard,
            ),
        };
        if let Some(path) = &cli.json {
            result.write(path).map_err(|e| e.to_string())?;
        }
        if let Some(path) = &cli.junit {
            std::fs::write(path, junit::junit(&[&result]))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let report = outcome?;
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

/// `all`: the manifests the lock file (`lock`, else the one in effect)
/// holds, or `fetched` names.
fn all_kernels(lock: Option<&Path>, fetched: &[String]) -> Result<AllKernels, String> {
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    let names: Vec<String> = catalog.all().iter().map(|m| m.name.clone()).collect();
    let lock = lock::load(lock).map_err(|e| e.to_string())?;
    let all = AllKernels::choose(
        &names,
        lock.as_ref().map(|(l, p)| (l, p.as_path())),
        fetched,
    );
    if all.chosen.is_empty() {
        let mut message = "no kernel is locked or fetched, so `all` names none".to_string();
        for (name, why) in &all.left_out {
            message.push_str(&format!("\n  {name}: {why}"));
        }
        return Err(message);
    }
    Ok(all)
}

fn report(args: ReportArgs) -> Result<ExitCode, String> {
    let mut results = Vec::new();
    for path in &args.results {
        results.push((
            path.clone(),
            ShardResult::read(path).map_err(|e| e.to_string())?,
        ));
    }
    let merged = merge::merge(&results).map_err(|e| e.to_string())?;
    if let Some(dir) = &args.html {
        let index = html::write_report(&merged, dir).map_err(|e| e.to_string())?;
        eprintln!("stap-matrix: HTML report in {}", index.display());
    }
    if let Some(path) = &args.markdown {
        let text = markdown::markdown(&merged, args.html_link.as_deref());
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &args.junit {
        let all: Vec<&ShardResult> = results.iter().map(|(_, r)| r).collect();
        std::fs::write(path, junit::junit(&all)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{}", merged.summary());
    Ok(ExitCode::SUCCESS)
}

fn write_ci(args: CiArgs) -> Result<ExitCode, String> {
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    let names: Vec<String> = if args.kernels.is_empty() {
        // The jobs fetch with `stap-prep fetch --locked`: every locked
        // manifest, read from --lock when it is here.
        let here = Path::new(&args.lock);
        let all = all_kernels(here.is_file().then_some(here), &[])?;
        for line in all.notes("stap-matrix ci") {
            eprintln!("{line}");
        }
        all.chosen
    } else {
        args.kernels.clone()
    };
    let mut kernels = Vec::new();
    for name in &names {
        let manifest = catalog.get(name).map_err(|e| e.to_string())?;
        kernels.push(ci::CiKernel {
            name: name.clone(),
            arch: manifest.arch,
            debug: args.debug_kernels.contains(name),
        });
    }
    if let Some(k) = args.debug_kernels.iter().find(|k| !names.contains(k)) {
        return Err(format!(
            "--debug-kernel {k} is not one of the matrix's kernels"
        ));
    }
    let engine = match args.engine {
        EngineArg::Github => ci::Engine::Github,
        EngineArg::Gitlab => ci::Engine::Gitlab,
    };
    // The header's command: what regenerates this text.
    let mut command = format!("stap-matrix ci {} --shards {}", engine.name(), args.shards);
    for k in &args.kernels {
        command.push_str(&format!(" --kernel {k}"));
    }
    for k in &args.debug_kernels {
        command.push_str(&format!(" --debug-kernel {k}"));
    }
    if args.scripts != "tests/scripts/*.stp" {
        command.push_str(&format!(" --scripts '{}'", args.scripts));
    }
    let install = ci::Install::parse(&args.install).map_err(|e| e.to_string())?;
    command.push_str(&format!(" --install {}", install.spec()));
    if args.lock != "kernels/kernels.lock" {
        command.push_str(&format!(" --lock {}", args.lock));
    }
    if let Some(out) = &args.output {
        command.push_str(&format!(" --output {}", out.display()));
    }
    let plan = ci::Plan {
        kernels,
        shards: args.shards,
        scripts: args.scripts.clone(),
        install,
        lock: args.lock.clone(),
        command,
    };
    let text = ci::write(engine, &plan).map_err(|e| e.to_string())?;
    match &args.output {
        None => print!("{text}"),
        Some(path) if args.check => {
            let current = std::fs::read_to_string(path).unwrap_or_default();
            if current != text {
                return Err(format!(
                    "{} is not what `{}` writes; run that command and commit the result",
                    path.display(),
                    plan.command
                ));
            }
        }
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
