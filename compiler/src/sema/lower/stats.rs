//! Lowering array keys, `[k, *]` slices and the statistics aggregates
//! and histograms read.

use crate::ir;
use crate::syntax::ast;

use super::{long_expr, Lowerer};
use crate::sema::facts::VarRef;

impl Lowerer<'_, '_> {
    /// An element's keys.
    pub(super) fn keys(&mut self, indices: &[ast::IndexItem]) -> Vec<ir::Expr> {
        indices
            .iter()
            .filter_map(|item| match item {
                ast::IndexItem::Expr(ke) => Some(self.expr(ke)),
                ast::IndexItem::Wildcard(_) => None,
            })
            .collect()
    }

    /// Keys where `*` is allowed (`[k, *] in a`, `@count(a[*, k])`): a
    /// placeholder `0` per `*`, and the mask of `*` columns.
    pub(super) fn slice_keys(&mut self, indices: &[ast::IndexItem]) -> (Vec<ir::Expr>, u32) {
        let mut mask = 0;
        let keys = indices
            .iter()
            .enumerate()
            .map(|(k, item)| match item {
                ast::IndexItem::Expr(ke) => self.expr(ke),
                ast::IndexItem::Wildcard(span) => {
                    mask |= 1 << k;
                    long_expr(ir::ExprKind::Long(0), self.location(*span, "'*'".into()))
                }
            })
            .collect();
        (keys, mask)
    }

    /// The statistics an aggregate or histogram reads; with `wildcards`,
    /// an element may have `*` keys, whose mask is stored there.
    pub(super) fn stats_operand(
        &mut self,
        operand: &ast::Expr,
        wildcards: Option<&mut u32>,
    ) -> Option<ir::LValue> {
        let VarRef::Global(g) = self.facts.vars.get(operand.id)? else {
            return None;
        };
        match &operand.kind {
            ast::ExprKind::Var(_) => Some(ir::LValue::Global(ir::GlobalId(g as u32))),
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let keys = match wildcards {
                    Some(mask) => {
                        let (keys, m) = self.slice_keys(indices);
                        *mask = m;
                        keys
                    }
                    None => self.keys(indices),
                };
                Some(ir::LValue::Index {
                    array: ir::GlobalId(g as u32),
                    keys,
                    location: self.ident_location(v),
                })
            }
            _ => None,
        }
    }
}
