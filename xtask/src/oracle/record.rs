//! `cargo xtask oracle --record`: real SystemTap's outcome of a QEMU test
//! script saved beside it as `tests/scripts/NAME.oracle` (one block per
//! kernel, see `stapkit::matrix::oracle`), the expected output the QEMU
//! tests and stap-matrix compare stapkit's outcome with.
//!
//! The outcome is taken in stap-matrix's form: a failed translation is
//! `build failed:` and stap's stderr, a run is staprun's exit status,
//! stdout, stderr, leftover module and kernel problems. It is normalised
//! before it is saved, so the file holds no pid, address or time.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use stapkit::matrix::oracle::{format_oracle, normalise, oracle_path, parse_oracle, OracleBlock};
use stapkit::matrix::render::{render, Outcome};
use stapkit::matrix::script::TestScript;

use super::build::BuildResult;
use super::guest::RunResult;
use super::render::{normalised, ran_outcome};
use super::root::{Kernel, StapRoot};
use super::script::OracleScript;

/// Where a recorded outcome came from.
pub struct Provenance<'a> {
    /// First line of `stap -V` and the Debian suite.
    pub systemtap: String,
    /// Kernel manifest name.
    pub kernel: &'a str,
    /// Kernel release and package version.
    pub release: String,
}

/// The normalised outcome in stap-matrix's form: `None` when the guest
/// did not report the case (nothing to record).
pub fn outcome_text(stap_status: i32, stap_stderr: &str, ran: Option<Outcome>) -> Option<String> {
    let outcome = if stap_status != 0 {
        Outcome::BuildFailed(stap_stderr.to_string())
    } else {
        ran?
    };
    Some(normalise(&render(&outcome)))
}

/// Saves `outcome` as `script`'s block for the kernel, keeping the other
/// kernels' blocks.
pub fn save(script: &Path, provenance: &Provenance, outcome: &str) -> Result<()> {
    let path = oracle_path(script);
    let mut blocks = match std::fs::read_to_string(&path) {
        Ok(text) => parse_oracle(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        Err(_) => Vec::new(),
    };
    blocks.retain(|b| b.kernel != provenance.kernel);
    blocks.push(OracleBlock {
        kernel: provenance.kernel.to_string(),
        provenance: vec![
            ("systemtap".into(), provenance.systemtap.clone()),
            ("kernel".into(), provenance.release.clone()),
            ("recorded".into(), today()),
        ],
        outcome: outcome.to_string(),
    });
    std::fs::write(&path, format_oracle(&blocks))
        .with_context(|| format!("writing {}", path.display()))
}

/// Today's date, `YYYY-MM-DD` (UTC).
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Saves each test script's outcome on `kernel` beside it (`--record`);
/// a case the guest did not report is a failure, not a record.
pub(super) fn record_all(
    root: &StapRoot,
    kernel: &Kernel,
    scripts: &[OracleScript],
    builds: &BTreeMap<(String, String), BuildResult>,
    runs: &BTreeMap<(String, String), RunResult>,
    failures: &mut Vec<String>,
) -> Result<()> {
    let tree = kernel.state.build_dir().display().to_string();
    for script in scripts.iter().filter(|s| s.test) {
        let id = (script.stem.clone(), "main".to_string());
        let build = &builds[&id];
        // The script's own `# normalise:` rewrites, as stap-matrix applies
        // them to stapkit's output.
        let rules = TestScript::load(&script.path)
            .map_err(|e| anyhow!("{e}"))?
            .normalise;
        let ran = match &runs[&id] {
            RunResult::Ran(r) => Some(normalised(ran_outcome(r), &rules)),
            _ => None,
        };
        let stderr = String::from_utf8_lossy(&build.stderr).replace(&tree, "$TREE");
        let Some(text) = outcome_text(build.status, &stderr, ran) else {
            failures.push(format!(
                "{} on {}: the guest did not report it",
                script.stem, kernel.name
            ));
            continue;
        };
        let provenance = Provenance {
            systemtap: format!("{} (Debian {})", root.version, root.suite),
            kernel: &kernel.name,
            release: format!("{} ({})", kernel.state.release, kernel.state.version),
        };
        save(&script.path, &provenance, &text)?;
        eprintln!("oracle: recorded {} on {}", script.stem, kernel.name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_builds_record_stderr_normalised() {
        let text = outcome_text(
            1,
            "WARNING: Kernel function symbol table missing [man warning::symbols]\n\
             semantic error: x\nPass 2: analysis failed.  [man error::pass2]\n\
             Tip: /usr/share/doc/systemtap/README.Debian should help you get started.\n",
            None,
        );
        assert_eq!(
            text.as_deref(),
            Some("build failed:\n|semantic error: x\n|Pass 2: analysis failed.  [man error::pass2]\n")
        );
        assert_eq!(outcome_text(0, "", None), None);
        assert_eq!(today().len(), 10);
    }
}
