//! The types of the kernel's loadable modules: a module's split BTF (see
//! [`crate::kernel::module_btf`]) on top of the image's, so that
//! `module("ext4").function("f")` has `$vars` and `@cast(p, "T", "sd_mod")`
//! finds the structs only a module uses. Each module is read once per
//! [`KernelInfo`], from what the driver learnt before pass 2; nothing here
//! reads a package.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::btf::Btf;
use super::info::KernelInfo;
use crate::kernel::guest_modules::normalize;
use crate::kernel::module_btf::{self, ModuleBtf};

/// The words of the answer for a module not learnt yet.
const NOT_READ: &str = "were not read before pass 2";

/// Each module's types, or why there are none, by module name.
pub type ModuleTypesCache = Mutex<HashMap<String, Result<Arc<Btf>, ModuleTypesError>>>;

/// Why a module's types cannot be had.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleTypesError {
    /// The kernel has no such loadable module (built in, or not built):
    /// its probe points do not resolve.
    NoModule(String),
    /// The module exists, but its types cannot be read.
    Unavailable(String),
}

impl std::fmt::Display for ModuleTypesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModuleTypesError::NoModule(why) | ModuleTypesError::Unavailable(why) => {
                f.write_str(why)
            }
        }
    }
}

impl KernelInfo {
    /// Module `name`'s types (the kernel's and its own), or why they
    /// cannot be had.
    pub fn module_types(&self, name: &str) -> Result<Arc<Btf>, ModuleTypesError> {
        let name = normalize(name);
        let mut cache = self.module_types.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = cache.get(&name) {
            return found.clone();
        }
        let (found, lasting) = self.read_module_types(&name);
        // A module not learnt yet may be by the next script that shares
        // this view of the kernel (stap-matrix): asked again then.
        if lasting {
            cache.insert(name, found.clone());
        }
        found
    }

    /// Module `name`'s function symbols in its symbol table's order, when
    /// they were learnt before pass 2 (see
    /// [`module_btf::cached_functions`]); `None` when not, or when they
    /// cannot be read.
    pub fn module_functions(&self, name: &str) -> Option<Vec<module_btf::FunctionSymbol>> {
        let source = self.files().modules.as_ref()?;
        module_btf::cached_functions(source, &normalize(name))
            .ok()
            .flatten()
    }

    /// The answer, and whether it lasts.
    fn read_module_types(&self, name: &str) -> (Result<Arc<Btf>, ModuleTypesError>, bool) {
        let found = self.module_types_once(name).map_err(|why| match why {
            Ok(no_module) => ModuleTypesError::NoModule(no_module),
            Err(other) => ModuleTypesError::Unavailable(other),
        });
        let lasting =
            !matches!(&found, Err(ModuleTypesError::Unavailable(e)) if e.contains(NOT_READ));
        (found, lasting)
    }

    /// The types, or why not: `Ok` when there is no such module.
    fn module_types_once(&self, name: &str) -> Result<Arc<Btf>, Result<String, String>> {
        let release = &self.files().release;
        let Some(source) = &self.files().modules else {
            return Err(Err(format!(
                "the modules of {release} are not at hand (neither fetched nor installed)"
            )));
        };
        let base = self.btf().ok_or_else(|| {
            Err(format!(
                "the {release} kernel image has no BTF, which a module's types extend"
            ))
        })?;
        match module_btf::cached(source, name).map_err(|e| Err(e.to_string()))? {
            ModuleBtf::Found(data) => Btf::parse_split(&data, base).map(Arc::new).map_err(|e| {
                Err(format!(
                    "the BTF of module '{name}' of {release} is unreadable: {e}"
                ))
            }),
            ModuleBtf::NoModule(why) => Err(Ok(why)),
            ModuleBtf::Absent(why) => Err(Err(why)),
            ModuleBtf::NotLearnt => Err(Err(format!(
                "the types of module '{name}' of {release} {NOT_READ} \
                 (stapkit reads them for the modules a script's module(\"...\") probe points and @casts name)"
            ))),
        }
    }
}
