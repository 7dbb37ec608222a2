//! Property ("fuzz") test for the whole front end: preprocessor, lexer,
//! parser, printer, diagnostic renderer and semantic analysis (with code
//! generation for programs that analyze cleanly).
//!
//! Inputs are the fixture files mutated at the byte and token level (flips,
//! deletions, duplications, splices between fixtures, inserted fragments of
//! the language), random token soup, and random bytes. For each input:
//!
//! * nothing panics (parse, print, dump, render);
//! * every span is inside the file and nested inside its parent's;
//! * if the parse has no errors, the printed tree re-parses to the same
//!   tree and printing is idempotent, and semantic analysis (then code
//!   generation, if analysis succeeds) runs without panicking.
//!
//! The default run is short (a few seconds). For a long run set
//! `STAPKIT_FUZZ_CASES`, e.g. `STAPKIT_FUZZ_CASES=2000000 cargo test
//! --release -p stapkit --test fuzz_frontend -- --nocapture`; each test
//! prints how many cases it ran. Failures are shrunk by proptest and saved
//! under `proptest-regressions/`.

mod frontend_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use frontend_support::{check_front_end, fixtures};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stapkit::diag::SourceMap;
use stapkit::syntax;

/// Fragments worth inserting: every kind of token, and the openers and
/// closers that stress recovery.
const FRAGMENTS: &[&str] = &[
    "probe ",
    "global ",
    "private ",
    "function ",
    "if (",
    "else ",
    "while (",
    "for (",
    "foreach (",
    "in ",
    "limit ",
    "return ",
    "delete ",
    "next ",
    "break ",
    "continue ",
    "try ",
    "catch ",
    "string",
    "long",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    ".",
    "?",
    "!",
    ":",
    "=",
    "+=",
    ".=",
    "<<<",
    "==",
    "!=",
    "<",
    "<=",
    ">>>",
    "=~",
    "!~",
    "+",
    "-",
    "*",
    "/",
    "%",
    "~",
    "&",
    "|",
    "^",
    "&&",
    "||",
    "++",
    "--",
    "->",
    "%(",
    "%?",
    "%:",
    "%)",
    "%{ c %}",
    "%{",
    "%}",
    "@define m(a) %( @a + 1 %)",
    "@m(",
    "@define ",
    "@count(",
    "@hist_log(",
    "@hist_linear(s, 0, 10, 1)",
    "@cast(p, \"t\")",
    "@var(\"v\")",
    "@entry(",
    "@defined(",
    "@choose_defined(",
    "@const(\"C\")",
    "@probewrite(x)",
    "@",
    "$",
    "$$",
    "$var",
    "$$vars$",
    "$1",
    "@1",
    "$2",
    "$#",
    "@#",
    "$9",
    "\"",
    "\"str\"",
    "\"\\x4",
    "'q'",
    "/*",
    "*/",
    "//",
    "#",
    "\n",
    " ",
    "0x",
    "0777",
    "18446744073709551616",
    "9223372036854775808",
    "kernel.function(\"f\")",
    "syscall.{open,close}",
    "timer.ms(-1)",
    "printf(\"%d\\n\", ",
    "print(@hist_log(s))",
    "%( arch == \"x86_64\" %? ",
    "%( $# > 0 %? $1 %: 0 %)",
    "%( kernel_v >= \"5.0\" %?",
    "%( CONFIG_X == \"y\" %? a %: b %)",
    "\u{e9}",
    "\u{0}",
    "\t",
    "\r\n",
];

fn corpus() -> &'static Vec<Vec<u8>> {
    static CORPUS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files = Vec::new();
        for dir in ["parse/ok", "parse/err", "scripts"] {
            for path in fixtures(dir) {
                files.push(std::fs::read(&path).unwrap_or_default());
            }
        }
        files
    })
}

/// Token boundaries (byte ranges) of `text`, from the lexer.
fn token_ranges(text: &[u8]) -> Vec<(usize, usize)> {
    let mut map = SourceMap::new();
    let file = map.add_bytes("t", text);
    // Lossy conversion can change lengths; clamp to the original.
    syntax::lex(&map, file)
        .tokens
        .iter()
        .map(|t| (t.span.start.min(text.len()), t.span.end.min(text.len())))
        .collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    SetByte {
        at: usize,
        byte: u8,
    },
    DeleteBytes {
        at: usize,
        len: usize,
    },
    DuplicateBytes {
        at: usize,
        len: usize,
        to: usize,
    },
    Insert {
        at: usize,
        fragment: usize,
    },
    DeleteToken {
        index: usize,
    },
    DuplicateToken {
        index: usize,
        to: usize,
    },
    SpliceTokens {
        from_file: usize,
        start: usize,
        len: usize,
        to: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = 1usize << 20;
    prop_oneof![
        (0..n, any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte { at, byte }),
        (0..n, 1..40usize).prop_map(|(at, len)| Mutation::DeleteBytes { at, len }),
        (0..n, 1..40usize, 0..n).prop_map(|(at, len, to)| Mutation::DuplicateBytes { at, len, to }),
        (0..n, 0..FRAGMENTS.len()).prop_map(|(at, fragment)| Mutation::Insert { at, fragment }),
        (0..n).prop_map(|index| Mutation::DeleteToken { index }),
        (0..n, 0..n).prop_map(|(index, to)| Mutation::DuplicateToken { index, to }),
        (0..n, 0..n, 1..30usize, 0..n).prop_map(|(from_file, start, len, to)| {
            Mutation::SpliceTokens {
                from_file,
                start,
                len,
                to,
            }
        }),
    ]
}

fn apply(text: &mut Vec<u8>, m: &Mutation) {
    let pick = |i: usize, n: usize| if n == 0 { 0 } else { i % n };
    match *m {
        Mutation::SetByte { at, byte } => {
            if !text.is_empty() {
                let i = pick(at, text.len());
                text[i] = byte;
            }
        }
        Mutation::DeleteBytes { at, len } => {
            let i = pick(at, text.len() + 1);
            let end = (i + len).min(text.len());
            text.drain(i..end);
        }
        Mutation::DuplicateBytes { at, len, to } => {
            let i = pick(at, text.len() + 1);
            let end = (i + len).min(text.len());
            let piece = text[i..end].to_vec();
            let to = pick(to, text.len() + 1);
            text.splice(to..to, piece);
        }
        Mutation::Insert { at, fragment } => {
            let to = pick(at, text.len() + 1);
            text.splice(to..to, FRAGMENTS[fragment].bytes());
        }
        Mutation::DeleteToken { index } => {
            let tokens = token_ranges(text);
            if !tokens.is_empty() {
                let (s, e) = tokens[pick(index, tokens.len())];
                text.drain(s..e);
            }
        }
        Mutation::DuplicateToken { index, to } => {
            let tokens = token_ranges(text);
            if !tokens.is_empty() {
                let (s, e) = tokens[pick(index, tokens.len())];
                let piece = text[s..e].to_vec();
                let (at, _) = tokens[pick(to, tokens.len())];
                text.splice(at..at, piece.into_iter().chain([b' ']));
            }
        }
        Mutation::SpliceTokens {
            from_file,
            start,
            len,
            to,
        } => {
            let other = &corpus()[pick(from_file, corpus().len())];
            let other_tokens = token_ranges(other);
            let tokens = token_ranges(text);
            if other_tokens.is_empty() {
                return;
            }
            let first = pick(start, other_tokens.len());
            let last = (first + len).min(other_tokens.len()) - 1;
            let piece = other[other_tokens[first].0..other_tokens[last].1].to_vec();
            let at = if tokens.is_empty() {
                0
            } else {
                tokens[pick(to, tokens.len())].0
            };
            text.splice(at..at, piece.into_iter().chain([b' ']));
        }
    }
}

/// Command-line arguments to parse with: none, or a few of varied kinds.
fn args() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        Just(vec![]),
        Just(vec!["42".to_string()]),
        Just(vec![
            "kernel.function(\"vfs_read\")".to_string(),
            "x y".to_string(),
            "\"unclosed".to_string()
        ]),
    ]
}

/// Cases per test: `STAPKIT_FUZZ_CASES`, or a short default.
fn cases(default: u32) -> u32 {
    std::env::var("STAPKIT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run(name: &str, default_cases: u32, strategy: impl Strategy<Value = (Vec<u8>, Vec<String>)>) {
    let count = AtomicU64::new(0);
    let clean = AtomicU64::new(0);
    let start = std::time::Instant::now();
    let config = Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |(bytes, args)| {
        count.fetch_add(1, Ordering::Relaxed);
        let ok = check_front_end(&bytes, &args).map_err(|e| {
            TestCaseError::fail(format!(
                "{e}\n--- input ---\n{}",
                String::from_utf8_lossy(&bytes)
            ))
        })?;
        if ok {
            clean.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    println!(
        "{name}: {} cases ({} without errors, round-tripped) in {:.1} s",
        count.load(Ordering::Relaxed),
        clean.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// The script corpus of the coverage-guided campaign (`cargo xtask fuzz
/// --target script`, kept in `fuzz/corpus/script/`), replayed with every
/// check above: CI runs the corpus, not the campaign.
#[test]
fn libfuzzer_corpus_replays() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/script");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo xtask fuzz --target script makes it)",
                dir.display()
            )
        })
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        if let Err(e) = check_front_end(&bytes, &[]) {
            panic!("{}: {e}", path.display());
        }
    }
    println!("libfuzzer_corpus_replays: {} inputs", files.len());
}

#[test]
fn mutated_fixtures() {
    let n = corpus().len();
    let strategy =
        (0..n, prop::collection::vec(mutation(), 1..8), args()).prop_map(|(i, mutations, args)| {
            let mut text = corpus()[i].clone();
            for m in &mutations {
                apply(&mut text, m);
            }
            (text, args)
        });
    run("mutated_fixtures", 3000, strategy);
}

#[test]
fn token_soup() {
    let strategy =
        (prop::collection::vec(0..FRAGMENTS.len(), 0..120), args()).prop_map(|(picks, args)| {
            let text: String = picks
                .iter()
                .map(|&i| FRAGMENTS[i])
                .collect::<Vec<_>>()
                .join(" ");
            (text.into_bytes(), args)
        });
    run("token_soup", 3000, strategy);
}

/// Random expressions from the grammar, as text. Operators are combined
/// without regard to precedence (the parser decides), so these stress the
/// printer's parenthesization; some combinations are rightly rejected.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("x".to_string()),
        Just("count".to_string()),
        Just("arr[k, 2]".to_string()),
        Just("0".to_string()),
        Just("18446744073709551615".to_string()),
        Just("0x7f".to_string()),
        Just("\"s\\t\\\"q\\\"\"".to_string()),
        Just("$var".to_string()),
        Just("$p->next->pid".to_string()),
        Just("$buf[3]$".to_string()),
        Just("$$parms$$".to_string()),
        Just("&$task->mm".to_string()),
        Just("@cast(p, \"struct file\")->f_pos".to_string()),
        Just("@var(\"jiffies\")".to_string()),
        Just("@count(s)".to_string()),
        Just("@variance(s, 2)".to_string()),
        Just("@hist_log(s)[3]".to_string()),
        Just("f()".to_string()),
        Just("%{ jiffies %}".to_string()),
        Just("@kregister(1)".to_string()),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let binop = prop_oneof![
            Just("||"),
            Just("&&"),
            Just("|"),
            Just("^"),
            Just("&"),
            Just("=="),
            Just("!="),
            Just("<"),
            Just("<="),
            Just(">"),
            Just(">="),
            Just("<<"),
            Just(">>"),
            Just(">>>"),
            Just("."),
            Just("+"),
            Just("-"),
            Just("*"),
            Just("/"),
            Just("%"),
        ];
        let assign = prop_oneof![
            Just("="),
            Just("+="),
            Just(".="),
            Just("<<<"),
            Just(">>="),
            Just("|=")
        ];
        let unop = prop_oneof![
            Just("-"),
            Just("+"),
            Just("!"),
            Just("~"),
            Just("- -"),
            Just("++"),
            Just("--")
        ];
        prop_oneof![
            (inner.clone(), binop, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            (inner.clone(), binop_paren(), inner.clone())
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            (unop, inner.clone()).prop_map(|(op, a)| format!("{op}{a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            inner.clone().prop_map(|a| format!("({a})++")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("{a} ? {b} : {c}")),
            (assign, inner.clone()).prop_map(|(op, a)| format!("y {op} {a}")),
            inner.clone().prop_map(|a| format!("{a} =~ \"^a.*\"")),
            inner.clone().prop_map(|a| format!("{a} in arr")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("[{a}, *, {b}] in arr")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("g({a}, {b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("printf(\"%d %s\\n\", {a}, {b})")),
            inner.clone().prop_map(|a| format!("arr[{a}, *]")),
            inner.clone().prop_map(|a| format!("@entry({a})")),
            inner.clone().prop_map(|a| format!("@defined({a})")),
            inner.clone().prop_map(|a| format!("@sum(stats[{a}])")),
            inner.clone().prop_map(|a| format!("({a})->field")),
            inner
                .clone()
                .prop_map(|a| format!("@cast({a}, \"t\")->f[1]")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("@choose_defined({a}, {b})")),
        ]
    })
}

fn binop_paren() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("+"),
        Just("."),
        Just("&&"),
        Just("<"),
        Just("*"),
        Just("&")
    ]
}

/// Random statements and probes built around [`expression`].
fn script() -> impl Strategy<Value = String> {
    let stmt = prop_oneof![
        expression(),
        (expression(), expression())
            .prop_map(|(c, e)| format!("if ({c}) {e} else if (z) {{ {e} }}")),
        (expression(), expression()).prop_map(|(c, e)| format!("while ({c}) {{ {e}; break }}")),
        (expression(), expression()).prop_map(|(c, e)| format!("for (i = 0; {c}; i++) {e}")),
        expression()
            .prop_map(|e| format!("foreach (v = [a, b-] in arr[*, 1] limit {e}) {{ next }}")),
        expression().prop_map(|e| format!("foreach (k in stats @sum-) {e}")),
        expression().prop_map(|e| format!("try {{ {e} }} catch (msg) {{ }}")),
        expression().prop_map(|e| format!("delete arr[{e}, *]")),
        Just(";".to_string()),
    ];
    prop::collection::vec(stmt, 1..6).prop_map(|stmts| {
        format!(
            "global arr, stats%[100], y = -5\nfunction g:long (a, b:string) {{ return a }}\nprobe kernel.function(\"f\").return?, syscall.{{open, close}} if (x) {{\n  {}\n}}\n",
            stmts.join("\n  ")
        )
    })
}

#[test]
fn generated_scripts() {
    run(
        "generated_scripts",
        1000,
        (script(), args()).prop_map(|(s, a)| (s.into_bytes(), a)),
    );
}

#[test]
fn random_bytes() {
    let strategy = (prop::collection::vec(any::<u8>(), 0..400), args());
    run("random_bytes", 1000, strategy);
}
