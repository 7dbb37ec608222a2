//! Semantic analysis: symbol and tapset resolution, probe elaboration and
//! type inference, lowering the AST to [`crate::ir`].
//!
//! ```text
//! script AST + tapset library
//!   -> collect: globals, functions, aliases (pulling in tapset files on demand)
//!   -> points: each probe's points resolved; one derived probe per alias expansion
//!   -> check (repeated until no type changes, then once more reporting): IR
//! ```
//!
//! **Architecture Invariant:** sema never generates C; it only produces IR
//! and diagnostics. It may parse tapset files (it depends on `syntax`).

mod autoprint;
mod check;
mod elide;
mod format;
mod listing;
mod points;
mod pretty;
mod probe_types;
pub mod regex;
mod scope;
mod syscall_names;
mod syscall_tapset;
mod tapset;
mod target;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::diag::{Diagnostic, FileId, SourceMap, Span};
use crate::ir::{self, Type};
use crate::syntax::{ast, PreprocessConfig};

use check::{Mode, Walker};
pub use listing::listing;
pub use probe_types::dump_probe_types;
pub use tapset::{dump_library, library_macros, LibraryDump};
use points::{AliasDef, Resolved};
use scope::{FunctionDef, GlobalVar, Locals, Shape, Slot};
use tapset::Library;

/// What analysis needs beyond the script.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Guru mode (`-g`): embedded C allowed in the script.
    pub guru: bool,
    /// Keep unused functions and globals (`-u`).
    pub unoptimized: bool,
    /// Extra tapset directories (`-I`).
    pub include_dirs: Vec<PathBuf>,
    /// The target as the preprocessor saw it (tapsets are parsed with it).
    pub preprocess: PreprocessConfig,
    /// What the target kernel looks like (function prototypes, struct
    /// layouts, tracepoints, syscalls); absent without a tree.
    pub kernel: Option<std::sync::Arc<crate::debuginfo::KernelInfo>>,
    /// The target's file tree on this machine (`--sysroot DIR`), where
    /// user-space programs are read.
    pub sysroot: Option<PathBuf>,
}

/// The outcome of analysis.
#[derive(Debug)]
pub struct Analysis {
    /// The program, when there were no errors.
    pub program: Option<ir::Program>,
    /// Errors and warnings.
    pub diagnostics: Vec<Diagnostic>,
}

/// How many quiet inference rounds before giving up on a fixpoint.
const MAX_INFERENCE_ROUNDS: usize = 32;

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
    /// Statements of the alias bodies left out (by address): dead
    /// assignments ([`elide`]).
    elided: HashSet<usize>,
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
        self.function_index.get(name).and_then(|v| v.first().copied())
    }

    /// Whether function `i` is the script's own (not a tapset's).
    fn function_from_script(&self, i: usize) -> bool {
        let file = self.functions[i].def.name.span.file;
        !self.library.files.iter().any(|f| f.script.file == file)
    }

    /// The last function of this name defined (whatever its arity).
    fn function_defined_last(&self, name: &str) -> Option<usize> {
        self.function_index.get(name).and_then(|v| v.last().copied())
    }

    /// The function of this name taking `arity` arguments.
    fn function_with_arity(&self, name: &str, arity: usize) -> Option<usize> {
        self.function_index
            .get(name)?
            .iter()
            .copied()
            .find(|&i| self.functions[i].def.params.len() == arity)
    }

    fn similar_function(&self, name: &str) -> Option<String> {
        let mut names: Vec<String> = self.function_index.keys().cloned().collect();
        names.extend(self.library.function_names().map(str::to_string));
        points::similar(name, &names).map(str::to_string)
    }

    fn add_items(&mut self, script: &'a ast::Script, from: Source) -> Vec<&'a ast::ProbeAlias> {
        let tapset = from != Source::Script;
        let mut aliases = Vec::new();
        for item in &script.items {
            let is_global = matches!(item, ast::Item::Global(_));
            let wanted = match from {
                Source::Script => true,
                Source::Tapset => !is_global,
                Source::TapsetGlobal(_) => is_global,
            };
            if !wanted {
                continue;
            }
            match item {
                ast::Item::Global(decl) => {
                    for var in &decl.vars {
                        if matches!(from, Source::TapsetGlobal(name) if name != var.name.name) {
                            continue;
                        }
                        let private_to = decl.private.then_some(script.file);
                        let existing = match private_to {
                            Some(file) => self.globals.iter().position(|g| {
                                g.name == var.name.name && g.private_to == Some(file)
                            }),
                            None => self.global_named(&var.name.name, script.file),
                        };
                        if let Some(existing) = existing {
                            let prev = self.globals[existing].decl.name.span;
                            self.diagnostics.push(
                                Diagnostic::semantic_error(format!(
                                    "duplicate global '{}'",
                                    var.name.name
                                ))
                                .with_primary(var.name.span, "declared again here")
                                .with_secondary(prev, "first declared here"),
                            );
                            continue;
                        }
                        let mut g = GlobalVar {
                            name: var.name.name.clone(),
                            decl: var,
                            private_to,
                            shape: Shape::Unknown,
                            shape_at: None,
                            value: Slot::default(),
                            keys: Vec::new(),
                            histogram: None,
                            variance_shift: None,
                            read: false,
                            written: false,
                            first_write: None,
                        };
                        if var.size.is_some() || var.wrap {
                            g.shape = Shape::Unknown; // arity is learned from uses
                        }
                        if let Some(init) = &var.init {
                            g.shape = Shape::Scalar;
                            g.shape_at = Some(var.span);
                            let ty = match init {
                                ast::Literal::Number(_) => Type::Long,
                                ast::Literal::String(_) => Type::String,
                            };
                            g.value = Slot {
                                ty: Some(ty),
                                decided_at: Some(init.span()),
                            };
                        }
                        self.globals.push(g);
                    }
                }
                ast::Item::Function(f) => {
                    if let Some(i) = self.function_with_arity(&f.name.name, f.params.len()) {
                        // A script's function replaces the library's, as
                        // SystemTap runs the script's first (the filter
                        // functions of the mib tapsets are meant for this).
                        if tapset && self.function_from_script(i) {
                            continue;
                        }
                        let prev = self.functions[i].def.name.span;
                        self.diagnostics.push(
                            Diagnostic::semantic_error(format!(
                                "duplicate function '{}'",
                                f.name.name
                            ))
                            .with_primary(f.name.span, "defined again here")
                            .with_secondary(prev, "first defined here"),
                        );
                        continue;
                    }
                    let mut locals = Locals::default();
                    for p in &f.params {
                        let i = locals.get_or_add(&p.name.name, p.name.span);
                        locals.vars[i].assigned = true;
                        if let Some(t) = p.ty {
                            locals.vars[i].slot = Slot {
                                ty: Some(script_type(t.ty)),
                                decided_at: Some(t.span),
                            };
                        }
                    }
                    let ret = f
                        .ret
                        .map(|t| Slot {
                            ty: Some(script_type(t.ty)),
                            decided_at: Some(t.span),
                        })
                        .unwrap_or_default();
                    let embedded = matches!(f.body, ast::FunctionBody::Embedded(_));
                    if embedded && !tapset && !self.config.guru {
                        self.diagnostics.push(
                            Diagnostic::semantic_error("embedded C in a script needs guru mode")
                                .with_primary(f.name.span, "this function's body is embedded C")
                                .with_help("run stap with -g if you trust this code"),
                        );
                    }
                    self.function_index
                        .entry(f.name.name.clone())
                        .or_default()
                        .push(self.functions.len());
                    self.functions.push(FunctionDef {
                        def: f,
                        locals,
                        returns_value: embedded && f.ret.is_some(),
                        ret,
                        used: false,
                        tapset,
                    });
                }
                ast::Item::Alias(a) => aliases.push(a),
                ast::Item::Embedded(e) => {
                    if !tapset && !self.config.guru {
                        self.diagnostics.push(
                            Diagnostic::semantic_error("embedded C in a script needs guru mode")
                                .with_primary(e.span, "embedded C")
                                .with_help("run stap with -g if you trust this code"),
                        );
                    }
                    self.embedded.push(e.code.clone());
                }
                ast::Item::Probe(_) => {}
            }
        }
        aliases
    }

    /// Pulls in the tapset file defining each function called but not
    /// defined, and each global used but not declared, until nothing new
    /// is needed.
    fn pull_functions(&mut self, roots: &[&'a ast::Block]) -> Vec<&'a ast::ProbeAlias> {
        let mut aliases = Vec::new();
        loop {
            let mut wanted = Symbols::default();
            for b in roots {
                symbols_in_block(b, &mut wanted);
            }
            // Private globals a tapset function names, by its file.
            let mut private = Vec::new();
            for f in &self.functions {
                if let ast::FunctionBody::Block(b) = &f.def.body {
                    let file = f.def.name.span.file;
                    let lib = self.library.files.iter().position(|t| t.script.file == file);
                    match lib.filter(|&i| !self.library.files[i].private_globals.is_empty()) {
                        Some(i) => {
                            let mut own = Symbols::default();
                            symbols_in_block(b, &mut own);
                            for v in &own.vars {
                                if self.library.files[i].private_globals.contains(v) {
                                    private.push((i, v.clone()));
                                }
                            }
                            wanted.calls.extend(own.calls);
                            wanted.vars.extend(own.vars);
                        }
                        None => symbols_in_block(b, &mut wanted),
                    }
                }
            }
            let mut files = Vec::new();
            for (name, arity) in wanted.calls {
                if self.function_with_arity(&name, arity).is_none() {
                    files.extend(self.library.defining_function(&name, arity));
                }
            }
            let mut global_files = Vec::new();
            for name in wanted.vars {
                if !self.globals.iter().any(|g| g.name == name) {
                    if let Some(i) = self.library.defining_global(&name) {
                        global_files.push((i, name));
                    }
                }
            }
            let mut added = false;
            for i in files {
                if !self.pulled[i] {
                    self.pulled[i] = true;
                    aliases.extend(self.add_items(&self.library.files[i].script, Source::Tapset));
                    added = true;
                }
            }
            for (i, name) in global_files {
                if !self.globals.iter().any(|g| g.name == name) {
                    self.add_items(&self.library.files[i].script, Source::TapsetGlobal(&name));
                    added = true;
                }
            }
            for (i, name) in private {
                let file = self.library.files[i].script.file;
                if !self
                    .globals
                    .iter()
                    .any(|g| g.name == name && g.private_to == Some(file))
                {
                    self.add_items(&self.library.files[i].script, Source::TapsetGlobal(&name));
                    added = true;
                }
            }
            if !added {
                return aliases;
            }
        }
    }
}

/// Which items of a file `add_items` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source<'n> {
    /// The user's script: everything.
    Script,
    /// A tapset pulled in for a function or alias: all but its globals,
    /// which load one by one when something names them.
    Tapset,
    /// Only this global of a tapset.
    TapsetGlobal(&'n str),
}

fn script_type(t: ast::ScriptType) -> Type {
    match t {
        ast::ScriptType::Long => Type::Long,
        ast::ScriptType::String => Type::String,
    }
}

/// Names a block uses that a tapset may define.
#[derive(Default)]
struct Symbols {
    /// Functions called, with their number of arguments.
    calls: Vec<(String, usize)>,
    /// Plain identifiers used as variables or arrays.
    vars: Vec<String>,
}

/// The functions called and variables named anywhere in a block.
fn symbols_in_block(b: &ast::Block, out: &mut Symbols) {
    use crate::syntax::visit::{walk_expr, Visitor};
    struct Collect<'o>(&'o mut Symbols);
    impl Visitor for Collect<'_> {
        fn visit_expr(&mut self, e: &ast::Expr) {
            match &e.kind {
                ast::ExprKind::Call { name, args } => {
                    self.0.calls.push((name.name.clone(), args.len()))
                }
                ast::ExprKind::Var(v)
                | ast::ExprKind::Index {
                    base: ast::Indexable::Var(v),
                    ..
                } => self.0.vars.push(v.name.clone()),
                _ => {}
            }
            walk_expr(self, e);
        }
    }
    let mut v = Collect(out);
    for s in &b.stmts {
        v.visit_stmt(s);
    }
}

/// Analyzes `script` into a program.
pub fn analyze(map: &mut SourceMap, script: &ast::Script, config: &Config) -> Analysis {
    analyze_listing(map, script, config, None).0
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
    let (analysis, lines) = analyze_listing(map, script, config, Some(variables));
    (lines, analysis.diagnostics)
}

fn analyze_listing(
    map: &mut SourceMap,
    script: &ast::Script,
    config: &Config,
    listing: Option<bool>,
) -> (Analysis, Vec<String>) {
    let (mut library, mut diagnostics) =
        Library::load(map, &config.include_dirs, &config.preprocess);
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
        sysroot: config.sysroot.as_deref(),
        guru: config.guru,
    };
    let mut derived: Vec<DerivedProbe> = Vec::new();
    for item in &script.items {
        let ast::Item::Probe(probe) = item else {
            continue;
        };
        let mut groups: Vec<DerivedProbe> = Vec::new();
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
                match points::resolve(&point, &alias_defs, target) {
                    Ok(resolved) => {
                        if point.sufficient && !resolved.is_empty() {
                            sufficient_hit = true;
                        }
                        for mut r in resolved {
                            r.point.optional = point.optional;
                            add_to_group(&mut groups, r, probe, written.condition.as_ref());
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
        derived.extend(groups);
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
    if !cx.config.unoptimized && listing.is_none() {
        for d in &mut derived {
            let aliases: Vec<&ast::Block> =
                d.prologues.iter().chain(&d.epilogues).copied().collect();
            d.elided = elide::dead_alias_assignments(&cx, &aliases, d.body, d.condition);
        }
    }

    // Infer until nothing changes, then lower once, reporting.
    for _ in 0..MAX_INFERENCE_ROUNDS {
        if !walk_all(&mut cx, &mut derived, Mode::Infer).1 {
            break;
        }
    }
    let (program, _) = walk_all(&mut cx, &mut derived, Mode::Lower);
    diagnostics.append(&mut cx.diagnostics);
    let has_errors = crate::diag::has_errors(&diagnostics);
    let lines = match listing {
        Some(variables) => listed_points(&derived, variables),
        None => Vec::new(),
    };
    (
        Analysis {
            program: (!has_errors).then_some(program),
            diagnostics,
        },
        lines,
    )
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
            let c_type = |ty: &crate::debuginfo::CType| ty.render().replace(" *", "*");
            let (params, ret): (Vec<(String, String)>, Option<String>) = match &d.context {
                points::ProbeContext::Function { prototype, ret, .. } => (
                    prototype
                        .params
                        .iter()
                        .flatten()
                        .map(|p| (p.name.clone(), c_type(&p.ty)))
                        .collect(),
                    ret.then(|| c_type(&prototype.ret)),
                ),
                points::ProbeContext::Syscall { params, ret, .. } => (
                    params
                        .iter()
                        .map(|p| (p.name.clone(), c_type(&p.ty)))
                        .collect(),
                    ret.then(|| "long".to_string()),
                ),
                points::ProbeContext::Tracepoint(tp) => (
                    tp.params
                        .iter()
                        .map(|p| (p.name.clone(), c_type(&p.ty)))
                        .collect(),
                    None,
                ),
                points::ProbeContext::Netfilter => (
                    points::NETFILTER_VARS
                        .iter()
                        .filter_map(|n| {
                            points::netfilter_var(n).map(|v| (n.to_string(), c_type(&v.ty)))
                        })
                        .collect(),
                    None,
                ),
                points::ProbeContext::None
                | points::ProbeContext::Unchecked(_)
                | points::ProbeContext::UserSpace
                | points::ProbeContext::Inline { .. } => (Vec::new(), None),
            };
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

fn add_to_group<'a>(
    groups: &mut Vec<DerivedProbe<'a>>,
    r: Resolved<'a>,
    probe: &'a ast::Probe,
    condition: Option<&'a ast::Expr>,
) {
    // Points offering target variables each get their own body: '$file'
    // may mean different things at different functions. The inlined
    // copies of one function offer none and share one.
    let same = |g: &DerivedProbe<'a>| {
        g.context == r.context
            && matches!(
                r.context,
                points::ProbeContext::None | points::ProbeContext::Inline { .. }
            )
            && g.prologues.len() == r.prologues.len()
            && g.prologues
                .iter()
                .zip(&r.prologues)
                .all(|(a, b)| std::ptr::eq(*a, *b))
            && g.epilogues.len() == r.epilogues.len()
            && g.epilogues
                .iter()
                .zip(&r.epilogues)
                .all(|(a, b)| std::ptr::eq(*a, *b))
            && match (g.condition, condition) {
                (None, None) => true,
                (Some(a), Some(b)) => std::ptr::eq(a, b),
                _ => false,
            }
    };
    match groups.iter_mut().find(|g| same(g)) {
        Some(g) => {
            g.points.push(r.point);
            g.listed.push(r.listed);
        }
        None => groups.push(DerivedProbe {
            points: vec![r.point],
            listed: vec![r.listed],
            prologues: r.prologues,
            body: &probe.body,
            epilogues: r.epilogues,
            condition,
            span: probe.span,
            locals: Locals::default(),
            context: r.context,
            elided: HashSet::new(),
        }),
    }
}

/// One walk over every probe and used function. Returns the program (only
/// meaningful in [`Mode::Lower`]) and whether any type changed.
fn walk_all<'a>(
    cx: &mut Context<'a>,
    derived: &mut [DerivedProbe<'a>],
    mode: Mode,
) -> (ir::Program, bool) {
    let mut changed = false;
    let mut probes = Vec::new();
    for d in derived.iter_mut() {
        let locals = std::mem::take(&mut d.locals);
        let mut w = Walker::new(cx, locals, None, mode);
        w.context = d.context.clone();
        w.probe_body = Some(d.body);
        let condition = d.condition.map(|c| w.expr(c, Some(Type::Long)).1);
        let mut stmts = Vec::new();
        let parts = d
            .prologues
            .iter()
            .copied()
            .chain(std::iter::once(d.body))
            .chain(d.epilogues.iter().copied());
        for b in parts {
            for s in &b.stmts {
                if !d.elided.contains(&(s as *const ast::Stmt as usize)) {
                    stmts.extend(w.stmt(s));
                }
            }
        }
        if mode == Mode::Lower {
            w.finish_locals();
        }
        changed |= w.changed;
        d.locals = w.locals;
        let entry = w.entry;
        let location = cx.location(d.span, "keyword 'probe'".into());
        probes.push(ir::Probe {
            points: d.points.clone(),
            locals: lower_locals(&d.locals),
            condition,
            body: ir::Block { stmts },
            location,
            entry,
        });
    }
    // Functions: walk every one reached (a walk may reach new ones).
    let mut bodies: Vec<Option<ir::FunctionBody>> = vec![None; cx.functions.len()];
    loop {
        let todo: Vec<usize> = (0..cx.functions.len())
            .filter(|&i| {
                (cx.functions[i].used || cx.config.unoptimized)
                    && bodies.get(i).is_none_or(|b| b.is_none())
            })
            .collect();
        if todo.is_empty() {
            break;
        }
        bodies.resize(cx.functions.len(), None);
        for i in todo {
            let def = cx.functions[i].def;
            let body = match &def.body {
                ast::FunctionBody::Embedded(code) => ir::FunctionBody::Embedded(code.code.clone()),
                ast::FunctionBody::Block(b) => {
                    let locals = std::mem::take(&mut cx.functions[i].locals);
                    let mut w = Walker::new(cx, locals, Some(i), mode);
                    let block = w.block(b);
                    if mode == Mode::Lower {
                        w.finish_locals();
                    }
                    changed |= w.changed;
                    let locals = w.locals;
                    cx.functions[i].locals = locals;
                    ir::FunctionBody::Script(block)
                }
            };
            bodies[i] = Some(body);
        }
    }
    if mode == Mode::Lower {
        check_signatures(cx);
        check_globals(cx);
    }
    // Keep only used functions, renumbering calls.
    let keep: Vec<usize> = (0..cx.functions.len())
        .filter(|&i| bodies.get(i).is_some_and(|b| b.is_some()))
        .collect();
    let mut renumber = vec![u32::MAX; cx.functions.len()];
    for (new, &old) in keep.iter().enumerate() {
        renumber[old] = new as u32;
    }
    let mut functions = Vec::new();
    for &i in &keep {
        let f = &cx.functions[i];
        let ret = if f.returns_value { f.ret.ty } else { None };
        let name = &f.def.name.name;
        let overloaded = keep
            .iter()
            .filter(|&&j| cx.functions[j].def.name.name == *name)
            .count()
            > 1;
        let symbol = if overloaded {
            format!("{name}__{}", f.def.params.len())
        } else {
            name.clone()
        };
        functions.push(ir::Function {
            name: f.def.name.name.clone(),
            symbol,
            locals: lower_locals(&f.locals),
            params: f.def.params.len(),
            ret,
            body: bodies[i].take().expect("kept functions have bodies"),
            location: cx.location(f.def.name.span, format!("identifier '{}'", f.def.name.name)),
        });
    }
    let mut program = ir::Program {
        globals: lower_globals(cx),
        functions,
        probes,
        embedded: embedded_blocks(cx),
        regexes: cx.regexes.clone(),
        records_matches: false,
    };
    program.records_matches = program.functions.iter().any(|f| {
        matches!(f.body, ir::FunctionBody::Embedded(_))
            && regex::MATCH_FUNCTIONS.contains(&f.name.as_str())
    });
    if mode == Mode::Lower && program.records_matches {
        check_capture_programs(cx);
    }
    renumber_calls(&mut program, &renumber);
    if mode == Mode::Lower {
        program
            .probes
            .extend(autoprint::probe(&cx.globals, &program));
    }
    (program, changed)
}

/// Every pattern of a program that calls `matched()` & co. needs its
/// capture program; one too large for the runtime's scratch is an error.
fn check_capture_programs(cx: &mut Context<'_>) {
    for (dfa, span) in cx.regexes.iter().zip(&cx.regex_spans) {
        if dfa.program.is_some() {
            continue;
        }
        cx.diagnostics.push(
            Diagnostic::semantic_error(format!(
                "regular expression \"{}\" is too complex for matched() and ngroups()",
                dfa.pattern.escape_ascii()
            ))
            .with_primary(*span, "this pattern")
            .with_note(format!(
                "subexpressions are found with at most {} automaton states and {} groups \
                 (counted repetitions are expanded)",
                ir::RegexProgram::MAX_INSNS,
                ir::RegexProgram::MAX_GROUPS - 1
            ))
            .with_help("match with a simpler pattern, or split the test into several =~"),
        );
    }
}

fn lower_locals(locals: &Locals) -> Vec<ir::Local> {
    locals
        .vars
        .iter()
        .map(|v| ir::Local {
            name: v.name.clone(),
            ty: v.slot.ty.unwrap_or(Type::Long),
        })
        .collect()
}

fn lower_globals(cx: &Context<'_>) -> Vec<ir::Global> {
    cx.globals
        .iter()
        .map(|g| {
            let value = g.value.ty.unwrap_or(Type::Long);
            let kind = match g.shape {
                Shape::Array(_) => ir::GlobalKind::Array(ir::ArrayType {
                    keys: g.keys.iter().map(|k| k.ty.unwrap_or(Type::Long)).collect(),
                    value,
                    capacity: g
                        .decl
                        .size
                        .map(|s| s.value.clamp(1, u32::MAX as i64) as u32),
                    wrap: g.decl.wrap,
                }),
                _ => ir::GlobalKind::Scalar(value),
            };
            let init = g.decl.init.as_ref().map(|l| match l {
                ast::Literal::Number(n) => ir::Const::Long(n.value),
                ast::Literal::String(s) => ir::Const::String(s.to_str_lossy().into_owned()),
            });
            ir::Global {
                name: g.name.clone(),
                kind,
                init,
                histogram: g.histogram.map(|(h, _)| h),
                variance_shift: g.variance_shift.map_or(0, |(s, _)| s),
                location: cx.location(g.decl.name.span, format!("identifier '{}'", g.name)),
            }
        })
        .collect()
}

fn embedded_blocks(cx: &Context<'_>) -> Vec<String> {
    cx.embedded.clone()
}

fn check_signatures(cx: &mut Context<'_>) {
    for f in &cx.functions {
        if !(f.used || cx.config.unoptimized) {
            continue;
        }
        for (i, p) in f.def.params.iter().enumerate() {
            if f.locals.vars[i].slot.ty.is_none() {
                cx.diagnostics.push(
                    Diagnostic::semantic_error(format!(
                        "unresolved type for parameter '{}' of '{}'",
                        p.name.name, f.def.name.name
                    ))
                    .with_primary(p.name.span, "nothing decides its type")
                    .with_help(format!(
                        "annotate it: {}:long or {}:string",
                        p.name.name, p.name.name
                    )),
                );
            }
        }
        if f.returns_value && f.ret.ty.is_none() {
            cx.diagnostics.push(
                Diagnostic::semantic_error(format!(
                    "unresolved return type of '{}'",
                    f.def.name.name
                ))
                .with_primary(f.def.name.span, "nothing decides what it returns")
                .with_help(format!(
                    "annotate it: function {}:long (...)",
                    f.def.name.name
                )),
            );
        }
    }
}

fn check_globals(cx: &mut Context<'_>) {
    for g in &cx.globals {
        if !(g.read || g.written) {
            cx.diagnostics.push(
                Diagnostic::warning(format!("eliding unused variable '{}'", g.name))
                    .with_primary(g.decl.name.span, "declared here, but never used"),
            );
            continue;
        }
        if g.value.ty.is_none() {
            cx.diagnostics.push(
                Diagnostic::semantic_error(format!("unresolved type for global '{}'", g.name))
                    .with_primary(
                        g.decl.name.span,
                        "nothing decides whether this holds numbers or strings",
                    ),
            );
        }
        if let Shape::Array(_) = g.shape {
            for (k, key) in g.keys.iter().enumerate() {
                if key.ty.is_none() {
                    cx.diagnostics.push(
                        Diagnostic::semantic_error(format!(
                            "unresolved type for key {} of '{}'",
                            k + 1,
                            g.name
                        ))
                        .with_primary(g.decl.name.span, "declared here"),
                    );
                }
            }
        }
    }
}

fn renumber_calls(program: &mut ir::Program, renumber: &[u32]) {
    fn expr(e: &mut ir::Expr, r: &[u32]) {
        use ir::ExprKind as K;
        match &mut e.kind {
            K::Call { function, args } => {
                function.0 = r[function.0 as usize];
                args.iter_mut().for_each(|a| expr(a, r));
            }
            K::Index { keys, .. } | K::In { keys, .. } => keys.iter_mut().for_each(|k| expr(k, r)),
            K::Unary { operand, .. } => expr(operand, r),
            K::Binary { lhs, rhs, .. }
            | K::Compare { lhs, rhs, .. }
            | K::Logical { lhs, rhs, .. }
            | K::Concat(lhs, rhs) => {
                expr(lhs, r);
                expr(rhs, r);
            }
            K::Ternary { cond, then, els } => {
                expr(cond, r);
                expr(then, r);
                expr(els, r);
            }
            K::Assign { target, value, .. } | K::StatAdd { target, value } => {
                lvalue(target, r);
                expr(value, r);
            }
            K::IncDec { target, .. }
            | K::Aggregate { stats: target, .. }
            | K::Histogram { stats: target, .. } => lvalue(target, r),
            K::Regex { subject, .. } => expr(subject, r),
            K::Print { args, .. } | K::Printf { args, .. } => {
                args.iter_mut().for_each(|a| expr(a, r))
            }
            K::Target(t) => target(t, r),
            K::Long(_)
            | K::Str(_)
            | K::Local(_)
            | K::Global(_)
            | K::EntrySlot(_)
            | K::EmbeddedC(_) => {}
        }
    }
    fn target(t: &mut ir::TargetAccess, r: &[u32]) {
        if let ir::TargetBase::Value(e) = &mut t.base {
            expr(e, r);
        }
        for step in &mut t.steps {
            if let ir::TargetStep::Index { index, .. } = step {
                expr(index, r);
            }
        }
    }
    fn lvalue(lv: &mut ir::LValue, r: &[u32]) {
        match lv {
            ir::LValue::Index { keys, .. } => keys.iter_mut().for_each(|k| expr(k, r)),
            ir::LValue::Target(t) => target(t, r),
            ir::LValue::Local(_) | ir::LValue::Global(_) => {}
        }
    }
    fn block(b: &mut ir::Block, r: &[u32]) {
        for s in &mut b.stmts {
            match &mut s.kind {
                ir::StmtKind::Expr(e) => expr(e, r),
                ir::StmtKind::Block(b) => block(b, r),
                ir::StmtKind::If { cond, then, els } => {
                    expr(cond, r);
                    block(then, r);
                    if let Some(e) = els {
                        block(e, r);
                    }
                }
                ir::StmtKind::While { cond, body } => {
                    expr(cond, r);
                    block(body, r);
                }
                ir::StmtKind::For {
                    init,
                    cond,
                    step,
                    body,
                } => {
                    for e in [init, cond, step].into_iter().flatten() {
                        expr(e, r);
                    }
                    block(body, r);
                }
                ir::StmtKind::Foreach(f) => {
                    f.slice.iter_mut().flatten().for_each(|k| expr(k, r));
                    if let Some(l) = &mut f.limit {
                        expr(l, r);
                    }
                    block(&mut f.body, r);
                }
                ir::StmtKind::Return(Some(e)) => expr(e, r),
                ir::StmtKind::Delete(ir::Delete::Elements { keys, .. }) => {
                    keys.iter_mut().flatten().for_each(|k| expr(k, r))
                }
                ir::StmtKind::Try { body, handler, .. } => {
                    block(body, r);
                    block(handler, r);
                }
                _ => {}
            }
        }
    }
    for p in &mut program.probes {
        if let Some(c) = &mut p.condition {
            expr(c, renumber);
        }
        p.entry.iter_mut().for_each(|e| expr(e, renumber));
        block(&mut p.body, renumber);
    }
    for f in &mut program.functions {
        if let ir::FunctionBody::Script(b) = &mut f.body {
            block(b, renumber);
        }
    }
}
