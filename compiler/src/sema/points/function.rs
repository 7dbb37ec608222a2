//! Function probes: `kernel.function("f")`, `kprobe.function("f")`,
//! `module("m").function("f")`, `kprobe.module("m").function("f")`, checked
//! against the kernel's debug information when there is some, and the raw
//! `kprobe.statement(ADDR).absolute` (guru mode), and
//! `kernel.statement("f@file:LINES")` (each statement of a function, from
//! the line table of the kernel's DWARF). The runtime places them as
//! kprobes and kretprobes (`runtime-c/core/kprobe.c`).
//!
//! Their variables ([`FunctionVars`]): the parameters, where the calling
//! convention puts them at entry (`callconv`); in a `.return` probe the
//! values saved at entry, and `$return`. Without the prototype
//! ([`Unchecked`]) there are none, and the error says why. Points inside
//! kernel code found in DWARF (statements, inlined copies of an exactly
//! named function, specialised clones such as `f.isra.0`, which
//! `kernel.function("f")` probes when `f` has no symbol of its own) get
//! the variables DWARF locates there (`kernel_dwarf`); the copies of a
//! wildcard `.inline` share one body without them ([`InlineCopies`]).

use std::collections::HashMap;

use super::kernel_dwarf::kernel_vars;
use super::{
    parts_text, resolved_text, single, Family, Param, Parts, PointError, ProbeContext, Resolution,
    Target,
};
use crate::debuginfo::statements::Lines;
use crate::debuginfo::{
    param_locations, return_register, Arch, ArgLocation, ArgShape, DebugInfoError, Prototype,
};
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint};
use crate::sema::vars::{
    fail, fail_help, listed_type, register, require_return_probe, saved_at_entry, Failed, Place,
    Refusal, TargetHost, TargetVars,
};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("kernel", Param::No), ("function", Param::Required)],
        &[
            ("kernel", Param::No),
            ("function", Param::Required),
            ("call", Param::No),
        ],
        &[
            ("kernel", Param::No),
            ("function", Param::Required),
            ("return", Param::No),
        ],
        &[("kprobe", Param::No), ("function", Param::Required)],
        &[
            ("kprobe", Param::No),
            ("function", Param::Required),
            ("return", Param::No),
        ],
        &[("kernel", Param::No), ("statement", Param::Required)],
    ],
    names: &[],
    types: &[
        "kernel.function(string)",
        "kernel.function(string).call",
        "kernel.function(string).inline",
        "kernel.function(string).return",
        "kernel.function(string).return.maxactive(number)",
        "kernel.statement(string)",
        "kprobe.function(string)",
        "kprobe.function(string).return",
        "kprobe.function(string).return.maxactive(number)",
        "kprobe.module(string).function(string)",
        "kprobe.module(string).function(string).return",
        "kprobe.module(string).function(string).return.maxactive(number)",
        "kprobe.statement(number).absolute",
        "module(string).function(string)",
        "module(string).function(string).call",
        "module(string).function(string).inline",
        "module(string).function(string).return",
        "module(string).function(string).return.maxactive(number)",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let name = parts_text(parts);
    let err = |m: String| PointError {
        message: m,
        help: None,
    };
    match parts.as_slice() {
        [("kprobe", None), ("statement", Some(addr)), ("absolute", None)] => {
            let ast::Literal::Number(addr) = addr else {
                return Err(err(format!("'{name}': the address must be a number")));
            };
            if !target.guru {
                return Err(PointError {
                    message: format!(
                        "'{name}' probes a raw kernel address, which needs guru mode"
                    ),
                    help: Some(
                        "rerun with -g; a wrong address can crash the kernel, so check it in /proc/kallsyms"
                            .into(),
                    ),
                });
            }
            Ok(single(
                parts,
                ProbeKind::KprobeAddress {
                    address: addr.value as u64,
                },
            ))
        }
        [("kernel", None), ("statement", Some(s))] => statement_probe(parts, s, target).map(Some),
        [("kernel", None), ("function", Some(f)), ("label", Some(l))]
        | [("module", Some(_)), ("function", Some(f)), ("label", Some(l))] => {
            let text = |l: &ast::Literal, what: &str| match l {
                ast::Literal::String(s) => Ok(s.to_str_lossy().into_owned()),
                ast::Literal::Number(_) => {
                    Err(err(format!("'{name}': the {what} must be a string")))
                }
            };
            let module = match parts[0] {
                ("module", Some(m)) => Some(text(m, "module name")?),
                _ => None,
            };
            super::kernel_label::resolve(
                parts,
                &text(f, "function name")?,
                &text(l, "label name")?,
                module.as_deref(),
                target,
            )
            .map(Some)
        }
        [("kernel", None), ("function", Some(f)), rest @ ..]
        | [("kprobe", None), ("function", Some(f)), rest @ ..] => {
            function_probe(parts, f, None, rest, parts[0].0 == "kprobe", target)
        }
        [("module", Some(m)), ("function", Some(f)), rest @ ..]
        | [("kprobe", None), ("module", Some(m)), ("function", Some(f)), rest @ ..] => {
            let ast::Literal::String(m) = m else {
                return Err(err(format!("'{name}': the module name must be a string")));
            };
            function_probe(
                parts,
                f,
                Some(m.to_str_lossy().into_owned()),
                rest,
                parts[0].0 == "kprobe",
                target,
            )
        }
        _ => Ok(None),
    }
}

/// `kernel.function("f")`, `kprobe.function("f")`, `module("m").function("f")`
/// with `.call`, `.return`, `.maxactive(N)` and `.inline` (every inlined
/// copy, see [`inline_probe`]). With the kernel's debug
/// information, names are checked (inlined or missing functions fail with
/// the nearest alternatives), wildcards and `f@file.c` expand to every
/// match, and each point carries its function's prototype for `$vars`.
fn function_probe(
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
        (Some(k), Some(m)) if !raw_kprobe && !wildcard && file.is_none() => {
            let context = module_function_context(k, m, &pattern, ret)
                .map_err(|e| err(format!("'{name}': {e}"), None))?;
            let point = function_point(parts, &pattern, module, ret, maxactive);
            return Ok(Some(vec![(point, context)]));
        }
        // Without the kernel's information (no tree for -p1/-p2, or a
        // module's functions), names go to the kernel unchecked.
        _ if !wildcard && file.is_none() => {
            let context = match (&module, raw_kprobe) {
                (_, true) => ProbeContext::none(),
                (Some(m), false) => ProbeContext::new(Unchecked(format!(
                    "the functions of module '{m}' are not described yet"
                ))),
                (None, false) => ProbeContext::new(Unchecked(
                    "no kernel tree was found, so nothing describes the kernel's functions"
                        .to_string(),
                )),
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
    if target.names_only && !target.in_alias && wildcard && file.is_none() && !raw_kprobe {
        // `-l`: the names are all, and the tree's list has them.
        let points: Vec<_> = kernel
            .probeable_matching(&pattern)
            .value
            .iter()
            .map(|function| {
                (
                    function_point(parts, function, None, ret, maxactive),
                    ProbeContext::none(),
                )
            })
            .collect();
        if points.is_empty() {
            return Err(err(
                format!("'{name}': no probe-able function matches '{spec}'"),
                None,
            ));
        }
        return Ok(Some(points));
    }
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
                    ProbeContext::none(),
                )),
                Err(_) if wildcard => {}
                Err(e) => return Err(err(format!("'{name}': {e}"), None)),
            }
            continue;
        }
        let suggest = match target.quiet {
            true => crate::debuginfo::Suggest::Nothing,
            false => crate::debuginfo::Suggest::Alternatives,
        };
        match kernel.probeable_for(function, suggest) {
            Ok(facts) => {
                let context = ProbeContext::new(FunctionVars {
                    prototype: facts.value.prototype,
                    ret,
                    arch: kernel.arch(),
                });
                points.push((
                    function_point(parts, function, None, ret, maxactive),
                    context,
                ));
            }
            // Wildcards skip what cannot be probed, as SystemTap does.
            Err(_) if wildcard || file.is_some() => {}
            Err(e) => match dwarf_copies(parts, target, function, call, ret)? {
                Some(copies) => points.extend(copies),
                None => return Err(err(format!("'{name}': {e}"), None)),
            },
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

/// `kernel.function("f")` (and `.call`) for a function with no symbol of
/// its own, as SystemTap resolves it through DWARF: its
/// compiler-specialised out-of-line clones (`f.isra.0`, `f.constprop.0`,
/// whose code DWARF describes as a concrete copy of `f`) and, except
/// with `.call`, its inlined copies; each point with the variables DWARF
/// locates at its entry. `None`: DWARF knows no such copies (or `.return`,
/// which clones and inlined copies do not offer here), so the caller's
/// error stands.
fn dwarf_copies(
    parts: &Parts<'_>,
    target: Target<'_>,
    function: &str,
    call: bool,
    ret: bool,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let Some(kernel) = target.kernel else {
        return Ok(None);
    };
    let (Some(dwarf), Some(map)) = (kernel.dwarf(), kernel.system_map()) else {
        return Ok(None);
    };
    if ret {
        return Ok(None);
    }
    let mut out = Vec::new();
    let blacklist = map.blacklist();
    for f in dwarf
        .index()
        .functions_named(function)
        .iter()
        .filter(|f| f.code)
    {
        for scope in dwarf.code_scopes(f.die) {
            let Some(clone) = map
                .text_symbol_at(scope.low_pc)
                .filter(|s| s.addr == scope.low_pc)
                .filter(|s| {
                    s.name
                        .strip_prefix(function)
                        .is_some_and(|r| r.starts_with('.'))
                })
            else {
                continue;
            };
            if blacklist.reason_at(scope.low_pc, &clone.name).is_some() {
                continue;
            }
            let point = ProbePoint {
                name: resolved_text(parts, "function", function),
                kind: ProbeKind::KprobeInline {
                    function: function.to_string(),
                    symbol: clone.name.clone(),
                    offset: 0,
                    containing: clone.name.clone(),
                },
                optional: false,
            };
            let located = dwarf.located(&scope, scope.low_pc);
            out.push((
                point,
                kernel_vars(located, clone.name.clone(), kernel.arch()),
            ));
        }
    }
    let inlined = dwarf
        .index()
        .functions_named(function)
        .iter()
        .any(|f| f.inlined > 0);
    if !call && inlined {
        let copies = inline_probe(parts, function, false, false, false, target)?;
        out.extend(copies);
    }
    Ok((!out.is_empty()).then_some(out))
}

/// `kernel.function("f").inline`: a kprobe on the entry of every inlined
/// copy of `f` (wildcards and `f@file.c` as for other function probes),
/// found in DWARF. Inlined copies have no return of their own: `.return`
/// is refused. An exact name's copies each offer the variables DWARF
/// locates at their entry; a wildcard's share one body and refuse them
/// ([`InlineCopies`]).
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
    // An exact name's copies are few: each gets its variables, located
    // at its entry. A wildcard's may be thousands: they share one body
    // without variables.
    let exact = !pattern.contains(['*', '?', '[']);
    let probes = kernel.inline_probes(pattern, file, exact).map_err(|e| {
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
    // One context per function, shared by all its copies, so that they
    // stay one probe (and a refused `$var` is reported once). Built once
    // per function: a function inlined thousands of times must not cost
    // thousands of caller lists.
    let mut contexts: HashMap<String, ProbeContext> = HashMap::new();
    let mut callers: HashMap<String, Vec<String>> = HashMap::new();
    for p in probes.iter().filter(|p| p.located.is_none()) {
        callers
            .entry(p.function.clone())
            .or_default()
            .push(p.containing.clone());
    }
    for (function, mut list) in callers {
        list.sort();
        list.dedup();
        let copies = InlineCopies {
            function: function.clone(),
            callers: list,
        };
        contexts.insert(function, ProbeContext::new(copies));
    }
    Ok(probes
        .into_iter()
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
            let context = match p.located {
                Some(located) => {
                    let at = format!("{} inlined in {}", p.function, p.containing);
                    kernel_vars(located, at, kernel.arch())
                }
                None => contexts[p.function.as_str()].clone(),
            };
            (point, context)
        })
        .collect())
}

/// `kernel.statement("f@file:LINES")`: a kprobe on each statement at
/// `LINES` (`N`, `N-M` or `*`) of the out-of-line copies of the functions
/// matching `f` declared in a file matching `file` (from DWARF's line
/// table), each named with its function, file and line as SystemTap
/// names it, with the variables DWARF locates there ([`kernel_vars`]).
fn statement_probe(
    parts: &Parts<'_>,
    spec: &ast::Literal,
    target: Target<'_>,
) -> Result<Vec<(ProbePoint, ProbeContext)>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let ast::Literal::String(spec) = spec else {
        return Err(err(
            format!("'{name}': a kernel statement is named \"function@file.c:LINE\"; raw addresses are kprobe.statement(ADDR).absolute"),
            None,
        ));
    };
    let spec = spec.to_str_lossy().into_owned();
    let parsed = spec
        .split_once('@')
        .and_then(|(f, rest)| match rest.rsplit_once(':') {
            Some((file, lines)) => Some((f, file, Lines::parse(lines)?)),
            // `f@file+N`: N lines past the function's declaration.
            None => {
                let (file, n) = rest.rsplit_once('+')?;
                Some((f, file, Lines::parse_relative(n)?))
            }
        });
    let Some((function, file, lines)) = parsed else {
        return Err(err(
            format!("'{name}': a kernel statement is written \"function@file.c:LINE\" (LINE a number, N-M or *) or \"function@file.c+N\" (N lines past the function's declaration)"),
            None,
        ));
    };
    let Some(kernel) = target.kernel else {
        return Err(err(
            format!("'{name}': statements need the kernel's DWARF (a kernel tree with -r and its -dbg package)"),
            None,
        ));
    };
    let probes = kernel
        .statement_probes(function, file, lines)
        .map_err(|e| err(format!("'{name}': {e}"), None))?;
    if probes.is_empty() {
        return Err(err(
            format!("'{name}': no statement of '{spec}' has code where a kprobe can go"),
            Some("name a line with a statement on it (stap -l 'kernel.statement(\"f@file.c:*\")' lists them)".into()),
        ));
    }
    Ok(probes
        .into_iter()
        .map(|p| {
            let at = format!("{}@{}:{}", p.function, p.file, p.line);
            let point = ProbePoint {
                name: resolved_text(parts, "statement", &at),
                kind: ProbeKind::KprobeInline {
                    function: p.function,
                    symbol: p.symbol,
                    offset: p.offset,
                    containing: p.containing,
                },
                optional: false,
            };
            (point, kernel_vars(p.located, at, kernel.arch()))
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

/// A function's entry or return: its prototype, where its arguments are.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FunctionVars {
    pub prototype: Prototype,
    /// A `.return` probe.
    pub ret: bool,
    pub arch: Arch,
}

impl TargetVars for FunctionVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let prototype = &self.prototype;
        if name == "return" {
            require_return_probe(self.ret, span)?;
            let reg = register(return_register(self.arch))
                .ok_or_else(|| fail(span, "cannot locate the return value".into()))?;
            return Ok((
                ir::TargetBase::Register(reg),
                Place::Value(prototype.ret.clone()),
            ));
        }
        let params = prototype.params.as_deref().ok_or_else(|| {
            fail(
                span,
                format!(
                    "the parameters of '{}' are unknown (no BTF or DWARF describes them)",
                    prototype.name
                ),
            )
        })?;
        let Some(n) = params.iter().position(|p| p.name == name) else {
            let names: Vec<String> = params.iter().map(|p| format!("${}", p.name)).collect();
            return Err(fail_help(
                span,
                format!("'{}' has no parameter '{name}'", prototype.name),
                format!("its parameters are: {}", names.join(", ")),
            ));
        };
        let shapes: Vec<Option<ArgShape>> = params.iter().map(|p| ArgShape::of(&p.ty)).collect();
        let base = match param_locations(self.arch, &shapes)[n] {
            Some(ArgLocation::Register(r)) => register(r).map(ir::TargetBase::Register),
            Some(ArgLocation::Stack(off)) => Some(ir::TargetBase::Stack(off)),
            None => None,
        };
        let Some(base) = base else {
            return Err(fail(
                span,
                format!("cannot locate argument {} of '{}'", n + 1, prototype.name),
            ));
        };
        let ty = params[n].ty.clone();
        if self.ret {
            // In a .return probe a parameter is its value at entry,
            // as in SystemTap: saved then, read back here.
            let saved = saved_at_entry(h, name, &ty, base, false, span)?;
            return Ok((ir::TargetBase::Value(Box::new(saved)), Place::Value(ty)));
        }
        Ok((base, Place::Value(ty)))
    }

    fn parameters(&self, _: &str, _: Span) -> Result<(Vec<String>, bool), Failed> {
        let names = self
            .prototype
            .params
            .iter()
            .flatten()
            .map(|p| p.name.clone())
            .collect();
        Ok((names, self.ret))
    }

    fn at_entry(&self) -> Option<ProbeContext> {
        self.ret.then(|| {
            ProbeContext::new(FunctionVars {
                ret: false,
                ..self.clone()
            })
        })
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let params = self
            .prototype
            .params
            .iter()
            .flatten()
            .map(|p| (p.name.clone(), listed_type(&p.ty)))
            .collect();
        (self.ret.then(|| listed_type(&self.prototype.ret)), params)
    }
}

/// `module("m").function("f")`'s variables: `f`'s prototype in the
/// module's BTF, and the module's own types for their members. A module
/// the kernel does not have, or a function neither its BTF nor its symbol
/// table has, does not resolve, so that `?` and `!` alternatives work as
/// with SystemTap; a module whose types cannot be read leaves the
/// variables unknown, saying why.
///
/// The module's function symbols, when learnt, settle two more cases:
/// a function the symbol table has and the BTF leaves out (pahole drops a
/// name two functions share, and a function the compiler specialised)
/// resolves without `$vars`; a name several functions share does not
/// resolve, since the kernel places a probe by name on the first of them
/// in the table, which need not be the one meant (a static function of
/// the same name comes before the global one).
fn module_function_context(
    kernel: &crate::debuginfo::KernelInfo,
    module: &str,
    function: &str,
    ret: bool,
) -> Result<ProbeContext, String> {
    let symbols = kernel.module_functions(module);
    if let Some(symbols) = &symbols {
        let same: Vec<_> = symbols.iter().filter(|s| s.name == function).collect();
        if same.len() > 1 {
            let statics = same.iter().filter(|s| s.local).count();
            return Err(format!(
                "module '{module}' has {} functions named '{function}' ({statics} of them static): \
                 the kernel places a probe by name on the first in the module's symbol table ({}), \
                 which need not be the one meant; probe a function that calls the one you want, or one it calls",
                same.len(),
                if same[0].local { "a static one" } else { "a global one" },
            ));
        }
    }
    match module_btf_context(kernel, module, function, ret)? {
        Some(context) => Ok(context),
        None => match &symbols {
            Some(symbols) if symbols.iter().any(|s| s.name == function) => {
                Ok(ProbeContext::new(OutOfBtf {
                    module: module.to_string(),
                    function: function.to_string(),
                }))
            }
            Some(_) => Err(format!(
                "module '{module}' has no function '{function}' (neither its BTF nor its symbol table names one: renamed, inlined or gone in this kernel)"
            )),
            None => Err(format!(
                "module '{module}' has no function '{function}' that can be probed (its BTF describes none: inlined, renamed or gone in this kernel)"
            )),
        },
    }
}

/// A module function its symbol table has and its BTF leaves out: no
/// prototype gives its parameters.
#[derive(Debug)]
struct OutOfBtf {
    module: String,
    function: String,
}

impl Refusal for OutOfBtf {
    fn refuse(&self, span: Span, what: &str) -> Failed {
        fail_help(
            span,
            format!(
                "'{what}' needs the prototype of '{}', which the BTF of module '{}' leaves out \
                 (pahole drops a function whose name another shares, or that the compiler specialised)",
                self.function, self.module
            ),
            "read its arguments with pointer_arg(N), int_arg(N), long_arg(N) (man probe::function)".into(),
        )
    }
}

/// The BTF side of [`module_function_context`]: `None` when the module's
/// BTF does not describe `function`.
fn module_btf_context(
    kernel: &crate::debuginfo::KernelInfo,
    module: &str,
    function: &str,
    ret: bool,
) -> Result<Option<ProbeContext>, String> {
    use crate::debuginfo::module_types::ModuleTypesError;
    match kernel.module_types(module) {
        Ok(types) => match types.prototype(function) {
            Some(prototype) => Ok(Some(ProbeContext::new(ModuleFunctionVars {
                vars: FunctionVars {
                    prototype,
                    ret,
                    arch: kernel.arch(),
                },
                types,
            }))),
            None => Ok(None),
        },
        Err(ModuleTypesError::NoModule(why)) => Err(why),
        Err(ModuleTypesError::Unavailable(why)) => Ok(Some(ProbeContext::new(Unchecked(format!(
            "the types of module '{module}' cannot be read: {why}"
        ))))),
    }
}

/// A module function's entry or return ([`FunctionVars`]), whose
/// parameters' members are read with the module's types.
#[derive(Debug, Clone)]
struct ModuleFunctionVars {
    vars: FunctionVars,
    types: std::sync::Arc<crate::debuginfo::btf::Btf>,
}

impl TargetVars for ModuleFunctionVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        self.vars.variable(name, span, h)
    }

    fn parameters(&self, which: &str, span: Span) -> Result<(Vec<String>, bool), Failed> {
        self.vars.parameters(which, span)
    }

    fn member_path(
        &self,
        aggregate: &str,
        member: &str,
    ) -> Option<Result<crate::debuginfo::FieldPath, String>> {
        Some(
            self.types
                .member_path(aggregate, &[member])
                .map_err(|e| e.to_string()),
        )
    }

    fn module_types(&self) -> Option<std::sync::Arc<crate::debuginfo::btf::Btf>> {
        Some(self.types.clone())
    }

    fn at_entry(&self) -> Option<ProbeContext> {
        self.vars.ret.then(|| {
            ProbeContext::new(ModuleFunctionVars {
                vars: FunctionVars {
                    ret: false,
                    ..self.vars.clone()
                },
                types: self.types.clone(),
            })
        })
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        self.vars.listed()
    }
}

/// A function named without the information to check it (no kernel
/// tree, or a module's function): why its variables are unknown.
#[derive(Debug)]
struct Unchecked(String);

impl Refusal for Unchecked {
    fn refuse(&self, span: Span, what: &str) -> Failed {
        fail_help(
            span,
            format!(
                "'{what}' needs the probed function's prototype, but {}",
                self.0
            ),
            "name a fetched kernel with -r (see `stap-prep list`)".into(),
        )
    }
}

/// The inlined copies of a function matched by a wildcard `.inline`: they
/// share one probe body, so no copy's variables can be read in it;
/// `callers` are the functions the copies are in (sorted), to suggest
/// instead.
#[derive(Debug)]
struct InlineCopies {
    function: String,
    callers: Vec<String>,
}

impl Refusal for InlineCopies {
    fn refuse(&self, span: Span, what: &str) -> Failed {
        const SHOWN: usize = 3;
        let mut named: Vec<String> = self
            .callers
            .iter()
            .take(SHOWN)
            .map(|c| format!("kernel.function(\"{c}\")"))
            .collect();
        if self.callers.len() > SHOWN {
            named.push(format!("{} more", self.callers.len() - SHOWN));
        }
        fail_help(
            span,
            format!("'{what}' in an .inline probe on a wildcard: the inlined copies of '{}' share one probe body, where no copy's variables can be read", self.function),
            format!("name the function exactly (kernel.function(\"{}\").inline), or read it in a probe on a caller ({})", self.function, named.join(", ")),
        )
    }

    fn shared_body_key(&self) -> Option<String> {
        Some(format!("inline:{}", self.function))
    }
}
