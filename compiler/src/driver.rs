//! The `stap` pipeline: passes 1 (parse) to 4 (build a `.ko`), and the
//! guarded pass 5 (run through staprun).
//!
//! [`StapOptions`] is SystemTap's command line; [`Pipeline`] runs the
//! passes and keeps what each produced, so `stap` prints them and
//! `stap-matrix` builds with exactly the same code.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{ArgAction, Parser};

use crate::codegen;
use crate::diag::{render_all, Diagnostic, SourceMap};
use crate::ir::Program;
use crate::kernel::kbuild::{self, BuildRequest, BuiltModule};
use crate::kernel::{features, modcheck, toolchain, Cache, Catalog, HeaderTree};
use crate::runtime;
use crate::sema;
use crate::syntax::{self, PreprocessConfig};

/// SystemTap's command line, flag for flag where stapkit supports it.
#[derive(Parser, Debug, Clone, Default)]
#[command(
    name = "stap",
    version,
    about = "Translate SystemTap scripts into kernel modules for any kernel tree"
)]
pub struct StapOptions {
    /// Run the script given as text instead of a file.
    #[arg(short = 'e', value_name = "SCRIPT")]
    pub inline: Option<String>,
    /// Target kernel: a build tree directory, a release, or a kernel manifest name.
    #[arg(short = 'r', value_name = "RELEASE|DIR")]
    pub release: Option<String>,
    /// Target architecture (x86_64, arm64; aarch64 and amd64 accepted).
    #[arg(short = 'a', value_name = "ARCH")]
    pub arch: Option<String>,
    /// Module name.
    #[arg(short = 'm', value_name = "NAME")]
    pub module: Option<String>,
    /// Stop after pass N (1 parse, 2 elaborate, 3 translate, 4 build, 5 run);
    /// the last of several counts, as in SystemTap (`stap -gp1 ... -p4`).
    #[arg(short = 'p', value_name = "N", overrides_with = "pass",
          value_parser = clap::value_parser!(u8).range(1..=5))]
    pub pass: Option<u8>,
    /// Keep the build directory.
    #[arg(short = 'k')]
    pub keep: bool,
    /// More verbose (repeat for more).
    #[arg(short = 'v', action = ArgAction::Count)]
    pub verbose: u8,
    /// Guru mode: embedded C, writes to target variables.
    #[arg(short = 'g')]
    pub guru: bool,
    /// Define a C macro for the module (limits such as MAXACTION=N).
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    pub defines: Vec<String>,
    /// Pass NAME=VALUE to kbuild's make.
    #[arg(short = 'B', value_name = "NAME=VALUE")]
    pub make_vars: Vec<String>,
    /// Add a tapset directory.
    #[arg(short = 'I', value_name = "DIR")]
    pub includes: Vec<PathBuf>,
    /// Suppress warnings.
    #[arg(short = 'w')]
    pub suppress_warnings: bool,
    /// Unoptimized: keep unused variables and functions.
    #[arg(short = 'u')]
    pub unoptimized: bool,
    /// Run CMD while the script runs; its pid is target() and the script
    /// ends when it exits (pass 5 hands it to staprun).
    #[arg(short = 'c', value_name = "CMD")]
    pub command: Option<String>,
    /// The target process for target() (pass 5 hands it to staprun).
    #[arg(short = 'x', value_name = "PID")]
    pub target_pid: Option<u32>,
    /// Size of the output buffer between the module and staprun, in MiB.
    #[arg(short = 's', value_name = "MB", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub buffer_mb: Option<u32>,
    /// Send the script's output to FILE (pass 5).
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The target's file tree on this machine: `process("PATH")` programs
    /// are read from DIR/PATH while the target still runs PATH.
    #[arg(long = "sysroot", value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// The kernel cache (default as stap-prep's).
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Check that a module built elsewhere loads on the -r kernel, and stop.
    #[arg(long = "check-module", value_name = "FILE.ko")]
    pub check_module: Option<PathBuf>,
    /// List the probe points matching PROBE (`'syscall.*'`,
    /// `'kernel.function("vfs_*")'`), one per line, and stop.
    #[arg(short = 'l', value_name = "PROBE", conflicts_with = "list_vars")]
    pub list: Option<String>,
    /// As -l, with each point's variables and their types.
    #[arg(short = 'L', value_name = "PROBE")]
    pub list_vars: Option<String>,
    /// The script file (unless -e), then the script's arguments ($1, @1, ...).
    /// Options may follow the script, as with SystemTap's getopt
    /// (`stap x.stp -p2`); arguments that start with `-` go after `--`.
    #[arg(value_name = "SCRIPT|ARGS")]
    pub rest: Vec<String>,
}

impl StapOptions {
    /// The last pass to run (SystemTap's default is 5).
    pub fn last_pass(&self) -> u8 {
        self.pass.unwrap_or(5)
    }
}

/// Why the pipeline stopped: everything to print, and the exit status.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Text for stderr (diagnostics and the closing `Pass N: ... failed` line).
    pub message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: format!("{}\n", message.into()),
        }
    }

    fn pass(pass: u8, what: &str, body: String) -> Failure {
        Failure {
            message: format!("{body}Pass {pass}: {what} failed.  [man error::pass{pass}]\n"),
        }
    }
}

/// The script text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Script {
    /// `<input>` for `-e`, else the path as given.
    pub name: String,
    /// The text.
    pub text: String,
    /// Arguments after the script (`$1`...).
    pub args: Vec<String>,
}

/// A running translation: options, sources and the target tree.
pub struct Pipeline {
    /// The options.
    pub options: StapOptions,
    /// Every source text (script and tapsets) diagnostics refer to.
    pub sources: SourceMap,
    /// The script.
    pub script: Script,
    /// The target tree, when one could be found.
    pub tree: Option<HeaderTree>,
    tree_error: Option<String>,
    /// Non-fatal diagnostics gathered so far, rendered.
    pub warnings: String,
    kernel: Option<std::sync::Arc<crate::debuginfo::KernelInfo>>,
    /// What pass 4 chose and found (toolchain, feature probes), for `-v`.
    pub build_notes: Vec<String>,
    cache: Cache,
    catalog: Catalog,
    timings: Vec<(u8, u128)>,
}

impl Pipeline {
    /// Reads the script and finds the target tree.
    pub fn new(options: StapOptions) -> Result<Pipeline, Failure> {
        let script = read_script(&options)?;
        if let Some(arch) = &options.arch {
            canonical_arch(arch).ok_or_else(|| {
                Failure::usage(format!(
                    "stap: unknown architecture '{arch}'; use x86_64 or arm64"
                ))
            })?;
        }
        for define in &options.defines {
            check_define(define).map_err(Failure::usage)?;
        }
        for var in &options.make_vars {
            check_make_var(var).map_err(Failure::usage)?;
        }
        let cache = Cache::locate(options.cache_dir.as_deref());
        let catalog = Catalog::load().map_err(|e| Failure::usage(format!("stap: {e}")))?;
        let (tree, tree_error) =
            match HeaderTree::resolve(options.release.as_deref(), &cache, &catalog) {
                Ok(tree) => (Some(tree), None),
                Err(e) => (None, Some(e.to_string())),
            };
        if let (Some(tree), Some(arch)) = (&tree, &options.arch) {
            let want = canonical_arch(arch).unwrap_or(arch);
            if tree.arch != want {
                return Err(Failure::usage(format!(
                    "stap: -a {arch} does not match the kernel tree {} ({}); pass -r with a {want} tree",
                    tree.dir.display(),
                    tree.arch
                )));
            }
        }
        Ok(Pipeline {
            options,
            sources: SourceMap::new(),
            script,
            tree,
            tree_error,
            warnings: String::new(),
            kernel: None,
            build_notes: Vec::new(),
            cache,
            catalog,
            timings: Vec::new(),
        })
    }

    /// What the target kernel looks like, read once (lazily per question).
    pub fn kernel_info(&mut self) -> Option<std::sync::Arc<crate::debuginfo::KernelInfo>> {
        if self.kernel.is_none() {
            let files = self
                .tree
                .as_ref()
                .and_then(crate::debuginfo::KernelFiles::from_tree)?;
            self.kernel = Some(std::sync::Arc::new(crate::debuginfo::KernelInfo::new(
                files,
            )));
        }
        self.kernel.clone()
    }

    /// The module name: `-m NAME`, else `stap_` and a hash of the script.
    pub fn module_name(&self) -> String {
        match &self.options.module {
            Some(m) => m.clone(),
            None => format!("stap_{:016x}", fnv1a(self.script.text.as_bytes())),
        }
    }

    fn preprocess_config(&self) -> PreprocessConfig {
        let mut cfg = match &self.tree {
            Some(tree) => {
                let mut cfg = PreprocessConfig::for_kernel(&tree.release, &tree.arch);
                cfg.kernel_config = tree
                    .config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.trim_matches('"').to_string()))
                    .collect();
                cfg
            }
            None => {
                let release =
                    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
                let arch = self
                    .options
                    .arch
                    .as_deref()
                    .and_then(canonical_arch)
                    .unwrap_or(std::env::consts::ARCH);
                let mut cfg = PreprocessConfig::for_kernel(
                    release.trim(),
                    if arch == "aarch64" { "arm64" } else { arch },
                );
                cfg.kernel_config.clear();
                cfg
            }
        };
        cfg.guru = self.options.guru;
        cfg.args = self.script.args.clone();
        cfg
    }

    fn diagnostics(&mut self, diags: &[Diagnostic]) -> bool {
        let (errors, warnings): (Vec<_>, Vec<_>) =
            diags.iter().cloned().partition(|d| d.is_error());
        if !self.options.suppress_warnings && !warnings.is_empty() {
            self.warnings
                .push_str(&render_all(&self.sources, &warnings));
        }
        errors.is_empty()
    }

    fn timed<T>(&mut self, pass: u8, f: impl FnOnce(&mut Self) -> T) -> T {
        let start = Instant::now();
        let out = f(self);
        self.timings.push((pass, start.elapsed().as_millis()));
        out
    }

    /// `Pass N: ... in Xms` lines for `-v`.
    pub fn timing_report(&self) -> String {
        let what = |p| match p {
            1 => "parsed user script",
            2 => "analyzed script",
            3 => "translated to C",
            4 => "compiled C into kernel module",
            _ => "ran",
        };
        self.timings
            .iter()
            .map(|(p, ms)| format!("Pass {p}: {} in {ms}ms.\n", what(*p)))
            .collect()
    }

    /// Pass 1: preprocess and parse.
    pub fn parse(&mut self) -> Result<syntax::ast::Script, Failure> {
        self.timed(1, |p| {
            let file = p.sources.add(p.script.name.clone(), p.script.text.clone());
            let parsed = syntax::parse(&p.sources, file, &p.preprocess_config());
            if p.diagnostics(&parsed.diagnostics) {
                Ok(parsed.script)
            } else {
                let (errors, _): (Vec<_>, Vec<_>) =
                    parsed.diagnostics.into_iter().partition(|d| d.is_error());
                Err(Failure::pass(1, "parse", render_all(&p.sources, &errors)))
            }
        })
    }

    /// Pass 2: resolve, elaborate and type the script into the IR.
    pub fn elaborate(&mut self, script: &syntax::ast::Script) -> Result<Program, Failure> {
        self.timed(2, |p| {
            let config = sema::Config {
                guru: p.options.guru,
                unoptimized: p.options.unoptimized,
                include_dirs: p.options.includes.clone(),
                preprocess: p.preprocess_config(),
                kernel: p.kernel_info(),
                sysroot: p.options.sysroot.clone(),
            };
            let analysis = sema::analyze(&mut p.sources, script, &config);
            let ok = p.diagnostics(&analysis.diagnostics);
            match analysis.program {
                Some(program) if ok => Ok(program),
                _ => {
                    let (errors, _): (Vec<_>, Vec<_>) =
                        analysis.diagnostics.into_iter().partition(|d| d.is_error());
                    Err(Failure::pass(
                        2,
                        "analysis",
                        render_all(&p.sources, &errors),
                    ))
                }
            }
        })
    }

    /// `-l`/`-L`: the listing of the points the pattern matches (see
    /// [`sema::list_points`]), one line each.
    pub fn list_points(&mut self, script: &syntax::ast::Script) -> Result<String, Failure> {
        let config = sema::Config {
            guru: self.options.guru,
            unoptimized: self.options.unoptimized,
            include_dirs: self.options.includes.clone(),
            preprocess: self.preprocess_config(),
            kernel: self.kernel_info(),
            sysroot: self.options.sysroot.clone(),
        };
        let variables = self.options.list_vars.is_some();
        let (lines, diagnostics) = sema::list_points(&mut self.sources, script, &config, variables);
        let errors: Vec<_> = diagnostics.into_iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            return Err(Failure::pass(
                2,
                "analysis",
                render_all(&self.sources, &errors),
            ));
        }
        Ok(lines.iter().map(|l| format!("{l}\n")).collect())
    }

    /// Pass 3: generate the module's C source.
    pub fn translate(&mut self, program: &Program) -> Result<String, Failure> {
        self.timed(3, |p| {
            let config = codegen::Config {
                module_name: p.module_name(),
                script_name: p.script.name.clone(),
            };
            Ok(codegen::generate(program, &config))
        })
    }

    /// The tree pass 4 builds against, or why there is none.
    pub fn require_tree(&self) -> Result<&HeaderTree, Failure> {
        self.tree.as_ref().ok_or_else(|| {
            Failure::pass(
                4,
                "compilation",
                format!("{}\n", self.tree_error.clone().unwrap_or_default()),
            )
        })
    }

    /// Pass 4: build the `.ko` against the tree and check it will load.
    pub fn build(&mut self, c_source: &str) -> Result<BuiltModule, Failure> {
        self.timed(4, |p| {
            let tree = p.require_tree()?.clone();
            let module = p.module_name();
            let fail = |e: &dyn std::fmt::Display| Failure::pass(4, "compilation", format!("{e}\n"));
            let toolchain = toolchain::select(&tree, &p.cache, &p.catalog).map_err(|e| fail(&e))?;
            let started = Instant::now();
            let features = features::detect(&tree, &toolchain, &p.cache).map_err(|e| fail(&e))?;
            p.build_notes.push(format!("toolchain: {}", toolchain.describe()));
            p.build_notes.push(format!(
                "feature probes: {} of {} present, {} in {}ms ({})",
                features.results.values().filter(|v| **v).count(),
                features.results.len(),
                if features.cached { "cached" } else { "probed" },
                started.elapsed().as_millis(),
                features.dir.display()
            ));
            let mut files = runtime::files();
            files.push((PathBuf::from("runtime/stp_features.h"), features.header.clone()));
            files.push((PathBuf::from(format!("{module}.c")), c_source.to_string()));
            // Warnings are errors. The runtime is one translation unit
            // compiled whole into every module, so helpers a script does not
            // call are expected: unused static functions are the exception.
            let mut cflags = vec![
                "-I$(src)/runtime".to_string(),
                "-Werror".to_string(),
                "-Wno-unused-function".to_string(),
            ];
            cflags.extend(p.options.defines.iter().map(|d| format!("-D{d}")));
            if let Some(mb) = p.options.buffer_mb {
                cflags.push(format!("-DSTP_TRANSPORT_BUFSIZE={}", u64::from(mb) << 20));
            }
            let request = BuildRequest {
                tree: &tree,
                toolchain: &toolchain,
                module: &module,
                files,
                cflags,
                make_vars: p.options.make_vars.clone(),
                keep: p.options.keep,
                verbose: p.options.verbose >= 3,
            };
            let built = kbuild::build(&request)
                .map_err(|e| Failure::pass(4, "compilation", format!("{e}\n")))?;
            if let Err(failures) = modcheck::check(&built.ko, &tree) {
                let body: String = failures.iter().map(|f| format!("ERROR: {f}\n")).collect();
                return Err(Failure::pass(4, "compilation", body));
            }
            if !built.modpost_warnings.is_empty() {
                let body: String = built
                    .modpost_warnings
                    .iter()
                    .map(|w| format!("ERROR: {w}\n"))
                    .collect();
                return Err(Failure::pass(
                    4,
                    "compilation",
                    format!("{body}modpost warnings are errors (the module must build cleanly); this is a stapkit bug: please report it with the script\n"),
                ));
            }
            Ok(built)
        })
    }
}

fn read_script(options: &StapOptions) -> Result<Script, Failure> {
    // -l/-L elaborate a probe on the pattern, as SystemTap does.
    if let Some(pattern) = options.list.as_ref().or(options.list_vars.as_ref()) {
        return Ok(Script {
            name: "<input>".to_string(),
            text: format!("probe {pattern} {{}}\n"),
            args: Vec::new(),
        });
    }
    match &options.inline {
        Some(text) => Ok(Script {
            name: "<input>".to_string(),
            text: text.clone(),
            args: options.rest.clone(),
        }),
        None => {
            let (path, args) = options.rest.split_first().ok_or_else(|| {
                Failure::usage("stap: no script given; pass a script file or -e 'SCRIPT'")
            })?;
            let text = if path == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                    Failure::usage(format!("stap: cannot read the script from stdin: {e}"))
                })?;
                s
            } else {
                std::fs::read_to_string(path).map_err(|e| {
                    Failure::usage(format!("stap: cannot read script '{path}': {e}"))
                })?
            };
            Ok(Script {
                name: path.clone(),
                text,
                args: args.to_vec(),
            })
        }
    }
}

/// SystemTap's spelling of an architecture name (`aarch64` is `arm64`).
pub fn canonical_arch(arch: &str) -> Option<&'static str> {
    match arch {
        "x86_64" | "amd64" | "x86-64" => Some("x86_64"),
        "arm64" | "aarch64" => Some("arm64"),
        _ => None,
    }
}

/// Checks a `-D NAME[=VALUE]` so it can be passed to the compiler safely.
fn check_define(define: &str) -> Result<(), String> {
    let (name, value) = define.split_once('=').unwrap_or((define, ""));
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident {
        return Err(format!("stap: -D {define}: '{name}' is not a C macro name"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
    {
        return Err(format!(
            "stap: -D {define}: the value may only use letters, digits and '_.+-'"
        ));
    }
    Ok(())
}

/// Refuses `-B` variables that would build a module the kernel refuses:
/// switching `CONFIG_MODVERSIONS` off (in guru mode too) strips the symbol
/// CRCs a MODVERSIONS kernel requires.
fn check_make_var(var: &str) -> Result<(), String> {
    let name = var.split_once('=').map(|(n, _)| n).unwrap_or(var);
    if name == "CONFIG_MODVERSIONS"
        || name == "KBUILD_MODPOST_WARN"
        || name == "KBUILD_MODPOST_NOFINAL"
    {
        return Err(format!(
            "stap: -B {var} would build a module this kernel may refuse ('Invalid module format' or \
             'Unknown symbol'); stapkit keeps the tree's settings, guru mode included"
        ));
    }
    Ok(())
}

/// `stap --check-module FILE.ko -r TREE`: whether a module built elsewhere
/// loads on the tree's kernel; the text to print and whether it passed.
pub fn check_module(options: &StapOptions, ko: &Path) -> (String, bool) {
    let cache = Cache::locate(options.cache_dir.as_deref());
    let catalog = match Catalog::load() {
        Ok(c) => c,
        Err(e) => return (format!("stap: {e}\n"), false),
    };
    let tree = match HeaderTree::resolve(options.release.as_deref(), &cache, &catalog) {
        Ok(t) => t,
        Err(e) => return (format!("stap: {e}\n"), false),
    };
    match modcheck::check(ko, &tree) {
        Ok(info) => (
            format!(
                "{}: module {} loads on {} (vermagic, symbol versions, exports and .modinfo match {})\n",
                ko.display(),
                info.name.as_deref().unwrap_or("?"),
                tree.release,
                tree.dir.display()
            ),
            true,
        ),
        Err(failures) => {
            let mut out: String = failures.iter().map(|f| format!("ERROR: {f}\n")).collect();
            out.push_str(&format!(
                "{} would not load on {} ({})\n",
                ko.display(),
                tree.release,
                tree.dir.display()
            ));
            (out, false)
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Copies the built module to `dir/NAME.ko`, returning the new path.
pub fn deliver(built: &BuiltModule, module: &str, dir: &Path) -> std::io::Result<PathBuf> {
    let dest = dir.join(format!("{module}.ko"));
    std::fs::copy(&built.ko, &dest)?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> StapOptions {
        StapOptions::try_parse_from(std::iter::once("stap").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn parses_systemtap_flags() {
        let o = opts(&[
            "-v",
            "-v",
            "-p4",
            "-m",
            "hello",
            "-r",
            "debian-6.1-amd64",
            "-DMAXACTION=10",
            "-k",
            "x.stp",
            "arg1",
            "--",
            "-3",
        ]);
        assert_eq!(o.verbose, 2);
        assert_eq!(o.pass, Some(4));
        assert_eq!(o.module.as_deref(), Some("hello"));
        assert_eq!(o.defines, ["MAXACTION=10"]);
        assert_eq!(o.rest, ["x.stp", "arg1", "-3"]);
        assert!(StapOptions::try_parse_from(["stap", "-p6", "-e", "x"]).is_err());
        // The last -p wins, combined with other flags or not.
        assert_eq!(opts(&["-gp1", "-e", "x", "-p4"]).pass, Some(4));
        assert_eq!(opts(&["-p4", "-p2", "-e", "x"]).pass, Some(2));
        // Options after the script are options (getopt permutes).
        let o = opts(&["-p1", "x.stp", "a", "-p2"]);
        assert_eq!((o.pass, o.rest), (Some(2), vec!["x.stp".into(), "a".into()]));
        assert!(StapOptions::try_parse_from(["stap", "x.stp", "-3"]).is_err());
    }

    #[test]
    fn guru_mode_cannot_switch_modversions_off() {
        for args in [
            &["-g", "-B", "CONFIG_MODVERSIONS=", "-e", "probe begin {}"][..],
            &["-B", "CONFIG_MODVERSIONS=n", "-e", "probe begin {}"][..],
        ] {
            let err = Pipeline::new(opts(args)).err().expect("refused").message;
            assert!(err.starts_with("stap: -B CONFIG_MODVERSIONS="), "{err}");
            assert!(err.contains("guru mode included"), "{err}");
        }
        assert!(check_make_var("KCFLAGS=-g").is_ok());
    }

    #[test]
    fn defines_must_be_safe_for_the_compiler() {
        assert!(check_define("MAXACTION=10").is_ok());
        assert!(check_define("STP_NO_OVERLOAD").is_ok());
        assert!(check_define("1X=2")
            .unwrap_err()
            .contains("not a C macro name"));
        assert!(check_define("X=$(shell rm)")
            .unwrap_err()
            .contains("may only use"));
    }

    #[test]
    fn module_names_are_stable_hashes_without_m() {
        let a = Script {
            name: "<input>".into(),
            text: "probe begin {}".into(),
            args: vec![],
        };
        assert_eq!(format!("stap_{:016x}", fnv1a(a.text.as_bytes())).len(), 21);
        assert_eq!(canonical_arch("aarch64"), Some("arm64"));
        assert_eq!(canonical_arch("sparc"), None);
    }
}
