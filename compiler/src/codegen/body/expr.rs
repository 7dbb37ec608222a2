//! Expressions in three-address C: operators, variables, assignments
//! to locals and scalar globals (arrays, statistics and target values are
//! in `data` and `target`).

use super::{c_long, has_effects, is_temp_or_const, BodyGen, Val};
use crate::codegen::writer::c_string;
use crate::ir::*;

/// The text a probe's point hands its handler (procfs's `$value`) and its
/// capacity in bytes, as the runtime's `core/context.h` spells them.
const PROBE_TEXT: &str = "STP_PROBE_TEXT(c)";
const PROBE_TEXT_SIZE: &str = "STP_PROBE_TEXT_SIZE(c)";

impl BodyGen<'_> {
    /// Lowers `e`, returning the C expression of its value.
    pub(in crate::codegen) fn expr(&mut self, e: &Expr) -> Val {
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
            // Sema lets only long and string scalars be read whole.
            ExprKind::Global(id) => match self.global(*id) {
                (
                    name,
                    Global {
                        kind: GlobalKind::Scalar(Type::String),
                        ..
                    },
                ) => Val::Str(name),
                (name, _) => Val::Long(name),
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
                let place = self.place(target);
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
            ExprKind::PerfCounter(name) => {
                let t = self.long_temp();
                self.w
                    .line(format!("{t} = stp_perf_counter_read({});", c_string(name)));
                Val::Long(t)
            }
            ExprKind::EmbeddedC(code) => {
                let t = self.long_temp();
                self.w.line(format!("{t} = (int64_t)({code});"));
                Val::Long(t)
            }
            ExprKind::Print { kind, args } => self.print(*kind, args),
            ExprKind::Printf { kind, format, args } => self.printf(*kind, format, args),
            ExprKind::Target(t) => self.target(t, &e.location),
            ExprKind::ProbeText => Val::Str(PROBE_TEXT.to_string()),
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
            ExprKind::HistBucket { stats, bucket, .. } => {
                self.hist_bucket(stats, bucket, &e.location)
            }
            ExprKind::Regex {
                subject,
                regex,
                negate,
            } => {
                let s = self.expr(subject).long();
                let t = self.long_temp();
                self.w.line(format!(
                    "{t} = stp_regex_search(&{}, {s}, MAXSTRINGLEN);",
                    crate::codegen::regex::search_name(*regex)
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
                        crate::codegen::regex::anchored_name(*regex),
                        crate::codegen::regex::program_name(*regex),
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
    pub(super) fn long_operand(&mut self, e: &Expr, later: &Expr) -> String {
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
    pub(super) fn string_operand(&mut self, e: &Expr, later: &Expr) -> String {
        let v = self.expr(e).long();
        if has_effects(later) && !v.starts_with("l->s") && !v.starts_with('"') {
            let t = self.string_temp();
            self.w.line(format!("stp_strlcpy({t}, {v}, MAXSTRINGLEN);"));
            t
        } else {
            v
        }
    }

    pub(super) fn assign_to(&mut self, dst: &str, string: bool, v: Val) {
        if string {
            let v = v.long();
            self.w
                .line(format!("stp_strlcpy({dst}, {v}, MAXSTRINGLEN);"));
        } else {
            let v = v.long();
            self.w.line(format!("{dst} = {v};"));
        }
    }

    pub(in crate::codegen) fn binary(
        &mut self,
        t: &str,
        op: BinaryOp,
        a: &str,
        b: &str,
        location: &Location,
    ) {
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

    /// The C lvalue for a scalar target (sema lets only long and string
    /// scalars be assigned whole).
    pub(super) fn place(&self, target: &LValue) -> String {
        match target {
            LValue::Local(id) => self.local(*id).0,
            LValue::Global(id) => self.global(*id).0,
            LValue::ProbeText => PROBE_TEXT.to_string(),
            LValue::Index { .. } | LValue::Target(_) => {
                unreachable!("array elements and target values have their own assignment")
            }
        }
    }

    pub(super) fn target_type(&self, target: &LValue) -> Option<Type> {
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
            LValue::ProbeText => Some(Type::String),
        }
    }

    pub(super) fn assign(
        &mut self,
        target: &LValue,
        op: AssignOp,
        value: &Expr,
        location: &Location,
    ) -> Val {
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
        let place = self.place(target);
        let string = self.target_type(target) == Some(Type::String);
        // The point's text has the point's own capacity.
        let size = match target {
            LValue::ProbeText => PROBE_TEXT_SIZE,
            _ => "MAXSTRINGLEN",
        };
        // `.=` is only on strings, `+=` & co. only on numbers (sema).
        match (op, string) {
            (AssignOp::Set, true) => self
                .w
                .line(format!("stp_strlcpy({place}, {}, {size});", v.long())),
            (AssignOp::Concat, _) => self
                .w
                .line(format!("stp_strlcat({place}, {}, {size});", v.long())),
            (AssignOp::Set, false) => self.w.line(format!("{place} = {};", v.long())),
            (AssignOp::Arith(op), _) => {
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
        }
        if string {
            Val::Str(place)
        } else {
            Val::Long(place)
        }
    }
}
