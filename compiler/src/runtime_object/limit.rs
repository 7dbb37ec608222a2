//! The size limit of the runtime's cached pieces: the objects and
//! precompiled headers under `CACHE/features/KEY/` (`runtime-HASH/`,
//! `pch-HASH/`, tens of MiB each, a few dozen per kernel tree) are
//! evicted least recently used first (`kernel::lru`, as the module cache
//! is) when they exceed `CACHE/features/cache_mb_limit` (MiB, written with
//! [`DEFAULT_LIMIT_MB`] when missing). The feature probes' own results
//! beside them are small and stay.
//!
//! An entry's `NAME.lock` says who uses it: a build holds it exclusively
//! while it makes the entry, and every build that uses the entry holds it
//! shared until its module is built ([`InUse`], kept in the driver's
//! `BuildJob`). Eviction takes the lock without waiting and passes over
//! an entry it cannot take; it also leaves entries used in the last
//! [`RECENT`] (stapkit builds from before this limit use entries without
//! the lock). A chosen entry is renamed away under the lock, then removed,
//! so a build never sees half an entry. Lock files stay: removing one
//! could let two builds make the same entry at once.

use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use crate::kernel::lru::{self, Entry, Removal};

/// The limit written when `cache_mb_limit` is missing: 12 GiB. A run of
/// the QEMU suite on its six kernels uses about 16 configurations per
/// kernel, some 9 GB of objects and headers; this keeps them all warm with
/// room for other options.
pub const DEFAULT_LIMIT_MB: u64 = 12 * 1024;

/// Entries used this recently are never evicted.
pub const RECENT: Duration = Duration::from_secs(600);

/// What eviction leaves of a renamed entry if its run dies while removing
/// it; removed by a later eviction once this old.
const STALE_EVICTED: Duration = Duration::from_secs(3600);

/// One entry held in use: a shared lock on its `.lock` file until the
/// last clone is dropped.
#[derive(Debug, Clone)]
pub struct InUse(#[allow(dead_code)] Arc<File>);

/// What [`hold`] got.
#[derive(Debug)]
pub enum Held {
    /// The entry is there, held in use.
    Ready(InUse),
    /// The entry is missing and this caller makes it: the lock is
    /// exclusive until [`Building::made`].
    Build(Building),
}

/// The exclusive hold of an entry being made.
#[derive(Debug)]
pub struct Building {
    file: File,
    lock: PathBuf,
}

impl Building {
    /// The entry is made (or known to fail): held in use from now on,
    /// and the cache evicted down to its limit.
    pub fn made(self, entry: &Path) -> (InUse, Result<usize, String>) {
        // A downgrade: never waits (this hold was the only one).
        let in_use = match self.file.lock_shared() {
            Ok(()) => {
                let held = Arc::new(self.file);
                registry()
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(self.lock, Arc::downgrade(&held));
                InUse(held)
            }
            Err(_) => InUse(Arc::new(self.file)),
        };
        lru::mark_used(entry);
        let evicted = match entry.parent().and_then(Path::parent) {
            Some(root) => evict(root).map_err(|e| format!("{}: {e}", root.display())),
            None => Ok(0),
        };
        (in_use, evicted)
    }
}

/// The entries this process holds in use, by lock file: a second build of
/// the same configuration shares the hold (one descriptor per entry).
fn registry() -> &'static Mutex<HashMap<PathBuf, Weak<File>>> {
    static HELD: OnceLock<Mutex<HashMap<PathBuf, Weak<File>>>> = OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// Holds the entry whose lock file is `lock`: in use when `ready` says it
/// is there, else exclusively, for the caller to make it. Waits while
/// another build makes it.
pub fn hold(lock: &Path, ready: impl Fn() -> bool) -> io::Result<Held> {
    {
        let mut held = registry().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = held.get(lock).and_then(Weak::upgrade) {
            if ready() {
                return Ok(Held::Ready(InUse(file)));
            }
            // Only a program that ignores the lock removes an entry held.
            return Err(io::Error::other(format!(
                "{}: the entry went while this build used it",
                lock.with_extension("").display()
            )));
        }
        held.retain(|_, w| w.strong_count() > 0);
    }
    if let Some(dir) = lock.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock)?;
    loop {
        // Waits while a build holds it exclusively.
        file.lock_shared()?;
        if ready() {
            let held = Arc::new(file);
            registry()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(lock.to_path_buf(), Arc::downgrade(&held));
            return Ok(Held::Ready(InUse(held)));
        }
        // Missing: becoming its maker drops the shared hold first, so two
        // callers cannot wait for each other here.
        match file.try_lock() {
            Ok(()) if ready() => continue,
            Ok(()) => {
                return Ok(Held::Build(Building {
                    file,
                    lock: lock.to_path_buf(),
                }))
            }
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(20)),
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// The evictable entries under the features directory `root`: every
/// `KEY/runtime-*` and `KEY/pch-*` directory, with its size and last use.
/// Renamed entries a dead run left are removed on the way.
pub fn entries(root: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let keys = match std::fs::read_dir(root) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for key in keys {
        let key = key?;
        if !key.file_type()?.is_dir() {
            continue;
        }
        for item in std::fs::read_dir(key.path())? {
            let item = item?;
            let name = item.file_name();
            let name = name.to_string_lossy();
            let Ok(meta) = item.metadata() else { continue };
            if !meta.is_dir() {
                continue;
            }
            let used = lru::last_use(&meta);
            if name.starts_with(".evicted-") {
                let age = SystemTime::now().duration_since(used).unwrap_or_default();
                if age > STALE_EVICTED {
                    let _ = std::fs::remove_dir_all(item.path());
                }
            } else if name.starts_with("runtime-") || name.starts_with("pch-") {
                out.push(Entry {
                    path: item.path(),
                    size: dir_size(&item.path()),
                    used,
                });
            }
        }
    }
    Ok(out)
}

/// Bytes the files under `dir` take.
fn dir_size(dir: &Path) -> u64 {
    let Ok(read) = std::fs::read_dir(dir) else {
        return 0;
    };
    read.filter_map(Result::ok)
        .filter_map(|item| {
            let meta = item.metadata().ok()?;
            Some(if meta.is_dir() {
                dir_size(&item.path())
            } else {
                meta.len()
            })
        })
        .sum()
}

/// Evicts the least recently used entries under the features directory
/// `root` until they fit its `cache_mb_limit`; returns how many went.
pub fn evict(root: &Path) -> io::Result<usize> {
    let limit = lru::limit_bytes(root, DEFAULT_LIMIT_MB)?;
    evict_to(root, limit)
}

/// `stap --clean-cache`: prunes the runtime's pieces to their limit, as
/// [`crate::modcache::clean`] does the modules; the text to print.
pub fn clean(cache: &crate::kernel::Cache) -> Result<String, String> {
    let root = cache.features_dir();
    if !root.is_dir() {
        return Ok(String::new());
    }
    evict(&root)
        .map(|n| {
            format!(
                "removed {n} cached runtime objects and precompiled headers from {}\n",
                root.display()
            )
        })
        .map_err(|e| format!("stap: --clean-cache: {}: {e}", root.display()))
}

/// [`evict`] down to `limit` bytes.
pub fn evict_to(root: &Path, limit: u64) -> io::Result<usize> {
    lru::evict(entries(root)?, limit, None, remove)
}

/// Removes one entry unless it is in use or was used [`RECENT`]ly.
fn remove(entry: &Entry) -> io::Result<Removal> {
    let age = SystemTime::now()
        .duration_since(entry.used)
        .unwrap_or_default();
    if age < RECENT {
        return Ok(Removal::InUse);
    }
    let lock = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(entry.path.with_extension("lock"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Removal::InUse),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    let name = entry.path.file_name().unwrap_or_default().to_string_lossy();
    let away = entry
        .path
        .with_file_name(format!(".evicted-{name}-{}", std::process::id()));
    match std::fs::rename(&entry.path, &away) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removal::Gone),
        Err(e) => return Err(e),
    }
    drop(lock);
    // Out of the cache now; what a failure here leaves goes with the
    // renamed leftovers (`entries`).
    let _ = std::fs::remove_dir_all(&away);
    Ok(Removal::Removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A features directory with entry `KEY/NAME` of `size` bytes, last
    /// used `age` seconds ago.
    fn entry(root: &Path, name: &str, size: usize, age: u64) -> PathBuf {
        let dir = root.join("k1").join(name);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/data"), vec![0u8; size]).unwrap();
        File::open(&dir)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(age))
            .unwrap();
        dir
    }

    fn names(root: &Path) -> Vec<String> {
        let mut v: Vec<String> = entries(root)
            .unwrap()
            .into_iter()
            .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_least_recently_used_go_until_the_pieces_fit() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        entry(root, "pch-old", 1000, 7200);
        entry(root, "runtime-mid", 1000, 3600);
        entry(root, "pch-new", 1000, 1800);
        // The tree's own feature results are not pieces.
        std::fs::write(root.join("k1/stp_features.h"), "x").unwrap();
        let sizes: Vec<u64> = entries(root).unwrap().iter().map(|e| e.size).collect();
        assert_eq!(sizes, [1000, 1000, 1000]);
        assert_eq!(evict_to(root, 2500).unwrap(), 1);
        assert_eq!(names(root), ["pch-new", "runtime-mid"]);
        assert_eq!(evict_to(root, 1000).unwrap(), 1);
        assert_eq!(names(root), ["pch-new"]);
        assert!(root.join("k1/stp_features.h").is_file());
        // Only the lock files of the entries that went are left of them.
        assert!(root.join("k1/pch-old.lock").is_file());
        let left: Vec<_> = std::fs::read_dir(root.join("k1"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".evicted"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn entries_in_use_or_used_recently_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let busy = entry(root, "pch-busy", 1000, 7200);
        entry(root, "runtime-recent", 1000, 10);
        entry(root, "runtime-idle", 1000, 3600);
        let user = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(busy.with_extension("lock"))
            .unwrap();
        user.lock_shared().unwrap();
        assert_eq!(evict_to(root, 0).unwrap(), 1);
        assert_eq!(names(root), ["pch-busy", "runtime-recent"]);
        drop(user);
        assert_eq!(evict_to(root, 0).unwrap(), 1);
        assert_eq!(names(root), ["runtime-recent"]);
    }

    #[test]
    fn a_missing_entry_is_made_once_then_held_in_use() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let dir = root.join("k1/runtime-x");
        let lock = dir.with_extension("lock");
        let ready = || dir.join("stp_runtime.o").is_file();
        let Held::Build(building) = hold(&lock, ready).unwrap() else {
            panic!("nothing there yet: this caller makes it")
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stp_runtime.o"), b"obj").unwrap();
        std::fs::write(root.join(lru::LIMIT_FILE), "0\n").unwrap();
        let (in_use, evicted) = building.made(&dir);
        // Over a limit of 0 MiB, but in use (and new): it stays.
        assert_eq!(evicted, Ok(0));
        let Held::Ready(again) = hold(&lock, ready).unwrap() else {
            panic!("made: ready")
        };
        File::open(&dir)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(7200))
            .unwrap();
        assert_eq!(evict_to(root, 0).unwrap(), 0, "held twice");
        drop(in_use);
        assert_eq!(evict_to(root, 0).unwrap(), 0, "still held once");
        drop(again);
        assert_eq!(evict_to(root, 0).unwrap(), 1);
        assert!(!dir.exists());
    }

    #[test]
    fn leftovers_of_a_dead_eviction_go_once_stale() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let stale = entry(root, ".evicted-pch-a-1", 10, 7200);
        let fresh = entry(root, ".evicted-pch-b-2", 10, 10);
        assert!(names(root).is_empty(), "not entries");
        assert!(!stale.exists());
        assert!(fresh.exists(), "its eviction may still be removing it");
    }

    #[test]
    fn the_default_limit_is_written_where_users_change_it() {
        let tmp = tempfile::tempdir().unwrap();
        entry(tmp.path(), "pch-a", 10, 7200);
        assert_eq!(evict(tmp.path()).unwrap(), 0);
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(lru::LIMIT_FILE)).unwrap(),
            "12288\n"
        );
    }
}
