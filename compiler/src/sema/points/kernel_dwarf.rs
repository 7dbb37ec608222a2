//! The variables of a kprobe placed inside kernel function code from the
//! kernel's DWARF (its -dbg package): `kernel.statement("f@file:N")`,
//! `kernel.function("f").label("L")`, the inlined copies of
//! `kernel.function("f")` and `.inline`, and compiler-specialised clones
//! (`f.isra.0`). [`KernelVars`] offers `$param`, `$local`, `$p->field`,
//! `$$parms`, `$$locals` and `$$vars` where DWARF locates them at the
//! probed instruction (`debuginfo::dwarf::located`): a register of the
//! probe's `pt_regs`, or kernel memory at a register plus an offset.
//! A variable DWARF cannot place there (optimized out, computed, known
//! only as an entry value) is refused with the reason, and shows as `?`
//! in `$$vars`.

use super::process_dwarf::dwarf_register;
use crate::arch::Arch;
use crate::debuginfo::dwarf::located::{KernelLoc, LocatedScope};
use crate::diag::Span;
use crate::ir;
use crate::sema::vars::{
    fail, fail_help, listed_type, require_return_probe, Failed, Place, TargetHost, TargetVars,
};

use super::ProbeContext;

/// A kernel function's variables at one probed instruction.
#[derive(Debug)]
pub(super) struct KernelVars {
    located: LocatedScope,
    /// The point, as messages name it (`do_sys_open@fs/open.c:1337`).
    at: String,
    arch: Arch,
}

/// The context of a kprobe at `at` whose variables are `located`.
pub(super) fn kernel_vars(located: LocatedScope, at: String, arch: Arch) -> ProbeContext {
    ProbeContext::new(KernelVars { located, at, arch })
}

impl KernelVars {
    fn names(&self, params: bool) -> Vec<String> {
        self.located
            .vars
            .iter()
            .filter(|v| v.param == params)
            .map(|v| v.name.clone())
            .collect()
    }
}

impl TargetVars for KernelVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let function = &self.located.function;
        if name == "return" {
            require_return_probe(false, span)?;
        }
        let Some(var) = self.located.var(name) else {
            let names: Vec<String> = self
                .located
                .vars
                .iter()
                .map(|v| format!("${}", v.name))
                .collect();
            return Err(fail_help(
                span,
                format!(
                    "'{function}' has no parameter or local '{name}' at '{}'",
                    self.at
                ),
                if names.is_empty() {
                    "it has no variables at this point".into()
                } else {
                    format!("its variables here are: {}", names.join(", "))
                },
            ));
        };
        let location = var.location.as_ref().map_err(|why| {
            fail(
                span,
                format!(
                    "cannot locate '${name}' of '{function}' at '{}': {why}",
                    self.at
                ),
            )
        })?;
        let reg = |n: u16| {
            dwarf_register(self.arch, n).map(ir::TargetBase::Register).ok_or_else(|| {
                fail(
                    span,
                    format!("cannot locate '${name}' of '{function}': DWARF register {n} is not one stapkit reads"),
                )
            })
        };
        match *location {
            KernelLoc::Register(n) => Ok((reg(n)?, Place::Value(var.ty.clone()))),
            KernelLoc::Memory { register, offset } => Ok((
                ir::TargetBase::Kernel {
                    base: Box::new(reg(register)?),
                    offset,
                },
                Place::Address(var.ty.clone()),
            )),
            KernelLoc::Constant(v) => Ok((
                ir::TargetBase::Value(Box::new(ir::Expr {
                    kind: ir::ExprKind::Long(v),
                    ty: Some(ir::Type::Long),
                    location: h.location(span, format!("identifier '${name}'")),
                })),
                Place::Value(var.ty.clone()),
            )),
            KernelLoc::Static(_) => Err(fail_help(
                span,
                format!("'${name}' is a static local of '{function}', at an address the kernel's relocation moves"),
                format!("read it with @var(\"{name}\") if the kernel has a symbol for it"),
            )),
        }
    }

    fn parameters(&self, _: &str, _: Span) -> Result<(Vec<String>, bool), Failed> {
        Ok((self.names(true), false))
    }

    fn locals(&self) -> Vec<String> {
        self.names(false)
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let vars = self
            .located
            .vars
            .iter()
            .map(|v| (v.name.clone(), listed_type(&v.ty)))
            .collect();
        (None, vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::dwarf::located::LocatedVar;
    use crate::debuginfo::CType;

    fn scope() -> LocatedScope {
        let long = CType::Int {
            name: "long int".into(),
            size: 8,
            signed: true,
        };
        LocatedScope {
            function: "f".into(),
            pc: 0x1000,
            vars: vec![
                LocatedVar {
                    name: "a".into(),
                    ty: long.clone(),
                    param: true,
                    location: Ok(KernelLoc::Register(5)),
                },
                LocatedVar {
                    name: "b".into(),
                    ty: long.clone(),
                    param: false,
                    location: Ok(KernelLoc::Memory {
                        register: 7,
                        offset: 16,
                    }),
                },
                LocatedVar {
                    name: "c".into(),
                    ty: long,
                    param: false,
                    location: Err("it has no location at 0x1000 (optimized out there)".into()),
                },
            ],
        }
    }

    #[test]
    fn parameters_and_locals_are_listed_in_order() {
        let mut map = crate::diag::SourceMap::new();
        let file = map.add("t.stp", "probe");
        let span = Span::new(file, 0, 5);
        let vars = KernelVars {
            located: scope(),
            at: "f@x.c:3".into(),
            arch: Arch::X86_64,
        };
        assert_eq!(
            vars.parameters("$$parms", span).unwrap(),
            (vec!["a".to_string()], false)
        );
        assert_eq!(vars.locals(), vec!["b".to_string(), "c".to_string()]);
        let (ret, listed) = vars.listed();
        assert_eq!(ret, None);
        assert_eq!(
            listed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
