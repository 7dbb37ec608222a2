//! Building the oracle's cases: `stap -p4 -r TREE` (or only the
//! translator's passes) for every case in a root, on `--jobs` threads,
//! each build cached by content under `$STAPKIT_CACHE/oracle/builds/`,
//! with the kernel's -dbg files or a user's installed kernel
//! (`machine`) offered where SystemTap looks for them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Result};
use stapkit::kernel::cache::Cache;
use stapkit::kernel::HeaderTree;
use stapkit::matrix::substitute_symbols;

use super::content_key;
use super::machine::{self, Machine};
use super::programs::Workload;
use super::root::{in_root_own_bin, in_root_with, writable, Kernel, StapRoot};
use super::script::{module_name, OracleCase, OracleScript};

/// What `stap` did with one case.
#[derive(Debug, Clone, Default)]
pub(super) struct BuildResult {
    /// The command line, as run in the root (tree path abbreviated).
    pub(super) command: String,
    /// stap's exit status.
    pub(super) status: i32,
    /// stap's standard output.
    pub(super) stdout: Vec<u8>,
    /// stap's standard error.
    pub(super) stderr: Vec<u8>,
    /// The module, when pass 4 ran and succeeded.
    pub(super) module: Option<PathBuf>,
    /// Content key of the build (and of its run cache).
    pub(super) key: String,
}

/// Builds every case for `kernel` in `root`, in parallel, with caching.
pub(super) fn build_all(
    cache: &Cache,
    root: &StapRoot,
    kernel: &Kernel,
    scripts: &[OracleScript],
    workload: Option<&Workload>,
    jobs: Option<usize>,
) -> Result<BTreeMap<(String, String), BuildResult>> {
    let queue: Mutex<Vec<(&OracleScript, &OracleCase)>> = Mutex::new(
        scripts
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (s, c)))
            .rev()
            .collect(),
    );
    let results = Mutex::new(BTreeMap::new());
    let errors = Mutex::new(Vec::new());
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    // Test scripts are built as a user would on a machine with the
    // kernel's packages installed (see `machine`).
    let machine = if scripts.iter().any(|s| s.test) {
        let mut modules = BTreeMap::new();
        for case in scripts.iter().filter(|s| s.test).flat_map(|s| &s.cases) {
            for m in super::guest::kernel_modules(cache, kernel, case)? {
                modules.insert(m.name, m.file);
            }
        }
        Some(machine::user_machine(cache, kernel, &modules)?)
    } else {
        None
    };
    let machine = machine.as_ref();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let Some((script, case)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let machine = machine.filter(|_| script.test);
                match build_case(cache, root, kernel, machine, script, case, workload) {
                    Ok(r) => {
                        results
                            .lock()
                            .unwrap()
                            .insert((script.stem.clone(), case.name.clone()), r);
                    }
                    Err(e) => errors
                        .lock()
                        .unwrap()
                        .push(format!("{} {}: {e:#}", script.stem, case.name)),
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    if !errors.is_empty() {
        bail!("building: {}", errors.join("\n"));
    }
    Ok(results.into_inner().unwrap())
}

/// Builds one case (or returns the cached build).
fn build_case(
    cache: &Cache,
    root: &StapRoot,
    kernel: &Kernel,
    machine: Option<&Machine>,
    script: &OracleScript,
    case: &OracleCase,
    workload: Option<&Workload>,
) -> Result<BuildResult> {
    let tree = kernel.state.build_dir();
    let workload = if case.workload {
        Some(workload.ok_or_else(|| anyhow!("the workload was not built"))?)
    } else {
        None
    };
    // Only a build that reads user-space programs is given them (in
    // place or under `--sysroot`, below); a kernel-only script is built as
    // a user builds it on the target machine. (Under `--sysroot` SystemTap 5.1 also builds
    // its tracepoint query modules from headers named by their path in
    // the sysroot, which fail to compile: every `kernel.trace` is then
    // `no match`, or pass 4 looks for `SYSROOT/lib/modules/R/build`.)
    let workload = workload.filter(|_| reads_user_space(&script.text, &case.stap_options));
    // A test script's programs are installed in place, as on the machine
    // it runs on (with the kernel installed too): under `--sysroot`
    // SystemTap 5.1 builds no tracepoint probe, looks for a @cast's
    // program outside the sysroot, and finds no library by soname. Only a
    // case running a dynamically linked test program keeps the sysroot,
    // since the guest's C library (`stapkit::matrix::userland`) cannot
    // stand in for the root's own, which stap and the compiler run on.
    let in_place = workload.is_some()
        && machine.is_some()
        && (uses_tracepoints(&script.text)
            || !stapkit::matrix::programs::needs_userland(&case.staprun_args));
    let name = module_name(script, case);
    let file = format!("{}.stp", script.stem);
    let tree_facts = HeaderTree::from_fetched(kernel.state.clone()).map_err(|e| anyhow!("{e}"))?;
    let script_args: Vec<String> = case
        .script_args
        .iter()
        .map(|a| substitute_symbols(a, &tree_facts).map_err(|e| anyhow!("{e}")))
        .collect::<Result<_>>()?;
    let mut argv: Vec<String> = vec!["stap".into()];
    if !case.lists() && !case.stap_options.iter().any(|o| o.starts_with("-p")) {
        argv.push("-p4".into());
    }
    argv.extend([
        "-r".into(),
        machine.map_or_else(|| tree.display().to_string(), |m| m.release.clone()),
        "-m".into(),
        name.clone(),
    ]);
    if workload.is_some() && !in_place {
        // Relative to the build directory, where it is copied below.
        argv.push("--sysroot=sysroot".into());
    }
    argv.extend(case.stap_options.iter().cloned());
    // Arguments may start with '-' (stap's getopt takes options after
    // the script too).
    argv.push("--".into());
    argv.push(file.clone());
    argv.extend(script_args);
    let command = argv
        .iter()
        .map(|a| a.replace(&tree.display().to_string(), "$TREE"))
        .collect::<Vec<_>>()
        .join(" ");
    let workload_key = workload.map(Workload::key).unwrap_or_default();
    let mut mounts = match machine {
        Some(m) => m.mounts.clone(),
        None => debug_files(kernel),
    };
    // A script that loads the kernel's modules in its guest gets their
    // debug files, as a user with the -dbg package installed has them.
    let loads_modules = !case.guest_modules.is_empty() || !case.guest_modules_later.is_empty();
    let module_debug = match machine {
        Some(m) if loads_modules => m.module_debug.clone(),
        _ => Vec::new(),
    };
    mounts.extend(module_debug.iter().cloned());
    let key = content_key(&[
        root.suite.as_bytes(),
        root.version.as_bytes(),
        kernel.state.release.as_bytes(),
        kernel.state.version.as_bytes(),
        command.as_bytes(),
        script.text.as_bytes(),
        &workload_key,
        // Where the kernel's files are offered changes what SystemTap finds.
        mounts
            .iter()
            .map(|(_, dst)| format!("{dst}\n"))
            .collect::<String>()
            .as_bytes(),
        if in_place {
            b"installed in place, in a root with /bin of its own"
        } else if machine.is_some() && workload.is_some() {
            b"and in the sysroot"
        } else {
            &[]
        },
    ]);
    let dir = cache.dir().join("oracle/builds").join(&key);
    let module = dir.join(format!("{name}.ko"));
    let mut result = BuildResult {
        command,
        key: key.clone(),
        ..Default::default()
    };
    if dir.join("done").is_file() {
        result.status = std::fs::read_to_string(dir.join("status"))?
            .trim()
            .parse()?;
        result.stdout = std::fs::read(dir.join("stdout"))?;
        result.stderr = std::fs::read(dir.join("stderr"))?;
        result.module = module.is_file().then_some(module);
        return Ok(result);
    }
    eprintln!(
        "oracle: stap {} {} ({})",
        script.stem, case.name, root.suite
    );
    let work = format!("/tmp/stapkit-oracle/{key}");
    let host_work = root.dir.join(work.trim_start_matches('/'));
    if let (true, Some(w)) = (in_place, workload) {
        let userland: Vec<&String> = w.userland_files().map(|(p, _)| p).collect();
        let files: Vec<(PathBuf, String)> = w
            .files
            .iter()
            .map(|(p, _)| p)
            .filter(|p| !userland.contains(p))
            .filter_map(|p| Some((host_work.join("sysroot").join(p), installed_path(p)?)))
            .collect();
        mounts = install_in_place(mounts, files);
    } else if let (Some(m), Some(_)) = (machine, workload) {
        // Under `--sysroot` SystemTap looks for the kernel in the sysroot,
        // as in a target's root file system: the kernel is there too.
        mounts.extend(
            m.mounts
                .iter()
                .chain(&module_debug)
                .map(|(src, dst)| (src.clone(), format!("{work}/sysroot{dst}"))),
        );
    }
    if host_work.exists() {
        std::fs::remove_dir_all(&host_work)?;
    }
    std::fs::create_dir_all(&host_work)?;
    std::fs::write(host_work.join(&file), &script.text)?;
    for (path, bytes) in workload.iter().flat_map(|w| &w.files) {
        let at = host_work.join("sysroot").join(path);
        std::fs::create_dir_all(at.parent().unwrap_or(&host_work))?;
        std::fs::write(at, bytes)?;
    }
    let out = if in_place {
        in_root_own_bin(&root.dir, &[&kernel.state.root], &mounts, &work, &argv)?
    } else {
        in_root_with(&root.dir, &[&kernel.state.root], &mounts, &work, &argv)?
    };
    result.status = out.status.code().unwrap_or(-1);
    result.stdout = out.stdout;
    result.stderr = out.stderr;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let built = host_work.join(format!("{name}.ko"));
    if case.last_pass() >= 4 && result.status == 0 && built.is_file() {
        std::fs::copy(&built, &module)?;
        result.module = Some(module);
    }
    std::fs::write(dir.join("status"), format!("{}\n", result.status))?;
    std::fs::write(dir.join("stdout"), &result.stdout)?;
    std::fs::write(dir.join("stderr"), &result.stderr)?;
    std::fs::write(dir.join("command"), format!("{}\n", result.command))?;
    std::fs::write(dir.join("done"), "")?;
    std::fs::remove_dir_all(&host_work)?;
    Ok(result)
}

/// Where a file of the workload (its path under the sysroot) is
/// installed on the machine: at the path the guest has it (programs in
/// `/bin`, which the build's root has as a directory of its own, see
/// `root::in_root_own_bin`), debug files only at their build-id paths
/// under `/usr/lib/debug`, as a distribution installs them (not the
/// copies beside the programs that a build under `--sysroot` has, see
/// `programs`).
fn installed_path(path: &str) -> Option<String> {
    match path.strip_prefix("bin/") {
        Some(name) if name.ends_with(".debug") => None,
        _ => Some(format!("/{path}")),
    }
}

/// `mounts` (the installed kernel's) with `files` (host file, path in the
/// root) bound at their paths, a bound directory they go into (the
/// kernel's `/usr/lib/debug`) made writable right after its bind
/// (`root::writable`), so that the cache is not written and what is bound
/// below it later stays visible. (The root itself is written only through
/// its own writable layer, `root::in_root_own_bin`.)
fn install_in_place(
    mounts: Vec<(PathBuf, String)>,
    files: Vec<(PathBuf, String)>,
) -> Vec<(PathBuf, String)> {
    let under = |dir: &str| files.iter().any(|(_, d)| d.starts_with(&format!("{dir}/")));
    let mut out = Vec::new();
    for (src, dst) in mounts {
        let bound_dir = under(&dst);
        out.push((src, dst.clone()));
        if bound_dir {
            out.push(writable(&dst));
        }
    }
    out.extend(files);
    out
}

/// Whether `text` probes a tracepoint (`kernel.trace`).
fn uses_tracepoints(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .any(|l| l.contains("kernel.trace("))
}

/// Whether SystemTap needs the guest's programs to build `text` with
/// `options`: a probe on a program (`process`), user-space symbols or
/// stacks (`-d`, `--ldd`, the `u*` stack and symbol functions), or a
/// type from a program (`@cast`/`@var` naming a path).
fn reads_user_space(text: &str, options: &[String]) -> bool {
    const WORDS: &[&str] = &[
        "process(",
        "process.",
        "ubacktrace",
        "ucallers",
        "ustack",
        "usym",
        "umodname",
        "uaddr",
        "\"/bin/",
        "\"/usr/",
        "\"/lib",
    ];
    let code = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    options
        .iter()
        .any(|o| o.starts_with("-d") || o.starts_with("--ldd"))
        || WORDS.iter().any(|w| {
            code.match_indices(w).any(|(at, _)| {
                // `kprocess.` is the kernel's tapset, not a program
                // (`print_ubacktrace` is a user-stack function).
                !w.starts_with("process")
                    || !code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

/// The kernel's -dbg files where SystemTap looks for them, when they were
/// fetched: the DWARF vmlinux and the real System.map (the header
/// package's is a placeholder), so SystemTap resolves kernel functions,
/// the syscall tapset and symbols as it would on a host with the -dbg
/// package installed.
pub(crate) fn debug_files(kernel: &Kernel) -> Vec<(PathBuf, String)> {
    let release = &kernel.state.release;
    let mut files = Vec::new();
    let in_kernel = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| kernel.state.root.join(p))
            .filter(|p| p.is_file())
    };
    // SystemTap with `-r TREE` reads TREE/vmlinux (so the tree gets a
    // writable overlay in the build's namespace; the cache is untouched)
    // and /boot/System.map-R, R being the tree's
    // include/config/kernel.release (6.1.192 for 6.1.0-57-amd64).
    let tree = kernel.state.build_dir();
    let built_as = std::fs::read_to_string(tree.join("include/config/kernel.release"))
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|_| release.clone());
    if let Some(vmlinux) = in_kernel(&kernel.state.debug_vmlinux) {
        files.push((vmlinux.clone(), format!("{}/vmlinux", tree.display())));
        files.push((vmlinux, format!("/usr/lib/debug/boot/vmlinux-{release}")));
    }
    if let Some(map) = in_kernel(&kernel.state.system_map) {
        files.push((map.clone(), format!("/boot/System.map-{release}")));
        files.push((map.clone(), format!("/boot/System.map-{built_as}")));
        if in_kernel(&kernel.state.debug_vmlinux).is_some() {
            files.push((map, format!("{}/System.map", tree.display())));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::{install_in_place, installed_path, reads_user_space};
    use std::path::PathBuf;

    #[test]
    fn programs_are_installed_where_a_distribution_puts_them() {
        assert_eq!(
            installed_path("bin/userdebug").as_deref(),
            Some("/bin/userdebug")
        );
        assert_eq!(installed_path("bin/userdebug.debug"), None);
        assert_eq!(
            installed_path("usr/lib/debug/.build-id/1c/1cf7.debug").as_deref(),
            Some("/usr/lib/debug/.build-id/1c/1cf7.debug")
        );
        assert_eq!(
            installed_path("usr/lib/libuserlib.so.1").as_deref(),
            Some("/usr/lib/libuserlib.so.1")
        );
    }

    #[test]
    fn installing_in_place_writes_neither_the_root_nor_the_cache() {
        let m = |src: &str, dst: &str| (PathBuf::from(src), dst.to_string());
        let w = |dst: &str| (PathBuf::new(), dst.to_string());
        let kernel = vec![
            m("/cache/k/usr/lib/debug", "/usr/lib/debug"),
            m(
                "/cache/k/usr/lib/linux-kbuild-6.1",
                "/usr/lib/linux-kbuild-6.1",
            ),
            m(
                "/cache/m/brd.ko.debug",
                "/usr/lib/debug/lib/modules/R/brd.ko",
            ),
        ];
        let files = vec![
            m("/w/sysroot/bin/userdebug", "/bin/userdebug"),
            m(
                "/w/sysroot/usr/lib/debug/.build-id/1c/f7.debug",
                "/usr/lib/debug/.build-id/1c/f7.debug",
            ),
        ];
        assert_eq!(
            install_in_place(kernel, files),
            vec![
                // The cache's directory, right after its bind and before
                // the files bound below it.
                m("/cache/k/usr/lib/debug", "/usr/lib/debug"),
                w("/usr/lib/debug"),
                m(
                    "/cache/k/usr/lib/linux-kbuild-6.1",
                    "/usr/lib/linux-kbuild-6.1"
                ),
                m(
                    "/cache/m/brd.ko.debug",
                    "/usr/lib/debug/lib/modules/R/brd.ko"
                ),
                m("/w/sysroot/bin/userdebug", "/bin/userdebug"),
                m(
                    "/w/sysroot/usr/lib/debug/.build-id/1c/f7.debug",
                    "/usr/lib/debug/.build-id/1c/f7.debug"
                ),
            ]
        );
    }

    #[test]
    fn only_user_space_scripts_get_the_sysroot() {
        let none: &[String] = &[];
        assert!(reads_user_space(
            "probe process(\"/bin/stapkit-workload\").function(\"main\") {}",
            none
        ));
        assert!(reads_user_space(
            "probe timer.s(1) { print_ubacktrace() }",
            none
        ));
        assert!(reads_user_space(
            "probe begin {}",
            &["-d".into(), "/bin/sh".into()]
        ));
        assert!(!reads_user_space(
            "# matrix: -c \"stapkit-workload kill 15\"\nprobe kprocess.exec { println(filename) }\n\
             probe kernel.trace(\"sched:*\") {}",
            none
        ));
    }
}
