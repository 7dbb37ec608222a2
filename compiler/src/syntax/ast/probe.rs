//! Probes, probe aliases and probe points.

use crate::diag::Span;

use super::{Block, Expr, Ident, Literal};

/// `probe A, B?, C! { body }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The probe points, at least one.
    pub points: Vec<ProbePoint>,
    /// The handler.
    pub body: Block,
    /// From `probe` to the closing brace.
    pub span: Span,
}

/// Whether an alias's body runs before or after the user's handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AliasKind {
    /// `probe a = b { prologue }`: the alias body runs first.
    Prologue,
    /// `probe a += b { epilogue }`: the alias body runs after.
    Epilogue,
}

/// `probe NAME = POINTS { prologue }`, `probe NAME += POINTS { epilogue }`,
/// or the combined `probe NAME = POINTS { prologue }, { epilogue }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeAlias {
    /// The names being defined: usually one; `probe a = b = c {}` gives two.
    pub names: Vec<ProbePoint>,
    /// `=` or `+=` (if any `+=` appears, the alias is an epilogue alias).
    pub kind: AliasKind,
    /// What the alias expands to.
    pub points: Vec<ProbePoint>,
    /// The prologue (for `=`) or epilogue (for `+=`).
    pub body: Block,
    /// The epilogue of the combined form `= POINTS { prologue }, { epilogue }`.
    pub epilogue: Option<Block>,
    /// From `probe` to the last closing brace.
    pub span: Span,
}

/// A probe point: `kernel.function("vfs_*").return ? if (enabled)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbePoint {
    /// The dot-separated components, at least one.
    pub components: Vec<Component>,
    /// `?` (or `!`): a point that resolves to nothing is not an error.
    pub optional: bool,
    /// `!`: if this point resolves, later points of the probe are skipped.
    /// Implies `optional`.
    pub sufficient: bool,
    /// `if (expr)`: the probe only fires while the condition holds.
    pub condition: Option<Expr>,
    /// From the first component to the condition's `)` or the `?`/`!`.
    pub span: Span,
}

/// One component of a probe point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Component {
    /// `name`, `name(arg)`, `sys_*`, `*`.
    Named(NamedComponent),
    /// `{a, b.c}`: alternatives, multiplied out by [`ProbePoint::expand`].
    Group(ComponentGroup),
}

impl Component {
    /// Where the component was written.
    pub fn span(&self) -> Span {
        match self {
            Component::Named(n) => n.span,
            Component::Group(g) => g.span,
        }
    }
}

/// `function("vfs_read")`, `return`, `ms(100)`, `sys_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedComponent {
    /// The name, possibly containing `*` wildcards.
    pub name: Ident,
    /// The parenthesized literal argument, if any.
    pub arg: Option<Literal>,
    /// From the name to the closing parenthesis.
    pub span: Span,
}

impl NamedComponent {
    /// Whether the name contains a `*` wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.name.name.contains('*')
    }
}

/// `{a, b.c?}`: a brace group of alternative probe-point tails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComponentGroup {
    /// The alternatives; each may itself contain components, groups and, if
    /// the group ends its point, `?`/`!`/`if` markers.
    pub alternatives: Vec<ProbePoint>,
    /// From `{` to `}`.
    pub span: Span,
}

/// Returned by [`ProbePoint::expand`] when a point has too many
/// alternatives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyAlternatives {
    /// The limit that was exceeded.
    pub limit: usize,
}

impl ProbePoint {
    /// Multiplies out brace groups: `syscall.{open,close}.return` gives
    /// `syscall.open.return` and `syscall.close.return`. The results contain
    /// only named components and keep this point's span; `?`, `!` and
    /// conditions written inside a group apply to the alternatives that
    /// pass through it, and this point's own markers apply to all. Fails
    /// rather than build more than `limit` points.
    pub fn expand(&self, limit: usize) -> Result<Vec<ProbePoint>, TooManyAlternatives> {
        let mut acc = vec![ProbePoint {
            components: Vec::new(),
            optional: false,
            sufficient: false,
            condition: None,
            span: self.span,
        }];
        for component in &self.components {
            match component {
                Component::Named(named) => {
                    for point in &mut acc {
                        point.components.push(Component::Named(named.clone()));
                    }
                }
                Component::Group(group) => {
                    let mut tails = Vec::new();
                    for alternative in &group.alternatives {
                        tails.extend(alternative.expand(limit)?);
                    }
                    if acc.len().saturating_mul(tails.len()) > limit {
                        return Err(TooManyAlternatives { limit });
                    }
                    let mut next = Vec::with_capacity(acc.len() * tails.len());
                    for head in &acc {
                        for tail in &tails {
                            let mut components = head.components.clone();
                            components.extend(tail.components.iter().cloned());
                            next.push(ProbePoint {
                                components,
                                optional: head.optional || tail.optional,
                                sufficient: head.sufficient || tail.sufficient,
                                condition: tail
                                    .condition
                                    .clone()
                                    .or_else(|| head.condition.clone()),
                                span: self.span,
                            });
                        }
                    }
                    acc = next;
                }
            }
        }
        for point in &mut acc {
            point.optional |= self.optional;
            point.sufficient |= self.sufficient;
            if self.condition.is_some() {
                point.condition = self.condition.clone();
            }
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::SourceMap;
    use crate::syntax::ast::{Component, Item};
    use crate::syntax::{parse, PreprocessConfig};

    fn expanded(points: &str) -> Vec<String> {
        let mut map = SourceMap::new();
        let file = map.add("t", format!("probe {points} {{ }}"));
        let parsed = parse(&map, file, &PreprocessConfig::default());
        assert!(!parsed.has_errors(), "{:?}", parsed.diagnostics);
        let Some(Item::Probe(probe)) = parsed.script.items.first() else {
            panic!("no probe");
        };
        let mut out = Vec::new();
        for point in &probe.points {
            for p in point.expand(100).expect("within the limit") {
                let names: Vec<String> = p
                    .components
                    .iter()
                    .map(|c| match c {
                        Component::Named(n) => n.name.name.clone(),
                        Component::Group(_) => "{group}".to_string(),
                    })
                    .collect();
                let marks = format!(
                    "{}{}",
                    if p.sufficient {
                        "!"
                    } else if p.optional {
                        "?"
                    } else {
                        ""
                    },
                    if p.condition.is_some() { " if" } else { "" }
                );
                out.push(names.join(".") + &marks);
            }
        }
        out
    }

    #[test]
    fn groups_multiply_out() {
        assert_eq!(
            expanded("syscall.{open,close}.return"),
            ["syscall.open.return", "syscall.close.return"]
        );
        assert_eq!(
            expanded("a.{b, c.{d, e}}.f"),
            ["a.b.f", "a.c.d.f", "a.c.e.f"]
        );
        assert_eq!(expanded("begin"), ["begin"]);
    }

    #[test]
    fn markers_apply_to_the_alternatives_they_follow() {
        assert_eq!(expanded("s.{open?, close!}"), ["s.open?", "s.close!"]);
        assert_eq!(expanded("s.{a, b}? if (x)"), ["s.a? if", "s.b? if"]);
        assert_eq!(expanded("s.{a if (y), b}"), ["s.a if", "s.b"]);
    }

    #[test]
    fn too_many_alternatives_is_an_error_not_a_blowup() {
        let mut map = SourceMap::new();
        let text = format!("probe x{} {{ }}", ".{a,b,c,d}".repeat(20));
        let file = map.add("t", text);
        let parsed = parse(&map, file, &PreprocessConfig::default());
        let Some(Item::Probe(probe)) = parsed.script.items.first() else {
            panic!("no probe");
        };
        assert_eq!(
            probe.points[0]
                .expand(10_000)
                .map(|v| v.len())
                .unwrap_err()
                .limit,
            10_000
        );
    }
}
