//! User-space function probes: `process("PATH").function("f")` with
//! `.call` and `.return`. The program's functions come from the target's
//! [`crate::debuginfo::UserPrograms`] (its ELF symbol table, read on the
//! build host at `--sysroot DIR` + PATH when a sysroot is given, the path
//! on the target staying PATH); each function becomes a uprobe at its
//! file offset. Target variables need the program's DWARF, which stapkit
//! does not read: such points offer [`ProbeContext::UserSpace`].

use super::{parts_text, resolved_text, similar, Parts, PointError, ProbeContext, Target};
use crate::debuginfo::programs::UserFunction;
use crate::ir::{ProbeKind, ProbePoint, ProcessSelector};
use crate::syntax::ast;

/// `process("PATH").function("f")[.call|.return]`.
pub(super) fn process_function_probe(
    parts: &Parts<'_>,
    path: &ast::Literal,
    function: &ast::Literal,
    rest: &[(&str, Option<&ast::Literal>)],
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let (ast::Literal::String(path), ast::Literal::String(function)) = (path, function) else {
        return Err(err(
            format!("'{name}': the program path and the function name must be strings"),
            None,
        ));
    };
    let mut ret = false;
    for (component, arg) in rest {
        match (*component, arg) {
            ("call", None) => {}
            ("return", None) => ret = true,
            _ => return Ok(None),
        }
    }
    let path = path.to_str_lossy().into_owned();
    let spec = function.to_str_lossy().into_owned();
    if !path.starts_with('/') {
        return Err(err(
            format!("'{name}': the program path '{path}' must be absolute"),
            Some(format!("write the full path, such as \"/usr/bin/{path}\"")),
        ));
    }
    if spec.contains('@') || spec.contains(':') {
        return Err(err(
            format!("'{name}': source files and lines of user-space functions need the program's debug information (DWARF), which stapkit does not read"),
            Some("name the function by its symbol only".to_string()),
        ));
    }
    let host = target.programs.host_path(&path);
    let functions = target.programs.functions(&path).map_err(|e| {
        err(
            format!("'{name}': {e}"),
            target.programs.sysroot().is_none().then(|| {
                "programs are read on this machine: give the target's file tree with --sysroot DIR"
                    .to_string()
            }),
        )
    })?;
    let pattern = crate::text::glob::Glob::new(&spec);
    let matched: Vec<&UserFunction> = functions
        .iter()
        .filter(|f| pattern.matches(&f.name))
        .collect();
    if matched.is_empty() {
        let names: Vec<String> = functions.iter().map(|f| f.name.clone()).collect();
        return Err(err(
            format!(
                "'{name}': no function matches '{spec}' in the symbol table of {}",
                host.display()
            ),
            similar(&spec, &names).map(|s| format!("did you mean '{s}'?")),
        ));
    }
    Ok(Some(
        matched
            .into_iter()
            .map(|f| {
                let point = ProbePoint {
                    name: point_name(parts, &f.name),
                    kind: ProbeKind::Uprobe {
                        path: path.clone(),
                        function: f.name.clone(),
                        offset: f.offset,
                        ret,
                    },
                    optional: false,
                };
                (point, ProbeContext::UserSpace)
            })
            .collect(),
    ))
}

/// `process.begin/.end`, `process("PATH").begin/.end`,
/// `process(PID).begin/.end`.
pub(super) fn process_lifetime_probe(
    parts: &Parts<'_>,
    path: Option<&ast::Literal>,
    end: bool,
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let which = match path {
        None => ProcessSelector::Any,
        Some(ast::Literal::String(s)) => ProcessSelector::Path(s.to_str_lossy().into_owned()),
        Some(ast::Literal::Number(pid)) if pid.value > 0 && pid.value <= i32::MAX as i64 => {
            ProcessSelector::Pid(pid.value)
        }
        Some(ast::Literal::Number(pid)) => {
            return Err(err(
                format!("'{name}': {} is not a process id", pid.value),
                Some("a process id is a number from 1 up".to_string()),
            ))
        }
    };
    if let ProcessSelector::Path(path) = &which {
        if !path.starts_with('/') {
            return Err(err(
                format!("'{name}': the program path '{path}' must be absolute"),
                Some(format!("write the full path, such as \"/usr/bin/{path}\"")),
            ));
        }
        if let Err(e) = target.programs.check_exists(path) {
            return Err(err(
                format!("'{name}': {e}"),
                target.programs.sysroot().is_none().then(|| {
                    "programs are read on this machine: give the target's file tree with --sysroot DIR"
                        .to_string()
                }),
            ));
        }
    }
    Ok(Some(vec![(
        ProbePoint {
            name,
            kind: ProbeKind::Process { which, end },
            optional: false,
        },
        ProbeContext::None,
    )]))
}

/// One function's point, named as written with the function filled in.
fn point_name(parts: &Parts<'_>, function: &str) -> String {
    resolved_text(parts, "function", function)
}
