//! Expressions and their parts (indexes, histograms, target expressions),
//! for both forms.
//!
//! The forms differ in parentheses ([`Printer::operand`]: only where
//! precedence needs them, or around every operand), numbers (unsigned as
//! written, or signed), strings ([`Printer::string`]), spacing of `?:`,
//! embedded C and `$`/`->$` pretty-printing, and a single `in` key.

use std::fmt::Write;

use super::{expr_prec, prec, Form, Printer};
use crate::syntax::ast::*;

impl Printer<'_> {
    /// An operand of an operator that must bind at least as tightly as
    /// `min`: parenthesized where needed, or always in SystemTap's form.
    pub(super) fn operand(&mut self, e: &Expr, min: u8) {
        if self.is_p1() || expr_prec(e) < min {
            self.out.push('(');
            self.expr(e);
            self.out.push(')');
        } else {
            self.expr(e);
        }
    }

    /// An expression where any expression may stand (an argument, a
    /// condition, a statement), without parentheses of its own.
    pub(super) fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Number(n) => {
                let _ = match self.form {
                    // A literal that wrapped past i64::MAX was written unsigned.
                    Form::Canonical => write!(self.out, "{}", *n as u64),
                    Form::SystemTap(_) => write!(self.out, "{n}"),
                };
            }
            ExprKind::String(s) => {
                let text = self.string(s, e.span);
                self.out.push_str(&text);
            }
            ExprKind::Var(v) => self.out.push_str(&v.name),
            ExprKind::Index { base, indices } => {
                self.indexable(base);
                self.index_items(indices);
            }
            ExprKind::Call { name, args } => {
                let _ = write!(self.out, "{}(", name.name);
                self.args(args);
                self.out.push(')');
            }
            ExprKind::Print(p) => self.print_call(p),
            ExprKind::Unary { op, operand } => {
                self.out.push_str(op.as_str());
                let start = self.out.len();
                self.operand(operand, prec::UNARY);
                // `- -x` must not print as `--x`.
                let glue = matches!(
                    (op, self.out[start..].chars().next()),
                    (UnaryOp::Neg, Some('-'))
                        | (UnaryOp::Plus, Some('+'))
                        | (UnaryOp::Not, Some('~'))
                );
                if glue {
                    self.out.insert(start, ' ');
                }
            }
            ExprKind::Crement { op, fix, operand } => match fix {
                Fix::Prefix => {
                    self.out.push_str(op.as_str());
                    self.operand(operand, prec::TARGET);
                }
                Fix::Postfix => {
                    self.operand(operand, prec::TARGET);
                    self.out.push_str(op.as_str());
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let p = expr_prec(e);
                if op.is_comparison() && matches!(lhs.kind, ExprKind::Regex { .. }) {
                    self.out.push('(');
                    self.expr(lhs);
                    self.out.push(')');
                } else {
                    self.operand(lhs, p);
                }
                let _ = write!(self.out, " {} ", op.as_str());
                self.operand(rhs, p + 1);
            }
            ExprKind::Regex {
                negated,
                lhs,
                pattern,
            } => {
                self.operand(lhs, prec::SHIFT);
                self.out.push_str(if *negated { " !~ " } else { " =~ " });
                let text = self.string(&pattern.value, pattern.span);
                self.out.push_str(&text);
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                let (question, colon) = match self.form {
                    Form::Canonical => (" ? ", " : "),
                    Form::SystemTap(_) => ("?", ":"),
                };
                self.operand(cond, prec::BINARY_OFFSET + 1);
                self.out.push_str(question);
                self.operand(then, prec::ASSIGN);
                self.out.push_str(colon);
                self.operand(otherwise, prec::TERNARY);
            }
            ExprKind::Assign { op, lhs, rhs } => {
                self.operand(lhs, prec::TERNARY);
                let _ = write!(self.out, " {} ", op.as_str());
                self.operand(rhs, prec::ASSIGN);
            }
            ExprKind::In { keys, base } => {
                match keys.as_slice() {
                    [IndexItem::Expr(k)] if !self.is_p1() => self.operand(k, prec::COMPARE),
                    _ => self.index_items(keys),
                }
                self.out.push_str(" in ");
                self.indexable(base);
            }
            ExprKind::Stat { op, operand, param } => {
                let _ = write!(self.out, "@{}(", op.name());
                self.expr(operand);
                if let Some(p) = param {
                    let _ = write!(self.out, ", {}", p.value);
                }
                self.out.push(')');
            }
            ExprKind::Target(t) => self.target(t),
            ExprKind::Entry(inner) => self.wrapped("@entry", inner),
            ExprKind::Defined(inner) => self.wrapped("@defined", inner),
            ExprKind::Probewrite(v) => {
                let _ = write!(self.out, "@probewrite({})", v.name);
            }
            // SystemTap's pass 1 turns `@const("X")` into embedded C.
            ExprKind::Const(s) => match self.form {
                Form::Canonical => {
                    let text = self.string(&s.value, s.span);
                    let _ = write!(self.out, "@const({text})");
                }
                Form::SystemTap(_) => {
                    let _ = write!(
                        self.out,
                        "%{{ /* pure */ /* unprivileged */ /* stable */ {} %}}",
                        String::from_utf8_lossy(&s.value)
                    );
                }
            },
            ExprKind::Perf(s) => {
                let text = self.string(&s.value, s.span);
                let _ = write!(self.out, "@perf({text})");
            }
            ExprKind::Register { user, number } => {
                let _ = write!(
                    self.out,
                    "@{}register({})",
                    if *user { 'u' } else { 'k' },
                    number.value
                );
            }
            ExprKind::Deref { user, size, addr } => {
                let _ = write!(
                    self.out,
                    "@{}deref({}, ",
                    if *user { 'u' } else { 'k' },
                    size.value
                );
                self.expr(addr);
                self.out.push(')');
            }
            ExprKind::Embedded(code) => {
                let _ = match self.form {
                    Form::Canonical => write!(self.out, "%{{{code}%}}"),
                    Form::SystemTap(_) => write!(self.out, "%{{ {code} %}}"),
                };
            }
        }
    }

    /// `printf(...)` and its kin.
    fn print_call(&mut self, p: &PrintCall) {
        let _ = write!(self.out, "{}(", p.kind.name());
        let mut first = true;
        if let Some(f) = &p.format {
            let mut text = self.string(&f.value, f.span);
            if self.is_p1() && matches!(p.kind, PrintKind::Printf | PrintKind::Sprintf) {
                // SystemTap doubles a format's backslashes; quotes stay
                // escaped once.
                let inner = text[1..text.len() - 1]
                    .replace("\\\"", "\"")
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"");
                text = format!("\"{inner}\"");
            }
            self.out.push_str(&text);
            first = false;
        }
        if let Some(h) = &p.hist {
            self.hist(h);
            first = false;
        }
        for a in &p.args {
            if !first {
                self.out.push_str(", ");
            }
            first = false;
            self.expr(a);
        }
        self.out.push(')');
    }

    pub(super) fn indexable(&mut self, i: &Indexable) {
        match i {
            Indexable::Var(v) => self.out.push_str(&v.name),
            Indexable::Hist(h) => self.hist(h),
        }
    }

    fn hist(&mut self, h: &HistOp) {
        match h.kind {
            HistKind::Linear { low, high, step } => {
                self.out.push_str("@hist_linear(");
                self.expr(&h.stat);
                let _ = write!(self.out, ", {low}, {high}, {step})");
            }
            HistKind::Log => {
                self.out.push_str("@hist_log(");
                self.expr(&h.stat);
                self.out.push(')');
            }
        }
    }

    pub(super) fn index_items(&mut self, items: &[IndexItem]) {
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            match item {
                IndexItem::Expr(e) => self.expr(e),
                IndexItem::Wildcard(_) => self.out.push('*'),
            }
        }
        self.out.push(']');
    }

    fn args(&mut self, args: &[Expr]) {
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(a);
        }
    }

    fn wrapped(&mut self, name: &str, inner: &Expr) {
        self.out.push_str(name);
        self.out.push('(');
        self.expr(inner);
        self.out.push(')');
    }

    fn target(&mut self, t: &TargetExpr) {
        if t.address_of {
            self.out.push('&');
        }
        let first = t.components.first().map(|c| &c.kind);
        match &t.base {
            TargetBase::Var(v) => {
                self.out.push_str(&v.name);
                // `$$$` followed by `$` would lex as one name (SystemTap's
                // form writes `->$`).
                if !self.is_p1()
                    && v.name.chars().all(|c| c == '$')
                    && matches!(first, Some(TargetComponentKind::Pretty { .. }))
                {
                    self.out.push(' ');
                }
            }
            TargetBase::Cast {
                operand,
                type_name,
                module,
            } => {
                self.out.push_str("@cast(");
                self.expr(operand);
                let text = self.string(&type_name.value, type_name.span);
                let _ = write!(self.out, ", {text}");
                self.module_arg(module.as_ref());
                self.out.push(')');
            }
            TargetBase::AtVar { name, module } => {
                let text = self.string(&name.value, name.span);
                let _ = write!(self.out, "@var({text}");
                self.module_arg(module.as_ref());
                self.out.push(')');
            }
            TargetBase::Autocast(base) => {
                // A bare name followed by `[` or `$` would read as an array
                // element or a different name; a target would absorb the
                // components. Parenthesize those.
                let var_then_glue = matches!(base.kind, ExprKind::Var(_))
                    && matches!(
                        first,
                        Some(TargetComponentKind::Index(_) | TargetComponentKind::Pretty { .. })
                    );
                if var_then_glue || matches!(base.kind, ExprKind::Target(_)) {
                    self.out.push('(');
                    self.expr(base);
                    self.out.push(')');
                } else {
                    self.operand(base, prec::PRIMARY);
                }
            }
        }
        for c in &t.components {
            match &c.kind {
                TargetComponentKind::Member(m) => {
                    let _ = write!(self.out, "->{}", m.name);
                }
                TargetComponentKind::Index(e) => {
                    self.out.push('[');
                    self.expr(e);
                    self.out.push(']');
                }
                TargetComponentKind::Pretty { deep } => {
                    if self.is_p1() {
                        self.out.push_str("->");
                    }
                    self.out.push_str(if *deep { "$$" } else { "$" });
                }
            }
        }
    }

    /// `, "module"` of `@cast` and `@var`, if given.
    fn module_arg(&mut self, module: Option<&StrLit>) {
        if let Some(m) = module {
            let text = self.string(&m.value, m.span);
            let _ = write!(self.out, ", {text}");
        }
    }
}
