//! Test programs for the user-space debug-information readers, built as
//! distributions ship programs: compiled with `-g` (sources named
//! `/usr/src/stapkit/NAME.c` in the DWARF, whatever directory they were
//! built in, so that answers do not depend on the checkout), the DWARF
//! split off with `objcopy --only-keep-debug`, and a stripped copy with
//! a `.gnu_debuglink` to it. Used by this crate's tests (the host's gcc)
//! and by `stap-matrix` for the guests (per architecture; shared
//! libraries too).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the DWARF says the sources are.
pub const SOURCE_DIR: &str = "/usr/src/stapkit";

/// A test program's C source: its file's name, which its DWARF names
/// (`SOURCE_DIR/FILE`) whatever the program built from it is called, and
/// its text.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    /// `userdebug.c`.
    pub file: &'static str,
    /// The C text.
    pub text: &'static str,
}

/// `tests/programs/userdebug.c`: a struct passed by pointer, a loop with
/// locals.
pub const USERDEBUG: Source = Source {
    file: "userdebug.c",
    text: include_str!("../../../tests/programs/userdebug.c"),
};

/// `tests/programs/userdyn.c`: a dynamically linked program whose calls
/// into the C library go through its PLT.
pub const USERDYN: Source = Source {
    file: "userdyn.c",
    text: include_str!("../../../tests/programs/userdyn.c"),
};

/// `tests/programs/userlib.c`: a shared library (`libuserlib.so.1`) with
/// a struct parameter, a loop with locals and a global.
pub const USERLIB: Source = Source {
    file: "userlib.c",
    text: include_str!("../../../tests/programs/userlib.c"),
};

/// `tests/programs/userlibmain.c`: a dynamically linked program that
/// calls `libuserlib.so.1`.
pub const USERLIBMAIN: Source = Source {
    file: "userlibmain.c",
    text: include_str!("../../../tests/programs/userlibmain.c"),
};

/// A program in its three forms.
#[derive(Debug, Clone)]
pub struct Split {
    /// Built with `-g`, not stripped.
    pub full: PathBuf,
    /// Its DWARF alone (`NAME.debug`).
    pub debug: PathBuf,
    /// Stripped (`NAME`), with a `.gnu_debuglink` to `NAME.debug`.
    pub stripped: PathBuf,
}

/// How to build: the compiler, objcopy and extra compiler options.
#[derive(Debug, Clone, Copy)]
pub struct Toolchain<'a> {
    /// The C compiler (`gcc`, `aarch64-linux-gnu-gcc`).
    pub cc: &'a str,
    /// The matching objcopy.
    pub objcopy: &'a str,
    /// More options (`-static`; `-shared -fPIC -Wl,-soname,...` for a
    /// library).
    pub options: &'a [&'a str],
    /// Shared libraries linked after the source: files in the build's
    /// directory (`libuserlib.so.1`, built there before).
    pub libraries: &'a [&'a str],
}

/// The host's gcc and objcopy, dynamically linked.
pub const HOST: Toolchain<'static> = Toolchain {
    cc: "gcc",
    objcopy: "objcopy",
    options: &[],
    libraries: &[],
};

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

/// Builds C `source` (written as `dir/FILE`) as `dir/NAME` (`-g -O0`, a
/// build id) and splits it.
pub fn build_in(
    dir: &Path,
    name: &str,
    source: Source,
    tools: Toolchain<'_>,
) -> Result<Split, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let c = dir.join(source.file);
    let split = Split {
        full: dir.join(format!("{name}.full")),
        debug: dir.join(format!("{name}.debug")),
        stripped: dir.join(name),
    };
    std::fs::write(&c, source.text).map_err(|e| format!("{}: {e}", c.display()))?;
    run(Command::new(tools.cc)
        .current_dir(dir)
        .args(tools.options)
        .args(["-g", "-O0", "-Wl,--build-id"])
        .arg(format!("-fdebug-prefix-map={}={SOURCE_DIR}", dir.display()))
        .arg("-o")
        .arg(&split.full)
        .arg(&c)
        .args(tools.libraries))?;
    run(Command::new(tools.objcopy)
        .arg("--only-keep-debug")
        .arg(&split.full)
        .arg(&split.debug))?;
    run(Command::new(tools.objcopy)
        .arg("--strip-all")
        .arg(&split.full)
        .arg(&split.stripped))?;
    run(Command::new(tools.objcopy)
        .current_dir(dir)
        .arg(format!("--add-gnu-debuglink={name}.debug"))
        .arg(&split.stripped))?;
    Ok(split)
}

/// The test program in a fresh directory, with the host's tools.
pub struct TestProgram {
    /// The directory (removed when this is dropped).
    pub dir: tempfile::TempDir,
    /// Built with `-g`, not stripped.
    pub full: PathBuf,
    /// Its DWARF alone.
    pub debug: PathBuf,
    /// Stripped, with a `.gnu_debuglink` to `userdebug.debug`.
    pub stripped: PathBuf,
}

/// Builds `userdebug` with the host's gcc; panics when it cannot (a test
/// machine without gcc and binutils is not set up: `cargo xtask setup`).
pub fn build() -> TestProgram {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let split = build_in(dir.path(), "userdebug", USERDEBUG, HOST)
        .unwrap_or_else(|e| panic!("building the test program: {e}"));
    TestProgram {
        dir,
        full: split.full,
        debug: split.debug,
        stripped: split.stripped,
    }
}
