//! User-space programs on the build host: the functions of an ELF
//! program or library (its symbol tables) and where each one's first
//! instruction is in the file, which is what a uprobe takes.

use std::path::Path;

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};

/// A function found in a program's symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFunction {
    /// The symbol's name.
    pub name: String,
    /// Where its first instruction is in the file (what uprobes take).
    pub offset: u64,
}

/// The defined functions of an ELF program or library, by name (first
/// definition of each name), with their file offsets.
pub fn user_functions(file: &Path) -> Result<Vec<UserFunction>, String> {
    let data = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let elf = object::File::parse(&*data)
        .map_err(|e| format!("{} is not an ELF program: {e}", file.display()))?;
    // The loadable segments: (address, size in the file, file offset).
    let segments: Vec<(u64, u64, u64)> = elf
        .segments()
        .map(|s| {
            let (offset, size) = s.file_range();
            (s.address(), size, offset)
        })
        .collect();
    let mut functions: Vec<UserFunction> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for symbol in elf.symbols().chain(elf.dynamic_symbols()) {
        if symbol.kind() != SymbolKind::Text || !symbol.is_definition() || symbol.address() == 0 {
            continue;
        }
        let Ok(name) = symbol.name() else { continue };
        if name.is_empty() || !seen.insert(name.to_string()) {
            continue;
        }
        let address = symbol.address();
        let Some(offset) = segments
            .iter()
            .find(|(start, size, _)| address >= *start && address < start + size)
            .map(|(start, _, offset)| address - start + offset)
        else {
            continue;
        };
        functions.push(UserFunction {
            name: name.to_string(),
            offset,
        });
    }
    if functions.is_empty() {
        return Err(format!(
            "{} has no function symbols (stripped?)",
            file.display()
        ));
    }
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(functions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_of_this_test_binary_have_file_offsets() {
        let exe = std::env::current_exe().unwrap();
        let functions = user_functions(&exe).unwrap();
        assert!(functions.iter().any(|f| f.name == "main"), "no main");
        let data = std::fs::read(&exe).unwrap();
        assert!(functions.iter().all(|f| (f.offset as usize) < data.len()));
    }

    #[test]
    fn missing_and_non_elf_files_are_errors() {
        let e = user_functions(Path::new("/no/such/program")).unwrap_err();
        assert!(e.starts_with("cannot read /no/such/program: "), "{e}");
        let e = user_functions(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Cargo.toml"
        )))
        .unwrap_err();
        assert!(e.contains("is not an ELF program"), "{e}");
    }
}
