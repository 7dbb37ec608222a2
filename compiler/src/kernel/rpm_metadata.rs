//! RPM repository metadata: the primary metadata's location in
//! `repodata/repomd.xml`, the packages its `primary.xml.{gz,zst,xz}` lists
//! (name, epoch-version-release, architecture, SHA-256, location), and the
//! newest of them by RPM's version comparison. Reads bytes only: fetching
//! them is `rpm_repo`'s, decompressing them `rpm_unpack`'s.

use std::cmp::Ordering;

use quick_xml::events::Event;

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

    pub(super) fn evr(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::manifest::release_matches;

    #[test]
    fn metadata_gives_the_primary_and_its_packages() {
        let repomd = br#"<?xml version="1.0"?><repomd>
            <data type="filelists"><location href="repodata/f.xml.gz"/></data>
            <data type="primary"><checksum type="sha256">x</checksum><location href="repodata/abc-primary.xml.zst"/></data></repomd>"#;
        assert_eq!(
            primary_href(repomd).unwrap(),
            "repodata/abc-primary.xml.zst"
        );
        assert!(primary_href(b"<repomd/>").unwrap_err().contains("primary"));
        let primary = br#"<metadata packages="3">
<package type="rpm"><name>kernel-devel</name><arch>x86_64</arch><version epoch="0" ver="5.14.0" rel="503.el9"/>
<checksum type="sha256" pkgid="YES">aa</checksum><location href="Packages/kernel-devel-5.14.0-503.el9.x86_64.rpm"/><size package="100"/></package>
<package type="rpm"><name>kernel-devel</name><arch>x86_64</arch><version epoch="0" ver="5.14.0" rel="62.el9"/>
<checksum type="sha256" pkgid="YES">bb</checksum><location href="Packages/old.rpm"/><size package="100"/></package>
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5" rel="1"/></package>
</metadata>"#;
        let pkgs = parse_primary(primary, "file:///srv/r", &|n| n == "kernel-devel").unwrap();
        assert_eq!(pkgs.len(), 2);
        let n = newest(&pkgs).unwrap();
        assert_eq!(n.kernel_release(), "5.14.0-503.el9.x86_64");
        assert_eq!(n.sha256, "aa");
        assert_eq!(n.href, "Packages/kernel-devel-5.14.0-503.el9.x86_64.rpm");
        assert!(release_matches("5.14.0-*.el9.x86_64", &n.kernel_release()));
    }
}
