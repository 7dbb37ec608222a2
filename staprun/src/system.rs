//! The script's `system(cmd)` calls: the module sends each command in a
//! SYSTEM record after the handler that called it has ended and its
//! output is queued; staprun runs it with `/bin/sh -c`, as the user
//! staprun runs as, its output going to staprun's own standard output and
//! error. Each command finishes before the records after it are handled,
//! so its output lies between the probe output before and after it, as
//! with SystemTap (a command that should not hold the session up ends
//! with `&`).

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

/// Runs one command and waits for it; a command that cannot be started
/// is a warning on standard error, as the script's own warnings are.
pub fn run(cmd: &[u8], stderr: &mut impl Write) {
    let result = Command::new("/bin/sh")
        .arg("-c")
        .arg(OsStr::from_bytes(cmd))
        .status();
    if let Err(e) = result {
        let _ = writeln!(
            stderr,
            "WARNING: system() could not run /bin/sh for '{}': {e}",
            String::from_utf8_lossy(cmd)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_the_command_through_the_shell_and_waits() {
        let dir = std::env::temp_dir().join(format!("staprun-system-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out");
        let cmd = format!("echo $((6 * 7)) > '{}'", file.display());
        let mut err = Vec::new();
        run(cmd.as_bytes(), &mut err);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "42\n");
        assert!(err.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
