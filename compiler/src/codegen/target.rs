//! Lowering of target expressions (`$param`, `$var->a->b`, `$return`,
//! `@cast`): the starting value, address steps with fault-safe loads
//! (`stp_kread`), and the final value, load or address.

use super::body::{BodyGen, Val};
use super::writer::c_string;
use crate::ir::*;

impl BodyGen<'_> {
    /// A target expression's value (always a long).
    pub(super) fn target(&mut self, t: &TargetAccess, location: &Location) -> Val {
        let near = c_string(&location.near());
        let err = self.err_label();
        let a = self.long_temp();
        match &t.base {
            TargetBase::Register(reg) => self.w.line(format!("{a} = (int64_t)c->regs->{reg};")),
            TargetBase::Stack(off) => {
                // Stack arguments: 64-bit slots above the entry stack pointer.
                self.w.line(format!(
                    "if (!stp_kread(c, (uint64_t)kernel_stack_pointer(c->regs) + {off}, 8, false, &{a}, {near})) goto {err};"
                ));
            }
            TargetBase::TracepointArg(i) => self.w.line(format!("{a} = (int64_t)c->tp_args[{i}];")),
            TargetBase::Value(e) => {
                let v = self.expr(e).long();
                self.w.line(format!("{a} = {v};"));
            }
        }
        for step in &t.steps {
            match step {
                TargetStep::Deref => self.w.line(format!(
                    "if (!stp_kread(c, (uint64_t){a}, 8, false, &{a}, {near})) goto {err};"
                )),
                TargetStep::Offset(0) => {}
                TargetStep::Offset(off) => self
                    .w
                    .line(format!("{a} = (int64_t)((uint64_t){a} + {off}ULL);")),
                TargetStep::Index { index, stride } => {
                    let i = self.expr(index).long();
                    self.w.line(format!(
                        "{a} = (int64_t)((uint64_t){a} + (uint64_t)({i}) * {stride}ULL);"
                    ));
                }
            }
        }
        match t.result {
            TargetResult::Value { size, signed } => {
                self.w.line(format!("{a} = stp_narrow((uint64_t){a}, {size}, {signed});"))
            }
            TargetResult::Load { size, signed } => self.w.line(format!(
                "if (!stp_kread(c, (uint64_t){a}, {size}, {signed}, &{a}, {near})) goto {err};"
            )),
            TargetResult::Bitfield { size, bit_offset, width, signed } => self.w.line(format!(
                "if (!stp_kread_bits(c, (uint64_t){a}, {size}, {bit_offset}, {width}, {signed}, &{a}, {near})) goto {err};"
            )),
            TargetResult::Address => {}
        }
        Val::Long(a)
    }
}
