//! User-space function probes: `process("PATH").function("f")` with
//! `.call` and `.return`. The program's functions come from the target's
//! [`crate::debuginfo::UserPrograms`] (its ELF symbol table, read on the
//! build host at `--sysroot DIR` + PATH when a sysroot is given, the path
//! on the target staying PATH); each function becomes a uprobe at its
//! file offset. When the program has DWARF (its own or a separate debug
//! file), `process_dwarf` resolves the points instead (and `.label("L")`,
//! which only DWARF knows) and offers target variables; without it they offer none ([`UserSpace`] says why).
//! Without a path (`process.function("f")`) the points are in the target
//! process's program (`-c CMD`, `-x PID`).
//! `process[("PATH")|(PID)].begin/.end` follow processes through the
//! scheduler's tracepoints. The runtime has them in
//! `runtime-c/core/uprobe.c` and `runtime-c/core/process.c`.

use super::process_dwarf::{self, How};
use super::{
    library, parts_text, resolved_text, similar, Family, Param, Parts, PointError, ProbeContext,
    Resolution, Target,
};
use crate::debuginfo::programs::UserFunction;
use crate::diag::Span;
use crate::ir::{ProbeKind, ProbePoint, ProcessSelector};
use crate::sema::vars::{fail_help, Failed, Refusal};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("process", Param::Optional), ("begin", Param::No)],
        &[("process", Param::Optional), ("end", Param::No)],
        &[("process", Param::Optional), ("function", Param::Required)],
        &[
            ("process", Param::Optional),
            ("function", Param::Required),
            ("call", Param::No),
        ],
        &[
            ("process", Param::Optional),
            ("function", Param::Required),
            ("return", Param::No),
        ],
        &[("process", Param::Required), ("statement", Param::Required)],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("statement", Param::Required),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("function", Param::Required),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("function", Param::Required),
            ("call", Param::No),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("function", Param::Required),
            ("return", Param::No),
        ],
        &[
            ("process", Param::Optional),
            ("function", Param::Required),
            ("label", Param::Required),
        ],
    ],
    names: &[
        "process(\"PATH\").function(\"NAME\")",
        "process(\"PATH\").library(\"PATH\").function(\"NAME\")",
        "process(\"PATH\").library(\"PATH\").statement(\"NAME@FILE:LINE\")",
        "process(\"PATH\").begin",
        "process(\"PATH\").end",
        "process(PID).begin",
        "process(PID).end",
        "process.begin",
        "process.end",
    ],
    types: &[
        "process(number).begin",
        "process(number).end",
        "process(string).begin",
        "process(string).end",
        "process(string).function(string)",
        "process(string).function(string).call",
        "process(string).function(string).label(string)",
        "process(string).function(string).return",
        "process(string).library(string).function(string)",
        "process(string).library(string).function(string).call",
        "process(string).library(string).function(string).return",
        "process(string).library(string).statement(string)",
        "process(string).statement(string)",
        "process.begin",
        "process.end",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    match parts.as_slice() {
        [("process", path), (event @ ("begin" | "end"), None)] => {
            process_lifetime_probe(parts, *path, *event == "end", target)
        }
        [("process", path), ("function", Some(f)), rest @ ..] => {
            process_function_probe(parts, *path, None, f, rest, target)
        }
        [("process", path), ("library", Some(lib)), ("function", Some(f)), rest @ ..] => {
            process_function_probe(parts, *path, Some(lib), f, rest, target)
        }
        [("process", path), ("library", Some(lib)), ("statement", Some(s))] => {
            library_statement_probe(parts, *path, lib, s, target)
        }
        [("process", Some(ast::Literal::String(path))), ("statement", Some(ast::Literal::String(s)))] =>
        {
            let path = path.to_str_lossy();
            process_dwarf::resolve(
                parts,
                &path,
                &s.to_str_lossy(),
                How::Statement,
                target.programs,
            )
        }
        _ => Ok(None),
    }
}

/// `process("PATH").library("L").statement("f@file.c:N")`: the
/// statements of each library L names (see `library`), read from its
/// DWARF, each point named with the program's and the library's paths.
fn library_statement_probe(
    parts: &Parts<'_>,
    path: Option<&ast::Literal>,
    library: &ast::Literal,
    statement: &ast::Literal,
    target: Target<'_>,
) -> Resolution {
    let name = parts_text(parts);
    let ast::Literal::String(statement) = statement else {
        return Err(PointError {
            message: format!("'{name}': the statement must be a string"),
            help: Some("write it as \"FUNCTION@FILE:LINE\"".into()),
        });
    };
    let path = match path {
        Some(ast::Literal::String(p)) => p.to_str_lossy().into_owned(),
        Some(ast::Literal::Number(_)) => {
            return Err(PointError {
                message: format!("'{name}': a library's statements need the program's path"),
                help: Some("write process(\"PATH\").library(\"L\").statement(...)".into()),
            })
        }
        None => super::sdt::target_program(parts, target)?,
    };
    let path = super::sdt::found_program(parts, &path, target)?;
    let spec = statement.to_str_lossy().into_owned();
    let program = library::literal(&path, statement.span);
    let libraries = library::libraries(parts, &path, library, target)?;
    super::points_of_any(libraries.into_iter().map(|lib| {
        let lib_literal = library::literal(&lib, statement.span);
        let named = library::filled(parts, &program, Some(&lib_literal));
        process_dwarf::resolve(&named, &lib, &spec, How::Statement, target.programs)?.ok_or_else(
            || PointError {
                message: format!(
                    "'{}': no statement matches '{spec}' in {lib}",
                    parts_text(&named)
                ),
                help: None,
            },
        )
    }))
}

/// `process("PATH")[.library("L")].function("f")[.call|.return]`.
fn process_function_probe(
    parts: &Parts<'_>,
    path: Option<&ast::Literal>,
    library: Option<&ast::Literal>,
    function: &ast::Literal,
    rest: &[(&str, Option<&ast::Literal>)],
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let path = match path {
        Some(ast::Literal::String(p)) => Some(p.to_str_lossy().into_owned()),
        Some(ast::Literal::Number(_)) => None,
        None => Some(super::sdt::target_program(parts, target)?),
    };
    let (Some(path), ast::Literal::String(function)) = (path, function) else {
        return Err(err(
            format!("'{name}': the program path and the function name must be strings"),
            None,
        ));
    };
    let mut ret = false;
    let mut label = None;
    for (component, arg) in rest {
        match (*component, arg) {
            ("call", None) => {}
            ("return", None) => ret = true,
            ("label", Some(ast::Literal::String(l))) => label = Some(l.to_str_lossy()),
            ("label", Some(_)) => {
                return Err(err(format!("'{name}': the label must be a string"), None))
            }
            _ => return Ok(None),
        }
    }
    let path = super::sdt::found_program(parts, &path, target)?;
    let spec = function.to_str_lossy().into_owned();
    let how = match (&label, ret) {
        (Some(l), _) => How::Label(l),
        (None, true) => How::Return,
        (None, false) => How::Entry,
    };
    // Without a path the points are named with the target's program; a
    // library's with the program's and the library's paths.
    let program = library::literal(&path, function.span);
    let Some(library) = library else {
        let named = library::filled(parts, &program, None);
        return function_points(&named, &path, &spec, how, ret, target).map(Some);
    };
    // A pattern's libraries each give their functions; only when none has
    // one that matches is it an error (the first library's).
    let libraries = library::libraries(parts, &path, library, target)?;
    super::points_of_any(libraries.into_iter().map(|lib| {
        let lib_literal = library::literal(&lib, function.span);
        let named = library::filled(parts, &program, Some(&lib_literal));
        function_points(&named, &lib, &spec, how, ret, target)
    }))
}

/// The points of the functions `spec` names in the file `path`, named
/// after `parts` (whose paths are filled in).
fn function_points(
    parts: &Parts<'_>,
    path: &str,
    spec: &str,
    how: How<'_>,
    ret: bool,
    target: Target<'_>,
) -> Result<Vec<(ProbePoint, ProbeContext)>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let path = path.to_string();
    if let Some(points) = process_dwarf::resolve(parts, &path, spec, how, target.programs)? {
        return Ok(points);
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
    let pattern = crate::text::glob::Glob::new(spec);
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
            similar(spec, &names)
                .map(|s| format!("did you mean '{s}'?"))
                .or_else(|| {
                    target
                        .programs
                        .debug(&path)
                        .err()
                        .map(|e| format!("its debug information would name more: {e}"))
                }),
        ));
    }
    Ok(matched
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
            let why = match target.programs.debug(&path) {
                Ok(_) => format!("DWARF does not describe '{}'", f.name),
                Err(e) => e,
            };
            (point, ProbeContext::new(UserSpace(why)))
        })
        .collect())
}

/// `process.begin/.end`, `process("PATH").begin/.end`,
/// `process(PID).begin/.end`.
fn process_lifetime_probe(
    parts: &Parts<'_>,
    path: Option<&ast::Literal>,
    end: bool,
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let which = match path {
        None => ProcessSelector::Any,
        Some(ast::Literal::String(s)) => {
            ProcessSelector::Path(super::sdt::found_program(parts, &s.to_str_lossy(), target)?)
        }
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
        ProbeContext::none(),
    )]))
}

/// A user-space function found in the symbol table only: its variables
/// need the program's DWARF, and this says why there is none; the
/// argument functions (`int_arg(N)`, ...) work instead.
#[derive(Debug)]
struct UserSpace(String);

impl Refusal for UserSpace {
    fn refuse(&self, span: Span, what: &str) -> Failed {
        fail_help(
            span,
            format!("'{what}' of a user-space function needs the program's debug information (DWARF): {}", self.0),
            "read arguments with int_arg(N), long_arg(N), pointer_arg(N), ... and the result with returnval()".into(),
        )
    }
}

/// One function's point, named as written with the function filled in.
fn point_name(parts: &Parts<'_>, function: &str) -> String {
    resolved_text(parts, "function", function)
}
