//! Building the matrix's modules: every script through passes 1-3 on
//! `jobs` threads (`prepare_one`) while this thread builds what is
//! translated, many modules of one kernel per kbuild run
//! (`kernel::kbuild_batch`) with make's own jobs, so kbuild's fixed cost
//! (parsing the tree's Makefiles, modpost) is paid a few times per kernel
//! instead of once per script. Each module is built from the same C with
//! the same flags as `stap -p4` builds it alone, and a module that fails
//! fails alone, with the message its single build gives.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::boot::kernel_modules;
use super::{prepare_one, ship, Built, Job, Options, Prepared};
use crate::debuginfo::{KernelFiles, KernelInfo};
use crate::kernel::kbuild_batch::{build_batch, BatchRequest};
use crate::kernel::manifest::Manifest;
use crate::kernel::module_tracepoints;
use crate::kernel::HeaderTree;
use crate::vm::Arch;

/// The kernels the jobs build for.
pub(super) struct Targets<'a> {
    /// Each kernel's tree, by manifest name.
    pub trees: &'a BTreeMap<String, HeaderTree>,
    /// Each kernel's manifest, by name.
    pub manifests: &'a BTreeMap<String, Manifest>,
    /// The guests' file tree per architecture (`--sysroot`).
    pub sysroots: &'a [(Arch, Option<PathBuf>)],
}

/// Where one kernel's build time went: the figures of the summary line
/// `stap-matrix` prints per kernel (`super::run`).
#[derive(Debug, Clone, Default)]
pub(super) struct BuildTimes {
    /// Cases translated (passes 1-3 and the runtime object).
    pub cases: usize,
    /// Their translation times, summed (they run on several threads).
    pub translate: Duration,
    /// Runtime objects compiled (not found in the per-tree cache).
    pub runtime_objects: usize,
    /// The time spent compiling them, within `translate`.
    pub runtime_compile: Duration,
    /// kbuild runs of the modules.
    pub kbuild_runs: usize,
    /// Their time, one after another on the building thread.
    pub kbuild: Duration,
}

impl BuildTimes {
    /// One line: `translated N case(s) in Xs (R runtime object(s) compiled
    /// in Ys), K kbuild run(s) in Zs`.
    pub fn describe(&self) -> String {
        format!(
            "translated {} case(s) in {:.1}s summed over threads ({} runtime object(s) compiled in {:.1}s), {} kbuild run(s) in {:.1}s",
            self.cases,
            self.translate.as_secs_f64(),
            self.runtime_objects,
            self.runtime_compile.as_secs_f64(),
            self.kbuild_runs,
            self.kbuild.as_secs_f64()
        )
    }
}

/// CPU time so far: this process's (every thread) and that of its
/// waited-for children (make, the compilers, QEMU).
pub(super) fn cpu_times() -> (Duration, Duration) {
    let of = |who| {
        // SAFETY: getrusage fills the struct it is given.
        let usage = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut u);
            u
        };
        let tv = |t: libc::timeval| {
            Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000)
        };
        tv(usage.ru_utime) + tv(usage.ru_stime)
    };
    (of(libc::RUSAGE_SELF), of(libc::RUSAGE_CHILDREN))
}

/// The time a pipeline's notes say the runtime object took to compile
/// (`None`: it came from the cache).
fn runtime_compile_time(notes: &[String]) -> Option<Duration> {
    notes.iter().find_map(|n| {
        let ms = n.strip_prefix("runtime object: compiled in ")?;
        let ms: u64 = ms.split("ms").next()?.parse().ok()?;
        Some(Duration::from_millis(ms))
    })
}

/// Builds every job; one result per job, in no particular order, and
/// where each kernel's time went.
pub(super) fn build_all(
    options: &Options,
    jobs: &[Job],
    targets: &Targets<'_>,
    progress: &(dyn Fn(&str) + Sync),
) -> (Vec<Built>, BTreeMap<String, BuildTimes>) {
    let times: Mutex<BTreeMap<String, BuildTimes>> = Mutex::default();
    // One view of each kernel's facts for all of its scripts: read once.
    // Only when the facts cannot change during the run: a pass 2 that
    // learns the tracepoints of the kernel's modules (a cold cache) gives
    // its own pipeline a fresh view, and a shared view made before would
    // miss them for the other scripts.
    let facts: BTreeMap<&str, Arc<KernelInfo>> = targets
        .trees
        .iter()
        .filter_map(|(k, t)| {
            let files = KernelFiles::from_tree(t);
            let settled = match &files.modules {
                None => true,
                Some(source) => matches!(module_tracepoints::cached(source), Ok(Some(_))),
            };
            settled.then(|| (k.as_str(), Arc::new(KernelInfo::new(files))))
        })
        .collect();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let built = Mutex::new(Vec::new());
    let (send, receive) = mpsc::channel::<(Built, Prepared)>();
    std::thread::scope(|s| {
        for _ in 0..options.jobs.max(1) {
            let send = send.clone();
            let (next, built, facts, times) = (&next, &built, &facts, &times);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let started = Instant::now();
                let prepared = prepare_job(options, job, (targets, facts), progress);
                {
                    let mut times = times.lock().unwrap();
                    let t = times.entry(job.kernel.clone()).or_default();
                    t.cases += 1;
                    t.translate += started.elapsed();
                    if let Some(d) = prepared
                        .1
                        .as_ref()
                        .and_then(|p| runtime_compile_time(p.notes()))
                    {
                        t.runtime_objects += 1;
                        t.runtime_compile += d;
                    }
                }
                match prepared {
                    (b, Some(prepared)) => {
                        // The receiver lives until every sender is gone.
                        let _ = send.send((b, prepared));
                    }
                    (b, None) => built.lock().unwrap().push(b),
                }
            });
        }
        drop(send);
        // Meanwhile this thread builds what is translated, in as few runs
        // as keep the cores busy: the first when a few modules wait, the
        // next with all that were translated during it, and so on.
        let mut runs: BTreeMap<String, usize> = BTreeMap::new();
        let mut ready: Vec<(Built, Prepared)> = Vec::new();
        let mut translating = true;
        while translating || !ready.is_empty() {
            while translating && ready.len() < FIRST_RUN.max(options.jobs) {
                match receive.recv() {
                    Ok(w) => ready.push(w),
                    Err(_) => {
                        translating = false;
                        progress(&format!(
                            "translated {} case(s) in {:.1?}",
                            jobs.len(),
                            started.elapsed()
                        ));
                    }
                }
            }
            ready.extend(receive.try_iter());
            let now = std::mem::take(&mut ready);
            let done = build_ready(options, now, &mut runs, &times, progress);
            built.lock().unwrap().extend(done);
        }
    });
    (built.into_inner().unwrap(), times.into_inner().unwrap())
}

/// How many translated modules the first kbuild run waits for.
const FIRST_RUN: usize = 8;

/// Builds `ready` in one kbuild run per kernel (more only when make must
/// run differently, or two cases share a module name).
fn build_ready(
    options: &Options,
    ready: Vec<(Built, Prepared)>,
    runs: &mut BTreeMap<String, usize>,
    times: &Mutex<BTreeMap<String, BuildTimes>>,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<Built> {
    let mut groups: Vec<Vec<(Built, Prepared)>> = Vec::new();
    for w in ready {
        let same = |g: &Vec<(Built, Prepared)>| {
            let (a, b) = (&g[0].1.job, &w.1.job);
            g[0].0.kernel == w.0.kernel
                && a.tree.dir == b.tree.dir
                && a.toolchain == b.toolchain
                && a.make_vars == b.make_vars
                && a.try_run_cache == b.try_run_cache
                && a.verbose == b.verbose
                && !g
                    .iter()
                    .any(|(_, p)| p.job.module.module == b.module.module)
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(w),
            None => groups.push(vec![w]),
        }
    }
    let mut built = Vec::new();
    for group in groups {
        let kernel = group[0].0.kernel.clone();
        let n = runs.entry(kernel.clone()).or_default();
        *n += 1;
        let dir = options.work_dir.join(&kernel).join(format!("kbuild-{n}"));
        let started = Instant::now();
        built.extend(build_group(options, &kernel, dir, group, progress));
        let mut times = times.lock().unwrap();
        let t = times.entry(kernel).or_default();
        t.kbuild_runs += 1;
        t.kbuild += started.elapsed();
    }
    built
}

fn prepare_job(
    options: &Options,
    job: &Job,
    (targets, facts): (&Targets<'_>, &BTreeMap<&str, Arc<KernelInfo>>),
    progress: &(dyn Fn(&str) + Sync),
) -> (Built, Option<Prepared>) {
    let tree = &targets.trees[&job.kernel];
    let done = |result: Result<PathBuf, String>, not_applicable, modules| Built {
        kernel: job.kernel.clone(),
        script: job.script.clone(),
        result,
        not_applicable,
        modules,
    };
    if let Some(why) = job.script.unmet_requirement(tree, &job.kernel) {
        progress(&format!(
            "{} does not apply to {}: {why}",
            job.script.name, job.kernel
        ));
        return (done(Err(why.clone()), Some(why), Vec::new()), None);
    }
    let modules = match kernel_modules(
        &job.script,
        &targets.manifests[&job.kernel],
        options,
        tree,
        progress,
    ) {
        Ok(modules) => modules,
        Err(e) => return (finished(done(Err(e), None, Vec::new()), progress), None),
    };
    if !job.script.bundle.is_empty() {
        let result = ship::bundle_case(&job.script, &options.cache, &options.work_dir, progress);
        return (finished(done(result, None, modules), progress), None);
    }
    let sysroot = targets
        .sysroots
        .iter()
        .find(|(a, _)| *a == tree.arch)
        .and_then(|(_, s)| s.as_deref());
    let out_dir = options.work_dir.join(&job.kernel).join("modules");
    match prepare_one(
        &job.script,
        tree,
        &options.cache,
        &out_dir,
        (sysroot, &options.work_dir),
        facts.get(job.kernel.as_str()).cloned(),
    ) {
        Ok(prepared) => (
            done(Err("not built".to_string()), None, modules),
            Some(prepared),
        ),
        Err(e) => (finished(done(Err(e), None, modules), progress), None),
    }
}

/// Says how a case's build ended.
fn finished(b: Built, progress: &(dyn Fn(&str) + Sync)) -> Built {
    progress(&format!(
        "built {} for {}: {}",
        b.script.name,
        b.kernel,
        if b.result.is_ok() { "ok" } else { "failed" }
    ));
    b
}

/// One kbuild run for modules that share a tree, a toolchain and make's
/// variables.
fn build_group(
    options: &Options,
    kernel: &str,
    dir: PathBuf,
    group: Vec<(Built, Prepared)>,
    progress: &(dyn Fn(&str) + Sync),
) -> Vec<Built> {
    let first = &group[0].1.job;
    let request = BatchRequest {
        tree: &first.tree,
        toolchain: &first.toolchain,
        dir,
        modules: group.iter().map(|(_, p)| p.job.module.clone()).collect(),
        make_vars: first.make_vars.clone(),
        jobs: options.jobs,
        try_run_cache: first.try_run_cache.clone(),
        verbose: first.verbose,
    };
    progress(&format!(
        "building {} module(s) for {kernel} in one kbuild run ({})",
        request.modules.len(),
        request.dir.display()
    ));
    let started = Instant::now();
    let outcome = build_batch(&request);
    progress(&format!(
        "{kernel}: {} module(s) built in {:.1?} with {} make run(s)",
        request.modules.len(),
        started.elapsed(),
        outcome.make_runs
    ));
    group
        .into_iter()
        .zip(outcome.results)
        .map(|((mut b, mut prepared), result)| {
            b.result = prepared.finish(result);
            finished(b, progress)
        })
        .collect()
}
