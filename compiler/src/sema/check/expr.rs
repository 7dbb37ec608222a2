//! Checking expressions: literals, variables, operators, calls, regular
//! expressions, target expressions and the `@` operators.

use crate::diag::{Diagnostic, Span};
use crate::ir::Type;
use crate::syntax::ast;

use super::assign::Place;
use super::{Checker, SlotRef, VarRef};
use crate::sema::scope::Shape;
use crate::sema::target;

impl Checker<'_, '_> {
    /// Checks `e`; `expect` is the type the context wants, which decides
    /// the type of variables that have none yet. Returns `e`'s type.
    pub fn expr(&mut self, e: &ast::Expr, expect: Option<Type>) -> Option<Type> {
        let ty = self.expr_kind(e, expect);
        if self.report {
            self.facts.types.insert(e.id, ty);
        }
        ty
    }

    fn expr_kind(&mut self, e: &ast::Expr, expect: Option<Type>) -> Option<Type> {
        use ast::ExprKind as K;
        match &e.kind {
            K::Number(_) => Some(Type::Long),
            K::String(_) => Some(Type::String),
            K::Var(v) => self.var(e, v, expect),
            K::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let g = self.array_global(v, indices.len())?;
                self.record_var(e.id, VarRef::Global(g));
                self.cx.globals[g].read = true;
                self.keys(g, indices);
                if let (Some(t), None) = (expect, self.global_type(g)) {
                    self.unify(
                        SlotRef::GlobalValue(g),
                        t,
                        v.span,
                        &format!("the elements of '{}'", v.name),
                    );
                }
                let ty = self.global_type(g);
                if ty == Some(Type::Stats) {
                    self.error(
                        Diagnostic::semantic_error(format!(
                            "the elements of '{}' are statistics and cannot be read directly",
                            v.name
                        ))
                        .with_primary(v.span, "a statistics value")
                        .with_help(format!("use @count({0}[...]), @sum({0}[...]), ...", v.name)),
                    );
                }
                ty
            }
            K::Index {
                base: ast::Indexable::Hist(h),
                indices,
            } => {
                self.hist_operand(h);
                match indices.as_slice() {
                    [ast::IndexItem::Expr(i)] => {
                        let ty = self.expr(i, Some(Type::Long));
                        if let Some(t) = ty.filter(|t| *t != Type::Long) {
                            self.error(
                                Diagnostic::semantic_error(format!(
                                    "a histogram's bucket index must be a number, not a {t}"
                                ))
                                .with_primary(i.span, format!("a {t}")),
                            );
                        }
                    }
                    _ => self.error(
                        Diagnostic::semantic_error("a histogram is indexed by one bucket number")
                            .with_primary(h.span, format!("{} indices given", indices.len())),
                    ),
                }
                Some(Type::Long)
            }
            K::Call { name, args } => self.call(e, name, args, expect),
            K::Print(p) => self.print(p, e.span),
            K::Unary { op, operand } => {
                let ty = self.expr(operand, Some(Type::Long));
                self.require(
                    ty,
                    Type::Long,
                    operand.span,
                    &format!("operator '{}'", op.as_str()),
                );
                Some(Type::Long)
            }
            K::Crement { op, operand, .. } => {
                let used = !std::mem::replace(&mut self.value_discarded, false);
                let place = self.lvalue(
                    operand,
                    Some(Type::Long),
                    &format!("operator '{}'", op.as_str()),
                );
                // A global whose `++` value is used (`if (... || seen++)`)
                // is read: SystemTap does not print it at the end
                // (tests/scripts/entry_values.oracle).
                if let (true, Some(Place::Global(g) | Place::Element(g))) = (used, place) {
                    self.cx.globals[g].read = true;
                }
                Some(Type::Long)
            }
            K::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            K::Regex { lhs, pattern, .. } => {
                let ty = self.expr(lhs, Some(Type::String));
                self.require(ty, Type::String, lhs.span, "a regular expression match");
                self.regex(pattern);
                Some(Type::Long)
            }
            K::Ternary {
                cond,
                then,
                otherwise,
            } => {
                // `@defined($x) ? $x : 0` (and `@choose_defined`): only the
                // branch that applies is checked.
                if let Some(truth) = self.decided(cond, e.id) {
                    return self.expr(if truth { then } else { otherwise }, expect);
                }
                self.cond(cond);
                let t1 = self.expr(then, expect);
                let t2 = self.expr(otherwise, t1.or(expect));
                let t1 = if t1.is_none() && t2.is_some() {
                    self.expr(then, t2)
                } else {
                    t1
                };
                match (t1, t2) {
                    (Some(x), Some(y)) if x != y => {
                        self.error(
                            Diagnostic::semantic_error(format!(
                                "the two branches of '?:' have different types ({x} and {y})"
                            ))
                            .with_primary(otherwise.span, format!("a {y}"))
                            .with_secondary(then.span, format!("a {x}")),
                        );
                        None
                    }
                    (x, y) => x.or(y),
                }
            }
            K::Assign { rhs, .. } if self.elision.assign(e) => self.expr(rhs, expect),
            K::Assign { op, lhs, rhs } => self.assign(*op, lhs, rhs),
            K::In {
                keys,
                base: ast::Indexable::Var(v),
            } => {
                if let Some(g) = self.array_global(v, keys.len()) {
                    self.record_var(e.id, VarRef::Global(g));
                    self.cx.globals[g].read = true;
                    self.slice_keys(g, keys);
                }
                Some(Type::Long)
            }
            K::In {
                base: ast::Indexable::Hist(h),
                ..
            } => {
                self.error(
                    Diagnostic::semantic_error("'in' a histogram is not supported")
                        .with_primary(h.span, "a histogram"),
                );
                Some(Type::Long)
            }
            K::Stat { operand, param, .. } => {
                if let Some(g) = self.stats_operand(operand, true) {
                    if let Some(shift) = param {
                        self.variance_shift(g, shift);
                    }
                }
                Some(Type::Long)
            }
            K::Target(t) => {
                let probe = self.context.clone();
                match target::resolve_typed(self, &probe, t, e.span) {
                    Ok((kind, pointer)) => {
                        self.last_pointer = pointer;
                        Some(target::value_type(&kind))
                    }
                    Err(d) => {
                        self.error(*d);
                        Some(target::fallback_type(&probe, t))
                    }
                }
            }
            K::Defined(inner) => {
                self.defined(e, inner);
                Some(Type::Long)
            }
            K::Entry(inner) => self.entry(inner, e.span),
            K::Probewrite(v) => {
                let Some(body) = self.probe_body else {
                    self.error(
                        Diagnostic::semantic_error("@probewrite is only meaningful in a probe")
                            .with_primary(e.span, "inside a function")
                            .with_help(
                                "use it in a probe alias's prologue or epilogue, where it says \
                                 whether the probe handler writes the variable",
                            ),
                    );
                    return Some(Type::Long);
                };
                let written = writes_variable(body, &v.name);
                if self.report {
                    self.facts.constants.insert(e.id, written as i64);
                }
                Some(Type::Long)
            }
            K::Perf(name) => {
                let name = name.to_str_lossy();
                if !self.cx.perf_counters.iter().any(|c| *c == name) {
                    let help = if self.cx.perf_counters.is_empty() {
                        "define it with a probe perf.TYPE.process(\"PROC\").counter(\"NAME\") {}"
                            .to_string()
                    } else {
                        format!("the counters are: {}", self.cx.perf_counters.join(", "))
                    };
                    self.error(
                        Diagnostic::semantic_error(format!("perf counter '{name}' not defined"))
                            .with_primary(e.span, "no .counter(\"NAME\") point names it")
                            .with_help(help),
                    );
                    return None;
                }
                Some(Type::Long)
            }
            K::Register { .. } | K::Deref { .. } => {
                self.error(
                    Diagnostic::semantic_error(
                        "target expressions are not available in this probe context",
                    )
                    .with_primary(
                        e.span,
                        "needs a kernel.function, kernel.trace or process probe",
                    )
                    .with_note("stapkit does not support target variables yet"),
                );
                None
            }
            K::Const(_) | K::Embedded(_) => {
                let empty = match &e.kind {
                    K::Const(name) => name.to_str_lossy().trim().is_empty(),
                    K::Embedded(code) => code.trim().is_empty(),
                    _ => unreachable!("matched above"),
                };
                if !self.cx.config.guru {
                    self.error(
                        Diagnostic::semantic_error("embedded C in a script needs guru mode")
                            .with_primary(e.span, "a C expression")
                            .with_help("run stap with -g if you trust this code"),
                    );
                } else if empty {
                    self.error(
                        Diagnostic::semantic_error("an empty C expression")
                            .with_primary(e.span, "nothing to evaluate"),
                    );
                }
                Some(Type::Long)
            }
        }
    }

    /// A variable read.
    fn var(&mut self, e: &ast::Expr, v: &ast::Ident, expect: Option<Type>) -> Option<Type> {
        match self.resolve_var(v)? {
            VarRef::Local(_) if self.in_entry => {
                self.error(
                    Diagnostic::semantic_error(format!(
                        "@entry cannot read the local '{}': locals do not exist yet when the function is entered",
                        v.name
                    ))
                    .with_primary(v.span, "a local of this probe"),
                );
                None
            }
            VarRef::Local(i) => {
                self.record_var(e.id, VarRef::Local(i));
                if let Some(t) = expect {
                    if self.locals.vars[i].slot.ty.is_none() {
                        self.unify(SlotRef::Local(i), t, v.span, &format!("'{}'", v.name));
                    }
                }
                self.locals.vars[i].slot.ty
            }
            VarRef::Global(g) => {
                if !self.shape(g, Shape::Scalar, v.span) {
                    return None;
                }
                self.record_var(e.id, VarRef::Global(g));
                self.cx.globals[g].read = true;
                if let (Some(t), None) = (expect, self.global_type(g)) {
                    self.unify(SlotRef::GlobalValue(g), t, v.span, &format!("'{}'", v.name));
                }
                let ty = self.global_type(g);
                if ty == Some(Type::Stats) {
                    self.error(
                        Diagnostic::semantic_error(format!(
                            "'{}' holds statistics and cannot be read directly",
                            v.name
                        ))
                        .with_primary(v.span, "a statistics value")
                        .with_help(format!(
                            "use @count({0}), @sum({0}), @avg({0}), ...",
                            v.name
                        )),
                    );
                }
                ty
            }
        }
    }

    /// The compiled form of an `=~` pattern (compiled once per distinct
    /// pattern); a pattern that does not compile is reported at its literal.
    fn regex(&mut self, pattern: &ast::StrLit) {
        let cx = &mut *self.cx;
        let compiled = cx
            .regex_index
            .entry(pattern.value.clone())
            .or_insert_with(|| {
                crate::sema::regex::compile(&pattern.value).map(|dfa| {
                    cx.regexes.push(dfa);
                    cx.regex_spans.push(pattern.span);
                    (cx.regexes.len() - 1) as u32
                })
            })
            .clone();
        let Err(e) = compiled else { return };
        let mut d = Diagnostic::semantic_error(format!(
            "invalid regular expression \"{}\": {}",
            pattern.value.escape_ascii(),
            e.message
        ))
        .with_primary(
            pattern.span,
            match e.offset {
                Some(offset) => format!("at character {} of the pattern", offset + 1),
                None => "this pattern".to_string(),
            },
        );
        d = if e.offset.is_some() {
            d.with_help(
                "patterns are POSIX extended regular expressions; quote a special \
                 character with '\\' (written \"\\\\\" in a string literal)",
            )
        } else {
            d.with_help("split the test into simpler patterns joined with && or ||")
        };
        self.error(d);
    }

    fn binary(&mut self, op: ast::BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr) -> Option<Type> {
        use ast::BinaryOp as B;
        let ctx = format!("operator '{}'", op.as_str());
        let arith = matches!(
            op,
            B::Add
                | B::Sub
                | B::Mul
                | B::Div
                | B::Mod
                | B::Shl
                | B::Shr
                | B::UShr
                | B::BitAnd
                | B::BitOr
                | B::BitXor
        );
        if arith {
            let tl = self.expr(lhs, Some(Type::Long));
            let tr = self.expr(rhs, Some(Type::Long));
            if op == B::Add && (tl == Some(Type::String) || tr == Some(Type::String)) {
                self.error(
                    Diagnostic::semantic_error(
                        "operator '+' adds numbers; it does not join strings",
                    )
                    .with_primary(
                        if tl == Some(Type::String) {
                            lhs.span
                        } else {
                            rhs.span
                        },
                        "a string",
                    )
                    .with_help("join strings with '.', e.g. \"a\" . \"b\""),
                );
            } else {
                self.require(tl, Type::Long, lhs.span, &ctx);
                self.require(tr, Type::Long, rhs.span, &ctx);
            }
            return Some(Type::Long);
        }
        match op {
            B::Concat => {
                let tl = self.expr(lhs, Some(Type::String));
                let tr = self.expr(rhs, Some(Type::String));
                self.require(tl, Type::String, lhs.span, &ctx);
                self.require(tr, Type::String, rhs.span, &ctx);
                Some(Type::String)
            }
            B::And | B::Or => {
                self.cond(lhs);
                self.cond(rhs);
                Some(Type::Long)
            }
            _ => {
                let tl = self.expr(lhs, None);
                let tr = self.expr(rhs, tl);
                let tl = if tl.is_none() && tr.is_some() {
                    self.expr(lhs, tr)
                } else {
                    tl
                };
                if let (Some(x), Some(y)) = (tl, tr) {
                    if x != y || x == Type::Stats {
                        self.error(
                            Diagnostic::semantic_error(format!("cannot compare a {x} with a {y}"))
                                .with_primary(rhs.span, format!("a {y}"))
                                .with_secondary(lhs.span, format!("a {x}")),
                        );
                    }
                }
                Some(Type::Long)
            }
        }
    }

    fn call(
        &mut self,
        e: &ast::Expr,
        name: &ast::Ident,
        args: &[ast::Expr],
        expect: Option<Type>,
    ) -> Option<Type> {
        // No overload of this arity: report the last one defined, as
        // SystemTap does.
        let found = self
            .cx
            .function_with_arity(&name.name, args.len())
            .or_else(|| self.cx.function_defined_last(&name.name));
        let Some(f) = found else {
            // SystemTap's words, with its five nearest names.
            let similar = self.cx.similar_functions(&name.name);
            let d =
                Diagnostic::semantic_error(format!("unresolved function {}{similar}", name.name))
                    .with_primary(name.span, "no script or tapset function has this name");
            self.resolution_error(d);
            for a in args {
                self.expr(a, None);
            }
            return None;
        };
        if self.report {
            self.facts.calls.insert(e.id, f);
        }
        self.cx.functions[f].used = true;
        if !self.cx.config.guru && self.cx.functions[f].guru_only() {
            self.error(
                Diagnostic::semantic_error("function may not be used unless -g is specified")
                    .with_primary(name.span, "this tapset function needs guru mode")
                    .with_help("run stap with -g if you trust this script"),
            );
        }
        if let Some(why) = self.cx.functions[f].unsupported() {
            let d = Diagnostic::semantic_error(format!("unsupported function '{}'", name.name))
                .with_primary(name.span, "called here")
                .with_help(why.to_string());
            self.error(d);
        }
        if let Some(what) = self.cx.functions[f].warning() {
            let d = Diagnostic::warning(what.to_string()).with_primary(name.span, "called here");
            self.error(d);
        }
        let params = self.cx.functions[f].def.params.len();
        if args.len() != params {
            let fname = &self.cx.functions[f].def.name;
            let d = Diagnostic::semantic_error(format!(
                "arity mismatch found (function '{}' takes {params} args)",
                name.name
            ))
            .with_primary(name.span, "called here")
            .with_secondary(fname.span, "defined here");
            self.resolution_error(d);
        }
        for (i, a) in args.iter().enumerate() {
            if i >= params {
                self.expr(a, None);
                continue;
            }
            let expect = self.slot(SlotRef::Param(f, i)).ty;
            match self.expr(a, expect) {
                Some(Type::Stats) => self.error(
                    Diagnostic::semantic_error("statistics cannot be passed to a function")
                        .with_primary(a.span, "statistics"),
                ),
                Some(t) => {
                    let pname = self.cx.functions[f].def.params[i].name.name.clone();
                    self.unify(
                        SlotRef::Param(f, i),
                        t,
                        a.span,
                        &format!("parameter '{pname}' of '{}'", name.name),
                    );
                }
                None => {}
            }
        }
        // A function whose body does not decide its type takes it from
        // where it is called, as a variable does (`h() + early`: `h` is
        // long, and so is the global it returns).
        if let (Some(t), None) = (expect, self.return_type(f)) {
            self.unify(
                SlotRef::Return(f),
                t,
                name.span,
                &format!("the value of '{}'", name.name),
            );
        }
        self.return_type(f)
    }

    /// `@entry(e)` in a `.return` probe: `e` is evaluated when the function
    /// is entered (with its parameters readable) and saved for the return.
    fn entry(&mut self, inner: &ast::Expr, span: Span) -> Option<Type> {
        let Some(at_entry) = self.context.vars().at_entry() else {
            self.error(target::no_entry(span));
            return None;
        };
        if self.in_entry {
            return self.expr(inner, None);
        }
        let outer = std::mem::replace(&mut self.context, at_entry);
        self.in_entry = true;
        let ty = self.expr(inner, None);
        self.in_entry = false;
        self.context = outer;
        match ty {
            Some(Type::Stats) => {
                self.error(
                    Diagnostic::semantic_error("@entry cannot save statistics")
                        .with_primary(inner.span, "statistics"),
                );
                None
            }
            _ => Some(ty.unwrap_or(Type::Long)),
        }
    }
}

/// Whether `body` writes variable `name` (`=`, `op=`, `<<<`, `++`/`--`,
/// `delete`, to it or an element of it): `@probewrite(name)`.
fn writes_variable(body: &ast::Block, name: &str) -> bool {
    use crate::syntax::visit::{self, Visitor};
    struct Writes<'n> {
        name: &'n str,
        found: bool,
    }
    impl Writes<'_> {
        fn target(&mut self, e: &ast::Expr) {
            let root = match &e.kind {
                ast::ExprKind::Var(v) => Some(v.name.as_str()),
                ast::ExprKind::Index {
                    base: ast::Indexable::Var(v),
                    ..
                } => Some(v.name.as_str()),
                ast::ExprKind::Target(t) => match &t.base {
                    ast::TargetBase::Var(v) => Some(v.name.as_str()),
                    _ => None,
                },
                _ => None,
            };
            self.found |= root == Some(self.name);
        }
    }
    impl Visitor for Writes<'_> {
        fn visit_expr(&mut self, e: &ast::Expr) {
            match &e.kind {
                ast::ExprKind::Assign { lhs, .. } => self.target(lhs),
                ast::ExprKind::Crement { operand, .. } => self.target(operand),
                _ => {}
            }
            visit::walk_expr(self, e);
        }
        fn visit_stmt(&mut self, s: &ast::Stmt) {
            if let ast::StmtKind::Delete(e) = &s.kind {
                self.target(e);
            }
            visit::walk_stmt(self, s);
        }
    }
    let mut w = Writes { name, found: false };
    w.visit_block(body);
    w.found
}
