//! The probe tables: one `struct stp_probe` per probe point, then one table
//! per probe family (begin/end/error by priority, timers, kprobes, ...)
//! and the `stp_module_desc` that hands them to the runtime.
//!
//! A family is a [`Family`]: it collects its points and writes its table;
//! the descriptor then gets `.FIELD = TABLE, .nFIELD = N` for each family
//! with entries. Adding a family means one `Family` implementation and one
//! arm in [`probe_tables`].

use super::data::{self, Storage};
use super::writer::{c_comment, c_string, CWriter};
use super::Config;
use crate::ir::*;

/// One probe family's table.
trait Family {
    /// Records point `var` (the `struct stp_probe` variable). `entry`
    /// names the probe's entry-data struct when it saves values at
    /// function entry (then `VAR_entry` is the entry handler's probe).
    fn add(&mut self, var: &str, point: &ProbePoint, entry: Option<&str>);
    /// Writes the table; its descriptor field and entry count, if any.
    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)>;
}

/// `begin`, `end` or `error` probes: pointers in priority order.
struct Ordered {
    field: &'static str,
    entries: Vec<(i64, String)>,
}

impl Ordered {
    fn new(field: &'static str) -> Ordered {
        Ordered {
            field,
            entries: Vec::new(),
        }
    }
}

impl Family for Ordered {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Begin { priority }
        | ProbeKind::End { priority }
        | ProbeKind::Error { priority } = point.kind
        {
            self.entries.push((priority, var.to_string()));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        if self.entries.is_empty() {
            return None;
        }
        // Lower priorities first; equal priorities in script order.
        self.entries.sort_by_key(|(priority, _)| *priority);
        let table = format!("stp_{}_probes", self.field);
        out.open(format!("static const struct stp_probe *const {table}[] ="));
        for (_, var) in &self.entries {
            out.line(format!("&{var},"));
        }
        out.close(";");
        Some((self.field, table, self.entries.len()))
    }
}

/// `timer.*` probes.
#[derive(Default)]
struct Timers(Vec<String>);

impl Family for Timers {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Timer {
            period_ns,
            randomize_ns,
            per_cpu,
        } = point.kind
        {
            self.0.push(format!(
                "{{ .probe = &{var}, .period_ns = {period_ns}ULL, .randomize_ns = {randomize_ns}ULL, .per_cpu = {per_cpu} }},"
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        write_table(out, "timers", "stp_timer_probe", &self.0)
    }
}

/// `kernel.function`, `kprobe.function` and `module().function` probes.
#[derive(Default)]
struct Kprobes(Vec<String>);

impl Family for Kprobes {
    fn add(&mut self, var: &str, point: &ProbePoint, entry: Option<&str>) {
        if let ProbeKind::Kprobe {
            function,
            module,
            ret,
            maxactive,
        } = &point.kind
        {
            let symbol = match module {
                Some(m) => format!("{m}:{function}"),
                None => function.clone(),
            };
            // A module's function waits for the module to load.
            let waits = match module {
                Some(m) => format!(", .module = {}", c_string(m)),
                None => String::new(),
            };
            let saves = match entry {
                Some(data) if *ret => {
                    format!(", .entry = &{var}_entry, .data_size = sizeof(struct {data})")
                }
                _ => String::new(),
            };
            self.0.push(format!(
                "{{ .probe = &{var}, .symbol = {}{waits}, .ret = {ret}, .maxactive = {}, .optional = {}{saves} }},",
                c_string(&symbol),
                maxactive.unwrap_or(0),
                point.optional
            ));
        } else if let ProbeKind::KprobeInline { symbol, offset, .. } = &point.kind {
            self.0.push(format!(
                "{{ .probe = &{var}, .symbol = {}, .offset = {offset:#x}UL, .optional = {} }},",
                c_string(symbol),
                point.optional
            ));
        } else if let ProbeKind::KprobeAddress { address } = &point.kind {
            self.0.push(format!(
                "{{ .probe = &{var}, .addr = {address:#x}UL, .optional = {} }},",
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        write_table(out, "kprobes", "stp_kprobe", &self.0)
    }
}

/// `process("PATH").function("f")` probes (uprobes and uretprobes).
#[derive(Default)]
struct Uprobes(Vec<String>);

impl Family for Uprobes {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Uprobe {
            path, offset, ret, ..
        } = &point.kind
        {
            self.0.push(format!(
                "{{ .probe = &{var}, .path = {}, .offset = {offset:#x}, .ret = {ret}, .optional = {} }},",
                c_string(path),
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        write_table(out, "uprobes", "stp_uprobe", &self.0)
    }
}

/// `process("PATH").begin/.end` and `process.end` probes (scheduler
/// tracepoints in the runtime, core/process.c).
#[derive(Default)]
struct Processes(Vec<String>);

impl Family for Processes {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Process { which, end } = &point.kind {
            let (path, pid) = match which {
                ProcessSelector::Any => ("NULL".to_string(), 0),
                ProcessSelector::Path(path) => (c_string(path), 0),
                ProcessSelector::Pid(pid) => ("NULL".to_string(), *pid),
            };
            self.0.push(format!(
                "{{ .probe = &{var}, .path = {path}, .pid = {pid}, .end = {end}, .optional = {} }},",
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        if !self.0.is_empty() {
            out.line("#if !STP_TRACEPOINT_SLOTS_OK");
            out.line("#error \"process probes need the exact tracepoint prototypes on kernels with CFI\"");
            out.line("#endif");
        }
        write_table(out, "processes", "stp_process_probe", &self.0)
    }
}

/// `kernel.trace(...)` probes: one probe function per arity, void
/// `fn(void *data, unsigned long a0, ...)` (each argument in a
/// register-width slot; the runtime's comment says why that is enough),
/// then the table.
#[derive(Default)]
struct Tracepoints {
    entries: Vec<String>,
    arities: std::collections::BTreeSet<usize>,
}

impl Family for Tracepoints {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Tracepoint {
            name,
            nargs,
            module,
            ..
        } = &point.kind
        {
            self.arities.insert(*nargs);
            let module = if *module { ", .module = true" } else { "" };
            self.entries.push(format!(
                "{{ .probe = &{var}, .name = {}, .func = (void *)stp_tracepoint_fn_{nargs}, .optional = {}{module} }},",
                c_string(name),
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        if self.entries.is_empty() {
            return None;
        }
        out.line("#if !STP_TRACEPOINT_SLOTS_OK");
        out.line("#error \"tracepoint probes need the exact prototypes on kernels with CFI\"");
        out.line("#endif");
        for &n in &self.arities {
            let params: String = (0..n).map(|i| format!(", unsigned long a{i}")).collect();
            out.open(format!(
                "static void stp_tracepoint_fn_{n}(void *data{params})"
            ));
            if n == 0 {
                out.line("stp_tracepoint_run(data, NULL);");
            } else {
                let args: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
                out.line(format!(
                    "unsigned long args[{n}] = {{ {} }};",
                    args.join(", ")
                ));
                out.line("");
                out.line("stp_tracepoint_run(data, args);");
            }
            out.close("");
        }
        write_table(out, "tracepoints", "stp_tracepoint", &self.entries)
    }
}

/// `netfilter.hook(...).pf(...)` probes: `struct nf_hook_ops` the runtime
/// fills and registers (core/netfilter.c).
#[derive(Default)]
struct Netfilters(Vec<String>);

impl Family for Netfilters {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Netfilter { pf, hook, priority } = &point.kind {
            self.0.push(format!(
                "{{ .probe = &{var}, .pf = {pf}, .hooknum = {hook}, .priority = {}, .optional = {} }},",
                // INT_MIN has no decimal literal of type int.
                if *priority == i32::MIN {
                    "INT_MIN".to_string()
                } else {
                    priority.to_string()
                },
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<(&'static str, String, usize)> {
        write_table(out, "netfilters", "stp_netfilter", &self.0)
    }
}

/// `static struct stp_TYPE stp_FIELD[] = { entries };` when there are any.
fn write_table(
    out: &mut CWriter,
    field: &'static str,
    ctype: &str,
    entries: &[String],
) -> Option<(&'static str, String, usize)> {
    if entries.is_empty() {
        return None;
    }
    let table = format!("stp_{field}");
    out.open(format!("static struct {ctype} {table}[] ="));
    for entry in entries {
        out.line(entry);
    }
    out.close(";");
    Some((field, table, entries.len()))
}

/// The probe points, the family tables and the module descriptor.
/// With `with_pn` (the program calls `pn()`), each probe also carries its
/// point as written.
pub(super) fn probe_tables(out: &mut CWriter, program: &Program, config: &Config, with_pn: bool) {
    let mut begin = Ordered::new("begin");
    let mut end = Ordered::new("end");
    let mut error = Ordered::new("error");
    let mut timers = Timers::default();
    let mut kprobes = Kprobes::default();
    let mut tracepoints = Tracepoints::default();
    let mut uprobes = Uprobes::default();
    let mut processes = Processes::default();
    let mut netfilters = Netfilters::default();
    for (i, p) in program.probes.iter().enumerate() {
        for (j, point) in p.points.iter().enumerate() {
            let var = format!("stp_probe_{i}_{j}");
            let func = match &point.kind {
                ProbeKind::Kprobe { function, .. } | ProbeKind::Uprobe { function, .. } => {
                    c_string(function)
                }
                ProbeKind::KprobeInline { containing, .. } => c_string(containing),
                _ => "\"\"".to_string(),
            };
            let func = match p.written.get(j) {
                Some(written) if with_pn => format!("{func}, {}", c_string(written)),
                _ => func,
            };
            out.line(format!(
                "static const struct stp_probe {var} = {{ {}, stp_probe_{i}, {func} }};",
                c_string(&point.name)
            ));
            let entry = (!p.entry.is_empty()).then(|| super::entry_struct(i));
            if entry.is_some() {
                out.line(format!(
                    "static const struct stp_probe {var}_entry = {{ {}, stp_probe_{i}_entry, {func} }};",
                    c_string(&point.name)
                ));
            }
            let family: &mut dyn Family = match &point.kind {
                ProbeKind::Begin { .. } => &mut begin,
                ProbeKind::End { .. } => &mut end,
                ProbeKind::Error { .. } => &mut error,
                ProbeKind::Never => continue,
                ProbeKind::Timer { .. } => &mut timers,
                ProbeKind::Kprobe { .. }
                | ProbeKind::KprobeInline { .. }
                | ProbeKind::KprobeAddress { .. } => &mut kprobes,
                ProbeKind::Tracepoint { .. } => &mut tracepoints,
                ProbeKind::Uprobe { .. } => &mut uprobes,
                ProbeKind::Process { .. } => &mut processes,
                ProbeKind::Netfilter { .. } => &mut netfilters,
            };
            family.add(&var, point, entry.as_deref());
        }
    }
    out.line("");
    let families: [&mut dyn Family; 9] = [
        &mut begin,
        &mut end,
        &mut error,
        &mut timers,
        &mut kprobes,
        &mut tracepoints,
        &mut uprobes,
        &mut processes,
        &mut netfilters,
    ];
    let tables: Vec<_> = families.into_iter().filter_map(|f| f.write(out)).collect();
    out.line("");
    out.open("static const struct stp_module_desc stp_module =");
    out.line(format!("/* {} */", c_comment(&config.module_name)));
    out.line(".name = KBUILD_MODNAME,");
    out.line(".frame_size = sizeof(union stp_frame),");
    let has_data = program
        .globals
        .iter()
        .any(|g| !matches!(data::storage(g), Storage::Scalar));
    let ordered = |field: &str| ["begin", "end", "error"].contains(&field);
    for (field, table, n) in tables.iter().filter(|t| ordered(t.0)) {
        out.line(format!(".{field} = {table},"));
        out.line(format!(".n{field} = {n},"));
    }
    if has_data {
        out.line(".globals_init = stp_globals_init,");
        out.line(".globals_exit = stp_globals_exit,");
    }
    for (field, table, n) in tables.iter().filter(|t| !ordered(t.0)) {
        out.line(format!(".{field} = {table},"));
        out.line(format!(".n{field} = {n},"));
    }
    out.close(";");
    out.line("");
    out.line(format!(
        "STP_MODULE(stp_module, {});",
        c_string(&format!("stapkit script {}", config.script_name))
    ));
}
