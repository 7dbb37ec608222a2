//! [`StapOptions`]: SystemTap's command line (clap), flag for flag where
//! stapkit supports it, converted into the library's [`Options`].

use std::path::PathBuf;

use clap::{ArgAction, Parser};

use super::{Failure, Options, ScriptInput};
use crate::modcache::CacheUse;

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
    /// With --bundle, repeat it (or give a,b,... / all / @LIST) for every kernel.
    #[arg(short = 'r', value_name = "RELEASE|DIR", action = ArgAction::Append)]
    pub release: Vec<String>,
    /// Target architecture (x86_64, arm64; aarch64 and amd64 accepted).
    #[arg(short = 'a', value_name = "ARCH")]
    pub arch: Option<String>,
    /// Module name.
    #[arg(short = 'm', value_name = "NAME")]
    pub module: Option<String>,
    /// Stop after pass N (1 parse, 2 elaborate, 3 translate, 4 build, 5 run).
    /// The last of several counts, as in SystemTap (`stap -gp1 ... -p4`).
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
    /// Unoptimized: keep dead assignments, side-effect-free statements and
    /// probes that do nothing.
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
    /// Stop the script after TIME seconds (a `timer.ms` probe calling
    /// exit() is added, as SystemTap does; the end probes run).
    #[arg(short = 'T', value_name = "TIME",
          value_parser = clap::value_parser!(u32).range(1..=4_000_000))]
    pub timeout: Option<u32>,
    /// Symbol and unwind data for every loaded kernel module. stapkit's
    /// modules look kernel and module symbols up at run time, so this
    /// changes nothing; it is accepted for SystemTap's command lines.
    #[arg(long = "all-modules")]
    pub all_modules: bool,
    /// Add symbol and unwind information for MODULE (a program or
    /// shared library by path: `-d /usr/bin/ls`) to the module, for
    /// symbolic user-space backtraces through it. Kernel modules by name
    /// (`-d ext4`, `-d kernel`) are named at run time and need nothing.
    #[arg(short = 'd', value_name = "MODULE")]
    pub unwind_modules: Vec<String>,
    /// Add symbol and unwind information for the shared libraries the
    /// probed programs and those named with -d need (their DT_NEEDED
    /// entries, found in the target's library directories).
    #[arg(long = "ldd")]
    pub ldd: bool,
    /// List the functions of the tapset library, and stop.
    #[arg(long = "dump-functions")]
    pub dump_functions: bool,
    /// List the probe aliases of the tapset library, and stop.
    #[arg(long = "dump-probe-aliases")]
    pub dump_probe_aliases: bool,
    /// List the built-in probe point types, and stop.
    #[arg(long = "dump-probe-types")]
    pub dump_probe_types: bool,
    /// Build the module for every -r kernel into one bundle FILE (NAME.stpb)
    /// that staprun runs on any of them (see crate::ship).
    #[arg(long = "bundle", value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Flight recorder mode (pass 5): without -o, load the module, start
    /// the probes and detach (`staprun -L`); with -o, run staprun in the
    /// background and print its pid (`staprun -D -o FILE`).
    #[arg(short = 'F')]
    pub flight: bool,
    /// With -o: switch to the next output file past SIZE MB, keeping the
    /// last N (pass 5 hands it to staprun as -S).
    #[arg(short = 'S', value_name = "SIZE[,N]")]
    pub rotate: Option<String>,
    /// Set global NAME to VALUE when staprun loads the module (pass 5
    /// passes NAME=VALUE to staprun as a module option).
    #[arg(short = 'G', value_name = "NAME=VALUE")]
    pub set_globals: Vec<String>,
    /// Sign the module (each module of a bundle) with KEY (PEM; CERT
    /// defaults to KEY), in the kernel's format; without a value, the key
    /// --make-mok made.
    #[arg(long = "sign-module", value_name = "KEY[,CERT]", num_args = 0..=1, require_equals = true)]
    pub sign_module: Option<Option<String>>,
    /// Make a machine-owner key pair for --sign-module in DIR (default
    /// ~/.config/stapkit/mok), print how to enroll it, and stop.
    #[arg(long = "make-mok", value_name = "DIR", num_args = 0..=1, require_equals = true)]
    pub make_mok: Option<Option<PathBuf>>,
    /// Neither use nor fill the module cache (CACHE/modules).
    #[arg(long = "disable-cache")]
    pub disable_cache: bool,
    /// Treat cached modules as invalid: rebuild, and cache the new module.
    #[arg(long = "poison-cache")]
    pub poison_cache: bool,
    /// Prune stale entries from the module cache (down to its limit), and stop.
    #[arg(long = "clean-cache")]
    pub clean_cache: bool,
    /// The script file (unless -e), then the script's arguments ($1, @1, ...).
    /// Options may follow the script, as with SystemTap's getopt
    /// (`stap x.stp -p2`); arguments that start with `-` go after `--`.
    #[arg(value_name = "SCRIPT|ARGS")]
    pub rest: Vec<String>,
}

impl StapOptions {
    /// The one `-r` kernel (`None`: the running one); several only go
    /// with `--bundle`, which reads [`StapOptions::release`] itself.
    pub fn single_release(&self) -> Result<Option<String>, Failure> {
        match self.release.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ if self.bundle.is_some() => Ok(None),
            many => Err(Failure::usage(format!(
                "stap: -r given {} times; building for several kernels needs --bundle FILE.stpb",
                many.len()
            ))),
        }
    }

    /// The library's [`Options`] for `--check-module`, which needs a
    /// kernel (`-r`, at most one) and a cache but no script.
    pub fn check_module_options(&self) -> Result<Options, Failure> {
        Ok(Options {
            release: self.single_release()?,
            cache_dir: self.cache_dir.clone(),
            ..Options::default()
        })
    }

    /// The library's [`Options`] for this command line, or why there is
    /// no script to translate.
    pub fn options(self) -> Result<Options, Failure> {
        for g in &self.set_globals {
            check_set_global(g)?;
        }
        let dump = self.dump_functions || self.dump_probe_aliases || self.dump_probe_types;
        let release = self.single_release()?;
        let script = match (self.list, self.list_vars, self.inline) {
            _ if dump => ScriptInput::Dump {
                functions: self.dump_functions,
                aliases: self.dump_probe_aliases,
                types: self.dump_probe_types,
            },
            (Some(pattern), _, _) => ScriptInput::List {
                pattern,
                variables: false,
            },
            (None, Some(pattern), _) => ScriptInput::List {
                pattern,
                variables: true,
            },
            (None, None, Some(text)) => ScriptInput::Text(text),
            (None, None, None) => ScriptInput::File(PathBuf::new()),
        };
        let module_cache = match (self.disable_cache, self.poison_cache || self.keep) {
            (true, _) => CacheUse::Off,
            // -k wants the build directory, which only a build has.
            (false, true) => CacheUse::WriteOnly,
            (false, false) => CacheUse::ReadWrite,
        };
        let mut rest = self.rest.into_iter();
        let script = match script {
            ScriptInput::File(_) => {
                ScriptInput::File(PathBuf::from(rest.next().ok_or_else(|| {
                    Failure::usage("stap: no script given; pass a script file or -e 'SCRIPT'")
                })?))
            }
            other => other,
        };
        Ok(Options {
            script,
            args: rest.collect(),
            release,
            arch: self
                .arch
                .map(|a| a.parse().map_err(|e| Failure::usage(format!("stap: {e}"))))
                .transpose()?,
            module: self.module,
            last_pass: self.pass,
            keep: self.keep,
            verbose: self.verbose,
            guru: self.guru,
            defines: self.defines,
            make_vars: self.make_vars,
            includes: self.includes,
            suppress_warnings: self.suppress_warnings,
            unoptimized: self.unoptimized,
            command: self.command,
            target_pid: self.target_pid,
            buffer_mb: self.buffer_mb,
            output: self.output,
            sysroot: self.sysroot,
            unwind_modules: self
                .unwind_modules
                .into_iter()
                .filter(|m| m.contains('/'))
                .collect(),
            ldd: self.ldd,
            cache_dir: self.cache_dir,
            timeout: self.timeout,
            sign_module: self.sign_module,
            set_globals: self.set_globals,
            flight: self.flight,
            rotate: self.rotate,
            module_cache,
        })
    }
}

/// The pattern SystemTap's `stap` holds every `-G` value to, in its words.
const SET_GLOBAL_PATTERN: &str = "^[a-z_][a-z0-9_]*=[a-z0-9_.-]+$";

/// Refuses a `-G` value outside [`SET_GLOBAL_PATTERN`] as SystemTap 5.1's
/// `stap` does, before any pass (`ERROR: Safety pattern mismatch for -G
/// parameter ('num' vs. '...') rc=1`, exit 1; docs/oracle/FINDINGS.md,
/// "Module options"). Whether NAME is a global is not checked: staprun's
/// kernel ignores an unknown one.
fn check_set_global(value: &str) -> Result<(), Failure> {
    let ok = value.split_once('=').is_some_and(|(name, v)| {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
    });
    if ok {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "ERROR: Safety pattern mismatch for -G parameter ('{value}' vs. '{SET_GLOBAL_PATTERN}') rc=1"
        )))
    }
}
