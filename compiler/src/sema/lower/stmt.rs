//! Lowering statements.

use crate::ir;
use crate::syntax::ast;

use super::location::first_operand;
use super::Lowerer;
use crate::sema::facts::VarRef;

impl Lowerer<'_, '_> {
    pub fn block(&mut self, b: &ast::Block) -> ir::Block {
        ir::Block {
            stmts: b.stmts.iter().filter_map(|s| self.stmt(s)).collect(),
        }
    }

    fn stmt_as_block(&mut self, s: &ast::Stmt) -> ir::Block {
        if self.elision.stmt(s) {
            return ir::Block::default();
        }
        match &s.kind {
            ast::StmtKind::Block(b) => self.block(b),
            _ => ir::Block {
                stmts: self.stmt(s).into_iter().collect(),
            },
        }
    }

    /// The local a name that checking created denotes.
    fn local_named(&self, name: &str) -> ir::LocalId {
        ir::LocalId(self.locals.get(name).unwrap_or(usize::MAX) as u32)
    }

    pub(crate) fn stmt(&mut self, s: &ast::Stmt) -> Option<ir::Stmt> {
        if self.elision.stmt(s) {
            return None;
        }
        let kind = match &s.kind {
            ast::StmtKind::Empty => return None,
            ast::StmtKind::Block(b) => ir::StmtKind::Block(self.block(b)),
            ast::StmtKind::Expr(e) => {
                // Statement-level errors (MAXACTION) point at the first
                // token, as SystemTap's do.
                let location = self.expr_location(first_operand(e));
                let ir = self.expr(e);
                return Some(ir::Stmt {
                    kind: ir::StmtKind::Expr(ir),
                    location,
                });
            }
            ast::StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                // `if (@defined($x))`: only the branch that applies.
                if let Some(truth) = self.facts.decided.get(s.id) {
                    let taken = if truth {
                        Some(&**then)
                    } else {
                        otherwise.as_deref()
                    };
                    let block = taken.map(|s| self.stmt_as_block(s)).unwrap_or_default();
                    return Some(ir::Stmt {
                        kind: ir::StmtKind::Block(block),
                        location: self.keyword_location(s.span, "if"),
                    });
                }
                let cond = self.expr(cond);
                let then = self.stmt_as_block(then);
                let els = otherwise.as_ref().map(|o| self.stmt_as_block(o));
                return Some(ir::Stmt {
                    kind: ir::StmtKind::If { cond, then, els },
                    location: self.keyword_location(s.span, "if"),
                });
            }
            ast::StmtKind::While { cond, body } => {
                let cond = self.expr(cond);
                let body = self.stmt_as_block(body);
                return Some(ir::Stmt {
                    kind: ir::StmtKind::While { cond, body },
                    location: self.keyword_location(s.span, "while"),
                });
            }
            ast::StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                let init = init.as_ref().map(|e| self.expr(e));
                let cond = cond.as_ref().map(|e| self.expr(e));
                let step = step.as_ref().map(|e| self.expr(e));
                let body = self.stmt_as_block(body);
                return Some(ir::Stmt {
                    kind: ir::StmtKind::For {
                        init,
                        cond,
                        step,
                        body,
                    },
                    location: self.keyword_location(s.span, "for"),
                });
            }
            ast::StmtKind::Foreach(f) => return self.foreach(f, s),
            ast::StmtKind::Break => ir::StmtKind::Break,
            ast::StmtKind::Continue => ir::StmtKind::Continue,
            ast::StmtKind::Next => ir::StmtKind::Next,
            ast::StmtKind::Return(value) => match self.function {
                Some(_) => ir::StmtKind::Return(value.as_ref().map(|e| self.expr(e))),
                None => ir::StmtKind::Next,
            },
            ast::StmtKind::Delete(e) => ir::StmtKind::Delete(self.delete(e)?),
            ast::StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                let body = self.block(body);
                let catch_var = catch_var.as_ref().map(|v| self.local_named(&v.name));
                let handler = self.block(catch);
                ir::StmtKind::Try {
                    body,
                    catch_var,
                    handler,
                }
            }
        };
        let location = self.stmt_location(s);
        Some(ir::Stmt { kind, location })
    }

    fn delete(&mut self, e: &ast::Expr) -> Option<ir::Delete> {
        match (&e.kind, self.facts.vars.get(e.id)?) {
            (ast::ExprKind::Var(_), VarRef::Local(i)) => {
                Some(ir::Delete::Local(ir::LocalId(i as u32)))
            }
            (ast::ExprKind::Var(_), VarRef::Global(g)) => {
                Some(ir::Delete::Global(ir::GlobalId(g as u32)))
            }
            (ast::ExprKind::Index { indices, .. }, VarRef::Global(g)) => {
                let keys = indices
                    .iter()
                    .map(|item| match item {
                        ast::IndexItem::Wildcard(_) => None,
                        ast::IndexItem::Expr(ke) => Some(self.expr(ke)),
                    })
                    .collect();
                Some(ir::Delete::Elements {
                    array: ir::GlobalId(g as u32),
                    keys,
                })
            }
            _ => None,
        }
    }

    fn foreach(&mut self, f: &ast::Foreach, s: &ast::Stmt) -> Option<ir::Stmt> {
        if let ast::Indexable::Hist(h) = &f.base {
            return self.foreach_buckets(f, h, s);
        }
        let Some(VarRef::Global(g)) = self.facts.vars.get(s.id) else {
            return None;
        };
        let slice = match &f.slice {
            None => Vec::new(),
            Some(items) => items
                .iter()
                .map(|item| match item {
                    ast::IndexItem::Wildcard(_) => None,
                    ast::IndexItem::Expr(ke) => Some(self.expr(ke)),
                })
                .collect(),
        };
        let keys = f.keys.iter().map(|k| self.local_named(&k.name)).collect();
        let value = f.value.as_ref().map(|v| self.local_named(&v.name));
        let sort = f.sort.map(|s| ir::Sort {
            by: match (s.column, s.aggregate) {
                (ast::SortColumn::Key(k), _) => ir::SortKey::Key(k),
                (ast::SortColumn::Value, Some(op)) => ir::SortKey::Aggregate(aggregate(op)),
                (ast::SortColumn::Value, None) => ir::SortKey::Value,
            },
            descending: s.direction == ast::SortDirection::Descending,
        });
        let limit = f.limit.as_ref().map(|l| self.expr(l));
        let body = self.stmt_as_block(&f.body);
        Some(ir::Stmt {
            kind: ir::StmtKind::Foreach(Box::new(ir::Foreach {
                array: ir::GlobalId(g as u32),
                keys,
                value,
                slice,
                sort,
                limit,
                body,
            })),
            location: self.keyword_location(s.span, "foreach"),
        })
    }
}

impl Lowerer<'_, '_> {
    /// `foreach (b in @hist_log(s))`.
    fn foreach_buckets(
        &mut self,
        f: &ast::Foreach,
        h: &ast::HistOp,
        s: &ast::Stmt,
    ) -> Option<ir::Stmt> {
        let stats = self.stats_operand(&h.stat, None)?;
        let bucket = self.local_named(&f.keys.first()?.name);
        let value = f.value.as_ref().map(|v| self.local_named(&v.name));
        let limit = f.limit.as_ref().map(|l| self.expr(l));
        let body = self.stmt_as_block(&f.body);
        Some(ir::Stmt {
            kind: ir::StmtKind::ForeachBuckets(Box::new(ir::ForeachBuckets {
                stats,
                histogram: crate::sema::check::histogram(h),
                bucket,
                value,
                limit,
                body,
            })),
            location: self.keyword_location(s.span, "foreach"),
        })
    }
}

pub(super) fn aggregate(op: ast::StatOp) -> ir::Aggregate {
    match op {
        ast::StatOp::Count => ir::Aggregate::Count,
        ast::StatOp::Sum => ir::Aggregate::Sum,
        ast::StatOp::Min => ir::Aggregate::Min,
        ast::StatOp::Max => ir::Aggregate::Max,
        ast::StatOp::Avg => ir::Aggregate::Avg,
        ast::StatOp::Variance => ir::Aggregate::Variance,
    }
}
