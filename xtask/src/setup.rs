//! Everything a fresh Debian 12 machine needs before stapkit can build
//! modules and boot them: apt packages, kernel trees, a static staprun.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// Debian packages the build and the VM tests need.
pub const APT_PACKAGES: &[&str] = &[
    // kbuild and the feature probes
    "make",
    "gcc",
    "libc6-dev",
    "libelf1",
    "libssl3",
    // stap-prep: private apt configuration and unpacking
    "apt",
    "dpkg",
    "debian-archive-keyring",
    // stap-prep: toolchain roots for kernels the host compiler does not fit
    // (5.10 gcc-10, 6.12 gcc-14, 7.2 gcc-16)
    "mmdebstrap",
    // the test guests
    "qemu-system-x86",
    "busybox-static",
];

/// The kernel the demo uses.
pub const DEFAULT_KERNEL: &str = "debian-6.1-amd64";

/// `ci/matrix.yaml`: what CI covers.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CiMatrix {
    kernels: Vec<String>,
    #[serde(default)]
    debug_kernels: Vec<String>,
}

fn ci_matrix() -> Result<CiMatrix> {
    let path = project_root().join("ci/matrix.yaml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let matrix: CiMatrix =
        serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    if matrix.kernels.is_empty() {
        bail!("{} lists no kernels", path.display());
    }
    if let Some(k) = matrix
        .debug_kernels
        .iter()
        .find(|k| !matrix.kernels.contains(k))
    {
        bail!(
            "{}: debug kernel {k} is not one of its kernels",
            path.display()
        );
    }
    Ok(matrix)
}

/// The kernels of the CI matrix (`ci/matrix.yaml`).
pub fn ci_kernels() -> Result<Vec<String>> {
    Ok(ci_matrix()?.kernels)
}

/// The kernels of the CI matrix fetched with their -dbg package.
pub fn ci_debug_kernels() -> Result<Vec<String>> {
    Ok(ci_matrix()?.debug_kernels)
}

/// Options of `cargo xtask setup`.
#[derive(clap::Args, Debug, Default)]
pub struct Options {
    /// Kernels to fetch (default: the default kernel).
    #[arg(long = "kernel")]
    pub kernels: Vec<String>,
    /// Kernels to fetch with their -dbg package (800+ MB each).
    #[arg(long = "debug-kernel")]
    pub debug_kernels: Vec<String>,
}

/// What setup prepared.
#[derive(Debug)]
pub struct Prepared {
    /// The static staprun for the guests.
    pub staprun: PathBuf,
    /// The stapkit binaries' directory (`stap`, `stap-prep`, `stap-matrix`).
    pub bin_dir: PathBuf,
}

/// The workspace root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn target_dir() -> Result<PathBuf> {
    let meta = cargo_metadata::MetadataCommand::new()
        .manifest_path(project_root().join("Cargo.toml"))
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    Ok(meta.target_directory.into_std_path_buf())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Installs the missing apt packages (as root), or says what to run.
pub fn install_packages(sh: &Shell) -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            let format = "-f=${Status}";
            let status = cmd!(sh, "dpkg-query -W {format} {p}")
                .quiet()
                .ignore_stderr()
                .read()
                .unwrap_or_default();
            !status.ends_with("installed") || status.contains("not-installed")
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing packages; run as root: apt-get install {}",
            missing.join(" ")
        );
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    cmd!(sh, "apt-get update -qq")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends {missing...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()?;
    Ok(())
}

/// Builds the static staprun the guests run, and `stapkit-workload` beside
/// it, and returns staprun's path.
pub fn build_staprun(sh: &Shell) -> Result<PathBuf> {
    let triple = "x86_64-unknown-linux-gnu";
    cmd!(
        sh,
        "cargo build --quiet --release -p staprun -p stapkit-workload --target {triple}"
    )
    .env(
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
        "-C target-feature=+crt-static",
    )
    .run()?;
    Ok(target_dir()?.join(triple).join("release/staprun"))
}

/// Builds stapkit's binaries and returns their directory.
pub fn build_binaries(sh: &Shell) -> Result<PathBuf> {
    cmd!(sh, "cargo build --quiet -p stapkit --bins").run()?;
    Ok(target_dir()?.join("debug"))
}

/// Fetches kernels, and prepares the toolchain each needs, with the freshly
/// built stap-prep (which works on them in parallel).
pub fn fetch_kernels(sh: &Shell, bin_dir: &Path, kernels: &[String]) -> Result<()> {
    let stap_prep = bin_dir.join("stap-prep");
    cmd!(sh, "{stap_prep} fetch {kernels...}")
        .quiet()
        .ignore_stdout()
        .run()?;
    Ok(())
}

/// Adds the -dbg package to fetched kernels.
pub fn fetch_debug(sh: &Shell, bin_dir: &Path, kernels: &[String]) -> Result<()> {
    if kernels.is_empty() {
        return Ok(());
    }
    let stap_prep = bin_dir.join("stap-prep");
    cmd!(sh, "{stap_prep} fetch --debug {kernels...}")
        .quiet()
        .ignore_stdout()
        .run()?;
    Ok(())
}

/// The whole setup.
pub fn run(sh: &Shell, options: &Options) -> Result<Prepared> {
    install_packages(sh)?;
    let bin_dir = build_binaries(sh)?;
    let staprun = build_staprun(sh)?;
    let kernels = if options.kernels.is_empty() {
        vec![DEFAULT_KERNEL.to_string()]
    } else {
        options.kernels.clone()
    };
    fetch_kernels(sh, &bin_dir, &kernels)?;
    fetch_debug(sh, &bin_dir, &options.debug_kernels)?;
    Ok(Prepared { staprun, bin_dir })
}
