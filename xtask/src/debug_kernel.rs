//! `cargo xtask debug-kernel`: builds a kernel with the kernel's run-time
//! checkers on (KASAN, lockdep, ...) from its distribution's source package,
//! as `kernels/built/NAME.yaml` describes it (`kernel::source_build`), caches
//! it like a fetched kernel, and runs QEMU scripts on it with `stap-matrix`.
//! A case whose guest logged a splat (BUG, WARNING, lockdep report, KASAN
//! report) fails as on any kernel. The build takes CPU-hours on a shared
//! machine: run it niced (`nice -n 19 cargo xtask debug-kernel`); an
//! interrupted build resumes where it stopped.

use std::path::PathBuf;

use anyhow::{Context, Result};
use stapkit::kernel::{source_build, Cache, Catalog};
use xshell::{cmd, Shell};

use crate::setup;

/// Options of `cargo xtask debug-kernel`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// The recipe under `kernels/built/`.
    #[arg(long, default_value = "debian-6.1-amd64-debug")]
    pub kernel: String,
    /// Make jobs for the kernel build.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Scripts to run on the kernel once built (none: only build it).
    pub scripts: Vec<PathBuf>,
}

/// What a kernel build needs beyond a compiler and make (kconfig's
/// parser generators, objtool's libelf, the certificate tools).
const BUILD_PACKAGES: &[&str] = &["flex", "bison", "bc", "libelf-dev", "libssl-dev"];

pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let missing = setup::not_installed(sh, BUILD_PACKAGES.iter().copied());
    setup::apt_install(sh, &missing, "the kernel build needs packages")?;
    let catalog = Catalog::load()?;
    let planned = source_build::plan(&options.kernel, &catalog)?.with_context(|| {
        let known = source_build::recipes()
            .map(|r| r.into_iter().map(|r| r.name).collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        format!(
            "no recipe kernels/built/{}.yaml (recipes: {known})",
            options.kernel
        )
    })?;
    let cache = Cache::locate(None);
    let state = source_build::build(&planned, &cache, options.jobs, &mut |l| eprintln!("{l}"))?;
    println!(
        "{}: {} (tree {}, image {})",
        options.kernel,
        state.release,
        state.build_dir().display(),
        state.image_path().display()
    );
    if options.scripts.is_empty() {
        return Ok(());
    }
    let prepared = setup::run(
        sh,
        &setup::Options {
            kernels: vec![planned.manifest.name.clone()],
            debug_kernels: Vec::new(),
        },
    )?;
    let matrix = prepared.bin_dir.join("stap-matrix");
    let staprun = &prepared.staprun;
    let kernel = &options.kernel;
    let scripts = &options.scripts;
    cmd!(
        sh,
        "{matrix} --kernel {kernel} --staprun {staprun} --print -j 1 {scripts...}"
    )
    .run()?;
    Ok(())
}
