//! A kernel function's variables as a probe at one of its instructions
//! sees them (`kernel.statement`, `.label`, inlined copies, specialised
//! clones): the parameters and the locals visible there, each with where
//! it lives at that instruction, from the scope's DWARF locations
//! ([`super::scopes`], shared with user-space probes) and, for frame
//! slots, the canonical frame address from the vmlinux's `.debug_frame`
//! ([`crate::debuginfo::frame_base`]). Answered once when the point is
//! resolved, so the probe's context holds plain values.

use super::scopes::{Loc, Scope};
use super::DwarfKernel;
use crate::debuginfo::ctype::CType;

/// Where a kernel variable is at the probed instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelLoc {
    /// In a register of the probe's `pt_regs` (DWARF number).
    Register(u16),
    /// In the kernel's memory at a register plus an offset (a frame slot).
    Memory {
        /// The register (DWARF number).
        register: u16,
        /// Added to its value.
        offset: i64,
    },
    /// At this link-time address (a `static` local).
    Static(u64),
    /// This value, which the compiler knows there.
    Constant(i64),
}

/// A variable visible at the probed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedVar {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: CType,
    /// Whether it is a parameter.
    pub param: bool,
    /// Where it is, or why it cannot be read there.
    pub location: Result<KernelLoc, String>,
}

/// A function's variables at one instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedScope {
    /// The function (for an inlined copy, the inlined function).
    pub function: String,
    /// The instruction (link-time address).
    pub pc: u64,
    /// The parameters, then the locals, visible at `pc` (an inner block's
    /// variable in place of an outer one of the same name).
    pub vars: Vec<LocatedVar>,
}

impl LocatedScope {
    /// The variable named `name`.
    pub fn var(&self, name: &str) -> Option<&LocatedVar> {
        self.vars.iter().find(|v| v.name == name)
    }
}

impl DwarfKernel {
    /// `scope`'s variables at `pc` and where each one is there.
    pub fn located(&self, scope: &Scope, pc: u64) -> LocatedScope {
        let mut cfa: Option<Result<(u16, i64), String>> = None;
        let mut vars: Vec<LocatedVar> = Vec::new();
        for params in [true, false] {
            let mut here: Vec<LocatedVar> = Vec::new();
            for v in scope
                .vars
                .iter()
                .filter(|v| v.param == params && v.visible_at(pc))
            {
                let location = self.location(scope, v, pc).and_then(|loc| match loc {
                    Loc::Register(r) => Ok(KernelLoc::Register(r)),
                    Loc::Memory { register, offset } => Ok(KernelLoc::Memory { register, offset }),
                    Loc::Static(a) => Ok(KernelLoc::Static(a)),
                    Loc::Constant(v) => Ok(KernelLoc::Constant(v)),
                    Loc::Cfa(offset) => {
                        let (register, base) = cfa
                            .get_or_insert_with(|| {
                                crate::debuginfo::frame_base::cfa_at(self.file_bytes(), pc)
                            })
                            .clone()?;
                        Ok(KernelLoc::Memory {
                            register,
                            offset: base.wrapping_add(offset),
                        })
                    }
                });
                here.retain(|o| o.name != v.name);
                here.push(LocatedVar {
                    name: v.name.clone(),
                    ty: v.ty.clone(),
                    param: v.param,
                    location,
                });
            }
            vars.extend(here);
        }
        LocatedScope {
            function: scope.name.clone(),
            pc,
            vars,
        }
    }
}
