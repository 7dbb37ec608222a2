//! Hardware breakpoints (stapprobes(3stap), HARDWARE BREAKPOINTS):
//! `kernel.data(ADDRESS)` and `kernel.data("SYMBOL")`, then `.write` (a
//! write there) or `.rw` (a read or a write), with `.length(N)` bytes
//! watched from an address (1 by default; not with a symbol). The runtime
//! places one wide perf hardware breakpoint, on every CPU, per point
//! (`runtime-c/core/hwbkpt.c`), looking a symbol up through kallsyms when
//! the session starts; a length the CPU cannot watch fails there, as in
//! SystemTap, whose translator takes any. The CPU's debug registers are
//! few (4 on x86-64): a point beyond them fails to register at run time.
//! arm64 targets are refused at pass 2: there the kernel single-steps
//! over a watchpoint only for perf's own overflow handlers, so a probe
//! handler's access would trap again forever.

use super::{parts_text, Family, Param, Parts, PointError, ProbeContext, Resolution, Target};
use crate::ir::{ProbeKind, ProbePoint};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[
            ("kernel", Param::No),
            ("data", Param::Required),
            ("write", Param::No),
        ],
        &[
            ("kernel", Param::No),
            ("data", Param::Required),
            ("rw", Param::No),
        ],
        &[
            ("kernel", Param::No),
            ("data", Param::Required),
            ("length", Param::Required),
            ("write", Param::No),
        ],
        &[
            ("kernel", Param::No),
            ("data", Param::Required),
            ("length", Param::Required),
            ("rw", Param::No),
        ],
    ],
    names: &[
        "kernel.data(ADDRESS).write",
        "kernel.data(ADDRESS).rw",
        "kernel.data(ADDRESS).length(LEN).write",
        "kernel.data(ADDRESS).length(LEN).rw",
        "kernel.data(\"SYMBOL\").write",
        "kernel.data(\"SYMBOL\").rw",
    ],
    types: &[
        "kernel.data(number).length(number).rw",
        "kernel.data(number).length(number).write",
        "kernel.data(number).rw",
        "kernel.data(number).write",
        "kernel.data(string).rw",
        "kernel.data(string).write",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let (data, length, access) = match parts.as_slice() {
        [("kernel", None), ("data", Some(d)), (access, None)] => (*d, None, *access),
        [("kernel", None), ("data", Some(d)), ("length", Some(l)), (access, None)] => {
            (*d, Some(*l), *access)
        }
        _ => return Ok(None),
    };
    let write_only = match access {
        "write" => true,
        "rw" => false,
        _ => return Ok(None),
    };
    let err = |message: String, help: Option<&str>| PointError {
        message,
        help: help.map(str::to_string),
    };
    if target
        .kernel
        .is_some_and(|k| k.arch() == crate::arch::Arch::Arm64)
    {
        return Err(err(
            format!(
                "'{}': hardware breakpoints are not available on arm64: its kernel steps over a watchpoint only for perf's own handlers, and a probe's would trap on the same access forever",
                parts_text(parts)
            ),
            Some("watch the writer instead, e.g. kernel.function(\"f\") on a function that stores there"),
        ));
    }
    let len = match length {
        None => 1,
        Some(ast::Literal::Number(n)) if n.value > 0 => n.value as u64,
        Some(_) => {
            return Err(err(
                format!(
                    "'{}': the length must be a positive number",
                    parts_text(parts)
                ),
                None,
            ))
        }
    };
    let (address, symbol) = match data {
        ast::Literal::Number(n) => (n.value as u64, None),
        ast::Literal::String(s) => {
            let symbol = s.to_str_lossy().into_owned();
            if length.is_some() {
                return Err(err(
                    format!(
                        "'{}': .length is not valid with a symbol name",
                        parts_text(parts)
                    ),
                    Some("watch the symbol's address with kernel.data(ADDRESS).length(N)"),
                ));
            }
            check_symbol(parts, &symbol, target)?;
            (0, Some(symbol))
        }
    };
    // SystemTap's name for the point: the address in hex, the length
    // always given.
    let name = match &symbol {
        Some(s) => format!("kernel.data(\"{s}\").length({len}).{access}"),
        None => format!("kernel.data({address:#x}).length({len}).{access}"),
    };
    Ok(Some(vec![(
        ProbePoint {
            name,
            kind: ProbeKind::HwBreakpoint {
                address,
                symbol,
                len,
                write_only,
            },
            optional: false,
        },
        ProbeContext::none(),
    )]))
}

/// With a kernel symbol table to check against (System.map), `symbol`
/// must be one of its symbols.
fn check_symbol(parts: &Parts<'_>, symbol: &str, target: Target<'_>) -> Result<(), PointError> {
    let Some(map) = target.kernel.and_then(|k| k.system_map()) else {
        return Ok(());
    };
    // Sorted by name.
    let symbols = map.symbols();
    if symbols
        .binary_search_by(|s| s.name.as_str().cmp(symbol))
        .is_ok()
    {
        return Ok(());
    }
    Err(PointError {
        message: format!(
            "'{}': no symbol '{symbol}' in the kernel's symbol table",
            parts_text(parts)
        ),
        help: Some("name a global variable of the kernel (see /proc/kallsyms)".to_string()),
    })
}
