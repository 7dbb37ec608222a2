//! [`Arch`]: the architectures stapkit builds for and boots, and their
//! names in each vocabulary (SystemTap's `x86_64`/`arm64`, Debian's
//! `amd64`, kbuild's `ARCH=x86`, GNU triplets, Rust target triples). The
//! one architecture type of the crate: `kernel` (cross builds), `debuginfo`
//! (calling conventions), `vm` (QEMU, in its own `impl` block) and xtask
//! use it.

use std::fmt;

/// A supported architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arch {
    /// x86-64 (System V ABI).
    X86_64,
    /// arm64 (AAPCS64).
    Arm64,
}

impl Arch {
    /// Every supported architecture.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Arm64];

    /// From SystemTap's, uname's, Debian's or GCC's spelling (`x86_64`,
    /// `amd64`, `x86-64`, `arm64`, `aarch64`).
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" | "amd64" | "x86-64" => Some(Arch::X86_64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The machine stapkit runs on, if it is a supported one.
    pub fn host() -> Option<Arch> {
        Arch::from_name(std::env::consts::ARCH)
    }

    /// SystemTap's spelling (`x86_64`, `arm64`), as `HeaderTree::arch` and
    /// kernel manifests have it.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// Debian's architecture (`amd64`, `arm64`).
    pub fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }

    /// kbuild's `ARCH=`, the directory under `arch/` (`x86`, `arm64`).
    pub fn kbuild(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86",
            Arch::Arm64 => "arm64",
        }
    }

    /// The GNU triplet Debian's cross compilers prefix their commands with
    /// (`aarch64-linux-gnu-gcc-12`).
    pub fn gnu_triplet(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-linux-gnu",
            Arch::Arm64 => "aarch64-linux-gnu",
        }
    }

    /// The Rust target triple static guest binaries are built for.
    pub fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The prefix of syscall entry functions (`__x64_`, `__arm64_`).
    pub fn syscall_prefix(self) -> &'static str {
        match self {
            Arch::X86_64 => "__x64_",
            Arch::Arm64 => "__arm64_",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Manifests and state files spell an architecture as [`Arch::name`] (or
/// any spelling [`Arch::from_name`] knows); an unknown one is an error
/// that the YAML reader places at its line and column.
impl serde::Serialize for Arch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Arch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Arch, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> Result<Arch, String> {
        Arch::from_name(s).ok_or_else(|| format!("unknown architecture '{s}'; use x86_64 or arm64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_every_vocabulary() {
        for (name, arch) in [("amd64", Arch::X86_64), ("aarch64", Arch::Arm64)] {
            assert_eq!(Arch::from_name(name), Some(arch));
            assert_eq!(Arch::from_name(arch.name()), Some(arch));
            assert_eq!(arch.to_string().parse::<Arch>(), Ok(arch));
        }
        assert_eq!(Arch::X86_64.debian(), "amd64");
        assert_eq!(Arch::X86_64.kbuild(), "x86");
        assert_eq!(Arch::Arm64.gnu_triplet(), "aarch64-linux-gnu");
        assert_eq!(Arch::Arm64.rust_target(), "aarch64-unknown-linux-gnu");
        assert!("sparc"
            .parse::<Arch>()
            .unwrap_err()
            .contains("x86_64 or arm64"));
    }
}
