//! `Module.symvers`: what a kernel tree exports, one line a symbol
//! (`CRC<TAB>SYMBOL<TAB>MODULE<TAB>EXPORT_SYMBOL[_GPL]<TAB>NAMESPACE`).
//! The one reader of it: module checks compare CRCs, licenses and
//! namespaces, feature probes test exports, and `debuginfo` knows which
//! functions and variables a module may link against.

use std::collections::BTreeMap;
use std::path::Path;

/// One exported symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The symbol's CRC (0 without MODVERSIONS).
    pub crc: u32,
    /// `vmlinux` or the exporting module's path.
    pub module: String,
    /// `EXPORT_SYMBOL_GPL`: only GPL-compatible modules may use it.
    pub gpl_only: bool,
    /// The symbol namespace, if any.
    pub namespace: Option<String>,
}

/// The exports of a tree, by symbol name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symvers {
    map: BTreeMap<String, Export>,
}

impl Symvers {
    /// Parses the text of a `Module.symvers`; a line without a symbol or
    /// with a CRC that is not hexadecimal is skipped.
    pub fn parse(text: &str) -> Symvers {
        Symvers::parse_only(text, |_| true)
    }

    /// [`Symvers::parse`] keeping only the symbols `wanted` accepts.
    pub fn parse_only(text: &str, wanted: impl Fn(&str) -> bool) -> Symvers {
        let map = text
            .lines()
            .filter_map(|line| {
                let mut f = line.split('\t');
                let crc = f.next()?;
                let symbol = f.next()?;
                if !wanted(symbol) {
                    return None;
                }
                let crc = u32::from_str_radix(crc.trim_start_matches("0x"), 16).ok()?;
                let symbol = symbol.to_string();
                let module = f.next().unwrap_or("vmlinux").to_string();
                let gpl_only = f.next().is_some_and(|t| t.ends_with("_GPL"));
                let namespace = f
                    .next()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string);
                let export = Export {
                    crc,
                    module,
                    gpl_only,
                    namespace,
                };
                Some((symbol, export))
            })
            .collect();
        Symvers { map }
    }

    /// Reads the `Module.symvers` at `path`.
    pub fn load(path: &Path) -> std::io::Result<Symvers> {
        std::fs::read_to_string(path).map(|t| Symvers::parse(&t))
    }

    /// [`Symvers::load`] keeping only the symbols `wanted` accepts.
    pub fn load_only(path: &Path, wanted: impl Fn(&str) -> bool) -> std::io::Result<Symvers> {
        std::fs::read_to_string(path).map(|t| Symvers::parse_only(&t, wanted))
    }

    /// The export of `name`, if it is exported.
    pub fn get(&self, name: &str) -> Option<&Export> {
        self.map.get(name)
    }

    /// Whether `name` is exported.
    pub fn contains(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The exported names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// How many symbols are exported.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is exported (no `Module.symvers`).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_with_license_and_namespace() {
        let s = Symvers::parse(
            "0x12345678\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n\
             0x9abcdef0\tregister_kprobe\tvmlinux\tEXPORT_SYMBOL_GPL\t\n\
             0x00000000\tusb_x\tdrivers/usb/core/usbcore\tEXPORT_SYMBOL_GPL\tUSB_STORAGE \n\
             0x00000001\tbare\n\
             not-hex\tskipped\tvmlinux\tEXPORT_SYMBOL\t\n",
        );
        assert_eq!(s.len(), 4);
        let printk = s.get("_printk").unwrap();
        assert_eq!((printk.crc, printk.gpl_only), (0x12345678, false));
        assert!(s.get("register_kprobe").unwrap().gpl_only);
        let usb = s.get("usb_x").unwrap();
        assert_eq!(usb.module, "drivers/usb/core/usbcore");
        assert_eq!(usb.namespace.as_deref(), Some("USB_STORAGE"));
        assert_eq!(s.get("bare").unwrap().module, "vmlinux");
        assert!(!s.contains("skipped") && s.contains("bare"));
        assert_eq!(
            s.names().collect::<Vec<_>>(),
            ["_printk", "bare", "register_kprobe", "usb_x"]
        );
        assert!(Symvers::default().is_empty());
        let only = Symvers::parse_only(
            "0x12345678\t_printk\tvmlinux\tEXPORT_SYMBOL\t\n\
             0x9abcdef0\tregister_kprobe\tvmlinux\tEXPORT_SYMBOL_GPL\t\n\
             not-hex\tskipped\tvmlinux\tEXPORT_SYMBOL\t\n",
            |name| name != "_printk",
        );
        assert_eq!(only.names().collect::<Vec<_>>(), ["register_kprobe"]);
        assert_eq!(only.get("register_kprobe"), s.get("register_kprobe"));
    }
}
