//! Turns between `stap-matrix` runs that share the machine, with
//! `STAPKIT_MATRIX_PHASES=DIR` (set by `cargo xtask test`, which runs
//! several kernels' QEMU tests at once); without the variable no turn is
//! taken.
//!
//! A run has two phases: it builds its modules (translation threads and
//! make's jobs, every core but one) and then boots its guest (TCG, which
//! runs the guest's CPUs on one host thread). The machine is [`SLOTS`]
//! phases wide: each phase holds one slot, and a build also holds the
//! build turn, so at most one build runs at a time and either a build runs
//! beside one guest or two guests run together; a third phase waits. So
//! the second core is busy while no kernel builds too, and the host is
//! never asked for more than a build beside a guest, the load the guests'
//! timing-sensitive cases (`stress_*`, timers, the kernel log's lockup
//! and stall checks) were already held to.
//!
//! A waiting build goes before waiting guests: it closes a gate
//! (`gate.lock`) that guests pass through to take a slot, then takes the
//! first slot that comes free; and a run that has just built, asking for
//! its guest's slot, leaves the slot it built in to a build waiting for
//! the turn (a build holds `builders.lock` shared until it has a slot,
//! then `building.lock`). Builds are thereby done ahead of the
//! guests that need them, a finished build waits for a slot with its
//! modules ready, and the suite ends with two guests side by side rather
//! than one guest left alone behind the last build. Only the build turn
//! is waited for in the kernel (`flock`); a slot, which has no one lock
//! to wait on, is polled every [`POLL`].
//!
//! Each lock is a file in DIR held with `flock`, so a run that dies drops
//! its turns with it. A lock file that cannot be opened or locked is
//! reported and skipped: the run then only shares the machine less well.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// The variable naming the lock directory.
pub const PHASES_ENV: &str = "STAPKIT_MATRIX_PHASES";

/// Phases that run at once, each in a slot: a build with a guest, or two
/// guests (CI's runners and this project's machines have two cores).
pub const SLOTS: usize = 2;

/// How often a run waiting for a slot tries the slots again.
const POLL: Duration = Duration::from_millis(250);

/// What a run is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Build its modules: one run at a time, beside at most one guest.
    Build,
    /// Boot its guest, beside one build or one other guest.
    Guest,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Build => "build",
            Phase::Guest => "guest",
        }
    }
}

/// A phase's turn, held until dropped (the locks go with the files).
pub struct Turn {
    _files: Vec<File>,
    /// How long the run waited for it.
    pub waited: Duration,
}

impl Turn {
    fn none() -> Turn {
        Turn {
            _files: Vec::new(),
            waited: Duration::ZERO,
        }
    }
}

/// Waits for `phase`'s turn when runs share turns ([`PHASES_ENV`]).
pub(super) fn take(phase: Phase, progress: &(dyn Fn(&str) + Sync)) -> Turn {
    let dir = std::env::var_os(PHASES_ENV);
    take_in(dir.as_deref().map(Path::new), phase, progress)
}

/// [`take`] with the lock directory given (`None`: no turns).
fn take_in(dir: Option<&Path>, phase: Phase, progress: &(dyn Fn(&str) + Sync)) -> Turn {
    let Some(dir) = dir else {
        return Turn::none();
    };
    let started = Instant::now();
    let taken = match phase {
        Phase::Build => take_build(dir, progress),
        Phase::Guest => take_guest(dir, progress),
    };
    match taken {
        Ok(files) => Turn {
            _files: files,
            waited: started.elapsed(),
        },
        Err(e) => {
            progress(&format!(
                "{}: {e}; not waiting for the {} turn ({PHASES_ENV})",
                dir.display(),
                phase.name()
            ));
            Turn::none()
        }
    }
}

/// The build turn, then (gate closed to guests) the first free slot.
fn take_build(dir: &Path, progress: &(dyn Fn(&str) + Sync)) -> io::Result<Vec<File>> {
    // Held shared from before the build turn until a slot is had, so
    // that guests see a build about to take the turn another has left.
    let builders = open(dir, "builders.lock")?;
    builders.lock_shared()?;
    let build = open(dir, "build.lock")?;
    if !try_lock(&build)? {
        progress(&format!(
            "waiting for the build turn ({})",
            dir.join("build.lock").display()
        ));
        build.lock()?;
    }
    // Guests hold the gate only while they try the slots.
    let gate = open(dir, "gate.lock")?;
    gate.lock()?;
    let mut said = false;
    let slot = loop {
        if let Some(slot) = free_slot(dir)? {
            break slot;
        }
        if !std::mem::replace(&mut said, true) {
            progress(&format!(
                "waiting for a slot to build in ({} phases run at once, {})",
                SLOTS,
                dir.display()
            ));
        }
        std::thread::sleep(POLL);
    };
    // Building: guests no longer leave slots to this build.
    let building = open(dir, "building.lock")?;
    building.lock()?;
    drop(gate);
    drop(builders);
    Ok(vec![build, slot, building])
}

/// A free slot, taken when no build is waiting for one.
fn take_guest(dir: &Path, progress: &(dyn Fn(&str) + Sync)) -> io::Result<Vec<File>> {
    let gate = open(dir, "gate.lock")?;
    let builders = open(dir, "builders.lock")?;
    let building = open(dir, "building.lock")?;
    let mut said = false;
    loop {
        gate.lock()?;
        let slot = match build_taking_over(&builders, &building) {
            Ok(false) => free_slot(dir),
            Ok(true) => Ok(None),
            Err(e) => Err(e),
        };
        gate.unlock()?;
        if let Some(slot) = slot? {
            return Ok(vec![slot]);
        }
        if !std::mem::replace(&mut said, true) {
            progress(&format!(
                "waiting for a guest turn ({} phases run at once, {})",
                SLOTS,
                dir.display()
            ));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether a build is on its way to a slot (the guest of a run that has
/// just built asks for a slot first): no run is building and a build
/// waits, for the turn or for a slot. A build waiting while another
/// builds does not keep guests from a free slot.
fn build_taking_over(builders: &File, building: &File) -> io::Result<bool> {
    if !try_lock(building)? {
        return Ok(false);
    }
    building.unlock()?;
    if try_lock(builders)? {
        builders.unlock()?;
        return Ok(false);
    }
    Ok(true)
}

/// The first slot no one holds, locked.
fn free_slot(dir: &Path) -> io::Result<Option<File>> {
    for i in 0..SLOTS {
        let slot = open(dir, &format!("slot-{i}.lock"))?;
        if try_lock(&slot)? {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

/// Locks `file` if no one holds it: whether it did.
fn try_lock(file: &File) -> io::Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// `dir/name`, created when missing, for locking.
fn open(dir: &Path, name: &str) -> io::Result<File> {
    let path = dir.join(name);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Receiver, Sender};
    use std::sync::Mutex;

    fn quiet(_: &str) {}

    /// Takes `phase`'s turn on another thread, which sends it to `taken`
    /// once it has it: the lines the thread reports while waiting.
    fn waiter<'s>(
        s: &'s std::thread::Scope<'s, '_>,
        dir: &'s Path,
        phase: Phase,
        taken: Sender<(Phase, Turn)>,
    ) -> Receiver<String> {
        let (lines, said) = channel();
        s.spawn(move || {
            let lines = Mutex::new(lines);
            let turn = take_in(Some(dir), phase, &|l| {
                let _ = lines.lock().unwrap().send(l.to_string());
            });
            let _ = taken.send((phase, turn));
        });
        said
    }

    fn waits(said: &Receiver<String>, what: &str) {
        let line = said.recv().unwrap();
        assert!(line.starts_with(what), "{line}");
    }

    #[test]
    fn two_guests_run_at_once_and_a_third_waits_for_one_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let first = take_in(Some(dir.path()), Phase::Guest, &quiet);
        let second = take_in(Some(dir.path()), Phase::Guest, &quiet);
        assert_eq!((first._files.len(), second._files.len()), (1, 1));
        std::thread::scope(|s| {
            let (tx, taken) = channel();
            let said = waiter(s, dir.path(), Phase::Guest, tx);
            waits(&said, "waiting for a guest turn");
            drop(second);
            assert_eq!(taken.recv().unwrap().1._files.len(), 1);
        });
        drop(first);
    }

    #[test]
    fn a_build_runs_beside_one_guest_but_not_beside_two() {
        let dir = tempfile::tempdir().unwrap();
        let guest = take_in(Some(dir.path()), Phase::Guest, &quiet);
        let build = take_in(Some(dir.path()), Phase::Build, &quiet);
        assert_eq!(build._files.len(), 3, "the build turn, a slot, building");
        std::thread::scope(|s| {
            // No second guest beside the build.
            let (tx, taken) = channel();
            let said = waiter(s, dir.path(), Phase::Guest, tx);
            waits(&said, "waiting for a guest turn");
            drop(build);
            drop(taken.recv().unwrap());
        });
        // No build beside two guests.
        let second = take_in(Some(dir.path()), Phase::Guest, &quiet);
        std::thread::scope(|s| {
            let (tx, taken) = channel();
            let said = waiter(s, dir.path(), Phase::Build, tx);
            waits(&said, "waiting for a slot to build in");
            drop(second);
            drop(taken.recv().unwrap());
        });
        drop(guest);
    }

    #[test]
    fn one_build_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let first = take_in(Some(dir.path()), Phase::Build, &quiet);
        std::thread::scope(|s| {
            let (tx, taken) = channel();
            let said = waiter(s, dir.path(), Phase::Build, tx);
            waits(&said, "waiting for the build turn");
            // A slot is free: a guest need not wait for the builds.
            drop(take_in(Some(dir.path()), Phase::Guest, &quiet));
            drop(first);
            assert_eq!(taken.recv().unwrap().1._files.len(), 3);
        });
    }

    #[test]
    fn a_waiting_build_takes_the_next_free_slot_before_a_waiting_guest() {
        let dir = tempfile::tempdir().unwrap();
        let first = take_in(Some(dir.path()), Phase::Guest, &quiet);
        let second = take_in(Some(dir.path()), Phase::Guest, &quiet);
        std::thread::scope(|s| {
            let (tx, taken) = channel();
            // The guest waits first, then the build.
            let guest_said = waiter(s, dir.path(), Phase::Guest, tx.clone());
            waits(&guest_said, "waiting for a guest turn");
            let build_said = waiter(s, dir.path(), Phase::Build, tx);
            waits(&build_said, "waiting for a slot to build in");
            drop(first);
            let (phase, build) = taken.recv().unwrap();
            assert_eq!(phase, Phase::Build, "the guest took the slot first");
            assert_eq!(build._files.len(), 3);
            drop(build);
            let (phase, guest) = taken.recv().unwrap();
            assert_eq!(phase, Phase::Guest);
            drop(guest);
        });
        drop(second);
    }

    #[test]
    fn a_run_that_has_built_leaves_its_slot_to_the_next_build() {
        let dir = tempfile::tempdir().unwrap();
        let guest = take_in(Some(dir.path()), Phase::Guest, &quiet);
        let built = take_in(Some(dir.path()), Phase::Build, &quiet);
        std::thread::scope(|s| {
            let (tx, taken) = channel();
            let build_said = waiter(s, dir.path(), Phase::Build, tx.clone());
            waits(&build_said, "waiting for the build turn");
            // The run that built asks for its guest's slot at once.
            drop(built);
            let after = waiter(s, dir.path(), Phase::Guest, tx);
            let (phase, build) = taken.recv().unwrap();
            assert_eq!(phase, Phase::Build, "the guest took the slot first");
            waits(&after, "waiting for a guest turn");
            drop(build);
            assert_eq!(taken.recv().unwrap().0, Phase::Guest);
        });
        drop(guest);
    }

    #[test]
    fn without_a_directory_no_turn_is_taken() {
        let turn = take_in(None, Phase::Build, &quiet);
        assert!(turn._files.is_empty());
    }

    #[test]
    fn a_directory_that_cannot_hold_locks_is_reported_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let said = Mutex::new(Vec::new());
        let turn = take_in(Some(&missing), Phase::Guest, &|l| {
            said.lock().unwrap().push(l.to_string())
        });
        assert!(turn._files.is_empty());
        let said = said.into_inner().unwrap();
        assert_eq!(said.len(), 1);
        assert!(
            said[0].contains("not waiting for the guest turn (STAPKIT_MATRIX_PHASES)"),
            "{said:?}"
        );
    }
}
