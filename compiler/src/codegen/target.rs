//! Lowering of target expressions (`$param`, `$var->a->b`, `$return`,
//! `@cast`): the starting value, address steps with fault-safe loads
//! (`stp_kread`), and the final value, load or address; and, in guru mode,
//! stores to the same places (`stp_kwrite`, a `pt_regs` member).

use super::body::{is_temp_or_const, BodyGen, Val};
use super::writer::c_string;
use crate::ir::*;

/// Where a target expression's value lives once its steps are walked.
enum Place {
    /// A `struct pt_regs` member.
    Register(Register),
    /// Memory at the address held in this temporary: the kernel's, or
    /// the probed task's when `user` (see [`TargetBase::User`]).
    Memory(String, bool),
    /// Only a value, held in this temporary (a tracepoint argument, a
    /// value saved at entry, a cast pointer).
    Value(String),
}

/// The `struct pt_regs` member holding `reg` on its architecture.
pub(super) fn pt_regs_member(reg: Register) -> String {
    let name = match reg {
        Register::Arm64(31) => "sp",
        Register::Arm64(ARM64_PC) => "pc",
        Register::Arm64(n) => return format!("regs[{n}]"),
        Register::X86(r) => match r {
            X86Register::Ax => "ax",
            X86Register::Bx => "bx",
            X86Register::Cx => "cx",
            X86Register::Dx => "dx",
            X86Register::Si => "si",
            X86Register::Di => "di",
            X86Register::Bp => "bp",
            X86Register::Sp => "sp",
            X86Register::R8 => "r8",
            X86Register::R9 => "r9",
            X86Register::R10 => "r10",
            X86Register::R11 => "r11",
            X86Register::R12 => "r12",
            X86Register::R13 => "r13",
            X86Register::R14 => "r14",
            X86Register::R15 => "r15",
            X86Register::Ip => "ip",
        },
    };
    name.to_string()
}

/// The C name through which the module refers to kernel symbol `name`
/// (declared once per module by [`kernel_symbol_decls`]).
pub(super) fn kernel_symbol_name(name: &str) -> String {
    format!("stp_ksym_{name}")
}

/// Declarations of the kernel symbols `@var` reads: each under a name of
/// the module's own bound to the symbol with an assembler label, so they
/// cannot clash with the kernel headers' declarations of the same symbols.
pub(super) fn kernel_symbol_decls<'a>(
    symbols: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    symbols
        .into_iter()
        .map(|s| format!("extern char {}[] __asm__(\"{s}\");", kernel_symbol_name(s)))
        .collect()
}

impl BodyGen<'_> {
    /// The C name of kernel symbol `name`, recorded for its declaration.
    fn kernel_symbol(&mut self, name: &str) -> String {
        self.kernel_symbols.insert(name.to_string());
        kernel_symbol_name(name)
    }

    /// A target expression's value (always a long).
    pub(super) fn target(&mut self, t: &TargetAccess, location: &Location) -> Val {
        let place = self.target_place(t, location);
        Val::Long(self.target_load(&place, t.result, location))
    }

    /// `target op= value` (guru mode); yields the value stored.
    pub(super) fn target_assign(
        &mut self,
        t: &TargetAccess,
        op: AssignOp,
        value: &Expr,
        location: &Location,
    ) -> Val {
        let v = self.expr(value).long();
        let v = if is_temp_or_const(&v) {
            v
        } else {
            let tmp = self.long_temp();
            self.w.line(format!("{tmp} = {v};"));
            tmp
        };
        let place = self.target_place(t, location);
        let new = match op {
            AssignOp::Arith(bop) => {
                let old = self.target_load(&place, t.result, location);
                self.binary(&old, bop, &old, &v, location);
                old
            }
            _ => v,
        };
        self.target_store(&place, t.result, &new, location);
        Val::Long(new)
    }

    /// `++target`, `target--`… (guru mode).
    pub(super) fn target_incdec(
        &mut self,
        t: &TargetAccess,
        increment: bool,
        prefix: bool,
        location: &Location,
    ) -> Val {
        let place = self.target_place(t, location);
        let old = self.target_load(&place, t.result, location);
        let new = self.long_temp();
        let op = if increment { "+" } else { "-" };
        self.w
            .line(format!("{new} = (int64_t)((uint64_t){old} {op} 1);"));
        self.target_store(&place, t.result, &new, location);
        Val::Long(if prefix { new } else { old })
    }

    /// Computes the base and walks the steps of `t`.
    fn target_place(&mut self, t: &TargetAccess, location: &Location) -> Place {
        if let (TargetBase::Register(reg), true) = (&t.base, t.steps.is_empty()) {
            if matches!(t.result, TargetResult::Value { .. }) {
                return Place::Register(*reg);
            }
        }
        let near = c_string(&location.near());
        let err = self.err_label();
        let a = self.long_temp();
        // Set while `a` holds a stack slot's address whose value (the
        // argument) has not been loaded yet.
        let mut memory = false;
        let (base, user) = match &t.base {
            TargetBase::User { base, .. } => (&**base, true),
            TargetBase::Kernel { base, .. } => (&**base, false),
            base => (base, false),
        };
        let read = if user { "stp_uread" } else { "stp_kread" };
        match base {
            TargetBase::Register(reg) => self
                .w
                .line(format!("{a} = (int64_t)c->regs->{};", pt_regs_member(*reg))),
            TargetBase::Stack(off) => {
                // Stack arguments: 64-bit slots above the entry stack pointer.
                self.w.line(format!(
                    "{a} = (int64_t)((uint64_t)kernel_stack_pointer(c->regs) + {off}ULL);"
                ));
                memory = true;
            }
            TargetBase::UserMemory {
                base,
                index,
                displacement,
                size,
                signed,
            } => {
                let mut address = format!("(uint64_t){displacement}LL");
                if let Some(b) = base {
                    address.push_str(&format!(" + (uint64_t)c->regs->{}", pt_regs_member(*b)));
                }
                if let Some((i, scale)) = index {
                    address.push_str(&format!(
                        " + (uint64_t)c->regs->{} * {scale}ULL",
                        pt_regs_member(*i)
                    ));
                }
                self.w.line(format!(
                    "if (!stp_uread(c, {address}, {size}, {signed}, &{a}, {near})) goto {err};"
                ));
            }
            TargetBase::TracepointArg(i) => self.w.line(format!("{a} = (int64_t)c->tp_args[{i}];")),
            TargetBase::Value(e) => {
                let v = self.expr(e).long();
                self.w.line(format!("{a} = {v};"));
            }
            TargetBase::KernelSymbol { symbol, mapped } => match mapped {
                None => {
                    let sym = self.kernel_symbol(symbol);
                    self.w.line(format!("{a} = (int64_t)(unsigned long){sym};"));
                }
                Some(m) => {
                    let anchor = self.kernel_symbol(&m.anchor);
                    self.w.line(format!(
                        "{a} = (int64_t)(0x{:x}ULL + ((unsigned long){anchor} - 0x{:x}ULL));",
                        m.address, m.anchor_address
                    ));
                }
            },
            TargetBase::User { .. } | TargetBase::Kernel { .. } => {
                unreachable!("sema nests no displaced base in another")
            }
        }
        if let TargetBase::User { offset, .. } | TargetBase::Kernel { offset, .. } = &t.base {
            if *offset != 0 {
                self.w.line(format!(
                    "{a} = (int64_t)((uint64_t){a} + {}ULL);",
                    *offset as u64
                ));
            }
        }
        for step in &t.steps {
            if std::mem::take(&mut memory) {
                self.w.line(format!(
                    "if (!{read}(c, (uint64_t){a}, 8, false, &{a}, {near})) goto {err};"
                ));
            }
            match step {
                TargetStep::Deref => self.w.line(format!(
                    "if (!{read}(c, (uint64_t){a}, 8, false, &{a}, {near})) goto {err};"
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
        match (memory, t.result, t.steps.is_empty()) {
            // A stack slot read as the argument's value.
            (true, TargetResult::Value { .. }, _) => Place::Memory(a, user),
            (_, TargetResult::Value { .. }, true) => Place::Value(a),
            _ => Place::Memory(a, user),
        }
    }

    /// The value at `place`, as `result` says; a fresh temporary.
    fn target_load(&mut self, place: &Place, result: TargetResult, location: &Location) -> String {
        let near = c_string(&location.near());
        let (a, from_memory) = match place {
            Place::Register(reg) => (format!("(int64_t)c->regs->{}", pt_regs_member(*reg)), false),
            Place::Memory(a, _) => (a.clone(), true),
            Place::Value(a) => (a.clone(), false),
        };
        let (read, read_bits) = match place {
            Place::Memory(_, true) => ("stp_uread", "stp_uread_bits"),
            _ => ("stp_kread", "stp_kread_bits"),
        };
        let out = self.long_temp();
        let err = self.err_label();
        match result {
            TargetResult::Value { size, signed } if from_memory => {
                self.w.line(format!(
                    "if (!{read}(c, (uint64_t){a}, 8, false, &{out}, {near})) goto {err};"
                ));
                self.w
                    .line(format!("{out} = stp_narrow((uint64_t){out}, {size}, {signed});"));
            }
            TargetResult::Value { size, signed } => self
                .w
                .line(format!("{out} = stp_narrow((uint64_t){a}, {size}, {signed});")),
            TargetResult::Load { size, signed } => self.w.line(format!(
                "if (!{read}(c, (uint64_t){a}, {size}, {signed}, &{out}, {near})) goto {err};"
            )),
            TargetResult::Bitfield { size, bit_offset, width, signed } => self.w.line(format!(
                "if (!{read_bits}(c, (uint64_t){a}, {size}, {bit_offset}, {width}, {signed}, &{out}, {near})) goto {err};"
            )),
            TargetResult::Address => self.w.line(format!("{out} = {a};")),
        }
        out
    }

    /// Stores `v` at `place` (sema only lets writable places through).
    fn target_store(&mut self, place: &Place, result: TargetResult, v: &str, location: &Location) {
        let near = c_string(&location.near());
        let err = self.err_label();
        match (place, result) {
            (Place::Register(reg), _) => self
                .w
                .line(format!("c->regs->{} = (unsigned long){v};", pt_regs_member(*reg))),
            (Place::Memory(a, false), TargetResult::Value { .. }) => self.w.line(format!(
                "if (!stp_kwrite(c, (uint64_t){a}, 8, {v}, {near})) goto {err};"
            )),
            (Place::Memory(a, false), TargetResult::Load { size, .. }) => self.w.line(format!(
                "if (!stp_kwrite(c, (uint64_t){a}, {size}, {v}, {near})) goto {err};"
            )),
            (Place::Memory(a, false), TargetResult::Bitfield { size, bit_offset, width, .. }) => {
                self.w.line(format!(
                    "if (!stp_kwrite_bits(c, (uint64_t){a}, {size}, {bit_offset}, {width}, {v}, {near})) goto {err};"
                ))
            }
            _ => unreachable!("sema refuses stores to values and addresses"),
        }
    }
}
