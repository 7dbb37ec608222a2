//! The runtime compiled once per kernel tree and configuration, so that a
//! script's build compiles only its own C.
//!
//! The runtime (`runtime-c/`) is written as one translation unit with the
//! script; [`split`] makes two views of it: the *object* view, compiled by
//! kbuild into `stp_runtime.o` with everything global, and the
//! *declarations* view the script's C includes instead (types, macros,
//! `static inline` helpers, prototypes, `extern`s). The script's module is
//! then `NAME_src.o` (its C) linked with that object. The object is cached
//! beside the tree's feature probes (`CACHE/features/KEY/`, keyed like
//! them), as `runtime-HASH/stp_runtime.o` where HASH is SHA-256 over everything that
//! changes it: the object view's files (the runtime and the feature
//! header), the C flags (`-D` limits such as `MAXSTRINGLEN`, `-s`), the
//! `STP_NEED_*` parts the script's C asks for, and `-B` make variables;
//! the tree and toolchain are in the features key. A collision would hand
//! out a wrong object, hence SHA-256.

pub mod limit;
pub mod pch;
pub mod split;

use std::path::{Path, PathBuf};

use crate::kernel::cache::KeyHasher;
use crate::kernel::kbuild::{self, BuildError};
use crate::kernel::kbuild_tryrun::{self, TryRun};
use crate::kernel::toolchain::Toolchain;
use crate::kernel::HeaderTree;

/// The object's file name in a module's build directory.
pub const OBJECT: &str = "stp_runtime.o";

/// The runtime's files in both views.
#[derive(Debug, Clone)]
pub struct SplitRuntime {
    /// What `stp_runtime.o` is compiled from (with `stp_runtime.c`).
    pub object_files: Vec<(PathBuf, String)>,
    /// What the script's C is compiled with.
    pub decl_files: Vec<(PathBuf, String)>,
}

/// The views of the runtime files (`runtime::files()` plus the feature
/// header): `.c` files are split; `stapkit.h` defines `STP_API` empty (the
/// library's functions are global) and, for the script,
/// `STP_RUNTIME_DECLS`; other headers are shared as they are.
pub fn split_runtime(files: &[(PathBuf, String)]) -> Result<SplitRuntime, String> {
    const STP_API: &str = "#define STP_API static __maybe_unused\n";
    let mut object_files = Vec::new();
    let mut decl_files = Vec::new();
    for (path, text) in files {
        if path.extension().is_some_and(|e| e == "c") {
            let v = split::views(text).map_err(|e| format!("{}: {e}", path.display()))?;
            object_files.push((path.clone(), v.object));
            decl_files.push((path.clone(), v.decls));
        } else if path.file_name().is_some_and(|n| n == "stapkit.h") {
            if !text.contains(STP_API) {
                return Err(format!(
                    "{}: no `{}` line to make the library global",
                    path.display(),
                    STP_API.trim_end()
                ));
            }
            let object = text.replace(STP_API, "#define STP_API\n");
            let decls = object.replacen("#include ", "#define STP_RUNTIME_DECLS 1\n#include ", 1);
            object_files.push((path.clone(), object));
            decl_files.push((path.clone(), decls));
        } else {
            object_files.push((path.clone(), text.clone()));
            decl_files.push((path.clone(), text.clone()));
        }
    }
    object_files.push((
        PathBuf::from("stp_runtime.c"),
        "/* The stapkit runtime, compiled once for every module of this configuration. */\n\
         #include \"stapkit.h\"\n"
            .to_string(),
    ));
    Ok(SplitRuntime {
        object_files,
        decl_files,
    })
}

/// The `STP_NEED_*` parts the script's C defines before it includes the
/// runtime (`codegen`), as `-D` flags: the object must be built with them
/// too.
pub fn script_needs(c_source: &str) -> Vec<String> {
    pch::need_lines(c_source)
        .iter()
        .filter_map(|l| l.strip_prefix("#define ")?.split_once(' '))
        .map(|(name, value)| format!("-D{name}={value}"))
        .collect()
}

/// Where the runtime's cached pieces are built: one kernel tree's kbuild.
#[derive(Debug, Clone, Copy)]
pub struct BuildSite<'a> {
    /// The target tree.
    pub tree: &'a HeaderTree,
    /// Where `make` runs.
    pub toolchain: &'a Toolchain,
    /// The tree's feature directory (`kernel::features`), where the
    /// pieces are cached.
    pub features_dir: &'a Path,
    /// `-B` variables.
    pub make_vars: &'a [String],
    /// Echo the build commands.
    pub verbose: bool,
}

/// What the object is built from.
#[derive(Debug, Clone, Copy)]
pub struct ObjectRequest<'a> {
    /// Where it is built.
    pub site: BuildSite<'a>,
    /// The object view's files.
    pub files: &'a [(PathBuf, String)],
    /// The C flags, as the script's own (plus its `STP_NEED_*`).
    pub cflags: &'a [String],
}

/// What [`make_objects`] ran: make's exit, its log, and the record of
/// the tree's compiler tests to keep (`finish`) once the caller has found
/// the build good.
struct ObjectsMade {
    success: bool,
    log: String,
    try_run: TryRun,
}

/// Writes `files` into `dir` and runs kbuild there for its objects only
/// (no modpost, no final link); the tree's first build records kbuild's
/// compiler tests for the builds that follow (`kernel::kbuild_tryrun`).
fn make_objects(
    site: &BuildSite<'_>,
    dir: &Path,
    files: &[(PathBuf, String)],
) -> Result<ObjectsMade, BuildError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| BuildError::Io { path: p, error }
    };
    for (rel, text) in files {
        let file = dir.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&file, text).map_err(io(&file))?;
    }
    let mut vars = site.make_vars.to_vec();
    vars.extend([
        "KBUILD_MODPOST_WARN=1".into(),
        "KBUILD_MODPOST_NOFINAL=1".into(),
    ]);
    let mut make =
        kbuild::modules_command(site.tree, site.toolchain, dir, &[], &vars, site.verbose);
    let try_run = TryRun::prepare(
        &kbuild_tryrun::cache_path(site.features_dir, site.make_vars),
        dir,
        &mut make,
    )
    .map_err(io(dir))?;
    let out = make
        .output()
        .map_err(|e| BuildError::Make(site.toolchain.spawn_error(&e)))?;
    Ok(ObjectsMade {
        success: out.status.success(),
        log: kbuild::make_log(&out),
        try_run,
    })
}

/// A runtime object ready to link.
#[derive(Debug, Clone)]
pub struct RuntimeObject {
    /// The cached object.
    pub path: PathBuf,
    /// Whether it was in the cache already.
    pub cached: bool,
    /// Its entry held in use: keep it until the module is linked.
    pub in_use: limit::InUse,
    /// What eviction of the cache (after a new object) ran into.
    pub eviction_error: Option<String>,
}

/// The key of the object `req` describes, 64 hex digits.
pub fn object_key(files: &[(PathBuf, String)], cflags: &[String], make_vars: &[String]) -> String {
    let mut h = KeyHasher::default();
    h.part("format", b"stapkit runtime object 2");
    for (path, text) in files {
        h.part("file", path.to_string_lossy().as_bytes());
        h.part("contents", text.as_bytes());
    }
    for flag in cflags {
        h.part("cflag", flag.as_bytes());
    }
    for var in make_vars {
        h.part("make", var.as_bytes());
    }
    h.hex()
}

/// The runtime object for `req`: from the cache, or built now (once, even
/// when several builds ask at the same time).
pub fn prepare(req: &ObjectRequest<'_>) -> Result<RuntimeObject, BuildError> {
    let site = &req.site;
    let key = object_key(req.files, req.cflags, site.make_vars);
    let key_dir = site.features_dir.join(format!("runtime-{key}"));
    let path = key_dir.join(OBJECT);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| BuildError::Io { path: p, error }
    };
    let lock_path = key_dir.with_extension("lock");
    let building = match limit::hold(&lock_path, || path.is_file()).map_err(io(&lock_path))? {
        limit::Held::Ready(in_use) => {
            crate::kernel::lru::mark_used(&key_dir);
            return Ok(RuntimeObject {
                path,
                cached: true,
                in_use,
                eviction_error: None,
            });
        }
        limit::Held::Build(building) => building,
    };
    let dir = tempfile::Builder::new()
        .prefix("stapkit-runtime")
        .tempdir()
        .map_err(io(&std::env::temp_dir()))?;
    let mut files = req.files.to_vec();
    files.push((PathBuf::from("Kbuild"), object_kbuild_file(req.cflags)));
    let made = make_objects(site, dir.path(), &files)?;
    // make's exit is not the verdict: the object is all that is wanted.
    let built = dir.path().join(OBJECT);
    let compiled = made.log.lines().all(|l| !l.contains(": error: "));
    if !built.is_file() || !compiled {
        let errors = kbuild::compile_errors(&made.log, dir.path());
        return Err(BuildError::Failed {
            dir: dir.keep(),
            errors,
            log: made.log,
        });
    }
    made.try_run.finish();
    std::fs::create_dir_all(&key_dir).map_err(io(&key_dir))?;
    let tmp = path.with_extension("o.tmp");
    std::fs::copy(&built, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    let (in_use, evicted) = building.made(&key_dir);
    Ok(RuntimeObject {
        path,
        cached: false,
        in_use,
        eviction_error: evicted.err(),
    })
}

/// The `Kbuild` file of the object's own build: the object is one part of
/// a multi-object module, as it is in every script's module, so kbuild
/// treats it as it will there (objtool runs on parts, or only on the linked
/// module where the tree delays it: running it twice would define
/// `__pfx_` symbols twice on 6.12). The object's functions are global
/// without a prototype of their own (the script's C has them), which newer
/// trees warn about.
pub fn object_kbuild_file(cflags: &[String]) -> String {
    let mut text = format!(
        "obj-m := stp_runtime_module.o\nstp_runtime_module-y := {OBJECT}\n\
         CFLAGS_{OBJECT} += -Wno-missing-prototypes -Wno-missing-declarations\n"
    );
    if !cflags.is_empty() {
        text.push_str(&format!("ccflags-y += {}\n", cflags.join(" ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_come_from_the_lines_before_the_include() {
        let c = "/* x */\n#define STP_NEED_KSTACK 1\n#define STP_NEED_REGEX_GROUPS 1\n\
                 #include \"stapkit.h\"\n#define STP_NEED_NOT 1\n";
        assert_eq!(
            script_needs(c),
            ["-DSTP_NEED_KSTACK=1", "-DSTP_NEED_REGEX_GROUPS=1"]
        );
    }

    #[test]
    fn the_shipped_runtime_splits() {
        let split = split_runtime(&crate::runtime::files()).unwrap();
        let decls = |name: &str| {
            split
                .decl_files
                .iter()
                .find(|(p, _)| p.ends_with(name))
                .map(|(_, t)| t.clone())
                .unwrap()
        };
        assert!(
            decls("stapkit.h").contains("#define STP_RUNTIME_DECLS 1\n#include <linux/module.h>")
        );
        assert!(decls("stapkit.h").contains("#define STP_API\n"));
        assert!(decls("core/context.c").contains("extern size_t stp_frame_size;"));
        assert!(split
            .object_files
            .iter()
            .any(|(p, _)| p == Path::new("stp_runtime.c")));
    }

    #[test]
    fn the_key_changes_with_flags_files_and_make_variables() {
        let files = vec![(PathBuf::from("a.c"), "int a;".to_string())];
        let other = vec![(PathBuf::from("a.c"), "int b;".to_string())];
        let k = object_key(&files, &[], &[]);
        assert_eq!(k, object_key(&files, &[], &[]));
        assert_ne!(k, object_key(&files, &["-DMAXSTRINGLEN=64".into()], &[]));
        assert_ne!(k, object_key(&other, &[], &[]));
        assert_ne!(k, object_key(&files, &[], &["CC=clang".into()]));
    }
}
