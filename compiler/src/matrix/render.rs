//! The text form of a case's outcome, compared byte for byte with the
//! expected file beside each script (and snapshotted by the VM tests).
//!
//! ```text
//! exit: 0
//! stdout:
//! |hello
//! stderr:
//! |WARNING: Number of errors: 1, skipped probes: 0
//! ```
//! Every output line is prefixed with `|` so blank and trailing-space lines
//! survive editors; control bytes and backslashes are escaped (`\x07`,
//! `\\`), and output that does not end in a newline is marked with a
//! `\ no newline at end` line. The form is reversible.

use std::fmt::Write as _;

/// What happened to one script on one kernel, in comparable form.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// stap refused the script or kbuild failed; the error text.
    BuildFailed(String),
    /// The module ran in the guest.
    Ran {
        /// staprun's exit status (`None`: never reported).
        exit_code: Option<i32>,
        /// staprun's stdout.
        stdout: Vec<u8>,
        /// staprun's stderr.
        stderr: Vec<u8>,
        /// The module was still loaded afterwards.
        still_loaded: bool,
        /// Kernel log lines that signal a kernel problem.
        kernel_problems: Vec<String>,
    },
    /// The guest died before reporting this case; why.
    NotRun(String),
    /// The script needs something this kernel lacks (`# requires:`), so
    /// it was neither built nor run; why.
    NotApplicable(String),
}

/// Renders an outcome in the expected-file form.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    match outcome {
        Outcome::BuildFailed(error) => {
            out.push_str("build failed:\n");
            render_bytes(&mut out, error.as_bytes());
        }
        Outcome::NotRun(why) => {
            let _ = writeln!(out, "not run: {why}");
        }
        Outcome::NotApplicable(why) => {
            let _ = writeln!(out, "not applicable: {why}");
        }
        Outcome::Ran {
            exit_code,
            stdout,
            stderr,
            still_loaded,
            kernel_problems,
        } => {
            match exit_code {
                Some(code) => {
                    let _ = writeln!(out, "exit: {code}");
                }
                None => out.push_str("exit: unknown\n"),
            }
            out.push_str("stdout:\n");
            render_bytes(&mut out, stdout);
            out.push_str("stderr:\n");
            render_bytes(&mut out, stderr);
            if *still_loaded {
                out.push_str("module: still loaded after staprun exited\n");
            }
            for line in kernel_problems {
                let _ = writeln!(out, "kernel: {line}");
            }
        }
    }
    out
}

/// The kernel log line without its `[ seconds]` timestamp.
pub fn strip_timestamp(line: &str) -> &str {
    match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest,
        None => line,
    }
}

/// Appends `bytes` one `|`-prefixed line at a time, escaping backslashes
/// and unprintable bytes, and marking output that does not end in a
/// newline: the form of the snapshots and of the oracle's records.
pub fn render_bytes(out: &mut String, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && line.is_empty() {
            break; // the output ended with a newline
        }
        out.push('|');
        for &b in line {
            match b {
                b'\\' => out.push_str("\\\\"),
                b'\t' => out.push('\t'),
                0x20..=0x7e => out.push(b as char),
                _ => {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
        out.push('\n');
        if last {
            out.push_str("\\ no newline at end\n");
        }
    }
}

/// The expected text inside an insta `.snap` file (its body after the
/// YAML front matter), or the file itself when it has none.
pub fn expected_body(file_text: &str) -> &str {
    if let Some(rest) = file_text.strip_prefix("---\n") {
        if let Some(end) = rest.find("\n---\n") {
            return &rest[end + 5..];
        }
    }
    file_text
}

/// A unified-style line diff of expected vs actual, for failure reports.
pub fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    // Longest common subsequence table; outputs are small.
    let mut lcs = vec![vec![0usize; a.len() + 1]; e.len() + 1];
    for i in (0..e.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if e[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < e.len() || j < a.len() {
        if i < e.len() && j < a.len() && e[i] == a[j] {
            let _ = writeln!(out, "  {}", e[i]);
            i += 1;
            j += 1;
        } else if j < a.len() && (i == e.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", a[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", e[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_exact_bytes_reversibly() {
        let o = Outcome::Ran {
            exit_code: Some(1),
            stdout: b"hello\n\n  x \ttab\\\x07end".to_vec(),
            stderr: b"ERROR: division by 0 near operator '/' at <input>:1:20\n".to_vec(),
            still_loaded: false,
            kernel_problems: vec![],
        };
        assert_eq!(
            render(&o),
            "exit: 1\nstdout:\n|hello\n|\n|  x \ttab\\\\\\x07end\n\\ no newline at end\nstderr:\n\
             |ERROR: division by 0 near operator '/' at <input>:1:20\n"
        );
    }

    #[test]
    fn kernel_problems_and_leftover_modules_show() {
        let o = Outcome::Ran {
            exit_code: Some(0),
            stdout: vec![],
            stderr: vec![],
            still_loaded: true,
            kernel_problems: vec!["BUG: kernel NULL pointer dereference".into()],
        };
        assert_eq!(
            render(&o),
            "exit: 0\nstdout:\nstderr:\nmodule: still loaded after staprun exited\nkernel: BUG: kernel NULL pointer dereference\n"
        );
    }

    #[test]
    fn snap_front_matter_is_skipped() {
        assert_eq!(expected_body("---\nsource: x\n---\nexit: 0\n"), "exit: 0\n");
        assert_eq!(expected_body("exit: 0\n"), "exit: 0\n");
    }

    #[test]
    fn diff_marks_changes() {
        assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "  a\n+ x\n- b\n  c\n");
    }
}
