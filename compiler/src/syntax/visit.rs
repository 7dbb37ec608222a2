//! A read-only walk over the tree, for the stages that need to look at
//! every expression or statement without spelling out each node kind.
//!
//! Implement [`Visitor`], override the `visit_*` methods you care about,
//! and call the matching `walk_*` function inside an override to keep
//! descending:
//!
//! ```
//! use stapkit::syntax::ast::{Expr, ExprKind};
//! use stapkit::syntax::visit::{self, Visitor};
//!
//! #[derive(Default)]
//! struct Calls(Vec<String>);
//!
//! impl Visitor for Calls {
//!     fn visit_expr(&mut self, e: &Expr) {
//!         if let ExprKind::Call { name, .. } = &e.kind {
//!             self.0.push(name.name.clone());
//!         }
//!         visit::walk_expr(self, e);
//!     }
//! }
//! ```

use super::ast::*;

/// Callbacks for [`walk_script`] and friends; each defaults to walking the
/// node's children.
pub trait Visitor {
    /// A top-level item.
    fn visit_item(&mut self, item: &Item) {
        walk_item(self, item);
    }

    /// A probe point (including alias names and brace-group alternatives).
    fn visit_probe_point(&mut self, point: &ProbePoint) {
        walk_probe_point(self, point);
    }

    /// A block.
    fn visit_block(&mut self, block: &Block) {
        walk_block(self, block);
    }

    /// A statement.
    fn visit_stmt(&mut self, stmt: &Stmt) {
        walk_stmt(self, stmt);
    }

    /// An expression.
    fn visit_expr(&mut self, expr: &Expr) {
        walk_expr(self, expr);
    }

    /// A histogram operator.
    fn visit_hist(&mut self, hist: &HistOp) {
        walk_expr(self, &hist.stat);
    }
}

/// Visits every item of `script`.
pub fn walk_script<V: Visitor + ?Sized>(v: &mut V, script: &Script) {
    for item in &script.items {
        v.visit_item(item);
    }
}

/// Visits the children of `item`.
pub fn walk_item<V: Visitor + ?Sized>(v: &mut V, item: &Item) {
    match item {
        Item::Probe(p) => {
            for point in &p.points {
                v.visit_probe_point(point);
            }
            v.visit_block(&p.body);
        }
        Item::Alias(a) => {
            for point in a.names.iter().chain(&a.points) {
                v.visit_probe_point(point);
            }
            v.visit_block(&a.body);
            if let Some(e) = &a.epilogue {
                v.visit_block(e);
            }
        }
        Item::Function(f) => {
            if let FunctionBody::Block(b) = &f.body {
                v.visit_block(b);
            }
        }
        Item::Global(_) | Item::Embedded(_) => {}
    }
}

/// Visits the brace-group alternatives and the condition of `point`.
pub fn walk_probe_point<V: Visitor + ?Sized>(v: &mut V, point: &ProbePoint) {
    for c in &point.components {
        if let Component::Group(g) = c {
            for alt in &g.alternatives {
                v.visit_probe_point(alt);
            }
        }
    }
    if let Some(c) = &point.condition {
        v.visit_expr(c);
    }
}

/// Visits the statements of `block`.
pub fn walk_block<V: Visitor + ?Sized>(v: &mut V, block: &Block) {
    for s in &block.stmts {
        v.visit_stmt(s);
    }
}

/// Visits the expressions among index items (wildcards have none).
pub fn walk_index_items<V: Visitor + ?Sized>(v: &mut V, items: &[IndexItem]) {
    for item in items {
        if let IndexItem::Expr(e) = item {
            v.visit_expr(e);
        }
    }
}

fn walk_indexable<V: Visitor + ?Sized>(v: &mut V, base: &Indexable) {
    if let Indexable::Hist(h) = base {
        v.visit_hist(h);
    }
}

/// Visits the children of `stmt`.
pub fn walk_stmt<V: Visitor + ?Sized>(v: &mut V, stmt: &Stmt) {
    match &stmt.kind {
        StmtKind::Block(b) => v.visit_block(b),
        StmtKind::Empty | StmtKind::Break | StmtKind::Continue | StmtKind::Next => {}
        StmtKind::Expr(e) | StmtKind::Delete(e) => v.visit_expr(e),
        StmtKind::Return(e) => {
            if let Some(e) = e {
                v.visit_expr(e);
            }
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            v.visit_expr(cond);
            v.visit_stmt(then);
            if let Some(o) = otherwise {
                v.visit_stmt(o);
            }
        }
        StmtKind::While { cond, body } => {
            v.visit_expr(cond);
            v.visit_stmt(body);
        }
        StmtKind::For {
            init,
            cond,
            step,
            body,
        } => {
            for e in [init, cond, step].into_iter().flatten() {
                v.visit_expr(e);
            }
            v.visit_stmt(body);
        }
        StmtKind::Foreach(f) => {
            walk_indexable(v, &f.base);
            if let Some(slice) = &f.slice {
                walk_index_items(v, slice);
            }
            if let Some(l) = &f.limit {
                v.visit_expr(l);
            }
            v.visit_stmt(&f.body);
        }
        StmtKind::Try { body, catch, .. } => {
            v.visit_block(body);
            v.visit_block(catch);
        }
    }
}

/// Visits the sub-expressions of `expr`.
pub fn walk_expr<V: Visitor + ?Sized>(v: &mut V, expr: &Expr) {
    match &expr.kind {
        ExprKind::Number(_)
        | ExprKind::String(_)
        | ExprKind::Var(_)
        | ExprKind::Probewrite(_)
        | ExprKind::Const(_)
        | ExprKind::Perf(_)
        | ExprKind::Register { .. }
        | ExprKind::Embedded(_) => {}
        ExprKind::Index { base, indices } => {
            walk_indexable(v, base);
            walk_index_items(v, indices);
        }
        ExprKind::Call { args, .. } => {
            for a in args {
                v.visit_expr(a);
            }
        }
        ExprKind::Print(p) => {
            for a in &p.args {
                v.visit_expr(a);
            }
            if let Some(h) = &p.hist {
                v.visit_hist(h);
            }
        }
        ExprKind::Unary { operand, .. } | ExprKind::Crement { operand, .. } => {
            v.visit_expr(operand)
        }
        ExprKind::Binary { lhs, rhs, .. } | ExprKind::Assign { lhs, rhs, .. } => {
            v.visit_expr(lhs);
            v.visit_expr(rhs);
        }
        ExprKind::Regex { lhs, .. } => v.visit_expr(lhs),
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => {
            v.visit_expr(cond);
            v.visit_expr(then);
            v.visit_expr(otherwise);
        }
        ExprKind::In { keys, base } => {
            walk_index_items(v, keys);
            walk_indexable(v, base);
        }
        ExprKind::Stat { operand, .. } => v.visit_expr(operand),
        ExprKind::Target(t) => {
            match &t.base {
                TargetBase::Cast { operand, .. } => v.visit_expr(operand),
                TargetBase::Autocast(e) => v.visit_expr(e),
                TargetBase::Var(_) | TargetBase::AtVar { .. } => {}
            }
            for c in &t.components {
                if let TargetComponentKind::Index(e) = &c.kind {
                    v.visit_expr(e);
                }
            }
        }
        ExprKind::Entry(e) | ExprKind::Defined(e) => v.visit_expr(e),
        ExprKind::Deref { addr, .. } => v.visit_expr(addr),
    }
}
