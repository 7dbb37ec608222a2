//! Perf events (stapprobes(3stap), PERF): `perf.type(N).config(M)` with
//! an optional `.sample(K)` (every K events; 1000000 by default) or
//! `.hz(K)` (K times a second), then optionally `.process("P")` or
//! `.process` (the `-c`/`-x` program) and `.counter("NAME")`. The tapset
//! names the common events (`perf.sw.cpu_clock`, `perf.hw.cpu_cycles`,
//! `runtime-c/tapset/perf.stp`). The runtime (`runtime-c/core/perf.c`)
//! makes one kernel counter per CPU, or one in the target process for
//! `.process`; a `.counter` point never runs its body and is read with
//! `@perf("NAME")`. Type and config are passed to the kernel unchecked,
//! as SystemTap does: an event the machine lacks fails at start-up.

use super::{
    number, parts_text, Family, Param, Parts, PointError, ProbeContext, Resolution, Target,
};
use crate::ir::{ProbeKind, ProbePoint};

/// SystemTap's sample period when a point names none.
const DEFAULT_PERIOD: u64 = 1_000_000;

const TYPE: (&str, Param) = ("type", Param::Required);
const CONFIG: (&str, Param) = ("config", Param::Required);

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("perf", Param::No), TYPE, CONFIG],
        &[
            ("perf", Param::No),
            TYPE,
            CONFIG,
            ("sample", Param::Required),
        ],
        &[("perf", Param::No), TYPE, CONFIG, ("hz", Param::Required)],
        &[
            ("perf", Param::No),
            TYPE,
            CONFIG,
            ("process", Param::Optional),
        ],
        &[
            ("perf", Param::No),
            TYPE,
            CONFIG,
            ("counter", Param::Required),
        ],
    ],
    names: &[
        "perf.type(N).config(M)",
        "perf.type(N).config(M).sample(K)",
        "perf.type(N).config(M).hz(K)",
        "perf.type(N).config(M).process(\"PROC\")",
        "perf.type(N).config(M).counter(\"NAME\")",
        "perf.type(N).config(M).process(\"PROC\").counter(\"NAME\")",
    ],
    types: &[
        "perf.type(number).config(number)",
        "perf.type(number).config(number).counter(string)",
        "perf.type(number).config(number).hz(number)",
        "perf.type(number).config(number).process",
        "perf.type(number).config(number).process(string)",
        "perf.type(number).config(number).sample(number)",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let [("perf", None), ("type", t), ("config", c), rest @ ..] = parts.as_slice() else {
        return Ok(None);
    };
    let err = |what: &str| PointError {
        message: format!("'{}': {what}", parts_text(parts)),
        help: None,
    };
    let event_type = match number(*t) {
        Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => n as u32,
        _ => return Err(err("perf.type(N) needs a number from 0 to 4294967295")),
    };
    let Some(config) = number(*c) else {
        return Err(err("perf.config(M) needs a number"));
    };
    let mut period = None;
    let mut freq = false;
    let mut process = None;
    let mut counter = None;
    for (i, (name, arg)) in rest.iter().enumerate() {
        match (*name, arg) {
            ("sample" | "hz", _) if i == 0 => {
                let n = number(*arg).filter(|n| *n > 0).ok_or_else(|| PointError {
                    message: format!(
                        "invalid perf sample period {}",
                        arg.map_or_else(String::new, super::literal_text)
                    ),
                    help: Some(format!(
                        "'{}': .{name}(K) takes a positive K",
                        parts_text(parts)
                    )),
                })?;
                period = Some(n as u64);
                freq = *name == "hz";
            }
            ("process", _) if process.is_none() && counter.is_none() => {
                process = Some(super::sdt::program_path(parts, *arg, target)?);
            }
            ("counter", Some(l)) if counter.is_none() => {
                counter = Some(super::sdt::string_arg(parts, l, "counter name")?);
            }
            _ => return Ok(None),
        }
    }
    if counter.is_some() && process.is_none() {
        return Err(PointError {
            message: format!(
                "'{}': a perf counter counts in a process",
                parts_text(parts)
            ),
            help: Some("add .process(\"PROC\") before .counter(\"NAME\")".into()),
        });
    }
    let kind = ProbeKind::Perf {
        event_type,
        config: config as u64,
        period: period.unwrap_or(DEFAULT_PERIOD),
        freq,
        process,
        counter,
    };
    Ok(Some(vec![(
        ProbePoint {
            name: point_name(&kind),
            kind,
            optional: false,
        },
        ProbeContext::none(),
    )]))
}

/// The point's name as SystemTap 5.1 gives it (observed with its `pp()`
/// and `-p2`): the sample period always spelt out, `.sample(K)` for a
/// `.hz(K)` too, and `.sample(0)` for a counter.
fn point_name(kind: &ProbeKind) -> String {
    let ProbeKind::Perf {
        event_type,
        config,
        period,
        freq,
        process,
        counter,
    } = kind
    else {
        return String::new();
    };
    let _ = freq;
    let period = if counter.is_some() { 0 } else { *period };
    let mut name = format!("perf.type({event_type}).config({config}).sample({period})");
    if let Some(p) = process {
        name.push_str(&format!(".process(\"{p}\")"));
    }
    if let Some(c) = counter {
        name.push_str(&format!(".counter(\"{c}\")"));
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_spell_the_default_period() {
        let kind = ProbeKind::Perf {
            event_type: 1,
            config: 0,
            period: DEFAULT_PERIOD,
            freq: false,
            process: None,
            counter: None,
        };
        assert_eq!(point_name(&kind), "perf.type(1).config(0).sample(1000000)");
        let hz = ProbeKind::Perf {
            event_type: 1,
            config: 3,
            period: 100,
            freq: true,
            process: Some("/bin/p".into()),
            counter: None,
        };
        assert_eq!(
            point_name(&hz),
            "perf.type(1).config(3).sample(100).process(\"/bin/p\")"
        );
        let counter = ProbeKind::Perf {
            event_type: 1,
            config: 0,
            period: DEFAULT_PERIOD,
            freq: false,
            process: Some("/bin/p".into()),
            counter: Some("c".into()),
        };
        assert_eq!(
            point_name(&counter),
            "perf.type(1).config(0).sample(0).process(\"/bin/p\").counter(\"c\")"
        );
    }
}
