//! Module checks: will this `.ko` load on that kernel?
//!
//! Reads the module with the `object` crate and compares it with the target
//! tree, the way the kernel's loader will: ELF machine, `vermagic`, the
//! `__versions` CRCs against the tree's `Module.symvers` (when the tree has
//! `CONFIG_MODVERSIONS`), every undefined symbol against the exports (by
//! name, license and namespace), and the `.modinfo` fields the loader reads.
//! A failed check explains itself and names the fix, so `Invalid module
//! format` and `Unknown symbol` are found at build time rather than on the
//! target host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use object::{Object, ObjectSection, ObjectSymbol};

use super::symvers::Symvers;
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

impl ModInfo {
    /// Every value of `key`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// What the checks need to know about the module's ELF image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleImage {
    /// `.modinfo`.
    pub info: ModInfo,
    /// `x86_64`, `arm64`, or what else the ELF header says.
    pub arch: String,
    /// `__versions`: symbol to CRC, if the section exists.
    pub versions: Option<BTreeMap<String, u32>>,
    /// Undefined global symbols.
    pub undefined: BTreeSet<String>,
    /// Whether `.gnu.linkonce.this_module` (the `struct module`) exists.
    pub has_this_module: bool,
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
    /// A `.modinfo` field the loader needs is missing.
    MissingModinfo(&'static str),
    /// A `.modinfo` field is there more than once.
    DuplicateModinfo(&'static str),
    /// `.modinfo` names another module than the file.
    WrongName { modinfo: String, file: String },
    /// No `.gnu.linkonce.this_module` section.
    NoThisModule,
    /// The tree has MODVERSIONS but the module has no `__versions`.
    NoVersions,
    /// Imported symbols without a `__versions` entry.
    MissingVersions { symbols: Vec<String> },
    /// `__versions` CRCs that differ from the tree's `Module.symvers`.
    Crc { mismatches: Vec<(String, u32, u32)> },
    /// Undefined symbols the kernel does not export.
    Unexported { symbols: Vec<String> },
    /// GPL-only exports used by a module whose license is not GPL-compatible.
    GplOnly {
        symbols: Vec<String>,
        license: String,
    },
    /// Namespaced exports whose namespace the module does not import.
    Namespace { symbol: String, namespace: String },
    /// The tree has no `Module.symvers` to check against.
    NoSymvers,
}

fn list(symbols: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut s = symbols
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if symbols.len() > SHOWN {
        s.push_str(&format!(" and {} more", symbols.len() - SHOWN));
    }
    s
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
            CheckFailure::MissingModinfo(field) => write!(
                f,
                "the module has no '{field}' in .modinfo (the kernel's loader needs it); rebuild it with stap"
            ),
            CheckFailure::DuplicateModinfo(field) => {
                write!(f, "the module has more than one '{field}' in .modinfo; rebuild it with stap")
            }
            CheckFailure::WrongName { modinfo, file } => write!(
                f,
                "the module calls itself '{modinfo}' but the file is {file}.ko (the loader uses the .modinfo \
                 name); rename the file back, or rebuild with -m {file}"
            ),
            CheckFailure::NoThisModule => write!(
                f,
                "the module has no .gnu.linkonce.this_module section (the kernel would say 'No module found in \
                 object'); rebuild it with stap"
            ),
            CheckFailure::NoVersions => write!(
                f,
                "the kernel has CONFIG_MODVERSIONS but the module has no __versions (it would be refused with \
                 'no symbol version'); rebuild it against this kernel's tree, without -B CONFIG_MODVERSIONS="
            ),
            CheckFailure::MissingVersions { symbols } => write!(
                f,
                "the kernel has CONFIG_MODVERSIONS but the module has no symbol version for {} (it would be \
                 refused); rebuild it against this kernel's tree",
                list(symbols)
            ),
            CheckFailure::Crc { mismatches } => {
                let shown: Vec<String> = mismatches
                    .iter()
                    .map(|(s, m, t)| format!("{s} (module 0x{m:08x}, kernel 0x{t:08x})"))
                    .collect();
                write!(
                    f,
                    "symbol CRCs differ from the kernel's Module.symvers: {} (the kernel would refuse it: \
                     'disagrees about version of symbol'); the module was built for another kernel: rebuild it \
                     with -r pointing at this kernel's tree",
                    list(&shown)
                )
            }
            CheckFailure::Unexported { symbols } => write!(
                f,
                "the kernel does not export {} (loading would fail with 'Unknown symbol'); the script uses a \
                 kernel function modules cannot call on this kernel",
                list(symbols)
            ),
            CheckFailure::GplOnly { symbols, license } => write!(
                f,
                "{} {} exported GPL-only, but the module's license is '{license}'; it needs \
                 MODULE_LICENSE(\"GPL\") (or another GPL-compatible license)",
                list(symbols),
                if symbols.len() == 1 { "is" } else { "are" }
            ),
            CheckFailure::Namespace { symbol, namespace } => write!(
                f,
                "{symbol} is exported in namespace {namespace}, which the module does not import; it needs \
                 MODULE_IMPORT_NS({namespace})"
            ),
            CheckFailure::NoSymvers => write!(
                f,
                "the tree has no Module.symvers, so symbol versions and exports cannot be checked; use a complete \
                 header tree (stap-prep fetch NAME)"
            ),
        }
    }
}

/// Licenses the kernel treats as GPL-compatible (`license_is_gpl_compatible`).
pub fn gpl_compatible(license: &str) -> bool {
    matches!(
        license,
        "GPL"
            | "GPL v2"
            | "GPL and additional rights"
            | "Dual BSD/GPL"
            | "Dual MIT/GPL"
            | "Dual MPL/GPL"
    )
}

/// Reads what the checks need from a module image.
pub fn read_image(data: &[u8]) -> Result<ModuleImage, CheckFailure> {
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
    let section_data = |name: &str| -> Result<Option<&[u8]>, CheckFailure> {
        match file.section_by_name(name) {
            None => Ok(None),
            Some(s) => s
                .data()
                .map(Some)
                .map_err(|e| CheckFailure::NotAModule(format!("{name}: {e}"))),
        }
    };
    let modinfo = section_data(".modinfo")?.ok_or(CheckFailure::MissingModinfo(".modinfo"))?;
    let mut info = ModInfo::default();
    for field in modinfo.split(|&b| b == 0).filter(|f| !f.is_empty()) {
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
    // struct modversion_info: an unsigned long CRC, then the NUL-padded name.
    let word = if file.is_64() { 8 } else { 4 };
    let versions = section_data("__versions")?.map(|bytes| {
        bytes
            .chunks_exact(64)
            .filter_map(|entry| {
                let mut crc = [0u8; 4];
                crc.copy_from_slice(&entry[..4]);
                let crc = if file.is_little_endian() {
                    u32::from_le_bytes(crc)
                } else {
                    let mut c = [0u8; 4];
                    c.copy_from_slice(&entry[word - 4..word]);
                    u32::from_be_bytes(c)
                };
                let name = &entry[word..];
                let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                let name = String::from_utf8_lossy(&name[..end]).into_owned();
                (!name.is_empty()).then_some((name, crc))
            })
            .collect()
    });
    let undefined = file
        .symbols()
        .filter(|s| s.is_undefined() && s.is_global())
        .filter_map(|s| s.name().ok().filter(|n| !n.is_empty()).map(str::to_string))
        .collect();
    Ok(ModuleImage {
        info,
        arch,
        versions,
        undefined,
        has_this_module: file.section_by_name(".gnu.linkonce.this_module").is_some(),
    })
}

/// Reads `.modinfo` and the architecture of a module image.
pub fn read_modinfo(data: &[u8]) -> Result<(ModInfo, String), CheckFailure> {
    read_image(data).map(|i| (i.info, i.arch))
}

/// Checks the module at `ko` against `tree`; every failure found is returned.
pub fn check(ko: &Path, tree: &HeaderTree) -> Result<ModInfo, Vec<CheckFailure>> {
    let data = std::fs::read(ko)
        .map_err(|e| vec![CheckFailure::NotAModule(format!("{}: {e}", ko.display()))])?;
    // Only the exports the module names are looked up: reading those
    // alone spares a hit from the module cache building the whole table.
    let wanted: BTreeSet<String> = match read_image(&data) {
        Ok(image) => image
            .undefined
            .into_iter()
            .chain(image.versions.into_iter().flat_map(BTreeMap::into_keys))
            .collect(),
        Err(_) => BTreeSet::new(),
    };
    let symvers = Symvers::load_only(&tree.dir.join("Module.symvers"), |name| {
        wanted.contains(name)
    })
    .ok();
    let file_name = ko
        .file_stem()
        .map(|s| s.to_string_lossy().replace('-', "_"));
    check_image(
        &data,
        &Target {
            arch: tree.arch,
            vermagic: &tree.vermagic(),
            modversions: tree.enabled("CONFIG_MODVERSIONS"),
            symvers: symvers.as_ref(),
        },
        file_name.as_deref(),
    )
}

/// What a module is checked against: the parts of a tree that matter.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The kernel's architecture.
    pub arch: crate::arch::Arch,
    /// The vermagic the kernel requires.
    pub vermagic: &'a str,
    /// Whether the kernel checks symbol CRCs.
    pub modversions: bool,
    /// The tree's exports (`None`: the tree has no `Module.symvers`).
    pub symvers: Option<&'a Symvers>,
}

/// [`check`] on a module image in memory; `file_name` is the file stem the
/// module will be loaded from, if known.
pub fn check_image(
    data: &[u8],
    target: &Target<'_>,
    file_name: Option<&str>,
) -> Result<ModInfo, Vec<CheckFailure>> {
    let image = read_image(data).map_err(|e| vec![e])?;
    let info = &image.info;
    let mut failures = Vec::new();
    if image.arch != target.arch.name() {
        failures.push(CheckFailure::WrongArch {
            module: image.arch.clone(),
            tree: target.arch.to_string(),
        });
    }
    match &info.vermagic {
        None => failures.push(CheckFailure::MissingModinfo("vermagic")),
        Some(v) if v != target.vermagic => failures.push(CheckFailure::Vermagic {
            module: v.clone(),
            tree: target.vermagic.to_string(),
        }),
        Some(_) => {}
    }
    for field in ["name", "vermagic", "license"] {
        match info.all(field).count() {
            0 if field != "vermagic" => failures.push(CheckFailure::MissingModinfo(field)),
            n if n > 1 => failures.push(CheckFailure::DuplicateModinfo(field)),
            _ => {}
        }
    }
    if let (Some(name), Some(file)) = (&info.name, file_name) {
        if name != file {
            failures.push(CheckFailure::WrongName {
                modinfo: name.clone(),
                file: file.to_string(),
            });
        }
    }
    if !image.has_this_module {
        failures.push(CheckFailure::NoThisModule);
    }
    match target.symvers {
        None => failures.push(CheckFailure::NoSymvers),
        Some(symvers) => check_symbols(&image, target, symvers, &mut failures),
    }
    if failures.is_empty() {
        Ok(image.info)
    } else {
        Err(failures)
    }
}

fn check_symbols(
    image: &ModuleImage,
    target: &Target<'_>,
    symvers: &Symvers,
    failures: &mut Vec<CheckFailure>,
) {
    let unexported: Vec<String> = image
        .undefined
        .iter()
        .filter(|s| !symvers.contains(s))
        .cloned()
        .collect();
    if !unexported.is_empty() {
        failures.push(CheckFailure::Unexported {
            symbols: unexported,
        });
    }
    let license = image.info.license.clone().unwrap_or_default();
    if !gpl_compatible(&license) {
        let gpl: Vec<String> = image
            .undefined
            .iter()
            .filter(|s| symvers.get(s).is_some_and(|e| e.gpl_only))
            .cloned()
            .collect();
        if !gpl.is_empty() {
            failures.push(CheckFailure::GplOnly {
                symbols: gpl,
                license,
            });
        }
    }
    let imported: BTreeSet<&str> = image.info.all("import_ns").collect();
    for symbol in &image.undefined {
        if let Some(ns) = symvers.get(symbol).and_then(|e| e.namespace.as_ref()) {
            if !imported.contains(ns.as_str()) {
                failures.push(CheckFailure::Namespace {
                    symbol: symbol.clone(),
                    namespace: ns.clone(),
                });
            }
        }
    }
    if !target.modversions {
        return;
    }
    let Some(versions) = &image.versions else {
        failures.push(CheckFailure::NoVersions);
        return;
    };
    let missing: Vec<String> = image
        .undefined
        .iter()
        .filter(|s| symvers.contains(s) && !versions.contains_key(*s))
        .cloned()
        .collect();
    if !missing.is_empty() {
        failures.push(CheckFailure::MissingVersions { symbols: missing });
    }
    let mismatches: Vec<(String, u32, u32)> = versions
        .iter()
        .filter_map(|(s, &crc)| {
            let tree = symvers.get(s)?.crc;
            (tree != crc).then(|| (s.clone(), crc, tree))
        })
        .collect();
    if !mismatches.is_empty() {
        failures.push(CheckFailure::Crc { mismatches });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf_fixture;

    const VERMAGIC: &str = "6.1.0-56-amd64 SMP preempt mod_unload modversions ";

    /// A minimal module image: `.modinfo` fields, `__versions` entries and
    /// undefined symbols, as kbuild would lay them out.
    fn module(modinfo: &[&str], versions: Option<&[(&str, u32)]>, undefined: &[&str]) -> Vec<u8> {
        let mut obj = elf_fixture::object();
        elf_fixture::modinfo(&mut obj, modinfo);
        if let Some(versions) = versions {
            let wide: Vec<(&str, u64)> = versions.iter().map(|&(n, c)| (n, u64::from(c))).collect();
            elf_fixture::versions(&mut obj, &wide);
        }
        elf_fixture::this_module(&mut obj);
        elf_fixture::undefined(&mut obj, undefined);
        obj.write().unwrap()
    }

    fn symvers() -> Symvers {
        Symvers::parse(
            "0x92997ed8\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n\
             0xfcca5424\tregister_kprobe\tvmlinux\tEXPORT_SYMBOL_GPL\t\n\
             0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n\
             0x84b45156\tinsert_resource_expand_to_fit\tvmlinux\tEXPORT_SYMBOL_GPL\tCXL\n\
             0x1f491d36\ttwofish_dec_blk\tarch/x86/crypto/twofish-x86_64\tEXPORT_SYMBOL_GPL\t\n",
        )
    }

    fn target(symvers: &Symvers, modversions: bool) -> Target<'_> {
        Target {
            arch: crate::arch::Arch::X86_64,
            vermagic: VERMAGIC,
            modversions,
            symvers: Some(symvers),
        }
    }

    fn good_modinfo() -> Vec<String> {
        vec![
            "license=GPL".into(),
            "description=hello".into(),
            "depends=".into(),
            "name=hello".into(),
            format!("vermagic={VERMAGIC}"),
        ]
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_module_built_for_this_tree_passes() {
        let s = symvers();
        let ko = module(
            &refs(&good_modinfo()),
            Some(&[
                ("module_layout", 0x9060323f),
                ("_printk", 0x92997ed8),
                ("register_kprobe", 0xfcca5424),
            ]),
            &["_printk", "register_kprobe"],
        );
        let info = check_image(&ko, &target(&s, true), Some("hello")).unwrap();
        assert_eq!(info.name.as_deref(), Some("hello"));
    }

    #[test]
    fn an_x86_64_module_is_refused_for_an_arm64_tree() {
        let s = symvers();
        let ko = module(&refs(&good_modinfo()), None, &[]);
        let arm64 = Target {
            arch: crate::arch::Arch::Arm64,
            vermagic: "6.1.0-56-arm64 SMP mod_unload modversions aarch64",
            ..target(&s, true)
        };
        let failures = check_image(&ko, &arm64, Some("hello")).unwrap_err();
        assert_eq!(
            failures[0],
            CheckFailure::WrongArch {
                module: "x86_64".into(),
                tree: "arm64".into()
            }
        );
    }

    #[test]
    fn crc_mismatches_name_the_symbol_and_both_crcs() {
        let s = symvers();
        let ko = module(
            &refs(&good_modinfo()),
            Some(&[("module_layout", 0x2f9b2b9a), ("_printk", 0x92997ed8)]),
            &["_printk"],
        );
        let err = check_image(&ko, &target(&s, true), Some("hello")).unwrap_err();
        assert_eq!(
            err,
            [CheckFailure::Crc {
                mismatches: vec![("module_layout".into(), 0x2f9b2b9a, 0x9060323f)]
            }]
        );
        let text = err[0].to_string();
        assert!(
            text.contains("module_layout (module 0x2f9b2b9a, kernel 0x9060323f)"),
            "{text}"
        );
        assert!(text.contains("rebuild it with -r"), "{text}");
        // Without MODVERSIONS the kernel does not look at CRCs.
        assert!(check_image(&ko, &target(&s, false), Some("hello")).is_ok());
    }

    #[test]
    fn modversions_without_versions_is_refused() {
        let s = symvers();
        let ko = module(&refs(&good_modinfo()), None, &["_printk"]);
        let err = check_image(&ko, &target(&s, true), None).unwrap_err();
        assert_eq!(err, [CheckFailure::NoVersions]);
        assert!(err[0]
            .to_string()
            .contains("without -B CONFIG_MODVERSIONS="));
        let ko = module(
            &refs(&good_modinfo()),
            Some(&[("module_layout", 0x9060323f)]),
            &["_printk"],
        );
        let err = check_image(&ko, &target(&s, true), None).unwrap_err();
        assert_eq!(
            err,
            [CheckFailure::MissingVersions {
                symbols: vec!["_printk".into()]
            }]
        );
    }

    #[test]
    fn unexported_symbols_are_named() {
        let s = symvers();
        let ko = module(
            &refs(&good_modinfo()),
            Some(&[("_printk", 0x92997ed8)]),
            &["_printk", "kallsyms_lookup_name", "task_work_cancel_func"],
        );
        let err = check_image(&ko, &target(&s, true), None).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "the kernel does not export kallsyms_lookup_name, task_work_cancel_func (loading would fail with \
             'Unknown symbol'); the script uses a kernel function modules cannot call on this kernel"
        );
    }

    #[test]
    fn gpl_only_exports_need_a_gpl_license() {
        let s = symvers();
        let mut modinfo = good_modinfo();
        modinfo[0] = "license=Proprietary".into();
        let ko = module(
            &refs(&modinfo),
            Some(&[("register_kprobe", 0xfcca5424)]),
            &["register_kprobe"],
        );
        let err = check_image(&ko, &target(&s, true), None).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "register_kprobe is exported GPL-only, but the module's license is 'Proprietary'; it needs \
             MODULE_LICENSE(\"GPL\") (or another GPL-compatible license)"
        );
        modinfo[0] = "license=Dual BSD/GPL".into();
        let ko = module(
            &refs(&modinfo),
            Some(&[("register_kprobe", 0xfcca5424)]),
            &["register_kprobe"],
        );
        assert!(check_image(&ko, &target(&s, true), None).is_ok());
    }

    #[test]
    fn namespaced_exports_need_an_import() {
        let s = symvers();
        let ko = module(
            &refs(&good_modinfo()),
            Some(&[("insert_resource_expand_to_fit", 0x84b45156)]),
            &["insert_resource_expand_to_fit"],
        );
        let err = check_image(&ko, &target(&s, true), None).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "insert_resource_expand_to_fit is exported in namespace CXL, which the module does not import; it \
             needs MODULE_IMPORT_NS(CXL)"
        );
        let mut modinfo = good_modinfo();
        modinfo.push("import_ns=CXL".into());
        let ko = module(
            &refs(&modinfo),
            Some(&[("insert_resource_expand_to_fit", 0x84b45156)]),
            &["insert_resource_expand_to_fit"],
        );
        assert!(check_image(&ko, &target(&s, true), None).is_ok());
    }

    #[test]
    fn modinfo_must_be_sane() {
        let s = symvers();
        let ko = module(
            &[&format!("vermagic={VERMAGIC}"), "name=hello", "name=other"],
            Some(&[]),
            &[],
        );
        let err = check_image(&ko, &target(&s, true), Some("hello")).unwrap_err();
        assert!(
            err.contains(&CheckFailure::MissingModinfo("license")),
            "{err:?}"
        );
        assert!(
            err.contains(&CheckFailure::DuplicateModinfo("name")),
            "{err:?}"
        );
        let ko = module(&refs(&good_modinfo()), Some(&[]), &[]);
        let err = check_image(&ko, &target(&s, true), Some("renamed")).unwrap_err();
        assert_eq!(
            err,
            [CheckFailure::WrongName {
                modinfo: "hello".into(),
                file: "renamed".into()
            }]
        );
        let other = Target {
            vermagic: "6.12.117+deb13-amd64 SMP preempt mod_unload modversions ",
            ..target(&s, true)
        };
        let err = check_image(&ko, &other, None).unwrap_err();
        assert!(
            err[0].to_string().contains("'Invalid module format'"),
            "{err:?}"
        );
    }

    #[test]
    fn garbage_is_not_a_module() {
        let err = read_modinfo(b"not an elf").unwrap_err();
        assert!(matches!(err, CheckFailure::NotAModule(_)), "{err:?}");
    }

    #[test]
    fn failures_explain_the_fix() {
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
