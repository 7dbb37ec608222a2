//! Call-frame information (`.eh_frame`, `.debug_frame`) of a user-space
//! program or library, reduced to the compact table the runtime's user
//! stack walker (`runtime-c/core/ustack.c`) reads: one row per change of
//! the unwind rules, sorted by file offset, saying where the canonical
//! frame address (CFA) is and where the return address and the frame
//! pointer were saved.
//!
//! Only the rules a walk of ordinary compiled code needs are kept: the CFA
//! as the stack or frame pointer plus an offset, and the return address
//! and frame pointer saved at an offset from the CFA, unchanged, or (arm64)
//! still in the link register. A row with any other rule (a DWARF
//! expression, a register other than the stack and frame pointers) says
//! "unknown", which stops the walk there; so do the gaps between
//! functions. Addresses are file offsets, so one table serves the program
//! wherever it is mapped.
//!
//! The parsing is gimli's; `.eh_frame` wins where both sections describe
//! an address.

use std::collections::BTreeMap;

use gimli::{
    BaseAddresses, CfaRule, CieOrFde, DebugFrame, EhFrame, Register, RegisterRule, RunTimeEndian,
    UnwindContext, UnwindSection,
};
use object::{Object, ObjectSection};

use super::file_offsets::FileOffsets;
use crate::arch::Arch;
use crate::ir::{UnwindCfa, UnwindRow, UnwindSaved};

/// The DWARF register numbers a walk follows on one architecture.
#[derive(Debug, Clone, Copy)]
struct Registers {
    sp: Register,
    fp: Register,
    /// The return-address column.
    ra: Register,
    /// The return address lives in a register at a function's entry
    /// (arm64's link register): no rule means "still there".
    ra_in_register: bool,
}

impl Registers {
    fn of(arch: Arch) -> Registers {
        match arch {
            Arch::X86_64 => Registers {
                sp: Register(7),
                fp: Register(6),
                ra: Register(16),
                ra_in_register: false,
            },
            Arch::Arm64 => Registers {
                sp: Register(31),
                fp: Register(29),
                ra: Register(30),
                ra_in_register: true,
            },
        }
    }
}

/// One function's rows (file offsets), before they are merged.
struct Fde {
    end: u64,
    rows: Vec<UnwindRow>,
}

/// The unwind table of the ELF file `elf` for `arch`: rows sorted by
/// file offset, each in force until the next. Empty when the file has
/// no call-frame information; an error names a section gimli could not
/// parse.
pub fn unwind_rows(elf: &object::File<'_>, arch: Arch) -> Result<Vec<UnwindRow>, String> {
    let endian = if elf.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    let regs = Registers::of(arch);
    let segments = FileOffsets::new(elf);
    let address_of = |name: &str| elf.section_by_name(name).map(|s| s.address());
    let mut bases = BaseAddresses::default();
    if let Some(a) = address_of(".eh_frame") {
        bases = bases.set_eh_frame(a);
    }
    if let Some(a) = address_of(".eh_frame_hdr") {
        bases = bases.set_eh_frame_hdr(a);
    }
    if let Some(a) = address_of(".text") {
        bases = bases.set_text(a);
    }
    if let Some(a) = address_of(".got") {
        bases = bases.set_got(a);
    }
    let data_of = |name: &str| -> Result<Option<std::borrow::Cow<'_, [u8]>>, String> {
        match elf.section_by_name(name) {
            None => Ok(None),
            Some(s) => s
                .uncompressed_data()
                .map(Some)
                .map_err(|e| format!("cannot read {name}: {e}")),
        }
    };
    let address_size = if elf.is_64() { 8 } else { 4 };
    // By start offset; the first section to describe an address keeps it.
    let mut fdes: BTreeMap<u64, Fde> = BTreeMap::new();
    if let Some(data) = data_of(".eh_frame")? {
        let mut section = EhFrame::new(&data, endian);
        section.set_address_size(address_size);
        collect(&section, &bases, regs, &|a| segments.offset(a), &mut fdes)
            .map_err(|e| format!("cannot parse .eh_frame: {e}"))?;
    }
    if let Some(data) = data_of(".debug_frame")? {
        let mut section = DebugFrame::new(&data, endian);
        section.set_address_size(address_size);
        collect(&section, &bases, regs, &|a| segments.offset(a), &mut fdes)
            .map_err(|e| format!("cannot parse .debug_frame: {e}"))?;
    }
    Ok(merge(fdes))
}

/// Adds the rows of every FDE of `section` that does not overlap one
/// already in `fdes`.
fn collect<'d, S: UnwindSection<gimli::EndianSlice<'d, RunTimeEndian>>>(
    section: &S,
    bases: &BaseAddresses,
    regs: Registers,
    offset_of: &dyn Fn(u64) -> Option<u64>,
    fdes: &mut BTreeMap<u64, Fde>,
) -> gimli::Result<()> {
    let mut ctx = Box::new(UnwindContext::new());
    let mut entries = section.entries(bases);
    while let Some(entry) = entries.next()? {
        let CieOrFde::Fde(partial) = entry else {
            continue;
        };
        let fde = partial.parse(S::cie_from_offset)?;
        if fde.len() == 0 {
            continue;
        }
        let (Some(start), Some(end)) = (
            offset_of(fde.initial_address()),
            offset_of(fde.end_address() - 1).map(|e| e + 1),
        ) else {
            continue;
        };
        let overlaps = fdes
            .range(..end)
            .next_back()
            .is_some_and(|(_, f)| f.end > start);
        if overlaps || end <= start {
            continue;
        }
        let mut rows: Vec<UnwindRow> = Vec::new();
        let mut table = fde.rows(section, bases, &mut ctx)?;
        while let Some(row) = table.next_row()? {
            let Some(at) = row.start_address().checked_sub(fde.initial_address()) else {
                continue;
            };
            let cfa = match row.cfa() {
                CfaRule::RegisterAndOffset { register, offset } => match i32::try_from(*offset) {
                    Ok(off) if *register == regs.sp => UnwindCfa::Sp(off),
                    Ok(off) if *register == regs.fp => UnwindCfa::Fp(off),
                    _ => UnwindCfa::Unknown,
                },
                CfaRule::Expression(_) => UnwindCfa::Unknown,
            };
            let ra = match row.register(regs.ra) {
                RegisterRule::Undefined if regs.ra_in_register => UnwindSaved::Same,
                RegisterRule::SameValue if regs.ra_in_register => UnwindSaved::Same,
                rule => saved(&rule, UnwindSaved::Undefined),
            };
            let fp = match row.register(regs.fp) {
                RegisterRule::Undefined | RegisterRule::SameValue => UnwindSaved::Same,
                rule => saved(&rule, UnwindSaved::Unknown),
            };
            let row = UnwindRow {
                start: start + at,
                cfa,
                ra,
                fp,
            };
            // A later row at the same address replaces the earlier one.
            match rows.last_mut() {
                Some(last) if last.start == row.start => *last = row,
                _ => rows.push(row),
            }
        }
        fdes.insert(start, Fde { end, rows });
    }
    Ok(())
}

/// A saved register's rule in the table's terms; `other` for rules the
/// table has no form for.
fn saved<T: gimli::ReaderOffset>(rule: &RegisterRule<T>, other: UnwindSaved) -> UnwindSaved {
    match rule {
        RegisterRule::Offset(off) => {
            i32::try_from(*off).map_or(UnwindSaved::Unknown, UnwindSaved::AtCfa)
        }
        RegisterRule::SameValue => UnwindSaved::Same,
        RegisterRule::Undefined => other,
        _ => UnwindSaved::Unknown,
    }
}

/// One sorted table from the functions' rows: an "unknown" row marks
/// where each function ends, unless the next begins there, and rows that
/// repeat the one before are dropped.
fn merge(fdes: BTreeMap<u64, Fde>) -> Vec<UnwindRow> {
    let mut out: Vec<UnwindRow> = Vec::new();
    let mut fdes = fdes.into_iter().peekable();
    while let Some((_, fde)) = fdes.next() {
        for row in fde.rows {
            let same = out
                .last()
                .is_some_and(|last| last.cfa == row.cfa && last.ra == row.ra && last.fp == row.fp);
            if !same {
                out.push(row);
            }
        }
        let next_start = fdes.peek().map(|(start, _)| *start);
        if next_start != Some(fde.end) {
            out.push(UnwindRow {
                start: fde.end,
                cfa: UnwindCfa::Unknown,
                ra: UnwindSaved::Unknown,
                fp: UnwindSaved::Unknown,
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "cfi_tests.rs"]
mod tests;
