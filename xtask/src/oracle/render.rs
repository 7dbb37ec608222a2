//! The oracle's saved text for a script: each case's stap command,
//! exit status and output, and staprun's outcome in stap-matrix's
//! expected-file form (long outputs shown head and tail only), with the
//! kernel log's timestamps dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use stapkit::matrix::render::{render, render_bytes, strip_timestamp, Outcome};
use stapkit::vm::results::CaseResult;

use super::build::BuildResult;
use super::guest::RunResult;
use super::root::{Kernel, StapRoot};
use super::script::OracleScript;
use crate::setup;

/// Outputs longer than this many lines are shown head and tail only.
const MAX_RENDERED_LINES: usize = 400;

/// The text saved for one script: every case's stap command, translator
/// output and (for built modules) staprun's outcome in stap-matrix's
/// expected-file form, plus the kernel log.
pub(super) fn render_script(
    root: &StapRoot,
    kernel: &Kernel,
    script: &OracleScript,
    builds: &BTreeMap<(String, String), BuildResult>,
    runs: &BTreeMap<(String, String), RunResult>,
) -> String {
    let mut out = String::new();
    let path = script
        .path
        .strip_prefix(setup::project_root())
        .unwrap_or(&script.path);
    writeln!(out, "# oracle: {}", path.display()).unwrap();
    writeln!(out, "# systemtap: {} (Debian {})", root.version, root.suite).unwrap();
    writeln!(
        out,
        "# kernel: {} {} ({})",
        kernel.name, kernel.state.release, kernel.state.version
    )
    .unwrap();
    for case in &script.cases {
        let id = (script.stem.clone(), case.name.clone());
        let build = &builds[&id];
        writeln!(out, "\n## case {}", case.name).unwrap();
        writeln!(out, "$ {}", build.command).unwrap();
        writeln!(out, "stap exit: {}", build.status).unwrap();
        out.push_str("stap stdout:\n");
        render_long(&mut out, &build.stdout);
        out.push_str("stap stderr:\n");
        let tree = kernel.state.build_dir().display().to_string();
        let stderr = String::from_utf8_lossy(&build.stderr).replace(&tree, "$TREE");
        render_bytes(&mut out, stderr.as_bytes());
        match &runs[&id] {
            RunResult::NotBuilt => {}
            RunResult::NotRun(why) => {
                writeln!(out, "staprun: not run: {why}").unwrap();
            }
            RunResult::Ran(r) => {
                out.push_str("staprun ");
                let outcome = ran_outcome(r);
                if r.stdout.iter().filter(|&&b| b == b'\n').count() > MAX_RENDERED_LINES {
                    out.push_str(&render_elided(&outcome, &r.stdout));
                } else {
                    out.push_str(&render(&outcome));
                }
                out.push_str("kernel log:\n");
                let log: String = r
                    .kernel_log
                    .lines()
                    .map(|l| format!("{}\n", strip_timestamp(l)))
                    .collect();
                render_bytes(&mut out, log.as_bytes());
            }
        }
    }
    out
}

/// Output (`stap`'s stdout, a module's), its first and last 20 lines only
/// when it has more than [`MAX_RENDERED_LINES`] (`-p1 -v` prints the
/// whole library's parse tree, `-p3` the generated C).
fn render_long(out: &mut String, stdout: &[u8]) {
    let newlines = stdout.iter().filter(|&&b| b == b'\n').count();
    if newlines <= MAX_RENDERED_LINES {
        render_bytes(out, stdout);
        return;
    }
    let lines: Vec<&[u8]> = stdout.split(|&b| b == b'\n').collect();
    let tail_start = lines.len().saturating_sub(21);
    render_bytes(out, &[lines[..20].join(&b'\n').as_slice(), b"\n"].concat());
    writeln!(
        out,
        "... {} bytes, {newlines} newlines in all; lines 21 to {tail_start} not shown ...",
        stdout.len()
    )
    .unwrap();
    render_bytes(out, &lines[tail_start..].join(&b'\n'));
}

/// `render` with stdout shown as its first and last lines only.
fn render_elided(outcome: &Outcome, stdout: &[u8]) -> String {
    let Outcome::Ran {
        exit_code,
        stderr,
        still_loaded,
        kernel_problems,
        ..
    } = outcome
    else {
        return render(outcome);
    };
    let mut shown = render(&Outcome::Ran {
        exit_code: *exit_code,
        stdout: Vec::new(),
        stderr: stderr.clone(),
        still_loaded: *still_loaded,
        kernel_problems: kernel_problems.clone(),
    });
    let mut middle = String::new();
    render_long(&mut middle, stdout);
    shown = shown.replacen("stdout:\n", &format!("stdout:\n{middle}"), 1);
    shown
}

/// A guest's report of a case in stap-matrix's outcome form, kernel log
/// problems without their timestamps.
pub(super) fn ran_outcome(r: &CaseResult) -> Outcome {
    Outcome::Ran {
        exit_code: r.exit_code,
        stdout: r.stdout.clone(),
        stderr: r.stderr.clone(),
        still_loaded: r.still_loaded,
        kernel_problems: r
            .kernel_problems()
            .into_iter()
            .map(|l| strip_timestamp(l).to_string())
            .collect(),
    }
}

/// `outcome` with a test script's `# normalise:` rules applied.
pub(super) fn normalised(
    outcome: Outcome,
    rules: &[stapkit::matrix::script::Normalisation],
) -> Outcome {
    match outcome {
        Outcome::Ran {
            exit_code,
            stdout,
            stderr,
            still_loaded,
            kernel_problems,
        } => Outcome::Ran {
            exit_code,
            stdout: stapkit::matrix::script::normalise(rules, &stdout),
            stderr: stapkit::matrix::script::normalise(rules, &stderr),
            still_loaded,
            kernel_problems,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_matches_the_matrix_form() {
        let mut out = String::new();
        render_bytes(&mut out, b"a\\b\x01\n\nend");
        assert_eq!(out, "|a\\\\b\\x01\n|\n|end\n\\ no newline at end\n");
    }
}
