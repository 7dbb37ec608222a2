//! Size limits of the cache's built pieces, as SystemTap's cache has one:
//! a directory's `cache_mb_limit` (one ASCII integer, the MiB its entries
//! should not exceed, written with a default when missing), and eviction
//! of the least recently used entries (oldest modification time: a hit
//! marks its entry used) until they fit.
//!
//! The module cache (`crate::modcache::store`, one file per entry) and the
//! runtime's pieces beside the feature probes
//! (`crate::runtime_object::limit`, one directory per entry) share it; each
//! lists its entries and says how one is removed, or that it is in use.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The file holding a cache directory's limit.
pub const LIMIT_FILE: &str = "cache_mb_limit";

/// One entry: its path, its size in bytes and its last use.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The file or directory.
    pub path: PathBuf,
    /// Bytes it takes.
    pub size: u64,
    /// When it was last used (made, or a hit).
    pub used: SystemTime,
}

/// What became of an entry eviction chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Removed now.
    Removed,
    /// Already gone (another run evicted it first): its bytes are free.
    Gone,
    /// In use by a build: kept, and the next one is tried.
    InUse,
}

/// The limit in bytes from `dir/cache_mb_limit`, which is written with
/// `default_mb` when missing.
pub fn limit_bytes(dir: &Path, default_mb: u64) -> io::Result<u64> {
    let file = dir.join(LIMIT_FILE);
    let mb = match std::fs::read_to_string(&file) {
        Ok(text) => text.trim().parse::<u64>().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: '{}' is not a number of MiB; write one integer, e.g. {default_mb}",
                    file.display(),
                    text.trim()
                ),
            )
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            std::fs::write(&file, format!("{default_mb}\n"))?;
            default_mb
        }
        Err(e) => return Err(e),
    };
    Ok(mb.saturating_mul(1 << 20))
}

/// Marks `path` (a file or a directory) used now; a read-only cache still
/// serves, so failures are ignored.
pub fn mark_used(path: &Path) {
    let _ = std::fs::File::open(path).and_then(|f| f.set_modified(SystemTime::now()));
}

/// The last use of `path` as [`mark_used`] records it.
pub fn last_use(meta: &std::fs::Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Removes the least recently used of `entries` (never `keep`, never one
/// `remove` finds in use) until the rest take at most `limit` bytes;
/// returns how many `remove` removed.
pub fn evict(
    mut entries: Vec<Entry>,
    limit: u64,
    keep: Option<&Path>,
    mut remove: impl FnMut(&Entry) -> io::Result<Removal>,
) -> io::Result<usize> {
    let mut total: u64 = entries.iter().map(|e| e.size).sum();
    entries.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
    let mut removed = 0;
    for entry in &entries {
        if total <= limit {
            break;
        }
        if Some(entry.path.as_path()) == keep {
            continue;
        }
        match remove(entry)? {
            Removal::Removed => removed += 1,
            Removal::Gone => {}
            Removal::InUse => continue,
        }
        total -= entry.size;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(name: &str, size: u64, used: u64) -> Entry {
        Entry {
            path: PathBuf::from(name),
            size,
            used: SystemTime::UNIX_EPOCH + Duration::from_secs(used),
        }
    }

    #[test]
    fn the_oldest_go_first_skipping_kept_and_busy_ones() {
        let entries = vec![
            entry("a", 100, 30),
            entry("b", 100, 10),
            entry("c", 100, 20),
            entry("d", 100, 5),
        ];
        let mut asked = Vec::new();
        let n = evict(entries, 150, Some(Path::new("d")), |e| {
            asked.push(e.path.clone());
            Ok(if e.path == Path::new("b") {
                Removal::InUse
            } else {
                Removal::Removed
            })
        })
        .unwrap();
        // d is kept and b busy: c and a go, and the 200 bytes left stay
        // above the limit, as nothing else may go.
        assert_eq!(n, 2);
        assert_eq!(asked, [PathBuf::from("b"), "c".into(), "a".into()]);
    }

    #[test]
    fn entries_already_gone_count_as_freed_and_a_fitting_cache_is_left_alone() {
        let entries = vec![entry("x", 100, 1), entry("y", 100, 2)];
        let n = evict(entries.clone(), 100, None, |_| Ok(Removal::Gone)).unwrap();
        assert_eq!(n, 0);
        let n = evict(entries, 200, None, |_| panic!("nothing to remove")).unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn the_limit_file_is_made_and_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        assert_eq!(limit_bytes(&dir, 3).unwrap(), 3 << 20);
        assert_eq!(
            std::fs::read_to_string(dir.join(LIMIT_FILE)).unwrap(),
            "3\n"
        );
        std::fs::write(dir.join(LIMIT_FILE), " 7 \n").unwrap();
        assert_eq!(limit_bytes(&dir, 3).unwrap(), 7 << 20);
        std::fs::write(dir.join(LIMIT_FILE), "lots\n").unwrap();
        let e = limit_bytes(&dir, 3).unwrap_err().to_string();
        assert!(
            e.contains("cache_mb_limit: 'lots' is not a number of MiB"),
            "{e}"
        );
    }

    #[test]
    fn marking_a_directory_used_moves_its_time() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("entry");
        std::fs::create_dir(&dir).unwrap();
        let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        std::fs::File::open(&dir)
            .unwrap()
            .set_modified(old)
            .unwrap();
        mark_used(&dir);
        assert!(last_use(&std::fs::metadata(&dir).unwrap()) > old);
    }
}
