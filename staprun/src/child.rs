//! The `-c CMD` child: forked before the module loads (so its pid can be
//! the script's target()), held until the begin probes have run, then
//! released to exec CMD.
//!
//! As SystemTap's staprun: CMD is split into words as the shell would
//! (quotes, backslashes, `$VAR`, a leading `~`) and the program
//! is exec'd directly (found on `PATH`), so `target()` is the command's own
//! pid; only a command using what word expansion refuses — `|&;<>(){}`,
//! newlines, backquotes or `$(` — runs under `/bin/sh -c`.

use std::ffi::CString;
use std::io;

/// A forked child waiting for [`Child::release`].
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    gate: Option<libc::c_int>,
    reaped: bool,
    /// The wait status, once reaped.
    status: libc::c_int,
}

/// The child's name until it execs (NUL-terminated for PR_SET_NAME).
const STAPIO: &[u8] = b"stapio\0";

impl Child {
    /// Forks a child that waits on a pipe, then execs the command.
    pub fn spawn_waiting(cmd: &str) -> io::Result<Child> {
        let invalid = |_| io::Error::from(io::ErrorKind::InvalidInput);
        let words = match split_words(cmd, &|name| std::env::var(name).ok()) {
            Some(words) if !words.is_empty() => words,
            _ => vec!["/bin/sh".to_string(), "-c".to_string(), cmd.to_string()],
        };
        let argv_owned: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_str()))
            .collect::<Result<_, _>>()
            .map_err(invalid)?;
        let program = CString::new(resolve_program(&words[0])).map_err(invalid)?;
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: fds has room for the two descriptors pipe(2) writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the child only calls async-signal-safe functions before exec.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: in the child: wait for one byte (or EOF), then exec.
            unsafe {
                // SystemTap's child is a fork of stapio, and a script's
                // process.begin sees it by that name until it execs.
                libc::prctl(libc::PR_SET_NAME, STAPIO.as_ptr());
                libc::close(fds[1]);
                let mut byte = 0u8;
                let n = libc::read(fds[0], &mut byte as *mut u8 as *mut libc::c_void, 1);
                libc::close(fds[0]);
                if n == 1 {
                    let mut argv: Vec<*const libc::c_char> =
                        argv_owned.iter().map(|a| a.as_ptr()).collect();
                    argv.push(std::ptr::null());
                    libc::execv(program.as_ptr(), argv.as_ptr());
                    // The shell's words for a command it cannot run.
                    let msg = b"staprun: cannot run the -c command\n";
                    libc::write(2, msg.as_ptr().cast(), msg.len());
                }
                libc::_exit(127);
            }
        }
        // SAFETY: closing our copy of the read end.
        unsafe { libc::close(fds[0]) };
        Ok(Child {
            pid,
            gate: Some(fds[1]),
            reaped: false,
            status: 0,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Lets the child exec its command.
    pub fn release(&mut self) -> io::Result<()> {
        if let Some(fd) = self.gate.take() {
            let byte = 1u8;
            // SAFETY: writing one byte from a valid buffer to our pipe end.
            let n = unsafe { libc::write(fd, &byte as *const u8 as *const libc::c_void, 1) };
            // SAFETY: closing our pipe end.
            unsafe { libc::close(fd) };
            if n != 1 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Reaps the child if it has exited; true once it has.
    pub fn try_reap(&mut self) -> bool {
        if self.reaped {
            return true;
        }
        let mut status = 0;
        // SAFETY: waiting without blocking on our own child.
        let rc = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        self.reaped = rc == self.pid;
        if self.reaped {
            self.status = status;
        }
        self.reaped
    }

    /// SystemTap's warning for a reaped command that did not exit 0
    /// (staprun then exits 1): `Child process exited with status N`.
    pub fn failure(&self) -> Option<String> {
        self.reaped.then(|| exit_failure(self.status)).flatten()
    }
}

/// The program's path: as given when it has a `/`, else the first match
/// on `PATH` (the default path when unset), else the name itself.
fn resolve_program(name: &str) -> String {
    if name.contains('/') {
        return name.to_string();
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string());
    path.split(':')
        .map(|dir| format!("{}/{name}", if dir.is_empty() { "." } else { dir }))
        .find(|p| {
            std::ffi::CString::new(p.as_str())
                // SAFETY: access(2) on a valid NUL-terminated path.
                .map(|c| unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0)
                .unwrap_or(false)
        })
        .unwrap_or_else(|| name.to_string())
}

/// Splits `cmd` into words as wordexp(3) without command substitution
/// would; `None` when it needs a shell (see the module doc).
pub fn split_words(cmd: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<Vec<String>> {
    if cmd.contains(|c| "|&;<>(){}\n`".contains(c)) || cmd.contains("$(") {
        return None;
    }
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None | Some('"'), '\\') => {
                in_word = true;
                match chars.next() {
                    Some(n) if quote.is_none() || "$\"\\`".contains(n) => cur.push(n),
                    Some(n) => {
                        cur.push('\\');
                        cur.push(n);
                    }
                    None => return None,
                }
            }
            (None | Some('"'), '$') => {
                in_word = true;
                let mut name = String::new();
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        name.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                if name.is_empty() {
                    cur.push('$');
                } else {
                    // An unset variable: the shell's business (WRDE_UNDEF).
                    cur.push_str(&env(&name)?);
                }
            }
            (None, '~') if !in_word => {
                in_word = true;
                cur.push_str(&env("HOME").unwrap_or_else(|| "~".to_string()));
            }
            (None, '*' | '?' | '[') => return None,
            (_, c) => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// The warning for a wait status: a non-zero exit, as SystemTap 5.1's
/// staprun prints it (observed). A command killed by a signal gets none:
/// what SystemTap prints then was not observed.
fn exit_failure(status: libc::c_int) -> Option<String> {
    if !libc::WIFEXITED(status) {
        return None;
    }
    let code = libc::WEXITSTATUS(status);
    (code != 0).then(|| format!("Child process exited with status {code}"))
}

impl Drop for Child {
    /// A child never released (the module failed to load) exits at once.
    fn drop(&mut self) {
        if let Some(fd) = self.gate.take() {
            // SAFETY: closing the pipe makes the waiting child read EOF and exit.
            unsafe { libc::close(fd) };
        }
        if !self.reaped {
            let mut status = 0;
            // SAFETY: reaping our own child.
            unsafe { libc::waitpid(self.pid, &mut status, 0) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_failure_says_the_status() {
        assert_eq!(exit_failure(0), None);
        assert_eq!(
            exit_failure(1 << 8),
            Some("Child process exited with status 1".to_string())
        );
        assert_eq!(
            exit_failure(127 << 8),
            Some("Child process exited with status 127".to_string())
        );
        // Killed by SIGTERM: not an exit.
        assert_eq!(exit_failure(libc::SIGTERM), None);
    }

    fn split(cmd: &str) -> Option<Vec<String>> {
        split_words(cmd, &|name| match name {
            "HOME" => Some("/root".to_string()),
            "X" => Some("a b".to_string()),
            _ => None,
        })
    }

    #[test]
    fn simple_commands_are_exec_d_without_a_shell() {
        assert_eq!(split("ls -l /tmp").unwrap(), ["ls", "-l", "/tmp"]);
        assert_eq!(
            split("echo 'a b' \"c $X\" d\\ e").unwrap(),
            ["echo", "a b", "c a b", "d e"]
        );
        assert_eq!(
            split("cat ~/f $X. 1$").unwrap(),
            ["cat", "/root/f", "a b.", "1$"]
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn shell_syntax_goes_to_the_shell() {
        for cmd in [
            "a | b",
            "a; b",
            "a && b",
            "a > f",
            "echo $(id)",
            "echo `id`",
            "ls *.c",
            "'open",
            "echo ${X}",
            "echo $UNSET",
        ] {
            assert_eq!(split(cmd), None, "{cmd}");
        }
    }
}
