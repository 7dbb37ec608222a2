//! `.inline` probes on [`KernelInfo`]: the inlined copies of a function
//! (DWARF, [`dwarf::inlines`](super::dwarf::inlines)) turned into kprobes
//! at `symbol+offset`, where `symbol` is the nearest text symbol of the
//! real `System.map` at or before the copy's entry whose name is unique (a
//! kprobe by name takes the first of several same-named static
//! functions). Copies in code the kernel refuses kprobes in are skipped.

use super::dwarf::file_matches;
use super::dwarf::index::FuncEntry;
use super::dwarf::inlines::InlineInstance;
use super::dwarf::located::LocatedScope;
use super::dwarf::DwarfKernel;
use super::error::DebugInfoError;
use super::info::KernelInfo;
use super::symbols::SystemMap;
use crate::text::glob::Glob;

/// One inlined copy to put a kprobe on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineProbe {
    /// The inlined function (`do_fsync`).
    pub function: String,
    /// The symbol the kprobe is placed relative to (unique in System.map).
    pub symbol: String,
    /// The copy's entry, as an offset from `symbol`.
    pub offset: u64,
    /// The function containing the copy, as `symname(addr)` names it
    /// (`__x64_sys_fsync`): what `probefunc()` returns.
    pub containing: String,
    /// The copy's link-time entry address.
    pub address: u64,
    /// The inlined function's variables at the copy's entry, when asked
    /// for ([`KernelInfo::inline_probes`]'s `vars`).
    pub located: Option<LocatedScope>,
}

impl KernelInfo {
    /// The kprobes for the inlined copies of the functions matching
    /// `pattern` (wildcards allowed), declared in a file matching `file`
    /// when given; sorted by function then address. Needs DWARF and the
    /// real `System.map` (both in the `-dbg` package). A function named
    /// exactly that is missing, never inlined, or inlined only where
    /// kprobes cannot go is an error; a wildcard skips such functions and
    /// errors only when nothing is left. With `vars`, each copy's
    /// variables are located at its entry.
    pub fn inline_probes(
        &self,
        pattern: &str,
        file: Option<&str>,
        vars: bool,
    ) -> Result<Vec<InlineProbe>, DebugInfoError> {
        let spec = match file {
            Some(f) => format!("{pattern}@{f}"),
            None => pattern.to_string(),
        };
        let needs = |what: String| DebugInfoError::NeedsDwarf {
            what,
            hint: self.files().debug_hint.clone(),
        };
        let dwarf = self.dwarf().ok_or_else(|| {
            needs(format!(
                "the inlined copies of '{spec}' (only DWARF has their addresses)"
            ))
        })?;
        let map = self.system_map().ok_or_else(|| {
            needs(format!(
                "the inlined copies of '{spec}' (a kprobe inside a function needs the real System.map)"
            ))
        })?;
        let wildcard = pattern.contains(['*', '?', '[']);
        let glob = Glob::new(pattern);
        let entries: Vec<&FuncEntry> = dwarf
            .index()
            .functions
            .iter()
            .filter(|f| glob.matches(&f.name))
            .filter(|f| {
                file.is_none_or(|want| {
                    dwarf
                        .index()
                        .file(f.file)
                        .is_some_and(|p| file_matches(want, p))
                })
            })
            .collect();
        if entries.is_empty() && !wildcard {
            return Err(DebugInfoError::NoSuchFunction {
                name: spec,
                why: "it does not exist".into(),
                suggestions: self.alternatives(pattern),
                source: "DWARF".into(),
            });
        }
        let mut out = Vec::new();
        let mut refused: Option<(String, String)> = None;
        let inlined: Vec<&FuncEntry> = entries.iter().copied().filter(|f| f.inlined > 0).collect();
        let copies = dwarf.inline_instances_of(&inlined)?;
        for (f, copies) in inlined.iter().zip(copies) {
            let (probes, why) = probes_of(map, f, copies, vars.then_some(dwarf));
            if probes.is_empty() {
                if let Some(why) = why {
                    refused.get_or_insert((f.name.clone(), why));
                }
            }
            out.extend(probes);
        }
        if !out.is_empty() || wildcard {
            out.sort_by(|a, b| (&a.function, a.address).cmp(&(&b.function, b.address)));
            out.dedup_by(|a, b| a.function == b.function && a.address == b.address);
            return Ok(out);
        }
        if let Some((name, reason)) = refused {
            return Err(DebugInfoError::Blacklisted { name, reason });
        }
        // Named exactly, found, but never inlined (or its copies have no code).
        let out_of_line = entries.iter().any(|f| f.code);
        Err(DebugInfoError::NoSuchFunction {
            name: spec,
            why: if out_of_line {
                "it has no inlined copies with code (it is only out of line)".into()
            } else {
                "it has no inlined copies with code".into()
            },
            suggestions: if out_of_line {
                vec![format!("kernel.function(\"{pattern}\")")]
            } else {
                self.alternatives(pattern)
            },
            source: "DWARF".into(),
        })
    }
}

/// The kprobes for `f`'s copies, and why copies were refused when some were.
fn probes_of(
    map: &SystemMap,
    f: &FuncEntry,
    copies: Vec<InlineInstance>,
    vars: Option<&DwarfKernel>,
) -> (Vec<InlineProbe>, Option<String>) {
    let mut probes = Vec::new();
    let mut why = None;
    let blacklist = map.blacklist();
    for inst in copies {
        let Some(containing) = map.text_symbol_at(inst.entry) else {
            why.get_or_insert_with(|| "a copy is outside the kernel's text".to_string());
            continue;
        };
        if let Some(reason) = blacklist.reason_at(inst.entry, &containing.name) {
            why.get_or_insert_with(|| {
                format!(
                    "its copy in {} is in code kprobes cannot go in: {reason}",
                    containing.name
                )
            });
            continue;
        }
        let Some(anchor) = map.unique_text_symbol_before(inst.entry) else {
            why.get_or_insert_with(|| "no symbol names the code before a copy".to_string());
            continue;
        };
        probes.push(InlineProbe {
            function: f.name.clone(),
            symbol: anchor.name.clone(),
            offset: inst.entry - anchor.addr,
            containing: containing.name.clone(),
            address: inst.entry,
            located: vars.map(|dwarf| located_copy(dwarf, &inst)),
        });
    }
    (probes, why)
}

/// The variables of inlined copy `inst` at its entry (none when its scope
/// cannot be read).
fn located_copy(dwarf: &DwarfKernel, inst: &InlineInstance) -> LocatedScope {
    let scope = inst.top.and_then(|top| dwarf.inline_scope(inst.die, top));
    match scope {
        Some(scope) => dwarf.located(&scope, inst.entry),
        None => LocatedScope {
            function: inst.function.clone(),
            pc: inst.entry,
            vars: Vec::new(),
        },
    }
}
