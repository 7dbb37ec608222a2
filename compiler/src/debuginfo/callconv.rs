//! The calling conventions stapkit reads arguments through when no debug
//! information says where a variable lives: at a function's entry the
//! first integer/pointer arguments are in registers saved in `struct
//! pt_regs`, the rest on the stack; the return value is in one register at
//! a `.return` probe. Syscall wrappers (`__x64_sys_*`, `__arm64_sys_*`)
//! take one `struct pt_regs *` whose fields hold the user's arguments.
//!
//! A register holds 64 bits; a narrower parameter is the low bytes of it
//! (truncate to the parameter's size, sign-extend if signed). A struct
//! passed by value or a 128-bit integer takes two slots, or goes to the
//! stack: [`param_locations`] counts them, so the parameters after one
//! (`tcp_setsockopt`'s `optlen` after its `sockptr_t optval`) are found.

use std::fmt;

pub use crate::arch::Arch;

/// Where a value is, relative to the `struct pt_regs` of the probe hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgLocation {
    /// A `struct pt_regs` member (`di`, `regs[0]`), as C accepts it after `regs->`.
    Register(&'static str),
    /// A 64-bit stack slot at this byte offset from the stack pointer at
    /// function entry (`sp` on x86-64, `sp` on arm64).
    Stack(u64),
}

impl fmt::Display for ArgLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgLocation::Register(r) => write!(f, "regs->{r}"),
            ArgLocation::Stack(off) => write!(f, "*(u64 *)(sp + {off})"),
        }
    }
}

const X86_ARGS: [&str; 6] = ["di", "si", "dx", "cx", "r8", "r9"];
const X86_SYSCALL_ARGS: [&str; 6] = ["di", "si", "dx", "r10", "r8", "r9"];
const ARM64_REGS: [&str; 8] = [
    "regs[0]", "regs[1]", "regs[2]", "regs[3]", "regs[4]", "regs[5]", "regs[6]", "regs[7]",
];

/// Where integer/pointer argument `n` (1-based) is at function entry.
/// Beyond the registers, arguments are 8-byte stack slots above the
/// return address (x86-64) or at the stack pointer (arm64).
pub fn arg_location(arch: Arch, n: u32) -> Option<ArgLocation> {
    let i = n.checked_sub(1)? as usize;
    Some(match arch {
        Arch::X86_64 => match X86_ARGS.get(i) {
            Some(r) => ArgLocation::Register(r),
            None => ArgLocation::Stack(8 + 8 * (i - X86_ARGS.len()) as u64),
        },
        Arch::Arm64 => match ARM64_REGS.get(i) {
            Some(r) => ArgLocation::Register(r),
            None => ArgLocation::Stack(8 * (i - ARM64_REGS.len()) as u64),
        },
    })
}

/// How a parameter is passed, as far as the integer registers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgShape {
    /// An integer, pointer or enum of at most 8 bytes: one slot.
    Scalar,
    /// A floating-point value: in a vector register, no integer slot.
    Float,
    /// A 16-byte integer (`__int128`): two slots (an even pair on arm64).
    Int128,
    /// A struct or union passed by value, of this many bytes.
    Aggregate(u64),
}

impl ArgShape {
    /// The shape of a parameter of type `ty`; `None` when its size is
    /// unknown (an incomplete type), which leaves every later slot unknown.
    pub fn of(ty: &crate::debuginfo::CType) -> Option<ArgShape> {
        use crate::debuginfo::CType;
        Some(match ty.strip() {
            CType::Float { .. } => ArgShape::Float,
            CType::Int { size: 16, .. } => ArgShape::Int128,
            CType::Aggregate { size, .. } => ArgShape::Aggregate((*size)?),
            _ => ArgShape::Scalar,
        })
    }
}

/// Where each parameter starts at function entry, in order: the System V
/// x86-64 and AAPCS64 rules for the integer registers. An aggregate of at
/// most 16 bytes takes one or two registers if that many are left, else
/// goes whole to the stack (on arm64 no register is used after it); a
/// larger one is on the stack (x86-64) or passed by reference, a pointer
/// in one slot (arm64). Stack arguments take 8-byte slots. `None` for a
/// float (a vector register) and for everything after a parameter whose
/// shape is unknown.
pub fn param_locations(arch: Arch, shapes: &[Option<ArgShape>]) -> Vec<Option<ArgLocation>> {
    let (regs, stack_base): (&[&'static str], u64) = match arch {
        Arch::X86_64 => (&X86_ARGS, 8),
        Arch::Arm64 => (&ARM64_REGS, 0),
    };
    let mut next_reg = 0usize;
    let mut next_stack = stack_base;
    let mut known = true;
    let mut out = Vec::with_capacity(shapes.len());
    for shape in shapes {
        let Some(shape) = shape.filter(|_| known) else {
            known = false;
            out.push(None);
            continue;
        };
        // How many 8-byte slots, and whether registers may hold it.
        let (slots, in_regs) = match (arch, shape) {
            (_, ArgShape::Float) => {
                out.push(None);
                continue;
            }
            (_, ArgShape::Scalar) => (1, true),
            (_, ArgShape::Int128) => (2, true),
            (Arch::X86_64, ArgShape::Aggregate(size)) => (size.div_ceil(8).max(1), size <= 16),
            (Arch::Arm64, ArgShape::Aggregate(size)) if size > 16 => (1, true),
            (Arch::Arm64, ArgShape::Aggregate(size)) => (size.div_ceil(8).max(1), true),
        };
        let slots = slots as usize;
        if arch == Arch::Arm64 && shape == ArgShape::Int128 && next_reg % 2 == 1 {
            next_reg += 1;
        }
        if in_regs && next_reg + slots <= regs.len() {
            out.push(Some(ArgLocation::Register(regs[next_reg])));
            next_reg += slots;
        } else {
            if arch == Arch::Arm64 && in_regs {
                next_reg = regs.len();
            }
            out.push(Some(ArgLocation::Stack(next_stack)));
            next_stack += 8 * slots as u64;
        }
    }
    out
}

/// The register holding the return value at a `.return` probe.
pub fn return_register(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "ax",
        Arch::Arm64 => "regs[0]",
    }
}

/// The `struct pt_regs` member holding user syscall argument `n`
/// (1-based, up to 6) inside the `pt_regs` a syscall wrapper receives.
/// On arm64 the first argument is overwritten by the return value: at a
/// `.return` probe read it from `orig_x0`.
pub fn syscall_arg_register(arch: Arch, n: u32) -> Option<&'static str> {
    let i = n.checked_sub(1)? as usize;
    match arch {
        Arch::X86_64 => X86_SYSCALL_ARGS.get(i).copied(),
        Arch::Arm64 => ARM64_REGS.get(i).filter(|_| i < 6).copied(),
    }
}

/// The byte offset in `struct pt_regs` of user syscall argument `n`
/// (1-based, up to 6): where a syscall wrapper, which receives a pointer
/// to the user's saved registers, finds it. The layout of `pt_regs` is
/// user ABI (ptrace) on both architectures, so it does not vary by kernel.
pub fn syscall_arg_offset(arch: Arch, n: u32) -> Option<u64> {
    let i = n.checked_sub(1)? as usize;
    match arch {
        // r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ...
        Arch::X86_64 => [14u64, 13, 12, 7, 9, 8].get(i).map(|slot| slot * 8),
        // regs[31], sp, pc, pstate: argument i is regs[i].
        Arch::Arm64 => (i < 6).then_some(i as u64 * 8),
    }
}

/// The `struct pt_regs` member holding the syscall number.
pub fn syscall_nr_register(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "orig_ax",
        Arch::Arm64 => "syscallno",
    }
}

/// The `struct pt_regs` member holding the syscall's return value.
pub fn syscall_return_register(arch: Arch) -> &'static str {
    return_register(arch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x86_64_entry_and_return() {
        let regs: Vec<String> = (1..=7)
            .map(|n| arg_location(Arch::X86_64, n).unwrap().to_string())
            .collect();
        assert_eq!(
            regs,
            [
                "regs->di",
                "regs->si",
                "regs->dx",
                "regs->cx",
                "regs->r8",
                "regs->r9",
                "*(u64 *)(sp + 8)"
            ]
        );
        assert_eq!(arg_location(Arch::X86_64, 0), None);
        assert_eq!(return_register(Arch::X86_64), "ax");
        assert_eq!(syscall_arg_register(Arch::X86_64, 4), Some("r10"));
        assert_eq!(syscall_arg_register(Arch::X86_64, 7), None);
        assert_eq!(syscall_nr_register(Arch::X86_64), "orig_ax");
        // di is the 15th slot, r10 the 8th.
        assert_eq!(syscall_arg_offset(Arch::X86_64, 1), Some(112));
        assert_eq!(syscall_arg_offset(Arch::X86_64, 4), Some(56));
        assert_eq!(syscall_arg_offset(Arch::X86_64, 7), None);
        assert_eq!(syscall_arg_offset(Arch::Arm64, 2), Some(8));
    }

    #[test]
    fn aggregates_by_value_take_their_slots() {
        use ArgShape::*;
        let x86 = |shapes: &[Option<ArgShape>]| -> Vec<String> {
            param_locations(Arch::X86_64, shapes)
                .iter()
                .map(|l| l.map_or("-".into(), |l| l.to_string()))
                .collect()
        };
        // tcp_setsockopt(sk, level, optname, sockptr_t optval, optlen):
        // the 16-byte sockptr_t takes cx and r8, optlen is in r9.
        let setsockopt = [
            Some(Scalar),
            Some(Scalar),
            Some(Scalar),
            Some(Aggregate(16)),
            Some(Scalar),
        ];
        assert_eq!(
            x86(&setsockopt),
            ["regs->di", "regs->si", "regs->dx", "regs->cx", "regs->r9"]
        );
        // A large struct goes to the stack and uses no register; one that
        // no longer fits in the registers goes whole to the stack, and a
        // later scalar still takes the register left.
        assert_eq!(
            x86(&[
                Some(Aggregate(24)),
                Some(Scalar),
                Some(Scalar),
                Some(Scalar),
                Some(Scalar),
                Some(Scalar),
                Some(Aggregate(16)),
                Some(Scalar),
                Some(Scalar),
            ]),
            [
                "*(u64 *)(sp + 8)",
                "regs->di",
                "regs->si",
                "regs->dx",
                "regs->cx",
                "regs->r8",
                "*(u64 *)(sp + 32)",
                "regs->r9",
                "*(u64 *)(sp + 48)"
            ]
        );
        // Floats use no integer register; an unknown size hides the rest.
        assert_eq!(
            x86(&[Some(Float), Some(Scalar), None, Some(Scalar)]),
            ["-", "regs->di", "-", "-"]
        );
        // Plain scalars are arg_location's slots.
        let scalars = vec![Some(Scalar); 8];
        for (n, l) in param_locations(Arch::Arm64, &scalars)
            .into_iter()
            .enumerate()
        {
            assert_eq!(l, arg_location(Arch::Arm64, n as u32 + 1));
        }
        // arm64: a large struct is a pointer in one register, a 128-bit
        // integer starts at an even register, and a small struct that does
        // not fit ends the use of registers.
        assert_eq!(
            param_locations(
                Arch::Arm64,
                &[Some(Aggregate(32)), Some(Int128), Some(Scalar)]
            ),
            [
                Some(ArgLocation::Register("regs[0]")),
                Some(ArgLocation::Register("regs[2]")),
                Some(ArgLocation::Register("regs[4]")),
            ]
        );
        let mut shapes = vec![Some(Scalar); 7];
        shapes.extend([Some(Aggregate(16)), Some(Scalar)]);
        let arm = param_locations(Arch::Arm64, &shapes);
        assert_eq!(arm[7], Some(ArgLocation::Stack(0)));
        assert_eq!(arm[8], Some(ArgLocation::Stack(16)));
    }

    #[test]
    fn arm64_entry_and_return() {
        assert_eq!(
            arg_location(Arch::Arm64, 1),
            Some(ArgLocation::Register("regs[0]"))
        );
        assert_eq!(
            arg_location(Arch::Arm64, 8),
            Some(ArgLocation::Register("regs[7]"))
        );
        assert_eq!(arg_location(Arch::Arm64, 9), Some(ArgLocation::Stack(0)));
        assert_eq!(return_register(Arch::Arm64), "regs[0]");
        assert_eq!(syscall_arg_register(Arch::Arm64, 6), Some("regs[5]"));
        assert_eq!(syscall_arg_register(Arch::Arm64, 7), None);
        assert_eq!(Arch::from_name("aarch64"), Some(Arch::Arm64));
        assert_eq!(Arch::X86_64.syscall_prefix(), "__x64_");
    }
}
