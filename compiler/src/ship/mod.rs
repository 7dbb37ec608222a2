//! Shipping modules to hosts without a compiler: bundles (one file holding
//! a script's module for every kernel of a fleet, `bundle`, built by
//! `build`), module signatures in the kernel's format and the key pair to
//! make them (`sign`), and the `stap` options that drive them
//! (`--bundle`, `--sign-module`, `--make-mok`).
//!
//! **Architecture Invariant:** nothing here loads a module; staprun
//! chooses and loads a bundle's module on the host.

pub mod build;
pub mod bundle;
pub mod sign;

use std::path::Path;

use crate::driver::{Failure, Pipeline};

/// `stap --make-mok[=DIR]`: the key pair, and what to do with it, as text
/// for stdout.
pub fn make_mok(dir: Option<&Path>) -> Result<String, Failure> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(sign::default_key_dir);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let subject = format!("stapkit module signing key {}", host.trim())
        .trim()
        .to_string();
    let pair = sign::make_key_pair(&dir, &subject, 4096).map_err(|e| Failure {
        message: format!("stap: --make-mok: {e}\n"),
    })?;
    Ok(format!(
        "Wrote {pem} (private key and certificate: keep it private)\n\
         and {der} (the certificate).\n\
         Enroll the certificate once on each host that should load modules signed with it:\n\
         \x20 mokutil --import {der}\n\
         then reboot and confirm the key in the MOK manager. Sign with:\n\
         \x20 stap --sign-module={pem} ...\n",
        pem = pair.pem.display(),
        der = pair.der.display()
    ))
}

/// `--sign-module` on the module `stap -p4` delivered at `ko`, with the
/// digest the pipeline's tree asks for.
pub fn sign_delivered(p: &Pipeline, ko: &Path) -> Result<(), Failure> {
    let Some(spec) = &p.options.sign_module else {
        return Ok(());
    };
    let fail = |m: String| Failure {
        message: format!("stap: --sign-module: {m}\n"),
    };
    let tree = p.require_tree()?;
    let key = sign::SigningKey::from_spec(spec.as_deref());
    let image = std::fs::read(ko).map_err(|e| fail(format!("{}: {e}", ko.display())))?;
    let signed =
        sign::sign(&image, &key, &sign::hash_for(&tree.config)).map_err(|e| fail(e.to_string()))?;
    std::fs::write(ko, signed).map_err(|e| fail(format!("{}: {e}", ko.display())))
}

/// `stap ... --bundle FILE`: builds it and returns the line to print.
pub fn bundle_command(
    options: &crate::driver::Options,
    releases: &[String],
    file: &Path,
    verbose: bool,
) -> Result<String, Failure> {
    let progress = |line: &str| {
        if verbose {
            eprintln!("Pass 4: {line}");
        }
    };
    let built = build::build_bundle(options, releases, file, &progress)?;
    let kernels: Vec<String> = built
        .bundle
        .modules
        .iter()
        .map(|m| format!("{} {}", m.release, m.arch))
        .collect();
    Ok(format!(
        "{} ({} modules: {})\n",
        built.path.display(),
        kernels.len(),
        kernels.join(", ")
    ))
}
