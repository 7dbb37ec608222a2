//! Unit tests for argument splicing, macros and conditionals.

use super::*;
use crate::diag::SourceMap;

fn run_with(text: &str, cfg: &PreprocessConfig) -> (String, Vec<SyntaxError>) {
    let mut map = SourceMap::new();
    let f = map.add("t.stp", text);
    let (tokens, mut errors) = tokenize(f, text);
    let (out, pp_errors) = preprocess(tokens, cfg);
    errors.extend(pp_errors);
    for t in &out {
        assert!(
            t.span.file == f && t.span.end <= text.len(),
            "span out of file: {t:?}"
        );
    }
    let shown: Vec<String> = out
        .iter()
        .map(|t| match &t.kind {
            TokenKind::Ident(s) => s.clone(),
            TokenKind::AtWord(s) => format!("@{s}"),
            TokenKind::Keyword(k) => k.as_str().to_string(),
            TokenKind::Number(n) => n.to_string(),
            TokenKind::Str(s) => format!("{:?}", String::from_utf8_lossy(s)),
            TokenKind::Embedded(s) => format!("%{{{s}%}}"),
            TokenKind::Punct(p) => p.as_str().to_string(),
            other => format!("<{other}>"),
        })
        .collect();
    (shown.join(" "), errors)
}

fn run(text: &str) -> String {
    let (out, errors) = run_with(text, &PreprocessConfig::default());
    assert!(errors.is_empty(), "{text}: {errors:?}");
    out
}

fn errors_of(text: &str) -> Vec<SyntaxError> {
    run_with(text, &PreprocessConfig::default()).1
}

fn with_args(args: &[&str]) -> PreprocessConfig {
    PreprocessConfig {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..PreprocessConfig::default()
    }
}

#[test]
fn arguments_are_spliced_as_tokens_or_strings() {
    let cfg = with_args(&["42", "kernel.function(\"vfs_read\")", "a b"]);
    let (out, errors) = run_with("x = $1 + @1; probe $2 {} s = @3 $# @#", &cfg);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        out,
        r#"x = 42 + "42" ; probe kernel . function ( "vfs_read" ) { } s = "a b" 3 "3""#
    );
}

#[test]
fn missing_and_nested_arguments_are_errors() {
    let cfg = with_args(&["$2", "x"]);
    let (out, errors) = run_with("a = $3 b = @0 c = $1", &cfg);
    assert_eq!(out, r#"a = 0 b = "" c = <invalid input>"#);
    assert!(matches!(
        errors[0],
        SyntaxError::MissingArgument {
            index: 3,
            given: 2,
            ..
        }
    ));
    assert!(matches!(
        errors[1],
        SyntaxError::MissingArgument { index: 0, .. }
    ));
    assert!(matches!(
        errors[2],
        SyntaxError::NestedArgument { index: 1, .. }
    ));
    let d = errors[0].clone().into_diagnostic();
    assert_eq!(
        d.message,
        "command-line argument $3 is missing: 2 arguments given"
    );
}

#[test]
fn arguments_in_skipped_branches_need_not_exist() {
    let (out, errors) = run_with(
        "x = %( $# >= 2 %? $2 %: 0 %) y = %( $# < 1 %? 1 %: @1 %)",
        &PreprocessConfig::default(),
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(out, "x = 0 y = 1");
}

#[test]
fn arguments_inside_macros() {
    let cfg = with_args(&["a + b"]);
    let (out, errors) = run_with("@define m %( ($1) %) z = @m * 2", &cfg);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(out, "z = ( a + b ) * 2");
}

#[test]
fn argument_lexing_errors_name_the_argument() {
    let cfg = with_args(&["\"open"]);
    let (_, errors) = run_with("x = $1", &cfg);
    let d = errors[0].clone().into_diagnostic();
    assert_eq!(
        d.message,
        "in command-line argument $1: unterminated string literal"
    );
}

#[test]
fn macros_with_and_without_parameters() {
    assert_eq!(run("@define foo %( x + 1 %) a = @foo"), "a = x + 1");
    assert_eq!(
        run("@define add(a, b) %( ((@a) + (@b)) %) y = @add(1, 2 * 3)"),
        "y = ( ( 1 ) + ( 2 * 3 ) )"
    );
    // Arguments with nested commas and brackets.
    assert_eq!(
        run("@define first(a, b) %( @a %) @first(f(1, 2), g[3, 4])"),
        "f ( 1 , 2 )"
    );
    // A parameterless macro leaves following parentheses alone.
    assert_eq!(run("@define fn %( exit %) @fn()"), "exit ( )");
    // Unknown @words pass through for the parser.
    assert_eq!(
        run("@cast(p, \"t\") @nosuch"),
        "@cast ( p , \"t\" ) @nosuch"
    );
    // A use that cannot be expanded leaves an invalid token behind.
    assert_eq!(
        run_with("@define m(a) %( @a %) x @m y", &PreprocessConfig::default()).0,
        "x <invalid input> y"
    );
}

#[test]
fn macro_arguments_are_closures_over_the_use_site() {
    let text = "@define twice(x) %( @x @x %) @define wrap(y) %( @twice(@y) %) @wrap(z)";
    assert_eq!(run(text), "z z");
    // A macro used inside another's body.
    assert_eq!(run("@define a %( 1 %) @define b %( @a + @a %) @b"), "1 + 1");
}

#[test]
fn expanded_tokens_carry_the_use_span_and_their_origin() {
    let text = "@define m %( x %)\n@m";
    let mut map = SourceMap::new();
    let f = map.add("t", text);
    let (tokens, _) = tokenize(f, text);
    let (out, errors) = preprocess(tokens, &PreprocessConfig::default());
    assert!(errors.is_empty());
    assert_eq!(map.span_text(out[0].span), "@m");
    assert_eq!(map.span_text(out[0].origin.unwrap()), "x");
}

#[test]
fn macro_errors() {
    assert!(matches!(
        errors_of("@define m %( x %) @define m %( y %)")[0],
        SyntaxError::MacroRedefined { .. }
    ));
    assert!(matches!(
        errors_of("@define m(a) %( @a %) @m")[0],
        SyntaxError::MacroNeedsArgs { .. }
    ));
    assert!(matches!(
        errors_of("@define m(a) %( @a %) @m(1, 2)")[0],
        SyntaxError::MacroArgCount { given: 2, .. }
    ));
    assert!(matches!(
        errors_of("@define m(a) %( @a %) @m(1")[0],
        SyntaxError::MacroUnterminatedCall { .. }
    ));
    assert!(matches!(
        errors_of("@define m %( x")[0],
        SyntaxError::DefineUnterminated { .. }
    ));
    assert!(matches!(
        errors_of("@define m %{ x %}")[0],
        SyntaxError::DefineBodyBraces { .. }
    ));
    assert!(matches!(
        errors_of("@define 3 %( x %)")[0],
        SyntaxError::DefineSyntax { .. }
    ));
    assert!(matches!(
        errors_of("@define m(a, a) %( x %)")[0],
        SyntaxError::MacroDuplicateParam { .. }
    ));
    assert!(matches!(
        errors_of("@define r %( @r %) @r")[0],
        SyntaxError::MacroTooDeep { .. }
    ));
    assert!(matches!(
        errors_of("@define count %( 1 %)")[0],
        SyntaxError::MacroShadowsOperator { .. }
    ));
    assert!(matches!(
        errors_of("@define m %( @define n %( 1 %) %) @m")[0],
        SyntaxError::DefineInMacro { .. }
    ));
}

#[test]
fn exponential_macros_are_cut_off() {
    let mut text = String::from("@define m0 %( x %)\n");
    for i in 1..40 {
        text.push_str(&format!("@define m{i} %( @m{} @m{} %)\n", i - 1, i - 1));
    }
    text.push_str("@m39");
    let errors = errors_of(&text);
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, SyntaxError::ExpansionTooLarge { .. })),
        "{errors:?}"
    );
}

#[test]
fn conditionals_choose_a_branch() {
    assert_eq!(run(r#"%( arch == "x86_64" %? a %: b %)"#), "a");
    assert_eq!(run(r#"%( arch == "arm64" %? a %: b %)"#), "b");
    assert_eq!(run(r#"%( arch == "arm64" %? a %)"#), "");
    assert_eq!(run(r#"x %( kernel_v >= "5.0" %? y %) z"#), "x y z");
}

#[test]
fn nested_conditionals() {
    let text = r#"%( kernel_v >= "5.0" %? %( arch == "x86_64" %? A %: B %) %: %( arch == "x86_64" %? C %: D %) %)"#;
    assert_eq!(run(text), "A");
    let text = r#"%( kernel_v < "5.0" %? %( arch == "x86_64" %? A %: B %) %: %( arch == "x86_64" %? C %: D %) %)"#;
    assert_eq!(run(text), "C");
}

#[test]
fn skipped_branches_do_not_define_macros() {
    let text = r#"%( arch == "x86_64" %? @define m %( yes %) %: @define m %( no %) %) @m"#;
    assert_eq!(run(text), "yes");
}

#[test]
fn conditions_may_use_arguments_and_macros() {
    let cfg = with_args(&["5", "fast"]);
    let (out, errors) = run_with(
        r#"%( $# == 2 && $1 > 3 && @2 == "fast" %? ok %: no %)"#,
        &cfg,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(out, "ok");
    assert_eq!(
        run(r#"@define new %( kernel_v >= "6.0" %) %( @new %? n %: o %)"#),
        "n"
    );
    assert_eq!(
        run(r#"@define pick(a) %( %( arch == "x86_64" %? @a %: 0 %) %) @pick(7)"#),
        "7"
    );
}

#[test]
fn conditional_errors() {
    assert!(matches!(
        errors_of("%( 1 == 1 %? a")[0],
        SyntaxError::PpUnterminated { .. }
    ));
    assert!(matches!(
        errors_of("%( 1 == 2 %? a")[0],
        SyntaxError::PpUnterminated { .. }
    ));
    assert!(matches!(errors_of("a %)")[0], SyntaxError::PpStray { .. }));
    assert!(matches!(
        errors_of("a %: b")[0],
        SyntaxError::PpStray { .. }
    ));
    assert!(matches!(
        errors_of("a %? b")[0],
        SyntaxError::PpStray { .. }
    ));
    assert!(matches!(
        errors_of("%( 1 == 1 a %)")[0],
        SyntaxError::PpMissingThen { .. }
    ));
    assert!(matches!(
        errors_of("%( 1 == 1 %? a %: b %: c %)")[0],
        SyntaxError::PpDuplicateElse { .. }
    ));
    assert!(matches!(
        errors_of("%( 1 == 2 %? a %: b %: c %)")[0],
        SyntaxError::PpDuplicateElse { .. }
    ));
    assert!(matches!(
        errors_of("%( bogus == 1 %? a %)")[0],
        SyntaxError::PpCondition { .. }
    ));
    // A failed condition counts as false, and parsing goes on.
    let (out, errors) = run_with("%( bogus == 1 %? a %: b %) c", &PreprocessConfig::default());
    assert_eq!((out.as_str(), errors.len()), ("b c", 1));
}
