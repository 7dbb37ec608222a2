//! Source files and positions: [`SourceMap`] owns every text the compiler
//! reads (the user's script, tapset files, `-e` text named `<input>`), and
//! [`Span`] names a byte range inside one of them.
//!
//! Spans are byte offsets so that slicing is cheap; line and column numbers
//! (1-based, columns counted in characters) are computed on demand from a
//! per-file table of line starts, so nothing else needs to carry them.

use std::fmt;

/// Identifies one file inside a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(u32);

impl FileId {
    /// The position of the file in its map, in the order files were added.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A half-open byte range `start..end` in one source file.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// The file the range lies in.
    pub file: FileId,
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` in `file`.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start, end }
    }

    /// The smallest span covering both `self` and `other`. When the two lie in
    /// different files (which the front end never produces), `self` is kept.
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// An empty span at the end of `self`, for "expected X after this" errors.
    pub fn end_point(self) -> Span {
        Span {
            file: self.file,
            start: self.end,
            end: self.end,
        }
    }

    /// Number of bytes covered.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no bytes.
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    /// Whether `other` lies entirely inside `self` (same file, nested range).
    pub fn contains(self, other: Span) -> bool {
        self.file == other.file && self.start <= other.start && other.end <= self.end
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}..{}", self.file.0, self.start, self.end)
    }
}

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineCol {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column number in characters, starting at 1.
    pub col: usize,
}

/// One text known to the compiler.
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: String,
    text: String,
    /// Byte offset at which each line starts; always begins with 0.
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// The name shown in diagnostics (a path, or `<input>` for `-e`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The whole text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Number of lines (a trailing newline does not open a new line).
    pub fn line_count(&self) -> usize {
        let n = self.line_starts.len();
        if n > 1 && self.line_starts[n - 1] == self.text.len() {
            n - 1
        } else {
            n
        }
    }

    /// The 0-based index of the line holding byte `offset` (clamped to the file).
    fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Line and column of byte `offset`; offsets past the end are clamped, and
    /// an offset inside a multi-byte character counts as that character.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let col = self.text.get(start..).map_or(0, |rest| {
            rest.char_indices()
                .take_while(|(i, _)| start + i < offset)
                .count()
        });
        LineCol {
            line: line + 1,
            col: col + 1,
        }
    }

    /// The text of 1-based line `line`, without its line terminator; empty
    /// when the line does not exist.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.line_starts.get(i)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len());
        let text = self.text.get(start..end).unwrap_or("");
        text.trim_end_matches('\n').trim_end_matches('\r')
    }

    /// Byte offset at which 1-based line `line` starts, if it exists.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        line.checked_sub(1)
            .and_then(|i| self.line_starts.get(i))
            .copied()
    }
}

/// Every source text of one compilation, addressed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Adds a text under `name` and returns its id. Names need not be unique.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            name: name.into(),
            text,
            line_starts,
        });
        id
    }

    /// Adds raw bytes, replacing invalid UTF-8 sequences with U+FFFD.
    pub fn add_bytes(&mut self, name: impl Into<String>, bytes: &[u8]) -> FileId {
        self.add(name, String::from_utf8_lossy(bytes).into_owned())
    }

    /// The file behind `id`, if this map issued it.
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.index())
    }

    /// The name of file `id` (`"<unknown>"` for a foreign id).
    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", SourceFile::name)
    }

    /// The text of file `id` (empty for a foreign id).
    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map_or("", SourceFile::text)
    }

    /// The source text covered by `span` (empty if it is out of range or
    /// does not fall on character boundaries).
    pub fn span_text(&self, span: Span) -> &str {
        self.text(span.file).get(span.start..span.end).unwrap_or("")
    }

    /// Line and column where `span` starts.
    pub fn line_col(&self, span: Span) -> LineCol {
        self.get(span.file)
            .map_or(LineCol { line: 1, col: 1 }, |f| f.line_col(span.start))
    }

    /// `file:line:column` of the start of `span`, as diagnostics print it.
    pub fn location(&self, span: Span) -> String {
        let lc = self.line_col(span);
        format!("{}:{}:{}", self.name(span.file), lc.line, lc.col)
    }

    /// All files, in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let mut map = SourceMap::new();
        let f = map.add("a.stp", "ab\nçd\n\nx");
        let at = |o| map.get(f).unwrap().line_col(o);
        assert_eq!(at(0), LineCol { line: 1, col: 1 });
        assert_eq!(at(2), LineCol { line: 1, col: 3 });
        assert_eq!(at(3), LineCol { line: 2, col: 1 });
        // 'ç' is two bytes; 'd' is the second character.
        assert_eq!(at(5), LineCol { line: 2, col: 2 });
        assert_eq!(at(7), LineCol { line: 3, col: 1 });
        assert_eq!(at(8), LineCol { line: 4, col: 1 });
        assert_eq!(at(999), LineCol { line: 4, col: 2 });
        assert_eq!(map.location(Span::new(f, 5, 6)), "a.stp:2:2");
    }

    #[test]
    fn line_text_strips_terminators_and_tolerates_bad_lines() {
        let mut map = SourceMap::new();
        let f = map.add("a", "one\r\ntwo\n");
        let file = map.get(f).unwrap();
        assert_eq!(file.line_text(1), "one");
        assert_eq!(file.line_text(2), "two");
        assert_eq!(file.line_text(3), "");
        assert_eq!(file.line_text(0), "");
        assert_eq!(file.line_count(), 2);
    }

    #[test]
    fn span_join_and_containment() {
        let f = FileId(0);
        let a = Span::new(f, 2, 4);
        let b = Span::new(f, 6, 9);
        assert_eq!(a.to(b), Span::new(f, 2, 9));
        assert!(a.to(b).contains(a));
        assert!(!a.contains(b));
        assert_eq!(a.end_point(), Span::new(f, 4, 4));
    }
}
