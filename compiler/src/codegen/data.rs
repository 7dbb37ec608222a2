//! Lowering of arrays and statistics: element reads and writes, `in`,
//! `<<<`, aggregates, histograms, `delete` and `foreach`, onto the
//! runtime's map and statistics API (`runtime-c/core/data.c`).
//!
//! Keys go through one `union stp_arg ka[9]` per C function: every key
//! expression is evaluated first (into stable temporaries), then `ka` is
//! filled immediately before the library call, so nested indexing cannot
//! clobber it.

use super::body::{is_temp_or_const, BodyGen, Val};
use super::global_name;
use super::writer::c_string;
use crate::ir::*;

/// How a global's data is stored in C.
pub(super) enum Storage {
    /// `struct stp_map *NAME`: an array of longs or strings.
    Map(String),
    /// `struct stp_pstat NAME`: a statistics scalar.
    Stat(String),
    /// `struct stp_pmap NAME`: a statistics array.
    StatMap(String),
    /// A long or string scalar.
    Scalar,
}

/// The storage of global `g`.
pub(super) fn storage(g: &Global) -> Storage {
    let name = global_name(g);
    match &g.kind {
        GlobalKind::Scalar(Type::Stats) => Storage::Stat(name),
        GlobalKind::Array(a) if a.value == Type::Stats => Storage::StatMap(name),
        GlobalKind::Array(_) => Storage::Map(name),
        GlobalKind::Scalar(_) => Storage::Scalar,
    }
}

/// The runtime's `enum stp_agg` name for an aggregate.
pub(super) fn agg_name(op: Aggregate) -> &'static str {
    match op {
        Aggregate::Count => "STP_AGG_COUNT",
        Aggregate::Sum => "STP_AGG_SUM",
        Aggregate::Min => "STP_AGG_MIN",
        Aggregate::Max => "STP_AGG_MAX",
        Aggregate::Avg => "STP_AGG_AVG",
        Aggregate::Variance => "STP_AGG_VARIANCE",
    }
}

impl BodyGen<'_> {
    /// Evaluates keys and fills `ka`; call right before the library call.
    fn fill_keys(&mut self, keys: &[Expr], later: &[&Expr]) {
        let vals = self.eval_stable(keys, later);
        self.fill_key_vals(vals);
    }

    fn fill_key_vals(&mut self, vals: Vec<Val>) {
        self.uses_keys = true;
        for (i, v) in vals.into_iter().enumerate() {
            match v {
                Val::Str(s) => self.w.line(format!("ka[{i}].s = {s};")),
                other => self.w.line(format!("ka[{i}].n = {};", other.long())),
            }
        }
    }

    fn map_for_read(&mut self, array: GlobalId, location: &Location) -> String {
        let g = &self.program.globals[array.0 as usize];
        match storage(g) {
            Storage::Map(name) => name,
            Storage::StatMap(name) => {
                let t = self.map_temp();
                self.w.line(format!(
                    "{t} = stp_pmap_agg(c, &{name}, {});",
                    c_string(&location.near())
                ));
                self.check_error();
                t
            }
            _ => unreachable!("sema checked '{}' is an array", g.name),
        }
    }

    fn map_temp(&mut self) -> String {
        self.uses_map_temp = true;
        "mt".to_string()
    }

    /// `array[keys]` as a value.
    pub(super) fn index_read(
        &mut self,
        array: GlobalId,
        keys: &[Expr],
        ty: Option<Type>,
        location: &Location,
    ) -> Val {
        let m = self.map_for_read(array, location);
        self.fill_keys(keys, &[]);
        match ty {
            Some(Type::String) => {
                let t = self.string_temp();
                self.w.line(format!(
                    "stp_strlcpy({t}, stp_map_get_str({m}, ka), MAXSTRINGLEN);"
                ));
                Val::Str(t)
            }
            _ => {
                let t = self.long_temp();
                self.w.line(format!("{t} = stp_map_get_long({m}, ka);"));
                Val::Long(t)
            }
        }
    }

    /// `[keys] in array`; `wildcards` marks `*` columns.
    pub(super) fn index_exists(
        &mut self,
        array: GlobalId,
        keys: &[Expr],
        wildcards: u32,
        location: &Location,
    ) -> Val {
        let m = self.map_for_read(array, location);
        self.fill_keys(keys, &[]);
        let t = self.long_temp();
        if wildcards == 0 {
            self.w.line(format!("{t} = stp_map_exists({m}, ka);"));
        } else {
            self.w.line(format!(
                "{t} = stp_map_exists_match({m}, ka, {wildcards}u);"
            ));
        }
        Val::Long(t)
    }

    fn plain_map(&self, array: GlobalId) -> String {
        match storage(&self.program.globals[array.0 as usize]) {
            Storage::Map(name) => name,
            _ => unreachable!("assignment to a statistics array is rejected by sema"),
        }
    }

    /// `array[keys] OP= value`; returns the element's new value.
    /// Errors on the element point at `at` (the array's name); a division
    /// by zero in `/=` at `location` (the operator).
    pub(super) fn index_assign(
        &mut self,
        array: GlobalId,
        keys: &[Expr],
        op: AssignOp,
        value: &Expr,
        at: &Location,
        location: &Location,
    ) -> Val {
        let m = self.plain_map(array);
        let string = matches!(&self.program.globals[array.0 as usize].kind, GlobalKind::Array(a) if a.value == Type::String);
        let mut all: Vec<Expr> = keys.to_vec();
        all.push(value.clone());
        let mut vals = self.eval_stable(&all, &[]);
        let v = vals.pop().expect("value evaluated");
        let near = c_string(&at.near());
        let err = self.err_label();
        match (op, string) {
            (AssignOp::Set, false) => {
                let t = self.long_temp();
                self.w.line(format!("{t} = {};", v.long()));
                self.fill_key_vals(vals);
                self.w.line(format!("if (stp_data_failed(c, {m}, stp_map_set_long({m}, ka, {t}), {near})) goto {err};"));
                Val::Long(t)
            }
            (AssignOp::Set, true) => {
                let t = self.string_temp();
                self.w
                    .line(format!("stp_strlcpy({t}, {}, MAXSTRINGLEN);", v.long()));
                self.fill_key_vals(vals);
                self.w.line(format!("if (stp_data_failed(c, {m}, stp_map_set_str({m}, ka, {t}), {near})) goto {err};"));
                Val::Str(t)
            }
            // `.=` is only on strings, `+=` & co. only on numbers (sema).
            (AssignOp::Concat, _) => {
                let t = self.string_temp();
                let vs = v.long();
                self.fill_key_vals(vals);
                self.w.line(format!(
                    "stp_strlcpy({t}, stp_map_get_str({m}, ka), MAXSTRINGLEN);"
                ));
                self.w
                    .line(format!("stp_strlcat({t}, {vs}, MAXSTRINGLEN);"));
                self.w.line(format!("if (stp_data_failed(c, {m}, stp_map_set_str({m}, ka, {t}), {near})) goto {err};"));
                Val::Str(t)
            }
            (AssignOp::Arith(BinaryOp::Add), _) | (AssignOp::Arith(BinaryOp::Sub), _) => {
                let t = self.long_temp();
                let delta = if op == AssignOp::Arith(BinaryOp::Sub) {
                    format!("-({})", v.long())
                } else {
                    v.long()
                };
                self.fill_key_vals(vals);
                self.w.line(format!("if (stp_data_failed(c, {m}, stp_map_add_long({m}, ka, {delta}, &{t}), {near})) goto {err};"));
                Val::Long(t)
            }
            (AssignOp::Arith(bop), _) => {
                let b = self.long_temp();
                self.w.line(format!("{b} = {};", v.long()));
                let t = self.long_temp();
                self.fill_key_vals(vals);
                self.w.line(format!("{t} = stp_map_get_long({m}, ka);"));
                let t_in = t.clone();
                self.binary(&t, bop, &t_in, &b, location);
                self.w.line(format!("if (stp_data_failed(c, {m}, stp_map_set_long({m}, ka, {t}), {near})) goto {err};"));
                Val::Long(t)
            }
        }
    }

    /// `++array[keys]`, `array[keys]--`, ...
    pub(super) fn index_incdec(
        &mut self,
        array: GlobalId,
        keys: &[Expr],
        increment: bool,
        prefix: bool,
        location: &Location,
    ) -> Val {
        let m = self.plain_map(array);
        let t = self.long_temp();
        self.fill_keys(keys, &[]);
        let delta = if increment { "1" } else { "-1" };
        let err = self.err_label();
        self.w.line(format!(
            "if (stp_data_failed(c, {m}, stp_map_add_long({m}, ka, {delta}, &{t}), {})) goto {err};",
            c_string(&location.near())
        ));
        if !prefix {
            self.w.line(format!("{t} -= {delta};"));
        }
        Val::Long(t)
    }

    /// `stats <<< value`.
    pub(super) fn stat_add(&mut self, target: &LValue, value: &Expr) -> Val {
        match target {
            LValue::Global(g) => {
                let Storage::Stat(name) = storage(&self.program.globals[g.0 as usize]) else {
                    unreachable!("sema made '<<<' targets statistics")
                };
                let v = self.expr(value).long();
                self.w.line(format!("stp_pstat_add(&{name}, {v});"));
            }
            LValue::Index {
                array,
                keys,
                location,
            } => {
                let Storage::StatMap(name) = storage(&self.program.globals[array.0 as usize])
                else {
                    unreachable!("sema made '<<<' targets statistics")
                };
                let mut all: Vec<Expr> = keys.to_vec();
                all.push(value.clone());
                let mut vals = self.eval_stable(&all, &[]);
                let v = vals.pop().expect("value evaluated").long();
                self.fill_key_vals(vals);
                self.w.line(format!(
                    "stp_pmap_add(c, &{name}, ka, {v}, {});",
                    c_string(&location.near())
                ));
                self.check_error();
            }
            LValue::Local(_) | LValue::Target(_) | LValue::ProbeText => {
                unreachable!("locals and target values are never statistics")
            }
        }
        Val::Void
    }

    /// `@op(stats)`; `wildcards` marks `*` key columns of an element.
    pub(super) fn aggregate(
        &mut self,
        op: Aggregate,
        stats: &LValue,
        wildcards: u32,
        location: &Location,
    ) -> Val {
        let t = self.long_temp();
        let near = c_string(&location.near());
        let err = self.err_label();
        match stats {
            LValue::Global(g) => {
                let Storage::Stat(name) = storage(&self.program.globals[g.0 as usize]) else {
                    unreachable!()
                };
                self.w.line(format!(
                    "{t} = stp_pstat_get(c, &{name}, {}, {near});",
                    agg_name(op)
                ));
                self.check_error();
            }
            LValue::Index { array, keys, .. } => {
                let m = self.map_for_read(*array, location);
                self.fill_keys(keys, &[]);
                if wildcards == 0 {
                    self.w.line(format!(
                        "if (stp_data_failed(c, {m}, stp_map_get_stat_agg({m}, ka, {}, &{t}), {near})) goto {err};",
                        agg_name(op)
                    ));
                } else {
                    self.w.line(format!(
                        "if (stp_data_failed(c, {m}, stp_map_get_stat_agg_match({m}, ka, {wildcards}u, {}, &{t}), {near})) goto {err};",
                        agg_name(op)
                    ));
                }
            }
            LValue::Local(_) | LValue::Target(_) | LValue::ProbeText => {
                unreachable!("locals and target values are never statistics")
            }
        }
        Val::Long(t)
    }

    /// `print(@hist_*(stats))`: draws the histogram into the output.
    pub(super) fn histogram(&mut self, stats: &LValue, location: &Location) -> Val {
        let near = c_string(&location.near());
        let err = self.err_label();
        match stats {
            LValue::Global(g) => {
                let Storage::Stat(name) = storage(&self.program.globals[g.0 as usize]) else {
                    unreachable!()
                };
                self.w.line(format!(
                    "stp_print_hist(c, stp_pstat_agg(&{name}), &{name}.desc, {name}.hist_buf, {name}.hist_size, {near});"
                ));
                self.check_error();
            }
            LValue::Index { array, keys, .. } => {
                let Storage::StatMap(name) = storage(&self.program.globals[array.0 as usize])
                else {
                    unreachable!()
                };
                let m = self.map_for_read(*array, location);
                self.fill_keys(keys, &[]);
                self.w.open("");
                self.w.line(format!(
                    "const struct stp_stat *st = stp_map_get_stat({m}, ka);"
                ));
                self.w.open("if (!st)");
                self.w
                    .line(format!("STP_ERROR(c, \"empty aggregate\", {near});"));
                self.w.line(format!("goto {err};"));
                self.w.close("");
                self.w.line(format!("stp_print_hist(c, st, &{name}.sdesc, {name}.hist_buf, {name}.hist_size, {near});"));
                self.w.close("");
                self.check_error();
            }
            LValue::Local(_) | LValue::Target(_) | LValue::ProbeText => {
                unreachable!("locals and target values are never statistics")
            }
        }
        Val::Void
    }

    /// `delete array`, `delete stats`.
    pub(super) fn delete_global(&mut self, g: GlobalId) {
        let global = &self.program.globals[g.0 as usize];
        match (storage(global), &global.kind) {
            (Storage::Map(name), _) => self.w.line(format!("stp_map_clear({name});")),
            (Storage::Stat(name), _) => self.w.line(format!("stp_pstat_clear(&{name});")),
            (Storage::StatMap(name), _) => self.w.line(format!("stp_pmap_clear(&{name});")),
            (Storage::Scalar, GlobalKind::Scalar(Type::String)) => {
                self.w.line(format!("{}[0] = '\\0';", global_name(global)))
            }
            (Storage::Scalar, _) => self.w.line(format!("{} = 0;", global_name(global))),
        }
    }

    /// `delete array[keys]`, with `*` wildcards.
    pub(super) fn delete_elements(&mut self, array: GlobalId, keys: &[Option<Expr>]) {
        let present: Vec<Expr> = keys.iter().flatten().cloned().collect();
        let mut vals = self.eval_stable(&present, &[]).into_iter();
        let mut mask = 0u32;
        let mut filled = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match k {
                Some(_) => filled.push(vals.next().expect("one value per key")),
                None => {
                    mask |= 1 << i;
                    filled.push(Val::Long("0".into()));
                }
            }
        }
        self.fill_key_vals(filled);
        match storage(&self.program.globals[array.0 as usize]) {
            Storage::Map(name) if mask == 0 => self.w.line(format!("stp_map_delete({name}, ka);")),
            Storage::Map(name) => self
                .w
                .line(format!("stp_map_delete_match({name}, ka, {mask}u);")),
            Storage::StatMap(name) => self
                .w
                .line(format!("stp_pmap_delete(&{name}, ka, {mask}u);")),
            _ => unreachable!(
                "sema checked '{}' is an array",
                self.program.globals[array.0 as usize].name
            ),
        }
    }

    /// `foreach ([keys] in array ...) body`.
    pub(super) fn foreach(&mut self, f: &Foreach, location: &Location) {
        let n = self.next_label_number();
        let (node, mvar, count, limit) = (
            format!("node{n}"),
            format!("map{n}"),
            format!("count{n}"),
            format!("limit{n}"),
        );
        let brk = format!("break_{n}");
        let cont = format!("continue_{n}");
        let g = &self.program.globals[f.array.0 as usize];
        let stats = matches!(storage(g), Storage::StatMap(_));
        let value_type = match &g.kind {
            GlobalKind::Array(a) => a.value,
            GlobalKind::Scalar(t) => *t,
        };
        let key_types = match &g.kind {
            GlobalKind::Array(a) => a.keys.clone(),
            GlobalKind::Scalar(_) => Vec::new(),
        };
        self.w.open("");
        self.w.line(format!("struct stp_map *{mvar};"));
        self.w.line(format!("struct stp_map_node *{node};"));
        self.w.line(format!("int64_t {count} = 0, {limit} = -1;"));
        let slice = format!("slice{n}");
        let mut wildmask = 0u32;
        if !f.slice.is_empty() {
            self.w
                .line(format!("union stp_arg {slice}[{}];", f.slice.len()));
            for (i, k) in f.slice.iter().enumerate() {
                match k {
                    None => {
                        wildmask |= 1 << i;
                        self.w.line(format!("{slice}[{i}].n = 0;"));
                    }
                    // Kept in temporaries the body does not reuse.
                    Some(e) => match self.expr(e) {
                        Val::Str(v) if v.starts_with('"') || v.starts_with("l->s") => {
                            self.w.line(format!("{slice}[{i}].s = {v};"));
                        }
                        Val::Long(v) if is_temp_or_const(&v) => {
                            self.w.line(format!("{slice}[{i}].n = {v};"));
                        }
                        Val::Str(v) => {
                            let t = self.string_temp();
                            self.w.line(format!("stp_strlcpy({t}, {v}, MAXSTRINGLEN);"));
                            self.w.line(format!("{slice}[{i}].s = {t};"));
                        }
                        v => {
                            let v = v.long();
                            let t = self.long_temp();
                            self.w.line(format!("{t} = {v};"));
                            self.w.line(format!("{slice}[{i}].n = {t};"));
                        }
                    },
                }
            }
        }
        if let Some(l) = &f.limit {
            let v = self.expr(l).long();
            self.w.line(format!("{limit} = {v};"));
        }
        let m = self.map_for_read(f.array, location);
        self.w.line(format!("{mvar} = {m};"));
        if let Some(sort) = f.sort {
            let (column, agg) = match sort.by {
                SortKey::Key(k) => (k + 1, "STP_AGG_COUNT"),
                SortKey::Value => (0, "STP_AGG_COUNT"),
                SortKey::Aggregate(op) => (0, agg_name(op)),
            };
            let dir = if sort.descending { -1 } else { 1 };
            // With `limit N` only the first N of the sort move to the
            // front (SystemTap's order; see stp_map_sortn).
            self.w.line(format!(
                "stp_map_sortn({mvar}, {column}, {dir}, {agg}, {limit});"
            ));
        }
        self.w.open(format!(
            "for ({node} = stp_map_first({mvar}); {node}; {node} = stp_map_next({mvar}, {node}))"
        ));
        let err = self.err_label();
        // `limit` counts the entries walked, matching the slice or not, as
        // SystemTap's does (a sorted foreach with a limit walks only the
        // first N of the sort).
        self.w
            .line(format!("if ({limit} >= 0 && {count}++ >= {limit}) break;"));
        if !f.slice.is_empty() {
            self.w.line(format!(
                "if (!stp_map_node_matches({mvar}, {node}, {slice}, {wildmask}u)) continue;"
            ));
        }
        self.w.line(format!(
            "if (stp_action(c, 1, {})) goto {err};",
            c_string(&location.near())
        ));
        for (i, (local, ty)) in f.keys.iter().zip(key_types).enumerate() {
            let (name, _) = self.local(*local);
            match ty {
                Type::String => self.w.line(format!(
                    "stp_strlcpy({name}, stp_map_node_key_str({mvar}, {node}, {i}), MAXSTRINGLEN);"
                )),
                _ => self.w.line(format!(
                    "{name} = stp_map_node_key_long({mvar}, {node}, {i});"
                )),
            }
        }
        if let (Some(v), false) = (f.value, stats) {
            let (name, _) = self.local(v);
            match value_type {
                Type::String => self.w.line(format!(
                    "stp_strlcpy({name}, stp_map_node_str({mvar}, {node}), MAXSTRINGLEN);"
                )),
                _ => self
                    .w
                    .line(format!("{name} = stp_map_node_long({mvar}, {node});")),
            }
        }
        self.foreach_body(&f.body, brk, cont);
    }

    /// Sets C variable `st` to the merged statistics `stats` names (NULL
    /// for an array element never added to) and returns its descriptor.
    fn hist_source(&mut self, stats: &LValue, st: &str, location: &Location) -> String {
        match stats {
            LValue::Global(g) => {
                let Storage::Stat(name) = storage(&self.program.globals[g.0 as usize]) else {
                    unreachable!("sema made histogram operands statistics")
                };
                self.w.line(format!("{st} = stp_pstat_agg(&{name});"));
                format!("&{name}.desc")
            }
            LValue::Index { array, keys, .. } => {
                let Storage::StatMap(name) = storage(&self.program.globals[array.0 as usize])
                else {
                    unreachable!("sema made histogram operands statistics")
                };
                let m = self.map_for_read(*array, location);
                self.fill_keys(keys, &[]);
                self.w.line(format!("{st} = stp_map_get_stat({m}, ka);"));
                format!("&{name}.sdesc")
            }
            LValue::Local(_) | LValue::Target(_) | LValue::ProbeText => {
                unreachable!("locals and target values are never statistics")
            }
        }
    }

    /// `@hist_*(stats)[bucket]`: one bucket's count; an empty histogram
    /// or a bucket it does not have is an error.
    pub(super) fn hist_bucket(
        &mut self,
        stats: &LValue,
        bucket: &Expr,
        location: &Location,
    ) -> Val {
        let near = c_string(&location.near());
        let err = self.err_label();
        let b = self.expr(bucket).long();
        let i = self.long_temp();
        self.w.line(format!("{i} = {b};"));
        let t = self.long_temp();
        self.w.open("");
        self.w.line("const struct stp_stat *st;");
        let desc = self.hist_source(stats, "st", location);
        self.w.line(format!(
            "if (stp_hist_at(c, st, {desc}, {i}, &{t}, {near})) goto {err};"
        ));
        self.w.close("");
        Val::Long(t)
    }

    /// `foreach (count = b in @hist_*(stats) limit N) body`: every bucket
    /// in order, as SystemTap 5.1 walks them whatever sort is written.
    pub(super) fn foreach_buckets(&mut self, f: &ForeachBuckets, location: &Location) {
        let n = self.next_label_number();
        let (st, bucket, count, limit) = (
            format!("hist{n}"),
            format!("bucket{n}"),
            format!("count{n}"),
            format!("limit{n}"),
        );
        let brk = format!("break_{n}");
        let cont = format!("continue_{n}");
        self.w.open("");
        self.w.line(format!("const struct stp_stat *{st};"));
        self.w.line(format!("int {bucket};"));
        self.w.line(format!("int64_t {count} = 0, {limit} = -1;"));
        if let Some(l) = &f.limit {
            let v = self.expr(l).long();
            self.w.line(format!("{limit} = {v};"));
        }
        let desc = self.hist_source(&f.stats, &st, location);
        self.w.open(format!(
            "for ({bucket} = 0; {bucket} < ({desc})->nbuckets; {bucket}++)"
        ));
        let err = self.err_label();
        self.w
            .line(format!("if ({limit} >= 0 && {count}++ >= {limit}) break;"));
        self.w.line(format!(
            "if (stp_action(c, 1, {})) goto {err};",
            c_string(&location.near())
        ));
        let (name, _) = self.local(f.bucket);
        self.w.line(format!("{name} = {bucket};"));
        if let Some(v) = f.value {
            let (name, _) = self.local(v);
            self.w
                .line(format!("{name} = stp_hist_count({st}, {bucket});"));
        }
        self.foreach_body(&f.body, brk, cont);
    }

    /// A foreach loop's body and its end: `cont` (next iteration) and
    /// `brk` (after the loop) label the two scopes the loop opened.
    fn foreach_body(&mut self, body: &Block, brk: String, cont: String) {
        self.push_loop(brk.clone(), cont.clone());
        let floors = self.reserve_temps();
        self.w.open("");
        self.block(body);
        self.w.close("");
        self.unreserve_temps(floors);
        self.pop_loop();
        self.w.label(&cont);
        self.w.line(";");
        self.w.close("");
        self.w.label(&brk);
        self.w.line(";");
        self.w.close("");
    }
}
