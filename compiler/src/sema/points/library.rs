//! The `.library("L")` component of user-space points:
//! `process("P").library("L").function("f")` and `.mark("m")` probe the
//! shared library L as process P loads it. L is a full path (any library
//! file, needed by P or not), or a name or glob matched against the file
//! names of the libraries P needs ([`crate::debuginfo::UserPrograms::needed_libraries`],
//! found as the target's dynamic loader finds them). Each point is named
//! with the program's and the library's full paths. As in SystemTap 5.1
//! (its record of `tests/scripts/uprobes_pie.stp`), a point is a uprobe
//! on the library's file and fires in every process that maps it, not
//! only in P's.

use super::{parts_text, similar, Parts, PointError, Target};
use crate::syntax::ast;

/// The target's paths of the libraries `spec` names for the program
/// `program` (see the module docs), or the error naming what P loads.
pub(super) fn libraries(
    parts: &Parts<'_>,
    program: &str,
    spec: &ast::Literal,
    target: Target<'_>,
) -> Result<Vec<String>, PointError> {
    let name = parts_text(parts);
    let ast::Literal::String(spec) = spec else {
        return Err(PointError {
            message: format!("'{name}': the library must be a string"),
            help: Some("write the library's name or path: library(\"libc.so.6\")".into()),
        });
    };
    let spec = spec.to_str_lossy().into_owned();
    if spec.starts_with('/') && !crate::text::glob::is_wildcard(&spec) {
        return match target.programs.check_exists(&spec) {
            Ok(()) => Ok(vec![spec]),
            Err(e) => Err(PointError {
                message: format!("'{name}': {e}"),
                help: None,
            }),
        };
    }
    let loaded = target
        .programs
        .needed_libraries(program)
        .map_err(|e| PointError {
            message: format!("'{name}': the libraries of {program} cannot be told: {e}"),
            help: Some("name the library by its full path".into()),
        })?;
    let matched: Vec<String> = loaded
        .found
        .iter()
        .filter(|l| l.matches(&spec))
        .map(|l| l.path.clone())
        .collect();
    if matched.is_empty() {
        let names: Vec<String> = loaded.found.iter().map(|l| l.soname.clone()).collect();
        let mut help = similar(&spec, &names)
            .map(|s| format!("did you mean '{s}'?"))
            .unwrap_or_else(|| match names.is_empty() {
                true => "name the library by its full path".into(),
                false => format!("it loads {}", names.join(", ")),
            });
        if !loaded.missing.is_empty() {
            help.push_str(&format!(
                "; not found in the library directories: {}",
                loaded.missing.join(", ")
            ));
        }
        return Err(PointError {
            message: if loaded.found.is_empty() && loaded.missing.is_empty() {
                format!("'{name}': {program} loads no shared library (statically linked)")
            } else {
                format!("'{name}': no library of {program} matches '{spec}'")
            },
            help: Some(help),
        });
    }
    Ok(matched)
}

/// `parts` with `process` and `library` filled with the program's and the
/// library's paths (literals spanning `span`), for naming the points.
pub(super) fn filled<'a>(
    parts: &Parts<'a>,
    process: &'a ast::Literal,
    library: Option<&'a ast::Literal>,
) -> Parts<'a> {
    parts
        .iter()
        .map(|&(n, a)| match n {
            "process" => (n, Some(process)),
            "library" => (n, library.or(a)),
            _ => (n, a),
        })
        .collect()
}

/// A string literal of `text` at `span`.
pub(super) fn literal(text: &str, span: crate::diag::Span) -> ast::Literal {
    ast::Literal::String(ast::StrLit {
        value: text.as_bytes().to_vec(),
        span,
    })
}
