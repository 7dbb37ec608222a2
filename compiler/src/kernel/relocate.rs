//! Relocation of unpacked kernel packages.
//!
//! Debian's header packages assume they are installed at `/`: the
//! flavour tree's Makefile says `include /usr/src/linux-headers-R-common/Makefile`
//! and `/lib/modules/R/build` is an absolute symlink. After unpacking under
//! some `ROOT`, absolute paths in the header trees' top-level Makefiles are
//! pointed into `ROOT`, and absolute symlinks are made relative to stay
//! inside it.

use std::path::{Component, Path, PathBuf};

use super::PrepError;

/// What relocation changed, for the record and for tests.
#[derive(Debug, Default, PartialEq)]
pub struct Relocation {
    /// Makefiles whose absolute `/usr/src/` paths were rewritten.
    pub makefiles: Vec<PathBuf>,
    /// Symlinks whose absolute targets were made relative.
    pub symlinks: Vec<PathBuf>,
}

/// Relocates the tree unpacked at `root` (absolute). Idempotent.
pub fn relocate(root: &Path) -> Result<Relocation, PrepError> {
    let mut done = Relocation::default();
    let src = root.join("usr/src");
    if let Ok(entries) = std::fs::read_dir(&src) {
        let mut dirs: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        dirs.sort();
        for dir in dirs {
            let makefile = dir.join("Makefile");
            if makefile.is_file() && rewrite_makefile(&makefile, root)? {
                done.makefiles.push(
                    makefile
                        .strip_prefix(root)
                        .unwrap_or(&makefile)
                        .to_path_buf(),
                );
            }
        }
    }
    for entry in walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| PrepError::Io {
            path: e.path().unwrap_or(root).to_path_buf(),
            error: e.into(),
        })?;
        if !entry.path_is_symlink() {
            continue;
        }
        let link = entry.path();
        let target = std::fs::read_link(link).map_err(|error| PrepError::Io {
            path: link.into(),
            error,
        })?;
        if !target.is_absolute() {
            continue;
        }
        let relative = relative_within_root(link.strip_prefix(root).unwrap_or(link), &target);
        std::fs::remove_file(link).map_err(|error| PrepError::Io {
            path: link.into(),
            error,
        })?;
        std::os::unix::fs::symlink(&relative, link).map_err(|error| PrepError::Io {
            path: link.into(),
            error,
        })?;
        done.symlinks
            .push(link.strip_prefix(root).unwrap_or(link).to_path_buf());
    }
    Ok(done)
}

/// Rewrites `/usr/src/` references to `ROOT/usr/src/`; true if it changed.
fn rewrite_makefile(path: &Path, root: &Path) -> Result<bool, PrepError> {
    let text = std::fs::read_to_string(path).map_err(|error| PrepError::Io {
        path: path.into(),
        error,
    })?;
    let new_prefix = format!("{}/usr/src/", root.display());
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text.as_str();
    while let Some(at) = rest.find("/usr/src/") {
        // Only rewrite an absolute path: preceded by start, space, '=', quote or ':'.
        let before = rest[..at].chars().next_back();
        let absolute = matches!(
            before,
            None | Some(' ' | '\t' | '=' | '"' | '\'' | ':' | '(')
        );
        out.push_str(&rest[..at]);
        if absolute {
            out.push_str(&new_prefix);
            changed = true;
        } else {
            out.push_str("/usr/src/");
        }
        rest = &rest[at + "/usr/src/".len()..];
    }
    out.push_str(rest);
    if changed {
        std::fs::write(path, out).map_err(|error| PrepError::Io {
            path: path.into(),
            error,
        })?;
    }
    Ok(changed)
}

/// The relative path from the symlink at `link` (relative to the root) to
/// the absolute `target` interpreted inside the root.
fn relative_within_root(link: &Path, target: &Path) -> PathBuf {
    let parent_depth = link.parent().map(|p| p.components().count()).unwrap_or(0);
    let mut rel = PathBuf::new();
    for _ in 0..parent_depth {
        rel.push("..");
    }
    for c in target.components() {
        if let Component::Normal(part) = c {
            rel.push(part);
        }
    }
    rel
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relocates_the_kbuild_output_that_7_x_pins() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let flavour = root.join("usr/src/linux-headers-7.2.13+deb14-amd64");
        std::fs::create_dir_all(&flavour).unwrap();
        std::fs::write(
            flavour.join("Makefile"),
            "KBUILD_OUTPUT=/usr/src/linux-headers-7.2.13+deb14-amd64\n\
             include /usr/src/linux-headers-7.2.13+deb14-common/Makefile\n",
        )
        .unwrap();
        relocate(root).unwrap();
        assert_eq!(
            std::fs::read_to_string(flavour.join("Makefile")).unwrap(),
            format!(
                "KBUILD_OUTPUT={0}/usr/src/linux-headers-7.2.13+deb14-amd64\n\
                 include {0}/usr/src/linux-headers-7.2.13+deb14-common/Makefile\n",
                root.display()
            )
        );
    }

    #[test]
    fn relocates_debian_header_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let flavour = root.join("usr/src/linux-headers-6.1.0-56-amd64");
        std::fs::create_dir_all(&flavour).unwrap();
        std::fs::create_dir_all(root.join("usr/src/linux-headers-6.1.0-56-common")).unwrap();
        std::fs::write(
            flavour.join("Makefile"),
            "include /usr/src/linux-headers-6.1.0-56-common/Makefile\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("lib/modules/6.1.0-56-amd64")).unwrap();
        std::os::unix::fs::symlink(
            "/usr/src/linux-headers-6.1.0-56-amd64",
            root.join("lib/modules/6.1.0-56-amd64/build"),
        )
        .unwrap();
        std::os::unix::fs::symlink(
            "../../lib/linux-kbuild-6.1/scripts",
            flavour.join("scripts"),
        )
        .unwrap();

        let done = relocate(root).unwrap();
        assert_eq!(
            done.makefiles,
            [PathBuf::from(
                "usr/src/linux-headers-6.1.0-56-amd64/Makefile"
            )]
        );
        assert_eq!(
            done.symlinks,
            [PathBuf::from("lib/modules/6.1.0-56-amd64/build")]
        );
        let makefile = std::fs::read_to_string(flavour.join("Makefile")).unwrap();
        assert_eq!(
            makefile,
            format!(
                "include {}/usr/src/linux-headers-6.1.0-56-common/Makefile\n",
                root.display()
            )
        );
        let link = std::fs::read_link(root.join("lib/modules/6.1.0-56-amd64/build")).unwrap();
        assert_eq!(
            link,
            PathBuf::from("../../../usr/src/linux-headers-6.1.0-56-amd64")
        );
        assert!(root
            .join("lib/modules/6.1.0-56-amd64/build")
            .join("Makefile")
            .is_file());
        // Relative links are left alone, and a second run changes nothing.
        assert_eq!(
            std::fs::read_link(flavour.join("scripts")).unwrap(),
            PathBuf::from("../../lib/linux-kbuild-6.1/scripts")
        );
        assert_eq!(relocate(root).unwrap(), Relocation::default());
    }
}
