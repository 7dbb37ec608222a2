//! Probe-point resolution: aliases are expanded (with their prologues,
//! epilogues and any suffix the use adds), and what remains is matched
//! against the built-in probe providers.

use crate::debuginfo::KernelInfo;
use crate::ir::{ProbeKind, ProbePoint};
use crate::syntax::ast;

use super::tapset::point_name;
pub use super::vars::ProbeContext;

mod function;
mod hwbkpt;
mod kernel_dwarf;
mod kernel_label;
mod library;
mod netfilter;
mod perf;
mod plt;
mod process;
mod process_dwarf;
mod procfs;
mod program_glob;
mod python;
mod sdt;
mod session;
mod syscall;
mod timer;
mod trace;

/// The built-in probe families, each in its own file: the shapes of their
/// points (for wildcard components), the names suggested when a point
/// matches nothing, and their resolution. Wildcards list points, and
/// suggestions are made, in this order.
const FAMILIES: &[&Family] = &[
    &session::FAMILY,
    &timer::FAMILY,
    &process::FAMILY,
    &sdt::FAMILY,
    &plt::FAMILY,
    &function::FAMILY,
    &trace::FAMILY,
    &hwbkpt::FAMILY,
    &perf::FAMILY,
    &netfilter::FAMILY,
    &procfs::FAMILY,
    &python::FAMILY,
    &syscall::FAMILY,
];

/// A built-in probe family.
pub(super) struct Family {
    /// The shapes of its points: a wildcard never stands for a parameter,
    /// so `timer.*` is `timer.profile` alone and `process.*` is
    /// `process.begin` and `process.end`, as SystemTap lists them;
    /// `kernel.function("f").*` is its `.call` and `.return`.
    pub shapes: &'static [&'static [(&'static str, Param)]],
    /// Its points as suggested when a point matches nothing.
    pub names: &'static [&'static str],
    /// Its points' shapes as `stap --dump-probe-types` lists them, in
    /// SystemTap's notation (a parameter is `(number)` or `(string)`).
    pub types: &'static [&'static str],
    /// The concrete points `parts` stand for, `None` when they do not
    /// name a point of this family.
    pub resolve: fn(&Parts<'_>, Target<'_>) -> Resolution,
}

/// What a family makes of a point: its concrete points with their
/// contexts, nothing (not this family's), or why it cannot resolve.
pub(super) type Resolution = Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError>;

/// The points several files give (a pattern's programs, a program's
/// libraries), each found or refused: an error, the first, only when no
/// file gave a point.
pub(super) fn points_of_any(
    results: impl IntoIterator<Item = Result<Vec<(ProbePoint, ProbeContext)>, PointError>>,
) -> Resolution {
    let mut points = Vec::new();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(found) => points.extend(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) if points.is_empty() => Err(e),
        _ => Ok(Some(points)),
    }
}

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
    /// The point is an alias's expansion (`input.char` may name the
    /// procfs file `__stdin`, reserved for input probes; a probe may not).
    pub in_alias: bool,
    /// Only the points' names are wanted (`-l`): wildcard function points
    /// of the script itself match the kernel's cached probe-able list and
    /// read no prototypes.
    pub names_only: bool,
    /// The point is optional (`?`): an error resolving it is dropped, so
    /// nothing is spent on suggesting alternatives.
    pub quiet: bool,
}

pub(super) type Parts<'p> = Vec<(&'p str, Option<&'p ast::Literal>)>;

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
    // A wildcard component (`stap.*`) leaves out the aliases it reaches
    // that are unavailable here; naming one alone says why.
    let globbed = parts.iter().any(|(n, _)| n.contains(['*', '?', '[']));
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
                    if sufficient_hit {
                        break;
                    }
                    let mut target_parts = self::parts(&expanded);
                    target_parts.extend(suffix.iter().cloned());
                    let inner_target = Target {
                        in_alias: true,
                        quiet: target.quiet || expanded.optional || spans_components,
                        ..target
                    };
                    let inner = match resolve_parts(&target_parts, aliases, inner_target, depth + 1) {
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
                        Err(_)
                            if globbed
                                && target_parts
                                    .first()
                                    .is_some_and(|(n, _)| *n == "__unavailable") =>
                        {
                            Vec::new()
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
        let mut known: Vec<String> = FAMILIES
            .iter()
            .flat_map(|f| f.names)
            .map(|s| s.to_string())
            .collect();
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
pub(super) enum Param {
    /// Never (`never`, `.return`).
    No,
    /// It may (`begin(N)`, `process("PATH")`).
    Optional,
    /// It must (`timer.ms(N)`, `function("NAME")`).
    Required,
}

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
    for shape in FAMILIES.iter().flat_map(|f| f.shapes) {
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

pub(super) fn number(arg: Option<&ast::Literal>) -> Option<i64> {
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

/// `stap --dump-probe-types`: every family's point shapes, one a line,
/// sorted bytewise as SystemTap lists them. (Checked when written: each
/// line, with sample arguments, elaborated at -p2 against
/// debian-6.1-amd64, `.inline` with the -dbg package and
/// `kprobe.statement` in guru mode.)
pub fn dump_probe_types() -> String {
    let mut types: Vec<&str> = FAMILIES.iter().flat_map(|f| f.types).copied().collect();
    types.sort();
    types.iter().map(|t| format!("{t}\n")).collect()
}

/// The built-in families' points `parts` stand for, if a family knows
/// them.
fn builtin(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    for family in FAMILIES {
        if let Some(points) = (family.resolve)(parts, target)? {
            return Ok(Some(points));
        }
    }
    Ok(None)
}

/// One point of `kind` without target variables, named as written.
pub(super) fn single(
    parts: &Parts<'_>,
    kind: ProbeKind,
) -> Option<Vec<(ProbePoint, ProbeContext)>> {
    Some(vec![(
        ProbePoint {
            name: parts_text(parts),
            kind,
            optional: false,
        },
        ProbeContext::none(),
    )])
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
            in_alias: false,
            names_only: false,
            quiet: false,
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
                "process.end",
                "procfs.read",
                "procfs.write"
            ]
        );
        assert_eq!(
            names(&vec![("timer", None), ("**", None)]),
            ["timer.profile"]
        );
        // A point that matches but cannot resolve is the error: a relative
        // name is looked up in $PATH, as SystemTap does.
        let mut map = crate::diag::SourceMap::new();
        let file = map.add("t.stp", "probe process(\"relative\").* {}");
        let path = ast::Literal::String(ast::StrLit {
            value: b"relative".to_vec(),
            span: crate::diag::Span::new(file, 14, 24),
        });
        let e =
            builtin_wildcards(&vec![("process", Some(&path)), ("*", None)], target).unwrap_err();
        assert!(
            e.message
                .contains("no program 'relative' in any directory of $PATH"),
            "{}",
            e.message
        );
    }

    #[test]
    fn probe_types_are_listed_once_each() {
        let listed = dump_probe_types();
        let lines: Vec<&str> = listed.lines().collect();
        let mut unique = lines.clone();
        unique.dedup();
        assert_eq!(lines, unique);
        assert_eq!(lines.first(), Some(&"begin"));
        assert!(lines.contains(&"kernel.trace(string)"));
        assert!(lines.contains(&"timer.profile"));
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
