//! The guests' dynamic userland: Debian's dynamic loader and `libc.so.6`
//! for the guest's architecture (`vm-images/userland.lock`: which
//! package, version and SHA-256, and where each file goes), so that a
//! dynamically linked test program (`tests/programs/userdyn.c`) runs in
//! a guest whose other programs are static, and scripts can probe
//! `.plt` stubs, `process("libc.so.6")` by soname and the C library's
//! own SDT markers.
//!
//! The package is fetched once per architecture and version through a
//! private apt configuration (`kernel::apt`; where the archive is, is
//! configuration: `kernel::archives`), checked against the lock's sum,
//! and only the listed files are kept, under
//! `CACHE/userland/ARCH-VERSION/`. The same files lie in the guest and
//! in the build's sysroot, at the same paths, so that the translator
//! reads the very library the guest maps.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::kernel::apt::{PackageInfo, PrivateApt};
use crate::kernel::archives::Archives;
use crate::kernel::cache::Cache;
use crate::kernel::manifest::{AptRepository, AptSource};
use crate::vm::Arch;

/// `vm-images/userland.lock`.
pub const LOCK: &str = include_str!("../../../vm-images/userland.lock");

/// One architecture's locked package.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LockedUserland {
    /// The archive's name (located by `kernel::archives`).
    pub archive: String,
    /// The suite holding the version.
    pub suite: String,
    /// Package name.
    pub package: String,
    /// Exact version.
    pub version: String,
    /// SHA-256 of the `.deb`.
    pub sha256: String,
    /// The files kept, and where they go.
    pub files: Vec<UserlandFile>,
}

/// One file of the package.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserlandFile {
    /// Its path in the package.
    pub from: String,
    /// Its path in the guest and the sysroot (relative).
    pub to: String,
}

/// The lock's entry for `arch`.
pub fn locked(arch: Arch) -> Result<LockedUserland, String> {
    let mut all: BTreeMap<String, LockedUserland> =
        serde_yaml::from_str(LOCK).map_err(|e| format!("vm-images/userland.lock: {e}"))?;
    let entry = all
        .remove(arch.debian())
        .ok_or_else(|| format!("vm-images/userland.lock: nothing for {}", arch.debian()))?;
    for f in &entry.files {
        if !is_relative_plain(&f.from) || !is_relative_plain(&f.to) {
            return Err(format!(
                "vm-images/userland.lock: {} -> {}: paths must be relative, without '..'",
                f.from, f.to
            ));
        }
    }
    Ok(entry)
}

fn is_relative_plain(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// The files for `arch` guests, fetched into `cache` when missing: each
/// guest path (`lib64/ld-linux-x86-64.so.2`, ...) with the cached file.
pub fn fetch(
    cache: &Cache,
    archives: Option<&Archives>,
    arch: Arch,
    progress: &dyn Fn(&str),
) -> Result<Vec<(String, PathBuf)>, String> {
    let lock = locked(arch)?;
    let dir = cache.dir().join("userland").join(format!(
        "{}-{}-{}",
        arch.debian(),
        lock.package,
        lock.version
    ));
    let files = |dir: &Path| -> Vec<(String, PathBuf)> {
        lock.files
            .iter()
            .map(|f| (f.to.clone(), dir.join(&f.to)))
            .collect()
    };
    if dir.join(".complete").is_file() {
        return Ok(files(&dir));
    }
    let staging = dir.with_extension(format!("partial{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    let result = download_into(cache, archives, arch, &lock, &staging, progress);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    std::fs::write(staging.join(".complete"), &lock.sha256)
        .map_err(|e| format!("{}: {e}", staging.display()))?;
    // Another run may have finished first: its copy is the same.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.join(".complete").is_file() {
            return Err(format!("{}: could not be written", dir.display()));
        }
    }
    Ok(files(&dir))
}

fn download_into(
    cache: &Cache,
    archives: Option<&Archives>,
    arch: Arch,
    lock: &LockedUserland,
    staging: &Path,
    progress: &dyn Fn(&str),
) -> Result<(), String> {
    let source = AptSource {
        architecture: arch.debian().to_string(),
        repositories: vec![AptRepository {
            archive: lock.archive.clone(),
            suites: vec![lock.suite.clone()],
            components: vec!["main".to_string()],
            debug_only: false,
        }],
        release: String::new(),
        headers: Vec::new(),
        image: String::new(),
        debug: None,
        modules: None,
        busybox: None,
    };
    let archives = match archives {
        Some(a) => a.clone(),
        None => Archives::load().map_err(|e| e.to_string())?,
    };
    let apt_dir =
        cache
            .dir()
            .join("apt")
            .join(format!("userland-{}-{}", lock.suite, arch.debian()));
    let apt = PrivateApt::new(&apt_dir, &source, &archives, false).map_err(|e| e.to_string())?;
    progress(&format!(
        "guest userland: reading {} package lists for {}",
        lock.suite,
        arch.debian()
    ));
    apt.update().map_err(|e| e.to_string())?;
    let pkg = PackageInfo {
        name: lock.package.clone(),
        version: lock.version.clone(),
        depends: Vec::new(),
        size: 0,
        architecture: arch.debian().to_string(),
        qualified: false,
        sha256: lock.sha256.clone(),
    };
    progress(&format!(
        "guest userland: downloading {} {} ({})",
        lock.package,
        lock.version,
        arch.debian()
    ));
    let debs = staging.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let deb = apt.download(&pkg, &debs).map_err(|e| {
        format!(
            "{e} (vm-images/userland.lock names {} {}; if the archive no longer has it, \
             move the lock to the version `apt-cache show {}` gives for {})",
            lock.package, lock.version, lock.package, lock.suite
        )
    })?;
    let sum =
        crate::kernel::lock::sha256_file(&deb).map_err(|e| format!("{}: {e}", deb.display()))?;
    if sum != lock.sha256 {
        return Err(format!(
            "{}: SHA-256 {sum}, but vm-images/userland.lock says {}",
            deb.display(),
            lock.sha256
        ));
    }
    let kept = crate::kernel::fetch::read_deb_files(&deb, |stream| {
        extract(stream, lock, staging).map_err(|message| crate::kernel::PrepError::Corrupt {
            path: deb.clone(),
            message,
        })
    })
    .map_err(|e| e.to_string())?;
    std::fs::remove_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    if let Some(missing) = lock.files.iter().find(|f| !kept.contains(&f.from)) {
        return Err(format!(
            "{}: no {} in the package (vm-images/userland.lock)",
            deb.display(),
            missing.from
        ));
    }
    Ok(())
}

/// Writes the lock's files of the tar `stream` under `dir` at their
/// `to` paths; returns the `from` paths found.
fn extract(stream: impl Read, lock: &LockedUserland, dir: &Path) -> Result<Vec<String>, String> {
    let mut archive = tar::Archive::new(stream);
    let mut kept = Vec::new();
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?;
        let path = path.to_string_lossy();
        let path = path.trim_start_matches("./").to_string();
        let Some(file) = lock.files.iter().find(|f| f.from == path) else {
            continue;
        };
        if !entry.header().entry_type().is_file() {
            return Err(format!("{path} is not a regular file"));
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(|e| e.to_string())?;
        let to = dir.join(&file.to);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&to, data).map_err(|e| format!("{}: {e}", to.display()))?;
        kept.push(path);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_names_a_loader_and_libc_for_each_guest_architecture() {
        for arch in Arch::ALL {
            let lock = locked(arch).unwrap();
            assert_eq!(lock.package, "libc6");
            assert_eq!(lock.sha256.len(), 64);
            let to: Vec<&str> = lock.files.iter().map(|f| f.to.as_str()).collect();
            let triplet = arch.gnu_triplet();
            assert!(to.contains(&format!("usr/lib/{triplet}/libc.so.6").as_str()));
            assert!(to.iter().any(|t| t.contains("/ld-linux-")));
        }
    }

    #[test]
    fn lock_paths_must_stay_inside_the_root() {
        assert!(is_relative_plain("usr/lib/x/libc.so.6"));
        assert!(!is_relative_plain("/lib/libc.so.6"));
        assert!(!is_relative_plain("lib/../../etc/passwd"));
        assert!(!is_relative_plain("lib//x"));
    }
}
