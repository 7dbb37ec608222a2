//! ELF objects laid out as kbuild lays out a kernel module, for tests.
//!
//! One builder for the library's unit tests of the module readers
//! (`kernel::modcheck`, `kernel::module_tracepoints`, which include this
//! file with `#[path]` under `#[cfg(test)]`) and for the seeds that
//! `fuzz_readers` mutates (`readers`), so that both read the same shapes.
//! It needs `object`'s `write` feature, a dev-dependency.

#![allow(dead_code)]

use object::write::{Object, Relocation, SectionId, Symbol, SymbolId, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationEncoding, RelocationFlags, RelocationKind,
    SectionKind, SymbolFlags, SymbolKind, SymbolScope,
};

/// Where `struct trace_event_call` holds its class pointer and its
/// tracepoint pointer, as the kernels stapkit targets lay it out.
pub const CALL_CLASS_OFFSET: u64 = 8 * 2;
/// See [`CALL_CLASS_OFFSET`].
pub const CALL_TP_OFFSET: u64 = 8 * 3;

/// An empty x86-64 relocatable object.
pub fn object() -> Object<'static> {
    Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little)
}

/// A new section `name` holding `data`, aligned to `align`.
pub fn section(
    obj: &mut Object<'_>,
    name: &str,
    kind: SectionKind,
    data: &[u8],
    align: u64,
) -> SectionId {
    let s = obj.add_section(Vec::new(), name.as_bytes().to_vec(), kind);
    obj.append_section_data(s, data, align);
    s
}

/// `.modinfo`: each `key=value` field NUL-terminated.
pub fn modinfo(obj: &mut Object<'_>, fields: &[&str]) {
    let info: Vec<u8> = fields.iter().flat_map(|f| f.bytes().chain([0])).collect();
    section(obj, ".modinfo", SectionKind::ReadOnlyData, &info, 1);
}

/// `__versions`: a 64-bit CRC and a 56-byte name per imported symbol.
pub fn versions(obj: &mut Object<'_>, entries: &[(&str, u64)]) {
    let mut bytes = Vec::new();
    for (name, crc) in entries {
        bytes.extend_from_slice(&crc.to_le_bytes());
        let mut n = name.as_bytes().to_vec();
        n.resize(56, 0);
        bytes.extend_from_slice(&n);
    }
    section(obj, "__versions", SectionKind::ReadOnlyData, &bytes, 8);
}

/// `.gnu.linkonce.this_module`, the module's `struct module` (zeroed).
pub fn this_module(obj: &mut Object<'_>) {
    section(
        obj,
        ".gnu.linkonce.this_module",
        SectionKind::Data,
        &[0; 64],
        8,
    );
}

/// A linkage symbol `name` at `value` of `section`, `size` bytes long.
pub fn data_symbol(
    obj: &mut Object<'_>,
    name: &str,
    section: SectionId,
    value: u64,
    size: u64,
) -> SymbolId {
    obj.add_symbol(Symbol {
        name: name.as_bytes().to_vec(),
        value,
        size,
        kind: SymbolKind::Data,
        scope: SymbolScope::Linkage,
        weak: false,
        section: SymbolSection::Section(section),
        flags: SymbolFlags::None,
    })
}

/// Undefined symbols: what the module imports.
pub fn undefined(obj: &mut Object<'_>, names: &[&str]) {
    for name in names {
        obj.add_symbol(Symbol {
            name: name.as_bytes().to_vec(),
            value: 0,
            size: 0,
            kind: SymbolKind::Unknown,
            scope: SymbolScope::Linkage,
            weak: false,
            section: SymbolSection::Undefined,
            flags: SymbolFlags::None,
        });
    }
}

/// A 64-bit absolute relocation at `offset` of `at` to `symbol` plus
/// `addend`.
pub fn abs64(obj: &mut Object<'_>, at: SectionId, offset: u64, symbol: SymbolId, addend: i64) {
    let flags = RelocationFlags::Generic {
        kind: RelocationKind::Absolute,
        encoding: RelocationEncoding::Generic,
        size: 64,
    };
    obj.add_relocation(
        at,
        Relocation {
            offset,
            symbol,
            addend,
            flags,
        },
    )
    .unwrap();
}

/// The tables the kernel's trace macros lay out: two tracepoints in
/// `__tracepoints`, an event on the first (`tp_event`) whose class names
/// the subsystem `mysys`, and no event on the second (`tp_bare`, a bare
/// `DECLARE_TRACE`). Relocations go through section symbols plus
/// addends, as the assembler writes those against static objects.
pub fn tracepoints(obj: &mut Object<'_>) {
    let tps = section(obj, "__tracepoints", SectionKind::Data, &[0; 0x80], 8);
    // Something before the system's name, so the addend matters.
    let rodata = section(
        obj,
        ".rodata",
        SectionKind::ReadOnlyData,
        b"other\0mysys\0",
        1,
    );
    // The class at 0 (system pointer first), the call at 0x40.
    let data = section(obj, ".data", SectionKind::Data, &[0; 0x80], 8);
    let events = section(obj, "_ftrace_events", SectionKind::Data, &[0; 8], 8);
    data_symbol(obj, "__tracepoint_tp_event", tps, 0x40, 0x40);
    data_symbol(obj, "__tracepoint_tp_bare", tps, 0, 0x40);
    for (at, offset, to, addend) in [
        (data, 0, rodata, 6),
        (data, 0x40 + CALL_CLASS_OFFSET, data, 0),
        (data, 0x40 + CALL_TP_OFFSET, tps, 0x40),
        (events, 0, data, 0x40),
    ] {
        let symbol = obj.section_symbol(to);
        abs64(obj, at, offset, symbol, addend);
    }
}
