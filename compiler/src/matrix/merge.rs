//! `stap-matrix report`: merges the result files of a matrix's shards
//! (see [`super::results`]) into one kernel x script grid, refusing a
//! cell that two files both ran, and gives each cell its one-word status
//! for the Markdown summary ([`super::markdown`]) and the HTML page
//! ([`super::html`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::results::{CellResult, Console, ShardResult};

/// The shards' results as one matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// Every kernel, in the order the results name them.
    pub kernels: Vec<String>,
    /// Every script, in the order the results name them.
    pub scripts: Vec<String>,
    /// What was merged, one line each (`shard 1/2: FILE`).
    pub sources: Vec<String>,
    /// Boot notes per kernel (all shards', one per line).
    pub boots: BTreeMap<String, String>,
    /// The console logs, their names made unique across the files
    /// (`shard1-NAME`); cells name them so.
    pub consoles: Vec<Console>,
    /// Every cell some shard ran.
    pub cells: Vec<CellResult>,
}

/// Why shards could not be merged.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeError {
    /// Nothing to merge.
    NoResults,
    /// Two result files both hold one cell.
    Duplicate {
        /// Kernel of the cell.
        kernel: String,
        /// Script of the cell.
        script: String,
        /// The file that had it first.
        first: PathBuf,
        /// The file that had it again.
        second: PathBuf,
    },
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeError::NoResults => write!(
                f,
                "no result files to merge; give the files stap-matrix --json FILE wrote"
            ),
            MergeError::Duplicate {
                kernel,
                script,
                first,
                second,
            } => write!(
                f,
                "{}: {script} on {kernel} is also in {}: each cell must come from one shard \
                 (were the same shard's results given twice, or shards of different --shard N?)",
                second.display(),
                first.display()
            ),
        }
    }
}

impl std::error::Error for MergeError {}

/// Merges `results` (each with the file it was read from).
pub fn merge(results: &[(PathBuf, ShardResult)]) -> Result<Merged, MergeError> {
    if results.is_empty() {
        return Err(MergeError::NoResults);
    }
    let mut merged = Merged {
        kernels: Vec::new(),
        scripts: Vec::new(),
        sources: Vec::new(),
        boots: BTreeMap::new(),
        consoles: Vec::new(),
        cells: Vec::new(),
    };
    let mut seen: BTreeMap<(String, String), &Path> = BTreeMap::new();
    for (n, (file, result)) in results.iter().enumerate() {
        let (label, prefix) = match result.shard {
            Some(s) => (
                format!("shard {}/{}", s.index, s.count),
                format!("shard{}", s.index),
            ),
            None => ("whole matrix".to_string(), format!("run{}", n + 1)),
        };
        merged.sources.push(format!("{label}: {}", file.display()));
        for k in &result.kernels {
            push_new(&mut merged.kernels, k);
        }
        for s in &result.scripts {
            push_new(&mut merged.scripts, s);
        }
        for (kernel, note) in &result.boots {
            let entry = merged.boots.entry(kernel.clone()).or_default();
            if !entry.is_empty() {
                entry.push('\n');
            }
            entry.push_str(&format!("({label}) {note}"));
        }
        let mut renamed: BTreeMap<&str, String> = BTreeMap::new();
        for console in &result.consoles {
            let mut name = format!("{prefix}-{}", console.name);
            while merged.consoles.iter().any(|c| c.name == name) {
                name.push('+');
            }
            renamed.insert(&console.name, name.clone());
            merged.consoles.push(Console {
                name,
                ..console.clone()
            });
        }
        for cell in &result.cells {
            let key = (cell.kernel.clone(), cell.script.clone());
            if let Some(first) = seen.get(&key) {
                return Err(MergeError::Duplicate {
                    kernel: cell.kernel.clone(),
                    script: cell.script.clone(),
                    first: first.to_path_buf(),
                    second: file.clone(),
                });
            }
            seen.insert(key, file);
            push_new(&mut merged.kernels, &cell.kernel);
            push_new(&mut merged.scripts, &cell.script);
            merged.cells.push(CellResult {
                console: cell
                    .console
                    .as_ref()
                    .and_then(|c| renamed.get(c.as_str()).cloned()),
                ..cell.clone()
            });
        }
    }
    Ok(merged)
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

/// A cell's standing, as the grid colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Passed (or printed without a problem).
    Pass,
    /// Fails the run.
    Fail,
    /// Does not apply to the kernel.
    NotApplicable,
    /// No shard ran it.
    Missing,
}

impl Standing {
    /// The CSS class and Markdown mark.
    pub fn class(self) -> &'static str {
        match self {
            Standing::Pass => "pass",
            Standing::Fail => "fail",
            Standing::NotApplicable => "na",
            Standing::Missing => "missing",
        }
    }
}

impl Merged {
    /// The cell of `kernel` and `script`, if a shard ran it.
    pub fn cell(&self, kernel: &str, script: &str) -> Option<&CellResult> {
        self.cells
            .iter()
            .find(|c| c.kernel == kernel && c.script == script)
    }

    /// The console log a cell names.
    pub fn console(&self, cell: &CellResult) -> Option<&Console> {
        let name = cell.console.as_ref()?;
        self.consoles.iter().find(|c| &c.name == name)
    }

    /// Counts of (passed, failed, not applicable, missing) cells over
    /// the whole grid.
    pub fn counts(&self) -> [usize; 4] {
        let mut n = [0; 4];
        for k in &self.kernels {
            for s in &self.scripts {
                let (standing, _) = status(self.cell(k, s));
                n[standing as usize] += 1;
            }
        }
        n
    }

    /// Whether any cell failed or was not run by any shard.
    pub fn failed(&self) -> bool {
        let [_, failed, _, missing] = self.counts();
        failed + missing > 0
    }

    /// One line: how many cells passed, failed, did not apply, were not
    /// run, and from how many results.
    pub fn summary(&self) -> String {
        let [pass, fail, na, missing] = self.counts();
        let mut s = format!(
            "{} kernel(s) x {} script(s): {pass} passed, {fail} failed, {na} not applicable",
            self.kernels.len(),
            self.scripts.len()
        );
        if missing > 0 {
            s.push_str(&format!(", {missing} not run by any shard"));
        }
        s.push_str(&format!(" ({} result file(s) merged)", self.sources.len()));
        s
    }
}

/// A cell's standing and its one-word status: the first column that is
/// not `ok` (`build FAIL`, `load FAIL`, `not run`, `DIFF`, `NEW`,
/// `KERNEL`), else `ok`.
pub fn status(cell: Option<&CellResult>) -> (Standing, &'static str) {
    let Some(c) = cell else {
        return (Standing::Missing, "not run");
    };
    if c.build == "n/a" {
        return (Standing::NotApplicable, "n/a");
    }
    let word = if c.build == "FAIL" {
        "build FAIL"
    } else if c.load == "NOTRUN" {
        "not run"
    } else if c.load == "FAIL" {
        "load FAIL"
    } else {
        match c.output.as_str() {
            "DIFF" => "DIFF",
            "NEW" => "NEW",
            "KERNEL" => "KERNEL",
            "printed" => "printed",
            _ if c.failed => "module left",
            _ => "ok",
        }
    };
    let standing = if c.failed {
        Standing::Fail
    } else {
        Standing::Pass
    };
    (standing, word)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::matrix::results::{Shard, FORMAT};

    pub(crate) fn cell(kernel: &str, script: &str, cols: [&str; 3], failed: bool) -> CellResult {
        CellResult {
            kernel: kernel.into(),
            script: script.into(),
            path: format!("tests/scripts/{script}.stp").into(),
            build: cols[0].into(),
            load: cols[1].into(),
            output: cols[2].into(),
            failed,
            note: None,
            outcome: "exit: 0\nstdout:\n|hi\nstderr:\n".into(),
            expected: Some("exit: 0\nstdout:\n|hello\nstderr:\n".into()),
            reference: Some("stapkit's snapshot".into()),
            diff: failed.then(|| "  exit: 0\n  stdout:\n+ |hi\n- |hello\n  stderr:\n".into()),
            console: Some(kernel.into()),
        }
    }

    pub(crate) fn shard(index: usize, cells: Vec<CellResult>) -> ShardResult {
        ShardResult {
            format: FORMAT.into(),
            shard: Some(Shard { index, count: 2 }),
            kernels: vec!["k1".into(), "k2".into()],
            scripts: vec!["a".into(), "b".into()],
            boots: BTreeMap::new(),
            consoles: vec![Console {
                name: "k1".into(),
                path: format!("/w{index}/k1/console.log").into(),
                text: format!("console of shard {index}\n"),
            }],
            cells,
        }
    }

    #[test]
    fn two_shards_make_one_grid() {
        let one = shard(1, vec![cell("k1", "a", ["ok", "ok", "ok"], false)]);
        let mut two = shard(2, vec![cell("k1", "b", ["ok", "ok", "DIFF"], true)]);
        two.boots.insert("k1".into(), "guest Timeout".into());
        let merged = merge(&[("1.json".into(), one), ("2.json".into(), two)]).unwrap();
        assert_eq!(merged.kernels, ["k1", "k2"]);
        assert_eq!(merged.scripts, ["a", "b"]);
        assert_eq!(merged.sources, ["shard 1/2: 1.json", "shard 2/2: 2.json"]);
        assert_eq!(merged.boots["k1"], "(shard 2/2) guest Timeout");
        let names: Vec<&str> = merged.consoles.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["shard1-k1", "shard2-k1"]);
        let b = merged.cell("k1", "b").unwrap();
        assert_eq!(merged.console(b).unwrap().text, "console of shard 2\n");
        assert_eq!(status(Some(b)), (Standing::Fail, "DIFF"));
        assert_eq!(
            status(merged.cell("k2", "a")),
            (Standing::Missing, "not run")
        );
        // k2 ran in neither shard: two cells missing.
        assert_eq!(merged.counts(), [1, 1, 0, 2]);
        assert!(merged.failed());
        assert_eq!(
            merged.summary(),
            "2 kernel(s) x 2 script(s): 1 passed, 1 failed, 0 not applicable, \
             2 not run by any shard (2 result file(s) merged)"
        );
    }

    #[test]
    fn a_cell_in_two_files_is_refused() {
        let one = shard(1, vec![cell("k1", "a", ["ok", "ok", "ok"], false)]);
        let e = merge(&[("x/1.json".into(), one.clone()), ("y/1.json".into(), one)])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "y/1.json: a on k1 is also in x/1.json: each cell must come from one shard"
            ),
            "{e}"
        );
        assert_eq!(merge(&[]), Err(MergeError::NoResults));
    }

    #[test]
    fn the_first_failing_column_names_the_status() {
        let c = |cols, failed| status(Some(&cell("k", "s", cols, failed))).1;
        assert_eq!(c(["FAIL", "-", "DIFF"], true), "build FAIL");
        assert_eq!(c(["ok", "NOTRUN", "-"], true), "not run");
        assert_eq!(c(["ok", "FAIL", "DIFF"], true), "load FAIL");
        assert_eq!(c(["ok", "ok", "KERNEL"], true), "KERNEL");
        assert_eq!(c(["ok", "ok", "ok"], false), "ok");
        assert_eq!(c(["n/a", "-", "n/a"], false), "n/a");
    }
}
