//! `$var$` and `$var$$`: a target value pretty-printed into a string, as
//! SystemTap's manual (stapprobes, "$EXPR$") describes it:
//! `{.a=%i, .b=%u, .c={...}, .d=[...]}` for `$`, and with `$$` nested
//! structs expanded and arrays showing their first element
//! (`.d=[%i, ...]`). Lowered to one `sprintf` over member loads.
//!
//! As SystemTap 5.1 prints them (its record of `pretty_parms.stp`): an
//! anonymous union member is `<union>={...}` (an anonymous struct
//! `<struct>={...}`, by analogy), a struct behind a typedef
//! (`atomic_long_t`) is a struct, and a pointer to a number (`loff_t *`)
//! is the pointer in signed decimal where other pointers are `0x...`.
//! Anonymous members stay folded under `$$` too (their members are not
//! enumerable by name here), and at most [`MAX_VALUES`] values are read;
//! past that the text ends in `...`.

use crate::debuginfo::{CType, KernelInfo};
use crate::diag::Span;
use crate::ir::{self, Type};

use crate::sema::vars::{fail, scalar, Failed, Place, TargetHost};

/// The most values one pretty-printed string reads.
const MAX_VALUES: usize = 32;

/// How deep `$$` expands nested structs.
const MAX_DEPTH: usize = 4;

/// One pretty-printed string being built: the format text and the values
/// it prints, all read from `base`.
struct Printer {
    base: ir::TargetBase,
    deep: bool,
    span: Span,
    format: String,
    args: Vec<ir::Expr>,
    location: ir::Location,
    full: bool,
}

/// The `sprintf` that pretty-prints the value at `place`.
pub(super) fn pretty(
    h: &dyn TargetHost,
    base: ir::TargetBase,
    steps: Vec<ir::TargetStep>,
    place: Place,
    deep: bool,
    span: Span,
) -> Result<ir::ExprKind, Failed> {
    let kernel = h.config().kernel.clone();
    let location = h.location(span, "operator '$'".into());
    Walk {
        kernel: kernel.as_deref(),
    }
    .pretty(base, steps, place, deep, span, location)
}

/// The kernel's types, which the walk over a value's members reads.
struct Walk<'k> {
    kernel: Option<&'k KernelInfo>,
}

impl<'k> Walk<'k> {
    fn pretty(
        &mut self,
        base: ir::TargetBase,
        mut steps: Vec<ir::TargetStep>,
        place: Place,
        deep: bool,
        span: Span,
        location: ir::Location,
    ) -> Result<ir::ExprKind, Failed> {
        let mut p = Printer {
            base,
            deep,
            span,
            format: String::new(),
            args: Vec::new(),
            location,
            full: false,
        };
        match place {
            Place::Value(ty) => match ty.strip() {
                // A pointer to a struct: the struct it points to.
                CType::Pointer(to) if is_aggregate(to) => self.pretty_at(&mut p, &steps, to, 0)?,
                // A struct passed by value (a parameter in registers) has
                // no address to read its members at: SystemTap prints
                // each as `?`.
                CType::Aggregate { .. } if ty.aggregate_name().is_some() => {
                    self.unreadable_members(&mut p, &ty)?
                }
                _ => {
                    let (conv, result) = scalar_conv(&ty, false).ok_or_else(|| {
                        fail(span, format!("'{}' cannot be printed", ty.render()))
                    })?;
                    p.value(&steps, conv, result);
                }
            },
            Place::Address(ty) => {
                let object = match ty.strip() {
                    CType::Pointer(to) if is_aggregate(to) => {
                        steps.push(ir::TargetStep::Deref);
                        (**to).clone()
                    }
                    other => other.clone(),
                };
                self.pretty_at(&mut p, &steps, &object, 0)?;
            }
        }
        p.finish()
    }

    /// The object of type `ty` at the address `steps` reach, `depth` structs
    /// down from the value printed.
    fn pretty_at(
        &mut self,
        p: &mut Printer,
        steps: &[ir::TargetStep],
        ty: &CType,
        depth: usize,
    ) -> Result<(), Failed> {
        if is_aggregate(ty) {
            if depth > 0 && (!p.deep || depth >= MAX_DEPTH) {
                p.format.push_str("{...}");
                return Ok(());
            }
            return self.pretty_aggregate(p, steps, ty, depth);
        }
        let ty = ty.strip();
        // An anonymous struct or union (nothing to look its layout up by).
        if matches!(ty, CType::Aggregate { .. }) {
            p.format.push_str("{...}");
            return Ok(());
        }
        if let CType::Array { elem, len } = ty {
            match (p.deep, scalar_conv(elem, true)) {
                (true, Some((conv, result))) if *len != Some(0) => {
                    p.format.push('[');
                    p.value(steps, conv, result);
                    if *len != Some(1) {
                        p.format.push_str(", ...");
                    }
                    p.format.push(']');
                }
                _ => p.format.push_str("[...]"),
            }
            return Ok(());
        }
        match scalar_conv(ty, true) {
            Some((conv, result)) => p.value(steps, conv, result),
            None => p.format.push('?'),
        }
        Ok(())
    }

    /// The kernel, the lookup name and the layout of the aggregate `agg`.
    fn layout(
        &self,
        span: Span,
        agg: &CType,
    ) -> Result<(&'k KernelInfo, String, crate::debuginfo::Layout), Failed> {
        let name = agg
            .aggregate_name()
            .ok_or_else(|| fail(span, format!("'{}' has no members", agg.render())))?;
        let kernel = self
            .kernel
            .ok_or_else(|| fail(span, "members need the kernel's type information".into()))?;
        let layout = kernel
            .layout(&name)
            .map_err(|e| fail(span, e.to_string()))?
            .value;
        Ok((kernel, name, layout))
    }

    /// `{.a=?, .b=?}`: the named members of the struct or union `agg`
    /// (or a typedef of one), whose values cannot be read.
    fn unreadable_members(&mut self, p: &mut Printer, agg: &CType) -> Result<(), Failed> {
        let span = p.span;
        let (_, _, layout) = self.layout(span, agg)?;
        let members: Vec<String> = layout
            .members
            .iter()
            .filter(|m| !m.name.is_empty())
            .map(|m| format!(".{}=?", m.name))
            .collect();
        p.format.push_str(&format!("{{{}}}", members.join(", ")));
        Ok(())
    }

    /// `{.a=..., .b=...}` for the struct or union `agg` at `steps`.
    fn pretty_aggregate(
        &mut self,
        p: &mut Printer,
        steps: &[ir::TargetStep],
        agg: &CType,
        depth: usize,
    ) -> Result<(), Failed> {
        let span = p.span;
        let (kernel, name, layout) = self.layout(span, agg)?;
        p.format.push('{');
        for member in &layout.members {
            if p.full {
                break;
            }
            if member.name.is_empty() {
                if let CType::Aggregate { kind, .. } = member.ty.strip() {
                    if !p.format.ends_with('{') {
                        p.format.push_str(", ");
                    }
                    p.format.push_str(&format!("<{}>={{...}}", kind.keyword()));
                }
                continue;
            }
            let path = kernel
                .member_path(&name, &[member.name.as_str()])
                .map_err(|e| fail(span, e.to_string()))?
                .value;
            let Some(step) = path.steps.last() else {
                continue;
            };
            if !p.format.ends_with('{') {
                p.format.push_str(", ");
            }
            p.format.push_str(&format!(".{}=", member.name));
            let mut at = steps.to_vec();
            at.push(ir::TargetStep::Offset(step.offset));
            match step.bitfield {
                Some((shift, width)) => {
                    // Read as a bitfield chain is (`$p->flags_bit`).
                    let (size, signed) = scalar(&step.ty).unwrap_or((8, false));
                    let conv = if signed { "%d" } else { "%u" };
                    let result = ir::TargetResult::Bitfield {
                        size,
                        bit_offset: shift,
                        width,
                        signed,
                    };
                    p.value(&at, conv, result);
                }
                None => self.pretty_at(p, &at, &step.ty, depth + 1)?,
            }
        }
        p.format.push('}');
        Ok(())
    }
}

impl Printer {
    /// One value read at `steps` (or the base value itself).
    fn value(&mut self, steps: &[ir::TargetStep], conv: &str, result: ir::TargetResult) {
        if self.args.len() >= MAX_VALUES {
            self.full = true;
            self.format.push_str("...");
            return;
        }
        self.format.push_str(conv);
        self.args.push(ir::Expr {
            kind: ir::ExprKind::Target(Box::new(ir::TargetAccess {
                base: self.base.clone(),
                steps: steps.to_vec(),
                result,
            })),
            ty: Some(Type::Long),
            location: self.location.clone(),
        });
    }

    fn finish(self) -> Result<ir::ExprKind, Failed> {
        let format =
            crate::sema::format::parse(&self.format).map_err(|e| fail(self.span, e.message))?;
        Ok(ir::ExprKind::Printf {
            kind: ir::PrintfKind::Sprintf,
            format,
            args: self.args,
        })
    }
}

/// Whether `ty` is a struct or union itself (or a typedef of one), not a
/// pointer to one, with a name to look its layout up by.
fn is_aggregate(ty: &CType) -> bool {
    matches!(ty.strip(), CType::Aggregate { .. }) && ty.aggregate_name().is_some()
}

/// The conversion and read for a scalar: signed integers `%d`, unsigned
/// `%u`, `char` `%c`, pointers to numbers `%d` (as SystemTap 5.1 prints
/// `loff_t *pos`), other pointers `%p`. `in_memory` says whether the value is
/// loaded from an address (a member) or is the value in hand.
fn scalar_conv(ty: &CType, in_memory: bool) -> Option<(&'static str, ir::TargetResult)> {
    let (size, signed, conv) = match ty.strip() {
        CType::Int { name, size, signed } if matches!(size, 1 | 2 | 4 | 8) => {
            let conv = if name.contains("char") && *size == 1 {
                "%c"
            } else if *signed {
                "%d"
            } else {
                "%u"
            };
            (*size as u8, *signed, conv)
        }
        CType::Enum { size, signed, .. } if matches!(size, 1 | 2 | 4 | 8) => {
            (*size as u8, *signed, if *signed { "%d" } else { "%u" })
        }
        CType::Pointer(to)
            if matches!(
                to.strip(),
                CType::Int { .. } | CType::Enum { .. } | CType::Float { .. }
            ) && !matches!(to.strip(), CType::Int { size: 1, .. }) =>
        {
            (8, true, "%d")
        }
        CType::Pointer(_) => (8, false, "%p"),
        _ => return None,
    };
    let result = if in_memory {
        ir::TargetResult::Load { size, signed }
    } else {
        ir::TargetResult::Value { size, signed }
    };
    Some((conv, result))
}
