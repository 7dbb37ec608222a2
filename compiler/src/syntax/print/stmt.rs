//! Blocks and statements, for both forms.
//!
//! The canonical form indents by two spaces, puts `;` after simple
//! statements, a block body on its header's line and any other body on
//! the next. SystemTap's form has no indentation, ends every statement of
//! a block with `;` on its own terms (`if` ends its line first), prints
//! `while` as `for (; C; )`, a missing `for` condition as `1`, and a
//! `try` block's braces twice.

use std::fmt::Write;

use super::Printer;
use crate::syntax::ast::*;

impl Printer<'_> {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    /// `{ ... }` starting at the cursor, ending after `}`.
    pub(super) fn block(&mut self, b: &Block) {
        if self.is_p1() {
            self.out.push_str("{\n");
            for s in &b.stmts {
                self.stmt(s);
                self.out.push_str(";\n");
            }
            self.out.push('}');
            return;
        }
        if b.stmts.is_empty() {
            self.out.push_str("{ }");
            return;
        }
        self.out.push('{');
        self.indent += 1;
        for s in &b.stmts {
            self.newline();
            self.stmt(s);
        }
        self.indent -= 1;
        self.newline();
        self.out.push('}');
    }

    /// The statement controlled by a header such as `if (c)`, after its
    /// `)`: in SystemTap's form after a space; in the canonical form a
    /// block on the same line, anything else indented on the next.
    /// Returns whether it was a canonical block (so `else` can follow on
    /// the same line).
    fn body(&mut self, s: &Stmt) -> bool {
        match &s.kind {
            _ if self.is_p1() => {
                self.out.push(' ');
                self.stmt(s);
                false
            }
            StmtKind::Block(b) => {
                self.out.push(' ');
                self.block(b);
                true
            }
            _ => {
                self.indent += 1;
                self.newline();
                self.stmt(s);
                self.indent -= 1;
                false
            }
        }
    }

    /// The end of a simple statement: `;` in the canonical form (in
    /// SystemTap's, the block ends each statement).
    fn end(&mut self) {
        if !self.is_p1() {
            self.out.push(';');
        }
    }

    fn word(&mut self, word: &str) {
        self.out.push_str(word);
        self.end();
    }

    pub(super) fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block(b),
            StmtKind::Empty => self.out.push(';'),
            StmtKind::Expr(e) => {
                self.expr(e);
                self.end();
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.out.push_str("if (");
                self.expr(cond);
                self.out.push(')');
                let was_block = self.body(then);
                if let Some(o) = otherwise {
                    if self.is_p1() {
                        self.out.push('\n');
                    } else if was_block {
                        self.out.push(' ');
                    } else {
                        self.newline();
                    }
                    self.out.push_str("else");
                    if let StmtKind::If { .. } = &o.kind {
                        self.out.push(' ');
                        self.stmt(o);
                    } else {
                        self.body(o);
                    }
                }
                if self.is_p1() {
                    self.out.push('\n');
                }
            }
            StmtKind::While { cond, body } => {
                let (open, close) = if self.is_p1() {
                    ("for (; ", "; )")
                } else {
                    ("while (", ")")
                };
                self.out.push_str(open);
                self.expr(cond);
                self.out.push_str(close);
                self.body(body);
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                self.out.push_str("for (");
                if let Some(e) = init {
                    self.expr(e);
                }
                self.out.push(';');
                match cond {
                    Some(e) => {
                        self.out.push(' ');
                        self.expr(e);
                    }
                    None if self.is_p1() => self.out.push_str(" 1"),
                    None => {}
                }
                self.out.push(';');
                if self.is_p1() || step.is_some() {
                    self.out.push(' ');
                }
                if let Some(e) = step {
                    self.expr(e);
                }
                self.out.push(')');
                self.body(body);
            }
            StmtKind::Foreach(f) => {
                self.foreach_header(f);
                self.out.push(')');
                self.body(&f.body);
            }
            StmtKind::Break => self.word("break"),
            StmtKind::Continue => self.word("continue"),
            StmtKind::Next => self.word("next"),
            StmtKind::Return(e) => {
                self.out.push_str("return");
                if let Some(e) = e {
                    self.out.push(' ');
                    self.expr(e);
                }
                self.end();
            }
            StmtKind::Delete(e) => {
                self.out.push_str("delete ");
                self.expr(e);
                self.end();
            }
            StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                // SystemTap's form wraps each block in braces again.
                let (open, close) = if self.is_p1() {
                    ("{\n", "\n}")
                } else {
                    ("", "")
                };
                self.out.push_str("try ");
                self.out.push_str(open);
                self.block(body);
                self.out.push_str(close);
                self.out.push_str(" catch ");
                if let Some(v) = catch_var {
                    let _ = write!(self.out, "({}) ", v.name);
                }
                self.out.push_str(open);
                self.block(catch);
                self.out.push_str(close);
                if self.is_p1() {
                    self.out.push('\n');
                }
            }
        }
    }
}
