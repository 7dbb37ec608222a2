//! `stap --dump-probe-types`: the probe point shapes stapkit's built-in
//! providers resolve, one per line in SystemTap's notation (a parameter
//! is `(number)` or `(string)`), sorted as SystemTap lists them. Aliases
//! of the tapset library are `--dump-probe-aliases`' business. A provider
//! that learns a new shape adds its line here. (Checked when written: each
//! line, with sample arguments, elaborated at -p2 against debian-6.1-amd64,
//! `.inline` with the -dbg package and `kprobe.statement` in guru mode.)

/// The shapes, sorted bytewise.
const PROBE_TYPES: &[&str] = &[
    "begin",
    "begin(number)",
    "end",
    "end(number)",
    "error",
    "error(number)",
    "kernel.function(string)",
    "kernel.function(string).call",
    "kernel.function(string).inline",
    "kernel.function(string).return",
    "kernel.function(string).return.maxactive(number)",
    "kernel.trace(string)",
    "kprobe.function(string)",
    "kprobe.function(string).return",
    "kprobe.function(string).return.maxactive(number)",
    "kprobe.module(string).function(string)",
    "kprobe.module(string).function(string).return",
    "kprobe.module(string).function(string).return.maxactive(number)",
    "kprobe.statement(number).absolute",
    "module(string).function(string)",
    "module(string).function(string).call",
    "module(string).function(string).inline",
    "module(string).function(string).return",
    "module(string).function(string).return.maxactive(number)",
    "netfilter.hook(string).pf(string)",
    "netfilter.hook(string).pf(string).priority(string)",
    "netfilter.pf(string).hook(string)",
    "netfilter.pf(string).hook(string).priority(string)",
    "never",
    "process(number).begin",
    "process(number).end",
    "process(string).begin",
    "process(string).end",
    "process(string).function(string)",
    "process(string).function(string).call",
    "process(string).function(string).return",
    "process.begin",
    "process.end",
    "timer.hz(number)",
    "timer.jiffies(number)",
    "timer.ms(number)",
    "timer.msec(number)",
    "timer.ns(number)",
    "timer.nsec(number)",
    "timer.profile",
    "timer.s(number)",
    "timer.sec(number)",
    "timer.us(number)",
    "timer.usec(number)",
];

/// The listing, one shape a line.
pub fn dump_probe_types() -> String {
    PROBE_TYPES.iter().map(|t| format!("{t}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_is_sorted_and_unique() {
        let mut sorted = PROBE_TYPES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, PROBE_TYPES);
    }
}
