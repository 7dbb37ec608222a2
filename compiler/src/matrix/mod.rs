//! The scripts x kernels harness behind `stap-matrix`.
//!
//! Builds every script for every kernel (in parallel), boots each kernel
//! once in QEMU with all of its modules, compares each case's rendered
//! outcome with the expected file beside the script (`NAME.expected`, or
//! the body of an insta snapshot `NAME.snap`), and reports a kernel x
//! script table.

pub mod build;
pub mod frontend;
pub mod oracle;
pub mod render;
pub mod script;
pub mod ship;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser as _;

use crate::driver::{self, Pipeline, ScriptInput, StapOptions};
use crate::kernel::fetch::{fetch, FetchOptions};
use crate::kernel::guest_modules;
use crate::kernel::manifest::Manifest;
use crate::kernel::{toolchain, Cache, Catalog, HeaderTree};
use crate::vm::guest::{
    build_initramfs, check_static_binary, GuestCase, GuestTools, KernelModuleLoad,
};
use crate::vm::qemu::{boot, BootConfig, BootOutcome, BootReport};
use crate::vm::results::CaseResult;
use crate::vm::uefi::Uefi;
use crate::vm::Arch;
pub use render::{render, Outcome};
pub use script::{GuestFirmware, TestScript};

/// How to run the matrix.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kernel manifest names.
    pub kernels: Vec<String>,
    /// The scripts.
    pub scripts: Vec<PathBuf>,
    /// Print outcomes instead of comparing them.
    pub print: bool,
    /// Parallel builds.
    pub jobs: usize,
    /// Run only shard `i` of `n` (1-based) of the (kernel, script) pairs.
    pub shard: Option<(usize, usize)>,
    /// The static staprun for x86_64 guests (`stapkit-workload` beside it).
    pub staprun: PathBuf,
    /// The static staprun for arm64 guests (`stapkit-workload` beside it);
    /// `None`: where `cargo xtask staprun --target aarch64` puts it beside
    /// the x86_64 one (see [`guest_staprun`]).
    pub staprun_arm64: Option<PathBuf>,
    /// The static busybox for guests of the host's architecture; other
    /// architectures' guests use the one `stap-prep fetch` unpacked with
    /// their kernel (the manifest's `busybox` package).
    pub busybox: PathBuf,
    /// Use KVM.
    pub kvm: bool,
    /// The kernel cache.
    pub cache: Cache,
    /// Where build directories, initrds and console logs go (kept).
    pub work_dir: PathBuf,
    /// Build the modules, boot nothing (`--build-only`): each cell that
    /// built is [`Outcome::NotRun`] saying so.
    pub build_only: bool,
}

/// The verdict for one (kernel, script) cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Output matched the expected file.
    Pass,
    /// Printed, not compared (`--print`).
    Printed,
    /// No expected file exists.
    NoExpected,
    /// Output differed from the expected file; the diff.
    Mismatch(String),
    /// The script does not apply to this kernel (`# requires:`): nothing
    /// to compare, and no failure.
    NotApplicable,
}

/// One (kernel, script) result.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Kernel manifest name.
    pub kernel: String,
    /// Script case name.
    pub script: String,
    /// What happened.
    pub outcome: Outcome,
    /// Against the expected file.
    pub verdict: Verdict,
    /// What it was compared with (`None`: not compared).
    pub reference: Option<oracle::Reference>,
}

impl Cell {
    /// Whether this cell fails the run.
    pub fn failed(&self) -> bool {
        match (&self.verdict, &self.outcome) {
            (_, Outcome::NotApplicable(_)) => false,
            (_, Outcome::NotRun(_)) => true,
            (Verdict::Mismatch(_) | Verdict::NoExpected, _) => true,
            (
                Verdict::Printed,
                Outcome::Ran {
                    kernel_problems,
                    still_loaded,
                    ..
                },
            ) => !kernel_problems.is_empty() || *still_loaded,
            _ => false,
        }
    }

    fn statuses(&self) -> [&'static str; 3] {
        let output = match &self.verdict {
            Verdict::Pass => "ok",
            Verdict::Printed => "printed",
            Verdict::NoExpected => "NEW",
            Verdict::Mismatch(_) => "DIFF",
            Verdict::NotApplicable => "n/a",
        };
        match &self.outcome {
            Outcome::NotApplicable(_) => ["n/a", "-", "n/a"],
            Outcome::BuildFailed(_) => ["FAIL", "-", output],
            Outcome::NotRun(_) => ["ok", "NOTRUN", "-"],
            Outcome::Ran {
                stderr,
                kernel_problems,
                ..
            } => {
                let load = if String::from_utf8_lossy(stderr).contains("Couldn't insert module") {
                    "FAIL"
                } else {
                    "ok"
                };
                let output = if kernel_problems.is_empty() {
                    output
                } else {
                    "KERNEL"
                };
                ["ok", load, output]
            }
        }
    }
}

/// The matrix's results.
#[derive(Debug, Default)]
pub struct Report {
    /// Every cell, by kernel then script.
    pub cells: Vec<Cell>,
    /// Boot notes (crashes, timeouts) per kernel.
    pub boots: BTreeMap<String, String>,
}

impl Report {
    /// Whether any cell failed.
    pub fn failed(&self) -> bool {
        self.cells.iter().any(Cell::failed)
    }

    /// The kernel x script table.
    pub fn table(&self) -> String {
        let kernels: Vec<&str> = dedup(self.cells.iter().map(|c| c.kernel.as_str()));
        let scripts: Vec<&str> = dedup(self.cells.iter().map(|c| c.script.as_str()));
        let name_width = scripts.iter().map(|s| s.len()).max().unwrap_or(6).max(6);
        let col = |k: &str| k.len().max(22);
        let mut out = format!("{:name_width$}", "script");
        for k in &kernels {
            out.push_str(&format!("  {:w$}", k, w = col(k)));
        }
        out.push('\n');
        out.push_str(&" ".repeat(name_width));
        for k in &kernels {
            out.push_str(&format!("  {:w$}", "build  load    output", w = col(k)));
        }
        out.push('\n');
        for s in &scripts {
            out.push_str(&format!("{s:name_width$}"));
            for k in &kernels {
                let cell = self.cells.iter().find(|c| c.kernel == *k && c.script == *s);
                let text = match cell {
                    Some(c) => {
                        let [b, l, o] = c.statuses();
                        format!("{b:6} {l:7} {o}")
                    }
                    None => "(not in this shard)".to_string(),
                };
                out.push_str(&format!("  {:w$}", text, w = col(k)));
            }
            out.push('\n');
        }
        out
    }

    /// How the compared cells stood against real SystemTap.
    pub fn tally(&self) -> oracle::Tally {
        oracle::tally(&self.cells)
    }

    /// Details of every failure: diffs, build errors, crash notes.
    pub fn details(&self) -> String {
        let mut out = String::new();
        for (kernel, note) in &self.boots {
            out.push_str(&format!("== {kernel}: {note}\n"));
        }
        for c in &self.cells {
            if let Outcome::NotApplicable(why) = &c.outcome {
                out.push_str(&format!(
                    "== {} on {}: not applicable: {why}\n",
                    c.script, c.kernel
                ));
            }
        }
        for c in self.cells.iter().filter(|c| c.failed()) {
            out.push_str(&format!("== {} on {}\n", c.script, c.kernel));
            match &c.verdict {
                Verdict::Mismatch(diff) => {
                    out.push_str("expected (-) vs actual (+):\n");
                    out.push_str(diff);
                }
                Verdict::NoExpected => {
                    out.push_str("no expected file; actual outcome (run with --print, review, save as NAME.expected):\n");
                    out.push_str(&render(&c.outcome));
                }
                _ => out.push_str(&render(&c.outcome)),
            }
        }
        out
    }
}

fn dedup<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

/// The expected text for a script, if it has an expected file.
pub fn expected_for(script: &Path) -> Option<String> {
    let plain = script.with_extension("expected");
    if let Ok(text) = std::fs::read_to_string(&plain) {
        return Some(text);
    }
    let snap = script.with_extension("snap");
    std::fs::read_to_string(snap)
        .ok()
        .map(|t| render::expected_body(&t).to_string())
}

/// Selects shard `i` of `n` (1-based) from the (kernel, script) pairs.
pub fn shard<T: Clone>(pairs: &[T], shard: Option<(usize, usize)>) -> Vec<T> {
    match shard {
        None => pairs.to_vec(),
        Some((i, n)) => pairs
            .iter()
            .enumerate()
            .filter(|(k, _)| k % n == i - 1)
            .map(|(_, p)| p.clone())
            .collect(),
    }
}

struct Job {
    kernel: String,
    script: TestScript,
}

struct Built {
    kernel: String,
    script: TestScript,
    result: Result<PathBuf, String>,
    /// Why the script does not apply to this kernel (then it was not built).
    not_applicable: Option<String>,
    /// The kernel's own modules the script asked for, in load order.
    modules: Vec<KernelModuleLoad>,
}

/// The kernel's own modules `script` asks for (`# guest-modules:`), with
/// their dependencies, in load order; taken out of the kernel's image
/// package into the cache on first use.
fn kernel_modules(
    script: &TestScript,
    manifest: &Manifest,
    options: &Options,
    tree: &HeaderTree,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<KernelModuleLoad>, String> {
    if script.guest_modules.is_empty() && script.guest_modules_later.is_empty() {
        return Ok(Vec::new());
    }
    let state = tree.fetched.as_ref().ok_or_else(|| {
        format!(
            "{}: guest modules need a fetched kernel (stap-prep fetch {})",
            manifest.name, manifest.name
        )
    })?;
    module_loads(
        &script.guest_modules,
        &script.guest_modules_later,
        manifest,
        &options.cache,
        state,
        progress,
    )
    .map_err(|e| format!("guest modules of {}: {e}", script.name))
}

/// The kernel's own modules `load` (loaded before the case, with their
/// parameters) and `later` (only carried, for the case to modprobe)
/// name, with their dependencies, in load order; taken out of the
/// kernel's package into the cache on first use. stap-matrix and the
/// oracle (xtask) set up their guests with it.
pub fn module_loads(
    load: &[script::ModuleRequest],
    later: &[script::ModuleRequest],
    manifest: &Manifest,
    cache: &Cache,
    state: &crate::kernel::cache::FetchState,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<KernelModuleLoad>, String> {
    let provide = |requests: &[script::ModuleRequest]| {
        let names: Vec<String> = requests.iter().map(|m| m.name.clone()).collect();
        let optional: Vec<String> = requests
            .iter()
            .filter(|m| m.optional)
            .map(|m| m.name.clone())
            .collect();
        guest_modules::provide(manifest, cache, state, &names, &optional, &mut |l| {
            progress(l)
        })
        .map_err(|e| e.to_string())
    };
    let modules = provide(load)?;
    let carried = provide(later)?;
    let mut loads: Vec<KernelModuleLoad> = modules
        .into_iter()
        .map(|m| KernelModuleLoad {
            params: load
                .iter()
                .filter(|r| guest_modules::normalize(&r.name) == m.name)
                .flat_map(|r| r.params.iter().cloned())
                .collect(),
            name: m.name,
            file: m.file,
            depends: m.depends,
            load: true,
        })
        .collect();
    for m in carried {
        if !loads.iter().any(|l| l.name == m.name) {
            loads.push(KernelModuleLoad {
                name: m.name,
                file: m.file,
                params: Vec::new(),
                depends: m.depends,
                load: false,
            });
        }
    }
    Ok(loads)
}

/// Builds one script for one tree with stap's own pipeline. `sysroot`
/// is the guests' file tree as far as builds need it (`--sysroot`, for
/// `process("/bin/stapkit-workload")`), unless the script names its own.
/// `--sign-module` signs with the run's key in `key_dir` (one for every
/// kernel, the one `# guest-firmware: uefi-db` enrolls).
pub fn build_one(
    script: &TestScript,
    tree: &HeaderTree,
    cache: &Cache,
    out_dir: &Path,
    sysroot: Option<&Path>,
    key_dir: &Path,
) -> Result<PathBuf, String> {
    let mut prepared = prepare_one(script, tree, cache, out_dir, (sysroot, key_dir), None)?;
    let built = crate::kernel::kbuild::build(&prepared.job.request());
    prepared.finish(built)
}

/// A script translated for one tree, waiting for kbuild: passes 1-3 done,
/// pass 4's [`driver::BuildJob`] ready for a single or a batch build.
pub struct Prepared {
    pipeline: Pipeline,
    /// What kbuild is given.
    pub job: driver::BuildJob,
    out_dir: PathBuf,
}

impl Prepared {
    /// Checks what kbuild made of the job (as `stap -p4` does), delivers
    /// `OUT_DIR/NAME.ko` and signs it if asked.
    pub fn finish(
        &mut self,
        built: Result<crate::kernel::kbuild::BuiltModule, crate::kernel::kbuild::BuildError>,
    ) -> Result<PathBuf, String> {
        let pipeline = &mut self.pipeline;
        let failed = |p: &mut Pipeline, f: crate::driver::Failure| {
            format!("{}{}", std::mem::take(&mut p.warnings), f.message)
        };
        let built = built.map_err(|e| failed(pipeline, Pipeline::build_failure(&e)))?;
        let built = pipeline
            .check_built(built)
            .map_err(|f| failed(pipeline, f))?;
        std::fs::create_dir_all(&self.out_dir).map_err(|e| e.to_string())?;
        let ko = crate::driver::deliver(&built, &self.job.module.module, &self.out_dir)
            .map_err(|e| e.to_string())?;
        crate::ship::sign_delivered(pipeline, &ko).map_err(|f| f.message)?;
        Ok(ko)
    }
}

/// Passes 1-3 of [`build_one`] and pass 4's job, not yet built; `kernel`:
/// the tree's facts as other scripts' builds have read them (see
/// [`Pipeline::share_kernel_info`]), else read anew.
pub fn prepare_one(
    script: &TestScript,
    tree: &HeaderTree,
    cache: &Cache,
    out_dir: &Path,
    (sysroot, key_dir): (Option<&Path>, &Path),
    kernel: Option<std::sync::Arc<crate::debuginfo::KernelInfo>>,
) -> Result<Prepared, String> {
    let module = script.module_name();
    let (opts_part, args_part) = match script.stap_args.iter().position(|a| a == "--") {
        Some(i) => (&script.stap_args[..i], &script.stap_args[i + 1..]),
        None => (&script.stap_args[..], &[][..]),
    };
    // The script's own `# matrix:` flags are stap's: read them as stap
    // would (`-e ''` stands in for the script, set below), then set what
    // the matrix decides on the options themselves.
    let opts_part = ship::with_test_key(opts_part, key_dir)?;
    let own = StapOptions::try_parse_from(
        std::iter::once("stap")
            .chain(opts_part.iter().map(String::as_str))
            .chain(["-e", ""]),
    )
    .map_err(|e| e.to_string())?
    .options()
    .map_err(|f| f.message)?;
    let mut options = driver::Options {
        script: ScriptInput::File(script.path.clone()),
        args: args_part
            .iter()
            .map(|a| substitute_symbols(a, tree))
            .collect::<Result<_, _>>()?,
        release: Some(tree.dir.display().to_string()),
        module: Some(module),
        last_pass: Some(4),
        cache_dir: Some(cache.dir().to_path_buf()),
        sysroot: own
            .sysroot
            .clone()
            .or_else(|| sysroot.map(Path::to_path_buf)),
        ..own
    };
    // A TCG guest's vCPUs take turns on one host thread that the host
    // itself may not run for a while when busy: a vCPU holding a script's
    // global lock can stall for many milliseconds, which hardware never
    // does, and the default MAXTRYLOCK (10 ms of retries) then skips
    // probes at random (one second was still seen to miss once on a
    // loaded 2-core host). Guests get ten seconds unless the script sets
    // its own.
    if !options.defines.iter().any(|d| d.contains("MAXTRYLOCK")) {
        options.defines.insert(0, "MAXTRYLOCK=1000000".to_string());
    }
    let mut pipeline = Pipeline::new(options).map_err(|f| f.message)?;
    if let Some(kernel) = kernel {
        pipeline.share_kernel_info(kernel);
    }
    // Report the script by its file name, as `stap NAME.stp` run beside it
    // would: outcomes then do not depend on where the checkout lives.
    if let Some(file_name) = script.path.file_name() {
        pipeline.script.name = file_name.to_string_lossy().into_owned();
    }
    // A failure's text is what `stap` prints on stderr: the warnings
    // found so far, then the errors.
    let failed = |p: &mut Pipeline, f: crate::driver::Failure| {
        format!("{}{}", std::mem::take(&mut p.warnings), f.message)
    };
    let ast = pipeline.parse().map_err(|f| failed(&mut pipeline, f))?;
    let program = pipeline
        .elaborate(&ast)
        .map_err(|f| failed(&mut pipeline, f))?;
    let c = pipeline
        .translate(&program)
        .map_err(|f| failed(&mut pipeline, f))?;
    let job = pipeline
        .build_job(&c)
        .map_err(|f| failed(&mut pipeline, f))?;
    Ok(Prepared {
        pipeline,
        job,
        out_dir: out_dir.to_path_buf(),
    })
}

/// A script argument with each `{symbol:NAME}` replaced by NAME's address
/// in the kernel's System.map (hexadecimal), for probes on addresses
/// (`kprobe.statement($1).absolute`): test guests boot with `nokaslr`, so
/// the map's addresses are the running kernel's. Only the -dbg package
/// carries a real System.map: such scripts say `# requires: debuginfo`.
pub fn substitute_symbols(arg: &str, tree: &HeaderTree) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(start) = rest.find("{symbol:") {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("'{arg}': '{{symbol:' without its closing '}}'"));
        };
        let name = &rest[start + "{symbol:".len()..start + len];
        let map = crate::debuginfo::KernelFiles::from_tree(tree)
            .system_map
            .ok_or_else(|| {
                format!("'{arg}': this kernel has no System.map (fetch it with --debug)")
            })?;
        let map = crate::debuginfo::symbols::SystemMap::load(&map)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "'{arg}': this kernel's System.map is a placeholder (fetch it with --debug)"
                )
            })?;
        let symbol = map
            .get(name)
            .ok_or_else(|| format!("'{arg}': '{name}' is not in this kernel's System.map"))?;
        out.push_str(&rest[..start]);
        out.push_str(&format!("{:#x}", symbol.addr));
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Runs the matrix, reporting progress lines to `progress`.
pub fn run(options: &Options, progress: &(dyn Fn(&str) + Sync)) -> Result<Report, String> {
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    let mut trees = BTreeMap::new();
    let mut manifests = BTreeMap::new();
    for name in &options.kernels {
        let manifest = catalog.get(name).map_err(|e| e.to_string())?;
        manifests.insert(name.clone(), manifest.clone());
        let fetched = fetch(
            manifest,
            &options.cache,
            &FetchOptions::default(),
            &mut |l| progress(l),
        )
        .map_err(|e| e.to_string())?;
        let tree = HeaderTree::from_fetched(fetched.state().clone()).map_err(|e| e.to_string())?;
        toolchain::ensure(manifest, &tree, &options.cache, &mut |l| progress(l))
            .map_err(|e| e.to_string())?;
        trees.insert(name.clone(), tree);
    }
    let scripts: Vec<TestScript> = options
        .scripts
        .iter()
        .map(|p| TestScript::load(p))
        .collect::<Result<_, _>>()?;
    let pairs: Vec<(String, usize)> = options
        .kernels
        .iter()
        .flat_map(|k| (0..scripts.len()).map(move |i| (k.clone(), i)))
        .collect();
    let jobs: Vec<Job> = shard(&pairs, options.shard)
        .into_iter()
        .map(|(kernel, i)| Job {
            kernel,
            script: scripts[i].clone(),
        })
        .collect();

    // Each architecture's builds read that architecture's workload.
    let mut sysroots: Vec<(Arch, Option<PathBuf>)> = Vec::new();
    for tree in trees.values() {
        if !sysroots.iter().any(|(a, _)| *a == tree.arch) {
            sysroots.push((tree.arch, guest_sysroot(options, tree.arch)?));
        }
    }

    // Passes 1-3 in parallel, then one kbuild run per kernel.
    let mut built = build::build_all(
        options,
        &jobs,
        &build::Targets {
            trees: &trees,
            manifests: &manifests,
            sysroots: &sysroots,
        },
        progress,
    );
    built.sort_by_key(|b| {
        (
            options.kernels.iter().position(|k| *k == b.kernel),
            scripts.iter().position(|s| s.name == b.script.name),
        )
    });

    let mut report = Report::default();
    for kernel in &options.kernels {
        let ours: Vec<&Built> = built.iter().filter(|b| &b.kernel == kernel).collect();
        if ours.is_empty() {
            continue;
        }
        if options.build_only {
            for b in ours {
                let outcome = match (&b.not_applicable, &b.result) {
                    (Some(why), _) => Outcome::NotApplicable(why.clone()),
                    (None, Err(e)) => Outcome::BuildFailed(e.clone()),
                    (None, Ok(_)) => Outcome::NotRun(BUILT_ONLY.to_string()),
                };
                report.cells.push(Cell {
                    kernel: kernel.clone(),
                    script: b.script.name.clone(),
                    outcome,
                    verdict: Verdict::Printed,
                    reference: None,
                });
            }
            continue;
        }
        let outcomes = run_kernel(
            options,
            kernel,
            &trees[kernel],
            &ours,
            progress,
            &mut report,
        )?;
        for (b, outcome) in ours.iter().zip(outcomes) {
            let (verdict, reference) = if matches!(outcome, Outcome::NotApplicable(_)) {
                (Verdict::NotApplicable, None)
            } else if options.print {
                (Verdict::Printed, None)
            } else {
                let (verdict, reference) = oracle::judge(&b.script.path, kernel, &outcome);
                (verdict, Some(reference))
            };
            report.cells.push(Cell {
                kernel: kernel.clone(),
                script: b.script.name.clone(),
                outcome,
                verdict,
                reference,
            });
        }
    }
    Ok(report)
}

/// What a cell that built says under `--build-only`.
pub const BUILT_ONLY: &str = "built, not run (--build-only)";

/// The Rust target `cargo xtask staprun` builds a guest's binaries for.
pub fn rust_target(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64-unknown-linux-gnu",
        Arch::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

/// The static staprun for `arch` guests: the one given for it, else the
/// x86_64 one's counterpart in cargo's layout
/// (`target/aarch64-unknown-linux-gnu/release/staprun` beside
/// `target/x86_64-unknown-linux-gnu/release/staprun`), else beside it.
pub fn guest_staprun(options: &Options, arch: Arch) -> PathBuf {
    if arch == Arch::Arm64 {
        if let Some(p) = &options.staprun_arm64 {
            return p.clone();
        }
    }
    let x86 = rust_target(Arch::X86_64);
    let mut out = PathBuf::new();
    for part in options.staprun.components() {
        if part.as_os_str() == x86 {
            out.push(rust_target(arch));
        } else {
            out.push(part);
        }
    }
    out
}

/// The part of the guests' file tree that builds read: `bin/stapkit-workload`
/// (the file every guest gets as `/bin/stapkit-workload`), linked under
/// the work directory. None when the workload is not built (a script
/// probing it then fails to build, saying which file is missing).
fn guest_sysroot(options: &Options, arch: Arch) -> Result<Option<PathBuf>, String> {
    let workload = guest_staprun(options, arch).with_file_name("stapkit-workload");
    let Ok(workload) = workload.canonicalize() else {
        return Ok(None);
    };
    let root = options
        .work_dir
        .join(format!("sysroot-{}", rust_target(arch)));
    let bin = root.join("bin");
    let link = bin.join("stapkit-workload");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    match std::fs::remove_file(&link) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{}: {e}", link.display()))
        }
        _ => {}
    }
    std::os::unix::fs::symlink(&workload, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    Ok(Some(root))
}

/// Boots one kernel with every module that built for it.
fn run_kernel(
    options: &Options,
    kernel: &str,
    tree: &HeaderTree,
    built: &[&Built],
    progress: &(dyn Fn(&str) + Sync),
    report: &mut Report,
) -> Result<Vec<Outcome>, String> {
    let arch = tree.arch;
    let cases: Vec<GuestCase> = built
        .iter()
        .filter_map(|b| {
            let ko = b.result.as_ref().ok()?;
            Some(GuestCase {
                id: b.script.name.clone(),
                module: ko.clone(),
                module_name: b.script.module_name(),
                timeout_secs: b.script.timeout_secs,
                staprun_args: b.script.staprun_args.clone(),
                kernel_modules: b.modules.clone(),
                run: b.script.guest_run.clone(),
            })
        })
        .collect();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut results: BTreeMap<String, CaseResult> = BTreeMap::new();
    if !cases.is_empty() {
        let staprun = guest_staprun(options, arch);
        let build_it = match arch {
            Arch::X86_64 => "cargo xtask staprun",
            Arch::Arm64 => "cargo xtask staprun --target aarch64",
        };
        check_static_binary(
            &staprun,
            arch,
            "staprun",
            &format!("build it with: {build_it}"),
        )
        .map_err(|e| e.to_string())?;
        let busybox = if Some(tree.arch) == Arch::host() {
            options.busybox.clone()
        } else {
            tree.fetched
                .as_ref()
                .and_then(|f| f.busybox_path())
                .ok_or_else(|| {
                    format!(
                        "{kernel}: no {} busybox for the guest; fetch it with: stap-prep fetch {kernel}",
                        tree.arch
                    )
                })?
        };
        check_static_binary(
            &busybox,
            arch,
            "busybox",
            &format!(
                "install it with: apt-get install busybox-static, or stap-prep fetch {kernel}"
            ),
        )
        .map_err(|e| e.to_string())?;
        // Built beside staprun by the same command.
        let workload = staprun.with_file_name("stapkit-workload");
        check_static_binary(
            &workload,
            arch,
            "stapkit-workload",
            &format!("build it (beside staprun) with: {build_it}"),
        )
        .map_err(|e| e.to_string())?;
        let tools = GuestTools {
            busybox,
            staprun,
            workload,
        };
        let image = tree
            .fetched
            .as_ref()
            .map(|f| f.image_path())
            .ok_or_else(|| {
                format!("{kernel}: no kernel image (fetch it with stap-prep fetch {kernel})")
            })?;
        // Cases asking for kernel arguments (`# guest-boot:`) or firmware
        // (`# guest-firmware:`) get a guest of their own per distinct
        // set; the others share the first.
        type Boot = (Vec<String>, Option<GuestFirmware>);
        let mut groups: Vec<(Boot, Vec<GuestCase>)> = Vec::new();
        for case in cases {
            let boot: Boot = built
                .iter()
                .find(|b| b.script.name == case.id)
                .map(|b| (b.script.boot_args.clone(), b.script.firmware))
                .unwrap_or_default();
            match groups.iter_mut().find(|(a, _)| *a == boot) {
                Some((_, group)) => group.push(case),
                None => groups.push((boot, vec![case])),
            }
        }
        for ((kernel_args, firmware), cases) in groups {
            let mut boot_name = kernel.to_string();
            if !kernel_args.is_empty() {
                boot_name.push('-');
                boot_name.push_str(&kernel_args.join("-").replace(['=', ','], "_"));
            }
            if firmware == Some(GuestFirmware::UefiDb) {
                boot_name.push_str("-uefi-db");
            }
            let firmware = match firmware {
                None => None,
                Some(GuestFirmware::UefiDb) => Some(ship::uefi_with_test_key(
                    arch,
                    &options.cache,
                    &options.work_dir,
                    &options.work_dir.join(&boot_name).join("vars.fd"),
                )?),
            };
            boot_group(
                options,
                (kernel, &boot_name),
                (arch, &image, &tools),
                (kernel_args, firmware),
                cases,
                progress,
                report,
                &mut results,
            )?;
        }
    }
    for b in built {
        if let Some(why) = &b.not_applicable {
            outcomes.push(Outcome::NotApplicable(why.clone()));
            continue;
        }
        let outcome = match &b.result {
            Err(e) => Outcome::BuildFailed(e.clone()),
            Ok(_) => match results.get(&b.script.name) {
                Some(r) if !r.intact() => Outcome::NotRun(format!(
                    "its results arrived damaged from the guest (serial transfer) {BOOT_ATTEMPTS} times \
                     (damaged: {}; missing: {})",
                    r.damaged.join(", "),
                    r.missing().join(", ")
                )),
                Some(r) => Outcome::Ran {
                    exit_code: r.exit_code,
                    stdout: script::normalise(&b.script.normalise, &r.stdout),
                    stderr: script::normalise(&b.script.normalise, &r.stderr),
                    still_loaded: r.still_loaded,
                    kernel_problems: r
                        .kernel_problems()
                        .into_iter()
                        .map(strip_timestamp)
                        .collect(),
                },
                None => Outcome::NotRun(format!(
                    "the guest ended ({}) before reporting this case",
                    report.boots.get(kernel).map_or("normally", |_| "abnormally")
                )),
            },
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Boots one guest (and reruns damaged cases) for `cases` of `kernel`
/// with `kernel_args` added to its command line.
#[allow(clippy::too_many_arguments)]
fn boot_group(
    options: &Options,
    (kernel, boot_name): (&str, &str),
    (arch, image, tools): (Arch, &Path, &GuestTools),
    (kernel_args, firmware): (Vec<String>, Option<Uefi>),
    cases: Vec<GuestCase>,
    progress: &(dyn Fn(&str) + Sync),
    report: &mut Report,
    results: &mut BTreeMap<String, CaseResult>,
) -> Result<(), String> {
    let mut pending: Vec<GuestCase> = cases;
    for attempt in 1..=BOOT_ATTEMPTS {
        let config = BootConfig {
            arch,
            kernel: image.to_path_buf(),
            memory_mib: 1024,
            cpus: 2,
            kvm: options.kvm,
            timeout: Duration::from_secs(
                120 + pending
                    .iter()
                    .map(|c| c.timeout_secs as u64 + 25)
                    .sum::<u64>(),
            ),
            kernel_args: kernel_args.clone(),
            firmware: firmware.clone(),
            work_dir: match attempt {
                1 => options.work_dir.join(boot_name),
                n => options.work_dir.join(format!("{boot_name}-attempt{n}")),
            },
        };
        let r = boot_cases(&config, tools, &pending, kernel, progress)?;
        if r.outcome != BootOutcome::Completed {
            report
                .boots
                .insert(kernel.to_string(), boot_failure(&r, &config));
        }
        for (id, result) in r.results.cases {
            if pending.iter().any(|c| c.id == id) {
                results.insert(id, result);
            }
        }
        pending.retain(|c| !results.get(&c.id).is_some_and(|r| r.intact()));
        // A guest that crashed is a finding, not a transfer problem.
        if pending.is_empty() || r.outcome != BootOutcome::Completed || attempt == BOOT_ATTEMPTS {
            break;
        }
        let ids: Vec<&str> = pending.iter().map(|c| c.id.as_str()).collect();
        progress(&format!(
            "{kernel}: results of {} arrived damaged; running them again",
            ids.join(", ")
        ));
    }
    Ok(())
}

/// Boots allowed per kernel: the first, and one rerun of the cases whose
/// results were damaged in transfer.
const BOOT_ATTEMPTS: u32 = 2;

/// Boots one guest that runs `cases` and reports what it streamed back.
fn boot_cases(
    config: &BootConfig,
    tools: &GuestTools,
    cases: &[GuestCase],
    kernel: &str,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<BootReport, String> {
    let initrd = build_initramfs(config.arch, tools, cases).map_err(|e| e.to_string())?;
    progress(&format!("booting {kernel} with {} module(s)", cases.len()));
    let r = boot(config, &initrd).map_err(|e| e.to_string())?;
    progress(&format!(
        "{kernel}: guest finished in {:.1?} ({:?})",
        r.elapsed, r.outcome
    ));
    Ok(r)
}

/// What a boot that did not complete left on the console.
fn boot_failure(r: &BootReport, config: &BootConfig) -> String {
    let tail: Vec<&str> = r.console.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    format!(
        "guest {:?}; console log in {}:\n{}",
        r.outcome,
        config.work_dir.join("console.log").display(),
        tail.join("\n")
    )
}

/// Drops the `[   12.345678] ` prefix so kernel lines compare across runs.
fn strip_timestamp(line: &str) -> String {
    match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest.to_string(),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm64_guests_find_their_staprun_in_cargos_layout() {
        let mut options = Options {
            kernels: vec![],
            scripts: vec![],
            print: true,
            jobs: 1,
            shard: None,
            staprun: PathBuf::from("/w/target/x86_64-unknown-linux-gnu/release/staprun"),
            staprun_arm64: None,
            busybox: PathBuf::from("/bin/busybox"),
            kvm: false,
            cache: Cache::locate(Some(Path::new("/nonexistent"))),
            work_dir: PathBuf::from("/tmp"),
            build_only: false,
        };
        assert_eq!(guest_staprun(&options, Arch::X86_64), options.staprun);
        assert_eq!(
            guest_staprun(&options, Arch::Arm64),
            Path::new("/w/target/aarch64-unknown-linux-gnu/release/staprun")
        );
        options.staprun_arm64 = Some(PathBuf::from("/elsewhere/staprun"));
        assert_eq!(
            guest_staprun(&options, Arch::Arm64),
            Path::new("/elsewhere/staprun")
        );
    }

    #[test]
    fn shards_partition_the_pairs() {
        let pairs: Vec<u32> = (0..7).collect();
        let a = shard(&pairs, Some((1, 3)));
        let b = shard(&pairs, Some((2, 3)));
        let c = shard(&pairs, Some((3, 3)));
        assert_eq!(a, [0, 3, 6]);
        assert_eq!(b, [1, 4]);
        assert_eq!(c, [2, 5]);
        assert_eq!(shard(&pairs, None).len(), 7);
    }

    #[test]
    fn table_shows_build_load_output_per_kernel() {
        let ran = |stdout: &[u8]| Outcome::Ran {
            exit_code: Some(0),
            stdout: stdout.to_vec(),
            stderr: vec![],
            still_loaded: false,
            kernel_problems: vec![],
        };
        let report = Report {
            cells: vec![
                Cell {
                    kernel: "k1".into(),
                    script: "hello".into(),
                    outcome: ran(b"hello\n"),
                    verdict: Verdict::Pass,
                    reference: None,
                },
                Cell {
                    kernel: "k1".into(),
                    script: "broken".into(),
                    outcome: Outcome::BuildFailed("semantic error".into()),
                    verdict: Verdict::Mismatch("- x\n".into()),
                    reference: None,
                },
            ],
            boots: BTreeMap::new(),
        };
        assert!(report.failed());
        let table = report.table();
        assert!(table.contains("hello   ok     ok      ok"), "{table}");
        assert!(table.contains("broken  FAIL   -       DIFF"), "{table}");
    }

    #[test]
    fn not_applicable_cells_show_why_and_do_not_fail() {
        let why = "needs the kernel's debug info";
        let report = Report {
            cells: vec![Cell {
                kernel: "k2".into(),
                script: "inline".into(),
                outcome: Outcome::NotApplicable(why.into()),
                verdict: Verdict::NotApplicable,
                reference: None,
            }],
            boots: BTreeMap::new(),
        };
        assert!(!report.failed());
        let table = report.table();
        assert!(table.contains("inline  n/a    -       n/a"), "{table}");
        assert_eq!(
            report.details(),
            format!("== inline on k2: not applicable: {why}\n")
        );
        assert_eq!(
            render(&report.cells[0].outcome),
            format!("not applicable: {why}\n")
        );
    }

    #[test]
    fn timestamps_are_dropped_from_kernel_lines() {
        assert_eq!(strip_timestamp("[    2.5] BUG: x"), "BUG: x");
        assert_eq!(strip_timestamp("BUG: x"), "BUG: x");
    }
}
