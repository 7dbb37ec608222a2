//! The generated tapset behind `syscall_any`'s `name`: a script function
//! `__stapkit_syscall_name(nr)` that maps the target tree's syscall numbers
//! to names (a binary search over the table, so a lookup costs a handful
//! of comparisons), and `syscall_N` for numbers the table lacks.

use crate::debuginfo::syscalls::SyscallTable;

/// The name of the generated function.
pub const FUNCTION: &str = "__stapkit_syscall_name";

/// How many numbers a leaf of the search compares in a row.
const LEAF: usize = 4;

/// The tapset text for `table`.
pub fn tapset(table: &SyscallTable) -> String {
    let mut entries: Vec<(u32, &str)> = table
        .syscalls
        .iter()
        .map(|s| (s.nr, s.name.as_str()))
        .collect();
    entries.sort();
    entries.dedup_by_key(|e| e.0);
    let mut out = String::new();
    out.push_str("// Generated from the target tree's syscall table.\n");
    out.push_str(&format!("function {FUNCTION}:string (nr:long)\n{{\n"));
    search(&entries, 1, &mut out);
    out.push_str("\treturn sprintf(\"syscall_%d\", nr)\n}\n");
    out
}

fn search(entries: &[(u32, &str)], depth: usize, out: &mut String) {
    let indent = "\t".repeat(depth);
    if entries.len() <= LEAF {
        for (nr, name) in entries {
            out.push_str(&format!("{indent}if (nr == {nr}) return \"{name}\"\n"));
        }
        return;
    }
    let (low, high) = entries.split_at(entries.len() / 2);
    out.push_str(&format!("{indent}if (nr < {}) {{\n", high[0].0));
    search(low, depth + 1, out);
    out.push_str(&format!("{indent}}} else {{\n"));
    search(high, depth + 1, out);
    out.push_str(&format!("{indent}}}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::debuginfo::syscalls::Syscall;

    #[test]
    fn searches_the_table_by_halves() {
        let table = SyscallTable {
            syscalls: (0..6)
                .map(|nr| Syscall {
                    nr: nr * 2,
                    name: format!("s{nr}"),
                    entry: format!("sys_s{nr}"),
                })
                .collect(),
        };
        assert_eq!(
            tapset(&table),
            "// Generated from the target tree's syscall table.
function __stapkit_syscall_name:string (nr:long)
{
\tif (nr < 6) {
\t\tif (nr == 0) return \"s0\"
\t\tif (nr == 2) return \"s1\"
\t\tif (nr == 4) return \"s2\"
\t} else {
\t\tif (nr == 6) return \"s3\"
\t\tif (nr == 8) return \"s4\"
\t\tif (nr == 10) return \"s5\"
\t}
\treturn sprintf(\"syscall_%d\", nr)
}
"
        );
    }
}
