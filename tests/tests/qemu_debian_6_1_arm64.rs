//! Every script of `tests/scripts/`, cross-built on this x86-64 machine for
//! Debian 6.1 arm64 and run in one QEMU AArch64 guest; each outcome must
//! match the same `tests/scripts/NAME.snap` as on the amd64 kernels.

#[test]
fn scripts_run_in_a_debian_6_1_arm64_guest() {
    stapkit_tests::run_scripts_on("debian-6.1-arm64");
}
