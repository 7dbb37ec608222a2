//! Running the matrix's modules: the guest tools for each architecture
//! (static staprun, busybox, `stapkit-workload` and its sysroot), the
//! kernel's own modules a script asks for, and one QEMU boot per kernel
//! (one more per distinct `# guest-boot:` / `# guest-firmware:` set)
//! with every module that built, rerunning cases whose results arrived
//! damaged, each case's report turned into its [`Outcome`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::script::{self, GuestFirmware, TestScript};
use super::{ship, Built, Options, Outcome, Report};
use crate::kernel::guest_modules;
use crate::kernel::manifest::Manifest;
use crate::kernel::{Cache, HeaderTree};
use crate::vm::guest::{
    build_initramfs, check_static_binary, GuestCase, GuestTools, KernelModuleLoad,
};
use crate::vm::qemu::{boot, BootConfig, BootOutcome, BootReport};
use crate::vm::results::CaseResult;
use crate::vm::uefi::Uefi;
use crate::vm::Arch;

/// The kernel's own modules `script` asks for (`# guest-modules:`), with
/// their dependencies, in load order; taken out of the kernel's image
/// package into the cache on first use.
pub(super) fn kernel_modules(
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

/// The Rust target `cargo xtask staprun` builds a guest's binaries for.
pub fn rust_target(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "x86_64-unknown-linux-gnu",
        Arch::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

/// The static busybox for a guest of `tree`'s architecture when that is
/// not the host's: the one fetched with the kernel (Debian manifests name
/// `busybox-static`), else that of another fetched kernel of the same
/// architecture (RPM-family and Ubuntu manifests name none; a busybox
/// runs on any kernel of its architecture).
fn guest_busybox(kernel: &str, tree: &HeaderTree, cache: &Cache) -> Result<PathBuf, String> {
    if let Some(own) = tree.fetched.as_ref().and_then(|f| f.busybox_path()) {
        return Ok(own);
    }
    let other = cache
        .list()
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|s| s.busybox_path())
        .find(|p| check_static_binary(p, tree.arch, "busybox", "").is_ok());
    other.ok_or_else(|| {
        format!(
            "{kernel}: no {} busybox for the guest; fetch it with the kernel when its manifest names one \
             (stap-prep fetch {kernel}), or fetch a Debian {} kernel, whose busybox-static the guest uses",
            tree.arch, tree.arch
        )
    })
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
/// and `bin/staprun`, and the other [`crate::vm::guest::WORKLOAD_PROGRAMS`] (the files every
/// guest gets in `/bin`), linked under the work directory, and the C test
/// programs with their debug files (see `programs`) and the dynamic
/// loader and C library they link with (see `userland`). None when the
/// workload is not built (a script
/// probing it then fails to build, saying which file is missing).
pub(super) fn guest_sysroot(
    options: &Options,
    arch: Arch,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Option<PathBuf>, String> {
    let workload = guest_staprun(options, arch).with_file_name("stapkit-workload");
    let Ok(workload) = workload.canonicalize() else {
        return Ok(None);
    };
    let root = options
        .work_dir
        .join(format!("sysroot-{}", rust_target(arch)));
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    // staprun too, for the staprun.* markers' points.
    let programs = ["stapkit-workload", "staprun"]
        .into_iter()
        .chain(crate::vm::guest::WORKLOAD_PROGRAMS);
    for name in programs {
        let link = bin.join(name);
        match std::fs::remove_file(&link) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("{}: {e}", link.display()))
            }
            _ => {}
        }
        // Built together; one missing fails the builds probing it, by name.
        let Ok(target) = workload.with_file_name(name).canonicalize() else {
            continue;
        };
        std::os::unix::fs::symlink(&target, &link)
            .map_err(|e| format!("{}: {e}", link.display()))?;
    }
    let userland = super::userland::fetch(&options.cache, None, arch, &|l| progress(l))?;
    super::programs::build(
        &super::programs::dir(&options.work_dir, arch),
        &root,
        arch,
        &userland,
    )?;
    Ok(Some(root))
}

/// Boots one kernel with every module that built for it.
pub(super) fn run_kernel(
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
            guest_busybox(kernel, tree, &options.cache)?
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
        for name in crate::vm::guest::WORKLOAD_PROGRAMS {
            check_static_binary(
                &workload.with_file_name(name),
                arch,
                name,
                &format!("build it (beside staprun) with: {build_it}"),
            )
            .map_err(|e| e.to_string())?;
        }
        let tools = GuestTools {
            busybox,
            staprun,
            workload,
            programs: super::programs::guest_files(
                &super::programs::dir(&options.work_dir, arch),
                arch,
                cases
                    .iter()
                    .any(|c| super::programs::needs_userland(&c.staprun_args)),
            ),
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
            let cache_dir = crate::debuginfo::KernelFiles::from_tree(tree).cache_dir;
            let boot_kernel = super::boot_image::guest_kernel(
                &image,
                (!cache_dir.as_os_str().is_empty()).then_some(cache_dir.as_path()),
                arch,
                firmware.is_some(),
                progress,
            );
            boot_group(
                options,
                (kernel, &boot_name),
                (arch, &boot_kernel, &tools),
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
                        .map(|l| crate::matrix::render::strip_timestamp(l).to_string())
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
        for c in &pending {
            report.consoles.insert(
                (kernel.to_string(), c.id.clone()),
                config.work_dir.join("console.log"),
            );
        }
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
    progress(&format!(
        "{kernel}: time: {}",
        guest_timeline(&r.marks, r.elapsed)
    ));
    Ok(r)
}

/// How many of the slowest cases the guest's time line names.
const SLOWEST: usize = 8;

/// Where a guest's time went, from its init's console lines: until
/// `init: booted`, each `init: case NAME` until the next line, and the
/// slowest cases.
fn guest_timeline(marks: &[(String, Duration)], elapsed: Duration) -> String {
    let booted = marks
        .iter()
        .find(|(l, _)| l.starts_with("init: booted"))
        .map(|m| m.1);
    let mut cases: Vec<(&str, Duration)> = Vec::new();
    for (i, (line, at)) in marks.iter().enumerate() {
        let Some(name) = line.strip_prefix("init: case ") else {
            continue;
        };
        let end = marks.get(i + 1).map_or(elapsed, |m| m.1);
        cases.push((name.trim(), end.saturating_sub(*at)));
    }
    let total: Duration = cases.iter().map(|c| c.1).sum();
    cases.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let slowest: Vec<String> = cases
        .iter()
        .take(SLOWEST)
        .map(|(n, d)| format!("{n} {:.1}s", d.as_secs_f64()))
        .collect();
    format!(
        "guest {:.1}s: booted after {}, {} case(s) in {:.1}s, slowest: {}",
        elapsed.as_secs_f64(),
        booted.map_or("?".to_string(), |b| format!("{:.1}s", b.as_secs_f64())),
        cases.len(),
        total.as_secs_f64(),
        slowest.join(", ")
    )
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
    fn the_guest_timeline_names_the_boot_and_the_slowest_cases() {
        let s = |secs: u64| Duration::from_secs(secs);
        let marks = vec![
            ("init: booted 6.1.0-57-amd64".to_string(), s(8)),
            ("init: case hello".to_string(), s(9)),
            ("init: case timers".to_string(), s(10)),
            ("init: case quick".to_string(), s(15)),
            ("init: success".to_string(), s(16)),
        ];
        assert_eq!(
            guest_timeline(&marks, s(17)),
            "guest 17.0s: booted after 8.0s, 3 case(s) in 7.0s, slowest: timers 5.0s, hello 1.0s, quick 1.0s"
        );
        assert_eq!(
            guest_timeline(&[], s(3)),
            "guest 3.0s: booted after ?, 0 case(s) in 0.0s, slowest: "
        );
    }

    #[test]
    fn timestamps_are_dropped_from_kernel_lines() {
        assert_eq!(
            crate::matrix::render::strip_timestamp("[    2.5] BUG: x"),
            "BUG: x"
        );
        assert_eq!(crate::matrix::render::strip_timestamp("BUG: x"), "BUG: x");
    }
}
