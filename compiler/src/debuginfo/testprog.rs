//! Test support (for this crate's unit and integration tests): the input for
//! the user-space debug-information readers: the project's
//! `tests/programs/userdebug.c`, built here with the host's gcc, then split
//! as distributions ship programs (`objcopy --only-keep-debug`, a stripped
//! copy with `--add-gnu-debuglink`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The program in its three forms, in one directory.
pub struct TestProgram {
    /// The directory (kept while this lives).
    pub dir: tempfile::TempDir,
    /// Built with `-g`, not stripped.
    pub full: PathBuf,
    /// Its DWARF alone (`--only-keep-debug`).
    pub debug: PathBuf,
    /// Stripped, with a `.gnu_debuglink` to `userdebug.debug`.
    pub stripped: PathBuf,
}

/// The C source.
pub fn source() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/programs/userdebug.c");
    path.canonicalize().unwrap_or(path)
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the program (gcc `-g -O0`, a build id) and splits it.
pub fn build() -> TestProgram {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("userdebug.full");
    let debug = dir.path().join("userdebug.debug");
    let stripped = dir.path().join("userdebug");
    run(Command::new("gcc")
        .args(["-g", "-O0", "-Wl,--build-id", "-o"])
        .arg(&full)
        .arg(source()));
    run(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&full)
        .arg(&debug));
    run(Command::new("objcopy")
        .arg("--strip-all")
        .arg(&full)
        .arg(&stripped));
    run(Command::new("objcopy")
        .current_dir(dir.path())
        .arg("--add-gnu-debuglink=userdebug.debug")
        .arg(&stripped));
    TestProgram {
        dir,
        full,
        debug,
        stripped,
    }
}
