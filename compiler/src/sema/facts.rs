//! What checking learns about the nodes of one body, for lowering: the
//! tables its reporting walk fills, keyed by [`ast::NodeId`].
//!
//! A body is a derived probe (its condition, alias prologues, handler and
//! epilogues) or a function. Alias bodies are walked once per probe that
//! expands them, with that probe's locals and target variables, so each
//! body has its own tables.

use std::collections::HashMap;

use crate::ir::Type;
use crate::syntax::ast::NodeId;

/// Facts about nodes, by id.
#[derive(Debug, Clone)]
pub struct NodeMap<T>(HashMap<NodeId, T>);

impl<T> Default for NodeMap<T> {
    fn default() -> Self {
        NodeMap(HashMap::new())
    }
}

impl<T: Copy> NodeMap<T> {
    /// Records `value` for `id` (a later walk of the same node wins).
    pub fn insert(&mut self, id: NodeId, value: T) {
        self.0.insert(id, value);
    }

    /// What was recorded for `id`.
    pub fn get(&self, id: NodeId) -> Option<T> {
        self.0.get(&id).copied()
    }
}

/// A variable reference, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarRef {
    /// A local of the body (its index in the body's locals).
    Local(usize),
    /// A global (its index in the analysis context).
    Global(usize),
}

/// The tables of one body.
#[derive(Debug, Clone, Default)]
pub struct BodyFacts {
    /// The variable a `Var`, `Index` or `In` expression, a `delete` or a
    /// `foreach` (by the statement's id) names.
    pub vars: NodeMap<VarRef>,
    /// The function a call reaches (its index in the analysis context).
    pub calls: NodeMap<usize>,
    /// Each expression's type, as the IR carries it.
    pub types: NodeMap<Option<Type>>,
    /// The branch taken by an `if` (by the statement's id) or a `?:` whose
    /// condition `@defined` decides.
    pub decided: NodeMap<bool>,
    /// The values of `@defined(...)` and `@probewrite(...)`.
    pub constants: NodeMap<i64>,
}
