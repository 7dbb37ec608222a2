//! The whole line table of a program's DWARF, for naming the source file
//! and line of any address (`usymfileline()`, `print_ubacktrace_fileline()`):
//! every unit's line program flattened into rows sorted by address, each
//! holding from its address until the next row. A row without a place
//! ends a sequence (the code after it has no line) or stands for line 0.

use std::collections::HashMap;
use std::sync::Arc;

use super::DwarfKernel;

/// From `address` until the next row: `place`, a file (index into
/// [`LineTable::files`]) and a line; `None`, no source line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRow {
    /// The first address the row holds for (link-time).
    pub address: u64,
    /// The file index and line, if any.
    pub place: Option<(u32, u32)>,
}

/// Rows sorted by address and the files they name (full paths, joined to
/// each unit's compilation directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineTable {
    /// Sorted by address; a row equal in place to the one before it is
    /// left out.
    pub rows: Vec<LineRow>,
    /// The files rows name.
    pub files: Vec<String>,
}

impl LineTable {
    /// The file and line of `address`, if the table has one.
    pub fn place(&self, address: u64) -> Option<(&str, u32)> {
        let i = self.rows.partition_point(|r| r.address <= address);
        let (file, line) = self.rows.get(i.checked_sub(1)?)?.place?;
        Some((self.files.get(file as usize)?.as_str(), line))
    }
}

/// A row before sorting: address, its order among the rows at that
/// address (sequence ends before starts), place.
type RawRow = (u64, u8, Option<(u32, u32)>);

impl DwarfKernel {
    /// Every unit's line rows (see the module docs); time and memory
    /// linear in the line programs' size. Units or rows gimli cannot
    /// read are left out.
    pub fn line_table(&self) -> LineTable {
        let mut files: Vec<String> = Vec::new();
        let mut file_ids: HashMap<Arc<str>, u32> = HashMap::new();
        let mut rows: Vec<RawRow> = Vec::new();
        let mut headers = self.dwarf.units();
        while let Ok(Some(header)) = headers.next() {
            let Ok(unit) = self.dwarf.unit(header) else {
                continue;
            };
            let Some(program) = unit.line_program.clone() else {
                continue;
            };
            let unit_files = super::scopes::user_files(&self.dwarf, &unit);
            let mut ids: Vec<Option<u32>> = vec![None; unit_files.len()];
            let mut program_rows = program.rows();
            while let Ok(Some((_, row))) = program_rows.next_row() {
                let address = row.address();
                if row.end_sequence() {
                    rows.push((address, 0, None));
                    continue;
                }
                let line = row
                    .line()
                    .map_or(0, |l| l.get().min(u64::from(u32::MAX)) as u32);
                let index = row.file_index() as usize;
                let file = match (line, unit_files.get(index).and_then(Option::as_ref)) {
                    (0, _) | (_, None) => None,
                    (_, Some(path)) => Some(*ids[index].get_or_insert_with(|| {
                        let key: Arc<str> = Arc::from(path.as_str());
                        *file_ids.entry(key).or_insert_with(|| {
                            files.push(path.clone());
                            (files.len() - 1) as u32
                        })
                    })),
                };
                rows.push((address, 1, file.map(|f| (f, line))));
            }
        }
        rows.sort_by_key(|r| (r.0, r.1));
        let mut out: Vec<LineRow> = Vec::with_capacity(rows.len());
        for (address, _, place) in rows {
            match out.last_mut() {
                // Several rows at one address: the last one holds.
                Some(last) if last.address == address => last.place = place,
                Some(last) if last.place == place => {}
                _ => out.push(LineRow { address, place }),
            }
        }
        LineTable { rows: out, files }
    }
}
