//! Lowering expressions: literals, variables, operators, calls, regular
//! expressions, target expressions and the `@` operators.

use crate::ir::{self, Type};
use crate::syntax::ast;

use super::{long_expr, refused, Lowerer};
use crate::sema::facts::VarRef;
use crate::sema::target;

impl Lowerer<'_, '_> {
    /// Lowers `e`.
    pub fn expr(&mut self, e: &ast::Expr) -> ir::Expr {
        use ast::ExprKind as K;
        let location = self.expr_location(e);
        let typed = |kind, ty, location| ir::Expr { kind, ty, location };
        match &e.kind {
            K::Number(n) => long_expr(ir::ExprKind::Long(*n), location),
            K::String(s) => {
                let text = String::from_utf8_lossy(s).into_owned();
                typed(ir::ExprKind::Str(text), Some(Type::String), location)
            }
            K::Var(_) => match self.facts.vars.get(e.id) {
                Some(VarRef::Local(i)) => typed(
                    ir::ExprKind::Local(ir::LocalId(i as u32)),
                    self.ty(e),
                    location,
                ),
                Some(VarRef::Global(g)) => typed(
                    ir::ExprKind::Global(ir::GlobalId(g as u32)),
                    self.ty(e),
                    location,
                ),
                None => refused(location),
            },
            K::Index {
                base: ast::Indexable::Var(_),
                indices,
            } => match self.facts.vars.get(e.id) {
                Some(VarRef::Global(g)) => {
                    let keys = self.keys(indices);
                    let kind = ir::ExprKind::Index {
                        array: ir::GlobalId(g as u32),
                        keys,
                    };
                    typed(kind, self.ty(e), location)
                }
                _ => refused(location),
            },
            K::Index {
                base: ast::Indexable::Hist(h),
                indices,
            } => match (self.stats_operand(&h.stat, None), indices.as_slice()) {
                (Some(stats), [ast::IndexItem::Expr(i)]) => {
                    // Runtime errors name the histogram operator, as
                    // SystemTap's do.
                    let name = match h.kind {
                        ast::HistKind::Log => "@hist_log",
                        ast::HistKind::Linear { .. } => "@hist_linear",
                    };
                    let location = self.location(h.span, format!("operator '{name}'"));
                    let kind = ir::ExprKind::HistBucket {
                        stats,
                        histogram: crate::sema::check::histogram(h),
                        bucket: Box::new(self.expr(i)),
                    };
                    long_expr(kind, location)
                }
                _ => refused(location),
            },
            K::Call { args, .. } => self.call(e, args, location),
            K::Print(p) => self.print(p, location),
            K::Unary { op, operand } => {
                let inner = self.expr(operand);
                let op = match op {
                    ast::UnaryOp::Plus => return inner,
                    ast::UnaryOp::Neg => ir::UnaryOp::Neg,
                    ast::UnaryOp::Not => ir::UnaryOp::Not,
                    ast::UnaryOp::BitNot => ir::UnaryOp::BitNot,
                };
                let kind = ir::ExprKind::Unary {
                    op,
                    operand: Box::new(inner),
                };
                long_expr(kind, location)
            }
            K::Crement { op, fix, operand } => {
                let kind = match self.lvalue(operand) {
                    Some(target) => ir::ExprKind::IncDec {
                        target,
                        increment: *op == ast::CrementOp::Increment,
                        prefix: *fix == ast::Fix::Prefix,
                    },
                    None => ir::ExprKind::Long(0),
                };
                long_expr(kind, location)
            }
            K::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, location),
            K::Regex {
                negated,
                lhs,
                pattern,
            } => {
                let subject = self.expr(lhs);
                let regex = match self.cx.regex_index.get(&pattern.value) {
                    Some(Ok(id)) => ir::RegexId(*id),
                    _ => ir::RegexId(u32::MAX),
                };
                let kind = ir::ExprKind::Regex {
                    subject: Box::new(subject),
                    regex,
                    negate: *negated,
                };
                long_expr(kind, location)
            }
            K::Ternary {
                cond,
                then,
                otherwise,
            } => {
                // `@defined($x) ? $x : 0`: only the branch that applies.
                if let Some(truth) = self.facts.decided.get(e.id) {
                    return self.expr(if truth { then } else { otherwise });
                }
                let cond = self.expr(cond);
                let a = self.expr(then);
                let b = self.expr(otherwise);
                let kind = ir::ExprKind::Ternary {
                    cond: Box::new(cond),
                    then: Box::new(a),
                    els: Box::new(b),
                };
                typed(kind, self.ty(e), location)
            }
            K::Assign { rhs, .. } if self.elision.assign(e) => self.expr(rhs),
            K::Assign { op, lhs, rhs } => self.assign(e, *op, lhs, rhs, location),
            K::In {
                keys,
                base: ast::Indexable::Var(_),
            } => match self.facts.vars.get(e.id) {
                Some(VarRef::Global(g)) => {
                    let (keys, wildcards) = self.slice_keys(keys);
                    let kind = ir::ExprKind::In {
                        array: ir::GlobalId(g as u32),
                        keys,
                        wildcards,
                    };
                    long_expr(kind, location)
                }
                _ => refused(location),
            },
            K::In {
                base: ast::Indexable::Hist(_),
                ..
            } => refused(location),
            K::Stat { op, operand, .. } => {
                let mut wildcards = 0;
                let kind = match self.stats_operand(operand, Some(&mut wildcards)) {
                    Some(stats) => ir::ExprKind::Aggregate {
                        op: super::stmt::aggregate(*op),
                        stats,
                        wildcards,
                    },
                    None => ir::ExprKind::Long(0),
                };
                long_expr(kind, location)
            }
            K::Target(t) => {
                let probe = self.context.clone();
                match target::resolve(self, &probe, t, e.span) {
                    Ok(kind) => typed(kind, self.ty(e), location),
                    Err(_) => refused(location),
                }
            }
            K::Defined(_) | K::Probewrite(_) => {
                let value = self.facts.constants.get(e.id).unwrap_or(0);
                long_expr(ir::ExprKind::Long(value), location)
            }
            K::Entry(inner) => self.entry(e, inner, location),
            K::Perf(name) => long_expr(
                ir::ExprKind::PerfCounter(name.to_str_lossy().into_owned()),
                location,
            ),
            K::Register { .. } | K::Deref { .. } => refused(location),
            K::Const(name) => {
                let code = name.to_str_lossy().into_owned();
                long_expr(ir::ExprKind::EmbeddedC(code), location)
            }
            K::Embedded(code) => long_expr(ir::ExprKind::EmbeddedC(code.clone()), location),
        }
    }

    fn binary(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        location: ir::Location,
    ) -> ir::Expr {
        use ast::BinaryOp as B;
        let a = Box::new(self.expr(lhs));
        let b = Box::new(self.expr(rhs));
        let arith = match op {
            B::Add => Some(ir::BinaryOp::Add),
            B::Sub => Some(ir::BinaryOp::Sub),
            B::Mul => Some(ir::BinaryOp::Mul),
            B::Div => Some(ir::BinaryOp::Div),
            B::Mod => Some(ir::BinaryOp::Mod),
            B::Shl => Some(ir::BinaryOp::Shl),
            B::Shr => Some(ir::BinaryOp::Shr),
            B::UShr => Some(ir::BinaryOp::UShr),
            B::BitAnd => Some(ir::BinaryOp::BitAnd),
            B::BitOr => Some(ir::BinaryOp::BitOr),
            B::BitXor => Some(ir::BinaryOp::BitXor),
            _ => None,
        };
        let kind = match (arith, op) {
            (Some(op), _) => ir::ExprKind::Binary { op, lhs: a, rhs: b },
            (None, B::Concat) => {
                return ir::Expr {
                    kind: ir::ExprKind::Concat(a, b),
                    ty: Some(Type::String),
                    location,
                }
            }
            (None, B::And | B::Or) => ir::ExprKind::Logical {
                op: if op == B::And {
                    ir::LogicalOp::And
                } else {
                    ir::LogicalOp::Or
                },
                lhs: a,
                rhs: b,
            },
            (None, _) => ir::ExprKind::Compare {
                op: match op {
                    B::Eq => ir::CompareOp::Eq,
                    B::Ne => ir::CompareOp::Ne,
                    B::Lt => ir::CompareOp::Lt,
                    B::Le => ir::CompareOp::Le,
                    B::Gt => ir::CompareOp::Gt,
                    _ => ir::CompareOp::Ge,
                },
                lhs: a,
                rhs: b,
            },
        };
        long_expr(kind, location)
    }

    fn call(&mut self, e: &ast::Expr, args: &[ast::Expr], location: ir::Location) -> ir::Expr {
        let Some(f) = self.facts.calls.get(e.id) else {
            return refused(location);
        };
        let params = self.cx.functions[f].def.params.len();
        let args = args.iter().take(params).map(|a| self.expr(a)).collect();
        let kind = ir::ExprKind::Call {
            function: ir::FunctionId(self.function_ids[f]),
            args,
        };
        ir::Expr {
            kind,
            ty: self.ty(e),
            location,
        }
    }

    /// `@entry(inner)`: `inner` evaluated at function entry, in the
    /// entry's context, and saved for the return.
    fn entry(&mut self, e: &ast::Expr, inner: &ast::Expr, location: ir::Location) -> ir::Expr {
        let Some(at_entry) = self.context.vars().at_entry() else {
            return refused(location);
        };
        if self.in_entry {
            return self.expr(inner);
        }
        let outer = std::mem::replace(&mut self.context, at_entry);
        self.in_entry = true;
        let value = self.expr(inner);
        self.in_entry = false;
        self.context = outer;
        let ty = self.ty(e).unwrap_or(Type::Long);
        crate::sema::vars::TargetHost::save_at_entry(self, value, ty, location)
    }
}
