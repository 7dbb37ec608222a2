//! Dead alias assignments. A probe alias's prologue or epilogue sets
//! locals for every probe that uses it (`saddr = ip_ntop(...)`,
//! `argstr = sprintf(...)`), and most probes read a few of them. An
//! assignment at the top level of an alias body, to a local nothing in the
//! probe reads, of a value computed without side effects, is dropped
//! before the walks: neither it nor the functions only it calls cost
//! anything per hit. SystemTap elides these as well; `-u` keeps them, and
//! listings (`-L`) keep them to report every variable's type.
//!
//! Without side effects means: literals, variables, target variables,
//! operators other than `/` and `%` (which can fail), `sprint*`, and calls
//! of functions marked `/* pure */` in their embedded C or whose script
//! body only assigns its locals, tests and returns such values.

use std::collections::{HashMap, HashSet};

use super::Context;
use crate::syntax::ast::{self, ExprKind, StmtKind};
use crate::syntax::visit::{self, Visitor};

/// How deep `return`-only script functions are followed for purity.
const MAX_PURE_DEPTH: usize = 4;

/// The statements (by id) of `aliases` to drop for a probe made of
/// `aliases`, `body` and `condition`.
pub(super) fn dead_alias_assignments(
    cx: &Context<'_>,
    aliases: &[&ast::Block],
    body: &ast::Block,
    condition: Option<&ast::Expr>,
) -> HashSet<ast::NodeId> {
    struct Candidate<'b> {
        stmt: &'b ast::Stmt,
        target: &'b str,
        reads: HashMap<String, usize>,
    }
    let mut others: HashMap<String, usize> = HashMap::new();
    let mut candidates = Vec::new();
    for block in aliases {
        for stmt in &block.stmts {
            match assignment(stmt) {
                Some((target, value))
                    if !cx.globals.iter().any(|g| g.name == target) && pure(cx, value, 0) =>
                {
                    let mut names = Names::default();
                    names.visit_expr(value);
                    candidates.push(Candidate {
                        stmt,
                        target,
                        reads: names.0,
                    });
                }
                _ => {
                    let mut names = Names(std::mem::take(&mut others));
                    names.visit_stmt(stmt);
                    others = names.0;
                }
            }
        }
    }
    let mut names = Names(others);
    names.visit_block(body);
    if let Some(c) = condition {
        names.visit_expr(c);
    }
    let others = names.0;

    let mut dead = vec![false; candidates.len()];
    loop {
        let mut live: HashMap<&str, usize> = others.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        for (c, _) in candidates.iter().zip(&dead).filter(|(_, d)| !**d) {
            for (name, n) in &c.reads {
                *live.entry(name.as_str()).or_default() += n;
            }
        }
        let mut changed = false;
        for (c, d) in candidates.iter().zip(dead.iter_mut()) {
            if !*d && !live.contains_key(c.target) {
                *d = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    candidates
        .iter()
        .zip(&dead)
        .filter(|(_, d)| **d)
        .map(|(c, _)| c.stmt.id)
        .collect()
}

/// `name = value` as a whole statement.
fn assignment(stmt: &ast::Stmt) -> Option<(&str, &ast::Expr)> {
    let StmtKind::Expr(e) = &stmt.kind else {
        return None;
    };
    let ExprKind::Assign {
        op: ast::AssignOp::Assign,
        lhs,
        rhs,
    } = &e.kind
    else {
        return None;
    };
    match &lhs.kind {
        ExprKind::Var(name) => Some((name.name.as_str(), rhs)),
        _ => None,
    }
}

/// Whether evaluating `e` can have no effect but its value.
fn pure(cx: &Context<'_>, e: &ast::Expr, depth: usize) -> bool {
    let all = |args: &[ast::Expr]| args.iter().all(|a| pure(cx, a, depth));
    match &e.kind {
        ExprKind::Number(_) | ExprKind::String(_) | ExprKind::Var(_) => true,
        ExprKind::Target(t) => {
            let base = match &t.base {
                ast::TargetBase::Cast { operand, .. } => pure(cx, operand, depth),
                ast::TargetBase::Autocast(e) => pure(cx, e, depth),
                ast::TargetBase::Var(_) | ast::TargetBase::AtVar { .. } => true,
            };
            base && t.components.iter().all(|c| match &c.kind {
                ast::TargetComponentKind::Index(e) => pure(cx, e, depth),
                _ => true,
            })
        }
        ExprKind::Unary { operand, .. } => pure(cx, operand, depth),
        ExprKind::Binary { op, lhs, rhs } => {
            !matches!(op, ast::BinaryOp::Div | ast::BinaryOp::Mod)
                && pure(cx, lhs, depth)
                && pure(cx, rhs, depth)
        }
        ExprKind::Ternary {
            cond,
            then,
            otherwise,
        } => pure(cx, cond, depth) && pure(cx, then, depth) && pure(cx, otherwise, depth),
        ExprKind::Print(p) => {
            matches!(
                p.kind,
                ast::PrintKind::Sprint
                    | ast::PrintKind::Sprintln
                    | ast::PrintKind::Sprintf
                    | ast::PrintKind::Sprintd
                    | ast::PrintKind::Sprintdln
            ) && all(&p.args)
        }
        ExprKind::Call { name, args } => all(args) && pure_function(cx, &name.name, depth),
        _ => false,
    }
}

/// Whether calling the function `name` can have no effect but its value.
fn pure_function(cx: &Context<'_>, name: &str, depth: usize) -> bool {
    let Some(overloads) = cx.function_index.get(name) else {
        return false;
    };
    overloads.iter().all(|&i| match &cx.functions[i].def.body {
        ast::FunctionBody::Embedded(code) => code.code.contains("/* pure */"),
        ast::FunctionBody::Block(b) => {
            depth < MAX_PURE_DEPTH && b.stmts.iter().all(|s| pure_stmt(cx, s, depth + 1))
        }
    })
}

/// Whether a statement of a function body can have no effect but on the
/// function's own locals and its result: `if`, `return`, blocks and
/// assignments to locals, of values without side effects.
fn pure_stmt(cx: &Context<'_>, s: &ast::Stmt, depth: usize) -> bool {
    match &s.kind {
        StmtKind::Empty | StmtKind::Return(None) => true,
        StmtKind::Return(Some(v)) => pure(cx, v, depth),
        StmtKind::Block(b) => b.stmts.iter().all(|s| pure_stmt(cx, s, depth)),
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            pure(cx, cond, depth)
                && pure_stmt(cx, then, depth)
                && otherwise.as_ref().is_none_or(|o| pure_stmt(cx, o, depth))
        }
        _ => assignment(s).is_some_and(|(target, value)| {
            !cx.globals.iter().any(|g| g.name == target) && pure(cx, value, depth)
        }),
    }
}

/// How often each variable name occurs.
#[derive(Default)]
struct Names(HashMap<String, usize>);

impl Names {
    fn add(&mut self, name: &ast::Ident) {
        *self.0.entry(name.name.clone()).or_default() += 1;
    }
}

impl Visitor for Names {
    fn visit_expr(&mut self, e: &ast::Expr) {
        match &e.kind {
            ExprKind::Var(name) | ExprKind::Probewrite(name) => self.add(name),
            _ => {}
        }
        visit::walk_expr(self, e);
    }

    fn visit_stmt(&mut self, s: &ast::Stmt) {
        match &s.kind {
            StmtKind::Foreach(f) => {
                for name in f.value.iter().chain(&f.keys) {
                    self.add(name);
                }
            }
            StmtKind::Try {
                catch_var: Some(name),
                ..
            } => self.add(name),
            _ => {}
        }
        visit::walk_stmt(self, s);
    }
}
