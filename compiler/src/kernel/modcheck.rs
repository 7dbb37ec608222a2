//! Module checks: will this `.ko` load on that kernel?
//!
//! Reads the module with the `object` crate and compares it with the target
//! tree: ELF machine, `vermagic`, and the `.modinfo` fields the loader needs.
//! A failed check explains itself and names the fix, so `Invalid module
//! format` is found at build time rather than on the target host.

use std::fmt;
use std::path::Path;

use object::{Object, ObjectSection};

use super::tree::HeaderTree;

/// What a module says about itself in `.modinfo`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModInfo {
    /// `name=`.
    pub name: Option<String>,
    /// `vermagic=`.
    pub vermagic: Option<String>,
    /// `license=`.
    pub license: Option<String>,
    /// Every `key=value` pair in order.
    pub fields: Vec<(String, String)>,
}

/// A reason the module would not load on the tree's kernel.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckFailure {
    /// Not an ELF relocatable object.
    NotAModule(String),
    /// Built for another architecture.
    WrongArch { module: String, tree: String },
    /// `vermagic` differs from the kernel's.
    Vermagic { module: String, tree: String },
    /// No `.modinfo` name or vermagic.
    MissingModinfo(&'static str),
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckFailure::NotAModule(why) => write!(f, "not a kernel module: {why}"),
            CheckFailure::WrongArch { module, tree } => write!(
                f,
                "the module is built for {module} but the kernel is {tree}; rebuild it with -a {tree} -r <a {tree} tree>"
            ),
            CheckFailure::Vermagic { module, tree } => write!(
                f,
                "vermagic '{module}' does not match the kernel's '{tree}' (the kernel would refuse it with \
                 'Invalid module format'); rebuild it with -r pointing at this kernel's tree"
            ),
            CheckFailure::MissingModinfo(field) => write!(f, "the module has no '{field}' in .modinfo"),
        }
    }
}

/// Reads `.modinfo` and the architecture of a module image.
pub fn read_modinfo(data: &[u8]) -> Result<(ModInfo, String), CheckFailure> {
    let file = object::File::parse(data).map_err(|e| CheckFailure::NotAModule(e.to_string()))?;
    if file.kind() != object::ObjectKind::Relocatable {
        return Err(CheckFailure::NotAModule(format!(
            "ELF kind is {:?}, not relocatable",
            file.kind()
        )));
    }
    let arch = match file.architecture() {
        object::Architecture::X86_64 => "x86_64".to_string(),
        object::Architecture::Aarch64 => "arm64".to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    let section = file
        .section_by_name(".modinfo")
        .ok_or(CheckFailure::MissingModinfo(".modinfo"))?;
    let bytes = section
        .data()
        .map_err(|e| CheckFailure::NotAModule(e.to_string()))?;
    let mut info = ModInfo::default();
    for field in bytes.split(|&b| b == 0).filter(|f| !f.is_empty()) {
        let text = String::from_utf8_lossy(field);
        let Some((key, value)) = text.split_once('=') else {
            continue;
        };
        match key {
            "name" => info.name = Some(value.to_string()),
            "vermagic" => info.vermagic = Some(value.to_string()),
            "license" => info.license = Some(value.to_string()),
            _ => {}
        }
        info.fields.push((key.to_string(), value.to_string()));
    }
    Ok((info, arch))
}

/// Checks the module at `ko` against `tree`; every failure found is returned.
pub fn check(ko: &Path, tree: &HeaderTree) -> Result<ModInfo, Vec<CheckFailure>> {
    let data = std::fs::read(ko)
        .map_err(|e| vec![CheckFailure::NotAModule(format!("{}: {e}", ko.display()))])?;
    check_bytes(&data, tree)
}

/// [`check`] on a module image in memory.
pub fn check_bytes(data: &[u8], tree: &HeaderTree) -> Result<ModInfo, Vec<CheckFailure>> {
    let (info, arch) = read_modinfo(data).map_err(|e| vec![e])?;
    let mut failures = Vec::new();
    if arch != tree.arch {
        failures.push(CheckFailure::WrongArch {
            module: arch,
            tree: tree.arch.clone(),
        });
    }
    match &info.vermagic {
        None => failures.push(CheckFailure::MissingModinfo("vermagic")),
        Some(v) if *v != tree.vermagic() => failures.push(CheckFailure::Vermagic {
            module: v.clone(),
            tree: tree.vermagic(),
        }),
        Some(_) => {}
    }
    if info.name.is_none() {
        failures.push(CheckFailure::MissingModinfo("name"));
    }
    if failures.is_empty() {
        Ok(info)
    } else {
        Err(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_module() {
        let err = read_modinfo(b"not an elf").unwrap_err();
        assert!(matches!(err, CheckFailure::NotAModule(_)), "{err:?}");
    }

    #[test]
    fn failures_explain_the_fix() {
        let f = CheckFailure::Vermagic {
            module: "6.1.0-1-amd64 SMP ".into(),
            tree: "6.1.0-56-amd64 SMP ".into(),
        };
        assert!(f.to_string().contains("Invalid module format"));
        let f = CheckFailure::WrongArch {
            module: "x86_64".into(),
            tree: "arm64".into(),
        };
        assert_eq!(
            f.to_string(),
            "the module is built for x86_64 but the kernel is arm64; rebuild it with -a arm64 -r <a arm64 tree>"
        );
    }
}
