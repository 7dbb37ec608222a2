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
        // Checking walks `=`'s value first (its type decides the
        // target's), the others' target first: so does lowering, which
        // numbers the values saved at entry in that order.
        let (target, value) = if op == A::Assign {
            let value = self.expr(rhs);
            (self.lvalue(lhs), value)
        } else {
            let target = self.lvalue(lhs);
            (target, self.expr(rhs))
        };
        let Some(target) = target else {
            return refused(location);
        };
        let value = Box::new(value);
        let (op, ty) = match op {
            A::Accumulate => (None, None),
            A::Assign => (Some(ir::AssignOp::Set), self.ty(e)),
            A::Concat => (Some(ir::AssignOp::Concat), Some(Type::String)),
            A::Add => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Add)),
                Some(Type::Long),
            ),
            A::Sub => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Sub)),
                Some(Type::Long),
            ),
            A::Mul => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Mul)),
                Some(Type::Long),
            ),
            A::Div => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Div)),
                Some(Type::Long),
            ),
            A::Mod => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Mod)),
                Some(Type::Long),
            ),
            A::Shl => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Shl)),
                Some(Type::Long),
            ),
            A::Shr => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::Shr)),
                Some(Type::Long),
            ),
            A::BitAnd => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::BitAnd)),
                Some(Type::Long),
            ),
            A::BitOr => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::BitOr)),
                Some(Type::Long),
            ),
            A::BitXor => (
                Some(ir::AssignOp::Arith(ir::BinaryOp::BitXor)),
                Some(Type::Long),
            ),
        };
        let kind = match op {
            // `<<<`
            None => ir::ExprKind::StatAdd { target, value },
            Some(op) => ir::ExprKind::Assign { target, op, value },
        };
        ir::Expr { kind, ty, location }
    }
}
