//! Building one script for many kernels into a bundle: each kernel runs
//! the driver's own passes 1–4 (so every module gets the same module
//! check as `stap -p4`), on as many threads as the machine has cores, and
//! is signed when asked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::driver::{Failure, Options, Pipeline};
use crate::kernel::{Cache, Catalog, HeaderTree};

use super::bundle::{build_id_in, sha256_hex, Bundle, BundleModule};
use super::sign::{self, SigningKey};

/// The channel protocol of the runtime's modules (`STP_PROTOCOL` in
/// `runtime-c/core/transport.h`) when they need nothing newer; a module
/// says its own in `.modinfo` (`stapkit_protocol`: 3 when it calls
/// `system()`).
pub const PROTOCOL: u32 = 2;

/// The channel protocol a built module records in `.modinfo`.
fn protocol_of(image: &[u8]) -> u32 {
    crate::kernel::modcheck::read_modinfo(image)
        .ok()
        .and_then(|(info, _)| info.all("stapkit_protocol").next()?.parse().ok())
        .unwrap_or(PROTOCOL)
}

/// The kernels `-r` names for a bundle: each `-r` may be a list
/// (`a,b`), `all` (every kernel of the catalog fetched into the cache) or
/// `@FILE` (names, one a line, `#` comments).
pub fn expand_kernels(
    specs: &[String],
    cache: &Cache,
    catalog: &Catalog,
) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |k: &str| {
        let k = k.trim();
        if !k.is_empty() && !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    };
    for spec in specs {
        for part in spec.split(',') {
            if part == "all" {
                let fetched: Vec<&str> = catalog
                    .all()
                    .iter()
                    .filter(|m| matches!(cache.state(&m.name), Ok(Some(_))))
                    .map(|m| m.name.as_str())
                    .collect();
                if fetched.is_empty() {
                    return Err(
                        "stap: -r all: no kernel is fetched yet (stap-prep fetch KERNEL...)"
                            .to_string(),
                    );
                }
                fetched.into_iter().for_each(&mut push);
            } else if let Some(file) = part.strip_prefix('@') {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("stap: -r @{file}: cannot read the kernel list: {e}"))?;
                text.lines()
                    .map(|l| l.split('#').next().unwrap_or_default())
                    .for_each(&mut push);
            } else {
                push(part);
            }
        }
    }
    if out.is_empty() {
        return Err("stap: --bundle needs the kernels to build for: -r KERNEL (repeat it), -r all or -r @LIST".to_string());
    }
    Ok(out)
}

/// The kernel image of a tree, when there is one: a fetched kernel's, or
/// an installed kernel's `/boot/vmlinuz-RELEASE`.
fn image_of(tree: &HeaderTree) -> Option<PathBuf> {
    let image = match &tree.fetched {
        Some(state) => state.image_path(),
        None => PathBuf::from(format!("/boot/vmlinuz-{}", tree.release)),
    };
    image.is_file().then_some(image)
}

/// The build id of the tree's kernel, unpacked from its image once and
/// then kept in `CACHE/build-ids/` (keyed by the image's path, size and
/// modification time).
pub fn kernel_build_id(tree: &HeaderTree, cache: &Cache) -> Option<String> {
    let image = image_of(tree)?;
    let meta = std::fs::metadata(&image).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    let key = format!("{} {} {mtime}", image.display(), meta.len());
    let file = cache
        .dir()
        .join("build-ids")
        .join(sha256_hex(key.as_bytes()));
    if let Ok(text) = std::fs::read_to_string(&file) {
        if let Some(id) = text.strip_prefix(&format!("{key}\n")) {
            return (id.trim() != "-").then(|| id.trim().to_string());
        }
    }
    let kernel = crate::debuginfo::image::extract_kernel(&image).ok()?;
    let id = build_id_in(&kernel.bytes);
    if std::fs::create_dir_all(file.parent()?).is_ok() {
        let _ = std::fs::write(&file, format!("{key}\n{}\n", id.as_deref().unwrap_or("-")));
    }
    id
}

/// Builds, checks and (with a key) signs the module for one kernel.
fn build_for(
    options: &Options,
    kernel: &str,
    key: Option<&SigningKey>,
) -> Result<BundleModule, String> {
    let mut options = options.clone();
    options.release = Some(kernel.to_string());
    options.last_pass = Some(4);
    let fail = |f: Failure| format!("{kernel}:\n{}", f.message);
    let mut p = Pipeline::new(options).map_err(fail)?;
    let ast = p.parse().map_err(fail)?;
    let program = p.elaborate(&ast).map_err(fail)?;
    let c = p.translate(&program).map_err(fail)?;
    let built = p.build(&c).map_err(fail)?;
    let tree = p.require_tree().map_err(fail)?.clone();
    let image =
        std::fs::read(&built.ko).map_err(|e| format!("{kernel}: {}: {e}", built.ko.display()))?;
    let (image, signed) = match key {
        Some(key) => {
            let hash = sign::hash_for(&tree.config);
            let signed = sign::sign(&image, key, &hash).map_err(|e| format!("{kernel}: {e}"))?;
            (signed, Some(hash))
        }
        None => (image, None),
    };
    let cache = Cache::locate(p.options.cache_dir.as_deref());
    Ok(BundleModule {
        build_id: kernel_build_id(&tree, &cache),
        vermagic: tree.vermagic(),
        release: tree.release.clone(),
        arch: tree.arch.name().to_string(),
        signed,
        image,
    })
}

/// What `stap --bundle` made.
#[derive(Debug)]
pub struct Built {
    /// The bundle, written.
    pub bundle: Bundle,
    /// Where.
    pub path: PathBuf,
}

/// `stap -r K1 -r K2 ... --bundle FILE SCRIPT`: builds the module for
/// every kernel (each failure reported, all kernels tried) and writes the
/// bundle only when all of them built.
pub fn build_bundle(
    options: &Options,
    releases: &[String],
    path: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Built, Failure> {
    let usage = |m: String| Failure {
        message: format!("{m}\n"),
    };
    if options.arch.is_some() {
        return Err(usage(
            "stap: --bundle takes the architecture from each kernel; drop -a".to_string(),
        ));
    }
    let cache = Cache::locate(options.cache_dir.as_deref());
    let catalog = Catalog::load().map_err(|e| usage(format!("stap: {e}")))?;
    let kernels = expand_kernels(releases, &cache, &catalog).map_err(usage)?;
    let key = options
        .sign_module
        .as_ref()
        .map(|spec| SigningKey::from_spec(spec.as_deref()));
    let script = Pipeline::new(Options {
        release: None,
        ..options.clone()
    })?;
    let name = script.module_name();
    let script_sha256 = sha256_hex(script.script.text.as_bytes());
    let jobs = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(kernels.len());
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(kernel) = kernels.get(i) else { break };
                let result = build_for(options, kernel, key.as_ref());
                progress(&format!(
                    "{kernel}: {}",
                    if result.is_ok() {
                        "built and checked"
                    } else {
                        "failed"
                    }
                ));
                results.lock().unwrap().push((i, result));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let mut modules = Vec::new();
    let mut errors = String::new();
    for (_, r) in results {
        match r {
            Ok(m) => modules.push(m),
            Err(e) => errors.push_str(&e),
        }
    }
    if !errors.is_empty() {
        return Err(Failure {
            message: format!(
                "{errors}stap: {} not written: the module did not build for every kernel\n",
                path.display()
            ),
        });
    }
    let bundle = Bundle {
        name,
        script_sha256,
        protocol: modules
            .iter()
            .map(|m| protocol_of(&m.image))
            .max()
            .unwrap_or(PROTOCOL),
        modules,
    };
    bundle
        .write(path)
        .map_err(|e| usage(format!("stap: cannot write {}: {e}", path.display())))?;
    Ok(Built {
        bundle,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lists_expand_in_order_without_repeats() {
        let cache = Cache::locate(Some(Path::new("/nonexistent-stapkit-cache")));
        let catalog = Catalog::builtin().unwrap();
        let specs = vec!["a,b".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(
            expand_kernels(&specs, &cache, &catalog).unwrap(),
            ["a", "b", "c"]
        );
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("kernels.txt");
        std::fs::write(&list, "# fleet\nx\n\ny # comment\n").unwrap();
        let specs = vec![format!("@{}", list.display()), "z".to_string()];
        assert_eq!(
            expand_kernels(&specs, &cache, &catalog).unwrap(),
            ["x", "y", "z"]
        );
        assert!(expand_kernels(&[], &cache, &catalog)
            .unwrap_err()
            .contains("-r KERNEL"));
        assert!(expand_kernels(&["all".to_string()], &cache, &catalog)
            .unwrap_err()
            .contains("no kernel is fetched yet"));
        assert!(
            expand_kernels(&["@/nonexistent".to_string()], &cache, &catalog)
                .unwrap_err()
                .contains("cannot read the kernel list")
        );
    }

    #[test]
    fn the_protocol_is_the_runtimes() {
        let header = crate::runtime::files()
            .into_iter()
            .find(|(p, _)| p.ends_with("core/transport.h"))
            .expect("transport.h is embedded")
            .1;
        assert!(
            header.contains(&format!("#define STP_PROTOCOL {PROTOCOL}\n"))
                && header.contains("#define STP_PROTOCOL 3\n"),
            "{header}"
        );
    }
}
