//! The two comparisons preprocessor conditions need: shell-style globs
//! (`arch == "i?86"`, `kernel_vr == "6.1*"`, `CONFIG_X == "[ym]"`) and
//! version ordering (`kernel_v >= "5.10"`).

use std::cmp::Ordering;

/// Whether `text` matches the glob `pattern`: `*` matches any run of
/// characters (including `/`), `?` any one character, `[abc]`, `[a-z]` and
/// `[!a-z]`/`[^a-z]` a class; everything else, backslash included, matches
/// itself. An unclosed `[` matches a literal `[`. Runs in O(len(pattern) *
/// len(text)) at worst.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the most recent '*': (pattern index, text index).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi + 1, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class_match(&p[pi..], t[ti]) {
                ClassMatch::Match(len) => Some(len),
                ClassMatch::NoMatch => None,
                ClassMatch::NotAClass => (t[ti] == '[').then_some(1),
            },
            Some(&c) => (c == t[ti]).then_some(1),
            None => None,
        };
        match step {
            Some(len) => {
                pi += len;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

enum ClassMatch {
    /// The class matched; it spans this many pattern characters.
    Match(usize),
    NoMatch,
    /// No closing `]`: the `[` is a literal.
    NotAClass,
}

/// Matches `c` against the class starting at `p[0] == '['`.
fn class_match(p: &[char], c: char) -> ClassMatch {
    let mut i = 1;
    let negated = matches!(p.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let Some(&lo) = p.get(i) else {
            return ClassMatch::NotAClass;
        };
        if lo == ']' && !first {
            break;
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&hi| hi != ']') {
            let hi = p[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    if matched != negated {
        ClassMatch::Match(i + 1)
    } else {
        ClassMatch::NoMatch
    }
}

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

/// Whether `text` contains glob metacharacters.
pub(crate) fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("i?86", "i686"));
        assert!(!glob_match("i?86", "x86_64"));
        assert!(glob_match("*", ""));
        assert!(glob_match("6.1*", "6.1.0-18-amd64"));
        assert!(glob_match("*amd64", "6.1.0-18-amd64"));
        assert!(glob_match("*.*.*", "6.1.0"));
        assert!(!glob_match("*.*.*.*", "6.1.0"));
        assert!(glob_match("[ym]", "m"));
        assert!(!glob_match("[!ym]", "m"));
        assert!(glob_match("[^ym]", "n"));
        assert!(glob_match("x86_[0-9][0-9]", "x86_64"));
        assert!(glob_match("[]]", "]"));
        assert!(glob_match("a[b", "a[b"));
        assert!(!glob_match("a[b", "ab"));
        assert!(glob_match("a\\b", "a\\b"));
        assert!(!glob_match("", "x"));
        assert!(glob_match("**a**b**", "xxaxxbxx"));
        // Pathological patterns stay fast.
        let text = "a".repeat(2000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(200)), &text));
    }

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
