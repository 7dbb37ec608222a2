//! A user program's DWARF, found by [`super::debugfile`] and read with the
//! same reader as the kernel's ([`super::dwarf::DwarfKernel`], its name
//! index cached in stapkit's cache by build id): the functions with code
//! and their scopes, where each is in the program file (what uprobes
//! take), and where a variable lives at a probed instruction, with the
//! frame address resolved through the program's call frame information.

use std::path::Path;

use object::{Object, ObjectKind, ObjectSegment};

use super::debugfile::{self, DebugFile, SearchPath};
use super::dwarf::scopes::{Loc, Scope, ScopeVar};
use super::dwarf::DwarfKernel;
use super::CType;

/// An opened program with its debug file.
pub struct UserDebug {
    /// The debug file and how it was found.
    pub file: DebugFile,
    dwarf: DwarfKernel,
    /// The program's own bytes (its segments and `.eh_frame`).
    program: Vec<u8>,
    /// Whether the program is position-independent (a shared object or PIE).
    relocatable: bool,
}

impl std::fmt::Debug for UserDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserDebug")
            .field("file", &self.file)
            .finish()
    }
}

/// Where a variable is at a probed instruction, in registers of the
/// probed task (DWARF numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserLoc {
    /// In a register.
    Register(u16),
    /// In the task's memory at a register plus an offset.
    Memory {
        /// The register (DWARF number).
        register: u16,
        /// Added to its value.
        offset: i64,
    },
    /// In the task's memory at this address (a non-PIE program's static).
    Static(u64),
    /// In the task's memory at this link-time address of a
    /// position-independent program, moved as the program was: by the
    /// probed instruction's address less its link-time address.
    Relative(u64),
}

impl UserDebug {
    /// Finds and opens the debug file of the program at `host` (the
    /// target's `target`); the index goes under `cache_root/user-dwarf`.
    pub fn open(
        host: &Path,
        target: &str,
        search: &SearchPath,
        cache_root: &Path,
    ) -> Result<UserDebug, String> {
        let file = debugfile::find(host, target, search)?;
        let program =
            std::fs::read(host).map_err(|e| format!("cannot read {}: {e}", host.display()))?;
        let elf = object::File::parse(&*program)
            .map_err(|e| format!("{} is not an ELF program: {e}", host.display()))?;
        let relocatable = elf.kind() == ObjectKind::Dynamic;
        let key = match &file.build_id {
            Some(id) => format!("build-id-{id}"),
            None => format!(
                "path-{:016x}",
                crate::text::hash::fnv1a_64(file.path.to_string_lossy().as_bytes())
            ),
        };
        let dwarf = DwarfKernel::open(&file.path, &cache_root.join("user-dwarf").join(key))
            .map_err(|e| format!("the debug file {} cannot be read: {e}", file.path.display()))?;
        Ok(UserDebug {
            file,
            dwarf,
            program,
            relocatable,
        })
    }

    /// The DWARF reader (types and members of the program).
    pub fn dwarf(&self) -> &DwarfKernel {
        &self.dwarf
    }

    /// Functions with code whose names match `pattern` (wildcards), one
    /// per name, sorted by name.
    pub fn functions(&self, pattern: &str) -> Vec<Scope> {
        let glob = crate::text::glob::Glob::new(pattern);
        let mut out: Vec<Scope> = Vec::new();
        for f in &self.dwarf.index().functions {
            if !f.code || !glob.matches(&f.name) || out.last().is_some_and(|s| s.name == f.name) {
                continue;
            }
            if let Some(scope) = self.dwarf.scope(f.die) {
                out.push(scope);
            }
        }
        out
    }

    /// The program's architecture (its ELF machine), if stapkit knows it.
    pub fn arch(&self) -> Option<crate::arch::Arch> {
        let elf = object::File::parse(&*self.program).ok()?;
        match elf.architecture() {
            object::Architecture::X86_64 => Some(crate::arch::Arch::X86_64),
            object::Architecture::Aarch64 => Some(crate::arch::Arch::Arm64),
            _ => None,
        }
    }

    /// Every function name with code, for suggestions.
    pub fn function_names(&self) -> Vec<String> {
        self.dwarf
            .function_names()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Where link-time address `addr` is in the program file.
    pub fn file_offset(&self, addr: u64) -> Option<u64> {
        let elf = object::File::parse(&*self.program).ok()?;
        elf.segments().find_map(|s| {
            let (offset, size) = s.file_range();
            (addr >= s.address() && addr < s.address() + size).then(|| addr - s.address() + offset)
        })
    }

    /// The program's line table with file offsets for addresses (see
    /// [`super::dwarf::lines`]): what the module carries to name the
    /// source line of an address wherever the program is mapped. Rows
    /// outside the program's loaded segments are left out; a sequence's
    /// end just past a segment is kept.
    pub fn line_table(&self) -> super::dwarf::lines::LineTable {
        let mut table = self.dwarf.line_table();
        let Ok(elf) = object::File::parse(&*self.program) else {
            return super::dwarf::lines::LineTable::default();
        };
        let segments = super::file_offsets::FileOffsets::new(&elf);
        table.rows.retain_mut(|row| {
            // A sequence's end may be just past its segment's last byte.
            let offset = match segments.offset(row.address) {
                Some(o) => Some(o),
                None if row.place.is_none() => row
                    .address
                    .checked_sub(1)
                    .and_then(|a| segments.offset(a))
                    .map(|o| o + 1),
                None => None,
            };
            match offset {
                Some(o) => {
                    row.address = o;
                    true
                }
                None => false,
            }
        });
        table.rows.sort_by_key(|r| r.address);
        table
    }

    /// Where `var` of `scope` is at `pc`: the CFA is resolved with the
    /// program's call frame information (else the debug file's).
    pub fn location(&self, scope: &Scope, var: &ScopeVar, pc: u64) -> Result<UserLoc, String> {
        match self.dwarf.location(scope, var, pc)? {
            Loc::Register(r) => Ok(UserLoc::Register(r)),
            Loc::Memory { register, offset } => Ok(UserLoc::Memory { register, offset }),
            Loc::Cfa(offset) => {
                let (register, cfa) = super::frame_base::cfa_at(&self.program, pc)
                    .or_else(|_| super::frame_base::cfa_at(self.dwarf.file_bytes(), pc))?;
                Ok(UserLoc::Memory {
                    register,
                    offset: cfa.wrapping_add(offset),
                })
            }
            Loc::Static(a) => Ok(self.static_at(a)),
            Loc::Constant(v) => Err(format!(
                "it is the constant {v} there, not a place in the program's memory or registers"
            )),
        }
    }

    /// A static address of the program: moved with it when it is
    /// position-independent.
    fn static_at(&self, address: u64) -> UserLoc {
        if self.relocatable {
            UserLoc::Relative(address)
        } else {
            UserLoc::Static(address)
        }
    }

    /// The global or file-static variable `name` a function of `scope`
    /// sees: its own unit's first, else any unit's (SystemTap's `$name`
    /// for a variable not in the function). Its type and where it is.
    pub fn global(&self, scope: &Scope, name: &str) -> Option<(CType, UserLoc)> {
        // Units are named as compiled (`userdebug.c`): match the base name.
        let own = self.dwarf.scope_file(scope.die).map(|(f, _)| {
            f.rsplit_once('/')
                .map_or(f.clone(), |(_, base)| base.to_string())
        });
        let found = own
            .and_then(|f| self.dwarf.variable_in(name, &f))
            .or_else(|| self.dwarf.variable_in(name, "*"))?;
        Some((found.ty, self.static_at(found.address)))
    }

    /// The global or file-static variable `name` of a unit compiled from
    /// a file matching `file` (`@var("name@file")`): the first such
    /// unit's. Its type and where it is.
    pub fn global_in(&self, name: &str, file: &str) -> Option<(CType, UserLoc)> {
        let found = self.dwarf.variable_in(name, file)?;
        Some((found.ty, self.static_at(found.address)))
    }
}

#[cfg(test)]
#[path = "userdebug_tests.rs"]
mod tests;
