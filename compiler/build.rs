//! Rebuilds the crate when the embedded directories change: `include_dir!`
//! cannot tell cargo which files it read.

fn main() {
    println!("cargo:rerun-if-changed=../kernels");
    println!("cargo:rerun-if-changed=../runtime-c");
    println!("cargo:rerun-if-changed=tapset");
}
