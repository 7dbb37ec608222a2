//! C programs the guests carry for scripts that probe user space through
//! debug information (`tests/programs/*.c`, embedded in the binary): each
//! is built statically for the guests' architecture with `-g`, split as
//! distributions ship programs, and laid out twice: the stripped program
//! as the guest's `/bin/NAME`, and, in the build side's sysroot, the same
//! stripped program at `bin/NAME` with its debug file only at its build-id
//! path (`usr/lib/debug/.build-id/XX/REST.debug`), so that stap finds the
//! DWARF the way it does on a distribution.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::debuginfo::debugfile;
use crate::vm::Arch;

/// The programs: name and C source.
const PROGRAMS: &[(&str, &str)] = &[(
    "userdebug",
    include_str!("../../../tests/programs/userdebug.c"),
)];

/// The C compiler and objcopy for `arch` guests (Debian's names).
fn tools(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::X86_64 => ("gcc", "objcopy"),
        Arch::Arm64 => ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-objcopy"),
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Builds the programs for `arch` into `dir` and lays them out under the
/// sysroot `root`; returns each guest file (`bin/NAME`) with the stripped
/// program to copy there.
pub(super) fn build(dir: &Path, root: &Path, arch: Arch) -> Result<Vec<(String, PathBuf)>, String> {
    let (cc, objcopy) = tools(arch);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for (name, source) in PROGRAMS {
        let c = dir.join(format!("{name}.c"));
        let full = dir.join(format!("{name}.full"));
        let debug = dir.join(format!("{name}.debug"));
        let stripped = dir.join(name);
        std::fs::write(&c, source).map_err(|e| format!("{}: {e}", c.display()))?;
        run(Command::new(cc)
            .args(["-static", "-g", "-O0", "-Wl,--build-id", "-o"])
            .arg(&full)
            .arg(&c))?;
        run(Command::new(objcopy)
            .arg("--only-keep-debug")
            .arg(&full)
            .arg(&debug))?;
        run(Command::new(objcopy)
            .arg("--strip-all")
            .arg(&full)
            .arg(&stripped))?;
        let data = std::fs::read(&stripped).map_err(|e| format!("{}: {e}", stripped.display()))?;
        let id = debugfile::links_of(&data)?
            .build_id
            .ok_or_else(|| format!("{} has no build id", stripped.display()))?;
        let at = debugfile::build_id_path(&root.join("usr/lib/debug"), &id)
            .ok_or_else(|| format!("bad build id {id}"))?;
        link(&debug, &at)?;
        link(&stripped, &root.join("bin").join(name))?;
        out.push((format!("bin/{name}"), stripped));
    }
    Ok(out)
}

/// The guest files of programs [`build`] made in `dir` (none when it has
/// not run).
pub(super) fn guest_files(dir: &Path) -> Vec<(String, PathBuf)> {
    PROGRAMS
        .iter()
        .map(|(name, _)| (format!("bin/{name}"), dir.join(name)))
        .filter(|(_, p)| p.is_file())
        .collect()
}

/// Where the programs for `arch` are built under the work directory.
pub(super) fn dir(work_dir: &Path, arch: Arch) -> PathBuf {
    work_dir.join(format!("programs-{}", super::rust_target(arch)))
}

/// A fresh symlink `at` -> `to`.
fn link(to: &Path, at: &Path) -> Result<(), String> {
    let parent = at.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    match std::fs::remove_file(at) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("{}: {e}", at.display()))
        }
        _ => {}
    }
    std::os::unix::fs::symlink(to, at).map_err(|e| format!("{}: {e}", at.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_stripped_with_the_debug_file_at_the_build_id_path() {
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        let files = build(&work.path().join("programs"), &root, Arch::X86_64).unwrap();
        assert_eq!(files.len(), PROGRAMS.len());
        let (at, stripped) = &files[0];
        assert_eq!(at, "bin/userdebug");
        let links = debugfile::links_of(&std::fs::read(stripped).unwrap()).unwrap();
        assert!(!links.has_dwarf);
        let id = links.build_id.unwrap();
        let found = debugfile::find(
            &root.join("bin/userdebug"),
            "/bin/userdebug",
            &debugfile::SearchPath::standard(Some(&root), work.path()),
        )
        .unwrap();
        assert_eq!(found.found, debugfile::Found::BuildId);
        assert!(found.path.ends_with(format!(
            "usr/lib/debug/.build-id/{}/{}.debug",
            &id[..2],
            &id[2..]
        )));
    }
}
