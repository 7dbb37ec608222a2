//! Debian's own modules of a kernel, for its test guest: `brd`, `loop` and
//! the like, which a script needs loaded before it runs (a block device for
//! the ioblock tapset, a module's tracepoints).
//!
//! `stap-prep fetch` keeps only the image of the kernel's `linux-image-*`
//! package, not its thousands of modules. The first time a module is asked
//! for, the package with the modules (the image package, or the manifest's
//! `modules` package: `linux-modules-*` from 7.x), of the version fetched,
//! is downloaded and kept as `RELEASE/modules.deb`; each asked-for module, and the modules its
//! `.modinfo` `depends=` names, transitively, is taken out of it,
//! decompressed (`.ko.xz`, `.ko.zst`: busybox's `insmod` in the guest
//! loads plain ELF only) and kept as `RELEASE/guest-modules/NAME.ko`.
//! Debian's package has no `modules.dep` (depmod writes it at install), so
//! dependencies come from each module's own `.modinfo`.
//!
//! **Architecture Invariant:** this only reads modules; they are loaded in
//! a guest's `/init`, never here.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::apt::PrivateApt;
use super::cache::{Cache, FetchState};
use super::fetch::read_deb_files;
use super::manifest::{Manifest, Source};
use super::modcheck::read_modinfo;
use super::PrepError;

/// A module of the kernel's package, ready for a guest.
#[derive(Debug, Clone, PartialEq)]
pub struct GuestModule {
    /// The module's name (`-` spelled `_`, as `/sys/module` has it).
    pub name: String,
    /// The decompressed `.ko` in the cache.
    pub file: PathBuf,
    /// The modules it needs loaded first (its `.modinfo` `depends=`).
    pub depends: Vec<String>,
}

/// The module name of a file in the package (`kernel/drivers/block/brd.ko.xz`
/// is `brd`), or `None` if it is not a module.
pub fn module_name_of(path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let stem = file
        .strip_suffix(".ko")
        .or_else(|| file.strip_suffix(".ko.xz"))
        .or_else(|| file.strip_suffix(".ko.zst"))
        .or_else(|| file.strip_suffix(".ko.gz"))?;
    (!stem.is_empty()).then(|| normalize(stem))
}

/// A module name as the kernel spells it (`-` becomes `_`).
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// `names` and every module they need, each in load order (a module after
/// all it depends on), taken from the kernel's package into the cache on
/// first use. A name in `optional` that the package lacks (built in, or
/// renamed, on that kernel) is left out instead of failing.
pub fn provide(
    manifest: &Manifest,
    cache: &Cache,
    state: &FetchState,
    names: &[String],
    optional: &[String],
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<GuestModule>, PrepError> {
    let optional: BTreeSet<String> = optional.iter().map(|n| normalize(n)).collect();
    let mut absent: BTreeSet<String> = BTreeSet::new();
    let release_dir = cache.kernel_dir(&manifest.name).join(&state.release);
    let dir = release_dir.join("guest-modules");
    std::fs::create_dir_all(&dir).map_err(|error| PrepError::Io {
        path: dir.clone(),
        error,
    })?;
    let _lock = cache.lock(&manifest.name)?;
    let mut known: BTreeMap<String, GuestModule> = BTreeMap::new();
    let mut wanted: BTreeSet<String> = names.iter().map(|n| normalize(n)).collect();
    let mut deb: Option<PathBuf> = None;
    while !wanted.is_empty() {
        // Those already in the cache need no package.
        let mut missing = BTreeSet::new();
        for name in std::mem::take(&mut wanted) {
            let file = dir.join(format!("{name}.ko"));
            if absent.contains(&name) {
                continue;
            }
            if file.is_file() {
                let module = load_cached(&name, &file)?;
                wanted.extend(module.depends.iter().cloned());
                known.insert(name, module);
            } else {
                missing.insert(name);
            }
        }
        wanted.retain(|n| !known.contains_key(n));
        if missing.is_empty() {
            continue;
        }
        let deb_path = match &deb {
            Some(d) => d.clone(),
            None => {
                let d = modules_deb(manifest, cache, state, &release_dir, progress)?;
                deb = Some(d.clone());
                d
            }
        };
        progress(&format!(
            "{}: taking module(s) {} out of {}",
            manifest.name,
            missing.iter().cloned().collect::<Vec<_>>().join(", "),
            deb_path.display()
        ));
        extract(&deb_path, &state.release, &missing, &dir)?;
        for name in &missing {
            let file = dir.join(format!("{name}.ko"));
            if !file.is_file() && optional.contains(name) {
                absent.insert(name.clone());
                continue;
            }
            if !file.is_file() {
                return Err(PrepError::Layout {
                    what: format!(
                        "the {} kernel's package {} has no module '{name}' \
                         (built in, or not built for this kernel?)",
                        state.release,
                        deb_path.display()
                    ),
                });
            }
            wanted.insert(name.clone());
        }
    }
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    for name in names.iter().map(|n| normalize(n)) {
        if !absent.contains(&name) {
            place(&name, &known, &mut placed, &mut order, &mut Vec::new())?;
        }
    }
    Ok(order)
}

/// Appends `name` after its dependencies (depth first).
fn place(
    name: &str,
    known: &BTreeMap<String, GuestModule>,
    placed: &mut BTreeSet<String>,
    order: &mut Vec<GuestModule>,
    path: &mut Vec<String>,
) -> Result<(), PrepError> {
    if placed.contains(name) {
        return Ok(());
    }
    if path.iter().any(|p| p == name) {
        return Err(PrepError::Layout {
            what: format!(
                "modules depend on each other in a cycle: {}",
                path.join(" -> ")
            ),
        });
    }
    let module = known.get(name).ok_or_else(|| PrepError::Layout {
        what: format!("module '{name}' was not taken out of the package"),
    })?;
    path.push(name.to_string());
    for dep in &module.depends {
        place(dep, known, placed, order, path)?;
    }
    path.pop();
    placed.insert(name.to_string());
    order.push(module.clone());
    Ok(())
}

/// A cached module and its `depends=`.
fn load_cached(name: &str, file: &Path) -> Result<GuestModule, PrepError> {
    let data = std::fs::read(file).map_err(|error| PrepError::Io {
        path: file.to_path_buf(),
        error,
    })?;
    let (info, _arch) = read_modinfo(&data).map_err(|e| PrepError::Corrupt {
        path: file.to_path_buf(),
        message: e.to_string(),
    })?;
    let depends = info
        .all("depends")
        .flat_map(|v| v.split(','))
        .filter(|d| !d.is_empty())
        .map(normalize)
        .collect();
    Ok(GuestModule {
        name: name.to_string(),
        file: file.to_path_buf(),
        depends,
    })
}

/// The package with the modules (the image package before 7.x),
/// downloaded into `release_dir` once, of the version `stap-prep fetch`
/// unpacked the image of, so the modules match the image.
pub(super) fn modules_deb(
    manifest: &Manifest,
    cache: &Cache,
    state: &FetchState,
    release_dir: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, PrepError> {
    let kept = release_dir.join("modules.deb");
    if kept.is_file() {
        return Ok(kept);
    }
    let Source::Apt(source) = &manifest.source else {
        return Err(PrepError::Unsupported(format!(
            "{}: guest modules come from Debian image packages only",
            manifest.name
        )));
    };
    // The modules package is built from the same source as the image,
    // with the same version: the one `stap-prep fetch` recorded.
    let image = source.image_package(&state.release);
    let name = source.modules_package(&state.release);
    let version = state
        .packages
        .iter()
        .find(|p| p.name == image)
        .map(|p| p.version.clone())
        .ok_or_else(|| PrepError::Layout {
            what: format!(
                "{}: the cache records no {image}; fetch it again with: stap-prep fetch --refresh {}",
                manifest.name, manifest.name
            ),
        })?;
    // Whatever fails from here names the package and what fetches it.
    let cannot = |e: PrepError| PrepError::Download {
        package: format!("{name} {version} (the modules of {})", state.release),
        why: Box::new(e),
        fix: format!("stap-prep fetch --modules {}", manifest.name),
    };
    let archives = super::archives::Archives::load()
        .map_err(PrepError::from)
        .map_err(cannot)?;
    let apt = PrivateApt::new(&cache.apt_dir(&manifest.name), source, &archives, false)
        .map_err(cannot)?;
    let mut info = apt.show(std::slice::from_ref(&name)).map_err(cannot)?;
    if info.is_empty() {
        progress(&format!("{}: reading package lists", manifest.name));
        apt.update().map_err(cannot)?;
        info = apt.show(std::slice::from_ref(&name)).map_err(cannot)?;
    }
    let mut pkg = info
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PrepError::MissingPackage {
            package: name.clone(),
        })
        .map_err(cannot)?;
    pkg.version = version.clone();
    progress(&format!(
        "fetching the modules package of {}: {} {} ({} MB)",
        state.release,
        pkg.name,
        pkg.version,
        pkg.size.div_ceil(1 << 20)
    ));
    let partial = release_dir.join("modules-deb.partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|error| PrepError::Io {
        path: partial.clone(),
        error,
    })?;
    let deb = apt.download(&pkg, &partial).map_err(cannot)?;
    std::fs::rename(&deb, &kept).map_err(|error| PrepError::Io {
        path: kept.clone(),
        error,
    })?;
    let _ = std::fs::remove_dir_all(&partial);
    Ok(kept)
}

/// Writes each module of `names` found in `deb` as `dir/NAME.ko`,
/// decompressed.
fn extract(
    deb: &Path,
    release: &str,
    names: &BTreeSet<String>,
    dir: &Path,
) -> Result<(), PrepError> {
    read_deb_modules(
        deb,
        release,
        |name| names.contains(name),
        |name, path, data| {
            let plain = decompress(&path, &data).map_err(|message| PrepError::Corrupt {
                path: deb.to_path_buf(),
                message: format!("{path}: {message}"),
            })?;
            let file = dir.join(format!("{name}.ko"));
            let tmp = dir.join(format!("{name}.ko.partial"));
            std::fs::write(&tmp, &plain)
                .and_then(|_| std::fs::rename(&tmp, &file))
                .map_err(|error| PrepError::Io { path: file, error })
        },
    )
}

/// Calls `each(name, path, bytes)` for every module of `release` in the
/// package `deb` (under `lib/modules/RELEASE/` or `usr/lib/modules/...`)
/// whose name `wanted` accepts, with the file's bytes as packed (possibly
/// compressed: see [`decompress`]).
pub(super) fn read_deb_modules(
    deb: &Path,
    release: &str,
    wanted: impl Fn(&str) -> bool,
    mut each: impl FnMut(String, String, Vec<u8>) -> Result<(), PrepError>,
) -> Result<(), PrepError> {
    let corrupt = |message: String| PrepError::Corrupt {
        path: deb.to_path_buf(),
        message,
    };
    let prefixes = [
        format!("lib/modules/{release}/"),
        format!("usr/lib/modules/{release}/"),
    ];
    read_deb_files(deb, |files| {
        let mut archive = tar::Archive::new(files);
        for entry in archive.entries().map_err(|e| corrupt(e.to_string()))? {
            let mut entry = entry.map_err(|e| corrupt(e.to_string()))?;
            let path = entry
                .path()
                .map_err(|e| corrupt(e.to_string()))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            if !entry.header().entry_type().is_file()
                || !prefixes.iter().any(|p| path.starts_with(p))
            {
                continue;
            }
            let Some(name) = module_name_of(&path).filter(|n| wanted(n)) else {
                continue;
            };
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| corrupt(e.to_string()))?;
            each(name, path, data)?;
        }
        Ok(())
    })
}

/// The module file's bytes without its compression (by file name).
pub(super) fn decompress(path: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(data.len() * 3);
    let result = if path.ends_with(".xz") {
        lzma_rust2::XzReader::new(data, false).read_to_end(&mut out)
    } else if path.ends_with(".zst") {
        ruzstd::decoding::StreamingDecoder::new(data)
            .map_err(|e| format!("decompression failed: {e}"))?
            .read_to_end(&mut out)
    } else if path.ends_with(".gz") {
        flate2::read::GzDecoder::new(data).read_to_end(&mut out)
    } else {
        return Ok(data.to_vec());
    };
    result.map_err(|e| format!("decompression failed: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_come_from_file_names() {
        assert_eq!(
            module_name_of("lib/modules/6.1.0-56-amd64/kernel/drivers/block/brd.ko").as_deref(),
            Some("brd")
        );
        assert_eq!(
            module_name_of("usr/lib/modules/7.2/kernel/fs/fat/vfat-x.ko.xz").as_deref(),
            Some("vfat_x")
        );
        assert_eq!(module_name_of("a/b/loop.ko.zst").as_deref(), Some("loop"));
        assert_eq!(module_name_of("lib/modules/6.1/modules.order"), None);
        assert_eq!(module_name_of("x/.ko"), None);
    }

    #[test]
    fn compressed_modules_are_unpacked_by_name() {
        let plain = b"\x7fELF module bytes".to_vec();
        // `xz --check=crc32` (as kmod compresses modules) and `zstd` output.
        let xz: &[u8] = b"\xfd\x37\x7a\x58\x5a\x00\x00\x01\x69\x22\xde\x36\x02\x00\x21\x01\x16\x00\x00\x00\x74\x2f\xe5\xa3\x01\x00\x10\x7f\x45\x4c\x46\x20\x6d\x6f\x64\x75\x6c\x65\x20\x62\x79\x74\x65\x73\x00\x00\x00\x00\x07\x48\xc1\x83\x00\x01\x25\x11\x3e\x45\xc5\xa2\x90\x42\x99\x0d\x01\x00\x00\x00\x00\x01\x59\x5a";
        let zst: &[u8] = b"\x28\xb5\x2f\xfd\x04\x58\x89\x00\x00\x7f\x45\x4c\x46\x20\x6d\x6f\x64\x75\x6c\x65\x20\x62\x79\x74\x65\x73\x95\x98\xca\x90";
        assert_eq!(decompress("m.ko.zst", zst).unwrap(), plain);
        assert_eq!(decompress("m.ko.xz", xz).unwrap(), plain);
        assert_eq!(decompress("m.ko", &plain).unwrap(), plain);
        assert!(decompress("m.ko.zst", b"not zstd")
            .unwrap_err()
            .contains("decompression failed"));
    }

    #[test]
    fn dependencies_load_first_and_cycles_are_refused() {
        let m = |name: &str, deps: &[&str]| GuestModule {
            name: name.to_string(),
            file: PathBuf::from(format!("{name}.ko")),
            depends: deps.iter().map(|d| d.to_string()).collect(),
        };
        let known: BTreeMap<String, GuestModule> = [
            m("ext4", &["mbcache", "jbd2", "crc16"]),
            m("jbd2", &["crc16"]),
            m("mbcache", &[]),
            m("crc16", &[]),
        ]
        .into_iter()
        .map(|m| (m.name.clone(), m))
        .collect();
        let mut order = Vec::new();
        place(
            "ext4",
            &known,
            &mut BTreeSet::new(),
            &mut order,
            &mut Vec::new(),
        )
        .unwrap();
        let names: Vec<&str> = order.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["mbcache", "crc16", "jbd2", "ext4"]);

        let cyclic: BTreeMap<String, GuestModule> = [m("a", &["b"]), m("b", &["a"])]
            .into_iter()
            .map(|m| (m.name.clone(), m))
            .collect();
        let err = place(
            "a",
            &cyclic,
            &mut BTreeSet::new(),
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("cycle: a -> b"), "{err}");
    }
}
