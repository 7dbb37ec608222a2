//! `cargo xtask corpus`: how many of SystemTap's published examples
//! stapkit translates. Debian's `systemtap-doc` installs them (under
//! `/usr/share/systemtap/examples`), each with a `.meta` whose
//! `test_check:` line is the command SystemTap's own test suite checks it
//! with. Each such line runs as it is, in a scratch copy of the examples,
//! with a `stap` first on `PATH` that is stapkit's own for the kernel
//! asked, stopping at pass 2 (`--build`: pass 4 as the line says, where
//! pass 2 succeeded). `--write-passing` records the examples that pass 2,
//! and `--list` runs only those: so `--build` measures, on each other
//! kernel, pass 4 of what passes 2 on one. The examples are read where
//! they are installed and never copied into the repository.
//!
//! A measuring tool, not a CI gate: it prints a table, totals, and the
//! failures grouped by cause (the first error line with its particulars
//! taken out), and exits 0 whatever the figures.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::measure::{self, first_error, normalise};

/// Where `systemtap-doc` installs the examples.
const EXAMPLES: &str = "/usr/share/systemtap/examples";

/// Options of `cargo xtask corpus`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Kernel to translate for (stap-prep name, or `all` for the CI
    /// matrix); repeatable.
    #[arg(long = "kernel")]
    pub kernels: Vec<String>,
    /// Also build (pass 4, as each `test_check` line asks) where pass 2
    /// succeeds.
    #[arg(long)]
    pub build: bool,
    /// Only examples whose path contains this text; repeatable.
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Only the examples this file names, one a line (as `--write-passing`
    /// writes them): with `--build`, pass 4 on other kernels of the
    /// examples that pass 2 on one.
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// Writes the examples that pass 2 on every kernel run to this file,
    /// one a line.
    #[arg(long)]
    pub write_passing: Option<PathBuf>,
    /// Examples run at once.
    #[arg(long, short = 'j', default_value_t = 1)]
    pub jobs: usize,
    /// Seconds one example may take.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// The examples' directory.
    #[arg(long, default_value = EXAMPLES)]
    pub examples: PathBuf,
    /// Measure the `stap` and `stap-prep` in this directory (a copy of a
    /// build, so that rebuilding during a long run changes nothing)
    /// instead of building them.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

/// One published example.
#[derive(Debug, Clone)]
struct Example {
    /// Its `.meta`'s directory, relative to the examples' root.
    dir: PathBuf,
    /// Its script's name (`name:` of the `.meta`).
    name: String,
    /// Its `test_check:` command, when it has one.
    check: Option<String>,
}

impl Example {
    fn label(&self) -> String {
        self.dir.join(&self.name).display().to_string()
    }
}

/// How long one example's runs took on one kernel.
#[derive(Debug, Clone, Copy, Default)]
struct Timing {
    /// Pass 2 (zero for an example without a check).
    p2: Duration,
    /// Pass 4, when it ran.
    p4: Option<Duration>,
}

/// One kernel's outcomes and timings, in the order of the examples.
struct KernelRun {
    outcomes: Vec<Outcome>,
    timings: Vec<Timing>,
}

/// What happened to one example on one kernel.
#[derive(Debug, Clone)]
enum Outcome {
    /// Passes 1-2 (and 4 with `--build`) succeeded.
    Ok,
    /// Pass 2 succeeded, the build failed with this error line.
    BuildFailed(String),
    /// Translation failed with this error line.
    Failed(String),
    /// Its `.meta` has no `test_check:` line.
    NoCheck,
}

/// Reads every `.meta` under `root`.
fn examples(root: &Path) -> Result<Vec<Example>> {
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry?;
        if entry.path().extension().is_none_or(|e| e != "meta") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
        };
        let dir = entry
            .path()
            .parent()
            .and_then(|d| d.strip_prefix(root).ok())
            .unwrap_or(Path::new(""))
            .to_path_buf();
        let name = field("name:").unwrap_or_else(|| {
            entry
                .path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned() + ".stp")
                .unwrap_or_default()
        });
        found.push(Example {
            dir,
            name,
            check: field("test_check:"),
        });
    }
    if found.is_empty() {
        bail!(
            "no .meta files under {}; `cargo xtask setup` installs systemtap-doc",
            root.display()
        );
    }
    Ok(found)
}

/// The `stap` the examples find first on `PATH`: stapkit's, for `kernel`,
/// with any `-pN` past `pass` lowered to it. The shim runs `stap` with
/// `stap`'s own directory first on `PATH`, so that a script probing
/// `process("stap")` finds stapkit's program, not this shell script.
fn write_shim(dir: &Path, stap: &Path, kernel: &str, pass: u8) -> Result<()> {
    let bin = stap.parent().unwrap_or(Path::new("/"));
    let script = format!(
        r#"#!/bin/sh
# cargo xtask corpus: stapkit's stap for {kernel}, stopping at pass {pass}
for a do
  shift
  case $a in
    -p[1-5]) [ "${{a#-p}}" -gt {pass} ] && a=-p{pass} ;;
    -[a-oq-zA-Z]*p[1-5]) [ "${{a##*p}}" -gt {pass} ] && a="${{a%?}}{pass}" ;;
  esac
  set -- "$@" "$a"
done
PATH='{bin}':"$PATH" exec '{stap}' -r '{kernel}' "$@"
"#,
        stap = stap.display(),
        bin = bin.display()
    );
    let path = dir.join("stap");
    std::fs::write(&path, script).with_context(|| format!("writing {}", path.display()))?;
    let mut perms = std::fs::metadata(&path)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms)?;
    Ok(())
}

/// Runs one example's check through the shim in `shim_dir`.
fn run_check(
    example: &Example,
    work: &Path,
    shim_dir: &Path,
    timeout: Duration,
) -> Result<measure::Run> {
    let check = example
        .check
        .as_deref()
        .expect("only examples with a check run");
    let path = format!(
        "{}:{}",
        shim_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("sh");
    command.arg("-c").arg(check).env("PATH", path);
    measure::run_with_limit(command, &work.join(&example.dir), timeout)
}

/// Copies the examples' tree to `to` (pass 4 writes beside the scripts).
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(from)?;
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Runs every example on one kernel.
fn run_kernel(
    options: &Options,
    list: &[Example],
    bin_dir: &Path,
    kernel: &str,
) -> Result<KernelRun> {
    let scratch = tempfile::Builder::new().prefix("xtask-corpus").tempdir()?;
    let work = scratch.path().join("examples");
    copy_tree(&options.examples, &work)?;
    let stap = bin_dir.join("stap");
    let p2 = scratch.path().join("bin-p2");
    let p4 = scratch.path().join("bin-p4");
    for (dir, pass) in [(&p2, 2), (&p4, 4)] {
        std::fs::create_dir_all(dir)?;
        write_shim(dir, &stap, kernel, pass)?;
    }
    let timeout = Duration::from_secs(options.timeout);
    let outcomes: Mutex<Vec<Option<(Outcome, Timing)>>> = Mutex::new(vec![None; list.len()]);
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(example) = list.get(i) else { break };
                let outcome = (|| -> Result<(Outcome, Timing)> {
                    let mut timing = Timing::default();
                    if example.check.is_none() {
                        return Ok((Outcome::NoCheck, timing));
                    }
                    let run = run_check(example, &work, &p2, timeout)?;
                    timing.p2 = run.elapsed;
                    if !run.ok {
                        return Ok((Outcome::Failed(first_error(&run.stderr)), timing));
                    }
                    if !options.build {
                        return Ok((Outcome::Ok, timing));
                    }
                    let run = run_check(example, &work, &p4, timeout)?;
                    timing.p4 = Some(run.elapsed);
                    let outcome = match run.ok {
                        true => Outcome::Ok,
                        false => Outcome::BuildFailed(first_error(&run.stderr)),
                    };
                    Ok((outcome, timing))
                })();
                match outcome {
                    Ok((o, timing)) => {
                        let mark = match &o {
                            Outcome::Ok => "ok".to_string(),
                            Outcome::BuildFailed(e) => format!("p4 FAIL: {e}"),
                            Outcome::Failed(e) => format!("FAIL: {e}"),
                            Outcome::NoCheck => "no test_check".to_string(),
                        };
                        eprintln!(
                            "corpus: {kernel}: {}: {mark} ({})",
                            example.label(),
                            seconds(&timing)
                        );
                        outcomes.lock().expect("not poisoned")[i] = Some((o, timing));
                    }
                    Err(e) => {
                        *failure.lock().expect("not poisoned") = Some(e);
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let (outcomes, timings) = outcomes
        .into_inner()
        .expect("not poisoned")
        .into_iter()
        .map(|o| o.expect("every example ran"))
        .unzip();
    Ok(KernelRun { outcomes, timings })
}

/// `2.1s` or `2.1s + 34.0s` (pass 2, then pass 4).
fn seconds(timing: &Timing) -> String {
    match timing.p4 {
        Some(p4) => format!("{:.1}s + {:.1}s", timing.p2.as_secs_f64(), p4.as_secs_f64()),
        None => format!("{:.1}s", timing.p2.as_secs_f64()),
    }
}

/// How many of the slowest examples the report names per kernel.
const SLOWEST: usize = 5;

/// The `SLOWEST` examples of one kernel by pass 2 time, then by pass 4
/// time, slowest first: `(pass, label, seconds)`.
fn slowest(list: &[Example], timings: &[Timing]) -> Vec<(u8, String, f64)> {
    let mut out = Vec::new();
    for pass in [2u8, 4] {
        let mut times: Vec<(String, f64)> = list
            .iter()
            .zip(timings)
            .filter_map(|(e, t)| {
                let d = if pass == 2 { Some(t.p2) } else { t.p4 }?;
                (!d.is_zero()).then(|| (e.label(), d.as_secs_f64()))
            })
            .collect();
        times.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.extend(
            times
                .into_iter()
                .take(SLOWEST)
                .map(|(label, secs)| (pass, label, secs)),
        );
    }
    out
}

/// The table, the totals and the causes.
fn report(options: &Options, list: &[Example], kernels: &[String], runs: &[KernelRun]) -> String {
    let mut out = String::new();
    let width = list.iter().map(|e| e.label().len()).max().unwrap_or(0);
    let _ = write!(out, "{:width$}", "example");
    for k in kernels {
        let _ = write!(out, "  {k:>18}");
    }
    out.push('\n');
    for (i, example) in list.iter().enumerate() {
        let _ = write!(out, "{:width$}", example.label());
        for run in runs {
            let cell = match &run.outcomes[i] {
                Outcome::Ok => "ok",
                Outcome::BuildFailed(_) => "p4 FAIL",
                Outcome::Failed(_) => "FAIL",
                Outcome::NoCheck => "-",
            };
            let _ = write!(out, "  {cell:>18}");
        }
        out.push('\n');
    }
    out.push('\n');
    for (kernel, run) in kernels.iter().zip(runs) {
        let run = &run.outcomes;
        let checked = run
            .iter()
            .filter(|o| !matches!(o, Outcome::NoCheck))
            .count();
        let p2 = run
            .iter()
            .filter(|o| matches!(o, Outcome::Ok | Outcome::BuildFailed(_)))
            .count();
        let _ = write!(out, "{kernel}: pass 2 {p2}/{checked}");
        if options.build {
            let p4 = run.iter().filter(|o| matches!(o, Outcome::Ok)).count();
            let _ = write!(out, ", pass 4 {p4}/{p2}");
        }
        out.push('\n');
    }
    for (kernel, run) in kernels.iter().zip(runs) {
        let slow = slowest(list, &run.timings);
        if !slow.is_empty() {
            let _ = writeln!(out, "\nslowest on {kernel}:");
            for (pass, label, secs) in slow {
                let _ = writeln!(out, "  pass {pass} {secs:7.1}s  {label}");
            }
        }
        let run = &run.outcomes;
        let mut causes: BTreeMap<String, (Vec<String>, BTreeMap<String, usize>)> = BTreeMap::new();
        for (example, outcome) in list.iter().zip(run) {
            let (stage, line) = match outcome {
                Outcome::Failed(l) => ("", l),
                Outcome::BuildFailed(l) => ("[pass 4] ", l),
                _ => continue,
            };
            let (text, names) = normalise(line);
            let entry = causes.entry(format!("{stage}{text}")).or_default();
            entry.0.push(example.label());
            for name in names {
                *entry.1.entry(name).or_default() += 1;
            }
        }
        if causes.is_empty() {
            continue;
        }
        let mut causes: Vec<_> = causes.into_iter().collect();
        causes.sort_by(|a, b| b.1 .0.len().cmp(&a.1 .0.len()).then(a.0.cmp(&b.0)));
        let _ = writeln!(out, "\nfailures on {kernel} by cause:");
        for (cause, (examples, names)) in causes {
            let _ = writeln!(out, "{:4}  {cause}", examples.len());
            if !names.is_empty() {
                let mut names: Vec<_> = names.into_iter().collect();
                names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let shown: Vec<String> = names
                    .iter()
                    .map(|(n, c)| {
                        if *c > 1 {
                            format!("{n} ({c})")
                        } else {
                            n.clone()
                        }
                    })
                    .collect();
                let _ = writeln!(out, "        names: {}", shown.join(", "));
            }
            let _ = writeln!(out, "        in: {}", examples.join(" "));
        }
    }
    out
}

/// Runs the corpus and prints what happened.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let kernels = measure::kernels(&options.kernels)?;
    let bin_dir = match &options.bin_dir {
        Some(dir) => {
            crate::setup::fetch_kernels(sh, dir, &kernels)?;
            std::path::absolute(dir)?
        }
        None => measure::prepare(sh, &kernels)?,
    };
    let mut list = examples(&options.examples)?;
    if !options.only.is_empty() {
        list.retain(|e| options.only.iter().any(|o| e.label().contains(o.as_str())));
    }
    if let Some(file) = &options.list {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the list {}", file.display()))?;
        list = restrict(list, &text);
    }
    let mut runs = Vec::new();
    for kernel in &kernels {
        runs.push(run_kernel(options, &list, &bin_dir, kernel)?);
    }
    print!("{}", report(options, &list, &kernels, &runs));
    if let Some(file) = &options.write_passing {
        std::fs::write(file, passing(&list, &runs))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(())
}

/// The examples of `list` that `text` names, one label a line (blank
/// lines and `#` comments aside).
fn restrict(list: Vec<Example>, text: &str) -> Vec<Example> {
    let wanted: std::collections::BTreeSet<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    list.into_iter()
        .filter(|e| wanted.contains(e.label().as_str()))
        .collect()
}

/// The labels of the examples that passed pass 2 on every kernel of
/// `runs`, one a line, each once.
fn passing(list: &[Example], runs: &[KernelRun]) -> String {
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, example) in list.iter().enumerate() {
        let passed = runs
            .iter()
            .all(|run| matches!(run.outcomes[i], Outcome::Ok | Outcome::BuildFailed(_)));
        if passed && seen.insert(example.label()) {
            let _ = writeln!(out, "{}", example.label());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(dir: &str, name: &str) -> Example {
        Example {
            dir: PathBuf::from(dir),
            name: name.to_string(),
            check: Some(format!("stap -p4 {name}")),
        }
    }

    #[test]
    fn a_list_written_by_one_run_restricts_the_next() {
        let list = vec![
            example("general", "helloworld.stp"),
            example("general", "para-callgraph.stp"),
            example("general", "para-callgraph-verbose.stp"),
            example("io", "iotop.stp"),
        ];
        let runs = vec![KernelRun {
            outcomes: vec![
                Outcome::Ok,
                Outcome::BuildFailed("error".into()),
                Outcome::Failed("semantic error".into()),
                Outcome::NoCheck,
            ],
            timings: vec![Timing::default(); 4],
        }];
        let written = passing(&list, &runs);
        assert_eq!(
            written,
            "general/helloworld.stp\ngeneral/para-callgraph.stp\n"
        );
        let kept: Vec<String> = restrict(list, &format!("# from 6.1\n\n{written}"))
            .iter()
            .map(Example::label)
            .collect();
        assert_eq!(
            kept,
            ["general/helloworld.stp", "general/para-callgraph.stp"]
        );
    }

    #[test]
    fn the_report_names_the_slowest_runs_of_each_pass() {
        let list: Vec<Example> = (0..7)
            .map(|i| example("general", &format!("e{i}.stp")))
            .collect();
        let timings: Vec<Timing> = (0..7u64)
            .map(|i| Timing {
                p2: Duration::from_secs(i),
                p4: (i % 2 == 1).then(|| Duration::from_secs(100 - i)),
            })
            .collect();
        let slow = slowest(&list, &timings);
        let names: Vec<(u8, &str)> = slow.iter().map(|(p, l, _)| (*p, l.as_str())).collect();
        assert_eq!(
            names,
            [
                (2, "general/e6.stp"),
                (2, "general/e5.stp"),
                (2, "general/e4.stp"),
                (2, "general/e3.stp"),
                (2, "general/e2.stp"),
                (4, "general/e1.stp"),
                (4, "general/e3.stp"),
                (4, "general/e5.stp"),
            ]
        );
        let run = KernelRun {
            outcomes: vec![Outcome::Ok; 7],
            timings,
        };
        let text = report(
            &Options {
                kernels: vec![],
                build: true,
                only: vec![],
                list: None,
                write_passing: None,
                jobs: 1,
                timeout: 1,
                examples: PathBuf::new(),
                bin_dir: None,
            },
            &list,
            &["k".to_string()],
            &[run],
        );
        assert!(
            text.contains("slowest on k:\n  pass 2     6.0s  general/e6.stp\n"),
            "{text}"
        );
        assert!(
            text.contains("  pass 4    99.0s  general/e1.stp\n"),
            "{text}"
        );
    }

    #[test]
    fn a_time_out_kills_what_the_check_started() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("survived");
        // The check's shell starts a child that would outlive it.
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("(sleep 2; touch '{}') & sleep 30", mark.display()));
        let run = measure::run_with_limit(command, dir.path(), Duration::from_millis(300)).unwrap();
        assert!(!run.ok);
        assert!(run.stderr.contains("timed out after"), "{}", run.stderr);
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !mark.exists(),
            "the check's child ran on after the time-out"
        );
    }

    #[test]
    fn the_shim_lowers_the_pass_and_names_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        write_shim(dir.path(), Path::new("/bin/echo"), "debian-6.1-amd64", 2).unwrap();
        let out = Command::new(dir.path().join("stap"))
            .args(["-gp4", "x.stp", "-p4", "-p1", "-wp3", "--", "-p4x"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "-r debian-6.1-amd64 -gp2 x.stp -p2 -p1 -wp2 -- -p4x\n"
        );
    }

    #[test]
    fn inside_the_shim_stap_is_the_program_not_the_shim() {
        let shim = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let stap = bin.path().join("stap");
        std::fs::write(&stap, "#!/bin/sh\ncommand -v stap\n").unwrap();
        let mut perms = std::fs::metadata(&stap).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
        std::fs::set_permissions(&stap, perms).unwrap();
        write_shim(shim.path(), &stap, "debian-6.1-amd64", 2).unwrap();
        let path = format!("{}:/usr/bin:/bin", shim.path().display());
        let out = Command::new("sh")
            .args(["-c", "stap -p4 x.stp"])
            .env("PATH", path)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{}\n", stap.display())
        );
    }
}
