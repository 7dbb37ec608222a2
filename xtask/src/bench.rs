//! `cargo xtask bench NAME`: benchmarks print figures; nothing asserts time.

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Which benchmark: `frontend` (parse and elaborate a large script),
    /// `build` (`stap -p4` first, cold and cached, a bare kbuild module and
    /// SystemTap's uncached and cached, per kernel), `overhead` (ns per probe
    /// hit, stapkit's module and SystemTap's in one guest).
    pub name: String,
    /// Kernels to measure (`build`: default every CI kernel); repeatable.
    #[arg(long = "kernel")]
    pub kernels: Vec<String>,
    /// Runs per figure (`build`: the median is printed; `overhead`: the
    /// best workload run).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// `build`: measure this `stap` instead of building the release one.
    #[arg(long)]
    pub stap: Option<std::path::PathBuf>,
    /// `overhead`: getppid calls per workload run.
    #[arg(long, default_value_t = 100_000)]
    pub calls: u64,
    /// `overhead`: only this script (kprobe, kprobe_map_printf,
    /// tracepoint, timer_profile); repeatable.
    #[arg(long = "script")]
    pub scripts: Vec<String>,
}

/// Runs the named benchmark.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    match options.name.as_str() {
        "frontend" => cmd!(sh, "cargo bench -p stapkit --bench frontend").run()?,
        "build" => crate::bench_build::run(
            sh,
            &crate::bench_build::BuildBench {
                kernels: options.kernels.clone(),
                runs: options.runs,
                stap: options.stap.clone(),
            },
        )?,
        "overhead" => crate::bench_overhead::run(
            sh,
            &crate::bench_overhead::OverheadBench {
                kernel: options
                    .kernels
                    .first()
                    .cloned()
                    .unwrap_or_else(|| crate::setup::DEFAULT_KERNEL.to_string()),
                runs: options.runs,
                calls: options.calls,
                scripts: options.scripts.clone(),
            },
        )?,
        other => bail!("unknown benchmark '{other}'; known: frontend, build, overhead"),
    }
    Ok(())
}
