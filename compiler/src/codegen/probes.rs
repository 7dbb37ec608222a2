//! The probe tables: one `struct stp_probe` per probe point, the
//! begin/end/error pointers in priority order, one table per event family
//! (timers, kprobes, ...), the list of those families with their runtime
//! operations (`struct stp_family_points`), and the `stp_module_desc` that
//! hands it all to the runtime.
//!
//! An event family is a [`Family`]: it collects its points and writes its
//! table, whose entries are its runtime file's `struct stp_<family>`
//! (`runtime-c/core/<family>.c`, which defines the `stp_<family>_family`
//! operations the session iterates). Adding a family means one `Family`
//! implementation and one arm in [`probe_tables`].

use super::data::{self, Storage};
use super::share::ProbeHandlers;
use super::writer::{c_comment, c_string, CWriter};
use super::Config;
use crate::ir::*;

/// A written table of points: the C array and its length.
struct Table {
    /// The runtime family (`kprobe` for `stp_kprobe_family`).
    family: &'static str,
    /// The C array.
    name: String,
    /// Its entries.
    len: usize,
}

/// One event family's table.
trait Family {
    /// Records point `var` (the `struct stp_probe` variable). `entry`
    /// names the probe's entry-data struct when it saves values at
    /// function entry (then `VAR_entry` is the entry handler's probe).
    fn add(&mut self, var: &str, point: &ProbePoint, entry: Option<&str>);
    /// Writes the table, if there are points.
    fn write(&mut self, out: &mut CWriter) -> Option<Table>;
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

impl Ordered {
    fn add(&mut self, var: &str, point: &ProbePoint) {
        if let ProbeKind::Begin { priority }
        | ProbeKind::End { priority }
        | ProbeKind::Error { priority } = point.kind
        {
            self.entries.push((priority, var.to_string()));
        }
    }

    /// Writes the pointers; the descriptor field and their number.
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

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "timer", "timers", "stp_timer_probe", &self.0)
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

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "kprobe", "kprobes", "stp_kprobe", &self.0)
    }
}

/// `process("PATH").function("f")` probes (uprobes and uretprobes), and
/// SDT markers (`.mark("m")`, uprobes with a reference counter).
#[derive(Default)]
struct Uprobes(Vec<String>);

impl Family for Uprobes {
    fn add(&mut self, var: &str, point: &ProbePoint, entry: Option<&str>) {
        if let ProbeKind::Uprobe {
            path, offset, ret, ..
        } = &point.kind
        {
            let saves = match entry {
                Some(data) if *ret => {
                    format!(", .entry = &{var}_entry, .data_size = sizeof(struct {data})")
                }
                _ => String::new(),
            };
            self.0.push(format!(
                "{{ .probe = &{var}, .path = {}, .offset = {offset:#x}, .ret = {ret}, .optional = {}{saves} }},",
                c_string(path),
                point.optional
            ));
        }
        if let ProbeKind::UserMarker {
            path,
            offset,
            semaphore,
            ..
        } = &point.kind
        {
            // The kernel counts registered probes in the semaphore.
            let semaphore =
                semaphore.map_or(String::new(), |s| format!(", .ref_ctr_offset = {s:#x}"));
            self.0.push(format!(
                "{{ .probe = &{var}, .path = {}, .offset = {offset:#x}{semaphore}, .optional = {} }},",
                c_string(path),
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "uprobe", "uprobes", "stp_uprobe", &self.0)
    }
}

/// `process("PATH").begin/.end` and `process.end` probes (scheduler
/// tracepoints in the runtime, core/process.c).
///
/// The runtime runs the probes of one process's begin or end in the
/// table's order. SystemTap 5.1 runs the `process("PATH")` ones first
/// when the script has no uprobe and last when it has one, whatever the
/// script's order (docs/oracle/FINDINGS.md, "Order of process begin and
/// end probes"): [`Processes::paths_last`] says which, and each group
/// keeps the script's order.
#[derive(Default)]
struct Processes {
    /// Each entry, and whether it names a path.
    entries: Vec<(bool, String)>,
    /// The script has a uprobe (a function, statement or marker of a
    /// program or library).
    paths_last: bool,
}

impl Family for Processes {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Process { which, end } = &point.kind {
            let (path, pid) = match which {
                ProcessSelector::Any => ("NULL".to_string(), 0),
                ProcessSelector::Path(path) => (c_string(path), 0),
                ProcessSelector::Pid(pid) => ("NULL".to_string(), *pid),
            };
            self.entries.push((
                matches!(which, ProcessSelector::Path(_)),
                format!(
                    "{{ .probe = &{var}, .path = {path}, .pid = {pid}, .end = {end}, .optional = {} }},",
                    point.optional
                ),
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        if !self.entries.is_empty() {
            out.line("#if !STP_TRACEPOINT_SLOTS_OK");
            out.line("#error \"process probes need the exact tracepoint prototypes on kernels with CFI\"");
            out.line("#endif");
        }
        let paths_last = self.paths_last;
        // A stable sort: the script's order within each group.
        self.entries
            .sort_by_key(|(by_path, _)| *by_path == paths_last);
        let entries: Vec<String> = self.entries.iter().map(|(_, e)| e.clone()).collect();
        write_table(out, "process", "processes", "stp_process_probe", &entries)
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

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
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
        write_table(
            out,
            "tracepoint",
            "tracepoints",
            "stp_tracepoint",
            &self.entries,
        )
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

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "netfilter", "netfilters", "stp_netfilter", &self.0)
    }
}

/// `procfs("PATH").read/.write` probes: files under
/// `/proc/systemtap/MODULE/` (core/procfs.c).
#[derive(Default)]
struct Procfs(Vec<String>);

impl Family for Procfs {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Procfs {
            path,
            write,
            umask,
            maxsize,
        } = &point.kind
        {
            // -1: no umask given (the default modes).
            let umask = umask.map_or("-1".to_string(), |u| format!("0{u:o}"));
            self.0.push(format!(
                "{{ .probe = &{var}, .path = {}, .write = {write}, .umask = {umask}, .maxsize = {}, .optional = {} }},",
                c_string(path),
                maxsize.unwrap_or(0),
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "procfs", "procfs", "stp_procfs", &self.0)
    }
}

/// `kernel.data(...)` probes: hardware breakpoints (core/hwbkpt.c).
#[derive(Default)]
struct HwBreakpoints(Vec<String>);

impl Family for HwBreakpoints {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::HwBreakpoint {
            address,
            symbol,
            len,
            write_only,
        } = &point.kind
        {
            self.0.push(format!(
                "{{ .probe = &{var}, .address = {address:#x}UL, .symbol = {}, .len = {len}, .write_only = {write_only}, .optional = {} }},",
                symbol.as_deref().map_or("NULL".to_string(), c_string),
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "hwbkpt", "hwbkpts", "stp_hwbkpt", &self.0)
    }
}

/// `perf.*` probes: kernel perf counters (core/perf.c).
#[derive(Default)]
struct PerfEvents(Vec<String>);

impl Family for PerfEvents {
    fn add(&mut self, var: &str, point: &ProbePoint, _: Option<&str>) {
        if let ProbeKind::Perf {
            event_type,
            config,
            period,
            freq,
            process,
            counter,
        } = &point.kind
        {
            self.0.push(format!(
                "{{ .probe = &{var}, .type = {event_type}, .config = {config:#x}ULL, .period = {period}ULL, .freq = {freq}, .task = {}, .counter = {}, .optional = {} }},",
                process.is_some(),
                counter.as_deref().map_or("NULL".to_string(), c_string),
                point.optional
            ));
        }
    }

    fn write(&mut self, out: &mut CWriter) -> Option<Table> {
        write_table(out, "perf", "perfs", "stp_perf", &self.0)
    }
}

/// What `pp()` gives for `point`: its name, except for an SDT marker of
/// a program named by its path, which SystemTap 5.1 reports as the
/// statement it probes, `process("PATH").statement(0xADDRESS)`
/// (`tests/scripts/sdt_markers.oracle`, a static PIE whose addresses are
/// its file offsets, as the marker's offset here is; `-l` and `-L` still
/// name the marker). A library's markers, written by soname or path,
/// take the same form (not observed); `.library("L").mark(...)` keeps
/// its name.
fn probe_point_text(point: &ProbePoint) -> std::borrow::Cow<'_, str> {
    if let ProbeKind::UserMarker { path, offset, .. } = &point.kind {
        let place = format!("process(\"{path}\")");
        if point
            .name
            .strip_prefix(&place)
            .is_some_and(|rest| rest.starts_with(".mark(") || rest.starts_with(".provider("))
        {
            return format!("{place}.statement({offset:#x})").into();
        }
    }
    point.name.as_str().into()
}

/// `static struct stp_TYPE stp_NAME[] = { entries };` when there are any.
fn write_table(
    out: &mut CWriter,
    family: &'static str,
    name: &str,
    ctype: &str,
    entries: &[String],
) -> Option<Table> {
    if entries.is_empty() {
        return None;
    }
    let name = format!("stp_{name}");
    out.open(format!("static struct {ctype} {name}[] ="));
    for entry in entries {
        out.line(entry);
    }
    out.close(";");
    Some(Table {
        family,
        name,
        len: entries.len(),
    })
}

/// The probe points, the family tables and the module descriptor.
/// With `with_pn` (the program calls `pn()`), each probe also carries its
/// point as written. `handlers` names each probe's handlers, which the
/// points of one source probe share where their C is the same.
pub(super) fn probe_tables(
    out: &mut CWriter,
    program: &Program,
    config: &Config,
    with_pn: bool,
    handlers: &[ProbeHandlers],
) {
    let mut begin = Ordered::new("begin");
    let mut end = Ordered::new("end");
    let mut error = Ordered::new("error");
    let mut timers = Timers::default();
    let mut kprobes = Kprobes::default();
    let mut tracepoints = Tracepoints::default();
    let mut uprobes = Uprobes::default();
    let mut processes = Processes::default();
    let mut netfilters = Netfilters::default();
    let mut procfs = Procfs::default();
    let mut hwbkpts = HwBreakpoints::default();
    let mut perfs = PerfEvents::default();
    for (i, (p, handler)) in program.probes.iter().zip(handlers).enumerate() {
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
            let pp = probe_point_text(point);
            out.line(format!(
                "static const struct stp_probe {var} = {{ {}, {}, {func} }};",
                c_string(&pp),
                handler.body
            ));
            let entry = handler.entry_data.as_deref();
            if let Some(entry_handler) = &handler.entry {
                out.line(format!(
                    "static const struct stp_probe {var}_entry = {{ {}, {entry_handler}, {func} }};",
                    c_string(&pp)
                ));
            }
            let family: &mut dyn Family = match &point.kind {
                ProbeKind::Begin { .. } => {
                    begin.add(&var, point);
                    continue;
                }
                ProbeKind::End { .. } => {
                    end.add(&var, point);
                    continue;
                }
                ProbeKind::Error { .. } => {
                    error.add(&var, point);
                    continue;
                }
                ProbeKind::Never => continue,
                ProbeKind::Timer { .. } => &mut timers,
                ProbeKind::Kprobe { .. }
                | ProbeKind::KprobeInline { .. }
                | ProbeKind::KprobeAddress { .. } => &mut kprobes,
                ProbeKind::Tracepoint { .. } => &mut tracepoints,
                ProbeKind::Uprobe { .. } | ProbeKind::UserMarker { .. } => &mut uprobes,
                ProbeKind::Process { .. } => &mut processes,
                ProbeKind::Netfilter { .. } => &mut netfilters,
                ProbeKind::Procfs { .. } => &mut procfs,
                ProbeKind::HwBreakpoint { .. } => &mut hwbkpts,
                ProbeKind::Perf { .. } => &mut perfs,
            };
            family.add(&var, point, entry);
        }
    }
    processes.paths_last = !uprobes.0.is_empty();
    out.line("");
    let ordered: Vec<_> = [&mut begin, &mut end, &mut error]
        .into_iter()
        .filter_map(|o| o.write(out))
        .collect();
    let families: [&mut dyn Family; 9] = [
        &mut timers,
        &mut kprobes,
        &mut tracepoints,
        &mut uprobes,
        &mut processes,
        &mut netfilters,
        &mut procfs,
        &mut hwbkpts,
        &mut perfs,
    ];
    let mut tables: Vec<Table> = families.into_iter().filter_map(|f| f.write(out)).collect();
    // The runtime registers the families in this order (timers armed
    // first), and unregisters them in the reverse.
    const REGISTRATION: [&str; 9] = [
        "timer",
        "kprobe",
        "uprobe",
        "tracepoint",
        "process",
        "netfilter",
        "procfs",
        "hwbkpt",
        "perf",
    ];
    tables.sort_by_key(|t| REGISTRATION.iter().position(|f| *f == t.family));
    out.line("");
    if !tables.is_empty() {
        out.open("static const struct stp_family_points stp_families[] =");
        for t in &tables {
            out.line(format!(
                "{{ &stp_{}_family, {}, {} }},",
                t.family, t.name, t.len
            ));
        }
        out.close(";");
        out.line("");
    }
    out.open("static const struct stp_module_desc stp_module =");
    out.line(format!("/* {} */", c_comment(&config.module_name)));
    out.line(".name = KBUILD_MODNAME,");
    out.line(".frame_size = sizeof(union stp_frame),");
    let has_data = program
        .globals
        .iter()
        .any(|g| !matches!(data::storage(g), Storage::Scalar));
    for (field, table, n) in &ordered {
        out.line(format!(".{field} = {table},"));
        out.line(format!(".n{field} = {n},"));
    }
    if has_data {
        out.line(".globals_init = stp_globals_init,");
        out.line(".globals_exit = stp_globals_exit,");
    }
    if !tables.is_empty() {
        out.line(".families = stp_families,");
        out.line(format!(".nfamilies = {},", tables.len()));
    }
    out.close(";");
    out.line("");
    out.line(format!(
        "STP_MODULE(stp_module, {});",
        c_string(&format!("stapkit script {}", config.script_name))
    ));
}
