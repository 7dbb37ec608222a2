//! procfs files: `procfs("PATH").read`, `procfs("PATH").write`, with an
//! optional `.umask(UMASK)` after the path and `.maxsize(N)` after
//! `.read`; `procfs.read`/`procfs.write` name the file `command`, as
//! stapprobes(3stap) describes them. A point is one file under
//! `/proc/systemtap/MODULE/` that the runtime creates while the session
//! runs (`runtime-c/core/procfs.c`); a read and a write point of one path
//! share the file.
//!
//! The handler's one target variable is `$value` ([`ProcfsVars`]): in a
//! read probe the text the reader gets, which the handler sets (up to
//! `.maxsize` bytes, `MAXSTRINGLEN` by default); in a write probe what the
//! writer wrote, which it only reads. `stap -L` lists no variables for
//! procfs points, as SystemTap's does (tests/oracle/procfs_listing.stp).

use super::{parts_text, Family, Param, Parts, PointError, ProbeContext, Resolution, Target};
use crate::diag::Span;
use crate::ir::{ProbeKind, ProbePoint};
use crate::sema::vars::{fail, Failed, ProbeText, Refusal};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("procfs", Param::Optional), ("read", Param::No)],
        &[("procfs", Param::Optional), ("write", Param::No)],
    ],
    names: &[
        "procfs(\"PATH\").read",
        "procfs(\"PATH\").write",
        "procfs.read",
        "procfs.write",
    ],
    types: &[
        "procfs(string).read",
        "procfs(string).read.maxsize(number)",
        "procfs(string).umask(number).read",
        "procfs(string).umask(number).read.maxsize(number)",
        "procfs(string).umask(number).write",
        "procfs(string).write",
        "procfs.read",
        "procfs.read.maxsize(number)",
        "procfs.umask(number).read",
        "procfs.umask(number).read.maxsize(number)",
        "procfs.umask(number).write",
        "procfs.write",
    ],
    resolve,
};

/// The file `procfs.read` and `procfs.write` name.
const DEFAULT_PATH: &str = "command";

/// The name SystemTap keeps for its own input probes.
const RESERVED_PATH: &str = "__stdin";

/// `procfs[("PATH")][.umask(U)].read[.maxsize(N)]` or
/// `procfs[("PATH")][.umask(U)].write`; `None` when `parts` is not a
/// procfs point.
fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    let [("procfs", path), rest @ ..] = parts.as_slice() else {
        return Ok(None);
    };
    let name = parts_text(parts);
    let err = |message: String, help: Option<&str>| PointError {
        message,
        help: help.map(str::to_string),
    };
    let (umask, rest) = match rest {
        [("umask", Some(u)), rest @ ..] => (Some(*u), rest),
        _ => (None, rest),
    };
    let (write, maxsize) = match rest {
        [("read", None)] => (false, None),
        [("read", None), ("maxsize", Some(m))] => (false, Some(*m)),
        [("write", None)] => (true, None),
        _ => return Ok(None),
    };
    let path = match path {
        None => DEFAULT_PATH.to_string(),
        Some(ast::Literal::String(s)) => s.to_str_lossy().into_owned(),
        Some(ast::Literal::Number(_)) => {
            return Err(err(
                format!("'{name}': the procfs file must be named by a string"),
                Some("write procfs(\"NAME\")"),
            ))
        }
    };
    if path.is_empty() || path == "." || path == ".." || path.contains('/') {
        return Err(err(
            format!("'{name}': '{path}' is not a file name"),
            Some("name one file of /proc/systemtap/MODULE: no '/', not empty, '.' or '..'"),
        ));
    }
    if path == RESERVED_PATH && !(write && target.in_alias) {
        return Err(err(
            format!("'{name}': '{RESERVED_PATH}' is reserved for input probes"),
            Some("choose another file name; input.char and input.line read the standard input"),
        ));
    }
    let umask = match umask {
        None => None,
        Some(ast::Literal::Number(n)) if (0..=0o777).contains(&n.value) => Some(n.value as u32),
        Some(_) => {
            return Err(err(
                format!("'{name}': the umask must be a number from 0 to 0777"),
                None,
            ))
        }
    };
    let maxsize = match maxsize {
        None => None,
        Some(ast::Literal::Number(n)) if n.value > 0 && n.value <= u32::MAX as i64 => {
            Some(n.value as u32)
        }
        Some(_) => {
            return Err(err(
                format!("'{name}': the read buffer's maxsize must be a positive number of bytes"),
                None,
            ))
        }
    };
    Ok(Some(vec![(
        ProbePoint {
            name,
            kind: ProbeKind::Procfs {
                path,
                write,
                umask,
                maxsize,
            },
            optional: false,
        },
        ProbeContext::new(ProcfsVars { write }),
    )]))
}

/// A procfs probe's `$value`: set by a read probe, read by a write probe.
#[derive(Debug)]
struct ProcfsVars {
    /// A write probe's (`$value` is what was written).
    write: bool,
}

impl Refusal for ProcfsVars {
    fn refuse(&self, span: Span, what: &str) -> Failed {
        fail(
            span,
            format!("'{what}' is not available in procfs probes: their one variable is $value"),
        )
    }

    fn probe_text(&self, name: &str) -> Option<ProbeText> {
        (name == "value").then_some(ProbeText {
            read_only: self.write.then_some(
                "in a procfs write probe $value is what was written; set it in a read probe",
            ),
        })
    }

    fn shared_body_key(&self) -> Option<String> {
        Some(format!("procfs-{}", self.write))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target<'static> {
        static PROGRAMS: std::sync::OnceLock<crate::debuginfo::UserPrograms> =
            std::sync::OnceLock::new();
        Target {
            hz: 250,
            kernel: None,
            programs: PROGRAMS.get_or_init(Default::default),
            guru: false,
            in_alias: false,
            names_only: false,
            quiet: false,
        }
    }

    #[test]
    fn the_default_file_is_command() {
        let points = resolve(&vec![("procfs", None), ("write", None)], target())
            .unwrap()
            .unwrap();
        assert_eq!(
            points[0].0.kind,
            ProbeKind::Procfs {
                path: "command".into(),
                write: true,
                umask: None,
                maxsize: None
            }
        );
    }

    #[test]
    fn maxsize_is_only_for_reads() {
        let mut map = crate::diag::SourceMap::new();
        let file = map.add("t.stp", "probe procfs.write.maxsize(10) {}");
        let n = ast::Literal::Number(ast::NumLit {
            value: 10,
            span: Span::new(file, 27, 29),
        });
        let parts = vec![("procfs", None), ("write", None), ("maxsize", Some(&n))];
        assert!(resolve(&parts, target()).unwrap().is_none());
    }
}
