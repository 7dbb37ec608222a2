use super::*;

/// `.eh_frame` at this address in the hand-made sections below.
const EH_FRAME: u64 = 0x2000;

/// A CIE at offset 0 (24 bytes): version 1, "zR", code alignment 1, data
/// alignment `data_align`, return-address column `ra`, FDE pointers
/// pc-relative 4-byte, then `initial` instructions.
fn cie(data_align: u8, ra: u8, initial: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 0, 1, b'z', b'R', 0, 1, data_align, ra, 1, 0x1b];
    body.extend_from_slice(initial);
    while !(body.len() + 4).is_multiple_of(8) {
        body.push(0); // DW_CFA_nop
    }
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// An FDE for [start, start + len) appended to `section`, whose CIE is at
/// offset 0.
fn fde(section: &mut Vec<u8>, start: u64, len: u32, instructions: &[u8]) {
    let at = section.len();
    let cie_pointer = (at + 4) as u32;
    let pc_field = EH_FRAME + at as u64 + 8;
    let mut body = cie_pointer.to_le_bytes().to_vec();
    body.extend_from_slice(&((start as i64 - pc_field as i64) as i32).to_le_bytes());
    body.extend_from_slice(&len.to_le_bytes());
    body.push(0); // no augmentation data
    body.extend_from_slice(instructions);
    while !(body.len() + 4).is_multiple_of(8) {
        body.push(0);
    }
    section.extend_from_slice(&(body.len() as u32).to_le_bytes());
    section.extend(body);
}

/// The rows of a hand-made `.eh_frame` (addresses are offsets).
fn rows_of(section: &[u8], arch: Arch) -> Vec<UnwindRow> {
    let mut eh = EhFrame::new(section, RunTimeEndian::Little);
    eh.set_address_size(8);
    let bases = BaseAddresses::default().set_eh_frame(EH_FRAME);
    let mut fdes = BTreeMap::new();
    collect(&eh, &bases, Registers::of(arch), &|a| Some(a), &mut fdes).unwrap();
    merge(fdes)
}

fn row(start: u64, cfa: UnwindCfa, ra: UnwindSaved, fp: UnwindSaved) -> UnwindRow {
    UnwindRow { start, cfa, ra, fp }
}

/// x86-64's CIE: CFA = rsp + 8, return address at CFA - 8.
fn x86_cie() -> Vec<u8> {
    cie(0x78, 16, &[0x0c, 0x07, 0x08, 0x90, 0x01])
}

#[test]
fn a_frame_pointer_function_has_one_row_per_rule_change_and_an_end() {
    let mut section = x86_cie();
    // push %rbp; mov %rsp,%rbp; ...; leave; ret
    fde(
        &mut section,
        0x1000,
        0x20,
        &[
            0x41, 0x0e, 0x10, 0x86, 0x02, // +1: CFA = rsp+16, rbp at CFA-16
            0x44, 0x0d, 0x06, // +4: CFA = rbp+16
            0x4a, 0x0c, 0x07, 0x08, 0xc6, // +10: CFA = rsp+8, rbp restored
        ],
    );
    section.extend_from_slice(&[0, 0, 0, 0]);
    use UnwindCfa::*;
    use UnwindSaved::*;
    assert_eq!(
        rows_of(&section, Arch::X86_64),
        vec![
            row(0x1000, Sp(8), AtCfa(-8), Same),
            row(0x1001, Sp(16), AtCfa(-8), AtCfa(-16)),
            row(0x1005, Fp(16), AtCfa(-8), AtCfa(-16)),
            row(0x100f, Sp(8), AtCfa(-8), Same),
            row(
                0x1020,
                UnwindCfa::Unknown,
                UnwindSaved::Unknown,
                UnwindSaved::Unknown
            ),
        ]
    );
}

#[test]
fn adjacent_functions_share_rows_and_gaps_and_expressions_stop_the_walk() {
    let mut section = x86_cie();
    // Two leaf functions back to back (no end row between them, and the
    // second's identical first row is not repeated), a gap, then one
    // whose CFA is a DWARF expression and whose rbp is in another register.
    fde(&mut section, 0x1000, 0x10, &[]);
    fde(&mut section, 0x1010, 0x10, &[0x42, 0x0e, 0x10]);
    fde(
        &mut section,
        0x1040,
        0x10,
        &[
            0x0f, 0x02, 0x77, 0x08, 0x41, 0x0c, 0x07, 0x08, 0x09, 0x06, 0x03,
        ],
    );
    section.extend_from_slice(&[0, 0, 0, 0]);
    use UnwindCfa::*;
    use UnwindSaved::*;
    assert_eq!(
        rows_of(&section, Arch::X86_64),
        vec![
            row(0x1000, Sp(8), AtCfa(-8), Same),
            row(0x1012, Sp(16), AtCfa(-8), Same),
            row(
                0x1020,
                UnwindCfa::Unknown,
                UnwindSaved::Unknown,
                UnwindSaved::Unknown
            ),
            row(0x1040, UnwindCfa::Unknown, AtCfa(-8), Same),
            row(0x1041, Sp(8), AtCfa(-8), UnwindSaved::Unknown),
            row(
                0x1050,
                UnwindCfa::Unknown,
                UnwindSaved::Unknown,
                UnwindSaved::Unknown
            ),
        ]
    );
}

#[test]
fn arm64_return_addresses_start_in_the_link_register() {
    // CIE: CFA = sp + 0, data alignment -8, return address column x30.
    let mut section = cie(0x78, 30, &[0x0c, 0x1f, 0x00]);
    // stp x29, x30, [sp, #-16]!; mov x29, sp
    fde(
        &mut section,
        0x4000,
        0x18,
        &[0x41, 0x0e, 0x10, 0x9d, 0x02, 0x9e, 0x01, 0x41, 0x0d, 0x1d],
    );
    section.extend_from_slice(&[0, 0, 0, 0]);
    use UnwindCfa::*;
    use UnwindSaved::*;
    assert_eq!(
        rows_of(&section, Arch::Arm64),
        vec![
            row(0x4000, Sp(0), Same, Same),
            row(0x4001, Sp(16), AtCfa(-8), AtCfa(-16)),
            row(0x4002, Fp(16), AtCfa(-8), AtCfa(-16)),
            row(
                0x4018,
                UnwindCfa::Unknown,
                UnwindSaved::Unknown,
                UnwindSaved::Unknown
            ),
        ]
    );
}

#[test]
fn this_test_programs_main_starts_with_the_entry_rule() {
    let exe = std::env::current_exe().unwrap();
    let data = std::fs::read(&exe).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    let arch = match elf.architecture() {
        object::Architecture::Aarch64 => Arch::Arm64,
        _ => Arch::X86_64,
    };
    let rows = unwind_rows(&elf, arch).unwrap();
    assert!(
        rows.windows(2).all(|w| w[0].start < w[1].start),
        "rows not sorted"
    );
    let main = crate::debuginfo::programs::user_functions(&exe)
        .unwrap()
        .into_iter()
        .find(|f| f.name == "main")
        .unwrap();
    let at_main = rows.iter().rev().find(|r| r.start <= main.offset).unwrap();
    let entry = match arch {
        Arch::X86_64 => (UnwindCfa::Sp(8), UnwindSaved::AtCfa(-8)),
        Arch::Arm64 => (UnwindCfa::Sp(0), UnwindSaved::Same),
    };
    assert_eq!((at_main.cfa, at_main.ra), entry);
}

#[test]
fn a_corrupt_section_is_an_error_naming_it() {
    let mut section = x86_cie();
    // An FDE whose CIE pointer points nowhere.
    section.extend_from_slice(&[12, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut eh = EhFrame::new(&section, RunTimeEndian::Little);
    eh.set_address_size(8);
    let bases = BaseAddresses::default().set_eh_frame(EH_FRAME);
    let mut fdes = BTreeMap::new();
    let e = collect(
        &eh,
        &bases,
        Registers::of(Arch::X86_64),
        &|a| Some(a),
        &mut fdes,
    );
    assert!(e.is_err());
}
