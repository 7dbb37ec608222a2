//! Opening a DWARF vmlinux: the file is mapped, not read (it is 600+ MB and
//! a question touches a few compilation units), and gimli is given slices
//! of the mapped debug sections.

use std::path::{Path, PathBuf};

use gimli::{EndianSlice, RunTimeEndian, SectionId};
use object::{Object, ObjectSection};

use crate::debuginfo::error::DebugInfoError;

/// gimli's reader over the mapped file.
pub type Reader<'a> = EndianSlice<'a, RunTimeEndian>;

/// A mapped vmlinux.
pub struct Mapped {
    path: PathBuf,
    map: memmap2::Mmap,
}

impl Mapped {
    /// Maps `path` read-only.
    pub fn open(path: &Path) -> Result<Mapped, DebugInfoError> {
        let file = std::fs::File::open(path).map_err(|e| DebugInfoError::io(path, e))?;
        // SAFETY: the mapping is read-only and private; stapkit's kernel
        // cache is not modified while a translation runs (a concurrent
        // `stap-prep fetch --refresh` replaces files by renaming, which
        // keeps this inode alive).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| DebugInfoError::io(path, e))?;
        Ok(Mapped {
            path: path.to_path_buf(),
            map,
        })
    }

    /// The vmlinux path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// gimli's view of the debug sections.
    pub fn dwarf(&self) -> Result<gimli::Dwarf<Reader<'_>>, DebugInfoError> {
        dwarf_of(&self.map, &self.path)
    }
}

/// gimli's view of the debug sections of the ELF `bytes` (from `path`).
pub fn dwarf_of<'a>(
    bytes: &'a [u8],
    path: &Path,
) -> Result<gimli::Dwarf<Reader<'a>>, DebugInfoError> {
    let err = |message: String| DebugInfoError::Dwarf {
        path: path.to_path_buf(),
        message,
    };
    let file = object::File::parse(bytes).map_err(|e| err(e.to_string()))?;
    let endian = if file.is_little_endian() {
        RunTimeEndian::Little
    } else {
        RunTimeEndian::Big
    };
    if file.section_by_name(".debug_info").is_none() {
        return Err(err(
            "it has no .debug_info section (a stripped vmlinux, not the -dbg one)".into(),
        ));
    }
    let load = |id: SectionId| -> Result<Reader<'a>, DebugInfoError> {
        let data = match file.section_by_name(id.name()) {
            Some(section) => {
                if !matches!(
                    section.compressed_file_range().map(|r| r.format),
                    Ok(object::CompressionFormat::None)
                ) {
                    return Err(err(format!(
                        "{} is compressed, which stapkit does not read yet",
                        id.name()
                    )));
                }
                section.data().map_err(|e| err(e.to_string()))?
            }
            None => &[],
        };
        Ok(EndianSlice::new(data, endian))
    };
    gimli::Dwarf::load(load)
}
