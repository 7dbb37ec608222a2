//! Timer points: `timer.s/ms/us/ns/hz/jiffies(N)` with an optional
//! `.randomize(M)`, and `timer.profile` (every CPU, at the kernel's
//! `CONFIG_HZ`). The runtime arms one hrtimer each
//! (`runtime-c/core/timer.c`).

use super::{number, parts_text, single, Family, Param, Parts, PointError, Resolution, Target};
use crate::ir::ProbeKind;
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("timer", Param::No), ("profile", Param::No)],
        &[("timer", Param::No), ("s", Param::Required)],
        &[("timer", Param::No), ("ms", Param::Required)],
        &[("timer", Param::No), ("us", Param::Required)],
        &[("timer", Param::No), ("ns", Param::Required)],
        &[("timer", Param::No), ("hz", Param::Required)],
        &[("timer", Param::No), ("jiffies", Param::Required)],
    ],
    names: &[
        "timer.s(N)",
        "timer.ms(N)",
        "timer.us(N)",
        "timer.ns(N)",
        "timer.hz(N)",
        "timer.jiffies(N)",
    ],
    types: &[
        "timer.hz(number)",
        "timer.jiffies(number)",
        "timer.ms(number)",
        "timer.msec(number)",
        "timer.ns(number)",
        "timer.nsec(number)",
        "timer.profile",
        "timer.s(number)",
        "timer.sec(number)",
        "timer.us(number)",
        "timer.usec(number)",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let err = |m: String| PointError {
        message: m,
        help: None,
    };
    let name = parts_text(parts);
    let kind = match parts.as_slice() {
        [("timer", None), ("profile", None)] => ProbeKind::Timer {
            period_ns: 1_000_000_000 / target.hz.max(1),
            randomize_ns: 0,
            per_cpu: true,
        },
        [("timer", None), (unit, arg), rest @ ..] => {
            let ns_per = |unit: &str| -> Option<u64> {
                Some(match unit {
                    "s" | "sec" => 1_000_000_000,
                    "ms" | "msec" => 1_000_000,
                    "us" | "usec" => 1_000,
                    "ns" | "nsec" => 1,
                    "jiffies" => 1_000_000_000 / target.hz.max(1),
                    _ => return None,
                })
            };
            let n = number(*arg);
            let period_ns = match (*unit, n) {
                ("hz", Some(hz)) if hz > 0 => 1_000_000_000 / hz as u64,
                (u, Some(v)) if v > 0 => match ns_per(u) {
                    Some(mult) => (v as u64)
                        .checked_mul(mult)
                        .ok_or_else(|| err(format!("'{name}': the period is too long")))?,
                    None => return Ok(None),
                },
                (u, _) if ns_per(u).is_some() || u == "hz" => {
                    return Err(err(format!(
                        "'{name}': timer.{u}(N) needs a positive number N"
                    )))
                }
                _ => return Ok(None),
            };
            let randomize_ns = match rest {
                [] => 0,
                [("randomize", Some(ast::Literal::Number(r)))] if r.value >= 0 && *unit != "hz" => {
                    let r = (r.value as u64).saturating_mul(ns_per(unit).unwrap_or(1));
                    if r >= period_ns {
                        return Err(err(format!(
                            "'{name}': the randomization must be smaller than the period"
                        )));
                    }
                    r
                }
                _ => return Ok(None),
            };
            ProbeKind::Timer {
                period_ns,
                randomize_ns,
                per_cpu: false,
            }
        }
        _ => return Ok(None),
    };
    Ok(single(parts, kind))
}
