//! The checker: one walk over a body that infers types and lowers to IR.
//!
//! Analysis runs the walk over every body repeatedly, quietly, until no
//! variable's type changes (types flow both ways: from a value into the
//! variable it is assigned to, and from a variable's known type into an
//! expression that needs one). A last walk reports every problem and
//! keeps the IR it builds.

use crate::diag::{Diagnostic, Span};
use crate::ir::{self, Type};
use crate::syntax::ast;

use super::scope::{LocalVar, Locals, Shape, Slot};
use super::{format, Context};

/// What a walk is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Learn types; report nothing.
    Infer,
    /// Report problems and keep the IR.
    Lower,
}

/// A variable reference, resolved.
#[derive(Debug, Clone, Copy)]
enum VarRef {
    Local(usize),
    Global(usize),
}

/// Walks one body.
pub struct Walker<'c, 'a> {
    pub cx: &'c mut Context<'a>,
    pub locals: Locals,
    /// The function being walked (its index), if any.
    pub function: Option<usize>,
    pub mode: Mode,
    loops: usize,
    /// The target variables the probe being walked offers.
    pub context: super::points::ProbeContext,
    /// Arrays being iterated by enclosing foreach loops, with the loop's span.
    iterating: Vec<(usize, Span)>,
    /// Values a `.return` probe saves at function entry (`@entry(e)`,
    /// parameters): slot k is `entry[k]`.
    pub entry: Vec<ir::Expr>,
    /// Lowering an `@entry(...)` operand (no locals exist there).
    pub(super) in_entry: bool,
    /// A change of any type happened during this walk.
    pub changed: bool,
    /// The probe handler's own body (not its aliases' prologues and
    /// epilogues), for `@probewrite`; `None` in functions.
    pub probe_body: Option<&'a ast::Block>,
}

fn long_expr(kind: ir::ExprKind, location: ir::Location) -> ir::Expr {
    ir::Expr {
        kind,
        ty: Some(Type::Long),
        location,
    }
}

impl<'c, 'a> Walker<'c, 'a> {
    pub fn new(
        cx: &'c mut Context<'a>,
        locals: Locals,
        function: Option<usize>,
        mode: Mode,
    ) -> Self {
        Walker {
            cx,
            locals,
            function,
            mode,
            loops: 0,
            iterating: Vec::new(),
            context: super::points::ProbeContext::None,
            changed: false,
            entry: Vec::new(),
            in_entry: false,
            probe_body: None,
        }
    }

    fn error(&mut self, d: Diagnostic) {
        if self.mode == Mode::Lower {
            self.cx.diagnostics.push(d);
        }
    }

    fn warn(&mut self, d: Diagnostic) {
        if self.mode == Mode::Lower {
            self.cx.diagnostics.push(d);
        }
    }

    /// The compiled form of an `=~` pattern (compiled once per distinct
    /// pattern); a pattern that does not compile is reported at its literal.
    fn regex(&mut self, pattern: &ast::StrLit) -> ir::RegexId {
        let cx = &mut *self.cx;
        let compiled = cx
            .regex_index
            .entry(pattern.value.clone())
            .or_insert_with(|| {
                super::regex::compile(&pattern.value).map(|dfa| {
                    cx.regexes.push(dfa);
                    cx.regex_spans.push(pattern.span);
                    (cx.regexes.len() - 1) as u32
                })
            })
            .clone();
        match compiled {
            Ok(id) => ir::RegexId(id),
            Err(e) => {
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
                ir::RegexId(u32::MAX)
            }
        }
    }

    /// Records that `slot` has type `ty` because of the code at `at`.
    fn unify(&mut self, slot: SlotRef, ty: Type, at: Span, what: &str) {
        let current = self.slot(slot);
        match current.ty {
            None => {
                *self.slot_mut(slot) = Slot {
                    ty: Some(ty),
                    decided_at: Some(at),
                };
                self.changed = true;
            }
            Some(t) if t == ty => {}
            Some(t) => {
                let mut d = Diagnostic::semantic_error(format!(
                    "type mismatch for {what}: it is {t} here but used as {ty}"
                ))
                .with_primary(at, format!("used as {ty}"));
                if let Some(prev) = current.decided_at {
                    if prev != at {
                        d = d.with_secondary(prev, format!("{t} because of this"));
                    }
                }
                self.error(d);
            }
        }
    }

    fn slot(&self, slot: SlotRef) -> Slot {
        match slot {
            SlotRef::Local(i) => self.locals.vars[i].slot,
            SlotRef::GlobalValue(g) => self.cx.globals[g].value,
            SlotRef::GlobalKey(g, k) => self.cx.globals[g].keys[k],
            SlotRef::Return(f) => self.cx.functions[f].ret,
            SlotRef::Param(f, i) => {
                if Some(f) == self.function {
                    self.locals.vars[i].slot
                } else {
                    self.cx.functions[f].locals.vars[i].slot
                }
            }
        }
    }

    fn slot_mut(&mut self, slot: SlotRef) -> &mut Slot {
        match slot {
            SlotRef::Local(i) => &mut self.locals.vars[i].slot,
            SlotRef::GlobalValue(g) => &mut self.cx.globals[g].value,
            SlotRef::GlobalKey(g, k) => &mut self.cx.globals[g].keys[k],
            SlotRef::Return(f) => &mut self.cx.functions[f].ret,
            SlotRef::Param(f, i) => {
                if Some(f) == self.function {
                    &mut self.locals.vars[i].slot
                } else {
                    &mut self.cx.functions[f].locals.vars[i].slot
                }
            }
        }
    }

    fn location(&self, span: Span, token: String) -> ir::Location {
        self.cx.location(span, token)
    }

    fn ident_location(&self, ident: &ast::Ident) -> ir::Location {
        self.location(ident.span, format!("identifier '{}'", ident.name))
    }

    // ---- variables --------------------------------------------------------

    fn resolve_var(&mut self, ident: &ast::Ident) -> Option<VarRef> {
        if ident.name.starts_with('$') {
            self.error(
                Diagnostic::semantic_error(format!(
                    "target variable '{}' is not available here",
                    ident.name
                ))
                .with_primary(ident.span, "no probe context provides target variables")
                .with_help(
                    "target variables need a kernel.function, kernel.trace or process probe",
                ),
            );
            return None;
        }
        if let Some(i) = self.locals.get(&ident.name) {
            return Some(VarRef::Local(i));
        }
        if let Some(g) = self.cx.global_named(&ident.name, ident.span.file) {
            return Some(VarRef::Global(g));
        }
        Some(VarRef::Local(
            self.locals.get_or_add(&ident.name, ident.span),
        ))
    }

    /// Reports a change to an array inside a foreach over that array.
    fn check_not_iterating(&mut self, g: usize, at: Span) {
        if let Some(&(_, loop_span)) = self.iterating.iter().find(|(it, _)| *it == g) {
            let name = self.cx.globals[g].name.clone();
            self.error(
                Diagnostic::semantic_error(format!(
                    "'{name}' cannot be modified inside a foreach over it"
                ))
                .with_primary(at, "modified here")
                .with_secondary(loop_span, "while this foreach iterates it")
                .with_help("collect the keys in another array and change this one after the loop"),
            );
        }
    }

    /// Marks a global as scalar or as an array of `arity` keys.
    fn shape(&mut self, g: usize, shape: Shape, at: Span) -> bool {
        let current = self.cx.globals[g].shape;
        if current == Shape::Unknown {
            self.cx.globals[g].shape = shape;
            self.cx.globals[g].shape_at = Some(at);
            if let Shape::Array(n) = shape {
                self.cx.globals[g].keys = vec![Slot::default(); n];
            }
            self.changed = true;
            return true;
        }
        if current == shape {
            return true;
        }
        let name = self.cx.globals[g].name.clone();
        let what = |s: Shape| match s {
            Shape::Scalar => "a scalar".to_string(),
            Shape::Array(n) => format!("an array with {n} key(s)"),
            Shape::Unknown => "unknown".to_string(),
        };
        let mut d = Diagnostic::semantic_error(format!(
            "'{name}' is used as {} and as {}",
            what(current),
            what(shape)
        ))
        .with_primary(at, format!("used as {}", what(shape)));
        if let Some(prev) = self.cx.globals[g].shape_at {
            d = d.with_secondary(prev, format!("used as {} here", what(current)));
        }
        self.error(d);
        false
    }

    // ---- statements -------------------------------------------------------

    pub fn block(&mut self, b: &ast::Block) -> ir::Block {
        ir::Block {
            stmts: b.stmts.iter().filter_map(|s| self.stmt(s)).collect(),
        }
    }

    fn stmt_as_block(&mut self, s: &ast::Stmt) -> ir::Block {
        match &s.kind {
            ast::StmtKind::Block(b) => self.block(b),
            _ => ir::Block {
                stmts: self.stmt(s).into_iter().collect(),
            },
        }
    }

    fn keyword_location(&self, span: Span, keyword: &str) -> ir::Location {
        self.location(span, format!("keyword '{keyword}'"))
    }

    fn cond(&mut self, e: &ast::Expr) -> ir::Expr {
        let (ty, ir) = self.expr(e, Some(Type::Long));
        if let Some(t) = ty.filter(|t| *t != Type::Long) {
            self.error(
                Diagnostic::semantic_error(format!("condition must be a number, not a {t}"))
                    .with_primary(e.span, format!("this is a {t}")),
            );
        }
        ir
    }

    pub(super) fn stmt(&mut self, s: &ast::Stmt) -> Option<ir::Stmt> {
        let kind = match &s.kind {
            ast::StmtKind::Empty => return None,
            ast::StmtKind::Block(b) => ir::StmtKind::Block(self.block(b)),
            ast::StmtKind::Expr(e) => {
                // Statement-level errors (MAXACTION) point at the first
                // token, as SystemTap's do.
                let location = self.expr_location(first_operand(e));
                let (_, ir) = self.expr(e, None);
                return Some(ir::Stmt {
                    kind: ir::StmtKind::Expr(ir),
                    location,
                });
            }
            ast::StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                // `if (@defined($x))`: only the branch that applies is
                // translated, so the other may name what does not exist.
                if let Some(truth) = self.static_truth(cond) {
                    let taken = if truth {
                        Some(&**then)
                    } else {
                        otherwise.as_deref()
                    };
                    let block = taken.map(|s| self.stmt_as_block(s)).unwrap_or_default();
                    return Some(ir::Stmt {
                        kind: ir::StmtKind::Block(block),
                        location: self.keyword_location(s.span, "if"),
                    });
                }
                let cond = self.cond(cond);
                let then = self.stmt_as_block(then);
                let els = otherwise.as_ref().map(|o| self.stmt_as_block(o));
                return Some(ir::Stmt {
                    kind: ir::StmtKind::If { cond, then, els },
                    location: self.keyword_location(s.span, "if"),
                });
            }
            ast::StmtKind::While { cond, body } => {
                let cond = self.cond(cond);
                self.loops += 1;
                let body = self.stmt_as_block(body);
                self.loops -= 1;
                return Some(ir::Stmt {
                    kind: ir::StmtKind::While { cond, body },
                    location: self.keyword_location(s.span, "while"),
                });
            }
            ast::StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                let init = init.as_ref().map(|e| self.expr(e, None).1);
                let cond = cond.as_ref().map(|e| self.cond(e));
                let step = step.as_ref().map(|e| self.expr(e, None).1);
                self.loops += 1;
                let body = self.stmt_as_block(body);
                self.loops -= 1;
                return Some(ir::Stmt {
                    kind: ir::StmtKind::For {
                        init,
                        cond,
                        step,
                        body,
                    },
                    location: self.keyword_location(s.span, "for"),
                });
            }
            ast::StmtKind::Foreach(f) => return self.foreach(f, s.span),
            ast::StmtKind::Break | ast::StmtKind::Continue => {
                let word = if matches!(s.kind, ast::StmtKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                if self.loops == 0 {
                    self.error(
                        Diagnostic::semantic_error(format!("'{word}' outside a loop"))
                            .with_primary(s.span, "not inside while, for or foreach"),
                    );
                }
                if word == "break" {
                    ir::StmtKind::Break
                } else {
                    ir::StmtKind::Continue
                }
            }
            ast::StmtKind::Next => {
                if self.function.is_some() {
                    self.error(
                        Diagnostic::semantic_error("'next' is only allowed in probe handlers")
                            .with_primary(s.span, "inside a function")
                            .with_help("use 'return' to leave a function"),
                    );
                }
                ir::StmtKind::Next
            }
            ast::StmtKind::Return(value) => self.return_stmt(value.as_ref(), s.span),
            ast::StmtKind::Delete(e) => match self.delete(e) {
                Some(d) => ir::StmtKind::Delete(d),
                None => return None,
            },
            ast::StmtKind::Try {
                body,
                catch_var,
                catch,
            } => {
                let body = self.block(body);
                let catch_var = catch_var.as_ref().map(|v| {
                    let i = self.locals.get_or_add(&v.name, v.span);
                    self.locals.vars[i].assigned = true;
                    self.unify(
                        SlotRef::Local(i),
                        Type::String,
                        v.span,
                        &format!("'{}'", v.name),
                    );
                    ir::LocalId(i as u32)
                });
                let handler = self.block(catch);
                ir::StmtKind::Try {
                    body,
                    catch_var,
                    handler,
                }
            }
        };
        let location = self.stmt_location(s);
        Some(ir::Stmt { kind, location })
    }

    fn stmt_location(&self, s: &ast::Stmt) -> ir::Location {
        let word = match &s.kind {
            ast::StmtKind::Break => "break",
            ast::StmtKind::Continue => "continue",
            ast::StmtKind::Next => "next",
            ast::StmtKind::Return(_) => "return",
            ast::StmtKind::Delete(_) => "delete",
            ast::StmtKind::Try { .. } => "try",
            ast::StmtKind::Foreach(_) => "foreach",
            ast::StmtKind::Block(_) | ast::StmtKind::Empty => {
                return self.location(s.span.end_point(), "operator '{'".to_string());
            }
            _ => "",
        };
        self.keyword_location(s.span, word)
    }

    fn return_stmt(&mut self, value: Option<&ast::Expr>, span: Span) -> ir::StmtKind {
        let Some(f) = self.function else {
            self.error(
                Diagnostic::semantic_error("'return' outside a function")
                    .with_primary(span, "probe handlers end with 'next'")
                    .with_help("use 'next' to leave a probe handler early"),
            );
            return ir::StmtKind::Next;
        };
        match value {
            None => ir::StmtKind::Return(None),
            Some(e) => {
                self.cx.functions[f].returns_value = true;
                let expect = self.cx.functions[f].ret.ty;
                let (ty, ir) = self.expr(e, expect);
                let name = self.cx.functions[f].def.name.name.clone();
                match ty {
                    Some(Type::Stats) => self.error(
                        Diagnostic::semantic_error("a function cannot return statistics")
                            .with_primary(e.span, "this is a statistics value"),
                    ),
                    Some(t) => self.unify(
                        SlotRef::Return(f),
                        t,
                        e.span,
                        &format!("the return value of '{name}'"),
                    ),
                    None => {}
                }
                ir::StmtKind::Return(Some(ir))
            }
        }
    }

    fn delete(&mut self, e: &ast::Expr) -> Option<ir::Delete> {
        match &e.kind {
            ast::ExprKind::Var(v) => match self.resolve_var(v)? {
                VarRef::Local(i) => Some(ir::Delete::Local(ir::LocalId(i as u32))),
                VarRef::Global(g) => {
                    self.check_not_iterating(g, e.span);
                    self.cx.mark_written(g, e.span);
                    Some(ir::Delete::Global(ir::GlobalId(g as u32)))
                }
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let g = self.array_global(v, indices.len())?;
                self.check_not_iterating(g, e.span);
                self.cx.mark_written(g, e.span);
                let keys = indices
                    .iter()
                    .enumerate()
                    .map(|(k, item)| match item {
                        ast::IndexItem::Wildcard(_) => None,
                        ast::IndexItem::Expr(ke) => Some(self.key_expr(g, k, ke)),
                    })
                    .collect();
                Some(ir::Delete::Elements {
                    array: ir::GlobalId(g as u32),
                    keys,
                })
            }
            _ => {
                self.error(
                    Diagnostic::semantic_error("'delete' needs a variable or an array element")
                        .with_primary(e.span, "cannot delete this"),
                );
                None
            }
        }
    }

    fn foreach(&mut self, f: &ast::Foreach, span: Span) -> Option<ir::Stmt> {
        let ast::Indexable::Var(array) = &f.base else {
            self.error(
                Diagnostic::semantic_error(
                    "foreach over a histogram's buckets is not supported yet",
                )
                .with_primary(f.base.span(), "a histogram"),
            );
            return None;
        };
        let g = self.array_global(array, f.keys.len())?;
        self.cx.globals[g].read = true;
        let slice = match &f.slice {
            None => Vec::new(),
            Some(items) => {
                if items.len() != f.keys.len() {
                    self.error(
                        Diagnostic::semantic_error(format!(
                            "inconsistent arity: the slice of '{}' has {} key(s) but the loop binds {}",
                            array.name,
                            items.len(),
                            f.keys.len()
                        ))
                        .with_primary(array.span, "the array sliced")
                        .with_help("give one key or '*' per key variable"),
                    );
                    return None;
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(k, item)| match item {
                        ast::IndexItem::Wildcard(_) => None,
                        ast::IndexItem::Expr(ke) => Some(self.key_expr(g, k, ke)),
                    })
                    .collect()
            }
        };
        let mut keys = Vec::new();
        for (k, key) in f.keys.iter().enumerate() {
            let i = self.locals.get_or_add(&key.name, key.span);
            self.locals.vars[i].assigned = true;
            self.link(
                SlotRef::Local(i),
                SlotRef::GlobalKey(g, k),
                key.span,
                &format!("'{}'", key.name),
            );
            keys.push(ir::LocalId(i as u32));
        }
        let value = f.value.as_ref().map(|v| {
            let i = self.locals.get_or_add(&v.name, v.span);
            self.locals.vars[i].assigned = true;
            if self.cx.globals[g].value.ty == Some(Type::Stats) {
                self.error(
                    Diagnostic::semantic_error(
                        "the value of a statistics array cannot be assigned to a variable",
                    )
                    .with_primary(
                        v.span,
                        "use @count(array[key]) and friends in the loop instead",
                    ),
                );
            } else {
                self.link(
                    SlotRef::Local(i),
                    SlotRef::GlobalValue(g),
                    v.span,
                    &format!("'{}'", v.name),
                );
            }
            ir::LocalId(i as u32)
        });
        let sort = f.sort.map(|s| ir::Sort {
            by: match (s.column, s.aggregate) {
                (ast::SortColumn::Key(k), _) => ir::SortKey::Key(k),
                (ast::SortColumn::Value, Some(op)) => ir::SortKey::Aggregate(aggregate(op)),
                (ast::SortColumn::Value, None) => ir::SortKey::Value,
            },
            descending: s.direction == ast::SortDirection::Descending,
        });
        let limit = f.limit.as_ref().map(|l| self.cond(l));
        self.loops += 1;
        self.iterating.push((g, array.span));
        let body = self.stmt_as_block(&f.body);
        self.iterating.pop();
        self.loops -= 1;
        Some(ir::Stmt {
            kind: ir::StmtKind::Foreach(Box::new(ir::Foreach {
                array: ir::GlobalId(g as u32),
                keys,
                value,
                slice,
                sort,
                limit,
                body,
            })),
            location: self.keyword_location(span, "foreach"),
        })
    }

    /// Makes two slots agree: whichever is known decides the other.
    fn link(&mut self, a: SlotRef, b: SlotRef, at: Span, what: &str) {
        match (self.slot(a).ty, self.slot(b).ty) {
            (Some(t), _) => self.unify(b, t, at, what),
            (None, Some(t)) => self.unify(a, t, at, what),
            (None, None) => {}
        }
    }

    /// The global array `v` used with `arity` keys.
    fn array_global(&mut self, v: &ast::Ident, arity: usize) -> Option<usize> {
        match self.resolve_var(v)? {
            VarRef::Global(g) => {
                if self.shape(g, Shape::Array(arity), v.span) {
                    Some(g)
                } else {
                    None
                }
            }
            VarRef::Local(i) => {
                // Reported once here; keep the local from cascading.
                self.locals.vars[i].assigned = true;
                if self.locals.vars[i].slot.ty.is_none() {
                    self.locals.vars[i].slot.ty = Some(Type::Long);
                }
                self.error(
                    Diagnostic::semantic_error(format!(
                        "'{}' is indexed like an array, but arrays must be global",
                        v.name
                    ))
                    .with_primary(v.span, "a local variable")
                    .with_help(format!("declare it: global {}", v.name)),
                );
                None
            }
        }
    }

    fn key_expr(&mut self, g: usize, k: usize, e: &ast::Expr) -> ir::Expr {
        let expect = self.cx.globals[g].keys[k].ty;
        let (ty, ir) = self.expr(e, expect);
        let name = self.cx.globals[g].name.clone();
        match ty {
            Some(Type::Stats) => self.error(
                Diagnostic::semantic_error("array keys must be numbers or strings")
                    .with_primary(e.span, "statistics"),
            ),
            Some(t) => self.unify(
                SlotRef::GlobalKey(g, k),
                t,
                e.span,
                &format!("key {} of '{name}'", k + 1),
            ),
            None => {}
        }
        ir
    }

    // ---- expressions ------------------------------------------------------

    fn expr_location(&self, e: &ast::Expr) -> ir::Location {
        use ast::ExprKind as K;
        match &e.kind {
            K::Number(n) => self.location(e.span, format!("number '{n}'")),
            K::String(s) => {
                self.location(e.span, format!("string \"{}\"", String::from_utf8_lossy(s)))
            }
            K::Var(v) => self.ident_location(v),
            K::Index {
                base: ast::Indexable::Var(v),
                ..
            } => self.ident_location(v),
            K::Call { name, .. } => self.ident_location(name),
            K::Print(p) => self.location(e.span, format!("identifier '{}'", p.kind.name())),
            K::Binary { op, lhs, rhs } => self.location(
                self.cx.operator_span(lhs.span, rhs.span, op.as_str()),
                format!("operator '{}'", op.as_str()),
            ),
            K::Assign { op, lhs, rhs } => self.location(
                self.cx.operator_span(lhs.span, rhs.span, op.as_str()),
                format!("operator '{}'", op.as_str()),
            ),
            K::Crement { op, fix, operand } => {
                let span = match fix {
                    ast::Fix::Prefix => Span::new(e.span.file, e.span.start, e.span.start + 2),
                    ast::Fix::Postfix => Span::new(e.span.file, operand.span.end, e.span.end),
                };
                self.location(span, format!("operator '{}'", op.as_str()))
            }
            K::Unary { op, .. } => self.location(
                Span::new(e.span.file, e.span.start, e.span.start + 1),
                format!("operator '{}'", op.as_str()),
            ),
            K::Stat { op, .. } => self.location(e.span, format!("operator '@{}'", op.name())),
            K::Ternary { cond, then, .. } => self.location(
                self.cx.operator_span(cond.span, then.span, "?"),
                "operator '?'".into(),
            ),
            K::In { .. } => self.location(e.span, "operator 'in'".into()),
            K::Regex {
                negated,
                lhs,
                pattern,
            } => {
                let op = if *negated { "!~" } else { "=~" };
                self.location(
                    self.cx.operator_span(lhs.span, pattern.span, op),
                    format!("operator '{op}'"),
                )
            }
            _ => self.location(e.span, "operator".into()),
        }
    }

    /// Types and lowers `e`; `expect` is the type the context wants, which
    /// decides the type of variables that have none yet.
    pub fn expr(&mut self, e: &ast::Expr, expect: Option<Type>) -> (Option<Type>, ir::Expr) {
        use ast::ExprKind as K;
        let location = self.expr_location(e);
        let mk = |kind, ty, location| ir::Expr { kind, ty, location };
        match &e.kind {
            K::Number(n) => (
                Some(Type::Long),
                long_expr(ir::ExprKind::Long(*n), location),
            ),
            K::String(s) => {
                let text = String::from_utf8_lossy(s).into_owned();
                (
                    Some(Type::String),
                    mk(ir::ExprKind::Str(text), Some(Type::String), location),
                )
            }
            K::Var(v) => match self.resolve_var(v) {
                None => (None, long_expr(ir::ExprKind::Long(0), location)),
                Some(VarRef::Local(_)) if self.in_entry => {
                    self.error(
                        Diagnostic::semantic_error(format!(
                            "@entry cannot read the local '{}': locals do not exist yet when the function is entered",
                            v.name
                        ))
                        .with_primary(v.span, "a local of this probe"),
                    );
                    (None, long_expr(ir::ExprKind::Long(0), location))
                }
                Some(VarRef::Local(i)) => {
                    if let Some(t) = expect {
                        if self.locals.vars[i].slot.ty.is_none() {
                            self.unify(SlotRef::Local(i), t, v.span, &format!("'{}'", v.name));
                        }
                    }
                    let ty = self.locals.vars[i].slot.ty;
                    (
                        ty,
                        mk(ir::ExprKind::Local(ir::LocalId(i as u32)), ty, location),
                    )
                }
                Some(VarRef::Global(g)) => {
                    if !self.shape(g, Shape::Scalar, v.span) {
                        return (None, long_expr(ir::ExprKind::Long(0), location));
                    }
                    self.cx.globals[g].read = true;
                    if let (Some(t), None) = (expect, self.cx.globals[g].value.ty) {
                        self.unify(SlotRef::GlobalValue(g), t, v.span, &format!("'{}'", v.name));
                    }
                    let ty = self.cx.globals[g].value.ty;
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
                    (
                        ty,
                        mk(ir::ExprKind::Global(ir::GlobalId(g as u32)), ty, location),
                    )
                }
            },
            K::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let Some(g) = self.array_global(v, indices.len()) else {
                    return (None, long_expr(ir::ExprKind::Long(0), location));
                };
                self.cx.globals[g].read = true;
                let keys = self.keys(g, indices);
                if let (Some(t), None) = (expect, self.cx.globals[g].value.ty) {
                    self.unify(
                        SlotRef::GlobalValue(g),
                        t,
                        v.span,
                        &format!("the elements of '{}'", v.name),
                    );
                }
                let ty = self.cx.globals[g].value.ty;
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
                (
                    ty,
                    mk(
                        ir::ExprKind::Index {
                            array: ir::GlobalId(g as u32),
                            keys,
                        },
                        ty,
                        location,
                    ),
                )
            }
            K::Index {
                base: ast::Indexable::Hist(h),
                ..
            } => {
                self.error(
                    Diagnostic::semantic_error(
                        "indexing a histogram's buckets is not supported yet",
                    )
                    .with_primary(h.span, "a histogram"),
                );
                (None, long_expr(ir::ExprKind::Long(0), location))
            }
            K::Call { name, args } => self.call(name, args, location),
            K::Print(p) => self.print(p, e.span, location),
            K::Unary { op, operand } => {
                let (ty, inner) = self.expr(operand, Some(Type::Long));
                self.require(
                    ty,
                    Type::Long,
                    operand.span,
                    &format!("operator '{}'", op.as_str()),
                );
                let kind = match op {
                    ast::UnaryOp::Plus => return (Some(Type::Long), inner),
                    ast::UnaryOp::Neg => ir::UnaryOp::Neg,
                    ast::UnaryOp::Not => ir::UnaryOp::Not,
                    ast::UnaryOp::BitNot => ir::UnaryOp::BitNot,
                };
                (
                    Some(Type::Long),
                    long_expr(
                        ir::ExprKind::Unary {
                            op: kind,
                            operand: Box::new(inner),
                        },
                        location,
                    ),
                )
            }
            K::Crement { op, fix, operand } => {
                let target = self.lvalue(
                    operand,
                    Some(Type::Long),
                    &format!("operator '{}'", op.as_str()),
                );
                let kind = match target {
                    Some(target) => ir::ExprKind::IncDec {
                        target,
                        increment: *op == ast::CrementOp::Increment,
                        prefix: *fix == ast::Fix::Prefix,
                    },
                    None => ir::ExprKind::Long(0),
                };
                (Some(Type::Long), long_expr(kind, location))
            }
            K::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, location),
            K::Regex {
                negated,
                lhs,
                pattern,
            } => {
                let (ty, subject) = self.expr(lhs, Some(Type::String));
                self.require(ty, Type::String, lhs.span, "a regular expression match");
                let regex = self.regex(pattern);
                (
                    Some(Type::Long),
                    long_expr(
                        ir::ExprKind::Regex {
                            subject: Box::new(subject),
                            regex,
                            negate: *negated,
                        },
                        location,
                    ),
                )
            }
            K::Ternary {
                cond,
                then,
                otherwise,
            } => {
                // `@defined($x) ? $x : 0` (and `@choose_defined`): only the
                // branch that applies is translated.
                if let Some(truth) = self.static_truth(cond) {
                    return self.expr(if truth { then } else { otherwise }, expect);
                }
                let cond = self.cond(cond);
                let (t1, a) = self.expr(then, expect);
                let (t2, b) = self.expr(otherwise, t1.or(expect));
                let (t1, a) = if t1.is_none() && t2.is_some() {
                    self.expr(then, t2)
                } else {
                    (t1, a)
                };
                let ty = match (t1, t2) {
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
                };
                (
                    ty,
                    mk(
                        ir::ExprKind::Ternary {
                            cond: Box::new(cond),
                            then: Box::new(a),
                            els: Box::new(b),
                        },
                        ty,
                        location,
                    ),
                )
            }
            K::Assign { op, lhs, rhs } => self.assign(*op, lhs, rhs, location),
            K::In {
                keys,
                base: ast::Indexable::Var(v),
            } => {
                let Some(g) = self.array_global(v, keys.len()) else {
                    return (Some(Type::Long), long_expr(ir::ExprKind::Long(0), location));
                };
                self.cx.globals[g].read = true;
                let (keys, wildcards) = self.slice_keys(g, keys);
                (
                    Some(Type::Long),
                    long_expr(
                        ir::ExprKind::In {
                            array: ir::GlobalId(g as u32),
                            keys,
                            wildcards,
                        },
                        location,
                    ),
                )
            }
            K::In {
                base: ast::Indexable::Hist(h),
                ..
            } => {
                self.error(
                    Diagnostic::semantic_error("'in' a histogram is not supported")
                        .with_primary(h.span, "a histogram"),
                );
                (Some(Type::Long), long_expr(ir::ExprKind::Long(0), location))
            }
            K::Stat { op, operand, param } => {
                let mut wildcards = 0;
                let stats = self.stats_operand(operand, Some(&mut wildcards));
                if let (Some(shift), Some(stats)) = (param, &stats) {
                    self.variance_shift(stats, shift);
                }
                let kind = match stats {
                    Some(stats) => ir::ExprKind::Aggregate {
                        op: aggregate(*op),
                        stats,
                        wildcards,
                    },
                    None => ir::ExprKind::Long(0),
                };
                (Some(Type::Long), long_expr(kind, location))
            }
            K::Target(t) => self.target_expr(t, e.span, location),
            K::Defined(inner) => {
                let truth = self.defined(inner);
                (
                    Some(Type::Long),
                    long_expr(ir::ExprKind::Long(truth as i64), location),
                )
            }
            K::Entry(inner) => self.entry_expr(inner, e.span, location),
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
                    return (Some(Type::Long), long_expr(ir::ExprKind::Long(0), location));
                };
                let written = writes_variable(body, &v.name);
                (
                    Some(Type::Long),
                    long_expr(ir::ExprKind::Long(written as i64), location),
                )
            }
            K::Perf(_) | K::Register { .. } | K::Deref { .. } => {
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
                (None, long_expr(ir::ExprKind::Long(0), location))
            }
            K::Const(_) | K::Embedded(_) => {
                let code = match &e.kind {
                    K::Const(name) => name.to_str_lossy().into_owned(),
                    K::Embedded(code) => code.clone(),
                    _ => unreachable!("matched above"),
                };
                if !self.cx.config.guru {
                    self.error(
                        Diagnostic::semantic_error("embedded C in a script needs guru mode")
                            .with_primary(e.span, "a C expression")
                            .with_help("run stap with -g if you trust this code"),
                    );
                    return (Some(Type::Long), long_expr(ir::ExprKind::Long(0), location));
                }
                if code.trim().is_empty() {
                    self.error(
                        Diagnostic::semantic_error("an empty C expression")
                            .with_primary(e.span, "nothing to evaluate"),
                    );
                    return (Some(Type::Long), long_expr(ir::ExprKind::Long(0), location));
                }
                (
                    Some(Type::Long),
                    long_expr(ir::ExprKind::EmbeddedC(code), location),
                )
            }
        }
    }

    /// Records `@variance(s, N)`'s bit-shift on `s`'s global: 0..=62, one
    /// value per variable (stap(1)).
    fn variance_shift(&mut self, stats: &ir::LValue, shift: &ast::NumLit) {
        let g = match stats {
            ir::LValue::Global(g) | ir::LValue::Index { array: g, .. } => g.0 as usize,
            ir::LValue::Local(_) | ir::LValue::Target(_) => return,
        };
        if !(0..=62).contains(&shift.value) {
            self.error(
                Diagnostic::semantic_error(format!(
                    "@variance's bit-shift must be between 0 and 62, not {}",
                    shift.value
                ))
                .with_primary(shift.span, "out of range"),
            );
            return;
        }
        let value = shift.value as u32;
        match self.cx.globals[g].variance_shift {
            None => self.cx.globals[g].variance_shift = Some((value, shift.span)),
            Some((existing, at)) if existing != value => {
                let name = self.cx.globals[g].name.clone();
                self.error(
                    Diagnostic::semantic_error(format!(
                        "'{name}' is given two @variance bit-shifts, {existing} and {value}"
                    ))
                    .with_primary(shift.span, format!("bit-shift {value}"))
                    .with_secondary(at, format!("bit-shift {existing}"))
                    .with_help("only one bit-shift may be used with a given variable"),
                );
            }
            Some(_) => {}
        }
    }

    /// Keys where `*` is allowed (`[k, *] in a`, `@count(a[*, k])`): a
    /// placeholder `0` per `*`, and the mask of `*` columns.
    fn slice_keys(&mut self, g: usize, indices: &[ast::IndexItem]) -> (Vec<ir::Expr>, u32) {
        let mut mask = 0;
        let keys = indices
            .iter()
            .enumerate()
            .map(|(k, item)| match item {
                ast::IndexItem::Expr(ke) => self.key_expr(g, k, ke),
                ast::IndexItem::Wildcard(span) => {
                    mask |= 1 << k;
                    long_expr(ir::ExprKind::Long(0), self.location(*span, "'*'".into()))
                }
            })
            .collect();
        (keys, mask)
    }

    fn keys(&mut self, g: usize, indices: &[ast::IndexItem]) -> Vec<ir::Expr> {
        indices
            .iter()
            .enumerate()
            .filter_map(|(k, item)| match item {
                ast::IndexItem::Expr(ke) => Some(self.key_expr(g, k, ke)),
                ast::IndexItem::Wildcard(span) => {
                    self.error(
                        Diagnostic::semantic_error(
                            "a wildcard key only makes sense in 'delete', 'in' or aggregates",
                        )
                        .with_primary(*span, "'*' here"),
                    );
                    None
                }
            })
            .collect()
    }

    fn require(&mut self, got: Option<Type>, want: Type, at: Span, context: &str) {
        if let Some(t) = got.filter(|t| *t != want) {
            self.error(
                Diagnostic::semantic_error(format!("{context} needs a {want}, but this is a {t}"))
                    .with_primary(at, format!("a {t}")),
            );
        }
    }

    fn binary(
        &mut self,
        op: ast::BinaryOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        location: ir::Location,
    ) -> (Option<Type>, ir::Expr) {
        use ast::BinaryOp as B;
        let ctx = format!("operator '{}'", op.as_str());
        let arith = |op| match op {
            B::Add => Some(ir::BinaryOp::Add),
            B::Sub => Some(ir::BinaryOp::Sub),
            B::Mul => Some(ir::BinaryOp::Mul),
            B::Div => Some(ir::BinaryOp::Div),
            B::Mod => Some(ir::BinaryOp::Mod),
            B::Shl => Some(ir::BinaryOp::Shl),
            B::Shr => Some(ir::BinaryOp::Shr),
            B::UShr => Some(ir::BinaryOp::UShr),
            B::BitAnd => Some(ir::BinaryOp::BitAnd),
            B::BitOr => Some(ir::BinaryOp::BitOr),
            B::BitXor => Some(ir::BinaryOp::BitXor),
            _ => None,
        };
        if let Some(bop) = arith(op) {
            let (tl, a) = self.expr(lhs, Some(Type::Long));
            let (tr, b) = self.expr(rhs, Some(Type::Long));
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
            let kind = ir::ExprKind::Binary {
                op: bop,
                lhs: Box::new(a),
                rhs: Box::new(b),
            };
            return (Some(Type::Long), long_expr(kind, location));
        }
        match op {
            B::Concat => {
                let (tl, a) = self.expr(lhs, Some(Type::String));
                let (tr, b) = self.expr(rhs, Some(Type::String));
                self.require(tl, Type::String, lhs.span, &ctx);
                self.require(tr, Type::String, rhs.span, &ctx);
                (
                    Some(Type::String),
                    ir::Expr {
                        kind: ir::ExprKind::Concat(Box::new(a), Box::new(b)),
                        ty: Some(Type::String),
                        location,
                    },
                )
            }
            B::And | B::Or => {
                let a = self.cond(lhs);
                let b = self.cond(rhs);
                let op = if op == B::And {
                    ir::LogicalOp::And
                } else {
                    ir::LogicalOp::Or
                };
                (
                    Some(Type::Long),
                    long_expr(
                        ir::ExprKind::Logical {
                            op,
                            lhs: Box::new(a),
                            rhs: Box::new(b),
                        },
                        location,
                    ),
                )
            }
            _ => {
                let cop = match op {
                    B::Eq => ir::CompareOp::Eq,
                    B::Ne => ir::CompareOp::Ne,
                    B::Lt => ir::CompareOp::Lt,
                    B::Le => ir::CompareOp::Le,
                    B::Gt => ir::CompareOp::Gt,
                    _ => ir::CompareOp::Ge,
                };
                let (tl, a) = self.expr(lhs, None);
                let (tr, b) = self.expr(rhs, tl);
                let (tl, a) = if tl.is_none() && tr.is_some() {
                    self.expr(lhs, tr)
                } else {
                    (tl, a)
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
                let kind = ir::ExprKind::Compare {
                    op: cop,
                    lhs: Box::new(a),
                    rhs: Box::new(b),
                };
                (Some(Type::Long), long_expr(kind, location))
            }
        }
    }

    /// Resolves an assignable expression, typing it `want` if known.
    fn lvalue(&mut self, e: &ast::Expr, want: Option<Type>, context: &str) -> Option<ir::LValue> {
        match &e.kind {
            ast::ExprKind::Var(v) => match self.resolve_var(v)? {
                VarRef::Local(i) => {
                    self.locals.vars[i].assigned = true;
                    if let Some(t) = want {
                        self.unify(SlotRef::Local(i), t, v.span, &format!("'{}'", v.name));
                    }
                    Some(ir::LValue::Local(ir::LocalId(i as u32)))
                }
                VarRef::Global(g) => {
                    if !self.shape(g, Shape::Scalar, v.span) {
                        return None;
                    }
                    self.cx.mark_written(g, e.span);
                    if let Some(t) = want {
                        self.unify(SlotRef::GlobalValue(g), t, v.span, &format!("'{}'", v.name));
                    }
                    Some(ir::LValue::Global(ir::GlobalId(g as u32)))
                }
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let g = self.array_global(v, indices.len())?;
                self.cx.mark_written(g, e.span);
                let keys = self.keys(g, indices);
                if let Some(t) = want {
                    self.unify(
                        SlotRef::GlobalValue(g),
                        t,
                        v.span,
                        &format!("the elements of '{}'", v.name),
                    );
                }
                Some(ir::LValue::Index {
                    array: ir::GlobalId(g as u32),
                    keys,
                    location: self.ident_location(v),
                })
            }
            ast::ExprKind::Target(t) => self.target_lvalue(t, e.span, want, context),
            _ => {
                self.error(
                    Diagnostic::semantic_error(format!(
                        "{context} needs a variable or array element to change"
                    ))
                    .with_primary(e.span, "not assignable"),
                );
                None
            }
        }
    }

    fn lvalue_type(&self, lv: &ir::LValue) -> Option<Type> {
        match lv {
            ir::LValue::Local(i) => self.locals.vars[i.0 as usize].slot.ty,
            ir::LValue::Global(g) | ir::LValue::Index { array: g, .. } => {
                self.cx.globals[g.0 as usize].value.ty
            }
            ir::LValue::Target(_) => Some(Type::Long),
        }
    }

    fn assign(
        &mut self,
        op: ast::AssignOp,
        lhs: &ast::Expr,
        rhs: &ast::Expr,
        location: ir::Location,
    ) -> (Option<Type>, ir::Expr) {
        use ast::AssignOp as A;
        let ctx = format!("operator '{}'", op.as_str());
        let zero = |location| (None, long_expr(ir::ExprKind::Long(0), location));
        match op {
            A::Accumulate => {
                if let ast::ExprKind::Var(v) = &lhs.kind {
                    if self.cx.global_named(&v.name, v.span.file).is_none() {
                        self.error(
                            Diagnostic::semantic_error(format!(
                                "'{}' collects statistics, so it must be global",
                                v.name
                            ))
                            .with_primary(v.span, "a local variable")
                            .with_help(format!("declare it: global {}", v.name)),
                        );
                        let _ = self.expr(rhs, Some(Type::Long));
                        return zero(location);
                    }
                }
                let target = self.lvalue(lhs, Some(Type::Stats), &ctx);
                let (tr, value) = self.expr(rhs, Some(Type::Long));
                self.require(tr, Type::Long, rhs.span, &ctx);
                match target {
                    Some(target) => {
                        let kind = ir::ExprKind::StatAdd {
                            target,
                            value: Box::new(value),
                        };
                        (
                            None,
                            ir::Expr {
                                kind,
                                ty: None,
                                location,
                            },
                        )
                    }
                    None => zero(location),
                }
            }
            A::Assign => {
                // The value's type decides the target's, or the target's the value's.
                let probe_target = self.peek_lvalue_type(lhs);
                let (tr, value) = self.expr(rhs, probe_target);
                if tr == Some(Type::Stats) {
                    self.error(
                        Diagnostic::semantic_error(
                            "statistics cannot be assigned; add values with '<<<'",
                        )
                        .with_primary(rhs.span, "a statistics value"),
                    );
                }
                let Some(target) = self.lvalue(lhs, tr.filter(|t| *t != Type::Stats), &ctx) else {
                    return zero(location);
                };
                let ty = self.lvalue_type(&target);
                if tr.is_none() {
                    if let Some(t) = ty {
                        // Tell the value (e.g. an untyped local) what it must be.
                        let _ = self.expr(rhs, Some(t));
                    }
                }
                let kind = ir::ExprKind::Assign {
                    target,
                    op: ir::AssignOp::Set,
                    value: Box::new(value),
                };
                (ty, ir::Expr { kind, ty, location })
            }
            A::Concat => {
                let target = self.lvalue(lhs, Some(Type::String), &ctx);
                let (tr, value) = self.expr(rhs, Some(Type::String));
                self.require(tr, Type::String, rhs.span, &ctx);
                match target {
                    Some(target) => {
                        let kind = ir::ExprKind::Assign {
                            target,
                            op: ir::AssignOp::Concat,
                            value: Box::new(value),
                        };
                        (
                            Some(Type::String),
                            ir::Expr {
                                kind,
                                ty: Some(Type::String),
                                location,
                            },
                        )
                    }
                    None => zero(location),
                }
            }
            _ => {
                let bop = match op {
                    A::Add => ir::BinaryOp::Add,
                    A::Sub => ir::BinaryOp::Sub,
                    A::Mul => ir::BinaryOp::Mul,
                    A::Div => ir::BinaryOp::Div,
                    A::Mod => ir::BinaryOp::Mod,
                    A::Shl => ir::BinaryOp::Shl,
                    A::Shr => ir::BinaryOp::Shr,
                    A::BitAnd => ir::BinaryOp::BitAnd,
                    A::BitOr => ir::BinaryOp::BitOr,
                    _ => ir::BinaryOp::BitXor,
                };
                let target = self.lvalue(lhs, Some(Type::Long), &ctx);
                let (tr, value) = self.expr(rhs, Some(Type::Long));
                self.require(tr, Type::Long, rhs.span, &ctx);
                match target {
                    Some(target) => {
                        let kind = ir::ExprKind::Assign {
                            target,
                            op: ir::AssignOp::Arith(bop),
                            value: Box::new(value),
                        };
                        (Some(Type::Long), long_expr(kind, location))
                    }
                    None => zero(location),
                }
            }
        }
    }

    /// The type an assignment target already has, without side effects.
    fn peek_lvalue_type(&self, e: &ast::Expr) -> Option<Type> {
        match &e.kind {
            ast::ExprKind::Var(v) => match self.locals.get(&v.name) {
                Some(i) => self.locals.vars[i].slot.ty,
                None => self
                    .cx
                    .global_named(&v.name, v.span.file)
                    .and_then(|g| self.cx.globals[g].value.ty),
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                ..
            } => self
                .cx
                .global_named(&v.name, v.span.file)
                .and_then(|g| self.cx.globals[g].value.ty),
            ast::ExprKind::Target(_) => Some(Type::Long),
            _ => None,
        }
        .filter(|t| *t != Type::Stats)
    }

    /// The statistics an aggregate or histogram reads; with `wildcards`,
    /// an element may have `*` keys, whose mask is stored there.
    fn stats_operand(
        &mut self,
        operand: &ast::Expr,
        wildcards: Option<&mut u32>,
    ) -> Option<ir::LValue> {
        let lv = match &operand.kind {
            ast::ExprKind::Var(v) => match self.resolve_var(v)? {
                VarRef::Global(g) => {
                    if !self.shape(g, Shape::Scalar, v.span) {
                        return None;
                    }
                    self.cx.globals[g].read = true;
                    self.unify(
                        SlotRef::GlobalValue(g),
                        Type::Stats,
                        v.span,
                        &format!("'{}'", v.name),
                    );
                    ir::LValue::Global(ir::GlobalId(g as u32))
                }
                VarRef::Local(_) => {
                    self.error(
                        Diagnostic::semantic_error(format!(
                            "'{}' must be a global statistics variable",
                            v.name
                        ))
                        .with_primary(v.span, "a local variable")
                        .with_help(format!("declare it: global {}", v.name)),
                    );
                    return None;
                }
            },
            ast::ExprKind::Index {
                base: ast::Indexable::Var(v),
                indices,
            } => {
                let g = self.array_global(v, indices.len())?;
                self.cx.globals[g].read = true;
                self.unify(
                    SlotRef::GlobalValue(g),
                    Type::Stats,
                    v.span,
                    &format!("the elements of '{}'", v.name),
                );
                let keys = match wildcards {
                    Some(mask) => {
                        let (keys, m) = self.slice_keys(g, indices);
                        *mask = m;
                        keys
                    }
                    None => self.keys(g, indices),
                };
                ir::LValue::Index {
                    array: ir::GlobalId(g as u32),
                    keys,
                    location: self.ident_location(v),
                }
            }
            _ => {
                self.error(
                    Diagnostic::semantic_error(
                        "aggregates need a statistics variable or array element",
                    )
                    .with_primary(operand.span, "not a statistics value"),
                );
                return None;
            }
        };
        Some(lv)
    }

    fn call(
        &mut self,
        name: &ast::Ident,
        args: &[ast::Expr],
        location: ir::Location,
    ) -> (Option<Type>, ir::Expr) {
        // No overload of this arity: report the last one defined, as
        // SystemTap does.
        let found = self
            .cx
            .function_with_arity(&name.name, args.len())
            .or_else(|| self.cx.function_defined_last(&name.name));
        let Some(f) = found else {
            let mut d = Diagnostic::semantic_error(format!("unresolved function '{}'", name.name))
                .with_primary(name.span, "no script or tapset function has this name");
            if let Some(s) = self.cx.similar_function(&name.name) {
                d = d.with_help(format!("did you mean '{s}'?"));
            }
            self.error(d);
            for a in args {
                self.expr(a, None);
            }
            return (None, long_expr(ir::ExprKind::Long(0), location));
        };
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
            self.warn(d);
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
            self.error(d);
        }
        let mut lowered = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if i >= params {
                self.expr(a, None);
                continue;
            }
            let expect = self.slot(SlotRef::Param(f, i)).ty;
            let (ty, ir) = self.expr(a, expect);
            match ty {
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
            lowered.push(ir);
        }
        let ty = self.cx.functions[f].ret.ty;
        let kind = ir::ExprKind::Call {
            function: ir::FunctionId(f as u32),
            args: lowered,
        };
        (ty, ir::Expr { kind, ty, location })
    }

    fn print(
        &mut self,
        p: &ast::PrintCall,
        span: Span,
        location: ir::Location,
    ) -> (Option<Type>, ir::Expr) {
        let string = p.kind.returns_string();
        let ty = if string { Some(Type::String) } else { None };
        if let Some(h) = &p.hist {
            let Some(stats) = self.stats_operand(&h.stat, None) else {
                return (
                    ty,
                    ir::Expr {
                        kind: ir::ExprKind::Long(0),
                        ty,
                        location,
                    },
                );
            };
            let histogram = match h.kind {
                ast::HistKind::Log => ir::Histogram::Log,
                ast::HistKind::Linear { low, high, step } => {
                    if step <= 0 || high <= low {
                        self.error(
                            Diagnostic::semantic_error(
                                "@hist_linear needs low < high and a positive step",
                            )
                            .with_primary(h.span, "bad bounds"),
                        );
                    }
                    ir::Histogram::Linear { low, high, step }
                }
            };
            let g = match &stats {
                ir::LValue::Global(g) | ir::LValue::Index { array: g, .. } => g.0 as usize,
                ir::LValue::Local(_) | ir::LValue::Target(_) => {
                    unreachable!("stats operands are global")
                }
            };
            match self.cx.globals[g].histogram {
                None => self.cx.globals[g].histogram = Some((histogram, h.span)),
                Some((existing, at)) if existing != histogram => {
                    let name = self.cx.globals[g].name.clone();
                    self.error(
                        Diagnostic::semantic_error(format!("'{name}' is printed as two different histograms"))
                            .with_primary(h.span, "this histogram")
                            .with_secondary(at, "differs from this one")
                            .with_help("a statistics variable carries one histogram type; use a second variable"),
                    );
                }
                Some(_) => {}
            }
            let inner = ir::Expr {
                kind: ir::ExprKind::Histogram { stats, histogram },
                ty: Some(Type::String),
                location: location.clone(),
            };
            let kind = if p.kind == ast::PrintKind::Print || p.kind == ast::PrintKind::Println {
                ir::ExprKind::Print {
                    kind: print_kind(p.kind),
                    args: vec![inner],
                }
            } else {
                self.error(
                    Diagnostic::semantic_error(format!(
                        "{} cannot draw a histogram; use print",
                        p.kind.name()
                    ))
                    .with_primary(span, "here"),
                );
                ir::ExprKind::Long(0)
            };
            return (ty, ir::Expr { kind, ty, location });
        }
        // A format decides its arguments' types: parse it first, then walk
        // each argument once with the type it must have.
        let format = if p.kind.has_format() {
            let fmt = p
                .format
                .as_ref()
                .map(|f| f.to_str_lossy().into_owned())
                .unwrap_or_default();
            match format::parse(&fmt) {
                Ok(format) => Some(format),
                Err(e) => {
                    let at = p.format.as_ref().map(|f| f.span).unwrap_or(span);
                    self.error(
                        Diagnostic::semantic_error(format!("bad format string: {}", e.message))
                            .with_primary(at, "this format"),
                    );
                    None
                }
            }
        } else {
            None
        };
        let want: Vec<Type> = format
            .as_ref()
            .map(format::argument_types)
            .unwrap_or_default();
        let mut args = Vec::new();
        for (i, a) in p.args.iter().enumerate() {
            let (t, ir) = self.expr(a, want.get(i).copied());
            if t.is_none() {
                if let ast::ExprKind::Call { name, .. } = &a.kind {
                    if self.cx.function_named(&name.name).is_some() {
                        self.error(
                            Diagnostic::semantic_error(format!(
                                "'{}' returns no value to print",
                                name.name
                            ))
                            .with_primary(a.span, "this call has no value"),
                        );
                    }
                }
            }
            if let (Some(t), Some(w)) = (t, want.get(i)) {
                if t != *w {
                    self.error(
                        Diagnostic::semantic_error(format!(
                            "argument {} is a {t}, but its conversion needs a {w}",
                            i + 1
                        ))
                        .with_primary(a.span, format!("a {t}")),
                    );
                }
            }
            args.push(ir);
        }
        let kind = if p.kind.has_format() {
            match format {
                None => ir::ExprKind::Long(0),
                Some(format) => {
                    if want.len() != args.len() {
                        self.error(
                            Diagnostic::semantic_error(format!(
                                "the format expects {} argument(s) but {} were given",
                                want.len(),
                                args.len()
                            ))
                            .with_primary(
                                p.format.as_ref().map(|f| f.span).unwrap_or(span),
                                "this format",
                            ),
                        );
                    }
                    let pk = if string {
                        ir::PrintfKind::Sprintf
                    } else {
                        ir::PrintfKind::Printf
                    };
                    ir::ExprKind::Printf {
                        kind: pk,
                        format,
                        args,
                    }
                }
            }
        } else if p.kind.has_delimiter() {
            // printd(delim, a, b) == print(a, delim, b)
            let delim = p
                .format
                .as_ref()
                .map(|f| f.to_str_lossy().into_owned())
                .unwrap_or_default();
            let mut spliced = Vec::new();
            for (i, a) in args.into_iter().enumerate() {
                if i > 0 {
                    spliced.push(ir::Expr {
                        kind: ir::ExprKind::Str(delim.clone()),
                        ty: Some(Type::String),
                        location: location.clone(),
                    });
                }
                spliced.push(a);
            }
            ir::ExprKind::Print {
                kind: print_kind(p.kind),
                args: spliced,
            }
        } else {
            ir::ExprKind::Print {
                kind: print_kind(p.kind),
                args,
            }
        };
        (ty, ir::Expr { kind, ty, location })
    }

    /// Checks every local has a type; reports the ones that do not.
    pub fn finish_locals(&mut self) {
        let unresolved: Vec<LocalVar> = self
            .locals
            .vars
            .iter()
            .filter(|v| v.slot.ty.is_none())
            .cloned()
            .collect();
        for v in unresolved {
            self.error(
                Diagnostic::semantic_error(format!("unresolved type for '{}'", v.name))
                    .with_primary(
                        v.first,
                        "nothing decides whether this is a number or a string",
                    )
                    .with_help(format!(
                        "assign it a value, e.g. {} = 0 or {} = \"\"",
                        v.name, v.name
                    )),
            );
        }
        let unassigned: Vec<LocalVar> = self
            .locals
            .vars
            .iter()
            .filter(|v| !v.assigned)
            .cloned()
            .collect();
        for v in unassigned {
            self.warn(
                Diagnostic::warning(format!("never-assigned local variable '{}'", v.name))
                    .with_primary(v.first, "read here, but never given a value"),
            );
        }
    }
}

/// A type slot somewhere in the program.
#[derive(Debug, Clone, Copy)]
pub enum SlotRef {
    Local(usize),
    GlobalValue(usize),
    GlobalKey(usize, usize),
    Return(usize),
    Param(usize, usize),
}

/// The sub-expression holding `e`'s first token (`x` of `x++`, `a` of
/// `a + b`, `f` of `f(x)[...]`).
fn first_operand(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        ast::ExprKind::Binary { lhs, .. }
        | ast::ExprKind::Assign { lhs, .. }
        | ast::ExprKind::Regex { lhs, .. } => first_operand(lhs),
        ast::ExprKind::Ternary { cond, .. } => first_operand(cond),
        ast::ExprKind::Crement {
            fix: ast::Fix::Postfix,
            operand,
            ..
        } => first_operand(operand),
        _ => e,
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

fn aggregate(op: ast::StatOp) -> ir::Aggregate {
    match op {
        ast::StatOp::Count => ir::Aggregate::Count,
        ast::StatOp::Sum => ir::Aggregate::Sum,
        ast::StatOp::Min => ir::Aggregate::Min,
        ast::StatOp::Max => ir::Aggregate::Max,
        ast::StatOp::Avg => ir::Aggregate::Avg,
        ast::StatOp::Variance => ir::Aggregate::Variance,
    }
}

fn print_kind(k: ast::PrintKind) -> ir::PrintKind {
    match k {
        ast::PrintKind::Print | ast::PrintKind::Printd => ir::PrintKind::Print,
        ast::PrintKind::Println | ast::PrintKind::Printdln => ir::PrintKind::Println,
        ast::PrintKind::Sprint | ast::PrintKind::Sprintd => ir::PrintKind::Sprint,
        _ => ir::PrintKind::Sprintln,
    }
}
