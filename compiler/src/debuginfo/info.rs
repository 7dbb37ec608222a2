//! [`KernelInfo`]: every question the probe providers and codegen ask
//! about a kernel, answered by the best source at hand — DWARF, then BTF,
//! then the calling convention — and saying which one answered. Sources
//! are opened on first use: a script that only uses `syscall.*` never
//! builds the DWARF index.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::btf::Btf;
use super::callconv::Arch;
use super::cdecl::{NoTypes, TypeNames};
use super::ctype::{CType, FieldPath, Layout};
use super::dwarf::DwarfKernel;
use super::error::DebugInfoError;
use super::files::KernelFiles;
use super::image::cache::ImageCache;
use super::source::{CallingConvention, Source, Sourced, TypeSource};
use super::symbols::SystemMap;
use super::syscalls::{self, SyscallTable};
use super::tracepoints::{self, TraceDecl};
use crate::kernel::module_tracepoints::{self, ModuleTracepoint};
use crate::kernel::symvers::Symvers;

/// How a BTF load went, for `-v` and for error hints.
#[derive(Debug)]
enum Loaded<T> {
    Ready(T),
    Missing(String),
}

impl<T> Loaded<T> {
    fn get(&self) -> Option<&T> {
        match self {
            Loaded::Ready(t) => Some(t),
            Loaded::Missing(_) => None,
        }
    }
}

/// How many sources [`KernelInfo::source_at`] has.
const SOURCE_COUNT: usize = 3;

/// Answers about one kernel (see the module docs).
#[derive(Debug)]
pub struct KernelInfo {
    files: KernelFiles,
    dwarf: OnceLock<Loaded<DwarfKernel>>,
    btf: OnceLock<Loaded<(Btf, String)>>,
    system_map: OnceLock<Option<SystemMap>>,
    exports: OnceLock<Symvers>,
    calling_convention: OnceLock<CallingConvention>,
    trace_decls: OnceLock<BTreeMap<String, TraceDecl>>,
    syscall_table: OnceLock<Option<SyscallTable>>,
    syscall_protos: OnceLock<std::collections::HashMap<String, Vec<String>>>,
    module_tracepoints: OnceLock<Result<Vec<ModuleTracepoint>, String>>,
    /// The probe-able function names (`function_names`), built once: each
    /// point that names no function asks for them (its suggestions).
    pub(super) function_names: OnceLock<Sourced<Vec<String>>>,
    /// The probe-able functions (`probeable`).
    pub(super) probeable: OnceLock<super::probeable::ProbeableList>,
    /// Loadable modules' types by module name (`module_types`).
    pub(super) module_types: super::module_types::ModuleTypesCache,
    /// `@var` answers by name (each one scans the tree's headers).
    pub(super) variables: std::sync::Mutex<
        std::collections::HashMap<
            String,
            Result<super::variables::KernelVariable, super::variables::VariableError>,
        >,
    >,
}

impl KernelInfo {
    /// Answers about the kernel whose files are `files`.
    pub fn new(files: KernelFiles) -> KernelInfo {
        KernelInfo {
            files,
            dwarf: OnceLock::new(),
            btf: OnceLock::new(),
            system_map: OnceLock::new(),
            exports: OnceLock::new(),
            calling_convention: OnceLock::new(),
            trace_decls: OnceLock::new(),
            syscall_table: OnceLock::new(),
            syscall_protos: OnceLock::new(),
            module_tracepoints: OnceLock::new(),
            function_names: OnceLock::new(),
            probeable: OnceLock::new(),
            module_types: Default::default(),
            variables: Default::default(),
        }
    }

    /// The kernel's files.
    pub fn files(&self) -> &KernelFiles {
        &self.files
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.files.arch
    }

    /// The DWARF source, if the debug vmlinux is present and readable.
    pub fn dwarf(&self) -> Option<&DwarfKernel> {
        self.dwarf
            .get_or_init(|| match &self.files.debug_vmlinux {
                None => Loaded::Missing(self.files.debug_hint.clone()),
                Some(path) => match DwarfKernel::open(path, &self.files.cache_dir) {
                    Ok(k) => Loaded::Ready(k),
                    Err(e) => Loaded::Missing(e.to_string()),
                },
            })
            .get()
    }

    /// The BTF source, from the image (cached after the first extraction).
    pub fn btf(&self) -> Option<&Btf> {
        self.btf_loaded().get().map(|(b, _)| b)
    }

    fn btf_loaded(&self) -> &Loaded<(Btf, String)> {
        self.btf.get_or_init(|| {
            let Some(image) = &self.files.image else {
                return Loaded::Missing("no kernel image".into());
            };
            let cache = ImageCache::new(&self.files.cache_dir);
            let loaded = cache.btf(image).and_then(|found| {
                let btf = Btf::parse(&found.bytes).map_err(|e| DebugInfoError::Btf {
                    path: image.clone(),
                    message: e.0,
                })?;
                let how = if found.cached { "cached" } else { "extracted" };
                Ok((
                    btf,
                    format!("{} ({}, {how})", image.display(), found.format),
                ))
            });
            match loaded {
                Ok(b) => Loaded::Ready(b),
                Err(e) => Loaded::Missing(e.to_string()),
            }
        })
    }

    /// The tracepoints the kernel's own modules define (see
    /// [`crate::kernel::module_tracepoints`]), as learnt before: this reads
    /// a cache file only. An error says why they cannot be known (no
    /// modules to be had, not learnt yet). The driver learns them before
    /// pass 2 when the script's probe points need them
    /// ([`KernelInfo::tracepoint_needs_modules`]).
    pub fn module_tracepoints(&self) -> Result<&[ModuleTracepoint], &str> {
        self.module_tracepoints
            .get_or_init(|| {
                let Some(source) = &self.files.modules else {
                    return Err(format!(
                        "the modules of {} are not at hand (neither fetched nor installed)",
                        self.files.release
                    ));
                };
                match module_tracepoints::cached(source) {
                    Ok(Some(found)) => Ok(found),
                    Ok(None) => Err(format!(
                        "the tracepoints of the modules of {} are not learnt yet; run: {}",
                        self.files.release,
                        module_tracepoints::prepare_command(source)
                    )),
                    Err(e) => Err(e.to_string()),
                }
            })
            .as_deref()
            .map_err(String::as_str)
    }

    /// The real `System.map`, if there is one.
    pub fn system_map(&self) -> Option<&SystemMap> {
        self.system_map
            .get_or_init(|| {
                let path = self.files.system_map.as_ref()?;
                SystemMap::load(path).ok().flatten()
            })
            .as_ref()
    }

    /// The tree's exports (`Module.symvers`; empty without one).
    pub fn exports(&self) -> &Symvers {
        self.exports.get_or_init(|| {
            self.files
                .module_symvers
                .as_ref()
                .and_then(|p| Symvers::load(p).ok())
                .unwrap_or_default()
        })
    }

    /// The calling-convention fallback (functions from `System.map`, else
    /// from the exports).
    pub fn calling_convention(&self) -> &CallingConvention {
        self.calling_convention.get_or_init(|| {
            let mut functions: Vec<String> = match self.system_map() {
                Some(map) => map
                    .function_names()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
                None => Vec::new(),
            };
            if functions.is_empty() {
                functions = self.exports().names().map(str::to_string).collect();
            }
            functions.sort();
            functions.dedup();
            CallingConvention {
                arch: self.files.arch,
                functions,
            }
        })
    }

    /// The type sources in the order they are asked.
    pub fn sources(&self) -> Vec<&dyn TypeSource> {
        (0..SOURCE_COUNT)
            .filter_map(|i| self.source_at(i))
            .collect()
    }

    /// The `i`th source in asking order, opened on demand (the
    /// calling-convention fallback reads symbols only when it is reached).
    fn source_at(&self, i: usize) -> Option<&dyn TypeSource> {
        match i {
            0 => self.dwarf().map(|d| d as &dyn TypeSource),
            1 => self.btf().map(|b| b as &dyn TypeSource),
            2 => Some(self.calling_convention()),
            _ => None,
        }
    }

    /// The first answer `ask` gets from the sources, in order.
    pub(crate) fn ask<T>(
        &self,
        mut ask: impl FnMut(&dyn TypeSource) -> Option<T>,
    ) -> Option<Sourced<T>> {
        (0..SOURCE_COUNT).find_map(|i| {
            let s = self.source_at(i)?;
            Some(Sourced {
                value: ask(s)?,
                source: s.source(),
            })
        })
    }

    /// One line per source saying what is available (for `stap -v`).
    pub fn describe_sources(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(match (self.dwarf.get(), &self.files.debug_vmlinux) {
            (Some(Loaded::Ready(d)), _) => format!("DWARF: {}", d.path().display()),
            (Some(Loaded::Missing(why)), _) => format!("DWARF: none ({why})"),
            (None, Some(path)) => format!("DWARF: {} (not opened yet)", path.display()),
            (None, None) => format!("DWARF: none ({})", self.files.debug_hint),
        });
        match self.btf_loaded() {
            Loaded::Ready((_, from)) => out.push(format!("BTF: {from}")),
            Loaded::Missing(why) => out.push(format!("BTF: none ({why})")),
        }
        out.push(match self.system_map() {
            Some(m) => format!("System.map: {} symbols", m.symbols().len()),
            None => "System.map: none or placeholder (kprobe blacklist unknown)".into(),
        });
        out.push(format!("Module.symvers: {} exports", self.exports().len()));
        out
    }

    /// The best named-type resolver (DWARF, else BTF).
    pub(crate) fn type_names(&self) -> &dyn TypeNames {
        if let Some(d) = self.dwarf() {
            return d;
        }
        if let Some(b) = self.btf() {
            return b;
        }
        &NoTypes
    }

    /// The layout of a struct, union or typedef of one, from the first
    /// source that has it.
    pub fn layout(&self, name: &str) -> Result<Sourced<Layout>, DebugInfoError> {
        self.first_typed(|s| s.layout(name))
    }

    /// Resolves `@cast(p, "struct task_struct")->a->b` and `$p->a->b`.
    pub fn member_path(
        &self,
        base: &str,
        path: &[&str],
    ) -> Result<Sourced<FieldPath>, DebugInfoError> {
        self.first_typed(|s| s.member_path(base, path))
    }

    /// A named type (`pid_t`, `struct stat`) as a [`CType`].
    pub fn named_type(&self, name: &str) -> Option<Sourced<CType>> {
        self.ask(|s| s.named_type(name))
    }

    /// Runs `ask` on DWARF then BTF; a missing type falls through to the
    /// next source, other errors (no such member) are final.
    fn first_typed<T>(
        &self,
        ask: impl Fn(&dyn TypeSource) -> Result<T, DebugInfoError>,
    ) -> Result<Sourced<T>, DebugInfoError> {
        let mut last = None;
        for s in (0..SOURCE_COUNT).filter_map(|i| self.source_at(i)) {
            match ask(s) {
                Ok(value) => {
                    return Ok(Sourced {
                        value,
                        source: s.source(),
                    })
                }
                Err(e @ DebugInfoError::NoSuchType { .. }) => {
                    if last.is_none() || s.source() != Source::CallingConvention {
                        last = Some(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let e = last.expect("the calling convention source is always there");
        Err(match (self.dwarf().is_none() && self.btf().is_none(), e) {
            (true, DebugInfoError::NoSuchType { name, .. }) => DebugInfoError::NeedsDwarf {
                what: format!("type '{name}' (the image has no BTF either)"),
                hint: self.files.debug_hint.clone(),
            },
            (_, e) => e,
        })
    }

    /// The tracepoint declarations of the tree's headers, by event name.
    pub fn trace_decls(&self) -> &BTreeMap<String, TraceDecl> {
        self.trace_decls
            .get_or_init(|| tracepoints::scan(&self.files.source_dirs, self.files.arch))
    }

    /// The syscall table of the tree.
    pub fn syscall_table(&self) -> Result<&SyscallTable, DebugInfoError> {
        self.syscall_table
            .get_or_init(|| syscalls::read_table(&self.files.source_dirs, self.files.arch))
            .as_ref()
            .ok_or_else(|| DebugInfoError::TreeLayout {
                what: format!(
                    "no syscall table for {} in {}",
                    self.files.arch,
                    self.files
                        .source_dirs
                        .first()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default()
                ),
            })
    }

    /// The numeric `#define`s of the tree's uapi headers `headers`, in
    /// order, a name keeping its first value (see
    /// [`syscalls::read_defines`]): `asm/NAME.h` is the architecture's
    /// `arch/ARCH/include/uapi/asm/NAME.h`, any other name is under
    /// `include/uapi/` (`asm-generic/errno.h`, `linux/fcntl.h`).
    pub fn uapi_defines(&self, headers: &[&str]) -> Vec<(String, i64)> {
        let arch = self.files.arch.kbuild();
        let files: Vec<String> = headers
            .iter()
            .map(|h| match h.strip_prefix("asm/") {
                Some(rest) => format!("arch/{arch}/include/uapi/asm/{rest}"),
                None => format!("include/uapi/{h}"),
            })
            .collect();
        syscalls::read_defines(&self.files.source_dirs, &files)
    }

    pub(crate) fn syscall_prototypes(&self) -> &std::collections::HashMap<String, Vec<String>> {
        self.syscall_protos.get_or_init(|| {
            syscalls::read_prototypes(&self.files.source_dirs, self.files.arch, &self.files.config)
        })
    }
}
