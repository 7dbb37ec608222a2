//! `$var$` and `$var$$`: a target value pretty-printed into a string, as
//! SystemTap's manual (stapprobes, "$EXPR$") describes it:
//! `{.a=%i, .b=%u, .c={...}, .d=[...]}` for `$`, and with `$$` nested
//! structs expanded and arrays showing their first element
//! (`.d=[%i, ...]`). Lowered to one `sprintf` over member loads.
//!
//! Anonymous struct/union members are left out (their members are not
//! enumerable by name here), and at most [`MAX_VALUES`] values are read;
//! past that the text ends in `...`.

use crate::debuginfo::CType;
use crate::diag::Span;
use crate::ir::{self, Type};

use super::check::Walker;
use super::target::{fail, Failed, Place};

/// The most values one pretty-printed string reads.
const MAX_VALUES: usize = 32;

/// How deep `$$` expands nested structs.
const MAX_DEPTH: usize = 4;

/// The format text and the values it prints.
struct Text {
    format: String,
    args: Vec<ir::Expr>,
    location: ir::Location,
    full: bool,
}

impl Walker<'_, '_> {
    /// The `sprintf` that pretty-prints the value at `place`.
    pub(super) fn pretty(
        &mut self,
        base: ir::TargetBase,
        mut steps: Vec<ir::TargetStep>,
        place: Place,
        deep: bool,
        span: Span,
    ) -> Result<ir::ExprKind, Failed> {
        let location = self.cx.location(span, "operator '$'".into());
        let mut text = Text {
            format: String::new(),
            args: Vec::new(),
            location,
            full: false,
        };
        match place {
            Place::Value(ty) => match ty.strip() {
                // A pointer to a struct: the struct it points to.
                CType::Pointer(to) if is_aggregate(to.strip()) => {
                    let agg = to.strip().clone();
                    self.pretty_aggregate(&base, &steps, &agg, deep, 0, &mut text, span)?;
                }
                _ => {
                    let (conv, result) = scalar_conv(&ty, false).ok_or_else(|| {
                        fail(span, format!("'{}' cannot be printed", ty.render()))
                    })?;
                    text.value(&base, &steps, conv, result);
                }
            },
            Place::Address(ty) => {
                let ty = ty.strip().clone();
                if let CType::Pointer(to) = &ty {
                    if is_aggregate(to.strip()) {
                        steps.push(ir::TargetStep::Deref);
                        let agg = to.strip().clone();
                        self.pretty_aggregate(&base, &steps, &agg, deep, 0, &mut text, span)?;
                        return text.finish(span);
                    }
                }
                self.pretty_at(&base, &steps, &ty, deep, 0, &mut text, span)?;
            }
        }
        text.finish(span)
    }

    /// The object of type `ty` at the address `steps` reach.
    #[allow(clippy::too_many_arguments)]
    fn pretty_at(
        &mut self,
        base: &ir::TargetBase,
        steps: &[ir::TargetStep],
        ty: &CType,
        deep: bool,
        depth: usize,
        text: &mut Text,
        span: Span,
    ) -> Result<(), Failed> {
        let ty = ty.strip();
        if is_aggregate(ty) {
            if depth > 0 && (!deep || depth >= MAX_DEPTH) {
                text.format.push_str("{...}");
                return Ok(());
            }
            return self.pretty_aggregate(base, steps, ty, deep, depth, text, span);
        }
        if let CType::Array { elem, len } = ty {
            let first = scalar_conv(elem, true);
            match (deep, first) {
                (true, Some((conv, result))) if *len != Some(0) => {
                    text.format.push('[');
                    text.value(base, steps, conv, result);
                    if *len != Some(1) {
                        text.format.push_str(", ...");
                    }
                    text.format.push(']');
                }
                _ => text.format.push_str("[...]"),
            }
            return Ok(());
        }
        match scalar_conv(ty, true) {
            Some((conv, result)) => text.value(base, steps, conv, result),
            None => text.format.push('?'),
        }
        Ok(())
    }

    /// `{.a=..., .b=...}` for the struct or union `agg` at `steps`.
    #[allow(clippy::too_many_arguments)]
    fn pretty_aggregate(
        &mut self,
        base: &ir::TargetBase,
        steps: &[ir::TargetStep],
        agg: &CType,
        deep: bool,
        depth: usize,
        text: &mut Text,
        span: Span,
    ) -> Result<(), Failed> {
        let name = agg
            .aggregate_name()
            .ok_or_else(|| fail(span, format!("'{}' has no members", agg.render())))?;
        let kernel = self
            .kernel()
            .ok_or_else(|| fail(span, "members need the kernel's type information".into()))?;
        let layout = kernel
            .layout(&name)
            .map_err(|e| fail(span, e.to_string()))?
            .value;
        text.format.push('{');
        let mut first = true;
        for member in layout.members.iter().filter(|m| !m.name.is_empty()) {
            if text.full {
                break;
            }
            let path = kernel
                .member_path(&name, &[member.name.as_str()])
                .map_err(|e| fail(span, e.to_string()))?
                .value;
            let Some(step) = path.steps.last() else {
                continue;
            };
            if !first {
                text.format.push_str(", ");
            }
            first = false;
            text.format.push_str(&format!(".{}=", member.name));
            let mut at = steps.to_vec();
            at.push(ir::TargetStep::Offset(step.offset));
            match step.bitfield {
                Some((shift, width)) => {
                    let (size, signed) = match *step.ty.strip() {
                        CType::Int { size, signed, .. } | CType::Enum { size, signed, .. } => {
                            (size.clamp(1, 8) as u8, signed)
                        }
                        _ => (4, false),
                    };
                    let conv = if signed { "%d" } else { "%u" };
                    text.value(
                        base,
                        &at,
                        conv,
                        ir::TargetResult::Bitfield {
                            size,
                            bit_offset: shift,
                            width,
                            signed,
                        },
                    );
                }
                None => self.pretty_at(base, &at, &step.ty, deep, depth + 1, text, span)?,
            }
        }
        text.format.push('}');
        Ok(())
    }
}

impl Text {
    /// One value read at `steps` (or the base value itself).
    fn value(
        &mut self,
        base: &ir::TargetBase,
        steps: &[ir::TargetStep],
        conv: &str,
        result: ir::TargetResult,
    ) {
        if self.args.len() >= MAX_VALUES {
            self.full = true;
            self.format.push_str("...");
            return;
        }
        self.format.push_str(conv);
        self.args.push(ir::Expr {
            kind: ir::ExprKind::Target(Box::new(ir::TargetAccess {
                base: base.clone(),
                steps: steps.to_vec(),
                result,
            })),
            ty: Some(Type::Long),
            location: self.location.clone(),
        });
    }

    fn finish(self, span: Span) -> Result<ir::ExprKind, Failed> {
        let format = super::format::parse(&self.format).map_err(|e| fail(span, e.message))?;
        Ok(ir::ExprKind::Printf {
            kind: ir::PrintfKind::Sprintf,
            format,
            args: self.args,
        })
    }
}

/// Whether `ty` (stripped) is a struct or union itself, not a pointer to one.
fn is_aggregate(ty: &CType) -> bool {
    matches!(ty, CType::Aggregate { .. }) && ty.aggregate_name().is_some()
}

/// The conversion and read for a scalar: signed integers `%d`, unsigned
/// `%u`, `char` `%c`, pointers `%p`. `in_memory` says whether the value is
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
