//! Toolchains: the compiler a tree is built with, and where it runs.
//!
//! A module must be built with the compiler that built its kernel (the
//! tree's flags assume it: gcc-12 rejects 6.12's
//! `-fmin-function-alignment=16`), and the tree's kbuild host tools
//! (`fixdep`, `modpost`, `objtool`) must run, which for 6.12 and 7.2 means a
//! newer glibc than Debian 12's. The *host* toolchain fits when the tree's
//! compiler and `make` are on `PATH`, the host tools run, and `pahole` is
//! there for trees that ship a `vmlinux` (module BTF).
//!
//! Otherwise `stap-prep` prepares a *toolchain root*: a minimal root of the
//! kernel's Debian suite (`mmdebstrap --variant=essential`) holding the
//! manifest's `toolchain.packages`, cached as
//! `CACHE/toolchains/SUITE-COMPILER/root`. Each build then runs with the
//! root's `/usr` (and `/etc/ld.so.cache`) bound over the host's in a private
//! mount namespace of the child process only, so the cache, the build
//! directory and every relocated absolute path stay where they are. As root
//! that namespace is a plain mount namespace; otherwise it sits in a user
//! namespace that maps the caller to root, and a failure says what to run.
//!
//! **Architecture Invariant:** nothing here changes the machine's own mounts
//! or packages; namespaces die with the build's `make`.

use std::ffi::CString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

pub use super::host_fit::{host_fit, which, Misfit};

use super::cache::{lock_file, Cache, FetchedPackage};
use super::manifest::{Catalog, Manifest, Source};
use super::tree::HeaderTree;
use super::PrepError;

/// Where a tree's builds run.
#[derive(Debug, Clone, PartialEq)]
pub enum Toolchain {
    /// The host's own compiler and tools.
    Host {
        /// The compiler command (as the tree names it).
        compiler: String,
    },
    /// A prepared toolchain root.
    Root(ToolchainRoot),
}

/// A prepared toolchain root.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolchainRoot {
    /// `SUITE-COMPILER`, e.g. `trixie-gcc-14`.
    pub name: String,
    /// The root directory (has `usr/`, `etc/`).
    pub dir: PathBuf,
    /// What was installed.
    pub state: RootState,
}

/// What `stap-prep` recorded about a toolchain root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RootState {
    /// Debian suite.
    pub suite: String,
    /// Compiler package, e.g. `gcc-14`.
    pub compiler: String,
    /// The packages asked for, with the versions installed.
    pub packages: Vec<FetchedPackage>,
}

/// Why no toolchain could be chosen for a tree.
#[derive(Debug)]
pub enum ToolchainError {
    /// The manifest has a toolchain root, but it is not prepared.
    NotPrepared {
        release: String,
        manifest: String,
        suite: String,
        why: Misfit,
        cache: PathBuf,
    },
    /// The host does not fit and no manifest says where a toolchain comes from.
    NoManifest { release: String, why: Misfit },
    /// The tree's host tools are another architecture's programs.
    Foreign { release: String, why: Misfit },
    /// The tree lives under a directory the toolchain root replaces.
    UnderUsr { dir: PathBuf },
    /// The cache could not be read.
    Cache(PrepError),
}

impl fmt::Display for ToolchainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolchainError::NotPrepared {
                release,
                manifest,
                suite,
                why,
                cache,
            } => write!(
                f,
                "kernel {release} needs its Debian {suite} toolchain: {why}; prepare it with: \
                 stap-prep --cache-dir {} toolchain {manifest}{}",
                cache.display(),
                if is_root() { "" } else { " (as root, or as this user given a subordinate uid range in /etc/subuid)" }
            ),
            ToolchainError::NoManifest { release, why } => write!(
                f,
                "cannot build for kernel {release}: {why}; install that compiler here, or add a kernels/*.yaml \
                 manifest with a toolchain suite for this release"
            ),
            ToolchainError::Foreign { release, why } => {
                write!(f, "cannot build for kernel {release}: {why}")
            }
            ToolchainError::UnderUsr { dir } => write!(
                f,
                "{} lies under /usr, which the toolchain root replaces during builds; fetch the kernel with \
                 stap-prep fetch and build with -r NAME instead",
                dir.display()
            ),
            ToolchainError::Cache(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ToolchainError {}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Chooses the toolchain for `tree`: the host's when it fits, else the
/// prepared root of the tree's manifest.
// Called once per build; the error carries the whole remedy on purpose.
#[allow(clippy::result_large_err)]
pub fn select(
    tree: &HeaderTree,
    cache: &Cache,
    catalog: &Catalog,
) -> Result<Toolchain, ToolchainError> {
    let why = match host_fit(tree) {
        Ok(()) => {
            return Ok(Toolchain::Host {
                compiler: tree.compiler_command(),
            })
        }
        Err(why @ Misfit::ForeignHostTool { .. }) => {
            return Err(ToolchainError::Foreign {
                release: tree.release.clone(),
                why,
            })
        }
        Err(why) => why,
    };
    let manifest = match &tree.fetched {
        Some(state) => catalog.get(&state.manifest).ok(),
        None => catalog.for_release(&tree.release),
    };
    let Some(manifest) = manifest.filter(|m| m.toolchain.suite.is_some()) else {
        return Err(ToolchainError::NoManifest {
            release: tree.release.clone(),
            why,
        });
    };
    let dir = tree.dir.canonicalize().unwrap_or_else(|_| tree.dir.clone());
    if dir.starts_with("/usr") {
        return Err(ToolchainError::UnderUsr { dir });
    }
    match find_root(cache, manifest).map_err(ToolchainError::Cache)? {
        Some(root) => Ok(Toolchain::Root(root)),
        None => Err(ToolchainError::NotPrepared {
            release: tree.release.clone(),
            manifest: manifest.name.clone(),
            suite: manifest.toolchain.suite.clone().unwrap_or_default(),
            why,
            cache: cache.dir().to_path_buf(),
        }),
    }
}

/// What `stap-prep fetch` does after fetching a tree: nothing when the
/// host's toolchain fits it, else prepares the manifest's toolchain root.
pub fn ensure(
    manifest: &Manifest,
    tree: &HeaderTree,
    cache: &Cache,
    progress: &mut dyn FnMut(&str),
) -> Result<Toolchain, PrepError> {
    match host_fit(tree) {
        Ok(()) => Ok(Toolchain::Host {
            compiler: tree.compiler_command(),
        }),
        // Host tools built here from the tree's sources, in the cache;
        // then the rebuilt tree's toolchain.
        Err(Misfit::ForeignHostTool { .. }) => {
            let rebuilt = super::host_tools::for_host(tree, cache, progress)
                .map_err(|e| PrepError::Unsupported(format!("{}: {e}", manifest.name)))?;
            ensure(manifest, &rebuilt, cache, progress)
        }
        Err(why) => {
            if manifest.toolchain.suite.is_none() {
                return Err(PrepError::Unsupported(format!(
                    "{}: {why}, and the manifest names no toolchain suite to fetch one from",
                    manifest.name
                )));
            }
            progress(&format!(
                "{}: the host toolchain does not fit: {why}",
                manifest.name
            ));
            prepare(manifest, cache, progress).map(Toolchain::Root)
        }
    }
}

/// `SUITE-COMPILER`, the directory name of a manifest's toolchain root;
/// a cross compiler's root is named with its prefix
/// (`trixie-aarch64-linux-gnu-gcc-14`), apart from the native one.
pub fn root_name(manifest: &Manifest) -> Option<String> {
    let suite = manifest.toolchain.suite.as_ref()?;
    let prefix = super::arch::cross_compile(manifest.arch).unwrap_or_default();
    Some(format!("{suite}-{prefix}{}", manifest.toolchain.compiler))
}

/// The manifest's prepared toolchain root, if it holds every package the
/// manifest asks for.
pub fn find_root(cache: &Cache, manifest: &Manifest) -> Result<Option<ToolchainRoot>, PrepError> {
    let Some(name) = root_name(manifest) else {
        return Ok(None);
    };
    let base = cache.toolchains_dir().join(&name);
    let path = base.join("state.yaml");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(PrepError::Io { path, error }),
    };
    let state: RootState = serde_yaml::from_str(&text).map_err(|e| PrepError::Corrupt {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let complete = manifest
        .toolchain
        .packages
        .iter()
        .all(|p| state.packages.iter().any(|q| &q.name == p));
    let dir = base.join("root");
    if !complete || !dir.join("usr/bin").is_dir() {
        return Ok(None);
    }
    Ok(Some(ToolchainRoot { name, dir, state }))
}

/// Prepares (or finds) the manifest's toolchain root with mmdebstrap.
pub fn prepare(
    manifest: &Manifest,
    cache: &Cache,
    progress: &mut dyn FnMut(&str),
) -> Result<ToolchainRoot, PrepError> {
    let (Some(name), Some(suite)) = (root_name(manifest), manifest.toolchain.suite.as_ref()) else {
        return Err(PrepError::Unsupported(format!(
            "{}: the manifest names no toolchain suite; install {} on this host",
            manifest.name, manifest.toolchain.compiler
        )));
    };
    let base = cache.toolchains_dir().join(&name);
    let _lock = lock_file(&base.join(".lock"))?;
    if let Some(root) = find_root(cache, manifest)? {
        return Ok(root);
    }
    if which("mmdebstrap").is_none() {
        return Err(PrepError::ToolMissing {
            tool: "mmdebstrap".into(),
            why: "stap-prep builds toolchain roots with it",
        });
    }
    let staging = base.join("root.partial");
    remove_dir_if_exists(&staging)?;
    // The manifest's archives, where the configuration says they are.
    let archives = super::archives::Archives::load()?;
    // A Debian kernel's root comes from its own repositories; another
    // distribution's (Ubuntu's, RHEL-family and Fedora's) from the Debian
    // archive's `suite`.
    let mirrors: Vec<String> =
        if let (Source::Apt(apt), "debian") = (&manifest.source, manifest.distro.as_str()) {
            super::apt::source_lines(apt, &archives, false)?
                .into_iter()
                .map(|line| format!("deb {line}"))
                .collect()
        } else {
            let debian = archives.locate("debian")?;
            vec![format!("deb {} {suite} main", debian.apt_prefix())]
        };
    let packages = &manifest.toolchain.packages;
    progress(&format!(
        "{}: preparing the {name} toolchain root ({})",
        manifest.name,
        packages.join(", ")
    ));
    let mut cmd = Command::new("mmdebstrap");
    cmd.arg("--variant=essential")
        .arg(if is_root() {
            "--mode=root"
        } else {
            "--mode=unshare"
        })
        .arg(format!("--architectures={}", super::arch::host_debian()))
        .arg(format!("--include={}", packages.join(",")))
        // Builds lay the root's /usr over the host's: the root must be merged-/usr
        // even for suites (bullseye) that were not by default.
        .arg(concat!(
            "--setup-hook=for d in bin sbin lib lib32 lib64 libx32; do ",
            "mkdir -p \"$1/usr/$d\"; ln -s \"usr/$d\" \"$1/$d\"; done"
        ));
    if !host_checks_valid_until() {
        cmd.arg("--aptopt=Acquire::Check-Valid-Until \"false\"");
    }
    cmd.arg(suite)
        .arg(&staging)
        .args(&mirrors)
        .env("LC_ALL", "C");
    let out = cmd.output().map_err(|error| PrepError::Io {
        path: PathBuf::from("mmdebstrap"),
        error,
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.starts_with("E: ") && !l.contains("mmdebstrap failed"))
            .unwrap_or("mmdebstrap failed")
            .trim_start_matches("E: ");
        let _ = std::fs::remove_dir_all(&staging);
        let hint = if is_root() {
            String::new()
        } else {
            format!(
                "; run as root: stap-prep --cache-dir {} toolchain {}, or give this user a subordinate uid \
                 range in /etc/subuid",
                cache.dir().display(),
                manifest.name
            )
        };
        return Err(PrepError::Unsupported(format!(
            "{}: mmdebstrap could not build the {name} toolchain root: {line}{hint}",
            manifest.name
        )));
    }
    let versions = installed_versions(&staging, packages)?;
    let dir = base.join("root");
    remove_dir_if_exists(&dir)?;
    std::fs::rename(&staging, &dir).map_err(|error| PrepError::Io {
        path: dir.clone(),
        error,
    })?;
    let state = RootState {
        suite: suite.clone(),
        compiler: manifest.compiler_package(),
        packages: versions,
    };
    let path = base.join("state.yaml");
    let text = serde_yaml::to_string(&state).expect("RootState serializes");
    std::fs::write(&path, text).map_err(|error| PrepError::Io { path, error })?;
    Ok(ToolchainRoot { name, dir, state })
}

/// The versions of `packages` installed in `root`.
fn installed_versions(root: &Path, packages: &[String]) -> Result<Vec<FetchedPackage>, PrepError> {
    let out = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${Package} ${Version}\\n"])
        .args(packages)
        .output()
        .map_err(|error| PrepError::Io {
            path: PathBuf::from("dpkg-query"),
            error,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut found = Vec::new();
    for p in packages {
        let version = text
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(n, _)| n.split(':').next() == Some(p.as_str()))
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| PrepError::MissingPackage { package: p.clone() })?;
        found.push(FetchedPackage {
            name: p.clone(),
            version,
        });
    }
    Ok(found)
}

/// Whether the host's apt checks `Valid-Until` (snapshot archives turn it
/// off; the root is fetched with the same policy).
fn host_checks_valid_until() -> bool {
    Command::new("apt-config")
        .args(["dump", "Acquire::Check-Valid-Until"])
        .output()
        .map(|o| !String::from_utf8_lossy(&o.stdout).contains("\"false\""))
        .unwrap_or(true)
}

fn remove_dir_if_exists(dir: &Path) -> Result<(), PrepError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PrepError::Io {
            path: dir.to_path_buf(),
            error: e,
        }),
        _ => Ok(()),
    }
}

impl Toolchain {
    /// A command running `program` (`make`) with this toolchain.
    pub fn command(&self, program: &str) -> Command {
        match self {
            Toolchain::Host { .. } => Command::new(program),
            Toolchain::Root(root) => root.command(program),
        }
    }

    /// One line explaining why `make` could not be started with this
    /// toolchain, and what to do.
    pub fn spawn_error(&self, error: &std::io::Error) -> String {
        match self {
            Toolchain::Host { .. } => {
                format!("cannot run make: {error}; install it (apt-get install make)")
            }
            Toolchain::Root(root) => format!(
                "cannot enter the {} toolchain root ({error}): builds need a private mount namespace; run as \
                 root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)",
                root.name
            ),
        }
    }

    /// What identifies this toolchain in cache keys.
    pub fn identity(&self) -> String {
        match self {
            Toolchain::Host { compiler } => {
                let meta = which(compiler).and_then(|p| {
                    let m = std::fs::metadata(&p).ok()?;
                    let mtime = m
                        .modified()
                        .ok()?
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?;
                    Some(format!("{} {} {}", p.display(), m.len(), mtime.as_secs()))
                });
                format!("host {compiler} {}", meta.unwrap_or_default())
            }
            Toolchain::Root(root) => format!(
                "root {} {}",
                root.dir.display(),
                serde_yaml::to_string(&root.state).unwrap_or_default()
            ),
        }
    }

    /// One line for `-v` and `stap-prep`.
    pub fn describe(&self) -> String {
        match self {
            Toolchain::Host { compiler } => format!("host {compiler}"),
            Toolchain::Root(root) => {
                let version = root
                    .state
                    .packages
                    .iter()
                    .find(|p| p.name == root.state.compiler)
                    .map(|p| p.version.as_str())
                    .unwrap_or("?");
                format!(
                    "{} {version} in the {} root {}",
                    root.state.compiler,
                    root.state.suite,
                    root.dir.display()
                )
            }
        }
    }
}

impl ToolchainRoot {
    /// The bind mounts a build needs: the root's `/usr` over the host's, the
    /// top-level directories that are real directories on the host, and the
    /// dynamic linker's cache.
    pub fn binds(&self) -> Vec<(PathBuf, PathBuf)> {
        let mut binds = vec![(self.dir.join("usr"), PathBuf::from("/usr"))];
        for name in ["bin", "sbin", "lib", "lib32", "lib64", "libx32"] {
            let host = Path::new("/").join(name);
            let is_dir = std::fs::symlink_metadata(&host)
                .map(|m| m.is_dir())
                .unwrap_or(false);
            if let (true, Ok(source)) = (is_dir, self.dir.join(name).canonicalize()) {
                binds.push((source, host));
            }
        }
        let cache = self.dir.join("etc/ld.so.cache");
        if cache.is_file() && Path::new("/etc/ld.so.cache").is_file() {
            binds.push((cache, PathBuf::from("/etc/ld.so.cache")));
        }
        binds
    }

    /// A command running the root's `/usr/bin/PROGRAM` in a private mount
    /// namespace where the root's `/usr` replaces the host's.
    pub fn command(&self, program: &str) -> Command {
        let binds: Vec<(CString, CString)> = self
            .binds()
            .into_iter()
            .map(|(s, d)| (cstring(&s), cstring(&d)))
            .collect();
        let ids = if is_root() {
            None
        } else {
            // SAFETY: getuid/getgid have no preconditions.
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            Some((format!("0 {uid} 1\n"), format!("0 {gid} 1\n")))
        };
        let mut cmd = Command::new(Path::new("/usr/bin").join(program));
        // SAFETY: the closure only makes system calls on data prepared
        // before the fork; it allocates nothing.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                enter_namespace(&binds, ids.as_ref())
            });
        }
        cmd
    }
}

fn cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default()
}

/// Runs in the child between fork and exec: a new mount namespace (in a
/// user namespace mapping the caller to root when not root), then the binds.
fn enter_namespace(
    binds: &[(CString, CString)],
    ids: Option<&(String, String)>,
) -> std::io::Result<()> {
    let err = std::io::Error::last_os_error;
    let flags = libc::CLONE_NEWNS
        | if ids.is_some() {
            libc::CLONE_NEWUSER
        } else {
            0
        };
    // SAFETY: plain system calls on NUL-terminated strings that outlive them.
    unsafe {
        if libc::unshare(flags) != 0 {
            return Err(err());
        }
        if let Some((uid_map, gid_map)) = ids {
            write_proc(c"/proc/self/setgroups", b"deny")?;
            write_proc(c"/proc/self/uid_map", uid_map.as_bytes())?;
            write_proc(c"/proc/self/gid_map", gid_map.as_bytes())?;
        }
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return Err(err());
        }
        for (source, target) in binds {
            if libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ) != 0
            {
                return Err(err());
            }
        }
    }
    Ok(())
}

unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> std::io::Result<()> {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = libc::write(fd, data.as_ptr().cast(), data.len());
    libc::close(fd);
    if n != data.len() as isize {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tree::tests::fake_tree;

    #[test]
    fn host_fits_when_the_compiler_is_here() {
        let tmp = tempfile::tempdir().unwrap();
        fake_tree(
            tmp.path(),
            "9.9.0-1-amd64",
            "CONFIG_CC_VERSION_TEXT=\"stapkit-no-such-gcc-99 (x) 99\"\nCONFIG_X86_64=y\n",
        );
        let tree = HeaderTree::open(tmp.path()).unwrap();
        let err = host_fit(&tree).unwrap_err();
        assert_eq!(
            err.to_string(),
            "'stapkit-no-such-gcc-99' is not installed on this host (the kernel was built with it)"
        );
        let cache = Cache::locate(Some(tmp.path()));
        let catalog = Catalog::builtin().unwrap();
        let err = select(&tree, &cache, &catalog).unwrap_err().to_string();
        assert!(
            err.starts_with("cannot build for kernel 9.9.0-1-amd64: 'stapkit-no-such-gcc-99'"),
            "{err}"
        );
    }

    #[test]
    fn a_manifest_tree_without_its_root_says_what_to_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tree");
        fake_tree(
            &dir,
            "6.12.117+deb13-amd64",
            "CONFIG_CC_VERSION_TEXT=\"stapkit-no-such-gcc-14 (Debian 14.2.0-19) 14.2.0\"\nCONFIG_X86_64=y\n",
        );
        let tree = HeaderTree::open(&dir).unwrap();
        let cache = Cache::locate(Some(tmp.path()));
        let catalog = Catalog::builtin().unwrap();
        let err = select(&tree, &cache, &catalog).unwrap_err().to_string();
        assert!(
            err.starts_with("kernel 6.12.117+deb13-amd64 needs its Debian trixie toolchain: 'stapkit-no-such-gcc-14' is not installed"),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "stap-prep --cache-dir {} toolchain debian-6.12-amd64",
                tmp.path().display()
            )),
            "{err}"
        );
    }

    #[test]
    fn prepared_roots_are_found_only_when_complete() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::locate(Some(tmp.path()));
        let catalog = Catalog::builtin().unwrap();
        let manifest = catalog.get("debian-6.12-amd64").unwrap();
        assert_eq!(root_name(manifest).as_deref(), Some("trixie-gcc-14"));
        assert_eq!(find_root(&cache, manifest).unwrap(), None);
        let base = cache.toolchains_dir().join("trixie-gcc-14");
        std::fs::create_dir_all(base.join("root/usr/bin")).unwrap();
        let mut state = RootState {
            suite: "trixie".into(),
            compiler: "gcc-14".into(),
            packages: vec![FetchedPackage {
                name: "gcc-14".into(),
                version: "14.2.0-19".into(),
            }],
        };
        std::fs::write(
            base.join("state.yaml"),
            serde_yaml::to_string(&state).unwrap(),
        )
        .unwrap();
        assert_eq!(
            find_root(&cache, manifest).unwrap(),
            None,
            "make and the rest are missing"
        );
        state.packages = manifest
            .toolchain
            .packages
            .iter()
            .map(|p| FetchedPackage {
                name: p.clone(),
                version: "1".into(),
            })
            .collect();
        std::fs::write(
            base.join("state.yaml"),
            serde_yaml::to_string(&state).unwrap(),
        )
        .unwrap();
        let root = find_root(&cache, manifest).unwrap().unwrap();
        assert_eq!(root.dir, base.join("root"));
        let tc = Toolchain::Root(root.clone());
        assert!(
            tc.describe().starts_with("gcc-14 1 in the trixie root "),
            "{}",
            tc.describe()
        );
        // The root's /usr always replaces the host's; on a merged-/usr host nothing else does.
        assert_eq!(
            root.binds()[0],
            (base.join("root/usr"), PathBuf::from("/usr"))
        );
    }
}
