//! A function's scope as a probe inside it sees it: its code range, its
//! parameters and local variables (nested blocks included, each with the
//! code range it is visible in) and where each one lives at a given
//! instruction, from DWARF location expressions and location lists.
//!
//! Locations are answered in a small vocabulary ([`Loc`]): a register, memory
//! at a register plus an offset, memory at the canonical frame address plus
//! an offset (the caller turns the CFA into a register and offset with the
//! call frame information), or a static address. Anything else (values
//! computed by the expression, pieces, entry values) is refused by name.

use gimli::{AttributeValue, Operation};

use super::load::Reader;
use super::types::VOID;
use super::DwarfKernel;
use crate::debuginfo::ctype::{CType, Param, Prototype};

/// Where a location attribute points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LocationAttr {
    /// One expression for the whole scope.
    Expr(Vec<u8>),
    /// A location list (the offset into `.debug_loc`/`.debug_loclists`).
    List(gimli::LocationListsOffset<usize>),
}

/// A parameter or local variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeVar {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: CType,
    /// Whether it is a parameter.
    pub param: bool,
    /// Code ranges it is visible in (a nested block's); empty: the whole
    /// function.
    pub ranges: Vec<(u64, u64)>,
    location: Option<LocationAttr>,
}

/// A source label (`DW_TAG_label`) with code: where `.label("L")` probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeLabel {
    /// Its name.
    pub name: String,
    /// The line it is declared on (0: not recorded).
    pub line: u32,
    /// Its instruction (link-time address).
    pub pc: u64,
}

/// A function with code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Its name.
    pub name: String,
    /// The DIE.
    pub die: u64,
    /// Its code: `[low_pc, high_pc)` (link-time addresses).
    pub low_pc: u64,
    /// The end of its code.
    pub high_pc: u64,
    /// Its prototype.
    pub prototype: Prototype,
    /// Parameters first, then locals, in source order.
    pub vars: Vec<ScopeVar>,
    /// Its labels with code, nested blocks' included, in source order.
    pub labels: Vec<ScopeLabel>,
    frame_base: Option<LocationAttr>,
}

/// Where a variable is at one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// In DWARF register N.
    Register(u16),
    /// In memory at DWARF register N plus `offset`.
    Memory {
        /// The register (DWARF number).
        register: u16,
        /// Added to its value.
        offset: i64,
    },
    /// In memory at the canonical frame address plus this offset.
    Cfa(i64),
    /// In memory at this link-time address.
    Static(u64),
    /// Not in memory: the compiler knows its value there
    /// (`DW_OP_litN`/`DW_OP_constN` then `DW_OP_stack_value`).
    Constant(i64),
}

/// What [`DwarfKernel::collect_vars`] gathers from a function's tree.
#[derive(Default)]
struct Found {
    vars: Vec<ScopeVar>,
    labels: Vec<ScopeLabel>,
}

impl ScopeVar {
    /// Whether the variable is visible at `pc`.
    pub fn visible_at(&self, pc: u64) -> bool {
        self.ranges.is_empty() || self.ranges.iter().any(|(lo, hi)| pc >= *lo && pc < *hi)
    }
}

impl DwarfKernel {
    /// The scope of the function defined at DIE `die` (None: it has no
    /// code there).
    pub fn scope(&self, die: u64) -> Option<Scope> {
        self.scope_framed(die, die)
    }

    /// The out-of-line copies of the function whose index entry is DIE
    /// `die`: that DIE when it has code, else every concrete copy of that
    /// abstract instance in its unit (a top-level subprogram whose
    /// `DW_AT_abstract_origin` is `die`: the copy a compiler emits beside
    /// the inlined ones, and specialised clones such as `f.isra.0`),
    /// ascending by address.
    pub fn code_scopes(&self, die: u64) -> Vec<Scope> {
        if let Some(scope) = self.scope(die) {
            return vec![scope];
        }
        let Some(unit) = self.unit_at(die) else {
            return Vec::new();
        };
        let mut copies = Vec::new();
        let mut depth = 0isize;
        let mut cursor = unit.entries();
        while let Ok(Some((delta, entry))) = cursor.next_dfs() {
            depth += delta;
            if depth != 1 || entry.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let origin = match entry.attr_value(gimli::DW_AT_abstract_origin) {
                Ok(Some(v)) => super::index::reference(&unit.header, v),
                _ => None,
            };
            if origin == Some(die) {
                copies.push(super::index::global(&unit.header, entry.offset()));
            }
        }
        let mut out: Vec<Scope> = copies.into_iter().filter_map(|d| self.scope(d)).collect();
        out.sort_by_key(|s| s.low_pc);
        out
    }

    /// The scope of the inlined copy at DIE `die` (a
    /// `DW_TAG_inlined_subroutine`) inside the out-of-line function at
    /// DIE `top`, whose frame base its variables' `DW_OP_fbreg` uses.
    pub fn inline_scope(&self, die: u64, top: u64) -> Option<Scope> {
        self.scope_framed(die, top)
    }

    /// The scope at DIE `die`, with the frame base of DIE `framed`.
    fn scope_framed(&self, die: u64, framed: u64) -> Option<Scope> {
        let unit = self.unit_at(die)?;
        let offset = Self::unit_offset(&unit, die)?;
        let entry = unit.entry(offset).ok()?;
        let (low_pc, high_pc) = self.first_range(&unit, &entry)?;
        let frame_base = if framed == die {
            match entry.attr_value(gimli::DW_AT_frame_base) {
                Ok(Some(v)) => self.location_attr(&unit, v),
                _ => None,
            }
        } else {
            self.with_entry(framed, |unit, top| {
                match top.attr_value(gimli::DW_AT_frame_base) {
                    Ok(Some(v)) => self.location_attr(unit, v),
                    _ => None,
                }
            })
            .flatten()
        };
        let attrs = super::types::read_attrs(self, &unit, &entry);
        let name = attrs
            .name
            .clone()
            .or_else(|| attrs.origin.and_then(|o| self.attrs(o)?.name))?;
        let mut found = Found::default();
        let mut tree = unit.entries_tree(Some(offset)).ok()?;
        let root = tree.root().ok()?;
        self.collect_vars(&unit, root, &[], &mut found);
        let Found { vars, labels } = found;
        let ret = self
            .prototype_of(&name, die)
            .map(|p| p.ret)
            .unwrap_or_else(|| self.ctype(VOID));
        let params = vars
            .iter()
            .filter(|v| v.param)
            .map(|v| Param {
                name: v.name.clone(),
                ty: v.ty.clone(),
            })
            .collect();
        Some(Scope {
            prototype: Prototype {
                name: name.clone(),
                ret,
                params: Some(params),
                variadic: false,
            },
            name,
            die,
            low_pc,
            high_pc,
            vars,
            labels,
            frame_base,
        })
    }

    fn first_range(
        &self,
        unit: &gimli::Unit<Reader<'static>>,
        entry: &gimli::DebuggingInformationEntry<'_, '_, Reader<'static>>,
    ) -> Option<(u64, u64)> {
        let mut ranges = self.dwarf.die_ranges(unit, entry).ok()?;
        let mut best: Option<(u64, u64)> = None;
        while let Ok(Some(r)) = ranges.next() {
            if r.end > r.begin && best.is_none_or(|(lo, _)| r.begin < lo) {
                best = Some((r.begin, r.end));
            }
        }
        best
    }

    fn location_attr(
        &self,
        unit: &gimli::Unit<Reader<'static>>,
        value: AttributeValue<Reader<'static>>,
    ) -> Option<LocationAttr> {
        match value {
            AttributeValue::Exprloc(e) => Some(LocationAttr::Expr(e.0.slice().to_vec())),
            AttributeValue::Block(b) => Some(LocationAttr::Expr(b.slice().to_vec())),
            other => self
                .dwarf
                .attr_locations_offset(unit, other)
                .ok()
                .flatten()
                .map(LocationAttr::List),
        }
    }

    /// Parameters, variables and labels under `node`, descending into
    /// lexical blocks (whose ranges limit what they declare), not into
    /// nested functions or inlined copies.
    fn collect_vars(
        &self,
        unit: &gimli::Unit<Reader<'static>>,
        node: gimli::EntriesTreeNode<'_, '_, '_, Reader<'static>>,
        ranges: &[(u64, u64)],
        out: &mut Found,
    ) {
        let mut children = node.children();
        while let Ok(Some(child)) = children.next() {
            let entry = child.entry();
            match entry.tag() {
                gimli::DW_TAG_formal_parameter | gimli::DW_TAG_variable => {
                    let attrs = super::types::read_attrs(self, unit, entry);
                    let origin = attrs.origin.and_then(|o| self.attrs(o));
                    let Some(name) = attrs
                        .name
                        .clone()
                        .or_else(|| origin.as_ref().and_then(|o| o.name.clone()))
                    else {
                        continue;
                    };
                    let ty = attrs.ty.or(origin.and_then(|o| o.ty)).unwrap_or(VOID);
                    let location = match entry.attr_value(gimli::DW_AT_location) {
                        Ok(Some(v)) => self.location_attr(unit, v),
                        _ => None,
                    };
                    // Skip declarations of globals (`extern int x;` in a body).
                    if attrs.declaration {
                        continue;
                    }
                    out.vars.push(ScopeVar {
                        name,
                        ty: self.ctype(ty),
                        param: entry.tag() == gimli::DW_TAG_formal_parameter,
                        ranges: ranges.to_vec(),
                        location,
                    });
                }
                gimli::DW_TAG_lexical_block => {
                    let mut inner = Vec::new();
                    if let Ok(mut rs) = self.dwarf.die_ranges(unit, entry) {
                        while let Ok(Some(r)) = rs.next() {
                            inner.push((r.begin, r.end));
                        }
                    }
                    let inner = if inner.is_empty() {
                        ranges.to_vec()
                    } else {
                        inner
                    };
                    self.collect_vars(unit, child, &inner, out);
                }
                gimli::DW_TAG_label => {
                    let attrs = super::types::read_attrs(self, unit, entry);
                    let pc = match entry.attr_value(gimli::DW_AT_low_pc) {
                        Ok(Some(v)) => self.dwarf.attr_address(unit, v).ok().flatten(),
                        _ => None,
                    };
                    // A label the compiler dropped with its code has no address.
                    if let (Some(name), Some(pc)) = (attrs.name, pc) {
                        let line = match entry.attr_value(gimli::DW_AT_decl_line) {
                            Ok(Some(v)) => v.udata_value().unwrap_or(0) as u32,
                            _ => 0,
                        };
                        out.labels.push(ScopeLabel { name, line, pc });
                    }
                }
                _ => {}
            }
        }
    }

    /// The expression that applies at `pc`.
    fn expression_at(
        &self,
        scope: &Scope,
        attr: &LocationAttr,
        pc: u64,
    ) -> Result<Vec<u8>, String> {
        match attr {
            LocationAttr::Expr(e) => Ok(e.clone()),
            LocationAttr::List(offset) => {
                let unit = self.unit_at(scope.die).ok_or("its unit cannot be read")?;
                let mut list = self
                    .dwarf
                    .locations(&unit, *offset)
                    .map_err(|e| format!("its location list cannot be read: {e}"))?;
                while let Ok(Some(entry)) = list.next() {
                    if pc >= entry.range.begin && pc < entry.range.end {
                        return Ok(entry.data.0.slice().to_vec());
                    }
                }
                Err(format!(
                    "it has no location at 0x{pc:x} (optimized out there)"
                ))
            }
        }
    }

    /// Where `var` of `scope` is at `pc`.
    pub fn location(&self, scope: &Scope, var: &ScopeVar, pc: u64) -> Result<Loc, String> {
        let attr = var
            .location
            .as_ref()
            .ok_or("it has no location (optimized out)")?;
        let expr = self.expression_at(scope, attr, pc)?;
        let ops = self.operations(scope, &expr)?;
        if ops
            .iter()
            .any(|op| matches!(op, Operation::EntryValue { .. }))
        {
            return Err("its value here is the one a register held when the function was entered (DW_OP_entry_value), which a probe inside the function cannot know".into());
        }
        match ops.as_slice() {
            [Operation::FrameOffset { offset }] => {
                let base = scope
                    .frame_base
                    .as_ref()
                    .ok_or("its function has no frame base")?;
                let base = self.expression_at(scope, base, pc)?;
                match self.operations(scope, &base)?.as_slice() {
                    [Operation::CallFrameCFA] => Ok(Loc::Cfa(*offset)),
                    [Operation::Register { register }] => Ok(Loc::Memory {
                        register: register.0,
                        offset: *offset,
                    }),
                    [Operation::RegisterOffset {
                        register,
                        offset: o,
                        ..
                    }] => Ok(Loc::Memory {
                        register: register.0,
                        offset: o.wrapping_add(*offset),
                    }),
                    other => Err(format!("its frame base {other:?} is not supported")),
                }
            }
            [Operation::Register { register }] => Ok(Loc::Register(register.0)),
            [Operation::RegisterOffset {
                register, offset, ..
            }] => Ok(Loc::Memory {
                register: register.0,
                offset: *offset,
            }),
            [Operation::Address { address }] => Ok(Loc::Static(*address)),
            [Operation::CallFrameCFA] => Ok(Loc::Cfa(0)),
            [Operation::UnsignedConstant { value }, Operation::StackValue] => {
                Ok(Loc::Constant(*value as i64))
            }
            [Operation::SignedConstant { value }, Operation::StackValue] => {
                Ok(Loc::Constant(*value))
            }
            [.., Operation::StackValue] => {
                Err("its value is computed by the compiler's expression, which stapkit does not evaluate".into())
            }
            [.., Operation::Piece { .. }] => {
                Err("it is split into pieces, which stapkit does not read".into())
            }
            other => Err(format!("its location {other:?} is not supported")),
        }
    }

    fn operations<'e>(
        &self,
        scope: &Scope,
        expr: &'e [u8],
    ) -> Result<Vec<Operation<gimli::EndianSlice<'e, gimli::RunTimeEndian>>>, String> {
        let unit = self.unit_at(scope.die).ok_or("its unit cannot be read")?;
        let endian = gimli::Reader::endian(gimli::Section::reader(&self.dwarf.debug_info));
        let mut ops =
            gimli::Expression(gimli::EndianSlice::new(expr, endian)).operations(unit.encoding());
        let mut out = Vec::new();
        loop {
            match ops.next() {
                Ok(Some(op)) => out.push(op),
                Ok(None) => return Ok(out),
                Err(e) => return Err(format!("its location expression is malformed: {e}")),
            }
        }
    }

    /// The first instruction after `scope`'s prologue: the address of the
    /// first line-table row past its entry (where gdb and SystemTap put a
    /// function's breakpoint), or its entry when the table has none.
    pub fn after_prologue(&self, scope: &Scope) -> u64 {
        let rows = self.line_rows(scope);
        rows.iter()
            .map(|r| r.0)
            .filter(|a| *a > scope.low_pc && *a < scope.high_pc)
            .min()
            .unwrap_or(scope.low_pc)
    }

    /// Addresses of `scope`'s statements at `line` of a file matching
    /// `file` (each first `is_stmt` row of a run of that line), ascending.
    pub fn statement_addresses(&self, scope: &Scope, file: &str, line: u32) -> Vec<u64> {
        let mut out: Vec<u64> = Vec::new();
        let mut previous_line = None;
        for (address, row_line, row_file) in self.line_rows(scope) {
            let here = row_line == line
                && row_file
                    .as_deref()
                    .is_some_and(|f| super::file_matches(file, f));
            if here && previous_line != Some(line) {
                out.push(address);
            }
            previous_line = Some(row_line);
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The lines of a file matching `file` that have statements in
    /// `scope` (line 0, code of no line, left out), ascending.
    pub fn statement_lines(&self, scope: &Scope, file: &str) -> Vec<u32> {
        let mut lines: Vec<u32> = self
            .line_rows(scope)
            .into_iter()
            .filter(|(_, line, f)| {
                *line != 0 && f.as_deref().is_some_and(|f| super::file_matches(file, f))
            })
            .map(|(_, line, _)| line)
            .collect();
        lines.sort_unstable();
        lines.dedup();
        lines
    }

    /// The `is_stmt` line-table rows inside `scope`: address, line, file
    /// (as [`DwarfKernel::scope_file`] spells it), in table order.
    fn line_rows(&self, scope: &Scope) -> Vec<(u64, u32, Option<String>)> {
        self.rows_named(scope, true, user_files)
    }

    /// The `is_stmt` line-table rows inside a kernel function's `scope`:
    /// address, line, file as the kernel's DWARF spells it (relative to
    /// the build directory, `kernel/time/hrtimer.c`), in table order.
    pub fn kernel_line_rows(&self, scope: &Scope) -> Vec<(u64, u32, Option<String>)> {
        self.rows_named(scope, true, kernel_files)
    }

    /// The rows inside a kernel function's `scope` that are not
    /// statements (`is_stmt` clear), as [`Self::kernel_line_rows`] gives
    /// the others: gcc 14 leaves lines with code and no statement row
    /// (line 188 of 6.12's `vfs_fsync_range`), which SystemTap still
    /// probes when a `kernel.statement` names the line.
    pub fn kernel_line_rows_not_statements(
        &self,
        scope: &Scope,
    ) -> Vec<(u64, u32, Option<String>)> {
        self.rows_named(scope, false, kernel_files)
    }

    /// The rows inside `scope` whose `is_stmt` is `statements`, with
    /// files named by `names`.
    fn rows_named(
        &self,
        scope: &Scope,
        statements: bool,
        names: impl Fn(
            &gimli::Dwarf<Reader<'static>>,
            &gimli::Unit<Reader<'static>>,
        ) -> Vec<Option<String>>,
    ) -> Vec<(u64, u32, Option<String>)> {
        let Some(unit) = self.unit_at(scope.die) else {
            return Vec::new();
        };
        let Some(program) = unit.line_program.clone() else {
            return Vec::new();
        };
        let files = names(&self.dwarf, &unit);
        let mut rows = program.rows();
        let mut out = Vec::new();
        while let Ok(Some((_, row))) = rows.next_row() {
            let a = row.address();
            if row.end_sequence()
                || row.is_stmt() != statements
                || a < scope.low_pc
                || a >= scope.high_pc
            {
                continue;
            }
            let line = row.line().map_or(0, |l| l.get() as u32);
            let file = files.get(row.file_index() as usize).cloned().flatten();
            out.push((a, line, file));
        }
        out
    }

    /// The file that declares the function at `die` and its line, as a
    /// user program's `-L` names it (absolute when the compilation
    /// directory makes it so).
    pub fn scope_file(&self, die: u64) -> Option<(String, u32)> {
        let unit = self.unit_at(die)?;
        let files = user_files(&self.dwarf, &unit);
        self.with_entry(die, |_, entry| {
            let file = match entry.attr_value(gimli::DW_AT_decl_file) {
                Ok(Some(v)) => super::index::constant(&v)?,
                _ => return None,
            };
            let line = match entry.attr_value(gimli::DW_AT_decl_line) {
                Ok(Some(v)) => super::index::constant(&v).unwrap_or(0),
                _ => 0,
            };
            Some((files.get(file as usize)?.clone()?, line as u32))
        })
        .flatten()
    }
}

/// The unit's files by line-program index as the kernel's DWARF spells
/// them (relative to the build directory).
fn kernel_files(
    dwarf: &gimli::Dwarf<Reader<'static>>,
    unit: &gimli::Unit<Reader<'static>>,
) -> Vec<Option<String>> {
    super::index::unit_files(dwarf, unit)
        .into_iter()
        .map(|f| f.map(|f| f.to_string()))
        .collect()
}

/// The unit's files by line-program index, joined to the compilation
/// directory (user programs name their sources by full path).
pub(super) fn user_files(
    dwarf: &gimli::Dwarf<Reader<'static>>,
    unit: &gimli::Unit<Reader<'static>>,
) -> Vec<Option<String>> {
    let comp_dir = unit
        .comp_dir
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    super::index::unit_files(dwarf, unit)
        .into_iter()
        .map(|f| {
            f.map(|f| {
                if f.starts_with('/') || comp_dir.is_empty() {
                    f.to_string()
                } else {
                    format!("{}/{f}", comp_dir.trim_end_matches('/'))
                }
            })
        })
        .collect()
}

impl DwarfKernel {
    /// The whole mapped file (its `.debug_frame`, for one).
    pub fn file_bytes(&self) -> &[u8] {
        self.map.bytes()
    }
}
