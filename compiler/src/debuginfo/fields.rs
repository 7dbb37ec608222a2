//! Struct layouts and member chains (`$p->a->b`, `@cast(p, "T")->a`),
//! walked the same way over any source's type graph: BTF and DWARF each
//! implement [`TypeGraph`] and get [`layout`] and [`member_path`].

use super::ctype::{AggregateKind, CType, FieldPath, FieldStep, Layout, Member};
use super::error::DebugInfoError;
use crate::text::similar;

/// A type as the member walker sees it, after typedefs and qualifiers.
pub(crate) enum Node<Id> {
    /// A complete struct or union.
    Aggregate { kind: AggregateKind, size: u64 },
    /// A pointer to something.
    Pointer(Id),
    /// Anything else (integers, arrays, incomplete types, ...).
    Other,
}

/// One member as a source reports it.
pub(crate) struct GraphMember<Id> {
    pub name: String,
    pub bit_offset: u64,
    pub bitfield_size: Option<u32>,
    pub ty: Id,
}

/// A source's types, as needed for layouts and member chains.
pub(crate) trait TypeGraph {
    /// A source-specific type handle.
    type Id: Copy + PartialEq;
    /// `BTF` or `DWARF`, for messages.
    fn source_name(&self) -> &'static str;
    /// A complete aggregate named `struct X`, `union X`, or a typedef `X`
    /// (or a bare tag `X`).
    fn lookup_aggregate(&self, name: &str) -> Option<Self::Id>;
    /// The type behind typedefs and qualifiers, with declarations completed.
    fn node(&self, id: Self::Id) -> Node<Self::Id>;
    /// The direct members of an aggregate.
    fn members(&self, id: Self::Id) -> Vec<GraphMember<Self::Id>>;
    /// The type as a [`CType`].
    fn ctype(&self, id: Self::Id) -> CType;
}

/// The members of `name` (one level; anonymous members have an empty name).
pub(crate) fn layout<G: TypeGraph>(g: &G, name: &str) -> Result<Layout, DebugInfoError> {
    let id = lookup(g, name)?;
    let Node::Aggregate { kind, size } = g.node(id) else {
        return Err(no_type(g, name));
    };
    let members = g
        .members(id)
        .into_iter()
        .map(|m| Member {
            name: m.name,
            bit_offset: m.bit_offset,
            bitfield_size: m.bitfield_size,
            ty: g.ctype(m.ty),
        })
        .collect();
    Ok(Layout {
        kind,
        name: name.to_string(),
        size,
        members,
    })
}

/// Resolves `base` then each of `fields` in turn. The chain starts at the
/// address of a `base` object; each step's `deref` says whether the pointer
/// stored at the current address is loaded before adding the step's offset.
pub(crate) fn member_path<G: TypeGraph>(
    g: &G,
    base: &str,
    fields: &[&str],
) -> Result<FieldPath, DebugInfoError> {
    let mut agg = lookup(g, base)?;
    let mut agg_name = base.to_string();
    let mut deref = false;
    let mut steps: Vec<FieldStep> = Vec::new();
    let mut last_ty: Option<G::Id> = None;
    for field in fields {
        if let (Some(ty), Some(prev)) = (last_ty, steps.last()) {
            (agg, deref) = match g.node(ty) {
                Node::Aggregate { .. } => (ty, false),
                Node::Pointer(target) => match g.node(target) {
                    Node::Aggregate { .. } => (target, true),
                    _ => return Err(not_aggregate(base, &steps)),
                },
                Node::Other => return Err(not_aggregate(base, &steps)),
            };
            agg_name = prev.ty.aggregate_name().unwrap_or_else(|| prev.ty.render());
        }
        let (bit_offset, member) =
            find_member(g, agg, field, &mut Vec::new()).ok_or_else(|| {
                DebugInfoError::NoSuchMember {
                    ty: agg_name.clone(),
                    member: field.to_string(),
                    suggestions: similar::nearest(
                        field,
                        member_names(g, agg, &mut Vec::new())
                            .iter()
                            .map(String::as_str),
                        3,
                    ),
                }
            })?;
        let bitfield = member
            .bitfield_size
            .map(|bits| ((bit_offset % 8) as u32, bits));
        steps.push(FieldStep {
            name: field.to_string(),
            deref,
            offset: bit_offset / 8,
            bitfield,
            ty: g.ctype(member.ty),
        });
        last_ty = Some(member.ty);
    }
    Ok(FieldPath {
        base: base.to_string(),
        steps,
    })
}

fn lookup<G: TypeGraph>(g: &G, name: &str) -> Result<G::Id, DebugInfoError> {
    g.lookup_aggregate(name.trim())
        .ok_or_else(|| no_type(g, name))
}

fn no_type<G: TypeGraph>(g: &G, name: &str) -> DebugInfoError {
    DebugInfoError::NoSuchType {
        name: name.to_string(),
        source: g.source_name().to_string(),
    }
}

fn not_aggregate(base: &str, steps: &[FieldStep]) -> DebugInfoError {
    let path: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    DebugInfoError::NotAnAggregate {
        path: format!("{base}->{}", path.join("->")),
        ty: steps.last().map(|s| s.ty.render()).unwrap_or_default(),
    }
}

/// The member `name` of aggregate `agg`, looking through anonymous struct
/// and union members; the offset returned is from the start of `agg`.
/// `searched` holds the aggregates already looked through, each searched
/// once: a malformed section may make an aggregate its own anonymous
/// member.
fn find_member<G: TypeGraph>(
    g: &G,
    agg: G::Id,
    name: &str,
    searched: &mut Vec<G::Id>,
) -> Option<(u64, GraphMember<G::Id>)> {
    if searched.contains(&agg) {
        return None;
    }
    searched.push(agg);
    for m in g.members(agg) {
        if m.name == name {
            return Some((m.bit_offset, m));
        }
        if m.name.is_empty() {
            if let Node::Aggregate { .. } = g.node(m.ty) {
                if let Some((off, inner)) = find_member(g, m.ty, name, searched) {
                    return Some((m.bit_offset + off, inner));
                }
            }
        }
    }
    None
}

/// Every member name reachable from `agg` without a `.`/`->` (each
/// aggregate looked through once, as in [`find_member`]).
fn member_names<G: TypeGraph>(g: &G, agg: G::Id, searched: &mut Vec<G::Id>) -> Vec<String> {
    let mut out = Vec::new();
    if searched.contains(&agg) {
        return out;
    }
    searched.push(agg);
    for m in g.members(agg) {
        if m.name.is_empty() {
            if let Node::Aggregate { .. } = g.node(m.ty) {
                out.extend(member_names(g, m.ty, searched));
            }
        } else {
            out.push(m.name);
        }
    }
    out
}
