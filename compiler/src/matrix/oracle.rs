//! Real SystemTap's outcomes as the QEMU tests' expected output.
//!
//! `cargo xtask oracle --record tests/scripts/NAME.stp` builds a test
//! script with Debian's SystemTap and runs it with SystemTap's own
//! staprun in a guest of the same kernel, in the setting stap-matrix
//! gives stapkit (same options, `-c` command, guest modules, workload).
//! The outcome, in [`render`](super::render)'s form and normalised by
//! [`normalise`], is saved as `tests/scripts/NAME.oracle`: one block per
//! kernel SystemTap ran it on, each with its provenance
//! (SystemTap version, kernel release, date):
//!
//! ```text
//! ## debian-6.1-amd64
//! # systemtap: Systemtap translator/driver (version 5.1/0.192, Debian version 5.1-5) (Debian trixie)
//! # kernel: 6.1.0-57-amd64 (6.1.192-3)
//! # recorded: 2026-11-20
//! exit: 0
//! stdout:
//! |hello
//! stderr:
//! ```
//!
//! stapkit's outcome on a kernel must equal that kernel's block, or, on a
//! kernel SystemTap did not run the script on, the first block (the
//! [`Reference::kernel`] says which), after the same normalisation.
//!
//! A script says in its header when it is not held to SystemTap's output,
//! with a reason a reviewer can check in `docs/oracle/FINDINGS.md`; it is
//! then compared with its own snapshot (`NAME.snap`) and counted apart:
//!
//! ```text
//! # systemtap-difference: FINDINGS.md#anchor why stapkit deliberately differs
//! # systemtap-none: FINDINGS.md#anchor why SystemTap cannot run it at all
//! ```
//!
//! **Architecture Invariant:** comparing is text only; nothing here runs
//! SystemTap (recording is `cargo xtask oracle`'s job, never CI's).

use std::path::{Path, PathBuf};

use super::render::{diff, render, Outcome};
use super::{Cell, Verdict};

/// One normalisation: what it rewrites and why that is not a difference
/// stapkit should fix.
pub struct Normalisation {
    /// Short name.
    pub name: &'static str,
    /// Why the rewritten part is not compared.
    pub why: &'static str,
    rewrite: fn(&str) -> Option<String>,
}

/// Every normalisation, applied line by line, in this order, to both
/// SystemTap's and stapkit's rendered outcomes. Keep this list short:
/// each entry hides bytes from the comparison.
pub const NORMALISATIONS: &[Normalisation] = &[
    Normalisation {
        name: "placeholder System.map",
        why: "Debian's header packages ship a placeholder System.map, so SystemTap warns \
              `WARNING: Kernel function symbol table missing [man warning::symbols]` on every \
              build against them; the kernel has its symbols, and stapkit reads them elsewhere",
        rewrite: |line| {
            (line == "|WARNING: Kernel function symbol table missing [man warning::symbols]")
                .then(String::new)
        },
    },
    Normalisation {
        name: "Debian's tip",
        why: "Debian patches SystemTap to end every translator failure with \
              `Tip: /usr/share/doc/systemtap/README.Debian should help you get started.`; \
              upstream SystemTap has no such line",
        rewrite: |line| {
            (line == "|Tip: /usr/share/doc/systemtap/README.Debian should help you get started.")
                .then(String::new)
        },
    },
    Normalisation {
        name: "pids",
        why: "process ids depend on how many processes the guest started before the case \
              (`pid 123`, `task 123` in the runtime's `WARNING:` lines; elsewhere, as in \
              `cannot probe pid 4000000`, the number is the script's and kept); scripts \
              compare pids instead of printing them",
        rewrite: |line| {
            line.starts_with("|WARNING: ")
                .then(|| replace_number_after(line, &["pid ", "task "], "N"))
                .flatten()
        },
    },
    Normalisation {
        name: "user-space addresses",
        why: "a user-space address in a runtime `WARNING:` line (`address 0x7f...`) moves \
              with ASLR",
        rewrite: |line| {
            line.starts_with("|WARNING: ")
                .then(|| replace_number_after(line, &["address 0x"], "XX"))
                .flatten()
        },
    },
    Normalisation {
        name: "overload figure",
        why: "`ERROR: probe overhead (N cycles) exceeded threshold` measures how long this run's \
              handlers took (SystemTap in cycles, stapkit in ns); the threshold and interval \
              after it are compared",
        rewrite: |line| {
            line.starts_with("|ERROR: probe overhead (")
                .then(|| replace_number_after(line, &["probe overhead ("], "N"))
                .flatten()
        },
    },
    Normalisation {
        name: "-v resource figures",
        why: "`Pass N: ... using Vvirt/Rres/Sshr/Ddata kb, in Uusr/Ssys/Rreal ms.` measures \
              this run's memory and time, and `N library scripts` counts the tapset's files, \
              which are SystemTap's or stapkit's own",
        rewrite: pass_line_figures,
    },
    Normalisation {
        name: "translator temporary directories",
        why: "`/tmp/stapXXXXXX/` is a fresh mkdtemp name per run",
        rewrite: |line| replace_word_after(line, "/tmp/stap", '/', "XXXXXX"),
    },
];

/// Applies [`NORMALISATIONS`] to a rendered outcome (see
/// [`render`](super::render)); a line rewritten to nothing is dropped.
pub fn normalise(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    for line in rendered.split_inclusive('\n') {
        let (text, nl) = match line.strip_suffix('\n') {
            Some(t) => (t, "\n"),
            None => (line, ""),
        };
        let mut current = text.to_string();
        let mut dropped = false;
        for n in NORMALISATIONS {
            if let Some(new) = (n.rewrite)(&current) {
                if new.is_empty() {
                    dropped = true;
                    break;
                }
                current = new;
            }
        }
        if !dropped {
            out.push_str(&current);
            out.push_str(nl);
        }
    }
    out
}

/// `line` with the digits (or hex digits, for `0x`) after each `prefix`
/// replaced by `with`; `None` when nothing changed.
fn replace_number_after(line: &str, prefixes: &[&str], with: &str) -> Option<String> {
    let mut out = line.to_string();
    let mut changed = false;
    for prefix in prefixes {
        let hex = prefix.ends_with("0x");
        let mut from = 0;
        while let Some(at) = out[from..].find(prefix) {
            let start = from + at + prefix.len();
            let len = out[start..]
                .bytes()
                .take_while(|b| {
                    if hex {
                        b.is_ascii_hexdigit()
                    } else {
                        b.is_ascii_digit()
                    }
                })
                .count();
            if len == 0 || out[start..start + len] == *with {
                from = start;
                continue;
            }
            out.replace_range(start..start + len, with);
            changed = true;
            from = start + with.len();
        }
    }
    changed.then_some(out)
}

/// `line` with the word after each `prefix`, up to `end`, replaced by
/// `with`; `None` when nothing changed.
fn replace_word_after(line: &str, prefix: &str, end: char, with: &str) -> Option<String> {
    let mut out = line.to_string();
    let mut changed = false;
    let mut from = 0;
    while let Some(at) = out[from..].find(prefix) {
        let start = from + at + prefix.len();
        let Some(len) = out[start..].find(end) else {
            break;
        };
        let word = &out[start..start + len];
        if word != with
            && !word.is_empty()
            && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            out.replace_range(start..start + len, with);
            changed = true;
        }
        from = start + with.len().min(len);
    }
    changed.then_some(out)
}

/// The figures of a `-v` pass line.
fn pass_line_figures(line: &str) -> Option<String> {
    let body = line.strip_prefix('|').unwrap_or(line);
    if !body.starts_with("Pass ") {
        return None;
    }
    let mut out = line.to_string();
    if let Some(at) = out.find(" using ") {
        if let Some(end) = out[at..].find(" kb, ") {
            out.replace_range(at..at + end + 4, " using MEMORY kb,");
        }
    }
    if let Some(at) = out.rfind(" in ") {
        if out.ends_with("real ms.") {
            out.replace_range(at.., " in TIME ms.");
        }
    }
    if let Some(at) = out.find(" library scripts") {
        let start = out[..at].rfind(' ').map_or(0, |i| i + 1);
        out.replace_range(start..at, "N");
    }
    (out != line).then_some(out)
}

/// One kernel's recorded outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OracleBlock {
    /// The kernel manifest name (`debian-6.1-amd64`).
    pub kernel: String,
    /// `# key: value` lines: systemtap, kernel, recorded.
    pub provenance: Vec<(String, String)>,
    /// The normalised rendered outcome.
    pub outcome: String,
}

/// Header comment of every `.oracle` file.
const FILE_HEADER: &str = "\
# Real SystemTap's outcome of this script, one block per kernel it ran on,
# normalised as compiler/src/matrix/oracle.rs says. Written by
# `cargo xtask oracle --record`; do not edit by hand.
";

/// Reads a `.oracle` file's blocks.
pub fn parse_oracle(text: &str) -> Result<Vec<OracleBlock>, String> {
    let mut blocks: Vec<OracleBlock> = Vec::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if let Some(kernel) = line.strip_prefix("## ") {
            blocks.push(OracleBlock {
                kernel: kernel.trim().to_string(),
                provenance: Vec::new(),
                outcome: String::new(),
            });
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            return Err(format!(
                "line {}: text before the first '## KERNEL' line",
                n + 1
            ));
        };
        if block.outcome.is_empty() {
            if let Some((key, value)) = line.strip_prefix("# ").and_then(|l| l.split_once(": ")) {
                block
                    .provenance
                    .push((key.to_string(), value.trim_end().to_string()));
                continue;
            }
        }
        block.outcome.push_str(line);
    }
    for b in &blocks {
        for key in ["systemtap", "kernel", "recorded"] {
            if !b.provenance.iter().any(|(k, _)| k == key) {
                return Err(format!("block {}: no '# {key}:' line", b.kernel));
            }
        }
    }
    Ok(blocks)
}

/// Writes `.oracle` text for `blocks` (sorted by kernel name).
pub fn format_oracle(blocks: &[OracleBlock]) -> String {
    let mut sorted: Vec<&OracleBlock> = blocks.iter().collect();
    sorted.sort_by(|a, b| a.kernel.cmp(&b.kernel));
    let mut out = FILE_HEADER.to_string();
    for b in sorted {
        out.push_str(&format!("\n## {}\n", b.kernel));
        for (k, v) in &b.provenance {
            out.push_str(&format!("# {k}: {v}\n"));
        }
        out.push_str(&b.outcome);
    }
    out
}

/// What a script's outcome is held to.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// Real SystemTap's recorded outcome.
    SystemTap {
        /// The kernel whose block applies (another kernel's when
        /// SystemTap did not run the script on this one).
        kernel: String,
        /// Whether that block is this kernel's own.
        same_kernel: bool,
        /// The normalised expected outcome.
        expected: String,
    },
    /// A recorded difference: stapkit's snapshot, with the reason.
    Difference(String),
    /// SystemTap cannot run the script: stapkit's snapshot, with the reason.
    NoSystemTap(String),
    /// Nothing recorded yet: stapkit's snapshot.
    NotRecorded,
}

/// The `.oracle` file beside a script.
pub fn oracle_path(script: &Path) -> PathBuf {
    script.with_extension("oracle")
}

/// What `script`'s outcome on `kernel` is compared with.
pub fn reference(script: &Path, kernel: &str) -> Result<Reference, String> {
    let text = std::fs::read_to_string(script).map_err(|e| format!("{}: {e}", script.display()))?;
    for line in text.lines() {
        if let Some(why) = line.strip_prefix("# systemtap-difference:") {
            check_reason(script, why)?;
            if !oracle_path(script).is_file() {
                return Err(format!(
                    "{}: a recorded difference needs SystemTap's record beside it \
                     (cargo xtask oracle --record {})",
                    script.display(),
                    script.display()
                ));
            }
            return Ok(Reference::Difference(why.trim().to_string()));
        }
        if let Some(why) = line.strip_prefix("# systemtap-none:") {
            check_reason(script, why)?;
            return Ok(Reference::NoSystemTap(why.trim().to_string()));
        }
    }
    let path = oracle_path(script);
    let Ok(recorded) = std::fs::read_to_string(&path) else {
        return Ok(Reference::NotRecorded);
    };
    let blocks = parse_oracle(&recorded).map_err(|e| format!("{}: {e}", path.display()))?;
    let block = blocks
        .iter()
        .find(|b| b.kernel == kernel)
        .or_else(|| blocks.first())
        .ok_or_else(|| format!("{}: no block", path.display()))?;
    Ok(Reference::SystemTap {
        kernel: block.kernel.clone(),
        same_kernel: block.kernel == kernel,
        expected: block.outcome.clone(),
    })
}

/// Compares one outcome of `script` on `kernel` with its reference:
/// SystemTap's record after [`normalise`], else the script's snapshot.
pub fn judge(script: &Path, kernel: &str, outcome: &Outcome) -> (Verdict, Reference) {
    let reference = match reference(script, kernel) {
        Ok(r) => r,
        Err(e) => return (Verdict::Mismatch(format!("{e}\n")), Reference::NotRecorded),
    };
    let actual = render(outcome);
    let expected = match &reference {
        // Normalised again: records made before a normalisation was added
        // still compare.
        Reference::SystemTap { expected, .. } => Some(normalise(expected)),
        _ => super::expected_for(script),
    };
    let actual = match &reference {
        Reference::SystemTap { .. } => normalise(&actual),
        _ => actual,
    };
    let verdict = match expected {
        None => Verdict::NoExpected,
        // Trailing newlines carry nothing: a missing final newline in the
        // output is its own marker line.
        Some(e) if e.trim_end_matches('\n') == actual.trim_end_matches('\n') => Verdict::Pass,
        Some(e) => Verdict::Mismatch(diff(&e, &actual)),
    };
    (verdict, reference)
}

/// Counts `cells` by what they were compared with.
pub fn tally(cells: &[Cell]) -> Tally {
    let mut t = Tally::default();
    for c in cells {
        let Some(reference) = &c.reference else {
            continue;
        };
        let passed = c.verdict == Verdict::Pass;
        match reference {
            Reference::SystemTap { .. } if !passed => t.differing += 1,
            Reference::SystemTap {
                same_kernel: true, ..
            } => t.matched_same_kernel += 1,
            Reference::SystemTap { .. } => t.matched_other_kernel += 1,
            Reference::Difference(_) => t.justified += 1,
            Reference::NoSystemTap(_) => t.no_systemtap += 1,
            Reference::NotRecorded => t.not_recorded += 1,
        }
    }
    t
}

/// A reason must name an entry of `docs/oracle/FINDINGS.md` (a heading
/// whose anchor it gives) and say something.
fn check_reason(script: &Path, why: &str) -> Result<(), String> {
    let why = why.trim();
    let usage = || {
        format!(
            "{}: a '# systemtap-difference:' or '# systemtap-none:' line names its \
             docs/oracle/FINDINGS.md entry and says why: 'FINDINGS.md#anchor REASON'",
            script.display()
        )
    };
    let Some((anchor, text)) = why.split_once(' ') else {
        return Err(usage());
    };
    let Some(anchor) = anchor.strip_prefix("FINDINGS.md#") else {
        return Err(usage());
    };
    if text.trim().len() < 10 {
        return Err(usage());
    }
    let findings = script
        .ancestors()
        .map(|d| d.join("docs/oracle/FINDINGS.md"))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{}: no docs/oracle/FINDINGS.md above it", script.display()))?;
    let text =
        std::fs::read_to_string(&findings).map_err(|e| format!("{}: {e}", findings.display()))?;
    if text
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .any(|heading| heading_anchor(heading) == anchor)
    {
        Ok(())
    } else {
        Err(format!(
            "{}: docs/oracle/FINDINGS.md has no heading whose anchor is '{anchor}'",
            script.display()
        ))
    }
}

/// A Markdown heading's anchor as GitHub makes it: lower case, spaces to
/// `-`, punctuation other than `-` and `_` dropped.
fn heading_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// How many cases of a run compared how; printed at the end of the suite.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Equal to SystemTap's outcome recorded on the same kernel.
    pub matched_same_kernel: usize,
    /// Equal to SystemTap's outcome recorded on another kernel.
    pub matched_other_kernel: usize,
    /// Held to stapkit's snapshot with a recorded difference.
    pub justified: usize,
    /// Held to stapkit's snapshot: SystemTap cannot run them.
    pub no_systemtap: usize,
    /// Held to stapkit's snapshot: nothing recorded yet.
    pub not_recorded: usize,
    /// Differing from SystemTap's outcome (failures).
    pub differing: usize,
}

impl Tally {
    /// One line per count.
    pub fn summary(&self) -> String {
        format!(
            "{} cases match real SystemTap byte for byte ({} on the kernel SystemTap ran on, \
             {} against another kernel's record); {} carry a justified difference; {} have no \
             SystemTap reference ({} SystemTap cannot run, {} not recorded yet); {} differ",
            self.matched_same_kernel + self.matched_other_kernel,
            self.matched_same_kernel,
            self.matched_other_kernel,
            self.justified,
            self.no_systemtap + self.not_recorded,
            self.no_systemtap,
            self.not_recorded,
            self.differing,
        )
    }

    /// `name count` lines, for adding up kernels' tallies.
    pub fn to_text(&self) -> String {
        self.fields()
            .iter()
            .map(|(name, n)| format!("{name} {n}\n"))
            .collect()
    }

    /// Reads [`Tally::to_text`]'s form; unknown lines are ignored.
    pub fn from_text(text: &str) -> Tally {
        let mut t = Tally::default();
        for line in text.lines() {
            let Some((name, n)) = line.split_once(' ') else {
                continue;
            };
            let n: usize = n.trim().parse().unwrap_or(0);
            match name {
                "matched_same_kernel" => t.matched_same_kernel = n,
                "matched_other_kernel" => t.matched_other_kernel = n,
                "justified" => t.justified = n,
                "no_systemtap" => t.no_systemtap = n,
                "not_recorded" => t.not_recorded = n,
                "differing" => t.differing = n,
                _ => {}
            }
        }
        t
    }

    fn fields(&self) -> [(&'static str, usize); 6] {
        [
            ("matched_same_kernel", self.matched_same_kernel),
            ("matched_other_kernel", self.matched_other_kernel),
            ("justified", self.justified),
            ("no_systemtap", self.no_systemtap),
            ("not_recorded", self.not_recorded),
            ("differing", self.differing),
        ]
    }

    /// Adds another tally's counts.
    pub fn add(&mut self, other: &Tally) {
        self.matched_same_kernel += other.matched_same_kernel;
        self.matched_other_kernel += other.matched_other_kernel;
        self.justified += other.justified;
        self.no_systemtap += other.no_systemtap;
        self.not_recorded += other.not_recorded;
        self.differing += other.differing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_lines_pids_and_addresses_are_normalised() {
        let text = "build failed:\n\
            |WARNING: Kernel function symbol table missing [man warning::symbols]\n\
            |semantic error: x\n\
            |Tip: /usr/share/doc/systemtap/README.Debian should help you get started.\n\
            stderr:\n\
            |WARNING: Build-id mismatch: \"/bin/x\" pid 111 address 0x7fe95bd592d8, expected\n\
            |WARNING: task_finder mmap callback for task 161 failed: 1\n";
        assert_eq!(
            normalise(text),
            "build failed:\n|semantic error: x\nstderr:\n\
             |WARNING: Build-id mismatch: \"/bin/x\" pid N address 0xXX, expected\n\
             |WARNING: task_finder mmap callback for task N failed: 1\n"
        );
        // Idempotent, and numbers elsewhere are kept.
        assert_eq!(normalise(&normalise(text)), normalise(text));
        assert_eq!(normalise("|pids 12\n"), "|pids 12\n");
        assert_eq!(
            normalise(
                "|ERROR: probe overhead (759131243 cycles) exceeded threshold (500000000 cycles)\n"
            ),
            "|ERROR: probe overhead (N cycles) exceeded threshold (500000000 cycles)\n"
        );
        let script_pid = "|semantic error: cannot probe pid 4000000: No such process\n";
        assert_eq!(normalise(script_pid), script_pid);
    }

    #[test]
    fn pass_lines_keep_their_words() {
        assert_eq!(
            normalise(
                "Pass 1: parsed user script and 484 library scripts using 126956virt/104040res/12572shr/90368data kb, in 110usr/50sys/600real ms.\n\
                 Pass 3: translated to C into \"/tmp/stap6eAb4D/hello_src.c\" using 1virt/2res/3shr/4data kb, in 0usr/0sys/0real ms.\n\
                 Pass 4: compiled C into \"hello.ko\" in 2360usr/350sys/12963real ms.\n"
            ),
            "Pass 1: parsed user script and N library scripts using MEMORY kb, in TIME ms.\n\
             Pass 3: translated to C into \"/tmp/stapXXXXXX/hello_src.c\" using MEMORY kb, in TIME ms.\n\
             Pass 4: compiled C into \"hello.ko\" in TIME ms.\n"
        );
    }

    #[test]
    fn anchors_follow_github() {
        assert_eq!(
            heading_anchor("Process pid on the build host"),
            "process-pid-on-the-build-host"
        );
        assert_eq!(heading_anchor("`stap -l` / `-L` (x)"), "stap--l---l-x");
    }

    #[test]
    fn tallies_round_trip_and_add_up() {
        let mut t = Tally {
            matched_same_kernel: 3,
            justified: 1,
            not_recorded: 2,
            ..Tally::default()
        };
        assert_eq!(Tally::from_text(&t.to_text()), t);
        t.add(&t.clone());
        assert_eq!(t.matched_same_kernel, 6);
        assert!(t
            .summary()
            .starts_with("6 cases match real SystemTap byte for byte"));
    }

    #[test]
    fn oracle_files_round_trip() {
        let blocks = vec![OracleBlock {
            kernel: "debian-6.1-amd64".into(),
            provenance: vec![
                ("systemtap".into(), "5.1".into()),
                ("kernel".into(), "6.1.0-57-amd64 (6.1.192-3)".into()),
                ("recorded".into(), "2026-11-20".into()),
            ],
            outcome: "exit: 0\nstdout:\n|# not a header\nstderr:\n".into(),
        }];
        let text = format_oracle(&blocks);
        assert_eq!(parse_oracle(&text).unwrap(), blocks);
        assert!(parse_oracle("## k\nexit: 0\n")
            .unwrap_err()
            .contains("systemtap"));
    }
}
