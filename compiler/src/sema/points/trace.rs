//! Tracepoint probes: `kernel.trace("sched:sched_switch")`, with `*`
//! wildcards in the subsystem and the name (`"sched:*"`, `"*:sys_enter"`,
//! `"sched_*"` for any subsystem), checked against the kernel's
//! tracepoints (BTF `btf_trace_<name>` typedefs, names from the headers).
//!
//! A tracepoint the headers declare but the kernel image lacks (no BTF
//! `btf_trace_<name>`) is taken as a module's: its arguments come from the
//! header with types from the kernel's BTF (one the module keeps private
//! is refused), and the runtime attaches to it whenever its module is
//! loaded. Wildcards match the image's tracepoints and those the kernel's
//! own modules define ([`crate::debuginfo::KernelInfo::module_tracepoints`])
//! when the tree's headers declare
//! them; one no header declares is named in the error, never guessed at.
//!
//! Each concrete point carries its [`Tracepoint`] so that `$prev->pid`,
//! `$$parms`, `$$system` and `$$name` resolve against its parameters.

use super::{parts_text, resolved_text, Family, Param, Parts, PointError, ProbeContext, Target};
use crate::debuginfo::{CType, Tracepoint};
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint};
use crate::sema::vars::{fail_help, listed_type, Failed, Place, TargetHost, TargetVars};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[&[("kernel", Param::No), ("trace", Param::Required)]],
    names: &[],
    types: &["kernel.trace(string)"],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> super::Resolution {
    match parts.as_slice() {
        [("kernel", None), ("trace", Some(t)), rest @ ..] => trace_probe(parts, t, rest, target),
        _ => Ok(None),
    }
}

/// Register-width slots: a parameter wider than this (a struct passed by
/// value, a 128-bit integer) cannot be read from one.
const SLOT_BYTES: u64 = 8;

/// `kernel.trace("spec")`.
fn trace_probe(
    parts: &Parts<'_>,
    spec: &ast::Literal,
    rest: &[(&str, Option<&ast::Literal>)],
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    if !rest.is_empty() {
        return Ok(None);
    }
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let ast::Literal::String(s) = spec else {
        return Err(err(
            format!("'{name}': the tracepoint name must be a string"),
            None,
        ));
    };
    let spec = s.to_str_lossy().into_owned();
    let Some(kernel) = target.kernel else {
        return Err(err(
            format!(
                "'{name}': tracepoint probes need the kernel's tracepoints (a kernel tree with -r)"
            ),
            None,
        ));
    };
    let wildcard = spec.contains('*');
    // A wildcard sees the modules' tracepoints too (read from the
    // kernel's modules package once per kernel); a plain name does not
    // need them unless it is not found.
    let matches = if wildcard {
        kernel.tracepoints_with_modules(&spec)
    } else {
        crate::debuginfo::TracepointMatches {
            found: kernel.tracepoints(&spec),
            ..Default::default()
        }
    };
    let found = matches.found;
    if found.is_empty() {
        if wildcard {
            if let Some(first) = matches.undeclared.first() {
                return Err(err(
                    format!(
                        "'{name}': '{spec}' matches only tracepoints of modules that no header of the kernel tree declares ({} of module {}{}), so their arguments are unknown",
                        module_tp_name(first),
                        first.module,
                        match matches.undeclared.len() {
                            1 => String::new(),
                            n => format!(", and {} more", n - 1),
                        }
                    ),
                    None,
                ));
            }
            // A misspelt subsystem is the likely mistake.
            let help = spec
                .split_once(':')
                .and_then(|(system, rest)| {
                    let mut systems: Vec<String> = kernel
                        .tracepoints_with_modules("*")
                        .found
                        .into_iter()
                        .map(|t| t.value.system)
                        .filter(|s| !s.is_empty())
                        .collect();
                    systems.sort();
                    systems.dedup();
                    super::similar(system, &systems).map(|s| format!("did you mean '{s}:{rest}'?"))
                })
                .or_else(|| {
                    matches.modules_error.as_ref().map(|e| {
                        format!("the tracepoints of the kernel's modules are not known: {e}")
                    })
                });
            return Err(err(
                format!("'{name}': no tracepoint of the kernel or its modules matches '{spec}'"),
                help,
            ));
        }
        // Declared in a header, but not built into the kernel image.
        let (system, short) = match spec.split_once(':') {
            Some((system, short)) => (Some(system), short),
            None => (None, spec.as_str()),
        };
        // Declared in a header, not in the image: a module's (or one
        // configured out, which then never fires, as a module's that
        // never loads does not).
        if let Some(tp) = kernel.module_tracepoint(short) {
            let tp = tp.value;
            if system.is_none_or(|s| s == tp.system) {
                if let Some(bad) = tp.params.iter().find(|p| !fits_slot(&p.ty)) {
                    let private = matches!(
                        bad.ty.strip(),
                        CType::Void | CType::Aggregate { size: None, .. }
                    );
                    let what = if private {
                        format!(
                            "has type '{}', which the kernel's BTF does not describe (a type private to the module): stapkit cannot receive it",
                            bad.ty.render()
                        )
                    } else {
                        format!(
                            "is a {} passed by value, which stapkit cannot receive",
                            bad.ty.render()
                        )
                    };
                    return Err(err(
                        format!(
                            "'{name}': parameter '{}' of module tracepoint '{}' {what}",
                            bad.name,
                            tp.full_name(),
                        ),
                        None,
                    ));
                }
                return Ok(Some(vec![(
                    trace_point(parts, &tp),
                    ProbeContext::new(TracepointVars(tp)),
                )]));
            }
        }
        // A module's, but no header of the tree declares it.
        if let Ok(list) = kernel.module_tracepoints() {
            if let Some(mt) = list.iter().find(|t| {
                t.name == short && system.is_none_or(|s| t.system.is_empty() || t.system == s)
            }) {
                return Err(err(
                    format!(
                        "'{name}': tracepoint '{}' is defined by module {}, but no header of the kernel tree declares it (a header private to the module's sources), so its arguments are unknown",
                        module_tp_name(mt),
                        mt.module
                    ),
                    None,
                ));
            }
        }
        let e = kernel
            .tracepoint(&spec)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| format!("no tracepoint '{spec}' in this kernel"));
        // The name in another subsystem.
        let help = kernel
            .tracepoints(&format!("*:{short}"))
            .first()
            .map(|t| format!("did you mean '{}'?", t.value.full_name()));
        return Err(err(format!("'{name}': {e}"), help));
    }
    let mut points = Vec::new();
    for tp in found {
        let tp = tp.value;
        if let Some(bad) = tp.params.iter().find(|p| !fits_slot(&p.ty)) {
            if wildcard {
                // As for functions, wildcards skip what cannot be probed.
                continue;
            }
            return Err(err(
                format!(
                    "'{name}': parameter '{}' of tracepoint '{}' is a {} passed by value, which stapkit cannot receive",
                    bad.name,
                    tp.full_name(),
                    bad.ty.render()
                ),
                None,
            ));
        }
        points.push((
            trace_point(parts, &tp),
            ProbeContext::new(TracepointVars(tp)),
        ));
    }
    if points.is_empty() {
        return Err(err(
            format!("'{name}': no probe-able tracepoint matches '{spec}'"),
            None,
        ));
    }
    Ok(Some(points))
}

/// `system:name` of a module's tracepoint (just the name for a bare one).
fn module_tp_name(t: &crate::debuginfo::ModuleTracepoint) -> String {
    if t.system.is_empty() {
        t.name.clone()
    } else {
        format!("{}:{}", t.system, t.name)
    }
}

/// Whether a parameter travels in one register-width slot (an integer,
/// enum or pointer of at most 8 bytes).
fn fits_slot(ty: &CType) -> bool {
    match ty.strip() {
        CType::Int { size, .. } | CType::Enum { size, .. } => *size <= SLOT_BYTES,
        CType::Pointer(_) => true,
        _ => false,
    }
}

/// One tracepoint's point: `kernel.trace("sched:sched_switch")`, the form
/// `pp()` returns whatever pattern matched it.
fn trace_point(parts: &Parts<'_>, tp: &Tracepoint) -> ProbePoint {
    let name = resolved_text(parts, "trace", &tp.full_name());
    ProbePoint {
        name,
        kind: ProbeKind::Tracepoint {
            system: tp.system.clone(),
            name: tp.name.clone(),
            nargs: tp.params.len(),
            module: tp.in_kernel == Some(false),
        },
        optional: false,
    }
}

/// A tracepoint's variables: its parameters, in the argument slots the
/// runtime's probe function receives; `$$system` and `$$name`.
#[derive(Debug)]
struct TracepointVars(Tracepoint);

impl TargetVars for TracepointVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        _: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let tp = &self.0;
        let Some(n) = tp.params.iter().position(|p| p.name == name) else {
            let names: Vec<String> = tp.params.iter().map(|p| format!("${}", p.name)).collect();
            return Err(fail_help(
                span,
                format!("tracepoint '{}' has no parameter '{name}'", tp.name),
                format!("its parameters are: {}", names.join(", ")),
            ));
        };
        Ok((
            ir::TargetBase::TracepointArg(n),
            Place::Value(tp.params[n].ty.clone()),
        ))
    }

    fn parameters(&self, _: &str, _: Span) -> Result<(Vec<String>, bool), Failed> {
        Ok((
            self.0.params.iter().map(|p| p.name.clone()).collect(),
            false,
        ))
    }

    fn text(&self, which: &str) -> Option<String> {
        match which {
            "$$system" => Some(self.0.system.clone()),
            "$$name" => Some(self.0.name.clone()),
            _ => None,
        }
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let params = self
            .0
            .params
            .iter()
            .map(|p| (p.name.clone(), listed_type(&p.ty)))
            .collect();
        (None, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(size: u64) -> CType {
        CType::Int {
            name: format!("i{size}"),
            size,
            signed: true,
        }
    }

    #[test]
    fn integers_enums_and_pointers_fit_a_slot() {
        assert!(fits_slot(&int(1)));
        assert!(fits_slot(&int(8)));
        assert!(!fits_slot(&int(16)));
        let s = CType::Aggregate {
            kind: crate::debuginfo::AggregateKind::Struct,
            name: Some("timespec64".into()),
            size: Some(16),
        };
        assert!(fits_slot(&CType::Pointer(Box::new(s.clone()))));
        assert!(!fits_slot(&s));
        let typedef = CType::Typedef {
            name: "pid_t".into(),
            target: Box::new(CType::Const(Box::new(int(4)))),
        };
        assert!(fits_slot(&typedef));
    }
}
