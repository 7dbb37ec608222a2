//! PLT probes: `process("PATH").plt("NAME")` (wildcards; `.plt` alone is
//! `.plt("*")`) and `.return`, a uprobe on each stub of the program's
//! procedure linkage table ([`crate::debuginfo::plt`]), so each call the
//! program makes into another object. `$$name` is the called function's
//! name; arguments have no types here (no debug information is read), so
//! `$name` is refused and the argument functions (`int_arg(N)`, ...)
//! read them. `process.plt` without a path probes the target process's
//! program (`-c CMD`, `-x PID`).
//!
//! `process("P").library("L").plt[("NAME")][.return]` probes the stubs of
//! the shared library L as P loads it (`super::library`: a full path, or
//! a name or glob over the libraries P needs), each point named with the
//! program's and the library's paths; like the library's functions, the
//! stubs fire in every process that maps the library.

use super::sdt::{program_path, read_program, string_arg};
use super::{
    parts_text, similar, Family, Param, Parts, PointError, ProbeContext, Resolution, Target,
};
use crate::debuginfo::plt::{plt_entries, PltEntry};
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint};
use crate::sema::vars::{fail_help, Failed, Place, TargetHost, TargetVars};

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("process", Param::Optional), ("plt", Param::Optional)],
        &[
            ("process", Param::Optional),
            ("plt", Param::Optional),
            ("return", Param::No),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("plt", Param::Optional),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("plt", Param::Optional),
            ("return", Param::No),
        ],
    ],
    names: &[
        "process(\"PATH\").plt(\"NAME\")",
        "process(\"PATH\").plt",
        "process(\"PATH\").library(\"PATH\").plt(\"NAME\")",
    ],
    types: &[
        "process(string).library(string).plt",
        "process(string).library(string).plt(string)",
        "process(string).library(string).plt(string).return",
        "process(string).library(string).plt.return",
        "process(string).plt",
        "process(string).plt(string)",
        "process(string).plt(string).return",
        "process(string).plt.return",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let (path, library, name, ret) = match parts.as_slice() {
        [("process", path), ("plt", name)] => (path, None, name, false),
        [("process", path), ("plt", name), ("return", None)] => (path, None, name, true),
        [("process", path), ("library", Some(lib)), ("plt", name)] => {
            (path, Some(*lib), name, false)
        }
        [("process", path), ("library", Some(lib)), ("plt", name), ("return", None)] => {
            (path, Some(*lib), name, true)
        }
        _ => return Ok(None),
    };
    let path = program_path(parts, *path, target)?;
    let spec = match name {
        Some(n) => string_arg(parts, n, "function name")?,
        None => "*".to_string(),
    };
    let Some(library) = library else {
        let place = format!("process(\"{path}\")");
        return stub_points(parts, &path, &place, &spec, ret, target).map(Some);
    };
    // A pattern's libraries each give their stubs; only when none has one
    // that matches is it an error (the first library's).
    let libraries = super::library::libraries(parts, &path, library, target)?;
    super::points_of_any(libraries.into_iter().map(|lib| {
        let place = format!("process(\"{path}\").library(\"{lib}\")");
        stub_points(parts, &lib, &place, &spec, ret, target)
    }))
}

/// The points of the PLT stubs matching `spec` in the file `file`, named
/// `PLACE.plt("NAME")[.return]`.
fn stub_points(
    parts: &Parts<'_>,
    file: &str,
    place: &str,
    spec: &str,
    ret: bool,
    target: Target<'_>,
) -> Result<Vec<(ProbePoint, ProbeContext)>, PointError> {
    let data = read_program(parts, file, target)?;
    let host = target.programs.host_path(file);
    let entries = plt_entries(&data, &host.display().to_string()).map_err(|e| PointError {
        message: format!("'{}': {e}", parts_text(parts)),
        help: None,
    })?;
    let glob = crate::text::glob::Glob::new(spec);
    let matched: Vec<&PltEntry> = entries.iter().filter(|e| glob.matches(&e.name)).collect();
    if matched.is_empty() {
        let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
        return Err(PointError {
            message: if entries.is_empty() {
                format!(
                    "'{}': {} has no PLT (not dynamically linked?)",
                    parts_text(parts),
                    host.display()
                )
            } else {
                format!(
                    "'{}': no PLT entry matches '{spec}' in {}",
                    parts_text(parts),
                    host.display()
                )
            },
            help: similar(spec, &names).map(|s| format!("did you mean '{s}'?")),
        });
    }
    let suffix = if ret { ".return" } else { "" };
    Ok(matched
        .into_iter()
        .map(|e| {
            let point = ProbePoint {
                name: format!("{place}.plt(\"{}\"){suffix}", e.name),
                kind: ProbeKind::Uprobe {
                    path: file.to_string(),
                    function: e.name.clone(),
                    offset: e.offset,
                    ret,
                },
                optional: false,
            };
            (point, ProbeContext::new(PltVars(e.name.clone())))
        })
        .collect())
}

/// A stub's context: `$$name` only.
#[derive(Debug)]
struct PltVars(String);

fn refuse(span: Span, what: &str) -> Failed {
    fail_help(
        span,
        format!("'{what}' is not available in PLT probes: the stubs have no debug information"),
        "read arguments with int_arg(N), long_arg(N), pointer_arg(N), ... and the result with returnval()".into(),
    )
}

impl TargetVars for PltVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        _: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        Err(refuse(span, &format!("${name}")))
    }

    fn parameters(&self, which: &str, span: Span) -> Result<(Vec<String>, bool), Failed> {
        Err(refuse(span, which))
    }

    fn text(&self, which: &str) -> Option<String> {
        (which == "$$name").then(|| self.0.clone())
    }
}
