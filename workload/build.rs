//! Compiles the C programs of the guests (`c/*.c`) with the target's C
//! compiler (the cc crate picks `aarch64-linux-gnu-gcc` for arm64), for
//! the binaries of this package whose `main` is C.

fn main() {
    println!("cargo:rerun-if-changed=c/ustack.c");
    // Call-frame information only: the user-stack tests must unwind
    // without frame pointers.
    cc::Build::new()
        .file("c/ustack.c")
        .opt_level(2)
        .debug(false)
        .flag("-fomit-frame-pointer")
        .flag("-fasynchronous-unwind-tables")
        .compile("stapkit_ustack");
}
