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
    let mut out = Vec::new();
    for item in &script.items {
        let points = match item {
            ast::Item::Probe(p) => &p.points,
            ast::Item::Alias(a) => &a.points,
            _ => continue,
        };
        for point in points {
            out.extend(point.expand(EXPANSION_LIMIT).unwrap_or_default());
        }
    }
    out
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
    for item in &script.items {
        casts.visit_item(item);
    }
    for flat in expanded_points(script) {
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
    let mut out = casts.0;
    out.sort();
    out.dedup();
    out
}

/// [`trace_specs`] of every tapset (`*.stp`, recursively) under `dirs`,
/// parsed as pass 2 will parse them; files that cannot be read or parsed
/// are left to pass 2 to report.
pub fn tapset_trace_specs(dirs: &[impl AsRef<Path>], cfg: &PreprocessConfig) -> Vec<String> {
    let mut map = SourceMap::new();
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
            let Ok(text) = crate::text::utf8::read_file(path) else {
                continue;
            };
            let file = map.add(path.display().to_string(), text);
            out.extend(trace_specs(&syntax::parse(&map, file, cfg).script));
        }
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
