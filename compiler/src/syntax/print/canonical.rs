//! stapkit's canonical form: a tree back to script text that re-parses
//! to the same tree.
//!
//! One statement per line, two-space indentation, `;` after simple
//! statements, and only the parentheses precedence needs. The output is
//! itself a valid script, and **re-parsing it gives the same tree** (spans
//! aside); the fixture and fuzz tests check this on every input.
//!
//! Numbers print in decimal; an expression literal that wrapped past
//! `i64::MAX` prints as the unsigned value it was written as. Strings print
//! with `\n \t \r \" \\` escapes, other control bytes and invalid UTF-8 as
//! three-digit octal escapes.

use std::fmt::Write;

use super::{Form, Printer};
use crate::syntax::ast::*;

/// Prints one probe point as it is written (`kernel.function("f").call?`).
pub fn print_point(point: &ProbePoint) -> String {
    let mut p = Printer::new(Form::Canonical);
    p.point(point);
    p.out
}

/// Prints `script` in canonical form.
pub fn print(script: &Script) -> String {
    let mut p = Printer::new(Form::Canonical);
    for (i, item) in script.items.iter().enumerate() {
        if i > 0 {
            p.out.push('\n');
        }
        p.item(item);
    }
    p.out
}

impl Printer<'_> {
    fn item(&mut self, item: &Item) {
        match item {
            Item::Probe(p) => {
                self.out.push_str("probe ");
                self.points(&p.points);
                self.out.push(' ');
                self.block(&p.body);
            }
            Item::Alias(a) => {
                self.out.push_str("probe ");
                let op = match a.kind {
                    AliasKind::Prologue => " = ",
                    AliasKind::Epilogue => " += ",
                };
                for name in &a.names {
                    self.point(name);
                    self.out.push_str(op);
                }
                self.points(&a.points);
                self.out.push(' ');
                self.block(&a.body);
                if let Some(e) = &a.epilogue {
                    self.out.push_str(", ");
                    self.block(e);
                }
            }
            Item::Global(g) => {
                if g.private {
                    self.out.push_str("private ");
                }
                self.out.push_str("global ");
                for (i, v) in g.vars.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.global_var(v);
                }
            }
            Item::Function(f) => {
                if f.private {
                    self.out.push_str("private ");
                }
                let _ = write!(self.out, "function {}", f.name.name);
                if let Some(t) = &f.ret {
                    let _ = write!(self.out, ":{}", t.ty.as_str());
                }
                self.out.push_str(" (");
                for (i, p) in f.params.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(&p.name.name);
                    if let Some(t) = &p.ty {
                        let _ = write!(self.out, ":{}", t.ty.as_str());
                    }
                }
                self.out.push(')');
                if let Some(n) = &f.priority {
                    let _ = write!(self.out, " : {}", n.value);
                }
                self.out.push(' ');
                match &f.body {
                    FunctionBody::Block(b) => self.block(b),
                    FunctionBody::Embedded(e) => {
                        let _ = write!(self.out, "%{{{}%}}", e.code);
                    }
                }
            }
            Item::Embedded(e) => {
                let _ = write!(self.out, "%{{{}%}}", e.code);
            }
        }
        self.out.push('\n');
    }

    fn points(&mut self, points: &[ProbePoint]) {
        for (i, p) in points.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.point(p);
        }
    }

    fn point(&mut self, p: &ProbePoint) {
        for (i, c) in p.components.iter().enumerate() {
            if i > 0 {
                self.out.push('.');
            }
            match c {
                Component::Named(n) => {
                    self.out.push_str(&n.name.name);
                    if let Some(arg) = &n.arg {
                        self.out.push('(');
                        self.literal(arg);
                        self.out.push(')');
                    }
                }
                Component::Group(g) => {
                    self.out.push('{');
                    self.points(&g.alternatives);
                    self.out.push('}');
                }
            }
        }
        if p.sufficient {
            self.out.push('!');
        } else if p.optional {
            self.out.push('?');
        }
        if let Some(c) = &p.condition {
            self.out.push_str(" if (");
            self.expr(c);
            self.out.push(')');
        }
    }
}
