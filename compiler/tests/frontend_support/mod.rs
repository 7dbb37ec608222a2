//! Helpers shared by the front-end test targets (`parse.rs`,
//! `fuzz_frontend.rs`): fixture configuration headers, the span-invariant
//! check and the print/re-parse round trip.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use stapkit::diag::{render_all, SourceMap};
use stapkit::syntax::{self, dump, print, DumpConfig, Parsed, PreprocessConfig, Privilege};
use stapkit::text::header::{split_words, Quoting};
use stapkit::{codegen, sema};

/// The `.stp` files of a fixture directory, sorted by name.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "stp"))
        .collect();
    files.sort();
    files
}

/// The preprocessor configuration a fixture asks for in `//@ key: value`
/// header lines (`args` split at spaces, `'...'` grouping; `arch`, `kernel`, `guru`, `privilege`,
/// `systemtap`, `config NAME=VALUE`); otherwise the default.
pub fn fixture_config(text: &str) -> PreprocessConfig {
    let mut cfg = PreprocessConfig::default();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("//@ ") else {
            continue;
        };
        let (key, value) = rest.split_once(':').unwrap_or((rest, ""));
        let value = value.trim();
        match key.trim() {
            "args" => {
                cfg.args = split_words(value, Quoting::SINGLE)
                    .unwrap_or_else(|e| panic!("//@ args: {value}: {e}"))
            }
            "arch" => cfg.arch = value.to_string(),
            "kernel" => {
                cfg.kernel_release = value.to_string();
                cfg.kernel_version = PreprocessConfig::base_version(value).to_string();
            }
            "guru" => cfg.guru = value == "true",
            "systemtap" => cfg.systemtap_version = value.to_string(),
            "privilege" => {
                cfg.privilege = match value {
                    "stapusr" => Privilege::StapUsr,
                    "stapsys" => Privilege::StapSys,
                    _ => Privilege::StapDev,
                }
            }
            "config" => {
                let (k, v) = value.split_once('=').unwrap_or((value, ""));
                cfg.kernel_config.insert(k.to_string(), v.to_string());
            }
            other => panic!("unknown fixture header '{other}'"),
        }
    }
    cfg
}

/// Parses `text` as file `name` with `cfg`.
pub fn parse_text(name: &str, text: &str, cfg: &PreprocessConfig) -> (SourceMap, Parsed) {
    let mut map = SourceMap::new();
    let file = map.add(name, text);
    let parsed = syntax::parse(&map, file, cfg);
    (map, parsed)
}

/// Checks every span in `parsed` (via its dump): inside the file, non-empty
/// (except an empty script), and inside the span of the enclosing node.
pub fn check_spans(parsed: &Parsed, file_len: usize) -> Result<(), String> {
    let text = dump(&parsed.script, DumpConfig { spans: true });
    // (depth, start, end) of the enclosing nodes that have spans.
    let mut stack: Vec<(usize, usize, usize)> = Vec::new();
    for line in text.lines() {
        let depth = (line.len() - line.trim_start().len()) / 2;
        while stack.last().is_some_and(|&(d, _, _)| d >= depth) {
            stack.pop();
        }
        let Some((_, span)) = line.rsplit_once(" @") else {
            continue;
        };
        let (start, end) = span
            .split_once("..")
            .ok_or_else(|| format!("bad span in {line:?}"))?;
        let (start, end): (usize, usize) = (
            start.parse().map_err(|_| line.to_string())?,
            end.parse().map_err(|_| line.to_string())?,
        );
        if start > end || end > file_len {
            return Err(format!("span out of the file ({file_len} bytes): {line}"));
        }
        if start == end && depth > 0 {
            return Err(format!("empty span: {line}"));
        }
        if let Some(&(_, ps, pe)) = stack.last() {
            if start < ps || end > pe {
                return Err(format!(
                    "span {start}..{end} not inside its parent {ps}..{pe}: {line}\n{text}"
                ));
            }
        }
        stack.push((depth, start, end));
    }
    Ok(())
}

/// Prints the tree, re-parses the print, and checks that the trees match
/// (ignoring spans), that the re-parse has no errors, and that printing is
/// idempotent. Returns the printed text.
pub fn check_roundtrip(parsed: &Parsed) -> Result<String, String> {
    let printed = print(&parsed.script);
    let (map, again) = parse_text("<printed>", &printed, &PreprocessConfig::default());
    if again.has_errors() {
        return Err(format!(
            "printed text does not parse:\n{}\n--- printed ---\n{printed}",
            render_all(&map, &again.diagnostics)
        ));
    }
    let before = dump(&parsed.script, DumpConfig::default());
    let after = dump(&again.script, DumpConfig::default());
    if before != after {
        return Err(format!("tree changed by print + parse\n--- printed ---\n{printed}\n--- before ---\n{before}\n--- after ---\n{after}"));
    }
    let reprinted = print(&again.script);
    if reprinted != printed {
        return Err(format!(
            "printing is not idempotent\n--- first ---\n{printed}\n--- second ---\n{reprinted}"
        ));
    }
    Ok(printed)
}

/// The tapset library, parsed once per process for [`check_front_end`]
/// (its library macros, the `.stpm` files, included as the driver
/// includes them), and the preprocessor configuration it was parsed
/// with.
pub struct FrontEnd {
    pub library: sema::PreparedLibrary,
    pub cfg: PreprocessConfig,
}

impl FrontEnd {
    /// Loads the library macros and the library as `stap` does without
    /// `-I` or a kernel.
    pub fn new() -> FrontEnd {
        let mut map = SourceMap::new();
        let mut cfg = PreprocessConfig::default();
        let (macros, _) = sema::library_macros(&mut map, &[], &cfg);
        cfg.library_macros = macros;
        let library = sema::PreparedLibrary::new(&map, &[], &cfg);
        FrontEnd { library, cfg }
    }

    /// The one of this process.
    pub fn shared() -> &'static FrontEnd {
        static SHARED: std::sync::OnceLock<FrontEnd> = std::sync::OnceLock::new();
        SHARED.get_or_init(FrontEnd::new)
    }
}

/// Runs the whole front end on `bytes` with script arguments `args`;
/// returns whether it parsed without errors (so the round trip was
/// checked), or a failure description. The tapset library is parsed once
/// per process ([`FrontEnd::shared`]); with `args` it is parsed again for
/// each input, as its preprocessor configuration differs.
pub fn check_front_end(bytes: &[u8], args: &[String]) -> Result<bool, String> {
    let front = FrontEnd::shared();
    let mut map = front.library.source_map();
    let file = map.add_bytes("fuzz.stp", bytes);
    let len = map.text(file).len();
    let cfg = PreprocessConfig {
        args: args.to_vec(),
        ..front.cfg.clone()
    };
    let parsed = syntax::parse(&map, file, &cfg);
    let _ = render_all(&map, &parsed.diagnostics);
    let _ = dump(&parsed.script, DumpConfig { spans: true });
    let _ = syntax::print(&parsed.script);
    if parsed
        .diagnostics
        .iter()
        .any(|d| d.message.starts_with("internal error"))
    {
        return Err("the parser stopped making progress".to_string());
    }
    check_spans(&parsed, len)?;
    if parsed.has_errors() {
        return Ok(false);
    }
    check_roundtrip(&parsed)?;
    let config = sema::Config {
        preprocess: cfg,
        ..Default::default()
    };
    let analysis = sema::analyze_prepared(&mut map, &parsed.script, &config, &front.library);
    let _ = render_all(&map, &analysis.diagnostics);
    if let Some(program) = analysis.program {
        let _ = sema::listing(&program);
        let config = codegen::Config {
            module_name: "fuzz".into(),
            script_name: "fuzz.stp".into(),
        };
        let _ = codegen::generate(&program, &config);
    }
    Ok(true)
}
