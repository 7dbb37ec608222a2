//! What the measuring tools (`cargo xtask corpus`, `cargo xtask
//! tapset-coverage`) share: the kernels a run covers, running stapkit's
//! own `stap` on one script with a time limit, and reading its first error
//! line in a form that groups failures by cause.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use xshell::Shell;

use crate::setup;

/// The kernels a `--kernel` list names: `all` is the CI matrix.
pub fn kernels(asked: &[String]) -> Result<Vec<String>> {
    if asked.iter().any(|k| k == "all") {
        return setup::ci_kernels();
    }
    if asked.is_empty() {
        return Ok(vec![setup::DEFAULT_KERNEL.to_string()]);
    }
    Ok(asked.to_vec())
}

/// Installs the packages, builds stapkit's binaries and makes sure the
/// kernels are fetched; returns the binaries' directory.
pub fn prepare(sh: &Shell, kernels: &[String]) -> Result<PathBuf> {
    setup::install_packages(sh)?;
    let bin_dir = setup::build_binaries(sh)?;
    setup::fetch_kernels(sh, &bin_dir, kernels)?;
    Ok(bin_dir)
}

/// What one `stap` run did.
#[derive(Debug)]
pub struct Run {
    /// It exited with status 0.
    pub ok: bool,
    /// Its standard error (and, on a time-out, a line saying so).
    pub stderr: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// Runs `command` in `dir`, killing it after `limit`. It runs in a
/// process group of its own, and a time-out kills the whole group: a
/// `sh -c` check's `stap`, and that `stap`'s kbuild and compilers, would
/// otherwise go on taking the machine's CPUs from the runs after it.
pub fn run_with_limit(mut command: Command, dir: &Path, limit: Duration) -> Result<Run> {
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    let mut pipe = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > limit {
            kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = reader.join().unwrap_or_default();
    let ok = match status {
        Some(s) => s.success(),
        None => {
            stderr.push_str(&format!("xtask: timed out after {}s\n", limit.as_secs()));
            false
        }
    };
    Ok(Run {
        ok,
        stderr,
        elapsed: started.elapsed(),
    })
}

/// Sends SIGKILL to the process group `leader` leads.
fn kill_group(leader: u32) {
    let Ok(group) = libc::pid_t::try_from(leader) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals that process group; it
    // touches no memory of ours.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// The first line of `stderr` that says what went wrong (an error, else
/// the last non-empty line).
pub fn first_error(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    lines
        .iter()
        .find(|l| {
            l.contains("error:")
                || l.starts_with("error")
                || l.contains("timed out after")
                || l.starts_with("stap:")
        })
        .or_else(|| lines.iter().rev().find(|l| !l.is_empty()))
        .map(|l| without_place(l).to_string())
        .unwrap_or_else(|| "(no message)".to_string())
}

/// A message without SystemTap's `: TOKEN at FILE:LINE:COL` ending, so
/// that one cause groups together wherever it is.
fn without_place(line: &str) -> &str {
    let Some(at) = line.rfind(" at ") else {
        return line;
    };
    let mut place = line[at + 4..].rsplitn(3, ':');
    let numbers = place.next().is_some_and(|c| c.parse::<u32>().is_ok())
        && place.next().is_some_and(|l| l.parse::<u32>().is_ok())
        && place.next().is_some();
    match line[..at].rfind(": ") {
        Some(colon) if numbers => &line[..colon],
        _ => line,
    }
}

/// An error line with its particulars (quoted names, numbers, paths)
/// replaced, so failures of one cause group together, and the
/// particulars taken out.
pub fn normalise(line: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut names = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                let mut name = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == c || (c == '`' && d == '\'') {
                        closed = true;
                        break;
                    }
                    name.push(d);
                }
                if closed {
                    out.push(c);
                    out.push('…');
                    out.push(if c == '`' { '\'' } else { c });
                    names.push(name);
                } else {
                    out.push(c);
                    out.push_str(&name);
                }
            }
            '0'..='9' => {
                while chars.peek().is_some_and(|d| d.is_ascii_alphanumeric()) {
                    chars.next();
                }
                out.push('N');
            }
            '/' if out.ends_with(' ') || out.is_empty() => {
                let mut path = String::from("/");
                while chars
                    .peek()
                    .is_some_and(|d| !d.is_whitespace() && *d != ':')
                {
                    path.push(chars.next().expect("peeked"));
                }
                out.push_str("PATH");
                names.push(path);
            }
            _ => out.push(c),
        }
    }
    (out, names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_takes_out_names_and_numbers() {
        let (text, names) =
            normalise("semantic error: probe point 'vm.kmalloc' matches no probe point or alias");
        assert_eq!(
            text,
            "semantic error: probe point '…' matches no probe point or alias"
        );
        assert_eq!(names, vec!["vm.kmalloc".to_string()]);
        let (text, _) = normalise("error: line 12 col 3 in /tmp/x/y.stp: bad");
        assert_eq!(text, "error: line N col N in PATH: bad");
    }

    #[test]
    fn first_error_prefers_an_error_line() {
        let stderr = "WARNING: x\nsemantic error: no: identifier 'x' at a.stp:1:1\n        source: x\n\nPass 2: analysis failed.\n";
        assert_eq!(first_error(stderr), "semantic error: no");
        assert_eq!(
            first_error("semantic error: while resolving probe point: identifier 'k' at :3:7\n"),
            "semantic error: while resolving probe point"
        );
        assert_eq!(
            first_error("semantic error: no match\n"),
            "semantic error: no match"
        );
        assert_eq!(first_error("just this\n\n"), "just this");
    }
}
