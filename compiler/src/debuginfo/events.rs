//! Tracepoint and syscall questions on [`KernelInfo`]: names and types of
//! `kernel.trace("sched:sched_switch")` arguments, the syscall table and
//! each syscall's parameters — all without DWARF (headers for names, BTF
//! or DWARF for types when available).

use super::ctype::CType;
use super::error::DebugInfoError;
use super::info::KernelInfo;
use super::source::{Source, Sourced};
use super::syscalls::{entry_function, params_of, Syscall, SyscallParam};
use super::tracepoints::{combine, Tracepoint};
use crate::kernel::module_tracepoints::ModuleTracepoint;
use crate::text::glob::Glob;
use crate::text::similar;

/// What [`KernelInfo::tracepoints_with_modules`] found.
#[derive(Debug, Clone, Default)]
pub struct TracepointMatches {
    /// The image's and the modules' tracepoints that can be probed by
    /// name, with their parameters.
    pub found: Vec<Sourced<Tracepoint>>,
    /// Tracepoints of modules that no header of the tree declares (their
    /// parameters are unknown), with their module and subsystem.
    pub undeclared: Vec<ModuleTracepoint>,
    /// Why the modules' tracepoints could not be learnt (the image's are
    /// in `found` all the same).
    pub modules_error: Option<String>,
}

/// A syscall with its entry function and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallInfo {
    /// Number, name and table entry.
    pub syscall: Syscall,
    /// The kernel function to probe (`__x64_sys_kill`).
    pub entry_function: String,
    /// Whether that function exists (`None`: nothing to check against).
    /// `SYSCALL_DEFINE0` entries are aliases of `__do_sys_NAME`, the name
    /// BTF keeps: they count as existing when that one does.
    pub entry_exists: Option<bool>,
    /// The user-visible parameters, in order.
    pub params: Vec<SyscallParam>,
    /// Where the parameters came from: the headers' `sys_NAME`
    /// declaration, else the kernel's `__do_sys_NAME` (DWARF or BTF);
    /// `None` when nothing declares them (the list is then empty).
    pub params_source: Option<Source>,
    /// The return type (`long`).
    pub ret: CType,
}

impl KernelInfo {
    /// Tracepoint `spec` (`sched:sched_switch` or `sched_switch`).
    pub fn tracepoint(&self, spec: &str) -> Result<Sourced<Tracepoint>, DebugInfoError> {
        let found = self.tracepoints(spec);
        match found.len() {
            1 => Ok(found.into_iter().next().expect("one")),
            0 => Err(DebugInfoError::NoSuchTracepoint {
                name: spec.to_string(),
                suggestions: self.similar_tracepoints(spec.rsplit(':').next().unwrap_or(spec)),
            }),
            _ => Ok(found.into_iter().next().expect("several")),
        }
    }

    /// Every tracepoint matching `pattern` (`sched:*`, `sched_*`,
    /// `*:sched_switch`, `*`), sorted by subsystem and name. With BTF only
    /// the kernel's built-in tracepoints are listed; without it, every one
    /// the headers declare.
    pub fn tracepoints(&self, pattern: &str) -> Vec<Sourced<Tracepoint>> {
        let (sys_pat, name_pat) = pattern.split_once(':').unwrap_or(("*", pattern));
        let (sys_pat, name_pat) = (Glob::new(sys_pat), Glob::new(name_pat));
        let mut out: Vec<Sourced<Tracepoint>> = self
            .tracepoint_names()
            .into_iter()
            .filter(|(sys, name)| sys_pat.matches(sys) && name_pat.matches(name))
            .map(|(_, name)| self.tracepoint_named(&name))
            .collect();
        out.sort_by(|a, b| (&a.value.system, &a.value.name).cmp(&(&b.value.system, &b.value.name)));
        out
    }

    /// Every tracepoint matching `pattern` (as [`KernelInfo::tracepoints`]),
    /// the image's and those the kernel's own modules define (see
    /// [`KernelInfo::module_tracepoints`]: this reads every module once
    /// per kernel), sorted by subsystem and name. A module's tracepoint
    /// comes with its header's parameters (as
    /// [`KernelInfo::module_tracepoint`]); those no header of the tree
    /// declares (a driver's private trace header) are only named, in
    /// [`TracepointMatches::undeclared`].
    pub fn tracepoints_with_modules(&self, pattern: &str) -> TracepointMatches {
        let mut found = self.tracepoints(pattern);
        let mut undeclared = Vec::new();
        let modules_error = match self.module_tracepoints() {
            Err(e) => Some(e.to_string()),
            Ok(list) => {
                let (sys_pat, name_pat) = pattern.split_once(':').unwrap_or(("*", pattern));
                let (sys_pat, name_pat) = (Glob::new(sys_pat), Glob::new(name_pat));
                let decls = self.trace_decls();
                let mut seen: std::collections::BTreeSet<String> =
                    found.iter().map(|t| t.value.name.clone()).collect();
                for mt in list {
                    let decl = decls.get(&mt.name);
                    let system = match (&mt.system, decl) {
                        (s, _) if !s.is_empty() => s.clone(),
                        (_, Some(d)) => d.system.clone(),
                        (_, None) => String::new(),
                    };
                    if !name_pat.matches(&mt.name)
                        || !sys_pat.matches(&system)
                        || !seen.insert(mt.name.clone())
                    {
                        continue;
                    }
                    match self.module_tracepoint(&mt.name) {
                        Some(tp) if tp.value.system == system => found.push(tp),
                        // In the image after all, or declared in another
                        // subsystem than the module's event says.
                        Some(_) => {}
                        None if decl.is_none() => undeclared.push(ModuleTracepoint {
                            system,
                            ..mt.clone()
                        }),
                        None => {}
                    }
                }
                None
            }
        };
        found.sort_by(|a, b| {
            (&a.value.system, &a.value.name).cmp(&(&b.value.system, &b.value.name))
        });
        TracepointMatches {
            found,
            undeclared,
            modules_error,
        }
    }

    /// Whether resolving `kernel.trace("spec")` asks for the tracepoints of
    /// the kernel's modules ([`KernelInfo::module_tracepoints`]), which
    /// must then be learnt before: a wildcard does; a plain name does when
    /// neither the image nor a header of the tree has it in that subsystem
    /// (the error then names a module's tracepoint, or the nearest ones).
    pub fn tracepoint_needs_modules(&self, spec: &str) -> bool {
        if spec.contains('*') {
            return true;
        }
        if !self.tracepoints(spec).is_empty() {
            return false;
        }
        let (system, short) = match spec.split_once(':') {
            Some((system, short)) => (Some(system), short),
            None => (None, spec),
        };
        self.module_tracepoint(short)
            .is_none_or(|tp| system.is_some_and(|s| s != tp.value.system))
    }

    /// Names close to tracepoint `name` (`sched_swich`): the image's and,
    /// when they are known already or can be learnt, the modules'.
    pub fn similar_tracepoints(&self, name: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .tracepoint_names()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        if let Ok(list) = self.module_tracepoints() {
            names.extend(list.iter().map(|t| t.name.clone()));
        }
        names.sort();
        names.dedup();
        similar::nearest(name, names.iter().map(String::as_str), 3)
    }

    /// (subsystem, name) of every tracepoint.
    fn tracepoint_names(&self) -> Vec<(String, String)> {
        let decls = self.trace_decls();
        let system = |name: &str| {
            decls
                .get(name)
                .map(|d| d.system.clone())
                .unwrap_or_default()
        };
        match self.btf() {
            Some(btf) => btf
                .tracepoint_names()
                .into_iter()
                .map(|n| (system(n), n.to_string()))
                .collect(),
            None => decls
                .values()
                .map(|d| (d.system.clone(), d.name.clone()))
                .collect(),
        }
    }

    /// Tracepoint `name` as its header declares it when the kernel image
    /// lacks it (its BTF has no `btf_trace_<name>`): one defined in a
    /// module, or configured out. Types come from the kernel's BTF by
    /// name; a type private to the module stays unresolved (an empty
    /// typedef or an incomplete struct). `None` without BTF (nothing then
    /// says what the image has) or without a declaration.
    pub fn module_tracepoint(&self, name: &str) -> Option<Sourced<Tracepoint>> {
        let btf = self.btf()?;
        if btf.tracepoint_params(name).is_some() {
            return None;
        }
        let Some(decl) = self.trace_decls().get(name) else {
            return self.module_private_tracepoint(name);
        };
        let mut tp = combine(Some(decl), name, None, None, self.type_names());
        tp.in_kernel = Some(false);
        Some(Sourced {
            value: tp,
            source: Source::Headers,
        })
    }

    /// A module's tracepoint that no header of the tree declares (`kvm`'s,
    /// from `arch/x86/kvm/trace.h`), typed from the module's BTF, which has
    /// its `btf_trace_` typedef as the image's BTF has the built-in ones',
    /// when the module's types were learnt (see
    /// [`KernelInfo::module_types`]).
    fn module_private_tracepoint(&self, name: &str) -> Option<Sourced<Tracepoint>> {
        let list = self.module_tracepoints().ok()?;
        let mt = list.iter().find(|t| t.name == name)?;
        let types = self.module_types(&mt.module).ok()?;
        let params = types.tracepoint_params(name)?;
        let names = types.tracepoint_param_names(name);
        let mut tp = combine(None, name, Some(params), names, self.type_names());
        tp.system = mt.system.clone();
        tp.in_kernel = Some(false);
        Some(Sourced {
            value: tp,
            source: Source::Btf,
        })
    }

    fn tracepoint_named(&self, name: &str) -> Sourced<Tracepoint> {
        let decl = self.trace_decls().get(name);
        let btf_params = self.btf().and_then(|b| b.tracepoint_params(name));
        let btf_names = match decl {
            None => self.btf().and_then(|b| b.tracepoint_param_names(name)),
            Some(_) => None,
        };
        Sourced {
            value: combine(decl, name, btf_params, btf_names, self.type_names()),
            source: if decl.is_some() {
                Source::Headers
            } else {
                Source::Btf
            },
        }
    }

    /// Syscall `name` (`kill`, `stat`, or the entry's `newstat`).
    pub fn syscall(&self, name: &str) -> Result<Sourced<SyscallInfo>, DebugInfoError> {
        let table = self.syscall_table()?;
        let sc = table
            .get(name)
            .ok_or_else(|| DebugInfoError::NoSuchSyscall {
                name: name.to_string(),
                suggestions: similar::nearest(
                    name,
                    table.syscalls.iter().map(|s| s.name.as_str()),
                    3,
                ),
            })?;
        Ok(Sourced {
            value: self.syscall_info(sc),
            source: Source::Headers,
        })
    }

    /// Every syscall whose name matches `pattern` (`*`, `open*`), by number.
    pub fn syscalls(&self, pattern: &str) -> Result<Vec<SyscallInfo>, DebugInfoError> {
        let glob = Glob::new(pattern);
        Ok(self
            .syscall_table()?
            .syscalls
            .iter()
            .filter(|s| glob.matches(&s.name))
            .map(|s| self.syscall_info(s))
            .collect())
    }

    fn syscall_info(&self, sc: &Syscall) -> SyscallInfo {
        let entry_fn = entry_function(self.arch(), &sc.entry);
        let base = sc.entry.trim_start_matches("sys_");
        let do_sys = || self.find_function(&format!("__do_sys_{base}"));
        let decls = self.syscall_prototypes().get(&sc.entry);
        let (params, params_source) = match decls {
            Some(d) => {
                // Unnamed header parameters take their names from the
                // kernel's `__do_sys_NAME` (where SYSCALL_DEFINE puts the body).
                let fallback: Vec<String> = if d.iter().any(|p| !has_name(p)) {
                    do_sys()
                        .and_then(|f| f.value.prototype.params)
                        .map(|ps| ps.into_iter().map(|p| p.name).collect())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                (
                    params_of(d, &fallback, self.type_names()),
                    Some(Source::Headers),
                )
            }
            None => match do_sys().and_then(|f| Some((f.value.prototype.params?, f.source))) {
                Some((ps, source)) => (
                    ps.into_iter()
                        .map(|p| SyscallParam {
                            decl: format!("{} {}", p.ty, p.name),
                            name: p.name,
                            user: false,
                            ty: p.ty,
                        })
                        .collect(),
                    Some(source),
                ),
                None => (Vec::new(), None),
            },
        };
        let entry_exists = match self.has_function(&entry_fn) {
            Some(false) if params.is_empty() && params_source.is_some() => {
                self.has_function(&format!("__do_sys_{base}"))
            }
            other => other,
        };
        SyscallInfo {
            syscall: sc.clone(),
            entry_exists,
            entry_function: entry_fn,
            params,
            params_source,
            ret: CType::Int {
                name: "long".into(),
                size: 8,
                signed: true,
            },
        }
    }
}

/// Whether a header parameter declaration names its parameter.
fn has_name(decl: &str) -> bool {
    super::cdecl::parse_param(decl, &super::cdecl::NoTypes).is_some_and(|p| p.name.is_some())
}
