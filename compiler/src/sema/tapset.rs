//! The tapset library: stapkit's own tapsets (`runtime-c/tapset/`) and any
//! `-I DIR` ones, parsed and indexed so that a symbol the script uses pulls
//! in the file that defines it, as SystemTap does.

use std::path::Path;

use crate::diag::{Diagnostic, SourceMap};
use crate::syntax::{self, ast, PreprocessConfig};

/// One parsed tapset file and what it defines.
#[derive(Debug)]
pub struct TapsetFile {
    /// The parsed file.
    pub script: ast::Script,
    /// Functions it defines.
    pub functions: Vec<String>,
    /// Probe aliases it defines, as dotted names.
    pub aliases: Vec<String>,
    /// Globals it declares for scripts to use (not `private`), such as
    /// `VM_FAULT_MAJOR`.
    pub globals: Vec<String>,
}

/// Every tapset file available to a compilation.
#[derive(Debug, Default)]
pub struct Library {
    /// The files, stapkit's own first, then `-I` directories in order.
    pub files: Vec<TapsetFile>,
}

impl Library {
    /// Parses the built-in tapsets and those under `include_dirs`.
    pub fn load(
        map: &mut SourceMap,
        include_dirs: &[std::path::PathBuf],
        cfg: &PreprocessConfig,
    ) -> (Library, Vec<Diagnostic>) {
        let mut texts: Vec<(String, String)> = crate::runtime::tapsets()
            .into_iter()
            .map(|(n, t)| (n, t.to_string()))
            .collect();
        let mut diags = Vec::new();
        for dir in include_dirs {
            match read_dir_stp(dir) {
                Ok(files) => texts.extend(files),
                Err(e) => diags.push(Diagnostic::error(format!(
                    "cannot read tapset directory {}: {e}",
                    dir.display()
                ))),
            }
        }
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
        for item in &parsed.script.items {
            match item {
                ast::Item::Function(f) => functions.push(f.name.name.clone()),
                ast::Item::Alias(a) => aliases.extend(a.names.iter().map(point_name)),
                ast::Item::Global(g) if !g.private => {
                    globals.extend(g.vars.iter().map(|v| v.name.name.clone()))
                }
                _ => {}
            }
        }
        self.files.push(TapsetFile {
            script: parsed.script,
            functions,
            aliases,
            globals,
        });
        parsed.diagnostics
    }

    /// The file defining function `name`, if any.
    pub fn defining_function(&self, name: &str) -> Option<usize> {
        self.files
            .iter()
            .position(|f| f.functions.iter().any(|n| n == name))
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
            .flat_map(|f| f.functions.iter().map(String::as_str))
    }
}

fn read_dir_stp(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(std::io::Error::from)?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "stp") {
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
