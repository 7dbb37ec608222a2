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
//! shared libraries), under `vm-images/oracle/init.sh`, one boot per
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
//! can be compared with stapkit's.
//!
//! **Architecture Invariant:** nothing here loads a module on the host and
//! nothing here reads or copies SystemTap's sources: only its Debian
//! packages' binaries are run, and only their observable behaviour is
//! recorded (under `docs/oracle/outputs/`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::cache::{Cache, FetchState};
use stapkit::kernel::fetch::{fetch, FetchOptions};
use stapkit::kernel::{Catalog, HeaderTree};
use stapkit::matrix::render::{render, Outcome};
use stapkit::matrix::script::{ModuleRequest, Requirement, TestScript};
use stapkit::matrix::{module_loads, substitute_symbols};
use stapkit::vm::guest::{check_static_binary, modules_dep, shell_quote, KernelModuleLoad};
use stapkit::vm::initramfs::Initramfs;
use stapkit::vm::qemu::{boot, BootConfig, BootOutcome};
use stapkit::vm::results::CaseResult;
use stapkit::vm::Arch;
use xshell::{cmd, Shell};

use crate::oracle_frontend;
use crate::oracle_machine::{self, Machine};
use crate::oracle_record;
use crate::setup;

/// The guest's `/init`.
const INIT_SCRIPT: &str = include_str!("../../vm-images/oracle/init.sh");

/// Packages every oracle root gets (the kernels' compilers are added).
const ROOT_PACKAGES: &[&str] = &["systemtap", "make", "libc6-dev", "dwarves"];

/// Debian's archive.
const MIRROR: &str = "http://deb.debian.org/debian";

/// Seconds a case may run before staprun gets SIGINT, unless it says.
const DEFAULT_TIMEOUT_SECS: u32 = 10;

/// Outputs longer than this many lines are shown head and tail only.
const MAX_RENDERED_LINES: usize = 400;

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
    /// every `tests/oracle/*.stp`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// One script of the oracle and its cases.
#[derive(Debug, Clone)]
struct OracleScript {
    /// The `.stp` file as given.
    path: PathBuf,
    /// File name without extension.
    stem: String,
    /// The script's text.
    text: String,
    /// What to build and run.
    cases: Vec<OracleCase>,
    /// A QEMU test script (`tests/scripts/`), run as stap-matrix runs it.
    test: bool,
}

/// One build (and run) of a script.
#[derive(Debug, Clone)]
struct OracleCase {
    /// Name within the script.
    name: String,
    /// stap options (before the script).
    stap_options: Vec<String>,
    /// Script arguments (after the script).
    script_args: Vec<String>,
    /// Seconds before staprun is interrupted.
    timeout_secs: u32,
    /// staprun options (before the module).
    staprun_args: Vec<String>,
    /// The case probes `/bin/stapkit-workload` (word `workload`).
    workload: bool,
    /// The module name, when not the oracle's own (test scripts keep
    /// stap-matrix's `t_NAME`, which their output may show).
    module: Option<String>,
    /// The kernel's own modules the guest loads (or only carries, for the
    /// case to modprobe) for a test script's case.
    guest_modules: Vec<ModuleRequest>,
    guest_modules_later: Vec<ModuleRequest>,
    /// A test script's `# requires: debuginfo`.
    requires_debuginfo: bool,
    /// Guest shell commands run instead of `staprun MODULE`
    /// (`# oracle-run:` lines).
    run: Option<String>,
}

impl OracleCase {
    /// The pass stap stops after (`-pN`; 4 unless the case says).
    fn last_pass(&self) -> u32 {
        // `-l`/`-L` stop after elaboration (and refuse `-p`).
        if self.lists() {
            return 2;
        }
        self.stap_options
            .iter()
            .rev()
            .find_map(|o| o.strip_prefix("-p").and_then(|n| n.parse().ok()))
            .unwrap_or(4)
    }
}

impl OracleCase {
    /// Whether the case lists probe points (`-l`/`-L PROBE`).
    fn lists(&self) -> bool {
        self.stap_options.iter().any(|o| o == "-l" || o == "-L")
    }
}

/// A root with Debian's SystemTap.
#[derive(Debug, Clone)]
pub(crate) struct StapRoot {
    /// Debian suite.
    pub(crate) suite: String,
    /// The root directory.
    pub(crate) dir: PathBuf,
    /// First line of `stap -V`.
    pub(crate) version: String,
}

/// A kernel to build for and boot.
#[derive(Debug, Clone)]
pub(crate) struct Kernel {
    /// Manifest name.
    pub(crate) name: String,
    /// What stap-prep fetched.
    pub(crate) state: FetchState,
}

/// What `stap` did with one case.
#[derive(Debug, Clone, Default)]
struct BuildResult {
    /// The command line, as run in the root (tree path abbreviated).
    command: String,
    /// stap's exit status.
    status: i32,
    /// stap's standard output.
    stdout: Vec<u8>,
    /// stap's standard error.
    stderr: Vec<u8>,
    /// The module, when pass 4 ran and succeeded.
    module: Option<PathBuf>,
    /// Content key of the build (and of its run cache).
    key: String,
}

/// What the guest reported for one case.
#[derive(Debug, Clone)]
enum RunResult {
    /// Nothing to run (translator-only case or failed build).
    NotBuilt,
    /// staprun ran.
    Ran(CaseResult),
    /// The guest died before reporting it.
    NotRun(String),
}

/// Runs the oracle.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    if options.frontend {
        return oracle_frontend::run(sh, options);
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
        .map(|k| fetch_kernel(&cache, k))
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
        let path =
            setup::build_staprun(sh, setup::GuestArch::X86_64)?.with_file_name("stapkit-workload");
        Some(std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
    } else {
        None
    };
    let workload = workload.as_deref();

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

/// Saves each test script's outcome on `kernel` beside it (`--record`);
/// a case the guest did not report is a failure, not a record.
fn record_all(
    root: &StapRoot,
    kernel: &Kernel,
    scripts: &[OracleScript],
    builds: &BTreeMap<(String, String), BuildResult>,
    runs: &BTreeMap<(String, String), RunResult>,
    failures: &mut Vec<String>,
) -> Result<()> {
    let tree = kernel.state.build_dir().display().to_string();
    for script in scripts.iter().filter(|s| s.test) {
        let id = (script.stem.clone(), "main".to_string());
        let build = &builds[&id];
        // The script's own `# normalise:` rewrites, as stap-matrix applies
        // them to stapkit's output.
        let rules = TestScript::load(&script.path)
            .map_err(|e| anyhow!("{e}"))?
            .normalise;
        let ran = match &runs[&id] {
            RunResult::Ran(r) => Some(normalised(ran_outcome(r), &rules)),
            _ => None,
        };
        let stderr = String::from_utf8_lossy(&build.stderr).replace(&tree, "$TREE");
        let Some(text) = oracle_record::outcome_text(build.status, &stderr, ran) else {
            failures.push(format!(
                "{} on {}: the guest did not report it",
                script.stem, kernel.name
            ));
            continue;
        };
        let provenance = oracle_record::Provenance {
            systemtap: format!("{} (Debian {})", root.version, root.suite),
            kernel: &kernel.name,
            release: format!("{} ({})", kernel.state.release, kernel.state.version),
        };
        oracle_record::save(&script.path, &provenance, &text)?;
        eprintln!("oracle: recorded {} on {}", script.stem, kernel.name);
    }
    Ok(())
}

/// Splits the trailing arguments into stap options and script paths.
fn split_args(args: &[String]) -> Result<(Vec<String>, Vec<PathBuf>)> {
    let mut options = Vec::new();
    let mut scripts = Vec::new();
    for arg in args {
        if arg.ends_with(".stp") && !arg.starts_with('-') {
            let path = PathBuf::from(arg);
            if !path.is_file() {
                bail!("{arg}: no such script");
            }
            scripts.push(path);
        } else {
            options.push(arg.clone());
        }
    }
    if scripts.is_empty() {
        let dir = setup::project_root().join("tests/oracle");
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "stp") {
                scripts.push(path);
            }
        }
        scripts.sort();
    }
    Ok((options, scripts))
}

/// Whether `path` is one of the QEMU test scripts (`tests/scripts/`).
fn is_test_script(path: &Path) -> bool {
    let dir = path
        .parent()
        .and_then(|d| d.canonicalize().ok())
        .unwrap_or_default();
    dir == setup::project_root().join("tests/scripts")
}

/// A QEMU test script as one case built and run the way stap-matrix does
/// (`stapkit::matrix::build_one`): its `# matrix:` options and arguments,
/// `-D MAXTRYLOCK=1000000` unless it sets its own, the workload under
/// `--sysroot`, its staprun options, guest modules and time limit, and
/// stap-matrix's module name.
fn load_test_script(path: &Path, global_options: &[String]) -> Result<OracleScript> {
    let test = TestScript::load(path).map_err(|e| anyhow!("{e}"))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (opts, args) = match test.stap_args.iter().position(|a| a == "--") {
        Some(i) => (&test.stap_args[..i], &test.stap_args[i + 1..]),
        None => (&test.stap_args[..], &[][..]),
    };
    let mut stap_options = global_options.to_vec();
    if !opts.iter().any(|a| a.contains("MAXTRYLOCK")) {
        stap_options.extend(["-D".to_string(), "MAXTRYLOCK=1000000".to_string()]);
    }
    stap_options.extend(opts.iter().cloned());
    let case = OracleCase {
        name: "main".into(),
        stap_options,
        script_args: args.to_vec(),
        timeout_secs: test.timeout_secs,
        staprun_args: test.staprun_args.clone(),
        workload: true,
        module: Some(test.module_name()),
        guest_modules: test.guest_modules.clone(),
        guest_modules_later: test.guest_modules_later.clone(),
        requires_debuginfo: test.requires.contains(&Requirement::Debuginfo),
        run: test.guest_run.clone(),
    };
    Ok(OracleScript {
        path: path.to_path_buf(),
        stem: test.name,
        text,
        cases: vec![case],
        test: true,
    })
}

/// Reads a script and its `# oracle:` / `# oracle-case:` header lines.
fn load_script(path: &Path, global_options: &[String]) -> Result<OracleScript> {
    if is_test_script(path) {
        return load_test_script(path, global_options);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .ok_or_else(|| {
            anyhow!(
                "{}: use letters, digits, '_' and '-' in names",
                path.display()
            )
        })?
        .to_string();
    let mut common = OracleCase {
        name: "main".into(),
        stap_options: global_options.to_vec(),
        script_args: Vec::new(),
        timeout_secs: DEFAULT_TIMEOUT_SECS,
        staprun_args: Vec::new(),
        workload: false,
        module: None,
        guest_modules: Vec::new(),
        guest_modules_later: Vec::new(),
        requires_debuginfo: false,
        run: None,
    };
    let mut case_lines = Vec::new();
    let mut run_lines: Vec<(String, String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), n + 1);
        if let Some(rest) = line.strip_prefix("# oracle-run:") {
            let (case, command) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
            if command.trim().is_empty() {
                bail!(
                    "{}: '# oracle-run:' needs a case name (or *) and a command",
                    at()
                );
            }
            run_lines.push((at(), case.to_string(), command.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("# oracle-case:") {
            case_lines.push((
                at(),
                split_words(rest).map_err(|e| anyhow!("{}: {e}", at()))?,
            ));
        } else if let Some(rest) = line.strip_prefix("# oracle:") {
            let words = split_words(rest).map_err(|e| anyhow!("{}: {e}", at()))?;
            apply_words(&mut common, &words).map_err(|e| anyhow!("{}: {e}", at()))?;
        }
    }
    let mut cases = Vec::new();
    for (at, words) in case_lines {
        let Some((name, rest)) = words.split_first() else {
            bail!("{at}: '# oracle-case:' needs a case name");
        };
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!("{at}: case names use letters, digits, '_' and '-'");
        }
        let mut case = common.clone();
        case.name = name.clone();
        apply_words(&mut case, rest).map_err(|e| anyhow!("{at}: {e}"))?;
        if cases.iter().any(|c: &OracleCase| c.name == case.name) {
            bail!("{at}: case '{name}' is defined twice");
        }
        cases.push(case);
    }
    if cases.is_empty() {
        cases.push(common);
    }
    for (at, name, command) in run_lines {
        let mut found = false;
        for case in cases.iter_mut().filter(|c| name == "*" || c.name == name) {
            let run = case.run.get_or_insert_with(String::new);
            run.push_str(&command);
            run.push('\n');
            found = true;
        }
        if !found {
            bail!("{at}: '# oracle-run:' names no case '{name}'");
        }
    }
    Ok(OracleScript {
        path: path.to_path_buf(),
        stem,
        text,
        cases,
        test: false,
    })
}

/// Applies header words: `timeout=N`, stap options, `--` then script args.
fn apply_words(case: &mut OracleCase, words: &[String]) -> Result<(), String> {
    let mut args = false;
    for word in words {
        if args {
            case.script_args.push(word.clone());
        } else if word == "--" {
            args = true;
        } else if word == "workload" {
            case.workload = true;
        } else if let Some(arg) = word.strip_prefix("staprun=") {
            case.staprun_args.push(arg.to_string());
        } else if let Some(secs) = word.strip_prefix("timeout=") {
            case.timeout_secs = secs
                .parse()
                .map_err(|_| format!("timeout must be whole seconds, not '{secs}'"))?;
        } else {
            case.stap_options.push(word.clone());
        }
    }
    Ok(())
}

/// Splits on whitespace, honouring double quotes.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let (mut cur, mut in_word, mut quoted) = (String::new(), false, false);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            // `\"` is a quote inside a word (`process(\"/bin/sh\").*`).
            '\\' => {
                cur.extend(chars.next());
                in_word = true;
            }
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Installs mmdebstrap from the machine's own archive when missing.
pub(crate) fn install_mmdebstrap(sh: &Shell) -> Result<()> {
    if cmd!(sh, "mmdebstrap --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
    {
        return Ok(());
    }
    eprintln!("oracle: installing mmdebstrap");
    cmd!(
        sh,
        "apt-get install -y -qq --no-install-recommends mmdebstrap"
    )
    .env("DEBIAN_FRONTEND", "noninteractive")
    .run()
    .context("installing mmdebstrap (run as root)")?;
    Ok(())
}

/// Fetches (or finds cached) the kernel `name`.
pub(crate) fn fetch_kernel(cache: &Cache, name: &str) -> Result<Kernel> {
    let catalog = Catalog::load()?;
    let manifest = catalog.get(name)?;
    let fetched = fetch(manifest, cache, &FetchOptions::default(), &mut |line| {
        eprintln!("{line}")
    })
    .map_err(|e| anyhow!("{e}"))?;
    Ok(Kernel {
        name: name.to_string(),
        state: fetched.state().clone(),
    })
}

/// The compiler package the kernel `name` was built with.
pub(crate) fn kernel_compiler(name: &str) -> Result<String> {
    Ok(Catalog::load()?.get(name)?.toolchain.compiler.clone())
}

/// Makes (or reuses) the root of `suite` with SystemTap and `compilers`.
pub(crate) fn prepare_root(
    cache: &Cache,
    suite: &str,
    compilers: &BTreeSet<String>,
) -> Result<StapRoot> {
    if !suite.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        bail!("'{suite}' is not a Debian suite name");
    }
    let roots = cache.dir().join("oracle/roots");
    let dir = roots.join(suite);
    let stamp = dir.join(".stapkit-oracle-packages");
    let mut wanted: BTreeSet<String> = ROOT_PACKAGES.iter().map(|p| p.to_string()).collect();
    wanted.extend(compilers.iter().cloned());
    if !stamp.is_file() {
        let tmp = roots.join(format!("{suite}.tmp"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&roots)?;
        eprintln!("oracle: making a {suite} root with {}", join(&wanted, ","));
        let include = format!("--include={}", join(&wanted, ","));
        let status = Command::new("mmdebstrap")
            .args(["--variant=apt", "--architectures=amd64", "--quiet"])
            // Suites such as sid may be served from a snapshot whose
            // Release file has expired.
            .arg("--aptopt=Acquire::Check-Valid-Until \"false\"")
            .arg(include)
            .arg(suite)
            .arg(&tmp)
            .arg(MIRROR)
            .status()
            .context("running mmdebstrap")?;
        if !status.success() {
            bail!("mmdebstrap {suite} failed ({status}); is '{suite}' a suite of {MIRROR}?");
        }
        std::fs::write(
            tmp.join(".stapkit-oracle-packages"),
            join(&wanted, "\n") + "\n",
        )?;
        std::fs::rename(&tmp, &dir)?;
    }
    let have: BTreeSet<String> = std::fs::read_to_string(&stamp)?
        .lines()
        .map(str::to_string)
        .collect();
    let missing: Vec<String> = wanted.difference(&have).cloned().collect();
    if !missing.is_empty() {
        eprintln!(
            "oracle: installing {} into the {suite} root",
            missing.join(" ")
        );
        std::fs::copy("/etc/resolv.conf", dir.join("etc/resolv.conf"))?;
        let mut argv = vec!["sh".to_string(), "-c".to_string()];
        argv.push(format!(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
             --no-install-recommends {}",
            missing.join(" ")
        ));
        let out = in_root(&dir, &[], "/", &argv)?;
        if !out.status.success() {
            bail!(
                "installing {} into {}: {}",
                missing.join(" "),
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::fs::write(
            &stamp,
            join(&have.union(&wanted).cloned().collect(), "\n") + "\n",
        )?;
    }
    let out = in_root(&dir, &[], "/", &["stap".into(), "-V".into()])?;
    // `stap -V` prints to stdout in 5.x, to stderr in older releases.
    let version = [&out.stdout, &out.stderr]
        .iter()
        .find_map(|o| {
            String::from_utf8_lossy(o)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown SystemTap".to_string());
    Ok(StapRoot {
        suite: suite.to_string(),
        dir,
        version,
    })
}

fn join(set: &BTreeSet<String>, sep: &str) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(sep)
}

/// Runs `argv` in `root` (cwd `cwd`, a clean environment) in a private
/// mount namespace where `binds` are visible at their own paths and /proc
/// and /dev are mounted.
fn in_root(root: &Path, binds: &[&Path], cwd: &str, argv: &[String]) -> Result<Output> {
    in_root_with(root, binds, &[], cwd, argv)
}

/// [`in_root`], with `files` (host file or directory, path in the root)
/// bound over the root's, in order (made empty first where missing).
pub(crate) fn in_root_with(
    root: &Path,
    binds: &[&Path],
    files: &[(PathBuf, String)],
    cwd: &str,
    argv: &[String],
) -> Result<Output> {
    const SETUP: &str = r#"set -e
root=$1; cwd=$2; shift 2
IFS='
'
for b in $ORACLE_BINDS; do mkdir -p "$root$b"; mount --bind "$b" "$root$b"; done
# A writable layer over directories (a kernel tree) for the files below.
for o in $ORACLE_OVERLAYS; do
    layer=$(mktemp -d); mkdir "$layer/u" "$layer/w"
    mount -t overlay overlay -o "lowerdir=$root$o,upperdir=$layer/u,workdir=$layer/w" "$root$o"
done
for f in $ORACLE_FILES; do
    src=${f%%	*}; dst=$root${f#*	}
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "${dst%/*}"; [ -e "$dst" ] || : > "$dst"; fi
    mount --bind "$src" "$dst"
done
unset IFS
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
    /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
"#;
    let binds: Vec<String> = binds.iter().map(|b| b.display().to_string()).collect();
    Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            SETUP,
            "sh",
        ])
        .arg(root)
        .arg(cwd)
        .args(argv)
        .env("ORACLE_BINDS", binds.join("\n"))
        .env(
            "ORACLE_OVERLAYS",
            files
                .iter()
                .filter_map(|(_, dst)| dst.strip_suffix("/vmlinux"))
                .filter(|dir| dir.contains("/usr/src/"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .env(
            "ORACLE_FILES",
            files
                .iter()
                .map(|(src, dst)| format!("{}\t{dst}", src.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} in {}", argv.join(" "), root.display()))
}

/// FNV-1a, 64 bits: a stable content key for the caches.
pub(crate) fn content_key(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for &b in part.iter().chain(&[0xffu8]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

/// The module name of a case (a C identifier stap accepts).
fn module_name(script: &OracleScript, case: &OracleCase) -> String {
    if let Some(name) = &case.module {
        return name.clone();
    }
    let raw = if script.cases.len() == 1 && case.name == "main" {
        format!("o_{}", script.stem)
    } else {
        format!("o_{}_{}", script.stem, case.name)
    };
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    name.truncate(55);
    name
}

/// Builds every case for `kernel` in `root`, in parallel, with caching.
fn build_all(
    cache: &Cache,
    root: &StapRoot,
    kernel: &Kernel,
    scripts: &[OracleScript],
    workload: Option<&[u8]>,
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
    // kernel's packages installed (see `oracle_machine`).
    let machine = if scripts.iter().any(|s| s.test) {
        Some(oracle_machine::user_machine(cache, kernel)?)
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
    workload: Option<&[u8]>,
) -> Result<BuildResult> {
    let tree = kernel.state.build_dir();
    let workload = if case.workload {
        Some(workload.ok_or_else(|| anyhow!("the workload was not built"))?)
    } else {
        None
    };
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
    if workload.is_some() {
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
    let mut mounts = match machine {
        Some(m) => m.mounts.clone(),
        None => debug_files(kernel),
    };
    let key = content_key(&[
        root.suite.as_bytes(),
        root.version.as_bytes(),
        kernel.state.release.as_bytes(),
        kernel.state.version.as_bytes(),
        command.as_bytes(),
        script.text.as_bytes(),
        workload.unwrap_or_default(),
        // Where the kernel's files are offered changes what SystemTap finds.
        mounts
            .iter()
            .map(|(_, dst)| format!("{dst}\n"))
            .collect::<String>()
            .as_bytes(),
        if machine.is_some() && workload.is_some() {
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
    if let (Some(m), Some(_)) = (machine, workload) {
        // Under `--sysroot` SystemTap looks for the kernel in the sysroot,
        // as in a target's root file system: the kernel is there too.
        mounts.extend(
            m.mounts
                .iter()
                .map(|(src, dst)| (src.clone(), format!("{work}/sysroot{dst}"))),
        );
    }
    let host_work = root.dir.join(work.trim_start_matches('/'));
    if host_work.exists() {
        std::fs::remove_dir_all(&host_work)?;
    }
    std::fs::create_dir_all(&host_work)?;
    std::fs::write(host_work.join(&file), &script.text)?;
    if let Some(workload) = workload {
        let bin = host_work.join("sysroot/bin");
        std::fs::create_dir_all(&bin)?;
        std::fs::write(bin.join("stapkit-workload"), workload)?;
    }
    let out = in_root_with(&root.dir, &[&kernel.state.root], &mounts, &work, &argv)?;
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

/// Runs every built module of `scripts` in one boot of `kernel` (cases
/// with a cached run are not run again unless `--rerun`).
fn run_all(
    cache: &Cache,
    root: &StapRoot,
    kernel: &Kernel,
    scripts: &[OracleScript],
    builds: &BTreeMap<(String, String), BuildResult>,
    workload: Option<&[u8]>,
    options: &Options,
) -> Result<BTreeMap<(String, String), RunResult>> {
    let guest_files = guest_files(root)?;
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
                if case.workload {
                    workload.unwrap_or_default()
                } else {
                    &[]
                },
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
                    cache_dir: dir,
                });
            }
        }
    }
    if todo.is_empty() {
        return Ok(runs);
    }

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
        fs.fs.file("bin/stapkit-workload", 0o755, workload.to_vec());
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
    fs.fs.file(
        "cases/results-port",
        0o644,
        format!("{}\n", Arch::X86_64.results_device()),
    );
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
        kernel_args: Vec::new(),
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
    Ok(runs)
}

/// The kernel's own modules a test script's case asks for, with their
/// dependencies, in load order (as stap-matrix provides them).
fn kernel_modules(
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
    /// Where its run is cached.
    cache_dir: PathBuf,
}

/// An initramfs that creates parent directories on demand.
#[derive(Default)]
struct GuestFs {
    fs: Initramfs,
    made: BTreeSet<String>,
}

impl GuestFs {
    fn dir(&mut self, path: &str) {
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

    fn file(&mut self, path: &str, perm: u32, data: Vec<u8>) {
        let path = path.trim_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
        self.fs.file(path, perm, data);
    }
}

/// SystemTap's staprun and stapio from a root, with everything they load.
struct GuestFiles {
    /// Guest path (relative) to contents.
    files: BTreeMap<String, Vec<u8>>,
    /// Top-level symbolic links of the root's merged /usr (`lib` -> `usr/lib`).
    links: Vec<(String, String)>,
    /// Content key of all of it.
    key: String,
}

/// Collects staprun, stapio, their shared libraries and the dynamic loader
/// from `root` (found with the root's own `ldd`).
fn guest_files(root: &StapRoot) -> Result<GuestFiles> {
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

/// The text saved for one script: every case's stap command, translator
/// output and (for built modules) staprun's outcome in stap-matrix's
/// expected-file form, plus the kernel log.
fn render_script(
    root: &StapRoot,
    kernel: &Kernel,
    script: &OracleScript,
    builds: &BTreeMap<(String, String), BuildResult>,
    runs: &BTreeMap<(String, String), RunResult>,
) -> String {
    let mut out = String::new();
    let path = script
        .path
        .strip_prefix(setup::project_root())
        .unwrap_or(&script.path);
    writeln!(out, "# oracle: {}", path.display()).unwrap();
    writeln!(out, "# systemtap: {} (Debian {})", root.version, root.suite).unwrap();
    writeln!(
        out,
        "# kernel: {} {} ({})",
        kernel.name, kernel.state.release, kernel.state.version
    )
    .unwrap();
    for case in &script.cases {
        let id = (script.stem.clone(), case.name.clone());
        let build = &builds[&id];
        writeln!(out, "\n## case {}", case.name).unwrap();
        writeln!(out, "$ {}", build.command).unwrap();
        writeln!(out, "stap exit: {}", build.status).unwrap();
        out.push_str("stap stdout:\n");
        quote(&mut out, &build.stdout);
        out.push_str("stap stderr:\n");
        let tree = kernel.state.build_dir().display().to_string();
        let stderr = String::from_utf8_lossy(&build.stderr).replace(&tree, "$TREE");
        quote(&mut out, stderr.as_bytes());
        match &runs[&id] {
            RunResult::NotBuilt => {}
            RunResult::NotRun(why) => {
                writeln!(out, "staprun: not run: {why}").unwrap();
            }
            RunResult::Ran(r) => {
                out.push_str("staprun ");
                let outcome = ran_outcome(r);
                if r.stdout.iter().filter(|&&b| b == b'\n').count() > MAX_RENDERED_LINES {
                    out.push_str(&render_elided(&outcome, &r.stdout));
                } else {
                    out.push_str(&render(&outcome));
                }
                out.push_str("kernel log:\n");
                let log: String = r
                    .kernel_log
                    .lines()
                    .map(|l| format!("{}\n", strip_timestamp(l)))
                    .collect();
                quote(&mut out, log.as_bytes());
            }
        }
    }
    out
}

/// `render` with stdout shown as its first and last lines only.
fn render_elided(outcome: &Outcome, stdout: &[u8]) -> String {
    let Outcome::Ran {
        exit_code,
        stderr,
        still_loaded,
        kernel_problems,
        ..
    } = outcome
    else {
        return render(outcome);
    };
    let lines: Vec<&[u8]> = stdout.split(|&b| b == b'\n').collect();
    let newlines = lines.len() - 1;
    let head = lines[..20].join(&b'\n');
    let tail_start = lines.len().saturating_sub(21);
    let tail = lines[tail_start..].join(&b'\n');
    let mut shown = render(&Outcome::Ran {
        exit_code: *exit_code,
        stdout: Vec::new(),
        stderr: stderr.clone(),
        still_loaded: *still_loaded,
        kernel_problems: kernel_problems.clone(),
    });
    let mut middle = String::new();
    quote(&mut middle, &[head.as_slice(), b"\n"].concat());
    writeln!(
        middle,
        "... {} bytes, {newlines} newlines in all; lines 21 to {} not shown ...",
        stdout.len(),
        tail_start
    )
    .unwrap();
    quote(&mut middle, &tail);
    shown = shown.replacen("stdout:\n", &format!("stdout:\n{middle}"), 1);
    shown
}

/// A guest's report of a case in stap-matrix's outcome form, kernel log
/// problems without their timestamps.
fn ran_outcome(r: &CaseResult) -> Outcome {
    Outcome::Ran {
        exit_code: r.exit_code,
        stdout: r.stdout.clone(),
        stderr: r.stderr.clone(),
        still_loaded: r.still_loaded,
        kernel_problems: r
            .kernel_problems()
            .into_iter()
            .map(|l| strip_timestamp(l).to_string())
            .collect(),
    }
}

/// `outcome` with a test script's `# normalise:` rules applied.
fn normalised(outcome: Outcome, rules: &[stapkit::matrix::script::Normalisation]) -> Outcome {
    match outcome {
        Outcome::Ran {
            exit_code,
            stdout,
            stderr,
            still_loaded,
            kernel_problems,
        } => Outcome::Ran {
            exit_code,
            stdout: stapkit::matrix::script::normalise(rules, &stdout),
            stderr: stapkit::matrix::script::normalise(rules, &stderr),
            still_loaded,
            kernel_problems,
        },
        other => other,
    }
}

fn strip_timestamp(line: &str) -> &str {
    if line.starts_with('[') {
        if let Some((_, rest)) = line.split_once("] ") {
            return rest;
        }
    }
    line
}

/// Appends `bytes` one `|`-prefixed line at a time, as `render` does.
fn quote(out: &mut String, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && line.is_empty() {
            break;
        }
        out.push('|');
        for &b in line {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'\t' => out.push('\t'),
                0x20..=0x7e => out.push(b as char),
                _ => write!(out, "\\x{b:02x}").unwrap(),
            }
        }
        out.push('\n');
        if last {
            out.push_str("\\ no newline at end\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_make_cases() {
        let dir = std::env::temp_dir().join(format!("oracle-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("errs.stp");
        std::fs::write(
            &path,
            "# oracle: -g timeout=3\n# oracle-case: div -DMAXERRORS=2 -- div \"a b\"\n\
             # oracle-case: p2 -p2\n# oracle-run: div staprun -L $MODULE\n\
             # oracle-run: * echo done\nprobe begin {}\n",
        )
        .unwrap();
        let s = load_script(&path, &["-w".into()]).unwrap();
        assert_eq!(s.cases.len(), 2);
        assert_eq!(
            s.cases[0].run.as_deref(),
            Some("staprun -L $MODULE\necho done\n")
        );
        assert_eq!(s.cases[1].run.as_deref(), Some("echo done\n"));
        assert_eq!(s.cases[0].stap_options, ["-w", "-g", "-DMAXERRORS=2"]);
        assert_eq!(s.cases[0].script_args, ["div", "a b"]);
        assert_eq!(s.cases[0].timeout_secs, 3);
        assert_eq!(s.cases[0].last_pass(), 4);
        assert_eq!(s.cases[1].last_pass(), 2);
        assert_eq!(module_name(&s, &s.cases[0]), "o_errs_div");
        std::fs::write(&path, "# oracle-run: nope true\nprobe begin {}\n").unwrap();
        let err = load_script(&path, &[]).unwrap_err().to_string();
        assert!(err.contains("names no case 'nope'"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn quoting_matches_the_matrix_form() {
        let mut out = String::new();
        quote(&mut out, b"a\\b\x01\n\nend");
        assert_eq!(out, "|a\\\\b\\x01\n|\n|end\n\\ no newline at end\n");
    }

    #[test]
    fn content_keys_are_stable() {
        assert_eq!(content_key(&[b"a", b"b"]), content_key(&[b"a", b"b"]));
        assert_ne!(content_key(&[b"ab"]), content_key(&[b"a", b"b"]));
    }
}
