//! The command line's values checked before anything runs: `-m` names,
//! `-I` directories, `-r` trees that are not there, `-D` and `-B`
//! settings; refusals in SystemTap 5.1's words where it has some
//! (docs/oracle/FINDINGS.md), then stapkit's fix.

use std::path::Path;

/// The longest module name SystemTap keeps (it truncates longer ones; the
/// kernel's own limit, `MODULE_NAME_LEN`, is 55 characters on 64-bit).
const MAX_MODULE_NAME: usize = 55;

/// `-m NAME` as SystemTap takes it: letters, digits and `_` only (the
/// name becomes `NAME.ko` in the working directory, so `../x` must not
/// pass), truncated to [`MAX_MODULE_NAME`] characters with a note; the
/// texts are SystemTap 5.1's.
pub(super) fn check_module_name(name: &str) -> Result<(String, String), String> {
    if name.is_empty() {
        return Err("Module name cannot be empty.".to_string());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "ERROR: Safety pattern mismatch for -m parameter ('{name}' vs. '^[a-z0-9_]+$') rc=1"
        ));
    }
    if name.len() > MAX_MODULE_NAME {
        let short = &name[..MAX_MODULE_NAME];
        return Ok((
            short.to_string(),
            format!("Truncating module name to '{short}'\n"),
        ));
    }
    Ok((name.to_string(), String::new()))
}

/// `-I DIR` must be a directory when it exists (SystemTap ignores a
/// missing one, and so does stapkit).
pub(super) fn check_include_dir(dir: &Path) -> Result<(), String> {
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(format!(
            "stap: -I {}: not a directory; -I names a directory of tapset (.stp) files",
            dir.display()
        )),
        _ => Ok(()),
    }
}

/// Why `-r SPEC` names no tree, in SystemTap's words where it has some
/// (`Checking "/lib/modules/R/build/.config" failed ...` for a release,
/// `kernel release isn't found in "DIR"` for a directory), then stapkit's
/// explanation with the fix.
pub(super) fn tree_failure(spec: &str, error: &crate::kernel::TreeError) -> String {
    use crate::kernel::TreeError;
    match error {
        TreeError::NoSuchRelease { release } => format!(
            "Checking \"/lib/modules/{release}/build/.config\" failed with error: No such file or directory\n{error}"
        ),
        TreeError::NotATree { .. } => {
            format!("ERROR: kernel release isn't found in \"{spec}\"\n{error}")
        }
        _ => format!("stap: {error}"),
    }
}

/// Checks a `-D NAME[=VALUE]` so it can be passed to the compiler safely.
pub(super) fn check_define(define: &str) -> Result<(), String> {
    let (name, value) = define.split_once('=').unwrap_or((define, ""));
    let ident = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ident {
        return Err(format!("stap: -D {define}: '{name}' is not a C macro name"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
    {
        return Err(format!(
            "stap: -D {define}: the value may only use letters, digits and '_.+-'"
        ));
    }
    if name == "MAXPROBES" && value.parse::<usize>().is_err() {
        return Err(format!(
            "stap: -D {define}: MAXPROBES is a number of probe points (-D MAXPROBES=50000)"
        ));
    }
    Ok(())
}

/// The probe-point limit a `-D MAXPROBES=N` sets (the last one given),
/// read by pass 2 as well as handed to the compiler like every `-D`.
pub(super) fn max_probes(defines: &[String]) -> Option<usize> {
    defines
        .iter()
        .rev()
        .find_map(|d| d.strip_prefix("MAXPROBES="))
        .and_then(|n| n.parse().ok())
}

/// Refuses `-B` variables that would build a module the kernel refuses:
/// switching `CONFIG_MODVERSIONS` off (in guru mode too) strips the symbol
/// CRCs a MODVERSIONS kernel requires.
pub(super) fn check_make_var(var: &str) -> Result<(), String> {
    let name = var.split_once('=').map(|(n, _)| n).unwrap_or(var);
    if name == "CONFIG_MODVERSIONS"
        || name == "KBUILD_MODPOST_WARN"
        || name == "KBUILD_MODPOST_NOFINAL"
    {
        return Err(format!(
            "stap: -B {var} would build a module this kernel may refuse ('Invalid module format' or \
             'Unknown symbol'); stapkit keeps the tree's settings, guru mode included"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::tests::opts;
    use crate::driver::Pipeline;

    #[test]
    fn defines_must_be_safe_for_the_compiler() {
        assert!(check_define("MAXACTION=10").is_ok());
        assert!(check_define("MAXPROBES=50000").is_ok());
        assert!(check_define("MAXPROBES=many")
            .unwrap_err()
            .contains("MAXPROBES is a number of probe points"));
        let defines = ["MAXPROBES=5".to_string(), "MAXPROBES=7".to_string()];
        assert_eq!(max_probes(&defines), Some(7));
        assert_eq!(max_probes(&["MAXACTION=5".to_string()]), None);
        assert!(check_define("STP_NO_OVERLOAD").is_ok());
        assert!(check_define("1X=2")
            .unwrap_err()
            .contains("not a C macro name"));
        assert!(check_define("X=$(shell rm)")
            .unwrap_err()
            .contains("may only use"));
    }

    pub(super) fn refusal(args: &[&str]) -> String {
        Pipeline::new(opts(args)).err().expect("refused").message
    }

    #[test]
    fn module_names_are_checked_as_systemtap_does() {
        let e = refusal(&["-m", "../../evil", "-p4", "-e", "probe begin {}"]);
        assert_eq!(
            e,
            "ERROR: Safety pattern mismatch for -m parameter ('../../evil' vs. '^[a-z0-9_]+$') rc=1\n"
        );
        assert!(refusal(&["-m", "bad name!", "-e", "x"]).contains("('bad name!' vs."));
        assert_eq!(
            refusal(&["-m", "", "-e", "x"]),
            "Module name cannot be empty.\n"
        );
        let long = "m".repeat(60);
        let p = Pipeline::new(opts(&["-m", &long, "-p1", "-e", "probe begin {}"])).unwrap();
        assert_eq!(p.module_name(), "m".repeat(55));
        assert_eq!(
            p.warnings,
            format!("Truncating module name to '{}'\n", "m".repeat(55))
        );
        let p = Pipeline::new(opts(&["-m", "Upper_9", "-p1", "-e", "probe begin {}"])).unwrap();
        assert_eq!(p.module_name(), "Upper_9");
    }

    #[test]
    fn a_named_tree_that_is_not_there_fails_every_pass() {
        let e = refusal(&[
            "-p1",
            "-r",
            "stapkit-no-such-release",
            "-e",
            "probe begin {}",
        ]);
        assert!(
            e.starts_with(
                "Checking \"/lib/modules/stapkit-no-such-release/build/.config\" failed with error: No such file or directory\n"
            ),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().display().to_string();
        let e = refusal(&["-p2", "-r", &spec, "-e", "probe begin {}"]);
        assert!(
            e.starts_with(&format!(
                "ERROR: kernel release isn't found in \"{spec}\"\n"
            )),
            "{e}"
        );
        // `-r ''` is the running kernel's tree, as without -r.
        let p = Pipeline::new(opts(&["-p1", "-r", "", "-e", "probe begin {}"]));
        assert!(p.is_ok() || p.err().unwrap().message.contains("/lib/modules/"));
    }

    /// A script whose probes resolve to more points than `-D MAXPROBES`
    /// allows (a wildcard over a whole kernel) is refused at pass 2 with
    /// the count and the way to raise the limit, before anything is built.
    #[test]
    fn probe_points_beyond_maxprobes_are_refused_with_the_count() {
        let script = "probe begin, begin { exit() }\nprobe end, end { exit() }\n";
        let elaborate = |limit: &str| {
            let define = format!("MAXPROBES={limit}");
            let mut p = Pipeline::new(opts(&["-p2", "-D", &define, "-e", script])).unwrap();
            let parsed = p.parse().unwrap();
            p.elaborate(&parsed).map(drop).map_err(|f| f.message)
        };
        assert!(elaborate("4").is_ok());
        let e = elaborate("3").unwrap_err();
        assert!(
            e.contains(
                "too many probe points: this probe resolves to 2 probe points, 4 with the probes before it, more than the limit of 3"
            ),
            "{e}"
        );
        assert!(e.contains("-D MAXPROBES=4"), "{e}");
        assert!(e.contains("<input>:2:7"), "{e}");
    }

    #[test]
    fn include_dirs_and_scripts_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let e = refusal(&["-I", &file.display().to_string(), "-p1", "-e", "x"]);
        assert!(e.contains("not-a-dir: not a directory"), "{e}");
        let script = dir.path().join("bad.stp");
        std::fs::write(&script, b"probe begin {\n  print(\"caf\xe9\")\n}\n").unwrap();
        let e = refusal(&["-p1", &script.display().to_string()]);
        assert!(
            e.ends_with("bad.stp': invalid UTF-8 at line 2, column 13 (byte offset 26: 0xe9); save it as UTF-8\n"),
            "{e}"
        );
    }
}
