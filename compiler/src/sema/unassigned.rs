//! SystemTap's never-assigned warnings, found as it finds them: while it
//! resolves symbols, before pass 2's optimizer drops anything
//! ([`super::elide`]), so a variable read only in code that is elided
//! later is still reported (`y = z`: `never-assigned local variable 'z'`,
//! then `Eliding assignment to 'y'`).
//!
//! ```text
//! WARNING: never-assigned local variable 'totl' (similar: total): ...
//! WARNING: never-assigned global variable 'count' (similar: count, counter): ...
//! ```
//!
//! Locals are reported per body (a probe with its aliases' code, then each
//! function a probe reaches), at their first appearance, with the body's
//! other locals and the program's globals as candidates; then globals of
//! the script's own files, at their declaration, in the order the bodies
//! first name them, with the globals the program uses (itself included)
//! as candidates; a global declared with a value has one. Nothing is
//! reported once a probe point failed to resolve, as SystemTap resolves
//! points first. Observed with SystemTap 5.1 (`tests/oracle/warnings.stp`,
//! FINDINGS.md, "Pass 2's warnings, as `stap` prints them").

use std::collections::HashSet;

use super::Context;
use crate::diag::{Diagnostic, FileId, Span};
use crate::syntax::ast::{self, ExprKind, Indexable, StmtKind};
use crate::syntax::visit::{self, Visitor};

/// One body to look at: its blocks and its parameters (assigned).
pub(super) struct Body<'b> {
    pub blocks: Vec<&'b ast::Block>,
    pub condition: Option<&'b ast::Expr>,
    pub params: Vec<&'b ast::Ident>,
}

/// What one body does with a name.
struct Local {
    name: String,
    first: Span,
    assigned: bool,
}

/// The warnings for `probes` and then `functions`, locals first.
pub(super) fn warnings(
    cx: &Context<'_>,
    probes: &[Body<'_>],
    functions: &[Body<'_>],
) -> Vec<Diagnostic> {
    let mut globals = Globals::default();
    let mut bodies = Vec::new();
    for body in probes.iter().chain(functions) {
        let mut walk = Walk {
            cx,
            locals: body
                .params
                .iter()
                .map(|p| Local {
                    name: p.name.clone(),
                    first: p.span,
                    assigned: true,
                })
                .collect(),
            globals: &mut globals,
        };
        if let Some(c) = body.condition {
            walk.visit_expr(c);
        }
        for b in &body.blocks {
            walk.visit_block(b);
        }
        bodies.push(walk.locals);
    }
    let used: Vec<&str> = globals
        .order
        .iter()
        .map(|&g| cx.globals[g].name.as_str())
        .collect();
    let mut out = Vec::new();
    for locals in &bodies {
        for v in locals.iter().filter(|v| !v.assigned) {
            if !warns_in(cx, v.first.file) {
                continue;
            }
            let others = locals
                .iter()
                .map(|o| o.name.as_str())
                .filter(|o| *o != v.name)
                .chain(used.iter().copied());
            let similar = crate::text::similar::systemtap_list(&v.name, others);
            out.push(
                Diagnostic::warning(format!(
                    "never-assigned local variable '{}'{similar}",
                    v.name
                ))
                .with_primary(v.first, "read here, but never given a value"),
            );
        }
    }
    for &g in &globals.order {
        let global = &cx.globals[g];
        let at = global.decl.name.span;
        // A global declared with a value (`global n = 7`) has one.
        if !globals.read.contains(&g)
            || globals.written.contains(&g)
            || global.decl.init.is_some()
            || !warns_in(cx, at.file)
        {
            continue;
        }
        let similar = crate::text::similar::systemtap_list(&global.name, used.iter().copied());
        out.push(
            Diagnostic::warning(format!(
                "never-assigned global variable '{}'{similar}",
                global.name
            ))
            .with_primary(at, "read, but never given a value"),
        );
    }
    out
}

/// Whether warnings about `file` are printed: the script's files, not
/// the tapset library's.
fn warns_in(cx: &Context<'_>, file: FileId) -> bool {
    !cx.library.files.iter().any(|f| f.script.file == file)
}

/// The globals the bodies name, in order, and what they do with them.
#[derive(Default)]
struct Globals {
    order: Vec<usize>,
    read: HashSet<usize>,
    written: HashSet<usize>,
}

impl Globals {
    fn note(&mut self, g: usize, write: bool) {
        // First named now: in neither set yet (a set lookup, so that a
        // script naming many globals stays linear).
        if !self.read.contains(&g) && !self.written.contains(&g) {
            self.order.push(g);
        }
        if write {
            self.written.insert(g);
        } else {
            self.read.insert(g);
        }
    }
}

struct Walk<'w, 'c> {
    cx: &'w Context<'c>,
    locals: Vec<Local>,
    globals: &'w mut Globals,
}

impl Walk<'_, '_> {
    /// A name read (`write` false) or given a value.
    fn name(&mut self, ident: &ast::Ident, write: bool) {
        if ident.name.starts_with('$') || ident.name.starts_with('@') {
            return;
        }
        if let Some(g) = self.cx.global_named(&ident.name, ident.span.file) {
            self.globals.note(g, write);
            return;
        }
        match self.locals.iter_mut().find(|l| l.name == ident.name) {
            Some(l) => l.assigned |= write,
            None => self.locals.push(Local {
                name: ident.name.clone(),
                first: ident.span,
                assigned: write,
            }),
        }
    }

    fn base(&mut self, base: &Indexable, write: bool) {
        if let Indexable::Var(v) = base {
            self.name(v, write);
        }
    }

    /// The target of an assignment, `++`/`--` or `delete`.
    fn target(&mut self, e: &ast::Expr, read_too: bool) {
        match &e.kind {
            ExprKind::Var(v) => {
                if read_too {
                    self.name(v, false);
                }
                self.name(v, true);
            }
            ExprKind::Index { base, indices } => {
                if read_too {
                    self.base(base, false);
                }
                self.base(base, true);
                for i in indices {
                    visit::walk_index_items(self, std::slice::from_ref(i));
                }
            }
            _ => self.visit_expr(e),
        }
    }
}

impl Visitor for Walk<'_, '_> {
    fn visit_stmt(&mut self, s: &ast::Stmt) {
        match &s.kind {
            StmtKind::Delete(e) => self.target(e, false),
            StmtKind::Foreach(f) => {
                for k in f.value.iter().chain(&f.keys) {
                    self.name(k, true);
                }
                self.base(&f.base, false);
                visit::walk_stmt(self, s);
            }
            StmtKind::Try { catch_var, .. } => {
                if let Some(v) = catch_var {
                    self.name(v, true);
                }
                visit::walk_stmt(self, s);
            }
            _ => visit::walk_stmt(self, s),
        }
    }

    fn visit_expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ExprKind::Var(v) => self.name(v, false),
            ExprKind::Assign { op, lhs, rhs } => {
                self.visit_expr(rhs);
                self.target(
                    lhs,
                    !matches!(op, ast::AssignOp::Assign | ast::AssignOp::Accumulate),
                );
            }
            ExprKind::Crement { operand, .. } => self.target(operand, true),
            ExprKind::Index { base, .. } | ExprKind::In { base, .. } => {
                self.base(base, false);
                visit::walk_expr(self, e);
            }
            _ => visit::walk_expr(self, e),
        }
    }
}
