//! Many modules for one tree in one kbuild run.
//!
//! Each module gets a subdirectory `NAME/` of the batch directory holding
//! exactly the files and the `Kbuild` file a single build
//! (`kernel::kbuild::build`) writes, so it compiles with the same C and the
//! same flags; the batch's own `Kbuild` lists the subdirectories
//! (`obj-m += NAME/`) and one `make -k -jN` pays kbuild's fixed cost (the
//! tree's Makefiles, modpost) once for all of them. Identical files (the
//! runtime) are hard links to one copy. A module whose C fails, or that
//! modpost complains about, is built again on its own so its error is the
//! one a single build reports; the others are linked by a second batch run
//! that reuses their objects. Kbuild's compiler tests are answered from
//! the tree's cache (`kernel::kbuild_tryrun`), as in a single build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::kbuild::{self, BuildDir, BuildError, BuildRequest, BuiltModule};
use super::kbuild_tryrun::TryRun;
use super::toolchain::Toolchain;
use super::tree::HeaderTree;

/// One module of a batch: what a [`BuildRequest`] carries for it.
#[derive(Debug, Clone)]
pub struct BatchModule {
    /// The module name (`NAME.ko`); the main source must be `NAME.c`, or
    /// `NAME_src.c` with `objects`.
    pub module: String,
    /// Files of its build directory: relative path and contents.
    pub files: Vec<(PathBuf, String)>,
    /// Prebuilt objects linked in (`kbuild::BuildRequest::objects`).
    pub objects: Vec<PathBuf>,
    /// Its `ccflags-y`.
    pub cflags: Vec<String>,
    /// The precompiled runtime header it is compiled with
    /// (`kbuild::BuildRequest::pch`).
    pub pch: Option<PathBuf>,
}

/// What to build in one run.
#[derive(Debug)]
pub struct BatchRequest<'a> {
    /// The target tree.
    pub tree: &'a HeaderTree,
    /// Where `make` runs.
    pub toolchain: &'a Toolchain,
    /// The batch directory (created; kept).
    pub dir: PathBuf,
    /// The modules; names must differ.
    pub modules: Vec<BatchModule>,
    /// `make` variables shared by every module (`-B NAME=VALUE`).
    pub make_vars: Vec<String>,
    /// `make -jN`.
    pub jobs: usize,
    /// The tree's cache of kbuild's compiler-test answers
    /// (`kernel::kbuild_tryrun`), read or recorded by every `make` run.
    pub try_run_cache: Option<PathBuf>,
    /// Echo the build commands.
    pub verbose: bool,
}

/// What became of each module, in request order, and how the batch went.
#[derive(Debug)]
pub struct BatchOutcome {
    /// One result per module, in request order.
    pub results: Vec<Result<BuiltModule, BuildError>>,
    /// How many `make` runs it took (batch runs and single rebuilds).
    pub make_runs: usize,
}

/// Builds every module of `req`; a failure of one never fails another.
pub fn build_batch(req: &BatchRequest<'_>) -> BatchOutcome {
    let mut results: Vec<Option<Result<BuiltModule, BuildError>>> =
        req.modules.iter().map(|_| None).collect();
    let mut make_runs = 0;
    if let Err(e) = write_batch(req) {
        // Nothing could be written: every module fails with the reason.
        let (path, message) = match &e {
            BuildError::Io { path, error } => (path.clone(), error.to_string()),
            other => (req.dir.clone(), other.to_string()),
        };
        return BatchOutcome {
            results: req
                .modules
                .iter()
                .map(|_| {
                    Err(BuildError::Io {
                        path: path.clone(),
                        error: std::io::Error::other(message.clone()),
                    })
                })
                .collect(),
            make_runs,
        };
    }
    let mut pending: Vec<usize> = (0..req.modules.len()).collect();
    let mut alone: BTreeSet<usize> = BTreeSet::new();
    // First run: everything. Second: the modules whose objects built
    // (linking only). Whatever still fails is built alone.
    for _round in 0..2 {
        if pending.is_empty() {
            break;
        }
        let names: Vec<&str> = pending
            .iter()
            .map(|&i| req.modules[i].module.as_str())
            .collect();
        make_runs += 1;
        let log = match run_make(req, &names) {
            Ok(log) => log,
            Err(e) => {
                let why = e.to_string();
                for &i in &pending {
                    results[i] = Some(Err(BuildError::Make(why.clone())));
                }
                pending.clear();
                break;
            }
        };
        let mut failed = Vec::new();
        for &i in &pending {
            let name = &req.modules[i].module;
            let sub = req.dir.join(name);
            let ko = sub.join(format!("{name}.ko"));
            let modpost = modpost_lines(&log.text, name);
            if blamed(&log.text, name) || !modpost.is_empty() {
                alone.insert(i);
            } else if log.ok && ko.is_file() {
                results[i] = Some(Ok(BuiltModule {
                    ko,
                    dir: BuildDir::Kept(sub),
                    modpost_warnings: general_warnings(&log.text, &req.modules),
                }));
            } else if sub.join(format!("{name}.o")).is_file() {
                failed.push(i);
            } else {
                alone.insert(i);
            }
        }
        // A failed run that blamed no one: no round can tell who, so
        // everyone left is built alone.
        if !log.ok && failed.len() == pending.len() && alone.is_empty() {
            alone.extend(failed.iter().copied());
            failed.clear();
        }
        pending = failed;
    }
    alone.extend(pending);
    for i in alone {
        make_runs += 1;
        results[i] = Some(build_alone(req, &req.modules[i]));
    }
    BatchOutcome {
        results: results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(BuildError::Make("the module was not built".into()))))
            .collect(),
        make_runs,
    }
}

/// Writes every module's subdirectory; identical files are hard links to
/// the first copy.
fn write_batch(req: &BatchRequest<'_>) -> Result<(), BuildError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| BuildError::Io { path: p, error }
    };
    if req.dir.exists() {
        std::fs::remove_dir_all(&req.dir).map_err(io(&req.dir))?;
    }
    std::fs::create_dir_all(&req.dir).map_err(io(&req.dir))?;
    let mut written: BTreeMap<(&Path, &str), PathBuf> = BTreeMap::new();
    for m in &req.modules {
        let sub = req.dir.join(&m.module);
        for (rel, text) in &m.files {
            let file = sub.join(rel);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            match written.get(&(rel.as_path(), text.as_str())) {
                Some(first) => std::fs::hard_link(first, &file).map_err(io(&file))?,
                None => {
                    std::fs::write(&file, text).map_err(io(&file))?;
                    written.insert((rel.as_path(), text.as_str()), file);
                }
            }
        }
        std::fs::create_dir_all(&sub).map_err(io(&sub))?;
        let objects = kbuild::copy_objects(&m.objects, &sub)?;
        if m.pch.is_some() {
            let names = sub.join(kbuild::NAMES_HEADER);
            std::fs::write(&names, kbuild::names_header(&m.module)).map_err(io(&names))?;
        }
        let kbuild = sub.join("Kbuild");
        let text = kbuild::kbuild_file(&m.module, &m.cflags, &objects, m.pch.as_deref());
        std::fs::write(&kbuild, text).map_err(io(&kbuild))?;
    }
    Ok(())
}

/// The batch's own `Kbuild`: one subdirectory per module.
pub fn batch_kbuild_file(modules: &[&str]) -> String {
    modules.iter().map(|m| format!("obj-m += {m}/\n")).collect()
}

struct MakeLog {
    ok: bool,
    text: String,
}

/// One `make -k -jN modules` over the subdirectories `names`.
fn run_make(req: &BatchRequest<'_>, names: &[&str]) -> Result<MakeLog, BuildError> {
    let kbuild = req.dir.join("Kbuild");
    std::fs::write(&kbuild, batch_kbuild_file(names)).map_err(|error| BuildError::Io {
        path: kbuild.clone(),
        error,
    })?;
    let flags = ["-k".to_string(), format!("-j{}", req.jobs.max(1))];
    let mut make = kbuild::modules_command(
        req.tree,
        req.toolchain,
        &req.dir,
        &flags,
        &req.make_vars,
        req.verbose,
    );
    let try_run = match &req.try_run_cache {
        Some(cache) => Some(
            TryRun::prepare(cache, &req.dir, &mut make).map_err(|error| BuildError::Io {
                path: req.dir.clone(),
                error,
            })?,
        ),
        None => None,
    };
    let out = make
        .output()
        .map_err(|e| BuildError::Make(req.toolchain.spawn_error(&e)))?;
    // Answers are kept only from a run that passed, as a single build does.
    if let (Some(t), true) = (try_run, out.status.success()) {
        t.finish();
    }
    Ok(MakeLog {
        ok: out.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// Whether a compiler message of the log points into module `name`'s
/// subdirectory.
fn blamed(log: &str, name: &str) -> bool {
    let prefix = format!("/{name}/");
    log.lines()
        .any(|l| (l.contains(": error: ") || l.contains(": fatal error: ")) && l.contains(&prefix))
}

/// Whether a modpost line is an error or a warning.
fn is_modpost(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("ERROR: modpost:") || l.starts_with("WARNING: modpost:")
}

/// modpost's errors and warnings about module `name` (they name
/// `NAME/NAME.ko` or `NAME/NAME.o`): such a module is built again alone,
/// for its messages to be the ones a single build reports.
fn modpost_lines(log: &str, name: &str) -> Vec<String> {
    let ko = format!("/{name}/{name}.ko");
    let obj = format!("/{name}/{name}.o");
    log.lines()
        .filter(|l| is_modpost(l) && (l.contains(&ko) || l.contains(&obj)))
        .map(str::to_string)
        .collect()
}

/// modpost warnings that name no module of the batch: every module's
/// single build would have printed them too.
fn general_warnings(log: &str, modules: &[BatchModule]) -> Vec<String> {
    log.lines()
        .filter(|l| l.starts_with("WARNING: modpost:"))
        .filter(|l| {
            !modules
                .iter()
                .any(|m| !modpost_lines(l, &m.module).is_empty())
        })
        .map(str::to_string)
        .collect()
}

/// A module built on its own, as a single `stap -p4` builds it.
fn build_alone(req: &BatchRequest<'_>, m: &BatchModule) -> Result<BuiltModule, BuildError> {
    kbuild::build(&BuildRequest {
        tree: req.tree,
        toolchain: req.toolchain,
        module: &m.module,
        files: m.files.clone(),
        objects: m.objects.clone(),
        cflags: m.cflags.clone(),
        pch: m.pch.clone(),
        make_vars: req.make_vars.clone(),
        try_run_cache: req.try_run_cache.clone(),
        keep: false,
        verbose: req.verbose,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_kbuild_lists_one_directory_per_module() {
        assert_eq!(batch_kbuild_file(&["a", "b"]), "obj-m += a/\nobj-m += b/\n");
    }

    #[test]
    fn errors_are_blamed_on_the_module_whose_files_they_name() {
        let log = "/w/kb/stap_a/stap_a.c:3:1: error: 'x' undeclared\n\
                   /w/kb/stap_b/runtime/r.h:1:1: fatal error: y.h: No such file\n\
                   make[2]: *** [/w/kb/stap_c/Makefile] Error 1\n";
        assert!(blamed(log, "stap_a"));
        assert!(blamed(log, "stap_b"));
        assert!(!blamed(log, "stap_c"));
        assert!(!blamed(log, "stap"));
    }

    #[test]
    fn modpost_lines_go_to_the_module_they_name() {
        let log = "ERROR: modpost: \"nope\" [/w/kb/stap_a/stap_a.ko] undefined!\n\
                   WARNING: modpost: missing MODULE_DESCRIPTION() in /w/kb/stap_b/stap_b.o\n\
                   WARNING: modpost: something general\n";
        assert_eq!(
            modpost_lines(log, "stap_a"),
            ["ERROR: modpost: \"nope\" [/w/kb/stap_a/stap_a.ko] undefined!"]
        );
        assert_eq!(
            modpost_lines(log, "stap_b"),
            ["WARNING: modpost: missing MODULE_DESCRIPTION() in /w/kb/stap_b/stap_b.o"]
        );
        assert!(modpost_lines(log, "stap_c").is_empty());
        let modules: Vec<BatchModule> = ["stap_a", "stap_b", "stap_c"]
            .iter()
            .map(|m| BatchModule {
                module: m.to_string(),
                files: vec![],
                objects: vec![],
                cflags: vec![],
                pch: None,
            })
            .collect();
        assert_eq!(
            general_warnings(log, &modules),
            ["WARNING: modpost: something general"]
        );
    }
}
