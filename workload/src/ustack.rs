//! `stapkit-ustack`: a C program (`workload/c/ustack.c`, built by
//! `build.rs` with `-O2 -fomit-frame-pointer`) linked as a binary of this
//! package, so it is built for the guests' architectures, statically,
//! wherever `stapkit-workload` is. Its `main` is the C one: this file
//! only tells Rust not to define another.
#![no_main]
