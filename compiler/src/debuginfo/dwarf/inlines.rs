//! The inlined copies of a function (`DW_TAG_inlined_subroutine`) with
//! their entry addresses, for `.inline` probes. Only the compilation units
//! the index lists for the function are read, so asking for `do_fsync`
//! touches one unit rather than all of `.debug_info`.

use std::collections::{BTreeMap, HashMap};

use gimli::AttributeValue;

use super::index::{global, reference, unit_files, FuncEntry};
use super::load::Reader;
use super::DwarfKernel;
use crate::debuginfo::error::DebugInfoError;

/// One inlined copy of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineInstance {
    /// The inlined function's name.
    pub function: String,
    /// Its link-time entry address: `DW_AT_entry_pc`, else `DW_AT_low_pc`,
    /// else the start of the first of its `DW_AT_ranges`.
    pub entry: u64,
    /// The out-of-line function it was inlined into (`?` if unnamed).
    pub caller: String,
    /// The call's line.
    pub call_line: u32,
    /// The copy's DIE (`DW_TAG_inlined_subroutine`): its variables.
    pub die: u64,
    /// The DIE of the out-of-line function it is in, whose frame base
    /// its variables use.
    pub top: Option<u64>,
}

/// What one inlined-subroutine DIE says.
struct RawInstance {
    die: u64,
    origin: u64,
    entry: u64,
    top: Option<u64>,
    call_line: u32,
}

impl DwarfKernel {
    /// Every inlined copy of `f` (an index entry), sorted by address, one
    /// per address. Copies without code (inside abstract instances) are
    /// left out.
    pub fn inline_instances(&self, f: &FuncEntry) -> Result<Vec<InlineInstance>, DebugInfoError> {
        Ok(self.inline_instances_of(&[f])?.pop().unwrap_or_default())
    }

    /// [`inline_instances`](Self::inline_instances) of each of `fs`, in
    /// order. Each unit is read once however many of `fs` were inlined
    /// into it, so a wildcard over thousands of functions costs one pass
    /// over their units, not one per function.
    pub fn inline_instances_of(
        &self,
        fs: &[&FuncEntry],
    ) -> Result<Vec<Vec<InlineInstance>>, DebugInfoError> {
        let mut by_unit: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, f) in fs.iter().enumerate() {
            for &unit in &f.inline_units {
                by_unit.entry(unit).or_default().push(i);
            }
        }
        let mut out = vec![Vec::new(); fs.len()];
        // Origins in other units, looked up once each.
        let mut origins: HashMap<u64, (Option<String>, Option<String>)> = HashMap::new();
        for (unit_off, wanted) in by_unit {
            let Some(unit) = self.unit_at(unit_off) else {
                continue;
            };
            let found = scan_unit(&self.dwarf, &unit).map_err(|e| DebugInfoError::Dwarf {
                path: self.path().to_path_buf(),
                message: e.to_string(),
            })?;
            let mut targets: HashMap<(&str, Option<&str>), Vec<usize>> = HashMap::new();
            for &i in &wanted {
                let f = fs[i];
                targets
                    .entry((f.name.as_str(), self.index.file(f.file)))
                    .or_default()
                    .push(i);
            }
            for (inst, origin_name, origin_file, caller) in found {
                let (name, file) = match origin_name {
                    Some(n) => (Some(n), origin_file),
                    // An origin in another unit: ask that unit.
                    None => origins
                        .entry(inst.origin)
                        .or_insert_with(|| self.name_and_file(inst.origin).unwrap_or((None, None)))
                        .clone(),
                };
                let Some(name) = name else {
                    continue;
                };
                let Some(hits) = targets.get(&(name.as_str(), file.as_deref())) else {
                    continue;
                };
                for &i in hits {
                    out[i].push(InlineInstance {
                        function: fs[i].name.clone(),
                        entry: inst.entry,
                        caller: caller.clone(),
                        call_line: inst.call_line,
                        die: inst.die,
                        top: inst.top,
                    });
                }
            }
        }
        for copies in &mut out {
            copies.sort_by_key(|i| i.entry);
            copies.dedup_by_key(|i| i.entry);
        }
        Ok(out)
    }

    /// The name and declaring file of subprogram DIE `die`.
    fn name_and_file(&self, die: u64) -> Option<(Option<String>, Option<String>)> {
        let unit = self.unit_at(die)?;
        let files = unit_files(&self.dwarf, &unit);
        let entry = unit.entry(Self::unit_offset(&unit, die)?).ok()?;
        let name = entry
            .attr_value(gimli::DW_AT_name)
            .ok()
            .flatten()
            .and_then(|v| self.dwarf.attr_string(&unit, v).ok())
            .map(|s| s.to_string_lossy().into_owned());
        let file = entry
            .attr_value(gimli::DW_AT_decl_file)
            .ok()
            .flatten()
            .and_then(|v| super::index::constant(&v))
            .and_then(|i| files.get(i as usize).cloned().flatten())
            .map(|s| s.to_string());
        Some((name, file))
    }
}

/// A subprogram of a unit: its name, declaring file and abstract origin.
type Subprogram = (Option<String>, Option<String>, Option<u64>);

/// One found copy: the raw instance, its origin's name and declaring file
/// (when the origin is in this unit) and the caller's name.
type Found = (RawInstance, Option<String>, Option<String>, String);

/// Every inlined subroutine with code in `unit`.
fn scan_unit(
    dwarf: &gimli::Dwarf<Reader<'static>>,
    unit: &gimli::Unit<Reader<'static>>,
) -> Result<Vec<Found>, gimli::Error> {
    let files = unit_files(dwarf, unit);
    // Subprograms of this unit: name, declaring file, abstract origin.
    let mut subprograms: HashMap<u64, Subprogram> = HashMap::new();
    let mut raw = Vec::new();
    let mut top: Option<u64> = None;
    let mut depth = 0isize;
    let mut cursor = unit.entries();
    while let Some((delta, entry)) = cursor.next_dfs()? {
        depth += delta;
        let die = global(&unit.header, entry.offset());
        match entry.tag() {
            gimli::DW_TAG_subprogram => {
                if depth == 1 {
                    top = Some(die);
                }
                let name = match entry.attr_value(gimli::DW_AT_name)? {
                    Some(v) => Some(dwarf.attr_string(unit, v)?.to_string_lossy().into_owned()),
                    None => None,
                };
                let file = entry
                    .attr_value(gimli::DW_AT_decl_file)?
                    .and_then(|v| super::index::constant(&v))
                    .and_then(|i| files.get(i as usize).cloned().flatten())
                    .map(|s| s.to_string());
                let origin = entry
                    .attr_value(gimli::DW_AT_abstract_origin)?
                    .and_then(|v| reference(&unit.header, v));
                subprograms.insert(die, (name, file, origin));
            }
            gimli::DW_TAG_inlined_subroutine => {
                let Some(origin) = entry
                    .attr_value(gimli::DW_AT_abstract_origin)?
                    .and_then(|v| reference(&unit.header, v))
                else {
                    continue;
                };
                let Some(entry_pc) = entry_address(dwarf, unit, entry)? else {
                    continue;
                };
                let call_line = entry
                    .attr_value(gimli::DW_AT_call_line)?
                    .and_then(|v| super::index::constant(&v))
                    .unwrap_or(0) as u32;
                raw.push(RawInstance {
                    die,
                    origin,
                    entry: entry_pc,
                    top: if depth > 1 { top } else { None },
                    call_line,
                });
            }
            _ if depth == 1 => top = None,
            _ => {}
        }
    }
    let name_of = |die: u64| -> Option<&String> {
        let (name, _, origin) = subprograms.get(&die)?;
        name.as_ref()
            .or_else(|| subprograms.get(&(*origin)?).and_then(|o| o.0.as_ref()))
    };
    Ok(raw
        .into_iter()
        .map(|inst| {
            let (name, file) = match subprograms.get(&inst.origin) {
                Some((n, f, _)) => (n.clone(), f.clone()),
                None => (None, None),
            };
            let caller = inst
                .top
                .and_then(name_of)
                .cloned()
                .unwrap_or_else(|| "?".to_string());
            (inst, name, file, caller)
        })
        .collect())
}

/// The entry address of an inlined subroutine: `DW_AT_entry_pc` (an
/// address, or in DWARF 5 a constant offset from the copy's start),
/// else `DW_AT_low_pc`, else the first range of `DW_AT_ranges`; `None`
/// for a copy without code.
fn entry_address(
    dwarf: &gimli::Dwarf<Reader<'static>>,
    unit: &gimli::Unit<Reader<'static>>,
    entry: &gimli::DebuggingInformationEntry<'_, '_, Reader<'static>>,
) -> Result<Option<u64>, gimli::Error> {
    let start = match entry.attr_value(gimli::DW_AT_low_pc)? {
        Some(v) => dwarf.attr_address(unit, v)?,
        None => match entry.attr_value(gimli::DW_AT_ranges)? {
            Some(v) => match dwarf.attr_ranges_offset(unit, v)? {
                Some(offset) => {
                    let mut ranges = dwarf.ranges(unit, offset)?;
                    let mut first = None;
                    while let Some(r) = ranges.next()? {
                        if r.begin < r.end {
                            first = Some(r.begin);
                            break;
                        }
                    }
                    first
                }
                None => None,
            },
            None => None,
        },
    };
    let entry_pc = match entry.attr_value(gimli::DW_AT_entry_pc)? {
        Some(v @ (AttributeValue::Addr(_) | AttributeValue::DebugAddrIndex(_))) => {
            dwarf.attr_address(unit, v)?
        }
        Some(v) => match (super::index::constant(&v), start) {
            (Some(off), Some(start)) => Some(start + off),
            _ => None,
        },
        None => None,
    };
    Ok(entry_pc.or(start))
}
