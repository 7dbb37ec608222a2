//! Variables of a compilation unit (`@var("name@file.c")`): a global or
//! file-static variable defined at the top level of the units whose
//! source file matches, with its type and link-time address.
//!
//! Not in the name index (that would grow and rebuild every cached index):
//! the units' root DIEs are read to match the file, and only the matching
//! units' top-level DIEs are walked.

use super::index::{global, reference};
use super::types::VOID;
use super::{file_matches, DwarfKernel};
use crate::debuginfo::ctype::CType;

/// A variable DWARF defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DwarfVariable {
    /// The compilation unit's source file.
    pub file: String,
    /// Its type.
    pub ty: CType,
    /// Its link-time address (`DW_OP_addr`).
    pub address: u64,
}

/// `DW_OP_addr ADDR` (a static location), the only form a module can read.
fn static_address(expr: &[u8]) -> Option<u64> {
    match expr {
        [0x03, rest @ ..] if rest.len() == 8 => {
            Some(u64::from_le_bytes(rest.try_into().expect("eight bytes")))
        }
        _ => None,
    }
}

impl DwarfKernel {
    /// Variable `name` defined in a compilation unit whose file matches
    /// `file` (SystemTap's `@file` forms); the first such unit's, in
    /// `.debug_info` order.
    pub fn variable_in(&self, name: &str, file: &str) -> Option<DwarfVariable> {
        for &unit_off in &self.index.units {
            let Ok(header) = self
                .dwarf
                .debug_info
                .header_from_offset(gimli::DebugInfoOffset(unit_off as usize))
            else {
                continue;
            };
            let Ok(unit) = self.dwarf.unit(header) else {
                continue;
            };
            let Some(cu_name) = unit.name.as_ref().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            if !file_matches(file, &cu_name) {
                continue;
            }
            if let Some(v) = self.top_level_variable(&unit, name, &cu_name) {
                return Some(v);
            }
        }
        None
    }

    /// A top-level `DW_TAG_variable` of `unit` named `name` with a static
    /// location. A variable declared before its definition (`extern` in a
    /// header) has a declaration DIE with the name and type and a
    /// definition DIE pointing at it with `DW_AT_specification`.
    fn top_level_variable(
        &self,
        unit: &gimli::Unit<super::load::Reader<'static>>,
        name: &str,
        cu_name: &str,
    ) -> Option<DwarfVariable> {
        let mut tree = unit.entries_tree(None).ok()?;
        let root = tree.root().ok()?;
        let mut children = root.children();
        // Declarations named `name`: (DIE, type).
        let mut declarations: Vec<(u64, Option<u64>)> = Vec::new();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            if entry.tag() != gimli::DW_TAG_variable {
                continue;
            }
            let die = global(&unit.header, entry.offset());
            let mut named = false;
            let mut ty = None;
            let mut spec = None;
            let mut address = None;
            let mut attrs = entry.attrs();
            while let Ok(Some(attr)) = attrs.next() {
                match attr.name() {
                    gimli::DW_AT_name => {
                        named = self
                            .dwarf
                            .attr_string(unit, attr.value())
                            .is_ok_and(|s| s.to_string_lossy() == name)
                    }
                    gimli::DW_AT_type => ty = reference(&unit.header, attr.value()),
                    gimli::DW_AT_specification => spec = reference(&unit.header, attr.value()),
                    gimli::DW_AT_location => {
                        address = match attr.value() {
                            gimli::AttributeValue::Exprloc(e) => static_address(e.0.slice()),
                            gimli::AttributeValue::Block(b) => static_address(b.slice()),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            let declared = spec.and_then(|s| declarations.iter().find(|(d, _)| *d == s));
            let ty = match (named, declared) {
                (true, _) => ty,
                (false, Some((_, declared_ty))) => ty.or(*declared_ty),
                (false, None) => continue,
            };
            match address {
                Some(address) => {
                    return Some(DwarfVariable {
                        file: cu_name.to_string(),
                        ty: self.ctype(ty.unwrap_or(VOID)),
                        address,
                    })
                }
                None if named => declarations.push((die, ty)),
                None => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::static_address;

    #[test]
    fn only_static_addresses() {
        let mut e = vec![0x03];
        e.extend_from_slice(&0xffff_ffff_8200_0000u64.to_le_bytes());
        assert_eq!(static_address(&e), Some(0xffff_ffff_8200_0000));
        assert_eq!(static_address(&[0x91, 0x08]), None);
        assert_eq!(static_address(&e[..5]), None);
    }
}
