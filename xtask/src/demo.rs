//! `cargo xtask demo`: the main job, end to end on the default kernel.

use std::path::PathBuf;

use anyhow::Result;
use xshell::{cmd, Shell};

use crate::setup;

/// Options of `cargo xtask demo`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// The script to build and run.
    #[arg(default_value = "examples/demo.stp")]
    pub script: PathBuf,
    /// The kernel to build for and boot.
    #[arg(long, default_value = setup::DEFAULT_KERNEL)]
    pub kernel: String,
}

/// Builds the script for the kernel and runs it in QEMU, printing its output.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let prepared = setup::run(
        sh,
        &setup::Options {
            kernels: vec![options.kernel.clone()],
            debug_kernels: Vec::new(),
        },
    )?;
    let matrix = prepared.bin_dir.join("stap-matrix");
    let staprun = &prepared.staprun;
    let (kernel, script) = (&options.kernel, &options.script);
    cmd!(
        sh,
        "{matrix} --kernel {kernel} --staprun {staprun} --print {script}"
    )
    .run()?;
    Ok(())
}
