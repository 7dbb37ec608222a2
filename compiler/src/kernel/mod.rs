//! Kernel header trees: manifests, fetching and relocation, kbuild, module checks.
