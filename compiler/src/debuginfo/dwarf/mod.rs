//! DWARF from a debug vmlinux (Debian's `linux-image-*-dbg`), read with
//! gimli: everything BTF answers, plus what only DWARF knows — whether a
//! function was inlined and where its inlined copies are, the file that
//! declares it (`name@file.c`), and types of functions BTF leaves out.
//!
//! A name index ([`index`]) is built on first use and cached next to the
//! kernel; questions then read only the compilation units they need from
//! the mapped file.

pub mod index;
mod index_file;
pub mod inlines;
pub mod lines;
pub mod load;
pub mod located;
pub mod scopes;
mod types;
pub mod variables;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use gimli::DebuggingInformationEntry;

use super::ctype::{FieldPath, Layout, Prototype};
use super::error::DebugInfoError;
use super::fields;
use super::image::cache::{image_key, write_atomic};
use crate::text::glob::matches as wildcard_match;
use index::{DwarfIndex, FuncEntry};
use load::{Mapped, Reader};

/// A function as DWARF describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwarfFunction {
    /// Its name.
    pub name: String,
    /// The declaring file, relative to the build directory (`fs/sync.c`).
    pub file: Option<String>,
    /// The declaration line.
    pub line: u32,
    /// Whether an out-of-line copy exists (kprobe-able code).
    pub out_of_line: bool,
    /// Whether it is declared `inline`.
    pub declared_inline: bool,
    /// How many inlined copies exist.
    pub inlined: u32,
    /// Some places it was inlined into (`caller@file:line`).
    pub inline_sites: Vec<String>,
}

/// An opened DWARF vmlinux with its name index.
pub struct DwarfKernel {
    // Field order matters: `dwarf` and `units` borrow from `map` (through
    // the 'static lifetime `open` fakes) and must be dropped before it.
    dwarf: gimli::Dwarf<Reader<'static>>,
    units: Mutex<HashMap<u64, Arc<gimli::Unit<Reader<'static>>>>>,
    index: DwarfIndex,
    /// Whether the index came from the cache.
    index_cached: bool,
    map: Mapped,
}

impl std::fmt::Debug for DwarfKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DwarfKernel")
            .field("path", &self.map.path())
            .field("functions", &self.index.functions.len())
            .finish()
    }
}

/// Named after the format version, so that builds of different versions
/// sharing a kernel cache do not overwrite each other's index.
const INDEX_FILE: &str = "dwarf.v3.index";

impl DwarfKernel {
    /// Maps `vmlinux` and loads its index from `cache_dir` (building and
    /// storing it there when missing or stale).
    pub fn open(vmlinux: &Path, cache_dir: &Path) -> Result<DwarfKernel, DebugInfoError> {
        let map = Mapped::open(vmlinux)?;
        // SAFETY: the bytes live in the mapping owned by `map`, which this
        // struct keeps until after `dwarf` and `units` (declared before it)
        // are dropped; moving `Mapped` does not move the mapped pages. No
        // reference with the faked lifetime leaves this module.
        let bytes: &'static [u8] =
            unsafe { std::slice::from_raw_parts(map.bytes().as_ptr(), map.bytes().len()) };
        let dwarf = load::dwarf_of(bytes, vmlinux)?;
        let key = image_key(vmlinux)?;
        let index_path = cache_dir.join(INDEX_FILE);
        let cached = std::fs::read_to_string(&index_path)
            .ok()
            .and_then(|text| DwarfIndex::from_text(&text, &key));
        let index_cached = cached.is_some();
        let index = match cached {
            Some(index) => index,
            None => {
                let index = index::build(&dwarf).map_err(|e| DebugInfoError::Dwarf {
                    path: vmlinux.to_path_buf(),
                    message: e.to_string(),
                })?;
                std::fs::create_dir_all(cache_dir).map_err(|e| DebugInfoError::io(cache_dir, e))?;
                write_atomic(&index_path, index.to_text(&key).as_bytes())?;
                index
            }
        };
        Ok(DwarfKernel {
            dwarf,
            units: Mutex::new(HashMap::new()),
            index,
            index_cached,
            map,
        })
    }

    /// The vmlinux.
    pub fn path(&self) -> &Path {
        self.map.path()
    }

    /// Whether the index was read from the cache (`false`: built now).
    pub fn index_was_cached(&self) -> bool {
        self.index_cached
    }

    /// The name index.
    pub fn index(&self) -> &DwarfIndex {
        &self.index
    }

    /// Every function named `name`, one per declaring file.
    pub fn functions(&self, name: &str) -> Vec<DwarfFunction> {
        self.index
            .functions_named(name)
            .iter()
            .map(|f| self.describe(f))
            .collect()
    }

    /// Functions matching `pattern` (wildcards allowed) declared in a file
    /// matching `file` (`fs/read_write.c`, `*/read_write.c`,
    /// `read_write.c`), sorted by name then file.
    pub fn matching(&self, pattern: &str, file: Option<&str>) -> Vec<DwarfFunction> {
        let glob = crate::text::glob::Glob::new(pattern);
        self.index
            .functions
            .iter()
            .filter(|f| glob.matches(&f.name))
            .filter(|f| match file {
                None => true,
                Some(want) => self
                    .index
                    .file(f.file)
                    .is_some_and(|path| file_matches(want, path)),
            })
            .map(|f| self.describe(f))
            .collect()
    }

    /// The names of functions with out-of-line code, sorted.
    pub fn function_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .index
            .functions
            .iter()
            .filter(|f| f.code)
            .map(|f| f.name.as_str())
            .collect();
        names.dedup();
        names
    }

    /// The prototype of `name` (the out-of-line one when several files
    /// declare it; `file` picks one).
    pub fn prototype(&self, name: &str, file: Option<&str>) -> Option<Prototype> {
        let candidates = self.index.functions_named(name);
        let pick = candidates
            .iter()
            .filter(|f| {
                file.is_none_or(|want| {
                    self.index
                        .file(f.file)
                        .is_some_and(|p| file_matches(want, p))
                })
            })
            .max_by_key(|f| (f.code, std::cmp::Reverse(f.die)))?;
        self.prototype_of(name, pick.die)
    }

    /// The layout of a struct, union or typedef of one.
    pub fn layout(&self, name: &str) -> Result<Layout, DebugInfoError> {
        fields::layout(self, name)
    }

    /// Resolves a member chain from aggregate `base`.
    pub fn member_path(&self, base: &str, path: &[&str]) -> Result<FieldPath, DebugInfoError> {
        fields::member_path(self, base, path)
    }

    fn describe(&self, f: &FuncEntry) -> DwarfFunction {
        DwarfFunction {
            name: f.name.clone(),
            file: self.index.file(f.file).map(str::to_string),
            line: f.line,
            out_of_line: f.code,
            declared_inline: f.declared_inline,
            inlined: f.inlined,
            inline_sites: f
                .sites
                .iter()
                .map(|s| match self.index.file(s.file) {
                    Some(file) => format!("{}@{file}:{}", s.caller, s.line),
                    None => s.caller.clone(),
                })
                .collect(),
        }
    }

    /// The parsed unit containing DIE `die`.
    fn unit_at(&self, die: u64) -> Option<Arc<gimli::Unit<Reader<'static>>>> {
        let unit_off = self.index.unit_of(die)?;
        let mut units = self.units.lock().expect("no poisoned lock");
        if let Some(u) = units.get(&unit_off) {
            return Some(u.clone());
        }
        let header = self
            .dwarf
            .debug_info
            .header_from_offset(gimli::DebugInfoOffset(unit_off as usize))
            .ok()?;
        let unit = Arc::new(self.dwarf.unit(header).ok()?);
        units.insert(unit_off, unit.clone());
        Some(unit)
    }

    fn unit_offset(unit: &gimli::Unit<Reader<'static>>, die: u64) -> Option<gimli::UnitOffset> {
        gimli::DebugInfoOffset(die as usize).to_unit_offset(&unit.header)
    }

    /// Runs `f` on DIE `die`.
    fn with_entry<T>(
        &self,
        die: u64,
        f: impl FnOnce(
            &gimli::Unit<Reader<'static>>,
            &DebuggingInformationEntry<'_, '_, Reader<'static>>,
        ) -> T,
    ) -> Option<T> {
        let unit = self.unit_at(die)?;
        let entry = unit.entry(Self::unit_offset(&unit, die)?).ok()?;
        Some(f(&unit, &entry))
    }

    /// Runs `f` on each direct child of DIE `die`.
    fn with_children<T>(
        &self,
        die: u64,
        mut f: impl FnMut(
            &gimli::Unit<Reader<'static>>,
            &DebuggingInformationEntry<'_, '_, Reader<'static>>,
        ) -> T,
    ) -> Option<Vec<T>> {
        let unit = self.unit_at(die)?;
        let mut tree = unit
            .entries_tree(Some(Self::unit_offset(&unit, die)?))
            .ok()?;
        let root = tree.root().ok()?;
        let mut children = root.children();
        let mut out = Vec::new();
        while let Ok(Some(child)) = children.next() {
            out.push(f(&unit, child.entry()));
        }
        Some(out)
    }
}

/// SystemTap's `@file` matching: the whole path, a trailing part of it
/// after a `/`, or a wildcard pattern over either.
pub fn file_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_start_matches("./");
    path == pattern
        || path.ends_with(&format!("/{pattern}"))
        || wildcard_match(pattern, path)
        || path
            .rsplit_once('/')
            .is_some_and(|(_, base)| wildcard_match(pattern, base))
}

#[cfg(test)]
mod tests {
    use super::file_matches;

    #[test]
    fn file_patterns() {
        assert!(file_matches("fs/read_write.c", "fs/read_write.c"));
        assert!(file_matches("read_write.c", "fs/read_write.c"));
        assert!(file_matches("fs/*.c", "fs/read_write.c"));
        assert!(file_matches("*write.c", "fs/read_write.c"));
        assert!(!file_matches("write.c", "fs/read_write.c"));
        assert!(!file_matches("mm/*.c", "fs/read_write.c"));
    }
}
