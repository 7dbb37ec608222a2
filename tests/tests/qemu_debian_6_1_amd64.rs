//! Every script of `tests/scripts/`, built for Debian 6.1 amd64 and run in
//! one QEMU guest; each outcome must match `tests/scripts/NAME.snap`.

#[test]
fn scripts_run_in_a_debian_6_1_amd64_guest() {
    stapkit_tests::run_scripts_on("debian-6.1-amd64");
}
