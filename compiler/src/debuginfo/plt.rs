//! The procedure linkage table of a dynamically linked program or
//! library: one stub per function it calls in another object, named by
//! the symbol of the `.rela.plt` relocation of the GOT slot the stub
//! jumps through. Each stub's slot is read from its code (amd64:
//! `jmp *DISP(%rip)`, after `endbr64` and `bnd` where present; arm64:
//! `adrp x16, PAGE; ldr x17, [x16, OFF]`): the linker orders stubs by
//! slot, not by relocation (glibc's `libc.so.6` puts its `IRELATIVE`
//! relocations last but their stubs among the others). The stubs are at
//! `.plt.sec` when the file has one (amd64 IBT), else in `.plt` after
//! the resolver's stub (16 bytes on amd64, 32 on arm64), 16 bytes each.
//! A file whose stubs do not decode falls back to stub `i` for
//! relocation `i`. Relocations without a symbol (`IRELATIVE`) name no
//! stub.

use std::collections::HashMap;

use object::{Architecture, Object, ObjectSection, ObjectSymbolTable, SymbolIndex};

/// One PLT stub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PltEntry {
    /// The function it calls (`puts`).
    pub name: String,
    /// Its offset in the file (what a uprobe takes).
    pub offset: u64,
}

/// The GOT slot the stub `code` at `address` jumps through, if its code
/// is a stub's.
fn stub_slot(arch: Architecture, code: &[u8], address: u64) -> Option<u64> {
    match arch {
        Architecture::X86_64 => {
            // jmp *DISP(%rip), optionally after endbr64 and/or bnd.
            for at in [0usize, 1, 4, 5] {
                let op = code.get(at..at + 6)?;
                if op[0] == 0xff && op[1] == 0x25 {
                    if (at == 1 || at == 5) && code[at - 1] != 0xf2 {
                        continue;
                    }
                    if at >= 4 && code[..4] != [0xf3, 0x0f, 0x1e, 0xfa] {
                        continue;
                    }
                    let disp = i32::from_le_bytes(op[2..6].try_into().ok()?);
                    let next = address + at as u64 + 6;
                    return Some(next.wrapping_add(disp as i64 as u64));
                }
            }
            None
        }
        Architecture::Aarch64 => {
            let word = |i: usize| -> Option<u32> {
                Some(u32::from_le_bytes(
                    code.get(i * 4..i * 4 + 4)?.try_into().ok()?,
                ))
            };
            let (adrp, ldr) = (word(0)?, word(1)?);
            // adrp x16, PAGE
            if adrp & 0x9f00_001f != 0x9000_0010 {
                return None;
            }
            // ldr x17, [x16, #OFF] (64-bit, unsigned offset)
            if ldr & 0xffc0_03ff != 0xf940_0211 {
                return None;
            }
            let immlo = u64::from((adrp >> 29) & 3);
            let immhi = u64::from((adrp >> 5) & 0x7ffff);
            let imm = (immhi << 2) | immlo;
            // Sign-extend the 21-bit page count.
            let pages = ((imm << 43) as i64) >> 43;
            let page = (address & !0xfff).wrapping_add((pages << 12) as u64);
            Some(page + u64::from((ldr >> 10) & 0xfff) * 8)
        }
        _ => None,
    }
}

/// The PLT stubs of the ELF file `data` (named `file` in errors), in
/// the table's order; none in a program without `.rela.plt`.
pub fn plt_entries(data: &[u8], file: &str) -> Result<Vec<PltEntry>, String> {
    let elf =
        object::File::parse(data).map_err(|e| format!("{file} is not an ELF program: {e}"))?;
    let arch = elf.architecture();
    let (first, stride, section) = match arch {
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
    // Elf64_Rela: r_offset, r_info (symbol << 32 | type), r_addend.
    // Each relocation's GOT slot and symbol name (None: no symbol).
    let named: Vec<(u64, Option<&str>)> = relocations
        .chunks_exact(24)
        .map(|entry| {
            let slot = u64::from_le_bytes(entry[0..8].try_into().expect("8 bytes"));
            let info = u64::from_le_bytes(entry[8..16].try_into().expect("8 bytes"));
            let symbol = (info >> 32) as usize;
            let name = (symbol != 0)
                .then(|| {
                    symbols
                        .as_ref()
                        .and_then(|t| t.symbol_by_index(SymbolIndex(symbol)).ok())
                        .and_then(|s| object::ObjectSymbol::name(&s).ok())
                        .filter(|n| !n.is_empty())
                })
                .flatten();
            (slot, name)
        })
        .collect();
    // A static program's `.rela.plt` holds only `IRELATIVE` relocations
    // (its ifuncs' slots, with stubs of another size): nothing to name.
    if named.iter().all(|(_, name)| name.is_none()) {
        return Ok(Vec::new());
    }
    let code = section.data().map_err(|e| {
        format!(
            "{file}: cannot read {}: {e}",
            section.name().unwrap_or(".plt")
        )
    })?;
    let stubs = (code.len() as u64).saturating_sub(first) / stride;
    if (named.len() as u64) > stubs {
        return Err(format!(
            "{file}: .rela.plt has more entries than {} has stubs",
            section.name().unwrap_or(".plt")
        ));
    }
    // Stub i's slot, read from its code; by relocation order when any
    // stub does not decode.
    let slots: Option<Vec<u64>> = (0..named.len() as u64)
        .map(|i| {
            let at = (first + stride * i) as usize;
            stub_slot(
                arch,
                &code[at..at + stride as usize],
                section.address() + at as u64,
            )
        })
        .collect();
    let by_slot: HashMap<u64, Option<&str>> = named.iter().copied().collect();
    let mut out = Vec::new();
    for i in 0..named.len() {
        let name = match &slots {
            Some(slots) => by_slot.get(&slots[i]).copied().flatten(),
            None => named[i].1,
        };
        let Some(name) = name else {
            continue;
        };
        let address = section.address() + first + stride * i as u64;
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

    /// Stubs whose slots are not in relocation order (glibc's libc.so.6:
    /// its IRELATIVE relocations come last) are named by their slots.
    #[test]
    fn stubs_are_named_by_the_slot_they_jump_through() {
        // jmp *DISP(%rip) at 0x1010 to the slot 0x3018: DISP = 0x3018 - 0x1016.
        let disp = (0x3018i32 - 0x1016).to_le_bytes();
        let code = [
            0xff, 0x25, disp[0], disp[1], disp[2], disp[3], 0x68, 0, 0, 0,
        ];
        assert_eq!(stub_slot(Architecture::X86_64, &code, 0x1010), Some(0x3018));
        // With endbr64 and bnd (.plt.sec).
        let disp = (0x3018i32 - 0x101b).to_le_bytes();
        let code = [
            0xf3, 0x0f, 0x1e, 0xfa, 0xf2, 0xff, 0x25, disp[0], disp[1], disp[2], disp[3],
        ];
        assert_eq!(stub_slot(Architecture::X86_64, &code, 0x1010), Some(0x3018));
        assert_eq!(stub_slot(Architecture::X86_64, &[0x90; 16], 0x1010), None);
        // arm64: adrp x16, #0x10000 (from 0x400a20); ldr x17, [x16, #0x28].
        let adrp: u32 = 0x9000_0010 | (0x10 << 5); // immhi = 0x10 pages >> 2, immlo = 0
        let ldr: u32 = 0xf940_0211 | ((0x28 / 8) << 10);
        let mut code = Vec::new();
        code.extend(adrp.to_le_bytes());
        code.extend(ldr.to_le_bytes());
        assert_eq!(
            stub_slot(Architecture::Aarch64, &code, 0x400a20),
            Some(0x400000 + (0x40 << 12) + 0x28)
        );
    }

    #[test]
    fn a_program_without_a_plt_has_no_stubs() {
        let e = plt_entries(b"not elf", "x").unwrap_err();
        assert!(e.contains("is not an ELF program"), "{e}");
    }

    /// A static glibc program has a `.plt` of `IRELATIVE` stubs (its
    /// ifuncs), none of which calls another object: no stubs, no error.
    #[test]
    fn a_static_program_has_no_stubs() {
        use crate::debuginfo::testprog;
        let dir = tempfile::tempdir().unwrap();
        let tools = testprog::Toolchain {
            options: &["-static"],
            ..testprog::HOST
        };
        let split =
            testprog::build_in(dir.path(), "userdebug", testprog::USERDEBUG, tools).unwrap();
        let data = std::fs::read(&split.stripped).unwrap();
        let elf = object::File::parse(&*data).unwrap();
        assert!(elf.section_by_name(".rela.plt").is_some());
        assert_eq!(plt_entries(&data, "userdebug"), Ok(Vec::new()));
    }
}
