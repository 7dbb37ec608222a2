//! Turns between `stap-matrix` runs that share the machine: with
//! `STAPKIT_MATRIX_PHASES=DIR` (set by `cargo xtask test`, which runs two
//! kernels' QEMU tests at once), one run builds modules at a time and one
//! boots guests at a time, each phase holding a lock file in DIR. A TCG
//! guest runs on one host thread, so one kernel's builds use the other
//! core while the previous kernel's guest runs, and two guests never
//! compete for the host. Without the variable no lock is taken.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

/// The variable naming the lock directory.
pub const PHASES_ENV: &str = "STAPKIT_MATRIX_PHASES";

/// A phase's turn, held until dropped (the lock goes with the file).
pub struct Turn {
    _file: Option<File>,
    /// How long the run waited for it.
    pub waited: Duration,
}

/// Waits for `phase`'s turn (`build` or `guest`) when runs share turns.
/// A lock file that cannot be opened or locked is reported and skipped:
/// the run then only shares the machine less well.
pub(super) fn take(phase: &str, progress: &(dyn Fn(&str) + Sync)) -> Turn {
    let dir = std::env::var_os(PHASES_ENV);
    take_in(dir.as_deref().map(Path::new), phase, progress)
}

/// [`take`] with the lock directory given (`None`: no turns).
fn take_in(dir: Option<&Path>, phase: &str, progress: &(dyn Fn(&str) + Sync)) -> Turn {
    let Some(dir) = dir else {
        return Turn {
            _file: None,
            waited: Duration::ZERO,
        };
    };
    let path = dir.join(format!("{phase}.lock"));
    let file = match OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) => {
            progress(&format!(
                "{}: {e}; not waiting for the {phase} turn ({PHASES_ENV})",
                path.display()
            ));
            return Turn {
                _file: None,
                waited: Duration::ZERO,
            };
        }
    };
    let started = Instant::now();
    if file.try_lock().is_err() {
        progress(&format!(
            "waiting for the {phase} turn ({})",
            path.display()
        ));
        if let Err(e) = file.lock() {
            progress(&format!(
                "{}: {e}; not waiting for the {phase} turn",
                path.display()
            ));
            return Turn {
                _file: None,
                waited: Duration::ZERO,
            };
        }
    }
    Turn {
        _file: Some(file),
        waited: started.elapsed(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_second_run_waits_for_the_turn_until_the_first_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        let quiet = |_: &str| {};
        let first = take_in(Some(dir.path()), "guest", &quiet);
        // Another phase's turn is free meanwhile.
        drop(take_in(Some(dir.path()), "build", &quiet));
        let released = AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let turn = take_in(Some(dir.path()), "guest", &|_| {});
                let got_after_release = released.load(Ordering::SeqCst);
                drop(turn);
                got_after_release
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            released.store(true, Ordering::SeqCst);
            drop(first);
            assert!(waiter.join().unwrap(), "the turn was taken while held");
        });
    }

    #[test]
    fn without_a_directory_no_turn_is_taken() {
        let turn = take_in(None, "build", &|_| {});
        assert!(turn._file.is_none());
    }
}
