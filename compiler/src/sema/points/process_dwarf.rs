//! User-space points resolved through the program's DWARF (its own, or
//! its separate debug file: see `debuginfo::debugfile`):
//! `process("P").function("f[@file[:line]]")` with wildcards over the
//! DWARF's function names, `.return`, `.statement("f@file.c:N")` (or
//! `:N-M` and `:*`: each line with code there, at its first statement) and
//! `.function("f").label("L")` (wildcards over the source labels with
//! code, `DW_TAG_label`, of each matching function).
//! A `.function` uprobe goes after the prologue, as SystemTap's does, so
//! parameters have reached their frame slots; `.return` goes on the entry.
//!
//! Their context ([`UserVars`]) offers `$param`, `$local`, `$global`
//! (a variable of the function's unit, else of any: in a
//! position-independent program moved by its load address, the probed
//! instruction's address less its link-time one), `$p->field`,
//! `$$parms`, `$$locals`, `$$vars`, `$return` and `@entry` (a `.return`
//! probe's parameters are their values saved at entry): DWARF location
//! expressions at the probed instruction become reads of the task's
//! registers (the uprobe's `pt_regs`) and of its memory, and members come
//! from the program's own types.

use std::sync::Arc;

use super::{parts_text, resolved_text, similar, Parts, PointError, ProbeContext};
use crate::arch::Arch;
use crate::debuginfo::dwarf::scopes::{Scope, ScopeLabel};
use crate::debuginfo::userdebug::{UserDebug, UserLoc};
use crate::debuginfo::{arg_location, return_register, ArgLocation, CType, FieldPath};
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint, Type};
use crate::sema::vars::{
    fail, fail_help, listed_type, register, require_return_probe, saved_at_entry, Failed, Place,
    TargetHost, TargetVars,
};

/// Concrete points and their contexts.
type Points = Vec<(ProbePoint, ProbeContext)>;

/// `function("SPEC")` or `statement("SPEC")` of program `path` through its
/// DWARF. `Ok(None)`: the program has no debug information and `spec`
/// needs none (the symbol table answers), or DWARF knows no function of
/// that name (an assembler function: the symbol table again).
pub(super) fn resolve(
    parts: &Parts<'_>,
    path: &str,
    spec: &str,
    how: How<'_>,
    programs: &crate::debuginfo::UserPrograms,
) -> Result<Option<Points>, PointError> {
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let (function, file, line) = split_spec(spec);
    let needs_dwarf = file.is_some() || matches!(how, How::Statement | How::Label(_));
    let debug = match programs.debug(path) {
        Ok(d) => d,
        Err(_) if !needs_dwarf => return Ok(None),
        Err(e) => {
            return Err(err(
                format!("'{name}': this point needs the program's debug information: {e}"),
                Some(
                    "install its debug file under /usr/lib/debug/.build-id (or --sysroot DIR), or set DEBUGINFOD_URLS"
                        .into(),
                ),
            ))
        }
    };
    let mut scopes = debug.functions(function);
    if let Some(file) = file {
        scopes.retain(|s| {
            debug
                .dwarf()
                .scope_file(s.die)
                .is_some_and(|(f, _)| crate::debuginfo::dwarf::file_matches(file, &f))
        });
    }
    if scopes.is_empty() {
        if !needs_dwarf {
            return Ok(None);
        }
        return Err(err(
            format!(
                "'{name}': no function matches '{spec}' in the debug information of {path} ({})",
                debug.file.path.display()
            ),
            similar(function, &debug.function_names()).map(|s| format!("did you mean '{s}'?")),
        ));
    }
    let arch = arch_of(&debug);
    let mut out = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for scope in scopes {
        let (decl_file, decl_line) = debug
            .dwarf()
            .scope_file(scope.die)
            .unwrap_or_else(|| ("??".into(), 0));
        // Each probed address with the line its point names.
        let pcs: Vec<(u64, u32)> = match how {
            How::Entry => vec![(debug.dwarf().after_prologue(&scope), decl_line)],
            How::Return => vec![(scope.low_pc, decl_line)],
            How::Statement => {
                let want = line.ok_or_else(|| {
                    err(
                        format!("'{name}': a statement is written \"function@file.c:LINE\" (LINE may be N-M or *)"),
                        None,
                    )
                })?;
                let file = file.unwrap_or("*");
                let dwarf = debug.dwarf();
                match want {
                    Lines::One(n) => dwarf
                        .statement_addresses(&scope, file, n)
                        .into_iter()
                        .map(|pc| (pc, n))
                        .collect(),
                    // Every line with code in the range, each at its
                    // first statement.
                    Lines::Range(..) | Lines::Every => dwarf
                        .statement_lines(&scope, file)
                        .into_iter()
                        .filter(|n| want.contains(*n))
                        .filter_map(|n| {
                            let first = dwarf.statement_addresses(&scope, file, n).first().copied();
                            first.map(|pc| (pc, n))
                        })
                        .collect(),
                }
            }
            How::Label(pattern) => {
                labels.extend(scope.labels.iter().map(|l| l.name.clone()));
                let glob = crate::text::glob::Glob::new(pattern);
                for label in scope.labels.iter().filter(|l| glob.matches(&l.name)) {
                    let offset = file_offset(&debug, path, &scope, label.pc)
                        .map_err(|m| err(format!("'{name}': {m}"), None))?;
                    let point = label_point(parts, path, offset, &scope, label, &decl_file);
                    let vars = UserVars {
                        debug: debug.clone(),
                        scope: Arc::new(scope.clone()),
                        pc: label.pc,
                        ret: false,
                        entry: false,
                        arch,
                    };
                    out.push((point, ProbeContext::new(vars)));
                }
                continue;
            }
        };
        for (pc, shown) in pcs {
            let offset = file_offset(&debug, path, &scope, pc)
                .map_err(|m| err(format!("'{name}': {m}"), None))?;
            let component = if how == How::Statement {
                "statement"
            } else {
                "function"
            };
            let point = ProbePoint {
                name: resolved_text(
                    parts,
                    component,
                    &format!("{}@{decl_file}:{shown}", scope.name),
                ),
                kind: ProbeKind::Uprobe {
                    path: path.to_string(),
                    function: scope.name.clone(),
                    offset,
                    ret: how == How::Return,
                },
                optional: false,
            };
            let vars = UserVars {
                debug: debug.clone(),
                scope: Arc::new(scope.clone()),
                pc,
                ret: how == How::Return,
                entry: false,
                arch,
            };
            out.push((point, ProbeContext::new(vars)));
        }
    }
    if out.is_empty() {
        if let How::Label(pattern) = how {
            return Err(no_label(parts, pattern, spec, path, labels));
        }
        return Err(err(
            format!("'{name}': no statement of '{spec}' has code in {path}"),
            Some("name a line with a statement on it".into()),
        ));
    }
    Ok(Some(out))
}

/// The error for a `.label(pattern)` of `spec` in `place` (a program's
/// path, the kernel) that matches none of the `labels` its functions have.
pub(super) fn no_label(
    parts: &Parts<'_>,
    pattern: &str,
    spec: &str,
    place: &str,
    mut labels: Vec<String>,
) -> PointError {
    PointError {
        message: format!(
            "'{}': no label matches '{pattern}' in '{spec}' of {place}",
            parts_text(parts)
        ),
        help: Some(if labels.is_empty() {
            "it has no labels with code".into()
        } else {
            labels.sort();
            labels.dedup();
            similar(pattern, &labels).map_or_else(
                || format!("its labels are: {}", labels.join(", ")),
                |s| format!("did you mean '{s}'?"),
            )
        }),
    }
}

/// The name SystemTap gives the point at `label` of `scope` (observed
/// with its `pp()`): the function at the label's line, without the
/// `.label` component.
pub(super) fn label_point_name(
    parts: &Parts<'_>,
    scope: &Scope,
    label: &ScopeLabel,
    decl_file: &str,
) -> String {
    let function = format!("{}@{decl_file}:{}", scope.name, label.line);
    let without: Parts<'_> = parts
        .iter()
        .filter(|(n, _)| *n != "label")
        .cloned()
        .collect();
    resolved_text(&without, "function", &function)
}

/// The uprobe at `label` of `scope`, named by [`label_point_name`].
fn label_point(
    parts: &Parts<'_>,
    path: &str,
    offset: u64,
    scope: &Scope,
    label: &ScopeLabel,
    decl_file: &str,
) -> ProbePoint {
    ProbePoint {
        name: label_point_name(parts, scope, label, decl_file),
        kind: ProbeKind::Uprobe {
            path: path.to_string(),
            function: scope.name.clone(),
            offset,
            ret: false,
        },
        optional: false,
    }
}

/// The file offset of `pc` in `scope` of program `path` (its uprobe's).
fn file_offset(debug: &UserDebug, path: &str, scope: &Scope, pc: u64) -> Result<u64, String> {
    debug.file_offset(pc).ok_or_else(|| {
        format!(
            "address 0x{pc:x} of '{}' is in no segment of {path}",
            scope.name
        )
    })
}

/// Which instruction of a function a point probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum How<'a> {
    /// `.function("f")`, `.call`: after the prologue.
    Entry,
    /// `.return`: a uretprobe on the entry.
    Return,
    /// `.statement("f@file:N")`: each statement of line N.
    Statement,
    /// `.function("f").label("L")`: each label matching the pattern.
    Label(&'a str),
}

/// The lines a `.statement("f@file.c:LINES")` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// `:N`: every statement of line N.
    One(u32),
    /// `:N-M`: each line from N to M that has code.
    Range(u32, u32),
    /// `:*`: each line of the function that has code.
    Every,
}

impl Lines {
    fn parse(text: &str) -> Option<Lines> {
        if text == "*" {
            return Some(Lines::Every);
        }
        if let Some((a, b)) = text.split_once('-') {
            let (a, b) = (a.parse().ok()?, b.parse().ok()?);
            return (a <= b).then_some(Lines::Range(a, b));
        }
        text.parse().ok().map(Lines::One)
    }

    fn contains(self, line: u32) -> bool {
        match self {
            Lines::One(n) => line == n,
            Lines::Range(a, b) => (a..=b).contains(&line),
            Lines::Every => true,
        }
    }
}

/// `f@file.c:N` into its parts (`file` and the lines when written).
fn split_spec(spec: &str) -> (&str, Option<&str>, Option<Lines>) {
    let Some((function, rest)) = spec.split_once('@') else {
        return (spec, None, None);
    };
    match rest.rsplit_once(':') {
        Some((file, lines)) => match Lines::parse(lines) {
            Some(lines) => (function, Some(file), Some(lines)),
            None => (function, Some(rest), None),
        },
        None => (function, Some(rest), None),
    }
}

/// The program's architecture (its ELF machine), else the host's.
fn arch_of(debug: &UserDebug) -> Arch {
    debug.arch().or_else(Arch::host).unwrap_or(Arch::X86_64)
}

/// The register DWARF numbers `n` on `arch`.
pub(super) fn dwarf_register(arch: Arch, n: u16) -> Option<ir::Register> {
    use ir::X86Register as X;
    match arch {
        Arch::Arm64 => (n <= 31).then_some(ir::Register::Arm64(n as u8)),
        Arch::X86_64 => {
            let r = match n {
                0 => X::Ax,
                1 => X::Dx,
                2 => X::Cx,
                3 => X::Bx,
                4 => X::Si,
                5 => X::Di,
                6 => X::Bp,
                7 => X::Sp,
                8 => X::R8,
                9 => X::R9,
                10 => X::R10,
                11 => X::R11,
                12 => X::R12,
                13 => X::R13,
                14 => X::R14,
                15 => X::R15,
                _ => return None,
            };
            Some(ir::Register::X86(r))
        }
    }
}

/// A user-space function's variables at one probed instruction.
#[derive(Debug, Clone)]
struct UserVars {
    debug: Arc<UserDebug>,
    scope: Arc<Scope>,
    pc: u64,
    ret: bool,
    /// The entry of a `.return` probe (its first instruction), where
    /// `@entry` and saved parameters are read.
    entry: bool,
    arch: Arch,
}

impl UserVars {
    /// Parameter `var` at the function's first instruction: where DWARF
    /// puts it there if that is a register, else where the calling
    /// convention passes it (a -O0 frame slot is not written yet).
    fn entry_param(
        &self,
        var: &crate::debuginfo::dwarf::scopes::ScopeVar,
        span: Span,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let user = |base| ir::TargetBase::User {
            base: Box::new(base),
            offset: 0,
        };
        let at = self.scope.low_pc;
        if let Ok(UserLoc::Register(n)) = self.debug.location(&self.scope, var, at) {
            if let Some(r) = dwarf_register(self.arch, n) {
                return Ok((
                    user(ir::TargetBase::Register(r)),
                    Place::Value(var.ty.clone()),
                ));
            }
        }
        let n = self
            .scope
            .vars
            .iter()
            .filter(|v| v.param)
            .position(|v| v.name == var.name)
            .map_or(0, |i| i as u32 + 1);
        let fail_locate = || {
            fail(
                span,
                format!(
                    "cannot locate parameter '${}' of '{}' at its entry",
                    var.name, self.scope.name
                ),
            )
        };
        match arg_location(self.arch, n) {
            Some(ArgLocation::Register(r)) => {
                let r = register(r).ok_or_else(fail_locate)?;
                Ok((
                    user(ir::TargetBase::Register(r)),
                    Place::Value(var.ty.clone()),
                ))
            }
            Some(ArgLocation::Stack(off)) => {
                let sp = match self.arch {
                    Arch::X86_64 => ir::Register::X86(ir::X86Register::Sp),
                    Arch::Arm64 => ir::Register::Arm64(31),
                };
                Ok((
                    ir::TargetBase::User {
                        base: Box::new(ir::TargetBase::Register(sp)),
                        offset: off as i64,
                    },
                    Place::Address(var.ty.clone()),
                ))
            }
            None => Err(fail_locate()),
        }
    }

    /// Where variable `name` of type `ty` at `location` is read; `shown`
    /// is how the script wrote it (`$name`, `@var("name@file.c")`), for
    /// messages.
    fn place(
        &self,
        name: &str,
        shown: &str,
        ty: CType,
        location: UserLoc,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let function = &self.scope.name;
        let reg = |n: u16| {
            dwarf_register(self.arch, n).ok_or_else(|| {
                fail(
                    span,
                    format!("cannot locate '{shown}' of '{function}': DWARF register {n} is not one stapkit reads"),
                )
            })
        };
        Ok(match location {
            UserLoc::Register(n) => (
                ir::TargetBase::User {
                    base: Box::new(ir::TargetBase::Register(reg(n)?)),
                    offset: 0,
                },
                Place::Value(ty),
            ),
            UserLoc::Memory { register, offset } => (
                ir::TargetBase::User {
                    base: Box::new(ir::TargetBase::Register(reg(register)?)),
                    offset,
                },
                Place::Address(ty),
            ),
            UserLoc::Static(address) => (
                ir::TargetBase::User {
                    base: Box::new(ir::TargetBase::Value(Box::new(ir::Expr {
                        kind: ir::ExprKind::Long(address as i64),
                        ty: Some(Type::Long),
                        location: h.location(span, format!("identifier '${name}'")),
                    }))),
                    offset: 0,
                },
                Place::Address(ty),
            ),
            UserLoc::Relative(address) => {
                if self.ret && !self.entry {
                    return Err(fail_help(
                        span,
                        format!("'{shown}' is a static variable of a position-independent program, whose load address a .return probe does not know"),
                        format!("read it in a process(...).function(\"{function}\") probe or with @entry({shown})"),
                    ));
                }
                // The probed instruction's address, less its link-time
                // one, is where the program was loaded.
                let ip = match self.arch {
                    Arch::X86_64 => ir::Register::X86(ir::X86Register::Ip),
                    Arch::Arm64 => ir::Register::Arm64(ir::ARM64_PC),
                };
                (
                    ir::TargetBase::User {
                        base: Box::new(ir::TargetBase::Register(ip)),
                        offset: address.wrapping_sub(self.pc) as i64,
                    },
                    Place::Address(ty),
                )
            }
        })
    }

    /// The variables visible at the probed instruction: parameters, then
    /// locals (an inner block's shadowing an outer one's).
    fn visible(&self, params: bool) -> Vec<&crate::debuginfo::dwarf::scopes::ScopeVar> {
        let mut out: Vec<&crate::debuginfo::dwarf::scopes::ScopeVar> = Vec::new();
        for v in self.scope.vars.iter().filter(|v| v.param == params) {
            if !v.visible_at(self.pc) {
                continue;
            }
            out.retain(|o| o.name != v.name);
            out.push(v);
        }
        out
    }
}

impl TargetVars for UserVars {
    fn program_variable(
        &self,
        name: &str,
        file: Option<&str>,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Option<Result<(ir::TargetBase, Place), Failed>> {
        let found = match file {
            Some(f) => self.debug.global_in(name, f),
            None => self.debug.global(&self.scope, name),
        };
        let Some((ty, location)) = found else {
            let in_file = file.map_or(String::new(), |f| format!(" in a unit compiled from '{f}'"));
            return Some(Err(fail_help(
                span,
                format!("@var: the program has no global variable '{name}'{in_file}"),
                "@var names a global or file-static variable of the probed program: \"name\" or \"name@file.c\"".into(),
            )));
        };
        let shown = match file {
            Some(f) => format!("@var(\"{name}@{f}\")"),
            None => format!("@var(\"{name}\")"),
        };
        Some(self.place(name, &shown, ty, location, span, h))
    }

    fn variable(
        &self,
        name: &str,
        span: Span,
        h: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let function = &self.scope.name;
        if name == "return" {
            require_return_probe(self.ret, span)?;
            let reg = register(return_register(self.arch))
                .ok_or_else(|| fail(span, "cannot locate the return value".into()))?;
            return Ok((
                ir::TargetBase::Register(reg),
                Place::Value(self.scope.prototype.ret.clone()),
            ));
        }
        let mut all = self.visible(true);
        all.extend(self.visible(false));
        let Some(var) = all.iter().rev().find(|v| v.name == name) else {
            if let Some((ty, location)) = self.debug.global(&self.scope, name) {
                return self.place(name, &format!("${name}"), ty, location, span, h);
            }
            let names: Vec<String> = all.iter().map(|v| format!("${}", v.name)).collect();
            return Err(fail_help(
                span,
                format!("'{function}' has no parameter or local '{name}' here"),
                if names.is_empty() {
                    "it has no variables at this point".into()
                } else {
                    format!("its variables here are: {}", names.join(", "))
                },
            ));
        };
        if self.ret || self.entry {
            if !var.param {
                return Err(fail_help(
                    span,
                    format!("'${name}' is a local of '{function}', which has no value at its entry or return"),
                    format!("read it in a process(...).statement(\"{function}@FILE:LINE\") probe"),
                ));
            }
            let (base, place) = self.entry_param(var, span)?;
            if self.entry {
                return Ok((base, place));
            }
            // In a .return probe a parameter is its value at entry, as in
            // SystemTap: saved then (core/uentry.c), read back here.
            let ty = var.ty.clone();
            let in_memory = matches!(place, Place::Address(_));
            let saved = saved_at_entry(h, name, &ty, base, in_memory, span)?;
            return Ok((
                ir::TargetBase::User {
                    base: Box::new(ir::TargetBase::Value(Box::new(saved))),
                    offset: 0,
                },
                Place::Value(ty),
            ));
        }
        let location = self
            .debug
            .location(&self.scope, var, self.pc)
            .map_err(|e| {
                fail(
                    span,
                    format!("cannot locate '${name}' of '{function}': {e}"),
                )
            })?;
        self.place(name, &format!("${name}"), var.ty.clone(), location, span, h)
    }
    fn parameters(&self, _: &str, _: Span) -> Result<(Vec<String>, bool), Failed> {
        let names = self.visible(true).iter().map(|v| v.name.clone()).collect();
        Ok((names, self.ret))
    }

    fn at_entry(&self) -> Option<ProbeContext> {
        self.ret.then(|| {
            ProbeContext::new(UserVars {
                ret: false,
                entry: true,
                pc: self.scope.low_pc,
                ..self.clone()
            })
        })
    }

    fn locals(&self) -> Vec<String> {
        if self.ret || self.entry {
            return Vec::new();
        }
        self.visible(false).iter().map(|v| v.name.clone()).collect()
    }

    fn member_path(&self, aggregate: &str, member: &str) -> Option<Result<FieldPath, String>> {
        Some(
            self.debug
                .dwarf()
                .member_path(aggregate, &[member])
                .map_err(|e| e.to_string()),
        )
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let vars = if self.ret {
            self.visible(true)
        } else {
            let mut v = self.visible(true);
            v.extend(self.visible(false));
            v
        };
        let listed = vars
            .iter()
            .map(|v| (v.name.clone(), listed_type(&v.ty)))
            .collect();
        let ret = self
            .ret
            .then(|| listed_type(&self.scope.prototype.ret))
            .filter(|_| !matches!(self.scope.prototype.ret.strip(), CType::Void));
        (ret, listed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_registers() {
        assert_eq!(split_spec("f"), ("f", None, None));
        assert_eq!(split_spec("f@a.c"), ("f", Some("a.c"), None));
        assert_eq!(
            split_spec("f@src/a.c:12"),
            ("f", Some("src/a.c"), Some(Lines::One(12)))
        );
        assert_eq!(
            split_spec("f@a.c:26-28"),
            ("f", Some("a.c"), Some(Lines::Range(26, 28)))
        );
        assert_eq!(
            split_spec("f@a.c:*"),
            ("f", Some("a.c"), Some(Lines::Every))
        );
        assert_eq!(split_spec("f@a.c:x"), ("f", Some("a.c:x"), None));
        // A range must ascend.
        assert_eq!(split_spec("f@a.c:28-26"), ("f", Some("a.c:28-26"), None));
        assert_eq!(
            dwarf_register(Arch::X86_64, 6),
            Some(ir::Register::X86(ir::X86Register::Bp))
        );
        assert_eq!(
            dwarf_register(Arch::X86_64, 7),
            Some(ir::Register::X86(ir::X86Register::Sp))
        );
        assert_eq!(dwarf_register(Arch::X86_64, 16), None);
        assert_eq!(
            dwarf_register(Arch::Arm64, 29),
            Some(ir::Register::Arm64(29))
        );
        assert_eq!(
            dwarf_register(Arch::Arm64, 31),
            Some(ir::Register::Arm64(31))
        );
        assert_eq!(dwarf_register(Arch::Arm64, 32), None);
    }
}
