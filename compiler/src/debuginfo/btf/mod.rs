//! BTF, the compact type information the kernel carries in its image's
//! `.BTF` section: every non-inlined function with its prototype (parameter
//! names included), every struct/union with member names, offsets and
//! sizes, and a `btf_trace_<event>` typedef per built-in tracepoint.
//!
//! [`Btf::parse`] decodes a section ([`parse`] has the wire format) and
//! indexes names; the queries convert to the source-neutral
//! [`CType`](super::ctype::CType) family.
//!
//! What BTF does not have: inlined functions, source files and lines,
//! local variables, parameter names of tracepoints (their typedefs have
//! unnamed parameters), symbols and addresses.

pub mod parse;
#[cfg(test)]
mod tests;
mod trace;
pub mod write;

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;

use super::ctype::{AggregateKind, CType, FieldPath, Layout, Param, Prototype};
use super::error::DebugInfoError;
use super::fields::{self, GraphMember, Node, TypeGraph};
pub use parse::TypeId;
use parse::{RawBtf, RawKind};

/// A BTF decoding problem (the caller adds which file).
#[derive(Debug, Clone, PartialEq)]
pub struct BtfError(pub String);

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed, indexed `.BTF` section.
#[derive(Debug)]
pub struct Btf {
    raw: RawBtf,
    /// Named types as (hash of the name, id), sorted: several types (and
    /// hash collisions) may share a hash, so lookups compare names.
    by_name: Vec<(u64, TypeId)>,
    /// Name offsets of the FUNCs, sorted by name and deduplicated (built on
    /// first use: only listings and suggestions need it).
    functions: OnceLock<Vec<u32>>,
    /// The `__bpf_trace_<class>` FUNCs: (name offset, FUNC_PROTO id).
    bpf_trace_funcs: OnceLock<Vec<(u32, TypeId)>>,
}

/// How many nodes one [`Btf::ctype`] may build: a real kernel's deepest
/// function-pointer types take a few dozen.
const CTYPE_BUDGET: u32 = 4096;

/// FNV-1a: cheap, and the index is rebuilt on every parse.
fn name_hash(name: &str) -> u64 {
    crate::text::hash::fnv1a_64(name.as_bytes())
}

impl Btf {
    /// Decodes and indexes a `.BTF` section.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        Ok(Btf::index(parse::parse(data)?))
    }

    /// Decodes a loadable module's split `.BTF` section, which extends
    /// `base`, the BTF of the kernel it was built for: the result answers
    /// for the kernel's types and the module's own (its functions, and the
    /// structs of headers the kernel image never uses, such as
    /// `struct scsi_device` in `sd_mod`).
    pub fn parse_split(data: &[u8], base: &Btf) -> Result<Btf, BtfError> {
        Ok(Btf::index(parse::parse_split(data, &base.raw)?))
    }

    fn index(raw: RawBtf) -> Btf {
        let mut by_name: Vec<(u64, TypeId)> = raw
            .types
            .iter()
            .enumerate()
            .filter(|(_, t)| t.name_off != 0)
            .map(|(id, t)| (name_hash(raw.str_at(t.name_off)), id as TypeId))
            .collect();
        by_name.sort_unstable();
        Btf {
            raw,
            by_name,
            functions: OnceLock::new(),
            bpf_trace_funcs: OnceLock::new(),
        }
    }

    /// How many types there are (ids `1..=count`).
    pub fn type_count(&self) -> usize {
        self.raw.types.len() - 1
    }

    /// The names of all functions with a BTF `FUNC` (the non-inlined ones),
    /// sorted and deduplicated.
    pub fn function_names(&self) -> Vec<&str> {
        let offsets = self.functions.get_or_init(|| {
            let mut offs: Vec<u32> = self
                .raw
                .types
                .iter()
                .filter(|t| matches!(t.kind, RawKind::Func { .. }))
                .map(|t| t.name_off)
                .collect();
            offs.sort_unstable_by(|&a, &b| self.raw.str_at(a).cmp(self.raw.str_at(b)));
            offs.dedup_by(|a, b| self.raw.str_at(*a) == self.raw.str_at(*b));
            offs
        });
        offsets.iter().map(|&o| self.raw.str_at(o)).collect()
    }

    /// Whether a `VAR` named `name` exists (vmlinux BTF has them for
    /// per-CPU variables only).
    pub fn has_variable(&self, name: &str) -> bool {
        self.ids_of(name)
            .any(|id| matches!(self.raw.types[id as usize].kind, RawKind::Var { .. }))
    }

    /// Whether a `FUNC` named `name` exists.
    pub fn has_function(&self, name: &str) -> bool {
        self.function_count(name) > 0
    }

    /// How many `FUNC`s are named `name` (static functions in several files
    /// may share a name).
    pub fn function_count(&self, name: &str) -> usize {
        self.ids_of(name)
            .filter(|&id| matches!(self.raw.types[id as usize].kind, RawKind::Func { .. }))
            .count()
    }

    /// The prototype of function `name`, from its `FUNC_PROTO`.
    pub fn prototype(&self, name: &str) -> Option<Prototype> {
        let proto = self
            .ids_of(name)
            .find_map(|id| match self.raw.types[id as usize].kind {
                RawKind::Func { proto, .. } => Some(proto),
                _ => None,
            })?;
        let (ret, params, variadic) = self.proto_parts(proto)?;
        Some(Prototype {
            name: name.to_string(),
            ret,
            params: Some(params),
            variadic,
        })
    }

    /// The layout of a struct, union or typedef of one (`struct file`,
    /// `union bpf_attr`, `atomic_t`).
    pub fn layout(&self, name: &str) -> Result<Layout, DebugInfoError> {
        fields::layout(self, name)
    }

    /// Resolves a member chain from aggregate `base` (see
    /// [`FieldPath`] for how to follow it).
    pub fn member_path(&self, base: &str, path: &[&str]) -> Result<FieldPath, DebugInfoError> {
        fields::member_path(self, base, path)
    }

    /// The type named `name`: `struct X`, `union X`, `enum X` or a typedef.
    pub fn named_type_ctype(&self, name: &str) -> Option<CType> {
        let name = name.trim();
        if name.starts_with("struct ") || name.starts_with("union ") {
            return self.lookup_aggregate(name).map(|id| self.ctype(id));
        }
        if let Some(tag) = name.strip_prefix("enum ") {
            let id = self
                .ids_of(tag.trim())
                .find(|&id| matches!(self.raw.types[id as usize].kind, RawKind::Enum { .. }))?;
            return Some(self.ctype(id));
        }
        self.typedef(name).map(|id| self.ctype(id))
    }

    /// Type `id` as a [`CType`].
    pub fn ctype(&self, id: TypeId) -> CType {
        self.ctype_at(id, 0, &Cell::new(CTYPE_BUDGET))
    }

    /// The ids of every type named `name`.
    fn ids_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = TypeId> + 'a {
        let hash = name_hash(name);
        let start = self.by_name.partition_point(|&(h, _)| h < hash);
        self.by_name[start..]
            .iter()
            .take_while(move |&&(h, _)| h == hash)
            .map(|&(_, id)| id)
            .filter(move |&id| self.raw.str_at(self.raw.types[id as usize].name_off) == name)
    }

    fn typedef(&self, name: &str) -> Option<TypeId> {
        self.ids_of(name)
            .find(|&id| matches!(self.raw.types[id as usize].kind, RawKind::Typedef(_)))
    }

    fn name(&self, id: TypeId) -> Option<&str> {
        let t = self.raw.types.get(id as usize)?;
        (t.name_off != 0).then(|| self.raw.str_at(t.name_off))
    }

    /// Return type, named parameters and variadic flag of a `FUNC_PROTO`.
    fn proto_parts(&self, proto: TypeId) -> Option<(CType, Vec<Param>, bool)> {
        self.proto_parts_at(proto, 0, &Cell::new(CTYPE_BUDGET))
    }

    /// [`Btf::proto_parts`] of a prototype met `depth` levels into a type,
    /// with what is left of the walk's `budget`.
    fn proto_parts_at(
        &self,
        proto: TypeId,
        depth: u32,
        budget: &Cell<u32>,
    ) -> Option<(CType, Vec<Param>, bool)> {
        let RawKind::FuncProto { ret, params } = &self.raw.types.get(proto as usize)?.kind else {
            return None;
        };
        let mut variadic = false;
        let mut out = Vec::new();
        for (i, p) in self.raw.params[params.clone()].iter().enumerate() {
            if p.ty == 0 {
                variadic = true;
                continue;
            }
            let name = match self.raw.str_at(p.name_off) {
                "" => format!("arg{}", i + 1),
                n => n.to_string(),
            };
            out.push(Param {
                name,
                ty: self.ctype_at(p.ty, depth + 1, budget),
            });
        }
        Some((self.ctype_at(*ret, depth + 1, budget), out, variadic))
    }

    /// Type `id` met `depth` levels into a type. Every node of the walk
    /// spends one unit of `budget`: prototypes whose parameters point back
    /// at them (only a damaged or crafted section has those) would
    /// otherwise expand exponentially; past the budget or the depth the
    /// rest is `void`.
    fn ctype_at(&self, id: TypeId, depth: u32, budget: &Cell<u32>) -> CType {
        let Some(t) = self.raw.types.get(id as usize) else {
            return CType::Void;
        };
        if depth > 64 || budget.get() == 0 {
            return CType::Void;
        }
        budget.set(budget.get() - 1);
        let sub = |id: TypeId| Box::new(self.ctype_at(id, depth + 1, budget));
        let name = || self.name(id).map(str::to_string);
        match &t.kind {
            RawKind::Void | RawKind::Func { .. } | RawKind::Var { .. } | RawKind::Datasec => {
                CType::Void
            }
            RawKind::DeclTag(_) => CType::Void,
            RawKind::Int { size, signed, .. } => CType::Int {
                name: name().unwrap_or_else(|| "int".into()),
                size: *size as u64,
                signed: *signed,
            },
            RawKind::Float { size } => CType::Float {
                name: name().unwrap_or_else(|| "double".into()),
                size: *size as u64,
            },
            RawKind::Ptr(t) => CType::Pointer(sub(*t)),
            RawKind::Array { elem, len } => CType::Array {
                elem: sub(*elem),
                len: (*len > 0).then_some(*len as u64),
            },
            RawKind::Aggregate { union, size, .. } => CType::Aggregate {
                kind: aggregate_kind(*union),
                name: name(),
                size: Some(*size as u64),
            },
            RawKind::Fwd { union } => CType::Aggregate {
                kind: aggregate_kind(*union),
                name: name(),
                size: self
                    .complete(id)
                    .and_then(|c| match self.raw.types[c as usize].kind {
                        RawKind::Aggregate { size, .. } => Some(size as u64),
                        _ => None,
                    }),
            },
            RawKind::Enum { size, signed, .. } => CType::Enum {
                name: name(),
                size: *size as u64,
                signed: *signed,
            },
            RawKind::Typedef(t) => CType::Typedef {
                name: name().unwrap_or_default(),
                target: sub(*t),
            },
            RawKind::Const(t) => CType::Const(sub(*t)),
            RawKind::Volatile(t) => CType::Volatile(sub(*t)),
            RawKind::Restrict(t) | RawKind::TypeTag(t) => self.ctype_at(*t, depth + 1, budget),
            RawKind::FuncProto { .. } => match self.proto_parts_at(id, depth, budget) {
                Some((ret, params, variadic)) => CType::Function {
                    ret: Box::new(ret),
                    params: params.into_iter().map(|p| p.ty).collect(),
                    variadic,
                },
                None => CType::Void,
            },
        }
    }

    /// A complete struct/union of the same name and kind as the forward
    /// declaration `id`.
    fn complete(&self, id: TypeId) -> Option<TypeId> {
        let RawKind::Fwd { union } = self.raw.types[id as usize].kind else {
            return Some(id);
        };
        self.aggregate_named(self.name(id)?, Some(union))
    }

    /// A complete aggregate with tag `tag` (of the given kind, or either).
    fn aggregate_named(&self, tag: &str, union: Option<bool>) -> Option<TypeId> {
        self.ids_of(tag).find(|&id| {
            matches!(self.raw.types[id as usize].kind,
                RawKind::Aggregate { union: u, .. } if union.is_none_or(|want| want == u))
        })
    }

    /// Strips typedefs, qualifiers and tags.
    fn strip(&self, mut id: TypeId) -> TypeId {
        for _ in 0..64 {
            match self.raw.types.get(id as usize).map(|t| &t.kind) {
                Some(
                    RawKind::Typedef(t)
                    | RawKind::Const(t)
                    | RawKind::Volatile(t)
                    | RawKind::Restrict(t)
                    | RawKind::TypeTag(t),
                ) => id = *t,
                _ => break,
            }
        }
        id
    }
}

fn aggregate_kind(union: bool) -> AggregateKind {
    if union {
        AggregateKind::Union
    } else {
        AggregateKind::Struct
    }
}

impl TypeGraph for Btf {
    type Id = TypeId;

    fn source_name(&self) -> &'static str {
        "BTF"
    }

    fn lookup_aggregate(&self, name: &str) -> Option<TypeId> {
        if let Some(tag) = name.strip_prefix("struct ") {
            return self.aggregate_named(tag.trim(), Some(false));
        }
        if let Some(tag) = name.strip_prefix("union ") {
            return self.aggregate_named(tag.trim(), Some(true));
        }
        if let Some(id) = self.typedef(name) {
            let target = self.complete(self.strip(id))?;
            return matches!(
                self.raw.types[target as usize].kind,
                RawKind::Aggregate { .. }
            )
            .then_some(target);
        }
        self.aggregate_named(name, None)
    }

    fn node(&self, id: TypeId) -> Node<TypeId> {
        let id = self.strip(id);
        let id = self.complete(id).unwrap_or(id);
        match self.raw.types.get(id as usize).map(|t| &t.kind) {
            Some(RawKind::Aggregate { union, size, .. }) => Node::Aggregate {
                kind: aggregate_kind(*union),
                size: *size as u64,
            },
            Some(RawKind::Ptr(t)) => Node::Pointer(*t),
            _ => Node::Other,
        }
    }

    fn members(&self, id: TypeId) -> Vec<GraphMember<TypeId>> {
        let id = self.strip(id);
        let id = self.complete(id).unwrap_or(id);
        let Some(RawKind::Aggregate { members, .. }) =
            self.raw.types.get(id as usize).map(|t| &t.kind)
        else {
            return Vec::new();
        };
        self.raw.members[members.clone()]
            .iter()
            .map(|m| {
                let mut bit_offset = m.bit_offset as u64;
                let mut bitfield_size = (m.bitfield_size != 0).then_some(m.bitfield_size);
                // Old-style bitfields put the width in the member's INT type.
                if let RawKind::Int {
                    size,
                    bits,
                    bit_offset: int_off,
                    ..
                } = self.raw.types[self.strip(m.ty) as usize].kind
                {
                    if bitfield_size.is_none() && (bits as u32) < size.saturating_mul(8) {
                        bitfield_size = Some(bits as u32);
                        bit_offset += int_off as u64;
                    }
                }
                GraphMember {
                    name: self.raw.str_at(m.name_off).to_string(),
                    bit_offset,
                    bitfield_size,
                    ty: m.ty,
                }
            })
            .collect()
    }

    fn ctype(&self, id: TypeId) -> CType {
        Btf::ctype(self, id)
    }
}
