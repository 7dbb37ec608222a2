//! C programs the guests carry for scripts that probe user space through
//! debug information (`tests/programs/*.c`, embedded in the binary): each
//! is built statically (`userpie`: as a static PIE) for the guests'
//! architecture with `-g`, split as
//! distributions ship programs, and laid out twice: the stripped program
//! as the guest's `/bin/NAME`, and, in the build side's sysroot, the same
//! stripped program at `bin/NAME` with its debug file only at its build-id
//! path (`usr/lib/debug/.build-id/XX/REST.debug`), so that stap finds the
//! DWARF the way it does on a distribution.

use crate::debuginfo::{debugfile, testprog};
use crate::vm::Arch;
use std::path::{Path, PathBuf};

/// The programs: name, C source and how they are linked (`-static`, or
/// `-static-pie`: loaded at an address chosen at run time, so that its
/// statics move with it).
const PROGRAMS: &[(&str, &str, &str)] = &[
    ("userdebug", testprog::USERDEBUG, "-static"),
    ("userpie", testprog::USERDEBUG, "-static-pie"),
];

/// The toolchain for `arch` guests (Debian's names), linking with `link`.
fn toolchain(arch: Arch, link: &'static str) -> testprog::Toolchain<'static> {
    let (cc, objcopy) = match arch {
        Arch::X86_64 => ("gcc", "objcopy"),
        Arch::Arm64 => ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-objcopy"),
    };
    let options: &'static [&'static str] = match link {
        "-static-pie" => &["-static-pie"],
        _ => &["-static"],
    };
    testprog::Toolchain {
        cc,
        objcopy,
        options,
    }
}

/// Builds the programs for `arch` into `dir` and lays them out under the
/// sysroot `root`; returns each guest file (`bin/NAME`) with the stripped
/// program to copy there.
pub fn build(dir: &Path, root: &Path, arch: Arch) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    for (name, source, linking) in PROGRAMS {
        let split = testprog::build_in(dir, name, source, toolchain(arch, linking))?;
        let data = std::fs::read(&split.stripped)
            .map_err(|e| format!("{}: {e}", split.stripped.display()))?;
        let id = debugfile::links_of(&data)?
            .build_id
            .ok_or_else(|| format!("{} has no build id", split.stripped.display()))?;
        let at = debugfile::build_id_path(&root.join("usr/lib/debug"), &id)
            .ok_or_else(|| format!("bad build id {id}"))?;
        link(&split.debug, &at)?;
        link(&split.stripped, &root.join("bin").join(name))?;
        out.push((format!("bin/{name}"), split.stripped));
    }
    Ok(out)
}

/// The guest files of programs [`build`] made in `dir` (none when it has
/// not run).
pub(super) fn guest_files(dir: &Path) -> Vec<(String, PathBuf)> {
    PROGRAMS
        .iter()
        .map(|(name, _, _)| (format!("bin/{name}"), dir.join(name)))
        .filter(|(_, p)| p.is_file())
        .collect()
}

/// Where the programs for `arch` are built under the work directory.
pub fn dir(work_dir: &Path, arch: Arch) -> PathBuf {
    work_dir.join(format!("programs-{}", super::rust_target(arch)))
}

/// A fresh symlink `at` -> `to`, replacing what is there.
fn link(to: &Path, at: &Path) -> Result<(), String> {
    let parent = at.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    // Made beside and renamed over: concurrent builds of one sysroot
    // (test targets running at once) never see it missing.
    let tmp = parent.join(format!(
        ".{}.{}",
        at.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(to, &tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, at).map_err(|e| format!("{}: {e}", at.display()))
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
