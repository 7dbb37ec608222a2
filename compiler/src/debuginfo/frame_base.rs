//! The canonical frame address at one instruction of a program, from its
//! call frame information (`.eh_frame`, kept in stripped programs, or
//! `.debug_frame` of its debug file), read with gimli's unwinder: what
//! turns a variable's `DW_OP_fbreg` (the CFA plus an offset) into a
//! register plus an offset a probe handler can read.

use gimli::{BaseAddresses, CfaRule, EhFrame, RunTimeEndian, UnwindContext, UnwindSection};
use object::{Object, ObjectSection};

/// The CFA at `pc` as DWARF register plus offset, from the ELF `data`'s
/// `.eh_frame` or `.debug_frame`.
pub fn cfa_at(data: &[u8], pc: u64) -> Result<(u16, i64), String> {
    let elf = object::File::parse(data).map_err(|e| e.to_string())?;
    let endian = if elf.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let section = |name: &str| {
        elf.section_by_name(name)
            .filter(|s| s.file_range().is_some())
            .and_then(|s| Some((s.address(), s.data().ok()?)))
            .filter(|(_, d)| !d.is_empty())
    };
    let mut bases = BaseAddresses::default();
    if let Some(text) = elf.section_by_name(".text") {
        bases = bases.set_text(text.address());
    }
    if let Some(got) = elf.section_by_name(".got") {
        bases = bases.set_got(got.address());
    }
    let rule = |r: &CfaRule<usize>| match r {
        CfaRule::RegisterAndOffset { register, offset } => Ok((register.0, *offset)),
        CfaRule::Expression(_) => Err(format!(
            "the frame address at 0x{pc:x} is an expression, which stapkit does not evaluate"
        )),
    };
    let mut why = Vec::new();
    if let Some((address, bytes)) = section(".eh_frame") {
        let mut eh = EhFrame::new(bytes, endian);
        eh.set_address_size(8);
        let bases = bases.clone().set_eh_frame(address);
        let mut ctx = UnwindContext::new();
        match eh.unwind_info_for_address(&bases, &mut ctx, pc, EhFrame::cie_from_offset) {
            Ok(row) => return rule(row.cfa()),
            Err(e) => why.push(format!(".eh_frame: {e}")),
        }
    }
    if let Some((_, bytes)) = section(".debug_frame") {
        let mut df = gimli::DebugFrame::new(bytes, endian);
        df.set_address_size(8);
        let mut ctx = UnwindContext::new();
        match df.unwind_info_for_address(&bases, &mut ctx, pc, gimli::DebugFrame::cie_from_offset) {
            Ok(row) => return rule(row.cfa()),
            Err(e) => why.push(format!(".debug_frame: {e}")),
        }
    }
    if why.is_empty() {
        why.push("no .eh_frame or .debug_frame".into());
    }
    Err(format!(
        "no call frame information covers 0x{pc:x} ({})",
        why.join(", ")
    ))
}
