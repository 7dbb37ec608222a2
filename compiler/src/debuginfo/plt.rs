//! The procedure linkage table of a dynamically linked program or
//! library: one stub per function it calls in another object, named by
//! the symbol of its `.rela.plt` relocation. Stub `i` belongs to
//! relocation `i`: on amd64 it is at `.plt.sec + 16 i` when the program
//! has a `.plt.sec` (IBT), else at `.plt + 16 (i + 1)` (after the
//! resolver's stub); on arm64 at `.plt + 32 + 16 i`. Relocations without
//! a symbol (`IRELATIVE`) keep their place but name no stub.

use object::{Architecture, Object, ObjectSection, ObjectSymbolTable, SymbolIndex};

/// One PLT stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PltEntry {
    /// The function it calls (`puts`).
    pub name: String,
    /// Its offset in the file (what a uprobe takes).
    pub offset: u64,
}

/// The PLT stubs of the ELF file `data` (named `file` in errors), in
/// the table's order; none in a program without `.rela.plt`.
pub fn plt_entries(data: &[u8], file: &str) -> Result<Vec<PltEntry>, String> {
    let elf =
        object::File::parse(data).map_err(|e| format!("{file} is not an ELF program: {e}"))?;
    let (first, stride, section) = match elf.architecture() {
        Architecture::X86_64 => match elf.section_by_name(".plt.sec") {
            Some(sec) => (0, 16, sec),
            None => match elf.section_by_name(".plt") {
                Some(plt) => (16, 16, plt),
                None => return Ok(Vec::new()),
            },
        },
        Architecture::Aarch64 => match elf.section_by_name(".plt") {
            Some(plt) => (32, 16, plt),
            None => return Ok(Vec::new()),
        },
        other => {
            return Err(format!(
                "{file}: PLT probes of {other:?} programs are not supported"
            ))
        }
    };
    let Some(rela) = elf.section_by_name(".rela.plt") else {
        return Ok(Vec::new());
    };
    if !elf.is_64() || !elf.is_little_endian() {
        return Err(format!(
            "{file}: only 64-bit little-endian programs are supported"
        ));
    }
    let relocations = rela
        .data()
        .map_err(|e| format!("{file}: cannot read .rela.plt: {e}"))?;
    let symbols = elf.dynamic_symbol_table();
    let offsets = super::file_offsets::FileOffsets::new(&elf);
    let to_offset = |address: u64| offsets.offset(address);
    let mut out = Vec::new();
    // Elf64_Rela: r_offset, r_info (symbol << 32 | type), r_addend.
    for (i, entry) in relocations.chunks_exact(24).enumerate() {
        let info = u64::from_le_bytes(entry[8..16].try_into().expect("8 bytes"));
        let symbol = (info >> 32) as usize;
        if symbol == 0 {
            continue;
        }
        let Some(name) = symbols
            .as_ref()
            .and_then(|t| t.symbol_by_index(SymbolIndex(symbol)).ok())
            .and_then(|s| object::ObjectSymbol::name(&s).ok())
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let address = section.address() + first + stride * i as u64;
        if address + stride > section.address() + section.size() {
            return Err(format!(
                "{file}: .rela.plt has more entries than {} has stubs",
                section.name().unwrap_or(".plt")
            ));
        }
        let Some(offset) = to_offset(address) else {
            continue;
        };
        out.push(PltEntry {
            name: name.to_string(),
            offset,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::ObjectSegment;

    /// Every stub found is where `objdump` puts `NAME@plt`, and each
    /// `NAME@plt` objdump shows in `.plt` and `.plt.sec` is found.
    fn agrees_with_objdump(program: &std::path::Path, objdump: &str) {
        let data = std::fs::read(program).unwrap();
        let entries = plt_entries(&data, "t").unwrap();
        assert!(entries.iter().any(|e| e.name == "puts"), "{entries:?}");
        // (`.plt.got` stubs, for functions bound at load time, are not
        // the PLT's.)
        let out = std::process::Command::new(objdump)
            .args(["-d", "--section=.plt", "--section=.plt.sec"])
            .arg(program)
            .output()
            .unwrap_or_else(|e| panic!("running {objdump}: {e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        let elf = object::File::parse(&*data).unwrap();
        let address = |offset: u64| {
            let seg = elf
                .segments()
                .find(|s| {
                    let (o, n) = s.file_range();
                    offset >= o && offset < o + n
                })
                .unwrap();
            offset - seg.file_range().0 + seg.address()
        };
        let mut ours: Vec<String> = entries
            .iter()
            .map(|e| format!("{:016x} <{}@plt>:", address(e.offset), e.name))
            .collect();
        let mut theirs: Vec<String> = text
            .lines()
            .filter(|l| l.ends_with("@plt>:"))
            .map(str::to_string)
            .collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{}", program.display());
    }

    #[test]
    fn stubs_of_compiled_programs() {
        let program = crate::debuginfo::sdt::test_program::build();
        agrees_with_objdump(&program, "objdump");
        // IBT: the stubs called are in .plt.sec.
        let ibt = crate::debuginfo::sdt::test_program::build_with(
            "cc",
            &["-fcf-protection=full", "-Wl,-z,ibtplt"],
        );
        let data = std::fs::read(&ibt).unwrap();
        assert!(object::File::parse(&*data)
            .unwrap()
            .section_by_name(".plt.sec")
            .is_some());
        agrees_with_objdump(&ibt, "objdump");
        let arm64 = crate::debuginfo::sdt::test_program::build_with("aarch64-linux-gnu-gcc", &[]);
        agrees_with_objdump(&arm64, "aarch64-linux-gnu-objdump");
    }

    #[test]
    fn a_program_without_a_plt_has_no_stubs() {
        let e = plt_entries(b"not elf", "x").unwrap_err();
        assert!(e.contains("is not an ELF program"), "{e}");
    }
}
