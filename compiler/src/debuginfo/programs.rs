//! The target's user-space programs, as the build host reads them: the
//! functions of an ELF program or library (its symbol tables) and where
//! each one's first instruction is in the file, which is what a uprobe
//! takes.
//!
//! [`UserPrograms`] is the door semantic analysis asks through, the
//! user-space sibling of [`super::KernelInfo`]: it knows where the target's
//! files are on this machine (`--sysroot DIR`, else the host's own root),
//! reads each program once, and words what it cannot read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};

/// A function found in a program's symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFunction {
    /// The symbol's name.
    pub name: String,
    /// Where its first instruction is in the file (what uprobes take).
    pub offset: u64,
}

/// A program's functions, or why they cannot be read.
type Functions = Result<Arc<[UserFunction]>, String>;

/// A program's debug information, or why there is none.
type Debug = Result<Arc<super::userdebug::UserDebug>, String>;

/// The target's programs, read on this machine (see the module docs).
#[derive(Debug, Default)]
pub struct UserPrograms {
    sysroot: Option<PathBuf>,
    /// Each program's functions (or why they cannot be read), by the
    /// target's path.
    functions: Mutex<HashMap<String, Functions>>,
    /// Each program's DWARF (see [`super::debugfile`]), by the target's path.
    debug: Mutex<HashMap<String, Debug>>,
    /// The directories a program name without `/` is looked for in
    /// (`$PATH` when stap started), as the target's paths.
    search_path: Vec<String>,
    /// The program of `-c CMD` or `-x PID` (see [`Self::with_target`]).
    target: Option<Result<String, String>>,
}

impl UserPrograms {
    /// The programs of a target whose file tree is at `sysroot` on this
    /// machine (`None`: this machine's own files are the target's).
    pub fn new(sysroot: Option<PathBuf>) -> UserPrograms {
        UserPrograms {
            sysroot,
            functions: Mutex::default(),
            debug: Mutex::default(),
            search_path: std::env::var("PATH")
                .unwrap_or_default()
                .split(':')
                .filter(|d| d.starts_with('/'))
                .map(str::to_string)
                .collect(),
            target: None,
        }
    }

    /// These programs with the target process of `-c CMD` or `-x PID`,
    /// whose program a `process` point without a path names, as
    /// SystemTap fills it in: the first word of `CMD` found as
    /// `process("WORD")` is (a command with shell syntax, one of
    /// `|&;<>(){}`, is refused), else the program `/proc/PID/exe` links
    /// to when this machine is the target (no `--sysroot`).
    pub fn with_target(mut self, command: Option<&str>, pid: Option<u32>) -> UserPrograms {
        self.target = match (command, pid) {
            (Some(cmd), _) => Some(self.command_program(cmd)),
            (None, Some(pid)) if self.sysroot.is_none() => Some(
                std::fs::read_link(format!("/proc/{pid}/exe"))
                    .map(|p| p.to_string_lossy().into_owned())
                    .map_err(|e| {
                        format!(
                            "the program of process {pid} cannot be read from /proc/{pid}/exe: {e}"
                        )
                    }),
            ),
            (None, Some(pid)) => Some(Err(format!(
                "the program of process {pid} on the target is not known here (--sysroot)"
            ))),
            (None, None) => None,
        };
        self
    }

    fn command_program(&self, cmd: &str) -> Result<String, String> {
        if let Some(c) = cmd.chars().find(|c| "|&;<>(){}".contains(*c)) {
            return Err(format!(
                "the -c command '{cmd}' has shell syntax ('{c}'): its program cannot be told"
            ));
        }
        let word = cmd
            .split_whitespace()
            .next()
            .ok_or_else(|| "the -c command is empty".to_string())?;
        self.find_program(word)
            .ok_or_else(|| format!("the -c command's program '{word}' is in no directory of $PATH"))
    }

    /// The program of the target process (`-c`/`-x`): `None` without
    /// either, an error when it cannot be told.
    pub fn target_program(&self) -> Option<Result<String, String>> {
        self.target.clone()
    }

    /// The target's path of the program `name` as SystemTap finds a
    /// `process("NAME")`: as it is when absolute; from the current
    /// directory when it has a `/` (no `--sysroot`); else the first
    /// executable file of that name in `$PATH`'s directories (under
    /// `--sysroot`). `None` when there is none.
    pub fn find_program(&self, name: &str) -> Option<String> {
        if name.starts_with('/') {
            return Some(name.to_string());
        }
        if name.contains('/') {
            if self.sysroot.is_some() {
                return None;
            }
            let cwd = std::env::current_dir().ok()?;
            return Some(cwd.join(name).to_string_lossy().into_owned());
        }
        self.search_path.iter().find_map(|dir| {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            let meta = std::fs::metadata(self.host_path(&path)).ok()?;
            let executable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111;
            (meta.is_file() && executable != 0).then_some(path)
        })
    }

    /// The target's file tree on this machine, if it is not `/`.
    pub fn sysroot(&self) -> Option<&Path> {
        self.sysroot.as_deref()
    }

    /// Where this machine finds the target's `path`.
    pub fn host_path(&self, path: &str) -> PathBuf {
        match &self.sysroot {
            Some(root) => root.join(path.trim_start_matches('/')),
            None => PathBuf::from(path),
        }
    }

    /// The functions of the target's program `path`, sorted by name (see
    /// [`user_functions`]); read once.
    pub fn functions(&self, path: &str) -> Functions {
        let mut cache = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(path.to_string())
            .or_insert_with(|| user_functions(&self.host_path(path)).map(Arc::from))
            .clone()
    }

    /// The DWARF of the target's program `path`, from its separate debug
    /// file when it is stripped (build id, debuglink, debuginfod; see
    /// [`super::debugfile`]); looked for once.
    pub fn debug(&self, path: &str) -> Debug {
        let mut cache = self.debug.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(path.to_string())
            .or_insert_with(|| {
                let cache = crate::kernel::cache::Cache::locate(None);
                let search = super::debugfile::SearchPath::standard(self.sysroot(), cache.dir());
                super::userdebug::UserDebug::open(&self.host_path(path), path, &search, cache.dir())
                    .map(Arc::new)
            })
            .clone()
    }

    /// Whether any program's functions or debug information were asked
    /// for: a translation that read none depends on no user-space file
    /// (the module cache's script key relies on it, `crate::modcache`).
    pub fn read_any(&self) -> bool {
        let functions = self.functions.lock().unwrap_or_else(|e| e.into_inner());
        let debug = self.debug.lock().unwrap_or_else(|e| e.into_inner());
        !functions.is_empty() || !debug.is_empty()
    }

    /// Whether the target's `path` is there to be read; the error says
    /// why not (`cannot read HOST_PATH: ...`).
    pub fn check_exists(&self, path: &str) -> Result<(), String> {
        let host = self.host_path(path);
        std::fs::metadata(&host)
            .map(|_| ())
            .map_err(|e| format!("cannot read {}: {e}", host.display()))
    }
}

/// The defined functions of an ELF program or library, by name (first
/// definition of each name), with their file offsets.
pub fn user_functions(file: &Path) -> Result<Vec<UserFunction>, String> {
    let data = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let elf = object::File::parse(&*data)
        .map_err(|e| format!("{} is not an ELF program: {e}", file.display()))?;
    // The loadable segments: (address, size in the file, file offset).
    let segments: Vec<(u64, u64, u64)> = elf
        .segments()
        .map(|s| {
            let (offset, size) = s.file_range();
            (s.address(), size, offset)
        })
        .collect();
    let mut functions: Vec<UserFunction> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for symbol in elf.symbols().chain(elf.dynamic_symbols()) {
        if symbol.kind() != SymbolKind::Text || !symbol.is_definition() || symbol.address() == 0 {
            continue;
        }
        let Ok(name) = symbol.name() else { continue };
        if name.is_empty() || !seen.insert(name.to_string()) {
            continue;
        }
        let address = symbol.address();
        let Some(offset) = segments
            .iter()
            .find(|(start, size, _)| address >= *start && address < start + size)
            .map(|(start, _, offset)| address - start + offset)
        else {
            continue;
        };
        functions.push(UserFunction {
            name: name.to_string(),
            offset,
        });
    }
    if functions.is_empty() {
        return Err(format!(
            "{} has no function symbols (stripped?)",
            file.display()
        ));
    }
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(functions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_of_this_test_binary_have_file_offsets() {
        let exe = std::env::current_exe().unwrap();
        let functions = user_functions(&exe).unwrap();
        assert!(functions.iter().any(|f| f.name == "main"), "no main");
        let data = std::fs::read(&exe).unwrap();
        assert!(functions.iter().all(|f| (f.offset as usize) < data.len()));
    }

    #[test]
    fn programs_are_read_under_the_sysroot_once() {
        let root = tempfile::tempdir().unwrap();
        let programs = UserPrograms::new(Some(root.path().to_path_buf()));
        assert_eq!(programs.host_path("/bin/x"), root.path().join("bin/x"));
        assert_eq!(
            UserPrograms::new(None).host_path("/bin/x"),
            PathBuf::from("/bin/x")
        );
        let e = programs.check_exists("/bin/x").unwrap_err();
        assert!(e.starts_with(&format!(
            "cannot read {}: ",
            root.path().join("bin/x").display()
        )));
        std::fs::create_dir(root.path().join("bin")).unwrap();
        std::fs::copy(std::env::current_exe().unwrap(), root.path().join("bin/x")).unwrap();
        let first = programs.functions("/bin/x").unwrap();
        assert!(first.iter().any(|f| f.name == "main"));
        // Read once: the second answer is the same list.
        std::fs::remove_file(root.path().join("bin/x")).unwrap();
        assert!(Arc::ptr_eq(&first, &programs.functions("/bin/x").unwrap()));
    }

    #[test]
    fn missing_and_non_elf_files_are_errors() {
        let e = user_functions(Path::new("/no/such/program")).unwrap_err();
        assert!(e.starts_with("cannot read /no/such/program: "), "{e}");
        let e = user_functions(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/Cargo.toml"
        )))
        .unwrap_err();
        assert!(e.contains("is not an ELF program"), "{e}");
    }
}
