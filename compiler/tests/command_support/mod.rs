//! Running a program from a test: its output when it succeeded, else the
//! test fails naming the command and showing its stderr.

use std::process::{Command, Output};

/// Runs `cmd` and returns its output, failing the test with the command
/// and its stderr when it cannot start or exits unsuccessfully.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
