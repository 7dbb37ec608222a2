//! Patterns compiled and run as the runtime runs them.

use super::*;
use crate::ir::RegexAutomaton;

/// Runs an automaton as `runtime-c/lib/regex.c` does.
fn search(pattern: &str, subject: &str) -> bool {
    let dfa = compile(pattern.as_bytes()).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
    let a = &dfa.search;
    let mut state = 1usize;
    for &b in subject.as_bytes() {
        if a.flags[state] & RegexAutomaton::ACCEPT != 0 {
            return true;
        }
        if state == 0 {
            return false;
        }
        state = a.next[state * a.nclasses as usize + a.classes[b as usize] as usize] as usize;
    }
    a.flags[state] & RegexAutomaton::ACCEPT_AT_END != 0
}

/// Leftmost-longest extent with the anchored automaton.
fn find(pattern: &str, subject: &str) -> Option<(usize, usize)> {
    let dfa = compile(pattern.as_bytes()).expect("valid pattern");
    let a = &dfa.anchored;
    let bytes = subject.as_bytes();
    for start in 0..=bytes.len() {
        let mut state = if start == 0 { 1 } else { a.restart as usize };
        let mut end = None;
        let mut i = start;
        loop {
            if state == 0 {
                break;
            }
            let f = a.flags[state];
            if f & RegexAutomaton::ACCEPT != 0
                || (i == bytes.len() && f & RegexAutomaton::ACCEPT_AT_END != 0)
            {
                end = Some(i);
            }
            if i == bytes.len() {
                break;
            }
            state = a.next[state * a.nclasses as usize + a.classes[bytes[i] as usize] as usize]
                as usize;
            i += 1;
        }
        if let Some(end) = end {
            return Some((start, end));
        }
    }
    None
}

fn error(pattern: &str) -> RegexError {
    compile(pattern.as_bytes()).expect_err(pattern)
}

#[test]
fn literals_search_anywhere() {
    assert!(search("abc", "xxabcxx"));
    assert!(!search("abc", "abxc"));
    assert!(search("", ""));
    assert!(search("", "anything"));
    assert!(search("a", "a"));
    assert!(!search("a", ""));
}

#[test]
fn anchors() {
    assert!(search("^ab", "abc"));
    assert!(!search("^ab", "cab"));
    assert!(search("bc$", "abc"));
    assert!(!search("bc$", "abcd"));
    assert!(search("^$", ""));
    assert!(!search("^$", "x"));
    assert!(search("^abc$", "abc"));
    assert!(!search("^abc$", "abcabc"));
    assert!(search("x|^a", "ba x"));
    assert!(!search("c|^a", "ba"));
    assert!(search("(^|/)etc", "/etc"));
    assert!(search("(^|/)etc", "etc"));
    assert!(!search("(^|/)etc", "xetc"));
    assert!(search("a$|b", "xa"));
}

#[test]
fn repetition() {
    assert!(search("^a*$", ""));
    assert!(search("^a*$", "aaaa"));
    assert!(!search("^a+$", ""));
    assert!(search("^ab?c$", "ac"));
    assert!(search("^ab?c$", "abc"));
    assert!(!search("^ab?c$", "abbc"));
    assert!(search("^a{2,3}$", "aa"));
    assert!(search("^a{2,3}$", "aaa"));
    assert!(!search("^a{2,3}$", "aaaa"));
    assert!(!search("^a{2,3}$", "a"));
    assert!(search("^a{2}$", "aa"));
    assert!(search("^a{2,}$", "aaaaaa"));
    assert!(!search("^a{2,}$", "a"));
    assert!(search("^a{,2}$", ""));
    assert!(search("^(ab){2}$", "abab"));
    assert!(search("^()*$", ""));
    assert!(search("^(a*)*$", "aaa"));
}

#[test]
fn brackets_and_classes() {
    assert!(search("^[[:alpha:]]+$", "Hello"));
    assert!(!search("^[[:alpha:]]+$", "Hello1"));
    assert!(search("^[[:digit:][:space:]]+$", "1 2\t3"));
    assert!(search("^[^a-z]+$", "ABC"));
    assert!(!search("^[^a-z]+$", "AbC"));
    assert!(search("^[]a]+$", "]a]"));
    assert!(search("^[^]a]$", "b"));
    assert!(!search("^[^]a]$", "]"));
    assert!(search("^[a-]+$", "a-a"));
    assert!(search("^[\\]+$", "\\\\"));
    assert!(search("^[[.-.]x]+$", "-x"));
    assert!(search("^[[=e=]]$", "e"));
    assert!(search("^[[:xdigit:]]+$", "deadBEEF09"));
    assert!(search("^.$", "\u{7f}"));
}

#[test]
fn alternation_and_escapes() {
    assert!(search("^(cat|dog)s?$", "dogs"));
    assert!(!search("^(cat|dog)s?$", "cow"));
    assert!(search("a|", "zzz"));
    assert!(search("^a\\.b$", "a.b"));
    assert!(!search("^a\\.b$", "axb"));
    assert!(search("\\*", "2*3"));
}

#[test]
fn leftmost_longest_extent() {
    assert_eq!(find("b+", "abbbc"), Some((1, 4)));
    assert_eq!(find("a|ab", "xab"), Some((1, 3)));
    assert_eq!(find("x*", "abc"), Some((0, 0)));
    assert_eq!(find("c$", "cbc"), Some((2, 3)));
    assert_eq!(find("^$", ""), Some((0, 0)));
    assert_eq!(find("z", "abc"), None);
    // `^` holds at the subject's start only, not where a later run starts.
    assert_eq!(find("^ab|a", "xab"), Some((1, 2)));
    assert_eq!(find("^ab|a", "abx"), Some((0, 2)));
    assert_eq!(find("^a", "ba"), None);
}

#[test]
fn capture_programs_save_group_bounds() {
    let p = compile(b"a(b)").unwrap().program.expect("small program");
    let saves: Vec<u16> = (0..p.ops.len())
        .filter(|&i| p.ops[i] == RegexProgram::SAVE)
        .map(|i| p.a[i])
        .collect();
    assert_eq!(saves.len(), 2);
    assert!(saves.contains(&2) && saves.contains(&3), "{saves:?}");
    assert_eq!(
        p.ops.iter().filter(|&&o| o == RegexProgram::MATCH).count(),
        1
    );
    // Too many states or groups for the runtime's scratch: no program.
    assert!(compile(b"a{200}").unwrap().program.is_none());
    assert!(compile(b"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)")
        .unwrap()
        .program
        .is_none());
    assert!(compile(b"(a)(b)(c)(d)(e)(f)(g)(h)(i)")
        .unwrap()
        .program
        .is_some());
}

#[test]
fn groups_are_counted() {
    assert_eq!(compile(b"a(b)(c(d))|(e)").unwrap().groups, 4);
    assert_eq!(compile(b"abc").unwrap().groups, 0);
}

#[test]
fn bad_patterns_are_errors_with_offsets() {
    assert_eq!(error("ab(c").offset, Some(2));
    assert_eq!(error("ab(c").message, "unmatched '('");
    assert_eq!(error("abc)").message, "unmatched ')'");
    assert_eq!(error("a[bc").message, "unterminated bracket expression '['");
    assert_eq!(error("*a").message, "'*' has nothing to repeat");
    assert_eq!(error("a|+").offset, Some(2));
    assert_eq!(error("a{3,2}").offset, Some(1));
    assert_eq!(
        error("a{256}").message,
        "repetition bound 256 is larger than 255"
    );
    assert_eq!(error("a{x}").offset, Some(1));
    assert!(error("[z-a]").message.starts_with("invalid range 'z-a'"));
    assert_eq!(
        error("[[:alfa:]]").message,
        "unknown character class '[:alfa:]'"
    );
    assert!(error("\\d").message.starts_with("unsupported escape '\\d'"));
    assert_eq!(error("ab\\").message, "trailing '\\'");
}

#[test]
fn oversized_automata_are_errors() {
    // (a|b)*a(a|b){12}: the DFA must remember the last 13 bytes.
    let e = error("(a|b)*a(a|b){12}");
    assert!(e.message.contains("is too complex"), "{e:?}");
    let e = error("((a{255}){255}){255}");
    assert!(e.message.contains("too large"), "{e:?}");
    let deep = "(".repeat(100) + &")".repeat(100);
    assert_eq!(error(&deep).message, "groups nested too deeply");
}

#[test]
fn output_is_deterministic_and_compact() {
    let a = compile(b"^(foo|bar)[0-9]+$").unwrap();
    let b = compile(b"^(foo|bar)[0-9]+$").unwrap();
    assert_eq!(a, b);
    assert!(a.search.nclasses < 16);
    assert_eq!(
        a.search.next.len(),
        a.search.flags.len() * a.search.nclasses as usize
    );
}
