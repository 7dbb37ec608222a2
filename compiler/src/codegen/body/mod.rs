//! Lowering one probe or function body to C statements.
//!
//! Expressions become three-address C: every intermediate value lands in a
//! temporary (`int64_t tN` on the stack, or a `char[MAXSTRINGLEN]` field
//! `sN` of the frame), so any operation that can fail is followed by a
//! check that jumps to the current error label. Temporaries only live for
//! one statement and are reused by the next.
//!
//! Statements are here; [`expr`] has the expressions, [`call`] calls and
//! the print family.

mod call;
mod expr;

use super::global_name;
use super::writer::{c_string, CWriter};
use crate::ir::*;

/// A lowered value: a C expression of type `int64_t` or `const char *`.
#[derive(Debug, Clone)]
pub(super) enum Val {
    Long(String),
    Str(String),
    /// A function call that returns nothing.
    Void,
}

impl Val {
    /// The C expression (for longs, strings alike).
    pub(super) fn long(self) -> String {
        match self {
            Val::Long(s) => s,
            Val::Str(s) => s,
            Val::Void => "0".to_string(),
        }
    }
}

/// State while lowering one body.
pub(super) struct BodyGen<'a> {
    pub program: &'a Program,
    pub locals: &'a [Local],
    pub ret: Option<Type>,
    pub w: CWriter,
    long_temps: usize,
    max_long_temps: usize,
    string_temps: usize,
    pub max_string_temps: usize,
    /// Temporaries below these numbers hold values a loop keeps for its
    /// whole body (a foreach slice's keys): statements start above them.
    long_floor: usize,
    string_floor: usize,
    labels: usize,
    err_label: String,
    loops: Vec<(String, String)>,
    /// The body uses the key array `ka`.
    pub uses_keys: bool,
    /// The body uses the map temporary `mt`.
    pub uses_map_temp: bool,
    /// Kernel symbols `@var` reads (declared at the top of the module).
    pub kernel_symbols: std::collections::BTreeSet<String>,
    /// The C struct of the probe's values saved at function entry
    /// (`struct stp_probe_N_entry`), when it has any.
    pub entry_struct: Option<String>,
}

impl<'a> BodyGen<'a> {
    pub fn new(program: &'a Program, locals: &'a [Local], ret: Option<Type>) -> Self {
        BodyGen {
            program,
            locals,
            ret,
            w: CWriter::indented(1),
            long_temps: 0,
            max_long_temps: 0,
            string_temps: 0,
            max_string_temps: 0,
            long_floor: 0,
            string_floor: 0,
            labels: 0,
            err_label: "out".to_string(),
            loops: Vec::new(),
            uses_keys: false,
            uses_map_temp: false,
            kernel_symbols: Default::default(),
            entry_struct: None,
        }
    }

    /// Lowers the saves of an entry handler: `entry[k]` into field `ek` of
    /// the entry struct, one statement each.
    pub(super) fn entry_saves(&mut self, entry: &[Expr]) {
        for (k, e) in entry.iter().enumerate() {
            self.long_temps = 0;
            self.string_temps = 0;
            let slot = self.entry_slot(k as u32);
            match self.expr(e) {
                Val::Str(s) => self
                    .w
                    .line(format!("stp_strlcpy({slot}, {s}, MAXSTRINGLEN);")),
                v => self.w.line(format!("{slot} = {};", v.long())),
            }
            let label = self.err_label();
            self.w
                .line(format!("if (unlikely(c->last_error)) goto {label};"));
        }
    }

    /// The C lvalue of entry slot `k`.
    fn entry_slot(&self, k: u32) -> String {
        let name = self.entry_struct.as_deref().unwrap_or("stp_no_entry");
        format!("((struct {name} *)c->entry_data)->e{k}")
    }

    /// Declarations of the stack temporaries the body used.
    pub fn temp_decls(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.max_long_temps > 0 {
            let names: Vec<String> = (0..self.max_long_temps).map(|i| format!("t{i}")).collect();
            out.push(format!("int64_t {};", names.join(", ")));
        }
        if self.uses_keys {
            out.push("union stp_arg ka[STP_MAP_MAX_KEYS];".to_string());
        }
        if self.uses_map_temp {
            out.push("struct stp_map *mt;".to_string());
        }
        out
    }

    /// The label errors jump to here.
    pub(super) fn err_label(&self) -> String {
        self.err_label.clone()
    }

    /// A fresh number for labels and loop variables.
    pub(super) fn next_label_number(&mut self) -> usize {
        self.labels += 1;
        self.labels
    }

    pub(super) fn push_loop(&mut self, brk: String, cont: String) {
        self.loops.push((brk, cont));
    }

    pub(super) fn pop_loop(&mut self) {
        self.loops.pop();
    }

    pub(super) fn long_temp(&mut self) -> String {
        let t = format!("t{}", self.long_temps);
        self.long_temps += 1;
        self.max_long_temps = self.max_long_temps.max(self.long_temps);
        t
    }

    /// Keeps the temporaries allocated so far alive until `unreserve`:
    /// the statements lowered meanwhile allocate above them. Returns the
    /// previous floors.
    pub(super) fn reserve_temps(&mut self) -> (usize, usize) {
        let old = (self.long_floor, self.string_floor);
        self.long_floor = self.long_temps;
        self.string_floor = self.string_temps;
        old
    }

    /// Restores the floors `reserve_temps` returned.
    pub(super) fn unreserve_temps(&mut self, old: (usize, usize)) {
        (self.long_floor, self.string_floor) = old;
    }

    pub(super) fn string_temp(&mut self) -> String {
        let t = format!("l->s{}", self.string_temps);
        self.string_temps += 1;
        self.max_string_temps = self.max_string_temps.max(self.string_temps);
        t
    }

    fn label(&mut self, what: &str) -> String {
        self.labels += 1;
        format!("{what}_{}", self.labels)
    }

    pub(super) fn local(&self, id: LocalId) -> (String, Type) {
        let l = &self.locals[id.0 as usize];
        (format!("l->v_{}", l.name), l.ty)
    }

    fn global(&self, id: GlobalId) -> (String, &'a Global) {
        let g = &self.program.globals[id.0 as usize];
        (global_name(g), g)
    }

    /// Jumps to the error label if the last operation failed.
    pub(super) fn check_error(&mut self) {
        let label = self.err_label.clone();
        self.w
            .line(format!("if (unlikely(c->last_error)) goto {label};"));
    }

    fn fail(&mut self, cond: &str, message: &str, location: &Location) {
        let label = self.err_label.clone();
        self.w.open(format!("if (unlikely({cond}))"));
        self.w.line(format!(
            "STP_ERROR(c, {}, {});",
            c_string(message),
            c_string(&location.near())
        ));
        self.w.line(format!("goto {label};"));
        self.w.close("");
    }

    // ---- statements -------------------------------------------------------

    /// Lowers a block, charging its statements against MAXACTION.
    pub(super) fn block(&mut self, b: &Block) {
        if let Some(first) = b.stmts.first() {
            let label = self.err_label.clone();
            self.w.line(format!(
                "if (stp_action(c, {}, {})) goto {label};",
                b.stmts.len(),
                c_string(&first.location.near())
            ));
        }
        for s in &b.stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        self.long_temps = self.long_floor;
        self.string_temps = self.string_floor;
        match &s.kind {
            StmtKind::Expr(e) => {
                self.expr(e);
            }
            StmtKind::Block(b) => {
                self.w.open("");
                self.block(b);
                self.w.close("");
            }
            StmtKind::If { cond, then, els } => {
                let c = self.expr(cond).long();
                self.w.open(format!("if ({c})"));
                self.block(then);
                if let Some(e) = els {
                    self.w.reopen("else");
                    self.block(e);
                }
                self.w.close("");
            }
            StmtKind::While { cond, body } => {
                self.lower_loop(None, Some(cond), None, body, &s.location)
            }
            StmtKind::For {
                init,
                cond,
                step,
                body,
            } => {
                if let Some(init) = init {
                    self.expr(init);
                }
                self.lower_loop(None, cond.as_ref(), step.as_ref(), body, &s.location)
            }
            // Sema lets `break` and `continue` only into loops, and `next`
            // only into probe handlers.
            StmtKind::Break | StmtKind::Continue => {
                if let Some((brk, cont)) = self.loops.last() {
                    let label = match s.kind {
                        StmtKind::Break => brk.clone(),
                        _ => cont.clone(),
                    };
                    self.w.line(format!("goto {label};"));
                }
            }
            StmtKind::Next => self.w.line("goto out;"),
            StmtKind::Return(value) => {
                if let Some(v) = value {
                    let val = self.expr(v);
                    match (self.ret, val) {
                        (Some(Type::String), Val::Str(s)) => self
                            .w
                            .line(format!("stp_strlcpy(l->retvalue, {s}, MAXSTRINGLEN);")),
                        (Some(Type::Long), v) => {
                            self.w.line(format!("l->retvalue = {};", v.long()))
                        }
                        _ => {}
                    }
                }
                self.w.line("goto out;");
            }
            StmtKind::Try {
                body,
                catch_var,
                handler,
            } => {
                let catch = self.label("catch");
                let end = self.label("try_end");
                let outer = std::mem::replace(&mut self.err_label, catch.clone());
                self.w.open("");
                self.block(body);
                self.w.close("");
                self.err_label = outer;
                self.w.line(format!("goto {end};"));
                self.w.label(&catch);
                // abort() unwinds through every catch (context.c).
                self.w.line(format!(
                    "if (unlikely(c->aborted)) goto {};",
                    self.err_label
                ));
                if let Some(var) = catch_var {
                    let (name, _) = self.local(*var);
                    self.w
                        .line(format!("stp_strlcpy({name}, c->last_error, MAXSTRINGLEN);"));
                }
                self.w.line("c->last_error = NULL;");
                self.w.line("c->last_stmt = NULL;");
                self.w.open("");
                self.block(handler);
                self.w.close("");
                self.w.label(&end);
                self.w.line(";");
            }
            StmtKind::Foreach(f) => self.foreach(f, &s.location),
            StmtKind::ForeachBuckets(f) => self.foreach_buckets(f, &s.location),
            StmtKind::Delete(Delete::Local(id)) => {
                let (name, ty) = self.local(*id);
                match ty {
                    Type::String => self.w.line(format!("{name}[0] = '\\0';")),
                    _ => self.w.line(format!("{name} = 0;")),
                }
            }
            StmtKind::Delete(Delete::Global(id)) => self.delete_global(*id),
            StmtKind::Delete(Delete::Elements { array, keys }) => {
                self.delete_elements(*array, keys)
            }
        }
    }

    fn lower_loop(
        &mut self,
        _init: Option<&Expr>,
        cond: Option<&Expr>,
        step: Option<&Expr>,
        body: &Block,
        location: &Location,
    ) {
        let brk = self.label("break");
        let cont = self.label("continue");
        let err = self.err_label.clone();
        self.w.open("for (;;)");
        self.w.line(format!(
            "if (stp_action(c, 1, {})) goto {err};",
            c_string(&location.near())
        ));
        if let Some(cond) = cond {
            self.long_temps = self.long_floor;
            self.string_temps = self.string_floor;
            let c = self.expr(cond).long();
            self.w.line(format!("if (!({c})) goto {brk};"));
        }
        self.loops.push((brk.clone(), cont.clone()));
        self.w.open("");
        self.block(body);
        self.w.close("");
        self.loops.pop();
        self.w.label(&cont);
        if let Some(step) = step {
            self.long_temps = self.long_floor;
            self.string_temps = self.string_floor;
            self.expr(step);
        }
        self.w.line(";");
        self.w.close("");
        self.w.label(&brk);
        self.w.line(";");
    }
}

/// The C name of a function.
pub(super) fn function_name(f: &Function) -> String {
    format!("stp_fn_{}", f.symbol)
}

/// The C name of a function's frame struct.
pub(super) fn function_frame(f: &Function) -> String {
    format!("stp_fn_{}_locals", f.symbol)
}

/// A long literal in C (INT64_MIN has no literal of its own).
pub(super) fn c_long(n: i64) -> String {
    if n == i64::MIN {
        "(-9223372036854775807LL - 1)".to_string()
    } else {
        format!("{n}LL")
    }
}

pub(super) fn is_temp_or_const(v: &str) -> bool {
    (v.starts_with('t') && v[1..].chars().all(|c| c.is_ascii_digit()))
        || v.starts_with('(')
        || v.chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-')
}

/// Whether evaluating `e` may change variables or produce output.
pub(super) fn has_effects(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Long(_)
        | ExprKind::Str(_)
        | ExprKind::Local(_)
        | ExprKind::Global(_)
        | ExprKind::EntrySlot(_)
        | ExprKind::PerfCounter(_)
        | ExprKind::ProbeText => false,
        ExprKind::Assign { .. }
        | ExprKind::IncDec { .. }
        | ExprKind::StatAdd { .. }
        | ExprKind::Call { .. }
        | ExprKind::Print { .. }
        | ExprKind::Printf { .. }
        | ExprKind::EmbeddedC(_) => true,
        ExprKind::Index { keys, .. } | ExprKind::In { keys, .. } => keys.iter().any(has_effects),
        ExprKind::Unary { operand, .. } => has_effects(operand),
        ExprKind::Binary { lhs, rhs, .. }
        | ExprKind::Compare { lhs, rhs, .. }
        | ExprKind::Logical { lhs, rhs, .. }
        | ExprKind::Concat(lhs, rhs) => has_effects(lhs) || has_effects(rhs),
        ExprKind::Ternary { cond, then, els } => {
            has_effects(cond) || has_effects(then) || has_effects(els)
        }
        ExprKind::Aggregate { .. } | ExprKind::Histogram { .. } => false,
        ExprKind::HistBucket { bucket, .. } => has_effects(bucket),
        ExprKind::Regex { subject, .. } => has_effects(subject),
        ExprKind::Target(t) => super::locks::target_exprs(t).any(has_effects),
    }
}
