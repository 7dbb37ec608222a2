//! The tapset library: stapkit's own tapsets (`runtime-c/tapset/`) and any
//! `-I DIR` ones, parsed and indexed so that a symbol the script uses pulls
//! in the file that defines it, as SystemTap does. Library macro files
//! (`.stpm`, only `@define`s) are read first, by [`library_macros`]: their
//! macros are visible to every tapset and to the script.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Diagnostic, SourceMap};
use crate::syntax::{self, ast, LibraryMacros, PreprocessConfig};

/// One parsed tapset file and what it defines.
#[derive(Debug)]
pub struct TapsetFile {
    /// The parsed file.
    pub script: ast::Script,
    /// Functions it defines: name and number of parameters.
    pub functions: Vec<(String, usize)>,
    /// Probe aliases it defines, as dotted names.
    pub aliases: Vec<String>,
    /// Globals it declares for scripts to use (not `private`), such as
    /// `VM_FAULT_MAJOR`.
    pub globals: Vec<String>,
    /// Globals private to the file (the state of its functions, such as
    /// the stopwatches'): added when a function of the file names them.
    pub private_globals: Vec<String>,
}

/// Every tapset file available to a compilation. Cloning it shares the
/// parsed files.
#[derive(Debug, Default, Clone)]
pub struct Library {
    /// The files, stapkit's own first, then `-I` directories in order.
    pub files: Vec<Arc<TapsetFile>>,
}

impl Library {
    /// Parses the built-in tapsets and those under `include_dirs`.
    pub fn load(
        map: &mut SourceMap,
        include_dirs: &[std::path::PathBuf],
        cfg: &PreprocessConfig,
    ) -> (Library, Vec<Diagnostic>) {
        let (texts, mut diags) = library_texts(crate::runtime::tapsets(), include_dirs, "stp");
        let mut library = Library::default();
        for (name, text) in texts {
            diags.extend(library.add(map, name, text, cfg));
        }
        (library, diags)
    }

    /// Parses and adds one tapset file (also a generated one, such as the
    /// target's syscall names); returns its diagnostics.
    pub fn add(
        &mut self,
        map: &mut SourceMap,
        name: String,
        text: String,
        cfg: &PreprocessConfig,
    ) -> Vec<Diagnostic> {
        let file = map.add(name, text);
        let parsed = syntax::parse(map, file, cfg);
        let mut functions = Vec::new();
        let mut aliases = Vec::new();
        let mut globals = Vec::new();
        let mut private_globals = Vec::new();
        for item in &parsed.script.items {
            match item {
                ast::Item::Function(f) => functions.push((f.name.name.clone(), f.params.len())),
                ast::Item::Alias(a) => aliases.extend(a.names.iter().map(point_name)),
                ast::Item::Global(g) => {
                    let names = g.vars.iter().map(|v| v.name.name.clone());
                    if g.private {
                        private_globals.extend(names)
                    } else {
                        globals.extend(names)
                    }
                }
                _ => {}
            }
        }
        self.files.push(Arc::new(TapsetFile {
            script: parsed.script,
            functions,
            aliases,
            globals,
            private_globals,
        }));
        parsed.diagnostics
    }

    /// The file defining function `name` with `arity` parameters, else
    /// the first defining `name` at all (for the arity error), if any.
    pub fn defining_function(&self, name: &str, arity: usize) -> Option<usize> {
        self.files
            .iter()
            .position(|f| f.functions.iter().any(|(n, a)| n == name && *a == arity))
            .or_else(|| {
                self.files
                    .iter()
                    .position(|f| f.functions.iter().any(|(n, _)| n == name))
            })
    }

    /// The file declaring global `name` for scripts, if any.
    pub fn defining_global(&self, name: &str) -> Option<usize> {
        self.files
            .iter()
            .position(|f| f.globals.iter().any(|n| n == name))
    }

    /// Every function name in the library (for suggestions).
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .flat_map(|f| f.functions.iter().map(|(n, _)| n.as_str()))
    }
}

/// The library parsed once for many analyses of one configuration (a
/// fuzzer's or a test's thousands of scripts), with the source map its
/// files were added to: [`PreparedLibrary::source_map`] gives each
/// analysis a copy of that map to add its script to, and
/// [`super::analyze_prepared`] then skips parsing the library again.
#[derive(Debug, Clone)]
pub struct PreparedLibrary {
    map: SourceMap,
    library: Library,
    diagnostics: Vec<Diagnostic>,
    include_dirs: Vec<PathBuf>,
    preprocess: PreprocessConfig,
}

impl PreparedLibrary {
    /// Parses the library as an analysis with `include_dirs` and `cfg`
    /// would, into a map of its own that starts with `map`'s files (the
    /// `.stpm` files of [`library_macros`], say).
    pub fn new(map: &SourceMap, include_dirs: &[PathBuf], cfg: &PreprocessConfig) -> Self {
        let mut map = map.clone();
        let (library, diagnostics) = Library::load(&mut map, include_dirs, cfg);
        PreparedLibrary {
            map,
            library,
            diagnostics,
            include_dirs: include_dirs.to_vec(),
            preprocess: cfg.clone(),
        }
    }

    /// A copy of the source map holding the library's files, for one
    /// analysis to add its script to.
    pub fn source_map(&self) -> SourceMap {
        self.map.clone()
    }

    /// The library and its diagnostics, if it is the one `config` would
    /// load into `map`: the same include directories and preprocessor
    /// configuration, and `map` holding its files under the same ids
    /// (a map made by [`PreparedLibrary::source_map`]).
    pub(super) fn get(
        &self,
        map: &SourceMap,
        config: &super::Config,
    ) -> Option<(Library, Vec<Diagnostic>)> {
        let same_files = self.library.files.iter().all(|f| {
            let id = f.script.file;
            match (map.get(id), self.map.get(id)) {
                (Some(a), Some(b)) => a.name() == b.name() && a.text() == b.text(),
                _ => false,
            }
        });
        (same_files
            && self.include_dirs == config.include_dirs
            && self.preprocess == config.preprocess)
            .then(|| (self.library.clone(), self.diagnostics.clone()))
    }
}

/// The macros of the library's `.stpm` files, stapkit's own then those
/// under `include_dirs`; a later definition of a name replaces an earlier
/// one, so a user's library can redefine stapkit's. `cfg` is the
/// configuration the files are preprocessed with (its own
/// `library_macros` are not used).
pub fn library_macros(
    map: &mut SourceMap,
    include_dirs: &[std::path::PathBuf],
    cfg: &PreprocessConfig,
) -> (LibraryMacros, Vec<Diagnostic>) {
    // An unreadable directory is reported once, by Library::load.
    let (texts, _) = library_texts(crate::runtime::tapset_macros(), include_dirs, "stpm");
    let mut diags = Vec::new();
    let mut cfg = cfg.clone();
    cfg.library_macros = LibraryMacros::default();
    let mut macros = BTreeMap::new();
    for (name, text) in texts {
        let file = map.add(name, text);
        let (defs, d) = syntax::library_macros(map, file, &cfg);
        diags.extend(d);
        macros.extend(defs);
    }
    (LibraryMacros::new(macros), diags)
}

/// The files of the library with `extension`: stapkit's own (`builtin`)
/// then those under `include_dirs`, in order, and the directories that
/// could not be read.
fn library_texts(
    builtin: Vec<(String, &'static str)>,
    include_dirs: &[std::path::PathBuf],
    extension: &str,
) -> (Vec<(String, String)>, Vec<Diagnostic>) {
    let mut texts: Vec<(String, String)> = builtin
        .into_iter()
        .map(|(n, t)| (n, t.to_string()))
        .collect();
    let mut diags = Vec::new();
    for dir in include_dirs {
        match read_dir_ext(dir, extension) {
            Ok(files) => texts.extend(files),
            Err(e) => diags.push(Diagnostic::error(format!(
                "cannot read tapset directory {}: {e}",
                dir.display()
            ))),
        }
    }
    (texts, diags)
}

fn read_dir_ext(dir: &Path, extension: &str) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::from)?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == extension) {
            out.push((
                entry.path().display().to_string(),
                crate::text::utf8::read_file(entry.path())?,
            ));
        }
    }
    Ok(out)
}

/// A probe point's dotted name, arguments included (`timer.ms(100)`).
pub fn point_name(p: &ast::ProbePoint) -> String {
    p.components
        .iter()
        .map(|c| match c {
            ast::Component::Named(n) => match &n.arg {
                None => n.name.name.clone(),
                // Addresses read as SystemTap shows them: in hex.
                Some(ast::Literal::Number(v)) if n.name.name == "statement" => {
                    format!("{}({:#x})", n.name.name, v.value as u64)
                }
                Some(ast::Literal::Number(v)) => format!("{}({})", n.name.name, v.value),
                Some(ast::Literal::String(s)) => {
                    format!("{}(\"{}\")", n.name.name, s.to_str_lossy())
                }
            },
            ast::Component::Group(_) => "{...}".to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `stap --dump-functions`: every function of the library that scripts
/// may call, one line each, `name:type (param:type, ...)` with `unknown`
/// for a type the declaration leaves to inference and `/* unprivileged */`
/// after the functions whose embedded C says so, sorted as SystemTap
/// sorts them (bytewise, whole lines). Private functions and those whose
/// names start with `_` are the library's own and not listed.
pub fn dump_functions(library: &Library) -> String {
    let ty = |t: Option<ast::TypeAnnot>| {
        t.map_or("unknown", |t| match t.ty {
            ast::ScriptType::Long => "long",
            ast::ScriptType::String => "string",
        })
    };
    let mut lines: Vec<String> = Vec::new();
    for file in &library.files {
        for item in &file.script.items {
            let ast::Item::Function(f) = item else {
                continue;
            };
            if f.private || f.name.name.starts_with('_') {
                continue;
            }
            let params: Vec<String> = f
                .params
                .iter()
                .map(|p| format!("{}:{}", p.name.name, ty(p.ty)))
                .collect();
            let unprivileged = match &f.body {
                ast::FunctionBody::Embedded(e) => e.code.contains("/* unprivileged */"),
                ast::FunctionBody::Block(_) => false,
            };
            lines.push(format!(
                "{}:{} ({}){}\n",
                f.name.name,
                ty(f.ret),
                params.join(", "),
                if unprivileged {
                    " /* unprivileged */"
                } else {
                    ""
                }
            ));
        }
    }
    lines.sort();
    lines.dedup();
    lines.concat()
}

/// `stap --dump-probe-aliases`: every probe alias of the library, one line
/// per name, `NAME = POINT, POINT?, POINT!` (`+=` for an epilogue alias),
/// sorted; aliases whose names start with `_` are the library's own.
pub fn dump_probe_aliases(library: &Library) -> String {
    let mut lines: Vec<String> = Vec::new();
    for file in &library.files {
        for item in &file.script.items {
            let ast::Item::Alias(a) = item else {
                continue;
            };
            let op = match a.kind {
                ast::AliasKind::Prologue => "=",
                ast::AliasKind::Epilogue => "+=",
            };
            let points: Vec<String> = a.points.iter().map(syntax::print_point).collect();
            for name in &a.names {
                let name = syntax::print_point(name);
                if name.starts_with('_') {
                    continue;
                }
                lines.push(format!("{name} {op} {}\n", points.join(", ")));
            }
        }
    }
    lines.sort();
    lines.dedup();
    lines.concat()
}

/// What `--dump-*` prints of the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibraryDump {
    /// `--dump-functions`.
    Functions,
    /// `--dump-probe-aliases`.
    ProbeAliases,
}

/// Loads the library as a compilation would (with the target's syscall
/// aliases when a kernel is known) and dumps it.
pub fn dump_library(
    map: &mut SourceMap,
    config: &super::Config,
    what: LibraryDump,
) -> (String, Vec<Diagnostic>) {
    let (mut library, mut diags) = Library::load(map, &config.include_dirs, &config.preprocess);
    if let Some(kernel) = config.kernel.as_deref() {
        if let Some(text) = super::syscall_tapset::generate(kernel) {
            diags.extend(library.add(
                map,
                super::syscall_tapset::TAPSET_NAME.to_string(),
                text,
                &config.preprocess,
            ));
        }
    }
    let text = match what {
        LibraryDump::Functions => dump_functions(&library),
        LibraryDump::ProbeAliases => dump_probe_aliases(&library),
    };
    (text, diags)
}
