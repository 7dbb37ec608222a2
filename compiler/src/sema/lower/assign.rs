//! Lowering assignments and the places they (and `++`/`--`) write.

use crate::ir::{self, Type};
use crate::syntax::ast;

use super::{refused, Lowerer};
use crate::sema::facts::VarRef;
use crate::sema::target;

impl Lowerer<'_, '_> {
    /// The place an assignable expression denotes.
    pub(super) fn lvalue(&mut self, e: &ast::Expr) -> Option<ir::LValue> {
        match &e.kind {
            ast::ExprKind::Var(_) => match self.facts.vars.get(e.id)? {
                VarRef::Local(i) => Some(ir::LValue::Local(ir::LocalId(i as u32))),
                VarRef::Global(g) => Some(ir::LValue::Global(ir::GlobalId(g as u32))),
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let VarRef::Global(g) = self.facts.vars.get(e.id)? else {
                    return None;
                };
                let keys = self.keys(indices);
                Some(ir::LValue::Index {
                    array: ir::GlobalId(g as u32),
                    keys,
                    location: self.ident_location(v),
                })
            }
            // Checked: guru mode, a writable place.
            ast::ExprKind::Target(t) => {
                let probe = self.context.clone();
                target::lvalue(self, &probe, t, e.span, None, "").ok()
            }
            _ => None,
        }
    }

    pub(super) fn assign(
        &mut self,
        e: &ast::Expr,
        op: ast::AssignOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        location: ir::Location,
    ) -> ir::Expr {
        use ast::AssignOp as A;
        let (kind, ty) = match op {
            A::Accumulate => {
                let target = self.lvalue(lhs);
                let value = Box::new(self.expr(rhs));
                let Some(target) = target else {
                    return refused(location);
                };
                (ir::ExprKind::StatAdd { target, value }, None)
            }
            A::Assign => {
                // Checking walks the value first: its type decides the
                // target's.
                let value = Box::new(self.expr(rhs));
                let Some(target) = self.lvalue(lhs) else {
                    return refused(location);
                };
                let kind = ir::ExprKind::Assign {
                    target,
                    op: ir::AssignOp::Set,
                    value,
                };
                (kind, self.ty(e))
            }
            A::Concat => {
                let target = self.lvalue(lhs);
                let value = Box::new(self.expr(rhs));
                let Some(target) = target else {
                    return refused(location);
                };
                let kind = ir::ExprKind::Assign {
                    target,
                    op: ir::AssignOp::Concat,
                    value,
                };
                (kind, Some(Type::String))
            }
            _ => {
                let bop = match op {
                    A::Add => ir::BinaryOp::Add,
                    A::Sub => ir::BinaryOp::Sub,
                    A::Mul => ir::BinaryOp::Mul,
                    A::Div => ir::BinaryOp::Div,
                    A::Mod => ir::BinaryOp::Mod,
                    A::Shl => ir::BinaryOp::Shl,
                    A::Shr => ir::BinaryOp::Shr,
                    A::BitAnd => ir::BinaryOp::BitAnd,
                    A::BitOr => ir::BinaryOp::BitOr,
                    _ => ir::BinaryOp::BitXor,
                };
                let target = self.lvalue(lhs);
                let value = Box::new(self.expr(rhs));
                let Some(target) = target else {
                    return refused(location);
                };
                let kind = ir::ExprKind::Assign {
                    target,
                    op: ir::AssignOp::Arith(bop),
                    value,
                };
                (kind, Some(Type::Long))
            }
        };
        ir::Expr { kind, ty, location }
    }
}
