//! RPM-family kernels (CentOS Stream, RHEL, AlmaLinux, Rocky, Fedora):
//! read a repository's metadata (`repodata/repomd.xml`, then its
//! `primary.xml.{gz,zst,xz}`), pick the newest (or the locked) release of
//! the series, download the packages with apt's own acquire code
//! (`apt-helper download-file`: http, https and the machine's apt proxy
//! settings), check their SHA-256 against the metadata, unpack their cpio
//! payloads and relocate `/usr/src/kernels/REL`.
//!
//! No root of these distributions can be had here, so modules are built
//! with a Debian gcc; `stap-prep` says which, beside the kernel's own
//! (`kernel::compiler_note`), as for every kernel whose compiler is not here.

use std::cmp::Ordering;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::events::Event;

use super::archives::Archives;
use super::cache::{Cache, FetchState, FetchedPackage};
use super::fetch::{FetchOptions, Fetched};
use super::lock::{sha256_file, LockedKernel, LockedPackage};
use super::manifest::{release_matches, Manifest, RpmSource};
use super::{relocate, PrepError};

/// One package as a repository's primary metadata lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RpmPackage {
    /// Package name (`kernel-devel`).
    pub name: String,
    /// Epoch (`0` when absent).
    pub epoch: String,
    /// Upstream version (`5.14.0`).
    pub version: String,
    /// Package release (`503.el9`).
    pub release: String,
    /// Architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// SHA-256 of the `.rpm`.
    pub sha256: String,
    /// Path of the `.rpm` under the repository.
    pub href: String,
    /// Size in bytes.
    pub size: u64,
    /// The repository's base URI.
    pub base: String,
}

impl RpmPackage {
    /// The kernel release it carries: `VERSION-RELEASE.ARCH` (`uname -r`).
    pub fn kernel_release(&self) -> String {
        format!("{}-{}.{}", self.version, self.release, self.arch)
    }

    /// `VERSION-RELEASE`, what lock files and listings show.
    pub fn full_version(&self) -> String {
        format!("{}-{}", self.version, self.release)
    }

    fn evr(&self) -> String {
        format!("{}:{}-{}", self.epoch, self.version, self.release)
    }
}

/// The `href` of the primary metadata in a `repomd.xml`.
pub fn primary_href(repomd: &[u8]) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_reader(repomd);
    let mut in_primary = false;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"data" => {
                    in_primary = attr(&e, b"type").as_deref() == Some("primary");
                }
                b"location" if in_primary => {
                    return attr(&e, b"href").ok_or_else(|| "<location> without href".to_string())
                }
                _ => {}
            },
            Ok(Event::Eof) => return Err("no <data type=\"primary\"> entry".into()),
            Err(e) => return Err(format!("at byte {}: {e}", reader.buffer_position())),
            _ => {}
        }
        buf.clear();
    }
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The packages of a primary.xml whose name `wanted` accepts.
pub fn parse_primary(
    xml: &[u8],
    base: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<RpmPackage>, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut current: Option<RpmPackage> = None;
    let mut text_of: Option<&'static str> = None;
    let mut checksum_sha256 = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                match (name.as_ref(), current.as_mut()) {
                    (b"package", _) => {
                        current = Some(RpmPackage {
                            name: String::new(),
                            epoch: "0".into(),
                            version: String::new(),
                            release: String::new(),
                            arch: String::new(),
                            sha256: String::new(),
                            href: String::new(),
                            size: 0,
                            base: base.to_string(),
                        })
                    }
                    (b"name", Some(_)) => text_of = Some("name"),
                    (b"arch", Some(_)) => text_of = Some("arch"),
                    (b"checksum", Some(_)) => {
                        checksum_sha256 = attr(&e, b"type").as_deref() == Some("sha256");
                        text_of = Some("checksum");
                    }
                    (b"version", Some(p)) => {
                        p.epoch = attr(&e, b"epoch").unwrap_or_else(|| "0".into());
                        p.version = attr(&e, b"ver").unwrap_or_default();
                        p.release = attr(&e, b"rel").unwrap_or_default();
                    }
                    (b"location", Some(p)) => p.href = attr(&e, b"href").unwrap_or_default(),
                    (b"size", Some(p)) => {
                        p.size = attr(&e, b"package")
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0)
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let (Some(field), Some(p)) = (text_of, current.as_mut()) {
                    let text = t.decode().map_err(|e| e.to_string())?.trim().to_string();
                    match field {
                        "name" => p.name = text,
                        "arch" => p.arch = text,
                        "checksum" if checksum_sha256 => p.sha256 = text,
                        _ => {}
                    }
                }
            }
            Event::End(e) => {
                text_of = None;
                if e.local_name().as_ref() == b"package" {
                    if let Some(p) = current.take() {
                        if wanted(&p.name) && p.arch != "src" {
                            out.push(p);
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}

/// The newest of `packages` by RPM's version comparison.
pub fn newest(packages: &[RpmPackage]) -> Option<&RpmPackage> {
    packages
        .iter()
        .max_by(|a, b| ::rpm::rpm_evr_compare(&a.evr(), &b.evr()).then(Ordering::Equal))
}

/// Decompresses metadata by its name's extension.
/// The first directory of `relative` (below `root`) that is a symbolic
/// link, which would carry a write outside `root`.
fn symlink_on_the_way(root: &Path, relative: &Path) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    let mut dirs = relative.components().collect::<Vec<_>>();
    dirs.pop();
    for c in dirs {
        at.push(c);
        if at
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return at.strip_prefix(root).ok().map(Path::to_path_buf);
        }
    }
    None
}

/// How many times its packed size a payload or metadata file may unpack
/// to: kernels and XML pack about 4 to 20 times; a crafted xz or zstd
/// stream reaches ratios of millions.
const MAX_RATIO: u64 = 2048;

/// Decompresses `data` by the compression `name` ends with, refusing
/// more than [`MAX_RATIO`] times its size.
fn decompress(name: &str, data: Vec<u8>) -> Result<Vec<u8>, String> {
    let limit = (data.len() as u64).saturating_mul(MAX_RATIO);
    let mut out = Vec::new();
    let result = if name.ends_with(".gz") {
        flate2::read::GzDecoder::new(&data[..])
            .take(limit + 1)
            .read_to_end(&mut out)
    } else if name.ends_with(".zst") {
        ruzstd::decoding::StreamingDecoder::new(&data[..])
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|d| d.take(limit + 1).read_to_end(&mut out))
    } else if name.ends_with(".xz") {
        lzma_rust2::XzReader::new(&data[..], false)
            .take(limit + 1)
            .read_to_end(&mut out)
    } else {
        return Ok(data);
    };
    result.map_err(|e| format!("cannot decompress: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "it unpacks to more than {MAX_RATIO} times its {} bytes: damaged or crafted",
            data.len()
        ));
    }
    Ok(out)
}

/// Downloads `uri` to `dest` with apt's acquire code (or copies a
/// `file:` URI), checking `sha256` when given.
pub fn download(uri: &str, dest: &Path, sha256: Option<&str>) -> Result<(), PrepError> {
    let io = |error| PrepError::Io {
        path: dest.to_path_buf(),
        error,
    };
    if let Some(path) = uri.strip_prefix("file://") {
        std::fs::copy(path, dest).map_err(io)?;
    } else {
        let out = Command::new("/usr/lib/apt/apt-helper")
            .args(["-qq", "download-file", uri])
            .arg(dest)
            .env("LC_ALL", "C")
            .output()
            .map_err(|error| match error.kind() {
                std::io::ErrorKind::NotFound => PrepError::ToolMissing {
                    tool: "apt-helper".into(),
                    why: "stap-prep downloads RPM repositories' files with apt's acquire code",
                },
                _ => io(error),
            })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let line = stderr
                .lines()
                .find(|l| l.starts_with("E:"))
                .or_else(|| stderr.lines().find(|l| !l.trim().is_empty()))
                .unwrap_or("no message")
                .trim_start_matches("E:")
                .trim();
            return Err(PrepError::Apt {
                command: format!("apt-helper download-file {uri}"),
                message: line.to_string(),
            });
        }
    }
    if let Some(want) = sha256 {
        let got = sha256_file(dest).map_err(io)?;
        if got != want {
            return Err(PrepError::Corrupt {
                path: dest.to_path_buf(),
                message: format!(
                    "SHA-256 {got}, but the repository metadata says {want}; the mirror may be \
                     mid-sync: try again later"
                ),
            });
        }
    }
    Ok(())
}

/// Which files of a package are unpacked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Keep {
    /// Every file (the devel package).
    All,
    /// The image, System.map and config of `lib/modules/REL` or `boot`.
    Image,
    /// The debug vmlinux.
    Debug,
}

fn keep(filter: Keep, path: &str) -> bool {
    match filter {
        Keep::All => true,
        Keep::Image => {
            path.starts_with("boot/")
                || path.contains("modules/")
                    && ["/vmlinuz", "/System.map", "/config", "/modules.builtin"]
                        .iter()
                        .any(|s| path.ends_with(s))
        }
        Keep::Debug => path.ends_with("/vmlinux"),
    }
}

/// Unpacks the payload files of the RPM at `path` that `filter` keeps
/// into `root` (directories, regular files with their mode, symlinks).
fn unpack(path: &Path, root: &Path, filter: Keep) -> Result<(), PrepError> {
    let corrupt = |message: String| PrepError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let io = |error| PrepError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    super::rpm_header::check(&mut std::io::BufReader::new(&mut file), len)
        .map_err(|e| corrupt(e.0))?;
    let package = ::rpm::Package::open(path).map_err(|e| corrupt(e.to_string()))?;
    unpack_package(package, path, root, filter)
}

/// Reads a package from `bytes` after checking its headers (see
/// [`super::rpm_header`]: the `rpm` crate alone panics or allocates
/// gigabytes on damaged ones).
pub fn parse_package(bytes: &[u8]) -> Result<::rpm::Package, String> {
    super::rpm_header::check(&mut &bytes[..], bytes.len() as u64).map_err(|e| e.0)?;
    ::rpm::Package::parse(&mut &bytes[..]).map_err(|e| e.to_string())
}

/// Unpacks `package` (read from `path`, which errors name) as [`unpack`]
/// does. Members are kept inside `root`: a name with `..` or a leading
/// `/` is skipped, a member below a symlink that an earlier member made
/// is refused, and a member replaces (never writes through) a symlink of
/// its own name.
pub fn unpack_package(
    package: ::rpm::Package,
    path: &Path,
    root: &Path,
    filter: Keep,
) -> Result<(), PrepError> {
    let corrupt = |message: String| PrepError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let compressor = package
        .metadata
        .get_payload_compressor()
        .map_err(|e| corrupt(e.to_string()))?;
    let name = match compressor {
        ::rpm::CompressionType::Gzip => "x.gz",
        ::rpm::CompressionType::Zstd => "x.zst",
        ::rpm::CompressionType::Xz => "x.xz",
        ::rpm::CompressionType::None => "x",
        other => {
            return Err(corrupt(format!(
                "payload compression {other} is not supported"
            )))
        }
    };
    let payload = decompress(name, package.content).map_err(corrupt)?;
    let io = |p: &Path, error| PrepError::Io {
        path: p.to_path_buf(),
        error,
    };
    let mut rest: &[u8] = &payload;
    loop {
        let mut reader = cpio::NewcReader::new(rest).map_err(|e| corrupt(format!("cpio: {e}")))?;
        if reader.entry().is_trailer() {
            break;
        }
        let entry_name = reader.entry().name().trim_start_matches("./").to_string();
        let mode = reader.entry().mode();
        let mut data = Vec::new();
        reader
            .read_to_end(&mut data)
            .map_err(|e| corrupt(format!("cpio: {e}")))?;
        rest = reader.finish().map_err(|e| corrupt(format!("cpio: {e}")))?;
        let relative = Path::new(&entry_name);
        if relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
            || !keep(filter, &entry_name)
        {
            continue;
        }
        if let Some(link) = symlink_on_the_way(root, relative) {
            return Err(corrupt(format!(
                "cpio: member '{entry_name}' lies below '{}', a symbolic link an earlier member made: \
                 unpacking it would write outside {}",
                link.display(),
                root.display()
            )));
        }
        let target = root.join(relative);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        }
        match mode & 0o170000 {
            0o040000 => {}
            0o120000 => {
                let link = String::from_utf8_lossy(&data).into_owned();
                let _ = std::fs::remove_file(&target);
                std::os::unix::fs::symlink(link, &target).map_err(|e| io(&target, e))?;
            }
            0o100000 => {
                let _ = std::fs::remove_file(&target);
                std::fs::write(&target, &data).map_err(|e| io(&target, e))?;
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(|e| io(&target, e))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Fetches an RPM-family kernel into `cache`.
pub fn fetch(
    manifest: &Manifest,
    source: &RpmSource,
    cache: &Cache,
    options: &FetchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Fetched, PrepError> {
    let name = &manifest.name;
    let _lock = cache.lock(name)?;
    if let Some(state) = cache.state(name)? {
        if options.cached_fits(&state, false) {
            return Ok(Fetched::AlreadyCached(state));
        }
    }
    let archives = options.archives()?;
    let debug = match options.debug {
        true => DebugRepos::Required,
        false => DebugRepos::Skip,
    };
    let all = read_metadata(name, source, cache, &archives, debug, progress)?;
    let header_name = source.headers.first().ok_or_else(|| PrepError::Layout {
        what: format!("{name}: the manifest lists no header packages"),
    })?;
    let candidates: Vec<RpmPackage> = all
        .iter()
        .filter(|p| &p.name == header_name && release_matches(&source.release, &p.kernel_release()))
        .filter(|p| {
            options
                .locked
                .as_ref()
                .is_none_or(|(l, _)| l.release == p.kernel_release())
        })
        .cloned()
        .collect();
    let chosen = match (newest(&candidates), &options.locked) {
        (Some(p), _) => p.clone(),
        (None, Some((locked, path))) => {
            return Err(PrepError::LockedGone {
                manifest: name.clone(),
                package: header_name.clone(),
                version: locked.release.clone(),
                lock: path.clone(),
            })
        }
        (None, None) => {
            return Err(PrepError::NoRelease {
                manifest: name.clone(),
                pattern: format!("{header_name} of release {}", source.release),
            })
        }
    };
    let release = chosen.kernel_release();
    progress(&format!(
        "{name}: {} release is {release}",
        if options.locked.is_some() {
            "locked"
        } else {
            "newest"
        }
    ));
    let same = |n: &str| {
        all.iter()
            .find(|p| p.name == n && p.evr() == chosen.evr() && p.arch == chosen.arch)
            .cloned()
            .ok_or_else(|| PrepError::MissingPackage {
                package: format!("{n}-{}", chosen.full_version()),
            })
    };
    let mut wanted: Vec<(RpmPackage, Keep)> = Vec::new();
    for h in &source.headers {
        wanted.push((same(h)?, Keep::All));
    }
    wanted.push((same(&source.image)?, Keep::Image));
    if options.debug {
        let debug = source.debug.as_ref().ok_or_else(|| {
            PrepError::Unsupported(format!("{name}: the manifest names no debug package"))
        })?;
        wanted.push((same(debug)?, Keep::Debug));
    }
    if let Some((locked, path)) = &options.locked {
        for (p, _) in &wanted {
            check_locked(name, locked, path, p)?;
        }
    }

    let kernel_dir = cache.kernel_dir(name);
    let staging = kernel_dir.join(format!("{release}.partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let rpms = staging.join("rpms");
    let root = staging.join("root");
    for dir in [&rpms, &root] {
        std::fs::create_dir_all(dir).map_err(|error| PrepError::Io {
            path: dir.clone(),
            error,
        })?;
    }
    for (p, filter) in &wanted {
        progress(&format!(
            "{name}: downloading {} {} ({} kB)",
            p.name,
            p.full_version(),
            p.size.div_ceil(1024)
        ));
        let file = rpms.join(format!("{}.rpm", p.name));
        download(&format!("{}/{}", p.base, p.href), &file, Some(&p.sha256))?;
        unpack(&file, &root, *filter)?;
        let _ = std::fs::remove_file(&file);
    }
    let _ = std::fs::remove_dir_all(&rpms);
    let release_dir = kernel_dir.join(&release);
    let _ = std::fs::remove_dir_all(&release_dir);
    std::fs::rename(&staging, &release_dir).map_err(|error| PrepError::Io {
        path: release_dir.clone(),
        error,
    })?;
    let root = release_dir.join("root");
    progress(&format!(
        "{name}: relocating the tree under {}",
        root.display()
    ));
    relocate::relocate(&root)?;
    let build = PathBuf::from(format!("usr/src/kernels/{release}"));
    if !root.join(&build).join("Makefile").is_file() {
        return Err(PrepError::Layout {
            what: format!("{} has no {}/Makefile", header_name, build.display()),
        });
    }
    let find = |candidates: &[String]| {
        candidates
            .iter()
            .map(PathBuf::from)
            .find(|c| root.join(c).is_file())
    };
    let image = find(&[
        format!("lib/modules/{release}/vmlinuz"),
        format!("usr/lib/modules/{release}/vmlinuz"),
        format!("boot/vmlinuz-{release}"),
    ])
    .ok_or_else(|| PrepError::Layout {
        what: format!("no kernel image for {release} in {}", source.image),
    })?;
    let state = FetchState {
        manifest: name.clone(),
        release: release.clone(),
        version: chosen.full_version(),
        packages: wanted
            .iter()
            .map(|(p, _)| FetchedPackage {
                name: p.name.clone(),
                version: p.full_version(),
            })
            .collect(),
        build,
        image,
        system_map: find(&[
            format!("lib/modules/{release}/System.map"),
            format!("usr/lib/modules/{release}/System.map"),
            format!("boot/System.map-{release}"),
        ]),
        debug_vmlinux: if options.debug {
            Some(
                find(&[
                    format!("usr/lib/debug/lib/modules/{release}/vmlinux"),
                    format!("usr/lib/debug/usr/lib/modules/{release}/vmlinux"),
                ])
                .ok_or_else(|| PrepError::Layout {
                    what: format!("no debug vmlinux for {release}"),
                })?,
            )
        } else {
            None
        },
        busybox: None,
        root,
    };
    cache.save_state(&state)?;
    Ok(Fetched::New(state))
}

/// Whether the repositories only for debug packages are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DebugRepos {
    /// No (a fetch without `--debug`).
    Skip,
    /// Yes, and one that cannot be read is an error (`--debug`).
    Required,
    /// When configured, and one that cannot be read is left out, saying so
    /// (`stap-prep update`: many mirrors carry no debug trees).
    IfReachable,
}

/// The packages of the manifest's names in its repositories' metadata.
fn read_metadata(
    name: &str,
    source: &RpmSource,
    cache: &Cache,
    archives: &Archives,
    debug: DebugRepos,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<RpmPackage>, PrepError> {
    let meta_dir = cache.dir().join("rpm").join(name);
    std::fs::create_dir_all(&meta_dir).map_err(|error| PrepError::Io {
        path: meta_dir.clone(),
        error,
    })?;
    progress(&format!("{name}: reading repository metadata"));
    let with_debug = match debug {
        DebugRepos::Skip => false,
        DebugRepos::Required => true,
        DebugRepos::IfReachable => source.debug.is_some() && debug_configured(source, archives),
    };
    let mut names: Vec<&String> = source.headers.iter().collect();
    names.push(&source.image);
    names.extend(source.debug.as_ref().filter(|_| with_debug));
    let mut all = Vec::new();
    for (i, (base, debug_only)) in repository_bases(source, archives, with_debug)?
        .iter()
        .enumerate()
    {
        match read_repository(base, &meta_dir, i, &names) {
            Ok(found) => all.extend(found),
            Err(e) if debug == DebugRepos::IfReachable && *debug_only => {
                progress(&format!(
                    "{name}: the debug repository {base} cannot be read ({e}); its packages are left out"
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

/// The packages named `names` in the repository at `base` (its metadata
/// kept in `meta_dir` under index `i`).
fn read_repository(
    base: &str,
    meta_dir: &Path,
    i: usize,
    names: &[&String],
) -> Result<Vec<RpmPackage>, PrepError> {
    let fetch = |uri: String, dest: &Path| {
        download(&uri, dest, None)?;
        std::fs::read(dest).map_err(|error| PrepError::Io {
            path: dest.to_path_buf(),
            error,
        })
    };
    let repomd = meta_dir.join(format!("{i}-repomd.xml"));
    let text = fetch(format!("{base}/repodata/repomd.xml"), &repomd)?;
    let href = primary_href(&text).map_err(|message| PrepError::Corrupt {
        path: repomd.clone(),
        message,
    })?;
    let primary = meta_dir.join(format!("{i}-primary"));
    let data = fetch(format!("{base}/{href}"), &primary)?;
    let corrupt = |message| PrepError::Corrupt {
        path: primary.clone(),
        message,
    };
    let xml = decompress(&href, data).map_err(corrupt)?;
    parse_primary(&xml, base, &|n| names.iter().any(|w| *w == n)).map_err(corrupt)
}

/// The lock entry of an RPM kernel (`stap-prep update`): the newest
/// release's packages with the metadata's SHA-256 sums; nothing is
/// downloaded but the metadata.
pub fn lock_entry(
    manifest: &Manifest,
    source: &RpmSource,
    cache: &Cache,
    archives: &Archives,
    progress: &mut dyn FnMut(&str),
) -> Result<LockedKernel, PrepError> {
    let name = &manifest.name;
    // The debug package is locked too when its repositories can be read.
    let all = read_metadata(
        name,
        source,
        cache,
        archives,
        DebugRepos::IfReachable,
        progress,
    )?;
    let header_name = source.headers.first().ok_or_else(|| PrepError::Layout {
        what: format!("{name}: the manifest lists no header packages"),
    })?;
    let candidates: Vec<RpmPackage> = all
        .iter()
        .filter(|p| &p.name == header_name && release_matches(&source.release, &p.kernel_release()))
        .cloned()
        .collect();
    let chosen = newest(&candidates).ok_or_else(|| PrepError::NoRelease {
        manifest: name.clone(),
        pattern: format!("{header_name} of release {}", source.release),
    })?;
    let mut packages = Vec::new();
    let names = source
        .headers
        .iter()
        .chain(std::iter::once(&source.image))
        .chain(&source.debug);
    for n in names {
        let found = all
            .iter()
            .find(|p| &p.name == n && p.evr() == chosen.evr() && p.arch == chosen.arch);
        match found {
            Some(p) => packages.push(LockedPackage {
                name: p.name.clone(),
                version: p.full_version(),
                sha256: p.sha256.clone(),
            }),
            // The debug package may live in a repository not listed.
            None if Some(n) == source.debug.as_ref() => {}
            None => {
                return Err(PrepError::MissingPackage {
                    package: format!("{n}-{}", chosen.full_version()),
                })
            }
        }
    }
    Ok(LockedKernel {
        release: chosen.kernel_release(),
        packages,
    })
}

fn check_locked(
    name: &str,
    locked: &LockedKernel,
    path: &Path,
    p: &RpmPackage,
) -> Result<(), PrepError> {
    let want: Option<&LockedPackage> = locked.package(&p.name);
    match want {
        Some(w) if w.version == p.full_version() && w.sha256 == p.sha256 => Ok(()),
        Some(w) if w.version == p.full_version() => Err(PrepError::LockMismatch {
            manifest: name.to_string(),
            package: format!("{} {}", p.name, w.version),
            locked: w.sha256.clone(),
            found: p.sha256.clone(),
            lock: path.to_path_buf(),
        }),
        _ => Err(PrepError::LockedGone {
            manifest: name.to_string(),
            package: p.name.clone(),
            version: want.map(|w| w.version.clone()).unwrap_or_default(),
            lock: path.to_path_buf(),
        }),
    }
}

/// The base URIs of the manifest's repositories, each with whether it is
/// only for debug packages; those are left out unless `with_debug`.
pub fn repository_bases(
    source: &RpmSource,
    archives: &Archives,
    with_debug: bool,
) -> Result<Vec<(String, bool)>, PrepError> {
    let mut out = Vec::new();
    for repo in source
        .repositories
        .iter()
        .filter(|r| with_debug || !r.debug_only)
    {
        let first = repo
            .paths
            .first()
            .map(|p| p.trim_matches('/'))
            .unwrap_or("");
        let holds = format!("{first}/repodata/repomd.xml");
        let location = archives.locate_holding(&repo.archive, holds.trim_start_matches('/'))?;
        for path in &repo.paths {
            out.push((
                format!("{}/{}", location.uri, path.trim_matches('/')),
                repo.debug_only,
            ));
        }
    }
    Ok(out)
}

/// Whether every archive of the manifest's debug-only repositories is
/// configured (`stap-prep update` then locks the debug package too).
pub fn debug_configured(source: &RpmSource, archives: &Archives) -> bool {
    source
        .repositories
        .iter()
        .filter(|r| r.debug_only)
        .all(|r| archives.locate(&r.archive).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_that_unpacks_beyond_the_ratio_is_refused() {
        let zeros = vec![0u8; 8 << 20];
        let packed = ruzstd::encoding::compress_to_vec(
            &zeros[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let e = decompress("x.zst", packed).unwrap_err();
        assert!(e.contains("more than 2048 times"), "{e}");
        let text = b"<metadata packages=\"1\"/>".repeat(100);
        let packed = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(decompress("primary.xml.zst", packed).unwrap(), text);
    }

    #[test]
    fn metadata_gives_the_primary_and_its_packages() {
        let repomd = br#"<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo">
            <data type="filelists"><location href="repodata/f.xml.gz"/></data>
            <data type="primary"><checksum type="sha256">x</checksum><location href="repodata/abc-primary.xml.zst"/></data></repomd>"#;
        assert_eq!(
            primary_href(repomd).unwrap(),
            "repodata/abc-primary.xml.zst"
        );
        assert!(primary_href(b"<repomd/>").unwrap_err().contains("primary"));
        let primary = br#"<metadata xmlns="http://linux.duke.edu/metadata/common" packages="3">
<package type="rpm"><name>kernel-devel</name><arch>x86_64</arch><version epoch="0" ver="5.14.0" rel="503.el9"/>
<checksum type="sha256" pkgid="YES">aa</checksum><location href="Packages/kernel-devel-5.14.0-503.el9.x86_64.rpm"/><size package="100"/></package>
<package type="rpm"><name>kernel-devel</name><arch>x86_64</arch><version epoch="0" ver="5.14.0" rel="62.el9"/>
<checksum type="sha256" pkgid="YES">bb</checksum><location href="Packages/old.rpm"/><size package="100"/></package>
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5" rel="1"/></package>
</metadata>"#;
        let pkgs =
            parse_primary(primary, "http://127.0.0.1:1/r", &|n| n == "kernel-devel").unwrap();
        assert_eq!(pkgs.len(), 2);
        let n = newest(&pkgs).unwrap();
        assert_eq!(n.kernel_release(), "5.14.0-503.el9.x86_64");
        assert_eq!(n.sha256, "aa");
        assert_eq!(n.href, "Packages/kernel-devel-5.14.0-503.el9.x86_64.rpm");
        assert!(release_matches("5.14.0-*.el9.x86_64", &n.kernel_release()));
    }
}
