//! The syscall provider under the generated `syscall.NAME` aliases:
//! `__syscall("kill")` and `__syscall("kill").return` are kprobes on the
//! architecture's entry wrapper (`__x64_sys_kill`) whose target variables
//! are the syscall's own parameters, read from the user's saved registers
//! ([`SyscallVars`]).

use super::{Family, Parts, PointError, ProbeContext, Resolution, Target};
use crate::debuginfo::syscalls::SyscallParam;
use crate::debuginfo::{
    arg_location, return_register, syscall_arg_offset, Arch, ArgLocation, CType,
};
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint, Type};
use crate::sema::vars::{
    fail, fail_help, listed_type, register, require_return_probe, scalar, Failed, Place,
    TargetHost, TargetVars,
};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[],
    names: &[],
    types: &[],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    match parts.as_slice() {
        [("__syscall", Some(n)), rest @ ..] => syscall_probe(n, &rest.to_vec(), target),
        _ => Ok(None),
    }
}

/// `__syscall("NAME")` with an optional `.return`.
fn syscall_probe(name: &ast::Literal, rest: &Parts<'_>, target: Target<'_>) -> Resolution {
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
    let context = ProbeContext::new(SyscallVars {
        name: info.syscall.name.clone(),
        params: info.params,
        ret,
        arch: kernel.arch(),
    });
    Ok(Some(vec![(point, context)]))
}

/// A syscall's entry wrapper (`__x64_sys_kill`) or its return: the user's
/// arguments are in the `struct pt_regs` that the wrapper's one parameter
/// points at, not in the wrapper's own argument registers.
#[derive(Debug, Clone)]
struct SyscallVars {
    /// The syscall's name (`kill`).
    name: String,
    /// Its user-visible parameters, in order.
    params: Vec<SyscallParam>,
    /// Whether this is the return.
    ret: bool,
    /// The architecture (where `pt_regs` keeps each argument).
    arch: Arch,
}

impl TargetVars for SyscallVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let syscall = &self.name;
        if name == "return" {
            require_return_probe(self.ret, span)?;
            let long = CType::Int {
                name: "long".into(),
                size: 8,
                signed: true,
            };
            let reg = register(return_register(self.arch))
                .ok_or_else(|| fail(span, "cannot locate the return value".into()))?;
            return Ok((ir::TargetBase::Register(reg), Place::Value(long)));
        }
        let Some(n) = self.params.iter().position(|p| p.name == name) else {
            let names: Vec<String> = self.params.iter().map(|p| format!("${}", p.name)).collect();
            return Err(fail_help(
                span,
                format!("syscall '{syscall}' has no parameter '{name}'"),
                if names.is_empty() {
                    "it takes no parameters".to_string()
                } else {
                    format!("its parameters are: {}", names.join(", "))
                },
            ));
        };
        let ty = self.params[n].ty.clone();
        let (size, signed) = scalar(&ty).ok_or_else(|| {
            fail(
                span,
                format!("'${name}' ({}) is not a number or a pointer", ty.render()),
            )
        })?;
        let (Some(regs), Some(offset)) = (
            arg_location(self.arch, 1),
            syscall_arg_offset(self.arch, n as u32 + 1),
        ) else {
            return Err(fail(
                span,
                format!("cannot locate argument {} of syscall '{syscall}'", n + 1),
            ));
        };
        let Some(regs) = (match regs {
            ArgLocation::Register(r) => register(r),
            ArgLocation::Stack(_) => None,
        }) else {
            return Err(fail(
                span,
                "the pt_regs pointer is not in a register".into(),
            ));
        };
        // The wrapper's first argument points at the user's saved
        // registers; the argument is the slot there (which a guru
        // write changes for the syscall too).
        let location = h.location(span, format!("identifier '${name}'"));
        let slot = |result| ir::Expr {
            kind: ir::ExprKind::Target(Box::new(ir::TargetAccess {
                base: ir::TargetBase::Register(regs),
                steps: vec![ir::TargetStep::Offset(offset)],
                result,
            })),
            ty: Some(Type::Long),
            location: location.clone(),
        };
        if self.ret {
            // At the return the registers may be reused: the value
            // at entry, saved then, as for functions.
            let value = slot(ir::TargetResult::Load { size, signed });
            let saved = h.save_at_entry(value, Type::Long, location.clone());
            return Ok((ir::TargetBase::Value(Box::new(saved)), Place::Value(ty)));
        }
        let address = slot(ir::TargetResult::Address);
        Ok((ir::TargetBase::Value(Box::new(address)), Place::Address(ty)))
    }

    fn parameters(&self, _: &str, _: Span) -> Result<(Vec<String>, bool), Failed> {
        Ok((
            self.params.iter().map(|p| p.name.clone()).collect(),
            self.ret,
        ))
    }

    fn at_entry(&self) -> Option<ProbeContext> {
        self.ret.then(|| {
            ProbeContext::new(SyscallVars {
                ret: false,
                ..self.clone()
            })
        })
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let params = self
            .params
            .iter()
            .map(|p| (p.name.clone(), listed_type(&p.ty)))
            .collect();
        (self.ret.then(|| "long".to_string()), params)
    }
}
