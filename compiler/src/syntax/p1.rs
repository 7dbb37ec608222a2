//! SystemTap's `stap -p1` parse tree dump, byte for byte.
//!
//! The form, as real SystemTap 5.1 prints it (observed on stapkit's parse
//! fixtures; see `tests/systemtap-frontend/`):
//!
//! ```text
//! # parse tree dump
//! # file NAME
//! global g
//! probe begin,timer.s(1) if (enabled){
//! (x) = ((a) + (1));
//! if (x) printf("%d\\n", x)
//! ;
//! }
//! function f (a, b)
//! {
//! return (a) + (b);
//! }
//!
//! ```
//!
//! Globals first (one per line), embedded C, aliases, probes, functions;
//! no indentation; every statement of a block ends with `;` on its own
//! terms (`if` ends its line first); every operand of an operator is
//! parenthesized, call arguments and index keys are not; `while` is
//! `for (; C; )`; brace groups in probe points are expanded, each point
//! carrying its `?`/`!` and condition; types and function priorities are
//! left out; numbers print as signed 64-bit decimals; strings print as
//! written (adjacent literals joined, unknown escapes such as `\e`
//! reduced to the character), and a `printf`/`sprintf` format with its
//! backslashes doubled.
//!
//! [`print`](super::print) is stapkit's own re-parseable canonical form;
//! this module only reproduces SystemTap's text.

use std::fmt::Write;

use super::ast::*;
use crate::diag::SourceMap;

/// The `stap -p1` text of `script`, read from the file named `name`.
pub fn dump_p1(script: &Script, map: &SourceMap, name: &str) -> String {
    let mut p = P1 {
        out: String::new(),
        map,
    };
    p.out.push_str("# parse tree dump\n");
    let _ = writeln!(p.out, "# file {name}");
    for item in &script.items {
        if let Item::Global(g) = item {
            p.global(g);
        }
    }
    for item in &script.items {
        if let Item::Embedded(e) = item {
            // No line break after it: the next item follows on its line.
            let _ = write!(p.out, "%{{{}%}}", e.code);
        }
    }
    for item in &script.items {
        if let Item::Alias(a) = item {
            p.out.push_str("probe ");
            let names: Vec<String> = a.names.iter().flat_map(|n| p.expand(n)).collect();
            let op = match a.kind {
                AliasKind::Prologue => " = ",
                AliasKind::Epilogue => " += ",
            };
            p.out.push_str(&names.join(op));
            p.out.push_str(op);
            let points: Vec<String> = a.points.iter().flat_map(|pt| p.expand(pt)).collect();
            p.out.push_str(&points.join(", "));
            p.block(&a.body);
            p.out.push('\n');
        }
    }
    for item in &script.items {
        if let Item::Probe(probe) = item {
            p.out.push_str("probe ");
            let points: Vec<String> = probe.points.iter().flat_map(|pt| p.expand(pt)).collect();
            p.out.push_str(&points.join(","));
            p.block(&probe.body);
            p.out.push('\n');
        }
    }
    for item in &script.items {
        if let Item::Function(f) = item {
            let params: Vec<&str> = f.params.iter().map(|x| x.name.name.as_str()).collect();
            let _ = writeln!(p.out, "function {} ({})", f.name.name, params.join(", "));
            match &f.body {
                FunctionBody::Block(b) => p.block(b),
                FunctionBody::Embedded(e) => {
                    let _ = write!(p.out, "%{{{}%}}", e.code);
                }
            }
            p.out.push('\n');
        }
    }
    p.out.push('\n');
    p.out
}

struct P1<'a> {
    out: String,
    map: &'a SourceMap,
}

impl P1<'_> {
    fn global(&mut self, g: &GlobalDecl) {
        for v in &g.vars {
            let _ = write!(self.out, "global {}", v.name.name);
            if v.wrap {
                self.out.push('%');
            }
            if let Some(n) = &v.size {
                let _ = write!(self.out, "[{}]", n.value);
            }
            if let Some(init) = &v.init {
                self.out.push_str(" = ");
                match init {
                    Literal::Number(n) => {
                        let _ = write!(self.out, "{}", n.value);
                    }
                    Literal::String(s) => {
                        let text = self.string(&s.value, s.span);
                        self.out.push_str(&text);
                    }
                }
            }
            self.out.push('\n');
        }
    }

    /// A probe point with its brace groups expanded: one text per point,
    /// each with its `?`/`!` and condition.
    fn expand(&mut self, point: &ProbePoint) -> Vec<String> {
        let mut texts: Vec<(String, bool, bool, Option<String>)> =
            vec![(String::new(), false, false, None)];
        for (i, c) in point.components.iter().enumerate() {
            let sep = if i > 0 { "." } else { "" };
            match c {
                Component::Named(n) => {
                    let mut word = n.name.name.clone();
                    if let Some(arg) = &n.arg {
                        word.push('(');
                        match arg {
                            Literal::Number(x) => {
                                let _ = write!(word, "{}", x.value);
                            }
                            Literal::String(s) => word.push_str(&self.string(&s.value, s.span)),
                        }
                        word.push(')');
                    }
                    for t in &mut texts {
                        t.0.push_str(sep);
                        t.0.push_str(&word);
                    }
                }
                Component::Group(g) => {
                    let mut alternatives = Vec::new();
                    for alt in &g.alternatives {
                        let cond = alt.condition.as_ref().map(|c| self.expr_text(c));
                        for text in self.expand_bare(alt) {
                            alternatives.push((text, alt.optional, alt.sufficient, cond.clone()));
                        }
                    }
                    let mut next = Vec::new();
                    for t in &texts {
                        for a in &alternatives {
                            next.push((
                                format!("{}{sep}{}", t.0, a.0),
                                t.1 || a.1,
                                t.2 || a.2,
                                a.3.clone().or_else(|| t.3.clone()),
                            ));
                        }
                    }
                    texts = next;
                }
            }
        }
        let cond = point.condition.as_ref().map(|c| self.expr_text(c));
        texts
            .into_iter()
            .map(|(mut text, optional, sufficient, inner)| {
                if sufficient || point.sufficient {
                    text.push('!');
                } else if optional || point.optional {
                    text.push('?');
                }
                if let Some(c) = cond.as_ref().or(inner.as_ref()) {
                    let _ = write!(text, " if ({c})");
                }
                text
            })
            .collect()
    }

    /// A group alternative's expansions without its own markers.
    fn expand_bare(&mut self, point: &ProbePoint) -> Vec<String> {
        let bare = ProbePoint {
            optional: false,
            sufficient: false,
            condition: None,
            ..point.clone()
        };
        self.expand(&bare)
    }

    fn expr_text(&mut self, e: &Expr) -> String {
        let saved = std::mem::take(&mut self.out);
        self.expr(e);
        std::mem::replace(&mut self.out, saved)
    }

    /// `{`, each statement and its `;`, `}`.
    fn block(&mut self, b: &Block) {
        self.out.push_str("{\n");
        for s in &b.stmts {
            self.stmt(s);
            self.out.push_str(";\n");
        }
        self.out.push('}');
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.kind {
            StmtKind::Block(b) => self.block(b),
            StmtKind::Empty => self.out.push(';'),
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.out.push_str("if (");
                self.expr(cond);
                self.out.push_str(") ");
                self.stmt(then);
                self.out.push('\n');
                if let Some(o) = otherwise {
                    self.out.push_str("else ");
                    self.stmt(o);
                    self.out.push('\n');
                }
            }
            StmtKind::While { cond, body } => {
                self.out.push_str("for (; ");
                self.expr(cond);
                self.out.push_str("; ) ");
                self.stmt(body);
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
                self.out.push_str("; ");
                match cond {
                    Some(e) => self.expr(e),
                    None => self.out.push('1'),
                }
                self.out.push_str("; ");
                if let Some(e) = step {
                    self.expr(e);
                }
                self.out.push_str(") ");
                self.stmt(body);
            }
            StmtKind::Foreach(f) => self.foreach(f),
            StmtKind::Break => self.out.push_str("break"),
            StmtKind::Continue => self.out.push_str("continue"),
            StmtKind::Next => self.out.push_str("next"),
            StmtKind::Return(e) => {
                self.out.push_str("return");
                if let Some(e) = e {
                    self.out.push(' ');
                    self.expr(e);
                }
            }
            StmtKind::Delete(e) => {
                self.out.push_str("delete ");
                self.expr(e);
            }
            StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                self.out.push_str("try {\n");
                self.block(body);
                self.out.push_str("\n} catch ");
                if let Some(v) = catch_var {
                    let _ = write!(self.out, "({}) ", v.name);
                }
                self.out.push_str("{\n");
                self.block(catch);
                self.out.push_str("\n}\n");
            }
        }
    }

    fn foreach(&mut self, f: &Foreach) {
        self.out.push_str("foreach (");
        if let Some(v) = &f.value {
            let _ = write!(self.out, "{} = ", v.name);
        }
        self.out.push('[');
        for (i, k) in f.keys.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.out.push_str(&k.name);
            if let Some(sort) = f.sort.filter(|s| s.column == SortColumn::Key(i)) {
                self.sort_sign(&sort);
            }
        }
        self.out.push_str("] in ");
        self.indexable(&f.base);
        if let Some(slice) = &f.slice {
            self.index_items(slice);
        }
        if let Some(sort) = f.sort.filter(|s| s.column == SortColumn::Value) {
            // SystemTap names the aggregate, except @variance.
            if let Some(agg) = sort.aggregate.filter(|a| a.name() != "variance") {
                let _ = write!(self.out, " @{}", agg.name());
            }
            self.sort_sign(&sort);
        }
        if let Some(l) = &f.limit {
            self.out.push_str(" limit ");
            self.expr(l);
        }
        self.out.push_str(") ");
        self.stmt(&f.body);
    }

    fn sort_sign(&mut self, sort: &Sort) {
        self.out.push(match sort.direction {
            SortDirection::Ascending => '+',
            SortDirection::Descending => '-',
        });
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

    fn index_items(&mut self, items: &[IndexItem]) {
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

    /// An operand: parenthesized.
    fn operand(&mut self, e: &Expr) {
        self.out.push('(');
        self.expr(e);
        self.out.push(')');
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Number(n) => {
                let _ = write!(self.out, "{n}");
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
            ExprKind::Print(p) => {
                let _ = write!(self.out, "{}(", p.kind.name());
                let mut first = true;
                if let Some(f) = &p.format {
                    let mut text = self.string(&f.value, f.span);
                    if matches!(p.kind, PrintKind::Printf | PrintKind::Sprintf) {
                        // Backslashes doubled; quotes still escaped once.
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
            ExprKind::Unary { op, operand } => {
                self.out.push_str(op.as_str());
                self.operand(operand);
            }
            ExprKind::Crement { op, fix, operand } => match fix {
                Fix::Prefix => {
                    self.out.push_str(op.as_str());
                    self.operand(operand);
                }
                Fix::Postfix => {
                    self.operand(operand);
                    self.out.push_str(op.as_str());
                }
            },
            ExprKind::Binary { op, lhs, rhs } => {
                self.operand(lhs);
                let _ = write!(self.out, " {} ", op.as_str());
                self.operand(rhs);
            }
            ExprKind::Regex {
                negated,
                lhs,
                pattern,
            } => {
                self.operand(lhs);
                self.out.push_str(if *negated { " !~ " } else { " =~ " });
                let text = self.string(&pattern.value, pattern.span);
                self.out.push_str(&text);
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                self.operand(cond);
                self.out.push('?');
                self.operand(then);
                self.out.push(':');
                self.operand(otherwise);
            }
            ExprKind::Assign { op, lhs, rhs } => {
                self.operand(lhs);
                let _ = write!(self.out, " {} ", op.as_str());
                self.operand(rhs);
            }
            ExprKind::In { keys, base } => {
                self.index_items(keys);
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
            ExprKind::Const(s) => {
                let text = self.string(&s.value, s.span);
                let _ = write!(self.out, "@const({text})");
            }
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
                let _ = write!(self.out, "%{{ {code} %}}");
            }
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
        match &t.base {
            TargetBase::Var(v) => self.out.push_str(&v.name),
            TargetBase::Cast {
                operand,
                type_name,
                module,
            } => {
                self.out.push_str("@cast(");
                self.expr(operand);
                let text = self.string(&type_name.value, type_name.span);
                let _ = write!(self.out, ", {text}");
                if let Some(m) = module {
                    let text = self.string(&m.value, m.span);
                    let _ = write!(self.out, ", {text}");
                }
                self.out.push(')');
            }
            TargetBase::AtVar { name, module } => {
                let text = self.string(&name.value, name.span);
                let _ = write!(self.out, "@var({text}");
                if let Some(m) = module {
                    let text = self.string(&m.value, m.span);
                    let _ = write!(self.out, ", {text}");
                }
                self.out.push(')');
            }
            TargetBase::Autocast(base) => self.operand(base),
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
                    self.out.push_str(if *deep { "->$$" } else { "->$" })
                }
            }
        }
    }

    /// A string literal as SystemTap prints it: the literal(s) as written
    /// at `span` when that is where `value` came from, else `value` with
    /// the escapes a script would use.
    fn string(&self, value: &[u8], span: crate::diag::Span) -> String {
        let source = self.map.text(span.file);
        if let Some(text) = source.get(span.start..span.end) {
            if let Some(raw) = written_literals(text) {
                if decode(&raw) == value {
                    return format!("\"{}\"", raw.replace('"', "\\\""));
                }
            }
        }
        super::print::quote_string(value)
    }
}

/// The text of adjacent string literals `"a" "b"` joined, escapes kept as
/// written except those that only stand for their character (`\e` is
/// `e`); `None` when `text` is not only string literals.
fn written_literals(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return any.then_some(out),
            Some('"') => any = true,
            Some(_) => return None,
        }
        loop {
            match chars.next()? {
                '"' => break,
                '\\' => {
                    let c = chars.next()?;
                    if "abfnrtv\\01234567x".contains(c) {
                        out.push('\\');
                    }
                    out.push(c);
                }
                c => out.push(c),
            }
        }
    }
}

/// The bytes a literal's inside (as [`written_literals`] gives it) stands
/// for.
fn decode(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 >= bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < bytes.len() && (b'0'..=b'7').contains(&bytes[i]) {
                    v = v * 8 + u32::from(bytes[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push(v as u8);
            }
            b'x' => {
                let mut v = 0u32;
                while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
                    v = v * 16 + (bytes[i] as char).to_digit(16).unwrap_or(0);
                    i += 1;
                }
                out.push(v as u8);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_keep_their_escapes() {
        assert_eq!(
            written_literals(r#""a\tb" "c\n""#).as_deref(),
            Some(r"a\tbc\n")
        );
        assert_eq!(written_literals(r#""\e[0m""#).as_deref(), Some("e[0m"));
        assert_eq!(written_literals(r#""q\' qm\?""#).as_deref(), Some("q' qm?"));
        assert_eq!(written_literals(r#""a\"b""#).as_deref(), Some("a\"b"));
        assert_eq!(written_literals("x"), None);
        assert_eq!(decode(r"\101\x41\n"), b"AA\n");
    }
}
