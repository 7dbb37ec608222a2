//! The `-c CMD` child: forked before the module loads (so its pid can be
//! the script's target()), held until the begin probes have run, then
//! released to exec `/bin/sh -c CMD`.

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
    /// Forks a child that waits on a pipe, then runs `/bin/sh -c cmd`.
    pub fn spawn_waiting(cmd: &str) -> io::Result<Child> {
        let sh = CString::new("/bin/sh").expect("no NUL");
        let dash_c = CString::new("-c").expect("no NUL");
        let cmd = CString::new(cmd).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
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
                libc::close(fds[1]);
                let mut byte = 0u8;
                let n = libc::read(fds[0], &mut byte as *mut u8 as *mut libc::c_void, 1);
                libc::close(fds[0]);
                if n == 1 {
                    let argv = [sh.as_ptr(), dash_c.as_ptr(), cmd.as_ptr(), std::ptr::null()];
                    libc::execv(sh.as_ptr(), argv.as_ptr());
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
