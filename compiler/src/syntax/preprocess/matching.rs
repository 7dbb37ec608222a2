//! Version ordering for preprocessor conditions (`kernel_v >= "5.10"`);
//! their globs (`arch == "i?86"`) are [`crate::text::glob`]'s.

use std::cmp::Ordering;

/// Orders two version strings the way `strverscmp` does for ordinary
/// versions: runs of digits compare as numbers (of any length), everything
/// else byte by byte, and a string that is a prefix of another is smaller.
/// So `"6.1.0-18-amd64" > "6.1"`, `"5.10" > "5.9"` and `"2.6.9" < "2.6.13"`.
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let ei = i + a[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let ej = j + b[j..].iter().take_while(|c| c.is_ascii_digit()).count();
            let na = trim_zeros(&a[i..ei]);
            let nb = trim_zeros(&b[j..ej]);
            let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if ord != Ordering::Equal {
                return ord;
            }
            i = ei;
            j = ej;
        } else {
            let ord = a[i].cmp(&b[j]);
            if ord != Ordering::Equal {
                return ord;
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    &digits[zeros..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        use Ordering::*;
        assert_eq!(compare_versions("6.1.0-18-amd64", "6.1"), Greater);
        assert_eq!(compare_versions("5.10", "5.9"), Greater);
        assert_eq!(compare_versions("2.6.9", "2.6.13"), Less);
        assert_eq!(compare_versions("5.2", "5.2"), Equal);
        assert_eq!(compare_versions("5.2", "5.02"), Equal);
        assert_eq!(compare_versions("4.0", "5"), Less);
        assert_eq!(compare_versions("99999999999999999999999", "1"), Greater);
        assert_eq!(compare_versions("", "1"), Less);
        assert_eq!(compare_versions("6.1.0", "6.1.0-rc1"), Less);
    }
}
