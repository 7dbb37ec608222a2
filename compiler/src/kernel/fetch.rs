//! `stap-prep fetch`: resolve a manifest's series to the newest packages in
//! its archive, download them, unpack the parts a build needs, relocate.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::apt::PrivateApt;
use super::archives::Archives;
use super::cache::{Cache, FetchState, FetchedPackage};
use super::lock::{sha256_file, LockedKernel};
use super::manifest::{Manifest, Source};
use super::{relocate, resolve, PrepError};

/// How to fetch.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Also fetch the debug vmlinux (large).
    pub debug: bool,
    /// Re-resolve the newest version even if a tree is already cached.
    pub refresh: bool,
    /// Where the archives are; `None` reads the configuration
    /// (`Archives::load`).
    pub archives: Option<Archives>,
    /// Fetch exactly these versions (`--locked`): the kernel's entry of the
    /// lock file, and the file's path for messages.
    pub locked: Option<(LockedKernel, PathBuf)>,
}

impl FetchOptions {
    /// Whether the cached `state` serves this fetch as it is: not asked to
    /// refresh, with the debug vmlinux when asked for, the busybox when
    /// `needs_busybox`, the locked versions when locked, and a build tree.
    pub fn cached_fits(&self, state: &FetchState, needs_busybox: bool) -> bool {
        !self.refresh
            && (state.debug_vmlinux.is_some() || !self.debug)
            && (state.busybox.is_some() || !needs_busybox)
            && self
                .locked
                .as_ref()
                .is_none_or(|(l, _)| matches_lock(state, l))
            && state.build_dir().join("Makefile").is_file()
    }

    /// The archives given, else the configured ones.
    pub fn archives(&self) -> Result<Archives, PrepError> {
        match &self.archives {
            Some(a) => Ok(a.clone()),
            None => Ok(Archives::load()?),
        }
    }
}

/// Whether the cached `state` holds exactly the locked versions.
pub fn matches_lock(state: &FetchState, locked: &LockedKernel) -> bool {
    state.release == locked.release
        && state.packages.iter().all(|p| {
            locked
                .package(&p.name)
                .is_some_and(|l| l.version == p.version)
        })
}

/// The result of a fetch.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// The cache already had this kernel; nothing was downloaded.
    AlreadyCached(FetchState),
    /// Packages were downloaded and unpacked.
    New(FetchState),
}

impl Fetched {
    /// The kernel's recorded state either way.
    pub fn state(&self) -> &FetchState {
        match self {
            Fetched::AlreadyCached(s) | Fetched::New(s) => s,
        }
    }
}

/// The lock entry `stap-prep update` writes for `manifest`: the archive's
/// newest release, or (`from_cache`) the release the cache holds.
pub fn update_entry(
    manifest: &Manifest,
    cache: &Cache,
    archives: &Archives,
    from_cache: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<LockedKernel, PrepError> {
    let source = match &manifest.source {
        Source::Apt(source) => source,
        Source::Rpm(rpm) => {
            if from_cache {
                return Err(PrepError::Unsupported(format!(
                    "{}: --from-cache locks Debian-style kernels only; lock the repository's newest with: \
                     stap-prep update {}",
                    manifest.name, manifest.name
                )));
            }
            return super::rpm_repo::lock_entry(manifest, rpm, cache, archives, progress);
        }
    };
    let _lock = cache.lock(&manifest.name)?;
    // The debug package is locked too when its archive is configured.
    let with_debug = source
        .repositories
        .iter()
        .filter(|r| r.debug_only)
        .all(|r| archives.locate(&r.archive).is_ok());
    let apt = PrivateApt::new(&cache.apt_dir(&manifest.name), source, archives, with_debug)?;
    if from_cache {
        let state = cache.state(&manifest.name)?.ok_or_else(|| {
            PrepError::Unsupported(format!(
                "{0}: not fetched, so there is nothing cached to lock; fetch it first: stap-prep fetch {0}",
                manifest.name
            ))
        })?;
        return resolve::cached_entry(&apt, source, &state, progress);
    }
    progress(&format!("{}: reading package lists", manifest.name));
    apt.update()?;
    Ok(resolve::newest(&apt, source, &manifest.name)?.locked())
}

/// The lock entry for exactly `release` of `manifest`'s series (`stap-prep
/// update --release`): how a fleet's own point release (`6.8.0-31-generic`,
/// not the archive's newest) is fetched, with `stap-prep fetch --locked`.
pub fn update_entry_at(
    manifest: &Manifest,
    cache: &Cache,
    archives: &Archives,
    release: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<LockedKernel, PrepError> {
    let mut exact = manifest.clone();
    let pattern = match &mut exact.source {
        Source::Apt(a) => &mut a.release,
        Source::Rpm(r) => &mut r.release,
    };
    if !super::manifest::release_matches(pattern, release) {
        return Err(PrepError::Unsupported(format!(
            "{}: release {release} is not of its series ({pattern}); name a manifest whose release \
             pattern it matches (stap-prep list --available)",
            manifest.name
        )));
    }
    *pattern = release.to_string();
    update_entry(&exact, cache, archives, false, progress)
}

/// Fetches `manifest` into `cache`, reporting progress lines to `progress`.
pub fn fetch(
    manifest: &Manifest,
    cache: &Cache,
    options: &FetchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Fetched, PrepError> {
    let apt_source = match &manifest.source {
        Source::Apt(apt) => apt,
        Source::Rpm(rpm) => return super::rpm_repo::fetch(manifest, rpm, cache, options, progress),
    };
    let _lock = cache.lock(&manifest.name)?;
    if let Some(state) = cache.state(&manifest.name)? {
        if options.cached_fits(&state, apt_source.busybox.is_some()) {
            return Ok(Fetched::AlreadyCached(state));
        }
    }

    let archives = options.archives()?;
    let apt = PrivateApt::new(
        &cache.apt_dir(&manifest.name),
        apt_source,
        &archives,
        options.debug,
    )?;
    progress(&format!("{}: reading package lists", manifest.name));
    apt.update()?;
    let plan = match &options.locked {
        Some((locked, path)) => {
            let plan = resolve::locked(&apt, apt_source, &manifest.name, locked, path)?;
            progress(&format!(
                "{}: locked release is {} ({})",
                manifest.name, plan.release, plan.version
            ));
            plan
        }
        None => {
            let plan = resolve::newest(&apt, apt_source, &manifest.name)?;
            progress(&format!(
                "{}: newest release is {} ({})",
                manifest.name, plan.release, plan.version
            ));
            plan
        }
    };
    let release = plan.release.clone();
    let headers_version = plan.version.clone();
    let image = plan.image.clone();
    let mut packages = plan.headers.clone();
    packages.push(image.clone());
    let debug = match (options.debug, apt_source.debug_package(&release)) {
        (true, Some(name)) => Some(
            plan.debug
                .clone()
                .ok_or(PrepError::MissingPackage { package: name })?,
        ),
        (true, None) => {
            return Err(PrepError::Unsupported(format!(
                "{}: the manifest names no debug package",
                manifest.name
            )))
        }
        (false, _) => None,
    };
    packages.extend(debug.clone());
    let busybox = plan.busybox.clone();
    packages.extend(busybox.clone());

    let release_dir = cache.kernel_dir(&manifest.name).join(&release);
    let staging = cache
        .kernel_dir(&manifest.name)
        .join(format!("{release}.partial"));
    remove_dir_if_exists(&staging)?;
    let debs = staging.join("debs");
    let root = staging.join("root");
    for dir in [&debs, &root] {
        std::fs::create_dir_all(dir).map_err(|error| PrepError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    for pkg in &packages {
        progress(&format!(
            "{}: downloading {} {} ({})",
            manifest.name,
            pkg.name,
            pkg.version,
            human_size(pkg.size)
        ));
        let deb = apt.download(pkg, &debs)?;
        if let Some((_, lock_path)) = &options.locked {
            let sum = sha256_file(&deb).map_err(|error| PrepError::Io {
                path: deb.clone(),
                error,
            })?;
            if sum != pkg.sha256 {
                return Err(PrepError::LockMismatch {
                    manifest: manifest.name.clone(),
                    package: format!("{} {}", pkg.qualified_name(), pkg.version),
                    locked: pkg.sha256.clone(),
                    found: sum,
                    lock: lock_path.clone(),
                });
            }
        }
        let filter = if pkg.name == image.name {
            Filter::Image
        } else if Some(&pkg.name) == debug.as_ref().map(|d| &d.name) {
            Filter::Debug
        } else if Some(&pkg.name) == busybox.as_ref().map(|b| &b.name) {
            Filter::Busybox
        } else {
            Filter::All
        };
        unpack(&deb, &root, filter)?;
        std::fs::remove_file(&deb).map_err(|error| PrepError::Io {
            path: deb.clone(),
            error,
        })?;
    }
    remove_dir_if_exists(&debs)?;

    remove_dir_if_exists(&release_dir)?;
    std::fs::rename(&staging, &release_dir).map_err(|error| PrepError::Io {
        path: release_dir.clone(),
        error,
    })?;
    let root = release_dir.join("root");
    progress(&format!(
        "{}: relocating the tree under {}",
        manifest.name,
        root.display()
    ));
    relocate::relocate(&root)?;

    let state = FetchState {
        manifest: manifest.name.clone(),
        release: release.clone(),
        version: headers_version,
        packages: packages
            .iter()
            .map(|p| FetchedPackage {
                name: p.qualified_name(),
                version: p.version.clone(),
            })
            .collect(),
        build: find_build_dir(&root, &release)?,
        image: find_first(&root, &image_candidates(&release)).ok_or_else(|| PrepError::Layout {
            what: format!("no kernel image for {release} in {}", image.name),
        })?,
        system_map: find_first(
            &root,
            &[
                format!("usr/lib/debug/boot/System.map-{release}"),
                format!("boot/System.map-{release}"),
                format!("usr/lib/modules/{release}/System.map"),
            ],
        ),
        debug_vmlinux: match debug {
            Some(ref d) => Some(find_first(&root, &debug_candidates(&release)).ok_or_else(
                || PrepError::Layout {
                    what: format!("no debug vmlinux for {release} in {}", d.name),
                },
            )?),
            None => None,
        },
        busybox: match busybox {
            Some(ref b) => Some(
                find_first(
                    &root,
                    &["bin/busybox".to_string(), "usr/bin/busybox".to_string()],
                )
                .ok_or_else(|| PrepError::Layout {
                    what: format!("no bin/busybox in {}", b.name),
                })?,
            ),
            None => None,
        },
        root,
    };
    cache.save_state(&state)?;
    remove_other_releases(cache, &manifest.name, &release)?;
    Ok(Fetched::New(state))
}

/// Which files of a package are unpacked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Filter {
    /// Everything (header and kbuild packages).
    All,
    /// Only the image, System.map and config (not the thousands of modules).
    Image,
    /// Only the debug vmlinux.
    Debug,
    /// Only the busybox executable.
    Busybox,
    /// Only debug files (`usr/lib/debug/`: a `-dbgsym` package's).
    DebugFiles,
}

fn keep(filter: Filter, path: &str) -> bool {
    let path = path.trim_start_matches("./");
    match filter {
        Filter::All => true,
        Filter::Image => {
            path.starts_with("boot/")
                || (path.starts_with("usr/lib/modules/") || path.starts_with("lib/modules/"))
                    && [
                        "/vmlinuz",
                        "/vmlinuz.unsigned",
                        "/System.map",
                        "/config",
                        "/modules.builtin",
                    ]
                    .iter()
                    .any(|s| path.ends_with(s))
        }
        // The -dbg package also carries the real System.map (the image
        // package's is a one-line placeholder on Debian).
        Filter::Debug => {
            path.ends_with("/vmlinux")
                || path.contains("/boot/vmlinux-")
                || path.contains("/boot/System.map-")
        }
        Filter::Busybox => path == "bin/busybox" || path == "usr/bin/busybox",
        Filter::DebugFiles => path.starts_with("usr/lib/debug/"),
    }
}

/// Unpacks the parts of `deb` that `filter` keeps into `root`.
fn unpack(deb: &Path, root: &Path, filter: Filter) -> Result<(), PrepError> {
    read_deb_files(deb, |files| unpack_tar(files, root, filter, deb))
}

/// Runs `read` on the tar stream of `deb`'s files (`dpkg-deb
/// --fsys-tarfile`); its error comes first, then dpkg-deb's own.
pub fn read_deb_files<T>(
    deb: &Path,
    read: impl FnOnce(std::process::ChildStdout) -> Result<T, PrepError>,
) -> Result<T, PrepError> {
    let mut child = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => PrepError::ToolMissing {
                tool: "dpkg-deb".into(),
                why: "stap-prep unpacks Debian packages with it",
            },
            _ => PrepError::Io {
                path: deb.to_path_buf(),
                error,
            },
        })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let result = read(stdout);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|error| PrepError::Io {
        path: deb.to_path_buf(),
        error,
    })?;
    let value = result?;
    if !status.success() {
        return Err(PrepError::Corrupt {
            path: deb.to_path_buf(),
            message: stderr.trim().to_string(),
        });
    }
    Ok(value)
}

/// Unpacks the members of the tar `stream` (a package's files, read from
/// `deb`, which errors name) that `filter` keeps into `root`; the tar
/// crate's `unpack_in` keeps every member inside `root`.
pub fn unpack_tar(
    stream: impl Read,
    root: &Path,
    filter: Filter,
    deb: &Path,
) -> Result<(), PrepError> {
    let corrupt = |e: std::io::Error| PrepError::Corrupt {
        path: deb.to_path_buf(),
        message: e.to_string(),
    };
    let mut archive = tar::Archive::new(stream);
    archive.set_preserve_permissions(true);
    archive.set_unpack_xattrs(false);
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let path = entry
            .path()
            .map_err(corrupt)?
            .to_string_lossy()
            .into_owned();
        let is_dir = entry.header().entry_type().is_dir();
        if is_dir || !keep(filter, &path) {
            continue;
        }
        entry.unpack_in(root).map_err(corrupt)?;
    }
    Ok(())
}

/// The flavour header tree: the `usr/src/linux-headers-RELEASE` directory.
fn find_build_dir(root: &Path, release: &str) -> Result<PathBuf, PrepError> {
    let rel = PathBuf::from(format!("usr/src/linux-headers-{release}"));
    if root.join(&rel).join("Makefile").is_file() {
        Ok(rel)
    } else {
        Err(PrepError::Layout {
            what: format!("the header packages have no {}/Makefile", rel.display()),
        })
    }
}

fn image_candidates(release: &str) -> Vec<String> {
    vec![
        format!("boot/vmlinuz-{release}"),
        format!("usr/lib/modules/{release}/vmlinuz"),
        // 7.x: linux-binary-unsigned-* ships the image under this name.
        format!("usr/lib/modules/{release}/vmlinuz.unsigned"),
        format!("lib/modules/{release}/vmlinuz"),
        format!("boot/vmlinux-{release}"),
    ]
}

fn debug_candidates(release: &str) -> Vec<String> {
    vec![
        format!("usr/lib/debug/boot/vmlinux-{release}"),
        format!("usr/lib/debug/lib/modules/{release}/vmlinux"),
        format!("usr/lib/debug/usr/lib/modules/{release}/vmlinux"),
    ]
}

fn find_first(root: &Path, candidates: &[String]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| root.join(p).is_file())
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

/// Drops trees of releases this kernel no longer resolves to.
fn remove_other_releases(cache: &Cache, name: &str, keep: &str) -> Result<(), PrepError> {
    let dir = cache.kernel_dir(name);
    let entries = std::fs::read_dir(&dir).map_err(|error| PrepError::Io {
        path: dir.clone(),
        error,
    })?;
    for entry in entries.filter_map(|e| e.ok()) {
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && entry.file_name() != keep {
            remove_dir_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{} kB", bytes.div_ceil(1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_filter_keeps_boot_files_not_modules() {
        assert!(keep(Filter::Image, "./boot/vmlinuz-6.1.0-56-amd64"));
        assert!(keep(
            Filter::Image,
            "./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz"
        ));
        assert!(keep(
            Filter::Image,
            "./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz.unsigned"
        ));
        assert!(!keep(
            Filter::Image,
            "./lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko"
        ));
        assert!(keep(
            Filter::Debug,
            "./usr/lib/debug/boot/vmlinux-6.1.0-56-amd64"
        ));
        assert!(!keep(
            Filter::Debug,
            "./usr/lib/debug/lib/modules/6.1.0-56-amd64/kernel/fs/ext4/ext4.ko"
        ));
        assert!(keep(
            Filter::Debug,
            "./usr/lib/debug/boot/System.map-6.1.0-56-amd64"
        ));
        assert!(keep(
            Filter::All,
            "./usr/src/linux-headers-6.1.0-56-amd64/Makefile"
        ));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(1841552), "1.8 MB");
        assert_eq!(human_size(1000), "1 kB");
    }
}
