//! Which packages make one kernel of a series: the archive's newest
//! release (`stap-prep fetch`, `stap-prep update`), or exactly the versions
//! a lock file names (`stap-prep fetch --locked`).

use std::path::Path;

use super::apt::{PackageInfo, PrivateApt};
use super::lock::{LockedKernel, LockedPackage};
use super::manifest::{release_matches, AptSource};
use super::{debversion, PrepError};

/// The packages of one kernel release.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The kernel release (`uname -r`).
    pub release: String,
    /// The version of the first header package.
    pub version: String,
    /// The header packages and their `linux-headers-*`/`linux-kbuild-*`
    /// dependencies, sorted by name.
    pub headers: Vec<PackageInfo>,
    /// The image package.
    pub image: PackageInfo,
    /// The debug package, when the manifest names one and the archive has it.
    pub debug: Option<PackageInfo>,
    /// The guest's static busybox, when the manifest names one.
    pub busybox: Option<PackageInfo>,
}

impl Plan {
    /// What a lock file records of this plan.
    pub fn locked(&self) -> LockedKernel {
        let packages = self
            .headers
            .iter()
            .chain(std::iter::once(&self.image))
            .chain(&self.debug)
            .chain(&self.busybox)
            .map(|p| LockedPackage {
                name: p.qualified_name(),
                version: p.version.clone(),
                sha256: p.sha256.clone(),
            })
            .collect();
        LockedKernel {
            release: self.release.clone(),
            packages,
        }
    }
}

/// The archive's newest release of the series (apt's lists must be
/// current: `PrivateApt::update`).
pub fn newest(apt: &PrivateApt, source: &AptSource, name: &str) -> Result<Plan, PrepError> {
    let (release, headers) = resolve_release(apt, source, name)?;
    let closure = header_closure(apt, source, &release)?;
    let image = show_one(apt, &source.image_package(&release))?;
    let debug = match source.debug_package(&release) {
        Some(name) => match show_one(apt, &name) {
            Ok(p) => Some(p),
            Err(PrepError::MissingPackage { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    let busybox = match &source.busybox {
        Some(name) => Some(show_one(apt, name)?),
        None => None,
    };
    Ok(Plan {
        release,
        version: headers.version,
        headers: closure,
        image,
        debug,
        busybox,
    })
}

/// Exactly the packages `locked` names, as the archive lists them now; a
/// version that has left the archive is an error saying how to move the
/// lock (`lock_path`).
pub fn locked(
    apt: &PrivateApt,
    source: &AptSource,
    name: &str,
    locked: &LockedKernel,
    lock_path: &Path,
) -> Result<Plan, PrepError> {
    let release = &locked.release;
    let image_name = source.image_package(release);
    let debug_name = source.debug_package(release);
    let mut headers = Vec::new();
    let (mut image, mut debug, mut busybox) = (None, None, None);
    for want in &locked.packages {
        let Some(pkg) = exact(apt, &want.name, &want.version)? else {
            return Err(PrepError::LockedGone {
                manifest: name.to_string(),
                package: want.name.clone(),
                version: want.version.clone(),
                lock: lock_path.to_path_buf(),
            });
        };
        if pkg.sha256 != want.sha256 {
            return Err(PrepError::LockMismatch {
                manifest: name.to_string(),
                package: format!("{} {}", want.name, want.version),
                locked: want.sha256.clone(),
                found: pkg.sha256.clone(),
                lock: lock_path.to_path_buf(),
            });
        }
        if pkg.name == image_name {
            image = Some(pkg);
        } else if Some(&pkg.name) == debug_name.as_ref() {
            debug = Some(pkg);
        } else if Some(&pkg.name) == source.busybox.as_ref() {
            busybox = Some(pkg);
        } else {
            headers.push(pkg);
        }
    }
    let image = image.ok_or_else(|| PrepError::Layout {
        what: format!(
            "{name}: the lock {} names no {image_name}; move it with: stap-prep update --lock {} {name}",
            lock_path.display(),
            lock_path.display()
        ),
    })?;
    headers.sort_by(|a, b| a.name.cmp(&b.name));
    let first = source.header_packages(release).into_iter().next();
    let version = headers
        .iter()
        .find(|p| Some(&p.name) == first.as_ref())
        .map(|p| p.version.clone())
        .unwrap_or_else(|| image.version.clone());
    Ok(Plan {
        release: release.clone(),
        version,
        headers,
        image,
        debug,
        busybox,
    })
}

/// What the archive lists for `name` (or `name:arch`) at exactly `version`.
fn exact(apt: &PrivateApt, name: &str, version: &str) -> Result<Option<PackageInfo>, PrepError> {
    let (plain, arch) = match name.split_once(':') {
        Some((plain, arch)) => (plain, Some(arch)),
        None => (name, None),
    };
    Ok(apt
        .show(&[format!("{name}={version}")])?
        .into_iter()
        .find(|p| {
            p.name == plain && p.version == version && arch.is_none_or(|a| p.architecture == a)
        })
        .map(|mut p| {
            p.qualified = arch.is_some();
            p
        }))
}

/// The lock entry of the kernel `state` holds (`stap-prep update
/// --from-cache`): its versions, the debug package's at the image's
/// version, and their sums from the archive's lists (read again when
/// they lack a version).
pub fn cached_entry(
    apt: &PrivateApt,
    source: &AptSource,
    state: &super::FetchState,
    progress: &mut dyn FnMut(&str),
) -> Result<LockedKernel, PrepError> {
    let mut wanted: Vec<(String, String)> = state
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    let image = source.image_package(&state.release);
    let image_version = wanted
        .iter()
        .find(|(n, _)| *n == image)
        .map(|(_, v)| v.clone());
    let debug = source.debug_package(&state.release);
    if let (Some(debug), Some(version)) = (&debug, image_version) {
        if !wanted.iter().any(|(n, _)| n == debug) {
            wanted.push((debug.clone(), version));
        }
    }
    let mut updated = false;
    let mut packages = Vec::new();
    for (name, version) in wanted {
        let mut found = exact(apt, &name, &version)?;
        if found.is_none() && !updated {
            progress(&format!("{}: reading package lists", state.manifest));
            apt.update()?;
            updated = true;
            found = exact(apt, &name, &version)?;
        }
        match found {
            Some(p) => packages.push(LockedPackage {
                name,
                version,
                sha256: p.sha256,
            }),
            // The debug package is optional: fetched only on request.
            None if Some(&name) == debug.as_ref() => {}
            None => {
                return Err(PrepError::Unsupported(format!(
                    "{}: the cached {name} {version} is no longer in the archive, so its SHA-256 cannot \
                     be locked; lock the archive's newest with: stap-prep update {}",
                    state.manifest, state.manifest
                )))
            }
        }
    }
    Ok(LockedKernel {
        release: state.release.clone(),
        packages,
    })
}

/// Finds the newest release of the series: the header package matching the
/// release pattern with the highest version.
pub fn resolve_release(
    apt: &PrivateApt,
    source: &AptSource,
    name: &str,
) -> Result<(String, PackageInfo), PrepError> {
    let template = source.headers.first().ok_or_else(|| PrepError::Layout {
        what: format!("{name}: the manifest lists no header packages"),
    })?;
    let (pkg_prefix, pkg_suffix) =
        template
            .split_once("{release}")
            .ok_or_else(|| PrepError::Layout {
                what: format!("{name}: header package '{template}' has no {{release}}"),
            })?;
    let release_prefix = source.release.split('*').next().unwrap_or("");
    let names = apt.package_names(&format!("{pkg_prefix}{release_prefix}"))?;
    let candidates: Vec<String> = names
        .into_iter()
        .filter(|n| {
            n.strip_prefix(pkg_prefix)
                .and_then(|r| r.strip_suffix(pkg_suffix))
                .is_some_and(|release| release_matches(&source.release, release))
        })
        .collect();
    let newest = apt
        .show(&candidates)?
        .into_iter()
        .max_by(|a, b| debversion::compare(&a.version, &b.version))
        .ok_or_else(|| PrepError::NoRelease {
            manifest: name.to_string(),
            pattern: format!("{pkg_prefix}{}{pkg_suffix}", source.release),
        })?;
    let release = newest.name[pkg_prefix.len()..newest.name.len() - pkg_suffix.len()].to_string();
    Ok((release, newest))
}

/// The header packages and their `linux-headers-*`/`linux-kbuild-*`
/// dependencies, transitively. `linux-kbuild-*` holds the tree's host tools
/// (`fixdep`, `modpost`), which run on the build host: for a series of
/// another architecture it is fetched for the host's (`NAME:amd64`).
pub fn header_closure(
    apt: &PrivateApt,
    source: &AptSource,
    release: &str,
) -> Result<Vec<PackageInfo>, PrepError> {
    let mut todo = source.header_packages(release);
    let mut seen: Vec<PackageInfo> = Vec::new();
    while let Some(name) = todo.pop() {
        if seen.iter().any(|p| p.name == name) {
            continue;
        }
        let pkg = match apt.host_architecture() {
            Some(host) if name.starts_with("linux-kbuild-") => {
                let mut pkg = show_one(apt, &format!("{name}:{host}"))?;
                pkg.qualified = true;
                pkg
            }
            _ => show_one(apt, &name)?,
        };
        for dep in &pkg.depends {
            if dep.starts_with("linux-headers-") || dep.starts_with("linux-kbuild-") {
                todo.push(dep.clone());
            }
        }
        seen.push(pkg);
    }
    seen.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(seen)
}

/// What apt says about `name` (or `name:arch`).
pub fn show_one(apt: &PrivateApt, name: &str) -> Result<PackageInfo, PrepError> {
    let (plain, arch) = match name.split_once(':') {
        Some((plain, arch)) => (plain, Some(arch)),
        None => (name, None),
    };
    let missing = || PrepError::MissingPackage {
        package: name.to_string(),
    };
    let found = match apt.show(&[name.to_string()]) {
        Err(PrepError::Apt { message, .. }) if message.starts_with("No packages found") => {
            return Err(missing())
        }
        other => other?,
    };
    found
        .into_iter()
        .find(|p| p.name == plain && arch.is_none_or(|a| p.architecture == a))
        .ok_or_else(|| PrepError::MissingPackage {
            package: name.to_string(),
        })
}
