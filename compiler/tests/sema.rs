//! Data-driven tests of semantic analysis, with no kernel at hand (they
//! run offline, on any machine).
//!
//! * `tests/data/sema/ok/*.stp` must analyze without errors; the snapshot
//!   holds the `-p2` listing.
//! * `tests/data/sema/err/*.stp` must produce at least one error; the
//!   snapshot holds the rendered diagnostics.
//!
//! Fixtures use the default preprocessor target (Debian 6.1 x86_64) unless
//! a `//@` header line says otherwise. The same analysis against the real
//! Debian 6.1 tree (kernel errors, the QEMU scripts' generated C, listings)
//! is `sema_kernel.rs`, which `cargo xtask test` runs. Update snapshots
//! with `INSTA_UPDATE=always cargo test -p stapkit --test sema` and review
//! them.

mod frontend_support;
mod sema_support;

use frontend_support::fixtures;
use sema_support::{analyze, run_all, snapshot, test_sysroot};
use stapkit::diag::render_all;
use stapkit::sema;

#[test]
fn ok_fixtures_analyze_cleanly() {
    run_all(fixtures("sema/ok"), |name, text| {
        let (map, analysis) = analyze(&format!("{name}.stp"), text);
        let Some(program) = analysis.program else {
            return Err(format!(
                "unexpected errors:\n{}",
                render_all(&map, &analysis.diagnostics)
            ));
        };
        let mut out = sema::listing(&program);
        if !analysis.diagnostics.is_empty() {
            out.push_str("# warnings\n");
            out.push_str(&render_all(&map, &analysis.diagnostics));
        }
        snapshot("sema_ok", name, &out);
        Ok(())
    });
}

/// Inference has no round cap: types flow back through a chain of calls
/// of any depth (`data/sema/ok/deep_call_chain.stp` has 40), in both
/// definition orders, and a global's type through the same chain.
#[test]
fn long_call_chains_infer_their_types() {
    const DEPTH: usize = 1000;
    let chain = |reverse: bool| {
        let mut text = String::from("global g\n");
        let mut functions: Vec<String> = (0..DEPTH - 1)
            .map(|i| format!("function f{i}(x) {{ return f{}(x) }}\n", i + 1))
            .collect();
        functions.push(format!(
            "function f{}(x) {{ g = x; return x }}\n",
            DEPTH - 1
        ));
        if reverse {
            functions.reverse();
        }
        text.extend(functions);
        text.push_str("probe begin { println(f0(\"deep\"), g) }\n");
        text
    };
    for reverse in [false, true] {
        let (map, analysis) = analyze("chain.stp", &chain(reverse));
        let program = analysis
            .program
            .unwrap_or_else(|| panic!("{}", render_all(&map, &analysis.diagnostics)));
        assert_eq!(program.functions.len(), DEPTH);
        assert!(program
            .functions
            .iter()
            .all(|f| f.ret == Some(stapkit::ir::Type::String)
                && f.locals[0].ty == stapkit::ir::Type::String));
        assert_eq!(
            program.globals[0].kind,
            stapkit::ir::GlobalKind::Scalar(stapkit::ir::Type::String)
        );
    }
}

#[test]
fn err_fixtures_report_errors() {
    run_all(fixtures("sema/err"), |name, text| {
        let (map, analysis) = analyze(&format!("{name}.stp"), text);
        if analysis.program.is_some() {
            return Err("expected a semantic error, got none".to_string());
        }
        // The sysroot lives in this checkout's target directory.
        let out = render_all(&map, &analysis.diagnostics)
            .replace(&test_sysroot().display().to_string(), "<sysroot>");
        snapshot("sema_err", name, &out);
        Ok(())
    });
}
