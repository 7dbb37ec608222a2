//! Probes, probe aliases and probe points.
//!
//! ```text
//! probe      = "probe" points block
//!            | "probe" (point ("=" | "+=")) + points block ["," block]
//! points     = point ("," point)*
//! point      = component ("." component)* ["?" | "!"] ["if" "(" expr ")"]
//! component  = NAME ["(" literal ")"] | "{" points "}"
//! NAME       = adjacent identifiers, keywords and '*', e.g. sys_*, *
//! ```

use super::super::ast::{
    AliasKind, Component, ComponentGroup, Ident, Item, NamedComponent, Probe, ProbeAlias,
    ProbePoint,
};
use super::super::token::{Keyword, Punct, TokenKind};
use super::{Cost, PResult, Parser};

const PROBE_ARG_HELP: &str =
    "probe-point arguments are literals; use $1 or @1 for command-line values";

impl Parser {
    /// `probe ...` at the top level: a probe or an alias definition.
    pub(super) fn probe_item(&mut self) -> PResult<Item> {
        let start = self.bump().span;
        if self.at(Punct::LBrace) && !self.brace_group_ahead() {
            let err = self.expected(
                "a probe point",
                Some(
                    "every probe names at least one probe point, e.g. 'probe begin { ... }'".into(),
                ),
            );
            // Skip the handler so that its contents are not misread.
            let _ = self.block();
            return Err(err);
        }
        let mut names: Vec<ProbePoint> = Vec::new();
        let mut kind = AliasKind::Prologue;
        loop {
            let points = self.probe_points(false)?;
            let epilogue = self.at(Punct::PlusAssign);
            if !(epilogue || self.at(Punct::Eq)) {
                break self.finish_probe(start, names, kind, points);
            }
            let op = self.bump().span;
            if points.len() != 1 {
                self.misplaced(
                    op,
                    "an alias definition names exactly one probe point",
                    format!("{} probe points before this", points.len()),
                    Some(
                        "define each alias separately: 'probe a = ... { }' and 'probe b = ... { }'",
                    ),
                );
            }
            for point in &points {
                self.check_alias_name(point);
            }
            if epilogue {
                kind = AliasKind::Epilogue;
            }
            names.extend(points);
        }
    }

    fn finish_probe(
        &mut self,
        start: super::Span,
        names: Vec<ProbePoint>,
        kind: AliasKind,
        points: Vec<ProbePoint>,
    ) -> PResult<Item> {
        let body = self.block()?;
        if names.is_empty() {
            return Ok(Item::Probe(Probe {
                points,
                body,
                span: self.span_from(start),
            }));
        }
        let mut epilogue = None;
        if self.at(Punct::Comma) && self.nth(1).kind.is_punct(Punct::LBrace) {
            let comma = self.bump().span;
            if kind == AliasKind::Epilogue {
                self.misplaced(
                    comma,
                    "an epilogue alias ('+=') cannot also have a prologue",
                    "second body",
                    Some("write 'probe NAME = POINTS { prologue }, { epilogue }'"),
                );
            }
            epilogue = Some(self.block()?);
        }
        Ok(Item::Alias(ProbeAlias {
            names,
            kind,
            points,
            body,
            epilogue,
            span: self.span_from(start),
        }))
    }

    /// Whether the `{` here opens a brace group (its `}` is followed by
    /// `.`), rather than a handler written without a probe point.
    fn brace_group_ahead(&self) -> bool {
        let mut depth = 0usize;
        for i in 0..10_000 {
            match &self.nth(i).kind {
                TokenKind::Punct(Punct::LBrace) => depth += 1,
                TokenKind::Punct(Punct::RBrace) => {
                    depth -= 1;
                    if depth == 0 {
                        return self.nth(i + 1).kind.is_punct(Punct::Dot);
                    }
                }
                TokenKind::Eof => return false,
                _ => {}
            }
        }
        false
    }

    fn check_alias_name(&mut self, point: &ProbePoint) {
        if point.optional || point.sufficient || point.condition.is_some() {
            self.misplaced(
                point.span,
                "an alias name cannot be optional, sufficient or conditional",
                "alias name",
                Some("put '?', '!' and 'if' on the probe points after '='"),
            );
        } else if point
            .components
            .iter()
            .any(|c| matches!(c, Component::Group(_)))
        {
            self.misplaced(
                point.span,
                "an alias name cannot contain a '{...}' group",
                "alias name",
                Some("define one alias per name"),
            );
        }
    }

    /// A comma-separated list of probe points. At the top level it ends at
    /// `{`, `=` or `+=`; inside a brace group, at `}`.
    fn probe_points(&mut self, in_group: bool) -> PResult<Vec<ProbePoint>> {
        let mut points = Vec::new();
        loop {
            points.push(self.probe_point()?);
            if self.eat(Punct::Comma) {
                continue;
            }
            let done = if in_group {
                self.at(Punct::RBrace)
            } else {
                self.at(Punct::LBrace) || self.at(Punct::Eq) || self.at(Punct::PlusAssign)
            };
            if done {
                return Ok(points);
            }
            let help = match self.kind() {
                TokenKind::Ident(_) | TokenKind::Keyword(_) => Some("separate probe points with ','".to_string()),
                TokenKind::Punct(Punct::LParen) => Some("a probe-point argument follows its component without a space, e.g. timer.ms(100)".to_string()),
                _ => None,
            };
            let what = if in_group {
                "',' or '}'"
            } else {
                "',', '{', '=' or '+='"
            };
            return Err(self.expected(what, help));
        }
    }

    fn probe_point(&mut self) -> PResult<ProbePoint> {
        self.enter(Cost::Group)?;
        let result = self.probe_point_inner();
        self.leave(Cost::Group);
        result
    }

    fn probe_point_inner(&mut self) -> PResult<ProbePoint> {
        let start = self.span();
        let mut components = vec![self.component()?];
        while self.eat(Punct::Dot) {
            components.push(self.component()?);
        }
        let (mut optional, mut sufficient) = (false, false);
        if self.eat(Punct::Question) {
            optional = true;
        } else if self.eat(Punct::Bang) {
            optional = true;
            sufficient = true;
        }
        let mut condition = None;
        if self.at_keyword(Keyword::If) {
            self.bump();
            let open = self.expect(Punct::LParen, "'(' after 'if'")?;
            condition = Some(self.expr()?);
            self.expect_closing(Punct::RParen, open, "to close this '('")?;
        }
        let point = ProbePoint {
            components,
            optional,
            sufficient,
            condition,
            span: self.span_from(start),
        };
        self.check_group_markers(&point);
        Ok(point)
    }

    /// `?`, `!` and `if` may only end a probe point: they may appear inside
    /// a brace group only if the group is the last component, and then not
    /// on the whole point as well.
    fn check_group_markers(&mut self, point: &ProbePoint) {
        let marked = |p: &ProbePoint| p.optional || p.condition.is_some();
        let count = point.components.len();
        for (i, component) in point.components.iter().enumerate() {
            let Component::Group(group) = component else {
                continue;
            };
            let last = i + 1 == count;
            for alternative in &group.alternatives {
                if !marked(alternative) {
                    continue;
                }
                if !last {
                    self.misplaced(
                        alternative.span,
                        "'?', '!' and 'if' may only end a probe point",
                        "more components follow this group",
                        Some("move the marker to the end of the whole probe point"),
                    );
                    return;
                }
                if marked(point) {
                    self.misplaced(
                        alternative.span,
                        "'?', '!' or 'if' given twice for one probe point",
                        "also given after the group",
                        None,
                    );
                    return;
                }
            }
        }
    }

    fn component(&mut self) -> PResult<Component> {
        if self.at(Punct::LBrace) {
            let open = self.bump().span;
            let alternatives = self.probe_points(true)?;
            self.expect_closing(Punct::RBrace, open, "to close this '{'")?;
            return Ok(Component::Group(ComponentGroup {
                alternatives,
                span: self.span_from(open),
            }));
        }
        let Some(mut text) = component_piece(self.kind()) else {
            let help = match self.kind() {
                TokenKind::Str(_) => Some(
                    "probe points start with a name, e.g. kernel.function(\"name\")".to_string(),
                ),
                TokenKind::Punct(Punct::LBrace) => None,
                _ => None,
            };
            return Err(self.expected("a probe point", help));
        };
        let start = self.bump().span;
        // A name is glued from adjacent pieces: `sys_*`, `*_read`, `*`.
        while !self.peek().spaced {
            let Some(piece) = component_piece(self.kind()) else {
                break;
            };
            text.push_str(&piece);
            self.bump();
        }
        let name = Ident {
            name: text,
            span: self.span_from(start),
        };
        let mut arg = None;
        if self.at(Punct::LParen) {
            let open = self.bump().span;
            arg = Some(self.literal("a number or string literal", Some(PROBE_ARG_HELP))?);
            self.expect_closing(Punct::RParen, open, "to close this '('")?;
        }
        Ok(Component::Named(NamedComponent {
            name,
            arg,
            span: self.span_from(start),
        }))
    }
}

/// The text a token contributes to a component name, if it can.
fn component_piece(kind: &TokenKind) -> Option<String> {
    match kind {
        TokenKind::Ident(name) => Some(name.clone()),
        TokenKind::Keyword(k) => Some(k.as_str().to_string()),
        TokenKind::Punct(Punct::Star) => Some("*".to_string()),
        _ => None,
    }
}
