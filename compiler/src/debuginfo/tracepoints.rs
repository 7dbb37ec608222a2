//! Tracepoints and their argument names, read from the tree's trace
//! headers (`include/trace/events/*.h`, `arch/*/include/asm/trace/*.h`):
//! `TRACE_EVENT(name, TP_PROTO(...), ...)`, `DECLARE_EVENT_CLASS` +
//! `DEFINE_EVENT(class, name, TP_PROTO(...), ...)`, bare `DECLARE_TRACE`s,
//! and events declared through a local helper macro (one level of
//! expansion). BTF's `btf_trace_<name>` typedefs then say which exist in
//! the kernel and give their exact types; the headers give the names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::callconv::Arch;
use super::cdecl::{parse_param, TypeNames};
use super::cheader::{invocations, split_top_level, strip_comments, unwrap_call};
use super::ctype::CType;

/// Macros that define a tracepoint: (macro, index of the event name).
const DEFINERS: &[(&str, usize)] = &[
    ("TRACE_EVENT", 0),
    ("TRACE_EVENT_CONDITION", 0),
    ("TRACE_EVENT_FN", 0),
    ("TRACE_EVENT_FN_COND", 0),
    ("TRACE_EVENT_RCU", 0),
    // Faultable syscall tracepoints (`raw_syscalls:sys_enter`, 6.14).
    ("TRACE_EVENT_SYSCALL", 0),
    ("DEFINE_EVENT", 1),
    ("DEFINE_EVENT_FN", 1),
    ("DEFINE_EVENT_PRINT", 1),
    ("DEFINE_EVENT_CONDITION", 1),
    ("DEFINE_EVENT_WRITABLE", 1),
    ("DECLARE_TRACE", 0),
    ("DECLARE_TRACE_CONDITION", 0),
    ("DECLARE_TRACE_WRITABLE", 0),
];

/// A tracepoint as its header declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceDecl {
    /// `TRACE_SYSTEM` of its header (`sched`).
    pub system: String,
    /// The event name (`sched_switch`).
    pub name: String,
    /// The `TP_PROTO` parameters as written (`struct task_struct *prev`).
    pub params: Vec<String>,
    /// The header, relative to the source directory it was found in.
    pub header: PathBuf,
}

/// One tracepoint parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParam {
    /// Its name (from the header; `argN` when only BTF knows the tracepoint).
    pub name: String,
    /// Its declaration as the header writes it, if the header is known.
    pub decl: Option<String>,
    /// Its type (from BTF when the kernel has the tracepoint, else from
    /// the header text).
    pub ty: CType,
}

/// A tracepoint with named, typed parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracepoint {
    /// Its subsystem (`sched`); empty when no header declares it.
    pub system: String,
    /// Its name (`sched_switch`).
    pub name: String,
    /// Its parameters.
    pub params: Vec<TraceParam>,
    /// Whether the kernel image has it (a `btf_trace_` typedef); `None`
    /// when there is no BTF to ask.
    pub in_kernel: Option<bool>,
    /// The declaring header, relative to its source directory.
    pub header: Option<PathBuf>,
}

impl Tracepoint {
    /// `sched:sched_switch`; just the name when no header gives the
    /// subsystem (a tracepoint declared in a private header of `fs/` or
    /// `drivers/`, known only from BTF).
    pub fn full_name(&self) -> String {
        if self.system.is_empty() {
            self.name.clone()
        } else {
            format!("{}:{}", self.system, self.name)
        }
    }
}

/// Directories (relative to a source root) holding trace headers: the
/// generic and RAS events, and the architecture's own.
fn trace_dirs(arch: Arch) -> Vec<String> {
    let arch_dir = super::syscalls::arch_dir(arch);
    vec![
        "include/trace/events".into(),
        "include/trace".into(),
        "include/ras".into(),
        format!("arch/{arch_dir}/include/asm/trace"),
        format!("arch/{arch_dir}/include/asm"),
    ]
}

/// Every header in the source directories' trace directories, as (root,
/// path relative to it); [`scan`] keeps those defining `TRACE_SYSTEM`.
pub fn trace_headers(source_dirs: &[PathBuf], arch: Arch) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for root in source_dirs {
        for sub in trace_dirs(arch) {
            let Ok(entries) = std::fs::read_dir(root.join(&sub)) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| Some(e.ok()?.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "h"))
                .collect();
            files.sort();
            for f in files {
                let rel = f.strip_prefix(root).unwrap_or(&f).to_path_buf();
                out.push((root.clone(), rel));
            }
        }
    }
    out
}

/// Reads every trace header and returns the declarations, by event name
/// (the first declaration of a name wins).
pub fn scan(source_dirs: &[PathBuf], arch: Arch) -> BTreeMap<String, TraceDecl> {
    let mut out = BTreeMap::new();
    for (root, rel) in trace_headers(source_dirs, arch) {
        let Ok(text) = std::fs::read_to_string(root.join(&rel)) else {
            continue;
        };
        if !text.contains("TRACE_SYSTEM") {
            continue;
        }
        for decl in parse_header(&text, &rel) {
            out.entry(decl.name.clone()).or_insert(decl);
        }
    }
    out
}

/// The tracepoint declarations of one header.
pub fn parse_header(text: &str, rel: &Path) -> Vec<TraceDecl> {
    let text = strip_comments(text);
    let system = trace_system(&text).unwrap_or_else(|| {
        rel.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let text = expand_helper_macros(&text);
    let aliases = definer_aliases(&text);
    let mut names: Vec<&str> = DEFINERS.iter().map(|d| d.0).collect();
    names.extend(aliases.iter().map(|(alias, _)| alias.as_str()));
    invocations(&text, &names)
        .into_iter()
        .filter_map(|inv| {
            let definer = aliases
                .iter()
                .find(|(alias, _)| *alias == inv.name)
                .map_or(inv.name.as_str(), |(_, d)| d);
            let &(_, name_at) = DEFINERS.iter().find(|d| d.0 == definer)?;
            let name = inv.args.get(name_at)?.trim().to_string();
            if !name.chars().all(|c| c.is_alphanumeric() || c == '_') || name.is_empty() {
                return None;
            }
            let proto = inv.args.iter().find_map(|a| unwrap_call(a, "TP_PROTO"))?;
            let params = split_top_level(proto)
                .into_iter()
                .filter(|p| p != "void")
                .collect();
            Some(TraceDecl {
                system: system.clone(),
                name,
                params,
                header: rel.to_path_buf(),
            })
        })
        .collect()
}

/// Object-like macros standing for a definer (`#define
/// DEFINE_EVENT_SCHEDSTAT DEFINE_EVENT`, under `#ifdef CONFIG_SCHEDSTATS`;
/// the other branch aliases a `_NOP` variant, which is not a definer).
fn definer_aliases(text: &str) -> Vec<(String, &'static str)> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == "#define").then_some(())?;
            let alias = w.next()?;
            let target = w.next()?;
            let definer = DEFINERS.iter().find(|d| d.0 == target)?.0;
            (w.next().is_none() && !alias.contains('(')).then(|| (alias.to_string(), definer))
        })
        .collect()
}

/// The last `#define TRACE_SYSTEM x` of a header.
fn trace_system(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next()? == "#define" && w.next()? == "TRACE_SYSTEM")
            .then(|| w.next().map(str::to_string))?
    })
}

/// Expands, once, the header's own function-like macros whose bodies
/// define events (`#define DEFINE_WRITEBACK_EVENT(name) DEFINE_EVENT(...)`),
/// appending each expansion on a line of its own.
fn expand_helper_macros(text: &str) -> String {
    let mut helpers: Vec<(String, Vec<String>, String)> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("#define") else {
            continue;
        };
        let rest = rest.trim_start();
        let name_len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        if !after.starts_with('(') || DEFINERS.iter().any(|d| d.0 == name) {
            continue;
        }
        let Some(params) = super::cheader::balanced(after) else {
            continue;
        };
        let body = after[params.len() + 2..].trim();
        if DEFINERS.iter().any(|d| body.contains(d.0)) {
            helpers.push((name.to_string(), split_top_level(params), body.to_string()));
        }
    }
    if helpers.is_empty() {
        return text.to_string();
    }
    let names: Vec<&str> = helpers.iter().map(|h| h.0.as_str()).collect();
    let mut out = text.to_string();
    for inv in invocations(text, &names) {
        let (_, params, body) = helpers.iter().find(|h| h.0 == inv.name).expect("a helper");
        let mut expanded = substitute(body, params, &inv.args).replace("##", "");
        // One invocation per line, as `invocations` expects.
        for d in DEFINERS {
            expanded = expanded.replace(&format!(" {}(", d.0), &format!("\n{}(", d.0));
        }
        out.push('\n');
        out.push_str(&expanded);
        out.push('\n');
    }
    out
}

/// Replaces whole-word occurrences of `params` in `body` with `args`.
fn substitute(body: &str, params: &[String], args: &[String]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match params.iter().position(|p| p == word) {
            Some(i) => out.push_str(args.get(i).map(String::as_str).unwrap_or("")),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in body.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Joins a header declaration with the BTF types (when the kernel has the
/// tracepoint): names from the header, types from BTF when the counts
/// agree. Without a header, names come from `btf_names` (see
/// [`Btf::tracepoint_param_names`](super::btf::Btf::tracepoint_param_names)),
/// else they are `argN`.
pub fn combine(
    decl: Option<&TraceDecl>,
    name: &str,
    btf_params: Option<Vec<super::ctype::Param>>,
    btf_names: Option<Vec<String>>,
    types: &dyn TypeNames,
) -> Tracepoint {
    let from_header: Vec<(String, String, CType)> = decl
        .map(|d| {
            d.params
                .iter()
                .enumerate()
                .filter_map(|(i, text)| {
                    let p = parse_param(text, types)?;
                    let name = p.name.unwrap_or_else(|| format!("arg{}", i + 1));
                    Some((name, p.text, p.ty))
                })
                .collect()
        })
        .unwrap_or_default();
    let in_kernel = btf_params.as_ref().map(|_| true);
    let params = match btf_params {
        Some(btf) if decl.is_none() || btf.len() != from_header.len() => {
            let names = btf_names.filter(|n| n.len() == btf.len());
            btf.into_iter()
                .enumerate()
                .map(|(i, p)| TraceParam {
                    name: names
                        .as_ref()
                        .map_or_else(|| format!("arg{}", i + 1), |n| n[i].clone()),
                    decl: None,
                    ty: p.ty,
                })
                .collect()
        }
        Some(btf) => from_header
            .into_iter()
            .zip(btf)
            .map(|((name, text, _), p)| TraceParam {
                name,
                decl: Some(text),
                ty: p.ty,
            })
            .collect(),
        None => from_header
            .into_iter()
            .map(|(name, text, ty)| TraceParam {
                name,
                decl: Some(text),
                ty,
            })
            .collect(),
    };
    Tracepoint {
        system: decl.map(|d| d.system.clone()).unwrap_or_default(),
        name: name.to_string(),
        params,
        in_kernel,
        header: decl.map(|d| d.header.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::cdecl::NoTypes;

    const SCHED: &str = r#"
/* SPDX */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM sched

TRACE_EVENT(sched_switch,

	TP_PROTO(bool preempt,
		 struct task_struct *prev,
		 struct task_struct *next,
		 unsigned int prev_state),

	TP_ARGS(preempt, prev, next, prev_state),
	TP_STRUCT__entry( __field( pid_t, prev_pid ) ),
	TP_fast_assign( __entry->prev_pid = prev->pid; ),
	TP_printk("prev_pid=%d", __entry->prev_pid)
);

DECLARE_EVENT_CLASS(sched_process_template,
	TP_PROTO(struct task_struct *p),
	TP_ARGS(p), TP_STRUCT__entry(), TP_fast_assign(), TP_printk("x")
);

DEFINE_EVENT(sched_process_template, sched_process_free,
	     TP_PROTO(struct task_struct *p),
	     TP_ARGS(p));

DECLARE_TRACE(pelt_cfs_tp,
	TP_PROTO(struct cfs_rq *cfs_rq),
	TP_ARGS(cfs_rq));

#define DEFINE_SCHED_HELPER(name)				\
DEFINE_EVENT(sched_process_template, sched_##name,		\
	     TP_PROTO(struct task_struct *p),			\
	     TP_ARGS(p))

DEFINE_SCHED_HELPER(helped);

#define DEFINE_PAIR(name) DEFINE_EVENT(sched_process_template, name##_entry, TP_PROTO(struct task_struct *p), TP_ARGS(p)); DEFINE_EVENT(sched_process_template, name##_exit, TP_PROTO(struct task_struct *p), TP_ARGS(p));

DEFINE_PAIR(vec);

#ifdef CONFIG_SCHEDSTATS
#define DEFINE_EVENT_SCHEDSTAT DEFINE_EVENT
#else
#define DEFINE_EVENT_SCHEDSTAT DEFINE_EVENT_NOP
#endif
DEFINE_EVENT_SCHEDSTAT(sched_process_template, sched_stat_wait,
	     TP_PROTO(struct task_struct *tsk, u64 delay),
	     TP_ARGS(tsk, delay));

TRACE_EVENT(sched_nothing, TP_PROTO(void), TP_ARGS(), TP_STRUCT__entry(), TP_fast_assign(), TP_printk(""));
"#;

    #[test]
    fn header_declarations() {
        let decls = parse_header(SCHED, Path::new("include/trace/events/sched.h"));
        let names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sched_switch",
                "sched_process_free",
                "pelt_cfs_tp",
                "sched_stat_wait",
                "sched_nothing",
                "sched_helped",
                "vec_entry",
                "vec_exit"
            ]
        );
        assert!(decls.iter().all(|d| d.system == "sched"));
        assert_eq!(
            decls[0].params,
            [
                "bool preempt",
                "struct task_struct *prev",
                "struct task_struct *next",
                "unsigned int prev_state"
            ]
        );
        assert_eq!(decls[3].params, ["struct task_struct *tsk", "u64 delay"]);
        assert!(decls[4].params.is_empty());
        assert_eq!(decls[5].params, ["struct task_struct *p"]);
    }

    #[test]
    fn combining_with_btf_types() {
        let decls = parse_header(SCHED, Path::new("include/trace/events/sched.h"));
        let header_only = combine(Some(&decls[0]), "sched_switch", None, None, &NoTypes);
        assert_eq!(header_only.full_name(), "sched:sched_switch");
        assert_eq!(header_only.in_kernel, None);
        let rendered: Vec<String> = header_only
            .params
            .iter()
            .map(|p| format!("{}:{}", p.name, p.ty))
            .collect();
        assert_eq!(
            rendered,
            [
                "preempt:bool",
                "prev:struct task_struct*",
                "next:struct task_struct*",
                "prev_state:unsigned int"
            ]
        );
        let int = CType::Int {
            name: "int".into(),
            size: 4,
            signed: true,
        };
        let btf_only = combine(
            None,
            "mystery",
            Some(vec![crate::debuginfo::ctype::Param {
                name: "arg2".into(),
                ty: int.clone(),
            }]),
            None,
            &NoTypes,
        );
        assert_eq!(btf_only.params[0].name, "arg1");
        assert_eq!(btf_only.in_kernel, Some(true));
        let named = combine(
            None,
            "mystery",
            Some(vec![crate::debuginfo::ctype::Param {
                name: "arg2".into(),
                ty: int,
            }]),
            Some(vec!["cpu".into()]),
            &NoTypes,
        );
        assert_eq!(named.params[0].name, "cpu");
    }
}
