//! A kernel build tree (what `make -C` takes) and how `-r` finds one.

use crate::arch::Arch;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::cache::{Cache, FetchState};
use super::manifest::Catalog;

/// A ready kernel build tree and what stapkit needs to know about it.
#[derive(Debug, Clone)]
pub struct HeaderTree {
    /// The build directory (holds `Makefile`, `.config`, `Module.symvers`).
    pub dir: PathBuf,
    /// The kernel release, `UTS_RELEASE` (e.g. `6.1.0-56-amd64`).
    pub release: String,
    /// Its architecture (from `CONFIG_X86_64`/`CONFIG_ARM64`).
    pub arch: Arch,
    /// The tree's `.config`, `CONFIG_` names to values (`y`, `m`, `"text"`).
    pub config: BTreeMap<String, String>,
    /// The compiler command the kernel was built with (e.g. `gcc-12`).
    pub compiler: String,
    /// The fetched kernel this tree came from, if it came from the cache.
    pub fetched: Option<FetchState>,
}

/// Why a tree could not be found or used.
#[derive(Debug)]
pub enum TreeError {
    /// `-r NAME` named a known kernel that has not been fetched.
    NotFetched { name: String },
    /// `-r RELEASE` matched neither an installed nor a fetched kernel.
    NoSuchRelease { release: String },
    /// `-r RELEASE` is of a known kernel series that is not fetched (at
    /// that release).
    /// `also` names the other manifests whose series it is too (RHEL,
    /// AlmaLinux and Rocky share their releases; Debian and CentOS
    /// Stream 10 the 6.12 series).
    ReleaseNotFetched {
        release: String,
        manifest: String,
        fetched: Option<String>,
        also: Vec<String>,
    },
    /// `-r PREFIX` (`6.8.0`) names several fetched kernels.
    Ambiguous {
        release: String,
        candidates: Vec<String>,
    },
    /// A directory that is not a configured kernel build tree.
    NotATree { dir: PathBuf, missing: &'static str },
    /// The cache could not be read.
    Cache(super::PrepError),
    /// The running kernel's release could not be read.
    NoRunningRelease(std::io::Error),
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeError::NotFetched { name } => {
                write!(f, "kernel '{name}' is not fetched; run: stap-prep fetch {name}")
            }
            TreeError::NoSuchRelease { release } => write!(
                f,
                "no build tree for kernel release '{release}': /lib/modules/{release}/build does not exist \
                 and no fetched kernel has that release; install linux-headers-{release}, or fetch one \
                 with stap-prep (see stap-prep list --available)"
            ),
            TreeError::ReleaseNotFetched {
                release,
                manifest,
                fetched,
                also,
            } => {
                match fetched {
                    Some(have) => write!(
                        f,
                        "kernel release '{release}' is of {manifest}, which is fetched at {have}; fetch that \
                         release with: {} (or use -r {have})",
                        fetch_release(manifest, release)
                    )?,
                    None => write!(
                        f,
                        "kernel release '{release}' is of {manifest}, which is not fetched; fetch that release \
                         with: {}",
                        fetch_release(manifest, release)
                    )?,
                }
                if !also.is_empty() {
                    write!(
                        f,
                        "; it is also of {}: name the one your hosts run in place of {manifest}",
                        also.join(", ")
                    )?;
                }
                Ok(())
            }
            TreeError::Ambiguous {
                release,
                candidates,
            } => write!(
                f,
                "kernel release '{release}' matches several fetched kernels: {}; name one of them",
                candidates.join(", ")
            ),
            TreeError::NotATree { dir, missing } => {
                write!(f, "{} is not a kernel build tree: it has no {missing}", dir.display())
            }
            TreeError::Cache(e) => write!(f, "{e}"),
            TreeError::NoRunningRelease(e) => write!(f, "cannot read the running kernel's release: {e}"),
        }
    }
}

impl std::error::Error for TreeError {}

impl HeaderTree {
    /// Opens the build tree at `dir` (or `dir/build` for `/lib/modules/R`).
    pub fn open(dir: &Path) -> Result<HeaderTree, TreeError> {
        let dir = if !dir.join("Makefile").is_file() && dir.join("build/Makefile").is_file() {
            dir.join("build")
        } else {
            dir.to_path_buf()
        };
        let not = |missing| TreeError::NotATree {
            dir: dir.clone(),
            missing,
        };
        if !dir.join("Makefile").is_file() {
            return Err(not("Makefile"));
        }
        let config_text =
            std::fs::read_to_string(dir.join(".config")).map_err(|_| not(".config"))?;
        let config = parse_config(&config_text);
        let uts = std::fs::read_to_string(dir.join("include/generated/utsrelease.h"))
            .map_err(|_| not("include/generated/utsrelease.h"))?;
        let release = uts
            .split('"')
            .nth(1)
            .map(str::to_string)
            .ok_or(not("UTS_RELEASE in include/generated/utsrelease.h"))?;
        let arch = if config.contains_key("CONFIG_ARM64") {
            Arch::Arm64
        } else if config.contains_key("CONFIG_X86_64") {
            Arch::X86_64
        } else {
            return Err(not(
                "CONFIG_X86_64 or CONFIG_ARM64 in .config (only x86_64 and arm64 are supported)",
            ));
        };
        let compiler = build_compiler(&config, host_gcc);
        Ok(HeaderTree {
            dir,
            release,
            arch,
            config,
            compiler,
            fetched: None,
        })
    }

    /// Resolves `-r`: a directory, a manifest name, or a kernel release;
    /// `None` means the running kernel.
    pub fn resolve(
        spec: Option<&str>,
        cache: &Cache,
        catalog: &Catalog,
    ) -> Result<HeaderTree, TreeError> {
        let release = match spec {
            Some(spec) if spec.contains('/') || Path::new(spec).is_dir() => {
                // A fetched kernel's build tree named by its path is still
                // that kernel: keep its image (BTF) and toolchain.
                let dir = Path::new(spec)
                    .canonicalize()
                    .unwrap_or_else(|_| PathBuf::from(spec));
                if let Ok(fetched) = cache.list() {
                    if let Some(state) = fetched
                        .into_iter()
                        .find(|s| s.build_dir().canonicalize().is_ok_and(|b| b == dir))
                    {
                        return HeaderTree::from_fetched(state);
                    }
                }
                return HeaderTree::open(Path::new(spec));
            }
            Some(spec) if catalog.get(spec).is_ok() => {
                let state = cache.state(spec).map_err(TreeError::Cache)?;
                let state = state.ok_or_else(|| TreeError::NotFetched {
                    name: spec.to_string(),
                })?;
                return HeaderTree::from_fetched(state);
            }
            Some(release) => release.to_string(),
            None => std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_err(TreeError::NoRunningRelease)?
                .trim()
                .to_string(),
        };
        let installed = PathBuf::from(format!("/lib/modules/{release}/build"));
        if installed.join("Makefile").is_file() {
            return HeaderTree::open(&installed);
        }
        if let Some(state) = cache.find_release(&release).map_err(TreeError::Cache)? {
            return HeaderTree::from_fetched(state);
        }
        by_release_prefix(&release, cache, catalog)
    }

    /// The tree of a fetched kernel.
    pub fn from_fetched(state: FetchState) -> Result<HeaderTree, TreeError> {
        let mut tree = HeaderTree::open(&state.build_dir())?;
        tree.fetched = Some(state);
        Ok(tree)
    }

    /// The `CROSS_COMPILE=` prefix of builds for this tree on this host
    /// (`aarch64-linux-gnu-` for an arm64 tree on x86-64), `None` when native.
    pub fn cross_compile(&self) -> Option<String> {
        super::arch::cross_compile(self.arch)
    }

    /// The compiler command builds run: the tree's compiler, with the cross
    /// prefix when the tree is foreign and does not spell one already
    /// (6.1's `gcc-12` becomes `aarch64-linux-gnu-gcc-12`; 6.12 names
    /// `aarch64-linux-gnu-gcc-14` itself).
    pub fn compiler_command(&self) -> String {
        match self.cross_compile() {
            Some(prefix) if !self.compiler.starts_with(&prefix) => {
                format!("{prefix}{}", self.compiler)
            }
            _ => self.compiler.clone(),
        }
    }

    /// The `make` variables every kbuild run for this tree gets: `ARCH=` and
    /// `CROSS_COMPILE=` for a cross build, and `CC=` when modules build
    /// with another compiler command than the tree's Makefile names (a
    /// RHEL-family tree's plain `gcc` built with Debian's `gcc-11`, see
    /// [`build_compiler`]).
    pub fn make_vars(&self) -> Vec<String> {
        let mut vars = match self.cross_compile() {
            Some(prefix) => vec![
                format!("ARCH={}", self.arch.kbuild()),
                format!("CROSS_COMPILE={prefix}"),
            ],
            None => Vec::new(),
        };
        let named = self
            .config
            .get("CONFIG_CC_VERSION_TEXT")
            .and_then(|t| t.trim_matches('"').split_whitespace().next())
            .unwrap_or("gcc");
        if self.compiler != named {
            vars.push(format!("CC={}", self.compiler_command()));
        }
        vars
    }

    /// Whether `CONFIG_name` is `y` or `m`.
    pub fn enabled(&self, name: &str) -> bool {
        matches!(self.config.get(name).map(String::as_str), Some("y" | "m"))
    }

    /// The leading `MAJOR.MINOR.PATCH` of the release (SystemTap's `kernel_v`).
    pub fn version(&self) -> String {
        let end = self
            .release
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(self.release.len());
        self.release[..end].trim_end_matches('.').to_string()
    }

    /// The `vermagic` string the kernel requires of modules, derived from the
    /// configuration as `include/linux/vermagic.h` does.
    pub fn vermagic(&self) -> String {
        let mut v = format!("{} ", self.release);
        if self.enabled("CONFIG_SMP") {
            v.push_str("SMP ");
        }
        if self.enabled("CONFIG_PREEMPT_RT") {
            v.push_str("preempt_rt ");
        } else if self.enabled("CONFIG_PREEMPT_BUILD") || self.enabled("CONFIG_PREEMPT") {
            v.push_str("preempt ");
        }
        if self.enabled("CONFIG_MODULE_UNLOAD") {
            v.push_str("mod_unload ");
        }
        if self.enabled("CONFIG_MODVERSIONS") {
            v.push_str("modversions ");
        }
        if self.arch == Arch::Arm64 {
            v.push_str("aarch64");
        }
        v
    }
}

/// The commands that fetch exactly `release` of `manifest`'s series: lock
/// it, then fetch at the lock (a series' plain fetch brings its newest).
/// A prefix (`6.8.0`) is no release: the series' fetch then.
fn fetch_release(manifest: &str, release: &str) -> String {
    if release.contains('-') {
        format!(
            "stap-prep update --lock kernels/kernels.lock --release {release} {manifest} && \
             stap-prep fetch --locked --lock kernels/kernels.lock {manifest}"
        )
    } else {
        format!("stap-prep fetch {manifest}")
    }
}

/// `-r` as users type it when no tree has exactly that release: a prefix
/// of one fetched kernel's release (`6.8.0` of `6.8.0-31-generic`), or the
/// release of a known series that is not fetched (which says what to run).
fn by_release_prefix(
    release: &str,
    cache: &Cache,
    catalog: &Catalog,
) -> Result<HeaderTree, TreeError> {
    let fetched = cache.list().map_err(TreeError::Cache)?;
    let mut matching: Vec<FetchState> = fetched
        .iter()
        .filter(|s| {
            s.release
                .strip_prefix(release)
                .is_some_and(|rest| rest.starts_with(['-', '.', '+']))
        })
        .cloned()
        .collect();
    match matching.len() {
        1 => return HeaderTree::from_fetched(matching.remove(0)),
        0 => {}
        _ => {
            return Err(TreeError::Ambiguous {
                release: release.to_string(),
                candidates: matching.iter().map(|s| s.release.clone()).collect(),
            })
        }
    }
    // The manifests whose release pattern the release matches, else those
    // of its series or whose releases start with it (`6.8.0`).
    let pattern_of = |m: &super::manifest::Manifest| match &m.source {
        super::manifest::Source::Apt(a) => a.release.clone(),
        super::manifest::Source::Rpm(r) => r.release.clone(),
    };
    let mut known: Vec<&super::manifest::Manifest> = catalog
        .all()
        .iter()
        .filter(|m| super::manifest::release_matches(&pattern_of(m), release))
        .collect();
    if known.is_empty() {
        known = catalog
            .all()
            .iter()
            .filter(|m| {
                let pattern = pattern_of(m);
                let prefix = pattern.split('*').next().unwrap_or("");
                m.series == release
                    || prefix
                        .strip_prefix(release)
                        .is_some_and(|rest| rest.starts_with(['-', '.']))
            })
            .collect();
    }
    // A fetched one first, then this host's architecture.
    known.sort_by_key(|m| {
        (
            !fetched.iter().any(|s| s.manifest == m.name),
            Some(m.arch) != crate::arch::Arch::host(),
        )
    });
    match known.split_first() {
        Some((m, others)) => Err(TreeError::ReleaseNotFetched {
            release: release.to_string(),
            manifest: m.name.clone(),
            fetched: fetched
                .iter()
                .find(|s| s.manifest == m.name)
                .map(|s| s.release.clone()),
            also: others.iter().map(|o| o.name.clone()).collect(),
        }),
        None => Err(TreeError::NoSuchRelease {
            release: release.to_string(),
        }),
    }
}

/// The compiler command that builds modules for a tree of `config`. A
/// versioned command the kernel names (`gcc-12`, Ubuntu's
/// `x86_64-linux-gnu-gcc-13`) is kept. A plain `gcc` (RHEL-family and
/// Fedora kernels: `gcc (GCC) 11.5.0 ... (Red Hat 11.5.0-2)`) is kept when
/// the host's own `gcc` (`host`: its `--version` line) is that very
/// compiler; otherwise the kernel's GCC major version
/// (`CONFIG_GCC_VERSION`, 110500) picks Debian's nearest gcc (`gcc-11`):
/// the host's when installed, else the manifest's toolchain root's.
pub fn build_compiler(
    config: &BTreeMap<String, String>,
    host: impl FnOnce() -> Option<String>,
) -> String {
    let text = config
        .get("CONFIG_CC_VERSION_TEXT")
        .map(|t| t.trim_matches('"'))
        .unwrap_or("");
    let named = text.split_whitespace().next().unwrap_or("gcc");
    if named != "gcc" {
        return named.to_string();
    }
    let Some(major) = config
        .get("CONFIG_GCC_VERSION")
        .and_then(|v| v.parse::<u32>().ok())
        .map(|v| v / 10000)
        .filter(|&m| m > 0)
    else {
        return named.to_string();
    };
    if host().is_some_and(|line| super::compiler_note::same_compiler(&line, text)) {
        return named.to_string();
    }
    super::compiler_note::nearest_debian_gcc(major).0
}

/// The first line of the host's `gcc --version`, if it has a gcc.
fn host_gcc() -> Option<String> {
    let out = std::process::Command::new("gcc")
        .arg("--version")
        .env("LC_ALL", "C")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .filter(|_| out.status.success())
        .map(str::to_string)
}

/// Parses a kernel `.config` into `CONFIG_` names and values (unset options
/// are absent; string values keep their quotes).
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| l.starts_with("CONFIG_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal fake tree: enough files for `HeaderTree::open`.
    pub(crate) fn fake_tree(dir: &Path, release: &str, config: &str) {
        std::fs::create_dir_all(dir.join("include/generated")).unwrap();
        std::fs::write(dir.join("Makefile"), "all:\n").unwrap();
        std::fs::write(dir.join(".config"), config).unwrap();
        std::fs::write(
            dir.join("include/generated/utsrelease.h"),
            format!("#define UTS_RELEASE \"{release}\"\n"),
        )
        .unwrap();
    }

    #[test]
    fn reads_release_arch_compiler_and_vermagic() {
        let tmp = tempfile::tempdir().unwrap();
        fake_tree(
            tmp.path(),
            "6.1.0-56-amd64",
            "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"\nCONFIG_X86_64=y\nCONFIG_SMP=y\n\
             CONFIG_PREEMPT_BUILD=y\n# CONFIG_PREEMPT is not set\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODVERSIONS=y\n",
        );
        let tree = HeaderTree::open(tmp.path()).unwrap();
        assert_eq!(tree.release, "6.1.0-56-amd64");
        assert_eq!(tree.arch, Arch::X86_64);
        assert_eq!(tree.compiler, "gcc-12");
        assert_eq!(tree.version(), "6.1.0");
        assert_eq!(
            tree.vermagic(),
            "6.1.0-56-amd64 SMP preempt mod_unload modversions "
        );
    }

    #[test]
    fn arm64_vermagic_names_the_arch() {
        let tmp = tempfile::tempdir().unwrap();
        fake_tree(
            tmp.path(),
            "6.1.0-56-arm64",
            "CONFIG_ARM64=y\nCONFIG_SMP=y\nCONFIG_MODULE_UNLOAD=y\nCONFIG_MODVERSIONS=y\n",
        );
        let tree = HeaderTree::open(tmp.path()).unwrap();
        assert_eq!(
            tree.vermagic(),
            "6.1.0-56-arm64 SMP mod_unload modversions aarch64"
        );
    }

    #[test]
    fn foreign_trees_build_with_the_cross_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let (foreign, config, triplet) = if Arch::host() == Some(Arch::Arm64) {
            ("x86", "CONFIG_X86_64=y\n", "x86_64-linux-gnu-")
        } else {
            ("arm64", "CONFIG_ARM64=y\n", "aarch64-linux-gnu-")
        };
        fake_tree(
            tmp.path(),
            "6.1.0-56-x",
            &format!("{config}CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n"),
        );
        let tree = HeaderTree::open(tmp.path()).unwrap();
        assert_eq!(tree.compiler, "gcc-12");
        assert_eq!(tree.compiler_command(), format!("{triplet}gcc-12"));
        assert_eq!(
            tree.make_vars(),
            [
                format!("ARCH={foreign}"),
                format!("CROSS_COMPILE={triplet}")
            ]
        );
        // A tree that names its compiler with the prefix keeps it.
        fake_tree(
            tmp.path(),
            "6.12.117+deb13-x",
            &format!(
                "{config}CONFIG_CC_VERSION_TEXT=\"{triplet}gcc-14 (Debian 14.2.0-19) 14.2.0\"\n"
            ),
        );
        let tree = HeaderTree::open(tmp.path()).unwrap();
        assert_eq!(tree.compiler_command(), format!("{triplet}gcc-14"));
        // The host's own architecture builds natively.
        let native = if foreign == "arm64" {
            "CONFIG_X86_64=y\n"
        } else {
            "CONFIG_ARM64=y\n"
        };
        fake_tree(tmp.path(), "6.1.0-56-y", native);
        let tree = HeaderTree::open(tmp.path()).unwrap();
        assert_eq!(tree.cross_compile(), None);
        assert!(tree.make_vars().is_empty());
        assert_eq!(tree.compiler_command(), "gcc");
    }

    #[test]
    fn unversioned_gcc_becomes_the_nearest_debian_gcc_unless_it_is_the_hosts() {
        let config = |text: &str, version: &str| {
            parse_config(&format!(
                "CONFIG_CC_VERSION_TEXT=\"{text}\"\nCONFIG_GCC_VERSION={version}\n"
            ))
        };
        let el9 = config("gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)", "110500");
        let debian = || Some("gcc (Debian 12.2.0-14) 12.2.0".to_string());
        assert_eq!(build_compiler(&el9, debian), "gcc-11");
        assert_eq!(build_compiler(&el9, || None), "gcc-11");
        // On the kernel's own distribution, its gcc is the host's.
        let rhel = || Some("gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)".to_string());
        assert_eq!(build_compiler(&el9, rhel), "gcc");
        let fedora = config("gcc (GCC) 15.2.1 20250808 (Red Hat 15.2.1-1)", "150201");
        assert_eq!(build_compiler(&fedora, debian), "gcc-15");
        // A versioned command is the kernel's own choice.
        let ubuntu = config(
            "x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0",
            "130200",
        );
        assert_eq!(build_compiler(&ubuntu, debian), "x86_64-linux-gnu-gcc-13");
        assert_eq!(
            build_compiler(
                &config("gcc-12 (Debian 12.2.0-14) 12.2.0", "120200"),
                debian
            ),
            "gcc-12"
        );
        // Nothing to go by: plain gcc.
        assert_eq!(build_compiler(&BTreeMap::new(), debian), "gcc");
    }

    #[test]
    fn errors_say_what_is_missing_and_what_to_run() {
        let tmp = tempfile::tempdir().unwrap();
        let err = HeaderTree::open(tmp.path()).unwrap_err().to_string();
        assert!(
            err.ends_with("is not a kernel build tree: it has no Makefile"),
            "{err}"
        );

        let cache = Cache::locate(Some(tmp.path()));
        let catalog = Catalog::builtin().unwrap();
        let err = HeaderTree::resolve(Some("debian-6.1-amd64"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "kernel 'debian-6.1-amd64' is not fetched; run: stap-prep fetch debian-6.1-amd64"
        );
        let err = HeaderTree::resolve(Some("9.9.9-nope"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no build tree for kernel release '9.9.9-nope'"),
            "{err}"
        );
        // Releases as users type them: a known series' release, or a prefix.
        let err = HeaderTree::resolve(Some("6.1.0-99-amd64"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "kernel release '6.1.0-99-amd64' is of debian-6.1-amd64, which is not fetched; fetch that \
             release with: stap-prep update --lock kernels/kernels.lock --release 6.1.0-99-amd64 \
             debian-6.1-amd64 && stap-prep fetch --locked --lock kernels/kernels.lock debian-6.1-amd64"
        );
        // Ubuntu's releases as a fleet's hosts print them.
        let err = HeaderTree::resolve(Some("6.8.0-31-generic"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "kernel release '6.8.0-31-generic' is of ubuntu-6.8-amd64, which is not fetched; \
                 fetch that release with: stap-prep update --lock kernels/kernels.lock --release \
                 6.8.0-31-generic ubuntu-6.8-amd64 && "
            ),
            "{err}"
        );
        let err = HeaderTree::resolve(Some("6.8.0"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "kernel release '6.8.0' is of ubuntu-6.8-amd64, which is not fetched; fetch that release \
             with: stap-prep fetch ubuntu-6.8-amd64; it is also of ubuntu-6.8-arm64: name the one your \
             hosts run in place of ubuntu-6.8-amd64"
        );
        let err = HeaderTree::resolve(Some("6.12"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "kernel release '6.12' is of centos-stream-10-x86_64, which is not fetched; fetch that release \
             with: stap-prep fetch centos-stream-10-x86_64; it is also of debian-6.12-amd64, \
             centos-stream-10-aarch64, debian-6.12-arm64: name the one your hosts run in place of \
             centos-stream-10-x86_64"
        );
        // RPM-family releases as `uname -r` prints them: CentOS Stream's
        // apart from RHEL's point releases, which AlmaLinux and Rocky share.
        let err = HeaderTree::resolve(Some("5.14.0-570.el9.x86_64"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "kernel release '5.14.0-570.el9.x86_64' is of centos-stream-9-x86_64, which is not fetched; \
             fetch that release with: stap-prep update --lock kernels/kernels.lock --release \
             5.14.0-570.el9.x86_64 centos-stream-9-x86_64 && stap-prep fetch --locked --lock \
             kernels/kernels.lock centos-stream-9-x86_64"
        );
        let err = HeaderTree::resolve(Some("5.14.0-427.13.1.el9_4.x86_64"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "kernel release '5.14.0-427.13.1.el9_4.x86_64' is of almalinux-9-x86_64, "
            ) && err.ends_with(
                "; it is also of rhel-9-x86_64, rocky-9-x86_64: name the one your hosts run in \
                     place of almalinux-9-x86_64"
            ),
            "{err}"
        );
        let err = HeaderTree::resolve(Some("6.12.0-55.el10.x86_64"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is of centos-stream-10-x86_64, which") && !err.contains("also"),
            "{err}"
        );
        let err = HeaderTree::resolve(Some("6.17.7-300.fc43.x86_64"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is of fedora-43-x86_64, which"), "{err}");
        for release in ["6.1.0-57-amd64", "6.1.0-57-arm64"] {
            let dir = tmp.path().join(release);
            fake_tree(&dir, release, "CONFIG_X86=y\n");
            let state = FetchState {
                manifest: format!("k-{release}"),
                release: release.into(),
                version: "1".into(),
                packages: vec![],
                root: dir.clone(),
                build: ".".into(),
                image: "vmlinuz".into(),
                system_map: None,
                debug_vmlinux: None,
                busybox: None,
            };
            let _lock = cache.lock(&state.manifest).unwrap();
            cache.save_state(&state).unwrap();
        }
        let err = HeaderTree::resolve(Some("6.1.0"), &cache, &catalog)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "kernel release '6.1.0' matches several fetched kernels: 6.1.0-57-amd64, 6.1.0-57-arm64; name one of them"
        );
        let tree = HeaderTree::resolve(Some("6.1.0-57"), &cache, &catalog);
        assert!(matches!(tree, Err(TreeError::Ambiguous { .. })));
    }
}
