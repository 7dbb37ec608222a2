//! `kernel.statement("f@file:LINES")` on [`KernelInfo`]: the statements
//! of a function's out-of-line copy, read from the line table of the
//! kernel's DWARF (the `-dbg` package), turned into kprobes at
//! `symbol+offset` as `.inline` copies are (see [`super::inline`]).
//! A statement is the first `is_stmt` row of each run of one line of the
//! function's own file (code inlined from headers is left out); lines are
//! one (`:N`), a range (`:N-M`) or every line with code (`:*`).

use super::dwarf::file_matches;
use super::dwarf::index::FuncEntry;
use super::dwarf::located::LocatedScope;
use super::dwarf::scopes::Scope;
use super::error::DebugInfoError;
use super::info::KernelInfo;
use crate::text::glob::Glob;

/// Which lines of a function a statement point names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// `:*`: every line with code.
    All,
    /// `:N` (`first == last`) or `:N-M`.
    Range {
        /// The first line.
        first: u32,
        /// The last line (inclusive).
        last: u32,
    },
    /// `+N`: the line N past the function's declaration line.
    Relative(u32),
}

impl Lines {
    /// The lines part of a statement spec (after the last `:`), if it is
    /// one of the forms above.
    pub fn parse(text: &str) -> Option<Lines> {
        if text == "*" {
            return Some(Lines::All);
        }
        let (first, last) = text.split_once('-').unwrap_or((text, text));
        let (first, last) = (first.parse().ok()?, last.parse().ok()?);
        (first <= last).then_some(Lines::Range { first, last })
    }

    /// The `+N` form (the text after the `+`).
    pub fn parse_relative(text: &str) -> Option<Lines> {
        text.parse().ok().map(Lines::Relative)
    }

    /// These lines of a function declared at line `decl`.
    fn of_function(self, decl: u32) -> Lines {
        match self {
            Lines::Relative(n) => {
                let line = decl.saturating_add(n);
                Lines::Range {
                    first: line,
                    last: line,
                }
            }
            other => other,
        }
    }

    fn contains(self, line: u32) -> bool {
        match self {
            Lines::All => line != 0,
            Lines::Range { first, last } => (first..=last).contains(&line),
            Lines::Relative(_) => false,
        }
    }
}

/// One statement to put a kprobe on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementProbe {
    /// The function it is in (`do_nanosleep`).
    pub function: String,
    /// Its source file as the kernel's DWARF names it.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// The symbol the kprobe is placed relative to (unique in System.map).
    pub symbol: String,
    /// The statement's address, as an offset from `symbol`.
    pub offset: u64,
    /// The function containing it, as `symname(addr)` names it.
    pub containing: String,
    /// The function's variables there.
    pub located: LocatedScope,
}

impl KernelInfo {
    /// The kprobes for the statements at `lines` of the functions matching
    /// `pattern` (wildcards allowed) declared in a file matching `file`,
    /// sorted by function, then address. Needs DWARF and the real
    /// `System.map` (both in the `-dbg` package). Statements in code the
    /// kernel refuses kprobes in are skipped; a function named exactly
    /// that is missing or only inlined is an error.
    pub fn statement_probes(
        &self,
        pattern: &str,
        file: &str,
        lines: Lines,
    ) -> Result<Vec<StatementProbe>, DebugInfoError> {
        let spec = format!("{pattern}@{file}");
        let needs = |what: String| DebugInfoError::NeedsDwarf {
            what,
            hint: self.files().debug_hint.clone(),
        };
        let dwarf = self.dwarf().ok_or_else(|| {
            needs(format!(
                "the statements of '{spec}' (only DWARF's line table has them)"
            ))
        })?;
        let map = self.system_map().ok_or_else(|| {
            needs(format!(
                "the statements of '{spec}' (a kprobe inside a function needs the real System.map)"
            ))
        })?;
        let glob = Glob::new(pattern);
        let index = dwarf.index();
        let entries: Vec<_> = index
            .functions
            .iter()
            .filter(|f| glob.matches(&f.name))
            .filter(|f| index.file(f.file).is_some_and(|p| file_matches(file, p)))
            .collect();
        if !pattern.contains(['*', '?', '[']) && !entries.iter().any(|f| f.code) {
            let why = match entries.is_empty() {
                true => "it does not exist",
                false => "it is only inlined, so its statements are in its callers",
            };
            return Err(DebugInfoError::NoSuchFunction {
                name: spec,
                why: why.into(),
                suggestions: self.alternatives(pattern),
                source: "DWARF".into(),
            });
        }
        let blacklist = map.blacklist();
        let mut out = Vec::new();
        // An abstract instance's statements are in its concrete copies.
        let scopes: Vec<_> = entries
            .iter()
            .filter(|f| f.code)
            .flat_map(|f| dwarf.code_scopes(f.die).into_iter().map(move |s| (f, s)))
            .collect();
        let probe_at = |f: &FuncEntry, scope: &Scope, decl: &str, address: u64, line: u32| {
            let containing = map.text_symbol_at(address)?;
            if blacklist.reason_at(address, &containing.name).is_some() {
                return None;
            }
            let anchor = map.unique_text_symbol_before(address)?;
            Some((
                address,
                StatementProbe {
                    function: f.name.clone(),
                    file: decl.to_string(),
                    line,
                    symbol: anchor.name.clone(),
                    offset: address - anchor.addr,
                    containing: containing.name.clone(),
                    located: dwarf.located(scope, address),
                },
            ))
        };
        for (f, scope) in &scopes {
            let Some(decl) = index.file(f.file) else {
                continue;
            };
            let lines = lines.of_function(f.line);
            let mut previous = None;
            for (address, line, row_file) in dwarf.kernel_line_rows(scope) {
                let starts = previous != Some((line, row_file.clone()));
                previous = Some((line, row_file.clone()));
                // Lines of the function's own file: code inlined from
                // headers is not one of its statements.
                if !starts || !lines.contains(line) || row_file.as_deref() != Some(decl) {
                    continue;
                }
                out.extend(probe_at(f, scope, decl, address, line));
            }
        }
        // One line named exactly, with code but no statement row (gcc 14
        // leaves such lines): SystemTap 5.6 still probes it, once per
        // copy, at its first address (FINDINGS, "SystemTap 5.6 on 6.12
        // with the -dbg package").
        if out.is_empty() {
            for (f, scope) in &scopes {
                let Lines::Range { first, last } = lines.of_function(f.line) else {
                    continue;
                };
                let Some(decl) = index.file(f.file).filter(|_| first == last) else {
                    continue;
                };
                let first_row = dwarf
                    .kernel_line_rows_not_statements(scope)
                    .into_iter()
                    .filter(|(_, line, file)| *line == first && file.as_deref() == Some(decl))
                    .map(|(address, _, _)| address)
                    .min();
                if let Some(address) = first_row {
                    out.extend(probe_at(f, scope, decl, address, first));
                }
            }
        }
        out.sort_by(|a, b| (&a.1.function, a.0).cmp(&(&b.1.function, b.0)));
        out.dedup_by(|a, b| a.1.function == b.1.function && a.0 == b.0);
        Ok(out.into_iter().map(|(_, p)| p).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn line_specs() {
        assert_eq!(Lines::parse("*"), Some(Lines::All));
        assert_eq!(
            Lines::parse("87"),
            Some(Lines::Range {
                first: 87,
                last: 87
            })
        );
        assert_eq!(
            Lines::parse("87-102"),
            Some(Lines::Range {
                first: 87,
                last: 102
            })
        );
        assert_eq!(Lines::parse("102-87"), None);
        assert_eq!(Lines::parse("x"), None);
        assert_eq!(Lines::parse(""), None);
        assert!(Lines::All.contains(5) && !Lines::All.contains(0));
        assert!(!Lines::Range { first: 2, last: 3 }.contains(4));
        assert_eq!(Lines::parse_relative("44"), Some(Lines::Relative(44)));
        assert_eq!(Lines::parse_relative("x"), None);
        assert_eq!(
            Lines::Relative(44).of_function(836),
            Lines::Range {
                first: 880,
                last: 880
            }
        );
        assert_eq!(Lines::All.of_function(836), Lines::All);
    }
}
