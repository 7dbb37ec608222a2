//! Debug packages of user-space programs for a sysroot (`stap-prep
//! dbgsym`): for each binary package named, its `NAME-dbgsym` package
//! (Debian's and Ubuntu's automatic debug packages; a name already ending
//! in `-dbgsym` or `-dbg` is taken as it is) is read from a debug archive
//! through a private apt configuration ([`super::apt`]) and its debug
//! files (`usr/lib/debug/...`, the build-id tree) are unpacked into the
//! sysroot, where `stap --sysroot DIR` finds them by each program's build
//! id as it finds them on the target.
//!
//! Nothing but `usr/lib/debug/` is unpacked, and the tar reader keeps
//! every member inside the sysroot.

use std::path::{Path, PathBuf};

use super::apt::PrivateApt;
use super::archives::Archives;
use super::fetch::{read_deb_files, unpack_tar, Filter};
use super::manifest::{AptRepository, AptSource};
use super::PrepError;

/// Where the debug packages come from.
#[derive(Debug, Clone, PartialEq)]
pub struct DebugArchive {
    /// The archive's name, located by [`Archives`] (`debian-debug`).
    pub archive: String,
    /// Its suites (`bookworm-debug`).
    pub suites: Vec<String>,
    /// Its components (`main`).
    pub components: Vec<String>,
    /// The packages' Debian architecture (`amd64`, `arm64`).
    pub architecture: String,
}

/// One debug package unpacked into the sysroot.
#[derive(Debug, Clone, PartialEq)]
pub struct Unpacked {
    /// The debug package.
    pub package: String,
    /// Its version.
    pub version: String,
    /// The build ids it holds debug files for (`usr/lib/debug/.build-id/XX/REST.debug`).
    pub build_ids: Vec<String>,
}

/// The debug package of binary package `name`.
pub fn debug_package_name(name: &str) -> String {
    if name.ends_with("-dbgsym") || name.ends_with("-dbg") {
        name.to_string()
    } else {
        format!("{name}-dbgsym")
    }
}

/// Fetches the debug packages of `packages` from `from` (apt's state under
/// `work`) and unpacks their debug files into `sysroot`.
pub fn fetch_into(
    work: &Path,
    from: &DebugArchive,
    archives: &Archives,
    packages: &[String],
    sysroot: &Path,
) -> Result<Vec<Unpacked>, PrepError> {
    let source = AptSource {
        architecture: from.architecture.clone(),
        repositories: vec![AptRepository {
            archive: from.archive.clone(),
            suites: from.suites.clone(),
            components: from.components.clone(),
            debug_only: false,
        }],
        release: "*".into(),
        headers: Vec::new(),
        image: String::new(),
        debug: None,
        modules: None,
        busybox: None,
    };
    let apt = PrivateApt::new(&work.join("apt"), &source, archives, true)?;
    apt.update()?;
    let names: Vec<String> = packages.iter().map(|p| debug_package_name(p)).collect();
    let found = apt.show(&names)?;
    let debs = work.join("debs");
    std::fs::create_dir_all(&debs).map_err(|error| PrepError::Io {
        path: debs.clone(),
        error,
    })?;
    let mut out = Vec::new();
    for name in &names {
        let pkg =
            found
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| PrepError::MissingPackage {
                    package: name.clone(),
                })?;
        let deb = apt.download(pkg, &debs)?;
        read_deb_files(&deb, |files| {
            unpack_tar(files, sysroot, Filter::DebugFiles, &deb)
        })?;
        out.push(Unpacked {
            package: pkg.name.clone(),
            version: pkg.version.clone(),
            build_ids: build_ids_in(&deb)?,
        });
    }
    Ok(out)
}

/// The build ids of the debug files in `deb`, sorted.
fn build_ids_in(deb: &Path) -> Result<Vec<String>, PrepError> {
    let names = read_deb_files(deb, |files| {
        let corrupt = |e: std::io::Error| PrepError::Corrupt {
            path: deb.to_path_buf(),
            message: e.to_string(),
        };
        let mut archive = tar::Archive::new(files);
        let mut names = Vec::new();
        for entry in archive.entries().map_err(corrupt)? {
            let entry = entry.map_err(corrupt)?;
            let path: PathBuf = entry.path().map_err(corrupt)?.into_owned();
            names.push(path.to_string_lossy().into_owned());
        }
        Ok(names)
    })?;
    let mut ids: Vec<String> = names.iter().filter_map(|n| build_id_of(n)).collect();
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The build id a debug file's path in a package names
/// (`./usr/lib/debug/.build-id/ab/cdef.debug` is `abcdef`).
pub fn build_id_of(path: &str) -> Option<String> {
    let rest = path
        .trim_start_matches("./")
        .strip_prefix("usr/lib/debug/.build-id/")?;
    let (dir, file) = rest.split_once('/')?;
    let file = file.strip_suffix(".debug")?;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    (dir.len() == 2 && hex(dir) && hex(file) && !file.contains('/')).then(|| format!("{dir}{file}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_package_names() {
        assert_eq!(debug_package_name("coreutils"), "coreutils-dbgsym");
        assert_eq!(debug_package_name("coreutils-dbgsym"), "coreutils-dbgsym");
        assert_eq!(debug_package_name("libc6-dbg"), "libc6-dbg");
    }

    #[test]
    fn build_ids_from_debug_file_paths() {
        assert_eq!(
            build_id_of("./usr/lib/debug/.build-id/ab/cdef01.debug").as_deref(),
            Some("abcdef01")
        );
        assert_eq!(build_id_of("usr/lib/debug/.build-id/ab/cdef01"), None);
        assert_eq!(build_id_of("./usr/lib/debug/.build-id/abc/def.debug"), None);
        assert_eq!(build_id_of("./usr/lib/debug/.build-id/ab/x.debug"), None);
        assert_eq!(build_id_of("./usr/share/doc/x"), None);
    }
}
