//! Target variables: what a probe point offers its handler beyond the
//! script's own data (`$name`, `$$parms`, `@entry`), in the vocabulary
//! the providers that offer them (`points/<family>.rs`) and the resolver
//! of member chains (`target/`) share.
//!
//! A point's [`ProbeContext`] is its family's [`TargetVars`]; the
//! resolver asks it what `$name` is and then walks `->member`, `[i]` and
//! `$`/`$$` from there on its own.

use std::fmt;
use std::rc::Rc;

use crate::debuginfo::CType;
use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

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
    /// The pointer type `e` carries when it is a local that target
    /// expressions gave one type of pointer (see [`super::scope::AutoCast`]).
    fn autocast(&self, _e: &ast::Expr) -> Option<super::scope::TypedPointer> {
        None
    }
}

/// A point's own text in place of a target variable (procfs's `$value`):
/// a string the runtime hands the handler, which it may set unless
/// `read_only` says why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProbeText {
    /// Why the handler may not set it, if it may not.
    pub read_only: Option<&'static str>,
}

/// The target variables of one kind of probe point.
pub(super) trait TargetVars: fmt::Debug {
    /// `$name` (`name` without the `$`; `return` for `$return`): where its
    /// value starts, or why there is none.
    fn variable(
        &self,
        name: &str,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed>;
    /// The variables `$$parms` and `$$vars` print, in order, and whether
    /// `$$return` applies; or why `which` (`$$parms`, ...) is refused.
    fn parameters(&self, which: &str, span: Span) -> Result<(Vec<String>, bool), Failed>;
    /// `@var("name")` or `@var("name@file")` when the point's own program
    /// holds the variables (user space); `None`: the kernel's.
    fn program_variable(
        &self,
        _name: &str,
        _file: Option<&str>,
        _span: Span,
        _h: &mut dyn TargetHost,
    ) -> Option<Result<(ir::TargetBase, Place), Failed>> {
        None
    }
    /// `$name` when it is the point's own text ([`ProbeText`]), not a
    /// value of the probed kernel; asked before [`Self::variable`].
    fn probe_text(&self, _name: &str) -> Option<ProbeText> {
        None
    }
    /// The local variables `$$locals` and `$$vars` print after the
    /// parameters (user-space functions with DWARF); none by default.
    fn locals(&self) -> Vec<String> {
        Vec::new()
    }
    /// Member `member` of aggregate `aggregate` from the probed program's
    /// own types (user space); `None`: the kernel's types answer.
    fn member_path(
        &self,
        _aggregate: &str,
        _member: &str,
    ) -> Option<Result<crate::debuginfo::FieldPath, String>> {
        None
    }
    /// The types of the module the point is in (`module("m")` points),
    /// where `@cast` looks first, as SystemTap defaults to the probed
    /// module; `None`: the kernel's.
    fn module_types(&self) -> Option<std::sync::Arc<crate::debuginfo::btf::Btf>> {
        None
    }
    /// `$$system` and `$$name` where the point has them (tracepoints).
    fn text(&self, _which: &str) -> Option<String> {
        None
    }
    /// The same point at function entry, for `@entry(e)` in a `.return`
    /// probe; `None` where there is no entry.
    fn at_entry(&self) -> Option<ProbeContext> {
        None
    }
    /// `stap -L`: `$return`'s C type when it has one, and each variable
    /// with its C type.
    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        (None, Vec::new())
    }
    /// Points whose contexts have the same key share one probe body;
    /// `None` (the default) gives each point its own, since `$file` may
    /// mean different things at different functions.
    fn shared_body_key(&self) -> Option<String> {
        None
    }
}

/// A point that offers no target variables, for one reason, given for
/// every `$name` and `$$parms` asked for.
pub(super) trait Refusal: fmt::Debug {
    /// The error for `what` (`$name`, `$$parms`, ...).
    fn refuse(&self, span: Span, what: &str) -> Failed;
    /// As [`TargetVars::shared_body_key`].
    fn shared_body_key(&self) -> Option<String> {
        None
    }
    /// As [`TargetVars::probe_text`]: the one `$name` not refused.
    fn probe_text(&self, _name: &str) -> Option<ProbeText> {
        None
    }
}

impl<T: Refusal> TargetVars for T {
    fn variable(
        &self,
        name: &str,
        span: Span,
        _: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        Err(self.refuse(span, &format!("${name}")))
    }

    fn parameters(&self, which: &str, span: Span) -> Result<(Vec<String>, bool), Failed> {
        Err(self.refuse(span, which))
    }

    fn shared_body_key(&self) -> Option<String> {
        Refusal::shared_body_key(self)
    }

    fn probe_text(&self, name: &str) -> Option<ProbeText> {
        Refusal::probe_text(self, name)
    }
}

/// What a probe point offers its handler: its family's [`TargetVars`].
#[derive(Debug, Clone)]
pub struct ProbeContext(Rc<dyn TargetVars>);

impl ProbeContext {
    /// The context of a family's point.
    pub(super) fn new(vars: impl TargetVars + 'static) -> ProbeContext {
        ProbeContext(Rc::new(vars))
    }

    /// No target variables (begin, timers, raw kprobes, functions).
    pub(super) fn none() -> ProbeContext {
        ProbeContext::new(NoVars)
    }

    /// The variables.
    pub(super) fn vars(&self) -> &dyn TargetVars {
        &*self.0
    }

    /// What names the one probe body that points of this context share
    /// with other points naming the same (`None`: a body of its own).
    pub(super) fn shared_body_key(&self) -> Option<String> {
        self.0.shared_body_key()
    }
}

/// A point without target variables.
#[derive(Debug)]
struct NoVars;

impl TargetVars for NoVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        _: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        Err(fail_help(
            span,
            format!("target variable '${name}' is not available in this probe"),
            "target variables need a kernel.function(...) or kernel.trace(...) probe".into(),
        ))
    }

    fn parameters(&self, which: &str, span: Span) -> Result<(Vec<String>, bool), Failed> {
        Err(fail(
            span,
            format!("'{which}' is not available in this probe"),
        ))
    }

    fn shared_body_key(&self) -> Option<String> {
        Some("none".into())
    }
}

pub(super) fn fail(span: Span, message: String) -> Failed {
    Box::new(Diagnostic::semantic_error(message).with_primary(span, "in this target expression"))
}

pub(super) fn fail_help(span: Span, message: String, help: String) -> Failed {
    Box::new(
        Diagnostic::semantic_error(message)
            .with_primary(span, "in this target expression")
            .with_help(help),
    )
}

/// `$return` outside a `.return` probe is an error.
pub(super) fn require_return_probe(ret: bool, span: Span) -> Result<(), Failed> {
    if ret {
        Ok(())
    } else {
        Err(fail(
            span,
            "'$return' is only available in .return probes".into(),
        ))
    }
}

/// Parameter `$name` of type `ty`, found at `base` (a value, or an object
/// in memory when `in_memory`), saved when the function is entered: the
/// expression reading it back in a `.return` probe (as in SystemTap, a
/// parameter there is its value at entry).
pub(super) fn saved_at_entry(
    h: &mut dyn TargetHost,
    name: &str,
    ty: &CType,
    base: ir::TargetBase,
    in_memory: bool,
    span: Span,
) -> Result<ir::Expr, Failed> {
    let (size, signed) = scalar(ty).ok_or_else(|| {
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
            result: scalar_result(in_memory, size, signed),
        })),
        ty: Some(Type::Long),
        location: location.clone(),
    };
    Ok(h.save_at_entry(value, Type::Long, location))
}

/// A number read from an object in memory (`in_memory`) or taken as the
/// value in hand.
pub(super) fn scalar_result(in_memory: bool, size: u8, signed: bool) -> ir::TargetResult {
    if in_memory {
        ir::TargetResult::Load { size, signed }
    } else {
        ir::TargetResult::Value { size, signed }
    }
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

/// The register the calling convention names by its `struct pt_regs`
/// member (`di` on x86-64, `regs[0]` on arm64; see `debuginfo::callconv`).
/// `sp` and `ip` are x86-64's (SDT marker operands, `debuginfo::sdt`).
pub(super) fn register(member: &str) -> Option<ir::Register> {
    use ir::X86Register as X;
    if let Some(n) = member
        .strip_prefix("regs[")
        .and_then(|m| m.strip_suffix(']'))
    {
        return n
            .parse::<u8>()
            .ok()
            .filter(|n| *n <= 30)
            .map(ir::Register::Arm64);
    }
    let x86 = match member {
        "ax" => X::Ax,
        "bx" => X::Bx,
        "cx" => X::Cx,
        "dx" => X::Dx,
        "si" => X::Si,
        "di" => X::Di,
        "bp" => X::Bp,
        "r8" => X::R8,
        "r9" => X::R9,
        "r10" => X::R10,
        "r11" => X::R11,
        "r12" => X::R12,
        "r13" => X::R13,
        "r14" => X::R14,
        "r15" => X::R15,
        "sp" => X::Sp,
        "ip" => X::Ip,
        _ => return None,
    };
    Some(ir::Register::X86(x86))
}

/// A C type as `stap -L` lists it (`char*`, `struct file*`).
pub(super) fn listed_type(ty: &CType) -> String {
    ty.render().replace(" *", "*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::{arg_location, return_register, Arch, ArgLocation};

    #[test]
    fn every_register_the_calling_convention_names_is_known() {
        for arch in [Arch::X86_64, Arch::Arm64] {
            assert!(register(return_register(arch)).is_some(), "{arch:?}");
            for n in 1..=10 {
                if let Some(ArgLocation::Register(r)) = arg_location(arch, n) {
                    assert!(register(r).is_some(), "{arch:?} argument {n}: {r}");
                }
            }
        }
        assert_eq!(register("di"), Some(ir::Register::X86(ir::X86Register::Di)));
        assert_eq!(register("regs[7]"), Some(ir::Register::Arm64(7)));
        assert_eq!(register("regs[31]"), None);
        assert_eq!(register("orig_ax"), None);
    }
}
