//! Whether the host's own toolchain builds modules for a tree: the tree's
//! compiler (with the cross prefix for a foreign tree) and `make` on
//! `PATH`, the tree's kbuild host tools runnable here (this host's
//! architecture, a glibc new enough), and `pahole` for trees that add BTF
//! to modules. Each misfit says what is missing; `kernel::toolchain`
//! decides what to do about it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::tree::HeaderTree;

/// Why the host's toolchain does not fit a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Misfit {
    /// A program is not on `PATH`.
    Missing { program: String, why: &'static str },
    /// A kbuild host tool of the tree does not run here.
    HostTool { tool: String, message: String },
    /// The tree's kbuild host tools were built for another architecture
    /// (an aarch64 `kernel-devel` or Ubuntu arm64 headers on an x86-64
    /// host): no toolchain root runs them.
    ForeignHostTool { tool: String, arch: &'static str },
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Misfit::Missing { program, why } => {
                write!(f, "'{program}' is not installed on this host ({why})")
            }
            Misfit::HostTool { tool, message } => {
                write!(
                    f,
                    "the tree's host tool {tool} does not run here ({message})"
                )
            }
            Misfit::ForeignHostTool { tool, arch } => write!(
                f,
                "the tree's kbuild host tool {tool} is an {arch} program, which this {} host does not run; \
                 build on an {arch} host, or put host tools built for this host in the tree's scripts/",
                crate::arch::Arch::host().map_or("unknown", crate::arch::Arch::name)
            ),
        }
    }
}

/// Finds `program` on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Whether the host's own toolchain can build modules for `tree`.
pub fn host_fit(tree: &HeaderTree) -> Result<(), Misfit> {
    // First: no compiler or toolchain root makes another architecture's
    // programs run.
    let fixdep = tree.dir.join("scripts/basic/fixdep");
    if let Some(arch) = foreign_program(&fixdep) {
        return Err(Misfit::ForeignHostTool {
            tool: "scripts/basic/fixdep".into(),
            arch,
        });
    }
    let missing = |program: &str, why| Misfit::Missing {
        program: program.to_string(),
        why,
    };
    let compiler = tree.compiler_command();
    if which(&compiler).is_none() {
        let why = if tree.cross_compile().is_some() {
            "the kernel was built with its version; this cross compiler builds for it here"
        } else {
            "the kernel was built with it"
        };
        return Err(missing(&compiler, why));
    }
    if which("make").is_none() {
        return Err(missing("make", "kbuild runs it"));
    }
    if fixdep.is_file() {
        match Command::new(&fixdep).output() {
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                if let Some(line) = stderr.lines().find(|l| {
                    l.contains("GLIBC_") || l.contains("error while loading shared libraries")
                }) {
                    return Err(Misfit::HostTool {
                        tool: "scripts/basic/fixdep".into(),
                        message: line.rsplit(": ").next().unwrap_or(line).trim().to_string(),
                    });
                }
            }
            Err(e) => {
                return Err(Misfit::HostTool {
                    tool: "scripts/basic/fixdep".into(),
                    message: e.to_string(),
                })
            }
        }
    }
    if needs_pahole(tree) && which("pahole").is_none() {
        return Err(missing(
            "pahole",
            "the tree ships vmlinux, so kbuild adds BTF to modules; apt-get install dwarves",
        ));
    }
    Ok(())
}

/// The architecture of the ELF program at `path` when it is one of
/// another architecture than this host's (by its `e_machine`); `None` for
/// this host's programs, for anything else and for unreadable files.
pub(super) fn foreign_program(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 20];
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    if &head[..4] != b"\x7fELF" {
        return None;
    }
    let machine = match head[5] {
        1 => u16::from_le_bytes([head[18], head[19]]),
        _ => u16::from_be_bytes([head[18], head[19]]),
    };
    let (arch, name) = match machine {
        62 => (crate::arch::Arch::X86_64, "x86-64"),
        183 => (crate::arch::Arch::Arm64, "aarch64"),
        3 => return Some("i386"),
        40 => return Some("arm"),
        20 | 21 => return Some("powerpc"),
        22 => return Some("s390"),
        243 => return Some("riscv"),
        _ => return None,
    };
    (crate::arch::Arch::host() != Some(arch)).then_some(name)
}

/// Trees that ship a `vmlinux` with `CONFIG_DEBUG_INFO_BTF_MODULES` run pahole on every module.
fn needs_pahole(tree: &HeaderTree) -> bool {
    tree.enabled("CONFIG_DEBUG_INFO_BTF_MODULES") && tree.dir.join("vmlinux").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::tree::tests::fake_tree;

    #[test]
    fn another_architectures_host_tools_are_named_before_anything_runs() {
        let tmp = tempfile::tempdir().unwrap();
        fake_tree(
            tmp.path(),
            "5.14.0-570.el9.aarch64",
            "CONFIG_CC_VERSION_TEXT=\"gcc (GCC) 11.5.0\"\nCONFIG_ARM64=y\n",
        );
        let tool = tmp.path().join("scripts/basic/fixdep");
        std::fs::create_dir_all(tool.parent().unwrap()).unwrap();
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(18, 0);
        // e_machine of both architectures, little endian.
        for (machine, arch) in [(183u16, "aarch64"), (62, "x86-64")] {
            let mut head = elf.clone();
            head.extend_from_slice(&machine.to_le_bytes());
            head.resize(64, 0);
            std::fs::write(&tool, &head).unwrap();
            let host = crate::arch::Arch::host().map(crate::arch::Arch::name);
            let foreign = foreign_program(&tool);
            if host == Some(if machine == 183 { "arm64" } else { "x86_64" }) {
                assert_eq!(foreign, None);
            } else {
                assert_eq!(foreign, Some(arch));
            }
        }
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        assert_eq!(foreign_program(&tool), None);
        if crate::arch::Arch::host() == Some(crate::arch::Arch::X86_64) {
            let mut head = elf.clone();
            head.extend_from_slice(&183u16.to_le_bytes());
            head.resize(64, 0);
            std::fs::write(&tool, &head).unwrap();
            let tree = HeaderTree::open(tmp.path()).unwrap();
            // Checked before the compiler: no toolchain root would help.
            assert_eq!(
                host_fit(&tree).unwrap_err().to_string(),
                "the tree's kbuild host tool scripts/basic/fixdep is an aarch64 program, which this x86_64 \
                 host does not run; build on an aarch64 host, or put host tools built for this host in the \
                 tree's scripts/"
            );
        }
    }
}
