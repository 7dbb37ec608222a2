use super::*;
use crate::debuginfo::testprog;

fn roots(root: &Path) -> SearchPath {
    SearchPath {
        debug_roots: vec![root.to_path_buf()],
        debuginfod: None,
    }
}

#[test]
fn a_program_with_dwarf_is_its_own_debug_file() {
    let p = testprog::build();
    let found = find(&p.full, "/bin/userdebug", &SearchPath::default()).unwrap();
    assert_eq!(found.found, Found::Itself);
    assert_eq!(found.path, p.full);
    assert_eq!(found.build_id.as_ref().map(String::len), Some(40));
}

#[test]
fn the_build_id_path_under_a_debug_root() {
    let p = testprog::build();
    let id = links_of(&std::fs::read(&p.stripped).unwrap())
        .unwrap()
        .build_id
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let at = build_id_path(root.path(), &id).unwrap();
    assert_eq!(
        at,
        root.path()
            .join(format!(".build-id/{}/{}.debug", &id[..2], &id[2..]))
    );
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::copy(&p.debug, &at).unwrap();
    // The debuglink's file is moved away: only the build id finds it.
    std::fs::remove_file(&p.debug).unwrap();
    let found = find(&p.stripped, "/bin/userdebug", &roots(root.path())).unwrap();
    assert_eq!((found.found, found.path), (Found::BuildId, at.clone()));

    // A file at the path with another build id is skipped, and named.
    std::fs::copy(&p.stripped, &at).unwrap();
    std::fs::copy(std::env::current_exe().unwrap(), &at).unwrap();
    let e = find(&p.stripped, "/bin/userdebug", &roots(root.path())).unwrap_err();
    assert!(
        e.contains(&format!("{} (its build id is", at.display())),
        "{e}"
    );
    assert!(
        e.contains("has no DWARF of its own and no debug file for it was found (build id "),
        "{e}"
    );
    assert!(e.ends_with("; DEBUGINFOD_URLS is not set"), "{e}");
}

#[test]
fn the_debuglink_beside_in_dot_debug_and_under_the_root_with_its_crc() {
    let p = testprog::build();
    let root = tempfile::tempdir().unwrap();
    // Beside the program.
    let found = find(&p.stripped, "/usr/bin/userdebug", &roots(root.path())).unwrap();
    assert_eq!((found.found, &found.path), (Found::DebugLink, &p.debug));
    // In .debug/ beside it.
    let dot = p.dir.path().join(".debug");
    std::fs::create_dir(&dot).unwrap();
    std::fs::rename(&p.debug, dot.join("userdebug.debug")).unwrap();
    let found = find(&p.stripped, "/usr/bin/userdebug", &roots(root.path())).unwrap();
    assert_eq!(found.path, dot.join("userdebug.debug"));
    // Under the debug root at the program's target directory.
    let under = root.path().join("usr/bin/userdebug.debug");
    std::fs::create_dir_all(under.parent().unwrap()).unwrap();
    std::fs::rename(dot.join("userdebug.debug"), &under).unwrap();
    let found = find(&p.stripped, "/usr/bin/userdebug", &roots(root.path())).unwrap();
    assert_eq!(found.path, under);
    // A file whose CRC differs is refused, with both CRCs.
    std::fs::write(&under, b"not the debug file").unwrap();
    let e = find(&p.stripped, "/usr/bin/userdebug", &roots(root.path())).unwrap_err();
    assert!(e.contains(&format!("{} (CRC ", under.display())), "{e}");
    assert!(e.contains(", the link wants "), "{e}");
    assert!(
        e.contains(&format!("{} (not there)", p.debug.display())),
        "{e}"
    );
}

#[test]
fn crc_is_zlibs() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x");
    std::fs::write(&f, b"123456789").unwrap();
    assert_eq!(debuglink_crc(&f).unwrap(), 0xcbf4_3926);
}

#[test]
fn bad_inputs_are_errors() {
    assert!(build_id_path(Path::new("/r"), "xyz!").is_none());
    assert!(build_id_path(Path::new("/r"), "ab").is_none());
    let e = find(Path::new("/no/such"), "/no/such", &SearchPath::default()).unwrap_err();
    assert!(e.starts_with("cannot read /no/such: "), "{e}");
    let e = find(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")),
        "/x",
        &SearchPath::default(),
    )
    .unwrap_err();
    assert!(e.contains("is not an ELF program"), "{e}");
}
