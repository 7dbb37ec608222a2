//! The oracle's scripts and their cases: the trailing arguments split
//! into stap options and scripts, each script's `# oracle:`,
//! `# oracle-case:` and `# oracle-run:` header lines read into cases (or a
//! QEMU test script taken as the one case stap-matrix builds and runs),
//! and each case's module name.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use stapkit::matrix::script::{ModuleRequest, Requirement, TestScript};
use stapkit::text::header::{split_words, Quoting};

use crate::setup;

/// Seconds a case may run before staprun gets SIGINT, unless it says.
const DEFAULT_TIMEOUT_SECS: u32 = 10;

/// One script of the oracle and its cases.
#[derive(Debug, Clone)]
pub(super) struct OracleScript {
    /// The `.stp` file as given.
    pub(super) path: PathBuf,
    /// File name without extension.
    pub(super) stem: String,
    /// The script's text.
    pub(super) text: String,
    /// What to build and run.
    pub(super) cases: Vec<OracleCase>,
    /// A QEMU test script (`tests/scripts/`), run as stap-matrix runs it.
    pub(super) test: bool,
}

/// One build (and run) of a script.
#[derive(Debug, Clone)]
pub(super) struct OracleCase {
    /// Name within the script.
    pub(super) name: String,
    /// stap options (before the script).
    pub(super) stap_options: Vec<String>,
    /// Script arguments (after the script).
    pub(super) script_args: Vec<String>,
    /// Seconds before staprun is interrupted.
    pub(super) timeout_secs: u32,
    /// staprun options (before the module).
    pub(super) staprun_args: Vec<String>,
    /// The case probes `/bin/stapkit-workload` (word `workload`).
    pub(super) workload: bool,
    /// The module name, when not the oracle's own (test scripts keep
    /// stap-matrix's `t_NAME`, which their output may show).
    pub(super) module: Option<String>,
    /// The kernel's own modules the guest loads (or only carries, for the
    /// case to modprobe) for a test script's case.
    pub(super) guest_modules: Vec<ModuleRequest>,
    pub(super) guest_modules_later: Vec<ModuleRequest>,
    /// A test script's `# requires: debuginfo`.
    pub(super) requires_debuginfo: bool,
    /// Guest shell commands run instead of `staprun MODULE`
    /// (`# oracle-run:` lines).
    pub(super) run: Option<String>,
    /// Kernel arguments of a guest of its own (a test script's
    /// `# guest-boot:`); cases without any share one boot.
    pub(super) boot_args: Vec<String>,
}

impl OracleCase {
    /// The pass stap stops after (`-pN`; 4 unless the case says).
    pub(super) fn last_pass(&self) -> u32 {
        // `-l`/`-L` stop after elaboration (and refuse `-p`).
        if self.lists() {
            return 2;
        }
        self.stap_options
            .iter()
            .rev()
            .find_map(|o| o.strip_prefix("-p").and_then(|n| n.parse().ok()))
            .unwrap_or(4)
    }
}

impl OracleCase {
    /// Whether the case lists probe points (`-l`/`-L PROBE`).
    pub(super) fn lists(&self) -> bool {
        self.stap_options.iter().any(|o| o == "-l" || o == "-L")
    }
}

/// Splits the trailing arguments into stap options and script paths.
pub(super) fn split_args(args: &[String]) -> Result<(Vec<String>, Vec<PathBuf>)> {
    let mut options = Vec::new();
    let mut scripts = Vec::new();
    for arg in args {
        if arg.ends_with(".stp") && !arg.starts_with('-') {
            let path = PathBuf::from(arg);
            if !path.is_file() {
                bail!("{arg}: no such script");
            }
            scripts.push(path);
        } else {
            options.push(arg.clone());
        }
    }
    if scripts.is_empty() {
        let dir = setup::project_root().join("tests/oracle");
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "stp") {
                scripts.push(path);
            }
        }
        scripts.sort();
    }
    Ok((options, scripts))
}

/// Whether `path` is one of the QEMU test scripts (`tests/scripts/`).
fn is_test_script(path: &Path) -> bool {
    let dir = path
        .parent()
        .and_then(|d| d.canonicalize().ok())
        .unwrap_or_default();
    dir == setup::project_root().join("tests/scripts")
}

/// A QEMU test script as one case built and run the way stap-matrix does
/// (`stapkit::matrix::build_one`): its `# matrix:` options and arguments,
/// `-D MAXTRYLOCK=1000000` unless it sets its own, the workload under
/// `--sysroot`, its staprun options, guest modules and time limit, and
/// stap-matrix's module name.
fn load_test_script(path: &Path, global_options: &[String]) -> Result<OracleScript> {
    let test = TestScript::load(path).map_err(|e| anyhow!("{e}"))?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let (opts, args) = match test.stap_args.iter().position(|a| a == "--") {
        Some(i) => (&test.stap_args[..i], &test.stap_args[i + 1..]),
        None => (&test.stap_args[..], &[][..]),
    };
    let mut stap_options = global_options.to_vec();
    if !opts.iter().any(|a| a.contains("MAXTRYLOCK")) {
        stap_options.extend(["-D".to_string(), "MAXTRYLOCK=1000000".to_string()]);
    }
    stap_options.extend(opts.iter().cloned());
    let case = OracleCase {
        name: "main".into(),
        stap_options,
        script_args: args.to_vec(),
        timeout_secs: test.timeout_secs,
        staprun_args: test.staprun_args.clone(),
        workload: true,
        module: Some(test.module_name()),
        guest_modules: test.guest_modules.clone(),
        guest_modules_later: test.guest_modules_later.clone(),
        requires_debuginfo: test.requires.contains(&Requirement::Debuginfo),
        run: test.guest_run.clone(),
        boot_args: test.boot_args.clone(),
    };
    Ok(OracleScript {
        path: path.to_path_buf(),
        stem: test.name,
        text,
        cases: vec![case],
        test: true,
    })
}

/// Reads a script and its `# oracle:` / `# oracle-case:` header lines.
pub(super) fn load_script(path: &Path, global_options: &[String]) -> Result<OracleScript> {
    if is_test_script(path) {
        return load_test_script(path, global_options);
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let stem = stapkit::matrix::script::script_name(path)
        .map_err(anyhow::Error::msg)?
        .to_string();
    let mut common = OracleCase {
        name: "main".into(),
        stap_options: global_options.to_vec(),
        script_args: Vec::new(),
        timeout_secs: DEFAULT_TIMEOUT_SECS,
        staprun_args: Vec::new(),
        workload: false,
        module: None,
        guest_modules: Vec::new(),
        guest_modules_later: Vec::new(),
        requires_debuginfo: false,
        run: None,
        boot_args: Vec::new(),
    };
    let mut case_lines = Vec::new();
    let mut run_lines: Vec<(String, String, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = || format!("{}:{}", path.display(), n + 1);
        if let Some(rest) = line.strip_prefix("# oracle-run:") {
            let (case, command) = rest.trim().split_once(' ').unwrap_or((rest.trim(), ""));
            if command.trim().is_empty() {
                bail!(
                    "{}: '# oracle-run:' needs a case name (or *) and a command",
                    at()
                );
            }
            run_lines.push((at(), case.to_string(), command.trim().to_string()));
        } else if let Some(rest) = line.strip_prefix("# oracle-case:") {
            case_lines.push((
                at(),
                split_words(rest, Quoting::DOUBLE_ESCAPED).map_err(|e| anyhow!("{}: {e}", at()))?,
            ));
        } else if let Some(rest) = line.strip_prefix("# oracle:") {
            let words =
                split_words(rest, Quoting::DOUBLE_ESCAPED).map_err(|e| anyhow!("{}: {e}", at()))?;
            apply_words(&mut common, &words).map_err(|e| anyhow!("{}: {e}", at()))?;
        }
    }
    let mut cases = Vec::new();
    for (at, words) in case_lines {
        let Some((name, rest)) = words.split_first() else {
            bail!("{at}: '# oracle-case:' needs a case name");
        };
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!("{at}: case names use letters, digits, '_' and '-'");
        }
        let mut case = common.clone();
        case.name = name.clone();
        apply_words(&mut case, rest).map_err(|e| anyhow!("{at}: {e}"))?;
        if cases.iter().any(|c: &OracleCase| c.name == case.name) {
            bail!("{at}: case '{name}' is defined twice");
        }
        cases.push(case);
    }
    if cases.is_empty() {
        cases.push(common);
    }
    for (at, name, command) in run_lines {
        let mut found = false;
        for case in cases.iter_mut().filter(|c| name == "*" || c.name == name) {
            let run = case.run.get_or_insert_with(String::new);
            run.push_str(&command);
            run.push('\n');
            found = true;
        }
        if !found {
            bail!("{at}: '# oracle-run:' names no case '{name}'");
        }
    }
    Ok(OracleScript {
        path: path.to_path_buf(),
        stem,
        text,
        cases,
        test: false,
    })
}

/// Applies header words: `timeout=N`, stap options, `--` then script args.
fn apply_words(case: &mut OracleCase, words: &[String]) -> Result<(), String> {
    let mut args = false;
    for word in words {
        if args {
            case.script_args.push(word.clone());
        } else if word == "--" {
            args = true;
        } else if word == "workload" {
            case.workload = true;
        } else if let Some(arg) = word.strip_prefix("staprun=") {
            case.staprun_args.push(arg.to_string());
        } else if let Some(secs) = word.strip_prefix("timeout=") {
            case.timeout_secs = secs
                .parse()
                .map_err(|_| format!("timeout must be whole seconds, not '{secs}'"))?;
        } else {
            case.stap_options.push(word.clone());
        }
    }
    Ok(())
}

/// The module name of a case (a C identifier stap accepts).
pub(super) fn module_name(script: &OracleScript, case: &OracleCase) -> String {
    if let Some(name) = &case.module {
        return name.clone();
    }
    let raw = if script.cases.len() == 1 && case.name == "main" {
        format!("o_{}", script.stem)
    } else {
        format!("o_{}_{}", script.stem, case.name)
    };
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    name.truncate(55);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_make_cases() {
        let dir = std::env::temp_dir().join(format!("oracle-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("errs.stp");
        std::fs::write(
            &path,
            "# oracle: -g timeout=3\n# oracle-case: div -DMAXERRORS=2 -- div \"a b\"\n\
             # oracle-case: p2 -p2\n# oracle-run: div staprun -L $MODULE\n\
             # oracle-run: * echo done\nprobe begin {}\n",
        )
        .unwrap();
        let s = load_script(&path, &["-w".into()]).unwrap();
        assert_eq!(s.cases.len(), 2);
        assert_eq!(
            s.cases[0].run.as_deref(),
            Some("staprun -L $MODULE\necho done\n")
        );
        assert_eq!(s.cases[1].run.as_deref(), Some("echo done\n"));
        assert_eq!(s.cases[0].stap_options, ["-w", "-g", "-DMAXERRORS=2"]);
        assert_eq!(s.cases[0].script_args, ["div", "a b"]);
        assert_eq!(s.cases[0].timeout_secs, 3);
        assert_eq!(s.cases[0].last_pass(), 4);
        assert_eq!(s.cases[1].last_pass(), 2);
        assert_eq!(module_name(&s, &s.cases[0]), "o_errs_div");
        std::fs::write(&path, "# oracle-run: nope true\nprobe begin {}\n").unwrap();
        let err = load_script(&path, &[]).unwrap_err().to_string();
        assert!(err.contains("names no case 'nope'"), "{err}");
        std::fs::write(&path, "# oracle: -DX=\\\"y -e \"a\nprobe begin {}\n").unwrap();
        let err = load_script(&path, &[]).unwrap_err().to_string();
        assert!(err.ends_with("errs.stp:1: unterminated quote"), "{err}");
        std::fs::write(&path, "# oracle: -DX=\\\"y\\\" \"a b\"\nprobe begin {}\n").unwrap();
        let s = load_script(&path, &[]).unwrap();
        assert_eq!(s.cases[0].stap_options, ["-DX=\"y\"", "a b"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
