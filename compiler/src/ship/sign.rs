//! Module signatures in the kernel's own format, and the key pair to make
//! them with.
//!
//! A signed module is the `.ko`, a detached PKCS#7 (CMS) signature of it
//! in DER — no certificates, no signed attributes, the signer named by
//! issuer and serial number, as the kernel's `scripts/sign-file` makes
//! it —, a `struct module_signature` (`id_type` 2, PKEY_ID_PKCS7, and the
//! signature's length, big-endian, in its last four bytes) and the
//! trailer `~Module signature appended~\n`. The digest is the one the
//! tree's `CONFIG_MODULE_SIG_HASH` names.
//!
//! The cryptography is the `openssl` command's (`openssl cms -sign`), run
//! as an external tool: it is OpenSSL's CMS code, which `sign-file` itself
//! links, present on every distribution that builds kernels, and it keeps
//! RSA and ASN.1 out of this crate (and out of builds on a small machine).
//! `make_key_pair` writes `signing_key.pem` (private key, then
//! certificate, as the kernel's `certs/signing_key.pem`) and
//! `signing_key.x509` (the certificate in DER, what `mokutil --import`
//! takes), with the usages module signing keys carry.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The trailer of a signed module.
pub const MAGIC: &[u8] = b"~Module signature appended~\n";

/// `struct module_signature`'s size.
const INFO_LEN: usize = 12;

/// PKEY_ID_PKCS7: the signature is a PKCS#7 message.
const PKEY_ID_PKCS7: u8 = 2;

/// Where a signing key and its certificate are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// The private key (PEM); it may hold the certificate too.
    pub key: PathBuf,
    /// The certificate (PEM or DER).
    pub cert: PathBuf,
}

impl SigningKey {
    /// Parses `--sign-module=KEY[,CERT]`; without a value, the key pair
    /// `--make-mok` writes by default.
    pub fn from_spec(spec: Option<&str>) -> SigningKey {
        match spec {
            Some(spec) => match spec.split_once(',') {
                Some((key, cert)) => SigningKey {
                    key: key.into(),
                    cert: cert.into(),
                },
                None => SigningKey {
                    key: spec.into(),
                    cert: spec.into(),
                },
            },
            None => {
                let dir = default_key_dir();
                SigningKey {
                    key: dir.join("signing_key.pem"),
                    cert: dir.join("signing_key.pem"),
                }
            }
        }
    }
}

/// `$XDG_CONFIG_HOME/stapkit/mok`, else `~/.config/stapkit/mok`.
pub fn default_key_dir() -> PathBuf {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("stapkit").join("mok")
}

/// Why signing (or making a key) failed.
#[derive(Debug)]
pub enum SignError {
    /// The `openssl` command is not installed.
    NoOpenssl,
    /// A file could not be read or written.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// `openssl` refused; its own words.
    Openssl { what: String, stderr: String },
    /// The digest is not one the kernel signs modules with.
    UnknownHash(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::NoOpenssl => write!(
                f,
                "signing needs the openssl command, which is not installed (apt-get install openssl, dnf install openssl)"
            ),
            SignError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            SignError::Openssl { what, stderr } => {
                write!(f, "openssl could not {what}: {}", stderr.trim())
            }
            SignError::UnknownHash(h) => write!(
                f,
                "the tree asks for module signatures with '{h}' (CONFIG_MODULE_SIG_HASH), which openssl does not know"
            ),
        }
    }
}

impl std::error::Error for SignError {}

/// The digest a tree's kernel expects: `CONFIG_MODULE_SIG_HASH`, else sha256.
pub fn hash_for(config: &std::collections::BTreeMap<String, String>) -> String {
    config
        .get("CONFIG_MODULE_SIG_HASH")
        .map(|h| h.trim_matches('"').to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "sha256".to_string())
}

/// The module without an appended signature (unchanged when unsigned).
pub fn strip_signature(image: &[u8]) -> &[u8] {
    match split_signature(image) {
        Some((module, _)) => module,
        None => image,
    }
}

/// A signed image's module bytes and PKCS#7 signature (DER); `None` when
/// unsigned or the trailer is malformed.
pub fn split_signature(image: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = image.strip_suffix(MAGIC)?;
    let info = body.get(body.len().checked_sub(INFO_LEN)?..)?;
    if info[2] != PKEY_ID_PKCS7 {
        return None;
    }
    let sig_len = u32::from_be_bytes(info[8..12].try_into().ok()?) as usize;
    let sig_end = body.len() - INFO_LEN;
    let sig_start = sig_end.checked_sub(sig_len)?;
    Some((&body[..sig_start], &body[sig_start..sig_end]))
}

/// `module` followed by `signature` in the kernel's appended format.
pub fn append_signature(module: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(module.len() + signature.len() + INFO_LEN + MAGIC.len());
    out.extend_from_slice(module);
    out.extend_from_slice(signature);
    // algo, hash, id_type, signer_len, key_id_len, __pad[3], __be32 sig_len
    out.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&(signature.len() as u32).to_be_bytes());
    out.extend_from_slice(MAGIC);
    out
}

fn openssl(args: &[&std::ffi::OsStr], what: &str) -> Result<(), SignError> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SignError::NoOpenssl,
            _ => SignError::Io {
                path: "openssl".into(),
                error: e,
            },
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(SignError::Openssl {
            what: what.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SignError + '_ {
    move |error| SignError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The image signed with `key` over `hash` (an earlier signature replaced).
pub fn sign(image: &[u8], key: &SigningKey, hash: &str) -> Result<Vec<u8>, SignError> {
    const HASHES: &[&str] = &[
        "sha1", "sha224", "sha256", "sha384", "sha512", "sha3-256", "sha3-384", "sha3-512",
    ];
    if !HASHES.contains(&hash) {
        return Err(SignError::UnknownHash(hash.to_string()));
    }
    for file in [&key.key, &key.cert] {
        if !file.is_file() {
            return Err(SignError::Io {
                path: file.clone(),
                error: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such key file (make a key pair with: stap --make-mok)",
                ),
            });
        }
    }
    let module = strip_signature(image);
    let dir = tempfile::Builder::new()
        .prefix("stapkit-sign")
        .tempdir()
        .map_err(io(Path::new("temporary directory")))?;
    let input = dir.path().join("module.ko");
    let output = dir.path().join("module.p7s");
    std::fs::write(&input, module).map_err(io(&input))?;
    let cert = pem_certificate(&key.cert, dir.path())?;
    openssl(
        &[
            "cms".as_ref(),
            "-sign".as_ref(),
            "-binary".as_ref(),
            "-noattr".as_ref(),
            "-nosmimecap".as_ref(),
            "-nocerts".as_ref(),
            "-outform".as_ref(),
            "DER".as_ref(),
            "-md".as_ref(),
            hash.as_ref(),
            "-signer".as_ref(),
            cert.as_os_str(),
            "-inkey".as_ref(),
            key.key.as_os_str(),
            "-in".as_ref(),
            input.as_os_str(),
            "-out".as_ref(),
            output.as_os_str(),
        ],
        "sign the module",
    )?;
    let signature = std::fs::read(&output).map_err(io(&output))?;
    Ok(append_signature(module, &signature))
}

/// The certificate as a PEM file: `cert` itself, or a PEM copy of a DER one.
fn pem_certificate(cert: &Path, scratch: &Path) -> Result<PathBuf, SignError> {
    let data = std::fs::read(cert).map_err(io(cert))?;
    if data.first() != Some(&0x30) {
        return Ok(cert.to_path_buf());
    }
    let pem = scratch.join("cert.pem");
    openssl(
        &[
            "x509".as_ref(),
            "-inform".as_ref(),
            "DER".as_ref(),
            "-in".as_ref(),
            cert.as_os_str(),
            "-out".as_ref(),
            pem.as_os_str(),
        ],
        "read the certificate",
    )?;
    Ok(pem)
}

/// Files a new key pair was written to.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// Private key and certificate, PEM (`--sign-module=` this).
    pub pem: PathBuf,
    /// The certificate, DER (`mokutil --import` this).
    pub der: PathBuf,
}

/// Writes a new machine-owner key pair into `dir`: RSA of `bits`, a
/// self-signed certificate for code signing, valid 100 years.
pub fn make_key_pair(dir: &Path, subject: &str, bits: u32) -> Result<KeyPair, SignError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let pem = dir.join("signing_key.pem");
    let der = dir.join("signing_key.x509");
    for existing in [&pem, &der] {
        if existing.exists() {
            return Err(SignError::Io {
                path: existing.clone(),
                error: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists; remove it first or choose another directory",
                ),
            });
        }
    }
    let scratch = tempfile::Builder::new()
        .prefix("stapkit-mok")
        .tempdir()
        .map_err(io(Path::new("temporary directory")))?;
    let config = scratch.path().join("x509.genkey");
    let subject = subject.replace(['\n', '"', '\\'], " ");
    std::fs::write(
        &config,
        format!(
            "[ req ]\ndistinguished_name = dn\nprompt = no\nstring_mask = utf8only\nx509_extensions = ext\n\
             [ dn ]\nCN = {subject}\n\
             [ ext ]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = digitalSignature\n\
             extendedKeyUsage = codeSigning\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
        ),
    )
    .map_err(io(&config))?;
    let key = scratch.path().join("key.pem");
    let cert = scratch.path().join("cert.pem");
    let bits = format!("rsa:{bits}");
    openssl(
        &[
            "req".as_ref(),
            "-new".as_ref(),
            "-x509".as_ref(),
            "-utf8".as_ref(),
            "-sha256".as_ref(),
            "-days".as_ref(),
            "36500".as_ref(),
            "-batch".as_ref(),
            "-nodes".as_ref(),
            "-config".as_ref(),
            config.as_os_str(),
            "-newkey".as_ref(),
            bits.as_ref(),
            "-keyout".as_ref(),
            key.as_os_str(),
            "-out".as_ref(),
            cert.as_os_str(),
        ],
        "make the key pair",
    )?;
    openssl(
        &[
            "x509".as_ref(),
            "-in".as_ref(),
            cert.as_os_str(),
            "-outform".as_ref(),
            "DER".as_ref(),
            "-out".as_ref(),
            der.as_os_str(),
        ],
        "write the certificate in DER",
    )?;
    let mut both = std::fs::read(&key).map_err(io(&key))?;
    both.extend(std::fs::read(&cert).map_err(io(&cert))?);
    write_private(&pem, &both)?;
    Ok(KeyPair { pem, der })
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, data: &[u8]) -> Result<(), SignError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    f.write_all(data).map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trailer_is_the_kernels() {
        let signed = append_signature(b"\x7fELF...module", b"SIGNATURE");
        assert!(signed.ends_with(b"~Module signature appended~\n"));
        let info = &signed[signed.len() - MAGIC.len() - INFO_LEN..signed.len() - MAGIC.len()];
        assert_eq!(info, [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        assert_eq!(
            split_signature(&signed),
            Some((&b"\x7fELF...module"[..], &b"SIGNATURE"[..]))
        );
        assert_eq!(strip_signature(&signed), b"\x7fELF...module");
        assert_eq!(split_signature(b"unsigned"), None);
        // A trailer whose length points before the file is not a signature.
        let mut bad = signed.clone();
        let at = bad.len() - MAGIC.len() - 1;
        bad[at] = 0xff;
        assert_eq!(split_signature(&bad), None);
    }

    #[test]
    fn the_hash_comes_from_the_config() {
        let mut config = std::collections::BTreeMap::new();
        assert_eq!(hash_for(&config), "sha256");
        config.insert(
            "CONFIG_MODULE_SIG_HASH".to_string(),
            "\"sha512\"".to_string(),
        );
        assert_eq!(hash_for(&config), "sha512");
    }

    #[test]
    fn key_specs() {
        assert_eq!(
            SigningKey::from_spec(Some("k.pem,c.der")),
            SigningKey {
                key: "k.pem".into(),
                cert: "c.der".into()
            }
        );
        assert_eq!(
            SigningKey::from_spec(Some("both.pem")).cert,
            PathBuf::from("both.pem")
        );
        assert!(SigningKey::from_spec(None)
            .key
            .ends_with("stapkit/mok/signing_key.pem"));
    }

    /// Signs with a fresh key and checks the result as the kernel would
    /// read it: the PKCS#7 after stripping the trailer verifies against the
    /// module bytes and the certificate, over the hash asked for, with no
    /// certificates or signed attributes inside.
    #[test]
    fn signatures_verify_with_openssl() {
        let dir = tempfile::tempdir().unwrap();
        let pair = make_key_pair(dir.path(), "stapkit test key", 2048).unwrap();
        let err = make_key_pair(dir.path(), "again", 2048).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        let module = b"\x7fELF pretend module bytes".repeat(100);
        let key = SigningKey::from_spec(Some(pair.pem.to_str().unwrap()));
        let once = sign(&module, &key, "sha512").unwrap();
        // Re-signing replaces the signature rather than stacking another.
        let signed = sign(
            &once,
            &SigningKey {
                key: pair.pem.clone(),
                cert: pair.der.clone(),
            },
            "sha256",
        )
        .unwrap();
        let (body, sig) = split_signature(&signed).unwrap();
        assert_eq!(body, &module[..]);
        let sig_path = dir.path().join("sig.p7s");
        let body_path = dir.path().join("body");
        std::fs::write(&sig_path, sig).unwrap();
        std::fs::write(&body_path, body).unwrap();
        let verify = Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-noverify",
                "-in",
            ])
            .arg(&sig_path)
            .arg("-content")
            .arg(&body_path)
            .arg("-certfile")
            .arg(&pair.pem)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        let print = Command::new("openssl")
            .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
            .arg(&sig_path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&print.stdout);
        assert!(
            text.contains("digestAlgorithm") && text.contains("sha256"),
            "{text}"
        );
        assert!(
            text.contains("certificates:\n      <ABSENT>")
                || text.contains("certificates:\r\n      <ABSENT>"),
            "{text}"
        );
        assert!(text.contains("signedAttrs:\n          <ABSENT>"), "{text}");
        assert!(text.contains("issuerAndSerialNumber"), "{text}");
        // A tampered module no longer verifies.
        std::fs::write(&body_path, b"other").unwrap();
        let bad = Command::new("openssl")
            .args([
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-noverify",
                "-in",
            ])
            .arg(&sig_path)
            .arg("-content")
            .arg(&body_path)
            .arg("-certfile")
            .arg(&pair.pem)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        assert!(!bad.status.success());
        // The DER certificate carries the code-signing usage mokutil wants.
        let cert = Command::new("openssl")
            .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
            .arg(&pair.der)
            .output()
            .unwrap();
        let cert = String::from_utf8_lossy(&cert.stdout);
        assert!(
            cert.contains("Code Signing") && cert.contains("Digital Signature"),
            "{cert}"
        );
        assert!(cert.contains("CN = stapkit test key"), "{cert}");
    }
}
