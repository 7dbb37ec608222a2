//! The fuzz binary's target names, shared with `cargo xtask fuzz`.

/// Every target `STAPKIT_FUZZ_TARGET` takes.
pub const TARGETS: &[&str] = &[
    "script",
    "btf",
    "elf_module",
    "program",
    "dwarf_index",
    "kernel_image",
    "deb_tar",
    "rpm",
    "text",
];
