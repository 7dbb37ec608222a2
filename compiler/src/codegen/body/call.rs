//! Calls of script and tapset functions, and the print family.

use super::{function_frame, function_name, has_effects, is_temp_or_const, BodyGen, Val};
use crate::codegen::writer::c_string;
use crate::ir::*;

impl BodyGen<'_> {
    pub(super) fn call(&mut self, id: FunctionId, args: &[Expr], location: &Location) -> Val {
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
        // SystemTap reports MAXNESTING at the called function's name in
        // its declaration, not at the call.
        self.w.open("if (unlikely(c->nesting >= MAXNESTING))");
        self.w.line(format!(
            "STP_ERROR(c, \"MAXNESTING exceeded\", {});",
            c_string(&f.location.near())
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

    pub(super) fn print(&mut self, kind: PrintKind, args: &[Expr]) -> Val {
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

    pub(super) fn printf(&mut self, kind: PrintfKind, format: &Format, args: &[Expr]) -> Val {
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
    pub(in crate::codegen) fn eval_stable(&mut self, args: &[Expr], later: &[&Expr]) -> Vec<Val> {
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
