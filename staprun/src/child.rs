//! The `-c CMD` child: forked before the module loads (so its pid can be
//! the script's target()), held until the begin probes have run, then
//! released to exec CMD. As with SystemTap's stapio (observed with
//! Debian's 5.1): until the exec the child is named `stapio`, and a
//! simple command (words only, no shell syntax) is exec'd directly,
//! looked up in PATH, so the target runs one program; anything else runs
//! under `/bin/sh -c CMD`.

use std::ffi::CString;
use std::io;

/// A forked child waiting for [`Child::release`].
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    gate: Option<libc::c_int>,
    reaped: bool,
}

impl Child {
    /// Forks a child that waits on a pipe, then runs `cmd`.
    pub fn spawn_waiting(cmd: &str) -> io::Result<Child> {
        let words: Vec<String> = match simple_words(cmd) {
            Some(words) => words,
            None => vec!["/bin/sh".into(), "-c".into(), cmd.into()],
        };
        let words: Vec<CString> = words
            .into_iter()
            .map(CString::new)
            .collect::<Result<_, _>>()
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut argv: Vec<*const libc::c_char> = words.iter().map(|w| w.as_ptr()).collect();
        argv.push(std::ptr::null());
        let name = CString::new("stapio").expect("no NUL");
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
                libc::prctl(libc::PR_SET_NAME, name.as_ptr());
                libc::close(fds[1]);
                let mut byte = 0u8;
                let n = libc::read(fds[0], &mut byte as *mut u8 as *mut libc::c_void, 1);
                libc::close(fds[0]);
                if n == 1 {
                    libc::execvp(argv[0], argv.as_ptr());
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
        self.reaped
    }
}

/// The words of a command with no shell syntax (only letters, digits,
/// spaces and `_-./,:+@%=`), to exec directly; `None` for anything the
/// shell must read.
fn simple_words(cmd: &str) -> Option<Vec<String>> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == ' ' || "_-./,:+@%=".contains(c);
    if !cmd.chars().all(plain) {
        return None;
    }
    let words: Vec<String> = cmd.split(' ').filter(|w| !w.is_empty()).map(String::from).collect();
    // `NAME=VALUE cmd` sets a variable: the shell's job.
    if words.is_empty() || words[0].contains('=') {
        return None;
    }
    Some(words)
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
    fn simple_commands_are_execed_directly() {
        assert_eq!(
            simple_words("stapkit-workload kill 15"),
            Some(vec!["stapkit-workload".into(), "kill".into(), "15".into()])
        );
        assert_eq!(simple_words("a | b"), None);
        assert_eq!(simple_words("echo $HOME"), None);
        assert_eq!(simple_words("X=1 prog"), None);
        assert_eq!(simple_words("sh -c 'x'"), None);
        assert_eq!(simple_words("  "), None);
    }
}
