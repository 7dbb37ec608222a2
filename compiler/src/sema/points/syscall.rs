//! The syscall provider under the generated `syscall.NAME` aliases:
//! `__syscall("kill")` and `__syscall("kill").return` are kprobes on the
//! architecture's entry wrapper (`__x64_sys_kill`) whose target variables
//! are the syscall's own parameters, read from the user's saved registers.

use super::{Parts, PointError, ProbeContext, Target};
use crate::ir::{ProbeKind, ProbePoint};
use crate::syntax::ast;

/// `__syscall("NAME")` with an optional `.return`.
pub(super) fn syscall_probe(
    name: &ast::Literal,
    rest: &Parts<'_>,
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let ast::Literal::String(name) = name else {
        return Err(err(
            "__syscall(...): the syscall name must be a string".into(),
            None,
        ));
    };
    let name = name.to_str_lossy().into_owned();
    let ret = match rest.as_slice() {
        [] => false,
        [("return", None)] => true,
        _ => return Ok(None),
    };
    let Some(kernel) = target.kernel else {
        return Err(err(
            format!("syscall '{name}': syscall probes need the kernel's syscall table"),
            Some("name a fetched kernel with -r (see `stap-prep list`)".into()),
        ));
    };
    let info = kernel
        .syscall(&name)
        .map_err(|e| err(e.to_string(), None))?
        .value;
    if info.entry_exists == Some(false) {
        return Err(err(
            format!(
                "syscall '{name}': this kernel has no entry function '{}' (not built in?)",
                info.entry_function
            ),
            None,
        ));
    }
    let point = ProbePoint {
        name: format!(
            "kernel.function(\"{}\"){}",
            info.entry_function,
            if ret { ".return" } else { "" }
        ),
        kind: ProbeKind::Kprobe {
            function: info.entry_function.clone(),
            module: None,
            ret,
            maxactive: None,
        },
        optional: false,
    };
    let context = ProbeContext::Syscall {
        name: info.syscall.name.clone(),
        params: info.params,
        ret,
        arch: kernel.arch(),
    };
    Ok(Some(vec![(point, context)]))
}
