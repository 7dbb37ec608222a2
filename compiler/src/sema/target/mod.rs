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
//!
//! What `$name` itself is, the probe's family says ([`ProbeContext`]);
//! both analysis phases call in through a [`TargetHost`].

mod cast;
mod pretty;

use crate::debuginfo::variables::{self, VariableLocation};
use crate::debuginfo::{CType, KernelInfo};
use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::scope::TypedPointer;
use super::vars::{
    fail, fail_help, scalar, scalar_result, Failed, Place, ProbeContext, ProbeText, TargetHost,
};

/// The type of a resolved target expression: `$$parms` and friends are
/// text, everything else a number.
pub(super) fn value_type(kind: &ir::ExprKind) -> Type {
    if matches!(
        kind,
        ir::ExprKind::Printf { .. } | ir::ExprKind::Str(_) | ir::ExprKind::ProbeText
    ) {
        Type::String
    } else {
        Type::Long
    }
}

/// The type a target expression that does not resolve keeps: `$$parms`
/// and friends, and the point's own text (`$value->x`), stay strings, so
/// that one error does not cascade into type mismatches.
pub(super) fn fallback_type(context: &ProbeContext, t: &ast::TargetExpr) -> Type {
    match &t.base {
        ast::TargetBase::Var(v) if v.name.starts_with("$$") => Type::String,
        ast::TargetBase::Var(v) if context.vars().probe_text(&v.name[1..]).is_some() => {
            Type::String
        }
        _ => Type::Long,
    }
}

/// A target expression on the left of an assignment or `++`/`--`:
/// guru mode only, and only a value in a register, on the stack or in
/// kernel memory (`$return`, a parameter at entry, `$p->field`).
pub(super) fn lvalue(
    h: &mut dyn TargetHost,
    probe: &ProbeContext,
    t: &ast::TargetExpr,
    span: Span,
    want: Option<Type>,
    context: &str,
) -> Result<ir::LValue, Failed> {
    if let Some(text) = probe_text(probe, t, span)? {
        if let Some(why) = text.read_only {
            return Err(fail(span, format!("{context} cannot change this: {why}")));
        }
        if let Some(w) = want.filter(|w| *w != Type::String) {
            return Err(Box::new(
                Diagnostic::semantic_error(format!(
                    "{context} needs a {w} here, but this target variable is a string"
                ))
                .with_primary(span, "a string"),
            ));
        }
        return Ok(ir::LValue::ProbeText);
    }
    if !h.config().guru {
        return Err(Box::new(
            Diagnostic::semantic_error(format!(
                "{context} writes to a target variable, which needs guru mode"
            ))
            .with_primary(span, "a value of the probed kernel")
            .with_help("rerun with -g: guru mode lets a script change the kernel's state"),
        ));
    }
    let access = match resolve(h, probe, t, span)? {
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
        (ir::TargetBase::UserMemory { .. }, _) => {
            Some("an SDT marker's argument in memory is read as a copy and cannot be changed")
        }
        (ir::TargetBase::TracepointArg(_), ir::TargetResult::Value { .. }) => {
            Some("tracepoint arguments are copies and cannot be changed")
        }
        (ir::TargetBase::User { .. }, _) => {
            Some("stapkit does not change a user-space program's variables")
        }
        (ir::TargetBase::Value(_), ir::TargetResult::Value { .. }) => {
            Some("in a .return probe a parameter is its value saved at entry; it cannot be changed")
        }
        _ => None,
    };
    if let Some(why) = refusal {
        return Err(fail(span, format!("{context} cannot change this: {why}")));
    }
    Ok(ir::LValue::Target(access))
}

/// The error for `@entry` where the probe has no function entry.
pub(super) fn no_entry(span: Span) -> Diagnostic {
    Diagnostic::semantic_error("@entry is only available in .return probes of functions")
        .with_primary(span, "here")
}

/// Whether `@defined(e)` holds here: every target expression in `e`
/// (`$x`, or `kernel_string($f->name)` around one) resolves in this
/// probe.
pub(super) fn defined(h: &mut dyn TargetHost, context: &ProbeContext, e: &ast::Expr) -> bool {
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
        .all(|(t, span)| resolve(h, context, t, *span).is_ok())
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

/// The point's own text, when `t` is the variable that names it
/// (procfs's `$value`), taken whole.
pub(super) fn probe_text(
    context: &ProbeContext,
    t: &ast::TargetExpr,
    span: Span,
) -> Result<Option<ProbeText>, Failed> {
    let ast::TargetBase::Var(v) = &t.base else {
        return Ok(None);
    };
    let Some(text) = v
        .name
        .strip_prefix('$')
        .filter(|n| !n.starts_with('$'))
        .and_then(|n| context.vars().probe_text(n))
    else {
        return Ok(None);
    };
    if !t.components.is_empty() || t.address_of {
        return Err(fail(
            span,
            format!("'{}' is a string and has no members or address", v.name),
        ));
    }
    Ok(Some(text))
}

/// Resolves a target expression into what the IR computes for it.
pub(super) fn resolve(
    h: &mut dyn TargetHost,
    context: &ProbeContext,
    t: &ast::TargetExpr,
    span: Span,
) -> Result<ir::ExprKind, Failed> {
    resolve_typed(h, context, t, span).map(|(kind, _)| kind)
}

/// [`resolve`], and the pointer type of the value when it is a kernel
/// pointer (what a local it is assigned to carries, SystemTap's autocast).
pub(super) fn resolve_typed(
    h: &mut dyn TargetHost,
    context: &ProbeContext,
    t: &ast::TargetExpr,
    span: Span,
) -> Result<(ir::ExprKind, Option<TypedPointer>), Failed> {
    if probe_text(context, t, span)?.is_some() {
        return Ok((ir::ExprKind::ProbeText, None));
    }
    // The program whose types a user-space @cast names.
    let mut user: Option<std::sync::Arc<crate::debuginfo::userdebug::UserDebug>> = None;
    // The loadable module whose types a kernel @cast's type came from.
    let mut module_types: Option<std::sync::Arc<crate::debuginfo::btf::Btf>> = None;
    let (base, place) = match &t.base {
        ast::TargetBase::Var(v) => {
            if v.name.starts_with("$$") {
                // `$$parms$`, `$$vars$$`: each value pretty-printed.
                if let ([c], false) = (t.components.as_slice(), t.address_of) {
                    if let ast::TargetComponentKind::Pretty { deep } = c.kind {
                        return untyped(context_string(h, context, &v.name, v.span, Some(deep)));
                    }
                }
                if !t.components.is_empty() || t.address_of {
                    return Err(fail(
                        v.span,
                        format!("'{}' is a string and has no members", v.name),
                    ));
                }
                return untyped(context_string(h, context, &v.name, v.span, None));
            }
            context.vars().variable(&v.name[1..], v.span, h)?
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
                if text.starts_with('/') {
                    let debug = user_types(&*h, &text, m.span)?;
                    let name = type_name.to_str_lossy().into_owned();
                    let agg = user_aggregate(&debug, &text, &name, type_name.span)?;
                    let (_, value) = h.operand(operand, Some(Type::Long));
                    user = Some(debug);
                    (
                        ir::TargetBase::User {
                            base: Box::new(ir::TargetBase::Value(Box::new(value))),
                            offset: 0,
                        },
                        Place::Value(CType::Pointer(Box::new(agg))),
                    )
                } else {
                    let (base, place, types) =
                        kernel_cast(h, context, operand, type_name, Some(&text))?;
                    module_types = types;
                    (base, place)
                }
            } else {
                let (base, place, types) = kernel_cast(h, context, operand, type_name, None)?;
                module_types = types;
                (base, place)
            }
        }
        ast::TargetBase::AtVar { name, module } => {
            match program_var(h, context, name, module.as_ref()) {
                Some(found) => found?,
                None => at_var(&*h, name, module.as_ref())?,
            }
        }
        ast::TargetBase::Autocast(e) => {
            let Some(typed) = h.autocast(e) else {
                return Err(fail(
                    e.span,
                    "this value has no known C type; use @cast(value, \"struct T\")".into(),
                ));
            };
            let (_, value) = h.operand(e, Some(Type::Long));
            module_types = typed.module_types;
            (
                ir::TargetBase::Value(Box::new(value)),
                Place::Value(typed.ty),
            )
        }
    };
    let mut steps = Vec::new();
    let mut place = place;
    let mut bitfield = None;
    // The named aggregate and member names an anonymous one was reached by.
    let mut anonymous = None;
    for c in &t.components {
        if bitfield.is_some() {
            return Err(fail(c.span, "a bitfield has no members".into()));
        }
        place = match &c.kind {
            ast::TargetComponentKind::Member(m) => {
                let types = match (user.as_deref(), module_types.as_deref()) {
                    (Some(debug), _) => MemberTypes::Program(debug),
                    (None, Some(btf)) => MemberTypes::Module(btf),
                    (None, None) => MemberTypes::Probe(context),
                };
                let (next, bits) = member(
                    &*h,
                    types,
                    place,
                    &m.name,
                    m.span,
                    &mut steps,
                    &mut anonymous,
                )?;
                bitfield = bits;
                next
            }
            ast::TargetComponentKind::Index(i) => {
                anonymous = None;
                index(h, place, i, c.span, &mut steps)?
            }
            ast::TargetComponentKind::Pretty { deep } => {
                if user.is_some() {
                    return Err(fail(
                        c.span,
                        "pretty-printing a user-space program's @cast is not supported yet; print its members".into(),
                    ));
                }
                if bitfield.is_some() {
                    return Err(fail(c.span, "a bitfield cannot be pretty-printed".into()));
                }
                return untyped(pretty::pretty(&*h, base, steps, place, *deep, span));
            }
        };
    }
    // `& @cast(p, "struct T")` is the address of the struct at p: p itself
    // (`& @container_of(...)`, as published examples write it).
    let whole_cast = t.components.is_empty() && matches!(t.base, ast::TargetBase::Cast { .. });
    let place_type = match &place {
        Place::Address(ty) | Place::Value(ty) => Some(ty.clone()),
    };
    let result = if t.address_of && !whole_cast {
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
    // The pointer the value is, for a local it is assigned to.
    let pointer = match (&result, place_type) {
        _ if user.is_some() || bitfield.is_some() => None,
        (ir::TargetResult::Address, Some(ty)) => Some(CType::Pointer(Box::new(ty))),
        (ir::TargetResult::Value { .. } | ir::TargetResult::Load { .. }, Some(ty))
            if ty.strip().is_pointer() =>
        {
            Some(ty)
        }
        _ => None,
    };
    let typed = pointer.map(|ty| TypedPointer { ty, module_types });
    Ok((
        ir::ExprKind::Target(Box::new(ir::TargetAccess {
            base,
            steps,
            result,
        })),
        typed,
    ))
}

/// A resolution that yields no typed pointer.
fn untyped(
    r: Result<ir::ExprKind, Failed>,
) -> Result<(ir::ExprKind, Option<TypedPointer>), Failed> {
    r.map(|kind| (kind, None))
}

/// `@var("name[@file]")` in a probe of a user-space program with DWARF:
/// the program's global; `None` when the point's variables are the
/// kernel's (or a module is named).
fn program_var(
    h: &mut dyn TargetHost,
    context: &ProbeContext,
    name: &ast::StrLit,
    module: Option<&ast::StrLit>,
) -> Option<Result<(ir::TargetBase, Place), Failed>> {
    if module.is_some() {
        return None;
    }
    let text = name.to_str_lossy().into_owned();
    let (var, file) = match text.split_once('@') {
        Some((v, f)) => (v, Some(f)),
        None => (text.as_str(), None),
    };
    context.vars().program_variable(var, file, name.span, h)
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
                format!("@var in module '{}' is not supported", m.to_str_lossy()),
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

/// `$$parms`, `$$vars`, `$$locals`, `$$return`: the values as text,
/// `name=0x...` separated by spaces.
/// `$$parms`, `$$vars`, `$$locals`, `$$return` (with `pretty`, their
/// `$`/`$$` forms: `Some(deep)`), `$$system`, `$$name`.
fn context_string(
    h: &mut dyn TargetHost,
    context: &ProbeContext,
    which: &str,
    span: Span,
    pretty: Option<bool>,
) -> Result<ir::ExprKind, Failed> {
    if let Some(text) = context.vars().text(which) {
        return Ok(ir::ExprKind::Str(text));
    }
    if matches!(which, "$$system" | "$$name") {
        return Err(fail(
            span,
            format!("'{which}' is only available in tracepoint probes (kernel.trace)"),
        ));
    }
    let (names, ret) = context.vars().parameters(which, span)?;
    let wanted: Vec<String> = match which {
        // In a .return probe, the parameters' values at entry.
        "$$parms" => names,
        "$$vars" => names.into_iter().chain(context.vars().locals()).collect(),
        "$$locals" => context.vars().locals(),
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
        // A variable its point's debug information cannot place there
        // (optimized out, computed): SystemTap shows `name=?`.
        let Ok((base, place)) = context.vars().variable(name, span, h) else {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&format!("{name}=?"));
            continue;
        };
        if let Some(deep) = pretty {
            let kind = pretty::pretty(&*h, base, Vec::new(), place, deep, span)?;
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
        // A value in a register, or one in memory (a user-space frame slot).
        let (ty, in_memory) = match place {
            Place::Value(ty) => (ty, false),
            Place::Address(ty) => (ty, true),
        };
        let Some((size, signed)) = scalar(&ty) else {
            // A struct passed by value: SystemTap shows it as `{...}`.
            if matches!(ty.strip(), crate::debuginfo::CType::Aggregate { .. }) {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&format!("{name}={{...}}"));
            }
            continue;
        };
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!("{name}=%#x"));
        let access = ir::TargetAccess {
            base,
            steps: Vec::new(),
            result: scalar_result(in_memory, size, signed),
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

/// `@cast(p, "struct T")` and `@cast(p, "struct T", "kernel:ext4")`: `p`
/// is a pointer to `T`, found where [`cast`] says; the module types it
/// came from, if not the kernel's.
fn kernel_cast(
    h: &mut dyn TargetHost,
    context: &ProbeContext,
    operand: &ast::Expr,
    type_name: &ast::StrLit,
    module: Option<&str>,
) -> Result<
    (
        ir::TargetBase,
        Place,
        Option<std::sync::Arc<crate::debuginfo::btf::Btf>>,
    ),
    Failed,
> {
    let name = type_name.to_str_lossy().into_owned();
    let (_, value) = h.operand(operand, Some(Type::Long));
    let (agg, types) = cast::cast_aggregate(&*h, context, module, &name, type_name.span)?;
    // The value is a pointer to `name`: its address.
    Ok((
        ir::TargetBase::Value(Box::new(value)),
        Place::Value(CType::Pointer(Box::new(agg))),
        types,
    ))
}

/// The DWARF of the program `path` a user-space `@cast` names (found as
/// for its probes: build id, debuglink, debuginfod).
fn user_types(
    h: &dyn TargetHost,
    path: &str,
    span: Span,
) -> Result<std::sync::Arc<crate::debuginfo::userdebug::UserDebug>, Failed> {
    h.config().programs.debug(path).map_err(|e| {
        fail_help(
            span,
            format!("@cast: cannot read the types of '{path}': {e}"),
            "the program's types come from its debug information: install its debug file (a -dbgsym/-debuginfo package) or set DEBUGINFOD_URLS".into(),
        )
    })
}

/// The struct, union or typedef `name` of a user-space program.
fn user_aggregate(
    debug: &crate::debuginfo::userdebug::UserDebug,
    path: &str,
    name: &str,
    span: Span,
) -> Result<CType, Failed> {
    // SystemTap's words (its pass 2 error for a type the program lacks).
    let layout = debug.dwarf().layout(name).map_err(|_| {
        fail(
            span,
            format!("type definition '{name}' not found in '{path}'"),
        )
    })?;
    Ok(cast::aggregate(&layout))
}

/// Whether a member's object is held in the object before it (its
/// anonymous aggregate's members are found from the named one) or
/// reached through a pointer.
enum PlaceKind {
    Embedded,
    Pointed,
}

/// A named aggregate and the member names that reach an anonymous
/// struct or union inside it (`union futex_key`, `both`).
type AnonymousPath = Option<(String, Vec<String>)>;

/// `->name` from `place`; `anonymous` is how an anonymous aggregate
/// `place` holds was reached (its members are found from the named one),
/// and becomes so for the member's type.
/// Where members' types come from: the probe's (its program's, else the
/// kernel's), or the program a user-space `@cast` names.
#[derive(Clone, Copy)]
enum MemberTypes<'a> {
    Probe(&'a ProbeContext),
    Program(&'a crate::debuginfo::userdebug::UserDebug),
    Module(&'a crate::debuginfo::btf::Btf),
}

fn member(
    h: &dyn TargetHost,
    types: MemberTypes<'_>,
    place: Place,
    name: &str,
    span: Span,
    steps: &mut Vec<ir::TargetStep>,
    anonymous: &mut AnonymousPath,
) -> Result<(Place, Option<(u32, u32)>), Failed> {
    // Reach the object's address.
    let place_kind = match &place {
        Place::Address(ty) if !matches!(ty.strip(), CType::Pointer(_)) => PlaceKind::Embedded,
        _ => PlaceKind::Pointed,
    };
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
    let embedded = matches!(place_kind, PlaceKind::Embedded);
    let (agg, prefix) = match (object.aggregate_name(), anonymous.take()) {
        (Some(agg), _) => (agg, Vec::new()),
        (None, Some((agg, prefix))) if embedded => (agg, prefix),
        _ => return Err(fail(span, format!("'{}' has no members", object.render()))),
    };
    let mut names: Vec<&str> = prefix.iter().map(String::as_str).collect();
    names.push(name);
    let known = match (types, prefix.is_empty()) {
        (MemberTypes::Program(debug), _) => Some(
            debug
                .dwarf()
                .member_path(&agg, &names)
                .map_err(|e| e.to_string()),
        ),
        (MemberTypes::Module(btf), _) => {
            Some(btf.member_path(&agg, &names).map_err(|e| e.to_string()))
        }
        (MemberTypes::Probe(context), true) => context.vars().member_path(&agg, name),
        (MemberTypes::Probe(_), false) => None,
    };
    let path = match known {
        Some(path) => path.map_err(|e| fail(span, e))?,
        None => {
            let kernel = kernel(h)
                .ok_or_else(|| fail(span, "members need the kernel's type information".into()))?;
            kernel
                .member_path(&agg, &names)
                .map_err(|e| fail(span, e.to_string()))?
                .value
        }
    };
    let mut bitfield = None;
    let mut ty = object;
    for step in path.steps.into_iter().skip(prefix.len()) {
        if step.deref {
            steps.push(ir::TargetStep::Deref);
        }
        // Members of embedded structs add up to one offset.
        match steps.last_mut() {
            Some(ir::TargetStep::Offset(last)) => *last = last.wrapping_add(step.offset),
            _ => steps.push(ir::TargetStep::Offset(step.offset)),
        }
        bitfield = step.bitfield;
        ty = step.ty;
    }
    if matches!(ty.strip(), CType::Aggregate { name: None, .. }) {
        *anonymous = Some((agg, names.into_iter().map(str::to_string).collect()));
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
