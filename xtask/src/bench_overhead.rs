//! `cargo xtask bench overhead`: the cost of a probe hit, stapkit's module
//! beside real SystemTap's module for the same script, in one QEMU guest
//! of one kernel (default 6.1 amd64).
//!
//! The workload is `stapkit-workload getppid N`: N `getppid` system calls,
//! timed in the guest. Each script is built by both tools: stapkit's
//! `stap -p4`, and Debian's SystemTap in the oracle's root with the
//! kernel installed as on a user's machine, as `cargo xtask oracle
//! --record` builds (`oracle::user_machine`; given only `-r TREE`,
//! SystemTap 5.1 finds no tracepoint), without `--sysroot` (the scripts
//! are kernel-only, and under it SystemTap 5.1 finds no tracepoint
//! either). Then, in one guest booted with the test guests' `/init`
//! (`vm-images/init.sh`, its `systemtap` flavour), one case per module,
//! in turn: the bare workload (the baseline), the module started by its
//! own tool's `staprun` (stapkit's static one, SystemTap's with `stapio`)
//! with its output sent to `/dev/null`, the workload again `--runs` times,
//! the module stopped. Both tools build the empty-bodied probes with `-u`:
//! both elide them otherwise, and the point is to measure one.
//! Cost per hit is (workload with the module −
//! baseline) / N, best of the runs; `timer.profile` is hit by the clock,
//! not by the workload, so its figure is the slowdown per workload call.
//! Both modules run in the same guest with the same kernel, so the ratio
//! is what counts: under TCG the absolute numbers mean little.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::cache::Cache;
use stapkit::vm::qemu::{boot, BootConfig};
use stapkit::vm::Arch;
use xshell::Shell;

use crate::oracle;
use crate::oracle::GuestFs;
use crate::setup;

/// The scripts: (name, text, whether each workload call hits it once).
const SCRIPTS: &[(&str, &str, bool)] = &[
    (
        "kprobe",
        "probe kprobe.function(\"__x64_sys_getppid\") {}\n",
        true,
    ),
    (
        "kprobe_map_printf",
        "global hits\nprobe kprobe.function(\"__x64_sys_getppid\") {\n\
         \thits[pid()]++\n\tprintf(\"%d\\n\", hits[pid()])\n}\n",
        true,
    ),
    (
        "tracepoint",
        "probe kernel.trace(\"raw_syscalls:sys_enter\") {}\n",
        true,
    ),
    ("timer_profile", "probe timer.profile {}\n", false),
];

/// The guest's `/init`: stap-matrix's (`vm-images/init.sh`), told by
/// `cases/flavour` to give SystemTap's loader what it expects; each case
/// runs its `run` commands, which start the module with its own tool's
/// loader.
const INIT_SCRIPT: &str = stapkit::vm::guest::INIT_SCRIPT;

/// One case's commands: the bare workload, the module started by `loader`
/// (output discarded), the workload again, the module stopped (SIGINT,
/// then SIGTERM if it is still loaded 30 s later). `$MODULE`
/// and `$NAME` come from `/init`; each figure is one line
/// `base|probe TOOL NAME getppid N NS` on the case's stdout.
fn measure_commands(tool: &str, loader: &str, calls: u64, runs: usize) -> String {
    format!(
        "N={calls}\n\
         for r in $(seq {runs}); do echo \"base {tool} $NAME $(stapkit-workload getppid $N)\"; done\n\
         {loader} \"$MODULE\" > /dev/null 2> /tmp/$NAME.err &\n\
         pid=$!\n\
         for t in $(seq 600); do [ \"$(cat /sys/module/$NAME/initstate 2>/dev/null)\" = live ] && break; sleep 0.1; done\n\
         sleep 3\n\
         for r in $(seq {runs}); do echo \"probe {tool} $NAME $(stapkit-workload getppid $N)\"; done\n\
         kill -INT $pid\n\
         for t in $(seq 300); do [ -e /sys/module/$NAME ] || break; sleep 0.1; done\n\
         [ -e /sys/module/$NAME ] && kill -TERM $pid\n\
         wait $pid\n\
         sed \"s/^/$NAME: /\" /tmp/$NAME.err >&2; rm -f /tmp/$NAME.err\n"
    )
}

/// Options of `cargo xtask bench overhead`.
#[derive(Debug, Clone)]
pub struct OverheadBench {
    /// The kernel (an amd64 one: the scripts probe x86-64 names).
    pub kernel: String,
    /// Workload runs per module; the best is taken.
    pub runs: usize,
    /// `getppid` calls per workload run.
    pub calls: u64,
    /// Only these scripts (by name; empty: all).
    pub scripts: Vec<String>,
}

/// Builds, boots, measures and prints (see the module doc).
pub fn run(sh: &Shell, bench: &OverheadBench) -> Result<()> {
    let kernel = &bench.kernel;
    let prepared = setup::run(
        sh,
        &setup::Options {
            kernels: vec![kernel.clone()],
            debug_kernels: Vec::new(),
        },
    )?;
    let workload = std::fs::read(prepared.staprun.with_file_name("stapkit-workload"))
        .context("reading stapkit-workload (cargo xtask staprun builds it)")?;
    let cache = Cache::locate(None);
    let compiler = oracle::kernel_compiler(kernel)?;
    let root = oracle::prepare_root(&cache, "trixie", &std::iter::once(compiler).collect())?;
    let k = oracle::fetch_kernel(&cache, kernel)?;
    let work = tempfile::Builder::new()
        .prefix("stapkit-overhead")
        .tempdir()?;

    // Both tools' modules of every script.
    let mut modules: Vec<(String, Vec<u8>)> = Vec::new();
    let chosen = |name: &str| bench.scripts.is_empty() || bench.scripts.iter().any(|s| s == name);
    if let Some(unknown) = bench
        .scripts
        .iter()
        .find(|s| !SCRIPTS.iter().any(|(n, _, _)| n == s))
    {
        let known: Vec<&str> = SCRIPTS.iter().map(|(n, _, _)| *n).collect();
        bail!(
            "no overhead script '{unknown}'; known: {}",
            known.join(", ")
        );
    }
    for (name, text, _) in SCRIPTS.iter().filter(|(n, _, _)| chosen(n)) {
        let file = work.path().join(format!("{name}.stp"));
        std::fs::write(&file, text)?;
        let ours = format!("k_{name}");
        // `-u` as for SystemTap below: pass 2 elides an empty probe.
        let keep = if text.contains("{}") { "-u" } else { "-p4" };
        let out = std::process::Command::new(prepared.bin_dir.join("stap"))
            .args(["-p4", keep, "--disable-cache", "-r", kernel, "-m", &ours])
            .arg(&file)
            .current_dir(work.path())
            .output()?;
        if !out.status.success() {
            bail!(
                "stapkit's stap -p4 {name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        modules.push((
            ours.clone(),
            std::fs::read(work.path().join(format!("{ours}.ko")))?,
        ));
        let theirs = format!("s_{name}");
        modules.push((
            theirs.clone(),
            systemtap_module(&cache, &root, &k, &theirs, text)?,
        ));
        eprintln!("overhead: built {name} with both tools");
    }

    let calls = bench.calls;
    let runs = bench.runs.max(1);
    let mut fs = GuestFs::default();
    for dir in [
        "bin", "proc", "sys", "dev", "tmp", "cases", "etc", "root", "modules",
    ] {
        fs.dir(dir);
    }
    let guest = oracle::guest_files(&root)?;
    for (link, target) in &guest.links {
        fs.fs.symlink(link, target);
        fs.made.insert(link.clone());
    }
    for (path, data) in &guest.files {
        fs.file(path, 0o755, data.clone());
    }
    fs.file("bin/busybox", 0o755, std::fs::read("/bin/busybox")?);
    fs.fs.symlink("bin/sh", "busybox");
    fs.file("bin/stapkit-workload", 0o755, workload);
    fs.file(
        "bin/stapkit-staprun",
        0o755,
        std::fs::read(&prepared.staprun)?,
    );
    fs.file("init", 0o755, INIT_SCRIPT.as_bytes().to_vec());
    fs.file(
        "cases/results-port",
        0o644,
        format!("{}\n", Arch::X86_64.results_device()).into_bytes(),
    );
    fs.file("cases/flavour", 0o644, "systemtap\n".into());
    fs.file("modules/modules.dep", 0o644, Vec::new());
    fs.file(
        "etc/passwd",
        0o644,
        "root:x:0:0:root:/root:/bin/sh\n".into(),
    );
    fs.file(
        "etc/group",
        0o644,
        "root:x:0:\nstapusr:x:156:\nstapdev:x:157:\n".into(),
    );
    // One case per module; the time limit only guards against a hang.
    let mut list = String::new();
    for (n, (name, data)) in modules.into_iter().enumerate() {
        let (tool, loader) = if name.starts_with("k_") {
            ("stapkit", "/bin/stapkit-staprun")
        } else {
            ("systemtap", "/usr/bin/staprun")
        };
        let dir = format!("cases/c{n}");
        fs.file(&format!("{dir}/module.ko"), 0o644, data);
        fs.file(&format!("{dir}/name"), 0o644, format!("{name}\n").into());
        fs.file(&format!("{dir}/timeout"), 0o644, "1200\n".into());
        for empty in ["args", "modules", "later"] {
            fs.file(&format!("{dir}/{empty}"), 0o644, Vec::new());
        }
        fs.file(
            &format!("{dir}/run"),
            0o644,
            measure_commands(tool, loader, calls, runs).into_bytes(),
        );
        writeln!(list, "c{n}").unwrap();
    }
    fs.file("cases/list", 0o644, list.into_bytes());

    let boot_dir = work.path().join("boot");
    std::fs::create_dir_all(&boot_dir)?;
    eprintln!(
        "overhead: booting {kernel} (console: {})",
        boot_dir.join("console.log").display()
    );
    let report = boot(
        &BootConfig {
            arch: Arch::X86_64,
            kernel: k.state.image_path(),
            memory_mib: 2048,
            cpus: 1,
            kvm: false,
            timeout: Duration::from_secs(3600),
            work_dir: boot_dir.clone(),
            kernel_args: Vec::new(),
            firmware: None,
        },
        &fs.fs.to_gzip(),
    )
    .map_err(|e| anyhow!("{e}"))?;
    if report.results.cases.is_empty() {
        let _ = work.keep();
        bail!(
            "the guest reported nothing ({:?}; console: {})",
            report.outcome,
            boot_dir.join("console.log").display()
        );
    }
    let mut stdout = String::new();
    for result in report.results.cases.values() {
        stdout.push_str(&String::from_utf8_lossy(&result.stdout));
        let stderr = String::from_utf8_lossy(&result.stderr);
        if !stderr.trim().is_empty() {
            eprintln!("guest stderr:\n{stderr}");
        }
    }
    print_figures(&stdout, calls, &report.elapsed, kernel)?;
    Ok(())
}

/// SystemTap's module `name` of `text`, built in the oracle's root.
/// Kept under the kernel cache (`bench/overhead/KEY.ko`, KEY over the
/// root's SystemTap, the kernel and the script), as the oracle keeps its
/// builds: a second run of the benchmark does not wait for SystemTap.
fn systemtap_module(
    cache: &Cache,
    stap_root: &oracle::StapRoot,
    k: &oracle::Kernel,
    name: &str,
    text: &str,
) -> Result<Vec<u8>> {
    // The kernel installed, as a user's SystemTap finds it (no module
    // of the kernel's is asked for).
    let machine = oracle::user_machine(cache, k, &BTreeMap::new())?;
    let setup: String = machine
        .mounts
        .iter()
        .map(|(_, dst)| format!("{dst}\n"))
        .collect();
    let key = oracle::content_key(&[
        stap_root.suite.as_bytes(),
        stap_root.version.as_bytes(),
        k.state.release.as_bytes(),
        k.state.version.as_bytes(),
        name.as_bytes(),
        text.as_bytes(),
        setup.as_bytes(),
    ]);
    let kept = cache.dir().join("bench/overhead").join(format!("{key}.ko"));
    if let Ok(ko) = std::fs::read(&kept) {
        return Ok(ko);
    }
    let root = stap_root.dir.as_path();
    let work = format!("/tmp/stapkit-overhead-{name}");
    let host_work = root.join(work.trim_start_matches('/'));
    let _ = std::fs::remove_dir_all(&host_work);
    std::fs::create_dir_all(&host_work)?;
    std::fs::write(host_work.join(format!("{name}.stp")), text)?;
    // `-u` only where SystemTap would elide the empty probe.
    let elided = text.contains("{}");
    let u = if elided { "-u" } else { "-p4" };
    let argv: Vec<String> = [
        "stap",
        "-p4",
        u,
        "-r",
        &machine.release,
        "-m",
        name,
        &format!("{name}.stp"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = oracle::in_root_with(root, &[&k.state.root], &machine.mounts, &work, &argv)?;
    if !out.status.success() {
        bail!(
            "SystemTap's stap -p4 {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ko = std::fs::read(host_work.join(format!("{name}.ko")))?;
    let _ = std::fs::remove_dir_all(&host_work);
    std::fs::create_dir_all(kept.parent().unwrap_or(cache.dir()))?;
    std::fs::write(&kept, &ko)?;
    Ok(ko)
}

/// Prints the table from the guest's `base|probe TOOL NAME getppid N NS`
/// lines.
fn print_figures(stdout: &str, calls: u64, elapsed: &Duration, kernel: &str) -> Result<()> {
    // (kind, module) -> best ns.
    let mut best: BTreeMap<(String, String), u64> = BTreeMap::new();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [kind @ ("base" | "probe"), _tool, module, "getppid", _, ns] = f[..] {
            let ns: u64 = ns.parse()?;
            let e = best
                .entry((kind.to_string(), module.to_string()))
                .or_insert(ns);
            *e = (*e).min(ns);
        }
    }
    let baseline = best
        .iter()
        .filter(|((kind, _), _)| kind == "base")
        .map(|(_, ns)| *ns)
        .min()
        .ok_or_else(|| anyhow!("the guest measured nothing:\n{stdout}"))?;
    let per_call = baseline as f64 / calls as f64;
    println!("probe overhead on {kernel} under QEMU TCG, one guest, {calls} getppid calls per run");
    println!("TCG makes absolute numbers meaningless: the ratio between the tools in the same guest is what counts.");
    println!("bare workload: {per_call:.0} ns per getppid call (best run)");
    println!(
        "{:<20} {:>16} {:>16} {:>8}",
        "script", "stapkit ns/hit", "SystemTap ns/hit", "ratio"
    );
    for (name, _, per_hit) in SCRIPTS
        .iter()
        .filter(|(n, _, _)| best.keys().any(|(_, m)| m == &format!("k_{n}")))
    {
        let cost = |module: String| {
            best.get(&("probe".to_string(), module))
                .map(|ns| (*ns as f64 - baseline as f64) / calls as f64)
        };
        let (ours, theirs) = (cost(format!("k_{name}")), cost(format!("s_{name}")));
        let show = |c: Option<f64>| c.map_or("-".to_string(), |c| format!("{c:.0}"));
        let ratio = match (ours, theirs) {
            (Some(o), Some(t)) if t > 0.0 => format!("{:.2}", o / t),
            _ => "-".to_string(),
        };
        let label = if *per_hit {
            name.to_string()
        } else {
            format!("{name} (per call)")
        };
        println!(
            "{label:<20} {:>16} {:>16} {:>8}",
            show(ours),
            show(theirs),
            ratio
        );
    }
    println!("guest time: {:.0?}", elapsed);
    Ok(())
}
