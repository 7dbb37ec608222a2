//! `cargo xtask bench build`: cold and warm `stap -p4` per CI kernel.
//!
//! Cold means the tree's feature probes run (the features cache is emptied
//! first); warm means they come from the cache. Both build the same small
//! script with the module cache off (`--disable-cache`), so both run
//! kbuild and the difference is what the features cache saves. Figures are printed,
//! never asserted: this machine's load varies.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::setup;

/// One measured `stap -p4`.
struct Run {
    wall: Duration,
    cpu: Duration,
    probes: String,
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

fn cache_dir() -> PathBuf {
    let env = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("STAPKIT_CACHE")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("stapkit")))
        .or_else(|| env("HOME").map(|h| h.join(".cache/stapkit")))
        .unwrap_or_else(|| PathBuf::from("/var/cache/stapkit"))
}

fn stap_p4(stap: &PathBuf, kernel: &str, script: &PathBuf, out: &std::path::Path) -> Result<Run> {
    let cpu = children_cpu();
    let started = Instant::now();
    let module = format!("bench_{}", kernel.replace(['-', '.'], "_"));
    let output = std::process::Command::new(stap)
        .args(["-vv", "-p4", "--disable-cache", "-m", &module, "-r", kernel])
        .arg(script)
        .current_dir(out)
        .output()
        .with_context(|| format!("running {}", stap.display()))?;
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!("stap -p4 -r {kernel} failed:\n{stderr}");
    }
    let probes = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Pass 4: feature probes: "))
        .and_then(|l| l.split(" (").next())
        .unwrap_or("?")
        .to_string();
    Ok(Run {
        wall,
        cpu: children_cpu() - cpu,
        probes,
    })
}

/// Measures and prints cold and warm `stap -p4` for every CI kernel.
pub fn run(sh: &Shell) -> Result<()> {
    let kernels = setup::ci_kernels()?;
    let prepared = setup::run(
        sh,
        &setup::Options {
            kernels: kernels.clone(),
            debug_kernels: Vec::new(),
        },
    )?;
    let stap = prepared.bin_dir.join("stap");
    let script = setup::project_root().join("tests/scripts/hello.stp");
    let out = tempfile_dir()?;
    let features = cache_dir().join("features");
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>9}  feature probes (cold; warm)",
        "kernel", "cold", "cold cpu", "warm", "warm cpu"
    );
    for kernel in &kernels {
        if features.exists() {
            std::fs::remove_dir_all(&features)
                .with_context(|| format!("emptying {}", features.display()))?;
        }
        let cold = stap_p4(&stap, kernel, &script, &out)?;
        let warm = stap_p4(&stap, kernel, &script, &out)?;
        println!(
            "{:<20} {:>8.1}s {:>8.1}s {:>8.1}s {:>8.1}s  {}; {}",
            kernel,
            cold.wall.as_secs_f64(),
            cold.cpu.as_secs_f64(),
            warm.wall.as_secs_f64(),
            warm.cpu.as_secs_f64(),
            cold.probes,
            warm.probes
        );
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("stapkit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
