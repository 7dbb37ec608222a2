//! Wildcards in `process("PATH")` paths, expanded as SystemTap expands
//! them: with glob(3) over the target's file tree (under `--sysroot`), one
//! path component at a time, so that `*` never crosses a `/` and a name
//! beginning with `.` matches only a pattern that begins with `.`. A
//! pattern that matches no file is SystemTap's `glob PATTERN error (3)`
//! (glob's `GLOB_NOMATCH`); on multiarch trees such as Debian's, where
//! `/lib*/libc.so.6` matches nothing, the help names the file the script
//! most likely meant.

use crate::debuginfo::UserPrograms;
use crate::text::glob::{is_wildcard, Glob};

/// Most files one pattern may expand to: a pattern such as `/*/*/*/*`
/// would otherwise walk the whole tree.
const MAX_MATCHES: usize = 4096;

/// The target's files that the absolute `pattern` matches, sorted, one
/// per file (a path reached through a symbolic link, as `/lib` is
/// `/usr/lib` on merged-/usr trees, is kept only once, under the first
/// name glob gives it).
pub(super) fn expand(programs: &UserPrograms, pattern: &str) -> Vec<String> {
    let mut found = vec![String::new()];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for dir in &found {
            if !is_wildcard(component) {
                next.push(format!("{dir}/{component}"));
                continue;
            }
            let host = programs.host_path(if dir.is_empty() { "/" } else { dir });
            let Ok(entries) = std::fs::read_dir(&host) else {
                continue;
            };
            let glob = Glob::new(component);
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.') || component.starts_with('.'))
                .filter(|n| glob.matches(n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
            if next.len() > MAX_MATCHES {
                break;
            }
        }
        found = next;
    }
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|p| std::fs::metadata(programs.host_path(p)).is_ok_and(|m| m.is_file()))
        .filter(|p| {
            let host = programs.host_path(p);
            seen.insert(std::fs::canonicalize(&host).unwrap_or(host))
        })
        .take(MAX_MATCHES)
        .collect()
}

/// SystemTap's error for a pattern that matches nothing, and a help line
/// naming a file of the same name in a multiarch library directory
/// (`/usr/lib/TRIPLET/NAME`), when there is one.
pub(super) fn no_match(programs: &UserPrograms, pattern: &str) -> (String, Option<String>) {
    let message = format!("glob {pattern} error (3): no file matches it");
    let name = pattern.rsplit('/').next().unwrap_or(pattern);
    let help = ["/usr/lib/*/", "/usr/lib64/", "/usr/lib/"]
        .iter()
        .flat_map(|dir| expand(programs, &format!("{dir}{name}")))
        .next()
        .map(|p| {
            format!("this system keeps it elsewhere: write process(\"{p}\") (libraries of multiarch systems are under /usr/lib/TRIPLET)")
        });
    (message, help)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, UserPrograms) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            "usr/lib/x86_64-linux-gnu/libglib-2.0.so.0",
            "usr/lib/x86_64-linux-gnu/.hidden.so",
            "usr/lib64/ld-linux-x86-64.so.2",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib64", root.join("lib64")).unwrap();
        let programs = UserPrograms::new(Some(root.to_path_buf()));
        (dir, programs)
    }

    #[test]
    fn components_match_one_level_and_links_count_once() {
        let (_dir, p) = tree();
        assert_eq!(
            expand(&p, "/lib*/*/libc.so.*"),
            ["/lib/x86_64-linux-gnu/libc.so.6"]
        );
        assert_eq!(
            expand(&p, "/usr/lib/*/libglib-2.0.so.0"),
            ["/usr/lib/x86_64-linux-gnu/libglib-2.0.so.0"]
        );
        // `*` does not cross `/`, and hidden names need a leading dot.
        assert!(expand(&p, "/lib*/libc.so.6").is_empty());
        assert!(expand(&p, "/usr/lib/*/*hidden*").is_empty());
        assert_eq!(
            expand(&p, "/usr/lib/*/.h*"),
            ["/usr/lib/x86_64-linux-gnu/.hidden.so"]
        );
        // Directories are not files to probe.
        assert!(expand(&p, "/usr/lib/*").is_empty());
    }

    #[test]
    fn no_match_is_systemtaps_error_with_the_multiarch_path() {
        let (_dir, p) = tree();
        let (message, help) = no_match(&p, "/lib*/libc.so.6");
        assert_eq!(
            message,
            "glob /lib*/libc.so.6 error (3): no file matches it"
        );
        assert_eq!(
            help.as_deref(),
            Some("this system keeps it elsewhere: write process(\"/usr/lib/x86_64-linux-gnu/libc.so.6\") (libraries of multiarch systems are under /usr/lib/TRIPLET)")
        );
        assert_eq!(no_match(&p, "/lib*/libnothing.so").1, None);
    }
}
