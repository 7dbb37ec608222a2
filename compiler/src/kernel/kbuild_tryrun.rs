//! Kbuild's compiler tests, answered from a cache.
//!
//! Every `make -C TREE M=DIR` parses the tree's top Makefile, which asks
//! the compiler, assembler and linker some thirty questions through
//! kbuild's `try-run` (`cc-option`, `cc-disable-warning`, `as-instr`,
//! `ld-option`, ...): one `gcc`, `cc1` and `as` each, more CPU time than
//! compiling a small module. The answers depend only on the tree, the
//! toolchain and the `make` variables, so the first build of a tree
//! records them and later builds read them back.
//!
//! The build passes `try-run=$(stp-try-run)` on `make`'s command line,
//! which overrides the tree's own definition in every sub-make, and names
//! a helper makefile in `MAKEFILES`, which every `make` reads first.
//! `stp-try-run` looks the test's command text up among the recorded
//! answers and otherwise runs it exactly as kbuild's `try-run` does (the
//! same shell line, `TMP` and `TMPO` under kbuild's `TMPOUT`), appending
//! the answer to a log when recording. The answers are byte for byte what
//! the tests print, so the flags kbuild computes, the commands it runs and
//! the module it links are the same as without the cache; a test the
//! cache does not know is simply run.
//!
//! The cache file holds only lines `stp-try-KEY := $(stp-empty)ANSWER`
//! with no other `$` and no `#` in them; anything else in it discards it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The helper definitions; the recorded answers follow them.
const HELPERS: &str = r#"# stapkit: kbuild's try-run answered from a cache (kernel::kbuild_tryrun).
stp-empty :=
stp-sp := $(stp-empty) $(stp-empty)
stp-hash := $(shell printf '\043')
stp-try-key = stp-try-$(subst $(stp-sp),_s,$(subst =,_e,$(subst :,_c,$(subst $(stp-hash),_h,$(subst $$,_d,$(subst %,_p,$(subst _,__,$(strip $(1)))))))))
stp-try-real = $(shell set -e; TMP=$(TMPOUT)/tmp; TMPO=$(TMPOUT)/tmp.o; mkdir -p $(TMPOUT); trap "rm -rf $(TMPOUT)" EXIT; if ($(1)) >/dev/null 2>&1; then echo "$(2)"; else echo "$(3)"; fi)
stp-try-keep = $(if $(STP_TRY_LOG),$(if $(findstring $$,$(2))$(findstring $(stp-hash),$(2)),,$(file >>$(STP_TRY_LOG),$(1) := $$(stp-empty)$(2))))
stp-try-done = $(call stp-try-keep,$(1),$(2))$(2)
stp-try-new = $(call stp-try-done,$(stp-try-key),$(call stp-try-real,$(1),$(2),$(3)))
stp-try-run = $(if $(filter undefined,$(origin $(stp-try-key))),$(stp-try-new),$($(stp-try-key)))
"#;

/// The helper makefile's name in the build directory.
const HELPER_FILE: &str = ".stapkit-try-run.mk";

/// The log of a recording build, in the build directory.
const LOG_FILE: &str = ".stapkit-try-run.log";

/// Where the answers for a tree are kept: its feature directory
/// (`kernel::features`, keyed by tree and toolchain), one file per set of
/// `-B` variables (which may change the compiler).
pub fn cache_path(features_dir: &Path, make_vars: &[String]) -> PathBuf {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for var in make_vars {
        h.update((var.len() as u64).to_le_bytes());
        h.update(var.as_bytes());
    }
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    features_dir.join(format!("try-run-{hex}.mk"))
}

/// How one build uses the cache.
#[derive(Debug)]
pub struct TryRun {
    /// The cache file.
    cache: PathBuf,
    /// The log to store after a good build (`None`: the cache was read).
    log: Option<PathBuf>,
}

impl TryRun {
    /// Sets `make` up to answer from `cache` (or to record into it when it
    /// is missing or unusable), with the helper written to `dir`.
    pub fn prepare(cache: &Path, dir: &Path, make: &mut Command) -> std::io::Result<TryRun> {
        let answers = std::fs::read_to_string(cache)
            .ok()
            .filter(|text| valid(text));
        let helper = dir.join(HELPER_FILE);
        let mut text = HELPERS.to_string();
        if let Some(answers) = &answers {
            text.push_str(answers);
        }
        std::fs::write(&helper, text)?;
        make.arg("try-run=$(stp-try-run)").env("MAKEFILES", &helper);
        let log = match answers {
            Some(_) => {
                make.env_remove("STP_TRY_LOG");
                None
            }
            None => {
                let log = dir.join(LOG_FILE);
                std::fs::write(&log, "")?;
                make.env("STP_TRY_LOG", &log);
                Some(log)
            }
        };
        Ok(TryRun {
            cache: cache.to_path_buf(),
            log,
        })
    }

    /// After a build that succeeded: stores what it recorded. A cache that
    /// cannot be written costs time, not correctness, so errors are dropped.
    pub fn finish(self) {
        let Some(log) = self.log else { return };
        let Ok(text) = std::fs::read_to_string(&log) else {
            return;
        };
        if text.is_empty() || !valid(&text) {
            return;
        }
        let Some(parent) = self.cache.parent() else {
            return;
        };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(parent) {
            use std::io::Write;
            if tmp.write_all(text.as_bytes()).is_ok() {
                let _ = tmp.persist(&self.cache);
            }
        }
    }
}

/// Whether every line is one recorded answer and nothing else.
pub fn valid(text: &str) -> bool {
    text.ends_with('\n')
        && text.lines().all(|line| {
            let Some((key, answer)) = line.split_once(" := $(stp-empty)") else {
                return false;
            };
            key.starts_with("stp-try-")
                && !key.contains([' ', '\t', '$', '#', '=', ':'])
                && !answer.contains(['$', '#'])
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recorded_answers_are_read_back() {
        assert!(valid(
            "stp-try-gcc-12_s-Werror_s-fno-foo := $(stp-empty)-fno-foo\nstp-try-x := $(stp-empty)\n"
        ));
        assert!(!valid(""));
        assert!(!valid("stp-try-x := $(stp-empty)-a"));
        assert!(!valid("stp-try-x := $(shell rm -rf /)\n"));
        assert!(!valid("stp-try-x := $(stp-empty)$(shell id)\n"));
        assert!(!valid("stp-try-x y := $(stp-empty)\n"));
        assert!(!valid("all: ; echo\n"));
        assert!(!valid("stp-try-x := $(stp-empty)a # comment\n"));
    }

    /// The helper, run by the host's `make` on a test that passes, one
    /// that fails and one that prints a `$`: the answers are those of
    /// kbuild's `try-run`, recorded, then read back without running.
    #[test]
    fn make_records_and_replays_answers() {
        if Command::new("make").arg("--version").output().is_err() {
            // Without make there is nothing kbuild could run either; the
            // kernel tests exercise this with the real trees.
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let makefile = dir.path().join("Makefile");
        std::fs::write(
            &makefile,
            "TMPOUT = .tmp_$$$$\n\
             try-run = $(error the override is not in effect)\n\
             a := $(call try-run,true,-fyes,-fno)\n\
             b := $(call try-run,false : x=y,-fyes,-fno)\n\
             c := $(call try-run,touch \"$$TMP\",ok, )\n\
             all: ; @echo '[$(a)][$(b)][$(c)]'\n",
        )
        .unwrap();
        let cache = dir.path().join("cache/try-run.mk");
        let run = || {
            let mut make = Command::new("make");
            make.arg("-s").arg("-C").arg(dir.path());
            let t = TryRun::prepare(&cache, dir.path(), &mut make).unwrap();
            let out = make.output().unwrap();
            assert!(out.status.success(), "{out:?}");
            t.finish();
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(run().trim_end(), "[-fyes][-fno][ok]");
        let recorded = std::fs::read_to_string(&cache).unwrap();
        assert_eq!(recorded.lines().count(), 3, "{recorded}");
        assert!(valid(&recorded));
        // Replaying: the answers come from the file (changed here to show it).
        std::fs::write(&cache, recorded.replace("-fyes", "-fcached")).unwrap();
        assert_eq!(run().trim_end(), "[-fcached][-fno][ok]");
    }
}
