//! DWARF DIEs as [`CType`]s, prototypes and member lists: the DWARF side
//! of [`TypeGraph`]. DIEs are named by their global `.debug_info` offset.

use gimli::{AttributeValue, DebuggingInformationEntry};

use super::index::{constant, reference};
use super::load::Reader;
use super::DwarfKernel;
use crate::debuginfo::cdecl::TypeNames;
use crate::debuginfo::ctype::{AggregateKind, CType, Param, Prototype};
use crate::debuginfo::fields::{GraphMember, Node, TypeGraph};

/// The id standing for `void` (no `DW_AT_type`).
pub(crate) const VOID: u64 = u64::MAX;

/// The attributes of one DIE that type questions need.
#[derive(Debug, Clone)]
pub(crate) struct Attrs {
    pub tag: gimli::DwTag,
    pub name: Option<String>,
    pub ty: Option<u64>,
    pub byte_size: Option<u64>,
    pub encoding: Option<u64>,
    pub declaration: bool,
    pub count: Option<u64>,
    pub upper_bound: Option<i64>,
    pub member_location: Option<u64>,
    pub data_bit_offset: Option<u64>,
    pub bit_offset: Option<u64>,
    pub bit_size: Option<u64>,
    pub origin: Option<u64>,
}

/// The `DW_OP_plus_uconst N` form of `DW_AT_data_member_location`.
fn plus_uconst(expr: &[u8]) -> Option<u64> {
    let (&op, mut rest) = expr.split_first()?;
    if op != 0x23 {
        return None;
    }
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, r) = rest.split_first()?;
        rest = r;
        value |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

pub(crate) fn read_attrs(
    k: &DwarfKernel,
    unit: &gimli::Unit<Reader<'static>>,
    entry: &DebuggingInformationEntry<'_, '_, Reader<'static>>,
) -> Attrs {
    let mut a = Attrs {
        tag: entry.tag(),
        name: None,
        ty: None,
        byte_size: None,
        encoding: None,
        declaration: false,
        count: None,
        upper_bound: None,
        member_location: None,
        data_bit_offset: None,
        bit_offset: None,
        bit_size: None,
        origin: None,
    };
    let mut attrs = entry.attrs();
    while let Ok(Some(attr)) = attrs.next() {
        let v = attr.value();
        match attr.name() {
            gimli::DW_AT_name => {
                a.name = k
                    .dwarf
                    .attr_string(unit, v)
                    .ok()
                    .map(|s| s.to_string_lossy().into_owned())
            }
            gimli::DW_AT_type => a.ty = reference(&unit.header, v),
            gimli::DW_AT_byte_size => a.byte_size = constant(&v),
            gimli::DW_AT_encoding => a.encoding = constant(&v),
            gimli::DW_AT_declaration => a.declaration = true,
            gimli::DW_AT_count => a.count = constant(&v),
            gimli::DW_AT_upper_bound => {
                a.upper_bound = match v {
                    AttributeValue::Sdata(n) => Some(n),
                    ref other => constant(other).map(|n| n as i64),
                }
            }
            gimli::DW_AT_data_member_location => {
                a.member_location = match v {
                    AttributeValue::Exprloc(ref e) => plus_uconst(e.0.slice()),
                    ref other => constant(other),
                }
            }
            gimli::DW_AT_data_bit_offset => a.data_bit_offset = constant(&v),
            gimli::DW_AT_bit_offset => a.bit_offset = constant(&v),
            gimli::DW_AT_bit_size => a.bit_size = constant(&v),
            gimli::DW_AT_abstract_origin | gimli::DW_AT_specification => {
                a.origin = reference(&unit.header, v)
            }
            _ => {}
        }
    }
    a
}

impl DwarfKernel {
    /// The attributes of DIE `die`.
    pub(crate) fn attrs(&self, die: u64) -> Option<Attrs> {
        self.with_entry(die, |unit, entry| read_attrs(self, unit, entry))
    }

    /// The attributes of DIE `die`'s direct children.
    pub(crate) fn children(&self, die: u64) -> Vec<Attrs> {
        self.with_children(die, |unit, entry| read_attrs(self, unit, entry))
            .unwrap_or_default()
    }

    /// Type DIE `die` as a [`CType`].
    pub fn ctype(&self, die: u64) -> CType {
        self.ctype_at(die, 0)
    }

    fn ctype_at(&self, die: u64, depth: u32) -> CType {
        if die == VOID || depth > 64 {
            return CType::Void;
        }
        let Some(a) = self.attrs(die) else {
            return CType::Void;
        };
        let sub = |t: Option<u64>| Box::new(self.ctype_at(t.unwrap_or(VOID), depth + 1));
        match a.tag {
            gimli::DW_TAG_base_type => {
                let name = a.name.unwrap_or_else(|| "int".into());
                let size = a.byte_size.unwrap_or(0);
                match a.encoding {
                    Some(4) => CType::Float { name, size },
                    Some(5 | 6) => CType::Int {
                        name,
                        size,
                        signed: true,
                    },
                    _ => CType::Int {
                        name,
                        size,
                        signed: false,
                    },
                }
            }
            gimli::DW_TAG_pointer_type => CType::Pointer(sub(a.ty)),
            gimli::DW_TAG_const_type => CType::Const(sub(a.ty)),
            gimli::DW_TAG_volatile_type => CType::Volatile(sub(a.ty)),
            gimli::DW_TAG_restrict_type | gimli::DW_TAG_atomic_type => {
                self.ctype_at(a.ty.unwrap_or(VOID), depth + 1)
            }
            gimli::DW_TAG_typedef => CType::Typedef {
                name: a.name.unwrap_or_default(),
                target: sub(a.ty),
            },
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type => {
                let kind = aggregate_kind(a.tag);
                let size = match (a.declaration, &a.name) {
                    (true, Some(n)) => self
                        .complete_aggregate(kind, n)
                        .and_then(|d| self.attrs(d))
                        .and_then(|c| c.byte_size),
                    _ => a.byte_size,
                };
                CType::Aggregate {
                    kind,
                    name: a.name,
                    size,
                }
            }
            gimli::DW_TAG_enumeration_type => CType::Enum {
                name: a.name,
                size: a.byte_size.unwrap_or(4),
                signed: a
                    .ty
                    .is_some_and(|t| self.ctype_at(t, depth + 1).is_signed()),
            },
            gimli::DW_TAG_array_type => {
                let mut ty = *sub(a.ty);
                let dims: Vec<Option<u64>> = self
                    .children(die)
                    .into_iter()
                    .filter(|c| c.tag == gimli::DW_TAG_subrange_type)
                    .map(|c| {
                        c.count
                            .or_else(|| c.upper_bound.filter(|&u| u >= 0).map(|u| u as u64 + 1))
                            .filter(|&n| n > 0)
                    })
                    .collect();
                for len in dims.into_iter().rev() {
                    ty = CType::Array {
                        elem: Box::new(ty),
                        len,
                    };
                }
                ty
            }
            gimli::DW_TAG_subroutine_type => {
                let children = self.children(die);
                CType::Function {
                    ret: sub(a.ty),
                    params: children
                        .iter()
                        .filter(|c| c.tag == gimli::DW_TAG_formal_parameter)
                        .map(|c| self.ctype_at(c.ty.unwrap_or(VOID), depth + 1))
                        .collect(),
                    variadic: children
                        .iter()
                        .any(|c| c.tag == gimli::DW_TAG_unspecified_parameters),
                }
            }
            _ => CType::Void,
        }
    }

    /// The prototype of subprogram DIE `die` (following an abstract origin).
    pub fn prototype_of(&self, name: &str, die: u64) -> Option<Prototype> {
        let mut a = self.attrs(die)?;
        let mut die = die;
        while let Some(origin) = a.origin.filter(|_| a.name.is_none() || a.ty.is_none()) {
            die = origin;
            a = self.attrs(die)?;
            if a.origin.is_none() {
                break;
            }
        }
        let children = self.children(die);
        let params = children
            .iter()
            .filter(|c| c.tag == gimli::DW_TAG_formal_parameter)
            .enumerate()
            .map(|(i, c)| Param {
                name: c.name.clone().unwrap_or_else(|| format!("arg{}", i + 1)),
                ty: self.ctype(c.ty.unwrap_or(VOID)),
            })
            .collect();
        Some(Prototype {
            name: name.to_string(),
            ret: self.ctype(a.ty.unwrap_or(VOID)),
            params: Some(params),
            variadic: children
                .iter()
                .any(|c| c.tag == gimli::DW_TAG_unspecified_parameters),
        })
    }

    /// A complete definition of the struct/union tagged `name`.
    fn complete_aggregate(&self, kind: AggregateKind, name: &str) -> Option<u64> {
        self.index.type_die(&format!("{} {name}", kind.keyword()))
    }

    /// Strips typedefs and qualifiers; completes declarations.
    fn strip(&self, mut die: u64) -> Option<(u64, Attrs)> {
        for _ in 0..64 {
            let a = self.attrs(die)?;
            match a.tag {
                gimli::DW_TAG_typedef
                | gimli::DW_TAG_const_type
                | gimli::DW_TAG_volatile_type
                | gimli::DW_TAG_restrict_type
                | gimli::DW_TAG_atomic_type => die = a.ty?,
                gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type if a.declaration => {
                    let complete =
                        self.complete_aggregate(aggregate_kind(a.tag), a.name.as_deref()?)?;
                    return Some((complete, self.attrs(complete)?));
                }
                _ => return Some((die, a)),
            }
        }
        None
    }
}

fn aggregate_kind(tag: gimli::DwTag) -> AggregateKind {
    if tag == gimli::DW_TAG_union_type {
        AggregateKind::Union
    } else {
        AggregateKind::Struct
    }
}

impl TypeGraph for DwarfKernel {
    type Id = u64;

    fn source_name(&self) -> &'static str {
        "DWARF"
    }

    fn lookup_aggregate(&self, name: &str) -> Option<u64> {
        let name = name.trim();
        let die = if name.starts_with("struct ") || name.starts_with("union ") {
            self.index.type_die(name)?
        } else if let Some(t) = self.index.type_die(&format!("typedef {name}")) {
            t
        } else {
            self.index
                .type_die(&format!("struct {name}"))
                .or_else(|| self.index.type_die(&format!("union {name}")))?
        };
        let (die, a) = self.strip(die)?;
        matches!(
            a.tag,
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type
        )
        .then_some(die)
    }

    fn node(&self, id: u64) -> Node<u64> {
        match self.strip(id) {
            Some((_, a))
                if matches!(
                    a.tag,
                    gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type
                ) =>
            {
                Node::Aggregate {
                    kind: aggregate_kind(a.tag),
                    size: a.byte_size.unwrap_or(0),
                }
            }
            Some((_, a)) if a.tag == gimli::DW_TAG_pointer_type => {
                Node::Pointer(a.ty.unwrap_or(VOID))
            }
            _ => Node::Other,
        }
    }

    fn members(&self, id: u64) -> Vec<GraphMember<u64>> {
        let Some((die, _)) = self.strip(id) else {
            return Vec::new();
        };
        self.children(die)
            .into_iter()
            .filter(|c| c.tag == gimli::DW_TAG_member)
            .map(|c| {
                let byte = c.member_location.unwrap_or(0);
                let bit_offset = match (c.data_bit_offset, c.bit_offset, c.bit_size) {
                    (Some(bits), _, _) => bits,
                    // DWARF 2/3 numbers bits from the storage unit's top.
                    (None, Some(from_top), Some(size)) => {
                        let unit_bits = c.byte_size.unwrap_or(4) * 8;
                        byte * 8 + unit_bits - from_top - size
                    }
                    _ => byte * 8,
                };
                GraphMember {
                    name: c.name.unwrap_or_default(),
                    bit_offset,
                    bitfield_size: c.bit_size.map(|b| b as u32),
                    ty: c.ty.unwrap_or(VOID),
                }
            })
            .collect()
    }

    fn ctype(&self, id: u64) -> CType {
        DwarfKernel::ctype(self, id)
    }
}

impl TypeNames for DwarfKernel {
    fn named_type(&self, name: &str) -> Option<CType> {
        let key = if ["struct ", "union ", "enum "]
            .iter()
            .any(|p| name.starts_with(p))
        {
            name.to_string()
        } else {
            format!("typedef {name}")
        };
        self.index.type_die(&key).map(|d| self.ctype(d))
    }
}

#[cfg(test)]
mod tests {
    use super::plus_uconst;

    #[test]
    fn member_location_expressions() {
        assert_eq!(plus_uconst(&[0x23, 0x10]), Some(16));
        assert_eq!(plus_uconst(&[0x23, 0x80, 0x01]), Some(128));
        assert_eq!(plus_uconst(&[0x10, 0x01]), None);
    }
}
