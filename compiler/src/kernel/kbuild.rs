//! The kbuild driver: C sources in, `NAME.ko` out.
//!
//! Writes the sources and a `Kbuild` file to a build directory, runs
//! `make -C TREE M=DIR modules` with the tree's toolchain (the host's, or a
//! toolchain root: `kernel::toolchain`; `ARCH=`/`CROSS_COMPILE=` when the
//! tree is another architecture's, `kernel::arch`; kbuild's compiler tests
//! answered from a per-tree cache, `kernel::kbuild_tryrun`), and on failure shows each compiler
//! error with the generated line it points at. Warnings of `modpost` are
//! returned with the module: with `-Werror` on the C, a build is clean only
//! when modpost is quiet too (7.x warns about a missing MODULE_DESCRIPTION).

use std::fmt;
use std::path::{Path, PathBuf};

use super::kbuild_tryrun::TryRun;
use super::toolchain::Toolchain;
use super::tree::HeaderTree;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest<'a> {
    /// The target tree.
    pub tree: &'a HeaderTree,
    /// Where `make` runs.
    pub toolchain: &'a Toolchain,
    /// The module name (`NAME.ko`); the main source must be `NAME.c`, or
    /// `NAME_src.c` when `objects` are linked in.
    pub module: &'a str,
    /// Files to write into the build directory: relative path and contents.
    pub files: Vec<(PathBuf, String)>,
    /// Objects built before (`runtime_object`), copied into the build
    /// directory and linked into the module.
    pub objects: Vec<PathBuf>,
    /// Extra compiler flags (`-D`, `-I $(src)/...`), placed in `ccflags-y`.
    pub cflags: Vec<String>,
    /// The runtime's declarations precompiled (`runtime_object::pch`):
    /// its `stp_pch.h`, whose `.gch` the script's C is compiled with.
    pub pch: Option<PathBuf>,
    /// Extra `make` variables (`-B NAME=VALUE`).
    pub make_vars: Vec<String>,
    /// Where kbuild's compiler tests are answered from, or recorded to
    /// (`kernel::kbuild_tryrun`); `None` runs them.
    pub try_run_cache: Option<PathBuf>,
    /// Keep the build directory (`-k`).
    pub keep: bool,
    /// Echo the build commands (`-v` level 3 and up).
    pub verbose: bool,
}

/// A module that built.
#[derive(Debug)]
pub struct BuiltModule {
    /// The `.ko`, inside the build directory.
    pub ko: PathBuf,
    /// The build directory: kept if asked, else removed on drop.
    pub dir: BuildDir,
    /// `WARNING: modpost: ...` lines of the build.
    pub modpost_warnings: Vec<String>,
}

/// The build directory of one build.
#[derive(Debug)]
pub enum BuildDir {
    /// Removed when dropped.
    Temporary(tempfile::TempDir),
    /// Kept (`-k`).
    Kept(PathBuf),
}

impl BuildDir {
    /// The directory's path.
    pub fn path(&self) -> &Path {
        match self {
            BuildDir::Temporary(t) => t.path(),
            BuildDir::Kept(p) => p,
        }
    }
}

/// Why a build failed.
#[derive(Debug)]
pub enum BuildError {
    /// The build directory could not be set up.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// `make` could not be run (the toolchain's explanation).
    Make(String),
    /// The compiler or kbuild failed.
    Failed {
        dir: PathBuf,
        errors: Vec<CompileError>,
        log: String,
    },
}

/// One compiler error mapped back to the file it points at.
#[derive(Debug, Clone, PartialEq)]
pub struct CompileError {
    /// The file, relative to the build directory when inside it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The compiler's message (`error: ...`).
    pub message: String,
    /// The source line it points at, if the file is ours.
    pub source: Option<String>,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            BuildError::Make(why) => write!(f, "{why}"),
            BuildError::Failed { dir, errors, log } => {
                if errors.is_empty() {
                    writeln!(f, "kbuild failed in {}:", dir.display())?;
                    let tail: Vec<&str> = log.lines().rev().take(30).collect();
                    for line in tail.into_iter().rev() {
                        writeln!(f, "  {line}")?;
                    }
                    return Ok(());
                }
                writeln!(
                    f,
                    "the generated C failed to build ({} error(s)):",
                    errors.len()
                )?;
                for e in errors {
                    if e.line == 0 {
                        writeln!(f, "{}: {}", e.file, e.message)?;
                        continue;
                    }
                    writeln!(f, "{}:{}: {}", e.file, e.line, e.message)?;
                    if let Some(src) = &e.source {
                        writeln!(f, "  {:>5} | {}", e.line, src)?;
                    }
                }
                write!(
                    f,
                    "this is a stapkit bug: please report it with the script (build dir: {})",
                    dir.display()
                )
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// Builds the module and returns the `.ko`.
pub fn build(req: &BuildRequest<'_>) -> Result<BuiltModule, BuildError> {
    let dir = if req.keep {
        let tmp = tempfile::Builder::new()
            .prefix("stapkit")
            .tempdir()
            .map_err(|error| BuildError::Io {
                path: std::env::temp_dir(),
                error,
            })?;
        BuildDir::Kept(tmp.keep())
    } else {
        BuildDir::Temporary(
            tempfile::Builder::new()
                .prefix("stapkit")
                .tempdir()
                .map_err(|error| BuildError::Io {
                    path: std::env::temp_dir(),
                    error,
                })?,
        )
    };
    let path = dir.path().to_path_buf();
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| BuildError::Io { path: p, error }
    };
    for (rel, text) in &req.files {
        let file = path.join(rel);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&file, text).map_err(io(&file))?;
    }
    let objects = copy_objects(&req.objects, &path)?;
    if req.pch.is_some() {
        let names = path.join(NAMES_HEADER);
        std::fs::write(&names, names_header(req.module)).map_err(io(&names))?;
    }
    let kbuild = kbuild_file(req.module, &req.cflags, &objects, req.pch.as_deref());
    std::fs::write(path.join("Kbuild"), kbuild).map_err(io(&path.join("Kbuild")))?;

    let mut make = modules_command(
        req.tree,
        req.toolchain,
        &path,
        &[],
        &req.make_vars,
        req.verbose,
    );
    let try_run = match &req.try_run_cache {
        Some(cache) => Some(TryRun::prepare(cache, &path, &mut make).map_err(io(&path))?),
        None => None,
    };
    let out = crate::markers::run_command(&mut make)
        .map_err(|e| BuildError::Make(req.toolchain.spawn_error(&e)))?;
    let log = make_log(&out);
    let ko = path.join(format!("{}.ko", req.module));
    if !out.status.success() || !ko.is_file() {
        let errors = compile_errors(&log, &path);
        return Err(BuildError::Failed {
            dir: path,
            errors,
            log,
        });
    }
    if let Some(t) = try_run {
        t.finish();
    }
    let modpost_warnings = log
        .lines()
        .filter(|l| l.starts_with("WARNING: modpost:"))
        .map(str::to_string)
        .collect();
    Ok(BuiltModule {
        ko,
        dir,
        modpost_warnings,
    })
}

/// What `make` printed, standard output then standard error.
pub fn make_log(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `make [FLAGS] -C TREE M=DIR ... modules` with the toolchain, the tree's
/// variables and then `make_vars` (`-B` may override the tree's).
pub fn modules_command(
    tree: &HeaderTree,
    toolchain: &Toolchain,
    dir: &Path,
    flags: &[String],
    make_vars: &[String],
    verbose: bool,
) -> std::process::Command {
    let mut make = toolchain.command("make");
    make.args(flags)
        .arg("-C")
        .arg(&tree.dir)
        .arg(format!("M={}", dir.display()));
    if verbose {
        make.arg("V=1");
    }
    make.args(tree.make_vars())
        .args(make_vars)
        .arg("modules")
        .env("LC_ALL", "C");
    make
}

/// Copies prebuilt objects into `dir`, returning their file names.
pub fn copy_objects(objects: &[PathBuf], dir: &Path) -> Result<Vec<String>, BuildError> {
    let mut names = Vec::new();
    for object in objects {
        let name = object
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = dir.join(&name);
        std::fs::copy(object, &dest).map_err(|error| BuildError::Io {
            path: object.clone(),
            error,
        })?;
        // modpost reads every object's `.NAME.cmd`; kbuild has none to
        // write for an object it did not compile.
        let cmd = dir.join(format!(".{name}.cmd"));
        std::fs::write(&cmd, format!("cmd_{name} := prebuilt by stapkit\n"))
            .map_err(|error| BuildError::Io { path: cmd, error })?;
        names.push(name);
    }
    Ok(names)
}

/// The `Kbuild` file for a module: one object from `NAME.c`, or with
/// prebuilt `objects` (file names in the build directory), `NAME_src.c`'s
/// object linked with them.
///
/// With `pch` (a precompiled `stp_pch.h`, `runtime_object::pch`), the
/// script's C is compiled with it as its first `-include`, so the kernel's
/// and the runtime's headers are read once per tree and configuration
/// instead of once per module. GCC uses a precompiled header only before
/// the first C token (kbuild's own `-include compiler_types.h` has some),
/// hence `NOSTDINC_FLAGS`, the one variable kbuild puts before its own
/// includes; and only when the macros defined before it are those it was
/// made with, so the per-module `KBUILD_BASENAME`/`KBUILD_MODNAME` move
/// from the command line to [`NAMES_HEADER`], read right after it (the
/// kernel's headers only name them inside macros). If GCC refuses the
/// `.gch`, it reads `stp_pch.h` itself: the same declarations, as slowly
/// as before.
pub fn kbuild_file(
    module: &str,
    cflags: &[String],
    objects: &[String],
    pch: Option<&Path>,
) -> String {
    let mut text = format!("obj-m := {module}.o\n");
    if !objects.is_empty() {
        text.push_str(&format!("{module}-y := {module}_src.o"));
        for o in objects {
            text.push_str(&format!(" {o}"));
        }
        text.push('\n');
    }
    if !cflags.is_empty() {
        text.push_str(&format!("ccflags-y += {}\n", cflags.join(" ")));
    }
    if let (Some(pch), false) = (pch, objects.is_empty()) {
        let target = format!("$(obj)/{module}_src.o");
        text.push_str(&format!(
            "{target}: NOSTDINC_FLAGS += -include {} -include $(src)/{NAMES_HEADER}\n\
             {target}: basename_flags :=\n\
             {target}: modname_flags :=\n",
            pch.display()
        ));
    }
    text
}

/// The header that defines, after the precompiled header, the names kbuild
/// gives a module's object on the command line.
pub const NAMES_HEADER: &str = "stp_kbuild_names.h";

/// [`NAMES_HEADER`]'s text for `NAME_src.o` of module `module`: kbuild's
/// `basename_flags` and `modname_flags` (its `name-fix`: `-` and `,`
/// become `_`).
pub fn names_header(module: &str) -> String {
    let fixed = module.replace(['-', ','], "_");
    format!(
        "/* kbuild's names for this object, defined after the precompiled header. */\n\
         #define KBUILD_BASENAME \"{fixed}_src\"\n\
         #define KBUILD_MODNAME \"{fixed}\"\n\
         #define __KBUILD_MODNAME kmod_{fixed}\n"
    )
}

/// Extracts `FILE:LINE:COL: error: MSG` lines, attaching the source line
/// from files inside the build directory.
pub fn compile_errors(log: &str, dir: &Path) -> Vec<CompileError> {
    let mut errors = Vec::new();
    for line in log.lines() {
        if let Some(message) = line.trim_start().strip_prefix("ERROR: modpost: ") {
            let message = message.replace(&format!("{}/", dir.display()), "");
            errors.push(CompileError {
                file: "modpost".into(),
                line: 0,
                message: format!("error: {message}"),
                source: None,
            });
            continue;
        }
        let Some((location, message)) = line
            .split_once(": error: ")
            .or_else(|| line.split_once(": fatal error: "))
        else {
            continue;
        };
        let mut parts = location.rsplitn(3, ':');
        let (_col, line_no, file) = match (parts.next(), parts.next(), parts.next()) {
            (Some(c), Some(l), Some(f)) if l.parse::<usize>().is_ok() => (c, l, f),
            (Some(l), Some(f), None) if l.parse::<usize>().is_ok() => ("", l, f),
            _ => continue,
        };
        let line_no: usize = line_no.parse().unwrap_or(0);
        let path = Path::new(file);
        let relative = path.strip_prefix(dir).ok().map(|p| p.display().to_string());
        let source = relative.as_ref().and_then(|_| {
            std::fs::read_to_string(path)
                .ok()?
                .lines()
                .nth(line_no.checked_sub(1)?)
                .map(str::to_string)
        });
        errors.push(CompileError {
            file: relative.unwrap_or_else(|| file.to_string()),
            line: line_no,
            message: format!("error: {message}"),
            source,
        });
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kbuild_file_names_the_object_and_flags() {
        assert_eq!(kbuild_file("hello", &[], &[], None), "obj-m := hello.o\n");
        assert_eq!(
            kbuild_file(
                "hello",
                &["-I$(src)/runtime".into(), "-DMAXACTION=10".into()],
                &[],
                None
            ),
            "obj-m := hello.o\nccflags-y += -I$(src)/runtime -DMAXACTION=10\n"
        );
        assert_eq!(
            kbuild_file("hello", &[], &["stp_runtime.o".into()], None),
            "obj-m := hello.o\nhello-y := hello_src.o stp_runtime.o\n"
        );
        assert_eq!(
            kbuild_file(
                "hello",
                &[],
                &["stp_runtime.o".into()],
                Some(Path::new("/c/pch-1/stp_pch.h"))
            ),
            "obj-m := hello.o\nhello-y := hello_src.o stp_runtime.o\n\
             $(obj)/hello_src.o: NOSTDINC_FLAGS += -include /c/pch-1/stp_pch.h -include $(src)/stp_kbuild_names.h\n\
             $(obj)/hello_src.o: basename_flags :=\n\
             $(obj)/hello_src.o: modname_flags :=\n"
        );
        assert!(names_header("a-b").contains("#define KBUILD_MODNAME \"a_b\"\n"));
    }

    #[test]
    fn compile_errors_point_at_generated_lines() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("hello.c"), "int a;\nint b = nope;\n").unwrap();
        let log = format!(
            "  CC [M]  {0}/hello.c\n{0}/hello.c:2:9: error: 'nope' undeclared here (not in a function)\n\
             /usr/src/linux/include/x.h:10:1: fatal error: y.h: No such file or directory\n\
             ERROR: modpost: \"nope\" [{0}/hello.ko] undefined!\nmake: *** Error 1\n",
            tmp.path().display()
        );
        let errors = compile_errors(&log, tmp.path());
        assert_eq!(
            errors,
            vec![
                CompileError {
                    file: "hello.c".into(),
                    line: 2,
                    message: "error: 'nope' undeclared here (not in a function)".into(),
                    source: Some("int b = nope;".into()),
                },
                CompileError {
                    file: "/usr/src/linux/include/x.h".into(),
                    line: 10,
                    message: "error: y.h: No such file or directory".into(),
                    source: None,
                },
                CompileError {
                    file: "modpost".into(),
                    line: 0,
                    message: "error: \"nope\" [hello.ko] undefined!".into(),
                    source: None,
                },
            ]
        );
    }
}
