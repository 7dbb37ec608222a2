//! Finding a user program's debug information the way gdb and SystemTap
//! do: the program itself when it still has `.debug_info`; else the file
//! its build-id note names under a debug root
//! (`/usr/lib/debug/.build-id/XX/REST.debug`, XX the first byte in hex);
//! else the file its `.gnu_debuglink` names, beside the program, in
//! `.debug/` beside it, or under the debug root at the program's own
//! directory (`/usr/lib/debug/usr/bin/NAME`), accepted only when its CRC-32
//! matches the link's; else a debuginfod server ([`super::debuginfod`]).
//!
//! Debug roots are `--sysroot DIR` + `/usr/lib/debug` for a target tree,
//! and this machine's `/usr/lib/debug` for its own programs. A file found
//! by build id must carry the same build id (a stale link is skipped).
//! The error lists every place tried, so the user knows where to put the
//! file or which package to unpack.

use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};

/// How a debug file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The program is not stripped.
    Itself,
    /// By its build id under a debug root.
    BuildId,
    /// By its `.gnu_debuglink` (CRC checked).
    DebugLink,
    /// Downloaded from (or cached from) a debuginfod server.
    Debuginfod,
}

/// A program's debug file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugFile {
    /// Where it is on this machine.
    pub path: PathBuf,
    /// How it was found.
    pub found: Found,
    /// The program's build id (hex), if it has one.
    pub build_id: Option<String>,
}

/// What a program says about its debug information.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DebugLinks {
    /// Whether the program has DWARF of its own (`.debug_info` with bytes).
    pub has_dwarf: bool,
    /// The build-id note, in hex.
    pub build_id: Option<String>,
    /// The `.gnu_debuglink` file name and CRC-32.
    pub debuglink: Option<(String, u32)>,
}

/// Where to look: the debug roots, in order, and the debuginfod client
/// (None: no servers configured).
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    /// Directories laid out as `/usr/lib/debug` is.
    pub debug_roots: Vec<PathBuf>,
    /// Asked last, by build id.
    pub debuginfod: Option<super::debuginfod::Client>,
}

impl SearchPath {
    /// The usual places for a target whose files are at `sysroot` (None:
    /// this machine), and debuginfod when `DEBUGINFOD_URLS` names servers.
    pub fn standard(sysroot: Option<&Path>, cache_dir: &Path) -> SearchPath {
        let debug_roots = match sysroot {
            Some(root) => vec![root.join("usr/lib/debug")],
            None => vec![PathBuf::from("/usr/lib/debug")],
        };
        SearchPath {
            debug_roots,
            debuginfod: super::debuginfod::Client::from_env(cache_dir),
        }
    }
}

/// Reads the build id, debuglink and own DWARF of the ELF `data`.
pub fn links_of(data: &[u8]) -> Result<DebugLinks, String> {
    let elf = object::File::parse(data).map_err(|e| e.to_string())?;
    let has_dwarf = elf
        .section_by_name(".debug_info")
        .is_some_and(|s| s.file_range().is_some_and(|(_, size)| size > 0));
    let build_id = elf.build_id().ok().flatten().map(hex);
    let debuglink = elf
        .gnu_debuglink()
        .ok()
        .flatten()
        .map(|(name, crc)| (String::from_utf8_lossy(name).into_owned(), crc));
    Ok(DebugLinks {
        has_dwarf,
        build_id,
        debuglink,
    })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `ROOT/.build-id/XX/REST.debug` for build id `id` (hex).
pub fn build_id_path(root: &Path, id: &str) -> Option<PathBuf> {
    if id.len() < 4 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(
        root.join(".build-id")
            .join(&id[..2])
            .join(format!("{}.debug", &id[2..])),
    )
}

/// The CRC-32 `.gnu_debuglink` records (zlib's, over the whole file).
pub fn debuglink_crc(path: &Path) -> std::io::Result<u32> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buf[..n]);
    }
}

/// Finds the debug file of the program at `host` (the target's `target`
/// path, which debuglink roots follow). The error names every place
/// tried and why each did not fit.
pub fn find(host: &Path, target: &str, search: &SearchPath) -> Result<DebugFile, String> {
    let data = std::fs::read(host).map_err(|e| format!("cannot read {}: {e}", host.display()))?;
    let links =
        links_of(&data).map_err(|e| format!("{} is not an ELF program: {e}", host.display()))?;
    if links.has_dwarf {
        return Ok(DebugFile {
            path: host.to_path_buf(),
            found: Found::Itself,
            build_id: links.build_id,
        });
    }
    let mut tried: Vec<String> = Vec::new();
    let done = |path: PathBuf, found| DebugFile {
        path,
        found,
        build_id: links.build_id.clone(),
    };
    if let Some(id) = &links.build_id {
        for root in &search.debug_roots {
            let Some(path) = build_id_path(root, id) else {
                continue;
            };
            match check_build_id(&path, id) {
                Ok(()) => return Ok(done(path, Found::BuildId)),
                Err(why) => tried.push(format!("{} ({why})", path.display())),
            }
        }
    }
    if let Some((name, crc)) = &links.debuglink {
        let dir = host.parent().unwrap_or(Path::new("/"));
        let target_dir = Path::new(target)
            .parent()
            .unwrap_or(Path::new("/"))
            .strip_prefix("/")
            .unwrap_or(Path::new(""))
            .to_path_buf();
        let mut candidates = vec![dir.join(name), dir.join(".debug").join(name)];
        candidates.extend(
            search
                .debug_roots
                .iter()
                .map(|root| root.join(&target_dir).join(name)),
        );
        for path in candidates {
            if same_file(&path, host) {
                continue;
            }
            match debuglink_crc(&path) {
                Ok(got) if got == *crc => return Ok(done(path, Found::DebugLink)),
                Ok(got) => tried.push(format!(
                    "{} (CRC {got:08x}, the link wants {crc:08x})",
                    path.display()
                )),
                Err(e) => tried.push(format!("{} ({})", path.display(), short_io(&e))),
            }
        }
    }
    if let (Some(id), Some(client)) = (&links.build_id, &search.debuginfod) {
        match client.debuginfo(id) {
            Ok(path) => return Ok(done(path, Found::Debuginfod)),
            Err(e) => tried.push(e),
        }
    }
    let what = match (&links.build_id, &links.debuglink) {
        (None, None) => "it has no build id and no .gnu_debuglink".to_string(),
        (Some(id), None) => format!("build id {id}"),
        (None, Some((name, _))) => format!("debuglink {name}"),
        (Some(id), Some((name, _))) => format!("build id {id}, debuglink {name}"),
    };
    let mut message = format!(
        "{} has no DWARF of its own and no debug file for it was found ({what})",
        host.display()
    );
    if !tried.is_empty() {
        message.push_str("; tried: ");
        message.push_str(&tried.join(", "));
    }
    if search.debuginfod.is_none() && links.build_id.is_some() {
        message.push_str("; DEBUGINFOD_URLS is not set");
    }
    Err(message)
}

/// Whether the file at `path` has DWARF and carries build id `id`.
fn check_build_id(path: &Path, id: &str) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| short_io(&e))?;
    let links = links_of(&data).map_err(|e| format!("not ELF: {e}"))?;
    if links.build_id.as_deref() != Some(id) {
        return Err(format!(
            "its build id is {}",
            links.build_id.as_deref().unwrap_or("missing")
        ));
    }
    if !links.has_dwarf {
        return Err("it has no .debug_info".into());
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn short_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "not there".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
#[path = "debugfile_tests.rs"]
mod tests;
