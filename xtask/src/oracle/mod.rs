//! `cargo xtask oracle`: run scripts under *real* SystemTap, the oracle
//! stapkit's byte-for-byte compatibility promise is measured against.
//!
//! For each Debian suite asked for (`--stap-suite`, default trixie) a
//! minimal root with Debian's `systemtap` package and the kernels'
//! compilers is made with `mmdebstrap` and cached. Each case of each
//! script is translated and built there with `stap -p4 -r TREE` (the
//! relocated tree from the kernel cache is bind-mounted at its own path in
//! a private mount namespace). Real SystemTap's pass 5 never runs on this
//! machine: the modules are run in a QEMU guest of the target kernel by
//! SystemTap's own `staprun`/`stapio` (copied from the root with their
//! shared libraries), under `vm-images/init.sh`, one boot per
//! (suite, kernel) pair. Builds and runs are cached by content, so a
//! second run only boots for cases that changed.
//!
//! A script's cases come from header lines (see `docs/oracle/README.md`):
//!
//! ```text
//! # oracle: -DMAXERRORS=2 timeout=5          options for every case
//! # oracle-case: div -DFOO=1 -- div          one case: name, options, -- script args
//! ```
//!
//! `# oracle-run: CASE COMMAND` lines (`*` for every case) replace the
//! case's plain `staprun MODULE` with guest shell commands, run in a
//! scratch directory with `$MODULE` the module's path and `$NAME` its
//! name, to observe staprun's own behaviour (`-L`/`-A`, `-o`, `-S`,
//! signals).
//!
//! Without `# oracle-case:` lines a script is one case called `main`.
//! Cases with `-p1`..`-p3`, or `-l`/`-L PROBE` (which SystemTap refuses
//! to combine with `-p`), only record the translator's output. The word
//! `workload` gives a case stapkit's own `stapkit-workload` (built with
//! `cargo xtask staprun`): at `/bin/stapkit-workload` in the guest, and
//! under a `--sysroot=sysroot` for the build, so user-space probes on it
//! can be compared with stapkit's; the C test programs come along the
//! same way, their debug files at build-id paths in the sysroot
//! (`programs`).
//!
//! **Architecture Invariant:** nothing here loads a module on the host and
//! nothing here reads or copies SystemTap's sources: only its Debian
//! packages' binaries are run, and only their observable behaviour is
//! recorded (under `docs/oracle/outputs/`).

mod build;
mod frontend;
mod guest;
mod machine;
mod module_debug;
mod programs;
mod record;
mod render;
mod root;
mod script;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use stapkit::kernel::cache::Cache;
use stapkit::text::hash::Fnv1a64;
use xshell::Shell;

use crate::setup;
use build::build_all;
use guest::run_all;
use programs::Workload;
use record::record_all;
use render::render_script;
use root::install_mmdebstrap;
// `cargo xtask bench build` runs SystemTap in the same roots.
pub(crate) use build::debug_files;
pub(crate) use guest::{guest_files, GuestFs};
pub(crate) use machine::user_machine;
pub(crate) use root::{
    fetch_kernel, in_root_with, kernel_compiler, prepare_root, Kernel, StapRoot,
};
use script::{load_script, split_args, OracleScript};

/// Options of `cargo xtask oracle`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Kernel to build for and boot (stap-prep name); repeatable.
    #[arg(long = "kernel", default_value = "debian-6.1-amd64")]
    pub kernels: Vec<String>,
    /// Debian suite whose `systemtap` package is the oracle; repeatable.
    #[arg(long = "stap-suite", default_value = "trixie")]
    pub suites: Vec<String>,
    /// Directory the rendered outcomes are saved under (one subdirectory
    /// per suite and kernel, one file per script).
    #[arg(long, default_value = "docs/oracle/outputs")]
    pub out: PathBuf,
    /// Do not write outputs; compare them with the saved ones and fail on
    /// any difference.
    #[arg(long)]
    pub check: bool,
    /// Neither save nor compare outputs; only print them.
    #[arg(long, conflicts_with = "check")]
    pub no_save: bool,
    /// Record real SystemTap's `-p1` text and `-p2` acceptance of the
    /// published examples and the parse fixtures
    /// (`tests/systemtap-frontend/`), instead of running scripts.
    #[arg(long, conflicts_with_all = ["check", "record", "case"])]
    pub frontend: bool,
    /// With `--frontend`: run `-p2` too (slow: pass 2 reads the kernel's
    /// DWARF for many examples).
    #[arg(long, requires = "frontend")]
    pub with_p2: bool,
    /// With `--with-p2`: take `-p2` outcomes only from runs already
    /// cached, leaving the other cases' `-p2` unrecorded (`-`), so that a
    /// partial recording can be kept while the rest is run later.
    #[arg(long, requires = "with_p2")]
    pub p2_cached_only: bool,
    /// Save each QEMU test script's outcome (`tests/scripts/*.stp`) as its
    /// expected output, `tests/scripts/NAME.oracle` (one block per kernel).
    #[arg(long, conflicts_with_all = ["check", "case"])]
    pub record: bool,
    /// Run the modules again even when a cached run exists.
    #[arg(long)]
    pub rerun: bool,
    /// Parallel `stap` builds (default: the number of CPUs).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Boot with KVM instead of TCG.
    #[arg(long)]
    pub kvm: bool,
    /// Only cases whose name contains this (outputs are then only
    /// printed: a saved file always holds every case of its script).
    #[arg(long)]
    pub case: Option<String>,
    /// stap options for every case, then the scripts (`*.stp`; default:
    /// every `tests/oracle/*.stp`). With `--frontend`: case ids
    /// (`ex/general/sizeof.stp`) to run and print, saving nothing.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Runs the oracle.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    if options.frontend {
        return frontend::run(sh, options);
    }
    let started = Instant::now();
    let (global_options, script_paths) = split_args(&options.args)?;
    let mut scripts = Vec::new();
    for path in &script_paths {
        scripts.push(load_script(path, &global_options)?);
    }
    if let Some(filter) = &options.case {
        for s in &mut scripts {
            s.cases.retain(|c| c.name.contains(filter.as_str()));
        }
        scripts.retain(|s| !s.cases.is_empty());
    }
    if scripts.is_empty() {
        bail!("no cases to run");
    }

    setup::install_packages(sh)?;
    install_mmdebstrap(sh)?;
    let cache = Cache::locate(None);
    let kernels = options
        .kernels
        .iter()
        .map(|k| fetch_kernel(&cache, k).and_then(|k| module_debug::with_kernel_debug(&cache, &k)))
        .collect::<Result<Vec<_>>>()?;
    let compilers: BTreeSet<String> = kernels
        .iter()
        .map(|k| kernel_compiler(&k.name))
        .collect::<Result<_>>()?;
    let roots = options
        .suites
        .iter()
        .map(|s| prepare_root(&cache, s, &compilers))
        .collect::<Result<Vec<_>>>()?;

    let workload = if scripts.iter().flat_map(|s| &s.cases).any(|c| c.workload) {
        let staprun = setup::build_staprun(sh, setup::GuestArch::X86_64)?;
        // Concurrent oracle runs build the programs in the same place
        // (their DWARF names it, so the builds' keys stay stable): one at
        // a time.
        let dir = cache.dir().join("oracle/programs");
        std::fs::create_dir_all(cache.dir().join("oracle"))?;
        let lock_path = dir.with_extension("lock");
        let lock = std::fs::File::create(&lock_path)
            .with_context(|| format!("creating {}", lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
        let workload = Workload::new(&staprun, &dir)?;
        drop(lock);
        Some(workload)
    } else {
        None
    };
    let workload = workload.as_ref();

    let mut failures = Vec::new();
    for root in &roots {
        for kernel in &kernels {
            let pair = format!("{}-{}", root.suite, kernel.name);
            eprintln!(
                "oracle: {pair}: {} on {} ({})",
                root.version, kernel.state.release, kernel.state.version
            );
            let has_debug = kernel
                .state
                .debug_vmlinux
                .as_ref()
                .is_some_and(|p| kernel.state.root.join(p).is_file());
            // `# requires: debuginfo` scripts only where the -dbg package is.
            let scripts: Vec<OracleScript> = scripts
                .iter()
                .filter(|s| {
                    let skip = !has_debug && s.cases.iter().any(|c| c.requires_debuginfo);
                    if skip {
                        eprintln!(
                            "oracle: {} needs the -dbg package of {}: not run",
                            s.stem, kernel.name
                        );
                    }
                    !skip
                })
                .cloned()
                .collect();
            let builds = build_all(&cache, root, kernel, &scripts, workload, options.jobs)?;
            let runs = run_all(&cache, root, kernel, &scripts, &builds, workload, options)?;
            if options.record {
                record_all(root, kernel, &scripts, &builds, &runs, &mut failures)?;
            }
            for script in &scripts {
                let text = render_script(root, kernel, script, &builds, &runs);
                print!("{text}");
                let file = setup::project_root()
                    .join(&options.out)
                    .join(&pair)
                    .join(format!("{}.out", script.stem));
                if script.test {
                    // Test scripts' record is their NAME.oracle.
                    continue;
                }
                if options.check && options.case.is_none() {
                    let saved = std::fs::read_to_string(&file).unwrap_or_default();
                    if saved != text {
                        failures.push(file.display().to_string());
                    }
                } else if !options.no_save && options.case.is_none() {
                    std::fs::create_dir_all(file.parent().expect("has a parent"))?;
                    std::fs::write(&file, &text)
                        .with_context(|| format!("writing {}", file.display()))?;
                }
            }
        }
    }
    eprintln!("oracle: done in {:.0?}", started.elapsed());
    if !failures.is_empty() {
        bail!(
            "outputs differ from the saved ones (run without --check to update):\n  {}",
            failures.join("\n  ")
        );
    }
    Ok(())
}

/// FNV-1a, 64 bits: a stable content key for the caches (each part ended
/// by `0xff`, as [`Fnv1a64::part`] does).
pub(crate) fn content_key(parts: &[&[u8]]) -> String {
    let mut h = Fnv1a64::new();
    for part in parts {
        h.part(part);
    }
    h.hex()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_are_stable() {
        assert_eq!(content_key(&[b"a", b"b"]), content_key(&[b"a", b"b"]));
        assert_ne!(content_key(&[b"ab"]), content_key(&[b"a", b"b"]));
        // The caches under `$STAPKIT_CACHE/oracle/` are named by these keys.
        assert_eq!(content_key(&[b"a", b"b"]), "d2b371819297f98a");
    }
}
