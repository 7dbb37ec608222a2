//! What a cross build needs, for trees whose architecture is a name
//! (`HeaderTree::arch`); the names themselves are [`crate::arch::Arch`]'s.
//!
//! A tree's architecture is SystemTap's spelling (`x86_64`, `arm64`, as
//! `HeaderTree::arch` reads it from `.config`). Building for a tree whose
//! architecture is not the build host's is a *cross build*: `make` gets
//! `ARCH=` and `CROSS_COMPILE=` (the Debian cross compilers' GNU triplet
//! prefix, `aarch64-linux-gnu-`), the compiler command gets that prefix,
//! and the tree's kbuild host tools (`fixdep`, `modpost`) come from the
//! *host's* Debian architecture's `linux-kbuild-*` package, because they run
//! here.

use crate::arch::Arch;

/// The machine stapkit runs on, in SystemTap's spelling (`x86_64`, `arm64`;
/// anything else as Rust names it).
pub fn host() -> &'static str {
    Arch::host().map_or(std::env::consts::ARCH, Arch::name)
}

/// The Debian architecture of `arch` (`x86_64` → `amd64`).
pub fn debian(arch: &str) -> Option<&'static str> {
    Arch::from_name(arch).map(Arch::debian)
}

/// The host's Debian architecture (`amd64` here; what `linux-kbuild-*` and
/// toolchain roots are fetched for).
pub fn host_debian() -> &'static str {
    debian(host()).unwrap_or("amd64")
}

/// The GNU triplet of `arch`, as Debian's cross compilers prefix their
/// commands (`aarch64-linux-gnu-gcc-12`).
pub fn gnu_triplet(arch: &str) -> Option<&'static str> {
    Arch::from_name(arch).map(Arch::gnu_triplet)
}

/// kbuild's `ARCH=` for `arch` (`x86_64` → `x86`).
pub fn kbuild(arch: &str) -> Option<&'static str> {
    Arch::from_name(arch).map(Arch::kbuild)
}

/// The `CROSS_COMPILE=` prefix for building `arch` modules on this host, or
/// `None` when the host builds them natively.
pub fn cross_compile(arch: &str) -> Option<String> {
    if arch == host() {
        return None;
    }
    gnu_triplet(arch).map(|t| format!("{t}-"))
}

/// The Debian package of a cross compiler: `gcc-12` for `arm64` is
/// `gcc-12-aarch64-linux-gnu` (package names spell `_` as `-`).
pub fn cross_compiler_package(compiler: &str, arch: &str) -> Option<String> {
    let triplet = gnu_triplet(arch)?;
    Some(format!("{compiler}-{}", triplet.replace('_', "-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_each_arch() {
        assert_eq!(debian("x86_64"), Some("amd64"));
        assert_eq!(debian("arm64"), Some("arm64"));
        assert_eq!(debian("sparc"), None);
        assert_eq!(kbuild("x86_64"), Some("x86"));
        assert_eq!(gnu_triplet("arm64"), Some("aarch64-linux-gnu"));
        assert_eq!(
            cross_compiler_package("gcc-12", "arm64").as_deref(),
            Some("gcc-12-aarch64-linux-gnu")
        );
        assert_eq!(
            cross_compiler_package("gcc-14", "x86_64").as_deref(),
            Some("gcc-14-x86-64-linux-gnu")
        );
    }

    #[test]
    fn only_foreign_trees_are_cross_built() {
        assert_eq!(cross_compile(host()), None);
        let foreign = if host() == "arm64" { "x86_64" } else { "arm64" };
        let prefix = cross_compile(foreign).unwrap();
        assert!(prefix.ends_with("-linux-gnu-"), "{prefix}");
    }
}
