//! Data-driven parser tests, rust-analyzer style.
//!
//! * `tests/data/parse/ok/*.stp` must parse without errors; the snapshot
//!   holds the AST dump (with spans) and the canonical print. The print must
//!   re-parse to the same tree.
//! * `tests/data/parse/err/*.stp` must produce at least one error; the
//!   snapshot holds the rendered diagnostics.
//! * `tests/data/scripts/*.stp` are realistic scripts: no errors, and the
//!   print round-trips.
//!
//! Every fixture's spans are checked (inside the file, non-empty, nested).
//! A fixture may set the preprocessor configuration with header lines such
//! as `//@ args: 42 "two words"` or `//@ arch: arm64` (see
//! `frontend_support::fixture_config`). All fixtures run even when one
//! fails; the failures are listed together. Update snapshots with
//! `INSTA_UPDATE=always cargo test -p stapkit --test parse` and review the
//! diff.

mod frontend_support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use frontend_support::{check_roundtrip, check_spans, fixture_config, fixtures, parse_text};
use stapkit::diag::render_all;
use stapkit::syntax::{dump, DumpConfig};

fn name_of(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("?")
        .to_string()
}

/// Runs `check` on every fixture of `dir`, then fails listing all failures.
fn run_all(dir: &str, check: impl Fn(&str, &str) -> Result<(), String>) {
    let files = fixtures(dir);
    assert!(!files.is_empty(), "no fixtures in {dir}");
    let mut failures = Vec::new();
    for path in &files {
        let name = name_of(path);
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match catch_unwind(AssertUnwindSafe(|| check(&name, &text))) {
            Ok(Ok(())) => {}
            Ok(Err(message)) => failures.push(format!("{dir}/{name}.stp: {message}")),
            Err(_) => failures.push(format!("{dir}/{name}.stp: panicked (snapshot mismatch?)")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

/// A fixture is the user's script: guru-only syntax needs `//@ guru: true`.
fn script_config(text: &str) -> stapkit::syntax::PreprocessConfig {
    stapkit::syntax::PreprocessConfig {
        user_script: true,
        ..fixture_config(text)
    }
}

fn snapshot(dir: &str, name: &str, content: &str) {
    insta::with_settings!({
        snapshot_path => format!("snapshots/{dir}"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name.to_string(), content);
    });
}

/// What `stap` reports and the follow-on errors after it in the same
/// item, in source order: the code frames show every error found.
fn every_error(parsed: &stapkit::syntax::Parsed) -> Vec<stapkit::diag::Diagnostic> {
    let mut all: Vec<_> = parsed
        .diagnostics
        .iter()
        .chain(&parsed.follow_on)
        .cloned()
        .collect();
    all.sort_by_key(|d| d.primary.as_ref().map_or((1, 0), |p| (0, p.span.start)));
    all
}

#[test]
fn ok_fixtures_parse_cleanly_and_round_trip() {
    run_all("parse/ok", |name, text| {
        let cfg = script_config(text);
        let (map, parsed) = parse_text(&format!("{name}.stp"), text, &cfg);
        if parsed.has_errors() {
            return Err(format!(
                "unexpected errors:\n{}",
                render_all(&map, &parsed.diagnostics)
            ));
        }
        check_spans(&parsed, text.len())?;
        let printed = check_roundtrip(&parsed)?;
        let mut content = format!(
            "--- ast ---\n{}--- printed ---\n{printed}",
            dump(&parsed.script, DumpConfig { spans: true })
        );
        if !parsed.diagnostics.is_empty() {
            content.push_str("--- warnings ---\n");
            content.push_str(&render_all(&map, &parsed.diagnostics));
        }
        snapshot("parse_ok", name, &content);
        Ok(())
    });
}

#[test]
fn err_fixtures_report_errors() {
    run_all("parse/err", |name, text| {
        let cfg = script_config(text);
        let (map, parsed) = parse_text(&format!("{name}.stp"), text, &cfg);
        if !parsed.has_errors() {
            return Err("expected at least one error, got none".to_string());
        }
        check_spans(&parsed, text.len())?;
        snapshot("parse_err", name, &render_all(&map, &every_error(&parsed)));
        Ok(())
    });
}

#[test]
fn realistic_scripts_parse_cleanly_and_round_trip() {
    run_all("scripts", |name, text| {
        let cfg = script_config(text);
        let (map, parsed) = parse_text(&format!("{name}.stp"), text, &cfg);
        if parsed.has_errors() {
            return Err(format!(
                "unexpected errors:\n{}",
                render_all(&map, &parsed.diagnostics)
            ));
        }
        if parsed.script.items.len() < 2 {
            return Err("a realistic script has several items".to_string());
        }
        check_spans(&parsed, text.len())?;
        check_roundtrip(&parsed)?;
        Ok(())
    });
}
