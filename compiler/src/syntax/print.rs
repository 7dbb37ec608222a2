//! The canonical printer behind `stap -p1`: a tree back to script text.
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

use super::ast::*;
use super::parser::expr::binary_level;

/// Binding strengths for deciding where parentheses are needed.
mod prec {
    pub const ASSIGN: u8 = 1;
    pub const TERNARY: u8 = 2;
    /// Binary operators occupy 3 (`||`) to 13 (`*`): parser level + 2.
    pub const BINARY_OFFSET: u8 = 2;
    pub const IN: u8 = 8;
    pub const COMPARE: u8 = 9;
    pub const SHIFT: u8 = 10;
    pub const UNARY: u8 = 14;
    pub const TARGET: u8 = 15;
    pub const PRIMARY: u8 = 16;
}

/// Prints one probe point as it is written (`kernel.function("f").call?`).
pub fn print_point(point: &ProbePoint) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
    };
    p.point(point);
    p.out
}

/// Prints `script` in canonical form.
pub fn print(script: &Script) -> String {
    let mut p = Printer {
        out: String::new(),
        indent: 0,
    };
    for (i, item) in script.items.iter().enumerate() {
        if i > 0 {
            p.out.push('\n');
        }
        p.item(item);
    }
    p.out
}

/// A string literal in source form, quotes included.
pub(crate) fn quote_string(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                '\r' => s.push_str("\\r"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    let _ = write!(s, "\\{:03o}", c as u32);
                }
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(s, "\\{b:03o}");
        }
    }
    s.push('"');
    s
}

struct Printer {
    out: String,
    indent: usize,
}

fn expr_prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Assign { .. } => prec::ASSIGN,
        ExprKind::Ternary { .. } => prec::TERNARY,
        ExprKind::Binary { op, .. } => binary_level(*op) + prec::BINARY_OFFSET,
        ExprKind::Regex { .. } => prec::COMPARE,
        ExprKind::In { .. } => prec::IN,
        ExprKind::Unary { .. } | ExprKind::Crement { .. } => prec::UNARY,
        ExprKind::Target(_) => prec::TARGET,
        _ => prec::PRIMARY,
    }
}

impl Printer {
    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

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
                    self.out.push_str(&v.name.name);
                    if v.wrap {
                        self.out.push('%');
                    }
                    if let Some(n) = &v.size {
                        let _ = write!(self.out, "[{}]", n.value);
                    }
                    if let Some(init) = &v.init {
                        self.out.push_str(" = ");
                        self.literal(init);
                    }
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

    fn literal(&mut self, lit: &Literal) {
        match lit {
            Literal::Number(n) => {
                let _ = write!(self.out, "{}", n.value);
            }
            Literal::String(s) => self.out.push_str(&quote_string(&s.value)),
        }
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
            self.expr(c, prec::ASSIGN);
            self.out.push(')');
        }
    }

    /// `{ ... }` starting at the cursor, ending after `}`.
    fn block(&mut self, b: &Block) {
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

    /// The statement controlled by a header such as `if (c)`: a block on
    /// the same line, anything else indented on the next. Returns whether
    /// it was a block (so `else` can follow on the same line).
    fn body(&mut self, s: &Stmt) -> bool {
        if let StmtKind::Block(b) = &s.kind {
            self.out.push(' ');
            self.block(b);
            return true;
        }
        self.indent += 1;
        self.newline();
        self.stmt(s);
        self.indent -= 1;
        false
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block(b),
            StmtKind::Empty => self.out.push(';'),
            StmtKind::Expr(e) => {
                self.expr(e, prec::ASSIGN);
                self.out.push(';');
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.out.push_str("if (");
                self.expr(cond, prec::ASSIGN);
                self.out.push(')');
                let was_block = self.body(then);
                if let Some(o) = otherwise {
                    if was_block {
                        self.out.push(' ');
                    } else {
                        self.newline();
                    }
                    self.out.push_str("else");
                    match &o.kind {
                        StmtKind::If { .. } => {
                            self.out.push(' ');
                            self.stmt(o);
                        }
                        _ => {
                            self.body(o);
                        }
                    }
                }
            }
            StmtKind::While { cond, body } => {
                self.out.push_str("while (");
                self.expr(cond, prec::ASSIGN);
                self.out.push(')');
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
                    self.expr(e, prec::ASSIGN);
                }
                self.out.push(';');
                if let Some(e) = cond {
                    self.out.push(' ');
                    self.expr(e, prec::ASSIGN);
                }
                self.out.push(';');
                if let Some(e) = step {
                    self.out.push(' ');
                    self.expr(e, prec::ASSIGN);
                }
                self.out.push(')');
                self.body(body);
            }
            StmtKind::Foreach(f) => self.foreach(f),
            StmtKind::Break => self.out.push_str("break;"),
            StmtKind::Continue => self.out.push_str("continue;"),
            StmtKind::Next => self.out.push_str("next;"),
            StmtKind::Return(e) => {
                self.out.push_str("return");
                if let Some(e) = e {
                    self.out.push(' ');
                    self.expr(e, prec::ASSIGN);
                }
                self.out.push(';');
            }
            StmtKind::Delete(e) => {
                self.out.push_str("delete ");
                self.expr(e, prec::ASSIGN);
                self.out.push(';');
            }
            StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                self.out.push_str("try ");
                self.block(body);
                self.out.push_str(" catch ");
                if let Some(v) = catch_var {
                    let _ = write!(self.out, "({}) ", v.name);
                }
                self.block(catch);
            }
        }
    }

    fn sort_sign(&mut self, sort: &Sort) {
        self.out.push(match sort.direction {
            SortDirection::Ascending => '+',
            SortDirection::Descending => '-',
        });
    }

    fn foreach(&mut self, f: &Foreach) {
        self.out.push_str("foreach (");
        if let Some(v) = &f.value {
            let _ = write!(self.out, "{} = ", v.name);
        }
        let key_sort = |i: usize| f.sort.filter(|s| s.column == SortColumn::Key(i));
        let bracket = f.keys.len() != 1;
        if bracket {
            self.out.push('[');
        }
        for (i, k) in f.keys.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&k.name);
            if let Some(sort) = key_sort(i) {
                self.sort_sign(&sort);
            }
        }
        if bracket {
            self.out.push(']');
        }
        self.out.push_str(" in ");
        self.indexable(&f.base);
        if let Some(slice) = &f.slice {
            self.index_items(slice);
        }
        if let Some(sort) = f.sort.filter(|s| s.column == SortColumn::Value) {
            if let Some(agg) = sort.aggregate {
                let _ = write!(self.out, " @{}", agg.name());
            }
            self.sort_sign(&sort);
        }
        if let Some(l) = &f.limit {
            self.out.push_str(" limit ");
            self.expr(l, prec::ASSIGN);
        }
        self.out.push(')');
        self.body(&f.body);
    }

    fn indexable(&mut self, i: &Indexable) {
        match i {
            Indexable::Var(v) => self.out.push_str(&v.name),
            Indexable::Hist(h) => self.hist(h),
        }
    }

    fn hist(&mut self, h: &HistOp) {
        match h.kind {
            HistKind::Linear { low, high, step } => {
                self.out.push_str("@hist_linear(");
                self.expr(&h.stat, prec::ASSIGN);
                let _ = write!(self.out, ", {low}, {high}, {step})");
            }
            HistKind::Log => {
                self.out.push_str("@hist_log(");
                self.expr(&h.stat, prec::ASSIGN);
                self.out.push(')');
            }
        }
    }

    fn index_items(&mut self, items: &[IndexItem]) {
        self.out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            match item {
                IndexItem::Expr(e) => self.expr(e, prec::ASSIGN),
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
            self.expr(a, prec::ASSIGN);
        }
    }

    /// Prints `e`, parenthesized if it binds looser than `min`.
    fn expr(&mut self, e: &Expr, min: u8) {
        if expr_prec(e) < min {
            self.out.push('(');
            self.expr_bare(e);
            self.out.push(')');
        } else {
            self.expr_bare(e);
        }
    }

    fn expr_bare(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Number(n) => {
                // A literal that wrapped past i64::MAX was written unsigned.
                let _ = write!(self.out, "{}", *n as u64);
            }
            ExprKind::String(s) => self.out.push_str(&quote_string(s)),
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
            ExprKind::Print(p) => {
                let _ = write!(self.out, "{}(", p.kind.name());
                let mut first = true;
                if let Some(f) = &p.format {
                    self.out.push_str(&quote_string(&f.value));
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
                    self.expr(a, prec::ASSIGN);
                }
                self.out.push(')');
            }
            ExprKind::Unary { op, operand } => {
                self.out.push_str(op.as_str());
                let mut inner = Printer {
                    out: String::new(),
                    indent: self.indent,
                };
                inner.expr(operand, prec::UNARY);
                let glue = matches!(
                    (op, inner.out.chars().next()),
                    (UnaryOp::Neg, Some('-'))
                        | (UnaryOp::Plus, Some('+'))
                        | (UnaryOp::Not, Some('~'))
                );
                if glue {
                    self.out.push(' ');
                }
                self.out.push_str(&inner.out);
            }
            ExprKind::Crement { op, fix, operand } => match fix {
                Fix::Prefix => {
                    self.out.push_str(op.as_str());
                    self.expr(operand, prec::TARGET);
                }
                Fix::Postfix => {
                    self.expr(operand, prec::TARGET);
                    self.out.push_str(op.as_str());
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                let p = binary_level(*op) + prec::BINARY_OFFSET;
                if op.is_comparison() && matches!(lhs.kind, ExprKind::Regex { .. }) {
                    self.out.push('(');
                    self.expr_bare(lhs);
                    self.out.push(')');
                } else {
                    self.expr(lhs, p);
                }
                let _ = write!(self.out, " {} ", op.as_str());
                self.expr(rhs, p + 1);
            }
            ExprKind::Regex {
                negated,
                lhs,
                pattern,
            } => {
                self.expr(lhs, prec::SHIFT);
                self.out.push_str(if *negated { " !~ " } else { " =~ " });
                self.out.push_str(&quote_string(&pattern.value));
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond, prec::BINARY_OFFSET + 1);
                self.out.push_str(" ? ");
                self.expr(then, prec::ASSIGN);
                self.out.push_str(" : ");
                self.expr(otherwise, prec::TERNARY);
            }
            ExprKind::Assign { op, lhs, rhs } => {
                self.expr(lhs, prec::TERNARY);
                let _ = write!(self.out, " {} ", op.as_str());
                self.expr(rhs, prec::ASSIGN);
            }
            ExprKind::In { keys, base } => {
                match keys.as_slice() {
                    [IndexItem::Expr(k)] => self.expr(k, prec::COMPARE),
                    _ => self.index_items(keys),
                }
                self.out.push_str(" in ");
                self.indexable(base);
            }
            ExprKind::Stat { op, operand, param } => {
                let _ = write!(self.out, "@{}(", op.name());
                self.expr(operand, prec::ASSIGN);
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
            ExprKind::Const(s) => {
                let _ = write!(self.out, "@const({})", quote_string(&s.value));
            }
            ExprKind::Perf(s) => {
                let _ = write!(self.out, "@perf({})", quote_string(&s.value));
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
                self.expr(addr, prec::ASSIGN);
                self.out.push(')');
            }
            ExprKind::Embedded(code) => {
                let _ = write!(self.out, "%{{{code}%}}");
            }
        }
    }

    fn wrapped(&mut self, name: &str, inner: &Expr) {
        self.out.push_str(name);
        self.out.push('(');
        self.expr(inner, prec::ASSIGN);
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
                // `$$$` followed by `$` would lex as one name.
                if v.name.chars().all(|c| c == '$')
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
                self.expr(operand, prec::ASSIGN);
                let _ = write!(self.out, ", {}", quote_string(&type_name.value));
                if let Some(m) = module {
                    let _ = write!(self.out, ", {}", quote_string(&m.value));
                }
                self.out.push(')');
            }
            TargetBase::AtVar { name, module } => {
                let _ = write!(self.out, "@var({}", quote_string(&name.value));
                if let Some(m) = module {
                    let _ = write!(self.out, ", {}", quote_string(&m.value));
                }
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
                    self.expr_bare(base);
                    self.out.push(')');
                } else {
                    self.expr(base, prec::PRIMARY);
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
                    self.expr(e, prec::ASSIGN);
                    self.out.push(']');
                }
                TargetComponentKind::Pretty { deep } => {
                    self.out.push_str(if *deep { "$$" } else { "$" })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quote_string;

    #[test]
    fn strings_are_escaped_exactly() {
        assert_eq!(quote_string(b"a\"b\\c\n\t\r"), r#""a\"b\\c\n\t\r""#);
        assert_eq!(quote_string(b"\x01\x7f"), r#""\001\177""#);
        assert_eq!(quote_string(b"\xff\xfe"), r#""\377\376""#);
        assert_eq!(quote_string("ü".as_bytes()), "\"ü\"");
        assert_eq!(quote_string(b"\x001"), r#""\0001""#);
    }
}
