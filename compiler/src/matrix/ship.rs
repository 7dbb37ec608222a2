//! What the harness needs to test shipping (`crate::ship`) in guests: the
//! one bundle a `# bundle:` script runs on every kernel, the signing key
//! of a `# matrix: --sign-module` script, and the UEFI firmware of a
//! `# guest-firmware: uefi-db` guest, whose `db` holds that key's
//! certificate.
//!
//! A bundle is built once and reused while its inputs are unchanged
//! (`CACHE/test-bundles/KEY.stpb`, KEY the SHA-256 of the script, its
//! options and kernels, and each kernel's vermagic and generated C with
//! the runtime it includes), so that each kernel's test run copies the
//! same file into its guest without building six modules again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use clap::Parser as _;

use crate::driver::{Options, Pipeline, StapOptions};
use crate::kernel::Cache;
use crate::ship::bundle::sha256_hex;
use crate::vm::uefi::{firmware_with_db, virt_fw_vars, Uefi};
use crate::vm::Arch;

use super::script::TestScript;

/// One bundle or key built at a time (parallel builds share them).
static LOCK: Mutex<()> = Mutex::new(());

/// The harness's signing key for the run: made once in `work_dir`.
pub fn test_key(work_dir: &Path) -> Result<PathBuf, String> {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = work_dir.join("test-signing-key");
    let pem = dir.join("signing_key.pem");
    if !pem.is_file() {
        crate::ship::sign::make_key_pair(&dir, "stapkit test-only module signing key", 2048)
            .map_err(|e| e.to_string())?;
    }
    Ok(pem)
}

/// UEFI firmware for a guest of `arch` whose `db` holds the certificate
/// of the run's signing key ([`test_key`]), its variable store at `vars`.
pub fn uefi_with_test_key(
    arch: Arch,
    cache: &Cache,
    work_dir: &Path,
    vars: &Path,
) -> Result<Uefi, String> {
    if arch != Arch::X86_64 {
        return Err(format!(
            "# guest-firmware: uefi-db boots x86_64 guests only (OVMF), not {}; limit the script with # requires: kernel=NAME",
            arch.name()
        ));
    }
    let cert = test_key(work_dir)?.with_file_name("signing_key.x509");
    firmware_with_db(&virt_fw_vars(cache.dir()), &[&cert], vars).map_err(|e| e.to_string())
}

/// `--sign-module` without a key in a script's options means the
/// harness's key.
pub fn with_test_key(args: &[String], work_dir: &Path) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        if a == "--sign-module" {
            out.push(format!("--sign-module={}", test_key(work_dir)?.display()));
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// The stap options of `script`'s bundle, without its kernels (bundle
/// scripts take no script arguments).
fn options_for(script: &TestScript, cache: &Cache, work_dir: &Path) -> Result<Options, String> {
    if script.stap_args.iter().any(|a| a == "--") {
        return Err(format!(
            "{}: a # bundle: script takes no script arguments",
            script.name
        ));
    }
    let mut argv = vec![
        "stap".to_string(),
        "-p4".to_string(),
        "-m".to_string(),
        script.module_name(),
    ];
    argv.extend(["--cache-dir".to_string(), cache.dir().display().to_string()]);
    argv.extend(with_test_key(&script.stap_args, work_dir)?);
    argv.extend(["--".to_string(), script.path.display().to_string()]);
    let mut options = StapOptions::try_parse_from(argv)
        .map_err(|e| e.to_string())?
        .options()
        .map_err(|f| f.message)?;
    // The bundle's kernels are passed to the build separately.
    options.release = None;
    Ok(options)
}

/// The cache key of the bundle (see the module doc).
fn key(script: &TestScript, options: &Options) -> Result<String, String> {
    let mut text = format!("{:?}\n{:?}\n", script.stap_args, script.bundle);
    for (path, body) in crate::runtime::files() {
        text.push_str(&format!("{}\n{body}\n", path.display()));
    }
    for kernel in &script.bundle {
        let mut one = options.clone();
        one.release = Some(kernel.clone());
        let mut p = Pipeline::new(one).map_err(|f| f.message)?;
        let ast = p.parse().map_err(|f| f.message)?;
        let program = p.elaborate(&ast).map_err(|f| f.message)?;
        let c = p.translate(&program).map_err(|f| f.message)?;
        let tree = p.require_tree().map_err(|f| f.message)?;
        text.push_str(&format!("{kernel}\n{}\n{c}\n", tree.vermagic()));
    }
    Ok(sha256_hex(text.as_bytes()))
}

/// The bundle for `script`'s `# bundle:` kernels, built or reused.
pub fn bundle_case(
    script: &TestScript,
    cache: &Cache,
    work_dir: &Path,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<PathBuf, String> {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let options = options_for(script, cache, work_dir)?;
    if options.sign_module.is_some() {
        return Err(format!(
            "{}: signed bundles are not reused across runs; sign single modules in tests",
            script.name
        ));
    }
    let dir = cache.dir().join("test-bundles");
    let path = dir.join(format!("{}.stpb", key(script, &options)?));
    if path.is_file() {
        progress(&format!(
            "{}: reusing its bundle {}",
            script.name,
            path.display()
        ));
        return Ok(path);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    progress(&format!(
        "{}: building its bundle for {}",
        script.name,
        script.bundle.join(", ")
    ));
    crate::ship::build::build_bundle(&options, &script.bundle, &path, progress)
        .map_err(|f| f.message)?;
    Ok(path)
}
