//! Test scripts and the options they carry in their header.
//!
//! A script may start with `# matrix: ...` lines naming stap options and
//! arguments for its build (`-DMAXERRORS=3`, `-g`, `-- arg1 arg2`) and
//! `timeout=SECONDS`, after which staprun is interrupted as by Ctrl-C.
//! In the script's arguments `{symbol:NAME}` stands for NAME's address in
//! the kernel's System.map (the -dbg package's; see `# requires:`).
//!
//! `# guest-modules: NAME [PARAM=VALUE...] [NAME ...]` lines name modules of
//! the kernel's own package that the guest loads (with their dependencies)
//! before the case runs and unloads after it: `brd rd_nr=1 rd_size=1024`
//! gives the guest a ramdisk `/dev/ram0`. A word with `=` is a parameter of
//! the module before it; `NAME?` is loaded only where the kernel's package
//! has it (`crc32c_generic?`, which 7.x no longer builds). `# guest-modules-later: NAME...` only carries
//! modules (and their dependencies) for the case to load itself with
//! busybox `modprobe NAME` while the script runs.
//!
//! `# normalise: PATTERN => REPLACEMENT` rewrites every match of the
//! regular expression PATTERN (the `regex` crate's syntax; `$1` in
//! REPLACEMENT names a group) in the case's stdout and stderr before they
//! are compared or snapshotted: process ids, addresses and offsets that
//! differ from kernel to kernel. Lines apply in order.
//!
//! `# requires: debuginfo` limits a script to kernels fetched with their
//! `-dbg` package (DWARF and the real `System.map`); on the others its
//! cell is *not applicable*, with the reason, rather than built and run.
//! `# requires: kernel=NAME` limits it to that kernel (repeat for more).
//!
//! For staprun's own behaviour (see `ship.rs`): `# bundle: KERNEL...` makes
//! the case's module one bundle built for all those kernels — the same
//! file in every guest; `# guest-run: COMMAND` lines (joined as a shell
//! script, `$MODULE` the module or bundle, run in `/tmp`) replace the
//! plain `staprun [-c/-x] MODULE` of the case; `# guest-boot: ARG...`
//! boots a guest of its own for the case with those kernel arguments
//! added (`module.sig_enforce=1`); `# matrix: --sign-module` signs the
//! module with a key the harness makes for the run; `# guest-firmware:
//! uefi-db` boots that guest through UEFI firmware whose signature
//! database (`db`) holds the certificate of that key (x86_64; see
//! `crate::vm::uefi`).

use std::path::{Path, PathBuf};

/// Default seconds a case may run before staprun gets SIGINT.
pub const DEFAULT_TIMEOUT_SECS: u32 = 10;

/// A script to run on every kernel of the matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct TestScript {
    /// The `.stp` file.
    pub path: PathBuf,
    /// Its name without directory and extension (the case name).
    pub name: String,
    /// Extra stap options and arguments from `# matrix:` lines.
    pub stap_args: Vec<String>,
    /// Seconds before staprun is interrupted.
    pub timeout_secs: u32,
    /// Options for staprun in the guest (`-c CMD`, `-x PID`), taken out
    /// of the `# matrix:` options.
    pub staprun_args: Vec<String>,
    /// Modules of the kernel's package the guest loads for this case
    /// (`# guest-modules:` lines), in the order given.
    pub guest_modules: Vec<ModuleRequest>,
    /// Modules the guest only carries, for the case to `modprobe` itself
    /// (`# guest-modules-later:` lines).
    pub guest_modules_later: Vec<ModuleRequest>,
    /// What a kernel must have for the script to apply (`# requires:`).
    pub requires: Vec<Requirement>,
    /// Kernels of the one bundle the case runs (`# bundle:`); empty: a
    /// plain module for the guest's kernel.
    pub bundle: Vec<String>,
    /// The guest's shell commands for the case (`# guest-run:` lines).
    pub guest_run: Option<String>,
    /// Extra kernel arguments for a guest of its own (`# guest-boot:`).
    pub boot_args: Vec<String>,
    /// The firmware of that guest (`# guest-firmware:`); `None`: QEMU's
    /// own loader.
    pub firmware: Option<GuestFirmware>,
    /// Rewrites of the case's output before comparison (`# normalise:`).
    pub normalise: Vec<Normalisation>,
}

/// One `# normalise: PATTERN => REPLACEMENT` line.
#[derive(Debug, Clone)]
pub struct Normalisation {
    /// The compiled PATTERN.
    pub pattern: regex::bytes::Regex,
    /// What each match becomes.
    pub replacement: String,
}

impl PartialEq for Normalisation {
    fn eq(&self, other: &Self) -> bool {
        self.pattern.as_str() == other.pattern.as_str() && self.replacement == other.replacement
    }
}

/// `bytes` after every normalisation of `rules`, in order.
pub fn normalise(rules: &[Normalisation], bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for rule in rules {
        out = rule
            .pattern
            .replace_all(&out, rule.replacement.as_bytes())
            .into_owned();
    }
    out
}

/// Firmware a script's guest boots through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestFirmware {
    /// `uefi-db`: UEFI (OVMF, Secure Boot off) with the harness's
    /// signing certificate in `db`.
    UefiDb,
}

/// Something a script needs from the kernel it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// The kernel's debug information: fetched with its `-dbg` package.
    Debuginfo,
    /// One of these kernels (manifest names).
    Kernel(Vec<String>),
}

/// A module a script asks the guest to load.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleRequest {
    /// The module's name (`brd`).
    pub name: String,
    /// Its parameters (`rd_nr=1`), given to insmod.
    pub params: Vec<String>,
    /// Written `NAME?`: only where the kernel's package has it (built in,
    /// renamed or gone elsewhere).
    pub optional: bool,
}

/// The name of the script at `path` (its file stem), which must use only
/// letters, digits, `_` and `-` (it becomes a module name).
pub fn script_name(path: &Path) -> Result<&str, String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| {
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .ok_or_else(|| {
            format!(
                "{}: script names may only use letters, digits, '_' and '-'",
                path.display()
            )
        })
}

impl TestScript {
    /// Reads the script's header.
    pub fn load(path: &Path) -> Result<TestScript, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = script_name(path)?.to_string();
        let mut script = TestScript {
            path: path.to_path_buf(),
            name,
            stap_args: Vec::new(),
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            staprun_args: Vec::new(),
            guest_modules: Vec::new(),
            guest_modules_later: Vec::new(),
            requires: Vec::new(),
            bundle: Vec::new(),
            guest_run: None,
            boot_args: Vec::new(),
            firmware: None,
            normalise: Vec::new(),
        };
        for (n, line) in text.lines().enumerate() {
            let at = |e: String| format!("{}:{}: {e}", path.display(), n + 1);
            if let Some(rule) = line.strip_prefix("# normalise:") {
                // An empty REPLACEMENT may lose the space after `=>`.
                let rule = rule.trim();
                let (pattern, replacement) = match rule.strip_suffix(" =>") {
                    Some(pattern) => (pattern, ""),
                    None => rule.split_once(" => ").ok_or_else(|| {
                        at("a normalisation is `# normalise: PATTERN => REPLACEMENT`".to_string())
                    })?,
                };
                let pattern = regex::bytes::Regex::new(pattern)
                    .map_err(|e| at(format!("bad pattern '{pattern}': {e}")))?;
                script.normalise.push(Normalisation {
                    pattern,
                    replacement: replacement.to_string(),
                });
                continue;
            }
            if let Some(list) = line.strip_prefix("# guest-modules-later:") {
                let mut later = Vec::new();
                parse_modules(list, &mut later).map_err(at)?;
                if let Some(m) = later.iter().find(|m| !m.params.is_empty()) {
                    return Err(at(format!(
                        "'{}' takes its parameters where the case loads it, not here",
                        m.name
                    )));
                }
                script.guest_modules_later.extend(later);
                continue;
            }
            if let Some(list) = line.strip_prefix("# bundle:") {
                script
                    .bundle
                    .extend(list.split_whitespace().map(str::to_string));
                continue;
            }
            if let Some(command) = line.strip_prefix("# guest-run:") {
                let run = script.guest_run.get_or_insert_with(String::new);
                run.push_str(command.trim());
                run.push('\n');
                continue;
            }
            if let Some(list) = line.strip_prefix("# guest-boot:") {
                for word in list.split_whitespace() {
                    if !word
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._=,-".contains(c))
                    {
                        return Err(at(format!("bad kernel argument '{word}'")));
                    }
                    script.boot_args.push(word.to_string());
                }
                continue;
            }
            if let Some(word) = line.strip_prefix("# guest-firmware:") {
                script.firmware = match word.trim() {
                    "uefi-db" => Some(GuestFirmware::UefiDb),
                    other => {
                        return Err(at(format!("unknown firmware '{other}' (known: uefi-db)")))
                    }
                };
                continue;
            }
            if let Some(list) = line.strip_prefix("# requires:") {
                for word in list.split_whitespace() {
                    if let Some(kernel) = word.strip_prefix("kernel=") {
                        match script.requires.iter_mut().find_map(|r| match r {
                            Requirement::Kernel(k) => Some(k),
                            _ => None,
                        }) {
                            Some(kernels) => kernels.push(kernel.to_string()),
                            None => script
                                .requires
                                .push(Requirement::Kernel(vec![kernel.to_string()])),
                        }
                        continue;
                    }
                    let requirement = match word {
                        "debuginfo" => Requirement::Debuginfo,
                        _ => {
                            return Err(at(format!(
                                "unknown requirement '{word}' (known: debuginfo, kernel=NAME)"
                            )))
                        }
                    };
                    if !script.requires.contains(&requirement) {
                        script.requires.push(requirement);
                    }
                }
                continue;
            }
            if let Some(list) = line.strip_prefix("# guest-modules:") {
                parse_modules(list, &mut script.guest_modules).map_err(at)?;
                continue;
            }
            let Some(directive) = line.strip_prefix("# matrix:") else {
                continue;
            };
            let mut words = split_words(directive).map_err(at)?.into_iter();
            while let Some(word) = words.next() {
                // -c CMD and -x PID are staprun's, in the guest.
                if word == "-c" || word == "-x" {
                    let value = words
                        .next()
                        .ok_or_else(|| at(format!("{word} needs a value")))?;
                    script.staprun_args.extend([word, value]);
                    continue;
                }
                match word.strip_prefix("timeout=") {
                    Some(secs) => {
                        script.timeout_secs = secs.parse().map_err(|_| {
                            format!(
                                "{}:{}: timeout must be whole seconds, not '{secs}'",
                                path.display(),
                                n + 1
                            )
                        })?
                    }
                    None => script.stap_args.push(word),
                }
            }
        }
        Ok(script)
    }

    /// Why the script does not apply to `tree` (kernel manifest `kernel`),
    /// if one of its requirements is unmet.
    pub fn unmet_requirement(
        &self,
        tree: &crate::kernel::HeaderTree,
        kernel: &str,
    ) -> Option<String> {
        self.requires.iter().find_map(|r| match r {
            Requirement::Debuginfo => {
                let has_debug = tree.fetched.as_ref().is_some_and(|state| {
                    state
                        .debug_vmlinux
                        .as_ref()
                        .is_some_and(|p| state.root.join(p).is_file())
                });
                (!has_debug).then(|| {
                    format!(
                        "needs the kernel's debug info, and {kernel} was fetched without its -dbg package (stap-prep fetch --debug {kernel})"
                    )
                })
            }
            Requirement::Kernel(kernels) => (!kernels.iter().any(|k| k == kernel))
                .then(|| format!("runs only on {}", kernels.join(", "))),
        })
    }

    /// The module name used for this script (valid C identifier).
    pub fn module_name(&self) -> String {
        format!("t_{}", self.name.replace('-', "_"))
    }
}

/// Adds the modules of one `# guest-modules:` line to `out`.
fn parse_modules(list: &str, out: &mut Vec<ModuleRequest>) -> Result<(), String> {
    for word in list.split_whitespace() {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        match word.split_once('=') {
            Some((key, value)) => {
                let module = out
                    .last_mut()
                    .ok_or_else(|| format!("parameter '{word}' comes before any module name"))?;
                // The guest's shell splits the list on spaces: values
                // must not need quoting.
                if !ok(key)
                    || !value
                        .chars()
                        .all(|c| c.is_ascii_graphic() && c != '\'' && c != '"')
                {
                    return Err(format!("bad module parameter '{word}'"));
                }
                module.params.push(word.to_string());
            }
            None if ok(word.strip_suffix('?').unwrap_or(word)) => out.push(ModuleRequest {
                name: word.trim_end_matches('?').to_string(),
                params: Vec::new(),
                optional: word.ends_with('?'),
            }),
            None => return Err(format!("bad module name '{word}'")),
        }
    }
    Ok(())
}

/// Splits on whitespace, honouring double quotes.
fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".to_string());
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_options_and_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("div-zero.stp");
        std::fs::write(
            &path,
            "# matrix: -DMAXERRORS=2 timeout=3 -c \"cat /etc/passwd\"\n# matrix: -- \"a b\" c\nprobe begin {}\n",
        )
        .unwrap();
        let s = TestScript::load(&path).unwrap();
        assert_eq!(s.name, "div-zero");
        assert_eq!(s.module_name(), "t_div_zero");
        assert_eq!(s.timeout_secs, 3);
        assert_eq!(s.stap_args, ["-DMAXERRORS=2", "--", "a b", "c"]);
        assert_eq!(s.staprun_args, ["-c", "cat /etc/passwd"]);
        assert!(s.guest_modules.is_empty());
    }

    #[test]
    fn staprun_cases_carry_bundles_commands_and_boot_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ship.stp");
        std::fs::write(
            &path,
            "# bundle: k1 k2\n# guest-run: staprun -F $MODULE\n# guest-run: staprun -d t_ship\n\
             # guest-boot: module.sig_enforce=1\n# requires: kernel=k1 kernel=k2\nprobe begin {}\n",
        )
        .unwrap();
        let s = TestScript::load(&path).unwrap();
        assert_eq!(s.bundle, ["k1", "k2"]);
        assert_eq!(
            s.guest_run.as_deref(),
            Some("staprun -F $MODULE\nstaprun -d t_ship\n")
        );
        assert_eq!(s.boot_args, ["module.sig_enforce=1"]);
        assert_eq!(
            s.requires,
            [Requirement::Kernel(vec!["k1".into(), "k2".into()])]
        );
        assert_eq!(s.firmware, None);
        std::fs::write(&path, "# guest-boot: a;reboot\n").unwrap();
        assert!(TestScript::load(&path)
            .unwrap_err()
            .contains("bad kernel argument 'a;reboot'"));
        std::fs::write(&path, "# guest-firmware: uefi-db\n").unwrap();
        assert_eq!(
            TestScript::load(&path).unwrap().firmware,
            Some(GuestFirmware::UefiDb)
        );
        std::fs::write(&path, "# guest-firmware: bios\n").unwrap();
        assert!(TestScript::load(&path)
            .unwrap_err()
            .contains("unknown firmware 'bios' (known: uefi-db)"));
    }

    #[test]
    fn guest_modules_take_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("io.stp");
        std::fs::write(
            &path,
            "# guest-modules: brd rd_nr=1 rd_size=1024\n# guest-modules: loop\n# guest-modules-later: crc32c_generic? ext4\n",
        )
        .unwrap();
        let s = TestScript::load(&path).unwrap();
        let names: Vec<(&str, Vec<&str>)> = s
            .guest_modules
            .iter()
            .map(|m| {
                (
                    m.name.as_str(),
                    m.params.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [("brd", vec!["rd_nr=1", "rd_size=1024"]), ("loop", vec![])]
        );
        let later: Vec<(&str, bool)> = s
            .guest_modules_later
            .iter()
            .map(|m| (m.name.as_str(), m.optional))
            .collect();
        assert_eq!(later, [("crc32c_generic", true), ("ext4", false)]);
        std::fs::write(&path, "\n# guest-modules: rd_nr=1 brd\n").unwrap();
        let err = TestScript::load(&path).unwrap_err();
        assert!(
            err.ends_with("io.stp:2: parameter 'rd_nr=1' comes before any module name"),
            "{err}"
        );
        std::fs::write(&path, "# guest-modules: brd x='a b'\n").unwrap();
        assert!(TestScript::load(&path)
            .unwrap_err()
            .contains("bad module parameter"));
    }

    #[test]
    fn requirements() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inline.stp");
        std::fs::write(&path, "# requires: debuginfo\n# requires: debuginfo\n").unwrap();
        assert_eq!(
            TestScript::load(&path).unwrap().requires,
            [Requirement::Debuginfo]
        );
        std::fs::write(&path, "probe begin {}\n").unwrap();
        assert!(TestScript::load(&path).unwrap().requires.is_empty());
        std::fs::write(&path, "\n# requires: dwarf\n").unwrap();
        let err = TestScript::load(&path).unwrap_err();
        assert!(
            err.ends_with(
                "inline.stp:2: unknown requirement 'dwarf' (known: debuginfo, kernel=NAME)"
            ),
            "{err}"
        );
    }

    #[test]
    fn normalisations_rewrite_output_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kill.stp");
        std::fs::write(
            &path,
            "# normalise: \\b[0-9]+\\(stapkit => PID(stapkit\n# normalise: \\(([0-9]+)\\) => (PID)\n# normalise: from  =>\n",
        )
        .unwrap();
        let s = TestScript::load(&path).unwrap();
        assert_eq!(
            normalise(&s.normalise, b"kill 15 115(stapkit) from  a(111) b(105)\n"),
            b"kill 15 PID(stapkit)  a(PID) b(PID)\n"
        );
        std::fs::write(&path, "\n# normalise: [0-9 => x\n").unwrap();
        let err = TestScript::load(&path).unwrap_err();
        assert!(err.contains("kill.stp:2: bad pattern '[0-9'"), "{err}");
        std::fs::write(&path, "# normalise: x\n").unwrap();
        assert!(TestScript::load(&path)
            .unwrap_err()
            .contains("PATTERN => REPLACEMENT"));
    }

    #[test]
    fn bad_headers_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.stp");
        std::fs::write(&path, "\n# matrix: timeout=soon\n").unwrap();
        let err = TestScript::load(&path).unwrap_err();
        assert!(
            err.ends_with("x.stp:2: timeout must be whole seconds, not 'soon'"),
            "{err}"
        );
        let path = dir.path().join("bad name.stp");
        std::fs::write(&path, "").unwrap();
        assert!(TestScript::load(&path)
            .unwrap_err()
            .contains("script names may only use"));
    }
}
