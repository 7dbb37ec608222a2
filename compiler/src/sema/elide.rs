//! Pass 2's optimizer, as SystemTap's works without `-u`: code that
//! cannot matter is dropped before types are checked, so errors inside it
//! are never reported, and probes left with nothing to do are not
//! registered at all.
//!
//! Per body (a derived probe with its aliases' code, or a function),
//! repeated until nothing changes:
//!
//! 1. An assignment (`=` or `<<<`) to a local that nothing in the body
//!    reads keeps only its value: `WARNING: Eliding assignment to 'x'`,
//!    at the operator.
//! 2. An expression statement without side effects is dropped:
//!    `WARNING: Eliding side-effect-free expression`, at its first token.
//!    Then statements left empty go silently: blocks, `if`s and loops
//!    whose bodies are empty and whose other parts have no side effects,
//!    `try` with an empty body.
//!
//! Warnings come from the first round only, and only for the script's
//! own files (`-I` directories included), never the tapset library's:
//! all assignments of every body first, then all expressions, probes
//! before functions. A probe whose statements are all gone (and that has
//! no condition) is elided (`WARNING: Probe 'begin' has been elided`,
//! named by its point's first component, at `probe` or, through an alias,
//! at the point written), and functions only elided code called are left
//! out of the program.
//!
//! Without side effects means: literals, variables, array and target
//! reads, operators (`/` and `%` included: an unread quotient raises no
//! error), `sprint*`, statistics' extractors, and calls of functions
//! marked `/* pure */` in their embedded C or whose script body only
//! assigns its own locals, tests and returns such values. Observed with
//! SystemTap 5.1 (`docs/oracle/FINDINGS.md`, "p2: SystemTap's optimizer
//! elides before it checks types").

use std::collections::HashSet;

use super::Context;
use crate::diag::{Diagnostic, FileId, Span};
use crate::syntax::ast::{self, ExprKind, StmtKind};
use crate::syntax::visit::{self, Visitor};

/// What the optimizer left out of one body.
#[derive(Debug, Default, Clone)]
pub(super) struct Elision {
    /// Statements dropped (with everything inside them).
    pub stmts: HashSet<ast::NodeId>,
    /// Assignment expressions kept only as their value.
    pub assigns: HashSet<ast::NodeId>,
}

impl Elision {
    /// Whether statement `s` was dropped.
    pub fn stmt(&self, s: &ast::Stmt) -> bool {
        self.stmts.contains(&s.id)
    }

    /// Whether the assignment `e` only evaluates its value.
    pub fn assign(&self, e: &ast::Expr) -> bool {
        self.assigns.contains(&e.id)
    }
}

/// The warnings of the optimizer's first round, by kind, in order.
#[derive(Default)]
pub(super) struct Warnings {
    assigns: Vec<Diagnostic>,
    exprs: Vec<Diagnostic>,
    seen: HashSet<(String, Option<Span>)>,
}

impl Warnings {
    fn push(list: &mut Vec<Diagnostic>, seen: &mut HashSet<(String, Option<Span>)>, d: Diagnostic) {
        let span = d.primary.as_ref().map(|l| l.span);
        if seen.insert((d.message.clone(), span)) {
            list.push(d);
        }
    }

    /// All of them: assignments first, then expressions.
    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.assigns.into_iter().chain(self.exprs).collect()
    }
}

/// One body to optimize.
pub(super) struct Body<'b> {
    /// Its blocks in the order they run.
    pub blocks: Vec<&'b ast::Block>,
    /// A probe's condition (read, never elided).
    pub condition: Option<&'b ast::Expr>,
}

/// Optimizes `body` to a fixpoint; the first round's warnings for the
/// script's files go to `warnings`.
pub(super) fn optimize(cx: &Context<'_>, body: &Body<'_>, warnings: &mut Warnings) -> Elision {
    let mut out = Elision::default();
    let mut first = true;
    loop {
        let mut pass = Pass {
            cx,
            out: &mut out,
            reads: HashSet::new(),
            warn: first.then_some(&mut *warnings),
            changed: false,
        };
        pass.collect_reads(body);
        for b in &body.blocks {
            pass.dead_assignments(b);
        }
        for b in &body.blocks {
            for s in &b.stmts {
                pass.stmt(s);
            }
        }
        if !pass.changed {
            return out;
        }
        first = false;
    }
}

/// Whether every statement of `body` is gone.
pub(super) fn all_elided(body: &Body<'_>, elision: &Elision) -> bool {
    body.blocks
        .iter()
        .flat_map(|b| &b.stmts)
        .all(|s| elision.stmt(s))
}

/// The warning for an elided probe named `name` (its point's first
/// component) at `at`.
pub(super) fn probe_elided(name: &str, at: Span) -> Diagnostic {
    Diagnostic::warning(format!("Probe '{name}' has been elided"))
        .with_primary(at, "this probe does nothing SystemTap keeps (-u keeps it)")
}

/// The functions the code left after elision reaches from `roots` (each
/// body with its elision), through the functions' own elided bodies.
pub(super) fn reachable_functions(
    cx: &Context<'_>,
    roots: &[(Vec<&ast::Block>, Option<&ast::Expr>, &Elision)],
    functions: &[Elision],
) -> Vec<bool> {
    let mut reached = vec![false; cx.functions.len()];
    let mut todo: Vec<usize> = Vec::new();
    let mut calls = Calls {
        elision: &Elision::default(),
        names: Vec::new(),
    };
    for (blocks, condition, elision) in roots {
        calls.elision = elision;
        for b in blocks {
            calls.visit_block(b);
        }
        if let Some(c) = condition {
            calls.visit_expr(c);
        }
    }
    let mark = |names: &mut Vec<String>, todo: &mut Vec<usize>, reached: &mut Vec<bool>| {
        for name in names.drain(..) {
            for &f in cx.function_index.get(&name).into_iter().flatten() {
                if !std::mem::replace(&mut reached[f], true) {
                    todo.push(f);
                }
            }
        }
    };
    mark(&mut calls.names, &mut todo, &mut reached);
    while let Some(f) = todo.pop() {
        if let ast::FunctionBody::Block(b) = &cx.functions[f].def.body {
            let mut calls = Calls {
                elision: &functions[f],
                names: Vec::new(),
            };
            calls.visit_block(b);
            mark(&mut calls.names, &mut todo, &mut reached);
        }
    }
    reached
}

/// The function names called by code not elided.
struct Calls<'e> {
    elision: &'e Elision,
    names: Vec<String>,
}

impl Visitor for Calls<'_> {
    fn visit_stmt(&mut self, s: &ast::Stmt) {
        if !self.elision.stmt(s) {
            visit::walk_stmt(self, s);
        }
    }

    fn visit_expr(&mut self, e: &ast::Expr) {
        if let ExprKind::Call { name, .. } = &e.kind {
            self.names.push(name.name.clone());
        }
        visit::walk_expr(self, e);
    }
}

/// One round over one body.
struct Pass<'p, 'c, 'w> {
    cx: &'p Context<'c>,
    out: &'p mut Elision,
    /// The locals read anywhere in what is left.
    reads: HashSet<String>,
    /// Where the first round's warnings go.
    warn: Option<&'w mut Warnings>,
    changed: bool,
}

impl Pass<'_, '_, '_> {
    fn collect_reads(&mut self, body: &Body<'_>) {
        let mut reads = Reads {
            elision: self.out,
            names: HashSet::new(),
        };
        for b in &body.blocks {
            reads.visit_block(b);
        }
        if let Some(c) = body.condition {
            reads.visit_expr(c);
        }
        self.reads = reads.names;
    }

    /// Whether warnings about code in `file` are printed: the script's
    /// files, not the tapset library's.
    fn warns_in(&self, file: FileId) -> bool {
        !self.cx.library.files.iter().any(|f| f.script.file == file)
    }

    fn is_global(&self, name: &ast::Ident) -> bool {
        self.cx.global_named(&name.name, name.span.file).is_some()
    }

    /// Step 1 over `block`: assignments to locals nobody reads.
    fn dead_assignments(&mut self, block: &ast::Block) {
        let mut found = Vec::new();
        let mut dead = DeadAssigns {
            pass: self,
            found: &mut found,
        };
        dead.visit_block(block);
        for (id, name, op_span) in found {
            self.out.assigns.insert(id);
            self.changed = true;
            if self.warns_in(op_span.file) {
                if let Some(w) = self.warn.as_deref_mut() {
                    Warnings::push(
                        &mut w.assigns,
                        &mut w.seen,
                        Diagnostic::warning(format!("Eliding assignment to '{name}'"))
                            .with_primary(op_span, "nothing reads this variable (-u keeps it)"),
                    );
                }
            }
        }
    }

    /// Step 2: whether `s` is gone after this round (dropping it if it
    /// has nothing left to do).
    fn stmt(&mut self, s: &ast::Stmt) -> bool {
        if self.out.stmt(s) {
            return true;
        }
        let gone = match &s.kind {
            StmtKind::Empty => true,
            StmtKind::Expr(e) => {
                let pure = self.pure(e);
                if pure && self.warns_in(s.span.file) {
                    if let Some(w) = self.warn.as_deref_mut() {
                        let at = Span::new(s.span.file, s.span.start, s.span.start);
                        Warnings::push(
                            &mut w.exprs,
                            &mut w.seen,
                            Diagnostic::warning("Eliding side-effect-free expression ")
                                .with_primary(at, "this value is not used (-u keeps it)"),
                        );
                    }
                }
                pure
            }
            StmtKind::Block(b) => self.all_gone(&b.stmts),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                let then = self.stmt(then);
                let otherwise = otherwise.as_deref().is_none_or(|o| self.stmt(o));
                then && otherwise && self.pure(cond)
            }
            StmtKind::While { cond, body } => self.stmt(body) && self.pure(cond),
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                self.stmt(body)
                    && [init, cond, step]
                        .into_iter()
                        .flatten()
                        .all(|e| self.pure(e))
            }
            StmtKind::Foreach(f) => {
                self.stmt(&f.body) && f.limit.as_ref().is_none_or(|e| self.pure(e))
            }
            StmtKind::Try { body, catch, .. } => {
                self.all_gone(&catch.stmts);
                self.all_gone(&body.stmts)
            }
            StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Next
            | StmtKind::Return(_)
            | StmtKind::Delete(_) => false,
        };
        if gone {
            self.out.stmts.insert(s.id);
            self.changed = true;
        }
        gone
    }

    /// Step 2 over a block's statements: whether all are gone.
    fn all_gone(&mut self, stmts: &[ast::Stmt]) -> bool {
        let mut all = true;
        for s in stmts {
            all &= self.stmt(s);
        }
        all
    }

    /// Whether `e`, with the assignments elided so far, has no effect
    /// but its value.
    fn pure(&self, e: &ast::Expr) -> bool {
        Purity {
            cx: self.cx,
            elision: Some(self.out),
            visiting: &mut HashSet::new(),
        }
        .expr(e)
    }
}

/// Finds assignments to locals not in `pass.reads`.
struct DeadAssigns<'d, 'p, 'c, 'w> {
    pass: &'d Pass<'p, 'c, 'w>,
    found: &'d mut Vec<(ast::NodeId, String, Span)>,
}

impl Visitor for DeadAssigns<'_, '_, '_, '_> {
    fn visit_stmt(&mut self, s: &ast::Stmt) {
        if !self.pass.out.stmt(s) {
            visit::walk_stmt(self, s);
        }
    }

    fn visit_expr(&mut self, e: &ast::Expr) {
        if let ExprKind::Assign { op, lhs, rhs } = &e.kind {
            if let (ast::AssignOp::Assign | ast::AssignOp::Accumulate, ExprKind::Var(name)) =
                (op, &lhs.kind)
            {
                if !self.pass.out.assign(e)
                    && !self.pass.is_global(name)
                    && !self.pass.reads.contains(&name.name)
                {
                    let op_span = self.pass.cx.operator_span(lhs.span, rhs.span, op.as_str());
                    self.found.push((e.id, name.name.clone(), op_span));
                }
            }
        }
        visit::walk_expr(self, e);
    }
}

/// The variable names read by code not elided: every occurrence but the
/// target of `=` and `<<<`.
struct Reads<'e> {
    elision: &'e Elision,
    names: HashSet<String>,
}

impl Visitor for Reads<'_> {
    fn visit_stmt(&mut self, s: &ast::Stmt) {
        if !self.elision.stmt(s) {
            visit::walk_stmt(self, s);
        }
    }

    fn visit_expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ExprKind::Assign {
                op: ast::AssignOp::Assign | ast::AssignOp::Accumulate,
                lhs,
                rhs,
            } if matches!(lhs.kind, ExprKind::Var(_)) => {
                self.visit_expr(rhs);
                return;
            }
            ExprKind::Assign { rhs, .. } if self.elision.assign(e) => {
                self.visit_expr(rhs);
                return;
            }
            ExprKind::Var(name) | ExprKind::Probewrite(name) => {
                self.names.insert(name.name.clone());
            }
            _ => {}
        }
        visit::walk_expr(self, e);
    }
}

/// Side-effect analysis of expressions and function bodies.
struct Purity<'p, 'c> {
    cx: &'p Context<'c>,
    /// The body's assignments kept only as their values.
    elision: Option<&'p Elision>,
    /// Functions being looked at (a recursive call is not pure).
    visiting: &'p mut HashSet<usize>,
}

impl Purity<'_, '_> {
    fn expr(&mut self, e: &ast::Expr) -> bool {
        let mut walk = PureWalk {
            purity: self,
            pure: true,
        };
        walk.visit_expr(e);
        walk.pure
    }

    /// Whether calling `name` can have no effect but its value.
    fn function(&mut self, name: &str) -> bool {
        let Some(overloads) = self.cx.function_index.get(name) else {
            return false;
        };
        overloads
            .iter()
            .all(|&i| match &self.cx.functions[i].def.body {
                ast::FunctionBody::Embedded(code) => code.code.contains("/* pure */"),
                ast::FunctionBody::Block(b) => {
                    if !self.visiting.insert(i) {
                        return false;
                    }
                    let pure = Purity {
                        cx: self.cx,
                        elision: None,
                        visiting: self.visiting,
                    }
                    .block(b);
                    self.visiting.remove(&i);
                    pure
                }
            })
    }

    fn block(&mut self, b: &ast::Block) -> bool {
        b.stmts.iter().all(|s| self.stmt(s))
    }

    /// Whether a statement of a function body can have no effect but on
    /// the function's own locals and its result.
    fn stmt(&mut self, s: &ast::Stmt) -> bool {
        match &s.kind {
            StmtKind::Empty | StmtKind::Return(None) => true,
            StmtKind::Return(Some(v)) => self.expr(v),
            StmtKind::Block(b) => self.block(b),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond)
                    && self.stmt(then)
                    && otherwise.as_deref().is_none_or(|o| self.stmt(o))
            }
            StmtKind::Expr(e) => match &e.kind {
                ExprKind::Assign {
                    op: ast::AssignOp::Assign,
                    lhs,
                    rhs,
                } => match &lhs.kind {
                    ExprKind::Var(name) => {
                        self.cx.global_named(&name.name, name.span.file).is_none() && self.expr(rhs)
                    }
                    _ => false,
                },
                _ => self.expr(e),
            },
            _ => false,
        }
    }
}

/// Walks an expression, clearing `pure` at the first side effect.
struct PureWalk<'w, 'p, 'c> {
    purity: &'w mut Purity<'p, 'c>,
    pure: bool,
}

impl Visitor for PureWalk<'_, '_, '_> {
    fn visit_expr(&mut self, e: &ast::Expr) {
        if !self.pure {
            return;
        }
        match &e.kind {
            ExprKind::Assign { rhs, .. } if self.purity.elision.is_some_and(|el| el.assign(e)) => {
                self.visit_expr(rhs);
            }
            ExprKind::Assign { .. } | ExprKind::Crement { .. } => self.pure = false,
            ExprKind::Embedded(code) if !code.contains("/* pure */") => self.pure = false,
            ExprKind::Call { name, args } => {
                for a in args {
                    self.visit_expr(a);
                }
                if self.pure && !self.purity.function(&name.name) {
                    self.pure = false;
                }
            }
            ExprKind::Print(p)
                if !matches!(
                    p.kind,
                    ast::PrintKind::Sprint
                        | ast::PrintKind::Sprintln
                        | ast::PrintKind::Sprintf
                        | ast::PrintKind::Sprintd
                        | ast::PrintKind::Sprintdln
                ) =>
            {
                self.pure = false
            }
            // Everything else only reads: pure when its operands are.
            _ => visit::walk_expr(self, e),
        }
    }
}
