//! The DWARF index's cache file: a line-oriented text form (`func`,
//! `site`, `in` (the units holding a function's inlined copies, by
//! position in `units`), `type`, `file`, `units` records) headed by a
//! format version and the key of the vmlinux it describes, so a stale file
//! is never used.

use std::fmt::Write as _;

use super::index::{DwarfIndex, FuncEntry, InlineSite, TypeEntry};

const MAGIC: &str = "stapkit-dwarf-index 3";

impl DwarfIndex {
    /// The text form written to the cache, with `key` identifying the vmlinux.
    pub fn to_text(&self, key: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{MAGIC}\nkey {key}");
        out.push_str("units");
        for u in &self.units {
            let _ = write!(out, " {u:x}");
        }
        out.push('\n');
        for f in &self.files {
            let _ = writeln!(out, "file {f}");
        }
        let file = |f: Option<u32>| f.map_or("-".to_string(), |f| f.to_string());
        for f in &self.functions {
            let flags =
                u8::from(f.code) | u8::from(f.declared_inline) << 1 | u8::from(f.external) << 2;
            let _ = writeln!(
                out,
                "func {} {} {} {:x} {flags} {}",
                f.name,
                file(f.file),
                f.line,
                f.die,
                f.inlined
            );
            for s in &f.sites {
                let _ = writeln!(out, "site {} {} {}", s.caller, file(s.file), s.line);
            }
            if !f.inline_units.is_empty() {
                out.push_str("in");
                for u in &f.inline_units {
                    let _ = write!(out, " {}", self.units.partition_point(|x| x < u));
                }
                out.push('\n');
            }
        }
        for t in &self.types {
            let _ = writeln!(out, "type {:x} {}", t.die, t.key);
        }
        out
    }

    /// Reads the text form back if it was written for `key`.
    pub fn from_text(text: &str, key: &str) -> Option<DwarfIndex> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC || lines.next()?.strip_prefix("key ")? != key {
            return None;
        }
        let mut index = DwarfIndex::default();
        let file = |s: &str| {
            if s == "-" {
                Some(None)
            } else {
                s.parse().ok().map(Some)
            }
        };
        for line in lines {
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            match tag {
                "units" => {
                    index.units = rest
                        .split_whitespace()
                        .map(|u| u64::from_str_radix(u, 16).ok())
                        .collect::<Option<_>>()?
                }
                "file" => index.files.push(rest.to_string()),
                "func" => {
                    let w: Vec<&str> = rest.split(' ').collect();
                    let [name, f, line, die, flags, inlined] = w[..] else {
                        return None;
                    };
                    let flags: u8 = flags.parse().ok()?;
                    index.functions.push(FuncEntry {
                        name: name.to_string(),
                        file: file(f)?,
                        line: line.parse().ok()?,
                        die: u64::from_str_radix(die, 16).ok()?,
                        code: flags & 1 != 0,
                        declared_inline: flags & 2 != 0,
                        external: flags & 4 != 0,
                        inlined: inlined.parse().ok()?,
                        sites: Vec::new(),
                        inline_units: Vec::new(),
                    });
                }
                "in" => {
                    let units = rest
                        .split(' ')
                        .map(|i| index.units.get(i.parse::<usize>().ok()?).copied())
                        .collect::<Option<Vec<u64>>>()?;
                    index.functions.last_mut()?.inline_units = units;
                }
                "site" => {
                    let w: Vec<&str> = rest.split(' ').collect();
                    let [caller, f, line] = w[..] else {
                        return None;
                    };
                    index.functions.last_mut()?.sites.push(InlineSite {
                        caller: caller.to_string(),
                        file: file(f)?,
                        line: line.parse().ok()?,
                    });
                }
                "type" => {
                    let (die, key) = rest.split_once(' ')?;
                    index.types.push(TypeEntry {
                        key: key.to_string(),
                        die: u64::from_str_radix(die, 16).ok()?,
                    });
                }
                _ => return None,
            }
        }
        Some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        let index = DwarfIndex {
            units: vec![0, 0x1234],
            files: vec!["fs/sync.c".into(), "include/linux/sched.h".into()],
            functions: vec![FuncEntry {
                name: "do_fsync".into(),
                file: Some(0),
                line: 183,
                die: 0x1240,
                code: false,
                declared_inline: false,
                external: false,
                inlined: 4,
                sites: vec![InlineSite {
                    caller: "__x64_sys_fsync".into(),
                    file: Some(0),
                    line: 200,
                }],
                inline_units: vec![0x1234],
            }],
            types: vec![TypeEntry {
                key: "struct task_struct".into(),
                die: 0x99,
            }],
        };
        let text = index.to_text("vmlinux size 1");
        assert_eq!(
            DwarfIndex::from_text(&text, "vmlinux size 1"),
            Some(index.clone())
        );
        assert_eq!(DwarfIndex::from_text(&text, "vmlinux size 2"), None);
        // Inline units are written by position in `units`; one past the
        // end makes the file unreadable, hence rebuilt.
        assert!(text.contains("\nin 1\n"), "{text}");
        let bad = text.replace("\nin 1\n", "\nin 2\n");
        assert_eq!(DwarfIndex::from_text(&bad, "vmlinux size 1"), None);
        // An index of the previous format is not read.
        let old = text.replace("stapkit-dwarf-index 3", "stapkit-dwarf-index 2");
        assert_eq!(DwarfIndex::from_text(&old, "vmlinux size 1"), None);
        assert_eq!(index.functions_named("do_fsync").len(), 1);
        assert!(index.functions_named("do_fsyn").is_empty());
        assert_eq!(index.type_die("struct task_struct"), Some(0x99));
        assert_eq!(index.unit_of(0x1240), Some(0x1234));
        assert_eq!(index.unit_of(0x10), Some(0));
    }
}
