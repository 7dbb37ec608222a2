//! The directives of a printf format as SystemTap's parser reads them.
//!
//! SystemTap checks a literal format of `printf` and `sprintf` in pass 1
//! and refuses the whole script when one directive is not of this shape
//! (`parse error: invalid or missing conversion specifier`, observed with
//! SystemTap 5.1 by `tests/oracle/printf_formats.stp`):
//!
//! ```text
//! %%                                    nothing between the two
//! % [flag] [width] [.precision] [l] conversion
//!   flag        at most one of  - + space #   (a 0 is the width's: %-05d)
//!   width       digits or *     (not both: %*5d and %5*d are refused)
//!   precision   digits (none is 0) or *
//!   l           one, which changes nothing (%ld; %lld, %hd, %zd are refused)
//!   conversion  d i u x X o c s p b m M
//! ```
//!
//! Pass 2 takes the arguments' types from the same scan
//! (`sema::format`), so what the parser lets through is what the
//! translator formats.

/// One `%` directive other than `%%`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directive {
    /// Byte offset of its `%`.
    pub offset: usize,
    /// The conversion character (`d`, `s`, ...).
    pub conversion: u8,
    /// The width is an argument (`%*d`).
    pub star_width: bool,
    /// The precision is an argument (`%.*s`).
    pub star_precision: bool,
}

/// A directive SystemTap refuses: where it starts and the bytes read
/// before it went wrong (the character that did included, if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadDirective {
    /// Byte offset of its `%`.
    pub offset: usize,
    /// Its text up to and including the first character out of place.
    pub text: String,
}

/// The conversions SystemTap's format takes.
pub const CONVERSIONS: &[u8] = b"diuxXocspbmM";

/// Every directive of `format`, in order, or the first one SystemTap's
/// parser refuses.
pub fn directives(format: &[u8]) -> Result<Vec<Directive>, BadDirective> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < format.len() {
        if format[i] != b'%' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        if format.get(i) == Some(&b'%') {
            i += 1;
            continue;
        }
        if format.get(i).is_some_and(|c| b"-+ #".contains(c)) {
            i += 1;
        }
        let star_width = format.get(i) == Some(&b'*');
        if star_width {
            i += 1;
        } else {
            while format.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        let mut star_precision = false;
        if format.get(i) == Some(&b'.') {
            i += 1;
            if format.get(i) == Some(&b'*') {
                star_precision = true;
                i += 1;
            } else {
                while format.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
        }
        if format.get(i) == Some(&b'l') {
            i += 1;
        }
        match format.get(i) {
            Some(&c) if CONVERSIONS.contains(&c) => {
                out.push(Directive {
                    offset: start,
                    conversion: c,
                    star_width,
                    star_precision,
                });
                i += 1;
            }
            other => {
                let end = if other.is_some() { i + 1 } else { i };
                return Err(BadDirective {
                    offset: start,
                    text: String::from_utf8_lossy(&format[start..end]).into_owned(),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(format: &str) -> bool {
        directives(format.as_bytes()).is_err()
    }

    /// Each directive `tests/oracle/printf_formats.stp` asked SystemTap 5.1
    /// about, as it answered.
    #[test]
    fn takes_and_refuses_what_systemtap_does() {
        let taken = [
            "%ld",
            "%lu",
            "%lx",
            "%ls",
            "%lc",
            "%lp",
            "%5ld",
            "% d",
            "%-05d",
            "%#d",
            "%#x",
            "%+s",
            "%#s",
            "%0s",
            "%00d",
            "%#0x",
            "%+0d",
            "%-d",
            "%0d",
            "%+d",
            "%#o",
            "%i",
            "%m",
            "%M",
            "%b",
            "%c",
            "%p",
            "%X",
            "%o",
            "%u",
            "%x",
            "%s",
            "%d",
            "%%",
            "%.d",
            "%5.d",
            "%.*d",
            "%*.*d",
            "%99999999999d",
            "%.99999999999d",
            "%.3s",
            "%5.3m",
            "%.5b",
            "%-5M",
            "%0.3d",
            "%-*d",
            "%.*s",
            "a%%b%dc",
        ];
        for f in taken {
            assert!(!refused(f), "{f} is taken by SystemTap");
        }
        let refused_ones = [
            "%lld", "%hd", "%hhd", "%zd", "%Ld", "%jd", "%td", "%qd", "%-+6d", "%+-6d", "%0-5d",
            "%##x", "%++d", "%--5d", "% +d", "%+ d", "%+#x", "%#+x", "%-#x", "%#-x", "%0#x",
            "%0+d", "%-+d", "%+-d", "%q", "%e", "%f", "%g", "%a", "%n", "%D", "%U", "%C", "%S",
            "%P", "%B", "%E", "%G", "%F", "%A", "%Z", "%!", "[%5%]", "[%-%]", "[%.3%]", "[%]",
            "100%", "[%l]", "[%5]", "[%*]", "[%#%]", "[%0%]", "[%+%]", "[% %]", "[%l%]", "%**d",
            "%.5.3d", "%*5d", "%5*d", "%.-3d", "%lq", "%5.3lq", "abc%\n",
        ];
        for f in refused_ones {
            assert!(refused(f), "{f} is refused by SystemTap");
        }
    }

    #[test]
    fn reports_directives_and_the_bad_one() {
        let d = directives(b"a %-*d %.*s %% %lx").unwrap();
        assert_eq!(
            d,
            [
                Directive {
                    offset: 2,
                    conversion: b'd',
                    star_width: true,
                    star_precision: false
                },
                Directive {
                    offset: 7,
                    conversion: b's',
                    star_width: false,
                    star_precision: true
                },
                Directive {
                    offset: 15,
                    conversion: b'x',
                    star_width: false,
                    star_precision: false
                },
            ]
        );
        let bad = directives(b"ok %d then %5.3lq").unwrap_err();
        assert_eq!((bad.offset, bad.text.as_str()), (11, "%5.3lq"));
        let end = directives(b"100%").unwrap_err();
        assert_eq!((end.offset, end.text.as_str()), (3, "%"));
    }
}
