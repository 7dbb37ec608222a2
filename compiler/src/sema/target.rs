//! Target expressions: `$param`, `$var->a->b[i]`, `&$var->f`, `$return`,
//! `$$parms`, `@cast(p, "struct T")->f`, resolved against the probe's
//! context (a function's prototype, a tracepoint's parameters) and the
//! kernel's type information into [`ir::TargetAccess`].
//!
//! A chain is walked as a place: either a *value* in hand (a parameter's
//! register, a pointer just loaded) or the *address* of an object in
//! memory. `->m` on a pointer value goes to the object it points at; on a
//! pointer stored in memory it loads the pointer first; on an embedded
//! struct it just adds the member's offset.

use std::rc::Rc;

use crate::debuginfo::variables::{self, VariableLocation};
use crate::debuginfo::{
    arg_location, return_register, syscall_arg_offset, ArgLocation, CType, KernelInfo,
};
use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::points::ProbeContext;
use super::Config;

/// Where a chain is: a value of this type in hand, or an object of this
/// type at the address computed so far.
pub(super) enum Place {
    Value(CType),
    Address(CType),
}

/// A failed resolution: the diagnostic to report.
pub(super) type Failed = Box<Diagnostic>;

/// What resolving a target expression needs from the walk it is part of:
/// checking (which infers the script expressions inside and builds nothing
/// it keeps) or lowering (which lowers them and saves values at entry).
pub(super) trait TargetHost {
    /// The target variables the probe offers here (at entry inside
    /// `@entry`).
    fn context(&self) -> Rc<ProbeContext>;
    /// The analysis configuration (guru mode, the kernel).
    fn config(&self) -> &Config;
    /// Where `span` is, as runtime errors quote it.
    fn location(&self, span: Span, token: String) -> ir::Location;
    /// A script expression inside a target expression (`@cast`'s operand,
    /// an index) that must have type `expect`.
    fn operand(&mut self, e: &ast::Expr, expect: Option<Type>) -> (Option<Type>, ir::Expr);
    /// Saves `value` when the probed function is entered; the expression
    /// that reads it back at the return.
    fn save_at_entry(&mut self, value: ir::Expr, ty: Type, location: ir::Location) -> ir::Expr;
}

/// The type of a resolved target expression: `$$parms` and friends are
/// text, everything else a number.
pub(super) fn value_type(kind: &ir::ExprKind) -> Type {
    if matches!(kind, ir::ExprKind::Printf { .. } | ir::ExprKind::Str(_)) {
        Type::String
    } else {
        Type::Long
    }
}

/// The type a target expression that does not resolve keeps: `$$parms`
/// and friends stay strings, so that one error does not cascade into type
/// mismatches.
pub(super) fn fallback_type(t: &ast::TargetExpr) -> Type {
    match &t.base {
        ast::TargetBase::Var(v) if v.name.starts_with("$$") => Type::String,
        _ => Type::Long,
    }
}

/// A target expression on the left of an assignment or `++`/`--`:
/// guru mode only, and only a value in a register, on the stack or in
/// kernel memory (`$return`, a parameter at entry, `$p->field`).
pub(super) fn lvalue(
    h: &mut dyn TargetHost,
    t: &ast::TargetExpr,
    span: Span,
    want: Option<Type>,
    context: &str,
) -> Result<ir::LValue, Failed> {
    if !h.config().guru {
        return Err(Box::new(
            Diagnostic::semantic_error(format!(
                "{context} writes to a target variable, which needs guru mode"
            ))
            .with_primary(span, "a value of the probed kernel")
            .with_help("rerun with -g: guru mode lets a script change the kernel's state"),
        ));
    }
    let access = match resolve(h, t, span)? {
        ir::ExprKind::Target(access) => access,
        _ => {
            return Err(fail(
                span,
                format!("{context} cannot change this: it is text made from the probe's values"),
            ))
        }
    };
    if let Some(w) = want.filter(|w| *w != Type::Long) {
        return Err(Box::new(
            Diagnostic::semantic_error(format!(
                "{context} needs a {w} here, but target variables are numbers"
            ))
            .with_primary(span, "a number"),
        ));
    }
    let refusal = match (&access.base, access.result) {
        (_, ir::TargetResult::Address) => {
            Some("this is an address (or a whole struct or array); assign one of its members")
        }
        (ir::TargetBase::TracepointArg(_), ir::TargetResult::Value { .. }) => {
            Some("tracepoint arguments are copies and cannot be changed")
        }
        (ir::TargetBase::Value(_), ir::TargetResult::Value { .. }) => Some(
            "in a .return probe a parameter is its value saved at entry; it cannot be changed",
        ),
        _ => None,
    };
    if let Some(why) = refusal {
        return Err(fail(span, format!("{context} cannot change this: {why}")));
    }
    Ok(ir::LValue::Target(access))
}

/// The same point at function entry, for `@entry(e)` in a `.return`
/// probe: parameters read directly there. `None` where there is no entry.
pub(super) fn at_entry(context: &ProbeContext) -> Option<ProbeContext> {
    match context.clone() {
        ProbeContext::Function {
            prototype,
            ret: true,
            arch,
        } => Some(ProbeContext::Function {
            prototype,
            ret: false,
            arch,
        }),
        ProbeContext::Syscall {
            name,
            params,
            ret: true,
            arch,
        } => Some(ProbeContext::Syscall {
            name,
            params,
            ret: false,
            arch,
        }),
        _ => None,
    }
}

/// The error for `@entry` where the probe has no function entry.
pub(super) fn no_entry(span: Span) -> Diagnostic {
    Diagnostic::semantic_error("@entry is only available in .return probes of functions")
        .with_primary(span, "here")
}

/// Whether `@defined(e)` holds here: every target expression in `e`
/// (`$x`, or `kernel_string($f->name)` around one) resolves in this
/// probe.
pub(super) fn defined(h: &mut dyn TargetHost, e: &ast::Expr) -> bool {
    use crate::syntax::visit::{walk_expr, Visitor};
    // The visitor lends no lifetime, so the target expressions are
    // cloned out (they are small).
    struct Targets(Vec<(ast::TargetExpr, Span)>);
    impl Visitor for Targets {
        fn visit_expr(&mut self, e: &ast::Expr) {
            if let ast::ExprKind::Target(t) = &e.kind {
                self.0.push(((**t).clone(), e.span));
            }
            walk_expr(self, e);
        }
    }
    let mut targets = Targets(Vec::new());
    targets.visit_expr(e);
    targets
        .0
        .iter()
        .all(|(t, span)| resolve(h, t, *span).is_ok())
}

/// The value of a condition that `@defined` decides at compile time:
/// `@defined(x)`, its negation, and `&&`/`||` whose left side is
/// decided (the right side is then evaluated only as C would). `defined`
/// answers each `@defined` (and may record it).
pub(super) fn static_truth(
    e: &ast::Expr,
    defined: &mut dyn FnMut(&ast::Expr, &ast::Expr) -> bool,
) -> Option<bool> {
    use ast::{BinaryOp, ExprKind as K, UnaryOp};
    match &e.kind {
        K::Defined(inner) => Some(defined(e, inner)),
        K::Unary {
            op: UnaryOp::Not,
            operand,
        } => static_truth(operand, defined).map(|b| !b),
        K::Binary { op, lhs, rhs } if matches!(op, BinaryOp::And | BinaryOp::Or) => {
            let short = *op == BinaryOp::Or;
            match static_truth(lhs, defined)? {
                l if l == short => Some(short),
                _ => static_truth(rhs, defined),
            }
        }
        _ => None,
    }
}

fn kernel(h: &dyn TargetHost) -> Option<std::sync::Arc<KernelInfo>> {
    h.config().kernel.clone()
}

/// Resolves a target expression into what the IR computes for it.
pub(super) fn resolve(
    h: &mut dyn TargetHost,
    t: &ast::TargetExpr,
    span: Span,
) -> Result<ir::ExprKind, Failed> {
    let (base, place) = match &t.base {
        ast::TargetBase::Var(v) => {
            if v.name.starts_with("$$") {
                // `$$parms$`, `$$vars$$`: each value pretty-printed.
                if let ([c], false) = (t.components.as_slice(), t.address_of) {
                    if let ast::TargetComponentKind::Pretty { deep } = c.kind {
                        return context_string(h, &v.name, v.span, Some(deep));
                    }
                }
                if !t.components.is_empty() || t.address_of {
                    return Err(fail(
                        v.span,
                        format!("'{}' is a string and has no members", v.name),
                    ));
                }
                return context_string(h, &v.name, v.span, None);
            }
            variable(h, &v.name[1..], v.span)?
        }
        ast::TargetBase::Cast {
            operand,
            type_name,
            module,
        } => {
            if let Some(m) = module {
                // "kernel" and "kernel<linux/sched.h>" name the
                // kernel's own types, which BTF/DWARF describe
                // whole: the header list is not needed.
                let text = m.to_str_lossy();
                if text != "kernel" && !text.starts_with("kernel<") {
                    return Err(fail_help(
                            m.span,
                            format!("@cast types from module '{text}' are not supported"),
                            "stapkit reads types from the kernel's BTF or DWARF: use \"kernel\" or leave the module out".into(),
                        ));
                }
            }
            let name = type_name.to_str_lossy().into_owned();
            let (_, value) = h.operand(operand, Some(Type::Long));
            // The value is a pointer to `name`: its address.
            let agg = named_aggregate(&*h, &name, type_name.span)?;
            (
                ir::TargetBase::Value(Box::new(value)),
                Place::Value(CType::Pointer(Box::new(agg))),
            )
        }
        ast::TargetBase::AtVar { name, module } => at_var(&*h, name, module.as_ref())?,
        ast::TargetBase::Autocast(e) => {
            return Err(fail(
                e.span,
                "this value has no known C type; use @cast(value, \"struct T\")".into(),
            ))
        }
    };
    let mut steps = Vec::new();
    let mut place = place;
    let mut bitfield = None;
    for c in &t.components {
        if bitfield.is_some() {
            return Err(fail(c.span, "a bitfield has no members".into()));
        }
        place = match &c.kind {
            ast::TargetComponentKind::Member(m) => {
                let (next, bits) = member(&*h, place, &m.name, m.span, &mut steps)?;
                bitfield = bits;
                next
            }
            ast::TargetComponentKind::Index(i) => index(h, place, i, c.span, &mut steps)?,
            ast::TargetComponentKind::Pretty { deep } => {
                if bitfield.is_some() {
                    return Err(fail(c.span, "a bitfield cannot be pretty-printed".into()));
                }
                return super::pretty::pretty(&*h, base, steps, place, *deep, span);
            }
        };
    }
    let result = if t.address_of {
        match place {
            Place::Address(_) => ir::TargetResult::Address,
            Place::Value(_) => {
                return Err(fail(
                    span,
                    "cannot take the address of a value held in a register".into(),
                ))
            }
        }
    } else {
        match (place, bitfield) {
            (Place::Address(ty), Some((shift, width))) => {
                let (size, signed) = scalar(&ty).unwrap_or((8, false));
                ir::TargetResult::Bitfield {
                    size,
                    bit_offset: shift,
                    width,
                    signed,
                }
            }
            (Place::Value(ty), _) => {
                let (size, signed) = scalar(&ty).ok_or_else(|| {
                    fail(
                        span,
                        format!(
                            "'{}' is not a number or a pointer; take one of its members",
                            ty.render()
                        ),
                    )
                })?;
                ir::TargetResult::Value { size, signed }
            }
            (Place::Address(ty), None) => match scalar(&ty) {
                Some((size, signed)) => ir::TargetResult::Load { size, signed },
                // Arrays and structs yield their address (kernel_string($t->comm)).
                None => ir::TargetResult::Address,
            },
        }
    };
    Ok(ir::ExprKind::Target(Box::new(ir::TargetAccess {
        base,
        steps,
        result,
    })))
}

/// `@var("name"[, "kernel"])`: a kernel global variable in memory.
fn at_var(
    h: &dyn TargetHost,
    name: &ast::StrLit,
    module: Option<&ast::StrLit>,
) -> Result<(ir::TargetBase, Place), Failed> {
    if let Some(m) = module {
        if m.to_str_lossy() != "kernel" {
            return Err(fail_help(
                m.span,
                format!(
                    "@var in module '{}' is not supported",
                    m.to_str_lossy()
                ),
                "stapkit reads the kernel's own variables: use \"kernel\" or leave the module out"
                    .into(),
            ));
        }
    }
    let text = name.to_str_lossy().into_owned();
    let (var, file) = match text.split_once('@') {
        Some((v, f)) => (v.to_string(), Some(f.to_string())),
        None => (text.clone(), None),
    };
    let is_ident = !var.is_empty()
        && !var.starts_with(|c: char| c.is_ascii_digit())
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_ident {
        return Err(fail(
            name.span,
            format!("@var(\"{text}\"): '{var}' is not a variable name"),
        ));
    }
    let kernel = kernel(h).ok_or_else(|| {
        fail(
            name.span,
            "@var needs the kernel's headers and symbols (a tree with -r)".into(),
        )
    })?;
    let found = kernel.variable(&var, file.as_deref()).map_err(|e| {
        fail(
            name.span,
            format!("@var(\"{text}\"): cannot read kernel variable '{var}': {e}"),
        )
    })?;
    let mapped = match found.location {
        VariableLocation::Exported => None,
        VariableLocation::Mapped {
            address,
            anchor_address,
        } => Some(ir::MappedSymbol {
            address,
            anchor: variables::ANCHOR.to_string(),
            anchor_address,
        }),
    };
    Ok((
        ir::TargetBase::KernelSymbol {
            symbol: var,
            mapped,
        },
        Place::Address(found.ty),
    ))
}

/// `$name`: a parameter of the probed function or tracepoint, or `$return`.
fn variable(h: &mut dyn TargetHost, name: &str, span: Span) -> Result<(ir::TargetBase, Place), Failed> {
    let context = h.context();
    match &*context {
        ProbeContext::None => Err(fail_help(
            span,
            format!("target variable '${name}' is not available in this probe"),
            "target variables need a kernel.function(...) or kernel.trace(...) probe".into(),
        )),
        ProbeContext::Unchecked(why) => Err(unchecked(span, &format!("${name}"), why)),
        ProbeContext::UserSpace => Err(user_space(span, &format!("${name}"))),
        ProbeContext::Inline { callers } => {
            Err(inline_copy(span, &format!("${name}"), callers))
        }
        ProbeContext::Function {
            prototype,
            ret,
            arch,
        } => {
            if name == "return" {
                require_return_probe(*ret, span)?;
                let reg = return_register(*arch).to_string();
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
                let names: Vec<String> =
                    params.iter().map(|p| format!("${}", p.name)).collect();
                return Err(fail_help(
                    span,
                    format!("'{}' has no parameter '{name}'", prototype.name),
                    format!("its parameters are: {}", names.join(", ")),
                ));
            };
            let base = match arg_location(*arch, n as u32 + 1) {
                Some(ArgLocation::Register(r)) => ir::TargetBase::Register(r.to_string()),
                Some(ArgLocation::Stack(off)) => ir::TargetBase::Stack(off),
                None => {
                    return Err(fail(
                        span,
                        format!("cannot locate argument {} of '{}'", n + 1, prototype.name),
                    ))
                }
            };
            let ty = params[n].ty.clone();
            if *ret {
                // In a .return probe a parameter is its value at entry,
                // as in SystemTap: saved then, read back here.
                let (size, signed) = scalar(&ty).ok_or_else(|| {
                    fail(
                        span,
                        format!(
                            "'${name}' ({}) is passed by value and cannot be saved at entry",
                            ty.render()
                        ),
                    )
                })?;
                let location = h.location(span, format!("identifier '${name}'"));
                let value = ir::Expr {
                    kind: ir::ExprKind::Target(Box::new(ir::TargetAccess {
                        base,
                        steps: Vec::new(),
                        result: ir::TargetResult::Value { size, signed },
                    })),
                    ty: Some(Type::Long),
                    location: location.clone(),
                };
                let saved = h.save_at_entry(value, Type::Long, location);
                return Ok((ir::TargetBase::Value(Box::new(saved)), Place::Value(ty)));
            }
            Ok((base, Place::Value(ty)))
        }
        ProbeContext::Syscall {
            name: syscall,
            params,
            ret,
            arch,
        } => {
            if name == "return" {
                require_return_probe(*ret, span)?;
                let long = CType::Int {
                    name: "long".into(),
                    size: 8,
                    signed: true,
                };
                let reg = return_register(*arch).to_string();
                return Ok((ir::TargetBase::Register(reg), Place::Value(long)));
            }
            let Some(n) = params.iter().position(|p| p.name == name) else {
                let names: Vec<String> =
                    params.iter().map(|p| format!("${}", p.name)).collect();
                return Err(fail_help(
                    span,
                    format!("syscall '{syscall}' has no parameter '{name}'"),
                    if names.is_empty() {
                        "it takes no parameters".to_string()
                    } else {
                        format!("its parameters are: {}", names.join(", "))
                    },
                ));
            };
            let ty = params[n].ty.clone();
            let (size, signed) = scalar(&ty).ok_or_else(|| {
                fail(
                    span,
                    format!("'${name}' ({}) is not a number or a pointer", ty.render()),
                )
            })?;
            let (Some(regs), Some(offset)) = (
                arg_location(*arch, 1),
                syscall_arg_offset(*arch, n as u32 + 1),
            ) else {
                return Err(fail(
                    span,
                    format!("cannot locate argument {} of syscall '{syscall}'", n + 1),
                ));
            };
            let ArgLocation::Register(regs) = regs else {
                return Err(fail(
                    span,
                    "the pt_regs pointer is not in a register".into(),
                ));
            };
            // The wrapper's first argument points at the user's saved
            // registers; the argument is the slot there (which a guru
            // write changes for the syscall too).
            let location = h.location(span, format!("identifier '${name}'"));
            let slot = |result| ir::Expr {
                kind: ir::ExprKind::Target(Box::new(ir::TargetAccess {
                    base: ir::TargetBase::Register(regs.to_string()),
                    steps: vec![ir::TargetStep::Offset(offset)],
                    result,
                })),
                ty: Some(Type::Long),
                location: location.clone(),
            };
            if *ret {
                // At the return the registers may be reused: the value
                // at entry, saved then, as for functions.
                let value = slot(ir::TargetResult::Load { size, signed });
                let saved = h.save_at_entry(value, Type::Long, location.clone());
                return Ok((ir::TargetBase::Value(Box::new(saved)), Place::Value(ty)));
            }
            let address = slot(ir::TargetResult::Address);
            Ok((ir::TargetBase::Value(Box::new(address)), Place::Address(ty)))
        }
        ProbeContext::Netfilter => {
            let Some(var) = super::points::netfilter_var(name) else {
                let names: Vec<String> = super::points::NETFILTER_VARS
                    .iter()
                    .map(|n| format!("${n}"))
                    .collect();
                return Err(fail_help(
                    span,
                    format!("netfilter hooks have no variable '${name}'"),
                    format!("their variables are: {}", names.join(", ")),
                ));
            };
            let base = ir::TargetBase::TracepointArg(var.slot);
            if var.by_address {
                // `$verdict` is the hook function's own variable: its
                // address is in the slot, so guru mode can store to it.
                return Ok((base, Place::Address(var.ty)));
            }
            Ok((base, Place::Value(var.ty)))
        }
        ProbeContext::Tracepoint(tp) => {
            let Some(n) = tp.params.iter().position(|p| p.name == name) else {
                let names: Vec<String> =
                    tp.params.iter().map(|p| format!("${}", p.name)).collect();
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
    }
}

/// `$$parms`, `$$vars`, `$$locals`, `$$return`: the values as text,
/// `name=0x...` separated by spaces.
/// `$$parms`, `$$vars`, `$$locals`, `$$return` (with `pretty`, their
/// `$`/`$$` forms: `Some(deep)`), `$$system`, `$$name`.
fn context_string(
    h: &mut dyn TargetHost,
    which: &str,
    span: Span,
    pretty: Option<bool>,
) -> Result<ir::ExprKind, Failed> {
    let context = h.context();
    // A tracepoint's subsystem and name.
    if let (ProbeContext::Tracepoint(tp), "$$system" | "$$name") = (&*context, which) {
        let text = if which == "$$system" {
            &tp.system
        } else {
            &tp.name
        };
        return Ok(ir::ExprKind::Str(text.clone()));
    }
    if matches!(which, "$$system" | "$$name") {
        return Err(fail(
            span,
            format!("'{which}' is only available in tracepoint probes (kernel.trace)"),
        ));
    }
    let (names, ret): (Vec<String>, bool) = match &*context {
        ProbeContext::Function { prototype, ret, .. } => (
            prototype
                .params
                .iter()
                .flatten()
                .map(|p| p.name.clone())
                .collect(),
            *ret,
        ),
        ProbeContext::Tracepoint(tp) => {
            (tp.params.iter().map(|p| p.name.clone()).collect(), false)
        }
        ProbeContext::Netfilter => (
            super::points::NETFILTER_VARS
                .iter()
                .map(|n| n.to_string())
                .collect(),
            false,
        ),
        ProbeContext::Syscall { params, ret, .. } => {
            (params.iter().map(|p| p.name.clone()).collect(), *ret)
        }
        ProbeContext::None => {
            return Err(fail(
                span,
                format!("'{which}' is not available in this probe"),
            ));
        }
        ProbeContext::Unchecked(why) => return Err(unchecked(span, which, why)),
        ProbeContext::UserSpace => return Err(user_space(span, which)),
        ProbeContext::Inline { callers } => return Err(inline_copy(span, which, callers)),
    };
    let wanted: Vec<String> = match which {
        // In a .return probe, the parameters' values at entry.
        "$$parms" | "$$vars" => names,
        "$$locals" => Vec::new(),
        "$$return" if ret => vec!["return".to_string()],
        "$$return" => {
            return Err(fail(
                span,
                "'$$return' is only available in .return probes".into(),
            ))
        }
        _ => return Err(fail(span, format!("unknown context variable '{which}'"))),
    };
    let mut text = String::new();
    let mut args = Vec::new();
    let location = h.location(span, format!("identifier '{which}'"));
    for name in &wanted {
        let (base, place) = variable(h, name, span)?;
        if let Some(deep) = pretty {
            let kind = super::pretty::pretty(&*h, base, Vec::new(), place, deep, span)?;
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("{name}=%s"));
            args.push(ir::Expr {
                kind,
                ty: Some(Type::String),
                location: location.clone(),
            });
            continue;
        }
        let Place::Value(ty) = place else { continue };
        let Some((size, signed)) = scalar(&ty) else {
            continue;
        };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("{name}=%#x"));
        let access = ir::TargetAccess {
            base,
            steps: Vec::new(),
            result: ir::TargetResult::Value { size, signed },
        };
        args.push(ir::Expr {
            kind: ir::ExprKind::Target(Box::new(access)),
            ty: Some(Type::Long),
            location: location.clone(),
        });
    }
    let format = super::format::parse(&text).map_err(|e| fail(span, e.message))?;
    Ok(ir::ExprKind::Printf {
        kind: ir::PrintfKind::Sprintf,
        format,
        args,
    })
}

fn named_aggregate(h: &dyn TargetHost, name: &str, span: Span) -> Result<CType, Failed> {
    let kernel = kernel(h).ok_or_else(|| {
        fail(
            span,
            "@cast needs the kernel's type information (a tree with -r)".into(),
        )
    })?;
    let layout = kernel.layout(name).map_err(|e| fail(span, e.to_string()))?;
    Ok(CType::Aggregate {
        kind: layout.value.kind,
        name: Some(
            layout
                .value
                .name
                .trim_start_matches("struct ")
                .trim_start_matches("union ")
                .to_string(),
        ),
        size: Some(layout.value.size),
    })
}

/// `->name` from `place`.
fn member(
    h: &dyn TargetHost,
    place: Place,
    name: &str,
    span: Span,
    steps: &mut Vec<ir::TargetStep>,
) -> Result<(Place, Option<(u32, u32)>), Failed> {
    // Reach the object's address.
    let object = match place {
        Place::Value(ty) => match ty.strip() {
            CType::Pointer(to) => (**to).clone(),
            other => {
                return Err(fail(
                    span,
                    format!("'{}' is not a pointer to a struct", other.render()),
                ))
            }
        },
        Place::Address(ty) => match ty.strip() {
            CType::Pointer(to) => {
                steps.push(ir::TargetStep::Deref);
                (**to).clone()
            }
            _ => ty,
        },
    };
    let agg = object
        .aggregate_name()
        .ok_or_else(|| fail(span, format!("'{}' has no members", object.render())))?;
    let kernel = kernel(h)
        .ok_or_else(|| fail(span, "members need the kernel's type information".into()))?;
    let path = kernel
        .member_path(&agg, &[name])
        .map_err(|e| fail(span, e.to_string()))?
        .value;
    let mut bitfield = None;
    let mut ty = object;
    for step in path.steps {
        if step.deref {
            steps.push(ir::TargetStep::Deref);
        }
        // Members of embedded structs add up to one offset.
        match steps.last_mut() {
            Some(ir::TargetStep::Offset(last)) => *last += step.offset,
            _ => steps.push(ir::TargetStep::Offset(step.offset)),
        }
        bitfield = step.bitfield;
        ty = step.ty;
    }
    Ok((Place::Address(ty), bitfield))
}

/// `[i]` from `place`.
fn index(
    h: &mut dyn TargetHost,
    place: Place,
    index: &ast::Expr,
    span: Span,
    steps: &mut Vec<ir::TargetStep>,
) -> Result<Place, Failed> {
    let elem = match place {
        Place::Value(ty) => match ty.strip() {
            CType::Pointer(to) => (**to).clone(),
            other => {
                return Err(fail(
                    span,
                    format!("'{}' cannot be indexed", other.render()),
                ))
            }
        },
        Place::Address(ty) => match ty.strip() {
            CType::Array { elem, .. } => (**elem).clone(),
            CType::Pointer(to) => {
                steps.push(ir::TargetStep::Deref);
                (**to).clone()
            }
            other => {
                return Err(fail(
                    span,
                    format!("'{}' cannot be indexed", other.render()),
                ))
            }
        },
    };
    let stride = elem
        .size()
        .ok_or_else(|| fail(span, format!("'{}' has no known size", elem.render())))?;
    let (t, value) = h.operand(index, Some(Type::Long));
    if t.is_some_and(|t| t != Type::Long) {
        return Err(fail(index.span, "an index must be a number".into()));
    }
    steps.push(ir::TargetStep::Index {
        index: Box::new(value),
        stride,
    });
    Ok(Place::Address(elem))
}

pub(super) fn fail(span: Span, message: String) -> Failed {
    Box::new(Diagnostic::semantic_error(message).with_primary(span, "in this target expression"))
}

/// `$return` outside a `.return` probe is an error.
fn require_return_probe(ret: bool, span: Span) -> Result<(), Failed> {
    if ret {
        Ok(())
    } else {
        Err(fail(
            span,
            "'$return' is only available in .return probes".into(),
        ))
    }
}

/// `what` needs the probed function's prototype, which `why` withholds.
fn unchecked(span: Span, what: &str, why: &str) -> Failed {
    fail_help(
        span,
        format!("'{what}' needs the probed function's prototype, but {why}"),
        "name a fetched kernel with -r (see `stap-prep list`)".into(),
    )
}

/// `$var` in a `process(...).function(...)` probe.
fn user_space(span: Span, what: &str) -> Failed {
    fail_help(
        span,
        format!("'{what}' of a user-space function needs the program's debug information (DWARF), which stapkit does not read"),
        "read arguments with int_arg(N), long_arg(N), pointer_arg(N), ... and the result with returnval()".into(),
    )
}

/// `$var` in a `.inline` probe.
fn inline_copy(span: Span, what: &str, callers: &[String]) -> Failed {
    const SHOWN: usize = 3;
    let mut named: Vec<String> = callers
        .iter()
        .take(SHOWN)
        .map(|c| format!("kernel.function(\"{c}\")"))
        .collect();
    if callers.len() > SHOWN {
        named.push(format!("{} more", callers.len() - SHOWN));
    }
    fail_help(
        span,
        format!("'{what}' in an .inline probe needs the DWARF location lists of the inlined copies' variables, which stapkit does not evaluate"),
        format!("read it in a probe on a caller ({}), or on the function's out-of-line copy with .call if it has one", named.join(", ")),
    )
}

fn fail_help(span: Span, message: String, help: String) -> Failed {
    Box::new(
        Diagnostic::semantic_error(message)
            .with_primary(span, "in this target expression")
            .with_help(help),
    )
}

/// Size and signedness of a type a script reads as a number.
pub(super) fn scalar(ty: &CType) -> Option<(u8, bool)> {
    match ty.strip() {
        CType::Int { size, signed, .. } | CType::Enum { size, signed, .. }
            if matches!(size, 1 | 2 | 4 | 8) =>
        {
            Some((*size as u8, *signed))
        }
        CType::Pointer(_) => Some((8, false)),
        _ => None,
    }
}
