//! RPM-family kernels (CentOS Stream, RHEL, AlmaLinux, Rocky, Fedora):
//! locate the manifest's repositories (`kernel::archives`), read their
//! metadata (`rpm_metadata`), pick the newest (or the locked) release of
//! the series, download the packages with apt's own acquire code
//! (`apt-helper download-file`: http, https and the machine's apt proxy
//! settings), check their SHA-256 against the metadata, unpack them
//! (`rpm_unpack`) and relocate `/usr/src/kernels/REL`; and the lock entry
//! of the newest release (`stap-prep update`).
//!
//! No root of these distributions can be had here, so modules are built
//! with a Debian gcc; `stap-prep` says which, beside the kernel's own
//! (`kernel::compiler_note`), as for every kernel whose compiler is not here.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::archives::Archives;
use super::cache::{Cache, FetchState, FetchedPackage};
use super::fetch::{FetchOptions, Fetched};
use super::lock::{sha256_file, LockedKernel, LockedPackage};
use super::manifest::{release_matches, Manifest, RpmSource};
use super::rpm_metadata::{newest, parse_primary, primary_href, RpmPackage};
use super::rpm_unpack::{decompress, unpack};
use super::{relocate, PrepError};

// The package readers the fuzz tests drive, where they have always been.
pub use super::rpm_unpack::{parse_package, unpack_package, Keep};

/// Downloads `uri` to `dest` with apt's acquire code (or copies a
/// `file:` URI), checking `sha256` when given.
pub fn download(uri: &str, dest: &Path, sha256: Option<&str>) -> Result<(), PrepError> {
    let io = |error| PrepError::Io {
        path: dest.to_path_buf(),
        error,
    };
    if let Some(path) = uri.strip_prefix("file://") {
        std::fs::copy(path, dest).map_err(io)?;
    } else {
        let out = Command::new("/usr/lib/apt/apt-helper")
            .args(["-qq", "download-file", uri])
            .arg(dest)
            .env("LC_ALL", "C")
            .output()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => PrepError::ToolMissing {
                    tool: "apt-helper".into(),
                    why: "stap-prep downloads RPM repositories' files with apt's acquire code",
                },
                _ => io(error),
            })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line = stderr
                .lines()
                .find(|l| l.starts_with("E:"))
                .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or("no message")
                .trim_start_matches("E:")
                .trim();
            return Err(PrepError::Apt {
                command: format!("apt-helper download-file {uri}"),
                message: line.to_string(),
            });
        }
    }
    if let Some(want) = sha256 {
        let got = sha256_file(dest).map_err(io)?;
        if got != want {
            return Err(PrepError::Corrupt {
                path: dest.to_path_buf(),
                message: format!(
                    "SHA-256 {got}, but the repository metadata says {want}; the mirror may be \
                     mid-sync: try again later"
                ),
            });
        }
    }
    Ok(())
}

/// Fetches an RPM-family kernel into `cache`.
pub fn fetch(
    manifest: &Manifest,
    source: &RpmSource,
    cache: &Cache,
    options: &FetchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Fetched, PrepError> {
    let name = &manifest.name;
    let _lock = cache.lock(name)?;
    if let Some(state) = cache.state(name)? {
        if options.cached_fits(&state, false) {
            return Ok(Fetched::AlreadyCached(state));
        }
    }
    let archives = options.archives()?;
    let debug = match options.debug {
        true => DebugRepos::Required,
        false => DebugRepos::Skip,
    };
    let all = read_metadata(name, source, cache, &archives, debug, progress)?;
    let header_name = source.headers.first().ok_or_else(|| PrepError::Layout {
        what: format!("{name}: the manifest lists no header packages"),
    })?;
    let candidates: Vec<RpmPackage> = all
        .iter()
        .filter(|p| &p.name == header_name && release_matches(&source.release, &p.kernel_release()))
        .filter(|p| {
            options
                .locked
                .as_ref()
                .is_none_or(|(l, _)| l.release == p.kernel_release())
        })
        .cloned()
        .collect();
    let chosen = match (newest(&candidates), &options.locked) {
        (Some(p), _) => p.clone(),
        (None, Some((locked, path))) => {
            return Err(PrepError::LockedGone {
                manifest: name.clone(),
                package: header_name.clone(),
                version: locked.release.clone(),
                lock: path.clone(),
            })
        }
        (None, None) => {
            return Err(PrepError::NoRelease {
                manifest: name.clone(),
                pattern: format!("{header_name} of release {}", source.release),
            })
        }
    };
    let release = chosen.kernel_release();
    progress(&format!(
        "{name}: {} release is {release}",
        if options.locked.is_some() {
            "locked"
        } else {
            "newest"
        }
    ));
    let same = |n: &str| {
        all.iter()
            .find(|p| p.name == n && p.evr() == chosen.evr() && p.arch == chosen.arch)
            .cloned()
            .ok_or_else(|| PrepError::MissingPackage {
                package: format!("{n}-{}", chosen.full_version()),
            })
    };
    let mut wanted: Vec<(RpmPackage, Keep)> = Vec::new();
    for h in &source.headers {
        wanted.push((same(h)?, Keep::All));
    }
    wanted.push((same(&source.image)?, Keep::Image));
    if options.debug {
        let debug = source.debug.as_ref().ok_or_else(|| {
            PrepError::Unsupported(format!("{name}: the manifest names no debug package"))
        })?;
        wanted.push((same(debug)?, Keep::Debug));
    }
    if let Some((locked, path)) = &options.locked {
        for (p, _) in &wanted {
            check_locked(name, locked, path, p)?;
        }
    }

    let kernel_dir = cache.kernel_dir(name);
    let staging = kernel_dir.join(format!("{release}.partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let rpms = staging.join("rpms");
    let root = staging.join("root");
    for dir in [&rpms, &root] {
        std::fs::create_dir_all(dir).map_err(|error| PrepError::Io {
            path: dir.clone(),
            error,
        })?;
    }
    for (p, filter) in &wanted {
        progress(&format!(
            "{name}: downloading {} {} ({} kB)",
            p.name,
            p.full_version(),
            p.size.div_ceil(1024)
        ));
        let file = rpms.join(format!("{}.rpm", p.name));
        download(&format!("{}/{}", p.base, p.href), &file, Some(&p.sha256))?;
        unpack(&file, &root, *filter)?;
        let _ = std::fs::remove_file(&file);
    }
    let _ = std::fs::remove_dir_all(&rpms);
    let release_dir = kernel_dir.join(&release);
    let _ = std::fs::remove_dir_all(&release_dir);
    std::fs::rename(&staging, &release_dir).map_err(|error| PrepError::Io {
        path: release_dir.clone(),
        error,
    })?;
    let root = release_dir.join("root");
    progress(&format!(
        "{name}: relocating the tree under {}",
        root.display()
    ));
    relocate::relocate(&root)?;
    let build = PathBuf::from(format!("usr/src/kernels/{release}"));
    if !root.join(&build).join("Makefile").is_file() {
        return Err(PrepError::Layout {
            what: format!("{} has no {}/Makefile", header_name, build.display()),
        });
    }
    let find = |candidates: &[String]| {
        candidates
            .iter()
            .map(PathBuf::from)
            .find(|c| root.join(c).is_file())
    };
    let image = find(&[
        format!("lib/modules/{release}/vmlinuz"),
        format!("usr/lib/modules/{release}/vmlinuz"),
        format!("boot/vmlinuz-{release}"),
    ])
    .ok_or_else(|| PrepError::Layout {
        what: format!("no kernel image for {release} in {}", source.image),
    })?;
    let state = FetchState {
        manifest: name.clone(),
        release: release.clone(),
        version: chosen.full_version(),
        packages: wanted
            .iter()
            .map(|(p, _)| FetchedPackage {
                name: p.name.clone(),
                version: p.full_version(),
            })
            .collect(),
        build,
        image,
        system_map: find(&[
            format!("lib/modules/{release}/System.map"),
            format!("usr/lib/modules/{release}/System.map"),
            format!("boot/System.map-{release}"),
        ]),
        debug_vmlinux: if options.debug {
            Some(
                find(&[
                    format!("usr/lib/debug/lib/modules/{release}/vmlinux"),
                    format!("usr/lib/debug/usr/lib/modules/{release}/vmlinux"),
                ])
                .ok_or_else(|| PrepError::Layout {
                    what: format!("no debug vmlinux for {release}"),
                })?,
            )
        } else {
            None
        },
        busybox: None,
        root,
    };
    cache.save_state(&state)?;
    Ok(Fetched::New(state))
}

/// Whether the repositories only for debug packages are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DebugRepos {
    /// No (a fetch without `--debug`).
    Skip,
    /// Yes, and one that cannot be read is an error (`--debug`).
    Required,
    /// When configured, and one that cannot be read is left out, saying so
    /// (`stap-prep update`: many mirrors carry no debug trees).
    IfReachable,
}

/// The packages of the manifest's names in its repositories' metadata.
fn read_metadata(
    name: &str,
    source: &RpmSource,
    cache: &Cache,
    archives: &Archives,
    debug: DebugRepos,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<RpmPackage>, PrepError> {
    let meta_dir = cache.dir().join("rpm").join(name);
    std::fs::create_dir_all(&meta_dir).map_err(|error| PrepError::Io {
        path: meta_dir.clone(),
        error,
    })?;
    progress(&format!("{name}: reading repository metadata"));
    let with_debug = match debug {
        DebugRepos::Skip => false,
        DebugRepos::Required => true,
        DebugRepos::IfReachable => source.debug.is_some() && debug_configured(source, archives),
    };
    let mut names: Vec<&String> = source.headers.iter().collect();
    names.push(&source.image);
    names.extend(source.debug.as_ref().filter(|_| with_debug));
    let mut all = Vec::new();
    for (i, (base, debug_only)) in repository_bases(source, archives, with_debug)?
        .iter()
        .enumerate()
    {
        match read_repository(base, &meta_dir, i, &names) {
            Ok(found) => all.extend(found),
            Err(e) if debug == DebugRepos::IfReachable && *debug_only => {
                progress(&format!(
                    "{name}: the debug repository {base} cannot be read ({e}); its packages are left out"
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

/// The packages named `names` in the repository at `base` (its metadata
/// kept in `meta_dir` under index `i`).
fn read_repository(
    base: &str,
    meta_dir: &Path,
    i: usize,
    names: &[&String],
) -> Result<Vec<RpmPackage>, PrepError> {
    let fetch = |uri: String, dest: &Path| {
        download(&uri, dest, None)?;
        std::fs::read(dest).map_err(|error| PrepError::Io {
            path: dest.to_path_buf(),
            error,
        })
    };
    let repomd = meta_dir.join(format!("{i}-repomd.xml"));
    let text = fetch(format!("{base}/repodata/repomd.xml"), &repomd)?;
    let href = primary_href(&text).map_err(|message| PrepError::Corrupt {
        path: repomd.clone(),
        message,
    })?;
    let primary = meta_dir.join(format!("{i}-primary"));
    let data = fetch(format!("{base}/{href}"), &primary)?;
    let corrupt = |message| PrepError::Corrupt {
        path: primary.clone(),
        message,
    };
    let xml = decompress(&href, data).map_err(corrupt)?;
    parse_primary(&xml, base, &|n| names.iter().any(|w| *w == n)).map_err(corrupt)
}

/// The lock entry of an RPM kernel (`stap-prep update`): the newest
/// release's packages with the metadata's SHA-256 sums; nothing is
/// downloaded but the metadata.
pub fn lock_entry(
    manifest: &Manifest,
    source: &RpmSource,
    cache: &Cache,
    archives: &Archives,
    progress: &mut dyn FnMut(&str),
) -> Result<LockedKernel, PrepError> {
    let name = &manifest.name;
    // The debug package is locked too when its repositories can be read.
    let all = read_metadata(
        name,
        source,
        cache,
        archives,
        DebugRepos::IfReachable,
        progress,
    )?;
    let header_name = source.headers.first().ok_or_else(|| PrepError::Layout {
        what: format!("{name}: the manifest lists no header packages"),
    })?;
    let candidates: Vec<RpmPackage> = all
        .iter()
        .filter(|p| &p.name == header_name && release_matches(&source.release, &p.kernel_release()))
        .cloned()
        .collect();
    let chosen = newest(&candidates).ok_or_else(|| PrepError::NoRelease {
        manifest: name.clone(),
        pattern: format!("{header_name} of release {}", source.release),
    })?;
    let mut packages = Vec::new();
    let names = source
        .headers
        .iter()
        .chain(std::iter::once(&source.image))
        .chain(&source.debug);
    for n in names {
        let found = all
            .iter()
            .find(|p| &p.name == n && p.evr() == chosen.evr() && p.arch == chosen.arch);
        match found {
            Some(p) => packages.push(LockedPackage {
                name: p.name.clone(),
                version: p.full_version(),
                sha256: p.sha256.clone(),
            }),
            // The debug package may live in a repository not listed.
            None if Some(n) == source.debug.as_ref() => {}
            None => {
                return Err(PrepError::MissingPackage {
                    package: format!("{n}-{}", chosen.full_version()),
                })
            }
        }
    }
    Ok(LockedKernel {
        release: chosen.kernel_release(),
        packages,
    })
}

fn check_locked(
    name: &str,
    locked: &LockedKernel,
    path: &Path,
    p: &RpmPackage,
) -> Result<(), PrepError> {
    let want: Option<&LockedPackage> = locked.package(&p.name);
    match want {
        Some(w) if w.version == p.full_version() && w.sha256 == p.sha256 => Ok(()),
        Some(w) if w.version == p.full_version() => Err(PrepError::LockMismatch {
            manifest: name.to_string(),
            package: format!("{} {}", p.name, w.version),
            locked: w.sha256.clone(),
            found: p.sha256.clone(),
            lock: path.to_path_buf(),
        }),
        _ => Err(PrepError::LockedGone {
            manifest: name.to_string(),
            package: p.name.clone(),
            version: want.map(|w| w.version.clone()).unwrap_or_default(),
            lock: path.to_path_buf(),
        }),
    }
}

/// The base URIs of the manifest's repositories, each with whether it is
/// only for debug packages; those are left out unless `with_debug`.
pub fn repository_bases(
    source: &RpmSource,
    archives: &Archives,
    with_debug: bool,
) -> Result<Vec<(String, bool)>, PrepError> {
    let mut out = Vec::new();
    for repo in source
        .repositories
        .iter()
        .filter(|r| with_debug || !r.debug_only)
    {
        let first = repo
            .paths
            .first()
            .map(|p| p.trim_matches('/'))
            .unwrap_or("");
        let holds = format!("{first}/repodata/repomd.xml");
        let location = archives.locate_holding(&repo.archive, holds.trim_start_matches('/'))?;
        for path in &repo.paths {
            out.push((
                format!("{}/{}", location.uri, path.trim_matches('/')),
                repo.debug_only,
            ));
        }
    }
    Ok(out)
}

/// Whether every archive of the manifest's debug-only repositories is
/// configured (`stap-prep update` then locks the debug package too).
pub fn debug_configured(source: &RpmSource, archives: &Archives) -> bool {
    source
        .repositories
        .iter()
        .filter(|r| r.debug_only)
        .all(|r| archives.locate(&r.archive).is_ok())
}
