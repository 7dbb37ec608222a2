//! C programs the guests carry for scripts that probe user space through
//! debug information (`tests/programs/*.c`, embedded in the binary): each
//! is built statically (`userpie`: as a static PIE; `userdyn` and
//! `userlibmain`: dynamically linked, for the C library of
//! [`super::userland`]; `libuserlib.so.1`: a shared library that
//! `userlibmain` needs) for the guests' architecture with `-g`, split as
//! distributions ship programs, and laid out twice: the stripped program
//! as the guest's `/bin/NAME` (a library as `/usr/lib/NAME`, where the
//! guests' dynamic loader looks), and, in the build side's sysroot, the
//! same stripped file at the same path with its debug file only at its
//! build-id path (`usr/lib/debug/.build-id/XX/REST.debug`), so that stap
//! finds the DWARF the way it does on a distribution. The dynamic loader
//! and `libc.so.6` (`super::userland`) lie at the same paths in both.

use crate::debuginfo::{debugfile, testprog};
use crate::vm::Arch;
use std::path::{Path, PathBuf};

/// How a program is linked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Link {
    /// `-static`.
    Static,
    /// `-static-pie`: loaded at an address chosen at run time, so that its
    /// statics move with it.
    StaticPie,
    /// The compiler's default: a PIE that the guest's dynamic loader links
    /// with `libc.so.6` and the libraries it names.
    Dynamic,
    /// A shared library, its name its soname.
    Shared,
}

/// One test program (or library).
struct Program {
    /// Its file name.
    name: &'static str,
    /// Its C source.
    source: testprog::Source,
    link: Link,
    /// The shared libraries among [`PROGRAMS`] it is linked with (built
    /// before it).
    libraries: &'static [&'static str],
}

impl Program {
    /// Its path in the guest and the sysroot (relative).
    fn guest_path(&self) -> String {
        match self.link {
            Link::Shared => format!("usr/lib/{}", self.name),
            _ => format!("bin/{}", self.name),
        }
    }
}

/// The programs, each after the libraries it needs.
const PROGRAMS: &[Program] = &[
    Program {
        name: "userdebug",
        source: testprog::USERDEBUG,
        link: Link::Static,
        libraries: &[],
    },
    Program {
        name: "userpie",
        source: testprog::USERDEBUG,
        link: Link::StaticPie,
        libraries: &[],
    },
    Program {
        name: "userdyn",
        source: testprog::USERDYN,
        link: Link::Dynamic,
        libraries: &[],
    },
    Program {
        name: "libuserlib.so.1",
        source: testprog::USERLIB,
        link: Link::Shared,
        libraries: &[],
    },
    Program {
        name: "userlibmain",
        source: testprog::USERLIBMAIN,
        link: Link::Dynamic,
        libraries: &["libuserlib.so.1"],
    },
];

/// The guest paths of the programs ([`build`] lays them out there, in the
/// sysroot too): `bin/NAME`, `usr/lib/NAME` for a library.
pub fn guest_paths() -> impl Iterator<Item = String> {
    PROGRAMS.iter().map(Program::guest_path)
}

/// Builds `program` for `arch` guests in `dir` (Debian's tool names).
fn build_one(dir: &Path, arch: Arch, program: &Program) -> Result<testprog::Split, String> {
    let (cc, objcopy) = match arch {
        Arch::X86_64 => ("gcc", "objcopy"),
        Arch::Arm64 => ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-objcopy"),
    };
    let soname = format!("-Wl,-soname,{}", program.name);
    let options: Vec<&str> = match program.link {
        Link::Static => vec!["-static"],
        Link::StaticPie => vec!["-static-pie"],
        Link::Dynamic => vec![],
        Link::Shared => vec!["-shared", "-fPIC", &soname],
    };
    let tools = testprog::Toolchain {
        cc,
        objcopy,
        options: &options,
        libraries: program.libraries,
    };
    testprog::build_in(dir, program.name, program.source, tools)
}

/// Builds the programs for `arch` into `dir` and lays them out under the
/// sysroot `root` with the guest `userland` ([`super::userland::fetch`]:
/// each guest path with its file); returns each guest file (`bin/NAME`,
/// the userland's paths) with the file to copy there.
pub fn build(
    dir: &Path,
    root: &Path,
    arch: Arch,
    userland: &[(String, PathBuf)],
) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out = Vec::new();
    for (at, file) in userland {
        // Under `dir` too, where [`guest_files`] finds them.
        link(file, &dir.join(USERLAND_DIR).join(at))?;
        link(file, &root.join(at))?;
        out.push((at.clone(), file.clone()));
    }
    for program in PROGRAMS {
        let split = build_one(dir, arch, program)?;
        let data = std::fs::read(&split.stripped)
            .map_err(|e| format!("{}: {e}", split.stripped.display()))?;
        let id = debugfile::links_of(&data)?
            .build_id
            .ok_or_else(|| format!("{} has no build id", split.stripped.display()))?;
        let at = debugfile::build_id_path(&root.join("usr/lib/debug"), &id)
            .ok_or_else(|| format!("bad build id {id}"))?;
        link(&split.debug, &at)?;
        link(&split.stripped, &root.join(program.guest_path()))?;
        out.push((program.guest_path(), split.stripped));
    }
    Ok(out)
}

/// Where [`build`] links the userland's files under its directory.
const USERLAND_DIR: &str = "userland";

/// The guest files of programs [`build`] made in `dir` for `arch` (none
/// when it has not run), with the userland it laid out there only when
/// `with_userland` ([`needs_userland`]): it costs a guest about 1 MB of
/// compressed initramfs.
pub(super) fn guest_files(dir: &Path, arch: Arch, with_userland: bool) -> Vec<(String, PathBuf)> {
    let userland = match super::userland::locked(arch) {
        Ok(l) if with_userland => l.files.into_iter().map(|f| f.to).collect(),
        _ => Vec::new(),
    };
    userland
        .into_iter()
        .map(|at| {
            let file = dir.join(USERLAND_DIR).join(&at);
            (at, file)
        })
        .chain(PROGRAMS.iter().map(|p| (p.guest_path(), dir.join(p.name))))
        .filter(|(_, p)| p.is_file())
        .collect()
}

/// Whether a guest case with these staprun options runs (`-c CMD`) one
/// of the dynamically linked programs, which need the userland's loader
/// and C library.
pub fn needs_userland(staprun_args: &[String]) -> bool {
    staprun_args
        .windows(2)
        .filter(|w| w[0] == "-c")
        .filter_map(|w| w[1].split_whitespace().next())
        .any(|program| {
            PROGRAMS
                .iter()
                .any(|p| p.link == Link::Dynamic && program.strip_prefix("/bin/") == Some(p.name))
        })
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
    fn only_cases_running_a_dynamic_program_need_the_userland() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(needs_userland(&args(&["-c", "/bin/userdyn abc"])));
        assert!(needs_userland(&args(&["-c", "/bin/userlibmain abc"])));
        assert!(!needs_userland(&args(&["-c", "/bin/userdebug abc"])));
        assert!(!needs_userland(&args(&["-x", "/bin/userdyn"])));
        assert!(!needs_userland(&[]));
    }

    #[test]
    fn programs_are_stripped_with_the_debug_file_at_the_build_id_path() {
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        let files = build(&work.path().join("programs"), &root, Arch::X86_64, &[]).unwrap();
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

    #[test]
    fn the_library_lies_in_usr_lib_where_the_program_finds_it_by_soname() {
        let work = tempfile::tempdir().unwrap();
        let root = work.path().join("root");
        let files = build(&work.path().join("programs"), &root, Arch::X86_64, &[]).unwrap();
        let at: Vec<&str> = files.iter().map(|(at, _)| at.as_str()).collect();
        assert!(at.contains(&"usr/lib/libuserlib.so.1"), "{at:?}");
        assert!(at.contains(&"bin/userlibmain"), "{at:?}");
        let programs = crate::debuginfo::UserPrograms::new(Some(root.clone()));
        let loaded = programs.needed_libraries("/bin/userlibmain").unwrap();
        assert_eq!(
            loaded.found,
            vec![crate::debuginfo::libraries::NeededLibrary {
                soname: "libuserlib.so.1".into(),
                path: "/usr/lib/libuserlib.so.1".into(),
            }]
        );
        // Without the userland, the C library is the one missing.
        assert_eq!(loaded.missing, vec!["libc.so.6".to_string()]);
        let found = debugfile::find(
            &root.join("usr/lib/libuserlib.so.1"),
            "/usr/lib/libuserlib.so.1",
            &debugfile::SearchPath::standard(Some(&root), work.path()),
        )
        .unwrap();
        assert_eq!(found.found, debugfile::Found::BuildId);
        assert_eq!(
            guest_files(&work.path().join("programs"), Arch::X86_64, false)
                .iter()
                .filter(|(at, _)| at == "usr/lib/libuserlib.so.1")
                .count(),
            1
        );
    }
}
