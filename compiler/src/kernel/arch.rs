//! What a cross build needs. A tree's architecture is an
//! [`crate::arch::Arch`] (`HeaderTree::arch`, read from `.config`; a
//! manifest's `arch:`, read by serde). Building for a tree whose
//! architecture is not the build host's is a *cross build*: `make` gets
//! `ARCH=` and `CROSS_COMPILE=` (the Debian cross compilers' GNU triplet
//! prefix, `aarch64-linux-gnu-`), the compiler command gets that prefix,
//! and the tree's kbuild host tools (`fixdep`, `modpost`) come from the
//! *host's* Debian architecture's `linux-kbuild-*` package, because they run
//! here.

use crate::arch::Arch;

/// The host's Debian architecture (`amd64` here; what `linux-kbuild-*` and
/// toolchain roots are fetched for).
pub fn host_debian() -> &'static str {
    Arch::host().map_or("amd64", Arch::debian)
}

/// The `CROSS_COMPILE=` prefix for building `arch` modules on this host, or
/// `None` when the host builds them natively.
pub fn cross_compile(arch: Arch) -> Option<String> {
    (Arch::host() != Some(arch)).then(|| format!("{}-", arch.gnu_triplet()))
}

/// The Debian package of a cross compiler: `gcc-12` for `arm64` is
/// `gcc-12-aarch64-linux-gnu` (package names spell `_` as `-`).
pub fn cross_compiler_package(compiler: &str, arch: Arch) -> String {
    format!("{compiler}-{}", arch.gnu_triplet().replace('_', "-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_compiler_packages() {
        assert_eq!(
            cross_compiler_package("gcc-12", Arch::Arm64),
            "gcc-12-aarch64-linux-gnu"
        );
        assert_eq!(
            cross_compiler_package("gcc-14", Arch::X86_64),
            "gcc-14-x86-64-linux-gnu"
        );
    }

    #[test]
    fn only_foreign_trees_are_cross_built() {
        let host = Arch::host().expect("tests run on x86_64 or arm64");
        assert_eq!(cross_compile(host), None);
        let foreign = if host == Arch::Arm64 {
            Arch::X86_64
        } else {
            Arch::Arm64
        };
        let prefix = cross_compile(foreign).unwrap();
        assert!(prefix.ends_with("-linux-gnu-"), "{prefix}");
    }
}
