//! A user-space program or library as the module's user-stack functions
//! need it (`ubacktrace()`, `usymname()`, ...): its functions by file
//! offset, from the ELF symbol tables, and its unwind table (see
//! [`super::cfi`]). Read at translate time for the probed programs and
//! those named with `-d PATH` or found by `--ldd`.

use std::collections::BTreeMap;
use std::path::Path;

use object::{Object, ObjectSymbol, SymbolKind};

use crate::arch::Arch;
use crate::ir::{UserModule, UserSymbol};

/// Reads `file` (the target's `path`, found on this machine at `file`)
/// for a target of `arch`. The error names the file and the problem.
pub fn read_user_module(path: &str, file: &Path, arch: Arch) -> Result<UserModule, String> {
    let data = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let elf = object::File::parse(&*data)
        .map_err(|e| format!("{} is not an ELF program: {e}", file.display()))?;
    let machine = match elf.architecture() {
        object::Architecture::X86_64 => Some(Arch::X86_64),
        object::Architecture::Aarch64 => Some(Arch::Arm64),
        _ => None,
    };
    if machine != Some(arch) {
        return Err(format!(
            "{} is not a program for {arch} ({:?})",
            file.display(),
            elf.architecture()
        ));
    }
    let unwind =
        super::cfi::unwind_rows(&elf, arch).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(UserModule {
        path: path.to_string(),
        symbols: symbols(&elf, &elf),
        unwind,
        lines: Vec::new(),
        line_files: Vec::new(),
    })
}

/// Gives `module` the source lines of `debug`'s line table (file
/// offsets of the program `debug` describes).
pub fn attach_lines(module: &mut UserModule, debug: &super::userdebug::UserDebug) {
    let table = debug.line_table();
    module.lines = table
        .rows
        .iter()
        .map(|r| crate::ir::UserLine {
            offset: r.address,
            place: r.place,
        })
        .collect();
    module.line_files = table.files;
}

/// Whether the program `file` has no symbol table of its own (stripped:
/// only its dynamic symbols name functions).
pub fn is_stripped(file: &Path) -> bool {
    let Ok(data) = std::fs::read(file) else {
        return false;
    };
    object::File::parse(&*data).is_ok_and(|elf| elf.symbols().next().is_none())
}

/// Names the functions of the stripped program at `program` from the
/// symbol table of its separate debug file `debug_file` (which
/// `objcopy --only-keep-debug` keeps), as SystemTap does; its dynamic
/// symbols name only what the debug file does not.
pub fn attach_debug_symbols(
    module: &mut UserModule,
    program: &Path,
    debug_file: &Path,
) -> Result<(), String> {
    let read = |file: &Path| {
        std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    };
    let (program_data, debug_data) = (read(program)?, read(debug_file)?);
    let bad = |file: &Path, e: object::Error| format!("{} is not an ELF file: {e}", file.display());
    let program_elf = object::File::parse(&*program_data).map_err(|e| bad(program, e))?;
    let debug_elf = object::File::parse(&*debug_data).map_err(|e| bad(debug_file, e))?;
    let mut by_offset: BTreeMap<u64, UserSymbol> = symbols(&program_elf, &debug_elf)
        .into_iter()
        .map(|s| (s.offset, s))
        .collect();
    for s in module.symbols.drain(..) {
        by_offset.entry(s.offset).or_insert(s);
    }
    module.symbols = by_offset.into_values().collect();
    Ok(())
}

/// The defined functions of `elf` by file offset in the program `program`
/// (the same file, or the program `elf` is the debug file of), one name
/// per offset, with its size.
fn symbols(program: &object::File<'_>, elf: &object::File<'_>) -> Vec<UserSymbol> {
    let segments = super::file_offsets::FileOffsets::new(program);
    // Of several names for one function the symbol table's last, as
    // SystemTap names it (`__libc_start_main_impl`, not its alias
    // `__libc_start_main`); the dynamic symbols only add functions.
    let mut by_offset: BTreeMap<u64, UserSymbol> = BTreeMap::new();
    for (dynamic, symbol) in elf
        .symbols()
        .map(|s| (false, s))
        .chain(elf.dynamic_symbols().map(|s| (true, s)))
    {
        if symbol.kind() != SymbolKind::Text || !symbol.is_definition() || symbol.address() == 0 {
            continue;
        }
        let Ok(name) = symbol.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let Some(offset) = segments.offset(symbol.address()) else {
            continue;
        };
        if dynamic && by_offset.contains_key(&offset) {
            continue;
        }
        by_offset.insert(
            offset,
            UserSymbol {
                offset,
                size: symbol.size(),
                name: name.to_string(),
            },
        );
    }
    by_offset.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_program_has_main_and_rows() {
        let exe = std::env::current_exe().unwrap();
        let arch = Arch::host().unwrap();
        let m = read_user_module("/bin/t", &exe, arch).unwrap();
        assert_eq!(m.path, "/bin/t");
        assert!(m.symbols.windows(2).all(|w| w[0].offset < w[1].offset));
        let main = m.symbols.iter().find(|s| s.name == "main").unwrap();
        assert!(main.size > 0);
        assert!(!m.unwind.is_empty());
    }

    #[test]
    fn the_wrong_architecture_and_non_elf_files_are_errors() {
        let exe = std::env::current_exe().unwrap();
        let other = match Arch::host().unwrap() {
            Arch::X86_64 => Arch::Arm64,
            Arch::Arm64 => Arch::X86_64,
        };
        let e = read_user_module("/bin/t", &exe, other).unwrap_err();
        assert!(e.contains(&format!("is not a program for {other}")), "{e}");
        let toml = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
        let e = read_user_module("/x", toml, Arch::X86_64).unwrap_err();
        assert!(e.contains("is not an ELF program"), "{e}");
    }
}
