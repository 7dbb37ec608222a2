//! Feature probes: what a kernel tree offers, found by compiling against it.
//!
//! Each *compile probe* is a small C file in `runtime-c/features/NAME.c`
//! whose second line says which macro it defines and which kernel change it
//! covers (`/* STP_HAVE_MMAP_LOCK: mm_struct's mmap_sem became ... (5.8). */`).
//! It defines `STP_HAVE_NAME` when it compiles against the target tree with
//! the tree's compiler and flags plus `-Werror` (so a changed signature, an
//! incompatible pointer, is a failed probe). *Export probes*
//! (`runtime-c/features/exports.txt`) define `STP_HAVE_EXPORT_SYMBOL` when the
//! tree's `Module.symvers` exports the symbol: a declaration compiles
//! whether or not a module may link against it. The `control` probe must
//! always compile; if it does not, no result means anything (a missing
//! prototype under 6.12's `-Wmissing-prototypes` fails every probe) and
//! detection fails loudly instead.
//!
//! All compile probes build in one kbuild run (`make -k -jN`, N the core
//! count). The result, `stp_features.h`, is cached under
//! `CACHE/features/KEY/` where KEY hashes the tree (directory, release,
//! `.config`, `Module.symvers`), the toolchain and the probe set, so a tree
//! is probed once; `probes.log` beside it keeps the compiler output.
//! `runtime-c/core/compat.h` turns the macros into one spelling per API.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};

use super::cache::{lock_file, Cache};
use super::symvers::Symvers;
use super::toolchain::Toolchain;
use super::tree::HeaderTree;

static FEATURES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../runtime-c/features");

/// Flags every compile probe gets on top of the tree's own.
const PROBE_CFLAGS: &str = "-Werror";

/// One feature probe.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureProbe {
    /// The probe's name: the file stem (`mmap_lock`) or the exported symbol.
    pub name: String,
    /// The macro it defines, `STP_HAVE_...`.
    pub macro_name: String,
    /// The kernel change it covers, one line.
    pub covers: String,
    /// How it is decided.
    pub kind: ProbeKind,
}

/// How a probe is decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeKind {
    /// Compiles `source` against the tree.
    Compile { source: String },
    /// Looks `symbol` up in the tree's `Module.symvers`.
    Export { symbol: String },
}

/// The probe set shipped with this binary, sorted by macro name; the
/// `control` probe is not among them (see [`control_probe`]).
pub fn probes() -> Vec<FeatureProbe> {
    let mut out: Vec<FeatureProbe> = FEATURES
        .files()
        .filter(|f| f.path().extension().is_some_and(|e| e == "c"))
        .filter_map(|f| {
            let name = f.path().file_stem()?.to_str()?.to_string();
            let source = f.contents_utf8()?.to_string();
            (name != "control").then(|| compile_probe(&name, &source))
        })
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e: String| panic!("runtime-c/features: {e}"));
    let exports = FEATURES
        .get_file("exports.txt")
        .and_then(|f| f.contents_utf8())
        .unwrap_or("");
    out.extend(export_probes(exports));
    out.sort_by(|a, b| a.macro_name.cmp(&b.macro_name));
    out
}

/// The probe that must always compile.
pub fn control_probe() -> FeatureProbe {
    let source = FEATURES
        .get_file("control.c")
        .and_then(|f| f.contents_utf8())
        .expect("runtime-c/features/control.c is embedded");
    FeatureProbe {
        name: "control".into(),
        macro_name: String::new(),
        covers: "always compiles".into(),
        kind: ProbeKind::Compile {
            source: source.to_string(),
        },
    }
}

/// Reads a compile probe's header line: `/* STP_HAVE_X: what changed. */`.
fn compile_probe(name: &str, source: &str) -> Result<FeatureProbe, String> {
    let line = source
        .lines()
        .find(|l| l.starts_with("/* STP_HAVE_"))
        .ok_or_else(|| format!("{name}.c has no '/* STP_HAVE_NAME: change */' line"))?;
    let (macro_name, covers) = line
        .trim_start_matches("/* ")
        .trim_end_matches(" */")
        .split_once(": ")
        .ok_or_else(|| format!("{name}.c: the STP_HAVE_ line needs 'MACRO: change'"))?;
    let expected = format!("STP_HAVE_{}", name.to_uppercase());
    if macro_name != expected {
        return Err(format!("{name}.c defines {macro_name}; name it {expected}"));
    }
    Ok(FeatureProbe {
        name: name.to_string(),
        macro_name: macro_name.to_string(),
        covers: covers.to_string(),
        kind: ProbeKind::Compile {
            source: source.to_string(),
        },
    })
}

/// Parses `exports.txt`: `SYMBOL  change` per line, `#` comments.
fn export_probes(text: &str) -> Vec<FeatureProbe> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (symbol, covers) = l.split_once(char::is_whitespace)?;
            Some(FeatureProbe {
                name: symbol.to_string(),
                macro_name: format!("STP_HAVE_EXPORT_{}", symbol.to_uppercase()),
                covers: covers.trim().to_string(),
                kind: ProbeKind::Export {
                    symbol: symbol.to_string(),
                },
            })
        })
        .collect()
}

/// A tree's probe results.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Macro name to whether the feature is there.
    pub results: BTreeMap<String, bool>,
    /// `stp_features.h`.
    pub header: String,
    /// Whether the results came from the cache.
    pub cached: bool,
    /// The cache directory holding the header and `probes.log`.
    pub dir: PathBuf,
}

impl Features {
    /// Whether `STP_HAVE_...` is defined.
    pub fn has(&self, macro_name: &str) -> bool {
        self.results.get(macro_name).copied().unwrap_or(false)
    }
}

/// Why probing failed.
#[derive(Debug)]
pub enum FeatureError {
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// `make` could not be started (or the toolchain root entered).
    Make(String),
    /// The control probe did not compile.
    ControlFailed { log: PathBuf, excerpt: String },
}

impl fmt::Display for FeatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            FeatureError::Make(why) => write!(f, "feature probes: {why}"),
            FeatureError::ControlFailed { log, excerpt } => write!(
                f,
                "the feature probes cannot compile even an empty file against this tree ({excerpt}); \
                 the toolchain does not fit the tree, see {}",
                log.display()
            ),
        }
    }
}

impl std::error::Error for FeatureError {}

/// The cache key for `tree` built with `toolchain` and the shipped probe set.
pub fn cache_key(tree: &HeaderTree, toolchain: &Toolchain) -> String {
    let mut h = crate::text::hash::Fnv1a128::new();
    h.part(tree.dir.to_string_lossy().as_bytes());
    h.part(tree.release.as_bytes());
    h.part(&std::fs::read(tree.dir.join(".config")).unwrap_or_default());
    if let Ok(meta) = std::fs::metadata(tree.dir.join("Module.symvers")) {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        h.part(format!("{} {mtime}", meta.len()).as_bytes());
    }
    h.part(toolchain.identity().as_bytes());
    h.part(PROBE_CFLAGS.as_bytes());
    for file in FEATURES.files() {
        h.part(file.path().to_string_lossy().as_bytes());
        h.part(file.contents());
    }
    h.hex()
}

/// The features of `tree`: from the cache, or probed now (once, even when
/// many builds ask at the same time).
pub fn detect(
    tree: &HeaderTree,
    toolchain: &Toolchain,
    cache: &Cache,
) -> Result<Features, FeatureError> {
    let key = cache_key(tree, toolchain);
    let mut dir = cache.features_dir().join(&key);
    // A shared cache this user cannot write (prepared by root) still serves
    // its results; new ones go to a per-user directory instead.
    let probe_lock = |d: &Path| lock_file(&d.with_extension("lock")).ok();
    let mut lock = None;
    if !dir.join("stp_features.h").is_file() {
        lock = probe_lock(&dir);
        if lock.is_none() {
            // SAFETY: geteuid has no preconditions.
            let uid = unsafe { libc::geteuid() };
            dir = std::env::temp_dir()
                .join(format!("stapkit-features-{uid}"))
                .join(&key);
        }
    }
    let header_path = dir.join("stp_features.h");
    let read_cached = || -> Option<Features> {
        let header = std::fs::read_to_string(&header_path).ok()?;
        Some(Features {
            results: parse_header(&header),
            header,
            cached: true,
            dir: dir.clone(),
        })
    };
    if let Some(f) = read_cached() {
        return Ok(f);
    }
    let _lock = match lock {
        Some(lock) => lock,
        None => lock_file(&dir.with_extension("lock")).map_err(|e| FeatureError::Io {
            path: dir.clone(),
            error: std::io::Error::other(e.to_string()),
        })?,
    };
    if let Some(f) = read_cached() {
        return Ok(f);
    }
    let probes = probes();
    let (results, log) = run_probes(tree, toolchain, &probes)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| FeatureError::Io { path, error }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let log_path = dir.join("probes.log");
    std::fs::write(&log_path, &log).map_err(io(&log_path))?;
    let Some(results) = results else {
        let excerpt = log
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or("no compiler output")
            .trim()
            .to_string();
        return Err(FeatureError::ControlFailed {
            log: log_path,
            excerpt,
        });
    };
    let header = render_header(&tree.release, &probes, &results);
    let tmp = dir.join("stp_features.h.tmp");
    std::fs::write(&tmp, &header).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &header_path).map_err(io(&header_path))?;
    Ok(Features {
        results,
        header,
        cached: false,
        dir,
    })
}

/// Runs every probe; `None` results when the control probe failed.
fn run_probes(
    tree: &HeaderTree,
    toolchain: &Toolchain,
    probes: &[FeatureProbe],
) -> Result<(Option<BTreeMap<String, bool>>, String), FeatureError> {
    let build = tempfile::Builder::new()
        .prefix("stapkit-probes")
        .tempdir()
        .map_err(|error| FeatureError::Io {
            path: std::env::temp_dir(),
            error,
        })?;
    let control = control_probe();
    let mut objects = Vec::new();
    for probe in std::iter::once(&control).chain(probes) {
        if let ProbeKind::Compile { source } = &probe.kind {
            let path = build.path().join(format!("{}.c", probe.name));
            std::fs::write(&path, source).map_err(|error| FeatureError::Io { path, error })?;
            objects.push(format!("{}.o", probe.name));
        }
    }
    let kbuild = format!(
        "obj-m := {}\nccflags-y += {PROBE_CFLAGS}\n",
        objects.join(" ")
    );
    let kbuild_path = build.path().join("Kbuild");
    std::fs::write(&kbuild_path, kbuild).map_err(|error| FeatureError::Io {
        path: kbuild_path,
        error,
    })?;
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let out = toolchain
        .command("make")
        .arg("-C")
        .arg(&tree.dir)
        .arg(format!("M={}", build.path().display()))
        .args(tree.make_vars())
        .arg("-k")
        .arg(format!("-j{jobs}"))
        .args(&objects)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| FeatureError::Make(toolchain.spawn_error(&e)))?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let built = |name: &str| build.path().join(format!("{name}.o")).is_file();
    if !built(&control.name) {
        return Ok((None, log));
    }
    let exported = Symvers::load(&tree.dir.join("Module.symvers")).unwrap_or_default();
    let results = probes
        .iter()
        .map(|p| {
            let ok = match &p.kind {
                ProbeKind::Compile { .. } => built(&p.name),
                ProbeKind::Export { symbol } => exported.contains(symbol),
            };
            (p.macro_name.clone(), ok)
        })
        .collect();
    Ok((Some(results), log))
}

/// `stp_features.h` for the results, one commented line per probe.
pub fn render_header(
    release: &str,
    probes: &[FeatureProbe],
    results: &BTreeMap<String, bool>,
) -> String {
    let mut out = format!(
        "/* Kernel features of {release}, found by stapkit's feature probes\n \
         * (runtime-c/features/). Generated per tree; do not edit. */\n\
         #ifndef STP_FEATURES_H\n#define STP_FEATURES_H\n"
    );
    for p in probes {
        out.push_str(&format!("/* {} */\n", p.covers));
        if results.get(&p.macro_name).copied().unwrap_or(false) {
            out.push_str(&format!("#define {} 1\n", p.macro_name));
        } else {
            out.push_str(&format!("/* #undef {} */\n", p.macro_name));
        }
    }
    out.push_str("#endif /* STP_FEATURES_H */\n");
    out
}

/// Reads the results back from a header [`render_header`] wrote.
pub fn parse_header(text: &str) -> BTreeMap<String, bool> {
    text.lines()
        .filter_map(|l| {
            if let Some(rest) = l.strip_prefix("#define STP_HAVE_") {
                Some((
                    format!("STP_HAVE_{}", rest.split_whitespace().next()?),
                    true,
                ))
            } else {
                let rest = l.strip_prefix("/* #undef ")?;
                Some((rest.trim_end_matches(" */").to_string(), false))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// `compiler/tests/data/kernel-fixtures`: stand-in trees of 5.4, 6.1
    /// and 7.2 shape (see fixture.mk there).
    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kernel-fixtures")
    }

    /// The probe results on each fixture tree, probed once per test run.
    fn fixture_results() -> &'static BTreeMap<&'static str, Features> {
        static RESULTS: OnceLock<BTreeMap<&'static str, Features>> = OnceLock::new();
        RESULTS.get_or_init(|| {
            let cache_dir = tempfile::tempdir().unwrap().keep();
            let cache = Cache::locate(Some(&cache_dir));
            ["v5.4", "v6.1", "v7.2"]
                .into_iter()
                .map(|v| {
                    let tree = HeaderTree::open(&fixtures().join(v)).unwrap();
                    let tc = Toolchain::Host {
                        compiler: tree.compiler.clone(),
                    };
                    let f = detect(&tree, &tc, &cache).unwrap_or_else(|e| panic!("{v}: {e}"));
                    (v, f)
                })
                .collect()
        })
    }

    /// Asserts a probe's result on the 5.4, 6.1 and 7.2 fixtures.
    fn check(macro_name: &str, expected: [bool; 3]) {
        let results = fixture_results();
        let got: Vec<bool> = ["v5.4", "v6.1", "v7.2"]
            .iter()
            .map(|v| {
                *results[v]
                    .results
                    .get(macro_name)
                    .unwrap_or_else(|| panic!("no probe defines {macro_name}"))
            })
            .collect();
        assert_eq!(got, expected, "{macro_name} on the 5.4, 6.1, 7.2 fixtures");
    }

    /// One test per probe: `probe_tests! { test_name: MACRO => [5.4, 6.1, 7.2] }`.
    macro_rules! probe_tests {
        ($($test:ident: $macro:literal => $expected:expr,)*) => {
            $(
                #[test]
                fn $test() {
                    check($macro, $expected);
                }
            )*

            #[test]
            fn every_probe_has_a_test() {
                let tested = [$($macro),*];
                for p in probes() {
                    assert!(tested.contains(&p.macro_name.as_str()), "no test for {}", p.macro_name);
                }
                assert_eq!(tested.len(), probes().len(), "a test names a probe that does not exist");
            }
        };
    }

    probe_tests! {
        mmap_lock: "STP_HAVE_MMAP_LOCK" => [false, true, true],
        gup_remote_task: "STP_HAVE_GUP_REMOTE_TASK" => [true, false, false],
        gup_remote_vmas: "STP_HAVE_GUP_REMOTE_VMAS" => [false, true, false],
        gup_remote_novmas: "STP_HAVE_GUP_REMOTE_NOVMAS" => [false, false, true],
        proc_ops: "STP_HAVE_PROC_OPS" => [false, true, true],
        pde_data: "STP_HAVE_PDE_DATA" => [false, true, true],
        task_state: "STP_HAVE_TASK___STATE" => [false, true, true],
        task_thread_info_cpu: "STP_HAVE_TASK_THREAD_INFO_CPU" => [false, true, true],
        timer_container_of: "STP_HAVE_TIMER_CONTAINER_OF" => [false, false, true],
        timer_delete: "STP_HAVE_TIMER_DELETE" => [false, false, true],
        strlcpy: "STP_HAVE_STRLCPY" => [true, true, false],
        fcheck_files: "STP_HAVE_FCHECK_FILES" => [true, false, false],
        copy_from_kernel_nofault: "STP_HAVE_COPY_FROM_KERNEL_NOFAULT" => [false, true, true],
        copy_from_user_nofault: "STP_HAVE_COPY_FROM_USER_NOFAULT" => [false, true, true],
        tracepoint_register_tp: "STP_HAVE_TRACEPOINT_REGISTER_TP" => [true, true, true],
        stack_trace_save: "STP_HAVE_STACK_TRACE_SAVE" => [true, true, true],
        access_ok_no_type: "STP_HAVE_ACCESS_OK_NO_TYPE" => [true, true, true],
        task_work_cancel_func: "STP_HAVE_TASK_WORK_CANCEL_FUNC" => [false, false, true],
        task_work_notify_mode: "STP_HAVE_TASK_WORK_NOTIFY_MODE" => [false, true, true],
        hrtimer_setup: "STP_HAVE_HRTIMER_SETUP" => [false, false, true],
        get_kretprobe: "STP_HAVE_GET_KRETPROBE" => [false, true, true],
        get_kretprobe_retaddr: "STP_HAVE_GET_KRETPROBE_RETADDR" => [false, true, true],
        get_random_u32: "STP_HAVE_GET_RANDOM_U32" => [true, true, true],
        vma_lookup: "STP_HAVE_VMA_LOOKUP" => [false, true, true],
        uprobe_register_nosync: "STP_HAVE_UPROBE_REGISTER_NOSYNC" => [false, false, true],
        uprobe_handler_data: "STP_HAVE_UPROBE_HANDLER_DATA" => [false, false, true],
        module_import_ns_string: "STP_HAVE_MODULE_IMPORT_NS_STRING" => [false, false, true],
        module_memory: "STP_HAVE_MODULE_MEMORY" => [false, false, true],
        export_kallsyms_lookup_name: "STP_HAVE_EXPORT_KALLSYMS_LOOKUP_NAME" => [true, false, false],
        export_unwind_start: "STP_HAVE_EXPORT___UNWIND_START" => [false, false, false],
        export_stack_trace_save_tsk: "STP_HAVE_EXPORT_STACK_TRACE_SAVE_TSK" => [false, false, false],
    }

    #[test]
    fn every_probe_names_its_macro_and_the_change_it_covers() {
        let probes = probes();
        assert!(probes.len() >= 25, "{}", probes.len());
        for p in &probes {
            assert!(p.macro_name.starts_with("STP_HAVE_"), "{p:?}");
            assert!(p.covers.len() > 10 && !p.covers.contains('\n'), "{p:?}");
            if let ProbeKind::Compile { source } = &p.kind {
                // 6.12 builds with -Wmissing-prototypes: every external
                // function a probe defines must be declared first.
                let definitions = source
                    .lines()
                    .filter(|l| {
                        !l.starts_with(char::is_whitespace) && !l.ends_with(';') && l.contains('(')
                    })
                    .filter(|l| {
                        l.starts_with("stp_")
                            || l.contains(" stp_probe")
                            || l.contains("*stp_probe")
                    });
                for line in definitions {
                    let decl = format!("{};", line.trim_end());
                    assert!(
                        line.starts_with("static") || source.contains(&decl),
                        "{}.c: '{line}' has no prototype before it",
                        p.name
                    );
                }
            }
        }
    }

    #[test]
    fn the_pre_5_8_branch_of_every_shim_compiles() {
        // compat.h's fallbacks (mmap_sem, the task-first get_user_pages_remote,
        // file_operations for /proc, ...) compiled against the 5.4 fixture,
        // and its new-API branches against the 6.1 and 7.2 ones.
        for (v, features) in fixture_results() {
            let out = compile_compat_check(&fixtures().join(v), &features.header);
            assert!(
                out.0,
                "compat_check.c does not compile against the {v} fixture:\n{}",
                out.1
            );
        }
    }

    /// Builds compat_check.c against a fixture tree with `header` as its
    /// stp_features.h; (success, log).
    fn compile_compat_check(tree: &Path, header: &str) -> (bool, String) {
        let build = tempfile::tempdir().unwrap();
        let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-c");
        std::fs::write(build.path().join("stp_features.h"), header).unwrap();
        std::fs::copy(
            fixtures().join("compat_check.c"),
            build.path().join("compat_check.c"),
        )
        .unwrap();
        std::fs::write(
            build.path().join("Kbuild"),
            format!(
                "obj-m := compat_check.o\nccflags-y += -Werror -I$(src) -I{}\n",
                runtime.display()
            ),
        )
        .unwrap();
        let out = std::process::Command::new("make")
            .arg("-C")
            .arg(tree)
            .arg(format!("M={}", build.path().display()))
            .arg("compat_check.o")
            .output()
            .unwrap();
        (
            out.status.success() && build.path().join("compat_check.o").is_file(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    #[test]
    fn results_are_cached_per_tree_and_toolchain() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::locate(Some(tmp.path()));
        let tree = HeaderTree::open(&fixtures().join("v6.1")).unwrap();
        let tc = Toolchain::Host {
            compiler: tree.compiler.clone(),
        };
        let first = detect(&tree, &tc, &cache).unwrap();
        assert!(!first.cached);
        assert!(first.dir.join("probes.log").is_file());
        let second = detect(&tree, &tc, &cache).unwrap();
        assert!(second.cached);
        assert_eq!(first.results, second.results);
        assert_eq!(first.header, second.header);
        let other = HeaderTree::open(&fixtures().join("v7.2")).unwrap();
        assert_ne!(cache_key(&tree, &tc), cache_key(&other, &tc));
        assert_ne!(
            cache_key(&tree, &tc),
            cache_key(
                &tree,
                &Toolchain::Host {
                    compiler: "stapkit-other-gcc".into()
                }
            )
        );
    }

    #[test]
    fn headers_round_trip_and_read_well() {
        let probes = probes();
        let results: BTreeMap<String, bool> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| (p.macro_name.clone(), i % 2 == 0))
            .collect();
        let header = render_header("6.1.0-56-amd64", &probes, &results);
        assert_eq!(parse_header(&header), results);
        assert!(
            header.contains("#define STP_HAVE_ACCESS_OK_NO_TYPE 1\n"),
            "{header}"
        );
        assert!(header
            .contains("/* access_ok() lost its VERIFY_READ/VERIFY_WRITE argument (5.0). */\n"));
    }

    #[test]
    fn a_tree_the_control_probe_cannot_compile_against_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let tree_dir = tmp.path().join("tree");
        std::fs::create_dir_all(tree_dir.join("include/generated")).unwrap();
        std::fs::write(
            tree_dir.join("Makefile"),
            "%.o:\n\t@echo 'error: no compiler here' >&2; exit 1\n",
        )
        .unwrap();
        std::fs::write(
            tree_dir.join(".config"),
            "CONFIG_X86_64=y\nCONFIG_CC_VERSION_TEXT=\"gcc x\"\n",
        )
        .unwrap();
        std::fs::write(
            tree_dir.join("include/generated/utsrelease.h"),
            "#define UTS_RELEASE \"0.0.0-broken\"\n",
        )
        .unwrap();
        let tree = HeaderTree::open(&tree_dir).unwrap();
        let cache = Cache::locate(Some(tmp.path()));
        let err = detect(
            &tree,
            &Toolchain::Host {
                compiler: "gcc".into(),
            },
            &cache,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("the feature probes cannot compile even an empty file against this tree (error: no compiler here)"),
            "{err}"
        );
    }
}
