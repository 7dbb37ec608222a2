//! Deeply nested input never overflows the stack: every shape of nesting,
//! at depths just under and far over the parser's limit, is parsed,
//! printed and dumped on a thread with only 1 MiB of stack (the limit is
//! sized so that this holds even in debug builds). Over the limit there is
//! exactly one "nesting too deep" error.

use stapkit::diag::SourceMap;
use stapkit::syntax::{dump, parse, print, DumpConfig, PreprocessConfig};

fn nested(kind: &str, depth: usize) -> String {
    match kind {
        "parens" => format!(
            "probe begin {{ x = {}1{} }}",
            "(".repeat(depth),
            ")".repeat(depth)
        ),
        "unary" => format!("probe begin {{ x = {}1 }}", "- ".repeat(depth)),
        "blocks" => format!(
            "probe begin {{ {}{} }}",
            "{".repeat(depth),
            "}".repeat(depth)
        ),
        "ifs" => format!("probe begin {{ {} x = 1 }}", "if (a) ".repeat(depth)),
        "else_ifs" => format!(
            "probe begin {{ if (a) x = 1 {} }}",
            "else if (b) x = 2 ".repeat(depth)
        ),
        "ternaries" => format!("probe begin {{ x = {} 1 }}", "a ? b : ".repeat(depth)),
        "indices" => format!(
            "probe begin {{ x = {}1{} }}",
            "a[".repeat(depth),
            "]".repeat(depth)
        ),
        "calls" => format!(
            "probe begin {{ x = {}1{} }}",
            "f(".repeat(depth),
            ")".repeat(depth)
        ),
        "groups" => format!("probe {}b{} {{ }}", "a.{".repeat(depth), "}".repeat(depth)),
        "chain" => format!("probe begin {{ x = 1{} }}", " . 1".repeat(depth)),
        "assignments" => format!("probe begin {{ {} 1 }}", "x = ".repeat(depth)),
        "loops" => format!("probe begin {{ {} x = 1 }}", "while (a) ".repeat(depth)),
        _ => unreachable!("unknown kind"),
    }
}

const KINDS: [&str; 12] = [
    "parens",
    "unary",
    "blocks",
    "ifs",
    "else_ifs",
    "ternaries",
    "indices",
    "calls",
    "groups",
    "chain",
    "assignments",
    "loops",
];

/// Parses, prints and dumps `text` on a 1 MiB thread; returns the number of
/// errors and whether one says "nesting too deep".
fn run_small_stack(text: String) -> (usize, bool) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let mut map = SourceMap::new();
            let file = map.add("deep.stp", text);
            let parsed = parse(&map, file, &PreprocessConfig::default());
            let _ = print(&parsed.script);
            let _ = dump(&parsed.script, DumpConfig { spans: true });
            let errors = parsed.diagnostics.iter().filter(|d| d.is_error()).count();
            let too_deep = parsed
                .diagnostics
                .iter()
                .any(|d| d.message == "nesting too deep");
            (errors, too_deep)
        })
        .expect("spawn a thread")
        .join()
        .expect("parsing panicked")
}

#[test]
fn moderate_nesting_parses_without_errors() {
    for kind in KINDS {
        let (errors, _) = run_small_stack(nested(kind, 60));
        assert_eq!(errors, 0, "{kind} nested 60 deep");
    }
}

#[test]
fn excessive_nesting_is_one_clear_error() {
    for kind in KINDS {
        for depth in [300, 5000] {
            let (errors, too_deep) = run_small_stack(nested(kind, depth));
            assert!(
                too_deep && errors == 1,
                "{kind} nested {depth} deep: {errors} errors, too_deep={too_deep}"
            );
        }
    }
}
