//! Where a kernel-side `@cast(p, "T", "MODULES")` finds `T`: `MODULES` is
//! `kernel`, `kernel<header.h>`, a loadable module's name (`ext4`,
//! `sd_mod`), or several of them separated by `:`, tried in order. With
//! none, the probed module comes first for `module("m")` points, then the
//! kernel, as SystemTap defaults to the probe's own module. A
//! `kernel<header.h>` whose type the kernel image does not have (it lives
//! in a module, such as `struct scsi_device`) is looked for in the probed
//! module's types too: SystemTap compiles the header, and the module's
//! BTF holds the same declaration.

use std::sync::Arc;

use crate::debuginfo::btf::Btf;
use crate::debuginfo::{CType, DebugInfoError, Layout};
use crate::diag::Span;

use super::super::vars::{fail, Failed, ProbeContext, TargetHost};
use super::kernel;

/// One place a cast's type may come from.
#[derive(Debug, Clone, PartialEq)]
enum TypePlace {
    /// The kernel image (BTF or DWARF).
    Kernel,
    /// The probed module, when the point is in one.
    Probed,
    /// A module named in the cast.
    Module(String),
}

/// The places `module` (the cast's third argument, if any) names, in the
/// order they are tried.
fn places(module: Option<&str>) -> Vec<TypePlace> {
    let Some(text) = module else {
        return vec![TypePlace::Probed, TypePlace::Kernel];
    };
    let mut out = Vec::new();
    for part in text.split(':').map(str::trim).filter(|p| !p.is_empty()) {
        let name = part.split('<').next().unwrap_or(part).trim();
        if name == "kernel" {
            out.push(TypePlace::Kernel);
            if part.contains('<') {
                out.push(TypePlace::Probed);
            }
        } else {
            out.push(TypePlace::Module(name.to_string()));
        }
    }
    out.dedup();
    out
}

/// The aggregate type `name` a cast names, and the module types it came
/// from (its members are read with them); `None`: the kernel's.
pub(super) fn cast_aggregate(
    h: &dyn TargetHost,
    context: &ProbeContext,
    module: Option<&str>,
    name: &str,
    span: Span,
) -> Result<(CType, Option<Arc<Btf>>), Failed> {
    let kernel = kernel(h).ok_or_else(|| {
        fail(
            span,
            "@cast needs the kernel's type information (a tree with -r)".into(),
        )
    })?;
    let mut kernel_error = None;
    let mut module_errors = Vec::new();
    for place in places(module) {
        match place {
            TypePlace::Kernel => match kernel.layout(name) {
                Ok(layout) => return Ok((aggregate(&layout.value), None)),
                Err(e) => kernel_error = Some(e.to_string()),
            },
            TypePlace::Probed => {
                if let Some(types) = context.vars().module_types() {
                    if let Ok(layout) = types.layout(name) {
                        return Ok((aggregate(&layout), Some(types)));
                    }
                }
            }
            TypePlace::Module(m) => match kernel.module_types(&m) {
                Ok(types) => match types.layout(name) {
                    Ok(layout) => return Ok((aggregate(&layout), Some(types))),
                    Err(DebugInfoError::NoSuchType { name, source }) => {
                        module_errors.push(format!(
                            "module '{m}': no struct, union or typedef '{name}' in its {source}"
                        ))
                    }
                    Err(e) => module_errors.push(format!("module '{m}': {e}")),
                },
                Err(why) => module_errors.push(format!("module '{m}': {why}")),
            },
        }
    }
    let message = match (kernel_error, module_errors.is_empty()) {
        (Some(e), true) => e,
        (kernel_error, _) => {
            let mut all: Vec<String> = kernel_error
                .map(|e| format!("kernel: {e}"))
                .into_iter()
                .collect();
            all.extend(module_errors);
            format!("@cast: type '{name}' not found ({})", all.join("; "))
        }
    };
    Err(fail(span, message))
}

/// The aggregate a layout describes, as a value's pointee.
pub(super) fn aggregate(layout: &Layout) -> CType {
    CType::Aggregate {
        kind: layout.kind,
        name: Some(
            layout
                .name
                .trim_start_matches("struct ")
                .trim_start_matches("union ")
                .to_string(),
        ),
        size: Some(layout.size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_lists_are_tried_in_order() {
        assert_eq!(places(None), vec![TypePlace::Probed, TypePlace::Kernel]);
        assert_eq!(places(Some("kernel")), vec![TypePlace::Kernel]);
        assert_eq!(
            places(Some("kernel<scsi/scsi_device.h>")),
            vec![TypePlace::Kernel, TypePlace::Probed]
        );
        assert_eq!(
            places(Some("ext4:kernel")),
            vec![TypePlace::Module("ext4".into()), TypePlace::Kernel]
        );
        assert_eq!(
            places(Some("sd_mod<scsi/sd.h>")),
            vec![TypePlace::Module("sd_mod".into())]
        );
    }
}
