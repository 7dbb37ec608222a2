//! A readable, exact dump of a tree's structure, one node per line with its
//! byte span, in the style of rust-analyzer's test fixtures:
//!
//! ```text
//! Probe @0..34
//!   Point @6..11
//!     Component "begin" @6..11
//!   Block @12..34
//! ```
//!
//! A `role:` prefix says which child a line is (`cond:`, `then:`...). Every
//! field of every node appears, so two trees are equal (ignoring spans) iff
//! their span-less dumps are equal; the round-trip tests rely on that.

use std::fmt::Write;

use crate::diag::Span;

use super::ast::*;

/// How to dump.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpConfig {
    /// Append `@start..end` to every node that has a span.
    pub spans: bool,
}

/// Dumps `script` as indented text.
pub fn dump(script: &Script, cfg: DumpConfig) -> String {
    let mut d = Dumper {
        out: String::new(),
        depth: 0,
        cfg,
    };
    d.line("", "Script", Some(script.span));
    d.nested(|d| {
        for item in &script.items {
            d.item(item);
        }
    });
    d.out
}

/// Shows bytes exactly: printable ASCII as itself, the rest as `\xNN`.
pub(crate) fn quote_bytes(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

struct Dumper {
    out: String,
    depth: usize,
    cfg: DumpConfig,
}

impl Dumper {
    fn line(&mut self, role: &str, text: &str, span: Option<Span>) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        if !role.is_empty() {
            self.out.push_str(role);
            self.out.push_str(": ");
        }
        self.out.push_str(text);
        if let (true, Some(span)) = (self.cfg.spans, span) {
            let _ = write!(self.out, " @{}..{}", span.start, span.end);
        }
        self.out.push('\n');
    }

    fn nested(&mut self, f: impl FnOnce(&mut Dumper)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    fn ident(&mut self, role: &str, ident: &Ident) {
        self.line(role, &format!("Ident {}", ident.name), Some(ident.span));
    }

    fn number(&mut self, role: &str, n: &NumLit) {
        self.line(role, &format!("Number {}", n.value), Some(n.span));
    }

    fn string(&mut self, role: &str, s: &StrLit) {
        self.line(
            role,
            &format!("String {}", quote_bytes(&s.value)),
            Some(s.span),
        );
    }

    fn literal(&mut self, role: &str, lit: &Literal) {
        match lit {
            Literal::Number(n) => self.number(role, n),
            Literal::String(s) => self.string(role, s),
        }
    }

    fn embedded(&mut self, role: &str, e: &EmbeddedCode) {
        self.line(
            role,
            &format!("Embedded {}", quote_bytes(e.code.as_bytes())),
            Some(e.span),
        );
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Probe(p) => {
                self.line("", "Probe", Some(p.span));
                self.nested(|d| {
                    for point in &p.points {
                        d.point("", point);
                    }
                    d.block("body", &p.body);
                });
            }
            Item::Alias(a) => {
                let kind = match a.kind {
                    AliasKind::Prologue => "=",
                    AliasKind::Epilogue => "+=",
                };
                self.line("", &format!("Alias {kind}"), Some(a.span));
                self.nested(|d| {
                    for name in &a.names {
                        d.point("name", name);
                    }
                    for point in &a.points {
                        d.point("", point);
                    }
                    d.block("body", &a.body);
                    if let Some(e) = &a.epilogue {
                        d.block("epilogue", e);
                    }
                });
            }
            Item::Global(g) => {
                self.line(
                    "",
                    if g.private {
                        "Global private"
                    } else {
                        "Global"
                    },
                    Some(g.span),
                );
                self.nested(|d| {
                    for v in &g.vars {
                        let text =
                            format!("Var {}{}", v.name.name, if v.wrap { " wrap" } else { "" });
                        d.line("", &text, Some(v.span));
                        d.nested(|d| {
                            if let Some(n) = &v.size {
                                d.number("size", n);
                            }
                            if let Some(l) = &v.init {
                                d.literal("init", l);
                            }
                        });
                    }
                });
            }
            Item::Function(f) => {
                let mut text = format!("Function {}", f.name.name);
                if f.private {
                    text.push_str(" private");
                }
                self.line("", &text, Some(f.span));
                self.nested(|d| {
                    if let Some(t) = &f.ret {
                        d.line("returns", t.ty.as_str(), Some(t.span));
                    }
                    for p in &f.params {
                        let ty =
                            p.ty.map_or(String::new(), |t| format!(":{}", t.ty.as_str()));
                        d.line("", &format!("Param {}{ty}", p.name.name), Some(p.span));
                    }
                    if let Some(n) = &f.priority {
                        d.number("priority", n);
                    }
                    match &f.body {
                        FunctionBody::Block(b) => d.block("body", b),
                        FunctionBody::Embedded(e) => d.embedded("body", e),
                    }
                });
            }
            Item::Embedded(e) => self.embedded("", e),
        }
    }

    fn point(&mut self, role: &str, p: &ProbePoint) {
        let mut text = String::from("Point");
        if p.sufficient {
            text.push_str(" !");
        } else if p.optional {
            text.push_str(" ?");
        }
        self.line(role, &text, Some(p.span));
        self.nested(|d| {
            for c in &p.components {
                match c {
                    Component::Named(n) => {
                        d.line(
                            "",
                            &format!("Component {}", quote_bytes(n.name.name.as_bytes())),
                            Some(n.span),
                        );
                        if let Some(arg) = &n.arg {
                            d.nested(|d| {
                                d.ident("name", &n.name);
                                d.literal("arg", arg);
                            });
                        }
                    }
                    Component::Group(g) => {
                        d.line("", "Group", Some(g.span));
                        d.nested(|d| {
                            for alt in &g.alternatives {
                                d.point("", alt);
                            }
                        });
                    }
                }
            }
            if let Some(c) = &p.condition {
                d.expr("if", c);
            }
        });
    }

    fn block(&mut self, role: &str, b: &Block) {
        self.line(role, "Block", Some(b.span));
        self.nested(|d| {
            for s in &b.stmts {
                d.stmt("", s);
            }
        });
    }

    fn stmt(&mut self, role: &str, s: &Stmt) {
        let span = Some(s.span);
        match &s.kind {
            StmtKind::Block(b) => {
                self.line(role, "BlockStmt", span);
                self.nested(|d| d.block("", b));
            }
            StmtKind::Empty => self.line(role, "Empty", span),
            StmtKind::Expr(e) => {
                self.line(role, "ExprStmt", span);
                self.nested(|d| d.expr("", e));
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.line(role, "If", span);
                self.nested(|d| {
                    d.expr("cond", cond);
                    d.stmt("then", then);
                    if let Some(o) = otherwise {
                        d.stmt("else", o);
                    }
                });
            }
            StmtKind::While { cond, body } => {
                self.line(role, "While", span);
                self.nested(|d| {
                    d.expr("cond", cond);
                    d.stmt("body", body);
                });
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                self.line(role, "For", span);
                self.nested(|d| {
                    if let Some(e) = init {
                        d.expr("init", e);
                    }
                    if let Some(e) = cond {
                        d.expr("cond", e);
                    }
                    if let Some(e) = step {
                        d.expr("step", e);
                    }
                    d.stmt("body", body);
                });
            }
            StmtKind::Foreach(f) => {
                self.line(role, "Foreach", span);
                self.nested(|d| {
                    if let Some(v) = &f.value {
                        d.ident("value", v);
                    }
                    for k in &f.keys {
                        d.ident("key", k);
                    }
                    d.indexable("in", &f.base);
                    if let Some(slice) = &f.slice {
                        d.line("slice", "Slice", None);
                        d.nested(|d| d.index_items(slice));
                    }
                    if let Some(sort) = &f.sort {
                        let column = match sort.column {
                            SortColumn::Value => "value".to_string(),
                            SortColumn::Key(i) => format!("key {i}"),
                        };
                        let dir = match sort.direction {
                            SortDirection::Ascending => "+",
                            SortDirection::Descending => "-",
                        };
                        let agg = sort
                            .aggregate
                            .map_or(String::new(), |a| format!(" @{}", a.name()));
                        d.line(
                            "sort",
                            &format!("Sort {column}{agg} {dir}"),
                            Some(sort.span),
                        );
                    }
                    if let Some(l) = &f.limit {
                        d.expr("limit", l);
                    }
                    d.stmt("body", &f.body);
                });
            }
            StmtKind::Break => self.line(role, "Break", span),
            StmtKind::Continue => self.line(role, "Continue", span),
            StmtKind::Next => self.line(role, "Next", span),
            StmtKind::Return(e) => {
                self.line(role, "Return", span);
                if let Some(e) = e {
                    self.nested(|d| d.expr("", e));
                }
            }
            StmtKind::Delete(e) => {
                self.line(role, "Delete", span);
                self.nested(|d| d.expr("", e));
            }
            StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                self.line(role, "Try", span);
                self.nested(|d| {
                    d.block("body", body);
                    if let Some(v) = catch_var {
                        d.ident("catch_var", v);
                    }
                    d.block("catch", catch);
                });
            }
        }
    }

    fn indexable(&mut self, role: &str, i: &Indexable) {
        match i {
            Indexable::Var(v) => self.ident(role, v),
            Indexable::Hist(h) => self.hist(role, h),
        }
    }

    fn hist(&mut self, role: &str, h: &HistOp) {
        let text = match h.kind {
            HistKind::Linear { low, high, step } => format!("HistLinear {low} {high} {step}"),
            HistKind::Log => "HistLog".to_string(),
        };
        self.line(role, &text, Some(h.span));
        self.nested(|d| d.expr("", &h.stat));
    }

    fn index_items(&mut self, items: &[IndexItem]) {
        for item in items {
            match item {
                IndexItem::Expr(e) => self.expr("", e),
                IndexItem::Wildcard(s) => self.line("", "Wildcard", Some(*s)),
            }
        }
    }

    fn expr(&mut self, role: &str, e: &Expr) {
        let span = Some(e.span);
        match &e.kind {
            ExprKind::Number(n) => self.line(role, &format!("Number {n}"), span),
            ExprKind::String(s) => self.line(role, &format!("String {}", quote_bytes(s)), span),
            ExprKind::Var(v) => self.line(role, &format!("Var {}", v.name), span),
            ExprKind::Index { base, indices } => {
                self.line(role, "Index", span);
                self.nested(|d| {
                    d.indexable("base", base);
                    d.index_items(indices);
                });
            }
            ExprKind::Call { name, args } => {
                self.line(role, &format!("Call {}", name.name), span);
                self.nested(|d| {
                    for a in args {
                        d.expr("", a);
                    }
                });
            }
            ExprKind::Print(p) => {
                self.line(role, &format!("Print {}", p.kind.name()), span);
                self.nested(|d| {
                    if let Some(f) = &p.format {
                        d.string("format", f);
                    }
                    for a in &p.args {
                        d.expr("", a);
                    }
                    if let Some(h) = &p.hist {
                        d.hist("hist", h);
                    }
                });
            }
            ExprKind::Unary { op, operand } => {
                self.line(role, &format!("Unary {}", op.as_str()), span);
                self.nested(|d| d.expr("", operand));
            }
            ExprKind::Crement { op, fix, operand } => {
                let fix = match fix {
                    Fix::Prefix => "prefix",
                    Fix::Postfix => "postfix",
                };
                self.line(role, &format!("Crement {} {fix}", op.as_str()), span);
                self.nested(|d| d.expr("", operand));
            }
            ExprKind::Binary { op, lhs, rhs } => {
                self.line(role, &format!("Binary {}", op.as_str()), span);
                self.nested(|d| {
                    d.expr("", lhs);
                    d.expr("", rhs);
                });
            }
            ExprKind::Regex {
                negated,
                lhs,
                pattern,
            } => {
                self.line(role, if *negated { "Regex !~" } else { "Regex =~" }, span);
                self.nested(|d| {
                    d.expr("", lhs);
                    d.string("pattern", pattern);
                });
            }
            ExprKind::Ternary {
                cond,
                then,
                otherwise,
            } => {
                self.line(role, "Ternary", span);
                self.nested(|d| {
                    d.expr("cond", cond);
                    d.expr("then", then);
                    d.expr("else", otherwise);
                });
            }
            ExprKind::Assign { op, lhs, rhs } => {
                self.line(role, &format!("Assign {}", op.as_str()), span);
                self.nested(|d| {
                    d.expr("", lhs);
                    d.expr("", rhs);
                });
            }
            ExprKind::In { keys, base } => {
                self.line(role, "In", span);
                self.nested(|d| {
                    d.index_items(keys);
                    d.indexable("array", base);
                });
            }
            ExprKind::Stat { op, operand, param } => {
                self.line(role, &format!("Stat @{}", op.name()), span);
                self.nested(|d| {
                    d.expr("", operand);
                    if let Some(p) = param {
                        d.number("param", p);
                    }
                });
            }
            ExprKind::Target(t) => self.target(role, t, e.span),
            ExprKind::Entry(inner) => {
                self.line(role, "Entry", span);
                self.nested(|d| d.expr("", inner));
            }
            ExprKind::Defined(inner) => {
                self.line(role, "Defined", span);
                self.nested(|d| d.expr("", inner));
            }
            ExprKind::Probewrite(v) => {
                self.line(role, "Probewrite", span);
                self.nested(|d| d.ident("", v));
            }
            ExprKind::Const(s) => {
                self.line(role, "Const", span);
                self.nested(|d| d.string("", s));
            }
            ExprKind::Perf(s) => {
                self.line(role, "Perf", span);
                self.nested(|d| d.string("", s));
            }
            ExprKind::Register { user, number } => {
                self.line(
                    role,
                    if *user {
                        "Register user"
                    } else {
                        "Register kernel"
                    },
                    span,
                );
                self.nested(|d| d.number("", number));
            }
            ExprKind::Deref { user, size, addr } => {
                self.line(
                    role,
                    if *user { "Deref user" } else { "Deref kernel" },
                    span,
                );
                self.nested(|d| {
                    d.number("size", size);
                    d.expr("addr", addr);
                });
            }
            ExprKind::Embedded(code) => self.line(
                role,
                &format!("EmbeddedExpr {}", quote_bytes(code.as_bytes())),
                span,
            ),
        }
    }

    fn target(&mut self, role: &str, t: &TargetExpr, span: Span) {
        self.line(
            role,
            if t.address_of { "Target &" } else { "Target" },
            Some(span),
        );
        self.nested(|d| {
            match &t.base {
                TargetBase::Var(v) => d.ident("var", v),
                TargetBase::Cast {
                    operand,
                    type_name,
                    module,
                } => {
                    d.line("base", "Cast", None);
                    d.nested(|d| {
                        d.expr("", operand);
                        d.string("type", type_name);
                        if let Some(m) = module {
                            d.string("module", m);
                        }
                    });
                }
                TargetBase::AtVar { name, module } => {
                    d.line("base", "AtVar", None);
                    d.nested(|d| {
                        d.string("name", name);
                        if let Some(m) = module {
                            d.string("module", m);
                        }
                    });
                }
                TargetBase::Autocast(e) => d.expr("autocast", e),
            }
            for c in &t.components {
                match &c.kind {
                    TargetComponentKind::Member(m) => {
                        d.line("", &format!("Member {}", m.name), Some(c.span))
                    }
                    TargetComponentKind::Index(e) => {
                        d.line("", "Subscript", Some(c.span));
                        d.nested(|d| d.expr("", e));
                    }
                    TargetComponentKind::Pretty { deep } => {
                        d.line(
                            "",
                            if *deep { "Pretty $$" } else { "Pretty $" },
                            Some(c.span),
                        );
                    }
                }
            }
        });
    }
}
