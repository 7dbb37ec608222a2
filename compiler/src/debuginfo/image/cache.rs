//! The per-kernel cache of what was pulled out of the image: `btf` (the raw
//! `.BTF` section) and `btf.key` (which image it came from: path, size and
//! modification time, and the image format). A stale or partial entry is
//! rebuilt; writes go through a temporary file and a rename.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::{btf_of, extract_kernel};
use crate::debuginfo::error::DebugInfoError;

/// A directory holding one kernel's extracted debug data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageCache {
    dir: PathBuf,
}

/// The BTF of a kernel image and where it came from.
#[derive(Debug, Clone)]
pub struct ImageBtf {
    /// The raw `.BTF` section.
    pub bytes: Vec<u8>,
    /// The image format (`bzImage (xz)`), as recorded at extraction.
    pub format: String,
    /// Whether it was read from the cache (`false`: just extracted).
    pub cached: bool,
}

const BTF_FILE: &str = "btf";
const KEY_FILE: &str = "btf.key";

impl ImageCache {
    /// The cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> ImageCache {
        ImageCache { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The BTF of `image`: from the cache when it was extracted from this
    /// very file, else extracted now (decompressing the image) and cached.
    pub fn btf(&self, image: &Path) -> Result<ImageBtf, DebugInfoError> {
        let key = image_key(image)?;
        if let Some(hit) = self.lookup(&key) {
            return Ok(hit);
        }
        let kernel = extract_kernel(image)?;
        let format = kernel.format.to_string();
        let bytes = btf_of(&kernel.bytes)
            .ok_or_else(|| DebugInfoError::NoBtf {
                path: image.to_path_buf(),
                hint: "install the kernel's debug package (linux-image-RELEASE-dbg on Debian)"
                    .into(),
            })?
            .to_vec();
        self.store(&key, &format, &bytes)?;
        Ok(ImageBtf {
            bytes,
            format,
            cached: false,
        })
    }

    fn lookup(&self, key: &str) -> Option<ImageBtf> {
        let text = std::fs::read_to_string(self.dir.join(KEY_FILE)).ok()?;
        let (stored_key, format) =
            text.lines()
                .fold((None, None), |(k, f), line| match line.split_once('=') {
                    Some(("image", v)) => (Some(v.to_string()), f),
                    Some(("format", v)) => (k, Some(v.to_string())),
                    _ => (k, f),
                });
        if stored_key.as_deref() != Some(key) {
            return None;
        }
        let bytes = std::fs::read(self.dir.join(BTF_FILE)).ok()?;
        Some(ImageBtf {
            bytes,
            format: format.unwrap_or_default(),
            cached: true,
        })
    }

    fn store(&self, key: &str, format: &str, bytes: &[u8]) -> Result<(), DebugInfoError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| DebugInfoError::io(&self.dir, e))?;
        // The key goes last: a crash in between leaves a stale key, not a
        // key pointing at a partial file.
        let _ = std::fs::remove_file(self.dir.join(KEY_FILE));
        write_atomic(&self.dir.join(BTF_FILE), bytes)?;
        let text = format!("image={key}\nformat={format}\n");
        write_atomic(&self.dir.join(KEY_FILE), text.as_bytes())
    }
}

/// Identifies an image file: its absolute path, size and mtime.
pub(crate) fn image_key(image: &Path) -> Result<String, DebugInfoError> {
    let meta = std::fs::metadata(image).map_err(|e| DebugInfoError::io(image, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default();
    let path = std::fs::canonicalize(image).unwrap_or_else(|_| image.to_path_buf());
    Ok(format!(
        "{} size {} mtime {mtime}",
        path.display(),
        meta.len()
    ))
}

/// Writes `bytes` to `path` through a uniquely named temporary file in the
/// same directory, so concurrent writers never see each other's halves.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DebugInfoError> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| DebugInfoError::io(dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| DebugInfoError::io(tmp.path(), e))?;
    // Readable by everyone, like the fetched tree it sits next to (the
    // temporary file starts out private).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(tmp.path(), mode)
            .map_err(|e| DebugInfoError::io(tmp.path(), e))?;
    }
    tmp.persist(path)
        .map(|_| ())
        .map_err(|e| DebugInfoError::io(path, e.error))
}
