//! Python probes, `python2.module("M").function("F")` and
//! `python3.module(...)` with `.call` or `.return` (stapprobes(3stap)),
//! refused with the reason: SystemTap places them through its own Python
//! module, HelperSDT, which the probed interpreter must load (`python -m
//! HelperSDT`) and which reports each call at a user-space SDT marker of
//! its own; stapkit has no such module to give the interpreter. The
//! refusal names what works instead. The family offers no shapes, so
//! wildcard points never reach it.

use super::{parts_text, Family, Parts, PointError, Resolution, Target};

pub(super) const FAMILY: Family = Family {
    shapes: &[],
    names: &[],
    types: &[],
    resolve,
};

/// Refuses `python2.module(..)...` and `python3.module(..)...`; `None`
/// for any other point.
fn resolve(parts: &Parts<'_>, _: Target<'_>) -> Resolution {
    let [(python @ ("python2" | "python3"), None), ("module", _), ..] = parts.as_slice() else {
        return Ok(None);
    };
    Err(PointError {
        message: format!(
            "probe point '{}' is not available: SystemTap's {python} probes report calls \
             through its HelperSDT Python module, loaded into the interpreter, which \
             stapkit does not provide",
            parts_text(parts)
        ),
        help: Some(
            "probe the interpreter's own functions instead, e.g. \
             process(\"/usr/bin/python3\").function(\"_PyEval_EvalFrameDefault\")"
                .to_string(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{SourceMap, Span};
    use crate::syntax::ast;

    #[test]
    fn python_module_points_are_refused_with_their_reason() {
        let mut map = SourceMap::new();
        let file = map.add("t.stp", "");
        let lit = |s: &str| {
            ast::Literal::String(ast::StrLit {
                value: s.as_bytes().to_vec(),
                span: Span::new(file, 0, 0),
            })
        };
        let (m, f) = (lit("pyexample"), lit("celsius"));
        let programs = crate::debuginfo::UserPrograms::default();
        let target = Target {
            hz: 250,
            kernel: None,
            programs: &programs,
            guru: false,
            in_alias: false,
            names_only: false,
            quiet: false,
        };
        let parts: Parts<'_> = vec![
            ("python3", None),
            ("module", Some(&m)),
            ("function", Some(&f)),
        ];
        let err = resolve(&parts, target).unwrap_err();
        assert!(
            err.message.starts_with(
                "probe point 'python3.module(\"pyexample\").function(\"celsius\")' is not available: "
            ),
            "{}",
            err.message
        );
        assert!(err.message.contains("HelperSDT"), "{}", err.message);
        let other: Parts<'_> = vec![("python3", None), ("function", Some(&f))];
        assert!(resolve(&other, target).unwrap().is_none());
    }
}
