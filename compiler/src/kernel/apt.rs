//! A private apt configuration: reads any Debian suite's package lists and
//! downloads `.deb` files without touching the machine's own apt sources.
//!
//! Everything apt keeps (sources, lists, its cache) lives under one
//! directory, passed to `apt-get`/`apt-cache` with `-o Dir::...` options.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::archives::{Archives, Location};
use super::manifest::AptSource;
use super::PrepError;

/// The `[OPTIONS] URI SUITE COMPONENTS` of each suite of `source`, its
/// archives located by `archives`. A location without options is checked
/// with its distribution's keyring (`/usr/share/keyrings/NAME-archive-keyring.gpg`
/// for archive `NAME` or `NAME-*`) when that is installed. Repositories
/// only for debug packages are left out unless `with_debug`.
pub fn source_lines(
    source: &AptSource,
    archives: &Archives,
    with_debug: bool,
) -> Result<Vec<String>, PrepError> {
    let mut lines = Vec::new();
    for repo in source
        .repositories
        .iter()
        .filter(|r| with_debug || !r.debug_only)
    {
        let mut location: Location = archives.locate(&repo.archive)?;
        if location.options.is_empty() {
            let distro = repo.archive.split('-').next().unwrap_or(&repo.archive);
            let keyring = format!("/usr/share/keyrings/{distro}-archive-keyring.gpg");
            if Path::new(&keyring).is_file() {
                location.options.push(format!("signed-by={keyring}"));
            }
        }
        for suite in &repo.suites {
            lines.push(format!(
                "{} {suite} {}",
                location.apt_prefix(),
                repo.components.join(" ")
            ));
        }
    }
    Ok(lines)
}

/// apt pointed at one directory of its own.
#[derive(Debug, Clone)]
pub struct PrivateApt {
    dir: PathBuf,
    architecture: String,
    /// Further architectures whose packages are listed too (the build
    /// host's, for a foreign series: its `linux-kbuild-*` runs here).
    foreign: Vec<String>,
}

/// What `apt-cache show` says about one package.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageInfo {
    /// Package name.
    pub name: String,
    /// Candidate version.
    pub version: String,
    /// Names of the packages it depends on (alternatives flattened, version
    /// constraints dropped).
    pub depends: Vec<String>,
    /// Size of the `.deb` in bytes.
    pub size: u64,
    /// The package's architecture (`amd64`, `arm64`, `all`).
    pub architecture: String,
    /// Whether it was asked for as `NAME:ARCH` (another architecture than
    /// the configuration's own).
    pub qualified: bool,
    /// SHA-256 of the `.deb`, as the archive's index lists it.
    pub sha256: String,
}

impl PackageInfo {
    /// `NAME:ARCH` for a package of another architecture, else `NAME`.
    pub fn qualified_name(&self) -> String {
        if self.qualified {
            format!("{}:{}", self.name, self.architecture)
        } else {
            self.name.clone()
        }
    }
}

impl PrivateApt {
    /// Writes the sources list for `source` under `dir` (created if
    /// needed), its archives located by `archives`.
    pub fn new(
        dir: &Path,
        source: &AptSource,
        archives: &Archives,
        with_debug: bool,
    ) -> Result<PrivateApt, PrepError> {
        let io = |error| PrepError::Io {
            path: dir.to_path_buf(),
            error,
        };
        for sub in ["etc", "lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(io)?;
        }
        let mut list = String::new();
        for line in source_lines(source, archives, with_debug)? {
            list.push_str(&format!("deb {line}\n"));
        }
        std::fs::write(dir.join("etc/sources.list"), list).map_err(io)?;
        let host = super::arch::host_debian();
        Ok(PrivateApt {
            dir: dir.to_path_buf(),
            architecture: source.architecture.clone(),
            foreign: if source.architecture == host {
                Vec::new()
            } else {
                vec![host.to_string()]
            },
        })
    }

    /// The build host's Debian architecture when it differs from the
    /// series' (`amd64` for an arm64 series here): packages that run on the
    /// build host are fetched as `NAME:ARCH` of it.
    pub fn host_architecture(&self) -> Option<&str> {
        self.foreign.first().map(String::as_str)
    }

    fn options(&self) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("-oDir::Etc::SourceList={d}/etc/sources.list"),
            "-oDir::Etc::SourceParts=/dev/null".to_string(),
            format!("-oDir::State::Lists={d}/lists"),
            format!("-oDir::Cache={d}/cache"),
            format!("-oAPT::Architecture={}", self.architecture),
            format!(
                "-oAPT::Architectures={}",
                std::iter::once(&self.architecture)
                    .chain(&self.foreign)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            "-oAPT::Sandbox::User=root".to_string(),
            "-oDebug::NoLocking=1".to_string(),
            "-qq".to_string(),
        ]
    }

    fn run(&self, tool: &str, args: &[&str], cwd: Option<&Path>) -> Result<String, PrepError> {
        let mut cmd = Command::new(tool);
        cmd.args(self.options()).args(args).env("LC_ALL", "C");
        if let Some(cwd) = cwd {
            cmd.current_dir(cwd);
        }
        let out = cmd.output().map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => PrepError::ToolMissing {
                tool: tool.to_string(),
                why: "stap-prep fetches Debian kernel packages with apt",
            },
            _ => PrepError::Io {
                path: PathBuf::from(tool),
                error,
            },
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(PrepError::Apt {
                command: format!("{tool} {}", args.join(" ")),
                message: first_apt_error(&stderr),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Downloads the package lists; fails if any suite cannot be read.
    pub fn update(&self) -> Result<(), PrepError> {
        self.run("apt-get", &["--error-on=any", "update"], None)
            .map(drop)
    }

    /// Names of all known packages starting with `prefix`.
    pub fn package_names(&self, prefix: &str) -> Result<Vec<String>, PrepError> {
        let out = self.run("apt-cache", &["pkgnames", prefix], None)?;
        Ok(out.lines().map(str::to_string).collect())
    }

    /// The candidate version and dependencies of each named package.
    pub fn show(&self, names: &[String]) -> Result<Vec<PackageInfo>, PrepError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec!["show", "--no-all-versions"];
        args.extend(names.iter().map(String::as_str));
        let out = self.run("apt-cache", &args, None)?;
        Ok(parse_show(&out))
    }

    /// Downloads `name[:arch]=version` into `dest`, returning the `.deb`'s path.
    pub fn download(&self, pkg: &PackageInfo, dest: &Path) -> Result<PathBuf, PrepError> {
        let spec = format!("{}={}", pkg.qualified_name(), pkg.version);
        self.run("apt-get", &["download", &spec], Some(dest))?;
        let prefix = format!("{}_", pkg.name);
        let found = std::fs::read_dir(dest)
            .map_err(|error| PrepError::Io {
                path: dest.to_path_buf(),
                error,
            })?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with(&prefix) && name.ends_with(".deb")
            });
        found.ok_or_else(|| PrepError::Apt {
            command: format!("apt-get download {spec}"),
            message: "apt reported success but wrote no .deb".to_string(),
        })
    }
}

/// The most useful line of apt's error output.
fn first_apt_error(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("E:"))
        .or_else(|| stderr.lines().find(|l| l.starts_with("W:")))
        .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("no message");
    let line = line
        .trim_start_matches("E:")
        .trim_start_matches("W:")
        .trim();
    if line.contains("Temporary failure resolving") || line.contains("Could not resolve") {
        format!("no network: {line}")
    } else {
        line.to_string()
    }
}

/// Parses `apt-cache show` stanzas.
pub fn parse_show(text: &str) -> Vec<PackageInfo> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |key: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(": ")))
                .map(str::to_string)
        };
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else {
            continue;
        };
        let depends = field("Depends")
            .map(|d| {
                d.split([',', '|'])
                    .filter_map(|alt| alt.split_whitespace().next())
                    .map(|n| n.split(':').next().unwrap_or(n).to_string())
                    .collect()
            })
            .unwrap_or_default();
        let size = field("Size").and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push(PackageInfo {
            name,
            version,
            depends,
            size,
            architecture: field("Architecture").unwrap_or_default(),
            qualified: false,
            sha256: field("SHA256").unwrap_or_default(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_show_stanzas() {
        let text = "Package: linux-headers-6.1.0-56-amd64\nVersion: 6.1.192-2\n\
            Depends: linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86\n\
            Architecture: amd64\nSize: 1841552\n\nPackage: linux-headers-7.2.13+deb14-amd64\nVersion: 7.2.13-1\n\
            Depends: gcc-16-for-host, linux-image-a (= 1) | linux-image-b:amd64 (= 1)\n";
        let pkgs = parse_show(text);
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].version, "6.1.192-2");
        assert_eq!(pkgs[0].size, 1841552);
        assert_eq!(pkgs[0].architecture, "amd64");
        assert_eq!(pkgs[0].qualified_name(), "linux-headers-6.1.0-56-amd64");
        let foreign = PackageInfo {
            qualified: true,
            ..pkgs[0].clone()
        };
        assert_eq!(
            foreign.qualified_name(),
            "linux-headers-6.1.0-56-amd64:amd64"
        );
        assert_eq!(
            pkgs[0].depends,
            [
                "linux-headers-6.1.0-56-common",
                "linux-kbuild-6.1",
                "linux-compiler-gcc-12-x86"
            ]
        );
        assert_eq!(
            pkgs[1].depends,
            ["gcc-16-for-host", "linux-image-a", "linux-image-b"]
        );
    }

    #[test]
    fn apt_errors_become_one_line() {
        let stderr = "W: Some index files failed\nE: Failed to fetch http://x/InRelease  Temporary failure resolving 'x'\n";
        assert_eq!(
            first_apt_error(stderr),
            "no network: Failed to fetch http://x/InRelease  Temporary failure resolving 'x'"
        );
        assert_eq!(
            first_apt_error("E: Unable to locate package foo\n"),
            "Unable to locate package foo"
        );
    }
}

#[cfg(test)]
mod source_line_tests {
    use super::*;

    #[test]
    fn manifests_archives_become_configured_lines() {
        let catalog = crate::kernel::Catalog::builtin().unwrap();
        let m = catalog.get("debian-6.1-amd64").unwrap();
        let crate::kernel::manifest::Source::Apt(source) = &m.source else {
            panic!("apt manifest")
        };
        let archives = Archives::from_parts(
            &[(
                "STAPKIT_ARCHIVE_DEBIAN",
                "[trusted=yes] http://127.0.0.1:1/debian",
            )],
            "",
            Default::default(),
        )
        .unwrap();
        assert_eq!(
            source_lines(source, &archives, false).unwrap(),
            [
                "[trusted=yes] http://127.0.0.1:1/debian bookworm main",
                "[trusted=yes] http://127.0.0.1:1/debian bookworm-updates main",
                "[trusted=yes] http://127.0.0.1:1/debian-security bookworm-security main",
            ]
        );
    }
}
