//! Which tracepoints each module of a kernel's own package defines, so
//! that `kernel.trace("ext4:*")` and `stap -l 'kernel.trace("*")'` see
//! them as well as the image's.
//!
//! A module's `struct tracepoint`s are the `__tracepoint_NAME` symbols of
//! its `__tracepoints` section. Their subsystem is the `TRACE_SYSTEM` of
//! the event built on each: every `_ftrace_events` entry points (through a
//! relocation: the module is an unlinked object) at a `struct
//! trace_event_call` whose `class` pointer (second word) leads to a
//! `struct trace_event_class` whose first word is the system's name, and
//! whose `tp` pointer (third word) is the tracepoint. A bare tracepoint
//! with no event (`DECLARE_TRACE`) has no subsystem here.
//!
//! The modules come from the package [`guest_modules`](super::guest_modules)
//! downloads for guests (`RELEASE/modules.deb`), or from
//! `/lib/modules/RELEASE` for an installed kernel; every `.ko` (`.xz`,
//! `.zst`, `.gz` decompressed) is read once, by [`prepare`] (`stap-prep
//! fetch --modules`, or the step `stap` runs before pass 2 when the
//! script needs them), and the answer kept as
//! `RELEASE/module-tracepoints.tsv`, which is all [`cached`] reads.
//!
//! **Architecture Invariant:** modules are only read here, never loaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionIndex};

use super::cache::Cache;
use super::guest_modules::{decompress, module_name_of, modules_deb, read_deb_modules};
use super::{Catalog, PrepError};

/// The cache file, beside the kernel's other per-release files.
pub const CACHE_FILE: &str = "module-tracepoints.tsv";

/// The cache file's first line: its format.
const CACHE_HEADER: &str = "# stapkit module tracepoints v1: module system name";

/// The offsets in a `struct trace_event_call` of its `class` and `tp`
/// pointers (after a `struct list_head`; the same layout since 3.x), and
/// the size of a pointer: 64-bit kernels only.
const CALL_CLASS_OFFSET: u64 = 8 * 2;
const CALL_TP_OFFSET: u64 = 8 * 3;

/// One tracepoint a module defines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ModuleTracepoint {
    /// The module (`ext4`; `-` spelled `_`).
    pub module: String,
    /// Its subsystem (`ext4`), empty for a bare tracepoint.
    pub system: String,
    /// Its name (`ext4_sync_file_enter`).
    pub name: String,
}

/// Where a kernel's modules are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// A kernel `stap-prep fetch` fetched: its modules package, downloaded
    /// into the cache on first use.
    Fetched {
        /// The cache root.
        cache_dir: PathBuf,
        /// The manifest's name.
        manifest: String,
    },
    /// An installed kernel: `/lib/modules/RELEASE`, with the answer kept
    /// in `cache_file`.
    Installed {
        /// The modules directory.
        dir: PathBuf,
        /// Where the answer is cached.
        cache_file: PathBuf,
    },
}

/// A fetched kernel's entry in the cache: what was fetched, and the
/// release's directory, where the answers about its modules are kept.
pub(super) struct FetchedEntry {
    pub cache: Cache,
    pub state: super::FetchState,
    pub release_dir: PathBuf,
}

impl FetchedEntry {
    /// The entry of `manifest` in the cache at `cache_dir`; `None` when
    /// the kernel is not fetched.
    pub fn find(cache_dir: &Path, manifest: &str) -> Result<Option<FetchedEntry>, PrepError> {
        let cache = Cache::locate(Some(cache_dir));
        let Some(state) = cache.state(manifest)? else {
            return Ok(None);
        };
        let release_dir = cache.kernel_dir(manifest).join(&state.release);
        Ok(Some(FetchedEntry {
            cache,
            state,
            release_dir,
        }))
    }

    /// [`FetchedEntry::find`], a kernel that is not fetched being an error
    /// that says how to fetch it.
    pub fn require(cache_dir: &Path, manifest: &str) -> Result<FetchedEntry, PrepError> {
        Self::find(cache_dir, manifest)?.ok_or_else(|| PrepError::Layout {
            what: format!("{manifest} is not fetched; run: stap-prep fetch {manifest}"),
        })
    }
}

/// The tracepoints of every module of the kernel, sorted by name then
/// module, if they were learnt before ([`prepare`]): reads the cache file
/// only, never a package or a module, never the network.
pub fn cached(source: &ModuleSource) -> Result<Option<Vec<ModuleTracepoint>>, PrepError> {
    match source {
        ModuleSource::Fetched {
            cache_dir,
            manifest,
        } => {
            let Some(entry) = FetchedEntry::find(cache_dir, manifest)? else {
                return Ok(None);
            };
            read_cache(&entry.release_dir.join(CACHE_FILE))
        }
        ModuleSource::Installed { cache_file, .. } => read_cache(cache_file),
    }
}

/// The `stap-prep` command that learns the tracepoints of `source`'s
/// modules ahead of time, for error messages.
pub fn prepare_command(source: &ModuleSource) -> String {
    match source {
        ModuleSource::Fetched { manifest, .. } => format!("stap-prep fetch --modules {manifest}"),
        ModuleSource::Installed { dir, .. } => {
            format!("stap -l 'kernel.trace(\"*\")' (it reads {})", dir.display())
        }
    }
}

/// The tracepoints of every module of the kernel, sorted by name then
/// module: read from the cache file, else learnt from the modules
/// (downloading a fetched kernel's modules package first) and cached.
/// `progress` hears about the download, with its size, and long scans.
pub fn prepare(
    source: &ModuleSource,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<ModuleTracepoint>, PrepError> {
    match source {
        ModuleSource::Fetched {
            cache_dir,
            manifest,
        } => {
            let FetchedEntry {
                cache,
                state,
                release_dir,
            } = FetchedEntry::require(cache_dir, manifest)?;
            let file = release_dir.join(CACHE_FILE);
            if let Some(found) = read_cache(&file)? {
                return Ok(found);
            }
            let catalog = Catalog::load().map_err(PrepError::Manifest)?;
            let manifest = catalog.get(manifest).map_err(PrepError::Manifest)?;
            let _lock = cache.lock(&manifest.name)?;
            if let Some(found) = read_cache(&file)? {
                return Ok(found);
            }
            let deb = modules_deb(manifest, &cache, &state, &release_dir, progress)?;
            progress(&format!(
                "{}: reading the tracepoints of every module in {}",
                manifest.name,
                deb.display()
            ));
            let found = scan_deb(&deb, &state.release)?;
            write_cache(&file, &found)?;
            Ok(found)
        }
        ModuleSource::Installed { dir, cache_file } => {
            if let Some(found) = read_cache(cache_file)? {
                return Ok(found);
            }
            progress(&format!(
                "reading the tracepoints of every module in {}",
                dir.display()
            ));
            let found = scan_dir(dir)?;
            write_cache(cache_file, &found)?;
            Ok(found)
        }
    }
}

/// The cached answer, if there is one of this format.
fn read_cache(file: &Path) -> Result<Option<Vec<ModuleTracepoint>>, PrepError> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(PrepError::Io {
                path: file.to_path_buf(),
                error,
            })
        }
    };
    let mut lines = text.lines();
    if lines.next() != Some(CACHE_HEADER) {
        return Ok(None);
    }
    lines
        .map(|l| {
            let mut f = l.split('\t');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some(module), Some(system), Some(name), None) => Ok(ModuleTracepoint {
                    module: module.to_string(),
                    system: system.to_string(),
                    name: name.to_string(),
                }),
                _ => Err(PrepError::Corrupt {
                    path: file.to_path_buf(),
                    message: format!("bad line '{l}' (delete the file to read the modules again)"),
                }),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn write_cache(file: &Path, found: &[ModuleTracepoint]) -> Result<(), PrepError> {
    let mut text = format!("{CACHE_HEADER}\n");
    for t in found {
        text.push_str(&format!("{}\t{}\t{}\n", t.module, t.system, t.name));
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|error| PrepError::Io {
            path: dir.to_path_buf(),
            error,
        })?;
    }
    let tmp = file.with_extension("tsv.partial");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, file))
        .map_err(|error| PrepError::Io {
            path: file.to_path_buf(),
            error,
        })
}

/// A module file's path and (possibly compressed) bytes.
type ModuleFile = (String, Vec<u8>);

/// Reads the modules handed to `feed` on as many threads as the machine
/// has (decompressing is most of the work), sorted.
fn scan_files(
    feed: impl FnOnce(&dyn Fn(ModuleFile)) -> Result<(), PrepError>,
) -> Result<Vec<ModuleTracepoint>, PrepError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (tx, rx) = std::sync::mpsc::sync_channel::<ModuleFile>(workers * 2);
    let rx = std::sync::Mutex::new(rx);
    let mut found: Vec<ModuleTracepoint> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    std::thread::scope(|scope| -> Result<(), PrepError> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let rx = &rx;
                scope.spawn(move || {
                    let mut found = Vec::new();
                    let mut problems = Vec::new();
                    loop {
                        let next = rx.lock().expect("receiver lock").recv();
                        let Ok((path, data)) = next else { break };
                        let Some(module) = module_name_of(&path) else {
                            continue;
                        };
                        let result = decompress(&path, &data)
                            .and_then(|plain| tracepoints_of_module(&plain));
                        match result {
                            Ok(tps) => found.extend(tps.into_iter().map(|(system, name)| {
                                ModuleTracepoint {
                                    module: module.clone(),
                                    system,
                                    name,
                                }
                            })),
                            Err(e) => problems.push(format!("{path}: {e}")),
                        }
                    }
                    (found, problems)
                })
            })
            .collect();
        let fed = feed(&|file| {
            // A worker gone means it panicked: join reports it below.
            let _ = tx.send(file);
        });
        drop(tx);
        for h in handles {
            let (f, p) = h.join().expect("module scanner thread");
            found.extend(f);
            problems.extend(p);
        }
        fed
    })?;
    if let Some(p) = problems.first() {
        return Err(PrepError::Layout {
            what: format!("cannot read a module's tracepoints: {p}"),
        });
    }
    found.sort_by(|a, b| (&a.name, &a.module).cmp(&(&b.name, &b.module)));
    found.dedup();
    Ok(found)
}

/// Every module of `release` in the package `deb`.
fn scan_deb(deb: &Path, release: &str) -> Result<Vec<ModuleTracepoint>, PrepError> {
    scan_files(|send| {
        read_deb_modules(
            deb,
            release,
            |_| true,
            |_, path, data| {
                send((path, data));
                Ok(())
            },
        )
    })
}

/// Every module under `dir` (an installed kernel's `/lib/modules/RELEASE`;
/// symbolic links, such as its `build`, are not followed).
fn scan_dir(dir: &Path) -> Result<Vec<ModuleTracepoint>, PrepError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|error| PrepError::Io {
            path: d.clone(),
            error,
        })?;
        for e in entries.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() && module_name_of(&path.to_string_lossy()).is_some() => {
                    files.push(path);
                }
                _ => {}
            }
        }
    }
    files.sort();
    scan_files(|send| {
        for path in files {
            let data = std::fs::read(&path).map_err(|error| PrepError::Io {
                path: path.clone(),
                error,
            })?;
            send((path.to_string_lossy().into_owned(), data));
        }
        Ok(())
    })
}

/// The (subsystem, name) of every tracepoint one module (a plain ELF
/// `.ko`) defines, in name order.
pub fn tracepoints_of_module(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let elf = object::File::parse(data).map_err(|e| format!("not an ELF module: {e}"))?;
    let Some(tp_section) = elf.section_by_name("__tracepoints").map(|s| s.index()) else {
        return Ok(Vec::new());
    };
    // The module's tracepoints, by where they are in their section.
    let mut by_offset: HashMap<u64, String> = HashMap::new();
    for sym in elf.symbols() {
        if sym.section_index() != Some(tp_section) {
            continue;
        }
        if let Some(name) = sym
            .name()
            .ok()
            .and_then(|n| n.strip_prefix("__tracepoint_"))
        {
            by_offset.insert(sym.address(), name.to_string());
        }
    }
    let mut systems: HashMap<String, String> = HashMap::new();
    if let Some(events) = elf.section_by_name("_ftrace_events") {
        let mut relocs = Relocations::new(&elf);
        let entries: Vec<(SectionIndex, u64)> =
            relocs.of(events.index()).values().copied().collect();
        for (call_section, call) in entries {
            // A damaged relocation can point anywhere, up to u64::MAX.
            let (Some(tp_slot), Some(class_slot)) = (
                call.checked_add(CALL_TP_OFFSET),
                call.checked_add(CALL_CLASS_OFFSET),
            ) else {
                continue;
            };
            let tp = relocs.at(call_section, tp_slot);
            let Some(name) = tp
                .filter(|(s, _)| *s == tp_section)
                .and_then(|(_, off)| by_offset.get(&off))
            else {
                continue;
            };
            let system = relocs
                .at(call_section, class_slot)
                .and_then(|(class_section, class)| relocs.at(class_section, class))
                .and_then(|(s, off)| c_string(&elf, s, off));
            if let Some(system) = system {
                systems.insert(name.clone(), system);
            }
        }
    }
    let mut out: Vec<(String, String)> = by_offset
        .into_values()
        .map(|name| (systems.get(&name).cloned().unwrap_or_default(), name))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// A module's relocations, per section, as where each pointer-sized slot
/// points: (section, offset in it).
struct Relocations<'d, 'f> {
    elf: &'f object::File<'d>,
    sections: HashMap<SectionIndex, HashMap<u64, (SectionIndex, u64)>>,
}

impl<'d, 'f> Relocations<'d, 'f> {
    fn new(elf: &'f object::File<'d>) -> Self {
        Relocations {
            elf,
            sections: HashMap::new(),
        }
    }

    /// Every relocated slot of `section`, by offset.
    fn of(&mut self, section: SectionIndex) -> &HashMap<u64, (SectionIndex, u64)> {
        let elf = self.elf;
        self.sections.entry(section).or_insert_with(|| {
            let mut out = HashMap::new();
            let Ok(s) = elf.section_by_index(section) else {
                return out;
            };
            for (offset, r) in s.relocations() {
                let RelocationTarget::Symbol(idx) = r.target() else {
                    continue;
                };
                let Ok(sym) = elf.symbol_by_index(idx) else {
                    continue;
                };
                let Some(target_section) = sym.section_index() else {
                    continue;
                };
                let Some(to) = sym.address().checked_add_signed(r.addend()) else {
                    continue;
                };
                out.insert(offset, (target_section, to));
            }
            out
        })
    }

    /// Where the pointer at `offset` of `section` points.
    fn at(&mut self, section: SectionIndex, offset: u64) -> Option<(SectionIndex, u64)> {
        self.of(section).get(&offset).copied()
    }
}

/// The NUL-terminated string at `offset` of `section`.
fn c_string(elf: &object::File<'_>, section: SectionIndex, offset: u64) -> Option<String> {
    let data = elf.section_by_index(section).ok()?.data().ok()?;
    let rest = data.get(usize::try_from(offset).ok()?..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    let s = std::str::from_utf8(&rest[..end]).ok()?;
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf_fixture;
    use object::SectionKind;

    /// A module shaped as the kernel's trace macros lay one out (see
    /// [`elf_fixture::tracepoints`]), with this reader's idea of where an
    /// event's class and tracepoint pointers are.
    fn synthetic_module() -> Vec<u8> {
        assert_eq!(
            (elf_fixture::CALL_CLASS_OFFSET, elf_fixture::CALL_TP_OFFSET),
            (CALL_CLASS_OFFSET, CALL_TP_OFFSET)
        );
        let mut obj = elf_fixture::object();
        elf_fixture::tracepoints(&mut obj);
        obj.write().unwrap()
    }

    #[test]
    fn tracepoints_and_their_subsystems_come_from_the_event_tables() {
        let found = tracepoints_of_module(&synthetic_module()).unwrap();
        assert_eq!(
            found,
            [
                (String::new(), "tp_bare".to_string()),
                ("mysys".to_string(), "tp_event".to_string())
            ]
        );
    }

    #[test]
    fn modules_without_tracepoints_and_non_elf_files() {
        let obj = elf_fixture::object();
        assert_eq!(tracepoints_of_module(&obj.write().unwrap()).unwrap(), []);
        let e = tracepoints_of_module(b"not a module").unwrap_err();
        assert!(e.starts_with("not an ELF module"), "{e}");
    }

    #[test]
    fn an_event_pointing_to_the_top_of_the_address_space_is_skipped() {
        // A symbol at u64::MAX - 8 that `_ftrace_events` points to: the
        // slots 16 and 24 bytes further overflowed (a panic in debug).
        let mut obj = elf_fixture::object();
        let tps = elf_fixture::section(&mut obj, "__tracepoints", SectionKind::Data, &[0; 0x40], 8);
        let events =
            elf_fixture::section(&mut obj, "_ftrace_events", SectionKind::Data, &[0; 8], 8);
        elf_fixture::data_symbol(&mut obj, "__tracepoint_tp", tps, 0, 8);
        let top = elf_fixture::data_symbol(&mut obj, "top", tps, u64::MAX - 8, 8);
        elf_fixture::abs64(&mut obj, events, 0, top, 0);
        let found = tracepoints_of_module(&obj.write().unwrap()).unwrap();
        assert_eq!(found, [(String::new(), "tp".to_string())]);
    }

    #[test]
    fn the_cache_file_round_trips_and_refuses_damage() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("r/module-tracepoints.tsv");
        assert_eq!(read_cache(&file).unwrap(), None);
        let list = vec![
            ModuleTracepoint {
                module: "ext4".into(),
                system: "ext4".into(),
                name: "ext4_sync_file_enter".into(),
            },
            ModuleTracepoint {
                module: "m".into(),
                system: String::new(),
                name: "bare".into(),
            },
        ];
        write_cache(&file, &list).unwrap();
        assert_eq!(read_cache(&file).unwrap(), Some(list));
        std::fs::write(&file, format!("{CACHE_HEADER}\nonly two\tfields\n")).unwrap();
        let e = read_cache(&file).unwrap_err().to_string();
        assert!(e.contains("bad line 'only two\tfields'"), "{e}");
        // Another format is read again from the modules.
        std::fs::write(&file, "# older\n").unwrap();
        assert_eq!(read_cache(&file).unwrap(), None);
    }

    #[test]
    fn installed_modules_are_found_under_their_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("kernel/fs/x");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("x.ko"), synthetic_module()).unwrap();
        std::fs::write(dir.join("modules.order"), "x\n").unwrap();
        // `build` points at the headers (here: elsewhere with a module):
        // not followed.
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("y.ko"), synthetic_module()).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.path().join("kernel/build")).unwrap();
        let source = ModuleSource::Installed {
            dir: tmp.path().join("kernel"),
            cache_file: tmp.path().join("cache/module-tracepoints.tsv"),
        };
        assert_eq!(cached(&source).unwrap(), None);
        let found = prepare(&source, &mut |_| {}).unwrap();
        let names: Vec<String> = found
            .iter()
            .map(|t| format!("{} {}:{}", t.module, t.system, t.name))
            .collect();
        assert_eq!(names, ["x :tp_bare", "x mysys:tp_event"]);
        assert!(tmp.path().join("cache/module-tracepoints.tsv").is_file());
        assert_eq!(cached(&source).unwrap().as_ref(), Some(&found));
        // The second time, from the cache (the module is gone).
        std::fs::remove_file(dir.join("x.ko")).unwrap();
        assert_eq!(prepare(&source, &mut |_| {}).unwrap(), found);
    }
}
