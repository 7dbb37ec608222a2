//! The type information of the kernel's loadable modules: each module of
//! a kernel built with `CONFIG_DEBUG_INFO_BTF_MODULES` carries a split
//! `.BTF` section, which extends the image's BTF with the module's own
//! functions and the structs only it uses (`struct scsi_device` in
//! `sd_mod`, `struct ext4_sb_info` in `ext4`). `module("ext4").function`
//! `$vars` and `@cast(p, "T", "ext4")` are typed from it, as SystemTap types
//! them from the module's DWARF.
//!
//! For a fetched kernel the modules come from the package
//! [`guest_modules`](super::guest_modules) downloads (`RELEASE/modules.deb`).
//! [`prepare`] (the step `stap` runs before pass 2 for the modules a script
//! names) takes each named module's `.BTF` out of it once and keeps it as
//! `RELEASE/module-btf/NAME.btf`, or records why there is none: in
//! `NAME.missing` when the package has no such module (built in, or not
//! built), in `NAME.none` when the module has no `.BTF`; [`cached`] reads
//! only those files. For an installed kernel, [`cached`] reads the module under
//! `/lib/modules/RELEASE` itself.
//!
//! Beside the BTF, [`prepare`] keeps the module's function symbols
//! (`NAME.funcs`, [`cached_functions`]): pahole leaves out of the BTF a
//! function whose name another function of the module shares, and one the
//! compiler specialised (`rpc_call_sync` beside `rpc_call_sync.part.0`),
//! though the function is there to probe; and a name two functions share
//! (a static `nfsd_open` before the global one) is placed by the kernel on
//! the first in the module's symbol table, which the symbols show.
//!
//! **Architecture Invariant:** modules are only read here, never loaded.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

use super::guest_modules::{decompress, module_name_of, modules_deb, normalize, read_deb_modules};
use super::module_tracepoints::{FetchedEntry, ModuleSource};
use super::{Catalog, PrepError};

/// The cache directory, beside the kernel's other per-release files.
pub const CACHE_DIR: &str = "module-btf";

/// What is known of one module's BTF.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleBtf {
    /// Its split `.BTF` section.
    Found(Vec<u8>),
    /// The kernel has no such loadable module (built in, or not built),
    /// and where it was looked for.
    NoModule(String),
    /// The module has no BTF, and why.
    Absent(String),
    /// Not learnt yet ([`prepare`] learns it).
    NotLearnt,
}

/// The `.BTF` section of a module file's (decompressed) bytes, if it has
/// one.
pub fn btf_section(module: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let file = object::File::parse(module).map_err(|e| format!("not an ELF module: {e}"))?;
    match file.section_by_name(".BTF") {
        None => Ok(None),
        Some(s) => s
            .data()
            .map(|d| Some(d.to_vec()))
            .map_err(|e| format!("unreadable .BTF section: {e}")),
    }
}

/// The extension of the file of a module's function symbols.
const FUNCS: &str = "funcs";

/// One function symbol of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSymbol {
    pub name: String,
    /// Local to its file (`static`), not global.
    pub local: bool,
}

/// The function symbols a module file's (decompressed) bytes define, in
/// the order of its symbol table (the order in which the kernel, placing a
/// kprobe by `module:name`, looks a name up).
pub fn function_symbols(module: &[u8]) -> Result<Vec<FunctionSymbol>, String> {
    let file = object::File::parse(module).map_err(|e| format!("not an ELF module: {e}"))?;
    Ok(file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition())
        .filter_map(|s| {
            Some(FunctionSymbol {
                name: s.name().ok()?.to_string(),
                local: s.is_local(),
            })
        })
        .filter(|s| !s.name.is_empty())
        .collect())
}

fn functions_text(symbols: &[FunctionSymbol]) -> String {
    symbols
        .iter()
        .map(|s| format!("{} {}\n", if s.local { 'l' } else { 'g' }, s.name))
        .collect()
}

fn parse_functions(text: &str) -> Vec<FunctionSymbol> {
    text.lines()
        .filter_map(|l| {
            let (kind, name) = l.split_once(' ')?;
            Some(FunctionSymbol {
                name: name.to_string(),
                local: kind == "l",
            })
        })
        .collect()
}

/// Module `name`'s function symbols, when learnt: the cache's file for a
/// fetched kernel (`None` when [`prepare`] has not kept it, or there is
/// no such module), the module file itself for an installed one.
pub fn cached_functions(
    source: &ModuleSource,
    name: &str,
) -> Result<Option<Vec<FunctionSymbol>>, PrepError> {
    let name = normalize(name);
    match source {
        ModuleSource::Fetched {
            cache_dir,
            manifest,
        } => {
            let Some(entry) = FetchedEntry::find(cache_dir, manifest)? else {
                return Ok(None);
            };
            let path = entry
                .release_dir
                .join(CACHE_DIR)
                .join(format!("{name}.{FUNCS}"));
            match std::fs::read(&path) {
                Ok(d) => Ok(Some(parse_functions(&String::from_utf8_lossy(&d)))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(PrepError::Io { path, error }),
            }
        }
        ModuleSource::Installed { dir, .. } => {
            let Some(path) = find_installed(dir, &name) else {
                return Ok(None);
            };
            let plain = read_installed(&path)?;
            function_symbols(&plain)
                .map(Some)
                .map_err(|message| corrupt(&path, message))
        }
    }
}

/// An installed module file's bytes, decompressed (`.ko.xz`, `.ko.zst`, ...).
fn read_installed(path: &Path) -> Result<Vec<u8>, PrepError> {
    let data = std::fs::read(path).map_err(|error| PrepError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    decompress(&path.to_string_lossy(), &data).map_err(|message| corrupt(path, message))
}

/// A module file that could not be read as one.
fn corrupt(path: &Path, message: String) -> PrepError {
    PrepError::Corrupt {
        path: path.to_path_buf(),
        message,
    }
}

/// What is known of module `name`'s BTF: the cache's files for a fetched
/// kernel (never a package, never the network), the module file itself
/// for an installed one.
pub fn cached(source: &ModuleSource, name: &str) -> Result<ModuleBtf, PrepError> {
    let name = normalize(name);
    match source {
        ModuleSource::Fetched {
            cache_dir,
            manifest,
        } => {
            let Some(entry) = FetchedEntry::find(cache_dir, manifest)? else {
                return Ok(ModuleBtf::NotLearnt);
            };
            read_cached(&entry.release_dir.join(CACHE_DIR), &name)
        }
        ModuleSource::Installed { dir, .. } => {
            let Some(path) = find_installed(dir, &name) else {
                return Ok(ModuleBtf::NoModule(format!(
                    "there is no module '{name}' under {} (built in, or not built for this kernel?)",
                    dir.display()
                )));
            };
            let plain = read_installed(&path)?;
            Ok(
                match btf_section(&plain).map_err(|message| corrupt(&path, message))? {
                    Some(btf) => ModuleBtf::Found(btf),
                    None => ModuleBtf::Absent(no_btf(&path.to_string_lossy())),
                },
            )
        }
    }
}

/// Takes the `.BTF` of each module of `names` not learnt yet out of the
/// kernel's modules package (downloading it first if need be) into the
/// cache. `progress` hears about the download and the scan. An installed
/// kernel needs nothing prepared.
pub fn prepare(
    source: &ModuleSource,
    names: &[String],
    progress: &mut dyn FnMut(&str),
) -> Result<(), PrepError> {
    let ModuleSource::Fetched {
        cache_dir,
        manifest,
    } = source
    else {
        return Ok(());
    };
    let FetchedEntry {
        cache,
        state,
        release_dir,
    } = FetchedEntry::require(cache_dir, manifest)?;
    let dir = release_dir.join(CACHE_DIR);
    let unknown = |names: &mut dyn Iterator<Item = String>| -> Result<BTreeSet<String>, PrepError> {
        let mut out = BTreeSet::new();
        for n in names {
            let learnt = match read_cached(&dir, &n)? {
                ModuleBtf::NotLearnt => false,
                ModuleBtf::NoModule(_) => true,
                // Caches from before the symbols were kept lack them.
                ModuleBtf::Found(_) | ModuleBtf::Absent(_) => {
                    dir.join(format!("{n}.{FUNCS}")).exists()
                }
            };
            if !learnt {
                out.insert(n);
            }
        }
        Ok(out)
    };
    if unknown(&mut names.iter().map(|n| normalize(n)))?.is_empty() {
        return Ok(());
    }
    let catalog = Catalog::load().map_err(PrepError::Manifest)?;
    let manifest = catalog.get(manifest).map_err(PrepError::Manifest)?;
    let _lock = cache.lock(&manifest.name)?;
    let missing = unknown(&mut names.iter().map(|n| normalize(n)))?;
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|error| PrepError::Io {
        path: dir.clone(),
        error,
    })?;
    let deb = modules_deb(manifest, &cache, &state, &release_dir, progress)?;
    progress(&format!(
        "{}: reading the types of module(s) {} in {}",
        manifest.name,
        missing.iter().cloned().collect::<Vec<_>>().join(", "),
        deb.display()
    ));
    let mut seen = BTreeSet::new();
    read_deb_modules(
        &deb,
        &state.release,
        |n| missing.contains(n),
        |name, path, data| {
            let corrupt = |message: String| PrepError::Corrupt {
                path: deb.clone(),
                message: format!("{path}: {message}"),
            };
            let plain = decompress(&path, &data).map_err(corrupt)?;
            let symbols = function_symbols(&plain).map_err(corrupt)?;
            write(&dir, &name, FUNCS, functions_text(&symbols).as_bytes())?;
            if read_cached(&dir, &name)? == ModuleBtf::NotLearnt {
                match btf_section(&plain).map_err(corrupt)? {
                    Some(btf) => write(&dir, &name, "btf", &btf)?,
                    None => write(&dir, &name, "none", no_btf(&path).as_bytes())?,
                }
            }
            seen.insert(name);
            Ok(())
        },
    )?;
    for name in missing.difference(&seen) {
        let why = format!(
            "the {} kernel's package {} has no module '{name}' (built in, or not built for this kernel?)",
            state.release,
            deb.display()
        );
        write(&dir, name, "missing", why.as_bytes())?;
    }
    Ok(())
}

fn no_btf(path: &str) -> String {
    format!("{path} has no .BTF section (a kernel built without CONFIG_DEBUG_INFO_BTF_MODULES)")
}

fn read_cached(dir: &Path, name: &str) -> Result<ModuleBtf, PrepError> {
    let read = |ext: &str| {
        let path = dir.join(format!("{name}.{ext}"));
        match std::fs::read(&path) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(PrepError::Io { path, error }),
        }
    };
    if let Some(btf) = read("btf")? {
        return Ok(ModuleBtf::Found(btf));
    }
    if let Some(why) = read("missing")? {
        return Ok(ModuleBtf::NoModule(
            String::from_utf8_lossy(&why).into_owned(),
        ));
    }
    Ok(match read("none")? {
        Some(why) => ModuleBtf::Absent(String::from_utf8_lossy(&why).into_owned()),
        None => ModuleBtf::NotLearnt,
    })
}

fn write(dir: &Path, name: &str, ext: &str, data: &[u8]) -> Result<(), PrepError> {
    let file = dir.join(format!("{name}.{ext}"));
    let tmp = dir.join(format!("{name}.{ext}.partial"));
    std::fs::write(&tmp, data)
        .and_then(|_| std::fs::rename(&tmp, &file))
        .map_err(|error| PrepError::Io { path: file, error })
}

/// The file of module `name` under an installed kernel's modules
/// directory.
fn find_installed(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t)
                    if t.is_file()
                        && module_name_of(&path.to_string_lossy()).as_deref() == Some(name) =>
                {
                    return Some(path);
                }
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_say_found_absent_or_not_learnt() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_cached(dir.path(), "ext4").unwrap(),
            ModuleBtf::NotLearnt
        );
        write(dir.path(), "ext4", "btf", b"\x9f\xeb").unwrap();
        write(dir.path(), "nfsd", "none", b"no BTF").unwrap();
        write(dir.path(), "ext3", "missing", b"no module").unwrap();
        assert_eq!(
            read_cached(dir.path(), "ext4").unwrap(),
            ModuleBtf::Found(b"\x9f\xeb".to_vec())
        );
        assert_eq!(
            read_cached(dir.path(), "nfsd").unwrap(),
            ModuleBtf::Absent("no BTF".into())
        );
        assert_eq!(
            read_cached(dir.path(), "ext3").unwrap(),
            ModuleBtf::NoModule("no module".into())
        );
    }

    #[test]
    fn installed_modules_are_found_by_name_compressed_or_not() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("kernel/drivers/scsi");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("sd_mod.ko.xz"), b"x").unwrap();
        assert_eq!(
            find_installed(dir.path(), "sd_mod"),
            Some(sub.join("sd_mod.ko.xz"))
        );
        assert_eq!(find_installed(dir.path(), "ext4"), None);
        let source = ModuleSource::Installed {
            dir: dir.path().to_path_buf(),
            cache_file: dir.path().join("unused"),
        };
        assert!(matches!(
            cached(&source, "ext4").unwrap(),
            ModuleBtf::NoModule(why) if why.contains("no module 'ext4'")
        ));
    }

    #[test]
    fn a_file_that_is_not_elf_is_an_error_not_a_panic() {
        assert!(btf_section(b"not an elf").is_err());
        assert!(function_symbols(b"not an elf").is_err());
    }

    #[test]
    fn function_symbols_keep_their_order_and_binding_through_the_cache_file() {
        let symbols = vec![
            FunctionSymbol {
                name: "nfsd_open".into(),
                local: true,
            },
            FunctionSymbol {
                name: "rpc_call_sync.part.0".into(),
                local: true,
            },
            FunctionSymbol {
                name: "nfsd_open".into(),
                local: false,
            },
        ];
        let text = functions_text(&symbols);
        assert_eq!(text, "l nfsd_open\nl rpc_call_sync.part.0\ng nfsd_open\n");
        assert_eq!(parse_functions(&text), symbols);
    }

    #[test]
    fn an_elf_object_s_function_symbols_are_read_in_table_order() {
        // This test binary's own symbols: a real ELF with both bindings.
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let symbols = function_symbols(&me).unwrap();
        assert!(symbols.iter().any(|s| s.local));
        assert!(symbols.iter().any(|s| !s.local && s.name == "main"));
        let first_global = symbols.iter().position(|s| !s.local).unwrap();
        assert!(symbols[..first_global].iter().all(|s| s.local));
    }
}
