//! printf format strings: parsed once here, checked against the arguments,
//! and carried into the IR (the runtime formats from the text).

use crate::ir::{Conversion, Format};
use crate::syntax::format::directives;

/// A format string that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset of the offending `%` in the format.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a format's directives as SystemTap's parser takes them
/// ([`crate::syntax::format`]: one flag of `-+ #`, a width and a precision
/// as digits or `*`, one `l`, conversions `d i u x X o c s p b m M`, and
/// `%%`).
pub fn parse(text: &str) -> Result<Format, FormatError> {
    match directives(text.as_bytes()) {
        Ok(found) => Ok(Format {
            text: text.to_string(),
            conversions: found
                .iter()
                .map(|d| Conversion {
                    kind: d.conversion as char,
                    star_width: d.star_width,
                    star_precision: d.star_precision,
                })
                .collect(),
        }),
        Err(bad) => Err(FormatError {
            offset: bad.offset,
            message: format!("invalid or missing conversion specifier '{}'", bad.text),
        }),
    }
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
        let e = parse("100%").unwrap_err();
        assert_eq!(e.offset, 3);
        assert_eq!(e.message, "invalid or missing conversion specifier '%'");
        let e = parse("x %q").unwrap_err();
        assert_eq!(e.offset, 2);
        assert_eq!(e.message, "invalid or missing conversion specifier '%q'");
        assert!(parse("%5%").is_err());
        assert!(parse("%lld").is_err());
    }
}
