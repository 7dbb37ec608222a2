//! [`PreprocessConfig`]: what the preprocessor knows about the target and
//! the command line, filled in by the driver from the kernel tree (`-r`,
//! `-a`) and the arguments after the script.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::Span;

use super::token::Token;

/// One library macro: a `@define` of a `.stpm` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryMacro {
    /// Where its name was written.
    pub name_span: Span,
    /// Parameter names, without `@`.
    pub params: Vec<String>,
    /// The body, between `%(` and `%)`.
    pub body: Vec<Token>,
}

/// The macros every file sees, as SystemTap's library macros: the
/// `@define`s of the `.stpm` files on the tapset path. A file's own
/// `@define` of the same name hides one of these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibraryMacros(Arc<BTreeMap<String, LibraryMacro>>);

impl LibraryMacros {
    /// The macros, by name.
    pub fn new(macros: BTreeMap<String, LibraryMacro>) -> LibraryMacros {
        LibraryMacros(Arc::new(macros))
    }

    /// The macro `name`, if the library defines it.
    pub fn get(&self, name: &str) -> Option<&LibraryMacro> {
        self.0.get(name)
    }

    /// Every macro, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &LibraryMacro)> {
        self.0.iter()
    }
}

/// The privilege level a script is compiled for; `systemtap_privilege`
/// conditions compare against its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Privilege {
    /// `stapusr`: unprivileged users.
    StapUsr,
    /// `stapsys`: system administrators without full access.
    StapSys,
    /// `stapdev`: full access (the default for root).
    #[default]
    StapDev,
}

impl Privilege {
    /// The name scripts compare against: `stapusr`, `stapsys`, `stapdev`.
    pub fn as_str(self) -> &'static str {
        match self {
            Privilege::StapUsr => "stapusr",
            Privilege::StapSys => "stapsys",
            Privilege::StapDev => "stapdev",
        }
    }
}

/// Everything `%( ... %)` conditions and `$N`/`@N` references are evaluated
/// against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreprocessConfig {
    /// The full kernel release, as `uname -r` prints it (`kernel_vr`),
    /// e.g. `6.1.0-18-amd64`.
    pub kernel_release: String,
    /// The kernel version without the release suffix (`kernel_v`), e.g.
    /// `6.1.0`; see [`PreprocessConfig::base_version`].
    pub kernel_version: String,
    /// The target architecture (`arch`), as the kernel names it: `x86_64`,
    /// `arm64`, `i386`...
    pub arch: String,
    /// The runtime (`runtime`); stapkit always builds kernel modules, so this
    /// is `kernel`.
    pub runtime: String,
    /// The SystemTap language version the script is compiled as
    /// (`systemtap_v`, `--compatible`).
    pub systemtap_version: String,
    /// The privilege level (`systemtap_privilege`).
    pub privilege: Privilege,
    /// Whether guru mode (`-g`) is on (`guru_mode`).
    pub guru: bool,
    /// The target tree's `.config`: `CONFIG_*` name to value (`y`, `m`, a
    /// number or a string, without quotes). Options that are not set are
    /// simply absent.
    pub kernel_config: BTreeMap<String, String>,
    /// The command-line arguments after the script (`$1`, `@1`, `$#`).
    pub args: Vec<String>,
    /// The library's macros (`.stpm` files), visible in every file.
    pub library_macros: LibraryMacros,
    /// Whether the file is the user's script rather than a tapset: then,
    /// without [`guru`](Self::guru), embedded C and `@const` are parse
    /// errors, as in SystemTap's pass 1.
    pub user_script: bool,
}

impl PreprocessConfig {
    /// A configuration for kernel `release` on `arch`, otherwise default.
    pub fn for_kernel(release: &str, arch: &str) -> PreprocessConfig {
        PreprocessConfig {
            kernel_release: release.to_string(),
            kernel_version: PreprocessConfig::base_version(release).to_string(),
            arch: arch.to_string(),
            ..PreprocessConfig::default()
        }
    }

    /// The version part of a kernel release: everything before the first
    /// `-` (`6.1.0-18-amd64` gives `6.1.0`).
    pub fn base_version(release: &str) -> &str {
        release.split('-').next().unwrap_or(release)
    }
}

/// A plausible target: Debian 12's x86_64 6.1 kernel, the kernel runtime,
/// SystemTap 5.2 language rules, full privilege, no guru mode, no arguments,
/// and a handful of `.config` options that scripts commonly test.
impl Default for PreprocessConfig {
    fn default() -> PreprocessConfig {
        let kernel_config = [
            ("CONFIG_64BIT", "y"),
            ("CONFIG_X86_64", "y"),
            ("CONFIG_SMP", "y"),
            ("CONFIG_MODULES", "y"),
            ("CONFIG_MODVERSIONS", "y"),
            ("CONFIG_KPROBES", "y"),
            ("CONFIG_KRETPROBES", "y"),
            ("CONFIG_UPROBES", "y"),
            ("CONFIG_TRACEPOINTS", "y"),
            ("CONFIG_FTRACE", "y"),
            ("CONFIG_PERF_EVENTS", "y"),
            ("CONFIG_DEBUG_INFO_BTF", "y"),
            ("CONFIG_PREEMPT_VOLUNTARY", "y"),
            ("CONFIG_HZ", "250"),
            ("CONFIG_NR_CPUS", "8192"),
            ("CONFIG_EXT4_FS", "m"),
            ("CONFIG_NETFILTER", "y"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        PreprocessConfig {
            kernel_release: "6.1.0-18-amd64".to_string(),
            kernel_version: "6.1.0".to_string(),
            arch: "x86_64".to_string(),
            runtime: "kernel".to_string(),
            systemtap_version: "5.2".to_string(),
            privilege: Privilege::StapDev,
            guru: false,
            kernel_config,
            args: Vec::new(),
            library_macros: LibraryMacros::default(),
            user_script: false,
        }
    }
}
