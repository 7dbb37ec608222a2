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
//! kernel SystemTap did not run the script on, the default kernel's
//! block ([`DEFAULT_KERNEL`]), else the first block (the
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
//! Such a line may name the kernels it applies to, when SystemTap ran
//! the script on one kernel and failed (or differs justifiably) on
//! another: `# systemtap-difference on debian-6.1-amd64: FINDINGS.md#...`.
//! On the kernels it names the script keeps its snapshot; the block it
//! excuses (which must exist) is then no reference for any other kernel,
//! which is held to its own block, or to the default kernel's or the
//! first block that no line excuses. A kernel left with no usable block
//! shares the first scoped line's verdict.
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
    for b in &mut blocks {
        // The blank line before the next '## KERNEL' separates blocks: it
        // is not part of the outcome (kept, a block rewritten beside it
        // would gain one more blank line at each recording).
        while b.outcome.ends_with("\n\n") {
            b.outcome.pop();
        }
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

/// Which of a script's header lines say it is not held to SystemTap.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ExcuseKind {
    /// `# systemtap-difference`: a justified difference.
    Difference,
    /// `# systemtap-none`: SystemTap cannot run it.
    None,
}

/// One `# systemtap-difference` / `# systemtap-none` line.
#[derive(Debug, Clone, PartialEq)]
struct Excuse {
    kind: ExcuseKind,
    /// The kernels it applies to; `None`: every kernel.
    kernels: Option<Vec<String>>,
    /// `FINDINGS.md#anchor REASON`.
    why: String,
}

impl Excuse {
    fn applies_to(&self, kernel: &str) -> bool {
        self.kernels
            .as_ref()
            .is_none_or(|ks| ks.iter().any(|k| k == kernel))
    }

    fn reference(&self) -> Reference {
        match self.kind {
            ExcuseKind::Difference => Reference::Difference(self.why.clone()),
            ExcuseKind::None => Reference::NoSystemTap(self.why.clone()),
        }
    }
}

/// Reads one header line as an excuse: `# systemtap-difference: WHY`,
/// `# systemtap-difference on K1, K2: WHY` (and `systemtap-none`).
/// `Ok(None)` for any other line.
fn parse_excuse(line: &str) -> Result<Option<Excuse>, String> {
    let (kind, rest) = if let Some(rest) = line.strip_prefix("# systemtap-difference") {
        (ExcuseKind::Difference, rest)
    } else if let Some(rest) = line.strip_prefix("# systemtap-none") {
        (ExcuseKind::None, rest)
    } else {
        return Ok(None);
    };
    let name = match kind {
        ExcuseKind::Difference => "systemtap-difference",
        ExcuseKind::None => "systemtap-none",
    };
    if let Some(why) = rest.strip_prefix(':') {
        return Ok(Some(Excuse {
            kind,
            kernels: None,
            why: why.trim().to_string(),
        }));
    }
    let usage = || {
        format!(
            "'# {name}' is followed by ':' or by ' on KERNEL[, KERNEL...]:' (for example \
             '# {name} on debian-6.1-amd64: FINDINGS.md#anchor REASON')"
        )
    };
    let Some((list, why)) = rest.strip_prefix(" on ").and_then(|r| r.split_once(':')) else {
        return Err(usage());
    };
    let kernels: Vec<String> = list
        .split([',', ' '])
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect();
    if kernels.is_empty() || kernels.iter().any(|k| !k.starts_with("debian-")) {
        return Err(usage());
    }
    Ok(Some(Excuse {
        kind,
        kernels: Some(kernels),
        why: why.trim().to_string(),
    }))
}

/// The kernel of the oracle's default pair (`cargo xtask oracle`:
/// trixie x debian-6.1-amd64), whose block stands for a kernel that has
/// none of its own.
pub const DEFAULT_KERNEL: &str = "debian-6.1-amd64";

/// What `script`'s outcome on `kernel` is compared with.
pub fn reference(script: &Path, kernel: &str) -> Result<Reference, String> {
    let text = std::fs::read_to_string(script).map_err(|e| format!("{}: {e}", script.display()))?;
    let mut excuses = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let excuse =
            parse_excuse(line).map_err(|e| format!("{}:{}: {e}", script.display(), n + 1))?;
        if let Some(excuse) = excuse {
            check_reason(script, &excuse.why)?;
            excuses.push(excuse);
        }
    }
    let path = oracle_path(script);
    let recorded = std::fs::read_to_string(&path).ok();
    let needs_record = || {
        format!(
            "{}: a recorded difference needs SystemTap's record beside it \
             (cargo xtask oracle --record {})",
            script.display(),
            script.display()
        )
    };
    let blocks = match &recorded {
        Some(text) => parse_oracle(text).map_err(|e| format!("{}: {e}", path.display()))?,
        None => Vec::new(),
    };
    // A kernel-scoped excuse names the kernels whose records it excuses:
    // each must have one.
    for excuse in &excuses {
        for k in excuse.kernels.iter().flatten() {
            if !blocks.iter().any(|b| &b.kernel == k) {
                return Err(format!(
                    "{}: its '# systemtap-{}' line names {k}, which has no block in {} \
                     (cargo xtask oracle --record --kernel {k} {})",
                    script.display(),
                    match excuse.kind {
                        ExcuseKind::Difference => "difference",
                        ExcuseKind::None => "none",
                    },
                    path.display(),
                    script.display()
                ));
            }
        }
    }
    if let Some(excuse) = excuses.iter().find(|e| e.applies_to(kernel)) {
        if excuse.kind == ExcuseKind::Difference && recorded.is_none() {
            return Err(needs_record());
        }
        return Ok(excuse.reference());
    }
    if recorded.is_none() {
        return Ok(Reference::NotRecorded);
    }
    let excused = |k: &str| excuses.iter().any(|e| e.applies_to(k));
    // Another kernel's block: the oracle's default kernel's first (every
    // script is recorded there; a 5.10 block, which sorts before it, is
    // no better a stand-in for 6.1-arm64 or 7.2), else the first.
    let block = blocks
        .iter()
        .find(|b| b.kernel == kernel)
        .or_else(|| {
            blocks
                .iter()
                .find(|b| b.kernel == DEFAULT_KERNEL && !excused(&b.kernel))
        })
        .or_else(|| blocks.iter().find(|b| !excused(&b.kernel)));
    let Some(block) = block else {
        // Every record is excused on its own kernel: none holds here.
        return match excuses.first() {
            Some(excuse) => Ok(excuse.reference()),
            None => Err(format!("{}: no block", path.display())),
        };
    };
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

    /// A repository in a temporary directory: FINDINGS.md with one
    /// heading, and `x.stp` with `header` and the oracle blocks
    /// (`(kernel, stdout line)`).
    fn scripted(header: &str, blocks: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docs/oracle")).unwrap();
        std::fs::write(
            dir.path().join("docs/oracle/FINDINGS.md"),
            "# Findings\n\n### Tapsets that fail\n",
        )
        .unwrap();
        let script = dir.path().join("x.stp");
        std::fs::write(&script, format!("{header}probe begin {{ exit() }}\n")).unwrap();
        if !blocks.is_empty() {
            let blocks: Vec<OracleBlock> = blocks
                .iter()
                .map(|(kernel, line)| OracleBlock {
                    kernel: kernel.to_string(),
                    provenance: vec![
                        ("systemtap".into(), "5.6".into()),
                        ("kernel".into(), "r".into()),
                        ("recorded".into(), "2026-12-07".into()),
                    ],
                    outcome: format!("exit: 0\nstdout:\n|{line}\nstderr:\n"),
                })
                .collect();
            std::fs::write(oracle_path(&script), format_oracle(&blocks)).unwrap();
        }
        (dir, script)
    }

    fn held_to(r: Reference) -> (String, bool) {
        match r {
            Reference::SystemTap {
                kernel,
                same_kernel,
                ..
            } => (kernel, same_kernel),
            other => panic!("not held to SystemTap: {other:?}"),
        }
    }

    const WHY: &str = "FINDINGS.md#tapsets-that-fail SystemTap 5.1 fails pass 2 there";

    #[test]
    fn kernels_are_held_to_their_own_block_or_the_first() {
        let (_d, script) = scripted("", &[("debian-6.1-amd64", "a"), ("debian-6.12-amd64", "b")]);
        assert_eq!(
            held_to(reference(&script, "debian-6.12-amd64").unwrap()),
            ("debian-6.12-amd64".into(), true)
        );
        assert_eq!(
            held_to(reference(&script, "debian-7.2-amd64").unwrap()),
            ("debian-6.1-amd64".into(), false)
        );
        let (_d, script) = scripted("", &[]);
        assert_eq!(
            reference(&script, "debian-6.1-amd64").unwrap(),
            Reference::NotRecorded
        );
    }

    #[test]
    fn other_kernels_are_held_to_the_default_kernel_before_an_older_one() {
        let (_d, script) = scripted(
            "",
            &[
                ("debian-5.10-amd64", "old"),
                ("debian-6.1-amd64", "a"),
                ("debian-6.12-amd64", "b"),
            ],
        );
        assert_eq!(
            held_to(reference(&script, "debian-5.10-amd64").unwrap()),
            ("debian-5.10-amd64".into(), true)
        );
        for kernel in ["debian-6.1-arm64", "debian-7.2-amd64"] {
            assert_eq!(
                held_to(reference(&script, kernel).unwrap()),
                ("debian-6.1-amd64".into(), false)
            );
        }
        // Without the default kernel's block, the first one.
        let (_d, script) = scripted(
            "",
            &[("debian-5.10-amd64", "old"), ("debian-6.12-amd64", "b")],
        );
        assert_eq!(
            held_to(reference(&script, "debian-7.2-amd64").unwrap()),
            ("debian-5.10-amd64".into(), false)
        );
    }

    #[test]
    fn an_unscoped_difference_applies_on_every_kernel() {
        let header = format!("# systemtap-difference: {WHY}\n");
        let (_d, script) = scripted(&header, &[("debian-6.1-amd64", "a")]);
        for kernel in ["debian-6.1-amd64", "debian-6.12-amd64"] {
            assert_eq!(
                reference(&script, kernel).unwrap(),
                Reference::Difference(WHY.into())
            );
        }
        // A difference needs the record it differs from.
        let (_d, script) = scripted(&header, &[]);
        let err = reference(&script, "debian-6.1-amd64").unwrap_err();
        assert!(err.contains("needs SystemTap's record"), "{err}");
    }

    #[test]
    fn a_difference_on_one_kernel_leaves_the_others_held_to_systemtap() {
        let header = format!("# systemtap-difference on debian-6.1-amd64: {WHY}\n");
        let (_d, script) = scripted(
            &header,
            &[("debian-6.1-amd64", "failed"), ("debian-6.12-amd64", "ran")],
        );
        assert_eq!(
            reference(&script, "debian-6.1-amd64").unwrap(),
            Reference::Difference(WHY.into())
        );
        assert_eq!(
            held_to(reference(&script, "debian-6.12-amd64").unwrap()),
            ("debian-6.12-amd64".into(), true)
        );
        // Other kernels skip the excused 6.1 block (though it sorts first).
        for kernel in ["debian-6.1-arm64", "debian-7.2-amd64"] {
            assert_eq!(
                held_to(reference(&script, kernel).unwrap()),
                ("debian-6.12-amd64".into(), false)
            );
        }
    }

    #[test]
    fn scoped_lines_name_recorded_kernels_in_lists() {
        let header =
            format!("# systemtap-difference on debian-6.1-amd64, debian-6.12-amd64: {WHY}\n");
        let (_d, script) = scripted(
            &header,
            &[("debian-6.1-amd64", "a"), ("debian-6.12-amd64", "b")],
        );
        assert_eq!(
            reference(&script, "debian-6.12-amd64").unwrap(),
            Reference::Difference(WHY.into())
        );
        // No usable block is left for another kernel: the excuse holds.
        assert_eq!(
            reference(&script, "debian-7.2-amd64").unwrap(),
            Reference::Difference(WHY.into())
        );
        // A scoped line must name a kernel with a block.
        let (_d, script) = scripted(&header, &[("debian-6.1-amd64", "a")]);
        let err = reference(&script, "debian-6.1-amd64").unwrap_err();
        assert!(
            err.contains("names debian-6.12-amd64, which has no block"),
            "{err}"
        );
        // A scoped none for one kernel, the other held.
        let header = format!("# systemtap-none on debian-6.12-amd64: {WHY}\n");
        let (_d, script) = scripted(
            &header,
            &[("debian-6.1-amd64", "a"), ("debian-6.12-amd64", "b")],
        );
        assert_eq!(
            reference(&script, "debian-6.12-amd64").unwrap(),
            Reference::NoSystemTap(WHY.into())
        );
        assert_eq!(
            held_to(reference(&script, "debian-6.1-amd64").unwrap()),
            ("debian-6.1-amd64".into(), true)
        );
    }

    #[test]
    fn malformed_excuses_are_refused_with_their_line() {
        for header in [
            format!("# systemtap-difference on: {WHY}\n"),
            format!("# systemtap-difference for debian-6.1-amd64: {WHY}\n"),
            format!("# systemtap-difference on 6.1: {WHY}\n"),
        ] {
            let (_d, script) = scripted(&header, &[("debian-6.1-amd64", "a")]);
            let err = reference(&script, "debian-6.1-amd64").unwrap_err();
            assert!(
                err.contains("x.stp:1: '# systemtap-difference' is followed by"),
                "{err}"
            );
        }
        // The reason is checked as before.
        let (_d, script) = scripted(
            "# systemtap-difference on debian-6.1-amd64: FINDINGS.md#nowhere at all, really\n",
            &[("debian-6.1-amd64", "a")],
        );
        let err = reference(&script, "debian-6.1-amd64").unwrap_err();
        assert!(
            err.contains("no heading whose anchor is 'nowhere'"),
            "{err}"
        );
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
        // Two blocks: the first keeps no blank line, so that writing the
        // file again gives the same text.
        let mut two = blocks.clone();
        two.push(OracleBlock {
            kernel: "debian-6.12-amd64".into(),
            ..blocks[0].clone()
        });
        let text = format_oracle(&two);
        assert_eq!(parse_oracle(&text).unwrap(), two);
        assert_eq!(format_oracle(&parse_oracle(&text).unwrap()), text);
        assert!(parse_oracle("## k\nexit: 0\n")
            .unwrap_err()
            .contains("systemtap"));
    }
}
