//! The runtime's declarations precompiled once per tree and configuration.
//!
//! Every script's C begins with the runtime's declarations view, which
//! pulls in a large part of the kernel's headers: parsing them was most of
//! a module's compile (about 0.5 of 0.6 CPU seconds on 6.1). GCC can save
//! that parse as a precompiled header (`stp_pch.h.gch`) that a compile
//! loads instead; `kernel::kbuild::kbuild_file` makes the script's object
//! use it. The header is built by kbuild, with exactly the flags a
//! script's object gets (its `ccflags-y`, `-DMODULE`), in a directory of
//! its own below the tree's feature directory (`pch-HASH/`, HASH over the
//! declarations, the flags, the script's `STP_NEED_*` lines and `-B`
//! variables), beside the runtime object. A tree whose compiler cannot
//! make one records why (`failed`) and its modules build without it.

use std::path::{Path, PathBuf};

use super::limit::{self, Held, InUse};
use super::{make_objects, BuildSite};
use crate::kernel::cache::KeyHasher;
use crate::kernel::kbuild::{self, BuildError};

/// The header a script's object is compiled with first.
pub const HEADER: &str = "stp_pch.h";

/// What the precompiled header is made from.
#[derive(Debug, Clone, Copy)]
pub struct PchRequest<'a> {
    /// Where it is built and kept.
    pub site: BuildSite<'a>,
    /// The declarations view (`runtime/...`), as the script's build gets it.
    pub decl_files: &'a [(PathBuf, String)],
    /// The script's object's `ccflags-y`.
    pub cflags: &'a [String],
    /// The script's `#define STP_NEED_* ...` lines, verbatim (they come
    /// before its `#include "stapkit.h"`).
    pub needs: &'a [String],
}

/// The script's `#define STP_NEED_*` lines before its include of the
/// runtime (`codegen`), verbatim.
pub fn need_lines(c_source: &str) -> Vec<String> {
    c_source
        .lines()
        .take_while(|l| !l.starts_with("#include"))
        .filter(|l| l.starts_with("#define STP_NEED_"))
        .map(str::to_string)
        .collect()
}

/// [`HEADER`]'s text. kbuild's own `-include`s come after it in a
/// script's compile, so it includes them first itself (they are guarded,
/// and skipped when kbuild names them again); `compiler-version.h`, which
/// refuses a second inclusion, is forgotten at the end, for kbuild's
/// inclusion of it to pass.
pub fn header_text(needs: &[String]) -> String {
    let mut text = String::from(
        "/* The runtime's declarations, precompiled for every script of this configuration. */\n\
         #include <linux/kconfig.h>\n\
         #include <linux/compiler_types.h>\n",
    );
    for line in needs {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("#include \"runtime/stapkit.h\"\n#undef __LINUX_COMPILER_VERSION_H\n");
    text
}

/// The `Kbuild` file that makes [`HEADER`]`.gch`: a one-line module gives
/// kbuild a module to build, and the header is compiled as a part of a
/// module (`part-of-module`: `-DMODULE`), without the object names kbuild
/// would give it (a script's object defines them after the header).
pub fn pch_kbuild_file(cflags: &[String]) -> String {
    let target = format!("$(obj)/{HEADER}.gch");
    let mut text = format!(
        "obj-m := stp_pch_anchor.o\n\
         always-y += {HEADER}.gch\n\
         {target}: part-of-module := y\n\
         {target}: basename_flags :=\n\
         {target}: modname_flags :=\n\
         {target}: $(src)/{HEADER} FORCE\n\
         \t$(CC) $(c_flags) -x c-header -o $@ $<\n"
    );
    if !cflags.is_empty() {
        text.push_str(&format!("ccflags-y += {}\n", cflags.join(" ")));
    }
    text
}

/// The key of the header `req` describes, 64 hex digits.
pub fn pch_key(req: &PchRequest<'_>) -> String {
    let mut h = KeyHasher::default();
    h.part("format", b"stapkit precompiled runtime 1");
    h.part("kbuild", pch_kbuild_file(req.cflags).as_bytes());
    h.part("header", header_text(req.needs).as_bytes());
    for (path, text) in req.decl_files {
        h.part("file", path.to_string_lossy().as_bytes());
        h.part("contents", text.as_bytes());
    }
    for var in req.site.make_vars {
        h.part("make", var.as_bytes());
    }
    h.hex()
}

/// A precompiled header ready to use.
#[derive(Debug, Clone)]
pub struct Pch {
    /// [`HEADER`] in its directory, the `.gch` beside it.
    pub header: PathBuf,
    /// Its entry held in use: keep it until the module is compiled.
    pub in_use: InUse,
    /// What eviction of the cache (after a new header) ran into.
    pub eviction_error: Option<String>,
}

/// The precompiled header for `req`: from the cache, or built now (once,
/// even when several builds ask at the same time). `Err` says why there
/// is none; the script then builds without it.
pub fn prepare(req: &PchRequest<'_>) -> Result<Pch, String> {
    let dir = req.site.features_dir.join(format!("pch-{}", pch_key(req)));
    let header = dir.join(HEADER);
    let ready = dir.join("ready");
    let failed = dir.join("failed");
    let known = || ready.is_file() || failed.is_file();
    let why_failed = || std::fs::read_to_string(&failed).map_err(|e| e.to_string());
    let lock_path = dir.with_extension("lock");
    let building = match limit::hold(&lock_path, known)
        .map_err(|e| format!("{}: {e}", lock_path.display()))?
    {
        Held::Ready(in_use) => {
            crate::kernel::lru::mark_used(&dir);
            if !ready.is_file() {
                return Err(why_failed()?);
            }
            return Ok(Pch {
                header,
                in_use,
                eviction_error: None,
            });
        }
        Held::Build(building) => building,
    };
    match build(req, &dir) {
        Ok(()) => {
            std::fs::write(&ready, "").map_err(|e| format!("{}: {e}", ready.display()))?;
            let (in_use, evicted) = building.made(&dir);
            Ok(Pch {
                header,
                in_use,
                eviction_error: evicted.err(),
            })
        }
        Err(e) => {
            let why = e.to_string();
            // Remembered: every script of the configuration would fail alike.
            let _ = std::fs::write(&failed, &why);
            drop(building.made(&dir));
            Err(why)
        }
    }
}

/// Builds in `dir` itself (the `.gch` names the files it read, which must
/// stay where they were).
fn build(req: &PchRequest<'_>, dir: &Path) -> Result<(), BuildError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |error| BuildError::Io { path: p, error }
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut files: Vec<(PathBuf, String)> = req.decl_files.to_vec();
    files.push((PathBuf::from(HEADER), header_text(req.needs)));
    files.push((
        PathBuf::from("stp_pch_anchor.c"),
        "#include <linux/module.h>\nMODULE_LICENSE(\"GPL\");\n".to_string(),
    ));
    files.push((PathBuf::from("Kbuild"), pch_kbuild_file(req.cflags)));
    let made = make_objects(&req.site, dir, &files)?;
    if !made.success || !dir.join(format!("{HEADER}.gch")).is_file() {
        return Err(BuildError::Failed {
            dir: dir.to_path_buf(),
            errors: kbuild::compile_errors(&made.log, dir),
            log: made.log,
        });
    }
    made.try_run.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_lines_are_the_defines_before_the_include() {
        let c = "/* x */\n#define STP_NEED_KSTACK 1\n#define OTHER 2\n\
                 #include \"stapkit.h\"\n#define STP_NEED_NOT 1\n";
        assert_eq!(need_lines(c), ["#define STP_NEED_KSTACK 1"]);
    }

    #[test]
    fn the_header_includes_kbuilds_headers_then_the_needs_then_the_runtime() {
        let text = header_text(&["#define STP_NEED_KSTACK 1".into()]);
        let at = |s: &str| text.find(s).unwrap();
        assert!(at("linux/kconfig.h") < at("linux/compiler_types.h"));
        assert!(at("compiler_types.h") < at("STP_NEED_KSTACK"));
        assert!(at("STP_NEED_KSTACK") < at("runtime/stapkit.h"));
        assert!(text.ends_with("#undef __LINUX_COMPILER_VERSION_H\n"));
    }

    #[test]
    fn the_kbuild_file_compiles_the_header_as_part_of_a_module_without_names() {
        let k = pch_kbuild_file(&["-Werror".into()]);
        assert!(k.contains("always-y += stp_pch.h.gch\n"));
        assert!(k.contains("$(obj)/stp_pch.h.gch: part-of-module := y\n"));
        assert!(k.contains("$(obj)/stp_pch.h.gch: modname_flags :=\n"));
        assert!(k.contains("\t$(CC) $(c_flags) -x c-header -o $@ $<\n"));
        assert!(k.ends_with("ccflags-y += -Werror\n"));
    }
}
