//! An indenting C text writer and C spelling helpers.

use std::fmt::Write as _;

/// Accumulates C text with kernel-style tab indentation.
#[derive(Debug, Default)]
pub struct CWriter {
    out: String,
    indent: usize,
}

impl CWriter {
    /// A writer whose lines start `depth` levels in (a function body).
    pub fn indented(depth: usize) -> Self {
        CWriter {
            out: String::new(),
            indent: depth,
        }
    }

    /// Writes one line at the current indentation.
    pub fn line(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        if !text.is_empty() {
            for _ in 0..self.indent {
                self.out.push('\t');
            }
            self.out.push_str(text);
        }
        self.out.push('\n');
    }

    /// Writes `text` and opens a brace block.
    pub fn open(&mut self, text: impl AsRef<str>) {
        let text = text.as_ref();
        self.line(if text.is_empty() {
            "{".to_string()
        } else {
            format!("{text} {{")
        });
        self.indent += 1;
    }

    /// Closes a brace block, with `suffix` after the brace (e.g. `;`).
    pub fn close(&mut self, suffix: &str) {
        self.indent = self.indent.saturating_sub(1);
        self.line(format!("}}{suffix}"));
    }

    /// Closes a block and opens the next on the same line (`} else {`).
    pub fn reopen(&mut self, text: &str) {
        self.indent = self.indent.saturating_sub(1);
        self.line(format!("}} {text} {{"));
        self.indent += 1;
    }

    /// Writes a label one level out, as kernel style puts labels.
    /// (Marked unused-tolerant: not every label is jumped to.)
    pub fn label(&mut self, name: &str) {
        self.out.push_str(name);
        self.out.push_str(": __maybe_unused;\n");
    }

    /// Appends raw text (already formatted, e.g. embedded C).
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        if !text.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// `s` as a C string literal (octal escapes for anything unprintable, so
/// the output is plain ASCII and deterministic).
pub fn c_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut prev_octal = false;
    for &b in s.as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'?' => out.push_str("\\?"),
            // A digit right after an octal escape would extend it.
            b'0'..=b'7' if prev_octal => {
                let _ = write!(out, "\\{b:03o}");
                prev_octal = true;
                continue;
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
                prev_octal = true;
                continue;
            }
        }
        prev_octal = false;
    }
    out.push('"');
    out
}

/// A C comment's text with `*/` defused.
pub fn c_comment(s: &str) -> String {
    s.replace("*/", "* /")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_for_c() {
        assert_eq!(c_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(c_string("\x01"), "\"\\001\"");
        assert_eq!(c_string("\x017"), "\"\\001\\067\"");
        assert_eq!(c_string("??="), "\"\\?\\?=\"");
        assert_eq!(c_string("é"), "\"\\303\\251\"");
    }

    #[test]
    fn writer_indents_blocks_and_labels() {
        let mut w = CWriter::default();
        w.open("static void f(void)");
        w.line("x = 1;");
        w.label("out");
        w.line("return;");
        w.close("");
        assert_eq!(
            w.finish(),
            "static void f(void) {\n\tx = 1;\nout: __maybe_unused;\n\treturn;\n}\n"
        );
    }
}
