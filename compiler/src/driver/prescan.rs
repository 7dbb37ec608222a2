//! What pass 2 will ask of the kernel that must be fetched before it runs:
//! the tracepoints of the kernel's own modules, which `kernel.trace`
//! wildcards and names the image lacks are resolved against. The driver
//! reads the probe points of the script and of its `-I` tapsets here,
//! asks [`crate::debuginfo::KernelInfo::tracepoint_needs_modules`] of each
//! `kernel.trace("SPEC")`, fetches once if one needs them, and then
//! elaborates once. The built-in tapsets are not read: they name
//! tracepoints without wildcards, for which the modules' list only changes
//! how an error about a missing one is worded (a module's own, named, or
//! the nearest names), never whether a script elaborates.

use std::path::Path;

use crate::diag::SourceMap;
use crate::syntax::{self, ast, PreprocessConfig};
use crate::text::glob::Glob;

/// The points written as more alternatives than this are not expanded
/// (pass 2 reports them).
const EXPANSION_LIMIT: usize = 1024;

/// The `SPEC` of every `kernel.trace("SPEC")` among the probe points of
/// `script`: its probes' and its aliases' (a wildcard component standing
/// for `kernel` or `trace` counts, since it may match them).
pub fn trace_specs(script: &ast::Script) -> Vec<String> {
    expanded_points(script)
        .iter()
        .filter_map(trace_spec)
        .collect()
}

/// Every probe point of `script`'s probes and aliases, its brace groups
/// expanded.
fn expanded_points(script: &ast::Script) -> Vec<ast::ProbePoint> {
    script.items.iter().flat_map(item_points).collect()
}

/// The spec of one expanded point, if it is `kernel.trace("SPEC")`.
fn trace_spec(point: &ast::ProbePoint) -> Option<String> {
    let [ast::Component::Named(kernel), ast::Component::Named(trace)] = &point.components[..]
    else {
        return None;
    };
    let Some(ast::Literal::String(spec)) = &trace.arg else {
        return None;
    };
    (kernel.arg.is_none()
        && Glob::new(&kernel.name.name).matches("kernel")
        && Glob::new(&trace.name.name).matches("trace"))
    .then(|| spec.to_str_lossy().into_owned())
}

/// The loadable modules whose types `script` needs (see
/// [`crate::kernel::module_btf`]): each `module("NAME")` of its probe
/// points and aliases, and each module a kernel `@cast(p, "T", "A:B")`
/// names (not `kernel`, not a user-space program's path), sorted and
/// deduplicated. Wildcard module names are left out.
pub fn module_names(script: &ast::Script) -> Vec<String> {
    let mut out: Vec<String> = script.items.iter().flat_map(item_modules).collect();
    out.sort();
    out.dedup();
    out
}

/// The modules one probe, alias or function names (see [`module_names`]).
fn item_modules(item: &ast::Item) -> Vec<String> {
    use crate::syntax::visit::{self, Visitor};

    struct Casts(Vec<String>);
    impl Visitor for Casts {
        fn visit_expr(&mut self, e: &ast::Expr) {
            if let ast::ExprKind::Target(t) = &e.kind {
                if let ast::TargetBase::Cast {
                    module: Some(m), ..
                } = &t.base
                {
                    let text = m.to_str_lossy();
                    if !text.starts_with('/') {
                        for part in text.split(':') {
                            let name = part.split('<').next().unwrap_or(part).trim();
                            if !name.is_empty() && name != "kernel" {
                                self.0.push(name.to_string());
                            }
                        }
                    }
                }
            }
            visit::walk_expr(self, e);
        }
    }
    let mut casts = Casts(Vec::new());
    casts.visit_item(item);
    for flat in item_points(item) {
        for c in &flat.components {
            if let ast::Component::Named(named) = c {
                if let (true, Some(ast::Literal::String(m))) =
                    (named.name.name == "module", &named.arg)
                {
                    let m = m.to_str_lossy();
                    if !m.contains(['*', '?', '[']) {
                        casts.0.push(m.into_owned());
                    }
                }
            }
        }
    }
    casts.0
}

/// The probe points of a probe or an alias, brace groups expanded.
fn item_points(item: &ast::Item) -> Vec<ast::ProbePoint> {
    let points = match item {
        ast::Item::Probe(p) => &p.points,
        ast::Item::Alias(a) => &a.points,
        _ => return Vec::new(),
    };
    points
        .iter()
        .flat_map(|p| p.expand(EXPANSION_LIMIT).unwrap_or_default())
        .collect()
}

/// The first component of a point (`nfsd` of `nfsd.unlink.return`).
fn first_component(point: &ast::ProbePoint) -> Option<&str> {
    match point.components.first()? {
        ast::Component::Named(n) => Some(n.name.name.as_str()),
        _ => None,
    }
}

/// The loadable modules named by the tapset aliases `script` probes
/// through (`nfsd.unlink` is `module("nfsd").function("nfsd_unlink")`):
/// their `module("NAME")` points and `@cast` modules, as
/// [`module_names`], following aliases of aliases. Only the `tapsets`
/// (name and text) that name a module are parsed; an alias counts when
/// its first component matches a first component the script (or an alias
/// it reaches) probes.
pub fn tapset_module_names(
    script: &ast::Script,
    tapsets: &[(String, String)],
    cfg: &PreprocessConfig,
) -> Vec<String> {
    let mut map = SourceMap::new();
    let parsed: Vec<ast::Script> = tapsets
        .iter()
        .filter(|(_, text)| text.contains("module(") || text.contains("@cast("))
        .map(|(name, text)| {
            let file = map.add(name.clone(), text.clone());
            syntax::parse(&map, file, cfg).script
        })
        .collect();
    let aliases: Vec<(&ast::Item, &ast::ProbeAlias)> = parsed
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|item| match item {
            ast::Item::Alias(a) => Some((item, a)),
            _ => None,
        })
        .collect();
    let mut wanted: Vec<String> = expanded_points(script)
        .iter()
        .filter_map(|p| first_component(p).map(str::to_string))
        .collect();
    let mut taken = vec![false; aliases.len()];
    let mut out = Vec::new();
    let mut seen = 0;
    while seen < wanted.len() {
        let pattern = wanted[seen].clone();
        let glob = Glob::new(&pattern);
        seen += 1;
        for (i, (item, alias)) in aliases.iter().enumerate() {
            let matches = alias
                .names
                .iter()
                .filter_map(first_component)
                .any(|name| glob.matches(name));
            if taken[i] || !matches {
                continue;
            }
            taken[i] = true;
            out.extend(item_modules(item));
            for point in item_points(item) {
                if let Some(first) = first_component(&point) {
                    if !wanted.iter().any(|w| w == first) {
                        wanted.push(first.to_string());
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// [`tapset_module_names`] of stapkit's own tapsets and those under
/// `dirs` (files that cannot be read are left to pass 2 to report).
pub fn library_module_names(
    script: &ast::Script,
    dirs: &[impl AsRef<Path>],
    cfg: &PreprocessConfig,
) -> Vec<String> {
    let mut texts: Vec<(String, String)> = crate::runtime::tapsets()
        .into_iter()
        .map(|(name, text)| (name, text.to_string()))
        .collect();
    texts.extend(stp_files(dirs));
    tapset_module_names(script, &texts, cfg)
}

/// Name and text of every readable `*.stp` under `dirs`, recursively.
fn stp_files(dirs: &[impl AsRef<Path>]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "stp") {
                continue;
            }
            if let Ok(text) = crate::text::utf8::read_file(path) {
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

/// [`trace_specs`] of every tapset (`*.stp`, recursively) under `dirs`,
/// parsed as pass 2 will parse them; files that cannot be read or parsed
/// are left to pass 2 to report.
pub fn tapset_trace_specs(dirs: &[impl AsRef<Path>], cfg: &PreprocessConfig) -> Vec<String> {
    let mut map = SourceMap::new();
    let mut out = Vec::new();
    for (name, text) in stp_files(dirs) {
        let file = map.add(name, text);
        out.extend(trace_specs(&syntax::parse(&map, file, cfg).script));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_come_from_points_and_casts() {
        let mut map = SourceMap::new();
        let text = r#"
            probe {kernel,module("ext4")}.function("f").return ? { }
            probe sd = module("sd_mod").function("g") { x = @cast(p, "scsi_device", "kernel<scsi/scsi_device.h>")->a }
            probe module("*").function("h"), begin {
                y = @cast(q, "T", "nfsd:kernel")->b + @cast(r, "U", "/bin/true")->c
            }
        "#;
        let file = map.add("t.stp".to_string(), text.to_string());
        let script = syntax::parse(&map, file, &PreprocessConfig::default()).script;
        assert_eq!(module_names(&script), ["ext4", "nfsd", "sd_mod"]);
    }

    #[test]
    fn modules_of_the_tapset_aliases_a_script_probes_through() {
        let parse = |text: &str| {
            let mut map = SourceMap::new();
            let file = map.add("t.stp".to_string(), text.to_string());
            syntax::parse(&map, file, &PreprocessConfig::default()).script
        };
        let tapsets = [
            (
                "nfsd.stp".to_string(),
                r#"
probe nfsd.unlink = module("nfsd").function("nfsd_unlink") { }
probe nfsd.proc.lookup = kernel.function("x") { fh = &@cast(p, "struct svc_fh", "kernel:nfsd_private") }
probe nfsd.entries = nfsd.unlink, sunrpc.thing { }
"#
                .to_string(),
            ),
            (
                "sunrpc.stp".to_string(),
                "probe sunrpc.thing = module(\"sunrpc\").function(\"f\") { }\n".to_string(),
            ),
            (
                "scsi.stp".to_string(),
                "probe scsi.x = module(\"sd_mod\").function(\"g\") { }\n".to_string(),
            ),
            ("plain.stp".to_string(), "function f() { return 1 }\n".to_string()),
        ];
        let cfg = PreprocessConfig::default();
        let names = |text: &str| tapset_module_names(&parse(text), &tapsets, &cfg);
        assert_eq!(
            names("probe nfsd.unlink.return { }"),
            ["nfsd", "nfsd_private", "sunrpc"]
        );
        assert_eq!(names("probe s*.thing { }"), ["sd_mod", "sunrpc"]);
        assert!(names("probe begin { } probe kernel.function(\"f\") { }").is_empty());
    }

    fn specs(text: &str) -> Vec<String> {
        let mut map = SourceMap::new();
        let file = map.add("t.stp".to_string(), text.to_string());
        trace_specs(&syntax::parse(&map, file, &PreprocessConfig::default()).script)
    }

    #[test]
    fn finds_tracepoints_in_probes_aliases_and_groups() {
        let text = r#"
probe kernel.trace("sched:*"), kernel.function("f") {}
probe my.alias = kernel.trace("ext4:ext4_sync_file_enter")? {}
probe kernel.{trace("a"), trace("b:c")}, timer.ms(1) {}
probe k*.tr*("w*") {}
probe kernel.trace(7), begin {}
"#;
        assert_eq!(
            specs(text),
            ["sched:*", "ext4:ext4_sync_file_enter", "a", "b:c", "w*"]
        );
    }

    #[test]
    fn tapset_directories_are_read_too() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/t.stp"),
            "probe t.x = kernel.trace(\"i915:*\") {}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "kernel.trace(\"no\")").unwrap();
        assert_eq!(
            tapset_trace_specs(&[dir.path()], &PreprocessConfig::default()),
            ["i915:*"]
        );
    }
}
