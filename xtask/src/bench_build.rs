//! `cargo xtask bench build`: how long `stap -p4` of a small script takes,
//! stapkit beside a bare kbuild module and beside real SystemTap, on the
//! same tree at the same moment.
//!
//! Per kernel, each figure is the median of `--runs` runs, wall time and
//! CPU time (of every process the run waited for; on a busy machine the
//! CPU time is the steadier figure):
//! - *first*: stapkit with its per-tree caches (feature probes, runtime
//!   object, kbuild's compiler-test answers) emptied and the module cache
//!   off: the first script ever built for the tree;
//! - *cold*: the module cache off, per-tree caches warm: a new script;
//! - *cached*: the same script again, from the module cache;
//! - *bare*: a one-file `hello` module (`module_init` and a `pr_info`)
//!   built by a plain kbuild with the same toolchain (its compiler tests
//!   run, as in any `make -C TREE M=DIR`): the floor kbuild itself sets;
//! - SystemTap *uncached* (a fresh `SYSTEMTAP_DIR`) and *cached* (the
//!   same again, its module from that directory's cache, which `-v`'s
//!   `Pass 4: using cached` line must show), Debian's SystemTap in the oracle's root
//!   (`docs/oracle/README.md`) with `-r TREE`, on the kernels whose
//!   compiler that root has (`cargo xtask oracle --kernel K` adds one);
//!   without `-m`, which keeps SystemTap from its cache (observed: with
//!   `-m` the second build takes as long as the first).
//!
//! stapkit runs its release build (or `--stap PATH`). Figures are
//! printed, never asserted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::cache::Cache;
use stapkit::kernel::kbuild::{self, BuildRequest};
use stapkit::kernel::{toolchain, Catalog, HeaderTree};
use xshell::{cmd, Shell};

use crate::oracle;
use crate::setup;

/// The bare module: what every kbuild module has, and nothing more.
const BARE_C: &str = "#include <linux/module.h>\n#include <linux/kernel.h>\n\n\
static int __init bare_init(void)\n{\n\tpr_info(\"hello\\n\");\n\treturn 0;\n}\n\n\
static void __exit bare_exit(void)\n{\n}\n\n\
module_init(bare_init);\nmodule_exit(bare_exit);\n\
MODULE_LICENSE(\"GPL\");\nMODULE_DESCRIPTION(\"bare kbuild floor\");\n";

/// The SystemTap suite whose root is used (the oracle's default).
const STAP_SUITE: &str = "trixie";

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
}

/// CPU time of every waited-for descendant so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Times `f`, which must wait for the processes it starts.
fn timed(f: impl FnOnce() -> Result<()>) -> Result<Run> {
    let cpu = children_cpu();
    let started = Instant::now();
    f()?;
    Ok(Run {
        wall: started.elapsed(),
        cpu: children_cpu() - cpu,
    })
}

/// The median wall and CPU time of `runs`.
fn median(mut runs: Vec<Run>) -> Option<Run> {
    if runs.is_empty() {
        return None;
    }
    let mid = runs.len() / 2;
    runs.sort_by_key(|r| r.wall);
    let wall = runs[mid].wall;
    runs.sort_by_key(|r| r.cpu);
    Some(Run {
        wall,
        cpu: runs[mid].cpu,
    })
}

fn show(run: Option<Run>) -> String {
    match run {
        Some(r) => format!(
            "{:>5.2}s/{:<5.2}",
            r.wall.as_secs_f64(),
            r.cpu.as_secs_f64()
        ),
        None => format!("{:>11}", "-"),
    }
}

fn stap_p4(stap: &Path, kernel: &str, script: &Path, dir: &Path, cache: &[&str]) -> Result<()> {
    let output = std::process::Command::new(stap)
        .args(["-p4", "-m", "bench_hello", "-r", kernel])
        .args(cache)
        .arg(script)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {}", stap.display()))?;
    if !output.status.success() {
        bail!(
            "stap -p4 -r {kernel} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Options of `cargo xtask bench build`.
#[derive(Debug, Clone)]
pub struct BuildBench {
    /// Kernels (default: every CI kernel).
    pub kernels: Vec<String>,
    /// Runs per figure.
    pub runs: usize,
    /// The `stap` to measure (default: the release build, built first).
    pub stap: Option<PathBuf>,
}

/// Measures and prints the figures (see the module doc).
pub fn run(sh: &Shell, bench: &BuildBench) -> Result<()> {
    let kernels = if bench.kernels.is_empty() {
        setup::ci_kernels()?
    } else {
        bench.kernels.clone()
    };
    let prepared = setup::run(
        sh,
        &setup::Options {
            kernels: kernels.clone(),
            debug_kernels: Vec::new(),
        },
    )?;
    drop(prepared);
    let stap = match &bench.stap {
        Some(stap) => stap.clone(),
        None => {
            cmd!(sh, "cargo build --quiet --release -p stapkit --bin stap").run()?;
            setup::target_dir()?.join("release/stap")
        }
    };
    let script = setup::project_root().join("tests/scripts/hello.stp");
    let work = tempfile::Builder::new().prefix("stapkit-bench").tempdir()?;
    let cache = Cache::locate(None);
    let catalog = Catalog::load()?;
    let runs = bench.runs.max(1);
    println!("stap -p4 of tests/scripts/hello.stp; median of {runs} runs, wall/CPU seconds");
    println!(
        "{:<19} {:>11} {:>11} {:>11} {:>11} | {:>11} {:>11}",
        "kernel", "first", "cold", "cached", "bare kbuild", "stap uncach", "stap cached"
    );
    for kernel in &kernels {
        let tree = HeaderTree::resolve(Some(kernel), &cache, &catalog)
            .map_err(|e| anyhow!("{kernel}: {e}"))?;
        let tc = toolchain::select(&tree, &cache, &catalog).map_err(|e| anyhow!("{e}"))?;
        let dir = work.path();
        let mut first = Vec::new();
        let mut cold = Vec::new();
        let mut cached = Vec::new();
        let mut bare = Vec::new();
        for _ in 0..runs {
            // The per-tree caches of this tree only: other kernels' stay.
            let features = cache
                .features_dir()
                .join(stapkit::kernel::features::cache_key(&tree, &tc));
            if features.exists() {
                std::fs::remove_dir_all(&features)
                    .with_context(|| format!("emptying {}", features.display()))?;
            }
            first.push(timed(|| {
                stap_p4(&stap, kernel, &script, dir, &["--disable-cache"])
            })?);
            cold.push(timed(|| {
                stap_p4(&stap, kernel, &script, dir, &["--disable-cache"])
            })?);
            // Fill the module cache, then time a hit.
            stap_p4(&stap, kernel, &script, dir, &["--poison-cache"])?;
            cached.push(timed(|| stap_p4(&stap, kernel, &script, dir, &[]))?);
            bare.push(timed(|| {
                kbuild::build(&BuildRequest {
                    tree: &tree,
                    toolchain: &tc,
                    module: "hello",
                    files: vec![(PathBuf::from("hello.c"), BARE_C.to_string())],
                    objects: Vec::new(),
                    cflags: Vec::new(),
                    pch: None,
                    make_vars: Vec::new(),
                    try_run_cache: None,
                    keep: false,
                    verbose: false,
                })
                .map(drop)
                .map_err(|e| anyhow!("bare kbuild on {kernel}: {e}"))
            })?);
        }
        let (st_uncached, st_cached) = match systemtap_runs(&cache, kernel, &script, runs) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{kernel}: SystemTap not measured: {e:#}");
                (Vec::new(), Vec::new())
            }
        };
        println!(
            "{:<19} {} {} {} {} | {} {}",
            kernel,
            show(median(first)),
            show(median(cold)),
            show(median(cached)),
            show(median(bare)),
            show(median(st_uncached)),
            show(median(st_cached)),
        );
    }
    Ok(())
}

/// SystemTap's uncached and cached `stap -p4` of `script` for `kernel`, in
/// the oracle's root; an error when the root lacks the kernel's compiler.
fn systemtap_runs(
    cache: &Cache,
    kernel: &str,
    script: &Path,
    runs: usize,
) -> Result<(Vec<Run>, Vec<Run>)> {
    let root_dir = cache.dir().join("oracle/roots").join(STAP_SUITE);
    let compiler = oracle::kernel_compiler(kernel)?;
    let packages = std::fs::read_to_string(root_dir.join(".stapkit-oracle-packages"))
        .map_err(|_| anyhow!("no {STAP_SUITE} oracle root (cargo xtask oracle makes it)"))?;
    if !packages.lines().any(|p| p == compiler) {
        bail!("the {STAP_SUITE} oracle root has no {compiler} (cargo xtask oracle --kernel {kernel} adds it)");
    }
    let k = oracle::fetch_kernel(cache, kernel)?;
    let tree = k.state.build_dir().display().to_string();
    // The debug files, but none placed inside the tree (its `vmlinux`):
    // one there needs a fresh writable layer over the tree in every run,
    // which gives the tree a new modification time, part of SystemTap's
    // cache key, so the second run could never hit. hello.stp needs no
    // debug information.
    let files: Vec<_> = oracle::debug_files(&k)
        .into_iter()
        .filter(|(_, dst)| !Path::new(dst).starts_with(&tree))
        .collect();
    let work = "/tmp/stapkit-bench-build";
    let host_work = root_dir.join(work.trim_start_matches('/'));
    let _ = std::fs::remove_dir_all(&host_work);
    std::fs::create_dir_all(&host_work)?;
    std::fs::copy(script, host_work.join("hello.stp"))?;
    // `-v` makes SystemTap say where pass 4's module came from: a run
    // that should be a hit and is not stops the benchmark instead of
    // printing a build's time in the cached column.
    let stap = |dir: &str, hit: bool| -> Result<()> {
        let argv: Vec<String> = [
            "env",
            &format!("SYSTEMTAP_DIR={work}/{dir}"),
            "stap",
            "-v",
            "-p4",
            "-r",
            &tree,
            "hello.stp",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let out = oracle::in_root_with(&root_dir, &[&k.state.root], &files, work, &argv)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!("SystemTap's stap -p4 failed:\n{stderr}");
        }
        let from_cache = stderr
            .lines()
            .any(|l| l.starts_with("Pass 4: using cached"));
        if from_cache != hit {
            bail!(
                "SystemTap's stap -p4 {} its cache ({work}/{dir}):\n{stderr}",
                if hit { "missed" } else { "unexpectedly hit" }
            );
        }
        Ok(())
    };
    let mut uncached = Vec::new();
    let mut cached = Vec::new();
    for i in 0..runs {
        let dir = format!("stapdir-{i}");
        uncached.push(timed(|| stap(&dir, false))?);
        cached.push(timed(|| stap(&dir, true))?);
    }
    let _ = std::fs::remove_dir_all(&host_work);
    Ok((uncached, cached))
}
