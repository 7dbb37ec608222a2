//! The cache directory, `CACHE/modules/`: one `KEY.ko` per module, and
//! `cache_mb_limit`, as SystemTap's cache has it: one ASCII integer, the
//! MiB the cache should not exceed, written with 256 when it is missing.
//!
//! An entry is written to a temporary file in the same directory and
//! renamed into place, so another `stap` never sees half a module. A hit
//! takes a hard link (a copy across file systems) of the entry, so an
//! eviction by another run at the same moment cannot take the module from
//! under it, and touches the entry's modification time: after each new
//! entry the least recently used entries (oldest modification time) are
//! removed until the cache fits its limit (`kernel::lru`, which the
//! runtime's cached pieces share).

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use crate::kernel::lru::LIMIT_FILE;
use crate::kernel::lru::{self, Removal};

/// The limit written when `cache_mb_limit` is missing (SystemTap's).
pub const DEFAULT_LIMIT_MB: u64 = 256;

/// Temporary files older than this are left over by a run that died and
/// are removed by eviction.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// The module cache's directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store in `dir` (made when the first entry is written).
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry for `key` is.
    pub fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.ko"))
    }

    /// Puts the entry for `key`, if there is one, at `dest` (a hard link,
    /// else a copy) and marks it used; `Ok(false)` when there is none.
    pub fn fetch(&self, key: &str, dest: &Path) -> io::Result<bool> {
        let entry = self.entry(key);
        let placed = match std::fs::hard_link(&entry, dest) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(_) => std::fs::copy(&entry, dest).map(|_| ()),
        };
        match placed {
            Ok(()) => {
                lru::mark_used(&entry);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Stores `ko` as the entry for `key` (atomically), then evicts the
    /// least recently used entries beyond the limit; returns the entry.
    pub fn insert(&self, key: &str, ko: &Path) -> io::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)?;
        let entry = self.entry(key);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{key}."))
            .suffix(".tmp")
            .tempfile_in(&self.dir)?;
        std::fs::copy(ko, tmp.path())?;
        tmp.persist(&entry).map_err(|e| e.error)?;
        self.evict(self.limit_bytes()?, Some(&entry))?;
        Ok(entry)
    }

    /// Removes the entry for `key` (one that failed its check).
    pub fn remove(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.entry(key)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The size limit in bytes, from `cache_mb_limit` (written with
    /// [`DEFAULT_LIMIT_MB`] when missing).
    pub fn limit_bytes(&self) -> io::Result<u64> {
        lru::limit_bytes(&self.dir, DEFAULT_LIMIT_MB)
    }

    /// The entries, each with its size and last use.
    fn entries(&self) -> io::Result<Vec<lru::Entry>> {
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for item in read {
            let item = item?;
            let path = item.path();
            let name = item.file_name();
            let name = name.to_string_lossy();
            let Ok(meta) = item.metadata() else { continue };
            let used = lru::last_use(&meta);
            if name.starts_with('.') && name.ends_with(".tmp") {
                // Left by a run that died while writing.
                let age = SystemTime::now().duration_since(used).unwrap_or_default();
                if age > STALE_TEMP {
                    let _ = std::fs::remove_file(&path);
                }
            } else if name.ends_with(".ko") {
                out.push(lru::Entry {
                    path,
                    size: meta.len(),
                    used,
                });
            }
        }
        Ok(out)
    }

    /// Removes the least recently used entries (never `keep`) until the
    /// entries take at most `limit` bytes; returns how many went.
    pub fn evict(&self, limit: u64, keep: Option<&Path>) -> io::Result<usize> {
        let removed = lru::evict(self.entries()?, limit, keep, |entry| {
            crate::markers::cache_clean(&entry.path);
            match std::fs::remove_file(&entry.path) {
                Ok(()) => Ok(Removal::Removed),
                // Another run evicted it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Removal::Gone),
                Err(e) => Err(e),
            }
        })?;
        if removed > 0 {
            // The script entries of the modules that went.
            super::script::prune(&self.dir)?;
        }
        Ok(removed)
    }

    /// Prunes stale entries, as SystemTap's `--clean-cache` does: the
    /// least recently used go until the cache fits `cache_mb_limit`, and
    /// temporary files left by runs that died go too; returns how many
    /// entries went.
    pub fn clean(&self) -> io::Result<usize> {
        if !self.dir.is_dir() {
            return Ok(0);
        }
        let removed = self.evict(self.limit_bytes()?, None)?;
        super::script::prune(&self.dir)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn used_at(path: &Path, secs: u64) {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    }

    fn names(store: &Store) -> Vec<String> {
        let mut v: Vec<String> = store
            .entries()
            .unwrap()
            .into_iter()
            .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_stored_module_is_fetched_whole_and_the_limit_file_is_made() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("modules"));
        let ko = tmp.path().join("built.ko");
        std::fs::write(&ko, b"\x7fELF module").unwrap();
        let dest = tmp.path().join("hello.ko");
        assert!(!store.fetch("k1", &dest).unwrap(), "empty cache: a miss");
        let entry = store.insert("k1", &ko).unwrap();
        assert_eq!(entry, store.dir().join("k1.ko"));
        assert_eq!(
            std::fs::read_to_string(store.dir().join(LIMIT_FILE)).unwrap(),
            "256\n"
        );
        assert!(store.fetch("k1", &dest).unwrap());
        assert_eq!(std::fs::read(&dest).unwrap(), b"\x7fELF module");
        // No temporary file is left beside the entry.
        assert_eq!(names(&store), ["k1.ko"]);
        let all: Vec<_> = std::fs::read_dir(store.dir()).unwrap().collect();
        assert_eq!(all.len(), 2, "k1.ko and cache_mb_limit only");
        store.remove("k1").unwrap();
        store.remove("k1").unwrap();
        assert!(!store.fetch("k1", &tmp.path().join("again.ko")).unwrap());
    }

    #[test]
    fn clean_prunes_down_to_the_limit_only() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("modules"));
        assert_eq!(store.clean().unwrap(), 0, "no cache yet");
        std::fs::create_dir_all(store.dir()).unwrap();
        std::fs::write(store.dir().join(LIMIT_FILE), "1\n").unwrap();
        for (name, used) in [("old", 10), ("new", 20)] {
            let path = store.entry(name);
            std::fs::write(&path, vec![0u8; 700 * 1024]).unwrap();
            used_at(&path, used);
        }
        assert_eq!(store.clean().unwrap(), 1);
        assert_eq!(names(&store), ["new.ko"]);
        assert_eq!(store.clean().unwrap(), 0, "within the limit: kept");
        assert_eq!(names(&store), ["new.ko"]);
    }

    #[test]
    fn eviction_removes_the_least_recently_used_first() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("modules"));
        std::fs::create_dir_all(store.dir()).unwrap();
        for (name, used) in [("a", 30), ("b", 10), ("c", 20)] {
            let path = store.entry(name);
            std::fs::write(&path, vec![0u8; 100]).unwrap();
            used_at(&path, used);
        }
        // A hit makes `b` the most recently used.
        assert!(store.fetch("b", &tmp.path().join("out.ko")).unwrap());
        // 300 bytes in the cache, 200 allowed: the oldest (c) goes.
        assert_eq!(store.evict(200, None).unwrap(), 1);
        assert_eq!(names(&store), ["a.ko", "b.ko"]);
        // 100 allowed: a goes, b (just used) stays.
        assert_eq!(store.evict(100, None).unwrap(), 1);
        assert_eq!(names(&store), ["b.ko"]);
        // The entry just written is kept even beyond the limit.
        assert_eq!(store.evict(0, Some(&store.entry("b"))).unwrap(), 0);
        assert_eq!(store.evict(0, None).unwrap(), 1);
        assert!(names(&store).is_empty());
    }

    #[test]
    fn insert_keeps_the_cache_within_its_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("modules"));
        std::fs::create_dir_all(store.dir()).unwrap();
        std::fs::write(store.dir().join(LIMIT_FILE), "1\n").unwrap();
        let ko = tmp.path().join("m.ko");
        std::fs::write(&ko, vec![1u8; 600 << 10]).unwrap();
        store.insert("old", &ko).unwrap();
        used_at(&store.entry("old"), 5);
        store.insert("new", &ko).unwrap();
        // 1 MiB holds one 600 KiB module: the older one went.
        assert_eq!(names(&store), ["new.ko"]);
        std::fs::write(store.dir().join(LIMIT_FILE), "lots\n").unwrap();
        let e = store.insert("x", &ko).unwrap_err().to_string();
        assert!(
            e.contains("cache_mb_limit: 'lots' is not a number of MiB"),
            "{e}"
        );
    }

    #[test]
    fn stale_temporary_files_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().to_path_buf());
        let stale = tmp.path().join(".k.123.tmp");
        let fresh = tmp.path().join(".k.456.tmp");
        std::fs::write(&stale, b"half").unwrap();
        std::fs::write(&fresh, b"half").unwrap();
        used_at(&stale, 1);
        store.evict(u64::MAX, None).unwrap();
        assert!(!stale.exists());
        assert!(fresh.exists(), "a run may be writing it now");
    }
}
