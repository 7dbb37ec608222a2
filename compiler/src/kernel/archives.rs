//! Where each distribution's package archives are: configuration, never
//! code or manifests. A manifest names an archive (`debian`,
//! `debian-security`, `ubuntu`, `ubuntu-ddebs`, `centos-stream`, ...) and
//! its suites; this module turns the name into a location.
//!
//! For each archive `NAME`, the first of these that is set wins:
//! 1. the environment variable `STAPKIT_ARCHIVE_NAME` (upper case, `-` as
//!    `_`: `STAPKIT_ARCHIVE_DEBIAN_SECURITY`);
//! 2. `NAME: VALUE` in `$XDG_CONFIG_HOME/stapkit/archives.yaml` (else
//!    `~/.config/stapkit/archives.yaml`);
//! 3. the machine's own apt sources (`kernel::apt_sources`), for the
//!    archives of the machine's own distribution (`/etc/os-release` `ID`):
//!    `ID` is the entry serving the machine's codename, `ID-security` the
//!    one serving `CODENAME-security`. Every suite of a distribution lives
//!    on the same archive, so a bookworm machine's sources also serve
//!    trixie and sid;
//! 4. `X-security` falls back to `X`'s location with `-security` appended
//!    (mirrors carry `/debian-security` beside `/debian`), and `X-debug`
//!    (an RPM distribution's `debug/tree` repositories) to `X`'s own
//!    location, where most mirrors keep them.
//!
//! The archives the manifests name, and what each URI must hold, are
//! listed in `docs/kernels.md`.
//!
//! A `VALUE` is a URI, optionally preceded by apt's options in brackets,
//! as in a sources.list line: `[signed-by=/path/key.gpg] http://host/debian`
//! (`trusted=yes` for an unsigned local repository).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::apt_sources;

/// One archive's resolved location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The archive root, without a trailing `/`.
    pub uri: String,
    /// apt options (`signed-by=...`, `trusted=yes`), as written.
    pub options: Vec<String>,
    /// Where the location was configured, for messages.
    pub from: String,
}

impl Location {
    /// `[OPTIONS] URI`, the way a sources.list line spells it.
    pub fn apt_prefix(&self) -> String {
        if self.options.is_empty() {
            self.uri.clone()
        } else {
            format!("[{}] {}", self.options.join(" "), self.uri)
        }
    }
}

/// An archive no configuration names, or a configuration that cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ArchiveError {
    /// Nothing says where `name` is; `holds` is a file under the archive's
    /// root that the reader wanted (`9-stream/BaseOS/x86_64/os/repodata/repomd.xml`),
    /// so the user knows which directory of a mirror to name.
    Unconfigured {
        name: String,
        config: PathBuf,
        holds: Option<String>,
    },
    /// A configuration value or file is malformed.
    Invalid { place: String, message: String },
}

impl fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArchiveError::Unconfigured {
                name,
                config,
                holds,
            } => {
                write!(
                    f,
                    "no location for the '{name}' archive: set {}=URI, or add '{name}: URI' to {}",
                    env_var(name),
                    config.display()
                )?;
                if let Some(holds) = holds {
                    write!(
                        f,
                        ", where URI is the root of the archive or of your mirror of it (URI/{holds} must exist)"
                    )?;
                }
                write!(
                    f,
                    " (this machine's apt sources name only its own distribution's archives)"
                )
            }
            ArchiveError::Invalid { place, message } => write!(f, "{place}: {message}"),
        }
    }
}

impl std::error::Error for ArchiveError {}

/// The environment variable that locates archive `name`.
pub fn env_var(name: &str) -> String {
    format!(
        "STAPKIT_ARCHIVE_{}",
        name.to_ascii_uppercase().replace(['-', '.'], "_")
    )
}

/// The configuration file: `$XDG_CONFIG_HOME/stapkit/archives.yaml`, else
/// `~/.config/stapkit/archives.yaml`.
pub fn config_path() -> PathBuf {
    let env = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("XDG_CONFIG_HOME")
        .or_else(|| env("HOME").map(|h| h.join(".config")))
        .unwrap_or_else(|| PathBuf::from("/etc"))
        .join("stapkit/archives.yaml")
}

/// Every source of archive locations, read once.
#[derive(Debug, Clone, Default)]
pub struct Archives {
    env: BTreeMap<String, String>,
    config: BTreeMap<String, String>,
    config_path: PathBuf,
    host: BTreeMap<String, Location>,
}

impl Archives {
    /// The environment, the configuration file and this machine's apt
    /// sources.
    pub fn load() -> Result<Archives, ArchiveError> {
        let env = std::env::vars()
            .filter(|(k, _)| k.starts_with("STAPKIT_ARCHIVE_"))
            .collect();
        let config_path = config_path();
        let config = match std::fs::read_to_string(&config_path) {
            Ok(text) => parse_config(&text).map_err(|message| ArchiveError::Invalid {
                place: config_path.display().to_string(),
                message,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(ArchiveError::Invalid {
                    place: config_path.display().to_string(),
                    message: e.to_string(),
                })
            }
        };
        let host = host_locations(Path::new("/etc/apt"), Path::new("/etc/os-release"));
        Ok(Archives {
            env,
            config,
            config_path,
            host,
        })
    }

    /// Archives from given parts (tests): `env` holds `STAPKIT_ARCHIVE_*`
    /// variables, `config` the file's text.
    pub fn from_parts(
        env: &[(&str, &str)],
        config: &str,
        host: BTreeMap<String, Location>,
    ) -> Result<Archives, ArchiveError> {
        Ok(Archives {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            config: parse_config(config).map_err(|message| ArchiveError::Invalid {
                place: "archives.yaml".into(),
                message,
            })?,
            config_path: PathBuf::from("archives.yaml"),
            host,
        })
    }

    /// Where archive `name` is.
    pub fn locate(&self, name: &str) -> Result<Location, ArchiveError> {
        let var = env_var(name);
        if let Some(value) = self.env.get(&var).filter(|v| !v.trim().is_empty()) {
            return parse_value(value, &var);
        }
        if let Some(value) = self.config.get(name) {
            let from = format!("{} ({name})", self.config_path.display());
            return parse_value(value, &from);
        }
        if let Some(location) = self.host.get(name) {
            return Ok(location.clone());
        }
        if let Some(base) = name.strip_suffix("-security") {
            if let Ok(mut location) = self.locate(base) {
                location.uri.push_str("-security");
                location.from = format!("{} with -security appended", location.from);
                return Ok(location);
            }
        }
        if let Some(base) = name.strip_suffix("-debug") {
            if let Ok(mut location) = self.locate(base) {
                location.from = format!("{} (the debug trees beside '{base}')", location.from);
                return Ok(location);
            }
        }
        Err(ArchiveError::Unconfigured {
            name: name.to_string(),
            config: self.config_path.clone(),
            holds: None,
        })
    }

    /// Where archive `name` is, for a reader that wants `holds` under its
    /// root: an unconfigured archive's error names that file.
    pub fn locate_holding(&self, name: &str, holds: &str) -> Result<Location, ArchiveError> {
        self.locate(name).map_err(|e| match e {
            ArchiveError::Unconfigured { name, config, .. } => ArchiveError::Unconfigured {
                name,
                config,
                holds: Some(holds.to_string()),
            },
            other => other,
        })
    }
}

/// `NAME: VALUE` lines (a YAML mapping of strings).
fn parse_config(text: &str) -> Result<BTreeMap<String, String>, String> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    super::manifest::check_yaml_shape(text)?;
    let map: Option<BTreeMap<String, String>> = serde_yaml::from_str(text).map_err(|e| {
        format!(
            "{e}; expected lines of 'ARCHIVE: URI' (e.g. 'debian: http://mirror.example/debian')"
        )
    })?;
    Ok(map.unwrap_or_default())
}

/// `[OPTIONS] URI` into a location.
fn parse_value(value: &str, from: &str) -> Result<Location, ArchiveError> {
    let value = value.trim();
    let invalid = |message: String| ArchiveError::Invalid {
        place: from.to_string(),
        message,
    };
    let (options, uri) = match value.strip_prefix('[') {
        Some(rest) => {
            let (options, uri) = rest
                .split_once(']')
                .ok_or_else(|| invalid(format!("'{value}' opens '[' without closing it")))?;
            (
                options.split_whitespace().map(str::to_string).collect(),
                uri.trim(),
            )
        }
        None => (Vec::new(), value),
    };
    if uri.contains(char::is_whitespace)
        || !(uri.starts_with("http://") || uri.starts_with("https://") || uri.starts_with("file:/"))
    {
        return Err(invalid(format!(
            "'{value}' is not '[OPTIONS] URI' with an http://, https:// or file:/ URI"
        )));
    }
    Ok(Location {
        uri: uri.trim_end_matches('/').to_string(),
        options,
        from: from.to_string(),
    })
}

/// The archives this machine's apt sources name: `ID` and `ID-security` of
/// its `/etc/os-release`, found by the suites they serve.
pub fn host_locations(etc_apt: &Path, os_release: &Path) -> BTreeMap<String, Location> {
    let mut out = BTreeMap::new();
    let Ok(os) = std::fs::read_to_string(os_release) else {
        return out;
    };
    let field = |key: &str| {
        os.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    };
    let (Some(id), Some(codename)) = (field("ID"), field("VERSION_CODENAME")) else {
        return out;
    };
    let entries = apt_sources::entries_under(etc_apt);
    for (name, suite) in [
        (id.clone(), codename.clone()),
        (format!("{id}-security"), format!("{codename}-security")),
    ] {
        if let Some((entry, file)) = entries.iter().find(|(e, _)| e.suites.contains(&suite)) {
            out.insert(
                name,
                Location {
                    uri: entry.uri.trim_end_matches('/').to_string(),
                    options: entry.options.clone(),
                    from: file.display().to_string(),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_beats_file_beats_host_and_security_is_derived() {
        let mut host = BTreeMap::new();
        host.insert(
            "debian".to_string(),
            Location {
                uri: "http://host.example/debian".into(),
                options: vec![],
                from: "/etc/apt/sources.list".into(),
            },
        );
        let a = Archives::from_parts(&[], "", host.clone()).unwrap();
        assert_eq!(
            a.locate("debian").unwrap().uri,
            "http://host.example/debian"
        );
        assert_eq!(
            a.locate("debian-security").unwrap().uri,
            "http://host.example/debian-security"
        );
        let a = Archives::from_parts(
            &[],
            "debian: \"[trusted=yes] http://127.0.0.1:8080/debian/\"\n",
            host.clone(),
        )
        .unwrap();
        let l = a.locate("debian").unwrap();
        assert_eq!(l.uri, "http://127.0.0.1:8080/debian");
        assert_eq!(l.options, ["trusted=yes"]);
        assert_eq!(l.apt_prefix(), "[trusted=yes] http://127.0.0.1:8080/debian");
        let a = Archives::from_parts(
            &[("STAPKIT_ARCHIVE_DEBIAN", "http://127.0.0.1:9/d")],
            "debian: http://127.0.0.1:8080/debian\n",
            host,
        )
        .unwrap();
        assert_eq!(a.locate("debian").unwrap().uri, "http://127.0.0.1:9/d");
        assert_eq!(a.locate("debian").unwrap().from, "STAPKIT_ARCHIVE_DEBIAN");
        // An RPM distribution's debug trees: beside its other trees unless
        // configured apart.
        for (config, want) in [
            ("", "file:/srv/mirror/rocky"),
            (
                "rocky-debug: file:/srv/mirror/debuginfo\n",
                "file:/srv/mirror/debuginfo",
            ),
        ] {
            let a = Archives::from_parts(
                &[("STAPKIT_ARCHIVE_ROCKY", "file:/srv/mirror/rocky")],
                config,
                BTreeMap::new(),
            )
            .unwrap();
            assert_eq!(a.locate("rocky-debug").unwrap().uri, want);
        }
    }

    #[test]
    fn unconfigured_and_bad_values_say_what_to_set() {
        let a = Archives::from_parts(&[], "", BTreeMap::new()).unwrap();
        let e = a.locate("ubuntu-ddebs").unwrap_err().to_string();
        assert!(
            e.contains("STAPKIT_ARCHIVE_UBUNTU_DDEBS=URI") && e.contains("'ubuntu-ddebs: URI'"),
            "{e}"
        );
        let e = a
            .locate_holding("rocky", "9/BaseOS/x86_64/os/repodata/repomd.xml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "no location for the 'rocky' archive: set STAPKIT_ARCHIVE_ROCKY=URI, or add 'rocky: URI' to \
             archives.yaml, where URI is the root of the archive or of your mirror of it \
             (URI/9/BaseOS/x86_64/os/repodata/repomd.xml must exist) (this machine's apt sources name \
             only its own distribution's archives)"
        );
        let a = Archives::from_parts(
            &[("STAPKIT_ARCHIVE_UBUNTU", "[trusted=yes http://x")],
            "",
            BTreeMap::new(),
        )
        .unwrap();
        let e = a.locate("ubuntu").unwrap_err().to_string();
        assert!(e.starts_with("STAPKIT_ARCHIVE_UBUNTU: "), "{e}");
        let e = Archives::from_parts(&[], "- a\n", BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("ARCHIVE: URI"), "{e}");
    }

    #[test]
    fn the_host_sources_give_the_host_distributions_archives() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sources.list.d")).unwrap();
        // A third-party entry with a suite without '-' comes first.
        std::fs::write(
            dir.path().join("sources.list.d/a-vendor.sources"),
            "Types: deb\nURIs: http://vendor.example/apt\nSuites: nodistro\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sources.list.d/debian.sources"),
            "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n\
             Signed-By: /k.gpg\n\nTypes: deb\nURIs: http://mirror.example/sec\nSuites: bookworm-security\n",
        )
        .unwrap();
        let os = dir.path().join("os-release");
        std::fs::write(&os, "ID=debian\nVERSION_CODENAME=bookworm\n").unwrap();
        let host = host_locations(dir.path(), &os);
        assert_eq!(host["debian"].uri, "http://mirror.example/debian");
        assert_eq!(host["debian"].options, ["signed-by=/k.gpg"]);
        assert_eq!(host["debian-security"].uri, "http://mirror.example/sec");
        assert!(host["debian"].from.ends_with("debian.sources"));
    }
}
