//! The C runtime (`runtime-c/`), embedded in the binary so one `stap`
//! executable is the whole translator.

use std::path::PathBuf;

use include_dir::{include_dir, Dir, DirEntry};

static RUNTIME: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../runtime-c");

/// The runtime's C sources and headers, as `runtime/PATH` build-directory
/// files. The per-tree feature header `runtime/stp_features.h` that
/// `stapkit.h` includes comes from `kernel::features`.
pub fn files() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    collect(&RUNTIME, &mut out);
    out.sort();
    out
}

fn collect(dir: &Dir<'_>, out: &mut Vec<(PathBuf, String)>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => collect(d, out),
            DirEntry::File(f) => {
                let path = f.path();
                let is_c = path.extension().is_some_and(|e| e == "c" || e == "h");
                // The runtime's user-space tests and the feature probes are
                // not part of a module.
                if is_c && !path.starts_with("test") && !path.starts_with("features") {
                    if let Some(text) = f.contents_utf8() {
                        out.push((PathBuf::from("runtime").join(path), text.to_string()));
                    }
                }
            }
        }
    }
}

/// The tapset library shipped with the runtime: `(name, text)` of every
/// `runtime-c/tapset/*.stp`, sorted by name.
pub fn tapsets() -> Vec<(String, &'static str)> {
    tapset_files("stp")
}

/// The library macro files shipped with the runtime: `(name, text)` of
/// every `runtime-c/tapset/*.stpm`, sorted by name.
pub fn tapset_macros() -> Vec<(String, &'static str)> {
    tapset_files("stpm")
}

fn tapset_files(extension: &str) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = RUNTIME
        .get_dir("tapset")
        .map(|d| {
            d.files()
                .filter(|f| f.path().extension().is_some_and(|e| e == extension))
                .filter_map(|f| {
                    Some((
                        format!("<tapset>/{}", f.path().file_name()?.to_str()?),
                        f.contents_utf8()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_has_its_umbrella_header_and_core() {
        let files = files();
        let names: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        assert!(
            names.contains(&"runtime/stapkit.h".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"runtime/core/transport.c".to_string()),
            "{names:?}"
        );
        assert!(!names.iter().any(|n| n.contains("features")), "{names:?}");
        assert!(!names.iter().any(|n| n.ends_with(".stp")), "{names:?}");
    }

    #[test]
    fn tapsets_are_embedded() {
        let names: Vec<String> = tapsets().into_iter().map(|(n, _)| n).collect();
        assert!(
            names.contains(&"<tapset>/control.stp".to_string()),
            "{names:?}"
        );
    }
}
