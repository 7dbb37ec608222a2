//! Where a link-time address of an ELF program or library is in its file,
//! through its loadable segments: what uprobes (and the kernel's SDT
//! reference counters) take.

use object::{Object, ObjectSegment};

/// The loadable segments of one file: (address, size in the file, file
/// offset).
#[derive(Debug, Clone)]
pub struct FileOffsets(Vec<(u64, u64, u64)>);

impl FileOffsets {
    /// The segments of `elf`.
    pub fn new(elf: &object::File<'_>) -> FileOffsets {
        FileOffsets(
            elf.segments()
                .map(|s| {
                    let (offset, size) = s.file_range();
                    (s.address(), size, offset)
                })
                .collect(),
        )
    }

    /// The file offset of `address`, if a segment holds it in the file.
    pub fn offset(&self, address: u64) -> Option<u64> {
        self.0
            .iter()
            .find(|(start, size, _)| address >= *start && address - start < *size)
            .map(|(start, _, offset)| address - start + offset)
    }
}
