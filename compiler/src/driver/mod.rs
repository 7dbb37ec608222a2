//! The `stap` pipeline: passes 1 (parse) to 4 (build a `.ko`), and the
//! guarded pass 5 (run through staprun).
//!
//! [`Options`] says what to do (`cli::StapOptions`, SystemTap's command
//! line, converts into it); [`Pipeline`] runs the passes and keeps what
//! each produced, so `stap` prints them and `stap-matrix` builds with
//! exactly the same code. Passes 1 to 3 read the script, tapsets and what
//! [`KernelInfo`] has at hand, never the network: when pass 2 will need
//! facts that must be fetched first (the tracepoints of the kernel's
//! modules, for `kernel.trace` wildcards: `prescan` reads the probe
//! points), the pipeline fetches them before pass 2 in a step of its own
//! that says so on stderr, then elaborates once.

use std::path::PathBuf;
use std::time::Instant;

mod build;
mod checks;
mod cli;
mod options;
mod prescan;

use checks::{
    check_define, check_include_dir, check_make_var, check_module_name, max_probes, tree_failure,
};

pub use build::{check_module, deliver, BuildJob};
pub use cli::StapOptions;
pub use options::{Options, ScriptInput};

use std::sync::Arc;

use crate::arch::Arch;
use crate::codegen;
use crate::debuginfo::{KernelFiles, KernelInfo, UserPrograms};
use crate::diag::{Diagnostic, SourceMap, StapRenderer};
use crate::ir::Program;
use crate::kernel::kbuild::{self, BuiltModule};
use crate::kernel::kbuild_batch::BatchModule;
use crate::kernel::kbuild_tryrun;
use crate::kernel::module_tracepoints;
use crate::kernel::{features, modcheck, toolchain, Cache, Catalog, HeaderTree};
use crate::modcache;
use crate::runtime;
use crate::runtime_object;
use crate::sema;
use crate::syntax::{self, PreprocessConfig};

/// Why the pipeline stopped: everything to print, and the exit status.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Text for stderr (diagnostics and the closing `Pass N: ... failed` line).
    pub message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: format!("{}\n", message.into()),
        }
    }

    fn pass(pass: u8, what: &str, body: String) -> Failure {
        Failure {
            message: format!("{body}Pass {pass}: {what} failed.  [man error::pass{pass}]\n"),
        }
    }

    /// SystemTap's note after the `Pass N: ... failed.` line when
    /// repeats of an error were left out.
    fn with_suppressed(mut self, suppressed: usize) -> Failure {
        if suppressed > 0 {
            self.message.push_str(&format!(
                "Number of similar error messages suppressed: {suppressed}.\nRerun with -v to see them.\n"
            ));
        }
        self
    }
}

/// The script text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Script {
    /// `<input>` for `-e`, else the path as given.
    pub name: String,
    /// The text.
    pub text: String,
    /// Arguments after the script (`$1`...).
    pub args: Vec<String>,
}

/// A running translation: options, sources and the target tree.
pub struct Pipeline {
    /// The options.
    pub options: Options,
    /// Every source text (script and tapsets) diagnostics refer to.
    pub sources: SourceMap,
    /// The script.
    pub script: Script,
    /// The target tree, when one could be found.
    pub tree: Option<HeaderTree>,
    tree_error: Option<String>,
    /// Non-fatal diagnostics gathered so far, rendered.
    pub warnings: String,
    /// Pass 2's configuration, made once (with the kernel's facts).
    sema_config: Option<sema::Config>,
    /// Where steps that fetch say what they do (stderr unless replaced).
    pub progress: Arc<dyn Fn(&str) + Send + Sync>,
    /// What pass 4 chose and found (toolchain, feature probes), for `-v`.
    pub build_notes: Vec<String>,
    /// The cache entry pass 4 took its module from, when it did.
    pub cached_module: Option<PathBuf>,
    /// What pass 2 counted for `-v`'s line, once it ran (also when it failed).
    pub pass2_summary: Option<sema::Summary>,
    cache: Cache,
    catalog: Catalog,
    timings: Vec<(u8, u128)>,
    /// The library's macros (`.stpm` files), read by the first parse.
    library_macros: Option<syntax::LibraryMacros>,
    /// Every warning passes 1 to 3 rendered, which a module found by its
    /// script key prints again (`modcache::script`).
    pass_warnings: String,
    /// Every warning text printed so far: SystemTap prints one text once
    /// unless `-v` is given, and counts the rest.
    warnings_seen: std::collections::HashSet<String>,
    /// Warnings left out as repeats of one printed before.
    warnings_suppressed: usize,
    /// SystemTap's rendering of diagnostics, which remembers the file of
    /// the place it printed last for the whole run.
    renderer: StapRenderer,
    /// After pass 2: whether the translation read no user-space program,
    /// so the script key (which has none of their files) may find its
    /// module (`None` before pass 2).
    script_cacheable: Option<bool>,
}

impl Pipeline {
    /// Reads the script and finds the target tree.
    pub fn new(mut options: Options) -> Result<Pipeline, Failure> {
        let mut warnings = String::new();
        if let Some(name) = &options.module {
            let (name, note) = check_module_name(name).map_err(Failure::usage)?;
            warnings.push_str(&note);
            options.module = Some(name);
        }
        for dir in &options.includes {
            check_include_dir(dir).map_err(Failure::usage)?;
        }
        // `-r ''` is the running kernel, as in SystemTap.
        if options.release.as_deref() == Some("") {
            options.release = None;
        }
        let script = read_script(&options)?;
        for define in &options.defines {
            check_define(define).map_err(Failure::usage)?;
        }
        for var in &options.make_vars {
            check_make_var(var).map_err(Failure::usage)?;
        }
        let cache = Cache::locate(options.cache_dir.as_deref());
        let catalog = Catalog::load().map_err(|e| Failure::usage(format!("stap: {e}")))?;
        let (tree, tree_error) =
            match HeaderTree::resolve(options.release.as_deref(), &cache, &catalog) {
                Ok(tree) => (Some(tree), None),
                // A tree named with -r must be there, at every pass
                // (SystemTap checks it before parsing); without -r, passes
                // 1 to 3 go on without the running kernel's.
                Err(e) => match &options.release {
                    Some(spec) => return Err(Failure::usage(tree_failure(spec, &e))),
                    None => (None, Some(e.to_string())),
                },
            };
        if let (Some(tree), Some(arch)) = (&tree, options.arch) {
            if tree.arch != arch {
                return Err(Failure::usage(format!(
                    "stap: -a {arch} does not match the kernel tree {} ({}); pass -r with a {arch} tree",
                    tree.dir.display(),
                    tree.arch
                )));
            }
        }
        Ok(Pipeline {
            options,
            sources: SourceMap::new(),
            script,
            tree,
            tree_error,
            warnings,
            sema_config: None,
            progress: Arc::new(|line| eprintln!("{line}")),
            build_notes: Vec::new(),
            cached_module: None,
            pass2_summary: None,
            cache,
            catalog,
            timings: Vec::new(),
            library_macros: None,
            pass_warnings: String::new(),
            warnings_seen: Default::default(),
            warnings_suppressed: 0,
            renderer: StapRenderer::new(),
            script_cacheable: None,
        })
    }

    /// What the target kernel looks like, read once (lazily per question).
    pub fn kernel_info(&mut self) -> Option<Arc<KernelInfo>> {
        self.sema_config().kernel.clone()
    }

    /// Reads the kernel's facts through `info` (made for this pipeline's
    /// tree, e.g. shared by every script stap-matrix builds for one tree,
    /// which then reads them once) instead of a view of its own.
    pub fn share_kernel_info(&mut self, info: Arc<KernelInfo>) {
        self.sema_config();
        if let Some(config) = self.sema_config.as_mut() {
            config.kernel = Some(info);
        }
    }

    /// Pass 2's configuration, made the first time it is needed.
    fn sema_config(&mut self) -> &sema::Config {
        if self.sema_config.is_none() {
            let kernel = self
                .tree
                .as_ref()
                .map(KernelFiles::from_tree)
                .map(|files| Arc::new(KernelInfo::new(files)));
            self.sema_config = Some(sema::Config {
                guru: self.options.guru,
                unoptimized: self.options.unoptimized,
                include_dirs: self.options.includes.clone(),
                preprocess: self.preprocess_config(),
                kernel,
                programs: Arc::new(
                    UserPrograms::new(self.options.sysroot.clone())
                        .with_target(self.options.command.as_deref(), self.options.target_pid),
                ),
                unwind_paths: self.options.unwind_modules.clone(),
                ldd: self.options.ldd,
                max_probes: max_probes(&self.options.defines),
            });
        }
        self.sema_config.as_ref().expect("made above")
    }

    /// Runs `analyze` (pass 2, once) on the kernel's facts, after
    /// learning those that must be fetched first: the tracepoints of the
    /// kernel's own modules, when a `kernel.trace` point of the script or
    /// its tapsets needs them ([`prescan`]), in a step of its own reported
    /// on [`Pipeline::progress`].
    fn with_kernel_facts<T>(
        &mut self,
        script: &syntax::ast::Script,
        analyze: impl FnOnce(&mut SourceMap, &sema::Config) -> T,
    ) -> Result<T, Failure> {
        self.learn_module_tracepoints(script)?;
        self.learn_module_types(script)?;
        self.sema_config();
        let config = self.sema_config.take().expect("made above");
        let out = analyze(&mut self.sources, &config);
        self.sema_config = Some(config);
        Ok(out)
    }

    /// Fetches and learns the tracepoints of the kernel's modules when
    /// `script` (or a tapset of its `-I` directories) has a `kernel.trace`
    /// point that needs them and they are not learnt yet; pass 2 then sees
    /// a kernel that has them.
    fn learn_module_tracepoints(&mut self, script: &syntax::ast::Script) -> Result<(), Failure> {
        let Some(kernel) = self.kernel_info() else {
            return Ok(());
        };
        let Some(source) = kernel.files().modules.clone() else {
            return Ok(());
        };
        let mut specs = prescan::trace_specs(script);
        if !self.options.includes.is_empty() {
            let cfg = self.preprocess_config();
            specs.extend(prescan::tapset_trace_specs(&self.options.includes, &cfg));
        }
        if specs.is_empty() || !matches!(module_tracepoints::cached(&source), Ok(None)) {
            return Ok(());
        }
        if !specs.iter().any(|s| kernel.tracepoint_needs_modules(s)) {
            return Ok(());
        }
        let progress = self.progress.clone();
        module_tracepoints::prepare(&source, &mut |line| progress(&format!("Pass 2: {line}")))
            .map_err(|e| {
                Failure::pass(
                    2,
                    "analysis",
                    format!("semantic error: cannot learn the tracepoints of the kernel's modules: {e}\n"),
                )
            })?;
        // A fresh view of the kernel, which reads what was just learnt.
        let config = self.sema_config.as_mut().expect("made by kernel_info");
        config.kernel = Some(Arc::new(KernelInfo::new(kernel.files().clone())));
        Ok(())
    }

    /// Takes the types (split BTF) of the loadable modules `script` names
    /// (its `module("NAME")` points and `@cast` modules, see
    /// [`prescan::module_names`]) out of the kernel's modules package into
    /// the cache, once per module; pass 2 then reads them
    /// ([`KernelInfo::module_types`]). Failing to is not an error here:
    /// pass 2 says why a module's types are missing where it needs them.
    fn learn_module_types(&mut self, script: &syntax::ast::Script) -> Result<(), Failure> {
        let Some(kernel) = self.kernel_info() else {
            return Ok(());
        };
        let Some(source) = kernel.files().modules.clone() else {
            return Ok(());
        };
        let mut names = prescan::module_names(script);
        // The modules the tapset aliases it probes through name
        // (`nfsd.unlink` is a function of nfsd).
        let cfg = self.preprocess_config();
        names.extend(prescan::library_module_names(
            script,
            &self.options.includes,
            &cfg,
        ));
        // The modules that define the tracepoints the script names, whose
        // BTF types those no header declares.
        if let Ok(list) = kernel.module_tracepoints() {
            for spec in prescan::trace_specs(script) {
                let (system, short) = spec.split_once(':').unwrap_or(("*", spec.as_str()));
                if short.contains(['*', '?', '[']) {
                    continue;
                }
                let system = crate::text::glob::Glob::new(system);
                names.extend(
                    list.iter()
                        .filter(|t| t.name == short && system.matches(&t.system))
                        .map(|t| t.module.clone()),
                );
            }
        }
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(());
        }
        let progress = self.progress.clone();
        if let Err(e) = crate::kernel::module_btf::prepare(&source, &names, &mut |line| {
            progress(&format!("Pass 2: {line}"))
        }) {
            progress(&format!(
                "Pass 2: cannot read the types of module(s) {}: {e}",
                names.join(", ")
            ));
        }
        Ok(())
    }

    /// The module name: `-m NAME`, else `stap_` and a hash of the script.
    pub fn module_name(&self) -> String {
        match &self.options.module {
            Some(m) => m.clone(),
            None => format!(
                "stap_{:016x}",
                crate::text::hash::fnv1a_64(self.script.text.as_bytes())
            ),
        }
    }

    fn preprocess_config(&self) -> PreprocessConfig {
        let mut cfg = match &self.tree {
            Some(tree) => {
                // As SystemTap, the release the tree was built as
                // (`include/config/kernel.release`: Debian's 6.1.0-57-amd64
                // tree says 6.1.192) is kernel_v/kernel_vr.
                let built_as =
                    std::fs::read_to_string(tree.dir.join("include/config/kernel.release"))
                        .ok()
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty());
                let release = built_as.as_deref().unwrap_or(&tree.release);
                let mut cfg = PreprocessConfig::for_kernel(release, tree.arch.name());
                cfg.kernel_config = tree
                    .config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.trim_matches('"').to_string()))
                    .collect();
                cfg
            }
            None => {
                let release =
                    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
                let arch = self
                    .options
                    .arch
                    .or(Arch::host())
                    .map_or(std::env::consts::ARCH, Arch::name);
                let mut cfg = PreprocessConfig::for_kernel(release.trim(), arch);
                cfg.kernel_config.clear();
                cfg
            }
        };
        cfg.guru = self.options.guru;
        cfg.args = self.script.args.clone();
        cfg.library_macros = self.library_macros.clone().unwrap_or_default();
        cfg
    }

    /// Reads the library macro files (`.stpm`) once, before the script is
    /// parsed: their macros are visible to it and to every tapset.
    fn load_library_macros(&mut self) -> Result<(), Failure> {
        if self.library_macros.is_some() {
            return Ok(());
        }
        let cfg = self.preprocess_config();
        let (macros, diags) = sema::library_macros(&mut self.sources, &self.options.includes, &cfg);
        self.library_macros = Some(macros);
        // Pass 2's configuration carries the macros too; its view of the
        // kernel stays (it may be shared: `share_kernel_info`).
        let preprocess = self.preprocess_config();
        if let Some(config) = self.sema_config.as_mut() {
            config.preprocess = preprocess;
        }
        if self.diagnostics(&diags) {
            return Ok(());
        }
        let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
        Err(self.parse_failure(&errors))
    }

    /// Diagnostics in SystemTap's words and layout.
    fn render(&mut self, diags: &[Diagnostic]) -> String {
        self.renderer.render_all(&self.sources, diags)
    }

    /// Pass 1's failure: its errors, then SystemTap's count of them
    /// (`1 parse error.`, `2 parse errors.`, repeats included).
    fn parse_failure(&mut self, errors: &[Diagnostic]) -> Failure {
        let (mut body, suppressed) = self.render_errors(errors);
        let n = errors.len();
        body.push_str(&format!(
            "{n} parse error{}.\n",
            if n == 1 { "" } else { "s" }
        ));
        Failure::pass(1, "parse", body).with_suppressed(suppressed)
    }

    /// Pass 2's failure: its errors and the count of repeats.
    fn analysis_failure(&mut self, errors: &[Diagnostic]) -> Failure {
        let (body, suppressed) = self.render_errors(errors);
        Failure::pass(2, "analysis", body).with_suppressed(suppressed)
    }

    /// Errors as SystemTap prints them: without `-v`, each message text
    /// once (the first), and how many repeats were left out.
    fn render_errors(&mut self, errors: &[Diagnostic]) -> (String, usize) {
        if self.options.verbose > 0 {
            return (self.render(errors), 0);
        }
        let mut seen = std::collections::HashSet::new();
        let shown: Vec<Diagnostic> = errors
            .iter()
            .filter(|e| seen.insert(e.message.clone()))
            .cloned()
            .collect();
        let suppressed = errors.len() - shown.len();
        (self.render(&shown), suppressed)
    }

    fn diagnostics(&mut self, diags: &[Diagnostic]) -> bool {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            diags.iter().cloned().partition(|d| d.is_error());
        if !self.options.suppress_warnings && !warnings.is_empty() {
            let shown = self.unsuppressed(warnings);
            let text = self.render(&shown);
            self.pass_warnings.push_str(&text);
            self.warnings.push_str(&text);
        }
        errors.is_empty()
    }

    /// The warnings to print: without `-v`, each message text once (the
    /// first), the repeats counted as SystemTap counts them.
    fn unsuppressed(&mut self, warnings: Vec<Diagnostic>) -> Vec<Diagnostic> {
        if self.options.verbose > 0 {
            return warnings;
        }
        let mut shown = Vec::new();
        for w in warnings {
            if self.warnings_seen.insert(w.message.clone()) {
                shown.push(w);
            } else {
                self.warnings_suppressed += 1;
            }
        }
        shown
    }

    /// SystemTap's `WARNING: unused command line option $N/@N` for each
    /// argument the script never names (after pass 2's other warnings).
    fn unused_args(&self) -> Vec<Diagnostic> {
        let Some(file) = self
            .sources
            .files()
            .find(|(_, f)| f.name() == self.script.name)
            .map(|(id, _)| id)
        else {
            return Vec::new();
        };
        let Some(named) = syntax::args_named(&self.sources, file) else {
            return Vec::new();
        };
        (1..=self.script.args.len() as u32)
            .filter(|i| !named.contains(i))
            .map(|i| Diagnostic::warning(format!("unused command line option ${i}/@{i}")))
            .collect()
    }

    /// SystemTap's note after the warnings when some were repeats:
    /// `Number of similar warning messages suppressed: N.` and `Rerun with
    /// -v to see them.` (observed with SystemTap 5.1 at `-p2`), added once
    /// to what pass 2 prints.
    fn note_suppressed_warnings(&mut self) {
        if self.warnings_suppressed == 0 {
            return;
        }
        let note = format!(
            "Number of similar warning messages suppressed: {}.\nRerun with -v to see them.\n",
            std::mem::take(&mut self.warnings_suppressed)
        );
        self.pass_warnings.push_str(&note);
        self.warnings.push_str(&note);
    }

    fn timed<T>(&mut self, pass: u8, f: impl FnOnce(&mut Self) -> T) -> T {
        let start = Instant::now();
        let out = f(self);
        self.timings.push((pass, start.elapsed().as_millis()));
        out
    }

    /// `Pass N: ... in Xms` lines for `-v`.
    pub fn timing_report(&self) -> String {
        let what = |p| match p {
            1 => "parsed user script",
            2 => "analyzed script",
            3 => "translated to C",
            4 => "compiled C into kernel module",
            _ => "ran",
        };
        self.timings
            .iter()
            .map(|(p, ms)| format!("Pass {p}: {} in {ms}ms.\n", what(*p)))
            .collect()
    }

    /// Pass 1: preprocess and parse.
    pub fn parse(&mut self) -> Result<syntax::ast::Script, Failure> {
        self.timed(1, |p| {
            p.load_library_macros()?;
            let file = p.sources.add(p.script.name.clone(), p.script.text.clone());
            let cfg = PreprocessConfig {
                user_script: true,
                ..p.preprocess_config()
            };
            let parsed = syntax::parse(&p.sources, file, &cfg);
            if p.diagnostics(&parsed.diagnostics) {
                Ok(parsed.script)
            } else {
                let (errors, _): (Vec<_>, Vec<_>) =
                    parsed.diagnostics.into_iter().partition(|d| d.is_error());
                Err(p.parse_failure(&errors))
            }
        })
    }

    /// Pass 2: resolve, elaborate and type the script into the IR.
    pub fn elaborate(&mut self, script: &syntax::ast::Script) -> Result<Program, Failure> {
        let timed_out;
        let script = match self.options.timeout {
            Some(secs) => {
                timed_out = self.with_timeout_probe(script, secs);
                &timed_out
            }
            None => script,
        };
        self.timed(2, |p| {
            let analysis = p.with_kernel_facts(script, |sources, config| {
                sema::analyze(sources, script, config)
            })?;
            p.pass2_summary = Some(analysis.summary);
            let mut ok = p.diagnostics(&analysis.diagnostics);
            if ok {
                let unused = p.unused_args();
                ok = p.diagnostics(&unused);
            }
            p.note_suppressed_warnings();
            match analysis.program {
                Some(program) if ok => {
                    let read_programs = p
                        .sema_config
                        .as_ref()
                        .is_some_and(|c| c.programs.read_any());
                    p.script_cacheable = Some(!read_programs && !names_user_files(&program));
                    Ok(program)
                }
                _ => {
                    let (errors, _): (Vec<_>, Vec<_>) =
                        analysis.diagnostics.into_iter().partition(|d| d.is_error());
                    Err(p.analysis_failure(&errors))
                }
            }
        })
    }

    /// `script` with `-T`'s probe first: `probe timer.ms(MS) { exit() }`.
    fn with_timeout_probe(
        &mut self,
        script: &syntax::ast::Script,
        secs: u32,
    ) -> syntax::ast::Script {
        let text = format!("probe timer.ms({}) {{ exit() }}\n", u64::from(secs) * 1000);
        let file = self.sources.add("<-T timeout>".to_string(), text);
        let parsed = syntax::parse(&self.sources, file, &self.preprocess_config());
        debug_assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let mut out = script.clone();
        out.items.splice(0..0, parsed.script.items);
        out
    }

    /// `--dump-functions`, `--dump-probe-aliases`, `--dump-probe-types`:
    /// the library's listings, in SystemTap's formats.
    pub fn dump(&mut self) -> Result<String, Failure> {
        let ScriptInput::Dump {
            functions,
            aliases,
            types,
        } = self.options.script
        else {
            return Ok(String::new());
        };
        self.load_library_macros()?;
        let mut out = String::new();
        if types {
            out.push_str(&sema::dump_probe_types());
        }
        for (wanted, what) in [
            (aliases, sema::LibraryDump::ProbeAliases),
            (functions, sema::LibraryDump::Functions),
        ] {
            if !wanted {
                continue;
            }
            self.sema_config();
            let config = self.sema_config.as_ref().expect("made above");
            let (text, diags) = sema::dump_library(&mut self.sources, config, what);
            let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
            if !errors.is_empty() {
                return Err(self.parse_failure(&errors));
            }
            out.push_str(&text);
        }
        Ok(out)
    }

    /// `-l`/`-L`: the listing of the points the pattern matches (see
    /// [`sema::list_points`]), one line each.
    pub fn list_points(&mut self, script: &syntax::ast::Script) -> Result<String, Failure> {
        let variables = matches!(
            self.options.script,
            ScriptInput::List {
                variables: true,
                ..
            }
        );
        let (lines, diagnostics) = self.with_kernel_facts(script, |sources, config| {
            sema::list_points(sources, script, config, variables)
        })?;
        let errors: Vec<_> = diagnostics.into_iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            return Err(self.analysis_failure(&errors));
        }
        Ok(lines.iter().map(|l| format!("{l}\n")).collect())
    }

    /// Pass 3: generate the module's C source.
    pub fn translate(&mut self, program: &Program) -> Result<String, Failure> {
        self.timed(3, |p| {
            let config = codegen::Config {
                module_name: p.module_name(),
                script_name: p.script.name.clone(),
            };
            Ok(codegen::generate(program, &config))
        })
    }

    /// The tree pass 4 builds against, or why there is none.
    pub fn require_tree(&self) -> Result<&HeaderTree, Failure> {
        self.tree.as_ref().ok_or_else(|| {
            Failure::pass(
                4,
                "compilation",
                format!("{}\n", self.tree_error.clone().unwrap_or_default()),
            )
        })
    }

    /// Pass 4: build the `.ko` against the tree and check it will load.
    /// A module from the cache (`crate::modcache`, as `options.module_cache`
    /// allows) is checked the same way, and a module kbuild made is cached
    /// after its check; [`Pipeline::cached_module`] says which it was.
    pub fn build(&mut self, c_source: &str) -> Result<BuiltModule, Failure> {
        self.timed(4, |p| {
            let job = p.build_job(c_source)?;
            let slot = modcache::Slot::new(&p.cache, p.options.module_cache, &job.key_inputs());
            if let Some(hit) = slot.as_ref().and_then(|s| s.lookup(&job.module.module)) {
                match p.check_built(hit) {
                    Ok(built) => {
                        p.cached_module = slot.map(|s| s.entry());
                        return Ok(built);
                    }
                    Err(_) => slot.iter().for_each(modcache::Slot::discard),
                }
            }
            let built = kbuild::build(&job.request())
                .map_err(|e| Failure::pass(4, "compilation", format!("{e}\n")))?;
            let built = p.check_built(built)?;
            if let Some(slot) = &slot {
                match slot.store(&built) {
                    Ok(_) => p.remember_script(slot, &job.toolchain),
                    Err(e) => p.build_notes.push(format!("module cache: {e}")),
                }
            }
            Ok(built)
        })
    }

    /// The module pass 4 would give, found by the script key before
    /// passes 1 to 3 (`modcache::script`) and checked against the tree
    /// as a build is; the warnings those passes printed when it was built
    /// are in [`Pipeline::warnings`] again, and
    /// [`Pipeline::cached_module`] names the entry. `None` (run the
    /// passes) on a miss, without a tree, with `-v` (whose report is of
    /// the passes), and unless the cache is read.
    pub fn cached_script(&mut self) -> Option<BuiltModule> {
        let o = &self.options;
        if o.module_cache != modcache::CacheUse::ReadWrite
            || o.verbose > 0
            || o.lists_points()
            || o.dumps()
            || o.last_pass() < 4
        {
            return None;
        }
        let slot = self.script_slot()?;
        let hit = slot.lookup(&self.cache, &self.module_name())?;
        match self.check_built(hit.built) {
            Ok(built) => {
                self.warnings.push_str(&hit.warnings);
                self.cached_module = Some(hit.entry);
                Some(built)
            }
            Err(_) => {
                // The tree changed under the same stamps: build afresh.
                slot.discard();
                let _ = std::fs::remove_file(&hit.entry);
                None
            }
        }
    }

    /// The script key's slot of this translation (`None` without a tree).
    fn script_slot(&self) -> Option<modcache::ScriptSlot> {
        let tree = self.tree.as_ref()?;
        let files = KernelFiles::from_tree(tree);
        let mut fact_files = vec![
            ("image", files.image.clone()),
            ("System.map", files.system_map.clone()),
            ("debug vmlinux", files.debug_vmlinux.clone()),
        ];
        fact_files.extend(
            files
                .source_dirs
                .iter()
                .map(|d| ("headers", Some(d.clone()))),
        );
        let options = script_key_options(&self.options);
        Some(modcache::ScriptSlot::new(
            &self.cache,
            &modcache::ScriptInputs {
                options: &options,
                script_name: &self.script.name,
                script_text: &self.script.text,
                tree,
                fact_files: &fact_files,
                include_dirs: &self.options.includes,
            },
        ))
    }

    /// After a build cached as `slot`: the script key's entry for it,
    /// when pass 2 found the translation read no user-space program.
    fn remember_script(&mut self, slot: &modcache::Slot, toolchain: &toolchain::Toolchain) {
        if self.script_cacheable != Some(true) {
            return;
        }
        let Some(script_slot) = self.script_slot() else {
            return;
        };
        if let Err(e) = script_slot.remember(slot, toolchain, &self.pass_warnings) {
            self.build_notes.push(format!("module cache: {e}"));
        }
    }

    /// Pass 4's first half: what kbuild is given for this module (the
    /// runtime, the feature header, the C, the flags), for [`kbuild::build`]
    /// or a batch of many modules (`kernel::kbuild_batch`, stap-matrix).
    pub fn build_job(&mut self, c_source: &str) -> Result<BuildJob, Failure> {
        let module = self.module_name();
        let fail = |e: &dyn std::fmt::Display| Failure::pass(4, "compilation", format!("{e}\n"));
        // A tree whose kbuild host tools are another architecture's
        // programs builds with the ones rebuilt for this host.
        let progress = self.progress.clone();
        let tree =
            crate::kernel::host_tools::for_host(self.require_tree()?, &self.cache, &mut |l| {
                progress(l)
            })
            .map_err(|e| fail(&e))?;
        let toolchain =
            toolchain::select(&tree, &self.cache, &self.catalog).map_err(|e| fail(&e))?;
        let started = Instant::now();
        let features = features::detect(&tree, &toolchain, &self.cache).map_err(|e| fail(&e))?;
        self.build_notes
            .push(format!("toolchain: {}", toolchain.describe()));
        self.build_notes.push(format!(
            "feature probes: {} of {} present, {} in {}ms ({})",
            features.results.values().filter(|v| **v).count(),
            features.results.len(),
            if features.cached { "cached" } else { "probed" },
            started.elapsed().as_millis(),
            features.dir.display()
        ));
        let mut runtime_files = runtime::files();
        runtime_files.push((
            PathBuf::from("runtime/stp_features.h"),
            features.header.clone(),
        ));
        // Warnings are errors. The runtime's declarations come whole into
        // every script, so helpers a script does not call are expected:
        // unused static functions are the exception.
        let mut cflags = vec![
            "-I$(src)/runtime".to_string(),
            "-Werror".to_string(),
            "-Wno-unused-function".to_string(),
        ];
        cflags.extend(self.options.defines.iter().map(|d| format!("-D{d}")));
        if let Some(mb) = self.options.buffer_mb {
            cflags.push(format!("-DSTP_TRANSPORT_BUFSIZE={}", u64::from(mb) << 20));
        }
        // The runtime is compiled once per tree and configuration
        // (`runtime_object`); the script's build compiles only its C.
        let split = runtime_object::split_runtime(&runtime_files).map_err(|e| fail(&e))?;
        let mut object_cflags = cflags.clone();
        object_cflags.extend(runtime_object::script_needs(c_source));
        // The script's own C, with its embedded `%{ %}` code, builds as
        // SystemTap builds it: a variable left unused there (the published
        // plimit.stp's `cur_buf`) is no error. The runtime keeps them.
        cflags.push(SCRIPT_C_LENIENCY.to_string());
        let started = Instant::now();
        let site = runtime_object::BuildSite {
            tree: &tree,
            toolchain: &toolchain,
            features_dir: &features.dir,
            make_vars: &self.options.make_vars,
            verbose: self.options.verbose >= 3,
        };
        let object = runtime_object::prepare(&runtime_object::ObjectRequest {
            site,
            files: &split.object_files,
            cflags: &object_cflags,
        })
        .map_err(|e| fail(&e))?;
        self.build_notes.push(format!(
            "runtime object: {} in {}ms ({})",
            if object.cached { "cached" } else { "compiled" },
            started.elapsed().as_millis(),
            object.path.display()
        ));
        let mut in_use = vec![object.in_use];
        // The declarations precompiled for this configuration: the
        // script's compile then reads no kernel header itself.
        let needs = runtime_object::pch::need_lines(c_source);
        let started = Instant::now();
        let pch = runtime_object::pch::prepare(&runtime_object::pch::PchRequest {
            site,
            decl_files: &split.decl_files,
            cflags: &cflags,
            needs: &needs,
        });
        self.build_notes.push(match &pch {
            Ok(pch) => format!(
                "precompiled header: ready in {}ms ({})",
                started.elapsed().as_millis(),
                pch.header.display()
            ),
            Err(why) => {
                format!("precompiled header: none, the script's C reads the headers: {why}")
            }
        });
        let eviction_errors = [
            object.eviction_error,
            pch.as_ref().ok().and_then(|p| p.eviction_error.clone()),
        ];
        for e in eviction_errors.into_iter().flatten() {
            self.build_notes
                .push(format!("runtime cache size limit: {e}"));
        }
        let pch = pch.ok().map(|p| {
            in_use.push(p.in_use);
            p.header
        });
        let mut files = split.decl_files;
        files.push((
            PathBuf::from(format!("{module}_src.c")),
            c_source.to_string(),
        ));
        Ok(BuildJob {
            tree,
            toolchain,
            module: BatchModule {
                module,
                files,
                objects: vec![object.path],
                cflags,
                pch,
            },
            in_use,
            make_vars: self.options.make_vars.clone(),
            try_run_cache: Some(kbuild_tryrun::cache_path(
                &features.dir,
                &self.options.make_vars,
            )),
            keep: self.options.keep,
            verbose: self.options.verbose >= 3,
        })
    }

    /// Pass 4's second half: the built module must load on the tree and
    /// modpost must have been quiet.
    pub fn check_built(&mut self, built: BuiltModule) -> Result<BuiltModule, Failure> {
        let tree = self.require_tree()?;
        if let Err(failures) = modcheck::check(&built.ko, tree) {
            let body: String = failures.iter().map(|f| format!("ERROR: {f}\n")).collect();
            return Err(Failure::pass(4, "compilation", body));
        }
        if !built.modpost_warnings.is_empty() {
            let body: String = built
                .modpost_warnings
                .iter()
                .map(|w| format!("ERROR: {w}\n"))
                .collect();
            return Err(Failure::pass(
                4,
                "compilation",
                format!("{body}modpost warnings are errors (the module must build cleanly); this is a stapkit bug: please report it with the script\n"),
            ));
        }
        Ok(built)
    }

    /// The failure pass 4 reports for a kbuild error.
    pub fn build_failure(error: &kbuild::BuildError) -> Failure {
        Failure::pass(4, "compilation", format!("{error}\n"))
    }
}

/// The options as the script key has them: all of them but those that
/// cannot change the module or what passes 1 to 3 print (how verbose,
/// the last pass, pass 5's, signing, which is of the delivered copy, the
/// cache's) and `-r`, whose tree the key stamps itself. Spelled with
/// `Debug`, so an option added later is in the key unless left out here.
fn script_key_options(options: &Options) -> String {
    let o = Options {
        release: None,
        last_pass: None,
        keep: false,
        verbose: 0,
        output: None,
        cache_dir: None,
        sign_module: None,
        set_globals: Vec::new(),
        flight: false,
        rotate: None,
        module_cache: modcache::CacheUse::Off,
        ..options.clone()
    };
    format!("{o:?}")
}

/// Whether `program` names user-space files (probed programs, their
/// libraries, the programs whose stacks it walks), which the script key
/// does not stamp.
fn names_user_files(program: &Program) -> bool {
    use crate::ir::{ProbeKind, ProcessSelector};
    !program.user_modules.is_empty()
        || program.probes.iter().flat_map(|p| &p.points).any(|point| {
            matches!(
                &point.kind,
                ProbeKind::Uprobe { .. }
                    | ProbeKind::UserMarker { .. }
                    | ProbeKind::Perf {
                        process: Some(_),
                        ..
                    }
                    | ProbeKind::Process {
                        which: ProcessSelector::Path(_),
                        ..
                    }
            )
        })
}

/// The warning the script's C (not the runtime's) may give without
/// failing the build, as with SystemTap 5.1, which builds an example whose
/// embedded C leaves a variable unused (`docs/oracle/FINDINGS.md`).
pub const SCRIPT_C_LENIENCY: &str = "-Wno-unused-variable";

fn read_script(options: &Options) -> Result<Script, Failure> {
    let inline = |text: String, args: Vec<String>| Script {
        name: "<input>".to_string(),
        text,
        args,
    };
    match &options.script {
        // -l/-L elaborate a probe on the pattern, as SystemTap does.
        ScriptInput::List { pattern, .. } => {
            Ok(inline(format!("probe {pattern} {{}}\n"), Vec::new()))
        }
        ScriptInput::Text(text) => Ok(inline(text.clone(), options.args.clone())),
        ScriptInput::Dump { .. } => Ok(inline(String::new(), Vec::new())),
        ScriptInput::File(path) => {
            let name = path.display().to_string();
            let text = if name == "-" {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| {
                    Failure::usage(format!("stap: cannot read the script from stdin: {e}"))
                })?;
                crate::text::utf8::decode(bytes).map_err(|e| {
                    Failure::usage(format!("stap: cannot read the script from stdin: {e}"))
                })?
            } else {
                let bytes = std::fs::read(path).map_err(|e| {
                    Failure::usage(format!("stap: cannot read script '{name}': {e}"))
                })?;
                crate::text::utf8::decode(bytes).map_err(|e| {
                    Failure::usage(format!("stap: cannot read script '{name}': {e}"))
                })?
            };
            Ok(Script {
                name,
                text,
                args: options.args.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use clap::Parser;

    pub(super) fn opts(args: &[&str]) -> Options {
        StapOptions::try_parse_from(std::iter::once("stap").chain(args.iter().copied()))
            .unwrap()
            .options()
            .unwrap()
    }

    #[test]
    fn set_globals_pass_systemtaps_safety_pattern() {
        let o = opts(&["-G", "num=5", "-G", "_s=a.b-1", "-e", "x"]);
        assert_eq!(o.set_globals, vec!["num=5", "_s=a.b-1"]);
        for bad in ["num", "num=", "Num=5", "1n=5", "s=a b", "s=\"q\""] {
            let err = StapOptions::try_parse_from(["stap", "-G", bad, "-e", "x"])
                .unwrap()
                .options()
                .unwrap_err();
            assert_eq!(
                err.message,
                format!(
                    "ERROR: Safety pattern mismatch for -G parameter ('{bad}' vs. \
                     '^[a-z_][a-z0-9_]*=[a-z0-9_.-]+$') rc=1\n"
                )
            );
        }
    }

    #[test]
    fn parses_systemtap_flags() {
        let o = opts(&[
            "-v",
            "-v",
            "-p4",
            "-m",
            "hello",
            "-r",
            "debian-6.1-amd64",
            "-DMAXACTION=10",
            "-k",
            "x.stp",
            "arg1",
            "--",
            "-3",
        ]);
        assert_eq!(o.verbose, 2);
        assert_eq!(o.last_pass(), 4);
        assert_eq!(o.module.as_deref(), Some("hello"));
        assert_eq!(o.defines, ["MAXACTION=10"]);
        assert_eq!(o.script, ScriptInput::File("x.stp".into()));
        assert_eq!(o.args, ["arg1", "-3"]);
        assert!(StapOptions::try_parse_from(["stap", "-p6", "-e", "x"]).is_err());
        // The last -p wins, combined with other flags or not.
        assert_eq!(opts(&["-gp1", "-e", "x", "-p4"]).last_pass(), 4);
        assert_eq!(opts(&["-p4", "-p2", "-e", "x"]).last_pass(), 2);
        // Options after the script are options (getopt permutes).
        let o = opts(&["-p1", "x.stp", "a", "-p2"]);
        assert_eq!(o.last_pass(), 2);
        assert_eq!(o.script, ScriptInput::File("x.stp".into()));
        assert_eq!(o.args, ["a"]);
        assert!(StapOptions::try_parse_from(["stap", "x.stp", "-3"]).is_err());
        let listing = opts(&["-L", "syscall.*"]);
        assert!(listing.lists_points());
        let none = StapOptions::try_parse_from(["stap", "-v"])
            .unwrap()
            .options();
        assert!(none
            .unwrap_err()
            .message
            .starts_with("stap: no script given"));
    }

    /// Pass 2's warnings as SystemTap 5.1 prints them
    /// (`tests/oracle/elide_warnings.stp`): each message text once, the
    /// repeats counted in a closing note, all of them with `-v`; a global
    /// nothing uses is neither mentioned nor listed.
    #[test]
    fn repeated_warnings_are_counted_unless_verbose() {
        let script = "global ug\nprobe begin {\n\tx = 1\n\tx = 2\n\tx = 3\n\t1 + 1\n\t2 + 2\n\tprintln(\"kept\")\n}\n";
        let warnings = |verbose: bool| {
            let mut args = vec!["-p2", "-e", script];
            if verbose {
                args.insert(0, "-v");
            }
            let mut p = Pipeline::new(opts(&args)).unwrap();
            let parsed = p.parse().unwrap();
            let program = p.elaborate(&parsed).map_err(|f| f.message).unwrap();
            (
                std::mem::take(&mut p.warnings),
                crate::sema::listing(&program),
            )
        };
        let (quiet, listing) = warnings(false);
        insta::assert_snapshot!("repeated_warnings", quiet);
        assert!(!listing.contains("ug"), "{listing}");
        let (verbose, _) = warnings(true);
        assert_eq!(
            verbose
                .matches("WARNING: Eliding assignment to 'x'")
                .count(),
            3
        );
        assert_eq!(
            verbose
                .matches("WARNING: Eliding side-effect-free expression")
                .count(),
            5
        );
        assert!(!verbose.contains("suppressed"), "{verbose}");
        assert!(!verbose.contains("'ug'"), "{verbose}");
    }

    #[test]
    fn timeout_adds_an_exiting_timer_probe_first() {
        assert_eq!(opts(&["-T", "2", "-e", "x"]).timeout, Some(2));
        assert!(StapOptions::try_parse_from(["stap", "-T", "0", "-e", "x"]).is_err());
        let mut p = Pipeline::new(opts(&["-T", "3", "-e", "probe begin { println(1) }"]))
            .expect("pipeline");
        let ast = p.parse().expect("parses");
        let with = p.with_timeout_probe(&ast, 3);
        assert_eq!(with.items.len(), ast.items.len() + 1);
        let printed = crate::syntax::print(&with);
        let timer = printed.find("probe timer.ms(3000)").expect(&printed);
        let begin = printed.find("probe begin").expect(&printed);
        assert!(timer < begin, "{printed}");
        assert!(printed[timer..begin].contains("exit()"), "{printed}");
    }

    #[test]
    fn guru_mode_cannot_switch_modversions_off() {
        for args in [
            &["-g", "-B", "CONFIG_MODVERSIONS=", "-e", "probe begin {}"][..],
            &["-B", "CONFIG_MODVERSIONS=n", "-e", "probe begin {}"][..],
        ] {
            let err = Pipeline::new(opts(args)).err().expect("refused").message;
            assert!(err.starts_with("stap: -B CONFIG_MODVERSIONS="), "{err}");
            assert!(err.contains("guru mode included"), "{err}");
        }
        assert!(check_make_var("KCFLAGS=-g").is_ok());
    }

    #[test]
    fn module_names_are_stable_hashes_without_m() {
        let a = Script {
            name: "<input>".into(),
            text: "probe begin {}".into(),
            args: vec![],
        };
        assert_eq!(
            format!(
                "stap_{:016x}",
                crate::text::hash::fnv1a_64(a.text.as_bytes())
            )
            .len(),
            21
        );
    }
}
