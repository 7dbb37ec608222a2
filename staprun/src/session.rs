//! One attachment to a running module's channel: copies its records to
//! the output until the session is done or staprun detaches.
//!
//! Signals only set flags (handlers without `SA_RESTART`, so a blocked
//! channel read returns `EINTR` and the loop acts): SIGINT, SIGTERM and
//! SIGHUP stop the session (also when attached with `-A`, as SystemTap's
//! staprun does), SIGQUIT detaches, SIGUSR2 starts the next output file,
//! SIGCHLD is the `-c` command ending. While the stream runs, SIGALRM
//! interrupts the read every 100 ms: a signal that lands after the loop
//! checked its flags but before the read began would otherwise be lost,
//! and staprun would wait for output that may never come (seen with
//! SIGTERM at start-up in `tests/scripts/stress_signals.stp`).
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

/// How often a blocked channel read is interrupted to look at the flags.
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
        let _wakeup = WakeupTimer::start();
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
