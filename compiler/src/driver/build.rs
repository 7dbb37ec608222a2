//! Pass 4's hand-off to kbuild ([`BuildJob`]), delivering the built
//! module where the user asked, and `--check-module`: whether a module
//! built elsewhere loads on a tree's kernel.

use std::path::{Path, PathBuf};

use crate::kernel::kbuild::{BuildRequest, BuiltModule};
use crate::kernel::kbuild_batch::BatchModule;
use crate::kernel::{modcheck, toolchain, Cache, Catalog, HeaderTree};
use crate::modcache;

use super::Options;

/// What pass 4 hands kbuild for one module.
#[derive(Debug, Clone)]
pub struct BuildJob {
    /// The target tree.
    pub tree: HeaderTree,
    /// The toolchain `make` runs with.
    pub toolchain: toolchain::Toolchain,
    /// The module's name, files and flags.
    pub module: BatchModule,
    /// `-B` variables.
    pub make_vars: Vec<String>,
    /// Kbuild's compiler tests, answered from the tree's cache
    /// (`kernel::kbuild_tryrun`).
    pub try_run_cache: Option<PathBuf>,
    /// `-k`.
    pub keep: bool,
    /// `-v` level 3 and up.
    pub verbose: bool,
    /// The runtime's cached pieces the module is built with, held in use
    /// (`runtime_object::limit`) while the job lives.
    pub in_use: Vec<crate::runtime_object::limit::InUse>,
}

impl BuildJob {
    /// What the module cache's key is made of.
    pub fn key_inputs(&self) -> modcache::KeyInputs<'_> {
        modcache::KeyInputs {
            tree: &self.tree,
            toolchain: &self.toolchain,
            module: &self.module,
            make_vars: &self.make_vars,
        }
    }

    /// The single build of this module.
    pub fn request(&self) -> BuildRequest<'_> {
        BuildRequest {
            tree: &self.tree,
            toolchain: &self.toolchain,
            module: &self.module.module,
            files: self.module.files.clone(),
            objects: self.module.objects.clone(),
            cflags: self.module.cflags.clone(),
            pch: self.module.pch.clone(),
            make_vars: self.make_vars.clone(),
            try_run_cache: self.try_run_cache.clone(),
            keep: self.keep,
            verbose: self.verbose,
        }
    }
}

/// `stap --check-module FILE.ko -r TREE`: whether a module built elsewhere
/// loads on the tree's kernel; the text to print and whether it passed.
pub fn check_module(options: &Options, ko: &Path) -> (String, bool) {
    let cache = Cache::locate(options.cache_dir.as_deref());
    let catalog = match Catalog::load() {
        Ok(c) => c,
        Err(e) => return (format!("stap: {e}\n"), false),
    };
    let tree = match HeaderTree::resolve(options.release.as_deref(), &cache, &catalog) {
        Ok(t) => t,
        Err(e) => return (format!("stap: {e}\n"), false),
    };
    match modcheck::check(ko, &tree) {
        Ok(info) => (
            format!(
                "{}: module {} loads on {} (vermagic, symbol versions, exports and .modinfo match {})\n",
                ko.display(),
                info.name.as_deref().unwrap_or("?"),
                tree.release,
                tree.dir.display()
            ),
            true,
        ),
        Err(failures) => {
            let mut out: String = failures.iter().map(|f| format!("ERROR: {f}\n")).collect();
            out.push_str(&format!(
                "{} would not load on {} ({})\n",
                ko.display(),
                tree.release,
                tree.dir.display()
            ));
            (out, false)
        }
    }
}

/// Copies the built module to `dir/NAME.ko`, returning the new path.
pub fn deliver(built: &BuiltModule, module: &str, dir: &Path) -> std::io::Result<PathBuf> {
    let dest = dir.join(format!("{module}.ko"));
    std::fs::copy(&built.ko, &dest)?;
    Ok(dest)
}
