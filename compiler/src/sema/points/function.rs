//! Function probes: `kernel.function("f")`, `kprobe.function("f")`,
//! `module("m").function("f")`, `kprobe.module("m").function("f")`, checked
//! against the kernel's debug information when there is some.

use super::{parts_text, resolved_text, Parts, PointError, ProbeContext, Target};
use crate::debuginfo::DebugInfoError;
use crate::ir::{ProbeKind, ProbePoint};
use crate::syntax::ast;

/// `kernel.function("f")`, `kprobe.function("f")`, `module("m").function("f")`
/// with `.call`, `.return`, `.maxactive(N)` and `.inline` (every inlined
/// copy, see [`inline_probe`]). With the kernel's debug
/// information, names are checked (inlined or missing functions fail with
/// the nearest alternatives), wildcards and `f@file.c` expand to every
/// match, and each point carries its function's prototype for `$vars`.
pub(super) fn function_probe(
    parts: &Parts<'_>,
    function: &ast::Literal,
    module: Option<String>,
    rest: &[(&str, Option<&ast::Literal>)],
    raw_kprobe: bool,
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let ast::Literal::String(f) = function else {
        return Err(err(
            format!("'{name}': the function name must be a string"),
            None,
        ));
    };
    let spec = f.to_str_lossy().into_owned();
    let mut ret = false;
    let mut maxactive = None;
    let (mut call, mut inline) = (false, false);
    for (component, arg) in rest {
        match (*component, arg) {
            ("call", None) if !raw_kprobe => call = true,
            ("return", None) => ret = true,
            ("maxactive", Some(ast::Literal::Number(n))) if n.value > 0 => {
                maxactive = Some(n.value.min(u32::MAX as i64) as u32)
            }
            ("inline", None) if !raw_kprobe => inline = true,
            _ => return Ok(None),
        }
    }
    if inline {
        return inline_probe(parts, &spec, module.is_some(), call, ret, target).map(Some);
    }
    if maxactive.is_some() && !ret {
        return Err(err(
            format!("'{name}': .maxactive(N) only applies to .return probes"),
            None,
        ));
    }
    let wildcard = spec.contains(['*', '?', '[']);
    let (pattern, file) = match spec.split_once('@') {
        Some((f, file)) => (f.to_string(), Some(file.to_string())),
        None => (spec.clone(), None),
    };
    let kernel = match (target.kernel, &module) {
        (Some(k), None) => k,
        // Without the kernel's information (no tree for -p1/-p2, or a
        // module's functions), names go to the kernel unchecked.
        _ if !wildcard && file.is_none() => {
            let context = match (&module, raw_kprobe) {
                (_, true) => ProbeContext::None,
                (Some(m), false) => ProbeContext::Unchecked(format!(
                    "the functions of module '{m}' are not described yet"
                )),
                (None, false) => ProbeContext::Unchecked(
                    "no kernel tree was found, so nothing describes the kernel's functions"
                        .to_string(),
                ),
            };
            let point = function_point(parts, &pattern, module, ret, maxactive);
            return Ok(Some(vec![(point, context)]));
        }
        _ => {
            return Err(err(
                format!("'{name}': matching several functions needs the kernel's symbols (a kernel tree with -r)"),
                Some("name the function exactly".to_string()),
            ))
        }
    };
    let names: Vec<String> = match (&file, wildcard) {
        (Some(file), _) => kernel
            .functions_in_file(&pattern, file)
            .map_err(|e| err(format!("'{name}': {e}"), None))?
            .into_iter()
            .filter(|f| f.out_of_line)
            .map(|f| f.name)
            .collect(),
        (None, true) => kernel.functions_matching(&pattern).value,
        (None, false) => vec![pattern.clone()],
    };
    let mut points = Vec::new();
    for function in &names {
        if raw_kprobe {
            match kernel.kprobe_symbol(function) {
                Ok(()) => points.push((
                    function_point(parts, function, None, ret, maxactive),
                    ProbeContext::None,
                )),
                Err(_) if wildcard => {}
                Err(e) => return Err(err(format!("'{name}': {e}"), None)),
            }
            continue;
        }
        match kernel.probeable(function) {
            Ok(facts) => {
                let context = ProbeContext::Function {
                    prototype: facts.value.prototype,
                    ret,
                    arch: kernel.arch(),
                };
                points.push((
                    function_point(parts, function, None, ret, maxactive),
                    context,
                ));
            }
            // Wildcards skip what cannot be probed, as SystemTap does.
            Err(_) if wildcard || file.is_some() => {}
            Err(e) => return Err(err(format!("'{name}': {e}"), None)),
        }
    }
    if points.is_empty() {
        return Err(err(
            format!("'{name}': no probe-able function matches '{spec}'"),
            None,
        ));
    }
    Ok(Some(points))
}

/// `kernel.function("f").inline`: a kprobe on the entry of every inlined
/// copy of `f` (wildcards and `f@file.c` as for other function probes),
/// found in DWARF. Inlined copies have no return of their own, and their
/// variables live wherever the optimiser put them (DWARF location lists,
/// which stapkit does not evaluate): `.return` is refused here and
/// `$vars` by [`ProbeContext::Inline`].
fn inline_probe(
    parts: &Parts<'_>,
    spec: &str,
    in_module: bool,
    call: bool,
    ret: bool,
    target: Target<'_>,
) -> Result<Vec<(ProbePoint, ProbeContext)>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    if ret {
        // The functions it is inlined into, when something knows them.
        let function = spec.split_once('@').map_or(spec, |(f, _)| f);
        let callers: Vec<String> = target
            .kernel
            .map(|k| k.alternatives(function))
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !c.contains('.'))
            .take(2)
            .map(|c| format!("kernel.function(\"{c}\").return"))
            .collect();
        let help = match callers.is_empty() {
            true => "probe the return of a function it is inlined into".to_string(),
            false => format!(
                "probe the return of a function it is inlined into; probe-able alternatives: {}",
                callers.join(", ")
            ),
        };
        return Err(err(
            format!("'{name}': .inline probes have no .return: an inlined copy has no return of its own"),
            Some(help),
        ));
    }
    if call {
        return Err(err(
            format!("'{name}': .call and .inline exclude each other (.call is the out-of-line copy only)"),
            None,
        ));
    }
    if in_module {
        return Err(err(
            format!("'{name}': .inline probes in modules are not supported: stapkit reads only the kernel image's DWARF"),
            None,
        ));
    }
    let Some(kernel) = target.kernel else {
        return Err(err(
            format!("'{name}': .inline probes need the kernel's DWARF (a kernel tree with -r and its -dbg package)"),
            None,
        ));
    };
    let (pattern, file) = match spec.split_once('@') {
        Some((f, file)) => (f, Some(file)),
        None => (spec, None),
    };
    let probes = kernel.inline_probes(pattern, file).map_err(|e| {
        let help = match &e {
            DebugInfoError::NoSuchFunction { .. } | DebugInfoError::Blacklisted { .. } => {
                Some("probe a function that calls it, or the function itself without .inline when it has an out-of-line copy".into())
            }
            _ => None,
        };
        err(format!("'{name}': {e}"), help)
    })?;
    if probes.is_empty() {
        return Err(err(
            format!("'{name}': no inlined copy of a function matching '{spec}' can be probed"),
            None,
        ));
    }
    // One context per function, the same for all its copies, so that
    // they stay one probe (and a refused `$var` is reported once).
    let callers_of = |function: &str| {
        let mut callers: Vec<String> = probes
            .iter()
            .filter(|p| p.function == function)
            .map(|p| p.containing.clone())
            .collect();
        callers.sort();
        callers.dedup();
        callers
    };
    Ok(probes
        .iter()
        .map(|p| {
            let point = ProbePoint {
                name: resolved_text(parts, "function", &p.function),
                kind: ProbeKind::KprobeInline {
                    function: p.function.clone(),
                    symbol: p.symbol.clone(),
                    offset: p.offset,
                    containing: p.containing.clone(),
                },
                optional: false,
            };
            let context = ProbeContext::Inline {
                callers: callers_of(&p.function),
            };
            (point, context)
        })
        .collect())
}

/// One function's point, named as written with the function filled in.
fn function_point(
    parts: &Parts<'_>,
    function: &str,
    module: Option<String>,
    ret: bool,
    maxactive: Option<u32>,
) -> ProbePoint {
    let name = resolved_text(parts, "function", function);
    ProbePoint {
        name,
        kind: ProbeKind::Kprobe {
            function: function.to_string(),
            module,
            ret,
            maxactive,
        },
        optional: false,
    }
}
