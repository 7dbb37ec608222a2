//! The scripts x kernels harness behind `stap-matrix`.
//!
//! Builds every script for every kernel (in parallel), boots each kernel
//! once in QEMU with all of its modules, compares each case's rendered
//! outcome with the expected file beside the script (`NAME.expected`, or
//! the body of an insta snapshot `NAME.snap`), and reports a kernel x
//! script table.

mod boot;
mod boot_image;
pub mod build;
pub mod ci;
pub mod frontend;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod oracle;
pub mod phases;
mod prepare;
pub mod programs;
pub mod render;
mod report;
pub mod results;
pub mod script;
pub mod ship;
pub mod userland;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::kernel::fetch::{fetch, FetchOptions};
use crate::kernel::Cache;
use crate::kernel::{source_build, toolchain, Catalog, HeaderTree};
use crate::vm::guest::KernelModuleLoad;
use crate::vm::Arch;
pub use boot::{guest_staprun, module_loads, rust_target};
use boot::{guest_sysroot, run_kernel};
pub use prepare::{build_one, prepare_one, substitute_symbols, Prepared};
pub use render::{render, Outcome};
pub use report::{Cell, Report, Verdict};
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

/// Runs the matrix, reporting progress lines to `progress`.
pub fn run(options: &Options, progress: &(dyn Fn(&str) + Sync)) -> Result<Report, String> {
    let catalog = Catalog::load().map_err(|e| e.to_string())?;
    let mut trees = BTreeMap::new();
    let mut manifests = BTreeMap::new();
    for name in &options.kernels {
        // A kernel built here from source (`kernels/built/`) is booted
        // once built (`cargo xtask debug-kernel`), with its recipe's
        // manifest's toolchain; a fetched one is fetched when missing.
        let built = source_build::plan(name, &catalog).map_err(|e| e.to_string())?;
        let (manifest, state) = match &built {
            Some(planned) => {
                let state = source_build::built_state(&options.cache, name)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| {
                        format!(
                            "{name} is built from source and not built yet: run `cargo xtask debug-kernel --kernel {name}` first"
                        )
                    })?;
                (&planned.manifest, state)
            }
            None => {
                let manifest = catalog.get(name).map_err(|e| e.to_string())?;
                let fetched = fetch(
                    manifest,
                    &options.cache,
                    &FetchOptions::default(),
                    &mut |l| progress(l),
                )
                .map_err(|e| e.to_string())?;
                (manifest, fetched.state().clone())
            }
        };
        manifests.insert(name.clone(), manifest.clone());
        let tree = HeaderTree::from_fetched(state).map_err(|e| e.to_string())?;
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
            sysroots.push((tree.arch, guest_sysroot(options, tree.arch, progress)?));
        }
    }

    // Passes 1-3 in parallel, then one kbuild run per kernel; in the
    // build turn when runs share the machine (`phases`).
    let build_turn = phases::take(phases::Phase::Build, progress);
    let build_started = std::time::Instant::now();
    let build_cpu = build::cpu_times();
    let (mut built, build_times) = build::build_all(
        options,
        &jobs,
        &build::Targets {
            trees: &trees,
            manifests: &manifests,
            sysroots: &sysroots,
        },
        progress,
    );
    let build_wall = build_started.elapsed();
    let cpu_after = build::cpu_times();
    let build_cpu = (cpu_after.0 - build_cpu.0, cpu_after.1 - build_cpu.1);
    let build_waited = build_turn.waited;
    drop(build_turn);
    built.sort_by_key(|b| {
        (
            options.kernels.iter().position(|k| *k == b.kernel),
            scripts.iter().position(|s| s.name == b.script.name),
        )
    });

    let mut report = Report::default();
    let guest_turn = (!options.build_only).then(|| phases::take(phases::Phase::Guest, progress));
    // Where the time went, per kernel, printed when its guest is done.
    let summary = |kernel: &str, guest: Option<std::time::Duration>| {
        let build = build_times.get(kernel).cloned().unwrap_or_default();
        progress(&format!(
            "{kernel}: time: waited {:.1}s for the build turn; build phase {:.1}s, CPU {:.1}s in stapkit and {:.1}s in make and compilers (all kernels of this run): {}; waited {:.1}s for the guest turn; {}",
            build_waited.as_secs_f64(),
            build_wall.as_secs_f64(),
            build_cpu.0.as_secs_f64(),
            build_cpu.1.as_secs_f64(),
            build.describe(),
            guest_turn.as_ref().map_or(0.0, |t| t.waited.as_secs_f64()),
            match guest {
                Some(d) => format!(
                    "guest {:.1}s (initramfs and one boot that runs every case)",
                    d.as_secs_f64()
                ),
                None => "no guest".to_string(),
            }
        ));
    };
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
            summary(kernel, None);
            continue;
        }
        let guest_started = std::time::Instant::now();
        let outcomes = run_kernel(
            options,
            kernel,
            &trees[kernel],
            &ours,
            progress,
            &mut report,
        )?;
        summary(kernel, Some(guest_started.elapsed()));
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
