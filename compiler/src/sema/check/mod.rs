//! Phase 1: names resolved and types inferred, without building anything.
//!
//! A [`Checker`] walks one body (a derived probe or a function). Types
//! flow both ways: from a value into the variable it is assigned to, and
//! from a variable's known type into an expression that needs one; they
//! are kept in the slots of locals, globals, parameters and return values.
//! [`schedule`] re-walks bodies until no slot changes, then walks every
//! body once more reporting the diagnostics and recording, per node, what
//! lowering needs ([`super::facts::BodyFacts`]).
//!
//! The walk is split by construct: [`stmt`] (statements, loops, `delete`),
//! [`expr`] (operators, variables, calls, target expressions), [`assign`]
//! (assignments and `++`/`--`), [`print`] (the print family and formats)
//! and [`stats`] (`<<<`, aggregates, histograms, array keys).

mod assign;
mod expr;
mod print;
pub(super) mod schedule;
mod stats;
mod stmt;

pub(super) use print::histogram;

use std::collections::BTreeSet;

use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::facts::{BodyFacts, VarRef};
use super::scope::{AutoCast, LocalVar, Locals, Shape, Slot, TypedPointer};
use super::vars::{ProbeContext, TargetHost};
use super::{Config, Context};

/// A type slot somewhere in the program.
#[derive(Debug, Clone, Copy)]
pub enum SlotRef {
    Local(usize),
    GlobalValue(usize),
    GlobalKey(usize, usize),
    Return(usize),
    Param(usize, usize),
}

/// What one walk read and changed, for the scheduler.
#[derive(Debug, Default)]
pub struct Trace {
    /// Globals whose types or shapes the walk read.
    pub read_globals: BTreeSet<usize>,
    /// Functions whose parameter or return types the walk read.
    pub read_functions: BTreeSet<usize>,
    /// Globals whose types or shapes it decided.
    pub changed_globals: BTreeSet<usize>,
    /// Functions whose parameter or return types it decided.
    pub changed_functions: BTreeSet<usize>,
    /// The body's own locals changed (a type decided, a local created).
    pub changed_own: bool,
}

/// Walks one body.
pub struct Checker<'c, 'a> {
    pub cx: &'c mut Context<'a>,
    pub locals: Locals,
    /// The function being walked (its index), if any.
    pub function: Option<usize>,
    /// The reporting walk: diagnostics are kept and facts recorded.
    report: bool,
    loops: usize,
    /// The target variables the probe being walked offers.
    pub context: ProbeContext,
    /// Arrays being iterated by enclosing foreach loops, with the loop's span.
    iterating: Vec<(usize, Span)>,
    /// Checking an `@entry(...)` operand (no locals exist there).
    in_entry: bool,
    /// The expression being checked is a statement of its own, so a
    /// `++`/`--` at its top discards its value.
    value_discarded: bool,
    /// The probe handler's own body (not its aliases' prologues and
    /// epilogues), for `@probewrite`; `None` in functions.
    pub probe_body: Option<&'a ast::Block>,
    /// What this walk read and changed.
    pub trace: Trace,
    /// What the reporting walk learnt about each node.
    pub facts: BodyFacts,
    /// The pointer type of the last target expression checked, if it is
    /// one (what an assignment gives a local, see [`AutoCast`]).
    last_pointer: Option<TypedPointer>,
    /// What the optimizer left out of the body walked.
    pub(in crate::sema) elision: std::sync::Arc<crate::sema::elide::Elision>,
}

impl<'c, 'a> Checker<'c, 'a> {
    pub fn new(
        cx: &'c mut Context<'a>,
        locals: Locals,
        function: Option<usize>,
        report: bool,
    ) -> Self {
        let elision = function
            .map(|f| cx.functions[f].elision.clone())
            .unwrap_or_default();
        Checker {
            cx,
            locals,
            function,
            report,
            loops: 0,
            iterating: Vec::new(),
            context: ProbeContext::none(),
            in_entry: false,
            value_discarded: false,
            probe_body: None,
            trace: Trace::default(),
            facts: BodyFacts::default(),
            last_pointer: None,
            elision,
        }
    }

    /// Local `i` is given a pointer of type `p` (SystemTap's autocast): a
    /// new state is a change that needs another walk.
    fn give_pointer(&mut self, i: usize, p: TypedPointer) {
        let var = &mut self.locals.vars[i];
        let next = var.autocast.with(p);
        let same = match (&var.autocast, &next) {
            (AutoCast::Typed(a), AutoCast::Typed(b)) => a.ty == b.ty,
            (AutoCast::Mixed, AutoCast::Mixed) => true,
            _ => false,
        };
        if !same {
            var.autocast = next;
            self.trace.changed_own = true;
        }
    }

    fn error(&mut self, d: Diagnostic) {
        if self.report {
            self.cx.diagnostics.push(d);
        }
    }

    /// An error SystemTap finds while it resolves symbols (an unknown
    /// function, a wrong number of arguments, a local indexed as an
    /// array): it stops there, before the optimizer and type checking,
    /// so their warnings and errors are not reported beside it.
    fn resolution_error(&mut self, d: Diagnostic) {
        if self.report {
            self.cx.resolution_errors.push(d);
        }
    }

    // ---- type slots -------------------------------------------------------

    /// Records that `slot` has type `ty` because of the code at `at`.
    fn unify(&mut self, slot: SlotRef, ty: Type, at: Span, what: &str) {
        let current = self.slot(slot);
        match current.ty {
            None => {
                *self.slot_mut(slot) = Slot {
                    ty: Some(ty),
                    decided_at: Some(at),
                };
                self.changed(slot);
            }
            Some(t) if t == ty => {}
            Some(t) => {
                // SystemTap's two errors: the use, then where the type
                // was decided.
                self.error(
                    Diagnostic::semantic_error(format!("type mismatch ({ty})"))
                        .with_primary(at, format!("{what} used as {ty}")),
                );
                if let Some(prev) = current.decided_at.filter(|p| *p != at) {
                    self.error(
                        Diagnostic::semantic_error(format!("type was first inferred here ({t})"))
                            .with_primary(prev, format!("{what} is {t} because of this")),
                    );
                }
            }
        }
    }

    /// Makes two slots agree: whichever is known decides the other.
    fn link(&mut self, a: SlotRef, b: SlotRef, at: Span, what: &str) {
        match (self.slot(a).ty, self.slot(b).ty) {
            (Some(t), _) => self.unify(b, t, at, what),
            (None, Some(t)) => self.unify(a, t, at, what),
            (None, None) => {}
        }
    }

    /// The slot's current type, noted as read.
    fn slot(&mut self, slot: SlotRef) -> Slot {
        match slot {
            SlotRef::Local(i) => self.locals.vars[i].slot,
            SlotRef::GlobalValue(g) => {
                self.trace.read_globals.insert(g);
                self.cx.globals[g].value
            }
            SlotRef::GlobalKey(g, k) => {
                self.trace.read_globals.insert(g);
                self.cx.globals[g].keys[k]
            }
            SlotRef::Return(f) => {
                self.trace.read_functions.insert(f);
                self.cx.functions[f].ret
            }
            SlotRef::Param(f, i) => {
                if Some(f) == self.function {
                    self.locals.vars[i].slot
                } else {
                    self.trace.read_functions.insert(f);
                    self.cx.functions[f].locals.vars[i].slot
                }
            }
        }
    }

    fn slot_mut(&mut self, slot: SlotRef) -> &mut Slot {
        match slot {
            SlotRef::Local(i) => &mut self.locals.vars[i].slot,
            SlotRef::GlobalValue(g) => &mut self.cx.globals[g].value,
            SlotRef::GlobalKey(g, k) => &mut self.cx.globals[g].keys[k],
            SlotRef::Return(f) => &mut self.cx.functions[f].ret,
            SlotRef::Param(f, i) => {
                if Some(f) == self.function {
                    &mut self.locals.vars[i].slot
                } else {
                    &mut self.cx.functions[f].locals.vars[i].slot
                }
            }
        }
    }

    /// Notes that `slot` was decided by this walk.
    fn changed(&mut self, slot: SlotRef) {
        match slot {
            SlotRef::Local(i) => {
                self.trace.changed_own = true;
                // A function's own parameter is also its callers' business.
                if let Some(f) = self.function {
                    if i < self.cx.functions[f].def.params.len() {
                        self.trace.changed_functions.insert(f);
                    }
                }
            }
            SlotRef::GlobalValue(g) | SlotRef::GlobalKey(g, _) => {
                self.trace.changed_globals.insert(g);
            }
            SlotRef::Return(f) | SlotRef::Param(f, _) => {
                if Some(f) == self.function {
                    self.trace.changed_own = true;
                }
                self.trace.changed_functions.insert(f);
            }
        }
    }

    /// The value type of global `g`, noted as read.
    fn global_type(&mut self, g: usize) -> Option<Type> {
        self.slot(SlotRef::GlobalValue(g)).ty
    }

    /// The return type of function `f`, noted as read.
    fn return_type(&mut self, f: usize) -> Option<Type> {
        self.slot(SlotRef::Return(f)).ty
    }

    // ---- names ------------------------------------------------------------

    /// The local called `name`, created at `span` if new.
    fn local(&mut self, name: &str, span: Span) -> usize {
        if let Some(i) = self.locals.get(name) {
            return i;
        }
        self.trace.changed_own = true;
        self.locals.get_or_add(name, span)
    }

    fn resolve_var(&mut self, ident: &ast::Ident) -> Option<VarRef> {
        if ident.name.starts_with('$') {
            self.error(
                Diagnostic::semantic_error(format!(
                    "target variable '{}' is not available here",
                    ident.name
                ))
                .with_primary(ident.span, "no probe context provides target variables")
                .with_help(
                    "target variables need a kernel.function, kernel.trace or process probe",
                ),
            );
            return None;
        }
        if let Some(i) = self.locals.get(&ident.name) {
            return Some(VarRef::Local(i));
        }
        if let Some(g) = self.cx.global_named(&ident.name, ident.span.file) {
            return Some(VarRef::Global(g));
        }
        Some(VarRef::Local(self.local(&ident.name, ident.span)))
    }

    /// Records what node `id` names (in the reporting walk).
    fn record_var(&mut self, id: ast::NodeId, var: VarRef) {
        if self.report {
            self.facts.vars.insert(id, var);
        }
    }

    /// Reports a change to an array inside a foreach over that array.
    fn check_not_iterating(&mut self, g: usize, at: Span) {
        if let Some(&(_, loop_span)) = self.iterating.iter().find(|(it, _)| *it == g) {
            let name = self.cx.globals[g].name.clone();
            self.error(
                Diagnostic::semantic_error(format!(
                    "'{name}' cannot be modified inside a foreach over it"
                ))
                .with_primary(at, "modified here")
                .with_secondary(loop_span, "while this foreach iterates it")
                .with_help("collect the keys in another array and change this one after the loop"),
            );
        }
    }

    /// Marks a global as scalar or as an array of `arity` keys.
    fn shape(&mut self, g: usize, shape: Shape, at: Span) -> bool {
        self.trace.read_globals.insert(g);
        let current = self.cx.globals[g].shape;
        if current == Shape::Unknown {
            self.cx.globals[g].shape = shape;
            self.cx.globals[g].shape_at = Some(at);
            if let Shape::Array(n) = shape {
                self.cx.globals[g].keys = vec![Slot::default(); n];
            }
            self.trace.changed_globals.insert(g);
            return true;
        }
        if current == shape {
            return true;
        }
        let name = self.cx.globals[g].name.clone();
        let what = |s: Shape| match s {
            Shape::Scalar => "a scalar".to_string(),
            Shape::Array(n) => format!("an array with {n} key(s)"),
            Shape::Unknown => "unknown".to_string(),
        };
        let mut d = Diagnostic::semantic_error(format!(
            "'{name}' is used as {} and as {}",
            what(current),
            what(shape)
        ))
        .with_primary(at, format!("used as {}", what(shape)));
        if let Some(prev) = self.cx.globals[g].shape_at {
            d = d.with_secondary(prev, format!("used as {} here", what(current)));
        }
        self.error(d);
        false
    }

    /// `'v' WHY` at a local `v` used as only a global can be.
    fn must_be_global(&mut self, v: &ast::Ident, why: &str) {
        self.error(
            Diagnostic::semantic_error(format!("'{}' {why}", v.name))
                .with_primary(v.span, "a local variable")
                .with_help(format!("declare it: global {}", v.name)),
        );
    }

    /// The global array `v` used with `arity` keys.
    fn array_global(&mut self, v: &ast::Ident, arity: usize) -> Option<usize> {
        match self.resolve_var(v)? {
            VarRef::Global(g) => {
                if self.shape(g, Shape::Array(arity), v.span) {
                    Some(g)
                } else {
                    None
                }
            }
            VarRef::Local(i) => {
                // Reported once here; keep the local from cascading.
                self.locals.vars[i].assigned = true;
                if self.locals.vars[i].slot.ty.is_none() {
                    self.locals.vars[i].slot.ty = Some(Type::Long);
                    self.trace.changed_own = true;
                }
                // SystemTap's words, which say what to do.
                self.resolution_error(
                    Diagnostic::semantic_error(format!(
                        "unresolved arity-{arity} global array {}, missing global declaration?",
                        v.name
                    ))
                    .with_primary(v.span, "a local variable"),
                );
                None
            }
        }
    }

    fn require(&mut self, got: Option<Type>, want: Type, at: Span, context: &str) {
        if let Some(t) = got.filter(|t| *t != want) {
            self.error(
                Diagnostic::semantic_error(format!("{context} needs a {want}, but this is a {t}"))
                    .with_primary(at, format!("a {t}")),
            );
        }
    }

    /// Checks every local has a type; reports the ones that do not.
    pub fn finish_locals(&mut self) {
        let unresolved: Vec<LocalVar> = self
            .locals
            .vars
            .iter()
            .filter(|v| v.slot.ty.is_none())
            .cloned()
            .collect();
        for v in unresolved {
            self.error(
                Diagnostic::semantic_error(format!("unresolved type for '{}'", v.name))
                    .with_primary(
                        v.first,
                        "nothing decides whether this is a number or a string",
                    )
                    .with_help(format!(
                        "assign it a value, e.g. {} = 0 or {} = \"\"",
                        v.name, v.name
                    )),
            );
        }
        // Never-assigned locals are reported before elision
        // (`super::unassigned`), as SystemTap does.
    }
}

/// Target expressions inside checked code: their script operands are
/// checked like any expression; nothing is saved at entry.
impl TargetHost for Checker<'_, '_> {
    fn config(&self) -> &Config {
        self.cx.config
    }

    fn location(&self, span: Span, token: String) -> ir::Location {
        self.cx.location(span, token)
    }

    fn operand(&mut self, e: &ast::Expr, expect: Option<Type>) -> (Option<Type>, ir::Expr) {
        let ty = self.expr(e, expect);
        (ty, placeholder())
    }

    fn save_at_entry(&mut self, _: ir::Expr, ty: Type, _: ir::Location) -> ir::Expr {
        ir::Expr {
            kind: ir::ExprKind::EntrySlot(0),
            ty: Some(ty),
            location: ir::Location::default(),
        }
    }

    fn autocast(&self, e: &ast::Expr) -> Option<TypedPointer> {
        if self.in_entry {
            return None;
        }
        autocast_of(&self.locals, e)
    }
}

/// The pointer type local `e` carries, if `e` is a local that target
/// expressions gave one type of pointer.
pub(in crate::sema) fn autocast_of(locals: &Locals, e: &ast::Expr) -> Option<TypedPointer> {
    let ast::ExprKind::Var(v) = &e.kind else {
        return None;
    };
    match &locals.vars[locals.get(&v.name)?].autocast {
        AutoCast::Typed(p) => Some(p.clone()),
        _ => None,
    }
}

/// What a checked operand stands for in a target expression's
/// resolution, which checking does not keep.
fn placeholder() -> ir::Expr {
    ir::Expr {
        kind: ir::ExprKind::Long(0),
        ty: Some(Type::Long),
        location: ir::Location::default(),
    }
}
