//! Lowering one probe or function body to C statements.
//!
//! Expressions become three-address C: every intermediate value lands in a
//! temporary (`int64_t tN` on the stack, or a `char[MAXSTRINGLEN]` field
//! `sN` of the frame), so any operation that can fail is followed by a
//! check that jumps to the current error label. Temporaries only live for
//! one statement and are reused by the next.

use super::writer::{c_string, CWriter};
use super::{global_name, CodegenError};
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

/// What kind of C function the body becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum BodyKind {
    Probe,
    Function,
}

/// State while lowering one body.
pub(super) struct BodyGen<'a> {
    pub program: &'a Program,
    pub locals: &'a [Local],
    pub kind: BodyKind,
    pub ret: Option<Type>,
    pub w: CWriter,
    pub errors: Vec<CodegenError>,
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
    pub fn new(
        program: &'a Program,
        locals: &'a [Local],
        kind: BodyKind,
        ret: Option<Type>,
    ) -> Self {
        BodyGen {
            program,
            locals,
            kind,
            ret,
            w: CWriter::indented(1),
            errors: Vec::new(),
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

    pub(super) fn unsupported(&mut self, what: &str, location: &Location) {
        self.errors.push(CodegenError::Unsupported {
            what: what.to_string(),
            location: location.clone(),
        });
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
            StmtKind::Break => match self.loops.last() {
                Some((brk, _)) => {
                    let brk = brk.clone();
                    self.w.line(format!("goto {brk};"));
                }
                None => self.unsupported("'break' outside a loop", &s.location),
            },
            StmtKind::Continue => match self.loops.last() {
                Some((_, cont)) => {
                    let cont = cont.clone();
                    self.w.line(format!("goto {cont};"));
                }
                None => self.unsupported("'continue' outside a loop", &s.location),
            },
            StmtKind::Next if self.kind == BodyKind::Function => {
                self.unsupported("'next' inside a function", &s.location)
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
                self.w
                    .line(format!("if (unlikely(c->aborted)) goto {};", self.err_label));
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

    // ---- expressions ------------------------------------------------------

    /// Lowers `e`, returning the C expression of its value.
    pub(super) fn expr(&mut self, e: &Expr) -> Val {
        match &e.kind {
            ExprKind::Long(n) => Val::Long(c_long(*n)),
            ExprKind::Str(s) => Val::Str(c_string(s)),
            ExprKind::Local(id) => match self.local(*id) {
                (name, Type::String) => Val::Str(name),
                (name, _) => Val::Long(name),
            },
            ExprKind::EntrySlot(k) => match e.ty {
                Some(Type::String) => Val::Str(self.entry_slot(*k)),
                _ => Val::Long(self.entry_slot(*k)),
            },
            ExprKind::Global(id) => match self.global(*id) {
                (
                    name,
                    Global {
                        kind: GlobalKind::Scalar(Type::String),
                        ..
                    },
                ) => Val::Str(name),
                (
                    name,
                    Global {
                        kind: GlobalKind::Scalar(Type::Long),
                        ..
                    },
                ) => Val::Long(name),
                _ => {
                    self.unsupported("statistics and arrays", &e.location);
                    Val::Long("0".into())
                }
            },
            ExprKind::Unary { op, operand } => {
                let v = self.expr(operand).long();
                let t = self.long_temp();
                match op {
                    // -INT64_MIN wraps, as in SystemTap.
                    UnaryOp::Neg => self
                        .w
                        .line(format!("{t} = (int64_t)(0 - (uint64_t)({v}));")),
                    UnaryOp::Not => self.w.line(format!("{t} = !({v});")),
                    UnaryOp::BitNot => self.w.line(format!("{t} = ~({v});")),
                }
                Val::Long(t)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.long_operand(lhs, rhs);
                let b = self.expr(rhs).long();
                let t = self.long_temp();
                self.binary(&t, *op, &a, &b, &e.location);
                Val::Long(t)
            }
            ExprKind::Compare { op, lhs, rhs } => {
                let string = lhs.ty == Some(Type::String);
                let (a, b) = if string {
                    let a = self.string_operand(lhs, rhs);
                    let b = self.expr(rhs).long();
                    (a, b)
                } else {
                    let a = self.long_operand(lhs, rhs);
                    let b = self.expr(rhs).long();
                    (a, b)
                };
                let op = match op {
                    CompareOp::Eq => "==",
                    CompareOp::Ne => "!=",
                    CompareOp::Lt => "<",
                    CompareOp::Le => "<=",
                    CompareOp::Gt => ">",
                    CompareOp::Ge => ">=",
                };
                let t = self.long_temp();
                if string {
                    self.w.line(format!("{t} = strcmp({a}, {b}) {op} 0;"));
                } else {
                    self.w.line(format!("{t} = {a} {op} {b};"));
                }
                Val::Long(t)
            }
            ExprKind::Logical { op, lhs, rhs } => {
                let t = self.long_temp();
                let a = self.expr(lhs).long();
                match op {
                    LogicalOp::And => {
                        self.w.line(format!("{t} = 0;"));
                        self.w.open(format!("if ({a})"));
                    }
                    LogicalOp::Or => {
                        self.w.line(format!("{t} = 1;"));
                        self.w.open(format!("if (!({a}))"));
                    }
                }
                let b = self.expr(rhs).long();
                self.w.line(format!("{t} = ({b}) != 0;"));
                self.w.close("");
                Val::Long(t)
            }
            ExprKind::Concat(lhs, rhs) => {
                let a = self.string_operand(lhs, rhs);
                let b = self.expr(rhs).long();
                let t = self.string_temp();
                self.w.line(format!("stp_strlcpy({t}, {a}, MAXSTRINGLEN);"));
                self.w.line(format!("stp_strlcat({t}, {b}, MAXSTRINGLEN);"));
                Val::Str(t)
            }
            ExprKind::Ternary { cond, then, els } => {
                let c = self.expr(cond).long();
                let string = e.ty == Some(Type::String);
                let t = if string {
                    self.string_temp()
                } else {
                    self.long_temp()
                };
                self.w.open(format!("if ({c})"));
                let v = self.expr(then);
                self.assign_to(&t, string, v);
                self.w.reopen("else");
                let v = self.expr(els);
                self.assign_to(&t, string, v);
                self.w.close("");
                if string {
                    Val::Str(t)
                } else {
                    Val::Long(t)
                }
            }
            ExprKind::Assign { target, op, value } => self.assign(target, *op, value, &e.location),
            ExprKind::IncDec {
                target:
                    LValue::Index {
                        array,
                        keys,
                        location,
                    },
                increment,
                prefix,
            } => self.index_incdec(*array, keys, *increment, *prefix, location),
            ExprKind::IncDec {
                target: LValue::Target(t),
                increment,
                prefix,
            } => self.target_incdec(t, *increment, *prefix, &e.location),
            ExprKind::IncDec {
                target,
                increment,
                prefix,
            } => {
                let Some(place) = self.place(target, &e.location) else {
                    return Val::Long("0".into());
                };
                let op = if *increment { "++" } else { "--" };
                let t = self.long_temp();
                if *prefix {
                    self.w.line(format!("{t} = {op}{place};"));
                } else {
                    self.w.line(format!("{t} = {place}{op};"));
                }
                Val::Long(t)
            }
            ExprKind::Call { function, args } => self.call(*function, args, &e.location),
            ExprKind::EmbeddedC(code) => {
                let t = self.long_temp();
                self.w.line(format!("{t} = (int64_t)({code});"));
                Val::Long(t)
            }
            ExprKind::Print { kind, args } => self.print(*kind, args),
            ExprKind::Printf { kind, format, args } => self.printf(*kind, format, args),
            ExprKind::Target(t) => self.target(t, &e.location),
            ExprKind::Index { array, keys } => self.index_read(*array, keys, e.ty, &e.location),
            ExprKind::In {
                array,
                keys,
                wildcards,
            } => self.index_exists(*array, keys, *wildcards, &e.location),
            ExprKind::StatAdd { target, value } => self.stat_add(target, value),
            ExprKind::Aggregate {
                op,
                stats,
                wildcards,
            } => self.aggregate(*op, stats, *wildcards, &e.location),
            ExprKind::Histogram { stats, .. } => self.histogram(stats, &e.location),
            ExprKind::Regex {
                subject,
                regex,
                negate,
            } => {
                let s = self.expr(subject).long();
                let t = self.long_temp();
                self.w.line(format!(
                    "{t} = stp_regex_search(&{}, {s}, MAXSTRINGLEN);",
                    super::regex::search_name(*regex)
                ));
                self.fail(
                    &format!("{t} < 0"),
                    "internal error: malformed regular expression table",
                    &e.location,
                );
                if self.program.records_matches {
                    let err = self.err_label();
                    self.w.line(format!(
                        "if (stp_match_record(c, {t}, &{}, &{}, {s}, {})) goto {err};",
                        super::regex::anchored_name(*regex),
                        super::regex::program_name(*regex),
                        c_string(&e.location.near())
                    ));
                }
                if *negate {
                    self.w.line(format!("{t} = !{t};"));
                }
                Val::Long(t)
            }
        }
    }

    /// A long operand that stays valid while `later` is evaluated.
    fn long_operand(&mut self, e: &Expr, later: &Expr) -> String {
        let v = self.expr(e).long();
        if has_effects(later) && !is_temp_or_const(&v) {
            let t = self.long_temp();
            self.w.line(format!("{t} = {v};"));
            t
        } else {
            v
        }
    }

    /// A string operand that stays valid while `later` is evaluated.
    fn string_operand(&mut self, e: &Expr, later: &Expr) -> String {
        let v = self.expr(e).long();
        if has_effects(later) && !v.starts_with("l->s") && !v.starts_with('"') {
            let t = self.string_temp();
            self.w.line(format!("stp_strlcpy({t}, {v}, MAXSTRINGLEN);"));
            t
        } else {
            v
        }
    }

    fn assign_to(&mut self, dst: &str, string: bool, v: Val) {
        if string {
            let v = v.long();
            self.w
                .line(format!("stp_strlcpy({dst}, {v}, MAXSTRINGLEN);"));
        } else {
            let v = v.long();
            self.w.line(format!("{dst} = {v};"));
        }
    }

    pub(super) fn binary(&mut self, t: &str, op: BinaryOp, a: &str, b: &str, location: &Location) {
        let line = match op {
            // Script arithmetic wraps; in unsigned C it is defined (and the
            // compiler does not warn about constants that overflow).
            BinaryOp::Add => format!("{t} = (int64_t)((uint64_t){a} + (uint64_t){b});"),
            BinaryOp::Sub => format!("{t} = (int64_t)((uint64_t){a} - (uint64_t){b});"),
            BinaryOp::Mul => format!("{t} = (int64_t)((uint64_t){a} * (uint64_t){b});"),
            BinaryOp::Div | BinaryOp::Mod => {
                self.fail(&format!("{b} == 0"), "division by 0", location);
                let f = if op == BinaryOp::Div {
                    "stp_div64"
                } else {
                    "stp_mod64"
                };
                format!("{t} = {f}({a}, {b});")
            }
            BinaryOp::Shl => format!("{t} = (int64_t)((uint64_t){a} << ({b} & 63));"),
            BinaryOp::Shr => format!("{t} = {a} >> ({b} & 63);"),
            BinaryOp::UShr => format!("{t} = (int64_t)((uint64_t){a} >> ({b} & 63));"),
            BinaryOp::BitAnd => format!("{t} = {a} & {b};"),
            BinaryOp::BitOr => format!("{t} = {a} | {b};"),
            BinaryOp::BitXor => format!("{t} = {a} ^ {b};"),
        };
        self.w.line(line);
    }

    /// The C lvalue for a scalar target.
    fn place(&mut self, target: &LValue, location: &Location) -> Option<String> {
        match target {
            LValue::Local(id) => Some(self.local(*id).0),
            LValue::Global(id) => match self.global(*id) {
                (
                    name,
                    Global {
                        kind: GlobalKind::Scalar(Type::Long | Type::String),
                        ..
                    },
                ) => Some(name),
                _ => {
                    self.unsupported("statistics", location);
                    None
                }
            },
            LValue::Index { .. } | LValue::Target(_) => {
                unreachable!("array elements and target values have their own assignment")
            }
        }
    }

    fn target_type(&self, target: &LValue) -> Option<Type> {
        match target {
            LValue::Local(id) => Some(self.locals[id.0 as usize].ty),
            LValue::Global(id) => match &self.program.globals[id.0 as usize].kind {
                GlobalKind::Scalar(t) => Some(*t),
                GlobalKind::Array(a) => Some(a.value),
            },
            LValue::Index { array, .. } => match &self.program.globals[array.0 as usize].kind {
                GlobalKind::Array(a) => Some(a.value),
                GlobalKind::Scalar(t) => Some(*t),
            },
            LValue::Target(_) => Some(Type::Long),
        }
    }

    fn assign(&mut self, target: &LValue, op: AssignOp, value: &Expr, location: &Location) -> Val {
        if let LValue::Index {
            array,
            keys,
            location: at,
        } = target
        {
            return self.index_assign(*array, keys, op, value, at, location);
        }
        if let LValue::Target(t) = target {
            return self.target_assign(t, op, value, location);
        }
        let v = self.expr(value);
        let Some(place) = self.place(target, location) else {
            return Val::Long("0".into());
        };
        let string = self.target_type(target) == Some(Type::String);
        match (op, string) {
            (AssignOp::Set, true) => self
                .w
                .line(format!("stp_strlcpy({place}, {}, MAXSTRINGLEN);", v.long())),
            (AssignOp::Concat, true) => self
                .w
                .line(format!("stp_strlcat({place}, {}, MAXSTRINGLEN);", v.long())),
            (AssignOp::Set, false) => self.w.line(format!("{place} = {};", v.long())),
            (AssignOp::Arith(op), false) => {
                let b = v.long();
                let b = if is_temp_or_const(&b) {
                    b
                } else {
                    let t = self.long_temp();
                    self.w.line(format!("{t} = {b};"));
                    t
                };
                let place_copy = place.clone();
                self.binary(&place_copy, op, &place, &b, location);
            }
            _ => self.unsupported("this assignment", location),
        }
        if string {
            Val::Str(place)
        } else {
            Val::Long(place)
        }
    }

    fn call(&mut self, id: FunctionId, args: &[Expr], location: &Location) -> Val {
        let f = &self.program.functions[id.0 as usize];
        // Evaluate every argument before touching the callee's frame: an
        // argument may itself call a function using that frame.
        let mut vals = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let rest = &args[i + 1..];
            let v = self.expr(a);
            let v = match v {
                Val::Long(s) if rest.iter().any(has_effects) && !is_temp_or_const(&s) => {
                    let t = self.long_temp();
                    self.w.line(format!("{t} = {s};"));
                    Val::Long(t)
                }
                Val::Str(s)
                    if rest.iter().any(has_effects)
                        && !s.starts_with("l->s")
                        && !s.starts_with('"') =>
                {
                    let t = self.string_temp();
                    self.w.line(format!("stp_strlcpy({t}, {s}, MAXSTRINGLEN);"));
                    Val::Str(t)
                }
                other => other,
            };
            vals.push(v);
        }
        let frame = function_frame(f);
        let err = self.err_label.clone();
        let result = match f.ret {
            Some(Type::String) => Some(Val::Str(self.string_temp())),
            Some(_) => Some(Val::Long(self.long_temp())),
            None => None,
        };
        self.w.open("");
        self.w.line(format!("struct {frame} *callee;"));
        self.w.open("if (unlikely(c->nesting >= MAXNESTING))");
        self.w.line(format!(
            "STP_ERROR(c, \"MAXNESTING exceeded\", {});",
            c_string(&location.near())
        ));
        self.w.line(format!("goto {err};"));
        self.w.close("");
        self.w.line("callee = stp_frame(c, c->nesting + 1);");
        self.w.line("memset(callee, 0, sizeof(*callee));");
        for (local, v) in f.locals.iter().zip(vals) {
            match (local.ty, v) {
                (Type::String, v) => self.w.line(format!(
                    "stp_strlcpy(callee->v_{}, {}, MAXSTRINGLEN);",
                    local.name,
                    v.long()
                )),
                (_, v) => self
                    .w
                    .line(format!("callee->v_{} = {};", local.name, v.long())),
            }
        }
        self.w.line("c->nesting++;");
        self.w.line(format!("{}(c);", function_name(f)));
        self.w.line("c->nesting--;");
        match &result {
            Some(Val::Str(t)) => self
                .w
                .line(format!("stp_strlcpy({t}, callee->retvalue, MAXSTRINGLEN);")),
            Some(Val::Long(t)) => self.w.line(format!("{t} = callee->retvalue;")),
            _ => {}
        }
        self.w.close("");
        // A callee that failed without saying where (embedded C) is
        // reported at this call, as SystemTap reports tapset functions.
        let label = self.err_label.clone();
        self.w.open("if (unlikely(c->last_error))");
        self.w.line(format!(
            "if (!c->last_stmt) c->last_stmt = {};",
            c_string(&location.near())
        ));
        self.w.line(format!("goto {label};"));
        self.w.close("");
        result.unwrap_or(Val::Void)
    }

    fn print(&mut self, kind: PrintKind, args: &[Expr]) -> Val {
        let vals = self.eval_stable(args, &[]);
        match kind {
            PrintKind::Print | PrintKind::Println => {
                for v in vals {
                    match v {
                        Val::Str(s) => self.w.line(format!("stp_print_str(c, {s});")),
                        Val::Long(n) => self.w.line(format!("stp_print_long(c, {n});")),
                        Val::Void => {}
                    }
                }
                if kind == PrintKind::Println {
                    self.w.line("stp_print_char(c, '\\n');");
                }
                Val::Void
            }
            PrintKind::Sprint | PrintKind::Sprintln => {
                let t = self.string_temp();
                self.w.line(format!("{t}[0] = '\\0';"));
                for v in vals {
                    match v {
                        Val::Str(s) => self.w.line(format!("stp_strlcat({t}, {s}, MAXSTRINGLEN);")),
                        Val::Long(n) => self
                            .w
                            .line(format!("stp_strlcat_long({t}, {n}, MAXSTRINGLEN);")),
                        Val::Void => {}
                    }
                }
                if kind == PrintKind::Sprintln {
                    self.w
                        .line(format!("stp_strlcat({t}, \"\\n\", MAXSTRINGLEN);"));
                }
                Val::Str(t)
            }
        }
    }

    fn printf(&mut self, kind: PrintfKind, format: &Format, args: &[Expr]) -> Val {
        let vals = self.eval_stable(args, &[]);
        let result = (kind == PrintfKind::Sprintf).then(|| self.string_temp());
        self.w.open("");
        let n = vals.len();
        if n > 0 {
            self.w.line(format!("union stp_arg args[{n}];"));
            for (i, v) in vals.into_iter().enumerate() {
                match v {
                    Val::Str(s) => self.w.line(format!("args[{i}].s = {s};")),
                    other => self.w.line(format!("args[{i}].n = {};", other.long())),
                }
            }
        }
        let argv = if n > 0 { "args" } else { "NULL" };
        let fmt = c_string(&format.text);
        match &result {
            None => self.w.line(format!("stp_printf(c, {fmt}, {argv}, {n});")),
            Some(t) => self.w.line(format!(
                "stp_sprintf(c, {t}, MAXSTRINGLEN, {fmt}, {argv}, {n});"
            )),
        }
        self.w.close("");
        self.check_error();
        match result {
            Some(t) => Val::Str(t),
            None => Val::Void,
        }
    }

    /// Evaluates call-like arguments left to right, keeping earlier values
    /// stable while later ones (and `later`) run.
    pub(super) fn eval_stable(&mut self, args: &[Expr], later: &[&Expr]) -> Vec<Val> {
        let mut vals = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let later_effects =
                args[i + 1..].iter().any(has_effects) || later.iter().any(|e| has_effects(e));
            let v = self.expr(a);
            let v = match v {
                Val::Long(s) if later_effects && !is_temp_or_const(&s) => {
                    let t = self.long_temp();
                    self.w.line(format!("{t} = {s};"));
                    Val::Long(t)
                }
                Val::Str(s) if later_effects && !s.starts_with("l->s") && !s.starts_with('"') => {
                    let t = self.string_temp();
                    self.w.line(format!("stp_strlcpy({t}, {s}, MAXSTRINGLEN);"));
                    Val::Str(t)
                }
                other => other,
            };
            vals.push(v);
        }
        vals
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
        | ExprKind::EntrySlot(_) => false,
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
        ExprKind::Regex { subject, .. } => has_effects(subject),
        ExprKind::Target(t) => super::locks::target_exprs(t).any(has_effects),
    }
}
