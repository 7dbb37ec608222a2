//! PLT probes: `process("PATH").plt("NAME")` (wildcards; `.plt` alone is
//! `.plt("*")`) and `.return`, a uprobe on each stub of the program's
//! procedure linkage table ([`crate::debuginfo::plt`]), so each call the
//! program makes into another object. `$$name` is the called function's
//! name; arguments have no types here (no debug information is read), so
//! `$name` is refused and the argument functions (`int_arg(N)`, ...)
//! read them. `process.plt` without a path probes the target process's
//! program (`-c CMD`, `-x PID`).

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
    ],
    names: &["process(\"PATH\").plt(\"NAME\")", "process(\"PATH\").plt"],
    types: &[
        "process(string).plt",
        "process(string).plt(string)",
        "process(string).plt(string).return",
        "process(string).plt.return",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let (path, name, ret) = match parts.as_slice() {
        [("process", path), ("plt", name)] => (path, name, false),
        [("process", path), ("plt", name), ("return", None)] => (path, name, true),
        _ => return Ok(None),
    };
    let path = program_path(parts, *path, target)?;
    let spec = match name {
        Some(n) => string_arg(parts, n, "function name")?,
        None => "*".to_string(),
    };
    let data = read_program(parts, &path, target)?;
    let host = target.programs.host_path(&path);
    let entries = plt_entries(&data, &host.display().to_string()).map_err(|e| PointError {
        message: format!("'{}': {e}", parts_text(parts)),
        help: None,
    })?;
    let glob = crate::text::glob::Glob::new(&spec);
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
            help: similar(&spec, &names).map(|s| format!("did you mean '{s}'?")),
        });
    }
    let suffix = if ret { ".return" } else { "" };
    Ok(Some(
        matched
            .into_iter()
            .map(|e| {
                let point = ProbePoint {
                    name: format!("process(\"{path}\").plt(\"{}\"){suffix}", e.name),
                    kind: ProbeKind::Uprobe {
                        path: path.clone(),
                        function: e.name.clone(),
                        offset: e.offset,
                        ret,
                    },
                    optional: false,
                };
                (point, ProbeContext::new(PltVars(e.name.clone())))
            })
            .collect(),
    ))
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
