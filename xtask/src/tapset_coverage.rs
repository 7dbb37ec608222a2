//! `cargo xtask tapset-coverage`: how much of SystemTap's documented
//! tapset library resolves in stapkit. The documentation is Debian's
//! `systemtap-doc` manual pages: one `function::NAME` or `probe::NAME`
//! page per name (its synopsis gives a function's argument types, its
//! VALUES section a probe's variables) and one `tapset::GROUP` page per
//! group listing its names.
//!
//! Each name becomes a one-line script (`probe begin { NAME(0, "") }`
//! with arguments of the documented types, `probe NAME {}`); lines are
//! translated to pass 2 in batches, and the lines pass 2 blames are taken
//! out and the rest run again until a batch passes (a batch whose failure
//! names no line is split in two). `--vars` also checks, for each probe
//! that resolves, that every documented variable is there. It prints
//! counts and the unresolved names by group; it exits 0 whatever the
//! figures.
//!
//! A few pages are empty (the reference's generator made them from an
//! index line: `function::-` from "- strtol", `function::fp_div`,
//! `function::MKDEF`, `function::sa_handler`): with no synopsis to give
//! the arguments, a name the library defines is called with the
//! library's own arity (`--dump-functions`), and a page whose name is not
//! a function name at all is reported as such rather than translated.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use xshell::Shell;

use crate::measure::{self, first_error};

/// Where `systemtap-doc` installs the tapset reference.
const MAN_DIR: &str = "/usr/share/man/man3";

/// Options of `cargo xtask tapset-coverage`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// Kernel to translate for (stap-prep name, or `all`); repeatable.
    #[arg(long = "kernel")]
    pub kernels: Vec<String>,
    /// Only functions, or only probes.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Only names starting with this text; repeatable.
    #[arg(long = "only")]
    pub only: Vec<String>,
    /// Also check each resolving probe's documented variables.
    #[arg(long)]
    pub vars: bool,
    /// Lines per pass-2 run.
    #[arg(long, default_value_t = 400)]
    pub batch: usize,
    /// The manual pages' directory.
    #[arg(long, default_value = MAN_DIR)]
    pub man_dir: PathBuf,
}

/// A kind of documented name.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `function::NAME` pages.
    Functions,
    /// `probe::NAME` pages.
    Probes,
}

/// One documented name.
#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    name: String,
    /// A function's argument types (`long`, `string`); a probe's variables.
    params: Vec<String>,
    group: String,
    /// The page has no NAME section (an empty page: see the module doc).
    empty_page: bool,
}

fn read_page(path: &Path) -> Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .with_context(|| format!("reading {}", path.display()))?;
    } else {
        std::io::BufReader::new(file).read_to_string(&mut text)?;
    }
    Ok(text)
}

/// roff text with its escapes taken out.
fn plain(line: &str) -> String {
    line.replace("\\&", "")
        .replace("\\-", "-")
        .replace("\\fI", "")
        .replace("\\fR", "")
        .replace("\\fB", "")
        .replace("\\*(Aq", "'")
}

/// The lines of a page's section `title` (`.SH "TITLE"`).
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = text.lines();
    let heading = |l: &str| l.starts_with(".SH");
    for l in lines.by_ref() {
        if heading(l) && l.trim_start_matches(".SH").trim().trim_matches('"') == title {
            break;
        }
    }
    lines.take_while(|l| !heading(l)).collect()
}

/// A function's argument types from its synopsis's first line, e.g.
/// `kernel_string_n:string(addr:long,n:long)`.
fn function_args(text: &str) -> Vec<String> {
    let synopsis = section(text, "SYNOPSIS");
    let Some(line) = synopsis
        .iter()
        .map(|l| plain(l))
        .find(|l| l.contains('(') && !l.starts_with('.'))
    else {
        return Vec::new();
    };
    let inner = line
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map(|(args, _)| args.trim().to_string())
        .unwrap_or_default();
    if inner.is_empty() {
        return Vec::new();
    }
    inner
        .split(',')
        .map(|a| match a.split_once(':') {
            Some((_, ty)) => ty.trim().to_string(),
            None => "long".to_string(),
        })
        .collect()
}

/// A probe's documented variables (VALUES: `\fINAME\fR` items).
fn probe_vars(text: &str) -> Vec<String> {
    section(text, "VALUES")
        .iter()
        .filter_map(|l| l.strip_prefix("\\fI"))
        .filter_map(|l| l.strip_suffix("\\fR"))
        .map(|v| v.replace("\\&", "").replace("\\_", "_"))
        .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !v.is_empty())
        .collect()
}

/// Every documented function and probe, with its group.
fn documented(man_dir: &Path) -> Result<Vec<Entry>> {
    let mut groups: BTreeMap<String, String> = BTreeMap::new();
    let mut pages: Vec<(Kind, String, PathBuf)> = Vec::new();
    let mut dir: Vec<_> = std::fs::read_dir(man_dir)
        .with_context(|| format!("reading {}", man_dir.display()))?
        .collect::<Result<_, _>>()?;
    dir.sort_by_key(|e| e.file_name());
    for entry in dir {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = file
            .strip_suffix(".3stap.gz")
            .or_else(|| file.strip_suffix(".3stap"))
        else {
            continue;
        };
        if let Some(group) = stem.strip_prefix("tapset::") {
            let text = read_page(&entry.path())?;
            for l in text.lines() {
                if let Some(rest) = l.strip_prefix(".IR ") {
                    let name = rest.split_whitespace().next().unwrap_or_default();
                    groups.insert(plain(name), group.to_string());
                }
            }
        } else if let Some(name) = stem.strip_prefix("function::") {
            pages.push((Kind::Functions, name.to_string(), entry.path()));
        } else if let Some(name) = stem.strip_prefix("probe::") {
            pages.push((Kind::Probes, name.to_string(), entry.path()));
        }
    }
    if pages.is_empty() {
        bail!(
            "no function:: or probe:: pages in {}; `cargo xtask setup` installs systemtap-doc",
            man_dir.display()
        );
    }
    let mut out = Vec::new();
    for (kind, name, path) in pages {
        let text = read_page(&path)?;
        let prefix = if kind == Kind::Functions {
            "function::"
        } else {
            "probe::"
        };
        let params = match kind {
            Kind::Functions => function_args(&text),
            Kind::Probes => probe_vars(&text),
        };
        let group = groups
            .get(&format!("{prefix}{name}"))
            .cloned()
            .unwrap_or_else(|| "(no group)".to_string());
        let empty_page = section(&text, "NAME").is_empty();
        out.push(Entry {
            kind,
            name,
            params,
            group,
            empty_page,
        });
    }
    Ok(out)
}

/// Each library function's argument types by name, from a
/// `--dump-functions` listing (`fp_div:long (div1:long, div2:long)`; an
/// untyped parameter is a long).
fn library_arities(dump: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for line in dump.lines() {
        let Some((head, rest)) = line.split_once('(') else {
            continue;
        };
        let name = head.split(':').next().unwrap_or_default().trim();
        let inner = rest
            .split_once(')')
            .map(|(a, _)| a.trim())
            .unwrap_or_default();
        let types = if inner.is_empty() {
            Vec::new()
        } else {
            inner
                .split(',')
                .map(|a| {
                    a.split_once(':')
                        .map_or("long", |(_, t)| t.trim())
                        .to_string()
                })
                .collect()
        };
        out.entry(name.to_string()).or_insert(types);
    }
    out
}

/// Whether `name` can be called in a script at all.
fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The one-line script that uses `entry` (`vars`: and reads its variables).
fn script_line(entry: &Entry, vars: bool) -> String {
    match entry.kind {
        Kind::Functions => {
            let args: Vec<&str> = entry
                .params
                .iter()
                .map(|t| if t == "string" { "\"\"" } else { "0" })
                .collect();
            format!("probe begin {{ {}({}) }}", entry.name, args.join(", "))
        }
        Kind::Probes if vars => {
            let reads: String = entry
                .params
                .iter()
                .map(|v| format!(" printf(\"%s\", sprint({v}))"))
                .collect();
            format!("probe {} {{{reads} }}", entry.name)
        }
        Kind::Probes => format!("probe {} {{}}", entry.name),
    }
}

/// What pass 2 said of one line.
#[derive(Debug, Default, Clone)]
struct Verdict {
    /// The first error blamed on the line; none when it resolved.
    error: Option<String>,
    /// Locals pass 2 warned were never assigned (documented variables the
    /// point does not have).
    missing: BTreeSet<String>,
}

/// Runs pass 2 on `lines` (indices into `all`) and returns each one's verdict.
fn judge(
    stap: &Path,
    kernel: &str,
    work: &Path,
    all: &[String],
    lines: Vec<usize>,
    verdicts: &mut BTreeMap<usize, Verdict>,
) -> Result<()> {
    let mut pending = vec![lines];
    while let Some(batch) = pending.pop() {
        if batch.is_empty() {
            continue;
        }
        let file = work.join("coverage.stp");
        let text: String = batch.iter().map(|&i| format!("{}\n", all[i])).collect();
        std::fs::write(&file, text)?;
        let mut command = Command::new(stap);
        // `-u`: a call of a pure function is a statement the optimizer
        // drops, and a batch of nothing else would be refused for having
        // no probes; resolving the name is what is counted.
        command.args(["-p2", "-u", "-g", "-r", kernel]).arg(&file);
        // stapkit's programs first on PATH, as an installed stap's are:
        // the stap.* and staprun.* points are markers in them.
        if let Some(dir) = stap.parent() {
            let path = std::env::var("PATH").unwrap_or_default();
            command.env("PATH", format!("{}:{path}", dir.display()));
        }
        let run = measure::run_with_limit(command, work, Duration::from_secs(600))?;
        let blamed = blame(&run.stderr, "coverage.stp");
        for (line, warned) in &blamed.warned {
            if let Some(&i) = batch.get(line - 1) {
                verdicts
                    .entry(i)
                    .or_default()
                    .missing
                    .extend(warned.iter().cloned());
            }
        }
        if run.ok {
            for &i in &batch {
                verdicts.entry(i).or_default();
            }
            continue;
        }
        if blamed.errors.is_empty() {
            if batch.len() == 1 {
                verdicts.entry(batch[0]).or_default().error = Some(first_error(&run.stderr));
            } else {
                let (a, b) = batch.split_at(batch.len() / 2);
                pending.push(a.to_vec());
                pending.push(b.to_vec());
            }
            continue;
        }
        let mut rest = Vec::new();
        for (n, &i) in batch.iter().enumerate() {
            match blamed.errors.get(&(n + 1)) {
                Some(e) => {
                    let v = verdicts.entry(i).or_default();
                    v.error.get_or_insert_with(|| e.clone());
                }
                None => rest.push(i),
            }
        }
        pending.push(rest);
    }
    Ok(())
}

/// The lines of `file` pass 2's messages point at.
#[derive(Debug, Default)]
struct Blamed {
    /// Line → its first error.
    errors: BTreeMap<usize, String>,
    /// Line → never-assigned locals.
    warned: BTreeMap<usize, BTreeSet<String>>,
}

fn blame(stderr: &str, file: &str) -> Blamed {
    // stap prints SystemTap's layout: `semantic error: TEXT: TOKEN at
    // FILE:LINE:COL` (a parse error's place on its `saw:` line), the file
    // left out (`at :LINE:COL`) when it is the one named just before.
    let mut blamed = Blamed::default();
    let mut current: Option<(bool, String)> = None;
    let mut last_file = String::new();
    for line in stderr.lines() {
        let trimmed = line.trim();
        let is_error =
            trimmed.starts_with("semantic error:") || trimmed.starts_with("parse error:");
        if is_error || trimmed.starts_with("WARNING:") {
            current = Some((is_error, trimmed.to_string()));
        } else if !trimmed.starts_with("saw:") {
            continue;
        }
        let Some((is_error, message)) = current.clone() else {
            continue;
        };
        let Some(at) = trimmed.rfind(" at ").map(|i| &trimmed[i + 4..]) else {
            continue;
        };
        let mut parts = at.rsplitn(3, ':');
        let (_col, line_no, place) = (parts.next(), parts.next(), parts.next());
        let (Some(line_no), Some(place)) = (line_no.and_then(|n| n.parse::<usize>().ok()), place)
        else {
            continue;
        };
        if !place.is_empty() {
            last_file = place.to_string();
        }
        current = None;
        if !(last_file == file || last_file.ends_with(&format!("/{file}"))) {
            continue;
        }
        if is_error {
            blamed.errors.entry(line_no).or_insert(message);
        } else if let Some(name) = message
            .strip_prefix("WARNING: never-assigned local variable '")
            .and_then(|r| r.split('\'').next())
        {
            blamed
                .warned
                .entry(line_no)
                .or_default()
                .insert(name.to_string());
        }
    }
    blamed
}

/// Runs the coverage and prints it.
pub fn run(sh: &Shell, options: &Options) -> Result<()> {
    let kernels = measure::kernels(&options.kernels)?;
    let bin_dir = measure::prepare(sh, &kernels)?;
    let stap = bin_dir.join("stap");
    let mut entries = documented(&options.man_dir)?;
    entries.retain(|e| options.kind.is_none_or(|k| k == e.kind));
    if !options.only.is_empty() {
        entries.retain(|e| options.only.iter().any(|o| e.name.starts_with(o.as_str())));
    }
    let work = tempfile::Builder::new()
        .prefix("xtask-coverage")
        .tempdir()?;
    if entries
        .iter()
        .any(|e| e.empty_page && e.kind == Kind::Functions)
    {
        let dump = Command::new(&stap)
            .arg("--dump-functions")
            .output()
            .with_context(|| format!("running {} --dump-functions", stap.display()))?;
        let arities = library_arities(&String::from_utf8_lossy(&dump.stdout));
        for e in entries
            .iter_mut()
            .filter(|e| e.empty_page && e.kind == Kind::Functions)
        {
            if let Some(types) = arities.get(&e.name) {
                e.params = types.clone();
            }
        }
    }
    for kernel in &kernels {
        let lines: Vec<String> = entries.iter().map(|e| script_line(e, false)).collect();
        let mut verdicts = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.kind == Kind::Functions && !is_identifier(&e.name) {
                let error = format!(
                    "not a function name: an empty page the reference's index made ('{}')",
                    e.name
                );
                verdicts.insert(
                    i,
                    Verdict {
                        error: Some(error),
                        ..Verdict::default()
                    },
                );
            }
        }
        let judged: Vec<usize> = (0..lines.len())
            .filter(|i| !verdicts.contains_key(i))
            .collect();
        for chunk in judged.chunks(options.batch.max(1)) {
            judge(
                &stap,
                kernel,
                work.path(),
                &lines,
                chunk.to_vec(),
                &mut verdicts,
            )?;
        }
        if options.vars {
            let with_vars: Vec<String> = entries.iter().map(|e| script_line(e, true)).collect();
            let resolving: Vec<usize> = (0..entries.len())
                .filter(|&i| {
                    entries[i].kind == Kind::Probes
                        && !entries[i].params.is_empty()
                        && verdicts[&i].error.is_none()
                })
                .collect();
            let mut var_verdicts = BTreeMap::new();
            for chunk in resolving.chunks(options.batch.max(1)) {
                judge(
                    &stap,
                    kernel,
                    work.path(),
                    &with_vars,
                    chunk.to_vec(),
                    &mut var_verdicts,
                )?;
            }
            for (i, v) in var_verdicts {
                let entry = verdicts.get_mut(&i).expect("judged before");
                entry.missing = v.missing;
                if entry.missing.is_empty() {
                    if let Some(e) = v.error {
                        entry.missing.insert(format!("(variables: {e})"));
                    }
                }
            }
        }
        print!("{}", report(kernel, &entries, &verdicts, options.vars));
    }
    Ok(())
}

fn report(
    kernel: &str,
    entries: &[Entry],
    verdicts: &BTreeMap<usize, Verdict>,
    vars: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== {kernel}");
    for kind in [Kind::Functions, Kind::Probes] {
        let of_kind: Vec<usize> = (0..entries.len())
            .filter(|&i| entries[i].kind == kind)
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let ok = of_kind
            .iter()
            .filter(|i| verdicts[*i].error.is_none())
            .count();
        let label = if kind == Kind::Functions {
            "functions"
        } else {
            "probes"
        };
        let _ = writeln!(out, "{label}: {ok}/{} resolve", of_kind.len());
    }
    let mut by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_group.entry(&e.group).or_default().push(i);
    }
    let _ = writeln!(out, "\nunresolved, by group:");
    for (group, members) in &by_group {
        let bad: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| verdicts[i].error.is_some())
            .collect();
        if bad.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{group} ({} of {}):", bad.len(), members.len());
        for i in bad {
            let error = verdicts[&i].error.as_deref().unwrap_or_default();
            let note = if entries[i].empty_page
                && entries[i].kind == Kind::Functions
                && is_identifier(&entries[i].name)
            {
                " (its manual page is empty)"
            } else {
                ""
            };
            let _ = writeln!(out, "  {}: {error}{note}", entries[i].name);
        }
    }
    if vars {
        let _ = writeln!(out, "\nresolving probes without some documented variables:");
        for (i, e) in entries.iter().enumerate() {
            let v = &verdicts[&i];
            if v.error.is_none() && !v.missing.is_empty() {
                let missing: Vec<&str> = v.missing.iter().map(String::as_str).collect();
                let _ = writeln!(out, "  {}: {}", e.name, missing.join(" "));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synopsis_gives_argument_types() {
        let page = ".SH \"SYNOPSIS\"\n.sp\n.nf\n    kernel_string_n:string(addr:long,n:long)\n.fi\n.SH \"ARGUMENTS\"\n";
        assert_eq!(function_args(page), vec!["long", "long"]);
        let page = ".SH \"SYNOPSIS\"\n.nf\n    ansi_clear_screen()\n.fi\n";
        assert!(function_args(page).is_empty());
        let page = ".SH \"SYNOPSIS\"\n.nf\n    f:long(s:string)\n.fi\n";
        assert_eq!(
            script_line(
                &Entry {
                    kind: Kind::Functions,
                    name: "f".into(),
                    params: function_args(page),
                    group: String::new(),
                    empty_page: false,
                },
                false
            ),
            "probe begin { f(\"\") }"
        );
    }

    #[test]
    fn empty_pages_take_the_library_arity() {
        let dump = "fp_div:long (div1:long, div2:long)\nstrtol:long (str:string, base:long) /* unprivileged */\nexit:unknown ()\nsignal_str (num)\n";
        let a = library_arities(dump);
        assert_eq!(a["fp_div"], ["long", "long"]);
        assert_eq!(a["strtol"], ["string", "long"]);
        assert!(a["exit"].is_empty());
        assert_eq!(a["signal_str"], ["long"]);
        assert!(
            is_identifier("MKDEF")
                && is_identifier("_x1")
                && !is_identifier("-")
                && !is_identifier("1a")
        );
    }

    #[test]
    fn values_give_variables() {
        let page = ".SH \"VALUES\"\n.PP\n\\fIname\\fR\n.RS 4\nx\n.RE\n.PP\n\\fIbytes_req\\fR\n.SH SEE ALSO\n\\fIno\\fR\n";
        assert_eq!(probe_vars(page), vec!["name", "bytes_req"]);
    }

    #[test]
    fn blame_finds_lines_of_the_file() {
        let stderr = "semantic error: probe point 'a' matches nothing: identifier 'a' at /t/coverage.stp:3:7\n\
        source: probe a {}\n\n\
WARNING: never-assigned local variable 'v' (similar: w): identifier 'v' at :2:9\n source: x\n\
semantic error: in the tapset: identifier 'f' at /x/tapset/a.stp:1:1\n\
parse error: expected literal string or number\n        saw: operator '}' at /t/coverage.stp:5:1\n";
        let b = blame(stderr, "coverage.stp");
        assert_eq!(b.errors.keys().copied().collect::<Vec<_>>(), vec![3, 5]);
        assert!(b.warned[&2].contains("v"));
    }
}
