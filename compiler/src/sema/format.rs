//! printf format strings: parsed once here, checked against the arguments,
//! and carried into the IR (the runtime formats from the text).

use crate::ir::{Conversion, Format};

/// A format string that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset of the offending `%` in the format.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses `%[flags][width][.precision][length]conversion` directives.
///
/// Flags `-+ #0`, widths and precisions as digits or `*`, length modifiers
/// `l`, `ll`, `h`, `hh`, `z`, `L` (accepted, ignored: every integer is 64
/// bits), conversions `d i u x X o c s p b m M %`.
pub fn parse(text: &str) -> Result<Format, FormatError> {
    let bytes = text.as_bytes();
    let mut conversions = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && b"-+ #0".contains(&bytes[i]) {
            i += 1;
        }
        let mut star_width = false;
        if i < bytes.len() && bytes[i] == b'*' {
            star_width = true;
            i += 1;
        } else {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        let mut star_precision = false;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            if i < bytes.len() && bytes[i] == b'*' {
                star_precision = true;
                i += 1;
            } else {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
        }
        while i < bytes.len() && b"lhzL".contains(&bytes[i]) {
            i += 1;
        }
        let Some(&c) = bytes.get(i) else {
            return Err(FormatError {
                offset: start,
                message: "format string ends inside a conversion".into(),
            });
        };
        i += 1;
        match c {
            b'%' if i - start == 2 => {}
            b'd' | b'i' | b'u' | b'x' | b'X' | b'o' | b'c' | b's' | b'p' | b'b' | b'm' | b'M' => {
                conversions.push(Conversion {
                    kind: c as char,
                    star_width,
                    star_precision,
                })
            }
            _ => {
                let shown = text[start..].chars().take(i - start).collect::<String>();
                return Err(FormatError {
                    offset: start,
                    message: format!("invalid or missing conversion in '{shown}'; use one of %d %i %u %x %X %o %c %s %p %b %m %M %%"),
                });
            }
        }
    }
    Ok(Format {
        text: text.to_string(),
        conversions,
    })
}

/// The argument types a format consumes, in order (`*` widths first).
pub fn argument_types(format: &Format) -> Vec<crate::ir::Type> {
    let mut out = Vec::new();
    for c in &format.conversions {
        if c.star_width {
            out.push(crate::ir::Type::Long);
        }
        if c.star_precision {
            out.push(crate::ir::Type::Long);
        }
        out.push(c.arg_type());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Type;

    #[test]
    fn parses_conversions_flags_and_stars() {
        let f = parse("%d|%-5s|%08x|%*d|%.*s|%ld|%%|%#o").unwrap();
        let kinds: String = f.conversions.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, "dsxdsdo");
        assert_eq!(
            argument_types(&f),
            [
                Type::Long,
                Type::String,
                Type::Long,
                Type::Long,
                Type::Long,
                Type::Long,
                Type::String,
                Type::Long,
                Type::Long
            ]
        );
    }

    #[test]
    fn rejects_bad_conversions() {
        assert_eq!(
            parse("100%").unwrap_err().message,
            "format string ends inside a conversion"
        );
        let e = parse("x %q").unwrap_err();
        assert_eq!(e.offset, 2);
        assert!(
            e.message
                .starts_with("invalid or missing conversion in '%q'"),
            "{}",
            e.message
        );
        assert!(parse("%5%").is_err());
    }
}
