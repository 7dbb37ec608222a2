//! Checking assignments: `=`, `op=`, `.=`, `<<<`, and the places they
//! (and `++`/`--`) write.

use crate::diag::Diagnostic;
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::{Checker, SlotRef, VarRef};
use crate::sema::scope::Shape;
use crate::sema::target;

/// A place an assignment writes, resolved.
#[derive(Debug, Clone, Copy)]
pub(super) enum Place {
    Local(usize),
    Global(usize),
    Element(usize),
    Target,
    /// The point's own text (procfs's `$value`).
    Text,
}

impl Checker<'_, '_> {
    /// Resolves an assignable expression, typing it `want` if known.
    pub(super) fn lvalue(
        &mut self,
        e: &ast::Expr,
        want: Option<Type>,
        context: &str,
    ) -> Option<Place> {
        match &e.kind {
            ast::ExprKind::Var(v) => match self.resolve_var(v)? {
                VarRef::Local(i) => {
                    self.record_var(e.id, VarRef::Local(i));
                    self.locals.vars[i].assigned = true;
                    if let Some(t) = want {
                        self.unify(SlotRef::Local(i), t, v.span, &format!("'{}'", v.name));
                    }
                    Some(Place::Local(i))
                }
                VarRef::Global(g) => {
                    if !self.shape(g, Shape::Scalar, v.span) {
                        return None;
                    }
                    self.record_var(e.id, VarRef::Global(g));
                    self.cx.mark_written(g, e.span);
                    if let Some(t) = want {
                        self.unify(SlotRef::GlobalValue(g), t, v.span, &format!("'{}'", v.name));
                    }
                    Some(Place::Global(g))
                }
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let g = self.array_global(v, indices.len())?;
                self.record_var(e.id, VarRef::Global(g));
                self.cx.mark_written(g, e.span);
                self.keys(g, indices);
                if let Some(t) = want {
                    self.unify(
                        SlotRef::GlobalValue(g),
                        t,
                        v.span,
                        &format!("the elements of '{}'", v.name),
                    );
                }
                Some(Place::Element(g))
            }
            ast::ExprKind::Target(t) => {
                let probe = self.context.clone();
                match target::lvalue(self, &probe, t, e.span, want, context) {
                    Ok(ir::LValue::ProbeText) => Some(Place::Text),
                    Ok(_) => Some(Place::Target),
                    Err(d) => {
                        self.error(*d);
                        None
                    }
                }
            }
            _ => {
                self.error(
                    Diagnostic::semantic_error(format!(
                        "{context} needs a variable or array element to change"
                    ))
                    .with_primary(e.span, "not assignable"),
                );
                None
            }
        }
    }

    fn place_type(&mut self, place: Place) -> Option<Type> {
        match place {
            Place::Local(i) => self.locals.vars[i].slot.ty,
            Place::Global(g) | Place::Element(g) => self.global_type(g),
            Place::Target => Some(Type::Long),
            Place::Text => Some(Type::String),
        }
    }

    pub(super) fn assign(
        &mut self,
        op: ast::AssignOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
    ) -> Option<Type> {
        use ast::AssignOp as A;
        let ctx = format!("operator '{}'", op.as_str());
        match op {
            A::Accumulate => {
                if let ast::ExprKind::Var(v) = &lhs.kind {
                    if self.cx.global_named(&v.name, v.span.file).is_none() {
                        self.must_be_global(v, "collects statistics, so it must be global");
                        self.expr(rhs, Some(Type::Long));
                        return None;
                    }
                }
                self.lvalue(lhs, Some(Type::Stats), &ctx);
                let tr = self.expr(rhs, Some(Type::Long));
                self.require(tr, Type::Long, rhs.span, &ctx);
                None
            }
            A::Assign => {
                // The value's type decides the target's, or the target's the value's.
                let probe_target = self.peek_lvalue_type(lhs);
                self.last_pointer = None;
                let tr = self.expr(rhs, probe_target);
                let pointer = self.last_pointer.take();
                if tr == Some(Type::Stats) {
                    self.error(
                        Diagnostic::semantic_error(
                            "statistics cannot be assigned; add values with '<<<'",
                        )
                        .with_primary(rhs.span, "a statistics value"),
                    );
                }
                let place = self.lvalue(lhs, tr.filter(|t| *t != Type::Stats), &ctx)?;
                // A local given a kernel pointer by a target expression
                // keeps its type (SystemTap's autocast).
                if let (Place::Local(i), Some(p), ast::ExprKind::Target(_)) =
                    (place, pointer, &rhs.kind)
                {
                    self.give_pointer(i, p);
                }
                let ty = self.place_type(place);
                if tr.is_none() {
                    if let Some(t) = ty {
                        // Tell the value (e.g. an untyped local) what it must be.
                        self.expr(rhs, Some(t));
                    }
                }
                ty
            }
            A::Concat => {
                let place = self.lvalue(lhs, Some(Type::String), &ctx);
                let tr = self.expr(rhs, Some(Type::String));
                self.require(tr, Type::String, rhs.span, &ctx);
                place.map(|_| Type::String)
            }
            _ => {
                let place = self.lvalue(lhs, Some(Type::Long), &ctx);
                let tr = self.expr(rhs, Some(Type::Long));
                self.require(tr, Type::Long, rhs.span, &ctx);
                place.map(|_| Type::Long)
            }
        }
    }

    /// The type an assignment target already has, without side effects.
    fn peek_lvalue_type(&mut self, e: &ast::Expr) -> Option<Type> {
        match &e.kind {
            ast::ExprKind::Var(v) => match self.locals.get(&v.name) {
                Some(i) => self.locals.vars[i].slot.ty,
                None => self
                    .cx
                    .global_named(&v.name, v.span.file)
                    .and_then(|g| self.global_type(g)),
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                ..
            } => self
                .cx
                .global_named(&v.name, v.span.file)
                .and_then(|g| self.global_type(g)),
            ast::ExprKind::Target(t) => {
                if target::probe_text(&self.context, t, e.span).is_ok_and(|p| p.is_some()) {
                    Some(Type::String)
                } else {
                    Some(Type::Long)
                }
            }
            _ => None,
        }
        .filter(|t| *t != Type::Stats)
    }
}
