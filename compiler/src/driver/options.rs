//! [`Options`]: what a translation is asked to do, as plain data. `stap`'s
//! command line ([`super::StapOptions`]) converts into it; `stap-matrix`
//! and the tests fill it in directly.

use std::path::PathBuf;

/// Where the script comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptInput {
    /// A file (`-` is standard input).
    File(PathBuf),
    /// Text given on the command line (`-e`), reported as `<input>`.
    Text(String),
    /// `-l`/`-L PATTERN`: a `probe PATTERN {}` to list the points of, with
    /// their variables when `variables` (`-L`).
    List {
        /// The probe point pattern.
        pattern: String,
        /// Whether to list each point's variables (`-L`).
        variables: bool,
    },
    /// `--dump-functions`, `--dump-probe-aliases`, `--dump-probe-types`:
    /// no script, the library's listings (in that order, those asked).
    Dump {
        /// The library's functions.
        functions: bool,
        /// The library's probe aliases.
        aliases: bool,
        /// The built-in probe point types.
        types: bool,
    },
}

impl Default for ScriptInput {
    fn default() -> Self {
        ScriptInput::Text(String::new())
    }
}

/// One translation's options (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The script.
    pub script: ScriptInput,
    /// The script's arguments (`$1`, `@1`...).
    pub args: Vec<String>,
    /// Target kernel: a build tree directory, a release, or a manifest name
    /// (`None`: the running kernel's).
    pub release: Option<String>,
    /// Target architecture (`-a`; `None`: the tree's).
    pub arch: Option<crate::arch::Arch>,
    /// The module name (default `stap_` and a hash of the script).
    pub module: Option<String>,
    /// The last pass to run (1 parse, 2 elaborate, 3 translate, 4 build,
    /// 5 run; `None` is SystemTap's default, 5).
    pub last_pass: Option<u8>,
    /// Keep the build directory.
    pub keep: bool,
    /// How verbose (`-v` count).
    pub verbose: u8,
    /// Guru mode: embedded C, writes to target variables.
    pub guru: bool,
    /// C macros for the module (`MAXACTION=N`).
    pub defines: Vec<String>,
    /// `NAME=VALUE` for kbuild's make.
    pub make_vars: Vec<String>,
    /// Extra tapset directories.
    pub includes: Vec<PathBuf>,
    /// Suppress warnings.
    pub suppress_warnings: bool,
    /// Pass 2's optimizer off (`-u`).
    pub unoptimized: bool,
    /// The command to run while the script runs (pass 5, `-c`).
    pub command: Option<String>,
    /// The target process (pass 5, `-x`).
    pub target_pid: Option<u32>,
    /// The module-to-staprun buffer, in MiB.
    pub buffer_mb: Option<u32>,
    /// Where pass 5 sends the script's output.
    pub output: Option<PathBuf>,
    /// The target's file tree on this machine (`process("PATH")` programs
    /// are read from DIR/PATH).
    pub sysroot: Option<PathBuf>,
    /// Programs and libraries (by path) whose symbols and unwind data the
    /// module carries (`-d PATH`).
    pub unwind_modules: Vec<String>,
    /// Also the shared libraries they need (`--ldd`).
    pub ldd: bool,
    /// The kernel cache (default as stap-prep's).
    pub cache_dir: Option<PathBuf>,
    /// `-T`: the script exits after this many seconds, through a
    /// `timer.ms` probe that calls `exit()`, which pass 2 adds before the
    /// script's own probes (as SystemTap's `stap -p2` lists it; its
    /// `-p1` does not show it).
    pub timeout: Option<u32>,
    /// Sign the delivered module (`--sign-module[=KEY[,CERT]]`; `Some(None)`:
    /// the key `--make-mok` made), see [`crate::ship`].
    pub sign_module: Option<Option<String>>,
    /// `-G NAME=VALUE`: module options pass 5 hands to staprun, which
    /// set the script's globals at load.
    pub set_globals: Vec<String>,
    /// `-F`: pass 5 leaves the module running (`staprun -L`, or with `-o`
    /// `staprun -D`), as stap(1) says.
    pub flight: bool,
    /// `-S SIZE[,N]`: pass 5's output file rotation (staprun's `-S`).
    pub rotate: Option<String>,
    /// How pass 4 uses the module cache (`crate::modcache`; off unless
    /// asked, `stap` asks).
    pub module_cache: crate::modcache::CacheUse,
}

impl Options {
    /// The last pass to run (SystemTap's default is 5).
    pub fn last_pass(&self) -> u8 {
        self.last_pass.unwrap_or(5)
    }

    /// Whether this is a `-l`/`-L` listing.
    pub fn lists_points(&self) -> bool {
        matches!(self.script, ScriptInput::List { .. })
    }

    /// Whether this is a `--dump-*` listing.
    pub fn dumps(&self) -> bool {
        matches!(self.script, ScriptInput::Dump { .. })
    }
}
