//! Every script of `tests/scripts/`, built for Debian 5.10 amd64 and run in
//! one QEMU guest; each outcome must match `tests/scripts/NAME.snap`, the
//! same snapshot every kernel shares.

#[test]
fn scripts_run_in_a_debian_5_10_amd64_guest() {
    stapkit_tests::run_scripts_on("debian-5.10-amd64");
}
