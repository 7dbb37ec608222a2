//! The machine-readable result of one `stap-matrix` run (one CI shard),
//! written with `--json FILE` and read back by `stap-matrix report`: for
//! every (kernel, script) cell its build, load and output columns, the
//! rendered outcome, the expected text and the diff against it, and the
//! console log of the boot that ran it (path and text, once per boot).
//! It holds everything the merged report shows, so a CI job that merges
//! shards needs only these files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::oracle::Reference;
use super::render::{render, Outcome};
use super::report::{Report, Verdict};
use super::script::script_name;

/// The `format` every result file carries; a reader refuses others.
pub const FORMAT: &str = "stapkit-matrix-result/1";

/// Console logs longer than this keep only their end in the result file.
pub const CONSOLE_LIMIT: usize = 512 * 1024;

/// One run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardResult {
    /// Always [`FORMAT`].
    pub format: String,
    /// Which shard this was (`None`: the whole matrix).
    pub shard: Option<Shard>,
    /// Every kernel of the matrix, in its order (also those of other
    /// shards), so a merged grid knows its columns.
    pub kernels: Vec<String>,
    /// Every script of the matrix, in its order.
    pub scripts: Vec<String>,
    /// What went wrong with a kernel's boot (crash, timeout), per kernel.
    pub boots: BTreeMap<String, String>,
    /// The console logs of this run's boots.
    pub consoles: Vec<Console>,
    /// This shard's cells, by kernel then script.
    pub cells: Vec<CellResult>,
}

/// `--shard I/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// I, from 1.
    pub index: usize,
    /// N.
    pub count: usize,
}

/// One boot's console log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Console {
    /// The boot's name, unique in this result (kernel, and its boot
    /// arguments when a script asked for some).
    pub name: String,
    /// Where the log was written on the machine that ran the shard.
    pub path: PathBuf,
    /// The log (its last [`CONSOLE_LIMIT`] bytes, after a line saying
    /// so, when longer; invalid UTF-8 replaced).
    pub text: String,
}

/// One (kernel, script) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellResult {
    /// Kernel manifest name.
    pub kernel: String,
    /// Script case name.
    pub script: String,
    /// The script's path as given to stap-matrix.
    pub path: PathBuf,
    /// The build column: `ok`, `FAIL` or `n/a`.
    pub build: String,
    /// The load column: `ok`, `FAIL`, `NOTRUN` or `-`.
    pub load: String,
    /// The output column: `ok`, `DIFF`, `NEW`, `KERNEL`, `printed`,
    /// `n/a` or `-`.
    pub output: String,
    /// Whether the cell fails the run.
    pub failed: bool,
    /// Why it was not built, not run, or failed to build, in one line.
    pub note: Option<String>,
    /// The outcome in the expected-file form (see [`render`]).
    pub outcome: String,
    /// What the outcome was compared with (`None`: not compared).
    pub expected: Option<String>,
    /// Where the expected text came from.
    pub reference: Option<String>,
    /// Expected (`- `) against actual (`+ `) when they differ.
    pub diff: Option<String>,
    /// The [`Console::name`] of the boot that ran it.
    pub console: Option<String>,
}

/// Bad result files: which file and what is wrong with it.
#[derive(Debug)]
pub enum ResultError {
    /// The file could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The file is not a result file of this format.
    Parse(PathBuf, String),
}

impl std::fmt::Display for ResultError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResultError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            ResultError::Parse(path, e) => write!(
                f,
                "{}: not a stap-matrix result file ({FORMAT}): {e}; write one with stap-matrix --json FILE",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ResultError {}

impl ShardResult {
    /// The result of a finished run of `scripts` on `kernels`.
    pub fn from_report(
        report: &Report,
        kernels: &[String],
        scripts: &[PathBuf],
        shard: Option<(usize, usize)>,
    ) -> ShardResult {
        let paths: BTreeMap<&str, &Path> = scripts
            .iter()
            .filter_map(|p| Some((script_name(p).ok()?, p.as_path())))
            .collect();
        let mut consoles: Vec<Console> = Vec::new();
        let mut cells = Vec::new();
        for cell in &report.cells {
            let console = report
                .consoles
                .get(&(cell.kernel.clone(), cell.script.clone()))
                .map(|path| console_entry(&mut consoles, &cell.kernel, path));
            let path = paths.get(cell.script.as_str()).copied();
            let (expected, reference) = match &cell.reference {
                None => (None, None),
                Some(Reference::SystemTap {
                    kernel,
                    same_kernel,
                    expected,
                }) => (
                    Some(expected.clone()),
                    Some(if *same_kernel {
                        "real SystemTap's recorded outcome".to_string()
                    } else {
                        format!("real SystemTap's recorded outcome on {kernel}")
                    }),
                ),
                Some(r) => (
                    path.and_then(super::expected_for),
                    Some(match r {
                        Reference::Difference(why) => {
                            format!("stapkit's snapshot (a recorded difference: {why})")
                        }
                        Reference::NoSystemTap(why) => {
                            format!("stapkit's snapshot (SystemTap cannot run it: {why})")
                        }
                        _ => "the script's expected file".to_string(),
                    }),
                ),
            };
            let [build, load, output] = cell.statuses();
            cells.push(CellResult {
                kernel: cell.kernel.clone(),
                script: cell.script.clone(),
                path: path.map(Path::to_path_buf).unwrap_or_default(),
                build: build.into(),
                load: load.into(),
                output: output.into(),
                failed: cell.failed(),
                note: note(&cell.outcome),
                outcome: render(&cell.outcome),
                expected,
                reference,
                diff: match &cell.verdict {
                    Verdict::Mismatch(diff) => Some(diff.clone()),
                    _ => None,
                },
                console,
            });
        }
        ShardResult {
            format: FORMAT.to_string(),
            shard: shard.map(|(index, count)| Shard { index, count }),
            kernels: kernels.to_vec(),
            scripts: scripts
                .iter()
                .filter_map(|p| script_name(p).ok().map(str::to_string))
                .collect(),
            boots: report.boots.clone(),
            consoles,
            cells,
        }
    }

    /// The result of a run that failed before it had cells (a kernel
    /// that could not be fetched, a script that does not parse): `why`
    /// as every kernel's boot note.
    pub fn failed_run(
        why: &str,
        kernels: &[String],
        scripts: &[PathBuf],
        shard: Option<(usize, usize)>,
    ) -> ShardResult {
        let report = Report {
            boots: kernels
                .iter()
                .map(|k| (k.clone(), why.to_string()))
                .collect(),
            ..Report::default()
        };
        ShardResult::from_report(&report, kernels, scripts, shard)
    }

    /// The JSON text (pretty, ending in a newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("results serialise");
        text.push('\n');
        text
    }

    /// Reads a result file.
    pub fn read(path: &Path) -> Result<ShardResult, ResultError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ResultError::Io(path.to_path_buf(), e))?;
        let result: ShardResult = serde_json::from_str(&text)
            .map_err(|e| ResultError::Parse(path.to_path_buf(), e.to_string()))?;
        if result.format != FORMAT {
            return Err(ResultError::Parse(
                path.to_path_buf(),
                format!("its format is {:?}", result.format),
            ));
        }
        Ok(result)
    }

    /// Writes the JSON text to `path`.
    pub fn write(&self, path: &Path) -> Result<(), ResultError> {
        std::fs::write(path, self.to_json()).map_err(|e| ResultError::Io(path.to_path_buf(), e))
    }
}

/// The console entry for the log at `path` (added on first use), named
/// by the boot directory the log is in.
fn console_entry(consoles: &mut Vec<Console>, kernel: &str, path: &Path) -> String {
    if let Some(c) = consoles.iter().find(|c| c.path == path) {
        return c.name.clone();
    }
    let name = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .unwrap_or(kernel)
        .to_string();
    let text = match std::fs::read(path) {
        Ok(bytes) => tail(&bytes, CONSOLE_LIMIT),
        Err(e) => format!(
            "(the console log could not be read: {}: {e})\n",
            path.display()
        ),
    };
    consoles.push(Console {
        name: name.clone(),
        path: path.to_path_buf(),
        text,
    });
    name
}

/// The last `limit` bytes of `bytes` from a line start, after a line
/// saying how much was left out.
fn tail(bytes: &[u8], limit: usize) -> String {
    if bytes.len() <= limit {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut start = bytes.len() - limit;
    if let Some(nl) = bytes[start..].iter().position(|&b| b == b'\n') {
        start += nl + 1;
    }
    format!(
        "(the first {start} bytes of this console log are left out)\n{}",
        String::from_utf8_lossy(&bytes[start..])
    )
}

/// The one-line reason a cell was not built, not run, or not built well.
fn note(outcome: &Outcome) -> Option<String> {
    let first = |s: &str| s.lines().next().unwrap_or_default().to_string();
    match outcome {
        Outcome::BuildFailed(e) => Some(first(e)),
        Outcome::NotRun(why) | Outcome::NotApplicable(why) => Some(first(why)),
        Outcome::Ran {
            kernel_problems,
            still_loaded,
            ..
        } => match kernel_problems.first() {
            Some(line) => Some(format!("kernel: {line}")),
            None if *still_loaded => Some("module still loaded after staprun exited".into()),
            None => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::report::Cell;

    fn ran(stdout: &[u8]) -> Outcome {
        Outcome::Ran {
            exit_code: Some(0),
            stdout: stdout.to_vec(),
            stderr: vec![],
            still_loaded: false,
            kernel_problems: vec![],
        }
    }

    #[test]
    fn a_report_becomes_a_result_that_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let console = dir.path().join("k1/console.log");
        std::fs::create_dir_all(console.parent().unwrap()).unwrap();
        std::fs::write(&console, b"Linux version 6.1\n\xffbad byte\n").unwrap();
        let mut report = Report::default();
        report.cells.push(Cell {
            kernel: "k1".into(),
            script: "hello".into(),
            outcome: ran(b"hi\n"),
            verdict: Verdict::Mismatch("- hello\n+ hi\n".into()),
            reference: Some(Reference::SystemTap {
                kernel: "k1".into(),
                same_kernel: true,
                expected: "exit: 0\nstdout:\n|hello\nstderr:\n".into(),
            }),
        });
        report.cells.push(Cell {
            kernel: "k1".into(),
            script: "inline".into(),
            outcome: Outcome::NotApplicable("needs DWARF\nmore".into()),
            verdict: Verdict::NotApplicable,
            reference: None,
        });
        report
            .consoles
            .insert(("k1".into(), "hello".into()), console.clone());
        let scripts = [PathBuf::from("s/inline.stp"), PathBuf::from("s/hello.stp")];
        let result = ShardResult::from_report(&report, &["k1".into()], &scripts, Some((2, 3)));
        assert_eq!(result.scripts, ["inline", "hello"]);
        assert_eq!(result.shard, Some(Shard { index: 2, count: 3 }));
        let hello = &result.cells[0];
        assert_eq!(
            (
                hello.build.as_str(),
                hello.load.as_str(),
                hello.output.as_str()
            ),
            ("ok", "ok", "DIFF")
        );
        assert!(hello.failed);
        assert_eq!(hello.path, Path::new("s/hello.stp"));
        assert_eq!(hello.diff.as_deref(), Some("- hello\n+ hi\n"));
        assert_eq!(hello.outcome, "exit: 0\nstdout:\n|hi\nstderr:\n");
        assert_eq!(hello.console.as_deref(), Some("k1"));
        assert_eq!(
            result.consoles[0].text,
            "Linux version 6.1\n\u{fffd}bad byte\n"
        );
        let inline = &result.cells[1];
        assert!(!inline.failed);
        assert_eq!(inline.note.as_deref(), Some("needs DWARF"));
        assert_eq!(inline.console, None);

        let file = dir.path().join("r.json");
        result.write(&file).unwrap();
        assert_eq!(ShardResult::read(&file).unwrap(), result);
    }

    #[test]
    fn other_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.json");
        std::fs::write(&file, "{\"format\": 1}").unwrap();
        let e = ShardResult::read(&file).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: not a stap-matrix result file",
                file.display()
            )),
            "{e}"
        );
        let mut r = ShardResult::from_report(&Report::default(), &[], &[], None);
        r.format = "other/9".into();
        std::fs::write(&file, r.to_json()).unwrap();
        let e = ShardResult::read(&file).unwrap_err().to_string();
        assert!(e.contains("its format is \"other/9\""), "{e}");
    }

    #[test]
    fn a_failed_run_names_its_kernels_and_why() {
        let r = ShardResult::failed_run(
            "stap-matrix failed: k9: no such manifest",
            &["k9".into()],
            &[PathBuf::from("s/hello.stp")],
            Some((1, 2)),
        );
        assert_eq!(r.kernels, ["k9"]);
        assert_eq!(r.scripts, ["hello"]);
        assert!(r.cells.is_empty());
        assert_eq!(r.boots["k9"], "stap-matrix failed: k9: no such manifest");
    }

    #[test]
    fn long_consoles_keep_their_end_from_a_line_start() {
        let text = tail(b"aaaa\nbbbb\ncccc\n", 7);
        assert_eq!(
            text,
            "(the first 10 bytes of this console log are left out)\ncccc\n"
        );
        assert_eq!(tail(b"short\n", 7), "short\n");
    }
}
