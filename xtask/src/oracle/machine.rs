//! The kernel as Debian installs it on a user's machine, inside the
//! oracle root: the fetched packages' `/usr/src/linux-headers-*`,
//! `/usr/lib/linux-kbuild-*`, `/boot` and (with the -dbg package)
//! `/usr/lib/debug` bind-mounted at their own paths, and
//! `/lib/modules/RELEASE` with its `build` and `source` links, so that
//! `stap -r RELEASE` finds everything where a user's SystemTap finds it.
//!
//! SystemTap 5.1 given only `-r TREE` (the relocated header tree) finds
//! no tracepoint (`-vvv`: `getting a tracepoint query for 0 headers`,
//! then `no match` for every `kernel.trace`), and no `kprobe.function`
//! without the real System.map where it looks
//! (`/usr/lib/debug/boot/System.map-R`, `/boot/System.map-R`); installed
//! this way it builds its tracepoint query module against the headers
//! and resolves both. The kernel cache's trees are relocated (their
//! links are relative to the cache), so `/lib/modules/RELEASE` is a
//! directory of absolute links made here, under
//! `$STAPKIT_CACHE/oracle/machines/`, with the package's files bound
//! into it; made once and renamed into place, since concurrent oracle
//! runs bind it into their builds.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use stapkit::kernel::cache::Cache;

use super::root::Kernel;

/// What the root is given for one kernel.
pub(crate) struct Machine {
    /// `uname -r` of the kernel: what `-r` names.
    pub(crate) release: String,
    /// (host path, path in the root) bind mounts, in order: directories
    /// before the files bound inside them.
    pub(crate) mounts: Vec<(PathBuf, String)>,
    /// The guest modules and their debug files (`module_debug`), bound
    /// for the scripts that load modules.
    pub(crate) module_debug: Vec<(PathBuf, String)>,
}

/// The kernel installed as on a user's machine.
pub(crate) fn user_machine(
    cache: &Cache,
    kernel: &Kernel,
    modules: &BTreeMap<String, PathBuf>,
) -> Result<Machine> {
    let module_debug = super::module_debug::module_debug_mounts(cache, kernel, modules)?;
    let root = &kernel.state.root;
    let release = kernel.state.release.clone();
    let mut mounts = Vec::new();
    for dir in ["usr/src", "usr/lib"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "modules")
            .collect();
        names.sort();
        for name in names {
            mounts.push((root.join(dir).join(&name), format!("/{dir}/{name}")));
        }
    }
    if root.join("boot").is_dir() {
        mounts.push((root.join("boot"), "/boot".to_string()));
    }
    // The -dbg package's vmlinux and System.map taken apart from the
    // kernel cache (`module_debug::with_kernel_debug`), where the package
    // installs them.
    if let Some(boot) = kernel
        .state
        .debug_vmlinux
        .as_ref()
        .filter(|v| v.is_absolute() && !v.starts_with(root))
        .and_then(|v| v.parent())
    {
        mounts.push((boot.to_path_buf(), "/usr/lib/debug/boot".to_string()));
    }
    // /lib/modules/R: links made absolute, files bound one by one.
    let made = cache
        .dir()
        .join("oracle/machines")
        .join(&kernel.name)
        .join(&release);
    let modules = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|d| (format!("/{d}/{release}"), root.join(d).join(&release)))
        .find(|(_, host)| host.is_dir());
    let mut files = Vec::new();
    if let Some((in_root, host)) = modules {
        // Made beside it and renamed into place, never removed: other
        // oracle runs may have it bound in their builds at this moment
        // (its content depends only on the kernel's files).
        let making = made.with_file_name(format!(".{release}.making-{}", std::process::id()));
        if making.exists() {
            std::fs::remove_dir_all(&making)?;
        }
        std::fs::create_dir_all(&making)?;
        for entry in std::fs::read_dir(&host)? {
            let entry = entry?;
            let name = entry.file_name();
            let path = entry.path();
            if let Ok(target) = std::fs::read_link(&path) {
                let absolute = resolve(Path::new(&in_root), &target);
                std::os::unix::fs::symlink(&absolute, making.join(&name))
                    .with_context(|| format!("linking {}", making.join(&name).display()))?;
            } else if path.is_file() {
                files.push((path, format!("{in_root}/{}", name.to_string_lossy())));
            }
        }
        if std::fs::rename(&making, &made).is_err() {
            // Another run put it there first.
            std::fs::remove_dir_all(&making)?;
        }
        mounts.push((made, in_root));
    }
    files.sort();
    mounts.extend(files);
    Ok(Machine {
        mounts,
        module_debug,
        release,
    })
}

/// `target` of a link in `dir`, as an absolute, normalised path.
fn resolve(dir: &Path, target: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    let joined = if target.is_absolute() {
        target.to_path_buf()
    } else {
        dir.join(target)
    };
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(p) => out.push(p),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_from_where_they_are_installed() {
        assert_eq!(
            resolve(
                Path::new("/lib/modules/6.1.0-57-amd64"),
                Path::new("../../../usr/src/linux-headers-6.1.0-57-amd64")
            ),
            PathBuf::from("/usr/src/linux-headers-6.1.0-57-amd64")
        );
        assert_eq!(
            resolve(
                Path::new("/usr/lib/modules/6.12.118+deb13-amd64"),
                Path::new("../../../src/linux-headers-6.12.118+deb13-amd64")
            ),
            PathBuf::from("/usr/src/linux-headers-6.12.118+deb13-amd64")
        );
        assert_eq!(
            resolve(Path::new("/lib/modules/x"), Path::new("/usr/src/y")),
            PathBuf::from("/usr/src/y")
        );
    }
}
