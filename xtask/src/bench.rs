//! `cargo xtask bench NAME`: benchmarks print figures; nothing asserts time.

use anyhow::{bail, Result};
use xshell::{cmd, Shell};

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Which benchmark: `frontend` (parse and elaborate a large script),
    /// `build` (cold and warm `stap -p4` per CI kernel).
    pub name: String,
}

/// Runs the named benchmark.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    match options.name.as_str() {
        "frontend" => cmd!(sh, "cargo bench -p stapkit --bench frontend").run()?,
        "build" => crate::bench_build::run(sh)?,
        other => bail!("unknown benchmark '{other}'; known: frontend, build"),
    }
    Ok(())
}
