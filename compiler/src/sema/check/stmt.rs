//! Checking statements: conditions, loops, `return`, `next`, `delete`,
//! `foreach` and `try`.

use crate::diag::{Diagnostic, Span};
use crate::ir::Type;
use crate::syntax::ast;

use super::{Checker, SlotRef, VarRef};
use crate::sema::target;

impl Checker<'_, '_> {
    pub fn block(&mut self, b: &ast::Block) {
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    /// A condition: a number.
    pub(super) fn cond(&mut self, e: &ast::Expr) {
        let ty = self.expr(e, Some(Type::Long));
        if let Some(t) = ty.filter(|t| *t != Type::Long) {
            self.error(
                Diagnostic::semantic_error(format!("condition must be a number, not a {t}"))
                    .with_primary(e.span, format!("this is a {t}")),
            );
        }
    }

    /// The branch `@defined` decides for condition `e` of the `if` or `?:`
    /// at node `at`, if it does (recorded for lowering).
    pub(super) fn decided(&mut self, e: &ast::Expr, at: ast::NodeId) -> Option<bool> {
        let truth = target::static_truth(e, &mut |node, inner| self.defined(node, inner))?;
        if self.report {
            self.facts.decided.insert(at, truth);
        }
        Some(truth)
    }

    /// `@defined(inner)` at node `node`: recorded for lowering.
    pub(super) fn defined(&mut self, node: &ast::Expr, inner: &ast::Expr) -> bool {
        let probe = self.context.clone();
        let truth = target::defined(self, &probe, inner);
        if self.report {
            self.facts.constants.insert(node.id, truth as i64);
        }
        truth
    }

    pub(crate) fn stmt(&mut self, s: &ast::Stmt) {
        if self.elision.stmt(s) {
            return;
        }
        match &s.kind {
            ast::StmtKind::Empty => {}
            ast::StmtKind::Block(b) => self.block(b),
            ast::StmtKind::Expr(e) => {
                self.value_discarded = matches!(e.kind, ast::ExprKind::Crement { .. });
                self.expr(e, None);
                self.value_discarded = false;
            }
            ast::StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                // `if (@defined($x))`: only the branch that applies is
                // checked, so the other may name what does not exist.
                if let Some(truth) = self.decided(cond, s.id) {
                    let taken = if truth {
                        Some(&**then)
                    } else {
                        otherwise.as_deref()
                    };
                    if let Some(taken) = taken {
                        self.stmt(taken);
                    }
                    return;
                }
                self.cond(cond);
                self.stmt(then);
                if let Some(o) = otherwise {
                    self.stmt(o);
                }
            }
            ast::StmtKind::While { cond, body } => {
                self.cond(cond);
                self.loops += 1;
                self.stmt(body);
                self.loops -= 1;
            }
            ast::StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                if let Some(e) = init {
                    self.expr(e, None);
                }
                if let Some(e) = cond {
                    self.cond(e);
                }
                if let Some(e) = step {
                    self.expr(e, None);
                }
                self.loops += 1;
                self.stmt(body);
                self.loops -= 1;
            }
            ast::StmtKind::Foreach(f) => self.foreach(f, s.id),
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(s.kind, ast::StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                if self.loops == 0 {
                    self.error(
                        Diagnostic::semantic_error(format!("'{word}' outside a loop"))
                            .with_primary(s.span, "not inside while, for or foreach"),
                    );
                }
            }
            ast::StmtKind::Next => {
                if self.function.is_some() {
                    self.error(
                        Diagnostic::semantic_error("'next' is only allowed in probe handlers")
                            .with_primary(s.span, "inside a function")
                            .with_help("use 'return' to leave a function"),
                    );
                }
            }
            ast::StmtKind::Return(value) => self.return_stmt(value.as_ref(), s.span),
            ast::StmtKind::Delete(e) => self.delete(e),
            ast::StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                self.block(body);
                if let Some(v) = catch_var {
                    let i = self.local(&v.name, v.span);
                    self.locals.vars[i].assigned = true;
                    self.unify(
                        SlotRef::Local(i),
                        Type::String,
                        v.span,
                        &format!("'{}'", v.name),
                    );
                }
                self.block(catch);
            }
        }
    }

    fn return_stmt(&mut self, value: Option<&ast::Expr>, span: Span) {
        let Some(f) = self.function else {
            self.error(
                Diagnostic::semantic_error("'return' outside a function")
                    .with_primary(span, "probe handlers end with 'next'")
                    .with_help("use 'next' to leave a probe handler early"),
            );
            return;
        };
        let Some(e) = value else {
            // A bare `return` gives no value: in a function that returns
            // one elsewhere, SystemTap refuses it in pass 2 (`type
            // mismatch (unknown)`).
            let slot = self.slot(SlotRef::Return(f));
            if let Some(t) = slot.ty {
                let name = self.cx.functions[f].def.name.name.clone();
                let mut d = Diagnostic::semantic_error(format!(
                    "type mismatch for the return value of '{name}': this 'return' gives no value, \
                     but the function returns a {t}"
                ))
                .with_primary(span, "returns no value");
                if let Some(prev) = slot.decided_at {
                    d = d.with_secondary(prev, format!("{t} because of this"));
                }
                self.error(d);
            }
            return;
        };
        self.cx.functions[f].returns_value = true;
        let expect = self.return_type(f);
        let ty = self.expr(e, expect);
        let name = self.cx.functions[f].def.name.name.clone();
        match ty {
            Some(Type::Stats) => self.error(
                Diagnostic::semantic_error("a function cannot return statistics")
                    .with_primary(e.span, "this is a statistics value"),
            ),
            Some(t) => self.unify(
                SlotRef::Return(f),
                t,
                e.span,
                &format!("the return value of '{name}'"),
            ),
            None => {}
        }
    }

    fn delete(&mut self, e: &ast::Expr) {
        match &e.kind {
            ast::ExprKind::Var(v) => match self.resolve_var(v) {
                Some(VarRef::Local(i)) => self.record_var(e.id, VarRef::Local(i)),
                Some(VarRef::Global(g)) => {
                    self.record_var(e.id, VarRef::Global(g));
                    self.check_not_iterating(g, e.span);
                    self.cx.mark_written(g, e.span);
                }
                None => {}
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let Some(g) = self.array_global(v, indices.len()) else {
                    return;
                };
                self.record_var(e.id, VarRef::Global(g));
                self.check_not_iterating(g, e.span);
                self.cx.mark_written(g, e.span);
                for (k, item) in indices.iter().enumerate() {
                    if let ast::IndexItem::Expr(ke) = item {
                        self.key_expr(g, k, ke);
                    }
                }
            }
            _ => {
                self.error(
                    Diagnostic::semantic_error("'delete' needs a variable or an array element")
                        .with_primary(e.span, "cannot delete this"),
                );
            }
        }
    }

    fn foreach(&mut self, f: &ast::Foreach, id: ast::NodeId) {
        let array = match &f.base {
            ast::Indexable::Var(array) => array,
            ast::Indexable::Hist(h) => return self.foreach_buckets(f, h, id),
        };
        let Some(g) = self.array_global(array, f.keys.len()) else {
            return;
        };
        self.record_var(id, VarRef::Global(g));
        self.cx.globals[g].read = true;
        if let Some(items) = &f.slice {
            if items.len() != f.keys.len() {
                self.error(
                    Diagnostic::semantic_error(format!(
                        "inconsistent arity: the slice of '{}' has {} key(s) but the loop binds {}",
                        array.name,
                        items.len(),
                        f.keys.len()
                    ))
                    .with_primary(array.span, "the array sliced")
                    .with_help("give one key or '*' per key variable"),
                );
                return;
            }
            for (k, item) in items.iter().enumerate() {
                if let ast::IndexItem::Expr(ke) = item {
                    self.key_expr(g, k, ke);
                }
            }
        }
        for (k, key) in f.keys.iter().enumerate() {
            let i = self.local(&key.name, key.span);
            self.locals.vars[i].assigned = true;
            self.link(
                SlotRef::Local(i),
                SlotRef::GlobalKey(g, k),
                key.span,
                &format!("'{}'", key.name),
            );
        }
        if let Some(v) = &f.value {
            let i = self.local(&v.name, v.span);
            self.locals.vars[i].assigned = true;
            if self.global_type(g) == Some(Type::Stats) {
                self.error(
                    Diagnostic::semantic_error(
                        "the value of a statistics array cannot be assigned to a variable",
                    )
                    .with_primary(
                        v.span,
                        "use @count(array[key]) and friends in the loop instead",
                    ),
                );
            } else {
                self.link(
                    SlotRef::Local(i),
                    SlotRef::GlobalValue(g),
                    v.span,
                    &format!("'{}'", v.name),
                );
            }
        }
        if let Some(l) = &f.limit {
            self.cond(l);
        }
        self.loops += 1;
        self.iterating.push((g, array.span));
        self.stmt(&f.body);
        self.iterating.pop();
        self.loops -= 1;
    }

    /// `foreach (v = b in @hist_log(s))`: `b` takes each bucket's number,
    /// `v` its count.
    fn foreach_buckets(&mut self, f: &ast::Foreach, h: &ast::HistOp, id: ast::NodeId) {
        let Some(g) = self.hist_operand(h) else {
            return;
        };
        self.record_var(id, VarRef::Global(g));
        if f.keys.len() != 1 {
            self.error(
                Diagnostic::semantic_error(format!(
                    "a histogram's buckets have one index, but the loop binds {}",
                    f.keys.len()
                ))
                .with_primary(h.span, "a histogram"),
            );
        }
        // SystemTap 5.1 takes a slice (`@hist_log(s)[1]`) and a sort order
        // here and walks every bucket in order all the same.
        for item in f.slice.iter().flatten() {
            if let ast::IndexItem::Expr(e) = item {
                self.expr(e, None);
            }
        }
        for key in &f.keys {
            let i = self.local(&key.name, key.span);
            self.locals.vars[i].assigned = true;
            self.unify(
                SlotRef::Local(i),
                Type::Long,
                key.span,
                &format!("'{}'", key.name),
            );
        }
        if let Some(v) = &f.value {
            let i = self.local(&v.name, v.span);
            self.locals.vars[i].assigned = true;
            self.unify(
                SlotRef::Local(i),
                Type::Long,
                v.span,
                &format!("'{}'", v.name),
            );
        }
        if let Some(l) = &f.limit {
            self.cond(l);
        }
        self.loops += 1;
        self.stmt(&f.body);
        self.loops -= 1;
    }
}
