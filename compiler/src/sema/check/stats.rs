//! Checking arrays and statistics: element keys, `[k, *]` slices, the
//! operands of aggregates and histograms, `@variance`'s bit-shift.

use crate::diag::{Diagnostic, Span};
use crate::ir::Type;
use crate::syntax::ast;

use super::{Checker, SlotRef, VarRef};
use crate::sema::scope::Shape;

impl Checker<'_, '_> {
    /// Key `k` of array `g`.
    pub(super) fn key_expr(&mut self, g: usize, k: usize, e: &ast::Expr) {
        let expect = self.slot(SlotRef::GlobalKey(g, k)).ty;
        let ty = self.expr(e, expect);
        let name = self.cx.globals[g].name.clone();
        match ty {
            Some(Type::Stats) => self.error(
                Diagnostic::semantic_error("array keys must be numbers or strings")
                    .with_primary(e.span, "statistics"),
            ),
            Some(t) => self.unify(
                SlotRef::GlobalKey(g, k),
                t,
                e.span,
                &format!("key {} of '{name}'", k + 1),
            ),
            None => {}
        }
    }

    /// Keys where `*` is allowed (`[k, *] in a`, `@count(a[*, k])`).
    pub(super) fn slice_keys(&mut self, g: usize, indices: &[ast::IndexItem]) {
        for (k, item) in indices.iter().enumerate() {
            if let ast::IndexItem::Expr(ke) = item {
                self.key_expr(g, k, ke);
            }
        }
    }

    /// An element's keys, where `*` is an error.
    pub(super) fn keys(&mut self, g: usize, indices: &[ast::IndexItem]) {
        for (k, item) in indices.iter().enumerate() {
            match item {
                ast::IndexItem::Expr(ke) => self.key_expr(g, k, ke),
                ast::IndexItem::Wildcard(span) => self.error(
                    Diagnostic::semantic_error(
                        "a wildcard key only makes sense in 'delete', 'in' or aggregates",
                    )
                    .with_primary(*span, "'*' here"),
                ),
            }
        }
    }

    /// The statistics global an aggregate or histogram reads; with
    /// `wildcards`, an element may have `*` keys.
    pub(super) fn stats_operand(&mut self, operand: &ast::Expr, wildcards: bool) -> Option<usize> {
        match &operand.kind {
            ast::ExprKind::Var(v) => match self.resolve_var(v)? {
                VarRef::Global(g) => {
                    if !self.shape(g, Shape::Scalar, v.span) {
                        return None;
                    }
                    self.read_stats(operand.id, g, v.span, &format!("'{}'", v.name));
                    Some(g)
                }
                VarRef::Local(_) => {
                    self.must_be_global(v, "must be a global statistics variable");
                    None
                }
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let g = self.array_global(v, indices.len())?;
                let what = format!("the elements of '{}'", v.name);
                self.read_stats(operand.id, g, v.span, &what);
                if wildcards {
                    self.slice_keys(g, indices);
                } else {
                    self.keys(g, indices);
                }
                Some(g)
            }
            _ => {
                self.error(
                    Diagnostic::semantic_error(
                        "aggregates need a statistics variable or array element",
                    )
                    .with_primary(operand.span, "not a statistics value"),
                );
                None
            }
        }
    }

    /// Global `g`, named at node `id`, is read as statistics (`what` it
    /// is, for a type conflict).
    fn read_stats(&mut self, id: ast::NodeId, g: usize, at: Span, what: &str) {
        self.record_var(id, VarRef::Global(g));
        self.cx.globals[g].read = true;
        self.unify(SlotRef::GlobalValue(g), Type::Stats, at, what);
    }

    /// Records `@variance(s, N)`'s bit-shift on `s`'s global `g`: 0..=62,
    /// one value per variable (stap(1)).
    pub(super) fn variance_shift(&mut self, g: usize, shift: &ast::NumLit) {
        if !(0..=62).contains(&shift.value) {
            self.error(
                Diagnostic::semantic_error(format!(
                    "@variance's bit-shift must be between 0 and 62, not {}",
                    shift.value
                ))
                .with_primary(shift.span, "out of range"),
            );
            return;
        }
        let value = shift.value as u32;
        match self.cx.globals[g].variance_shift {
            None => self.cx.globals[g].variance_shift = Some((value, shift.span)),
            Some((existing, at)) if existing != value => {
                let name = self.cx.globals[g].name.clone();
                self.error(
                    Diagnostic::semantic_error(format!(
                        "'{name}' is given two @variance bit-shifts, {existing} and {value}"
                    ))
                    .with_primary(shift.span, format!("bit-shift {value}"))
                    .with_secondary(at, format!("bit-shift {existing}"))
                    .with_help("only one bit-shift may be used with a given variable"),
                );
            }
            Some(_) => {}
        }
    }
}
