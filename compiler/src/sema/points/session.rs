//! The session's own points: `begin`, `end` and `error` (each with an
//! optional priority; lower runs first) and `never`. The runtime runs them
//! from its session state machine (`runtime-c/core/session.c`), not from a
//! family table. `__unavailable("why")` is what a tapset alias stands for
//! where there is nothing to probe: it never resolves, and says why.

use super::{parts_text, single, Family, Param, Parts, PointError, Resolution, Target};
use crate::ir::ProbeKind;
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("begin", Param::Optional)],
        &[("end", Param::Optional)],
        &[("error", Param::Optional)],
        &[("never", Param::No)],
    ],
    names: &["begin", "end", "error", "never"],
    types: &[
        "begin",
        "begin(number)",
        "end",
        "end(number)",
        "error",
        "error(number)",
        "never",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, _: Target<'_>) -> Resolution {
    let name = parts_text(parts);
    let priority = |arg: Option<&ast::Literal>| -> Result<i64, PointError> {
        match arg {
            None => Ok(0),
            Some(ast::Literal::Number(n)) => Ok(n.value),
            Some(_) => Err(PointError {
                message: format!("'{name}': the priority must be a number"),
                help: None,
            }),
        }
    };
    let kind = match parts.as_slice() {
        [("begin", a)] => ProbeKind::Begin {
            priority: priority(*a)?,
        },
        [("end", a)] => ProbeKind::End {
            priority: priority(*a)?,
        },
        [("error", a)] => ProbeKind::Error {
            priority: priority(*a)?,
        },
        [("never", None)] => ProbeKind::Never,
        // What a tapset alias stands for where there is nothing to
        // probe: it never resolves, and says why (the alias that names
        // it adds its own name).
        [("__unavailable", Some(ast::Literal::String(why)))] => {
            return Err(PointError {
                message: why.to_str_lossy().into_owned(),
                help: None,
            });
        }
        _ => return Ok(None),
    };
    Ok(single(parts, kind))
}
