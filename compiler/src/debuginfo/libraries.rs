//! The target's shared libraries as its dynamic loader finds them: a
//! library named by its soname (`libc.so.6`) is looked for in the
//! directories of the target's `/etc/ld.so.conf` (with its `include`s),
//! then in the multiarch and default directories; the libraries a program
//! needs are its `DT_NEEDED` entries (and theirs, transitively), looked
//! for first in its `DT_RPATH` (when it has no `DT_RUNPATH`) or
//! `DT_RUNPATH`. Paths are the target's (under `--sysroot` on this
//! machine, through [`UserPrograms::host_path`]), with symbolic links
//! resolved inside the target's tree, as `ldd` shows them.

use std::collections::BTreeSet;
use std::path::Path;

use object::read::elf::{Dyn, FileHeader};

use super::UserPrograms;

/// The directories searched after `ld.so.conf`'s, in order.
const DEFAULT_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];

/// How deep `ld.so.conf` includes may nest.
const MAX_INCLUDE_DEPTH: usize = 8;

/// At most this many libraries are followed from one program.
const MAX_LIBRARIES: usize = 1024;

/// A library a program loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededLibrary {
    /// The name it is needed by (`DT_NEEDED`: `libc.so.6`).
    pub soname: String,
    /// The target's path of its file, links resolved.
    pub path: String,
}

impl NeededLibrary {
    /// Whether this is what a `.library("SPEC")` names: SPEC (a glob)
    /// matching the whole path when it is absolute, else the soname or the
    /// file's name.
    pub fn matches(&self, spec: &str) -> bool {
        let glob = crate::text::glob::Glob::new(spec);
        if spec.starts_with('/') {
            return glob.matches(&self.path);
        }
        let name = self.path.rsplit('/').next().unwrap_or(&self.path);
        glob.matches(&self.soname) || glob.matches(name)
    }
}

/// The libraries a program loads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Those found, in the order `ldd` lists them.
    pub found: Vec<NeededLibrary>,
    /// The sonames needed that no library directory has.
    pub missing: Vec<String>,
}

/// What a program's dynamic section says about its libraries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DynamicNeeds {
    /// `DT_NEEDED`: the sonames it needs, in order.
    pub needed: Vec<String>,
    /// `DT_RUNPATH`, else `DT_RPATH`: directories searched first.
    pub search: Vec<String>,
}

/// The dynamic section of the ELF file `data` (empty for a static
/// program); `origin` is the target's directory of the file, for `$ORIGIN`.
pub fn dynamic_needs(data: &[u8], origin: &str) -> Result<DynamicNeeds, String> {
    match object::FileKind::parse(data) {
        Ok(object::FileKind::Elf64) => needs::<object::elf::FileHeader64<object::Endianness>>(data),
        Ok(object::FileKind::Elf32) => needs::<object::elf::FileHeader32<object::Endianness>>(data),
        _ => Err("not an ELF file".to_string()),
    }
    .map(|mut n| {
        for dir in &mut n.search {
            *dir = dir.replace("${ORIGIN}", origin).replace("$ORIGIN", origin);
        }
        n
    })
}

fn needs<E: FileHeader<Endian = object::Endianness>>(data: &[u8]) -> Result<DynamicNeeds, String> {
    let e = |e: object::read::Error| e.to_string();
    let header = E::parse(data).map_err(e)?;
    let endian = header.endian().map_err(e)?;
    let sections = header.sections(endian, data).map_err(e)?;
    let Some((entries, link)) = sections.dynamic(endian, data).map_err(e)? else {
        return Ok(DynamicNeeds::default());
    };
    let strings = sections.strings(endian, data, link).map_err(e)?;
    let (mut needed, mut runpath, mut rpath) = (Vec::new(), Vec::new(), Vec::new());
    for entry in entries {
        let Some(tag) = entry.tag32(endian) else {
            continue;
        };
        let list = match tag {
            object::elf::DT_NEEDED => &mut needed,
            object::elf::DT_RUNPATH => &mut runpath,
            object::elf::DT_RPATH => &mut rpath,
            object::elf::DT_NULL => break,
            _ => continue,
        };
        let text = entry.string(endian, strings).map_err(e)?;
        let text = String::from_utf8_lossy(text);
        if tag == object::elf::DT_NEEDED {
            list.push(text.into_owned());
        } else {
            list.extend(
                text.split(':')
                    .filter(|d| !d.is_empty())
                    .map(str::to_string),
            );
        }
    }
    Ok(DynamicNeeds {
        needed,
        search: if runpath.is_empty() { rpath } else { runpath },
    })
}

impl UserPrograms {
    /// The target's library directories: `/etc/ld.so.conf`'s (its
    /// `include`s followed) and then the default ones.
    pub fn library_dirs(&self) -> Vec<String> {
        let mut dirs = Vec::new();
        self.read_ld_so_conf("/etc/ld.so.conf", 0, &mut dirs);
        for d in DEFAULT_DIRS {
            if !dirs.iter().any(|x| x == d) {
                dirs.push(d.to_string());
            }
        }
        dirs
    }

    fn read_ld_so_conf(&self, path: &str, depth: usize, dirs: &mut Vec<String>) {
        if depth > MAX_INCLUDE_DEPTH {
            return;
        }
        let Ok(text) = std::fs::read_to_string(self.host_path(path)) else {
            return;
        };
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some(pattern) = line.strip_prefix("include") {
                for file in self.conf_includes(pattern.trim(), path) {
                    self.read_ld_so_conf(&file, depth + 1, dirs);
                }
            } else if line.starts_with('/') && !dirs.iter().any(|d| d == line) {
                dirs.push(line.to_string());
            }
        }
    }

    /// The files an `include PATTERN` of `conf` names, sorted (a
    /// wildcard only in the last component, as Debian's is).
    fn conf_includes(&self, pattern: &str, conf: &str) -> Vec<String> {
        let pattern = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            let dir = conf.rsplit_once('/').map_or("", |(d, _)| d);
            format!("{dir}/{pattern}")
        };
        let Some((dir, name)) = pattern.rsplit_once('/') else {
            return Vec::new();
        };
        if !crate::text::glob::is_wildcard(name) {
            return vec![pattern.clone()];
        }
        let glob = crate::text::glob::Glob::new(name);
        let Ok(entries) = std::fs::read_dir(self.host_path(dir)) else {
            return Vec::new();
        };
        let mut files: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| glob.matches(n))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        files.sort();
        files
    }

    /// The target's path of the library `soname`, looked for in `first`
    /// and then in [`Self::library_dirs`]; `None` when no directory has it.
    pub fn find_library(&self, soname: &str, first: &[String]) -> Option<String> {
        if soname.contains('/') {
            return self
                .host_path(soname)
                .is_file()
                .then(|| self.real_path(soname));
        }
        first
            .iter()
            .cloned()
            .chain(self.library_dirs())
            .map(|dir| format!("{}/{soname}", dir.trim_end_matches('/')))
            .find(|path| self.host_path(path).is_file())
            .map(|path| self.real_path(&path))
    }

    /// The libraries the target's program `path` loads, as `ldd` finds
    /// them: its `DT_NEEDED` and theirs, each once, in the order found;
    /// the sonames no directory has are [`Loaded::missing`].
    pub fn needed_libraries(&self, path: &str) -> Result<Loaded, String> {
        let mut loaded = Loaded::default();
        let mut seen = BTreeSet::new();
        let mut queue = vec![path.to_string()];
        let mut at = 0;
        while at < queue.len() && loaded.found.len() < MAX_LIBRARIES {
            let file = queue[at].clone();
            at += 1;
            let host = self.host_path(&file);
            let data =
                std::fs::read(&host).map_err(|e| format!("cannot read {}: {e}", host.display()))?;
            let origin = file.rsplit_once('/').map_or("/", |(d, _)| d);
            let needs =
                dynamic_needs(&data, origin).map_err(|e| format!("{}: {e}", host.display()))?;
            for soname in needs.needed {
                if !seen.insert(soname.clone()) {
                    continue;
                }
                match self.find_library(&soname, &needs.search) {
                    None => loaded.missing.push(soname),
                    Some(lib) if !loaded.found.iter().any(|f| f.path == lib) => {
                        queue.push(lib.clone());
                        loaded.found.push(NeededLibrary { soname, path: lib });
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(loaded)
    }

    /// `path` with its symbolic links resolved inside the target's tree
    /// (as it is when they lead out of it).
    fn real_path(&self, path: &str) -> String {
        let host = self.host_path(path);
        let Ok(real) = host.canonicalize() else {
            return path.to_string();
        };
        let root = match self.sysroot() {
            Some(root) => match root.canonicalize() {
                Ok(r) => r,
                Err(_) => return path.to_string(),
            },
            None => Path::new("/").to_path_buf(),
        };
        match real.strip_prefix(&root) {
            Ok(rest) => format!("/{}", rest.display()),
            Err(_) => path.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sysroot_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (path, data) in files {
            let host = root.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(host.parent().unwrap()).unwrap();
            std::fs::write(host, data).unwrap();
        }
        root
    }

    #[test]
    fn ld_so_conf_includes_come_before_the_default_directories() {
        let root = sysroot_with(&[
            (
                "/etc/ld.so.conf",
                b"include /etc/ld.so.conf.d/*.conf\n/opt/b\n",
            ),
            ("/etc/ld.so.conf.d/a.conf", b"# a comment\n/opt/a\n"),
            ("/etc/ld.so.conf.d/z.txt", b"/opt/not-included\n"),
            ("/etc/ld.so.conf.d/b.conf", b"include b.conf\n"),
        ]);
        let programs = UserPrograms::new(Some(root.path().to_path_buf()));
        let dirs = programs.library_dirs();
        assert_eq!(&dirs[..2], ["/opt/a", "/opt/b"]);
        assert_eq!(
            dirs[2..],
            DEFAULT_DIRS
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn sonames_are_found_through_the_library_directories_and_links() {
        let root = sysroot_with(&[
            ("/usr/lib/x86_64-linux-gnu/libz.so.1.2", b"x"),
            ("/opt/first/libq.so.1", b"x"),
        ]);
        std::os::unix::fs::symlink("usr/lib", root.path().join("lib")).unwrap();
        std::os::unix::fs::symlink(
            "libz.so.1.2",
            root.path().join("usr/lib/x86_64-linux-gnu/libz.so.1"),
        )
        .unwrap();
        let programs = UserPrograms::new(Some(root.path().to_path_buf()));
        assert_eq!(
            programs.find_library("libz.so.1", &[]).as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/libz.so.1.2")
        );
        assert_eq!(
            programs
                .find_library("libq.so.1", &["/opt/first".into()])
                .as_deref(),
            Some("/opt/first/libq.so.1")
        );
        assert_eq!(programs.find_library("libq.so.1", &[]), None);
        assert_eq!(programs.find_library("libnone.so", &[]), None);
    }

    #[test]
    fn this_test_program_needs_the_c_library() {
        let exe = std::env::current_exe().unwrap();
        let data = std::fs::read(&exe).unwrap();
        let needs = dynamic_needs(&data, "/x").unwrap();
        assert!(
            needs.needed.iter().any(|n| n.starts_with("libc.so")),
            "{needs:?}"
        );
        let programs = UserPrograms::new(None);
        let libs = programs
            .needed_libraries(&exe.to_string_lossy())
            .unwrap()
            .found;
        assert!(libs.iter().any(|l| l.matches("libc.so.6")), "{libs:?}");
        assert!(libs.iter().all(|l| l.path.starts_with('/')), "{libs:?}");
    }

    #[test]
    fn library_specs_match_sonames_file_names_or_whole_paths() {
        let lib = NeededLibrary {
            soname: "libz.so.1".into(),
            path: "/usr/lib/x86_64-linux-gnu/libz.so.1.2.13".into(),
        };
        assert!(lib.matches("libz.so.1"));
        assert!(lib.matches("libz.so.1.2.13"));
        assert!(lib.matches("libz*"));
        assert!(lib.matches("/usr/lib/*/libz.so.1.2.13"));
        assert!(!lib.matches("libm.so.6"));
        assert!(!lib.matches("/lib/libz.so.1"));
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert!(dynamic_needs(b"not elf", "/").is_err());
        let mut data = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        data.truncate(200);
        assert!(dynamic_needs(&data, "/").is_err());
    }
}
