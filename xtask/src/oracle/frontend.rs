//! `cargo xtask oracle --frontend`: real SystemTap's `stap -p1` text and
//! `stap -p2` acceptance of every published example (Debian's
//! `systemtap-doc`, one case per `.meta`) and every parse fixture, run
//! once in the oracle root against the Debian 6.1 kernel, saved under
//! `tests/systemtap-frontend/` (see `stapkit::matrix::frontend`).
//! `-p2` runs with the kernel installed as on a user's machine
//! (`machine`, as `--record` builds): its image, headers at
//! `/lib/modules/R/build`, the -dbg vmlinux and the modules the cases
//! name with their debug files, so that SystemTap resolves tracepoints,
//! module functions and header-typed `@cast`s as a user's would (given
//! only `-r TREE`, SystemTap 5.1 resolves none of them). `-p1` reads no
//! kernel fact and keeps its `-r TREE` invocation.
//! Each run is cached by content under `$STAPKIT_CACHE/oracle/frontend/`.
//! Case ids given after `--frontend` (`ex/general/sizeof.stp`) run only
//! those cases and print their outcomes, `-p2`'s stderr included, saving
//! nothing: how a difference's reason is read.
//!
//! An example that calls the library's `@prometheus_*` or `@json_*`
//! macros prints their expansion at `-p1`, and stapkit's bodies are its
//! own code, not SystemTap's. For those, SystemTap also runs on the
//! script with stapkit's `prometheus.stpm` and `json.stpm` put before it
//! (a script's own `@define` takes the place of the library's, and `-p1`
//! prints the script's file name only), and that text's length and hash
//! go to `own-macros.tsv`: stapkit's `-p1` must equal it.
//!
//! Fixtures whose `//@` header sets target facts (`arch`, `kernel`,
//! `config`, `systemtap`, `privilege`) are left out: real SystemTap
//! takes those from the tree, so the same text cannot be compared.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use stapkit::kernel::cache::Cache;
use stapkit::kernel::module_tracepoints::{self, ModuleSource};
use stapkit::kernel::Catalog;
use stapkit::matrix::frontend::{
    example_invocation, format_cases, text_hash, FrontendCase, EXAMPLES_DIR,
};
use stapkit::matrix::script::ModuleRequest;
use stapkit::text::header::{split_words, Quoting};
use xshell::Shell;

use super::build::debug_files;
use super::machine::{self, Machine};
use super::root::{
    fetch_kernel, in_root_with, install_mmdebstrap, kernel_compiler, prepare_root, Kernel, StapRoot,
};
use super::{content_key, Options};
use crate::setup;

/// The kernel whose tree the front-end cases use (`-r`).
const KERNEL: &str = "debian-6.1-amd64";

/// The address space one `stap -p1`/`-p2` may take (KiB): far above what
/// `-p2` with a kernel's DWARF needs (under 2 GiB here).
const STAP_MEMORY_KIB: u64 = 8 << 20;

/// One case to run: where the script is and how it is invoked.
struct Job {
    id: String,
    /// The script's directory on this machine.
    dir: PathBuf,
    file: String,
    options: Vec<String>,
    args: Vec<String>,
}

/// What one `stap -pN` did.
struct Ran {
    status: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Runs the front-end recording.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let mut jobs = jobs()?;
    // Case ids given: only those run, and their outcomes are printed
    // (with `-p2`'s stderr), never saved: `cases.tsv` holds every case.
    let only = &options.args;
    if !only.is_empty() {
        let unknown: Vec<&String> = only
            .iter()
            .filter(|id| !jobs.iter().any(|j| &j.id == *id))
            .collect();
        if !unknown.is_empty() {
            bail!("no front-end case with id {unknown:?} (ids as in cases.tsv)");
        }
        jobs.retain(|j| only.contains(&j.id));
    }
    setup::install_packages(sh)?;
    install_mmdebstrap(sh)?;
    let cache = Cache::locate(None);
    let kernel = fetch_kernel(&cache, KERNEL)?;
    let compilers: BTreeSet<String> = [kernel_compiler(KERNEL)?].into_iter().collect();
    let suite = options
        .suites
        .first()
        .cloned()
        .unwrap_or_else(|| "trixie".into());
    let root = prepare_root(&cache, &suite, &compilers)?;
    let machine = if options.with_p2 {
        // The modules named by every case, whichever cases run: they are
        // part of each `-p2` run's setup, and so of its cache key.
        let modules = named_modules(&self::jobs()?)?;
        Some(installed_kernel(&cache, &kernel, &modules)?)
    } else {
        None
    };
    eprintln!(
        "oracle: front end of {} cases with {}",
        jobs.len(),
        root.version
    );
    let queue = Mutex::new(jobs.iter().collect::<Vec<_>>());
    let done = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let own_lines = Mutex::new(Vec::new());
    let workers = options.jobs.unwrap_or(2).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let Some(job) = queue.lock().unwrap().pop() else {
                    break;
                };
                let result = (|| -> Result<FrontendCase> {
                    let p1_run = StapRun {
                        cache: &cache,
                        root: &root,
                        kernel: &kernel,
                        job,
                        pass: "-p1",
                        prelude: "",
                        machine: None,
                        rerun: options.rerun,
                    };
                    let p1 = run_stap(&p1_run)?;
                    let p2_run = StapRun {
                        pass: "-p2",
                        machine: machine.as_ref(),
                        ..p1_run
                    };
                    let p2 = match (options.with_p2, options.p2_cached_only) {
                        (true, false) => Some(run_stap(&p2_run)?),
                        (true, true) => p2_run.cached()?,
                        (false, _) => None,
                    };
                    if !only.is_empty() {
                        let mut report = format!("== {} -p1 exit {}", job.id, p1.status);
                        if let Some(p2) = &p2 {
                            report.push_str(&format!(", -p2 exit {}, -p2 stderr:\n", p2.status));
                            report.push_str(&String::from_utf8_lossy(&p2.stderr));
                        }
                        println!("{report}");
                    }
                    let p2 = p2.map(|ran| ran.status);
                    if let Some(prelude) = own_macros(job)? {
                        let own = run_stap(&StapRun {
                            prelude: &prelude,
                            ..p1_run
                        })?;
                        own_lines.lock().unwrap().push(format!(
                            "{}\t{}\t{}\t{}\n",
                            job.id,
                            own.status,
                            own.stdout.len(),
                            text_hash(&own.stdout)
                        ));
                    }
                    if !job.id.starts_with("ex/") {
                        save_fixture_text(job, &p1.stdout)?;
                    }
                    Ok(FrontendCase {
                        id: job.id.clone(),
                        options: job.options.clone(),
                        args: job.args.clone(),
                        p1_exit: p1.status,
                        p1_len: p1.stdout.len(),
                        p1_hash: text_hash(&p1.stdout),
                        p2_exit: p2,
                    })
                })();
                match result {
                    Ok(case) => done.lock().unwrap().push(case),
                    Err(e) => errors.lock().unwrap().push(format!("{}: {e:#}", job.id)),
                }
            });
        }
    });
    let errors = errors.into_inner().unwrap();
    if !errors.is_empty() {
        bail!("front-end cases failed to run:\n{}", errors.join("\n"));
    }
    if !only.is_empty() {
        return Ok(());
    }
    let mut cases = done.into_inner().unwrap();
    // By id, then arguments: an example can be two cases (pyexample).
    cases.sort_by(|a, b| (&a.id, &a.args).cmp(&(&b.id, &b.args)));
    let out = out_dir();
    std::fs::create_dir_all(&out)?;
    let mut text = format!("# systemtap: {} (Debian {suite})\n", root.version);
    text.push_str(&format!(
        "# kernel: {KERNEL} {} ({})\n",
        kernel.state.release, kernel.state.version
    ));
    text.push_str(&format_cases(&cases));
    std::fs::write(out.join("cases.tsv"), text)?;
    eprintln!("oracle: wrote {}", out.join("cases.tsv").display());
    let mut own = own_lines.into_inner().unwrap();
    own.sort();
    let mut text = String::from(
        "# SystemTap's stap -p1 of the examples that call @prometheus_*/@json_* library macros,\n\
         # with stapkit's prometheus.stpm and json.stpm put before the script (see\n\
         # xtask/src/oracle/frontend.rs). Written by `cargo xtask oracle --frontend`.\n\
         # id\tp1 exit\tp1 stdout length\tp1 stdout hash\n",
    );
    text.extend(own);
    std::fs::write(out.join("own-macros.tsv"), text)?;
    Ok(())
}

/// `tests/systemtap-frontend/`.
fn out_dir() -> PathBuf {
    setup::project_root().join("tests/systemtap-frontend")
}

/// Every published example and every comparable fixture.
fn jobs() -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let examples = Path::new(EXAMPLES_DIR);
    if !examples.is_dir() {
        bail!("{EXAMPLES_DIR} is missing: apt-get install systemtap-doc");
    }
    for entry in walk(examples)? {
        if entry.extension().is_none_or(|e| e != "meta") {
            continue;
        }
        let meta = std::fs::read_to_string(&entry).unwrap_or_default();
        let Some(name) = meta
            .lines()
            .find_map(|l| l.strip_prefix("name:"))
            .map(|n| n.trim().to_string())
        else {
            continue;
        };
        let dir = entry
            .parent()
            .expect("a file has a directory")
            .to_path_buf();
        if !dir.join(&name).is_file() {
            continue;
        }
        let (options, args) = example_invocation(&meta, &name);
        let rel = dir
            .strip_prefix(examples)
            .unwrap_or(&dir)
            .display()
            .to_string();
        jobs.push(Job {
            id: format!("ex/{rel}/{name}"),
            dir,
            file: name,
            options,
            args,
        });
    }
    let fixtures = setup::project_root().join("compiler/tests/data/parse");
    for kind in ["ok", "err"] {
        for path in walk(&fixtures.join(kind))? {
            if path.extension().is_none_or(|e| e != "stp") {
                continue;
            }
            let text = std::fs::read_to_string(&path)?;
            let Some((options, args)) = fixture_invocation(&text) else {
                continue;
            };
            let file = path
                .file_name()
                .expect("a file")
                .to_string_lossy()
                .into_owned();
            jobs.push(Job {
                id: format!("fx/{kind}/{file}"),
                dir: path.parent().expect("a directory").to_path_buf(),
                file,
                options,
                args,
            });
        }
    }
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(jobs)
}

/// A fixture's `//@ args:` and `//@ guru:`; `None` when it sets target
/// facts real SystemTap would take from the tree.
pub fn fixture_invocation(text: &str) -> Option<(Vec<String>, Vec<String>)> {
    let (mut options, mut args) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("//@ ") else {
            continue;
        };
        let (key, value) = rest.split_once(':').unwrap_or((rest, ""));
        match key.trim() {
            "args" => {
                args = split_words(value.trim(), Quoting::SINGLE).ok()?;
            }
            "guru" if value.trim() == "true" => options.push("-g".to_string()),
            "guru" => {}
            _ => return None,
        }
    }
    Some((options, args))
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The library macro files whose bodies are stapkit's own, when `job`'s
/// script calls one of their macros: their text, to put before the
/// script (`None` for every other script).
fn own_macros(job: &Job) -> Result<Option<String>> {
    if !job.id.starts_with("ex/") {
        return Ok(None);
    }
    let text = std::fs::read_to_string(job.dir.join(&job.file))?;
    if !text.contains("@prometheus_") && !text.contains("@json_") {
        return Ok(None);
    }
    let mut prelude = String::new();
    for (name, body) in stapkit::runtime::tapset_macros() {
        if name.ends_with("/prometheus.stpm") || name.ends_with("/json.stpm") {
            prelude.push_str(body);
            prelude.push('\n');
        }
    }
    Ok(Some(prelude))
}

/// The kernel installed in the root for `-p2` (see `machine`), with the
/// loadable modules the cases name and their debug files.
fn installed_kernel(cache: &Cache, kernel: &Kernel, names: &BTreeSet<String>) -> Result<Machine> {
    eprintln!(
        "oracle: -p2 with the kernel installed, and the modules {}",
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let requests: Vec<ModuleRequest> = names
        .iter()
        .map(|name| ModuleRequest {
            name: name.clone(),
            params: Vec::new(),
            // Names of other kernels (`ext3`) are left out.
            optional: true,
        })
        .collect();
    let manifest = Catalog::load()?.get(&kernel.name)?.clone();
    let loads =
        stapkit::matrix::module_loads(&requests, &[], &manifest, cache, &kernel.state, &|l| {
            eprintln!("{l}")
        })
        .map_err(|e| anyhow!("{e}"))?;
    let files: BTreeMap<String, PathBuf> = loads.into_iter().map(|m| (m.name, m.file)).collect();
    machine::user_machine(cache, kernel, &files)
}

/// The loadable modules whose debug files `-p2` is given: those a user's
/// machine with the -dbg package has and the cases can reach, that is
/// each `module("NAME")` without a wildcard in the cases' scripts and in
/// the tapset library (stapkit's, whose aliases name the modules
/// SystemTap's do), and the module of each tracepoint they name
/// (`kvm_exit` is `kvm`'s). Every module's debug file would be the whole
/// -dbg package unpacked, some 5 GB.
fn named_modules(jobs: &[Job]) -> Result<BTreeSet<String>> {
    let mut texts: Vec<String> = stapkit::runtime::tapsets()
        .into_iter()
        .map(|(_, text)| text.to_string())
        .collect();
    for job in jobs {
        texts.push(std::fs::read_to_string(job.dir.join(&job.file))?);
    }
    let cache = Cache::locate(None);
    let source = ModuleSource::Fetched {
        cache_dir: cache.dir().to_path_buf(),
        manifest: KERNEL.to_string(),
    };
    let tracepoints = module_tracepoints::prepare(&source, &mut |l| eprintln!("{l}"))
        .map_err(|e| anyhow!("{e}"))?;
    let mut names = BTreeSet::new();
    for text in &texts {
        for name in quoted_after(text, "module(\"") {
            if !name.contains(['*', '?', '[', '/']) && !name.is_empty() {
                names.insert(name.replace('-', "_"));
            }
        }
        for spec in quoted_after(text, "trace(\"") {
            let (system, name) = spec.split_once(':').unwrap_or(("", spec));
            names.extend(
                tracepoints
                    .iter()
                    .filter(|t| t.name == name && (system.is_empty() || t.system == system))
                    .map(|t| t.module.clone()),
            );
        }
    }
    Ok(names)
}

/// The text between `open` and the next `"` at each place `text` has
/// `open` (`module("` gives the module names).
fn quoted_after<'t>(text: &'t str, open: &'t str) -> impl Iterator<Item = &'t str> + 't {
    text.match_indices(open).filter_map(move |(at, _)| {
        let rest = &text[at + open.len()..];
        rest.find('"').map(|end| &rest[..end])
    })
}

/// One `stap PASS` run of `job`'s script with `prelude` before its text,
/// in `root` against `kernel`'s tree (`-r TREE`, the -dbg files offered),
/// or against `machine`, the kernel installed (`-r RELEASE`), cached
/// under `cache`.
struct StapRun<'a> {
    cache: &'a Cache,
    root: &'a StapRoot,
    kernel: &'a Kernel,
    job: &'a Job,
    pass: &'a str,
    prelude: &'a str,
    machine: Option<&'a Machine>,
    /// Run again even when a cached run exists (`--rerun`); the new run
    /// replaces it.
    rerun: bool,
}

impl StapRun<'_> {
    /// Where the run is cached, and the script's text as run.
    fn dir(&self) -> Result<(PathBuf, Vec<u8>)> {
        let mut text = self.prelude.as_bytes().to_vec();
        text.extend(std::fs::read(self.job.dir.join(&self.job.file))?);
        let options = self.job.options.join("\u{1f}");
        let args = self.job.args.join("\u{1f}");
        let mut parts: Vec<&[u8]> = vec![
            self.root.suite.as_bytes(),
            self.root.version.as_bytes(),
            self.kernel.state.release.as_bytes(),
            self.pass.as_bytes(),
            options.as_bytes(),
            args.as_bytes(),
            self.job.file.as_bytes(),
            &text,
        ];
        // Where the kernel's files are offered changes what SystemTap
        // finds (runs against the tree alone keep their keys).
        let setup = self.machine.map(|m| {
            let mut setup = String::from("installed kernel\n");
            for (_, dst) in m.mounts.iter().chain(&m.module_debug) {
                setup.push_str(dst);
                setup.push('\n');
            }
            setup
        });
        if let Some(setup) = &setup {
            parts.push(setup.as_bytes());
        }
        let key = content_key(&parts);
        Ok((self.cache.dir().join("oracle/frontend").join(key), text))
    }

    /// The cached run, if there is one.
    fn cached(&self) -> Result<Option<Ran>> {
        let (dir, _) = self.dir()?;
        if !dir.join("done").is_file() {
            return Ok(None);
        }
        Ok(Some(Ran {
            status: std::fs::read_to_string(dir.join("status"))?
                .trim()
                .parse()?,
            stdout: std::fs::read(dir.join("stdout"))?,
            stderr: std::fs::read(dir.join("stderr")).unwrap_or_default(),
        }))
    }
}

/// Runs `stap PASS -r TREE OPTIONS -- FILE ARGS` in the root, from a copy
/// of the script's directory (or returns the cached run); the run's
/// prelude is put before the script's text in the copy.
fn run_stap(run: &StapRun) -> Result<Ran> {
    if let Some(ran) = run.cached()?.filter(|_| !run.rerun) {
        return Ok(ran);
    }
    let StapRun {
        root,
        kernel,
        job,
        pass,
        ..
    } = *run;
    let (dir, text) = run.dir()?;
    let key = dir
        .file_name()
        .expect("a key")
        .to_string_lossy()
        .into_owned();
    let work = format!("/tmp/stapkit-frontend/{key}");
    let host_work = root.dir.join(work.trim_start_matches('/'));
    std::fs::create_dir_all(&host_work)?;
    // The script's whole directory: some examples include their neighbours.
    for entry in std::fs::read_dir(&job.dir)? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::copy(&path, host_work.join(path.file_name().expect("a file")))?;
        }
    }
    std::fs::write(host_work.join(&job.file), &text)?;
    let (release, mounts) = match run.machine {
        Some(m) => (
            m.release.clone(),
            m.mounts.iter().chain(&m.module_debug).cloned().collect(),
        ),
        None => (
            kernel.state.build_dir().display().to_string(),
            debug_files(kernel),
        ),
    };
    // SystemTap's `-p1` of `fx/err/macro_recursive.stp` grows until the
    // kernel's OOM killer stops it (SIGKILL at 20 GB, December 7, 2026),
    // pushing the other jobs of a shared machine out of memory first: each
    // run gets at most STAP_MEMORY_KIB of address space.
    let mut argv: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        "ulimit -v \"$0\" && exec \"$@\"".into(),
        STAP_MEMORY_KIB.to_string(),
        "stap".into(),
        pass.into(),
        "-r".into(),
        release,
    ];
    argv.extend(job.options.iter().cloned());
    argv.push("--".into());
    argv.push(job.file.clone());
    argv.extend(job.args.iter().cloned());
    let out = in_root_with(&root.dir, &[&kernel.state.root], &mounts, &work, &argv)?;
    std::fs::remove_dir_all(&host_work)?;
    // Killed by a signal (the memory bound's abort, for example): 128 +
    // its number, as a shell reports it, cached like any other outcome.
    let status = match (out.status.code(), out.status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => bail!("stap {pass} {}: no exit status", job.id),
    };
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("status"), format!("{status}\n"))?;
    std::fs::write(dir.join("stdout"), &out.stdout)?;
    std::fs::write(dir.join("stderr"), &out.stderr)?;
    std::fs::write(dir.join("done"), "")?;
    Ok(Ran {
        status,
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// A fixture's `-p1` text, kept whole (`fixtures/KIND/NAME.p1`).
fn save_fixture_text(job: &Job, stdout: &[u8]) -> Result<()> {
    let kind = job.id.split('/').nth(1).unwrap_or("ok");
    let dir = out_dir().join("fixtures").join(kind);
    std::fs::create_dir_all(&dir)?;
    let name = job.file.trim_end_matches(".stp");
    std::fs::write(dir.join(format!("{name}.p1")), stdout)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_headers_give_options_or_leave_the_fixture_out() {
        assert_eq!(
            fixture_invocation("//@ args: 'two words' 7\n//@ guru: true\nprobe begin {}\n"),
            Some((
                vec!["-g".to_string()],
                vec!["two words".to_string(), "7".to_string()]
            ))
        );
        assert_eq!(fixture_invocation("//@ arch: arm64\n"), None);
    }

    #[test]
    fn module_and_tracepoint_names_are_read_from_probe_points() {
        let text = "probe module(\"st\").function(\"st_do_scsi\").call !,\n\
                    kernel.function(\"x\") {}\nprobe kernel.trace(\"kvm:kvm_exit\") {}\n";
        assert_eq!(quoted_after(text, "module(\"").collect::<Vec<_>>(), ["st"]);
        assert_eq!(
            quoted_after(text, "trace(\"").collect::<Vec<_>>(),
            ["kvm:kvm_exit"]
        );
        assert_eq!(
            quoted_after("module(\"unterminated", "module(\"").count(),
            0
        );
    }
}
