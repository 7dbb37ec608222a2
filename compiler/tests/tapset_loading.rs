//! Users' own tapsets (`-I DIR`): functions, probe aliases, globals and
//! embedded C in `.stp` files, library macros in `.stpm` files; functions
//! overloaded by arity and a script's function replacing the library's;
//! `-T`; the `--dump-*` listings. Passes 1 and 2 only, no kernel tree.

use std::path::Path;

use stapkit::driver::{Options, Pipeline, ScriptInput};
use stapkit::sema;

/// A tapset directory: a library of functions, an alias, a global and
/// embedded C, and a library macro file.
fn library(dir: &Path) {
    std::fs::write(
        dir.join("mylib.stp"),
        r#"@define local_only %( 42 %)
function my_double:long (v:long) { return @twice(v) + @local_only - 42 }
function my_embedded:long (v:long) %{ /* pure */ /* unprivileged */ STAP_RETVALUE = STAP_ARG_v + 1; %}
function my_over (a) { return a }
function my_over (a, b) { return a . b }
private function my_private () { return 1 }
probe my.tick = timer.ms(10) { ticked = 1 }
global my_counter = 7
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("mymacros.stpm"),
        "@define twice(x) %( (@x * 2) %)\n@define hello %( \"hello from the library\" %)\n",
    )
    .unwrap();
}

fn options(dir: &Path, script: &str) -> Options {
    Options {
        script: ScriptInput::Text(script.to_string()),
        includes: vec![dir.to_path_buf()],
        last_pass: Some(2),
        ..Options::default()
    }
}

/// Passes 1 and 2: the listing, or the failure's text.
fn elaborate(options: Options) -> Result<String, String> {
    let mut p = Pipeline::new(options).map_err(|f| f.message)?;
    let ast = p.parse().map_err(|f| f.message)?;
    let program = p.elaborate(&ast).map_err(|f| f.message)?;
    Ok(sema::listing(&program))
}

#[test]
fn user_tapsets_define_functions_aliases_globals_and_macros() {
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    let listing = elaborate(options(
        dir.path(),
        "probe begin { println(@hello, my_double(4), my_embedded(1), my_counter, my_over(1), my_over(\"a\", \"b\")) }\n\
         probe my.tick { println(ticked) exit() }\n",
    ))
    .unwrap();
    for wanted in [
        "my_counter:long",
        "my_double:long (v:long)",
        "my_embedded:long (v:long) %{ ... %}",
        "my_over:long (a:long)",
        "my_over:string (a:string, b:string)",
        "timer.ms(10)",
    ] {
        assert!(
            listing.contains(wanted),
            "{wanted} missing from:\n{listing}"
        );
    }
}

#[test]
fn a_tapsets_own_define_is_not_exported() {
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    let err = elaborate(options(dir.path(), "probe begin { println(@local_only) }")).unwrap_err();
    assert!(err.contains("unknown operator '@local_only'"), "{err}");
}

#[test]
fn embedded_c_needs_guru_mode_in_a_script_only() {
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    let err = elaborate(options(
        dir.path(),
        "function f:long () %{ STAP_RETVALUE = 1; %}\nprobe begin { println(f(), my_embedded(1)) }",
    ))
    .unwrap_err();
    // Refused while parsing the script, as SystemTap's pass 1 does; the
    // tapset's embedded C is not.
    assert!(
        err.contains("embedded code in unprivileged script; need stap -g"),
        "{err}"
    );
    assert_eq!(
        err.matches("need stap -g").count(),
        1,
        "only the script's: {err}"
    );
    let mut guru = options(
        dir.path(),
        "function f:long () %{ STAP_RETVALUE = 1; %}\nprobe begin { println(f(), my_embedded(1)) }",
    );
    guru.guru = true;
    elaborate(guru).unwrap();
}

#[test]
fn overloads_resolve_by_arity_and_a_script_replaces_the_library() {
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    // The library's ctime() and ctime(secs), tokenize(delim) and
    // tokenize(input, delim); the script's own tcpmib_filter_key.
    let listing = elaborate(options(
        dir.path(),
        "function my_over (a, b) { return a + b }\n\
         probe begin { println(ctime(), ctime(0), tokenize(\"a b\", \" \"), tokenize(\" \"), my_over(1, 2)) }",
    ))
    .unwrap();
    assert!(
        listing.contains("ctime:string (epochsecs:long)"),
        "{listing}"
    );
    assert!(listing.contains("ctime:string ()"), "{listing}");
    assert!(
        listing.contains("tokenize:string (delim:string)"),
        "{listing}"
    );
    assert!(
        listing.contains("my_over:long (a:long, b:long)"),
        "{listing}"
    );
    let err = elaborate(options(dir.path(), "probe begin { println(ctime(1, 2)) }")).unwrap_err();
    assert!(
        err.contains("semantic error: arity mismatch found (function 'ctime' takes 0 args)"),
        "{err}"
    );
}

#[test]
fn timeout_adds_a_timer_that_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = options(dir.path(), "probe begin { println(1) }");
    o.timeout = Some(5);
    let listing = elaborate(o).unwrap();
    assert!(listing.contains("timer.ms(5000)"), "{listing}");
    assert!(listing.contains("exit:unknown ()"), "{listing}");
}

#[test]
fn dumps_list_the_library_in_systemtaps_formats() {
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    let mut o = options(dir.path(), "");
    o.script = ScriptInput::Dump {
        functions: true,
        aliases: true,
        types: true,
    };
    let mut p = Pipeline::new(o).unwrap();
    let dump = p.dump().unwrap();
    for wanted in [
        "kernel.function(string).return\n",
        "timer.ms(number)\n",
        "my.tick = timer.ms(10)\n",
        "my_double:long (v:long)\n",
        "my_embedded:long (v:long) /* unprivileged */\n",
        "my_over:unknown (a:unknown)\n",
        "my_over:unknown (a:unknown, b:unknown)\n",
        "ansi_set_color:unknown (fg:long, bg:long)\n",
        "ctime:string ()\n",
        "HZ:long () /* unprivileged */\n",
    ] {
        assert!(dump.contains(wanted), "{wanted:?} missing");
    }
    assert!(
        !dump.contains("my_private"),
        "private functions are not listed"
    );
    assert!(
        !dump.contains("\n__"),
        "the library's own functions are not listed"
    );
}
