//! The BTF wire format (the kernel's `Documentation/bpf/btf.rst`): a
//! header, a type section of variable-length records and a string section.
//! This module only decodes records into [`RawType`]s; meaning (C types,
//! prototypes, layouts) is in the parent module.
//!
//! Record layout: every type is `name_off: u32, info: u32, size_or_type:
//! u32`, where `info` holds `vlen` (bits 0-15), the kind (bits 24-28) and
//! `kind_flag` (bit 31), followed by kind-specific data.

use std::ops::Range;

use super::BtfError;

/// `magic` as it reads in the file's own byte order.
const MAGIC: u16 = 0xEB9F;

/// The kinds this parser knows (`BTF_KIND_*`).
mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// A type id; 0 is `void`, the first record is 1.
pub type TypeId = u32;

/// One decoded type record.
#[derive(Debug, Clone, PartialEq)]
pub struct RawType {
    /// Offset of the name in the string section (0: anonymous).
    pub name_off: u32,
    /// What it is.
    pub kind: RawKind,
}

/// The kind-specific part of a record. Ranges index the parser's side
/// tables ([`RawBtf::members`], [`RawBtf::params`], [`RawBtf::enumerators`]).
#[derive(Debug, Clone, PartialEq)]
pub enum RawKind {
    /// `void` (id 0 only).
    Void,
    /// An integer.
    Int {
        /// Size in bytes.
        size: u32,
        /// Signed.
        signed: bool,
        /// Bit offset of the value (old-style bitfields).
        bit_offset: u8,
        /// Width in bits.
        bits: u8,
    },
    /// `T *`.
    Ptr(TypeId),
    /// `T[len]`.
    Array {
        /// Element type.
        elem: TypeId,
        /// Element count.
        len: u32,
    },
    /// A struct (`union: false`) or union.
    Aggregate {
        /// Whether it is a union.
        union: bool,
        /// Size in bytes.
        size: u32,
        /// Its members.
        members: Range<usize>,
    },
    /// An enum (32- or 64-bit values).
    Enum {
        /// Size in bytes.
        size: u32,
        /// Signed values.
        signed: bool,
        /// Its enumerators.
        values: Range<usize>,
    },
    /// A forward declaration of a struct or union.
    Fwd {
        /// Whether it is a union.
        union: bool,
    },
    /// A typedef.
    Typedef(TypeId),
    /// `volatile T`.
    Volatile(TypeId),
    /// `const T`.
    Const(TypeId),
    /// `restrict T`.
    Restrict(TypeId),
    /// A function: its name and prototype.
    Func {
        /// The `FUNC_PROTO` id.
        proto: TypeId,
        /// 0 static, 1 global, 2 extern.
        linkage: u32,
    },
    /// A function signature.
    FuncProto {
        /// The return type (0: void).
        ret: TypeId,
        /// Its parameters; a last parameter of type 0 means `...`.
        params: Range<usize>,
    },
    /// A global or static variable.
    Var {
        /// Its type.
        ty: TypeId,
    },
    /// A data section (`.data..percpu`); its variables are not kept.
    Datasec,
    /// A floating-point type.
    Float {
        /// Size in bytes.
        size: u32,
    },
    /// A declaration tag (`__attribute__((btf_decl_tag))`).
    DeclTag(TypeId),
    /// A type tag (`__user`, `__percpu` with newer compilers).
    TypeTag(TypeId),
}

/// A struct or union member.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMember {
    /// Name offset (0: anonymous).
    pub name_off: u32,
    /// Its type.
    pub ty: TypeId,
    /// Bit offset from the start of the aggregate.
    pub bit_offset: u32,
    /// Bitfield width, 0 when not a bitfield (or not known from the record).
    pub bitfield_size: u32,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct RawParam {
    /// Name offset (0: unnamed).
    pub name_off: u32,
    /// Its type (0 as the last parameter: `...`).
    pub ty: TypeId,
}

/// A decoded BTF blob.
#[derive(Debug, Clone)]
pub struct RawBtf {
    /// The string section.
    pub strings: Vec<u8>,
    /// Types by id (index 0 is `void`).
    pub types: Vec<RawType>,
    /// All struct/union members.
    pub members: Vec<RawMember>,
    /// All function parameters.
    pub params: Vec<RawParam>,
    /// All enumerators: name offset and value.
    pub enumerators: Vec<(u32, i64)>,
}

impl RawBtf {
    /// The string at `off` (empty when out of range or not UTF-8).
    pub fn str_at(&self, off: u32) -> &str {
        let bytes = self.strings.get(off as usize..).unwrap_or(&[]);
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..end]).unwrap_or("")
    }
}

/// Reads little- or big-endian words from a byte slice.
struct Reader<'a> {
    data: &'a [u8],
    big_endian: bool,
}

impl Reader<'_> {
    fn u32(&self, at: usize) -> Result<u32, BtfError> {
        let b: [u8; 4] = self
            .data
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| BtfError(format!("truncated at byte {at}")))?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
}

/// Decodes a `.BTF` section.
pub fn parse(data: &[u8]) -> Result<RawBtf, BtfError> {
    parse_onto(data, None)
}

/// Decodes a module's split `.BTF` section on top of `base`, the kernel's
/// own (`vmlinux`) BTF it was built against. A split section numbers its
/// types on from the base's last id and its strings on from the end of the
/// base's string section, so the result is the base's types and strings
/// followed by the module's, and every id and offset of either reads as
/// written.
pub fn parse_split(data: &[u8], base: &RawBtf) -> Result<RawBtf, BtfError> {
    parse_onto(data, Some(base))
}

fn parse_onto(data: &[u8], base: Option<&RawBtf>) -> Result<RawBtf, BtfError> {
    let big_endian = match data.get(0..2) {
        Some(m) if u16::from_le_bytes([m[0], m[1]]) == MAGIC => false,
        Some(m) if u16::from_be_bytes([m[0], m[1]]) == MAGIC => true,
        _ => return Err(BtfError("no BTF magic (0xeB9F)".into())),
    };
    let r = Reader { data, big_endian };
    let version = data.get(2).copied().unwrap_or(0);
    if version != 1 {
        return Err(BtfError(format!("unsupported BTF version {version}")));
    }
    let hdr_len = r.u32(4)? as usize;
    let (type_off, type_len) = (r.u32(8)? as usize, r.u32(12)? as usize);
    let (str_off, str_len) = (r.u32(16)? as usize, r.u32(20)? as usize);
    let section = |off: usize, len: usize, what: &str| {
        let start = hdr_len + off;
        data.get(start..start + len)
            .map(|_| start..start + len)
            .ok_or_else(|| BtfError(format!("{what} section lies outside the blob")))
    };
    let types_range = section(type_off, type_len, "type")?;
    let strings = &data[section(str_off, str_len, "string")?];

    let mut out = match base {
        None => RawBtf {
            strings: strings.to_vec(),
            types: vec![RawType {
                name_off: 0,
                kind: RawKind::Void,
            }],
            members: Vec::new(),
            params: Vec::new(),
            enumerators: Vec::new(),
        },
        Some(base) => {
            let mut out = base.clone();
            out.strings.extend_from_slice(strings);
            out
        }
    };
    let mut at = types_range.start;
    // Where each record starts (index: type id), for error messages; the
    // base's records are not in this blob.
    let mut starts = vec![0; out.types.len()];
    while at < types_range.end {
        starts.push(at);
        at = parse_type(&r, at, &mut out)?;
    }
    if at != types_range.end {
        return Err(BtfError(format!(
            "the last type record (at byte {}) overruns the type section, which ends at byte {}",
            starts.last().copied().unwrap_or(at),
            types_range.end
        )));
    }
    check_references(&out, &starts)?;
    Ok(out)
}

/// Every type id a record refers to names a record of the blob, so that
/// the queries can index [`RawBtf::types`] with it: a malformed section is
/// refused here, naming the record's offset, rather than read later.
fn check_references(btf: &RawBtf, starts: &[usize]) -> Result<(), BtfError> {
    let count = btf.types.len();
    let check = |id: usize, what: &str, target: TypeId| {
        if (target as usize) < count {
            return Ok(());
        }
        Err(BtfError(format!(
            "type {id} (the record at byte {}) has {what} type {target}, but the section has only {} types",
            starts[id],
            count - 1
        )))
    };
    for (id, t) in btf.types.iter().enumerate().skip(1) {
        match &t.kind {
            RawKind::Ptr(to)
            | RawKind::Typedef(to)
            | RawKind::Volatile(to)
            | RawKind::Const(to)
            | RawKind::Restrict(to)
            | RawKind::DeclTag(to)
            | RawKind::TypeTag(to) => check(id, "a target", *to)?,
            RawKind::Array { elem, .. } => check(id, "an element", *elem)?,
            RawKind::Var { ty } => check(id, "a variable of", *ty)?,
            RawKind::Func { proto, .. } => check(id, "a prototype", *proto)?,
            RawKind::Aggregate { members, .. } => {
                for m in &btf.members[members.clone()] {
                    check(id, "a member of", m.ty)?;
                }
            }
            RawKind::FuncProto { ret, params } => {
                check(id, "a return", *ret)?;
                for p in &btf.params[params.clone()] {
                    check(id, "a parameter of", p.ty)?;
                }
            }
            RawKind::Void
            | RawKind::Int { .. }
            | RawKind::Enum { .. }
            | RawKind::Fwd { .. }
            | RawKind::Datasec
            | RawKind::Float { .. } => {}
        }
    }
    Ok(())
}

/// Decodes the record at `at`, returning where the next one starts.
fn parse_type(r: &Reader, at: usize, out: &mut RawBtf) -> Result<usize, BtfError> {
    let name_off = r.u32(at)?;
    let info = r.u32(at + 4)?;
    let size_or_type = r.u32(at + 8)?;
    let vlen = (info & 0xffff) as usize;
    let kind_flag = info >> 31 == 1;
    let kind_no = (info >> 24) & 0x1f;
    let mut next = at + 12;
    let kind = match kind_no {
        kind::INT => {
            let enc = r.u32(next)?;
            next += 4;
            RawKind::Int {
                size: size_or_type,
                signed: (enc >> 24) & 1 == 1,
                bit_offset: (enc >> 16) as u8,
                bits: enc as u8,
            }
        }
        kind::PTR => RawKind::Ptr(size_or_type),
        kind::ARRAY => {
            let (elem, len) = (r.u32(next)?, r.u32(next + 8)?);
            next += 12;
            RawKind::Array { elem, len }
        }
        kind::STRUCT | kind::UNION => {
            let start = out.members.len();
            for _ in 0..vlen {
                let (name_off, ty, offset) = (r.u32(next)?, r.u32(next + 4)?, r.u32(next + 8)?);
                next += 12;
                let (bit_offset, bitfield_size) = if kind_flag {
                    (offset & 0xff_ffff, offset >> 24)
                } else {
                    (offset, 0)
                };
                out.members.push(RawMember {
                    name_off,
                    ty,
                    bit_offset,
                    bitfield_size,
                });
            }
            RawKind::Aggregate {
                union: kind_no == kind::UNION,
                size: size_or_type,
                members: start..out.members.len(),
            }
        }
        kind::ENUM | kind::ENUM64 => {
            let start = out.enumerators.len();
            for _ in 0..vlen {
                let name = r.u32(next)?;
                let value = if kind_no == kind::ENUM {
                    next += 8;
                    let v = r.u32(next - 4)?;
                    if kind_flag {
                        v as i32 as i64
                    } else {
                        v as i64
                    }
                } else {
                    next += 12;
                    ((r.u32(next - 4)? as u64) << 32 | r.u32(next - 8)? as u64) as i64
                };
                out.enumerators.push((name, value));
            }
            RawKind::Enum {
                size: size_or_type,
                signed: kind_flag,
                values: start..out.enumerators.len(),
            }
        }
        kind::FWD => RawKind::Fwd { union: kind_flag },
        kind::TYPEDEF => RawKind::Typedef(size_or_type),
        kind::VOLATILE => RawKind::Volatile(size_or_type),
        kind::CONST => RawKind::Const(size_or_type),
        kind::RESTRICT => RawKind::Restrict(size_or_type),
        kind::FUNC => RawKind::Func {
            proto: size_or_type,
            linkage: vlen as u32,
        },
        kind::FUNC_PROTO => {
            let start = out.params.len();
            for _ in 0..vlen {
                out.params.push(RawParam {
                    name_off: r.u32(next)?,
                    ty: r.u32(next + 4)?,
                });
                next += 8;
            }
            RawKind::FuncProto {
                ret: size_or_type,
                params: start..out.params.len(),
            }
        }
        kind::VAR => {
            next += 4;
            RawKind::Var { ty: size_or_type }
        }
        kind::DATASEC => {
            next += 12 * vlen;
            RawKind::Datasec
        }
        kind::FLOAT => RawKind::Float { size: size_or_type },
        kind::DECL_TAG => {
            next += 4;
            RawKind::DeclTag(size_or_type)
        }
        kind::TYPE_TAG => RawKind::TypeTag(size_or_type),
        other => {
            return Err(BtfError(format!(
                "unknown BTF kind {other} in type {} (a newer BTF than this stapkit knows)",
                out.types.len()
            )))
        }
    };
    out.types.push(RawType { name_off, kind });
    Ok(next)
}
