//! Running the oracle's modules: every built case of a (suite, kernel)
//! pair in one QEMU boot of the kernel (one more per distinct set of a
//! test script's `# guest-boot:` kernel arguments), under stap-matrix's guest init
//! (`vm-images/init.sh`, its `systemtap` flavour) with SystemTap's own
//! `staprun`/`stapio` and their shared libraries taken from the root,
//! the kernel's own modules a test script asks for, and each case's
//! report cached by content under `$STAPKIT_CACHE/oracle/runs/`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::cache::Cache;
use stapkit::kernel::Catalog;
use stapkit::matrix::module_loads;
use stapkit::vm::guest::{check_static_binary, modules_dep, shell_quote, KernelModuleLoad};
use stapkit::vm::initramfs::Initramfs;
use stapkit::vm::qemu::{boot, BootConfig, BootOutcome};
use stapkit::vm::results::CaseResult;
use stapkit::vm::Arch;

use super::build::BuildResult;
use super::programs::Workload;
use super::root::{in_root, Kernel, StapRoot};
use super::script::{module_name, OracleCase, OracleScript};
use super::{content_key, Options};

/// The guest's `/init`: stap-matrix's, told by `cases/flavour` to run
/// SystemTap's `staprun`.
const INIT_SCRIPT: &str = stapkit::vm::guest::INIT_SCRIPT;

/// What the guest reported for one case.
#[derive(Debug, Clone)]
pub(super) enum RunResult {
    /// Nothing to run (translator-only case or failed build).
    NotBuilt,
    /// staprun ran.
    Ran(CaseResult),
    /// The guest died before reporting it.
    NotRun(String),
}

/// Runs every built module of `scripts` in one boot of `kernel` (cases
/// with a cached run are not run again unless `--rerun`).
pub(super) fn run_all(
    cache: &Cache,
    root: &StapRoot,
    kernel: &Kernel,
    scripts: &[OracleScript],
    builds: &BTreeMap<(String, String), BuildResult>,
    workload: Option<&Workload>,
    options: &Options,
) -> Result<BTreeMap<(String, String), RunResult>> {
    let guest_files = guest_files(root)?;
    let workload_key = workload.map(Workload::key).unwrap_or_default();
    let image = kernel.state.image_path();
    let mut runs = BTreeMap::new();
    let mut todo = Vec::new();
    for script in scripts {
        for case in &script.cases {
            let id = (script.stem.clone(), case.name.clone());
            let build = &builds[&id];
            let Some(module) = &build.module else {
                runs.insert(id, RunResult::NotBuilt);
                continue;
            };
            let modules = kernel_modules(cache, kernel, case)?;
            let module_key: String = modules
                .iter()
                .map(|m| format!("{} {} {:?}\n", m.name, m.load, m.params))
                .collect();
            let key = content_key(&[
                build.key.as_bytes(),
                module_key.as_bytes(),
                INIT_SCRIPT.as_bytes(),
                guest_files.key.as_bytes(),
                image.display().to_string().as_bytes(),
                case.timeout_secs.to_string().as_bytes(),
                case.staprun_args.join(" ").as_bytes(),
                case.run.as_deref().unwrap_or_default().as_bytes(),
                if case.workload { &workload_key } else { &[] },
                case.boot_args.join(" ").as_bytes(),
            ]);
            let dir = cache.dir().join("oracle/runs").join(&key);
            if !options.rerun && dir.join("done").is_file() {
                runs.insert(id, RunResult::Ran(load_run(&dir)?));
            } else {
                todo.push(GuestCase {
                    id,
                    module: module.clone(),
                    name: module_name(script, case),
                    timeout_secs: case.timeout_secs,
                    staprun_args: case.staprun_args.clone(),
                    workload: case.workload,
                    modules,
                    run: case.run.clone(),
                    boot_args: case.boot_args.clone(),
                    cache_dir: dir,
                });
            }
        }
    }
    // Cases that need kernel arguments of their own (`# guest-boot:`)
    // boot a guest of their own, one per distinct set.
    let mut groups: BTreeMap<Vec<String>, Vec<GuestCase>> = BTreeMap::new();
    for case in todo {
        groups.entry(case.boot_args.clone()).or_default().push(case);
    }
    for (boot_args, todo) in groups {
        boot_cases(
            cache,
            root,
            kernel,
            &guest_files,
            workload,
            options,
            &boot_args,
            todo,
            &mut runs,
        )?;
    }
    Ok(runs)
}

/// Boots `kernel` once with `boot_args` and runs `todo` in that guest,
/// adding each case's report to `runs`.
#[allow(clippy::too_many_arguments)]
fn boot_cases(
    cache: &Cache,
    root: &StapRoot,
    kernel: &Kernel,
    guest_files: &GuestFiles,
    workload: Option<&Workload>,
    options: &Options,
    boot_args: &[String],
    todo: Vec<GuestCase>,
    runs: &mut BTreeMap<(String, String), RunResult>,
) -> Result<()> {
    let image = kernel.state.image_path();

    let busybox = Path::new("/bin/busybox");
    check_static_binary(
        busybox,
        Arch::X86_64,
        "busybox",
        "apt-get install busybox-static",
    )
    .map_err(|e| anyhow!("{e}"))?;
    let mut fs = GuestFs::default();
    for dir in [
        "bin", "proc", "sys", "dev", "tmp", "cases", "etc", "root", "modules",
    ] {
        fs.dir(dir);
    }
    let mut carried: Vec<&KernelModuleLoad> = Vec::new();
    for module in todo.iter().flat_map(|c| &c.modules) {
        if !carried.iter().any(|m| m.name == module.name) {
            carried.push(module);
            fs.file(
                &format!("modules/{}.ko", module.name),
                0o644,
                std::fs::read(&module.file)?,
            );
        }
    }
    fs.file(
        "modules/modules.dep",
        0o644,
        modules_dep(&carried).into_bytes(),
    );
    fs.fs.file("bin/busybox", 0o755, std::fs::read(busybox)?);
    if let (true, Some(workload)) = (todo.iter().any(|c| c.workload), workload) {
        for (path, bytes) in workload.guest_files() {
            // A library's directory (usr/lib) is made on demand.
            fs.file(path, 0o755, bytes.clone());
        }
    }
    fs.fs.symlink("bin/sh", "busybox");
    fs.fs.symlink("sbin", "bin");
    fs.fs.file("init", 0o755, INIT_SCRIPT.as_bytes().to_vec());
    fs.fs
        .file("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\n");
    fs.fs.file(
        "etc/group",
        0o644,
        "root:x:0:\nstapusr:x:156:\nstapdev:x:157:\n",
    );
    for (link, target) in &guest_files.links {
        fs.fs.symlink(link, target);
        fs.made.insert(link.clone());
    }
    for (path, data) in &guest_files.files {
        fs.file(path, 0o755, data.clone());
    }
    // The test programs' loader and C library take the place of the
    // root's (the same files the builds' sysroot holds, so that
    // `process("libc.so.6")` probes the library the guest maps; glibc
    // runs programs built against an older one, staprun and stapio too).
    if let (true, Some(workload)) = (todo.iter().any(|c| c.workload), workload) {
        for (path, bytes) in workload.userland_files() {
            let name = path.rsplit('/').next().unwrap_or(path);
            let same: Vec<&String> = guest_files
                .files
                .keys()
                .filter(|p| p.rsplit('/').next() == Some(name))
                .collect();
            if same.is_empty() {
                fs.file(path, 0o755, bytes.clone());
            }
            for at in same {
                fs.file(at, 0o755, bytes.clone());
            }
        }
    }
    fs.fs.file(
        "cases/results-port",
        0o644,
        format!("{}\n", Arch::X86_64.results_device()),
    );
    fs.fs.file("cases/flavour", 0o644, "systemtap\n");
    let mut list = String::new();
    let mut total_secs = 0u64;
    for (n, case) in todo.iter().enumerate() {
        let dir = format!("cases/c{n}");
        fs.dir(&dir);
        fs.fs.file(
            &format!("{dir}/module.ko"),
            0o644,
            std::fs::read(&case.module)?,
        );
        fs.fs
            .file(&format!("{dir}/name"), 0o644, format!("{}\n", case.name));
        fs.fs.file(
            &format!("{dir}/timeout"),
            0o644,
            format!("{}\n", case.timeout_secs),
        );
        let args: Vec<String> = case.staprun_args.iter().map(|a| shell_quote(a)).collect();
        fs.fs.file(
            &format!("{dir}/args"),
            0o644,
            format!("{}\n", args.join(" ")),
        );
        let mut modules = String::new();
        for m in case.modules.iter().filter(|m| m.load) {
            modules.push_str(&m.name);
            for p in &m.params {
                modules.push(' ');
                modules.push_str(p);
            }
            modules.push('\n');
        }
        fs.fs.file(&format!("{dir}/modules"), 0o644, modules);
        let later: String = case
            .modules
            .iter()
            .filter(|m| !m.load)
            .map(|m| format!("{}\n", m.name))
            .collect();
        fs.fs.file(&format!("{dir}/later"), 0o644, later);
        if let Some(run) = &case.run {
            fs.fs.file(&format!("{dir}/run"), 0o644, run.clone());
        }
        writeln!(list, "c{n}").unwrap();
        total_secs += u64::from(case.timeout_secs) + 30;
    }
    fs.fs.file("cases/list", 0o644, list);

    let work_dir = cache
        .dir()
        .join("oracle/boots")
        .join(format!("{}-{}", root.suite, kernel.name));
    let config = BootConfig {
        kernel_args: boot_args.to_vec(),
        arch: Arch::X86_64,
        kernel: image,
        memory_mib: 2048,
        cpus: 2,
        kvm: options.kvm,
        timeout: Duration::from_secs(120 + total_secs),
        work_dir: work_dir.clone(),
        firmware: None,
    };
    eprintln!(
        "oracle: booting {} with {} case(s) (console: {})",
        kernel.state.release,
        todo.len(),
        work_dir.join("console.log").display()
    );
    // One guest per (suite, kernel) at a time: another engineer's oracle
    // run shares this directory (its initramfs, console and results
    // port), so boots queue on a lock beside it.
    std::fs::create_dir_all(&work_dir)?;
    let lock_path = work_dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!(
            "oracle: waiting for another oracle run's guest ({})",
            lock_path.display()
        );
        lock.lock()
            .with_context(|| format!("locking {}", lock_path.display()))?;
    }
    let report = boot(&config, &fs.fs.to_gzip()).map_err(|e| anyhow!("{e}"))?;
    drop(lock);
    eprintln!(
        "oracle: guest {:?} after {:.0?}",
        report.outcome, report.elapsed
    );
    let why = match &report.outcome {
        BootOutcome::Completed => "the guest powered off without reporting it".to_string(),
        BootOutcome::Crashed(line) => format!("the guest crashed: {line}"),
        BootOutcome::TimedOut => "the guest timed out".to_string(),
        BootOutcome::Incomplete => "the guest stopped early".to_string(),
    };
    for (n, case) in todo.into_iter().enumerate() {
        let (id, dir) = (case.id, case.cache_dir);
        let id_in_guest = format!("c{n}");
        // A case is complete once its last part (dmesg) arrived.
        let complete = report.results.complete
            || report
                .results
                .cases
                .keys()
                .any(|k| k.strip_prefix('c').and_then(|k| k.parse::<usize>().ok()) > Some(n));
        match report.results.cases.get(&id_in_guest) {
            Some(result) if complete && result.damaged.is_empty() => {
                save_run(&dir, result)?;
                runs.insert(id, RunResult::Ran(result.clone()));
            }
            _ => {
                runs.insert(id, RunResult::NotRun(why.clone()));
            }
        }
    }
    Ok(())
}

/// The kernel's own modules a test script's case asks for, with their
/// dependencies, in load order (as stap-matrix provides them).
pub(super) fn kernel_modules(
    cache: &Cache,
    kernel: &Kernel,
    case: &OracleCase,
) -> Result<Vec<KernelModuleLoad>> {
    if case.guest_modules.is_empty() && case.guest_modules_later.is_empty() {
        return Ok(Vec::new());
    }
    let manifest = Catalog::load()?.get(&kernel.name)?.clone();
    module_loads(
        &case.guest_modules,
        &case.guest_modules_later,
        &manifest,
        cache,
        &kernel.state,
        &|l| eprintln!("{l}"),
    )
    .map_err(|e| anyhow!("{e}"))
}

/// A case the guest runs.
struct GuestCase {
    /// (script, case) it belongs to.
    id: (String, String),
    /// The module built by stap.
    module: PathBuf,
    /// The module's name.
    name: String,
    /// Seconds before SIGINT.
    timeout_secs: u32,
    /// staprun options.
    staprun_args: Vec<String>,
    /// It needs `/bin/stapkit-workload`.
    workload: bool,
    /// The kernel's own modules it loads or carries.
    modules: Vec<KernelModuleLoad>,
    /// Shell commands instead of `staprun MODULE`.
    run: Option<String>,
    /// Kernel arguments of its guest (`# guest-boot:`).
    boot_args: Vec<String>,
    /// Where its run is cached.
    cache_dir: PathBuf,
}

/// An initramfs that creates parent directories on demand.
#[derive(Default)]
pub(crate) struct GuestFs {
    pub(crate) fs: Initramfs,
    pub(crate) made: BTreeSet<String>,
}

impl GuestFs {
    pub(crate) fn dir(&mut self, path: &str) {
        let path = path.trim_matches('/');
        if path.is_empty() || self.made.contains(path) {
            return;
        }
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.fs.dir(path);
        self.made.insert(path.to_string());
    }

    pub(crate) fn file(&mut self, path: &str, perm: u32, data: Vec<u8>) {
        let path = path.trim_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.fs.file(path, perm, data);
    }
}

/// SystemTap's staprun and stapio from a root, with everything they load.
pub(crate) struct GuestFiles {
    /// Guest path (relative) to contents.
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    /// Top-level symbolic links of the root's merged /usr (`lib` -> `usr/lib`).
    pub(crate) links: Vec<(String, String)>,
    /// Content key of all of it.
    key: String,
}

/// Collects staprun, stapio, their shared libraries and the dynamic loader
/// from `root` (found with the root's own `ldd`).
pub(crate) fn guest_files(root: &StapRoot) -> Result<GuestFiles> {
    let listing = in_root(
        &root.dir,
        &[],
        "/",
        &["dpkg".into(), "-L".into(), "systemtap-runtime".into()],
    )?;
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let stapio = listing
        .lines()
        .find(|l| l.ends_with("/stapio"))
        .ok_or_else(|| anyhow!("systemtap-runtime in {} has no stapio", root.dir.display()))?
        .to_string();
    let programs = ["/usr/bin/staprun".to_string(), stapio];
    let mut wanted: BTreeSet<String> = programs.iter().cloned().collect();
    for program in &programs {
        let out = in_root(&root.dir, &[], "/", &["ldd".into(), program.clone()])?;
        if !out.status.success() {
            bail!("ldd {program} failed in {}", root.dir.display());
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next(),
                None => line.split_whitespace().next(),
            };
            if let Some(path) = path.filter(|p| p.starts_with('/')) {
                wanted.insert(path.to_string());
            }
        }
    }
    let wanted: Vec<String> = wanted.into_iter().collect();
    // Resolve every path inside the root: the file's real path gives the
    // contents, the directory's real path the place (merged /usr).
    let mut argv = vec!["readlink".to_string(), "-f".to_string()];
    for w in &wanted {
        argv.push(w.clone());
        argv.push(parent_of(w).to_string());
    }
    let out = in_root(&root.dir, &[], "/", &argv)?;
    let resolved: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if resolved.len() != wanted.len() * 2 {
        bail!(
            "readlink -f in {} gave {} paths for {}",
            root.dir.display(),
            resolved.len(),
            wanted.len() * 2
        );
    }
    let mut files = BTreeMap::new();
    let mut key_parts: Vec<Vec<u8>> = Vec::new();
    for (n, w) in wanted.iter().enumerate() {
        let (real, real_dir) = (&resolved[2 * n], &resolved[2 * n + 1]);
        let base = w.rsplit('/').next().unwrap_or(w);
        let data = std::fs::read(root.dir.join(real.trim_start_matches('/')))
            .with_context(|| format!("reading {real} in {}", root.dir.display()))?;
        let guest_path = format!("{}/{base}", real_dir.trim_matches('/'));
        key_parts.push(guest_path.clone().into_bytes());
        key_parts.push(data.clone());
        files.insert(guest_path, data);
    }
    let mut links = Vec::new();
    for top in ["lib", "lib32", "lib64", "libx32"] {
        if let Ok(target) = std::fs::read_link(root.dir.join(top)) {
            links.push((top.to_string(), target.display().to_string()));
        }
    }
    let parts: Vec<&[u8]> = key_parts.iter().map(|p| p.as_slice()).collect();
    Ok(GuestFiles {
        files,
        links,
        key: content_key(&parts),
    })
}

fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((parent, _)) => parent,
    }
}

fn save_run(dir: &Path, r: &CaseResult) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("stdout"), &r.stdout)?;
    std::fs::write(dir.join("stderr"), &r.stderr)?;
    let rc = r.exit_code.map_or("unknown".to_string(), |c| c.to_string());
    std::fs::write(dir.join("rc"), format!("{rc}\n"))?;
    let module = if r.still_loaded { "loaded" } else { "unloaded" };
    std::fs::write(dir.join("module"), format!("{module}\n"))?;
    std::fs::write(dir.join("dmesg"), &r.kernel_log)?;
    std::fs::write(dir.join("done"), "")?;
    Ok(())
}

fn load_run(dir: &Path) -> Result<CaseResult> {
    Ok(CaseResult {
        stdout: std::fs::read(dir.join("stdout"))?,
        stderr: std::fs::read(dir.join("stderr"))?,
        exit_code: std::fs::read_to_string(dir.join("rc"))?.trim().parse().ok(),
        still_loaded: std::fs::read_to_string(dir.join("module"))?.starts_with("loaded"),
        kernel_log: std::fs::read_to_string(dir.join("dmesg"))?,
        damaged: Vec::new(),
        received: stapkit::vm::results::PARTS.map(String::from).to_vec(),
    })
}
