//! The debug files of the kernel's own modules a test script loads in
//! its guest (`# guest-modules:`), where Debian's -dbg package installs
//! them (`/usr/lib/debug/lib/modules/R/kernel/.../NAME.ko`): SystemTap
//! needs a module's DWARF for `module("NAME").function` and for the
//! module's tracepoints (`kernel.trace("ext4:...")` is `no match`
//! without it), as on a user's machine with the -dbg package installed.
//!
//! `stap-prep fetch --debug` keeps only the vmlinux of that package (it
//! unpacks to some 5 GB), so the first recording that asks for a module
//! downloads the package again with the kernel's private apt
//! configuration, of the version fetched, takes the asked-for modules'
//! files out of it and drops it. They are kept under
//! `$STAPKIT_CACHE/oracle/module-debug/KERNEL/R/` as a copy of the
//! package's `lib/modules/R` directory: the modules' files, and the
//! kernel cache's own `vmlinux` there as an absolute link (the kernel
//! cache is bound at its own path in the build's namespace). The kernel
//! cache itself is not changed, so stapkit's own runs never see them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::apt::{PackageInfo, PrivateApt};
use stapkit::kernel::archives::Archives;
use stapkit::kernel::cache::Cache;
use stapkit::kernel::guest_modules::normalize;
use stapkit::kernel::manifest::{AptSource, Source};
use stapkit::kernel::Catalog;

use super::root::Kernel;

/// Bind mounts that give a build the debug files of `modules` (the
/// kernel's own modules a script loads in its guest, by name, with their
/// uncompressed `.ko` files) as the -dbg package installs them, and the
/// modules themselves under `/lib/modules/R/kernel` as the image package
/// installs them (SystemTap finds a module's debug file from the module:
/// with the debug file alone `module("brd")` is `no match`). Empty when
/// the kernel was fetched without its -dbg package or no module is
/// asked for; modules the package has no debug file of are left out.
pub(super) fn module_debug_mounts(
    cache: &Cache,
    kernel: &Kernel,
    modules: &BTreeMap<String, PathBuf>,
) -> Result<Vec<(PathBuf, String)>> {
    let Some(vmlinux) = &kernel.state.debug_vmlinux else {
        return Ok(Vec::new());
    };
    if modules.is_empty() {
        return Ok(Vec::new());
    }
    let release = &kernel.state.release;
    let base = cache.dir().join("oracle/module-debug").join(&kernel.name);
    let dir = base.join(release);
    // Names already asked for, found or not (`asked`, one a line).
    let asked_file = dir.join("asked");
    let asked: BTreeSet<String> = std::fs::read_to_string(&asked_file)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let wanted: BTreeSet<String> = modules.keys().map(|n| normalize(n)).collect();
    let missing: BTreeSet<String> = wanted.difference(&asked).cloned().collect();
    if !missing.is_empty() {
        extract(cache, kernel, &missing, &dir)?;
        let mut all = asked;
        all.extend(missing);
        let text: String = all.iter().map(|n| format!("{n}\n")).collect();
        std::fs::write(&asked_file, text)?;
    }
    let link = dir.join("vmlinux");
    if std::fs::symlink_metadata(&link).is_err() {
        // A vmlinux taken apart (`with_kernel_debug`) is not under the
        // kernel cache the build binds: linked as the package links it,
        // to where it is bound (`/usr/lib/debug/boot`, see `machine`).
        let target = if vmlinux.is_absolute() {
            PathBuf::from(format!("../../../boot/vmlinux-{release}"))
        } else {
            kernel.state.root.join(vmlinux)
        };
        std::os::unix::fs::symlink(target, &link)
            .with_context(|| format!("linking {}", link.display()))?;
    }
    // The modules, at the paths of their debug files.
    let installed = base.join(format!("{release}.modules"));
    for entry in walkdir::WalkDir::new(dir.join("kernel")) {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy();
        let Some(stem) = name.strip_suffix(".ko") else {
            continue;
        };
        let Some(file) = modules.get(&normalize(stem)) else {
            continue;
        };
        let to = installed.join(entry.path().strip_prefix(&dir)?);
        let same = std::fs::metadata(&to).ok().map(|m| m.len())
            == std::fs::metadata(file).ok().map(|m| m.len());
        if !same {
            std::fs::create_dir_all(to.parent().unwrap_or(&installed))?;
            let tmp = to.with_extension(format!("partial-{}", std::process::id()));
            std::fs::copy(file, &tmp).with_context(|| format!("copying {}", file.display()))?;
            std::fs::rename(&tmp, &to)?;
        }
    }
    Ok(vec![
        (dir, format!("/usr/lib/debug/lib/modules/{release}")),
        (
            installed.join("kernel"),
            format!("/lib/modules/{release}/kernel"),
        ),
    ])
}

/// `kernel` with the DWARF vmlinux and the real System.map of its -dbg
/// package when the kernel cache was fetched without it (`stap-prep
/// fetch` without `--debug`, as the 5.10 tree is): SystemTap resolves no
/// `kernel.function`, kernel `@cast` or syscall tapset probe without
/// them, where a user would have installed the package. They are taken
/// once out of the package of the version fetched into
/// `$STAPKIT_CACHE/oracle/kernel-debug/KERNEL/R/usr/lib/debug/boot/`
/// as `vmlinux-R` and `System.map-R`, wherever the package has them (the
/// kernel cache, which stapkit's own runs read, is not changed) and
/// named by absolute paths in the returned state, which the builds bind
/// where SystemTap looks (`build::debug_files`, `machine`).
pub(crate) fn with_kernel_debug(cache: &Cache, kernel: &Kernel) -> Result<Kernel> {
    if kernel.state.debug_vmlinux.is_some() {
        return Ok(kernel.clone());
    }
    let release = &kernel.state.release;
    let manifest = Catalog::load()?.get(&kernel.name)?.clone();
    let Source::Apt(source) = &manifest.source else {
        return Ok(kernel.clone());
    };
    let Some(package) = source.debug_package(release) else {
        return Ok(kernel.clone());
    };
    let dir = cache
        .dir()
        .join("oracle/kernel-debug")
        .join(&kernel.name)
        .join(release);
    let boot = dir.join("usr/lib/debug/boot");
    let vmlinux = boot.join(format!("vmlinux-{release}"));
    if !vmlinux.is_file() {
        // The image's version: the -dbg package is built with it.
        let version = kernel
            .state
            .packages
            .iter()
            .find(|p| is_image(&p.name))
            .map_or_else(|| kernel.state.version.clone(), |p| p.version.clone());
        let (apt, pkg) = debug_package_at(cache, kernel, source, &package, version)?;
        eprintln!(
            "oracle: fetching {} {} ({} MB) for the kernel's DWARF and System.map",
            pkg.name,
            pkg.version,
            pkg.size.div_ceil(1 << 20)
        );
        let partial = dir.with_file_name(format!(".{release}.partial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial)?;
        let result = (|| -> Result<()> {
            let deb = apt.download(&pkg, &partial)?;
            let out_dir = partial.join("files");
            std::fs::create_dir_all(&out_dir)?;
            // Up to 6.x the package has them in /usr/lib/debug/boot; from
            // 7.x beside the modules' debug files.
            unpack_matching(
                &deb,
                &out_dir,
                [
                    "./usr/lib/debug/boot/*",
                    "./usr/lib/debug/*modules/*/vmlinux",
                    "./usr/lib/debug/*modules/*/System.map",
                ],
            )?;
            let debug = out_dir.join("usr/lib/debug");
            // The file itself: 7.x's boot/vmlinux-R is a link to the
            // modules' directory's.
            let found = |names: &[String]| {
                names
                    .iter()
                    .map(|n| debug.join(n))
                    .find(|p| p.is_file())
                    .and_then(|p| std::fs::canonicalize(p).ok())
            };
            let in_modules = |file: &str| {
                [
                    format!("boot/{file}-{release}"),
                    format!("lib/modules/{release}/{file}"),
                    format!("usr/lib/modules/{release}/{file}"),
                ]
            };
            let from = out_dir.join("boot");
            std::fs::create_dir_all(&from)?;
            let found_map = found(&in_modules("System.map"));
            let Some(found_vmlinux) = found(&in_modules("vmlinux")) else {
                bail!("{}: no vmlinux of {release} in it", pkg.name);
            };
            std::fs::rename(found_vmlinux, from.join(format!("vmlinux-{release}")))?;
            if let Some(map) = found_map {
                std::fs::rename(map, from.join(format!("System.map-{release}")))?;
            }
            std::fs::create_dir_all(boot.parent().unwrap_or(&dir))?;
            // Renamed into place whole: a concurrent run sees all or nothing.
            std::fs::rename(&from, &boot).or_else(|e| {
                if vmlinux.is_file() {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
            Ok(())
        })();
        let _ = std::fs::remove_dir_all(&partial);
        result?;
    }
    let mut kernel = kernel.clone();
    kernel.state.debug_vmlinux = Some(vmlinux);
    let map = boot.join(format!("System.map-{release}"));
    if map.is_file() {
        kernel.state.system_map = Some(map);
    }
    Ok(kernel)
}

/// The kernel's private apt and its -dbg `package` as apt knows it, at
/// `version` (the one the fetched kernel was built with, which the
/// archive may list beside newer ones).
fn debug_package_at(
    cache: &Cache,
    kernel: &Kernel,
    source: &AptSource,
    package: &str,
    version: String,
) -> Result<(PrivateApt, PackageInfo)> {
    let apt = PrivateApt::new(
        &cache.apt_dir(&kernel.name),
        source,
        &Archives::load()?,
        true,
    )?;
    let mut pkg = apt
        .show(&[package.to_string()])?
        .into_iter()
        .find(|p| p.name == package)
        .ok_or_else(|| anyhow!("{}: apt knows no {package}", kernel.name))?;
    pkg.version = version;
    Ok((apt, pkg))
}

/// Downloads the kernel's -dbg package and writes the debug files of
/// `names` under `dir` (their paths below the package's
/// `usr/lib/debug/lib/modules/R/`).
fn extract(cache: &Cache, kernel: &Kernel, names: &BTreeSet<String>, dir: &Path) -> Result<()> {
    let state = &kernel.state;
    let manifest = Catalog::load()?.get(&kernel.name)?.clone();
    let Source::Apt(source) = &manifest.source else {
        bail!(
            "{}: module debug files come from Debian's -dbg packages only",
            kernel.name
        );
    };
    let package = source
        .debug_package(&state.release)
        .ok_or_else(|| anyhow!("{}: the manifest names no -dbg package", kernel.name))?;
    // The vmlinux taken apart (`with_kernel_debug`) came from the
    // image's version of the package.
    let apart = !state
        .debug_vmlinux
        .as_ref()
        .is_some_and(|v| v.is_relative());
    let version = state
        .packages
        .iter()
        .find(|p| p.name == package)
        .or_else(|| state.packages.iter().find(|p| apart && is_image(&p.name)))
        .map(|p| p.version.clone())
        .ok_or_else(|| {
            anyhow!(
                "{}: the kernel cache records no {package}; fetch it with: stap-prep fetch --debug {}",
                kernel.name,
                kernel.name
            )
        })?;
    let (apt, pkg) = debug_package_at(cache, kernel, source, &package, version)?;
    eprintln!(
        "oracle: fetching {} {} ({} MB) for the debug files of {}",
        pkg.name,
        pkg.version,
        pkg.size.div_ceil(1 << 20),
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let partial = dir.with_file_name(format!(".{}.partial-{}", state.release, std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    let result = (|| -> Result<()> {
        let deb = apt.download(&pkg, &partial)?;
        let prefix = format!("./usr/lib/debug/lib/modules/{}/", state.release);
        // A module's file may spell `_` as `-` (crc32c-generic.ko).
        let patterns: BTreeSet<String> = names
            .iter()
            .flat_map(|n| [n.clone(), n.replace('_', "-")])
            .map(|n| format!("{prefix}*/{n}.ko"))
            .collect();
        let out_dir = partial.join("files");
        std::fs::create_dir_all(&out_dir)?;
        // A built-in module has no file: its pattern matches nothing.
        unpack_matching(&deb, &out_dir, &patterns)?;
        let from = out_dir.join(prefix.trim_start_matches("./"));
        std::fs::create_dir_all(dir)?;
        for entry in walkdir::WalkDir::new(&from) {
            let entry = entry?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(&from)?;
            let to = dir.join(rel);
            std::fs::create_dir_all(to.parent().unwrap_or(dir))?;
            std::fs::rename(entry.path(), &to)
                .with_context(|| format!("placing {}", to.display()))?;
            eprintln!("oracle: kept {}", to.display());
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&partial);
    result
}

/// Unpacks the files of the package `deb` that match `patterns` (tar
/// wildcards, `./`-rooted) under `to`. A pattern that matches nothing is
/// not an error (tar then exits 2): the caller looks for what it needs.
fn unpack_matching<I, P>(deb: &Path, to: &Path, patterns: I) -> Result<()>
where
    I: IntoIterator<Item = P>,
    P: AsRef<std::ffi::OsStr>,
{
    let out = Command::new("sh")
        .args([
            "-c",
            "deb=$1; to=$2; shift 2; \
             dpkg-deb --fsys-tarfile \"$deb\" | tar -x -C \"$to\" --wildcards \"$@\"",
            "sh",
        ])
        .arg(deb)
        .arg(to)
        .args(patterns)
        .output()
        .context("running dpkg-deb and tar")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let real_errors: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.contains("Not found in archive") && !l.contains("Exiting with failure"))
        .collect();
    if !real_errors.is_empty() {
        bail!("unpacking {}: {}", deb.display(), real_errors.join("; "));
    }
    Ok(())
}

/// Whether `name` is a kernel image package (`linux-binary-*` from 7.x).
fn is_image(name: &str) -> bool {
    name.starts_with("linux-image-") || name.starts_with("linux-binary-")
}
