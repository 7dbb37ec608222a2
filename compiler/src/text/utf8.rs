//! Text files that must be UTF-8 (scripts, tapsets, manifests): where the
//! first invalid byte is, as a person finds it in an editor — line and
//! column (counted in characters, from 1) and the byte offset.

use std::fmt;
use std::path::Path;

/// The first invalid byte of a file that should be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidUtf8 {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// Offset of the invalid byte in the file.
    pub offset: usize,
    /// The invalid byte.
    pub byte: u8,
}

impl fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid UTF-8 at line {}, column {} (byte offset {}: 0x{:02x}); save it as UTF-8",
            self.line, self.column, self.offset, self.byte
        )
    }
}

impl std::error::Error for InvalidUtf8 {}

/// `bytes` as text, or where the first invalid byte is.
pub fn decode(bytes: Vec<u8>) -> Result<String, InvalidUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let offset = e.utf8_error().valid_up_to();
        // Everything before `offset` is valid.
        let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        InvalidUtf8 {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
            byte: bytes[offset],
        }
    })
}

/// Reads `path` as UTF-8 text; an invalid byte is an error of kind
/// `InvalidData` naming the file and where the byte is.
pub fn read_file(path: &Path) -> std::io::Result<String> {
    decode(std::fs::read(path)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_line_column_and_offset() {
        let e = decode(b"probe begin {\n  x = \"caf\xe9\"\n}\n".to_vec()).unwrap_err();
        assert_eq!(
            e,
            InvalidUtf8 {
                line: 2,
                column: 11,
                offset: 24,
                byte: 0xe9
            }
        );
        assert_eq!(
            e.to_string(),
            "invalid UTF-8 at line 2, column 11 (byte offset 24: 0xe9); save it as UTF-8"
        );
        // Columns count characters, not bytes.
        let e = decode("é\u{ff}".bytes().chain([0xff]).collect()).unwrap_err();
        assert_eq!((e.line, e.column, e.offset), (1, 3, 4));
        assert_eq!(decode(b"ok\n".to_vec()).unwrap(), "ok\n");
    }

    #[test]
    fn files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.stp");
        std::fs::write(&path, b"\xff").unwrap();
        let e = read_file(&path).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().ends_with("bad.stp: invalid UTF-8 at line 1, column 1 (byte offset 0: 0xff); save it as UTF-8"), "{e}");
    }
}
