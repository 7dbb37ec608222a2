//! Shell-style wildcards with fnmatch(3)'s rules, as SystemTap matches
//! probe-point components, function and tracepoint names (`*`, `?` and
//! `[...]`, see stapprobes(3stap)) and the preprocessor's `arch == "i?86"`,
//! `CONFIG_X == "[ym]"`.
//!
//! Hand-written rather than `globset`: that crate compiles patterns to
//! regexes and rejects an unclosed `[`, which fnmatch matches literally;
//! here every pattern matches in O(len(pattern) * len(text)) at worst,
//! with no compile step on the per-name path.

/// Whether `pattern` has wildcards (`*`, `?`, `[`).
pub fn is_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Whether `text` matches the glob `pattern`: `*` matches any run of
/// characters (including `/`), `?` any one character, `[abc]`, `[a-z]` and
/// `[!a-z]`/`[^a-z]` a class (a `]` first in it is a member); everything
/// else, backslash included, matches itself (fnmatch's `FNM_NOESCAPE`). An
/// unclosed `[` matches a literal `[`. To match one pattern against many
/// names, make a [`Glob`] once.
pub fn matches(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).matches(text)
}

/// A pattern decoded once, for matching against many names: a pattern
/// without wildcards is compared as a string, so that a huge one costs its
/// length once, not once per name.
#[derive(Debug, Clone)]
pub struct Glob<'a> {
    pattern: &'a str,
    /// The pattern's characters, when it has wildcards.
    wild: Option<Vec<char>>,
}

impl<'a> Glob<'a> {
    /// `pattern`, ready to match (see [`matches`] for the rules).
    pub fn new(pattern: &'a str) -> Glob<'a> {
        Glob {
            pattern,
            wild: is_wildcard(pattern).then(|| pattern.chars().collect()),
        }
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match &self.wild {
            None => self.pattern == text,
            Some(p) => wild_match(p, text),
        }
    }
}

/// The matcher proper, over a pattern with wildcards.
fn wild_match(p: &[char], text: &str) -> bool {
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
            matched |= lo <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= lo == c;
            i += 1;
        }
    }
    if matched != negated {
        ClassMatch::Match(i + 1)
    } else {
        ClassMatch::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_rules() {
        assert!(matches("i?86", "i686"));
        assert!(!matches("i?86", "x86_64"));
        assert!(matches("*", ""));
        assert!(matches("6.1*", "6.1.0-18-amd64"));
        assert!(matches("*amd64", "6.1.0-18-amd64"));
        assert!(matches("*.*.*", "6.1.0"));
        assert!(!matches("*.*.*.*", "6.1.0"));
        assert!(matches("[ym]", "m"));
        assert!(!matches("[!ym]", "m"));
        assert!(matches("[^ym]", "n"));
        assert!(matches("x86_[0-9][0-9]", "x86_64"));
        assert!(matches("[]]", "]"));
        assert!(matches("a[b", "a[b"));
        assert!(!matches("a[b", "ab"));
        assert!(matches("a\\b", "a\\b"));
        assert!(!matches("", "x"));
        assert!(matches("**a**b**", "xxaxxbxx"));
        // Pathological patterns stay fast.
        let text = "a".repeat(2000);
        assert!(!matches(&format!("{}b", "*a".repeat(200)), &text));
    }

    #[test]
    fn a_glob_decodes_its_pattern_once() {
        let huge = "a".repeat(100_000);
        let literal = Glob::new(&huge);
        assert!(literal.matches(&huge) && !literal.matches("a"));
        let wild = format!("{huge}*");
        let wild = Glob::new(&wild);
        assert!(wild.matches(&format!("{huge}b")) && !wild.matches("ab"));
        // Thousands of names against one huge pattern.
        assert!((0..20_000).all(|i| !literal.matches(&format!("name_{i}"))));
    }

    #[test]
    fn probe_point_names() {
        assert!(is_wildcard("vfs_*") && !is_wildcard("vfs_read"));
        assert!(matches("vfs_*", "vfs_read"));
        assert!(matches("vfs_*", "vfs_"));
        assert!(!matches("vfs_*", "do_vfs_read"));
        assert!(matches("*_read", "vfs_read"));
        assert!(matches("sys_?ill", "sys_kill"));
        assert!(matches("sched_*_[sw]*", "sched_process_switch"));
        assert!(!matches("sched_*_[!sw]*", "sched_process_switch"));
        assert!(matches("a*b*c", "aXXbYYc"));
        assert!(!matches("a*b*c", "aXXbYY"));
        assert!(matches("[a-c]x", "bx"));
        assert!(matches("sys_*", "sys_open"));
        assert!(!matches("sys_*", "do_sys_open"));
    }
}
