//! A name index over a vmlinux's DWARF, built once per kernel (it walks
//! every DIE of 170+ MB of `.debug_info`, on all cores) and cached as a
//! text file next to the kernel: functions by name and declaring file,
//! whether each has an out-of-line copy, how often and where it was
//! inlined, and the first complete definition of every named type.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use gimli::{AttributeValue, DebugInfoOffset, UnitHeader};

use super::load::Reader;

/// How many inline sites are kept per function (the first by caller name).
pub const MAX_SITES: usize = 8;

/// The index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DwarfIndex {
    /// `.debug_info` offsets of the compilation units, ascending.
    pub units: Vec<u64>,
    /// Source paths (relative to the build directory when possible).
    pub files: Vec<String>,
    /// Functions, sorted by name then file.
    pub functions: Vec<FuncEntry>,
    /// Named types, sorted by key.
    pub types: Vec<TypeEntry>,
}

/// A function (all compilation units' copies of one name declared in one file).
#[derive(Debug, Clone, PartialEq)]
pub struct FuncEntry {
    /// Its name.
    pub name: String,
    /// Index into [`DwarfIndex::files`] of the declaring file.
    pub file: Option<u32>,
    /// Declaration line.
    pub line: u32,
    /// A DIE (global `.debug_info` offset) with its prototype: the
    /// out-of-line definition if there is one, else an abstract instance.
    pub die: u64,
    /// Whether an out-of-line copy exists (something to put a kprobe on).
    pub code: bool,
    /// Whether it is declared `inline`.
    pub declared_inline: bool,
    /// Whether it is visible outside its file.
    pub external: bool,
    /// How many inlined copies exist.
    pub inlined: u32,
    /// Where some of them are (the first [`MAX_SITES`] by caller).
    pub sites: Vec<InlineSite>,
    /// The compilation units (`.debug_info` offsets, ascending) holding
    /// its inlined copies: `.inline` probes scan only these.
    pub inline_units: Vec<u64>,
}

/// One place a function was inlined into.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InlineSite {
    /// The out-of-line function containing the inlined copy.
    pub caller: String,
    /// The call's file (index into [`DwarfIndex::files`]).
    pub file: Option<u32>,
    /// The call's line.
    pub line: u32,
}

/// A named type's first complete definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeEntry {
    /// `struct task_struct`, `union bpf_attr`, `enum pid_type`, `typedef pid_t`.
    pub key: String,
    /// Its DIE.
    pub die: u64,
}

/// What one compilation unit contributes.
#[derive(Default)]
struct UnitPart<'a> {
    /// The unit's `.debug_info` offset.
    unit: u64,
    funcs: Vec<RawFunc<'a>>,
    /// Concrete out-of-line instances: abstract origin.
    concrete: Vec<u64>,
    /// Inlined copies by abstract origin: count and smallest sites.
    inlines: HashMap<u64, (u32, Vec<RawSite<'a>>)>,
    types: Vec<(&'static str, &'a str, u64)>,
}

struct RawFunc<'a> {
    die: u64,
    name: &'a str,
    file: Option<Arc<str>>,
    line: u32,
    code: bool,
    declared_inline: bool,
    external: bool,
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RawSite<'a> {
    caller: &'a str,
    file: Option<Arc<str>>,
    line: u32,
}

/// Builds the index, spreading units over the machine's cores.
pub fn build(dwarf: &gimli::Dwarf<Reader<'_>>) -> Result<DwarfIndex, gimli::Error> {
    let mut headers = Vec::new();
    let mut iter = dwarf.units();
    while let Some(h) = iter.next()? {
        headers.push(h);
    }
    let next = AtomicUsize::new(0);
    let parts = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(16);
    let result: Result<(), gimli::Error> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<(), gimli::Error> {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(h) = headers.get(i) else {
                            return Ok(());
                        };
                        let part = index_unit(dwarf, *h)?;
                        parts.lock().expect("no poisoned lock").push(part);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("index worker panicked"))
    });
    result?;
    let units = headers
        .iter()
        .filter_map(|h| h.offset().as_debug_info_offset().map(|o| o.0 as u64))
        .collect();
    Ok(merge(units, parts.into_inner().expect("no poisoned lock")))
}

pub(crate) fn global(unit: &UnitHeader<Reader<'_>>, off: gimli::UnitOffset) -> u64 {
    off.to_debug_info_offset(unit)
        .map_or(u64::MAX, |o| o.0 as u64)
}

/// A reference attribute as a global `.debug_info` offset.
pub(crate) fn reference(
    unit: &UnitHeader<Reader<'_>>,
    v: AttributeValue<Reader<'_>>,
) -> Option<u64> {
    match v {
        AttributeValue::UnitRef(o) => Some(global(unit, o)),
        AttributeValue::DebugInfoRef(DebugInfoOffset(o)) => Some(o as u64),
        _ => None,
    }
}

/// A constant attribute as an unsigned number.
pub(crate) fn constant(v: &AttributeValue<Reader<'_>>) -> Option<u64> {
    match *v {
        AttributeValue::FileIndex(n) | AttributeValue::Udata(n) | AttributeValue::Data8(n) => {
            Some(n)
        }
        AttributeValue::Data1(n) => Some(n as u64),
        AttributeValue::Data2(n) => Some(n as u64),
        AttributeValue::Data4(n) => Some(n as u64),
        AttributeValue::Sdata(n) if n >= 0 => Some(n as u64),
        AttributeValue::Inline(i) => Some(i.0 as u64),
        AttributeValue::Encoding(e) => Some(e.0 as u64),
        _ => None,
    }
}

/// The unit's source files by line-program index, relative to the
/// compilation directory when under it.
pub(crate) fn unit_files(
    dwarf: &gimli::Dwarf<Reader<'_>>,
    unit: &gimli::Unit<Reader<'_>>,
) -> Vec<Option<Arc<str>>> {
    let Some(program) = unit.line_program.as_ref() else {
        return Vec::new();
    };
    let header = program.header();
    let comp_dir = unit
        .comp_dir
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let string = |v| {
        dwarf
            .attr_string(unit, v)
            .ok()
            .map(|s| s.to_string_lossy().into_owned())
    };
    let first = if header.version() >= 5 { 0 } else { 1 };
    let count = header.file_names().len() as u64 + first;
    let mut out = vec![None; count as usize];
    for idx in first..count {
        let Some(file) = header.file(idx) else {
            continue;
        };
        let Some(name) = string(file.path_name()) else {
            continue;
        };
        let dir = file.directory(header).and_then(string).unwrap_or_default();
        let mut path = if name.starts_with('/') || dir.is_empty() || dir == "." {
            name
        } else {
            format!("{dir}/{name}")
        };
        if !comp_dir.is_empty() {
            if let Some(rel) = path
                .strip_prefix(&comp_dir)
                .and_then(|p| p.strip_prefix('/'))
            {
                path = rel.to_string();
            }
        }
        let path = path.strip_prefix("./").map(str::to_string).unwrap_or(path);
        out[idx as usize] = Some(Arc::from(path.as_str()));
    }
    out
}

fn index_unit<'a>(
    dwarf: &gimli::Dwarf<Reader<'a>>,
    header: UnitHeader<Reader<'a>>,
) -> Result<UnitPart<'a>, gimli::Error> {
    let unit = dwarf.unit(header)?;
    let files = unit_files(dwarf, &unit);
    let file_of = |v: Option<u64>| v.and_then(|i| files.get(i as usize).cloned().flatten());
    let mut part = UnitPart {
        unit: header
            .offset()
            .as_debug_info_offset()
            .map_or(u64::MAX, |o| o.0 as u64),
        ..UnitPart::default()
    };
    let mut names: HashMap<u64, &'a str> = HashMap::new();
    let mut origins: HashMap<u64, u64> = HashMap::new();
    let mut raw_inlines: Vec<(u64, u64, Option<Arc<str>>, u32)> = Vec::new();
    let mut top: Option<u64> = None;
    let mut depth = 0isize;
    let mut cursor = unit.entries();
    while let Some((delta, entry)) = cursor.next_dfs()? {
        depth += delta;
        let die = global(&unit.header, entry.offset());
        let tag = entry.tag();
        if depth == 1 && tag != gimli::DW_TAG_subprogram {
            top = None;
        }
        let kind = match tag {
            gimli::DW_TAG_subprogram => {
                if depth == 1 {
                    top = Some(die);
                }
                "func"
            }
            gimli::DW_TAG_inlined_subroutine => "inline",
            gimli::DW_TAG_structure_type if depth == 1 => "struct",
            gimli::DW_TAG_union_type if depth == 1 => "union",
            gimli::DW_TAG_enumeration_type if depth == 1 => "enum",
            gimli::DW_TAG_typedef if depth == 1 => "typedef",
            _ => continue,
        };
        let (mut name, mut origin, mut file, mut line) = (None, None, None, 0u32);
        let (mut code, mut declaration, mut inline_attr, mut external) =
            (false, false, 0u64, false);
        let mut attrs = entry.attrs();
        while let Some(a) = attrs.next()? {
            match a.name() {
                gimli::DW_AT_name => {
                    name = dwarf
                        .attr_string(&unit, a.value())
                        .ok()
                        .and_then(|s| s.to_string().ok())
                }
                gimli::DW_AT_abstract_origin | gimli::DW_AT_specification => {
                    origin = reference(&unit.header, a.value())
                }
                gimli::DW_AT_decl_file | gimli::DW_AT_call_file => file = constant(&a.value()),
                gimli::DW_AT_decl_line | gimli::DW_AT_call_line => {
                    line = constant(&a.value()).unwrap_or(0) as u32
                }
                gimli::DW_AT_low_pc | gimli::DW_AT_ranges | gimli::DW_AT_entry_pc => code = true,
                gimli::DW_AT_declaration => declaration = true,
                gimli::DW_AT_inline => inline_attr = constant(&a.value()).unwrap_or(0),
                gimli::DW_AT_external => external = true,
                _ => {}
            }
        }
        match kind {
            "func" => {
                if let Some(n) = name {
                    names.insert(die, n);
                }
                if let Some(o) = origin {
                    origins.insert(die, o);
                    if code {
                        part.concrete.push(o);
                    }
                } else if let (Some(n), false) = (name, declaration) {
                    // Definitions without code of their own are kept too:
                    // identical-code folding leaves some functions as
                    // aliases of another's code (symbols tell).
                    part.funcs.push(RawFunc {
                        die,
                        name: n,
                        file: file_of(file),
                        line,
                        code,
                        declared_inline: matches!(inline_attr, 2 | 3),
                        external,
                    });
                }
            }
            "inline" => {
                if let (Some(o), Some(t)) = (origin, top) {
                    raw_inlines.push((o, t, file_of(file), line));
                }
            }
            _ => {
                if let (Some(n), false) = (name, declaration) {
                    part.types.push((kind, n, die));
                }
            }
        }
    }
    // Name the callers of inlined copies: the top-level function itself or
    // the abstract instance its concrete copy comes from.
    let caller_name = |die: u64| {
        names
            .get(&die)
            .or_else(|| origins.get(&die).and_then(|o| names.get(o)))
            .copied()
            .unwrap_or("?")
    };
    for (origin, caller, file, line) in raw_inlines {
        let entry = part.inlines.entry(origin).or_insert((0, Vec::new()));
        entry.0 += 1;
        keep_smallest(
            &mut entry.1,
            RawSite {
                caller: caller_name(caller),
                file,
                line,
            },
        );
    }
    Ok(part)
}

/// Adds `site` to `sites`, keeping the [`MAX_SITES`] smallest: the
/// result does not depend on the order units are visited in.
fn keep_smallest<T: Ord>(sites: &mut Vec<T>, site: T) {
    if sites.contains(&site) {
        return;
    }
    if sites.len() < MAX_SITES {
        sites.push(site);
        sites.sort();
    } else if sites.last().is_some_and(|last| site < *last) {
        sites.pop();
        sites.push(site);
        sites.sort();
    }
}

/// Joins the units' parts into the index.
fn merge(units: Vec<u64>, parts: Vec<UnitPart<'_>>) -> DwarfIndex {
    let mut by_die: HashMap<u64, usize> = HashMap::new();
    let mut funcs: Vec<RawFunc<'_>> = Vec::new();
    let mut concrete = Vec::new();
    let mut inlines: Vec<(u64, u64, u32, Vec<RawSite<'_>>)> = Vec::new();
    let mut types: HashMap<(&'static str, &str), u64> = HashMap::new();
    for part in parts {
        for f in part.funcs {
            by_die.insert(f.die, funcs.len());
            funcs.push(f);
        }
        concrete.extend(part.concrete);
        let unit = part.unit;
        inlines.extend(part.inlines.into_iter().map(|(o, (n, s))| (o, unit, n, s)));
        for (kind, name, die) in part.types {
            let slot = types.entry((kind, name)).or_insert(die);
            *slot = (*slot).min(die);
        }
    }
    let mut code_of = vec![false; funcs.len()];
    for o in concrete {
        if let Some(&i) = by_die.get(&o) {
            code_of[i] = true;
        }
    }
    let mut inline_of: Vec<(u32, Vec<RawSite<'_>>)> = vec![(0, Vec::new()); funcs.len()];
    let mut units_of: Vec<Vec<u64>> = vec![Vec::new(); funcs.len()];
    for (o, unit, n, sites) in inlines {
        if let Some(&i) = by_die.get(&o) {
            inline_of[i].0 += n;
            units_of[i].push(unit);
            for s in sites {
                keep_smallest(&mut inline_of[i].1, s);
            }
        }
    }

    // Group by (name, file).
    let mut files: Vec<String> = Vec::new();
    let mut file_ids: HashMap<Arc<str>, u32> = HashMap::new();
    let mut intern = |f: &Option<Arc<str>>| {
        f.as_ref().map(|f| {
            *file_ids.entry(f.clone()).or_insert_with(|| {
                files.push(f.to_string());
                (files.len() - 1) as u32
            })
        })
    };
    let mut grouped: HashMap<(&str, Option<Arc<str>>), FuncEntry> = HashMap::new();
    let mut group_sites: HashMap<(&str, Option<Arc<str>>), Vec<RawSite<'_>>> = HashMap::new();
    let mut order: Vec<usize> = (0..funcs.len()).collect();
    order.sort_by_key(|&i| funcs[i].die);
    for i in order {
        let f = &funcs[i];
        let key = (f.name, f.file.clone());
        let code = f.code || code_of[i];
        let file = intern(&f.file);
        let e = grouped.entry(key.clone()).or_insert_with(|| FuncEntry {
            name: f.name.to_string(),
            file,
            line: f.line,
            die: f.die,
            code: false,
            declared_inline: false,
            external: false,
            inlined: 0,
            sites: Vec::new(),
            inline_units: Vec::new(),
        });
        if f.code && !e.code {
            e.die = f.die;
        }
        e.code |= code;
        e.declared_inline |= f.declared_inline;
        e.external |= f.external;
        e.inlined += inline_of[i].0;
        e.inline_units.append(&mut units_of[i]);
        let sites = group_sites.entry(key).or_default();
        for s in std::mem::take(&mut inline_of[i].1) {
            keep_smallest(sites, s);
        }
    }
    let mut functions: Vec<FuncEntry> = grouped
        .into_iter()
        .map(|(key, mut e)| {
            e.sites = group_sites
                .remove(&key)
                .unwrap_or_default()
                .into_iter()
                .map(|s| InlineSite {
                    caller: s.caller.to_string(),
                    file: intern(&s.file),
                    line: s.line,
                })
                .collect();
            e
        })
        .collect();
    // Deterministic file numbering: renumber by path.
    let mut sorted: Vec<(String, u32)> = files.iter().cloned().zip(0..).collect();
    sorted.sort();
    let mut renumber = vec![0u32; sorted.len()];
    for (new, (_, old)) in sorted.iter().enumerate() {
        renumber[*old as usize] = new as u32;
    }
    for e in &mut functions {
        e.file = e.file.map(|f| renumber[f as usize]);
        for s in &mut e.sites {
            s.file = s.file.map(|f| renumber[f as usize]);
        }
        e.sites.sort();
        e.inline_units.sort_unstable();
        e.inline_units.dedup();
    }
    let files = sorted.into_iter().map(|(f, _)| f).collect();
    functions.sort_by(|a, b| (&a.name, a.file).cmp(&(&b.name, b.file)));
    let mut types: Vec<TypeEntry> = types
        .into_iter()
        .map(|((kind, name), die)| TypeEntry {
            key: format!("{kind} {name}"),
            die,
        })
        .collect();
    types.sort_by(|a, b| a.key.cmp(&b.key));
    DwarfIndex {
        units,
        files,
        functions,
        types,
    }
}

impl DwarfIndex {
    /// The functions named `name` (one per declaring file).
    pub fn functions_named(&self, name: &str) -> &[FuncEntry] {
        let start = self.functions.partition_point(|f| f.name.as_str() < name);
        let end = start + self.functions[start..].partition_point(|f| f.name == name);
        &self.functions[start..end]
    }

    /// The DIE of the type with `key` (`struct task_struct`, `typedef pid_t`).
    pub fn type_die(&self, key: &str) -> Option<u64> {
        let i = self.types.partition_point(|t| t.key.as_str() < key);
        self.types.get(i).filter(|t| t.key == key).map(|t| t.die)
    }

    /// The path of file `f`.
    pub fn file(&self, f: Option<u32>) -> Option<&str> {
        self.files.get(f? as usize).map(String::as_str)
    }

    /// The compilation unit containing DIE `die`.
    pub fn unit_of(&self, die: u64) -> Option<u64> {
        let i = self.units.partition_point(|&u| u <= die);
        i.checked_sub(1).map(|i| self.units[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_smallest_sites_whatever_the_order() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for i in 0..20u32 {
            keep_smallest(&mut a, i);
            keep_smallest(&mut b, 19 - i);
        }
        assert_eq!(a, (0..8).collect::<Vec<_>>());
        assert_eq!(a, b);
    }
}
