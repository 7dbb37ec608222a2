//! Kbuild host tools for this machine when a tree's are another
//! architecture's programs (a real aarch64 `kernel-devel`, Ubuntu's arm64
//! headers, on an x86-64 host). `fixdep` and `modpost` are compiled with
//! the host's `cc` from the C sources the tree carries under `scripts/`
//! (kernel-devel keeps them, with the `elfconfig.h` and
//! `devicetable-offsets.h` its build generated), into a tree of stapkit's
//! cache (`CACHE/host-tools/HASH/tree`): a copy of the tree's `scripts/`
//! beside links to the rest of the tree. Builds then use that tree. The
//! user's tree is only read; a tree without the sources is refused with
//! the files it lacks.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::cache::Cache;
use super::host_fit::foreign_program;
use super::tree::HeaderTree;

/// The cache directory the rebuilt trees live in.
pub const CACHE_DIR: &str = "host-tools";

/// The file that marks a finished tree (written last).
const DONE: &str = ".stapkit-host-tools";

/// Sources every rebuild needs, relative to the tree.
const SOURCES: [&str; 6] = [
    "scripts/basic/fixdep.c",
    "scripts/mod/modpost.c",
    "scripts/mod/modpost.h",
    "scripts/mod/file2alias.c",
    "scripts/mod/sumversion.c",
    "scripts/mod/devicetable-offsets.h",
];

/// Why the host tools could not be rebuilt.
#[derive(Debug)]
pub enum HostToolsError {
    /// The tree does not carry the sources (Debian's split headers keep
    /// only the programs, in `linux-kbuild`).
    MissingSources {
        tree: PathBuf,
        arch: &'static str,
        missing: Vec<String>,
    },
    /// A compiler or generator run failed.
    Build { what: String, message: String },
    /// Reading the tree or writing the cache failed.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for HostToolsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostToolsError::MissingSources {
                tree,
                arch,
                missing,
            } => write!(
                f,
                "{}: the kbuild host tools are {arch} programs, which this {} host does not run, and the \
                 tree lacks the sources to build them for this host ({}); build on an {arch} host, or \
                 add the kernel's scripts/ sources to the tree",
                tree.display(),
                crate::arch::Arch::host().map_or("unknown", crate::arch::Arch::name),
                missing.join(", ")
            ),
            HostToolsError::Build { what, message } => {
                write!(f, "building the kbuild host tool {what} for this host failed: {message}")
            }
            HostToolsError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for HostToolsError {}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HostToolsError + '_ {
    move |error| HostToolsError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// `tree` as this host builds with it: itself when its `fixdep` is not
/// another architecture's program, else the tree of the cache whose host
/// tools were rebuilt for this host (made on first use).
pub fn for_host(
    tree: &HeaderTree,
    cache: &Cache,
    progress: &mut dyn FnMut(&str),
) -> Result<HeaderTree, HostToolsError> {
    let Some(arch) = foreign_program(&tree.dir.join("scripts/basic/fixdep")) else {
        return Ok(tree.clone());
    };
    let source = tree.dir.canonicalize().map_err(io(&tree.dir))?;
    let missing: Vec<String> = SOURCES
        .iter()
        .filter(|s| !source.join(s).is_file())
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(HostToolsError::MissingSources {
            tree: tree.dir.clone(),
            arch,
            missing,
        });
    }
    let key = format!("{}\0{}", source.display(), tree.release);
    let base = cache.dir().join(CACHE_DIR).join(format!(
        "{:016x}",
        crate::text::hash::fnv1a_64(key.as_bytes())
    ));
    let dir = base.join("tree");
    if !dir.join(DONE).is_file() {
        progress(&format!(
            "{}: its kbuild host tools are {arch} programs; building fixdep and modpost for this host \
             from its sources into {}",
            tree.release,
            dir.display()
        ));
        let _lock =
            super::cache::lock_file(&base.join(".lock")).map_err(|e| HostToolsError::Io {
                path: base.join(".lock"),
                error: std::io::Error::other(e.to_string()),
            })?;
        if !dir.join(DONE).is_file() {
            let work = base.join("tree.tmp");
            if work.exists() {
                std::fs::remove_dir_all(&work).map_err(io(&work))?;
            }
            build(&source, &work, tree)?;
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
            }
            std::fs::rename(&work, &dir).map_err(io(&dir))?;
        }
    }
    Ok(HeaderTree {
        dir,
        ..tree.clone()
    })
}

/// Makes the tree at `work`: links to `source`'s entries, a copy of its
/// `scripts/` without another architecture's programs, and `fixdep` and
/// `modpost` compiled here.
fn build(source: &Path, work: &Path, tree: &HeaderTree) -> Result<(), HostToolsError> {
    std::fs::create_dir_all(work).map_err(io(work))?;
    for entry in std::fs::read_dir(source).map_err(io(source))? {
        let entry = entry.map_err(io(source))?;
        let name = entry.file_name();
        if name == "scripts" {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), work.join(&name))
            .map_err(io(&work.join(&name)))?;
    }
    let scripts = work.join("scripts");
    run(
        "scripts/",
        Command::new("cp")
            .arg("-RL")
            .arg(source.join("scripts"))
            .arg(&scripts),
    )?;
    remove_foreign_programs(&scripts)?;
    host_cc(
        &scripts,
        &scripts.join("basic/fixdep"),
        &[scripts.join("basic/fixdep.c")],
        "scripts/basic/fixdep",
    )?;
    let module = scripts.join("mod");
    if !module.join("elfconfig.h").is_file() {
        elfconfig(&scripts, tree)?;
    }
    let skip = ["mk_elfconfig.c", "empty.c", "devicetable-offsets.c"];
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&module)
        .map_err(io(&module))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "c")
                && !skip.iter().any(|s| p.file_name().is_some_and(|n| n == *s))
        })
        .collect();
    sources.sort();
    host_cc(
        &scripts,
        &module.join("modpost"),
        &sources,
        "scripts/mod/modpost",
    )?;
    std::fs::write(work.join(DONE), "fixdep modpost\n").map_err(io(&work.join(DONE)))
}

/// `scripts/mod/elfconfig.h` (the target's ELF class and byte order), as
/// kbuild makes it: the target compiler's object of `empty.c` read by
/// `mk_elfconfig`.
fn elfconfig(scripts: &Path, tree: &HeaderTree) -> Result<(), HostToolsError> {
    let module = scripts.join("mod");
    let module = module.as_path();
    let what = "scripts/mod/elfconfig.h";
    for needed in ["mk_elfconfig.c", "empty.c"] {
        if !module.join(needed).is_file() {
            return Err(HostToolsError::Build {
                what: what.into(),
                message: format!(
                    "the tree has neither elfconfig.h nor scripts/mod/{needed} to make it"
                ),
            });
        }
    }
    let mk = module.join("mk_elfconfig");
    host_cc(
        scripts,
        &mk,
        &[module.join("mk_elfconfig.c")],
        "scripts/mod/mk_elfconfig",
    )?;
    let empty = module.join("empty.o");
    run(
        what,
        Command::new(tree.compiler_command())
            .args(["-c", "-o"])
            .arg(&empty)
            .arg(module.join("empty.c")),
    )?;
    let header = std::fs::File::create(module.join("elfconfig.h")).map_err(io(module))?;
    let object = std::fs::File::open(&empty).map_err(io(&empty))?;
    run(
        what,
        Command::new(&mk)
            .stdin(Stdio::from(object))
            .stdout(Stdio::from(header)),
    )
}

/// Compiles `sources` into the host program `out` with the host's `cc`,
/// as kbuild compiles host programs (its `scripts/include` and
/// `scripts/mod` on the include path).
fn host_cc(
    scripts: &Path,
    out: &Path,
    sources: &[PathBuf],
    what: &str,
) -> Result<(), HostToolsError> {
    run(
        what,
        Command::new("cc")
            .args(["-O2", "-std=gnu11", "-w"])
            .arg(format!("-I{}", scripts.join("include").display()))
            .arg(format!("-I{}", scripts.join("mod").display()))
            .arg("-o")
            .arg(out)
            .args(sources),
    )
}

/// Deletes every ELF program under `dir` built for another architecture.
fn remove_foreign_programs(dir: &Path) -> Result<(), HostToolsError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            remove_foreign_programs(&path)?;
        } else if foreign_program(&path).is_some() {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

fn run(what: &str, cmd: &mut Command) -> Result<(), HostToolsError> {
    let failed = |message: String| HostToolsError::Build {
        what: what.to_string(),
        message,
    };
    let out = cmd
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| failed(format!("{cmd:?}: {e}")))?;
    if !out.status.success() {
        return Err(failed(format!(
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tree::tests::fake_tree;

    /// An ELF header of the architecture that is not this host's.
    fn foreign_elf() -> Vec<u8> {
        let machine: u16 = if crate::arch::Arch::host() == Some(crate::arch::Arch::Arm64) {
            62
        } else {
            183
        };
        let mut head = b"\x7fELF\x02\x01\x01".to_vec();
        head.resize(18, 0);
        head.extend_from_slice(&machine.to_le_bytes());
        head.resize(64, 0);
        head
    }

    #[test]
    fn another_architectures_tools_are_rebuilt_from_the_trees_sources_into_the_cache() {
        let tmp = tempfile::tempdir().unwrap();
        let user = tmp.path().join("kernels/5.14.0-57.el9.aarch64");
        fake_tree(&user, "5.14.0-57.el9.aarch64", "CONFIG_ARM64=y\n");
        let scripts = user.join("scripts");
        for d in ["basic", "mod", "include"] {
            std::fs::create_dir_all(scripts.join(d)).unwrap();
        }
        std::fs::write(scripts.join("basic/fixdep"), foreign_elf()).unwrap();
        std::fs::write(scripts.join("mod/modpost"), foreign_elf()).unwrap();
        std::fs::write(scripts.join("sign-file"), foreign_elf()).unwrap();
        let tree = HeaderTree::open(&user).unwrap();
        let cache = Cache::locate(Some(&tmp.path().join("cache")));

        // Without the sources: refused, naming what is missing.
        let e = for_host(&tree, &cache, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "the tree lacks the sources to build them for this host (scripts/basic/fixdep.c, \
                 scripts/mod/modpost.c, scripts/mod/modpost.h, scripts/mod/file2alias.c, \
                 scripts/mod/sumversion.c, scripts/mod/devicetable-offsets.h)"
            ),
            "{e}"
        );

        // Small stand-ins for the kernel's sources: each tool prints its name.
        std::fs::write(
            scripts.join("basic/fixdep.c"),
            "#include <stdio.h>\nint main(void) { puts(\"fixdep\"); return 0; }\n",
        )
        .unwrap();
        std::fs::write(scripts.join("mod/modpost.h"), "int sum(void);\n").unwrap();
        std::fs::write(
            scripts.join("mod/modpost.c"),
            "#include <stdio.h>\n#include \"modpost.h\"\n#include \"elfconfig.h\"\n\
             int main(void) { printf(\"modpost %d\\n\", sum() + ELFCLASS); return 0; }\n",
        )
        .unwrap();
        std::fs::write(
            scripts.join("mod/file2alias.c"),
            "int alias(void) { return 1; }\n",
        )
        .unwrap();
        std::fs::write(
            scripts.join("mod/sumversion.c"),
            "#include \"modpost.h\"\nint alias(void);\nint sum(void) { return alias(); }\n",
        )
        .unwrap();
        std::fs::write(scripts.join("mod/devicetable-offsets.h"), "\n").unwrap();
        std::fs::write(scripts.join("mod/elfconfig.h"), "#define ELFCLASS 1\n").unwrap();
        let before: Vec<u8> = std::fs::read(scripts.join("basic/fixdep")).unwrap();
        let mut lines = Vec::new();
        let host = for_host(&tree, &cache, &mut |l| lines.push(l.to_string())).unwrap();
        assert!(
            host.dir.starts_with(cache.dir().join(CACHE_DIR)),
            "{}",
            host.dir.display()
        );
        assert_eq!(host.release, tree.release);
        assert_eq!(lines.len(), 1, "{lines:?}");
        // The tools run here; the user's tree is as it was.
        let ran = |tool: &str| {
            let out = Command::new(host.dir.join(tool)).output().unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(ran("scripts/basic/fixdep"), "fixdep\n");
        assert_eq!(ran("scripts/mod/modpost"), "modpost 2\n");
        assert_eq!(std::fs::read(scripts.join("basic/fixdep")).unwrap(), before);
        assert!(!scripts.join("mod/modpost.o").exists());
        // Another architecture's programs are not left in the copy; the
        // rest of the tree is linked.
        assert!(!host.dir.join("scripts/sign-file").exists());
        assert!(std::fs::symlink_metadata(host.dir.join(".config"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            super::super::host_fit::foreign_program(&host.dir.join("scripts/basic/fixdep")),
            None
        );
        // Made once.
        let mut again = Vec::new();
        assert_eq!(
            for_host(&tree, &cache, &mut |l| again.push(l.to_string()))
                .unwrap()
                .dir,
            host.dir
        );
        assert!(again.is_empty());
        // A tree of this host's tools is itself.
        assert_eq!(for_host(&host, &cache, &mut |_| {}).unwrap().dir, host.dir);
    }
}
