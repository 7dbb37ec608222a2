//! Function questions on [`KernelInfo`]: does it exist, is it inlined,
//! can a kprobe be put on it (an out-of-line copy, a symbol, not on the
//! kprobe blacklist), which functions match a wildcard or `name@file.c`,
//! and what to suggest instead.

use super::dwarf::DwarfFunction;
use super::error::DebugInfoError;
use super::info::KernelInfo;
use super::source::{FunctionFacts, Source, Sourced};
use super::symbols::SystemMap;
use crate::text::glob::Glob;

/// Whether an error should name alternatives: they cost a walk over every
/// kernel function (and DWARF's index, when there is one), wasted on an
/// error nobody sees, such as an optional (`?`) point's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suggest {
    /// Name the functions to probe instead.
    Alternatives,
    /// The error will be dropped: name none.
    Nothing,
}

/// Whether the kprobe blacklist rules a function out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlacklistAnswer {
    /// Symbols say kprobes may be placed on it.
    Allowed,
    /// The kernel refuses kprobes on it, for this reason.
    Forbidden(String),
    /// No real `System.map`: registration will tell at run time.
    Unknown,
}

impl KernelInfo {
    /// What the first source that knows function `name` says. Errors
    /// (with alternatives) when no source knows it.
    pub fn function(&self, name: &str) -> Result<Sourced<FunctionFacts>, DebugInfoError> {
        self.find_function(name)
            .ok_or_else(|| self.no_such_function(name, Suggest::Alternatives))
    }

    /// What the first source that knows function `name` says, if any.
    pub(crate) fn find_function(&self, name: &str) -> Option<Sourced<FunctionFacts>> {
        let mut found = self.ask(|s| s.function(name))?;
        // DWARF shows no out-of-line code for a function whose code
        // identical-code folding merged into another's (`__dev_fwnode` and
        // `__dev_fwnode_const`); its symbol is then an alias of that code.
        if found.source == Source::Dwarf && !found.value.out_of_line && self.has_symbol(name) {
            found.value.out_of_line = true;
        }
        Some(found)
    }

    /// Whether `System.map` (when real) or BTF has function `name`.
    fn has_symbol(&self, name: &str) -> bool {
        match self.system_map() {
            Some(map) => map.get(name).is_some_and(|s| s.is_text()),
            None => self.btf().is_some_and(|b| b.has_function(name)),
        }
    }

    /// Like [`function`](Self::function), but errors unless a kprobe can
    /// be placed on `name`: it must have an out-of-line copy, a symbol
    /// (when `System.map` is real) and not be blacklisted.
    pub fn probeable(&self, name: &str) -> Result<Sourced<FunctionFacts>, DebugInfoError> {
        self.probeable_for(name, Suggest::Alternatives)
    }

    /// [`probeable`](Self::probeable), its errors naming alternatives or
    /// not as `suggest` says.
    pub fn probeable_for(
        &self,
        name: &str,
        suggest: Suggest,
    ) -> Result<Sourced<FunctionFacts>, DebugInfoError> {
        let found = self
            .find_function(name)
            .ok_or_else(|| self.no_such_function(name, suggest))?;
        if !found.value.out_of_line {
            let inlined = found.value.inlined.unwrap_or(0);
            let why = match inlined {
                0 => "the compiler left no code for it".to_string(),
                n => format!("it is inlined ({n} copies) and has no out-of-line copy to probe"),
            };
            let mut suggestions = self.suggestions(name, suggest);
            // DWARF knows where the copies are: `.inline` probes them.
            if inlined > 0 && found.source == Source::Dwarf && suggest == Suggest::Alternatives {
                suggestions.insert(0, format!("kernel.function(\"{name}\").inline"));
            }
            return Err(DebugInfoError::NoSuchFunction {
                name: name.to_string(),
                why,
                suggestions,
                source: found.source.to_string(),
            });
        }
        if let Some(map) = self.system_map() {
            if map.get(name).filter(|s| s.is_text()).is_none() {
                let clones: Vec<String> = map
                    .function_names()
                    .into_iter()
                    .filter(|n| {
                        n.strip_prefix(name)
                            .is_some_and(|rest| rest.starts_with('.'))
                    })
                    .map(str::to_string)
                    .collect();
                return Err(DebugInfoError::NoSuchFunction {
                    name: name.to_string(),
                    why: if clones.is_empty() {
                        "it has no symbol".into()
                    } else {
                        "only compiler-specialised copies of it have symbols".into()
                    },
                    suggestions: if clones.is_empty() {
                        self.suggestions(name, suggest)
                    } else {
                        clones
                    },
                    source: "System.map".into(),
                });
            }
        }
        if let BlacklistAnswer::Forbidden(reason) = self.blacklisted(name) {
            return Err(DebugInfoError::Blacklisted {
                name: name.to_string(),
                reason,
            });
        }
        Ok(found)
    }

    /// Whether a raw kprobe (`kprobe.function`) can go on symbol `name`:
    /// it must be a text symbol of `System.map` that the blacklist allows.
    /// Debug information does not matter (assembly functions have none);
    /// without a real `System.map`, BTF or DWARF must know the function.
    pub fn kprobe_symbol(&self, name: &str) -> Result<(), DebugInfoError> {
        let Some(map) = self.system_map() else {
            return self.probeable(name).map(|_| ());
        };
        if map.get(name).filter(|s| s.is_text()).is_none() {
            return Err(DebugInfoError::NoSuchFunction {
                name: name.to_string(),
                why: "it has no symbol".into(),
                suggestions: self.alternatives(name),
                source: "System.map".into(),
            });
        }
        match self.blacklisted(name) {
            BlacklistAnswer::Forbidden(reason) => Err(DebugInfoError::Blacklisted {
                name: name.to_string(),
                reason,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the kprobe blacklist rules `name` out, as far as symbols tell.
    pub fn blacklisted(&self, name: &str) -> BlacklistAnswer {
        let Some(map) = self.system_map() else {
            return BlacklistAnswer::Unknown;
        };
        let Some(sym) = map.get(name) else {
            return BlacklistAnswer::Allowed;
        };
        map.blacklist()
            .reason(sym)
            .map_or(BlacklistAnswer::Allowed, BlacklistAnswer::Forbidden)
    }

    fn no_such_function(&self, name: &str, suggest: Suggest) -> DebugInfoError {
        let (source, why) = if self.dwarf().is_some() {
            ("DWARF", "it does not exist")
        } else if self.btf().is_some() {
            ("BTF", "it is inlined or does not exist")
        } else {
            ("symbols", "it is inlined or does not exist")
        };
        DebugInfoError::NoSuchFunction {
            name: name.to_string(),
            why: why.into(),
            suggestions: self.suggestions(name, suggest),
            source: source.into(),
        }
    }

    fn suggestions(&self, name: &str, suggest: Suggest) -> Vec<String> {
        match suggest {
            Suggest::Alternatives => self.alternatives(name),
            Suggest::Nothing => Vec::new(),
        }
    }

    /// Probe-able functions to suggest instead of `name`: DWARF's callers
    /// of an inlined `name` first, then the syscall entry when `name` is
    /// about a syscall, then similar names; `syscall.X` last.
    pub fn alternatives(&self, name: &str) -> Vec<String> {
        super::suggest::alternatives(self, name)
    }

    /// The probe-able function names (DWARF's with code, else BTF's, else
    /// symbols), and the source they came from; built on first use.
    pub fn function_names(&self) -> &Sourced<Vec<String>> {
        self.function_names
            .get_or_init(|| self.build_function_names())
    }

    fn build_function_names(&self) -> Sourced<Vec<String>> {
        if let Some(d) = self.dwarf() {
            // DWARF's functions with code, plus BTF's (aliases left by
            // identical-code folding have no code in DWARF); with a real
            // System.map, only those with a symbol of their own.
            let mut names: Vec<&str> = d.function_names();
            if let Some(b) = self.btf() {
                names.extend(b.function_names());
                names.sort_unstable();
                names.dedup();
            }
            if let Some(map) = self.system_map() {
                names.retain(|n| map.get(n).is_some_and(|s| s.is_text()));
            }
            return Sourced {
                value: names.into_iter().map(str::to_string).collect(),
                source: Source::Dwarf,
            };
        }
        if let Some(b) = self.btf() {
            return Sourced {
                value: b.function_names().into_iter().map(str::to_string).collect(),
                source: Source::Btf,
            };
        }
        Sourced {
            value: self.calling_convention().functions.clone(),
            source: Source::CallingConvention,
        }
    }

    /// Function names matching a wildcard pattern (`vfs_*`), sorted,
    /// without blacklisted ones when that is knowable.
    pub fn functions_matching(&self, pattern: &str) -> Sourced<Vec<String>> {
        let all = self.function_names();
        let map = self.system_map();
        let bl = map.map(SystemMap::blacklist);
        let glob = Glob::new(pattern);
        let value = all
            .value
            .iter()
            .filter(|n| glob.matches(n))
            .filter(|n| match (map, &bl) {
                (Some(m), Some(bl)) => m.get(n).is_none_or(|s| bl.reason(s).is_none()),
                _ => true,
            })
            .cloned()
            .collect();
        Sourced {
            value,
            source: all.source,
        }
    }

    /// Functions matching `pattern` declared in files matching `file`
    /// (`name@file.c` probe points); needs DWARF.
    pub fn functions_in_file(
        &self,
        pattern: &str,
        file: &str,
    ) -> Result<Vec<DwarfFunction>, DebugInfoError> {
        let d = self.dwarf().ok_or_else(|| DebugInfoError::NeedsDwarf {
            what: format!("'{pattern}@{file}' matching"),
            hint: self.files().debug_hint.clone(),
        })?;
        Ok(d.matching(pattern, Some(file)))
    }

    /// Whether a probe-able function `name` exists per the best function
    /// list (for syscall entries and suggestions).
    pub(crate) fn has_function(&self, name: &str) -> Option<bool> {
        let known = self.dwarf().is_some()
            || self.btf().is_some()
            || !self.calling_convention().functions.is_empty();
        known.then(|| {
            self.find_function(name)
                .is_some_and(|f| f.value.out_of_line)
        })
    }
}
