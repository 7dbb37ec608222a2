//! One attachment to a running module's channel: copies its records to
//! the output until the session is done or staprun detaches.
//!
//! Signals only set flags: SIGINT, SIGTERM and SIGHUP stop the session
//! (also when attached with `-A`, as SystemTap's staprun does), SIGQUIT
//! detaches, SIGUSR2 starts the next output file, SIGCHLD is the `-c`
//! command ending. While the stream runs those signals are blocked except
//! inside `ppoll()` on the channel, which unblocks them atomically: the
//! loop looks at its flags with them blocked, so one that arrives after
//! the look waits, pending, for the `ppoll()` that it then interrupts, and
//! cannot be lost (SIGTERM at start-up in `tests/scripts/stress_signals.stp`
//! was, before), and nothing wakes staprun while no record and no signal
//! comes. The read that follows a ready `ppoll()` returns at once. A
//! module built before the channel could be polled (its `ppoll()` says
//! writable too, the VFS's answer for a file without `poll`) is read as
//! before: handlers without `SA_RESTART`, signals unblocked, and SIGALRM
//! every 100 ms to close the same window.
//!
//! A script's warning is printed once: a `WARNING:` message equal to one
//! printed before in the session is dropped, as SystemTap's staprun does
//! (`tests/scripts/tapset_logging.oracle`: two `warn("warn twice")` calls
//! print one line).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::child::Child;
use crate::output::Output;
use crate::protocol::{Decoder, Record, Summary};

static STOP: AtomicBool = AtomicBool::new(false);
static DETACH: AtomicBool = AtomicBool::new(false);
static SWITCH: AtomicBool = AtomicBool::new(false);
static CHILD_EXITED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}
extern "C" fn on_detach(_: libc::c_int) {
    DETACH.store(true, Ordering::SeqCst);
}
extern "C" fn on_switch(_: libc::c_int) {
    SWITCH.store(true, Ordering::SeqCst);
}
extern "C" fn on_child(_: libc::c_int) {
    CHILD_EXITED.store(true, Ordering::SeqCst);
}
extern "C" fn on_wakeup(_: libc::c_int) {}

/// The signals the stream acts on (see the module doc).
const STREAM_SIGNALS: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR2,
    libc::SIGCHLD,
];

/// [`STREAM_SIGNALS`] blocked while it lives; `waiting` is the mask
/// `ppoll()` waits with, the one from before.
struct BlockedSignals {
    waiting: libc::sigset_t,
}

impl BlockedSignals {
    fn block() -> BlockedSignals {
        // SAFETY: sigset_t is plain data that sigemptyset/pthread_sigmask fill.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            let mut waiting: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for sig in STREAM_SIGNALS {
                libc::sigaddset(&mut set, sig);
            }
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut waiting);
            BlockedSignals { waiting }
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved by `block`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.waiting, std::ptr::null_mut()) };
    }
}

/// How the stream waits for the channel.
enum Waiting {
    /// `ppoll()` with the stream's signals unblocked only there.
    Poll(BlockedSignals),
    /// A module whose channel cannot be polled: blocking reads that
    /// SIGALRM interrupts.
    Interrupted(WakeupTimer),
}

/// What one wait gave.
enum Woken {
    /// A read returns at once.
    Readable,
    /// A signal came (its handler ran): look at the flags.
    Signal,
    /// The channel has no `poll`: read as modules before it were read.
    NoPoll,
}

/// Waits until the channel has something or a stream signal arrives.
fn wait(channel: &File, blocked: &BlockedSignals) -> io::Result<Woken> {
    use std::os::fd::AsRawFd;
    let mut fd = libc::pollfd {
        fd: channel.as_raw_fd(),
        // POLLOUT is asked for only to tell a channel without `poll`
        // (the VFS's default answer has it; ours never does): revents
        // holds only what was asked for.
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout, a valid signal mask.
    let n = unsafe { libc::ppoll(&mut fd, 1, std::ptr::null(), &blocked.waiting) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.kind() {
            io::ErrorKind::Interrupted => Ok(Woken::Signal),
            _ => Err(e),
        };
    }
    if fd.revents & libc::POLLNVAL != 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    if fd.revents & libc::POLLOUT != 0 {
        return Ok(Woken::NoPoll);
    }
    Ok(Woken::Readable)
}

/// How often a blocked channel read is interrupted to look at the flags
/// (modules without `poll` only).
const WAKEUP_USEC: libc::suseconds_t = 100_000;

/// Interrupts the stream's reads every [`WAKEUP_USEC`] while it lives.
struct WakeupTimer;

impl WakeupTimer {
    fn start() -> WakeupTimer {
        Self::set(WAKEUP_USEC);
        WakeupTimer
    }

    fn set(usec: libc::suseconds_t) {
        let tick = libc::timeval {
            tv_sec: 0,
            tv_usec: usec,
        };
        let timer = libc::itimerval {
            it_interval: tick,
            it_value: tick,
        };
        // SAFETY: a valid itimerval; the old value is not asked for.
        unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    }
}

impl Drop for WakeupTimer {
    fn drop(&mut self) {
        Self::set(0);
    }
}

/// Installs the handlers (see the module doc).
pub fn install_signal_handlers() {
    let handlers: [(libc::c_int, extern "C" fn(libc::c_int)); 7] = [
        (libc::SIGINT, on_stop),
        (libc::SIGTERM, on_stop),
        (libc::SIGHUP, on_stop),
        (libc::SIGQUIT, on_detach),
        (libc::SIGUSR2, on_switch),
        (libc::SIGCHLD, on_child),
        (libc::SIGALRM, on_wakeup),
    ];
    for (sig, handler) in handlers {
        // SAFETY: a zeroed sigaction with a plain handler and no flags is valid.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// How an attachment ended.
#[derive(Debug)]
pub enum Ending {
    /// The session is over (the module may be unloaded).
    Done(Summary),
    /// staprun let go; the module keeps running.
    Detached,
}

/// What the stream does with signals and records.
pub struct Stream<'a> {
    /// The open channel.
    pub channel: File,
    /// Its path, for messages.
    pub path: String,
    /// Where stdout records go.
    pub out: &'a mut Output,
    /// The `-c` command, released already.
    pub child: Option<Child>,
    /// `-w`: drop `WARNING:` lines of the script.
    pub suppress_warnings: bool,
    /// Drop every message of the script (`-d`: nothing is read).
    pub quiet: bool,
}

impl Stream<'_> {
    /// Copies records until DONE, or until a signal detaches.
    pub fn run(mut self) -> Result<Ending, String> {
        let mut stop_sent = false;
        let mut child_failed = false;
        let mut decoder = Decoder::default();
        let mut buf = vec![0u8; 64 * 1024];
        let mut stderr = io::stderr();
        let mut warned: HashSet<Vec<u8>> = HashSet::new();
        let mut waiting = Waiting::Poll(BlockedSignals::block());
        loop {
            if CHILD_EXITED.swap(false, Ordering::SeqCst)
                && self.child.as_mut().is_some_and(|c| c.try_reap())
            {
                if let Some(failure) = self.child.as_ref().and_then(|c| c.failure()) {
                    child_failed = true;
                    if !self.suppress_warnings {
                        eprintln!("WARNING: {failure}");
                    }
                }
                STOP.store(true, Ordering::SeqCst);
            }
            if SWITCH.swap(false, Ordering::SeqCst) {
                self.out
                    .switch_file()
                    .map_err(|e| format!("switching the output file: {e}"))?;
            }
            if DETACH.load(Ordering::SeqCst) && !stop_sent {
                self.out
                    .flush()
                    .map_err(|e| format!("writing output: {e}"))?;
                return Ok(Ending::Detached);
            }
            if STOP.load(Ordering::SeqCst) && !stop_sent {
                stop_sent = true;
                crate::markers::send_command(&mut self.channel, b"stop")
                    .map_err(|e| format!("cannot stop the session: {e}"))?;
            }
            if let Waiting::Poll(blocked) = &waiting {
                match wait(&self.channel, blocked)
                    .map_err(|e| format!("waiting for {}: {e}", self.path))?
                {
                    Woken::Readable => {}
                    Woken::Signal => continue,
                    Woken::NoPoll => {
                        // Unblocking delivers what is pending: look again.
                        waiting = Waiting::Interrupted(WakeupTimer::start());
                        continue;
                    }
                }
            }
            let n = match self.channel.read(&mut buf) {
                Ok(0) => return Err("the module closed its channel before finishing".to_string()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("reading {}: {e}", self.path)),
            };
            decoder.push(&buf[..n]);
            while let Some(record) = decoder.next_record() {
                match record {
                    Record::Stdout(bytes) => self
                        .out
                        .write_record(&bytes)
                        .map_err(|e| format!("writing output: {e}"))?,
                    Record::Stderr(bytes) => {
                        self.out.flush().ok();
                        let warning = bytes.starts_with(b"WARNING:");
                        let dropped = self.quiet
                            || (warning
                                && (self.suppress_warnings || !warned.insert(bytes.clone())));
                        if !dropped {
                            stderr.write_all(&bytes).ok();
                        }
                    }
                    Record::Exit => STOP.store(true, Ordering::SeqCst),
                    Record::Done(mut summary) => {
                        summary.child_failed = child_failed;
                        self.out
                            .flush()
                            .map_err(|e| format!("writing output: {e}"))?;
                        return Ok(Ending::Done(summary));
                    }
                    Record::System(cmd) => {
                        self.out
                            .flush()
                            .map_err(|e| format!("writing output: {e}"))?;
                        crate::system::run(&cmd, &mut stderr);
                    }
                    Record::Unknown(_) => {}
                }
            }
            self.out
                .flush()
                .map_err(|e| format!("writing output: {e}"))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::FromRawFd;

    fn pipe() -> (File, File) {
        let mut fds = [0; 2];
        // SAFETY: a two-element array for pipe(2) to fill.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors are fresh and owned here.
        unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
    }

    #[test]
    fn a_channel_with_records_is_readable() {
        let (read, mut write) = pipe();
        write.write_all(b"x").unwrap();
        let blocked = BlockedSignals::block();
        assert!(matches!(wait(&read, &blocked), Ok(Woken::Readable)));
    }

    #[test]
    fn a_file_without_poll_is_told_apart() {
        // A character device without poll: the VFS's default answer, as for
        // a module's channel from before poll.
        let null = File::open("/dev/null").unwrap();
        let blocked = BlockedSignals::block();
        assert!(matches!(wait(&null, &blocked), Ok(Woken::NoPoll)));
    }

    #[test]
    fn a_signal_that_came_while_blocked_ends_the_wait() {
        // SIGUSR2 (the next output file) sent to this thread while the
        // stream's signals are blocked stays pending; the ppoll() that
        // follows must deliver it instead of waiting on an empty channel.
        // SAFETY: a plain handler that only sets a flag.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_switch as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGUSR2, &sa, std::ptr::null_mut());
        }
        let (read, _write) = pipe();
        let blocked = BlockedSignals::block();
        // SAFETY: signals this thread, whose SIGUSR2 is blocked.
        unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGUSR2) };
        assert!(!SWITCH.load(Ordering::SeqCst), "delivered while blocked");
        assert!(matches!(wait(&read, &blocked), Ok(Woken::Signal)));
        assert!(SWITCH.swap(false, Ordering::SeqCst));
    }
}
