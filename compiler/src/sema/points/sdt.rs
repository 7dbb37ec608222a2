//! SDT markers of user-space programs: `process("PATH").mark("m")` and
//! `process("PATH").provider("p").mark("m")` (wildcards in both), from
//! the program's `.note.stapsdt` notes ([`crate::debuginfo::sdt`]). Each
//! marker is a uprobe at its address; a marker with a semaphore has the
//! kernel count the probe there while it is registered
//! (`runtime-c/core/uprobe.c`). The handler has `$arg1..$argN` (each as
//! its note describes it: a constant, a register or the process's
//! memory, of 1 to 8 bytes, signed or not), `$$name`, `$$provider` and
//! `$$parms`/`$$vars`.

use super::{
    parts_text, similar, Family, Param, Parts, PointError, ProbeContext, Resolution, Target,
};
use crate::debuginfo::sdt::{self, MarkerRegister, Operand, SdtArg, SdtMarker};
use crate::debuginfo::CType;
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint};
use crate::sema::vars::{fail, Failed, Place, TargetHost, TargetVars};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[
        &[("process", Param::Optional), ("mark", Param::Required)],
        &[
            ("process", Param::Optional),
            ("provider", Param::Required),
            ("mark", Param::Required),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("mark", Param::Required),
        ],
        &[
            ("process", Param::Optional),
            ("library", Param::Required),
            ("provider", Param::Required),
            ("mark", Param::Required),
        ],
    ],
    names: &[
        "process(\"PATH\").mark(\"NAME\")",
        "process(\"PATH\").provider(\"PROVIDER\").mark(\"NAME\")",
        "process(\"PATH\").library(\"PATH\").mark(\"NAME\")",
    ],
    types: &[
        "process(string).library(string).mark(string)",
        "process(string).library(string).provider(string).mark(string)",
        "process(string).mark(string)",
        "process(string).provider(string).mark(string)",
    ],
    resolve,
};

fn resolve(parts: &Parts<'_>, target: Target<'_>) -> Resolution {
    match parts.as_slice() {
        [("process", path), ("mark", Some(mark))] => {
            markers(parts, *path, None, None, mark, target)
        }
        [("process", path), ("provider", Some(provider)), ("mark", Some(mark))] => {
            markers(parts, *path, None, Some(provider), mark, target)
        }
        [("process", path), ("library", Some(lib)), ("mark", Some(mark))] => {
            markers(parts, *path, Some(lib), None, mark, target)
        }
        [("process", path), ("library", Some(lib)), ("provider", Some(provider)), ("mark", Some(mark))] => {
            markers(parts, *path, Some(lib), Some(provider), mark, target)
        }
        _ => Ok(None),
    }
}

/// A string argument's text, or the error naming the point.
pub(super) fn string_arg(
    parts: &Parts<'_>,
    l: &ast::Literal,
    what: &str,
) -> Result<String, PointError> {
    match l {
        ast::Literal::String(s) => Ok(s.to_str_lossy().into_owned()),
        ast::Literal::Number(_) => Err(PointError {
            message: format!("'{}': the {what} must be a string", parts_text(parts)),
            help: None,
        }),
    }
}

/// The absolute program path of `process("PATH")` (a name without `/`
/// looked for in `$PATH`, a relative path from the current directory, as
/// SystemTap does), or the error.
pub(super) fn program_path(
    parts: &Parts<'_>,
    l: Option<&ast::Literal>,
    target: Target<'_>,
) -> Result<String, PointError> {
    let Some(l) = l else {
        return target_program(parts, target);
    };
    let path = string_arg(parts, l, "program path")?;
    found_program(parts, &path, target)
}

/// The program of a `process` point written without a path: the target
/// process's (`-c CMD`, `-x PID`), as SystemTap fills it in.
pub(super) fn target_program(parts: &Parts<'_>, target: Target<'_>) -> Result<String, PointError> {
    let name = parts_text(parts);
    match target.programs.target_program() {
        Some(Ok(path)) => Ok(path),
        Some(Err(e)) => Err(PointError {
            message: format!("'{name}': {e}"),
            help: Some("write the program's path: process(\"PATH\")".into()),
        }),
        None => Err(PointError {
            message: format!("'{name}': no program is named and there is no target process"),
            help: Some(
                "write the program's path, process(\"PATH\"), or give the command with -c CMD"
                    .into(),
            ),
        }),
    }
}

/// The absolute path of the program `path` names (see [`program_path`]).
pub(super) fn found_program(
    parts: &Parts<'_>,
    path: &str,
    target: Target<'_>,
) -> Result<String, PointError> {
    if path.starts_with('/') && crate::text::glob::is_wildcard(path) {
        let mut found = found_programs(parts, path, target)?;
        if found.len() > 1 {
            return Err(PointError {
                message: format!(
                    "'{}': {path} matches {} files ({}), and this probe point takes one",
                    parts_text(parts),
                    found.len(),
                    found.join(", ")
                ),
                help: Some("name one of them".to_string()),
            });
        }
        return Ok(found.remove(0));
    }
    // A name without '/' that is no program may be a library's soname.
    let program = target.programs.find_program(path).or_else(|| {
        (!path.contains('/'))
            .then(|| target.programs.find_library(path, &[]))
            .flatten()
    });
    program.ok_or_else(|| {
        let (message, help) = if path.contains('/') {
            (
                format!(
                    "'{}': the program path '{path}' must be absolute with --sysroot",
                    parts_text(parts)
                ),
                format!("write the full path, such as \"/usr/bin/{path}\""),
            )
        } else {
            (
                format!(
                    "'{}': no program '{path}' in any directory of $PATH",
                    parts_text(parts)
                ),
                format!("write the full path, such as \"/usr/bin/{path}\", or add its directory to $PATH"),
            )
        };
        PointError {
            message,
            help: Some(help),
        }
    })
}

/// The files a `process("PATH")` with wildcards names: every file of the
/// target the absolute `pattern` matches ([`super::program_glob`]), or
/// SystemTap's error when there is none.
fn found_programs(
    parts: &Parts<'_>,
    pattern: &str,
    target: Target<'_>,
) -> Result<Vec<String>, PointError> {
    let found = super::program_glob::expand(target.programs, pattern);
    if found.is_empty() {
        let (message, help) = super::program_glob::no_match(target.programs, pattern);
        return Err(PointError {
            message: format!("'{}': {message}", parts_text(parts)),
            help,
        });
    }
    Ok(found)
}

/// The target's file `path`, read on this machine (under `--sysroot`);
/// an error when it is not a program of the target kernel's
/// architecture.
pub(super) fn read_program(
    parts: &Parts<'_>,
    path: &str,
    target: Target<'_>,
) -> Result<Vec<u8>, PointError> {
    let host = target.programs.host_path(path);
    let data = std::fs::read(&host).map_err(|e| PointError {
        message: format!(
            "'{}': cannot read {}: {e}",
            parts_text(parts),
            host.display()
        ),
        help: target.programs.sysroot().is_none().then(|| {
            "programs are read on this machine: give the target's file tree with --sysroot DIR"
                .to_string()
        }),
    })?;
    if let (Some(kernel), Ok(elf)) = (target.kernel, object::File::parse(&*data)) {
        let arch = match object::Object::architecture(&elf) {
            object::Architecture::X86_64 => Some(crate::arch::Arch::X86_64),
            object::Architecture::Aarch64 => Some(crate::arch::Arch::Arm64),
            _ => None,
        };
        if arch != Some(kernel.arch()) {
            return Err(PointError {
                message: format!(
                    "'{}': {} is not a program for {}",
                    parts_text(parts),
                    host.display(),
                    kernel.arch()
                ),
                help: Some("give the target's file tree with --sysroot DIR".to_string()),
            });
        }
    }
    Ok(data)
}

fn markers(
    parts: &Parts<'_>,
    path: Option<&ast::Literal>,
    library: Option<&ast::Literal>,
    provider: Option<&ast::Literal>,
    mark: &ast::Literal,
    target: Target<'_>,
) -> Resolution {
    let paths = match path {
        None => vec![target_program(parts, target)?],
        Some(l) => {
            let pattern = string_arg(parts, l, "program path")?;
            if pattern.starts_with('/') && crate::text::glob::is_wildcard(&pattern) {
                found_programs(parts, &pattern, target)?
            } else {
                vec![found_program(parts, &pattern, target)?]
            }
        }
    };
    let provider = provider
        .map(|p| string_arg(parts, p, "provider"))
        .transpose()?;
    let spec = string_arg(parts, mark, "marker name")?;
    // The files probed, each with the point's name up to `.mark`.
    let mut files = Vec::new();
    for path in paths {
        match library {
            None => files.push((path.clone(), format!("process(\"{path}\")"))),
            Some(l) => {
                for lib in super::library::libraries(parts, &path, l, target)? {
                    let place = format!("process(\"{path}\").library(\"{lib}\")");
                    files.push((lib, place));
                }
            }
        }
    }
    // A pattern's files each give their markers; only when none has one
    // that matches is it an error (the first file's).
    super::points_of_any(
        files.into_iter().map(|(path, place)| {
            file_markers(parts, path, &place, provider.as_deref(), &spec, target)
        }),
    )
}

/// The points of the markers of the program `path` that match `spec` (and
/// `provider`), or the error naming the file.
fn file_markers(
    parts: &Parts<'_>,
    path: String,
    place: &str,
    provider: Option<&str>,
    spec: &str,
    target: Target<'_>,
) -> Result<Vec<(ProbePoint, ProbeContext)>, PointError> {
    let data = read_program(parts, &path, target)?;
    let host = target.programs.host_path(&path);
    let all = sdt::markers(&data, &host.display().to_string()).map_err(|e| PointError {
        message: format!("'{}': {e}", parts_text(parts)),
        help: None,
    })?;
    let name_glob = crate::text::glob::Glob::new(spec);
    let provider_glob = provider.map(crate::text::glob::Glob::new);
    let matched: Vec<&SdtMarker> = all
        .iter()
        .filter(|m| name_glob.matches(&m.name))
        .filter(|m| {
            provider_glob
                .as_ref()
                .is_none_or(|g| g.matches(&m.provider))
        })
        .collect();
    if matched.is_empty() {
        let names: Vec<String> = all.iter().map(|m| m.name.clone()).collect();
        let message = if all.is_empty() {
            format!(
                "'{}': {} has no SDT markers (no .note.stapsdt section)",
                parts_text(parts),
                host.display()
            )
        } else {
            format!(
                "'{}': no SDT marker matches '{spec}' in {}",
                parts_text(parts),
                host.display()
            )
        };
        return Err(PointError {
            message,
            help: similar(spec, &names).map(|s| format!("did you mean '{s}'?")),
        });
    }
    Ok(matched
        .into_iter()
        .map(|m| {
            let name = match provider {
                Some(_) => format!("{place}.provider(\"{}\").mark(\"{}\")", m.provider, m.name),
                None => format!("{place}.mark(\"{}\")", m.name),
            };
            let point = ProbePoint {
                name,
                kind: ProbeKind::UserMarker {
                    path: path.clone(),
                    provider: m.provider.clone(),
                    name: m.name.clone(),
                    offset: m.offset,
                    semaphore: m.semaphore,
                },
                optional: false,
            };
            (point, ProbeContext::new(MarkerVars(m.clone())))
        })
        .collect())
}

/// A marker's context: its arguments, name and provider.
#[derive(Debug)]
struct MarkerVars(SdtMarker);

/// An argument as the script reads it: a `long`.
fn long() -> CType {
    CType::Int {
        name: "long".into(),
        size: 8,
        signed: true,
    }
}

fn register(r: MarkerRegister) -> ir::Register {
    match r {
        MarkerRegister::Arm64(n) => ir::Register::Arm64(n),
        MarkerRegister::Arm64Sp => ir::Register::Arm64(31),
        // The decoder names x86-64 registers by their pt_regs members.
        MarkerRegister::X86(member) => crate::sema::vars::register(member)
            .unwrap_or_else(|| unreachable!("'{member}' is a pt_regs member")),
    }
}

/// Where argument `arg` starts, and what the script gets.
fn argument(arg: &SdtArg) -> (ir::TargetBase, Place) {
    let int = CType::Int {
        name: String::new(),
        size: arg.size.into(),
        signed: arg.signed,
    };
    match arg.operand {
        Operand::Constant(n) => (
            ir::TargetBase::Value(Box::new(ir::Expr {
                kind: ir::ExprKind::Long(n),
                ty: Some(ir::Type::Long),
                location: ir::Location::default(),
            })),
            Place::Value(int),
        ),
        Operand::Register(r) => (ir::TargetBase::Register(register(r)), Place::Value(int)),
        Operand::Undecoded => unreachable!("MarkerVars::variable refuses undecoded arguments"),
        Operand::Memory {
            base,
            index,
            displacement,
        } => (
            ir::TargetBase::UserMemory {
                base: base.map(register),
                index: index.map(|(r, s)| (register(r), s)),
                displacement,
                size: arg.size,
                signed: arg.signed,
            },
            Place::Value(long()),
        ),
    }
}

impl TargetVars for MarkerVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        _: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        // `$$parms` names them `$argN`, as SystemTap prints them.
        let name = name.strip_prefix('$').unwrap_or(name);
        let n = name
            .strip_prefix("arg")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n >= 1);
        if let Some((_, why)) = n.and_then(|n| self.0.undecoded.iter().find(|(i, _)| *i + 1 == n)) {
            return Err(fail(
                span,
                format!("target variable '${name}' is not available: {why}"),
            ));
        }
        match n.and_then(|n| self.0.args.get(n - 1)) {
            Some(arg) => Ok(argument(arg)),
            None => Err(fail(
                span,
                format!(
                    "target variable '${name}' is not available: marker '{}' of provider '{}' has {} argument{} ($arg1..$argN)",
                    self.0.name,
                    self.0.provider,
                    self.0.args.len(),
                    if self.0.args.len() == 1 { "" } else { "s" }
                ),
            )),
        }
    }

    fn parameters(&self, which: &str, span: Span) -> Result<(Vec<String>, bool), Failed> {
        match which {
            // SystemTap 5.1 prints `$arg1=0x... $arg2=...`
            // (tests/scripts/sdt_markers.oracle).
            "$$parms" | "$$vars" | "$$locals" | "$$return" => Ok((
                (1..=self.0.args.len())
                    .map(|i| format!("$arg{i}"))
                    .collect(),
                false,
            )),
            _ => Err(fail(
                span,
                format!("'{which}' is not available in SDT marker probes"),
            )),
        }
    }

    fn text(&self, which: &str) -> Option<String> {
        match which {
            "$$name" => Some(self.0.name.clone()),
            "$$provider" => Some(self.0.provider.clone()),
            _ => None,
        }
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let args = (1..=self.0.args.len())
            .map(|i| (format!("arg{i}"), "long".to_string()))
            .collect();
        (None, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every x86-64 register an operand may name is one the IR knows.
    #[test]
    fn every_decoded_register_has_an_ir_register() {
        let names = "rax eax ax al rbx ebx bx bl rcx ecx cx cl rdx edx dx dl rsi esi si sil \
                     rdi edi di dil rbp ebp bp bpl rsp esp sp spl rip r8 r9d r10w r11b r12 r13 r14 r15";
        for name in names.split(' ') {
            let args = sdt::parse_args(&format!("8@%{name}"), sdt::Arch::X86_64).unwrap();
            let Operand::Register(r) = args[0].operand else {
                panic!("{name}: {:?}", args[0]);
            };
            let _ = register(r);
        }
        assert_eq!(
            register(MarkerRegister::X86("sp")),
            ir::Register::X86(ir::X86Register::Sp)
        );
        assert_eq!(register(MarkerRegister::Arm64Sp), ir::Register::Arm64(31));
    }
}
