//! Tracepoints in BTF: each built-in tracepoint has a `btf_trace_<event>`
//! typedef (a pointer to a prototype with unnamed parameters after the
//! leading `void *__data`). The kernel's `__bpf_trace_<class>` functions
//! take the same parameters *with* names, which recovers the names of
//! events whose headers the tree does not ship.

use super::parse::{RawKind, TypeId};
use super::Btf;
use crate::debuginfo::ctype::Param;

/// Prefix of the typedef BTF has for each tracepoint.
const TRACE_TYPEDEF_PREFIX: &str = "btf_trace_";
/// Prefix of the functions that run BPF programs attached to an event class.
const BPF_TRACE_PREFIX: &str = "__bpf_trace_";

impl Btf {
    /// The parameter types of tracepoint `event` (without the leading
    /// `void *__data`), from its `btf_trace_<event>` typedef; the names are
    /// `argN` because BTF does not keep them for tracepoints.
    pub fn tracepoint_params(&self, event: &str) -> Option<Vec<Param>> {
        let id = self.typedef(&format!("{TRACE_TYPEDEF_PREFIX}{event}"))?;
        let RawKind::Typedef(ptr) = self.raw.types[id as usize].kind else {
            return None;
        };
        let RawKind::Ptr(proto) = self.raw.types[ptr as usize].kind else {
            return None;
        };
        let (_, params, _) = self.proto_parts(proto)?;
        Some(params.into_iter().skip(1).collect())
    }

    /// The tracepoint names that have a `btf_trace_<event>` typedef (the
    /// built-in tracepoints), sorted.
    pub fn tracepoint_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .raw
            .types
            .iter()
            .filter(|t| matches!(t.kind, RawKind::Typedef(_)))
            .filter_map(|t| {
                self.raw
                    .str_at(t.name_off)
                    .strip_prefix(TRACE_TYPEDEF_PREFIX)
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The FUNC_PROTO of tracepoint `event`'s typedef.
    fn tracepoint_proto(&self, event: &str) -> Option<TypeId> {
        let id = self.typedef(&format!("{TRACE_TYPEDEF_PREFIX}{event}"))?;
        let RawKind::Typedef(ptr) = self.raw.types[id as usize].kind else {
            return None;
        };
        match self.raw.types[ptr as usize].kind {
            RawKind::Ptr(proto) => Some(proto),
            _ => None,
        }
    }

    /// Parameter types of a FUNC_PROTO after the first (`__data`).
    fn types_after_data(&self, proto: TypeId) -> Option<Vec<TypeId>> {
        match &self.raw.types.get(proto as usize)?.kind {
            RawKind::FuncProto { params, .. } => Some(
                self.raw.params[params.clone()]
                    .iter()
                    .skip(1)
                    .map(|p| p.ty)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Names for tracepoint `event`'s parameters from a `__bpf_trace_<class>`
    /// function with the same parameter types: `__bpf_trace_<event>` when
    /// the event is its own class, else the unique class sharing the
    /// longest name prefix with the event. `None` when nothing matches.
    pub fn tracepoint_param_names(&self, event: &str) -> Option<Vec<String>> {
        let want = self.types_after_data(self.tracepoint_proto(event)?)?;
        let funcs = self.bpf_trace_funcs.get_or_init(|| {
            self.raw
                .types
                .iter()
                .filter_map(|t| match t.kind {
                    RawKind::Func { proto, .. }
                        if self.raw.str_at(t.name_off).starts_with(BPF_TRACE_PREFIX) =>
                    {
                        Some((t.name_off, proto))
                    }
                    _ => None,
                })
                .collect()
        });
        let common =
            |a: &str, b: &str| a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let mut best: Option<(usize, TypeId)> = None;
        let mut tied = false;
        for &(name_off, proto) in funcs {
            if self.types_after_data(proto).as_ref() != Some(&want) {
                continue;
            }
            let class = &self.raw.str_at(name_off)[BPF_TRACE_PREFIX.len()..];
            let score = if class == event {
                usize::MAX
            } else {
                common(class, event)
            };
            match best {
                Some((s, _)) if s > score => {}
                Some((s, _)) if s == score => tied = true,
                _ => {
                    best = Some((score, proto));
                    tied = false;
                }
            }
        }
        let (score, proto) = best?;
        if tied || score < 3 {
            return None;
        }
        let (_, params, _) = self.proto_parts(proto)?;
        Some(params.into_iter().skip(1).map(|p| p.name).collect())
    }
}
