//! The matrix's results: each (kernel, script) cell's outcome and
//! verdict against its expected file, whether it fails the run, and the
//! kernel x script table (build, load, output per kernel) and failure
//! details `stap-matrix` prints.

use std::collections::BTreeMap;

use super::oracle;
use super::render::{render, Outcome};

/// The verdict for one (kernel, script) cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Output matched the expected file.
    Pass,
    /// Printed, not compared (`--print`).
    Printed,
    /// No expected file exists.
    NoExpected,
    /// Output differed from the expected file; the diff.
    Mismatch(String),
    /// The script does not apply to this kernel (`# requires:`): nothing
    /// to compare, and no failure.
    NotApplicable,
}

/// One (kernel, script) result.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Kernel manifest name.
    pub kernel: String,
    /// Script case name.
    pub script: String,
    /// What happened.
    pub outcome: Outcome,
    /// Against the expected file.
    pub verdict: Verdict,
    /// What it was compared with (`None`: not compared).
    pub reference: Option<oracle::Reference>,
}

impl Cell {
    /// Whether this cell fails the run.
    pub fn failed(&self) -> bool {
        match (&self.verdict, &self.outcome) {
            (_, Outcome::NotApplicable(_)) => false,
            (_, Outcome::NotRun(_)) => true,
            (Verdict::Mismatch(_) | Verdict::NoExpected, _) => true,
            (
                Verdict::Printed,
                Outcome::Ran {
                    kernel_problems,
                    still_loaded,
                    ..
                },
            ) => !kernel_problems.is_empty() || *still_loaded,
            _ => false,
        }
    }

    /// The build, load and output columns of the table for this cell.
    pub fn statuses(&self) -> [&'static str; 3] {
        let output = match &self.verdict {
            Verdict::Pass => "ok",
            Verdict::Printed => "printed",
            Verdict::NoExpected => "NEW",
            Verdict::Mismatch(_) => "DIFF",
            Verdict::NotApplicable => "n/a",
        };
        match &self.outcome {
            Outcome::NotApplicable(_) => ["n/a", "-", "n/a"],
            Outcome::BuildFailed(_) => ["FAIL", "-", output],
            Outcome::NotRun(_) => ["ok", "NOTRUN", "-"],
            Outcome::Ran {
                stderr,
                kernel_problems,
                ..
            } => {
                let load = if String::from_utf8_lossy(stderr).contains("Couldn't insert module") {
                    "FAIL"
                } else {
                    "ok"
                };
                let output = if kernel_problems.is_empty() {
                    output
                } else {
                    "KERNEL"
                };
                ["ok", load, output]
            }
        }
    }
}

/// The matrix's results.
#[derive(Debug, Default)]
pub struct Report {
    /// Every cell, by kernel then script.
    pub cells: Vec<Cell>,
    /// Boot notes (crashes, timeouts) per kernel.
    pub boots: BTreeMap<String, String>,
    /// The console log of the boot that ran each (kernel, script) cell
    /// (the last attempt's, when it was run again).
    pub consoles: BTreeMap<(String, String), std::path::PathBuf>,
}

impl Report {
    /// Whether any cell failed.
    pub fn failed(&self) -> bool {
        self.cells.iter().any(Cell::failed)
    }

    /// The kernel x script table.
    pub fn table(&self) -> String {
        let kernels: Vec<&str> = dedup(self.cells.iter().map(|c| c.kernel.as_str()));
        let scripts: Vec<&str> = dedup(self.cells.iter().map(|c| c.script.as_str()));
        let name_width = scripts.iter().map(|s| s.len()).max().unwrap_or(6).max(6);
        let col = |k: &str| k.len().max(22);
        let mut out = format!("{:name_width$}", "script");
        for k in &kernels {
            out.push_str(&format!("  {:w$}", k, w = col(k)));
        }
        out.push('\n');
        out.push_str(&" ".repeat(name_width));
        for k in &kernels {
            out.push_str(&format!("  {:w$}", "build  load    output", w = col(k)));
        }
        out.push('\n');
        for s in &scripts {
            out.push_str(&format!("{s:name_width$}"));
            for k in &kernels {
                let cell = self.cells.iter().find(|c| c.kernel == *k && c.script == *s);
                let text = match cell {
                    Some(c) => {
                        let [b, l, o] = c.statuses();
                        format!("{b:6} {l:7} {o}")
                    }
                    None => "(not in this shard)".to_string(),
                };
                out.push_str(&format!("  {:w$}", text, w = col(k)));
            }
            out.push('\n');
        }
        out
    }

    /// How the compared cells stood against real SystemTap.
    pub fn tally(&self) -> oracle::Tally {
        oracle::tally(&self.cells)
    }

    /// Details of every failure: diffs, build errors, crash notes.
    pub fn details(&self) -> String {
        let mut out = String::new();
        for (kernel, note) in &self.boots {
            out.push_str(&format!("== {kernel}: {note}\n"));
        }
        for c in &self.cells {
            if let Outcome::NotApplicable(why) = &c.outcome {
                out.push_str(&format!(
                    "== {} on {}: not applicable: {why}\n",
                    c.script, c.kernel
                ));
            }
        }
        for c in self.cells.iter().filter(|c| c.failed()) {
            out.push_str(&format!("== {} on {}\n", c.script, c.kernel));
            match &c.verdict {
                Verdict::Mismatch(diff) => {
                    out.push_str("expected (-) vs actual (+):\n");
                    out.push_str(diff);
                }
                Verdict::NoExpected => {
                    out.push_str("no expected file; actual outcome (run with --print, review, save as NAME.expected):\n");
                    out.push_str(&render(&c.outcome));
                }
                _ => out.push_str(&render(&c.outcome)),
            }
        }
        out
    }
}

fn dedup<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for x in it {
        if !v.contains(&x) {
            v.push(x);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_build_load_output_per_kernel() {
        let ran = |stdout: &[u8]| Outcome::Ran {
            exit_code: Some(0),
            stdout: stdout.to_vec(),
            stderr: vec![],
            still_loaded: false,
            kernel_problems: vec![],
        };
        let report = Report {
            cells: vec![
                Cell {
                    kernel: "k1".into(),
                    script: "hello".into(),
                    outcome: ran(b"hello\n"),
                    verdict: Verdict::Pass,
                    reference: None,
                },
                Cell {
                    kernel: "k1".into(),
                    script: "broken".into(),
                    outcome: Outcome::BuildFailed("semantic error".into()),
                    verdict: Verdict::Mismatch("- x\n".into()),
                    reference: None,
                },
            ],
            ..Report::default()
        };
        assert!(report.failed());
        let table = report.table();
        assert!(table.contains("hello   ok     ok      ok"), "{table}");
        assert!(table.contains("broken  FAIL   -       DIFF"), "{table}");
    }

    #[test]
    fn not_applicable_cells_show_why_and_do_not_fail() {
        let why = "needs the kernel's debug info";
        let report = Report {
            cells: vec![Cell {
                kernel: "k2".into(),
                script: "inline".into(),
                outcome: Outcome::NotApplicable(why.into()),
                verdict: Verdict::NotApplicable,
                reference: None,
            }],
            ..Report::default()
        };
        assert!(!report.failed());
        let table = report.table();
        assert!(table.contains("inline  n/a    -       n/a"), "{table}");
        assert_eq!(
            report.details(),
            format!("== inline on k2: not applicable: {why}\n")
        );
        assert_eq!(
            render(&report.cells[0].outcome),
            format!("not applicable: {why}\n")
        );
    }
}
