//! Semantic analysis: symbol and tapset resolution, probe elaboration and
//! type inference, lowering the AST to [`crate::ir`].
//!
//! ```text
//! script AST + tapset library
//!   -> collect: globals, functions, aliases (pulling in tapset files on demand)
//!   -> points: each probe's points resolved; one derived probe per alias expansion
//!   -> elide: dead assignments and side-effect-free statements left out
//!      (by node id), probes left with nothing to do dropped (not with -u)
//!   -> check: names and types, to a fixpoint; a last walk reports and
//!      records per node what lowering needs
//!   -> lower (only without errors): the IR, once
//! ```
//!
//! **Architecture Invariant:** sema never generates C; it only produces IR
//! and diagnostics. It may parse tapset files (it depends on `syntax`).
//!
//! ## How it is organised
//!
//! * **Node ids.** The parser numbers every `Expr`, `Stmt` and `Block`
//!   (`ast::NodeId`: the parsed file and an index). Facts about a node
//!   live in tables keyed by its id (`facts`), one set per body (a
//!   derived probe or a function: an alias body is walked once per probe
//!   that expands it, with its own locals and target variables), never by
//!   address. Elision keeps statement ids.
//! * **`check`** (phase 1) resolves names and infers types without
//!   building anything: types go into the slots of locals, globals,
//!   parameters and returns. Bodies are re-walked to a fixpoint by a
//!   worklist (`check::schedule`): a walk notes which globals and
//!   functions it read, and deciding a slot marks their readers, in the
//!   order full rounds would take, with no round cap. A last walk reports
//!   the diagnostics and records per node what lowering needs. Split by
//!   construct: statements, expressions, assignment, printing, statistics.
//! * **`lower`** (phase 2) runs once, only when checking found no
//!   errors, and builds the `ir::Program` from the AST and those tables;
//!   it reports nothing.
//! * **Target expressions** (`target`) are resolved by one resolver both
//!   phases call through a host (`vars::TargetHost`); what `$name`,
//!   `$$parms` and `@entry` mean at a point is its family's business.
//! * **Providers.** Each probe family (`points/<family>.rs`) resolves its
//!   points, offers its context's target variables (`vars::TargetVars`)
//!   and lists them for `-L`. See "Adding a probe family" in
//!   `docs/ARCHITECTURE.md`.

mod autoprint;
mod check;
mod collect;
mod elide;
mod facts;
mod format;
mod listing;
mod lower;
mod points;
pub mod regex;
mod scope;
mod syscall_names;
mod syscall_tapset;
mod tapset;
mod target;
mod umodules;
mod unassigned;
mod vars;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::diag::{Diagnostic, FileId, SourceMap, Span};
use crate::ir;
use crate::syntax::{ast, PreprocessConfig};

use collect::Source;
pub use listing::listing;
pub use points::dump_probe_types;
use points::{AliasDef, Resolved};
use scope::{FunctionDef, GlobalVar, Locals};
use tapset::Library;
pub use tapset::{dump_library, library_macros, LibraryDump, PreparedLibrary};

/// What analysis needs beyond the script.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Guru mode (`-g`): embedded C allowed in the script.
    pub guru: bool,
    /// Pass 2's optimizer off (`-u`): dead assignments, side-effect-free
    /// statements and probes left with nothing to do are kept. Functions
    /// no probe reaches are left out all the same, as SystemTap does.
    pub unoptimized: bool,
    /// Extra tapset directories (`-I`).
    pub include_dirs: Vec<PathBuf>,
    /// The target as the preprocessor saw it (tapsets are parsed with it).
    pub preprocess: PreprocessConfig,
    /// What the target kernel looks like (function prototypes, struct
    /// layouts, tracepoints, syscalls); absent without a tree.
    pub kernel: Option<std::sync::Arc<crate::debuginfo::KernelInfo>>,
    /// The target's user-space programs (read under `--sysroot DIR`).
    pub programs: std::sync::Arc<crate::debuginfo::UserPrograms>,
    /// Programs and libraries whose unwind data and symbols the module
    /// carries besides the probed ones (`-d PATH`).
    pub unwind_paths: Vec<String>,
    /// Also carry the shared libraries those need (`--ldd`).
    pub ldd: bool,
    /// The most concrete probe points a script's probes may resolve to
    /// (`-D MAXPROBES=N`, stapkit's own). `None`, the default, is no limit,
    /// as in SystemTap, which expands `kernel.function("*")` (41,480 points
    /// on Debian's 6.1) and lets the kernel register what it can; a user or
    /// a CI job that wants a broad wildcard refused before anything is
    /// built sets the limit.
    pub max_probes: Option<usize>,
}

/// The outcome of analysis.
#[derive(Debug)]
pub struct Analysis {
    /// The program, when there were no errors.
    pub program: Option<ir::Program>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
    /// What `stap -v`'s pass-2 line counts, also when pass 2 failed.
    pub summary: Summary,
}

/// The counts of `stap -v`'s `Pass 2: analyzed script: ...` line: the
/// program's probes, functions kept, embedded-C blocks and globals in use;
/// when pass 2 fails, what it had resolved and reached by then (observed
/// with SystemTap 5.1, `tests/oracle/verbose.stp`: a type error still
/// counts every probe, function and global; a probe point that resolves
/// to nothing is not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Probes (after the optimizer dropped those with nothing to do).
    pub probes: usize,
    /// Functions reached from the probes.
    pub functions: usize,
    /// Top-level embedded-C blocks.
    pub embeds: usize,
    /// Globals something reads or writes.
    pub globals: usize,
}

impl Summary {
    fn of(program: &ir::Program) -> Summary {
        Summary {
            probes: program.probes.len(),
            functions: program.functions.len(),
            embeds: program.embedded.len(),
            globals: program.globals.iter().filter(|g| g.used).count(),
        }
    }
}

/// A probe after point resolution: one body with its alias code.
struct DerivedProbe<'a> {
    points: Vec<ir::ProbePoint>,
    /// What `stap -l` lists for each point.
    listed: Vec<String>,
    prologues: Vec<&'a ast::Block>,
    body: &'a ast::Block,
    epilogues: Vec<&'a ast::Block>,
    condition: Option<&'a ast::Expr>,
    span: Span,
    locals: Locals,
    /// The target variables the points offer (one point per probe then).
    context: points::ProbeContext,
    /// What the optimizer left out ([`elide`]).
    elision: std::sync::Arc<elide::Elision>,
    /// Where an elided probe is reported: `probe`, or the point written
    /// when it came through an alias.
    elided_at: Span,
    /// What checking's reporting walk learnt about its nodes.
    facts: facts::BodyFacts,
}

impl<'a> DerivedProbe<'a> {
    /// The blocks the probe runs, in order: its aliases' prologues, its
    /// handler, its aliases' epilogues.
    fn blocks(&self) -> impl Iterator<Item = &'a ast::Block> + '_ {
        self.prologues
            .iter()
            .copied()
            .chain(std::iter::once(self.body))
            .chain(self.epilogues.iter().copied())
    }

    /// The statements the probe runs ([`Self::blocks`]), without those
    /// elided.
    fn statements(&self) -> impl Iterator<Item = &'a ast::Stmt> + '_ {
        self.blocks()
            .flat_map(|b| &b.stmts)
            .filter(|s| !self.elision.stmt(s))
    }
}

/// Everything analysis knows, shared by the walks.
pub struct Context<'a> {
    map: &'a SourceMap,
    config: &'a Config,
    globals: Vec<GlobalVar<'a>>,
    functions: Vec<FunctionDef<'a>>,
    /// Each name's functions, one per arity (SystemTap overloads by the
    /// number of parameters: `ctime()` and `ctime(secs)`).
    function_index: HashMap<String, Vec<usize>>,
    library: &'a Library,
    pulled: Vec<bool>,
    embedded: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    /// Compiled `=~` patterns, one per distinct pattern ([`ir::RegexId`]).
    regexes: Vec<ir::RegexDfa>,
    /// Pattern → its index in `regexes`, or why it does not compile.
    regex_index: HashMap<Vec<u8>, Result<u32, regex::RegexError>>,
    /// The first literal of each of `regexes`.
    regex_spans: Vec<Span>,
    /// The names of the program's perf counters (`.counter("NAME")`
    /// points), which `@perf("NAME")` reads.
    perf_counters: Vec<String>,
    /// Errors of symbol resolution ([`check`]'s `resolution_error`).
    resolution_errors: Vec<Diagnostic>,
}

impl<'a> Context<'a> {
    fn location(&self, span: Span, token: String) -> ir::Location {
        let lc = self.map.line_col(span);
        ir::Location {
            file: self.map.name(span.file).to_string(),
            line: lc.line as u32,
            column: lc.col as u32,
            token,
        }
    }

    /// The span of operator `op` between two operands (skipping
    /// whitespace, parentheses and comments).
    fn operator_span(&self, lhs: Span, rhs: Span, op: &str) -> Span {
        let text = self.map.text(lhs.file);
        let (start, end) = (
            lhs.end.min(text.len()),
            rhs.start.min(text.len()).max(lhs.end.min(text.len())),
        );
        let gap = &text[start..end];
        let bytes = gap.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let rest = &gap[i..];
            if rest.starts_with("/*") {
                i += rest.find("*/").map(|e| e + 2).unwrap_or(rest.len());
            } else if rest.starts_with("//") || rest.starts_with('#') {
                i += rest.find('\n').unwrap_or(rest.len());
            } else if rest.starts_with(op) {
                return Span::new(lhs.file, start + i, start + i + op.len());
            } else {
                i += rest.chars().next().map(char::len_utf8).unwrap_or(1);
            }
        }
        Span::new(lhs.file, start, start)
    }

    /// Records a write of global `g` at `at`.
    fn mark_written(&mut self, g: usize, at: Span) {
        let global = &mut self.globals[g];
        global.written = true;
        let earlier = |a: Span, b: Span| (a.file.index(), a.start) < (b.file.index(), b.start);
        if global.first_write.is_none_or(|w| earlier(at, w)) {
            global.first_write = Some(at);
        }
    }

    fn global_named(&self, name: &str, file: FileId) -> Option<usize> {
        // A file's private global hides a public one of the same name.
        self.globals
            .iter()
            .position(|g| g.name == name && g.private_to == Some(file))
            .or_else(|| {
                self.globals
                    .iter()
                    .position(|g| g.name == name && g.private_to.is_none())
            })
    }

    /// A function of this name (the first defined, whatever its arity).
    fn function_named(&self, name: &str) -> Option<usize> {
        self.function_index
            .get(name)
            .and_then(|v| v.first().copied())
    }

    /// Whether function `i` is the script's own (not a tapset's).
    fn function_from_script(&self, i: usize) -> bool {
        let file = self.functions[i].def.name.span.file;
        !self.library.files.iter().any(|f| f.script.file == file)
    }

    /// The last function of this name defined (whatever its arity).
    fn function_defined_last(&self, name: &str) -> Option<usize> {
        self.function_index
            .get(name)
            .and_then(|v| v.last().copied())
    }

    /// The function of this name taking `arity` arguments.
    fn function_with_arity(&self, name: &str, arity: usize) -> Option<usize> {
        self.function_index
            .get(name)?
            .iter()
            .copied()
            .find(|&i| self.functions[i].def.params.len() == arity)
    }

    /// ` (similar: NAME)` in SystemTap's form for an unresolved function:
    /// the nearest of the script's and the library's functions, if one is
    /// near. (SystemTap 5.1 lists five names of its own library, which is
    /// not stapkit's: `no_such_function` gets `ctime, pn, tid, htonl,
    /// htons`.)
    fn similar_functions(&self, name: &str) -> String {
        let mut names: Vec<String> = self.function_index.keys().cloned().collect();
        names.extend(self.library.function_names().map(str::to_string));
        points::similar(name, &names)
            .map(|s| format!(" (similar: {s})"))
            .unwrap_or_default()
    }
}

/// Analyzes `script` into a program.
pub fn analyze(map: &mut SourceMap, script: &ast::Script, config: &Config) -> Analysis {
    analyze_listing(map, script, config, None, None).0
}

/// [`analyze`] with the tapset library parsed beforehand: `map` is a
/// copy of `library`'s ([`PreparedLibrary::source_map`]) with the script
/// added. The outcome is [`analyze`]'s; a library prepared for another
/// configuration or map is not used (the library is parsed again).
pub fn analyze_prepared(
    map: &mut SourceMap,
    script: &ast::Script,
    config: &Config,
    library: &PreparedLibrary,
) -> Analysis {
    analyze_listing(map, script, config, None, Some(library)).0
}

/// `stap -l`/`-L`: the points the probes of `script` resolve to, one line
/// each, sorted and unique, as SystemTap lists them (alias names such as
/// `syscall.kill`); with `variables`, each followed by the variables its
/// handler sees: alias locals with their script types (`name:string`),
/// then the target variables with their C types (`$fd:unsigned int`).
pub fn list_points(
    map: &mut SourceMap,
    script: &ast::Script,
    config: &Config,
    variables: bool,
) -> (Vec<String>, Vec<Diagnostic>) {
    let (analysis, lines) = analyze_listing(map, script, config, Some(variables), None);
    (lines, analysis.diagnostics)
}

fn analyze_listing(
    map: &mut SourceMap,
    script: &ast::Script,
    config: &Config,
    listing: Option<bool>,
    prepared: Option<&PreparedLibrary>,
) -> (Analysis, Vec<String>) {
    let (mut library, mut diagnostics) = match prepared.and_then(|p| p.get(map, config)) {
        Some(loaded) => loaded,
        None => Library::load(map, &config.include_dirs, &config.preprocess),
    };
    // The syscall tapset is generated from the target's syscall table, and
    // only when a probe point may name it.
    if let Some(kernel) = config
        .kernel
        .as_deref()
        .filter(|_| mentions_syscalls(script, &library))
    {
        if let Some(text) = syscall_tapset::generate(kernel) {
            diagnostics.extend(library.add(
                map,
                syscall_tapset::TAPSET_NAME.to_string(),
                text,
                &config.preprocess,
            ));
        }
    }
    // The target's syscall names, for syscall_any (pulled in only if used).
    if let Some(table) = config.kernel.as_ref().and_then(|k| k.syscall_table().ok()) {
        diagnostics.extend(library.add(
            map,
            "<generated>/syscall_names.stp".into(),
            syscall_names::tapset(table),
            &config.preprocess,
        ));
    }
    let map: &SourceMap = map;
    let mut cx = Context {
        map,
        config,
        globals: Vec::new(),
        functions: Vec::new(),
        function_index: HashMap::new(),
        library: &library,
        pulled: vec![false; library.files.len()],
        embedded: Vec::new(),
        diagnostics: Vec::new(),
        regexes: Vec::new(),
        regex_spans: Vec::new(),
        regex_index: HashMap::new(),
        perf_counters: Vec::new(),
        resolution_errors: Vec::new(),
    };
    let mut aliases: Vec<&ast::ProbeAlias> = cx.add_items(script, Source::Script);
    // Tapset aliases are available to every probe point (their files load
    // when a point uses them).
    for (i, file) in library.files.iter().enumerate() {
        if !file.aliases.is_empty() && !cx.pulled[i] {
            cx.pulled[i] = true;
            aliases.extend(cx.add_items(&file.script, Source::Tapset));
        }
    }

    // Resolve probe points into derived probes.
    let alias_defs: Vec<AliasDef> = aliases.iter().map(|a| AliasDef { alias: a }).collect();
    let target = points::Target {
        kernel: config.kernel.as_deref(),
        hz: config
            .preprocess
            .kernel_config
            .get("CONFIG_HZ")
            .and_then(|h| h.parse().ok())
            .unwrap_or(250),
        programs: &config.programs,
        guru: config.guru,
        in_alias: false,
        names_only: listing == Some(false),
        quiet: false,
    };
    let mut derived: Vec<DerivedProbe> = Vec::new();
    let mut points_so_far = 0usize;
    for item in &script.items {
        if let ast::Item::Probe(probe) = item {
            let more = derive(&mut cx, probe, &alias_defs, target);
            let points: usize = more.iter().map(|d| d.points.len()).sum();
            points_so_far += points;
            // Listings show every point; only a module is limited.
            if let Some(limit) = config
                .max_probes
                .filter(|&l| listing.is_none() && points_so_far > l)
            {
                cx.diagnostics
                    .push(too_many_points(probe, points, points_so_far, limit));
                continue;
            }
            derived.extend(more);
        }
    }

    // Pull tapset functions the bodies call.
    let mut roots: Vec<&ast::Block> = Vec::new();
    for d in &derived {
        roots.extend(d.prologues.iter().copied());
        roots.push(d.body);
        roots.extend(d.epilogues.iter().copied());
    }
    let more_aliases = cx.pull_functions(&roots);
    let _ = more_aliases; // aliases in function-only tapset files are not used by points resolved above
                          // The probes of the tapset files the script uses (a function it
                          // reaches or an alias it names), as SystemTap takes a file whole;
                          // they may use more of the library in turn. Listings show only the
                          // script's own probes.
    let mut probed = vec![false; library.files.len()];
    while listing.is_none() {
        let mut added = Vec::new();
        for i in cx.used_tapset_files(&roots) {
            if std::mem::replace(&mut probed[i], true) {
                continue;
            }
            for item in &library.files[i].script.items {
                if let ast::Item::Probe(probe) = item {
                    added.extend(derive(&mut cx, probe, &alias_defs, target));
                }
            }
        }
        if added.is_empty() {
            break;
        }
        for d in &added {
            roots.extend(d.prologues.iter().copied());
            roots.push(d.body);
            roots.extend(d.epilogues.iter().copied());
        }
        derived.extend(added);
        cx.pull_functions(&roots);
    }
    // The optimizer's warnings come after checking's never-assigned ones,
    // as SystemTap resolves symbols before it optimizes.
    let mut elided = Vec::new();
    // SystemTap resolves probe points first: when one fails it reports
    // nothing about the variables (the bodies of the probes it could not
    // place are not there to give them values).
    if listing.is_none()
        && !crate::diag::has_errors(&diagnostics)
        && !crate::diag::has_errors(&cx.diagnostics)
    {
        let unassigned = never_assigned(&cx, &derived);
        cx.diagnostics.extend(unassigned);
    }
    if !cx.config.unoptimized && listing.is_none() {
        (derived, elided) = optimize(&mut cx, derived);
    }
    if listing.is_none()
        && derived.is_empty()
        && !crate::diag::has_errors(&diagnostics)
        && !crate::diag::has_errors(&cx.diagnostics)
    {
        cx.diagnostics
            .push(Diagnostic::semantic_error("no probes found"));
    }

    cx.perf_counters = derived
        .iter()
        .flat_map(|d| &d.points)
        .filter_map(|p| match &p.kind {
            ir::ProbeKind::Perf {
                counter: Some(c), ..
            } => Some(c.clone()),
            _ => None,
        })
        .collect();
    // Infer to a fixpoint, reporting on the last walk; then lower once.
    let before_check = cx.diagnostics.len();
    check::schedule::check_all(&mut cx, &mut derived);
    let resolution = std::mem::take(&mut cx.resolution_errors);
    if !resolution.is_empty() {
        // SystemTap stops at these, before its optimizer and type checks.
        let checked = cx.diagnostics.split_off(before_check);
        cx.diagnostics
            .extend(checked.into_iter().filter(|d| !d.is_error()));
        cx.diagnostics.extend(resolution);
        elided.clear();
    }
    diagnostics.append(&mut cx.diagnostics);
    diagnostics.append(&mut elided);
    let has_errors = crate::diag::has_errors(&diagnostics);
    let mut program = (!has_errors && listing.is_none()).then(|| lower::lower_all(&cx, &derived));
    if let Some(p) = &mut program {
        diagnostics.append(&mut umodules::attach(p, cx.config));
        if crate::diag::has_errors(&diagnostics) {
            program = None;
        }
    }
    let lines = match listing {
        Some(variables) => listed_points(&derived, variables),
        None => Vec::new(),
    };
    let summary = match &program {
        Some(p) => Summary::of(p),
        None => Summary {
            probes: derived.len(),
            functions: cx
                .functions
                .iter()
                .filter(|f| f.used && f.reachable)
                .count(),
            embeds: cx.embedded.len(),
            globals: cx.globals.iter().filter(|g| g.read || g.written).count(),
        },
    };
    (
        Analysis {
            program,
            diagnostics,
            summary,
        },
        lines,
    )
}

/// SystemTap's never-assigned warnings ([`unassigned`]) over the probes
/// and the functions they reach, before anything is elided.
fn never_assigned(cx: &Context<'_>, derived: &[DerivedProbe<'_>]) -> Vec<Diagnostic> {
    let nothing = elide::Elision::default();
    let unoptimized = vec![elide::Elision::default(); cx.functions.len()];
    let probes: Vec<unassigned::Body<'_>> = derived
        .iter()
        .map(|d| unassigned::Body {
            blocks: d.blocks().collect(),
            condition: d.condition,
            params: Vec::new(),
        })
        .collect();
    let roots: Vec<_> = probes
        .iter()
        .map(|b| (b.blocks.clone(), b.condition, &nothing))
        .collect();
    let reached = elide::reachable_functions(cx, &roots, &unoptimized);
    let functions: Vec<unassigned::Body<'_>> = cx
        .functions
        .iter()
        .zip(reached)
        .filter_map(|(f, reached)| match &f.def.body {
            ast::FunctionBody::Block(b) if reached => Some(unassigned::Body {
                blocks: vec![b],
                condition: None,
                params: f.def.params.iter().map(|p| &p.name).collect(),
            }),
            _ => None,
        })
        .collect();
    unassigned::warnings(cx, &probes, &functions)
}

/// Pass 2's optimizer ([`elide`]): each body's dead code marked, the
/// probes left with nothing to do dropped (with a warning each), and the
/// functions only dropped code called marked unreachable.
fn optimize<'a>(
    cx: &mut Context<'a>,
    derived: Vec<DerivedProbe<'a>>,
) -> (Vec<DerivedProbe<'a>>, Vec<Diagnostic>) {
    let mut warnings = elide::Warnings::default();
    let body = |d: &DerivedProbe<'a>| elide::Body {
        blocks: d.blocks().collect(),
        condition: d.condition,
    };
    let mut derived = derived;
    let nothing = elide::Elision::default();
    let unoptimized = vec![elide::Elision::default(); cx.functions.len()];
    let roots: Vec<_> = derived
        .iter()
        .map(|d| (body(d).blocks, d.condition, &nothing))
        .collect();
    let reached_before = elide::reachable_functions(cx, &roots, &unoptimized);
    for d in &mut derived {
        d.elision = std::sync::Arc::new(elide::optimize(cx, &body(d), &mut warnings));
    }
    let mut functions = Vec::with_capacity(cx.functions.len());
    for (f, reached) in cx.functions.iter().zip(&reached_before) {
        functions.push(match &f.def.body {
            ast::FunctionBody::Block(b) if *reached => elide::optimize(
                cx,
                &elide::Body {
                    blocks: vec![b],
                    condition: None,
                },
                &mut warnings,
            ),
            _ => elide::Elision::default(),
        });
    }
    let mut elided_probes = Vec::new();
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(derived.len());
    for d in derived {
        // A perf counter's probe defines what `@perf` reads: it stays.
        let counter = d.points.iter().any(|p| {
            matches!(
                p.kind,
                ir::ProbeKind::Perf {
                    counter: Some(_),
                    ..
                }
            )
        });
        if !counter && d.condition.is_none() && elide::all_elided(&body(&d), &d.elision) {
            let name = d.points.first().map_or("", |p| {
                p.name.split(['.', '(']).next().unwrap_or(p.name.as_str())
            });
            let warn = elide::probe_elided(name, d.elided_at);
            let from_script = !cx
                .library
                .files
                .iter()
                .any(|f| f.script.file == d.elided_at.file);
            if from_script && seen.insert((warn.message.clone(), d.elided_at)) {
                elided_probes.push(warn);
            }
        } else {
            kept.push(d);
        }
    }
    let roots: Vec<(Vec<&ast::Block>, Option<&ast::Expr>, &elide::Elision)> = kept
        .iter()
        .map(|d| {
            let b = body(d);
            (b.blocks, b.condition, &*d.elision)
        })
        .collect();
    let reachable = elide::reachable_functions(cx, &roots, &functions);
    // A function only elided code called is still checked, as SystemTap
    // checks it (a bare `return` beside `return x * 2` is refused), but it
    // is left out of the program.
    for (((f, elision), reached), before) in cx
        .functions
        .iter_mut()
        .zip(functions)
        .zip(reachable)
        .zip(reached_before)
    {
        f.elision = std::sync::Arc::new(elision);
        f.reachable = reached;
        f.used |= before && !reached;
    }
    let mut elided = warnings.into_diagnostics();
    elided.extend(elided_probes);
    (kept, elided)
}

/// The `-l`/`-L` lines of the derived probes.
fn listed_points(derived: &[DerivedProbe<'_>], variables: bool) -> Vec<String> {
    let mut lines = std::collections::BTreeSet::new();
    for d in derived {
        let mut vars = String::new();
        if variables {
            for v in &d.locals.vars {
                if let Some(ty) = v.slot.ty {
                    vars.push_str(&format!(" {}:{ty}", v.name));
                }
            }
            let (ret, params) = d.context.vars().listed();
            if let Some(ret) = ret {
                vars.push_str(&format!(" $return:{ret}"));
            }
            for (name, ty) in params {
                vars.push_str(&format!(" ${name}:{ty}"));
            }
        }
        for name in &d.listed {
            lines.insert(format!("{name}{vars}"));
        }
    }
    lines.into_iter().collect()
}

/// Whether some probe point of `script`, or of an alias it or a tapset
/// defines, may be a `syscall.*` or `nd_syscall.*` one (its first
/// component matches either).
fn mentions_syscalls(script: &ast::Script, library: &Library) -> bool {
    let may_be_syscall = |pt: &ast::ProbePoint| match pt.components.first() {
        Some(ast::Component::Named(n)) => {
            points::glob(&n.name.name, "syscall") || points::glob(&n.name.name, "nd_syscall")
        }
        Some(ast::Component::Group(_)) => true,
        None => false,
    };
    let in_script = |script: &ast::Script, probes: bool| {
        script.items.iter().any(|item| match item {
            ast::Item::Probe(p) if probes => p.points.iter().any(may_be_syscall),
            ast::Item::Alias(a) => a.points.iter().any(may_be_syscall),
            _ => false,
        })
    };
    in_script(script, true) || library.files.iter().any(|f| in_script(&f.script, false))
}

/// The derived probes of one `probe` item: each of its points resolved
/// (alternatives expanded, `!` stopping at the first that resolves, `?`
/// ones dropped when they resolve to nothing), grouped into bodies.
fn derive<'a>(
    cx: &mut Context<'a>,
    probe: &'a ast::Probe,
    alias_defs: &[AliasDef<'a>],
    target: points::Target<'_>,
) -> Vec<DerivedProbe<'a>> {
    let mut groups: Vec<DerivedProbe> = Vec::new();
    let mut shared = HashMap::new();
    let mut sufficient_hit = false;
    for written in &probe.points {
        if sufficient_hit {
            break;
        }
        let expanded = match written.expand(1024) {
            Ok(e) => e,
            Err(e) => {
                cx.diagnostics.push(
                    Diagnostic::semantic_error(format!(
                        "probe point expands to more than {} points",
                        e.limit
                    ))
                    .with_primary(written.span, "too many alternatives"),
                );
                continue;
            }
        };
        for point in expanded {
            // `kernel.{trace("a")!, trace("b")}`: a `!` inside a group
            // ends the alternatives that follow it too.
            if sufficient_hit {
                break;
            }
            let target = points::Target {
                quiet: point.optional,
                ..target
            };
            match points::resolve(&point, alias_defs, target) {
                Ok(resolved) => {
                    if point.sufficient && !resolved.is_empty() {
                        sufficient_hit = true;
                    }
                    for mut r in resolved {
                        r.point.optional = point.optional;
                        add_to_group(
                            &mut groups,
                            &mut shared,
                            r,
                            probe,
                            written.condition.as_ref(),
                            point.span,
                        );
                    }
                }
                Err(_) if point.optional => {}
                Err(e) => {
                    let mut d = Diagnostic::semantic_error(e.message)
                        .with_primary(point.span, "while resolving this probe point");
                    if let Some(h) = e.help {
                        d = d.with_help(h);
                    }
                    cx.diagnostics.push(d);
                }
            }
        }
    }
    groups
}

/// The error for the probe that takes the script past `limit` points.
fn too_many_points(probe: &ast::Probe, points: usize, total: usize, limit: usize) -> Diagnostic {
    let counted = if points == total {
        format!("this probe resolves to {points} probe points")
    } else {
        format!("this probe resolves to {points} probe points, {total} with the probes before it")
    };
    let span = probe.points.first().map_or(probe.span, |p| p.span);
    Diagnostic::semantic_error(format!(
        "too many probe points: {counted}, more than the limit of {limit}"
    ))
    .with_primary(span, "resolved from here")
    .with_help(format!(
        "narrow the wildcard, or raise the limit with -D MAXPROBES={total} or drop it (each point is a kprobe, uprobe or tracepoint the kernel must register)"
    ))
}

/// Which points of one written probe share a body: those whose contexts
/// name the same shared body (see [`ProbeContext::shared_body_key`])
/// under the same alias prologues, epilogues and condition. Looked up by
/// key, so the thousands of inlined copies of a wildcard cost one lookup
/// each, not a scan of every group.
type GroupKey = (
    String,
    Vec<ast::NodeId>,
    Vec<ast::NodeId>,
    Option<ast::NodeId>,
);

fn add_to_group<'a>(
    groups: &mut Vec<DerivedProbe<'a>>,
    shared: &mut HashMap<GroupKey, usize>,
    r: Resolved<'a>,
    probe: &'a ast::Probe,
    condition: Option<&'a ast::Expr>,
    point_span: Span,
) {
    // Points offering target variables each get their own body: '$file'
    // may mean different things at different functions. The inlined
    // copies of one function offer none and share one.
    let key = r.context.shared_body_key().map(|body| {
        (
            body,
            r.prologues.iter().map(|b| b.id).collect(),
            r.epilogues.iter().map(|b| b.id).collect(),
            condition.map(|c| c.id),
        )
    });
    if let Some(&i) = key.as_ref().and_then(|k| shared.get(k)) {
        let g = &mut groups[i];
        g.points.push(r.point);
        g.listed.push(r.listed);
        return;
    }
    if let Some(k) = key {
        shared.insert(k, groups.len());
    }
    // SystemTap names an elided probe at `probe`, or at the point
    // written when an alias expanded it.
    let elided_at = if r.prologues.is_empty() && r.epilogues.is_empty() {
        Span::new(
            probe.span.file,
            probe.span.start,
            probe.span.start + "probe".len(),
        )
    } else {
        point_span
    };
    groups.push(DerivedProbe {
        points: vec![r.point],
        listed: vec![r.listed],
        prologues: r.prologues,
        body: &probe.body,
        epilogues: r.epilogues,
        condition,
        span: probe.span,
        locals: Locals::default(),
        context: r.context,
        elision: Default::default(),
        elided_at,
        facts: Default::default(),
    });
}
