//! Netfilter hooks: `netfilter.hook("HOOK").pf("PF")[.priority("P")]` and
//! `netfilter.pf("PF").hook("HOOK")[.priority("P")]`, as stapprobes(3stap)
//! describes them. A point is a `struct nf_hook_ops` the runtime
//! registers in the initial network namespace while the session runs.
//!
//! Names are those of the kernel's headers: the protocol families
//! `NFPROTO_IPV4`, `NFPROTO_IPV6`, `NFPROTO_ARP`, `NFPROTO_BRIDGE`; the
//! hooks `NF_INET_*` (and the older `NF_IP_*`/`NF_IP6_*` spellings) for
//! IP, `NF_ARP_*` for ARP, `NF_BR_*` for bridging; the priorities
//! `NF_IP_PRI_*`/`NF_IP6_PRI_*` or an integer. Their values have been
//! fixed user-space ABI (`include/uapi/linux/netfilter*.h`) for many
//! years, so they are tabled here rather than read from each tree. In
//! guru mode any number is accepted for the family and the hook too.
//!
//! The handler's target variables are `$hooknum`, `$skb`, `$in`, `$out`
//! (also `$indev`/`$outdev`) and `$verdict`, which guru mode may assign
//! to decide the packet's fate ([`NetfilterVars`]). The runtime registers
//! the hooks in every network namespace (`runtime-c/core/netfilter.c`).

use super::{parts_text, Family, Parts, PointError, ProbeContext, Target};
use crate::debuginfo::{AggregateKind, CType};
use crate::diag::Span;
use crate::ir::{self, ProbeKind, ProbePoint};
use crate::sema::vars::{fail_help, listed_type, Failed, Place, TargetHost, TargetVars};
use crate::syntax::ast;

pub(super) const FAMILY: Family = Family {
    shapes: &[],
    names: &[
        "netfilter.hook(\"HOOK\").pf(\"PF\")",
        "netfilter.pf(\"PF\").hook(\"HOOK\")",
        "netfilter.hook(\"HOOK\").pf(\"PF\").priority(\"P\")",
    ],
    types: &[
        "netfilter.hook(string).pf(string)",
        "netfilter.hook(string).pf(string).priority(string)",
        "netfilter.pf(string).hook(string)",
        "netfilter.pf(string).hook(string).priority(string)",
    ],
    resolve: netfilter_probe,
};

/// Protocol families (`enum` in `uapi/linux/netfilter.h`).
const FAMILIES: &[(&str, u8)] = &[
    ("NFPROTO_IPV4", 2),
    ("NFPROTO_IPV6", 10),
    ("NFPROTO_ARP", 3),
    ("NFPROTO_BRIDGE", 7),
];

/// The IP hooks (`enum nf_inet_hooks`), shared by IPv4 and IPv6.
const INET_HOOKS: &[(&str, u32)] = &[
    ("NF_INET_PRE_ROUTING", 0),
    ("NF_INET_LOCAL_IN", 1),
    ("NF_INET_FORWARD", 2),
    ("NF_INET_LOCAL_OUT", 3),
    ("NF_INET_POST_ROUTING", 4),
];

/// IPv4's older names (`uapi/linux/netfilter_ipv4.h`).
const IP_HOOKS: &[(&str, u32)] = &[
    ("NF_IP_PRE_ROUTING", 0),
    ("NF_IP_LOCAL_IN", 1),
    ("NF_IP_FORWARD", 2),
    ("NF_IP_LOCAL_OUT", 3),
    ("NF_IP_POST_ROUTING", 4),
];

/// IPv6's older names (`uapi/linux/netfilter_ipv6.h`).
const IP6_HOOKS: &[(&str, u32)] = &[
    ("NF_IP6_PRE_ROUTING", 0),
    ("NF_IP6_LOCAL_IN", 1),
    ("NF_IP6_FORWARD", 2),
    ("NF_IP6_LOCAL_OUT", 3),
    ("NF_IP6_POST_ROUTING", 4),
];

/// ARP's hooks (`uapi/linux/netfilter_arp.h`).
const ARP_HOOKS: &[(&str, u32)] = &[("NF_ARP_IN", 0), ("NF_ARP_OUT", 1), ("NF_ARP_FORWARD", 2)];

/// Bridging's hooks (`uapi/linux/netfilter_bridge.h`).
const BRIDGE_HOOKS: &[(&str, u32)] = &[
    ("NF_BR_PRE_ROUTING", 0),
    ("NF_BR_LOCAL_IN", 1),
    ("NF_BR_FORWARD", 2),
    ("NF_BR_LOCAL_OUT", 3),
    ("NF_BR_POST_ROUTING", 4),
    ("NF_BR_BROUTING", 5),
];

/// IPv4 priorities (`enum nf_ip_hook_priorities`).
const IP_PRIORITIES: &[(&str, i64)] = &[
    ("NF_IP_PRI_FIRST", i32::MIN as i64),
    ("NF_IP_PRI_RAW_BEFORE_DEFRAG", -450),
    ("NF_IP_PRI_CONNTRACK_DEFRAG", -400),
    ("NF_IP_PRI_RAW", -300),
    ("NF_IP_PRI_SELINUX_FIRST", -225),
    ("NF_IP_PRI_CONNTRACK", -200),
    ("NF_IP_PRI_MANGLE", -150),
    ("NF_IP_PRI_NAT_DST", -100),
    ("NF_IP_PRI_FILTER", 0),
    ("NF_IP_PRI_SECURITY", 50),
    ("NF_IP_PRI_NAT_SRC", 100),
    ("NF_IP_PRI_SELINUX_LAST", 225),
    ("NF_IP_PRI_CONNTRACK_HELPER", 300),
    ("NF_IP_PRI_CONNTRACK_CONFIRM", i32::MAX as i64),
    ("NF_IP_PRI_LAST", i32::MAX as i64),
];

/// IPv6 priorities (`enum nf_ip6_hook_priorities`).
const IP6_PRIORITIES: &[(&str, i64)] = &[
    ("NF_IP6_PRI_FIRST", i32::MIN as i64),
    ("NF_IP6_PRI_RAW_BEFORE_DEFRAG", -450),
    ("NF_IP6_PRI_CONNTRACK_DEFRAG", -400),
    ("NF_IP6_PRI_RAW", -300),
    ("NF_IP6_PRI_SELINUX_FIRST", -225),
    ("NF_IP6_PRI_CONNTRACK", -200),
    ("NF_IP6_PRI_MANGLE", -150),
    ("NF_IP6_PRI_NAT_DST", -100),
    ("NF_IP6_PRI_FILTER", 0),
    ("NF_IP6_PRI_SECURITY", 50),
    ("NF_IP6_PRI_NAT_SRC", 100),
    ("NF_IP6_PRI_SELINUX_LAST", 225),
    ("NF_IP6_PRI_CONNTRACK_HELPER", 300),
    ("NF_IP6_PRI_LAST", i32::MAX as i64),
];

/// `netfilter.hook(...).pf(...)[.priority(...)]` in either order; `None`
/// when `parts` is not a netfilter point at all.
fn netfilter_probe(
    parts: &Parts<'_>,
    target: Target<'_>,
) -> Result<Option<Vec<(ProbePoint, ProbeContext)>>, PointError> {
    let (hook, pf, priority) = match parts.as_slice() {
        [("netfilter", None), ("hook", Some(h)), ("pf", Some(p)), rest @ ..]
        | [("netfilter", None), ("pf", Some(p)), ("hook", Some(h)), rest @ ..] => {
            let priority = match rest {
                [] => None,
                [("priority", Some(prio))] => Some(*prio),
                _ => return Ok(None),
            };
            (*h, *p, priority)
        }
        _ => return Ok(None),
    };
    let name = parts_text(parts);
    let err = |m: String, help: Option<String>| PointError { message: m, help };
    let pf_text = arg_text(pf);
    let pf_value = match lookup(FAMILIES, &pf_text) {
        Some(v) => v,
        None => match guru_number(&pf_text, target.guru, 0, u8::MAX as i64) {
            Some(v) => v as u8,
            None => {
                let help = if parse_number(&pf_text).is_some() && !target.guru {
                    "numbers stand for protocol families only in guru mode (-g)".to_string()
                } else {
                    hint(FAMILIES.iter().map(|(n, _)| *n), &pf_text)
                };
                return Err(err(
                    format!("'{name}': unknown protocol family '{pf_text}'"),
                    Some(help),
                ));
            }
        },
    };
    let hook_names: Vec<&[(&str, u32)]> = match pf_value {
        2 => vec![INET_HOOKS, IP_HOOKS],
        10 => vec![INET_HOOKS, IP6_HOOKS],
        3 => vec![ARP_HOOKS],
        7 => vec![BRIDGE_HOOKS],
        _ => Vec::new(),
    };
    let hook_text = arg_text(hook);
    let hook_value = match hook_names.iter().find_map(|t| lookup(t, &hook_text)) {
        Some(v) => v,
        None => match guru_number(&hook_text, target.guru, 0, 31) {
            Some(v) => v as u32,
            None => {
                let known: Vec<&str> = hook_names
                    .iter()
                    .flat_map(|t| t.iter().map(|(n, _)| *n))
                    .collect();
                let help = if parse_number(&hook_text).is_some() && !target.guru {
                    "numbers stand for hooks only in guru mode (-g)".to_string()
                } else {
                    hint(known.into_iter(), &hook_text)
                };
                return Err(err(
                    format!("'{name}': '{hook_text}' is not a hook of protocol family '{pf_text}'"),
                    Some(help),
                ));
            }
        },
    };
    let priority_value = match priority {
        None => 0,
        Some(p) => {
            let text = arg_text(p);
            let named = match pf_value {
                2 => lookup(IP_PRIORITIES, &text),
                10 => lookup(IP6_PRIORITIES, &text),
                _ => None,
            };
            match named.or_else(|| parse_number(&text)) {
                Some(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => v as i32,
                _ => {
                    let names: &[(&str, i64)] = match pf_value {
                        2 => IP_PRIORITIES,
                        10 => IP6_PRIORITIES,
                        _ => &[],
                    };
                    let help = if names.is_empty() {
                        "this family has no named priorities: give an integer".to_string()
                    } else {
                        hint(names.iter().map(|(n, _)| *n), &text)
                    };
                    return Err(err(
                        format!("'{name}': '{text}' is not a priority (an integer or an NF_IP_PRI_*/NF_IP6_PRI_* name)"),
                        Some(help),
                    ));
                }
            }
        }
    };
    Ok(Some(vec![(
        ProbePoint {
            name,
            kind: ProbeKind::Netfilter {
                pf: pf_value,
                hook: hook_value,
                priority: priority_value,
            },
            optional: false,
        },
        ProbeContext::new(NetfilterVars),
    )]))
}

/// A netfilter hook's target variable: which slot of the runtime's
/// argument array holds it, its type, and whether the slot holds its
/// address (`$verdict`, which lives in the hook function's frame) rather
/// than its value.
#[derive(Debug, Clone, PartialEq)]
struct NetfilterVar {
    /// The slot (the runtime's `STP_NF_*`).
    slot: usize,
    /// The variable's C type.
    ty: CType,
    /// The slot holds the variable's address.
    by_address: bool,
}

/// The variables a netfilter hook offers, in `$$parms` order.
const NETFILTER_VARS: &[&str] = &["hooknum", "skb", "in", "out", "verdict"];

/// `$name` at a netfilter hook (`$indev`/`$outdev` are `$in`/`$out`).
fn netfilter_var(name: &str) -> Option<NetfilterVar> {
    let int = |name: &str, signed| CType::Int {
        name: name.into(),
        size: 4,
        signed,
    };
    let ptr = |tag: &str| {
        CType::Pointer(Box::new(CType::Aggregate {
            kind: AggregateKind::Struct,
            name: Some(tag.into()),
            size: None,
        }))
    };
    let (slot, ty, by_address) = match name {
        "hooknum" => (0, int("unsigned int", false), false),
        "skb" => (1, ptr("sk_buff"), false),
        "in" | "indev" => (2, ptr("net_device"), false),
        "out" | "outdev" => (3, ptr("net_device"), false),
        "verdict" => (4, int("int", true), true),
        _ => return None,
    };
    Some(NetfilterVar {
        slot,
        ty,
        by_address,
    })
}

/// A netfilter hook's variables.
#[derive(Debug)]
struct NetfilterVars;

impl TargetVars for NetfilterVars {
    fn variable(
        &self,
        name: &str,
        span: Span,
        _: &mut dyn TargetHost,
    ) -> Result<(ir::TargetBase, Place), Failed> {
        let Some(var) = netfilter_var(name) else {
            let names: Vec<String> = NETFILTER_VARS.iter().map(|n| format!("${n}")).collect();
            return Err(fail_help(
                span,
                format!("netfilter hooks have no variable '${name}'"),
                format!("their variables are: {}", names.join(", ")),
            ));
        };
        let base = ir::TargetBase::TracepointArg(var.slot);
        if var.by_address {
            // `$verdict` is the hook function's own variable: its
            // address is in the slot, so guru mode can store to it.
            return Ok((base, Place::Address(var.ty)));
        }
        Ok((base, Place::Value(var.ty)))
    }

    fn parameters(&self, _: &str, _: Span) -> Result<(Vec<String>, bool), Failed> {
        Ok((
            NETFILTER_VARS.iter().map(|n| n.to_string()).collect(),
            false,
        ))
    }

    fn listed(&self) -> (Option<String>, Vec<(String, String)>) {
        let vars = NETFILTER_VARS
            .iter()
            .filter_map(|n| netfilter_var(n).map(|v| (n.to_string(), listed_type(&v.ty))))
            .collect();
        (None, vars)
    }
}

/// A component's argument as text: a string's contents, a number's digits.
fn arg_text(l: &ast::Literal) -> String {
    match l {
        ast::Literal::String(s) => s.to_str_lossy().trim().to_string(),
        ast::Literal::Number(n) => n.value.to_string(),
    }
}

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// A decimal or `0x` hexadecimal integer, possibly negative.
fn parse_number(text: &str) -> Option<i64> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// A number, accepted for a family or hook only in guru mode.
fn guru_number(text: &str, guru: bool, min: i64, max: i64) -> Option<i64> {
    parse_number(text).filter(|v| guru && (min..=max).contains(v))
}

/// `help:` text: the closest known name, or the list of them.
fn hint<'a>(known: impl Iterator<Item = &'a str>, given: &str) -> String {
    let known: Vec<String> = known.map(str::to_string).collect();
    match super::similar(given, &known) {
        Some(s) => format!("did you mean '{s}'?"),
        None => format!("known names: {}", known.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_in_decimal_and_hex() {
        assert_eq!(parse_number("255"), Some(255));
        assert_eq!(parse_number("-100"), Some(-100));
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number("NF_IP_PRI_FIRST"), None);
    }

    #[test]
    fn numeric_families_and_hooks_need_guru_mode() {
        assert_eq!(guru_number("2", true, 0, 255), Some(2));
        assert_eq!(guru_number("2", false, 0, 255), None);
        assert_eq!(guru_number("300", true, 0, 255), None);
    }

    #[test]
    fn hints_name_the_nearest_hook() {
        let names = INET_HOOKS.iter().map(|(n, _)| *n);
        assert_eq!(
            hint(names, "NF_INET_LOCAL_OUTT"),
            "did you mean 'NF_INET_LOCAL_OUT'?"
        );
    }
}
