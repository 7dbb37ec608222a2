//! Kernel manifests: the YAML files under `kernels/` that name a kernel
//! *series* (not one package version) and say where its packages come from.
//!
//! The manifests shipped with stapkit are embedded in the binary; a directory
//! named by `STAPKIT_KERNELS` (or `--kernels DIR`) is read instead when set.
//! Manifests name archives, suites, components and packages, never an
//! archive's host: that is configuration (`kernel::archives`).

use std::fmt;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};
use serde::Deserialize;

static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../kernels");

/// One target kernel series, as described by `kernels/NAME.yaml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The name users pass to `-r` and `stap-prep`, e.g. `debian-6.1-amd64`.
    pub name: String,
    /// One line for listings.
    pub description: String,
    /// Distribution family (`debian`, `ubuntu`, `centos`, ...).
    pub distro: String,
    /// Kernel series, `MAJOR.MINOR`.
    pub series: String,
    /// Kernel architecture (`x86_64`, `arm64` in the file).
    pub arch: crate::arch::Arch,
    /// Where the packages come from.
    pub source: Source,
    /// The compiler the kernel was built with, and where it runs.
    pub toolchain: Toolchain,
}

/// A package source for a kernel series.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Source {
    /// A Debian-style archive (Debian, Ubuntu): `.deb` packages fetched with apt.
    Apt(AptSource),
    /// An RPM repository (CentOS, RHEL, Fedora): `kernel-devel` packages.
    Rpm(RpmSource),
}

/// An apt archive and the package names of one kernel series in it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AptSource {
    /// Debian architecture of the packages (`amd64`, `arm64`).
    pub architecture: String,
    /// Archive locations and the suites to read from each.
    pub repositories: Vec<AptRepository>,
    /// Release pattern; `*` stands for one component without `-`.
    pub release: String,
    /// Header packages (`{release}` is substituted). Their dependencies named
    /// `linux-headers-*` and `linux-kbuild-*` are fetched with them.
    pub headers: Vec<String>,
    /// The package carrying the bootable kernel image.
    pub image: String,
    /// The package carrying the debug vmlinux (fetched only on request).
    #[serde(default)]
    pub debug: Option<String>,
    /// The package carrying the kernel's modules (`kernel/**/*.ko*`),
    /// fetched only when a test guest needs some; the image package when
    /// absent (7.x moved them to `linux-modules-*`).
    #[serde(default)]
    pub modules: Option<String>,
    /// The package carrying a static busybox of this architecture
    /// (`busybox-static`), fetched with the image for the test guest's
    /// initramfs: a foreign architecture's guest cannot use the host's
    /// `/bin/busybox`.
    #[serde(default)]
    pub busybox: Option<String>,
}

/// One apt repository line (`deb URI SUITE COMPONENTS`) per suite. The
/// manifest names the archive (`debian`, `debian-security`, `ubuntu`);
/// where it is, is configuration (`kernel::archives`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AptRepository {
    /// The archive's name, located by `kernel::archives`.
    pub archive: String,
    /// Suites read from this archive.
    pub suites: Vec<String>,
    /// Archive components; `main` when absent.
    #[serde(default = "default_components")]
    pub components: Vec<String>,
    /// Read only when the debug package is fetched (Ubuntu's ddebs
    /// archive, which a user without `--debug` need not configure).
    #[serde(default)]
    pub debug_only: bool,
}

fn default_components() -> Vec<String> {
    vec!["main".to_string()]
}

/// RPM repositories and the package names of one kernel series. Packages
/// are named without their version (`kernel-devel`); a package's release
/// (`uname -r`) is `VERSION-RELEASE.ARCH` of its RPM header.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RpmSource {
    /// Repositories: an archive (located by `kernel::archives`) and the
    /// repository directories under it (each holding `repodata/`).
    pub repositories: Vec<RpmRepository>,
    /// Release pattern, e.g. `5.14.0-*.el9.x86_64` (CentOS Stream),
    /// `5.14.0-*.el9_*.x86_64` (RHEL's point releases), `6.17.*-*.fc43.x86_64`.
    pub release: String,
    /// Header packages, e.g. `kernel-devel`.
    pub headers: Vec<String>,
    /// The package carrying the kernel image (`kernel-core`, `kernel`).
    pub image: String,
    /// The package carrying debug info (`kernel-debuginfo`).
    #[serde(default)]
    pub debug: Option<String>,
}

/// Repository directories of one RPM archive.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RpmRepository {
    /// The archive's name, located by `kernel::archives`.
    pub archive: String,
    /// Directories under the archive root, e.g. `9-stream/AppStream/x86_64/os`.
    pub paths: Vec<String>,
    /// Read only when the debug package is fetched (the distributions'
    /// `debug/tree` repositories, which a user without `--debug` need not
    /// configure).
    #[serde(default)]
    pub debug_only: bool,
}

/// The compiler a kernel series wants, and where to get it when the host
/// cannot run it (see `kernel::toolchain`). The packages are for an x86-64
/// (amd64) build host: a series of another architecture lists its Debian
/// cross compiler (`gcc-12-aarch64-linux-gnu`, see `kernel::arch`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Toolchain {
    /// Compiler command, e.g. `gcc-12` (the tree's `CONFIG_CC_VERSION_TEXT`
    /// may spell it with a target prefix, `x86_64-linux-gnu-gcc-14`).
    pub compiler: String,
    /// Debian suite whose minimal root provides the compiler and a glibc the
    /// tree's kbuild host tools run with (absent: host only).
    #[serde(default)]
    pub suite: Option<String>,
    /// Packages installed into that root: the compiler, make, libc6-dev and
    /// the libraries of the kbuild host tools (`pahole` for module BTF).
    #[serde(default)]
    pub packages: Vec<String>,
}

impl Manifest {
    /// The package that provides the compiler on this host: `compiler`
    /// itself for a native series, its Debian cross compiler
    /// (`gcc-12-aarch64-linux-gnu`) for a foreign one.
    pub fn compiler_package(&self) -> String {
        match super::arch::cross_compile(self.arch) {
            Some(_) => super::arch::cross_compiler_package(&self.toolchain.compiler, self.arch),
            None => self.toolchain.compiler.clone(),
        }
    }
}

impl AptSource {
    /// The header package names for a resolved release.
    pub fn header_packages(&self, release: &str) -> Vec<String> {
        self.headers
            .iter()
            .map(|p| p.replace("{release}", release))
            .collect()
    }

    /// The image package name for a resolved release.
    pub fn image_package(&self, release: &str) -> String {
        self.image.replace("{release}", release)
    }

    /// The package carrying the modules for a resolved release.
    pub fn modules_package(&self, release: &str) -> String {
        self.modules
            .as_deref()
            .unwrap_or(&self.image)
            .replace("{release}", release)
    }

    /// The debug package name for a resolved release, if the series has one.
    pub fn debug_package(&self, release: &str) -> Option<String> {
        self.debug.as_ref().map(|p| p.replace("{release}", release))
    }
}

/// A manifest that could not be found or read.
#[derive(Debug)]
pub enum ManifestError {
    /// No manifest has that name.
    Unknown { name: String, known: Vec<String> },
    /// A manifest file is not valid YAML of the expected shape.
    Invalid { file: String, message: String },
    /// The manifest directory could not be read.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestError::Unknown { name, known } => {
                write!(
                    f,
                    "unknown kernel '{name}'; known kernels: {}",
                    known.join(", ")
                )
            }
            ManifestError::Invalid { file, message } => {
                write!(f, "invalid kernel manifest {file}: {message}")
            }
            ManifestError::Io { path, error } => {
                write!(
                    f,
                    "cannot read kernel manifests in {}: {error}",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for ManifestError {}

/// The lock file built into this binary (`kernels/kernels.lock`), if any.
pub fn builtin_lock() -> Option<&'static str> {
    BUILTIN
        .get_file("kernels.lock")
        .and_then(|f| f.contents_utf8())
}

/// The set of manifests stapkit knows about.
#[derive(Debug, Clone)]
pub struct Catalog {
    manifests: Vec<Manifest>,
}

impl Catalog {
    /// The manifests from `STAPKIT_KERNELS` if set, else the embedded ones.
    pub fn load() -> Result<Catalog, ManifestError> {
        match std::env::var_os("STAPKIT_KERNELS") {
            Some(dir) => Catalog::from_dir(Path::new(&dir)),
            None => Catalog::builtin(),
        }
    }

    /// The manifests compiled into this binary.
    pub fn builtin() -> Result<Catalog, ManifestError> {
        let mut files: Vec<(String, String)> = BUILTIN
            .files()
            .filter(|f| f.path().extension().is_some_and(|e| e == "yaml"))
            .map(|f| {
                let name = f.path().display().to_string();
                (name, f.contents_utf8().unwrap_or_default().to_string())
            })
            .collect();
        files.sort();
        Catalog::from_texts(files)
    }

    /// The manifests in `dir` (every `*.yaml`).
    pub fn from_dir(dir: &Path) -> Result<Catalog, ManifestError> {
        let io = |error| ManifestError::Io {
            path: dir.to_path_buf(),
            error,
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = crate::text::utf8::read_file(&path).map_err(io)?;
                files.push((path.display().to_string(), text));
            }
        }
        files.sort();
        Catalog::from_texts(files)
    }

    fn from_texts(files: Vec<(String, String)>) -> Result<Catalog, ManifestError> {
        let mut manifests = Vec::new();
        for (file, text) in files {
            let manifest = parse(&text).map_err(|message| ManifestError::Invalid {
                file: file.clone(),
                message,
            })?;
            let stem = Path::new(&file).file_stem().and_then(|s| s.to_str());
            if stem != Some(manifest.name.as_str()) {
                return Err(ManifestError::Invalid {
                    file,
                    message: format!("name '{}' does not match the file name", manifest.name),
                });
            }
            manifests.push(manifest);
        }
        Ok(Catalog { manifests })
    }

    /// All manifests, sorted by name.
    pub fn all(&self) -> &[Manifest] {
        &self.manifests
    }

    /// The manifest whose release pattern matches `release`, for trees that
    /// did not come from the cache (`-r /lib/modules/R/build`).
    pub fn for_release(&self, release: &str) -> Option<&Manifest> {
        self.manifests.iter().find(|m| {
            let pattern = match &m.source {
                Source::Apt(apt) => &apt.release,
                Source::Rpm(rpm) => &rpm.release,
            };
            release_matches(pattern, release)
        })
    }

    /// The manifest called `name`.
    pub fn get(&self, name: &str) -> Result<&Manifest, ManifestError> {
        self.manifests
            .iter()
            .find(|m| m.name == name)
            .ok_or_else(|| ManifestError::Unknown {
                name: name.to_string(),
                known: self.manifests.iter().map(|m| m.name.clone()).collect(),
            })
    }
}

/// The largest YAML file stapkit reads (manifests are a few KiB).
const MAX_YAML_BYTES: usize = 1 << 20;

/// The deepest nesting of `[`/`{` flows and `- ` sequence items stapkit
/// reads (manifests nest three or four levels).
const MAX_YAML_DEPTH: usize = 32;

/// Refuses YAML too large or too deeply nested before the parser sees it:
/// serde_yaml's parser takes time quadratic in flow nesting (a line of
/// 100,000 `[` took minutes). The scan skips quoted strings and comments
/// and names the line and column where the limit is passed.
pub(crate) fn check_yaml_shape(text: &str) -> Result<(), String> {
    if text.len() > MAX_YAML_BYTES {
        return Err(format!(
            "{} bytes is too large for a kernel manifest (at most {MAX_YAML_BYTES})",
            text.len()
        ));
    }
    let too_deep = |line: usize, column: usize| {
        Err(format!(
            "line {line}, column {column}: nested more than {MAX_YAML_DEPTH} levels deep"
        ))
    };
    let mut flow = 0usize;
    for (l, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        // Block sequence items opening the line (`- - - x`) nest too.
        let mut items = 0usize;
        let mut leading = true;
        let mut prev = ' ';
        let mut chars = line.chars().enumerate().peekable();
        while let Some((c, ch)) = chars.next() {
            match (quote, ch) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(q), ch) if ch == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(ch),
                (None, '#') if prev == ' ' || prev == '\t' || c == 0 => break,
                (None, '[' | '{') => {
                    flow += 1;
                    if flow + items > MAX_YAML_DEPTH {
                        return too_deep(l + 1, c + 1);
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                (None, '-') if leading && chars.peek().is_none_or(|&(_, n)| n == ' ') => {
                    items += 1;
                    if flow + items > MAX_YAML_DEPTH {
                        return too_deep(l + 1, c + 1);
                    }
                }
                (None, ' ' | '\t') => {}
                (None, _) => leading = false,
            }
            prev = ch;
        }
    }
    Ok(())
}

/// Where the value of top-level `key:` starts (line and column from 1).
fn top_level_value(text: &str, key: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, line)| {
        let rest = line.strip_prefix(key)?.strip_prefix(':')?;
        let value = rest.trim_start();
        Some((i + 1, line.len() - value.len() + 1))
    })
}

/// Parses one manifest and checks the fields serde cannot.
pub fn parse(text: &str) -> Result<Manifest, String> {
    check_yaml_shape(text)?;
    let manifest: Manifest = serde_yaml::from_str(text).map_err(|e| {
        // serde_yaml does not place the errors of a field's own parser (an
        // unknown `arch:`): place them at the field's line.
        match top_level_value(text, "arch") {
            Some((line, column)) if e.to_string().starts_with("unknown architecture") => {
                format!("arch: {e} at line {line} column {column}")
            }
            _ => e.to_string(),
        }
    })?;
    let release = match &manifest.source {
        Source::Apt(apt) => &apt.release,
        Source::Rpm(rpm) => &rpm.release,
    };
    if !(1..=2).contains(&release.matches('*').count()) || release.contains("**") {
        return Err(format!(
            "release pattern '{release}' must contain one or two '*', not side by side"
        ));
    }
    if manifest.toolchain.suite.is_some() && manifest.toolchain.packages.is_empty() {
        return Err(
            "toolchain.suite needs toolchain.packages (at least the compiler and make)".into(),
        );
    }
    Ok(manifest)
}

/// Whether `release` matches `pattern`, where each `*` stands for one
/// run of characters without `-` (so `6.1.0-*-amd64` does not match the
/// `6.1.0-56-cloud-amd64` flavour, and `5.14.0-*.el9_*.x86_64` matches
/// RHEL's `5.14.0-427.13.1.el9_4.x86_64` but not CentOS Stream's
/// `5.14.0-427.el9.x86_64`).
pub fn release_matches(pattern: &str, release: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let literals: Vec<&str> = parts.collect();
    if literals.is_empty() {
        return pattern == release;
    }
    release
        .strip_prefix(first)
        .is_some_and(|rest| gaps_match(&literals, rest))
}

/// Whether `rest` is a run without `-` followed by `literals[0]`, then
/// the same for the other literals; the last literal ends `rest`. A run
/// ends at the first `-`, so each literal is looked for only up to there.
fn gaps_match(literals: &[&str], rest: &str) -> bool {
    let Some((literal, more)) = literals.split_first() else {
        return rest.is_empty();
    };
    if more.is_empty() {
        return rest
            .strip_suffix(literal)
            .is_some_and(|gap| !gap.is_empty() && !gap.contains('-'));
    }
    let limit = rest.find('-').unwrap_or(rest.len());
    (1..=limit).any(|end| {
        rest.is_char_boundary(end)
            && rest[end..].starts_with(literal)
            && gaps_match(more, &rest[end + literal.len()..])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifests_parse_and_name_their_files() {
        let catalog = Catalog::builtin().unwrap();
        let names: Vec<_> = catalog.all().iter().map(|m| m.name.as_str()).collect();
        assert!(names.contains(&"debian-6.1-amd64"), "{names:?}");
        assert!(names.contains(&"debian-5.10-amd64"), "{names:?}");
        assert!(names.contains(&"debian-6.12-amd64"), "{names:?}");
        assert!(names.contains(&"debian-7.2-amd64"), "{names:?}");
    }

    #[test]
    fn releases_find_their_manifest_and_toolchain() {
        let catalog = Catalog::builtin().unwrap();
        let m = catalog.for_release("6.12.117+deb13-amd64").unwrap();
        assert_eq!(m.name, "debian-6.12-amd64");
        assert_eq!(m.toolchain.suite.as_deref(), Some("trixie"));
        assert!(m.toolchain.packages.iter().any(|p| p == "gcc-14"));
        assert_eq!(
            catalog.for_release("5.10.0-46-amd64").unwrap().name,
            "debian-5.10-amd64"
        );
        assert!(catalog.for_release("6.1.0-56-cloud-amd64").is_none());
        for m in catalog.all() {
            assert!(
                m.toolchain.packages.contains(&m.compiler_package()),
                "{}: the toolchain root must install {}",
                m.name,
                m.compiler_package()
            );
        }
    }

    #[test]
    fn unknown_kernel_lists_the_known_ones() {
        let catalog = Catalog::builtin().unwrap();
        let err = catalog.get("debian-9.9-amd64").unwrap_err().to_string();
        assert!(
            err.starts_with("unknown kernel 'debian-9.9-amd64'; known kernels: "),
            "{err}"
        );
        assert!(err.contains("debian-6.1-amd64"), "{err}");
    }

    #[test]
    fn release_pattern_excludes_other_flavours() {
        assert!(release_matches("6.1.0-*-amd64", "6.1.0-56-amd64"));
        assert!(!release_matches("6.1.0-*-amd64", "6.1.0-56-cloud-amd64"));
        assert!(!release_matches("6.1.0-*-amd64", "6.1.0--amd64"));
        assert!(release_matches("6.12.*-amd64", "6.12.107+deb13-amd64"));
        assert!(!release_matches("6.12.*-amd64", "6.12.107+deb13-rt-amd64"));
        // Two runs: RHEL's point releases apart from CentOS Stream's.
        let rhel = "5.14.0-*.el9_*.x86_64";
        assert!(release_matches(rhel, "5.14.0-427.13.1.el9_4.x86_64"));
        assert!(!release_matches(rhel, "5.14.0-427.el9.x86_64"));
        assert!(!release_matches(rhel, "5.14.0-427.13.1.el9_4.x86_64+debug"));
        assert!(!release_matches(rhel, "5.14.0-427.13.1.el9_.x86_64"));
        assert!(release_matches(
            "5.14.0-*.el9.x86_64",
            "5.14.0-570.el9.x86_64"
        ));
        assert!(!release_matches(
            "5.14.0-*.el9.x86_64",
            "5.14.0-427.13.1.el9_4.x86_64"
        ));
        let fedora = "6.17.*-*.fc43.x86_64";
        assert!(release_matches(fedora, "6.17.7-300.fc43.x86_64"));
        assert!(!release_matches(fedora, "6.17.7-300.fc42.x86_64"));
        assert!(!release_matches(fedora, "6.18.1-200.fc43.x86_64"));
        // Neither run holds a '-', the second no more than the first.
        assert!(release_matches("a-*.b*.c", "a-1.b2.b3.c"));
        assert!(!release_matches("a-*.b*.c", "a-1.b-2.b3.c"));
        assert!(!release_matches("a-*.b*.c", "a-1.b.c"));
        // Long input stays cheap: a run ends at the first '-'.
        let long = format!("5.14.0-{}", ".el9_".repeat(100_000));
        assert!(!release_matches(rhel, &long));
    }

    #[test]
    fn rpm_manifests_describe_kernel_devel_trees() {
        let m = parse(
            "name: centos-9-x86_64\ndescription: CentOS Stream 9\ndistro: centos\nseries: \"5.14\"\n\
             arch: x86_64\nsource:\n  kind: rpm\n  repositories:\n  - archive: centos-stream\n    paths: [9-stream/AppStream/x86_64/os]\n\
             \x20 release: \"5.14.0-*.el9.x86_64\"\n  headers: [kernel-devel]\n  image: kernel-core\n\
             toolchain:\n  compiler: gcc\n",
        )
        .unwrap();
        assert!(matches!(m.source, Source::Rpm(_)));
    }

    #[test]
    fn manifests_name_archives_never_hosts() {
        let catalog = Catalog::builtin().unwrap();
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        for m in catalog.all() {
            let (archives, paths): (Vec<&str>, Vec<&str>) = match &m.source {
                Source::Apt(a) => (
                    a.repositories.iter().map(|r| r.archive.as_str()).collect(),
                    Vec::new(),
                ),
                Source::Rpm(r) => (
                    r.repositories.iter().map(|r| r.archive.as_str()).collect(),
                    r.repositories
                        .iter()
                        .flat_map(|r| r.paths.iter().map(String::as_str))
                        .collect(),
                ),
            };
            for a in archives {
                assert!(plain(a), "{}: archive '{a}' is a name, not a place", m.name);
            }
            for p in paths {
                let first = p.split('/').next().unwrap_or("");
                assert!(
                    !p.contains(':') && !first.contains('.'),
                    "{}: repository path '{p}' must be relative to its archive's root",
                    m.name
                );
            }
        }
    }

    #[test]
    fn rpm_family_manifests_build_with_debians_nearest_gcc() {
        let catalog = Catalog::builtin().unwrap();
        let rpm: Vec<&Manifest> = catalog
            .all()
            .iter()
            .filter(|m| matches!(m.source, Source::Rpm(_)))
            .collect();
        let names: Vec<&str> = rpm.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "almalinux-9-aarch64",
                "almalinux-9-x86_64",
                "centos-stream-10-aarch64",
                "centos-stream-10-x86_64",
                "centos-stream-9-aarch64",
                "centos-stream-9-x86_64",
                "fedora-43-aarch64",
                "fedora-43-x86_64",
                "rhel-9-aarch64",
                "rhel-9-x86_64",
                "rocky-9-aarch64",
                "rocky-9-x86_64"
            ]
        );
        for m in rpm {
            let major: u32 = m.toolchain.compiler["gcc-".len()..].parse().unwrap();
            let (gcc, suite) = super::super::compiler_note::nearest_debian_gcc(major);
            assert_eq!(
                (m.toolchain.compiler.as_str(), m.toolchain.suite.as_deref()),
                (gcc.as_str(), Some(suite)),
                "{}",
                m.name
            );
            let Source::Rpm(source) = &m.source else {
                unreachable!()
            };
            assert_eq!(source.headers, ["kernel-devel"]);
            assert_eq!(source.image, "kernel-core");
            assert_eq!(source.debug.as_deref(), Some("kernel-debuginfo"));
            // The release ends in the distribution's architecture, which
            // the name and the repository paths spell the same way, and
            // the toolchain root holds the compiler builds run.
            let arch = match m.arch {
                crate::arch::Arch::Arm64 => "aarch64",
                _ => "x86_64",
            };
            assert!(m.name.ends_with(&format!("-{arch}")), "{}", m.name);
            assert!(source.release.ends_with(&format!(".{arch}")), "{}", m.name);
            assert!(
                source
                    .repositories
                    .iter()
                    .flat_map(|r| &r.paths)
                    .all(|p| p.split('/').any(|c| c == arch)),
                "{}",
                m.name
            );
            // The toolchain roots are for x86-64 build hosts: an aarch64
            // kernel's holds the cross compiler.
            let compiler = &m.toolchain.compiler;
            let package = match m.arch {
                crate::arch::Arch::Arm64 => {
                    super::super::arch::cross_compiler_package(compiler, m.arch)
                }
                _ => compiler.clone(),
            };
            assert_eq!(m.toolchain.packages[0], package, "{}", m.name);
            assert!(
                source.repositories.iter().any(|r| r.debug_only)
                    && source.repositories.iter().any(|r| !r.debug_only),
                "{}: debug repositories apart",
                m.name
            );
        }
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        let err = parse("name: x\n").unwrap_err();
        assert!(err.contains("missing field"), "{err}");
        let err = parse(
            "name: x\ndescription: d\ndistro: debian\nseries: \"6.1\"\narch: sparc\nsource:\n  kind: apt\n\
             \x20 architecture: amd64\n  repositories: []\n  release: \"6.1.0-*-amd64\"\n  headers: []\n  image: i\n\
             toolchain:\n  compiler: gcc-12\n",
        )
        .unwrap_err();
        assert_eq!(
            err,
            "arch: unknown architecture 'sparc'; use x86_64 or arm64 at line 5 column 7"
        );
        // Read through the catalog, the file is named too.
        let dir = tempfile::tempdir().unwrap();
        let text = "name: x\ndescription: d\ndistro: debian\nseries: \"6.1\"\narch: sparc\n";
        std::fs::write(dir.path().join("x.yaml"), text).unwrap();
        let err = Catalog::from_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("x.yaml")
                && err.contains("unknown architecture 'sparc'")
                && err.contains("line 5"),
            "{err}"
        );
    }

    #[test]
    fn deep_or_huge_yaml_fails_fast_with_a_place() {
        let started = std::time::Instant::now();
        for (text, place) in [
            ("[".repeat(100_000), "line 1, column 33:"),
            (
                format!("name: {}", "{".repeat(100_000)),
                "line 1, column 39:",
            ),
            (
                format!("a:\n{}x", "- ".repeat(100_000)),
                "line 2, column 65:",
            ),
        ] {
            let e = parse(&text).unwrap_err();
            assert!(
                e.starts_with(place) && e.contains("more than 32 levels"),
                "{e}"
            );
        }
        let e = parse(&format!("# {}", "x".repeat(2 << 20))).unwrap_err();
        assert!(e.contains("too large"), "{e}");
        // Brackets in strings and comments are not nesting.
        let quoted = format!("name: '{0}'\ndescription: \"{0}\" # {0}\n", "[".repeat(100));
        assert!(check_yaml_shape(&quoted).is_ok());
        // serde_yaml alone took minutes on the second text.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn invalid_utf8_names_the_file_and_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yaml"), b"name: x\ndescription: \xff\n").unwrap();
        let e = Catalog::from_dir(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("bad.yaml: invalid UTF-8 at line 2, column 14 (byte offset 21: 0xff)"),
            "{e}"
        );
    }
}
