//! Real SystemTap's front end as the expected output of stapkit's:
//! `stap -p1` text and `-p2` acceptance of SystemTap's published examples
//! (Debian's `systemtap-doc`, `/usr/share/systemtap/examples`, one case
//! per `.meta`) and of stapkit's own parse fixtures
//! (`compiler/tests/data/parse/{ok,err}`).
//!
//! `cargo xtask oracle --frontend` runs real SystemTap once per case (in
//! the oracle root against the Debian 6.1 kernel; `-p2` with the kernel
//! installed as on a user's machine, its -dbg files included) and writes
//! `tests/systemtap-frontend/cases.tsv`: per case its options and
//! arguments (from the `.meta`'s `test_check` line), `-p1`'s exit status
//! and the length and hash of its standard output, and `-p2`'s exit
//! status. A published example's `-p1` text reproduces the example, which
//! is not ours to commit, so only its hash is kept; a fixture's text is
//! ours and is kept whole (`fixtures/{ok,err}/NAME.p1`), for diffs.
//! `tests/tests/systemtap_frontend.rs` compares stapkit's outcome with
//! these records; it never runs SystemTap.

use std::fmt::Write as _;

/// Where the published examples are installed.
pub const EXAMPLES_DIR: &str = "/usr/share/systemtap/examples";

/// One front-end case and SystemTap's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontendCase {
    /// `ex/DIR/NAME.stp` (an example) or `fx/ok/NAME.stp` (a fixture).
    pub id: String,
    /// stap options before the script (`-g`).
    pub options: Vec<String>,
    /// Script arguments.
    pub args: Vec<String>,
    /// SystemTap's `-p1` exit status.
    pub p1_exit: i32,
    /// Length of `-p1`'s standard output.
    pub p1_len: usize,
    /// [`text_hash`] of `-p1`'s standard output.
    pub p1_hash: String,
    /// SystemTap's `-p2` exit status (`None`: not recorded).
    pub p2_exit: Option<i32>,
}

impl FrontendCase {
    /// The directory (relative to the examples or fixtures root) and file
    /// name: the script is named by its file name, from its directory.
    pub fn dir_and_file(&self) -> (&str, &str) {
        let rest = self.id.split_once('/').map_or("", |(_, r)| r);
        rest.rsplit_once('/').unwrap_or(("", rest))
    }

    /// Whether this is a published example (else one of our fixtures).
    pub fn is_example(&self) -> bool {
        self.id.starts_with("ex/")
    }
}

/// FNV-1a 64 of `bytes`, hexadecimal: a content check for text that is
/// not kept.
pub fn text_hash(bytes: &[u8]) -> String {
    format!("{:016x}", crate::text::hash::fnv1a_64(bytes))
}

/// Header of `cases.tsv`.
const HEADER: &str =
    "# id\tp1 exit\tp1 stdout length\tp1 stdout hash\tp2 exit\toptions...\t--\targs...\n";

/// Writes `cases.tsv`.
pub fn format_cases(cases: &[FrontendCase]) -> String {
    let mut out = String::from(
        "# SystemTap's stap -p1 / -p2 on the published examples and stapkit's parse fixtures.\n\
         # Written by `cargo xtask oracle --frontend`; see compiler/src/matrix/frontend.rs.\n",
    );
    out.push_str(HEADER);
    for c in cases {
        let _ = write!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            c.id,
            c.p1_exit,
            c.p1_len,
            c.p1_hash,
            c.p2_exit.map_or("-".to_string(), |e| e.to_string())
        );
        for o in &c.options {
            let _ = write!(out, "\t{o}");
        }
        out.push_str("\t--");
        for a in &c.args {
            let _ = write!(out, "\t{a}");
        }
        out.push('\n');
    }
    out
}

/// Reads `cases.tsv`.
pub fn parse_cases(text: &str) -> Result<Vec<FrontendCase>, String> {
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 6 {
            return Err(bad("too few fields"));
        }
        let dashes = fields[5..]
            .iter()
            .position(|f| *f == "--")
            .ok_or_else(|| bad("no '--' field"))?
            + 5;
        cases.push(FrontendCase {
            id: fields[0].to_string(),
            p1_exit: fields[1].parse().map_err(|_| bad("p1 exit"))?,
            p1_len: fields[2].parse().map_err(|_| bad("p1 length"))?,
            p1_hash: fields[3].to_string(),
            p2_exit: match fields[4] {
                "-" => None,
                e => Some(e.parse().map_err(|_| bad("p2 exit"))?),
            },
            options: fields[5..dashes].iter().map(|s| s.to_string()).collect(),
            args: fields[dashes + 1..].iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(cases)
}

/// Options and arguments for an example, from its `.meta`'s
/// `test_check:` line (`stap -p4 [OPTIONS] NAME.stp [ARGS]`): `-g` when
/// given, and the words after the script that are neither options nor
/// their values, up to a shell operator.
pub fn example_invocation(meta: &str, name: &str) -> (Vec<String>, Vec<String>) {
    let Some(line) = meta.lines().find_map(|l| l.strip_prefix("test_check:")) else {
        return (Vec::new(), Vec::new());
    };
    let words = shell_words(line);
    let Some(at) = words.iter().position(|w| w == name) else {
        return (Vec::new(), Vec::new());
    };
    const TAKES_VALUE: &[&str] = &[
        "-c", "-x", "-T", "-I", "-o", "-s", "-r", "-S", "-B", "-D", "-m", "-e", "-a", "-R", "-b",
    ];
    // `-g`, or a cluster of flags with it (`-gp4`, `-vg`): the letters
    // before any value, none of them an option that takes one.
    let guru_flag = |w: &str| {
        let Some(cluster) = w.strip_prefix('-').filter(|c| !c.starts_with('-')) else {
            return false;
        };
        let letters: String = cluster
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let takes_value = |c: char| "DIrBcxTosSmeaRb".contains(c);
        letters.contains('g')
            && letters
                .chars()
                .take_while(|&c| c != 'g')
                .all(|c| !takes_value(c))
    };
    let mut guru = words[..at].iter().any(|w| guru_flag(w));
    let mut args = Vec::new();
    let mut i = at + 1;
    while i < words.len() {
        let w = &words[i];
        if ["&&", ";", "|", "||"].contains(&w.as_str()) || w.starts_with('>') || w.starts_with("2>")
        {
            break;
        }
        if w.starts_with('-') {
            guru |= w == "-g";
            if TAKES_VALUE.contains(&w.as_str()) {
                i += 1;
            }
        } else {
            args.push(w.clone());
        }
        i += 1;
    }
    (
        if guru {
            vec!["-g".to_string()]
        } else {
            Vec::new()
        },
        args,
    )
}

/// Splits a command line as a POSIX shell would (quotes and backslashes;
/// no expansions).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let (mut cur, mut in_word) = (String::new(), false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                if !"\"\\$`".contains(n) {
                                    cur.push('\\');
                                }
                                cur.push(n);
                            }
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invocations_come_from_test_check() {
        let meta = "name: x.stp\ntest_check: stap -gp4 x.stp 'kernel.function(\"*@fs/proc*.c\")' -T 1 -c \"ls -l\" a\n";
        let (opts, args) = example_invocation(meta, "x.stp");
        assert_eq!(opts, ["-g"]);
        assert_eq!(args, ["kernel.function(\"*@fs/proc*.c\")", "a"]);
        assert_eq!(
            example_invocation("test_check: stap -p4 y.stp && x", "y.stp"),
            (vec![], vec![])
        );
        let guru = (vec!["-g".to_string()], vec![]);
        assert_eq!(
            example_invocation("test_check: stap -gp4 y.stp -x $$", "y.stp"),
            guru
        );
        assert_eq!(
            example_invocation("test_check: stap -Dgx y.stp", "y.stp"),
            (vec![], vec![])
        );
    }

    #[test]
    fn cases_round_trip() {
        let cases = vec![FrontendCase {
            id: "ex/general/x.stp".into(),
            options: vec!["-g".into()],
            args: vec!["a b".into(), "c".into()],
            p1_exit: 0,
            p1_len: 12,
            p1_hash: text_hash(b"x"),
            p2_exit: Some(1),
        }];
        assert_eq!(parse_cases(&format_cases(&cases)).unwrap(), cases);
        assert_eq!(cases[0].dir_and_file(), ("general", "x.stp"));
    }
}
