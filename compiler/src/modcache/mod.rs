//! The module cache: `stap -p4` (and pass 5) reuses a module built before
//! from the same inputs instead of running kbuild again, as SystemTap's
//! cache does. [`key`] says what "the same" means (the script's C with
//! everything it pulled in, the options that change the module, the
//! kernel tree's identity, the runtime, the toolchain and stapkit's
//! version); [`store`] keeps the modules under `CACHE/modules/` with
//! SystemTap's `cache_mb_limit` and least-recently-used eviction.
//! [`Slot`] is one build's place in it: the driver looks a module up
//! before kbuild, checks a hit against the tree like a fresh build
//! (`kernel::modcheck`), and stores what kbuild made after that check.
//! Modules are cached unsigned: `--sign-module` signs the delivered copy.
//! [`script`] finds a module earlier, before passes 1 to 3, from what the
//! translation is given (the script, the options, stamps of the tree);
//! [`ScriptSlot`] is that lookup's place.

pub mod key;
pub mod script;
pub mod store;

use std::path::PathBuf;

use crate::kernel::kbuild::{BuildDir, BuiltModule};
use crate::kernel::Cache;

pub use key::{module_key, KeyInputs};
pub use script::{script_key, ScriptInputs};
pub use store::Store;

/// How a build uses the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CacheUse {
    /// Neither read nor written (`--disable-cache`; the library's default,
    /// so stap-matrix and tests build fresh unless they ask).
    #[default]
    Off,
    /// Read and written (`stap`'s default).
    ReadWrite,
    /// Written but not read: every module is rebuilt (`--poison-cache`,
    /// and `-k`, which wants the build directory).
    WriteOnly,
}

/// The module cache of the stapkit cache `cache`.
pub fn store_of(cache: &Cache) -> Store {
    Store::new(cache.modules_dir())
}

/// One build's entry in the cache.
#[derive(Debug, Clone)]
pub struct Slot {
    store: Store,
    key: String,
    reads: bool,
}

impl Slot {
    /// The slot of the module `inputs` describe, or `None` when the cache
    /// is off.
    pub fn new(cache: &Cache, use_: CacheUse, inputs: &KeyInputs<'_>) -> Option<Slot> {
        let reads = match use_ {
            CacheUse::Off => return None,
            CacheUse::ReadWrite => true,
            CacheUse::WriteOnly => false,
        };
        Some(Slot {
            store: store_of(cache),
            key: module_key(inputs),
            reads,
        })
    }

    /// The cached file of this slot.
    pub fn entry(&self) -> PathBuf {
        self.store.entry(&self.key)
    }

    /// The cached module as a build's result (`NAME.ko` in a temporary
    /// directory of its own, for the same check and delivery as a fresh
    /// build), or `None` on a miss. A cache that cannot be read is a miss.
    pub fn lookup(&self, module: &str) -> Option<BuiltModule> {
        if !self.reads || !self.entry().is_file() {
            return None;
        }
        let dir = tempfile::Builder::new().prefix("stapkit").tempdir().ok()?;
        let ko = dir.path().join(format!("{module}.ko"));
        match self.store.fetch(&self.key, &ko) {
            Ok(true) => {
                // No C source is cached with the module: its path is empty.
                crate::markers::cache_get(&self.entry(), std::path::Path::new(""));
                Some(BuiltModule {
                    ko,
                    dir: BuildDir::Temporary(dir),
                    modpost_warnings: Vec::new(),
                })
            }
            _ => None,
        }
    }

    /// Stores a module that built and passed its check; the error says
    /// what could not be written (the build itself stands).
    pub fn store(&self, built: &BuiltModule) -> Result<PathBuf, String> {
        crate::markers::cache_add_module(&built.ko, &self.entry());
        self.store.insert(&self.key, &built.ko).map_err(|e| {
            format!(
                "cannot store the module in {}: {e}",
                self.store.dir().display()
            )
        })
    }

    /// Drops an entry that failed its check against the tree.
    pub fn discard(&self) {
        let _ = self.store.remove(&self.key);
    }

    /// This slot's key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// A translation's place among the script entries (see [`script`]).
#[derive(Debug, Clone)]
pub struct ScriptSlot {
    store: Store,
    key: String,
}

/// A module found by its script key.
#[derive(Debug)]
pub struct ScriptHit {
    /// The module, as a build's result (see [`Slot::lookup`]).
    pub built: BuiltModule,
    /// The module cache's entry it came from.
    pub entry: PathBuf,
    /// The warnings passes 1 to 3 printed when it was built.
    pub warnings: String,
}

impl ScriptSlot {
    /// The slot of the translation `inputs` describe.
    pub fn new(cache: &Cache, inputs: &ScriptInputs<'_>) -> ScriptSlot {
        ScriptSlot {
            store: store_of(cache),
            key: script_key(inputs),
        }
    }

    /// The module these inputs built before, if it is still cached and
    /// the toolchain that built it is unchanged; `module` is its name.
    pub fn lookup(&self, cache: &Cache, module: &str) -> Option<ScriptHit> {
        let entry = script::read_entry(self.store.dir(), &self.key)?;
        if !entry.toolchain_unchanged(cache) {
            return None;
        }
        let slot = Slot {
            store: self.store.clone(),
            key: entry.module_key.clone(),
            reads: true,
        };
        let built = slot.lookup(module)?;
        Some(ScriptHit {
            built,
            entry: slot.entry(),
            warnings: entry.warnings,
        })
    }

    /// Records that these inputs made the module of `slot`, built with
    /// `toolchain`, and that passes 1 to 3 printed `warnings`.
    pub fn remember(
        &self,
        slot: &Slot,
        toolchain: &crate::kernel::toolchain::Toolchain,
        warnings: &str,
    ) -> Result<(), String> {
        let entry = script::ScriptEntry::new(&slot.key, toolchain, warnings);
        script::write_entry(self.store.dir(), &self.key, &entry).map_err(|e| {
            format!(
                "cannot store the script entry in {}: {e}",
                script::entries_dir(self.store.dir()).display()
            )
        })
    }

    /// Drops this entry (its module failed its check against the tree).
    pub fn discard(&self) {
        script::remove_entry(self.store.dir(), &self.key);
    }
}

/// `stap --clean-cache`: prunes the module cache to its limit
/// (`Store::clean`); the text to print.
pub fn clean(cache: &Cache) -> Result<String, String> {
    let store = store_of(cache);
    store
        .clean()
        .map(|n| {
            format!(
                "removed {n} cached modules from {}\n",
                store.dir().display()
            )
        })
        .map_err(|e| format!("stap: --clean-cache: {}: {e}", store.dir().display()))
}
