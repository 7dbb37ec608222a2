//! The machine's own apt sources, read (never changed) to learn which
//! Debian archive it uses: archive hosts are configuration, so tools that
//! need an archive (mmdebstrap roots) take the host's rather than a name
//! written into the code.
//!
//! Both formats are read: one-line `deb URI SUITE COMPONENTS...` files
//! (`sources.list`, `sources.list.d/*.list`) and deb822 stanzas
//! (`sources.list.d/*.sources`).

use std::path::Path;

/// One `deb` entry: where, and which suites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The archive's URI, as written.
    pub uri: String,
    /// Its suites.
    pub suites: Vec<String>,
    /// apt options (`signed-by=/path`, `trusted=yes`), one-line spelling.
    pub options: Vec<String>,
}

/// The `deb` entries of a one-line format file.
pub fn one_line_entries(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut words = line.split_whitespace();
            if words.next() != Some("deb") {
                return None;
            }
            // Options such as `[signed-by=...]` come before the URI.
            let mut word = words.next()?;
            let mut options = Vec::new();
            if let Some(first) = word.strip_prefix('[') {
                word = first;
                loop {
                    let (option, closed) = match word.strip_suffix(']') {
                        Some(o) => (o, true),
                        None => (word, false),
                    };
                    if !option.is_empty() {
                        options.push(option.to_string());
                    }
                    word = words.next()?;
                    if closed {
                        break;
                    }
                }
            }
            let suite = words.next()?;
            Some(Entry {
                uri: word.to_string(),
                suites: vec![suite.to_string()],
                options,
            })
        })
        .collect()
}

/// The `deb` entries of a deb822 `.sources` file.
pub fn deb822_entries(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| -> Vec<String> {
            stanza
                .lines()
                .filter(|l| !l.starts_with('#'))
                .find_map(|l| {
                    let (key, value) = l.split_once(':')?;
                    key.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| value.split_whitespace().map(str::to_string).collect())
                })
                .unwrap_or_default()
        };
        if field("Enabled").first().map(String::as_str) == Some("no")
            || !field("Types").iter().any(|t| t == "deb")
        {
            continue;
        }
        let suites = field("Suites");
        let mut options = Vec::new();
        for (key, option) in [("Signed-By", "signed-by"), ("Trusted", "trusted")] {
            if let Some(value) = field(key).first() {
                options.push(format!("{option}={value}"));
            }
        }
        for uri in field("URIs") {
            entries.push(Entry {
                uri,
                suites: suites.clone(),
                options: options.clone(),
            });
        }
    }
    entries
}

/// The first archive among `entries` serving a release suite (not a
/// `-security` or `-updates` one), without its trailing `/`.
pub fn archive(entries: &[Entry]) -> Option<String> {
    entries
        .iter()
        .find(|e| {
            e.suites
                .iter()
                .any(|s| !s.contains('-') && !s.contains('/'))
        })
        .map(|e| e.uri.trim_end_matches('/').to_string())
}

/// The Debian archive this machine's apt uses, from `/etc/apt`.
pub fn host_archive() -> Result<String, String> {
    archive_under(Path::new("/etc/apt"))
}

/// The archive of the apt configuration under `etc_apt`.
pub fn archive_under(etc_apt: &Path) -> Result<String, String> {
    let entries: Vec<Entry> = entries_under(etc_apt).into_iter().map(|(e, _)| e).collect();
    archive(&entries).ok_or_else(|| {
        format!(
            "no Debian archive in this machine's apt sources ({}/sources.list, {}/sources.list.d): \
             add the archive you use there",
            etc_apt.display(),
            etc_apt.display()
        )
    })
}

/// Every `deb` entry of the apt configuration under `etc_apt`, with the
/// file it is written in, in apt's order.
pub fn entries_under(etc_apt: &Path) -> Vec<(Entry, std::path::PathBuf)> {
    let mut entries = Vec::new();
    let list = etc_apt.join("sources.list");
    if let Ok(text) = std::fs::read_to_string(&list) {
        entries.extend(
            one_line_entries(&text)
                .into_iter()
                .map(|e| (e, list.clone())),
        );
    }
    let mut files: Vec<_> = std::fs::read_dir(etc_apt.join("sources.list.d"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let found = match file.extension().and_then(|e| e.to_str()) {
            Some("list") => one_line_entries(&text),
            Some("sources") => deb822_entries(&text),
            _ => Vec::new(),
        };
        entries.extend(found.into_iter().map(|e| (e, file.clone())));
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_files_skip_options_comments_and_deb_src() {
        let text = "# deb http://old.example/debian buster main\n\
                    deb-src http://src.example/debian bookworm main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n";
        let entries = one_line_entries(text);
        assert_eq!(
            entries,
            vec![Entry {
                uri: "http://mirror.example/debian/".into(),
                suites: vec!["bookworm".into()],
                options: vec!["arch=amd64".into(), "signed-by=/k.gpg".into()],
            }]
        );
        assert_eq!(
            archive(&entries).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn deb822_stanzas_give_the_release_archive_not_security() {
        let text = "Types: deb\nURIs: http://security.example/debian-security\n\
                    Suites: bookworm-security\nComponents: main\n\n\
                    Types: deb deb-src\n# a comment\nURIs: http://mirror.example/debian\n\
                    Suites: bookworm bookworm-updates\nComponents: main\n\n\
                    Types: deb\nEnabled: no\nURIs: http://off.example/debian\nSuites: sid\n";
        let entries = deb822_entries(text);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            archive(&entries).as_deref(),
            Some("http://mirror.example/debian")
        );
    }

    #[test]
    fn a_configuration_without_an_archive_is_an_error_naming_where_to_look() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sources.list.d")).unwrap();
        std::fs::write(
            dir.path().join("sources.list.d/x.sources"),
            "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n",
        )
        .unwrap();
        let e = archive_under(dir.path()).unwrap_err();
        assert!(e.contains("sources.list.d"), "{e}");
        std::fs::write(
            dir.path().join("sources.list"),
            "deb http://mirror.example/debian bookworm main\n",
        )
        .unwrap();
        assert_eq!(
            archive_under(dir.path()).unwrap(),
            "http://mirror.example/debian"
        );
    }
}
