//! Which files of a kernel the debug-information layer reads, found from a
//! [`HeaderTree`]: the header directories (the build tree and, for Debian,
//! the `-common` tree its Makefile includes), the image, `System.map`, the
//! debug vmlinux, `Module.symvers`, and where to cache what is extracted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::callconv::Arch;
use crate::kernel::manifest::Source as ManifestSource;
use crate::kernel::module_tracepoints::ModuleSource;
use crate::kernel::{Cache, Catalog, HeaderTree};

/// The files describing one kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelFiles {
    /// The kernel release (`6.1.0-56-amd64`).
    pub release: String,
    /// Its architecture.
    pub arch: Arch,
    /// Its `.config`.
    pub config: BTreeMap<String, String>,
    /// Header roots, most specific first (the build tree, then trees its
    /// Makefile includes, such as Debian's `linux-headers-*-common`).
    pub source_dirs: Vec<PathBuf>,
    /// The bootable image (`vmlinuz`), for BTF.
    pub image: Option<PathBuf>,
    /// `System.map` (possibly Debian's placeholder).
    pub system_map: Option<PathBuf>,
    /// The DWARF vmlinux from the debug package.
    pub debug_vmlinux: Option<PathBuf>,
    /// `Module.symvers`.
    pub module_symvers: Option<PathBuf>,
    /// Where extracted BTF and the DWARF index are cached.
    pub cache_dir: PathBuf,
    /// What to install for DWARF (`install linux-image-…-dbg (stap-prep fetch --debug …)`).
    pub debug_hint: String,
    /// Where the kernel's own modules are, for the tracepoints they define.
    pub modules: Option<ModuleSource>,
}

impl KernelFiles {
    /// The files of the kernel `tree` describes (fetched or installed).
    pub fn from_tree(tree: &HeaderTree) -> KernelFiles {
        let arch = tree.arch;
        let release = tree.release.clone();
        let existing = |p: PathBuf| p.is_file().then_some(p);
        let mut files = KernelFiles {
            release: release.clone(),
            arch,
            config: tree.config.clone(),
            source_dirs: source_dirs(&tree.dir),
            image: None,
            system_map: None,
            debug_vmlinux: None,
            module_symvers: existing(tree.dir.join("Module.symvers")),
            cache_dir: PathBuf::new(),
            debug_hint: String::new(),
            modules: None,
        };
        match &tree.fetched {
            Some(state) => {
                let under =
                    |p: &Option<PathBuf>| p.as_ref().map(|p| state.root.join(p)).and_then(existing);
                files.image = existing(state.image_path());
                files.system_map = under(&state.system_map);
                files.debug_vmlinux = under(&state.debug_vmlinux);
                files.cache_dir = state.root.parent().unwrap_or(&state.root).join("debuginfo");
                let package = debug_package(&state.manifest, &release);
                files.debug_hint = format!(
                    "install {package} (stap-prep fetch --debug {})",
                    state.manifest
                );
                // ROOT is CACHE/kernels/NAME/RELEASE/root.
                files.modules =
                    state
                        .root
                        .ancestors()
                        .nth(4)
                        .map(|cache_dir| ModuleSource::Fetched {
                            cache_dir: cache_dir.to_path_buf(),
                            manifest: state.manifest.clone(),
                        });
            }
            None => {
                let first = |cands: &[String]| cands.iter().map(PathBuf::from).find_map(existing);
                files.image = first(&[
                    format!("/boot/vmlinuz-{release}"),
                    format!("/usr/lib/modules/{release}/vmlinuz"),
                    format!("/lib/modules/{release}/vmlinuz"),
                ]);
                files.system_map = first(&[
                    format!("/usr/lib/debug/boot/System.map-{release}"),
                    format!("/boot/System.map-{release}"),
                ]);
                files.debug_vmlinux = first(&[
                    format!("/usr/lib/debug/boot/vmlinux-{release}"),
                    format!("/usr/lib/debug/lib/modules/{release}/vmlinux"),
                ]);
                files.cache_dir = Cache::locate(None).dir().join("debuginfo").join(&release);
                // The whole release directory (`kernel/`, `updates/`,
                // `extra/`); its `build` symlink is not followed.
                files.modules = [
                    format!("/lib/modules/{release}"),
                    format!("/usr/lib/modules/{release}"),
                ]
                .into_iter()
                .map(PathBuf::from)
                .find(|d| d.is_dir())
                .map(|dir| ModuleSource::Installed {
                    dir,
                    cache_file: files.cache_dir.join("module-tracepoints.tsv"),
                });
                files.debug_hint = format!(
                    "install the kernel's debug vmlinux (linux-image-{release}-dbg on Debian)"
                );
            }
        }
        files
    }

    /// The same kernel as a machine without the debug package sees it: no
    /// DWARF vmlinux and no real `System.map` (Debian's image package only
    /// has a placeholder).
    pub fn without_debug(mut self) -> KernelFiles {
        self.debug_vmlinux = None;
        self.system_map = None;
        self
    }
}

/// The debug package the kernel's manifest names, else Debian's convention.
fn debug_package(manifest: &str, release: &str) -> String {
    Catalog::load()
        .ok()
        .and_then(|c| match &c.get(manifest).ok()?.source {
            ManifestSource::Apt(apt) => apt.debug_package(release),
            ManifestSource::Rpm(rpm) => rpm.debug.clone(),
        })
        .unwrap_or_else(|| format!("linux-image-{release}-dbg"))
}

/// `dir` and the roots of the Makefiles it includes (Debian's flavour tree
/// is a one-line `include .../linux-headers-X-common/Makefile`).
pub fn source_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let Ok(makefile) = std::fs::read_to_string(dir.join("Makefile")) else {
        return out;
    };
    for line in makefile.lines() {
        let Some(path) = line.trim().strip_prefix("include ") else {
            continue;
        };
        let Some(root) = Path::new(path.trim()).parent() else {
            continue;
        };
        let root = if root.is_absolute() {
            root.to_path_buf()
        } else {
            dir.join(root)
        };
        if root.join("include").is_dir() && !out.contains(&root) {
            out.push(root);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_flavour_makefile_to_the_common_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let flavour = tmp.path().join("linux-headers-6.1.0-56-amd64");
        let common = tmp.path().join("linux-headers-6.1.0-56-common");
        std::fs::create_dir_all(common.join("include")).unwrap();
        std::fs::create_dir_all(&flavour).unwrap();
        std::fs::write(
            flavour.join("Makefile"),
            format!("include {}/Makefile\n", common.display()),
        )
        .unwrap();
        assert_eq!(source_dirs(&flavour), vec![flavour.clone(), common]);
        std::fs::write(flavour.join("Makefile"), "include scripts/Kbuild.include\n").unwrap();
        assert_eq!(source_dirs(&flavour), vec![flavour]);
    }
}
