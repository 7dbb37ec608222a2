//! Which globals each probe touches, and how: a probe takes every lock its
//! body and the functions it calls (transitively) need, in index order,
//! before it runs — a write lock where anything may change the global.

use std::collections::BTreeMap;

use crate::ir::*;

/// How a probe uses one global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads it.
    Read,
    /// May change it.
    Write,
}

/// Globals used, by id, with the strongest access.
pub type Uses = BTreeMap<GlobalId, Access>;

/// The globals each probe needs locked, in probe order.
pub fn probe_locks(program: &Program) -> Vec<Uses> {
    let direct: Vec<(Uses, Vec<FunctionId>)> = program
        .functions
        .iter()
        .map(|f| {
            let mut v = Visitor::new(program);
            if let FunctionBody::Script(body) = &f.body {
                v.block(body);
            }
            (v.uses, v.calls)
        })
        .collect();
    program
        .probes
        .iter()
        .map(|p| {
            let mut v = Visitor::new(program);
            if let Some(cond) = &p.condition {
                v.expr(cond);
            }
            // The entry handler takes the same locks as the body.
            p.entry.iter().for_each(|e| v.expr(e));
            v.block(&p.body);
            let mut uses = v.uses;
            let mut seen = vec![false; program.functions.len()];
            let mut todo = v.calls;
            while let Some(f) = todo.pop() {
                let i = f.0 as usize;
                if std::mem::replace(&mut seen[i], true) {
                    continue;
                }
                for (&g, &a) in &direct[i].0 {
                    merge(&mut uses, g, a);
                }
                todo.extend(direct[i].1.iter().copied());
            }
            uses
        })
        .collect()
}

fn merge(uses: &mut Uses, g: GlobalId, a: Access) {
    let e = uses.entry(g).or_insert(a);
    if a == Access::Write {
        *e = Access::Write;
    }
}

/// The script expressions inside a target access (a cast's value, indices).
pub(super) fn target_exprs(t: &TargetAccess) -> impl Iterator<Item = &Expr> {
    let base = match &t.base {
        TargetBase::Value(e) => Some(&**e),
        _ => None,
    };
    base.into_iter()
        .chain(t.steps.iter().filter_map(|s| match s {
            TargetStep::Index { index, .. } => Some(&**index),
            _ => None,
        }))
}

struct Visitor<'p> {
    program: &'p Program,
    uses: Uses,
    calls: Vec<FunctionId>,
}

impl<'p> Visitor<'p> {
    fn new(program: &'p Program) -> Self {
        Visitor {
            program,
            uses: Uses::new(),
            calls: Vec::new(),
        }
    }

    fn kind_of(&self, g: GlobalId) -> Option<&'p GlobalKind> {
        self.program.globals.get(g.0 as usize).map(|g| &g.kind)
    }

    fn block(&mut self, b: &Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Block(b) => self.block(b),
            StmtKind::If { cond, then, els } => {
                self.expr(cond);
                self.block(then);
                if let Some(e) = els {
                    self.block(e);
                }
            }
            StmtKind::While { cond, body } => {
                self.expr(cond);
                self.block(body);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                for e in [init, cond, step].into_iter().flatten() {
                    self.expr(e);
                }
                self.block(body);
            }
            StmtKind::Foreach(f) => {
                // Sorting reorders the array in place and statistics arrays
                // are merged before iterating: both need the writer's lock.
                let stats = matches!(self.kind_of(f.array), Some(GlobalKind::Array(a)) if a.value == Type::Stats);
                let access = if f.sort.is_some() || stats {
                    Access::Write
                } else {
                    Access::Read
                };
                merge(&mut self.uses, f.array, access);
                f.slice.iter().flatten().for_each(|k| self.expr(k));
                if let Some(l) = &f.limit {
                    self.expr(l);
                }
                self.block(&f.body);
            }
            StmtKind::ForeachBuckets(f) => {
                // The histogram is read from the merged per-CPU copies.
                self.lvalue(&f.stats, Access::Write);
                if let Some(l) = &f.limit {
                    self.expr(l);
                }
                self.block(&f.body);
            }
            StmtKind::Return(Some(e)) => self.expr(e),
            StmtKind::Delete(Delete::Global(g)) => merge(&mut self.uses, *g, Access::Write),
            StmtKind::Delete(Delete::Elements { array, keys }) => {
                merge(&mut self.uses, *array, Access::Write);
                keys.iter().flatten().for_each(|k| self.expr(k));
            }
            StmtKind::Try { body, handler, .. } => {
                self.block(body);
                self.block(handler);
            }
            StmtKind::Return(None)
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Next
            | StmtKind::Delete(Delete::Local(_)) => {}
        }
    }

    fn lvalue(&mut self, lv: &LValue, access: Access) {
        match lv {
            LValue::Local(_) | LValue::ProbeText => {}
            LValue::Global(g) => merge(&mut self.uses, *g, access),
            LValue::Index { array, keys, .. } => {
                merge(&mut self.uses, *array, access);
                keys.iter().for_each(|k| self.expr(k));
            }
            LValue::Target(t) => target_exprs(t).for_each(|e| self.expr(e)),
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Long(_)
            | ExprKind::Str(_)
            | ExprKind::Local(_)
            | ExprKind::EntrySlot(_)
            | ExprKind::ProbeText
            | ExprKind::PerfCounter(_)
            | ExprKind::EmbeddedC(_) => {}
            ExprKind::Global(g) => merge(&mut self.uses, *g, Access::Read),
            ExprKind::Index { array, keys } | ExprKind::In { array, keys, .. } => {
                let stats = matches!(self.kind_of(*array), Some(GlobalKind::Array(a)) if a.value == Type::Stats);
                merge(
                    &mut self.uses,
                    *array,
                    if stats { Access::Write } else { Access::Read },
                );
                keys.iter().for_each(|k| self.expr(k));
            }
            ExprKind::Unary { operand, .. } => self.expr(operand),
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::Compare { lhs, rhs, .. }
            | ExprKind::Logical { lhs, rhs, .. }
            | ExprKind::Concat(lhs, rhs) => {
                self.expr(lhs);
                self.expr(rhs);
            }
            ExprKind::Ternary { cond, then, els } => {
                self.expr(cond);
                self.expr(then);
                self.expr(els);
            }
            ExprKind::Assign { target, value, .. } => {
                self.lvalue(target, Access::Write);
                self.expr(value);
            }
            // Statistics accumulate into per-CPU copies: adding only reads
            // the shared state.
            ExprKind::StatAdd { target, value } => {
                self.lvalue(target, Access::Read);
                self.expr(value);
            }
            ExprKind::IncDec { target, .. } => self.lvalue(target, Access::Write),
            // Reading an aggregate folds per-CPU data: it needs the writer's lock.
            ExprKind::Aggregate { stats, .. } | ExprKind::Histogram { stats, .. } => {
                self.lvalue(stats, Access::Write)
            }
            ExprKind::HistBucket { stats, bucket, .. } => {
                self.lvalue(stats, Access::Write);
                self.expr(bucket);
            }
            ExprKind::Regex { subject, .. } => self.expr(subject),
            ExprKind::Call { function, args } => {
                self.calls.push(*function);
                args.iter().for_each(|a| self.expr(a));
            }
            ExprKind::Print { args, .. } | ExprKind::Printf { args, .. } => {
                args.iter().for_each(|a| self.expr(a))
            }
            ExprKind::Target(t) => target_exprs(t).for_each(|e| self.expr(e)),
        }
    }
}
