//! `stap-prep dbgsym` against a local debug archive: a program built here
//! is split as distributions ship it, its debug file packaged as a
//! `-dbgsym` package with `dpkg-deb` into a Debian-shaped repository
//! served on the loopback address; the package is fetched with apt and
//! unpacked into a sysroot, where the stripped program's DWARF is then
//! found by its build id.

#[allow(dead_code)]
mod fetch_support;

use fetch_support::{deb, deb_index, serve, DebPackage};
use stapkit::debuginfo::{debugfile, testprog, UserPrograms};
use stapkit::kernel::archives::Archives;
use stapkit::kernel::dbgsym::{fetch_into, DebugArchive};

#[test]
fn dbgsym_packages_are_unpacked_into_the_sysroot_where_stap_finds_them() {
    let w = tempfile::tempdir().unwrap();
    let w = w.path();
    let arch = stapkit::kernel::arch::host_debian();
    let split = testprog::build_in(
        &w.join("build"),
        "userdebug",
        testprog::USERDEBUG,
        testprog::HOST,
    )
    .unwrap();
    let id = debugfile::links_of(&std::fs::read(&split.stripped).unwrap())
        .unwrap()
        .build_id
        .unwrap();

    // The -dbgsym package: the debug file at its build-id path.
    let pkg = w.join("pkg");
    let at = debugfile::build_id_path(&pkg.join("usr/lib/debug"), &id).unwrap();
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::copy(&split.debug, &at).unwrap();
    let archive = w.join("www/debian-debug");
    let pool = archive.join("pool/main/u/userdebug");
    std::fs::create_dir_all(&pool).unwrap();
    let package = DebPackage {
        name: "userdebug-dbgsym",
        version: "1.0-1",
        arch,
        depends: "",
        description: "debug symbols for a test program",
    };
    deb(&pkg, &package, &pool);
    deb_index(&archive, "bookworm-debug", arch);
    let base = serve(w.join("www"));
    let uri = format!("[trusted=yes] {base}/debian-debug");
    let archives = Archives::from_parts(
        &[("STAPKIT_ARCHIVE_DEBIAN_DEBUG", &uri)],
        "",
        Default::default(),
    )
    .unwrap();
    let from = DebugArchive {
        archive: "debian-debug".into(),
        suites: vec!["bookworm-debug".into()],
        components: vec!["main".into()],
        architecture: arch.into(),
    };

    // The stripped program in the sysroot finds no DWARF before.
    let sysroot = w.join("sysroot");
    std::fs::create_dir_all(sysroot.join("bin")).unwrap();
    std::fs::copy(&split.stripped, sysroot.join("bin/userdebug")).unwrap();
    let before = UserPrograms::new(Some(sysroot.clone()));
    assert!(before.debug("/bin/userdebug").is_err());

    let unpacked = fetch_into(
        &w.join("work"),
        &from,
        &archives,
        &["userdebug".to_string()],
        &sysroot,
    )
    .unwrap();
    assert_eq!(unpacked.len(), 1);
    assert_eq!(unpacked[0].package, "userdebug-dbgsym");
    assert_eq!(unpacked[0].version, "1.0-1");
    assert_eq!(unpacked[0].build_ids, std::slice::from_ref(&id));
    // Only the debug tree was unpacked (not the package's control files).
    let mut top: Vec<String> = std::fs::read_dir(&sysroot)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["bin", "usr"]);

    let after = UserPrograms::new(Some(sysroot.clone()));
    let debug = after.debug("/bin/userdebug").unwrap();
    assert_eq!(
        debug.file.path,
        debugfile::build_id_path(&sysroot.join("usr/lib/debug"), &id).unwrap()
    );
    let names: Vec<String> = debug
        .functions("user_*")
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["user_scale", "user_total"]);

    // A package the archive lacks is named in the error.
    let e = fetch_into(
        &w.join("work"),
        &from,
        &archives,
        &["nosuch".to_string()],
        &sysroot,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("nosuch-dbgsym"), "{e}");
}
