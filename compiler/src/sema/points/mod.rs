//! Probe-point resolution: aliases are expanded (with their prologues,
//! epilogues and any suffix the use adds), and what remains is matched
//! against the built-in probe providers.

use crate::debuginfo::syscalls::SyscallParam;
use crate::debuginfo::{Arch, KernelInfo, Prototype, Tracepoint};
use crate::ir::{ProbeKind, ProbePoint};
use crate::syntax::ast;

use super::tapset::point_name;

mod function;
mod netfilter;
mod process;
mod syscall;
mod trace;

use function::function_probe;
use netfilter::netfilter_probe;
pub use netfilter::{netfilter_var, NETFILTER_VARS};
use process::{process_function_probe, process_lifetime_probe};
use syscall::syscall_probe;
use trace::trace_probe;

/// How deep aliases may refer to aliases.
const MAX_ALIAS_DEPTH: usize = 16;

/// A probe alias available to the script.
#[derive(Debug, Clone, Copy)]
pub struct AliasDef<'a> {
    /// The alias declaration.
    pub alias: &'a ast::ProbeAlias,
}

/// One concrete point a probe resolves to, with the alias code around it.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The concrete point.
    pub point: ProbePoint,
    /// Alias prologues, innermost (nearest the concrete point) first: an
    /// alias of an alias sees the variables the inner one sets, as in
    /// SystemTap, where each alias prepends to the probe it expands.
    pub prologues: Vec<&'a ast::Block>,
    /// Alias epilogues, outermost (nearest the probe's body) first.
    pub epilogues: Vec<&'a ast::Block>,
    /// The target variables the point offers.
    pub context: ProbeContext,
    /// The name `stap -l` lists it under: the outermost alias it came
    /// through (`syscall.kill`), or the concrete point's own name.
    pub listed: String,
}

/// Why a point did not resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct PointError {
    /// What is wrong.
    pub message: String,
    /// Help, if there is a likely fix.
    pub help: Option<String>,
}

/// What resolution needs from the target.
#[derive(Debug, Clone, Copy)]
pub struct Target<'k> {
    /// The kernel's `CONFIG_HZ` (for `timer.jiffies`).
    pub hz: u64,
    /// What the kernel looks like (absent without a tree: names are not
    /// checked and no target variables are available).
    pub kernel: Option<&'k KernelInfo>,
    /// The target's user-space programs (`process("PATH")`).
    pub programs: &'k crate::debuginfo::UserPrograms,
    /// Guru mode (`-g`): points that can stop the kernel are allowed.
    pub guru: bool,
}

/// What a probe point offers its handler beyond the script's own data:
/// the target variables (`$name`) it can read.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeContext {
    /// Nothing (begin, timers, raw kprobes).
    None,
    /// A function's entry or return: its prototype, where its arguments are.
    Function {
        prototype: Prototype,
        ret: bool,
        arch: Arch,
    },
    /// A tracepoint and its parameters.
    Tracepoint(Tracepoint),
    /// A syscall's entry wrapper (`__x64_sys_kill`) or its return: the
    /// user's arguments are in the `struct pt_regs` that the wrapper's one
    /// parameter points at, not in the wrapper's own argument registers.
    Syscall {
        /// The syscall's name (`kill`).
        name: String,
        /// Its user-visible parameters, in order.
        params: Vec<SyscallParam>,
        /// Whether this is the return.
        ret: bool,
        /// The architecture (where `pt_regs` keeps each argument).
        arch: Arch,
    },
    /// A function named without the information to check it (no kernel
    /// tree, or a module's function): why its variables are unknown.
    Unchecked(String),
    /// A user-space function (`process("PATH").function("f")`): its
    /// variables would need the program's DWARF, which stapkit does not
    /// read; the argument functions (`int_arg(N)`, ...) work instead.
    UserSpace,
    /// A netfilter hook: `$hooknum`, `$skb`, `$in`, `$out` and the
    /// writable `$verdict`, in fixed slots the runtime fills.
    Netfilter,
    /// An inlined copy of a function (`.inline`): its variables would need
    /// DWARF location lists, which stapkit does not evaluate; `callers`
    /// are the functions its copies are in, to suggest instead.
    Inline {
        /// The functions containing the copies (`__x64_sys_fsync`), sorted.
        callers: Vec<String>,
    },
}

type Parts<'p> = Vec<(&'p str, Option<&'p ast::Literal>)>;

fn parts(point: &ast::ProbePoint) -> Parts<'_> {
    point
        .components
        .iter()
        .filter_map(|c| match c {
            ast::Component::Named(n) => Some((n.name.name.as_str(), n.arg.as_ref())),
            ast::Component::Group(_) => None,
        })
        .collect()
}

/// Resolves an expanded point (no brace groups) to concrete points.
pub fn resolve<'a>(
    point: &ast::ProbePoint,
    aliases: &[AliasDef<'a>],
    target: Target<'_>,
) -> Result<Vec<Resolved<'a>>, PointError> {
    resolve_parts(&parts(point), aliases, target, 0)
}

fn resolve_parts<'a>(
    parts: &Parts<'_>,
    aliases: &[AliasDef<'a>],
    target: Target<'_>,
    depth: usize,
) -> Result<Vec<Resolved<'a>>, PointError> {
    if depth > MAX_ALIAS_DEPTH {
        return Err(PointError {
            message: "probe aliases nest too deeply (a recursive alias?)".into(),
            help: None,
        });
    }
    if let Some(points) = builtin(parts, target)? {
        return Ok(points
            .into_iter()
            .map(|(point, context)| Resolved {
                listed: point.name.clone(),
                point,
                prologues: Vec::new(),
                epilogues: Vec::new(),
                context,
            })
            .collect());
    }
    // Aliases naming more of the point win: `vfs.read.return` is its own
    // alias, not `vfs.read` with a `.return` suffix (and `syscall.*.return`
    // is every `syscall.X.return`, not also `syscall.X` plus `.return`).
    let mut matched = Vec::new();
    // `**` stands for one or more whole components: the alias's whole
    // name must match, with no suffix.
    let spans_components = parts.iter().any(|(n, a)| *n == "**" && a.is_none());
    // Each component decoded once, not once per alias (a huge component
    // would cost its length for every alias).
    let globs: Vec<Glob<'_>> = parts.iter().map(|(n, _)| Glob::new(n)).collect();
    for def in aliases {
        for name in &def.alias.names {
            let alias_parts = self::parts(name);
            if spans_components {
                // Private aliases (`__netfilter.ipv4`, which only works
                // with a suffix) only when the pattern names them.
                let private = |p: &Parts<'_>| p.first().is_some_and(|(n, _)| n.starts_with("__"));
                if spanning_match(parts, &globs, &alias_parts)
                    && (!private(&alias_parts) || private(parts))
                {
                    matched.push((def, name, parts.len()));
                }
                continue;
            }
            if alias_parts.len() > parts.len() {
                continue;
            }
            if alias_matches(&alias_parts, parts, &globs) {
                matched.push((def, name, alias_parts.len()));
            }
        }
    }
    let longest = matched.iter().map(|&(_, _, n)| n).max().unwrap_or(0);
    let mut out = Vec::new();
    for (def, name, len) in matched {
        if len < longest {
            continue;
        }
        {
            let suffix = &parts[len..];
            // `a !, b`: the first sufficient point that resolves ends the
            // alternatives, as in a probe's own point list.
            let mut sufficient_hit = false;
            for expansion in &def.alias.points {
                if sufficient_hit {
                    break;
                }
                for expanded in expansion.expand(1024).unwrap_or_default() {
                    let mut target_parts = self::parts(&expanded);
                    target_parts.extend(suffix.iter().cloned());
                    let inner = match resolve_parts(&target_parts, aliases, target, depth + 1) {
                        Ok(inner) => inner,
                        // `**` is a wildcard: an alias it reaches that
                        // does not resolve here is left out.
                        Err(_) if expanded.optional || spans_components => Vec::new(),
                        // The suffix is what the aliased point lacks.
                        Err(e)
                            if !suffix.is_empty()
                                && e.message.ends_with("matches no probe point or alias") =>
                        {
                            return Err(PointError {
                                message: format!(
                                    "probe point '{}': '{}' is an alias of '{}', which has no '.{}'",
                                    parts_text(parts),
                                    point_name(name),
                                    parts_text(&self::parts(&expanded)),
                                    parts_text(&suffix.to_vec()),
                                ),
                                help: None,
                            })
                        }
                        Err(e)
                            if target_parts
                                .first()
                                .is_some_and(|(n, _)| *n == "__unavailable") =>
                        {
                            return Err(PointError {
                                message: format!(
                                    "probe point '{}' is not available: {}",
                                    parts_text(parts),
                                    e.message
                                ),
                                help: e.help,
                            })
                        }
                        Err(e) => return Err(e),
                    };
                    if expanded.sufficient && !inner.is_empty() {
                        sufficient_hit = true;
                    }
                    let mut listed = point_name(name);
                    if !suffix.is_empty() {
                        listed = format!("{listed}.{}", parts_text(&suffix.to_vec()));
                    }
                    for mut r in inner {
                        r.listed = listed.clone();
                        let mut own_epilogues = Vec::new();
                        match def.alias.kind {
                            ast::AliasKind::Prologue => r.prologues.push(&def.alias.body),
                            ast::AliasKind::Epilogue => own_epilogues.push(&def.alias.body),
                        }
                        if let Some(epilogue) = &def.alias.epilogue {
                            own_epilogues.push(epilogue);
                        }
                        r.epilogues.splice(0..0, own_epilogues);
                        out.push(r);
                    }
                }
            }
        }
    }
    // `process.*`, `timer.*`, `*`: the built-in points the pattern's
    // wildcards can name (aliases matched above already).
    if parts.iter().any(|(n, _)| n.contains('*')) {
        out.extend(builtin_wildcards(parts, target)?);
    }
    if out.is_empty()
        && parts
            .first()
            .is_some_and(|(n, _)| glob(n, "syscall") || glob(n, "nd_syscall"))
        && target.kernel.is_none()
    {
        return Err(PointError {
            message: format!(
                "probe point '{}': syscall probes are generated from the kernel's syscall table, and no kernel tree was found",
                parts_text(parts)
            ),
            help: Some("name a fetched kernel with -r (see `stap-prep list`)".into()),
        });
    }
    if out.is_empty() && longest > 0 {
        // Aliases matched, but every point they name is optional and
        // missing from this kernel.
        return Err(PointError {
            message: format!(
                "probe point '{}': its alias stands for optional points only, and none of them exists here",
                parts_text(parts)
            ),
            help: None,
        });
    }
    if out.is_empty() {
        let shown = parts_text(parts);
        let mut known: Vec<String> = BUILTIN_NAMES.iter().map(|s| s.to_string()).collect();
        known.extend(
            aliases
                .iter()
                .flat_map(|a| a.alias.names.iter().map(point_name)),
        );
        let help = similar(&shown, &known).map(|s| format!("did you mean '{s}'?"));
        return Err(PointError {
            message: format!("probe point '{shown}' matches no probe point or alias"),
            help,
        });
    }
    Ok(out)
}

/// Whether a built-in point's component takes a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    /// Never (`never`, `.return`).
    No,
    /// It may (`begin(N)`, `process("PATH")`).
    Optional,
    /// It must (`timer.ms(N)`, `function("NAME")`).
    Required,
}

/// The shapes of the built-in points, for wildcard components: a
/// wildcard never stands for a parameter, so `timer.*` is `timer.profile`
/// alone and `process.*` is `process.begin` and `process.end`, as
/// SystemTap lists them; `kernel.function("f").*` is its `.call` and
/// `.return`.
const BUILTIN_SHAPES: &[&[(&str, Param)]] = &[
    &[("begin", Param::Optional)],
    &[("end", Param::Optional)],
    &[("error", Param::Optional)],
    &[("never", Param::No)],
    &[("timer", Param::No), ("profile", Param::No)],
    &[("timer", Param::No), ("s", Param::Required)],
    &[("timer", Param::No), ("ms", Param::Required)],
    &[("timer", Param::No), ("us", Param::Required)],
    &[("timer", Param::No), ("ns", Param::Required)],
    &[("timer", Param::No), ("hz", Param::Required)],
    &[("timer", Param::No), ("jiffies", Param::Required)],
    &[("process", Param::Optional), ("begin", Param::No)],
    &[("process", Param::Optional), ("end", Param::No)],
    &[("process", Param::Required), ("function", Param::Required)],
    &[
        ("process", Param::Required),
        ("function", Param::Required),
        ("call", Param::No),
    ],
    &[
        ("process", Param::Required),
        ("function", Param::Required),
        ("return", Param::No),
    ],
    &[("kernel", Param::No), ("function", Param::Required)],
    &[
        ("kernel", Param::No),
        ("function", Param::Required),
        ("call", Param::No),
    ],
    &[
        ("kernel", Param::No),
        ("function", Param::Required),
        ("return", Param::No),
    ],
    &[("kprobe", Param::No), ("function", Param::Required)],
    &[
        ("kprobe", Param::No),
        ("function", Param::Required),
        ("return", Param::No),
    ],
    &[("kernel", Param::No), ("trace", Param::Required)],
];

/// The built-in points a pattern with wildcard components names: each
/// shape whose components the pattern's match, resolved with the
/// pattern's parameters. A shape that matches but does not resolve (a
/// missing program) is an error only when no shape resolves.
fn builtin_wildcards<'a>(
    parts: &Parts<'_>,
    target: Target<'_>,
) -> Result<Vec<Resolved<'a>>, PointError> {
    let mut out = Vec::new();
    let mut first_error = None;
    for shape in BUILTIN_SHAPES {
        let Some(concrete) = shape_match(parts, shape) else {
            continue;
        };
        match builtin(&concrete, target) {
            Ok(Some(points)) => out.extend(points.into_iter().map(|(point, context)| Resolved {
                listed: point.name.clone(),
                point,
                prologues: Vec::new(),
                epilogues: Vec::new(),
                context,
            })),
            Ok(None) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if out.is_empty() => Err(e),
        _ => Ok(out),
    }
}

const BUILTIN_NAMES: &[&str] = &[
    "begin",
    "end",
    "error",
    "never",
    "timer.s(N)",
    "timer.ms(N)",
    "timer.us(N)",
    "timer.ns(N)",
    "timer.hz(N)",
    "timer.jiffies(N)",
    "process(\"PATH\").function(\"NAME\")",
    "process(\"PATH\").begin",
    "process(\"PATH\").end",
    "process(PID).begin",
    "process(PID).end",
    "process.begin",
    "process.end",
    "netfilter.hook(\"HOOK\").pf(\"PF\")",
    "netfilter.pf(\"PF\").hook(\"HOOK\")",
    "netfilter.hook(\"HOOK\").pf(\"PF\").priority(\"P\")",
];

pub(super) fn literal_text(l: &ast::Literal) -> String {
    match l {
        ast::Literal::Number(n) => n.value.to_string(),
        ast::Literal::String(s) => format!("\"{}\"", s.to_str_lossy()),
    }
}

pub(super) fn parts_text(parts: &Parts<'_>) -> String {
    resolved_text(parts, "", "")
}

/// A concrete point's name: as written, but with `component`'s argument
/// replaced by the quoted `value` it resolved to
/// (`kernel.function("vfs_read").return` for `kernel.function("vfs_*").return`).
pub(super) fn resolved_text(parts: &Parts<'_>, component: &str, value: &str) -> String {
    parts
        .iter()
        .map(|(n, a)| match a {
            Some(_) if *n == component => format!("{n}(\"{value}\")"),
            // Addresses read as SystemTap shows them: in hex.
            Some(ast::Literal::Number(v)) if *n == "statement" => {
                format!("{n}({:#x})", v.value as u64)
            }
            Some(l) => format!("{n}({})", literal_text(l)),
            None => n.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn number(arg: Option<&ast::Literal>) -> Option<i64> {
    match arg {
        Some(ast::Literal::Number(n)) => Some(n.value),
        _ => None,
    }
}

/// The concrete point a built-in `shape` makes of the pattern `parts`
/// (its names, the pattern's parameters), if the pattern matches it:
/// each component by [`glob`] with a parameter where the shape allows
/// one, `**` for one or more components that take none.
fn shape_match<'p>(
    parts: &[(&str, Option<&'p ast::Literal>)],
    shape: &[(&'static str, Param)],
) -> Option<Parts<'p>> {
    match (parts.split_first(), shape.split_first()) {
        (None, None) => Some(Vec::new()),
        (Some(((pat, None), rest)), _) if *pat == "**" => (1..=shape.len()).find_map(|k| {
            if shape[..k].iter().any(|(_, p)| *p == Param::Required) {
                return None;
            }
            let mut out: Parts<'p> = shape[..k].iter().map(|(n, _)| (*n, None)).collect();
            out.extend(shape_match(rest, &shape[k..])?);
            Some(out)
        }),
        (Some(((pat, arg), rest)), Some(((name, param), shape_rest))) => {
            let arg_fits = match param {
                Param::No => arg.is_none(),
                Param::Optional => true,
                Param::Required => arg.is_some(),
            };
            if !(glob(pat, name) && arg_fits) {
                return None;
            }
            let mut out: Parts<'p> = vec![(*name, *arg)];
            out.extend(shape_match(rest, shape_rest)?);
            Some(out)
        }
        _ => None,
    }
}

/// Whether the pattern `parts`, which has a `**`, matches the whole
/// alias name `alias` (`**` standing for one or more of its components).
/// `globs` are the components of `parts`, decoded.
fn spanning_match(
    parts: &[(&str, Option<&ast::Literal>)],
    globs: &[Glob<'_>],
    alias: &[(&str, Option<&ast::Literal>)],
) -> bool {
    match (parts.split_first(), alias.split_first()) {
        (None, None) => true,
        (Some(((pat, None), rest)), _) if *pat == "**" => {
            (1..=alias.len()).any(|k| spanning_match(rest, &globs[1..], &alias[k..]))
        }
        (Some(((_, pa), rest)), Some(((an, aa), alias_rest))) => {
            globs[0].matches(an)
                && aa.map(literal_text) == pa.map(literal_text)
                && spanning_match(rest, &globs[1..], alias_rest)
        }
        _ => false,
    }
}

/// Whether alias name `alias` matches the first components of `parts`.
/// `globs` are the components of `parts`, decoded.
fn alias_matches(alias: &Parts<'_>, parts: &Parts<'_>, globs: &[Glob<'_>]) -> bool {
    alias
        .iter()
        .zip(parts.iter().zip(globs))
        .all(|((an, aa), ((_, pa), g))| {
            g.matches(an) && aa.map(literal_text) == pa.map(literal_text)
        })
}

/// The built-in providers: begin/end/error(N), never, timer.*.
fn builtin(
    parts: &Parts<'_>,
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let err = |m: String| PointError {
        message: m,
        help: None,
    };
    let name = parts_text(parts);
    let priority = |arg: Option<&ast::Literal>| -> Result<i64, PointError> {
        match arg {
            None => Ok(0),
            Some(ast::Literal::Number(n)) => Ok(n.value),
            Some(_) => Err(err(format!("'{name}': the priority must be a number"))),
        }
    };
    let kind = match parts.as_slice() {
        [("begin", a)] => ProbeKind::Begin {
            priority: priority(*a)?,
        },
        [("end", a)] => ProbeKind::End {
            priority: priority(*a)?,
        },
        [("error", a)] => ProbeKind::Error {
            priority: priority(*a)?,
        },
        [("never", None)] => ProbeKind::Never,
        // What a tapset alias stands for where there is nothing to
        // probe: it never resolves, and says why (the alias that names
        // it adds its own name).
        [("__unavailable", Some(ast::Literal::String(why)))] => {
            return Err(err(why.to_str_lossy().into_owned()));
        }
        [("kprobe", None), ("statement", Some(addr)), ("absolute", None)] => {
            let ast::Literal::Number(addr) = addr else {
                return Err(err(format!("'{name}': the address must be a number")));
            };
            if !target.guru {
                return Err(PointError {
                    message: format!(
                        "'{name}' probes a raw kernel address, which needs guru mode"
                    ),
                    help: Some(
                        "rerun with -g; a wrong address can crash the kernel, so check it in /proc/kallsyms"
                            .into(),
                    ),
                });
            }
            ProbeKind::KprobeAddress {
                address: addr.value as u64,
            }
        }
        [("kernel", None), ("function", Some(f)), rest @ ..]
        | [("kprobe", None), ("function", Some(f)), rest @ ..] => {
            return function_probe(parts, f, None, rest, parts[0].0 == "kprobe", target);
        }
        [("module", Some(m)), ("function", Some(f)), rest @ ..]
        | [("kprobe", None), ("module", Some(m)), ("function", Some(f)), rest @ ..] => {
            let ast::Literal::String(m) = m else {
                return Err(err(format!("'{name}': the module name must be a string")));
            };
            return function_probe(
                parts,
                f,
                Some(m.to_str_lossy().into_owned()),
                rest,
                parts[0].0 == "kprobe",
                target,
            );
        }
        [("process", path), (event @ ("begin" | "end"), None)] => {
            return process_lifetime_probe(parts, *path, *event == "end", target);
        }
        [("process", Some(path)), ("function", Some(f)), rest @ ..] => {
            return process_function_probe(parts, path, f, rest, target);
        }
        [("kernel", None), ("trace", Some(t)), rest @ ..] => {
            return trace_probe(parts, t, rest, target);
        }
        [("netfilter", None), ..] => return netfilter_probe(parts, target),
        [("__syscall", Some(n)), rest @ ..] => {
            return syscall_probe(n, &rest.to_vec(), target);
        }
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
    Ok(Some(vec![(
        ProbePoint {
            name,
            kind,
            optional: false,
        },
        ProbeContext::None,
    )]))
}

pub use crate::text::glob::matches as glob;
use crate::text::glob::Glob;

/// The candidate closest to `name` by edit distance, if close enough.
pub fn similar<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    let limit = (name.len() / 3).max(2);
    crate::text::similar::closest(name, candidates.iter().map(String::as_str), |_| limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_components() {
        assert!(glob("sys_*", "sys_open"));
        assert!(glob("*", "anything"));
        assert!(glob("a*c*", "abcd"));
        assert!(!glob("sys_*", "do_sys_open"));
    }

    #[test]
    fn wildcards_name_builtin_points_without_parameters() {
        let target = Target {
            hz: 250,
            kernel: None,
            programs: &Default::default(),
            guru: false,
        };
        let names = |parts: &Parts<'_>| -> Vec<String> {
            builtin_wildcards(parts, target)
                .unwrap()
                .into_iter()
                .map(|r| r.listed)
                .collect()
        };
        assert_eq!(
            names(&vec![("*", None)]),
            ["begin", "end", "error", "never"]
        );
        assert_eq!(
            names(&vec![("timer", None), ("*", None)]),
            ["timer.profile"]
        );
        assert_eq!(
            names(&vec![("process", None), ("*", None)]),
            ["process.begin", "process.end"]
        );
        assert_eq!(names(&vec![("proc*", None), ("e*", None)]), ["process.end"]);
        assert!(names(&vec![("netfilter", None), ("*", None)]).is_empty());
        // `**`: one or more components, never a parameter.
        assert_eq!(
            names(&vec![("**", None)]),
            [
                "begin",
                "end",
                "error",
                "never",
                "timer.profile",
                "process.begin",
                "process.end"
            ]
        );
        assert_eq!(
            names(&vec![("timer", None), ("**", None)]),
            ["timer.profile"]
        );
        // A point that matches but cannot resolve is the error.
        let mut map = crate::diag::SourceMap::new();
        let file = map.add("t.stp", "probe process(\"relative\").* {}");
        let path = ast::Literal::String(ast::StrLit {
            value: b"relative".to_vec(),
            span: crate::diag::Span::new(file, 14, 24),
        });
        let e =
            builtin_wildcards(&vec![("process", Some(&path)), ("*", None)], target).unwrap_err();
        assert!(e.message.contains("must be absolute"), "{}", e.message);
    }

    #[test]
    fn suggestions_are_close_names() {
        let known = vec![
            "begin".to_string(),
            "end".to_string(),
            "timer.ms(N)".to_string(),
        ];
        assert_eq!(similar("begn", &known), Some("begin"));
        assert_eq!(similar("zzzzzz", &known), None);
    }
}
