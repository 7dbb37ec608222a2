//! Kernel symbols: `System.map` (when it is the real one — Debian's image
//! package ships a one-line placeholder, the real map is in the `-dbg`
//! package) and the kprobe blacklist it reveals. Exports are
//! [`crate::kernel::symvers`]'s, wildcards [`crate::text::glob`]'s.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use super::error::DebugInfoError;

/// One `System.map` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Its address.
    pub addr: u64,
    /// `nm`'s type letter (`T`/`t` text, `D` data, `A` absolute, ...).
    pub kind: char,
    /// Its name.
    pub name: String,
}

impl Symbol {
    /// Whether it is a code symbol.
    pub fn is_text(&self) -> bool {
        matches!(self.kind, 't' | 'T' | 'w' | 'W')
    }
}

/// A kernel's `System.map`.
#[derive(Debug, Clone)]
pub struct SystemMap {
    /// Every symbol, sorted by name.
    symbols: Vec<Symbol>,
    /// The kprobe blacklist, computed on first use.
    blacklist: OnceLock<Blacklist>,
    /// Indices of the code symbols sorted by address, on first use.
    by_address: OnceLock<Vec<usize>>,
}

/// What marks Debian's placeholder `System.map`.
const PLACEHOLDER: &str = "The real System.map is in";

impl SystemMap {
    /// Parses `System.map` text; `None` for a placeholder without symbols.
    pub fn parse(text: &str) -> Option<SystemMap> {
        if text.contains(PLACEHOLDER) {
            return None;
        }
        let mut symbols: Vec<Symbol> = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                let addr = u64::from_str_radix(parts.next()?, 16).ok()?;
                let kind = parts.next()?.chars().next()?;
                let name = parts.next()?.to_string();
                Some(Symbol { addr, kind, name })
            })
            .collect();
        if symbols.is_empty() {
            return None;
        }
        symbols.sort_by(|a, b| a.name.cmp(&b.name).then(a.addr.cmp(&b.addr)));
        Some(SystemMap {
            symbols,
            blacklist: OnceLock::new(),
            by_address: OnceLock::new(),
        })
    }

    /// Reads `path`; `Ok(None)` for a placeholder.
    pub fn load(path: &Path) -> Result<Option<SystemMap>, DebugInfoError> {
        let text = std::fs::read_to_string(path).map_err(|e| DebugInfoError::io(path, e))?;
        Ok(SystemMap::parse(&text))
    }

    /// Every symbol, sorted by name.
    pub fn symbols(&self) -> &[Symbol] {
        &self.symbols
    }

    /// The first symbol named `name`.
    pub fn get(&self, name: &str) -> Option<&Symbol> {
        let i = self.symbols.partition_point(|s| s.name.as_str() < name);
        self.symbols.get(i).filter(|s| s.name == name)
    }

    /// How many symbols are named `name` (static functions share names).
    pub fn count(&self, name: &str) -> usize {
        let i = self.symbols.partition_point(|s| s.name.as_str() < name);
        self.symbols[i..].partition_point(|s| s.name == name)
    }

    /// The code symbols by address (ties by name).
    fn by_address(&self) -> &[usize] {
        self.by_address.get_or_init(|| {
            let mut v: Vec<usize> = (0..self.symbols.len())
                .filter(|&i| self.symbols[i].is_text())
                .collect();
            v.sort_by(|&a, &b| {
                let (a, b) = (&self.symbols[a], &self.symbols[b]);
                (a.addr, &a.name).cmp(&(b.addr, &b.name))
            });
            v
        })
    }

    /// The code symbols at or before `addr`, nearest first.
    fn text_symbols_before(&self, addr: u64) -> impl Iterator<Item = &Symbol> {
        let order = self.by_address();
        let end = order.partition_point(|&i| self.symbols[i].addr <= addr);
        order[..end].iter().rev().map(|&i| &self.symbols[i])
    }

    /// The code symbol containing `addr` (the last one at or before it),
    /// as `symname(addr)` would name it.
    pub fn text_symbol_at(&self, addr: u64) -> Option<&Symbol> {
        self.text_symbols_before(addr).next()
    }

    /// The nearest code symbol at or before `addr` whose name no other
    /// symbol has: a kprobe at `name+offset` resolves `name` through
    /// kallsyms, which takes the first of several same-named symbols.
    pub fn unique_text_symbol_before(&self, addr: u64) -> Option<&Symbol> {
        self.text_symbols_before(addr)
            .find(|s| self.count(&s.name) == 1)
    }

    /// The names of the code symbols, sorted and deduplicated.
    pub fn function_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .symbols
            .iter()
            .filter(|s| s.is_text())
            .map(|s| s.name.as_str())
            .collect();
        names.dedup();
        names
    }

    /// The kprobe blacklist this map reveals.
    pub fn blacklist(&self) -> &Blacklist {
        self.blacklist.get_or_init(|| self.compute_blacklist())
    }

    fn compute_blacklist(&self) -> Blacklist {
        const KBL_PREFIX: &str = "_kbl_addr_";
        let names = self
            .symbols
            .iter()
            .filter_map(|s| s.name.strip_prefix(KBL_PREFIX))
            .map(str::to_string)
            .collect();
        let ranges = BLACKLISTED_SECTIONS
            .iter()
            .filter_map(|&(start, end, why)| {
                Some((self.get(start)?.addr, self.get(end)?.addr, why))
            })
            .collect();
        Blacklist { names, ranges }
    }
}

/// Text ranges the kernel refuses kprobes in (`within_kprobe_blacklist`
/// and the architectures' `arch_populate_kprobe_blacklist`), as the
/// start/end symbols that bound them, with the reason reported.
const BLACKLISTED_SECTIONS: &[(&str, &str, &str)] = &[
    (
        "__kprobes_text_start",
        "__kprobes_text_end",
        ".kprobes.text",
    ),
    (
        "__noinstr_text_start",
        "__noinstr_text_end",
        ".noinstr.text",
    ),
    ("__entry_text_start", "__entry_text_end", "entry code"),
    (
        "__irqentry_text_start",
        "__irqentry_text_end",
        ".irqentry.text",
    ),
    (
        "__softirqentry_text_start",
        "__softirqentry_text_end",
        ".softirqentry.text",
    ),
    ("_sinittext", "_einittext", ".init.text, freed after boot"),
    (
        "__hyp_text_start",
        "__hyp_text_end",
        "arm64 hypervisor text",
    ),
    (
        "__hyp_idmap_text_start",
        "__hyp_idmap_text_end",
        "arm64 hypervisor idmap text",
    ),
    ("__idmap_text_start", "__idmap_text_end", "arm64 idmap text"),
];

/// Functions the kernel refuses to kprobe, as far as symbols tell.
#[derive(Debug, Clone, Default)]
pub struct Blacklist {
    /// `NOKPROBE_SYMBOL(name)` functions (`_kbl_addr_name` symbols).
    names: HashSet<String>,
    /// Forbidden address ranges with their reason.
    ranges: Vec<(u64, u64, &'static str)>,
}

impl Blacklist {
    /// Why `sym` cannot be kprobed, if it cannot.
    pub fn reason(&self, sym: &Symbol) -> Option<String> {
        if self.names.contains(&sym.name) {
            return Some("NOKPROBE_SYMBOL".into());
        }
        self.ranges
            .iter()
            .find(|&&(start, end, _)| sym.addr >= start && sym.addr < end)
            .map(|&(_, _, why)| why.to_string())
    }

    /// Why a kprobe at `addr`, inside function `containing`, would be
    /// refused, if it would.
    pub fn reason_at(&self, addr: u64, containing: &str) -> Option<String> {
        self.reason(&Symbol {
            addr,
            kind: 't',
            name: containing.to_string(),
        })
    }

    /// How many `NOKPROBE_SYMBOL` names and ranges it has.
    pub fn len(&self) -> (usize, usize) {
        (self.names.len(), self.ranges.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAP: &str = "\
ffffffff81000000 T _stext
ffffffff81000000 T _text
ffffffff81001000 T __kprobes_text_start
ffffffff81001010 T kprobe_handler_thing
ffffffff81002000 T __kprobes_text_end
ffffffff81003000 T vfs_read
ffffffff81003100 t do_fsync_helper.isra.0
ffffffff81003200 T exc_int3
ffffffff82000000 D _kbl_addr_exc_int3
ffffffff81004000 T __noinstr_text_start
ffffffff81004100 T do_syscall_64
ffffffff81005000 T __noinstr_text_end
ffffffff82000100 D jiffies
";

    #[test]
    fn placeholder_maps_have_no_symbols() {
        assert!(SystemMap::parse(
            "ffffffffffffffff B The real System.map is in the linux-image-6.1.0-56-amd64-dbg package\n"
        )
        .is_none());
        assert!(SystemMap::parse("").is_none());
    }

    #[test]
    fn functions_and_blacklist_from_a_real_map() {
        let map = SystemMap::parse(MAP).unwrap();
        assert_eq!(map.get("vfs_read").unwrap().addr, 0xffffffff81003000);
        assert!(map.get("nope").is_none());
        let f = map.function_names();
        assert!(f.contains(&"vfs_read") && f.contains(&"do_fsync_helper.isra.0"));
        assert!(!f.contains(&"jiffies"));
        let bl = map.blacklist();
        assert_eq!(bl.len(), (1, 2));
        let reason = |n: &str| bl.reason(map.get(n).unwrap());
        assert_eq!(reason("exc_int3").as_deref(), Some("NOKPROBE_SYMBOL"));
        assert_eq!(
            reason("kprobe_handler_thing").as_deref(),
            Some(".kprobes.text")
        );
        assert_eq!(reason("do_syscall_64").as_deref(), Some(".noinstr.text"));
        assert_eq!(reason("vfs_read"), None);
    }

    #[test]
    fn addresses_to_unique_symbols() {
        let map = SystemMap::parse(
            "ffffffff81000000 T _stext\n\
             ffffffff81001000 t helper\n\
             ffffffff81002000 t helper\n\
             ffffffff81002000 t helper_alias\n\
             ffffffff81003000 T vfs_read\n\
             ffffffff82000000 D jiffies\n",
        )
        .unwrap();
        assert_eq!(map.count("helper"), 2);
        assert_eq!(map.count("vfs_read"), 1);
        assert_eq!(map.count("nope"), 0);
        let at = |a: u64| map.text_symbol_at(a).map(|s| s.name.as_str());
        assert_eq!(at(0xffffffff81002010), Some("helper_alias"));
        assert_eq!(at(0xffffffff81003000), Some("vfs_read"));
        assert_eq!(at(0xffffffff80000000), None);
        // Data symbols never contain code.
        assert_eq!(at(0xffffffff82000010), Some("vfs_read"));
        let unique = |a: u64| map.unique_text_symbol_before(a).map(|s| s.name.as_str());
        assert_eq!(unique(0xffffffff81002010), Some("helper_alias"));
        // `helper` at 0x...1000 is not unique: the anchor is `_stext`.
        assert_eq!(unique(0xffffffff81001010), Some("_stext"));
    }
}
