//! The compiler note: when a kernel's modules build with another compiler
//! than the one that built the kernel, `stap-prep` says which, and why.
//!
//! A kernel records its compiler in `CONFIG_CC_VERSION_TEXT`, the first
//! line of `gcc --version` (`gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0`,
//! `gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)`), as kbuild compares it.
//! The compiler chosen here (`kernel::toolchain`: the host's, or a Debian
//! suite's root) answers `--version` the same way. Equal after the command
//! name: the kernel's own compiler, no note. Otherwise: another
//! distribution's gcc (Ubuntu, RHEL-family and Fedora kernels: no root of
//! those distributions can be had here) or another build of the same, and
//! the note names both versions; when the major versions differ it also
//! names the Debian gcc nearest the kernel's, which a manifest's
//! `toolchain` can ask for.

use super::toolchain::Toolchain;
use super::tree::HeaderTree;

/// A compiler as its `--version` line names it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompilerId {
    /// The command (`gcc-12`, `x86_64-linux-gnu-gcc-13`, `gcc`).
    pub command: String,
    /// Whose build it is (`Debian`, `Ubuntu`, `Red Hat`); empty for GCC's own.
    pub vendor: String,
    /// That build's package version in parentheses (`(Debian 12.2.0-14)`),
    /// when there is one.
    pub build: String,
    /// GCC's version (`12.2.0`).
    pub version: String,
    /// The line after the command: what must be equal for the same compiler.
    rest: String,
}

impl CompilerId {
    /// Reads a `--version` first line (or `CONFIG_CC_VERSION_TEXT`, its
    /// quotes removed).
    pub fn parse(text: &str) -> CompilerId {
        let text = text.trim().trim_matches('"').trim();
        let (command, rest) = text.split_once(' ').unwrap_or((text, ""));
        let mut groups = Vec::new();
        let mut outside = String::new();
        let mut depth = 0usize;
        let mut group = String::new();
        for c in rest.chars() {
            match c {
                '(' => {
                    depth += 1;
                    if depth == 1 {
                        group.clear();
                        continue;
                    }
                }
                ')' if depth > 0 => {
                    depth -= 1;
                    if depth == 0 {
                        groups.push(std::mem::take(&mut group));
                        outside.push(' ');
                        continue;
                    }
                }
                _ => {}
            }
            if depth > 0 {
                group.push(c);
            } else {
                outside.push(c);
            }
        }
        let vendor_group = groups.iter().find(|g| g.as_str() != "GCC");
        let vendor = vendor_group
            .map(|g| {
                g.split_whitespace()
                    .take_while(|w| !w.starts_with(|c: char| c.is_ascii_digit()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let version = outside
            .split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or("")
            .to_string();
        CompilerId {
            command: command.to_string(),
            vendor,
            build: vendor_group.map(|g| format!("({g})")).unwrap_or_default(),
            version,
            rest: rest.trim().to_string(),
        }
    }

    fn major(&self) -> Option<u32> {
        self.version.split('.').next()?.parse().ok()
    }

    fn owner(&self) -> String {
        if self.vendor.is_empty() {
            "GCC's".to_string()
        } else {
            format!("{}'s", self.vendor)
        }
    }
}

/// Whether two `--version` lines (or `CONFIG_CC_VERSION_TEXT`) name the
/// same compiler, whatever its command is called.
pub fn same_compiler(a: &str, b: &str) -> bool {
    CompilerId::parse(a).rest == CompilerId::parse(b).rest
}

/// The note for kernel `name` built by `kernel` (its
/// `CONFIG_CC_VERSION_TEXT`) whose modules build with `chosen` (that
/// compiler's `--version` line); `None` when they are the same compiler.
pub fn note(name: &str, kernel: &str, chosen: &str) -> Option<String> {
    let (k, c) = (CompilerId::parse(kernel), CompilerId::parse(chosen));
    if k.rest == c.rest || k.rest.is_empty() {
        return None;
    }
    let why = if k.vendor == c.vendor {
        "that exact build is not available here"
    } else {
        "no compiler of that distribution is available here"
    };
    let build = if k.build.is_empty() {
        String::new()
    } else {
        format!(" {}", k.build)
    };
    let tail = match (k.major(), c.major()) {
        (Some(a), Some(b)) if a != b => {
            let (gcc, suite) = nearest_debian_gcc(a);
            format!(
                "; Debian's nearest to gcc {a} is {gcc} ({suite}): a manifest's toolchain \
                 (compiler: {gcc}, suite: {suite}) builds with it"
            )
        }
        _ => ", the nearest".to_string(),
    };
    Some(format!(
        "{name}: the kernel was built with gcc {}{build}; {why}, so modules build with {} {} {}{tail}",
        k.version,
        c.owner(),
        c.command,
        c.version
    ))
}

/// The note for `tree` (of kernel `name`) built with toolchain `tc`:
/// asks the chosen compiler for its `--version`. `None` also when the
/// tree records no compiler or the compiler does not answer (a build
/// then fails saying so).
pub fn for_tree(name: &str, tree: &HeaderTree, tc: &Toolchain) -> Option<String> {
    let kernel = tree.config.get("CONFIG_CC_VERSION_TEXT")?;
    let out = tc
        .command(&tree.compiler_command())
        .arg("--version")
        .output()
        .ok()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let chosen = stdout.lines().next().filter(|_| out.status.success())?;
    note(name, kernel, chosen)
}

/// The nearest Debian gcc to GCC major version `major`: the compiler
/// command and the Debian suite that has it.
pub fn nearest_debian_gcc(major: u32) -> (String, &'static str) {
    const DEBIAN: &[(u32, &str)] = &[
        (10, "bullseye"),
        (11, "bookworm"),
        (12, "bookworm"),
        (13, "trixie"),
        (14, "trixie"),
        (15, "sid"),
        (16, "sid"),
    ];
    let &(gcc, suite) = DEBIAN
        .iter()
        .min_by_key(|(v, _)| v.abs_diff(major))
        .expect("the table is not empty");
    (format!("gcc-{gcc}"), suite)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEBIAN_12: &str = "gcc-12 (Debian 12.2.0-14) 12.2.0";

    #[test]
    fn version_lines_are_read() {
        let id = CompilerId::parse("\"gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)\"");
        assert_eq!(
            (
                id.command.as_str(),
                id.vendor.as_str(),
                id.build.as_str(),
                id.version.as_str()
            ),
            ("gcc", "Red Hat", "(Red Hat 11.5.0-2)", "11.5.0")
        );
        let id = CompilerId::parse("x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0");
        assert_eq!(
            (id.vendor.as_str(), id.version.as_str()),
            ("Ubuntu", "13.2.0")
        );
        let id = CompilerId::parse("gcc (GCC) 14.2.1 20240912");
        assert_eq!((id.vendor.as_str(), id.version.as_str()), ("", "14.2.1"));
    }

    #[test]
    fn the_kernels_own_compiler_needs_no_note() {
        // The command's spelling does not matter (6.12 names the triplet).
        assert_eq!(
            note(
                "k",
                "x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14) 12.2.0",
                DEBIAN_12
            ),
            None
        );
        assert_eq!(note("k", "", DEBIAN_12), None);
    }

    #[test]
    fn other_distributions_compilers_are_named_with_the_nearest() {
        assert_eq!(
            note(
                "ubuntu-6.8-amd64",
                "x86_64-linux-gnu-gcc-13 (Ubuntu 13.2.0-23ubuntu4) 13.2.0",
                "x86_64-linux-gnu-gcc-13 (Debian 13.3.0-6) 13.3.0"
            )
            .unwrap(),
            "ubuntu-6.8-amd64: the kernel was built with gcc 13.2.0 (Ubuntu 13.2.0-23ubuntu4); no compiler \
             of that distribution is available here, so modules build with Debian's x86_64-linux-gnu-gcc-13 \
             13.3.0, the nearest"
        );
        assert_eq!(
            note("centos-9", "gcc (GCC) 11.5.0 20240719 (Red Hat 11.5.0-2)", "gcc (Debian 12.2.0-14) 12.2.0")
                .unwrap(),
            "centos-9: the kernel was built with gcc 11.5.0 (Red Hat 11.5.0-2); no compiler of that \
             distribution is available here, so modules build with Debian's gcc 12.2.0; Debian's nearest to \
             gcc 11 is gcc-11 (bookworm): a manifest's toolchain (compiler: gcc-11, suite: bookworm) builds \
             with it"
        );
        assert_eq!(
            note("debian-6.1-amd64", "gcc-12 (Debian 12.2.0-13) 12.2.0", DEBIAN_12).unwrap(),
            "debian-6.1-amd64: the kernel was built with gcc 12.2.0 (Debian 12.2.0-13); that exact build is \
             not available here, so modules build with Debian's gcc-12 12.2.0, the nearest"
        );
    }

    #[test]
    fn the_nearest_debian_gcc_is_chosen() {
        assert_eq!(nearest_debian_gcc(11), ("gcc-11".to_string(), "bookworm"));
        assert_eq!(nearest_debian_gcc(8), ("gcc-10".to_string(), "bullseye"));
        assert_eq!(nearest_debian_gcc(14), ("gcc-14".to_string(), "trixie"));
    }
}
