use super::*;
use crate::debuginfo::testprog;

fn open_stripped() -> (testprog::TestProgram, tempfile::TempDir, UserDebug) {
    let p = testprog::build();
    let cache = tempfile::tempdir().unwrap();
    let d = UserDebug::open(
        &p.stripped,
        "/bin/userdebug",
        &SearchPath::default(),
        cache.path(),
    )
    .unwrap();
    (p, cache, d)
}

#[test]
fn functions_parameters_and_locals_of_a_stripped_program() {
    let (p, _cache, d) = open_stripped();
    assert_eq!(d.file.path, p.debug);
    let names: Vec<String> = d.functions("user_*").into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["user_scale", "user_total"]);
    let scale = &d.functions("user_scale")[0];
    let vars: Vec<(String, String, bool)> = scale
        .vars
        .iter()
        .map(|v| (v.name.clone(), v.ty.render(), v.param))
        .collect();
    assert_eq!(
        vars,
        [
            ("p".to_string(), "struct point*".to_string(), true),
            ("factor".to_string(), "int".to_string(), true),
            ("scaled".to_string(), "int".to_string(), false),
        ]
    );
    assert_eq!(scale.prototype.ret.render(), "int");
    let file = d.dwarf().scope_file(scale.die).unwrap();
    assert_eq!(file.0, "/usr/src/stapkit/userdebug.c");
    assert_eq!(file.1, 16);
}

#[test]
fn locations_after_the_prologue_are_frame_slots() {
    let (_p, _cache, d) = open_stripped();
    let scale = &d.functions("user_scale")[0];
    let pc = d.dwarf().after_prologue(scale);
    assert!(pc > scale.low_pc && pc < scale.high_pc);
    let offset = d.file_offset(pc).unwrap();
    assert!(offset > 0);
    for v in &scale.vars {
        match d.location(scale, v, pc).unwrap() {
            // gcc -O0: every variable in the frame, CFA-relative, which
            // x86-64's CFI puts at rbp (6) + 16 after the prologue.
            UserLoc::Memory { register, offset } => {
                if cfg!(target_arch = "x86_64") {
                    assert_eq!(register, 6, "{}", v.name);
                }
                assert!(offset < 16 && offset > -64, "{}: {offset}", v.name);
            }
            other => panic!("{}: {other:?}", v.name),
        }
    }
    // A statement line: the loop's body.
    let total = &d.functions("user_total")[0];
    let at = d.dwarf().statement_addresses(total, "userdebug.c", 31);
    assert_eq!(at.len(), 1, "{at:?}");
    assert!(at[0] > total.low_pc && at[0] < total.high_pc);
    assert!(d
        .dwarf()
        .statement_addresses(total, "other.c", 31)
        .is_empty());
}

#[test]
fn labels_with_code_are_in_their_function_s_scope() {
    let (_p, _cache, d) = open_stripped();
    let total = &d.functions("user_total")[0];
    let labels: Vec<(&str, u32)> = total
        .labels
        .iter()
        .map(|l| (l.name.as_str(), l.line))
        .collect();
    assert_eq!(labels, [("add", 31), ("done", 32)]);
    // The loop body's label is in its line's code (gcc -O0 puts a nop
    // for the label at the line's start), the other after it.
    let line = d.dwarf().statement_addresses(total, "userdebug.c", 31);
    assert_eq!(line.len(), 1, "{line:?}");
    let (add, done) = (total.labels[0].pc, total.labels[1].pc);
    assert!(add >= line[0] && add < done, "{add:#x} {line:x?}");
    assert!(done < total.high_pc);
    assert!(d.functions("user_scale")[0].labels.is_empty());
}

#[test]
fn a_program_without_any_debug_file_says_where_it_looked() {
    let p = testprog::build();
    std::fs::remove_file(&p.debug).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let e = UserDebug::open(
        &p.stripped,
        "/bin/userdebug",
        &SearchPath::default(),
        cache.path(),
    )
    .unwrap_err();
    assert!(
        e.contains("has no DWARF of its own and no debug file for it was found"),
        "{e}"
    );
    assert!(e.contains("userdebug.debug (not there)"), "{e}");
}

#[test]
fn line_table_names_source_lines_by_file_offset() {
    let (_p, _cache, d) = open_stripped();
    let table = d.line_table();
    assert!(table.rows.windows(2).all(|w| w[0].address <= w[1].address));
    assert!(
        table
            .files
            .iter()
            .any(|f| f == "/usr/src/stapkit/userdebug.c"),
        "{:?}",
        table.files
    );
    // After user_scale's prologue: its first statement, line 18.
    let scale = &d.functions("user_scale")[0];
    let pc = d.dwarf().after_prologue(scale);
    let offset = d.file_offset(pc).unwrap();
    assert_eq!(
        table.place(offset),
        Some(("/usr/src/stapkit/userdebug.c", 18))
    );
    // The statement probe's line resolves back to itself.
    let total = &d.functions("user_total")[0];
    for a in d.dwarf().statement_addresses(total, "userdebug.c", 31) {
        let offset = d.file_offset(a).unwrap();
        assert_eq!(table.place(offset).map(|p| p.1), Some(31));
    }
    // Offsets before the first row have none.
    assert_eq!(table.place(0), None);
}
