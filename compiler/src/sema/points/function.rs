//! Function probes: `kernel.function("f")`, `kprobe.function("f")`,
//! `module("m").function("f")`, `kprobe.module("m").function("f")`, checked
//! against the kernel's debug information when there is some.

use super::{parts_text, resolved_text, Parts, PointError, ProbeContext, Target};
use crate::ir::{ProbeKind, ProbePoint};
use crate::syntax::ast;

/// `kernel.function("f")`, `kprobe.function("f")`, `module("m").function("f")`
/// with `.call`, `.return` and `.maxactive(N)`. With the kernel's debug
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
    for (component, arg) in rest {
        match (*component, arg) {
            ("call", None) if !raw_kprobe => {}
            ("return", None) => ret = true,
            ("maxactive", Some(ast::Literal::Number(n))) if n.value > 0 => {
                maxactive = Some(n.value.min(u32::MAX as i64) as u32)
            }
            ("inline", None) if !raw_kprobe => {
                return Err(err(
                    format!("'{name}': .inline probes need the variable locations of debug info (DWARF), which stapkit cannot use yet"),
                    Some("probe a function that calls it".to_string()),
                ))
            }
            _ => return Ok(None),
        }
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
