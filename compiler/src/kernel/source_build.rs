//! Kernels built here from a distribution's kernel source package, for
//! what no distribution ships: a test kernel with the run-time checkers on
//! (KASAN, lockdep, ...). A recipe (`kernels/built/NAME.yaml`) names the
//! manifest whose archives carry the source package and whose toolchain
//! builds it, the package, a base configuration (`make tinyconfig`) and a
//! fragment merged over it (`kernels/built/NAME.config`). The source is
//! fetched with that manifest's private apt, unpacked, configured and built
//! out of tree under `CACHE/kernels/NAME/VERSION/` (`source/`, `build/`);
//! an interrupted build resumes there. The build directory is the header
//! tree (`-r`), its `bzImage` the guest's kernel and its `System.map` the
//! symbols; the fetch state makes it a cached kernel like a fetched one,
//! which `stap-matrix --kernel NAME` boots.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use include_dir::{include_dir, Dir};
use serde::Deserialize;

use super::apt::PrivateApt;
use super::cache::{Cache, FetchState, FetchedPackage};
use super::manifest::{Catalog, Manifest, Source};
use super::PrepError;

static RECIPES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../kernels/built");

/// One kernel built from source, as `kernels/built/NAME.yaml` describes it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The name `stap-matrix --kernel` and `-r` take.
    pub name: String,
    /// One line for listings.
    pub description: String,
    /// The manifest whose archives and toolchain are used.
    pub from: String,
    /// The source package (`linux-source-6.1`), which holds
    /// `usr/src/PACKAGE.tar.xz`.
    pub package: String,
    /// The make target of the base configuration (`tinyconfig`).
    pub base: String,
    /// The fragment merged over the base, beside the recipe.
    pub config: String,
}

/// Everything a recipe needs: itself, its fragment's text and its manifest.
#[derive(Debug, Clone)]
pub struct Planned {
    pub recipe: Recipe,
    pub fragment: String,
    pub manifest: Manifest,
}

/// The recipes built into this binary, sorted by name.
pub fn recipes() -> Result<Vec<Recipe>, PrepError> {
    let mut all = Vec::new();
    for file in RECIPES.files() {
        if file.path().extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let file_name = file.path().display().to_string();
        let text = file.contents_utf8().unwrap_or_default();
        all.push(parse(&file_name, text)?);
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

fn parse(file: &str, text: &str) -> Result<Recipe, PrepError> {
    let invalid = |message: String| PrepError::Corrupt {
        path: PathBuf::from("kernels/built").join(file),
        message,
    };
    super::manifest::check_yaml_shape(text).map_err(invalid)?;
    let recipe: Recipe = serde_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if Path::new(file).file_stem().and_then(|s| s.to_str()) != Some(recipe.name.as_str()) {
        return Err(invalid(format!(
            "name '{}' does not match the file name",
            recipe.name
        )));
    }
    if !recipe
        .base
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(invalid(format!(
            "base '{}' is not a configuration target such as tinyconfig",
            recipe.base
        )));
    }
    Ok(recipe)
}

/// The recipe called `name` with its fragment and manifest, if there is one.
pub fn plan(name: &str, catalog: &Catalog) -> Result<Option<Planned>, PrepError> {
    let Some(recipe) = recipes()?.into_iter().find(|r| r.name == name) else {
        return Ok(None);
    };
    let fragment = RECIPES
        .get_file(&recipe.config)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| PrepError::Layout {
            what: format!(
                "kernels/built/{}: its configuration fragment {} is missing",
                recipe.name, recipe.config
            ),
        })?
        .to_string();
    let manifest = catalog.get(&recipe.from)?.clone();
    Ok(Some(Planned {
        recipe,
        fragment,
        manifest,
    }))
}

/// The `CONFIG_X=VALUE` lines of a fragment that are set (`=n` ones are
/// checked as absent), in order.
pub fn fragment_options(fragment: &str) -> Vec<(String, String)> {
    fragment
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("CONFIG_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The fragment's options that the final `.config` does not hold as
/// asked (Kconfig drops what a dependency rules out, silently).
pub fn options_not_taken(fragment: &str, config: &str) -> Vec<String> {
    let set: std::collections::HashMap<&str, &str> = config
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.starts_with("CONFIG_"))
        .collect();
    fragment_options(fragment)
        .into_iter()
        .filter(|(k, v)| match set.get(k.as_str()) {
            Some(have) => have != v,
            None => v != "n",
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

/// The state of a built kernel in the cache, if its build finished.
pub fn built_state(cache: &Cache, name: &str) -> Result<Option<FetchState>, PrepError> {
    Ok(cache
        .state(name)?
        .filter(|s| s.root.join(&s.image).is_file() && s.build_dir().join("Makefile").is_file()))
}

/// Fetches, configures and builds `planned` with `jobs` make jobs, or
/// returns the cached result; the make output goes to `build.log` beside
/// the build, and progress lines to `progress`.
pub fn build(
    planned: &Planned,
    cache: &Cache,
    jobs: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<FetchState, PrepError> {
    let name = &planned.recipe.name;
    if let Some(state) = built_state(cache, name)? {
        return Ok(state);
    }
    let Source::Apt(apt_source) = &planned.manifest.source else {
        return Err(PrepError::Unsupported(format!(
            "{name}: {} is not an apt kernel; only Debian-style source packages are built",
            planned.recipe.from
        )));
    };
    if crate::arch::Arch::host() != Some(planned.manifest.arch) {
        return Err(PrepError::Unsupported(format!(
            "{name}: only kernels of this machine's architecture are built here (not {})",
            planned.manifest.arch.name()
        )));
    }
    let _lock = cache.lock(name)?;
    let archives = super::archives::Archives::load()?;
    let apt = PrivateApt::new(&cache.apt_dir(name), apt_source, &archives, false)?;
    progress(&format!("{name}: reading package lists"));
    apt.update()?;
    let info = apt
        .show(std::slice::from_ref(&planned.recipe.package))?
        .into_iter()
        .next()
        .ok_or_else(|| PrepError::MissingPackage {
            package: planned.recipe.package.clone(),
        })?;
    let dir = cache.kernel_dir(name).join(&info.version);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| PrepError::Io { path, error }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let source = dir.join("source");
    if !source.join("Makefile").is_file() {
        progress(&format!(
            "{name}: fetching {} {} ({} MB)",
            info.name,
            info.version,
            info.size >> 20
        ));
        let deb = apt.download(&info, &dir)?;
        progress(&format!("{name}: unpacking the source"));
        unpack_source(&deb, &planned.recipe.package, &source)?;
        std::fs::remove_file(&deb).map_err(io(&deb))?;
    }
    let build = dir.join("build");
    std::fs::create_dir_all(&build).map_err(io(&build))?;
    let log = dir.join("build.log");
    let config = build.join(".config");
    if !config.is_file() || !build.join("stapkit-configured").is_file() {
        progress(&format!(
            "{name}: configuring ({} plus the fragment)",
            planned.recipe.base
        ));
        make(&source, &build, &[&planned.recipe.base], 1, &log)?;
        let fragment_path = dir.join("fragment.config");
        std::fs::write(&fragment_path, &planned.fragment).map_err(io(&fragment_path))?;
        run_logged(
            Command::new(source.join("scripts/kconfig/merge_config.sh"))
                .current_dir(&source)
                .arg("-m")
                .arg("-O")
                .arg(&build)
                .arg(&config)
                .arg(&fragment_path),
            "merge_config.sh",
            &log,
        )?;
        make(&source, &build, &["olddefconfig"], 1, &log)?;
        let text = std::fs::read_to_string(&config).map_err(io(&config))?;
        let dropped = options_not_taken(&planned.fragment, &text);
        if !dropped.is_empty() {
            progress(&format!(
                "{name}: Kconfig did not take {} (their dependencies rule them out)",
                dropped.join(" ")
            ));
        }
        let marker = build.join("stapkit-configured");
        std::fs::write(&marker, "").map_err(io(&marker))?;
    }
    progress(&format!(
        "{name}: building with {jobs} jobs (log: {})",
        log.display()
    ));
    let image_target = boot_image(planned.manifest.arch);
    make(&source, &build, &[image_target, "modules"], jobs, &log)?;
    let release_file = build.join("include/config/kernel.release");
    let release = std::fs::read_to_string(&release_file)
        .map_err(io(&release_file))?
        .trim()
        .to_string();
    let state = FetchState {
        manifest: name.clone(),
        release,
        version: info.version.clone(),
        packages: vec![FetchedPackage {
            name: info.name.clone(),
            version: info.version.clone(),
        }],
        root: dir,
        build: PathBuf::from("build"),
        image: PathBuf::from(format!(
            "build/arch/{}/boot/{}",
            planned.manifest.arch.kbuild(),
            boot_image(planned.manifest.arch)
        )),
        system_map: Some(PathBuf::from("build/System.map")),
        debug_vmlinux: None,
        busybox: None,
    };
    cache.save_state(&state)?;
    progress(&format!("{name}: built {}", state.release));
    Ok(state)
}

/// The file under `arch/ARCH/boot/` that QEMU's `-kernel` boots.
fn boot_image(arch: crate::arch::Arch) -> &'static str {
    match arch {
        crate::arch::Arch::X86_64 => "bzImage",
        crate::arch::Arch::Arm64 => "Image",
    }
}

/// Unpacks `usr/src/PACKAGE.tar.xz` of the source package's `.deb` into
/// `dest` (its top directory stripped), through a temporary directory so
/// that an interrupted unpack is redone.
fn unpack_source(deb: &Path, package: &str, dest: &Path) -> Result<(), PrepError> {
    let partial = dest.with_extension("partial");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| PrepError::Io { path, error }
    };
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    let inner = format!("usr/src/{package}.tar.xz");
    super::fetch::read_deb_files(deb, |files| {
        let mut outer = tar::Archive::new(files);
        for entry in outer.entries().map_err(io(deb))? {
            let entry = entry.map_err(io(deb))?;
            let path = entry.path().map_err(io(deb))?.into_owned();
            if path.strip_prefix(".").unwrap_or(&path) != Path::new(&inner) {
                continue;
            }
            return untar_xz(entry, &partial);
        }
        Err(PrepError::Layout {
            what: format!("{} holds no {inner}", deb.display()),
        })
    })?;
    std::fs::rename(&partial, dest).map_err(io(dest))
}

/// Streams an `.tar.xz` into `tar -xJ` under `dest`.
fn untar_xz(mut stream: impl std::io::Read, dest: &Path) -> Result<(), PrepError> {
    let mut child = Command::new("tar")
        .arg("-xJ")
        .arg("--strip-components=1")
        .arg("-C")
        .arg(dest)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| PrepError::Io {
            path: PathBuf::from("tar"),
            error,
        })?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let copied = std::io::copy(&mut stream, &mut stdin);
    drop(stdin);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|error| PrepError::Io {
        path: PathBuf::from("tar"),
        error,
    })?;
    copied.map_err(|error| PrepError::Io {
        path: dest.to_path_buf(),
        error,
    })?;
    if !status.success() {
        return Err(PrepError::Layout {
            what: format!("tar -xJ into {} failed: {}", dest.display(), stderr.trim()),
        });
    }
    Ok(())
}

fn make(
    source: &Path,
    build: &Path,
    targets: &[&str],
    jobs: usize,
    log: &Path,
) -> Result<(), PrepError> {
    let mut cmd = Command::new("make");
    cmd.arg("-C")
        .arg(source)
        .arg(format!("O={}", build.display()))
        .arg(format!("-j{}", jobs.max(1)))
        .args(targets);
    run_logged(&mut cmd, &format!("make {}", targets.join(" ")), log)
}

/// Runs `cmd` with its output appended to `log`; a failure names the step
/// and the log.
fn run_logged(cmd: &mut Command, step: &str, log: &Path) -> Result<(), PrepError> {
    let io = |error| PrepError::Io {
        path: log.to_path_buf(),
        error,
    };
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io)?;
    let err = out.try_clone().map_err(io)?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|error| PrepError::Io {
            path: PathBuf::from(step),
            error,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(PrepError::Layout {
            what: format!("{step} failed ({status}); see the end of {}", log.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_recipe_reads_and_names_its_manifest() {
        let catalog = Catalog::builtin().unwrap();
        let planned = plan("debian-6.1-amd64-debug", &catalog)
            .unwrap()
            .expect("the recipe is built in");
        assert_eq!(planned.manifest.name, "debian-6.1-amd64");
        assert_eq!(planned.recipe.package, "linux-source-6.1");
        let options = fragment_options(&planned.fragment);
        for wanted in [
            "CONFIG_KASAN",
            "CONFIG_PROVE_LOCKING",
            "CONFIG_DEBUG_ATOMIC_SLEEP",
            "CONFIG_KFENCE",
            "CONFIG_DEBUG_LIST",
            "CONFIG_KPROBES",
            "CONFIG_SERIAL_8250_CONSOLE",
            "CONFIG_BLK_DEV_INITRD",
        ] {
            assert!(
                options.iter().any(|(k, v)| k == wanted && v == "y"),
                "{wanted}"
            );
        }
        assert!(plan("debian-6.1-amd64", &catalog).unwrap().is_none());
    }

    #[test]
    fn bad_recipes_are_refused_with_the_file() {
        let e = parse(
            "x.yaml",
            "name: y\ndescription: d\nfrom: f\npackage: p\nbase: tinyconfig\nconfig: c\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("kernels/built/x.yaml") && e.contains("does not match"),
            "{e}"
        );
        let e = parse(
            "x.yaml",
            "name: x\ndescription: d\nfrom: f\npackage: p\nbase: 'a;b'\nconfig: c\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a configuration target"), "{e}");
        let e = parse("x.yaml", &"[".repeat(100_000))
            .unwrap_err()
            .to_string();
        assert!(e.contains("nested more than"), "{e}");
    }

    #[test]
    fn options_kconfig_dropped_are_named() {
        let fragment = "# c\nCONFIG_A=y\nCONFIG_B=y\nCONFIG_C=n\nCONFIG_D=\"x\"\n";
        let config = "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=\"x\"\n";
        assert_eq!(options_not_taken(fragment, config), ["CONFIG_B=y"]);
        assert_eq!(options_not_taken(fragment, "CONFIG_C=y\n").len(), 4);
    }
}
