//! Statements and blocks.
//!
//! Statements need no terminator (`a = 1 b = 2` is two statements); a `;`
//! right after a simple statement ends it, and a lone `;` is an empty
//! statement, as in SystemTap.

use super::super::ast::{
    Block, Expr, ExprKind, Foreach, Ident, Sort, SortColumn, SortDirection, StatOp, Stmt, StmtKind,
};
use super::super::token::{Keyword, Punct, TokenKind};
use super::{Cost, PResult, Parser, Recovered};
use crate::diag::Span;

impl Parser {
    /// `{ statements }`. An unclosed block is reported once, at the point
    /// where a new top-level item (or the end of the file) shows it.
    pub(super) fn block(&mut self) -> PResult<Block> {
        let open = self.expect(Punct::LBrace, "'{'")?;
        let mut stmts = Vec::new();
        loop {
            if self.at(Punct::RBrace) {
                self.bump();
                break;
            }
            if self.at_eof() || self.at_item_start() {
                return Err(self.unclosed_block(open));
            }
            let before = self.position();
            match self.stmt() {
                Ok(stmt) => stmts.push(stmt),
                Err(Recovered) => {
                    self.recover_statement();
                    if self.position() == before
                        && !self.at(Punct::RBrace)
                        && !self.at_eof()
                        && !self.at_item_start()
                    {
                        self.bump();
                    }
                }
            }
        }
        Ok(Block {
            id: self.node_id(),
            stmts,
            span: self.span_from(open),
        })
    }

    fn unclosed_block(&mut self, open: Span) -> Recovered {
        // Enclosing blocks end at the same place; report only the innermost.
        if self.unclosed_reported_at == Some(self.position()) {
            return Recovered;
        }
        self.unclosed_reported_at = Some(self.position());
        self.expected_with("'}'", Some((open, "to close this '{'")), None)
    }

    pub(super) fn stmt(&mut self) -> PResult<Stmt> {
        self.enter(Cost::Statement)?;
        let result = self.stmt_inner();
        self.leave(Cost::Statement);
        result
    }

    fn stmt_inner(&mut self) -> PResult<Stmt> {
        // One call site keeps this frame small: statements nest deeply
        // (`else if` chains) and each level passes through here.
        let parse: fn(&mut Parser) -> PResult<Stmt> = match self.kind() {
            TokenKind::Punct(Punct::LBrace) => Parser::block_stmt,
            TokenKind::Keyword(Keyword::If) => Parser::if_stmt,
            TokenKind::Keyword(Keyword::While) => Parser::while_stmt,
            TokenKind::Keyword(Keyword::For) => Parser::for_stmt,
            TokenKind::Keyword(Keyword::Foreach) => Parser::foreach_stmt,
            TokenKind::Keyword(Keyword::Try) => Parser::try_stmt,
            _ => Parser::simple_stmt,
        };
        parse(self)
    }

    fn block_stmt(&mut self) -> PResult<Stmt> {
        let block = self.block()?;
        let span = block.span;
        Ok(Stmt {
            id: self.node_id(),
            kind: StmtKind::Block(block),
            span,
        })
    }

    /// A statement that is not a block or a loop/branch; a `;` right after
    /// it is consumed.
    fn simple_stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        let kind = match self.kind() {
            TokenKind::Punct(Punct::Semi) => {
                self.bump();
                return Ok(Stmt {
                    id: self.node_id(),
                    kind: StmtKind::Empty,
                    span: start,
                });
            }
            TokenKind::Keyword(Keyword::Break) => {
                self.bump();
                StmtKind::Break
            }
            TokenKind::Keyword(Keyword::Continue) => {
                self.bump();
                StmtKind::Continue
            }
            TokenKind::Keyword(Keyword::Next) => {
                self.bump();
                StmtKind::Next
            }
            TokenKind::Keyword(Keyword::Return) => self.return_stmt()?,
            TokenKind::Keyword(Keyword::Delete) => {
                self.bump();
                StmtKind::Delete(self.expr()?)
            }
            TokenKind::Keyword(Keyword::Else) => {
                return Err(self.misplaced(
                    start,
                    "'else' without a matching 'if'",
                    "no 'if' before this",
                    None,
                ));
            }
            TokenKind::Keyword(Keyword::Catch) => {
                return Err(self.misplaced(
                    start,
                    "'catch' without a matching 'try'",
                    "no 'try' block before this",
                    None,
                ));
            }
            _ => StmtKind::Expr(self.expr()?),
        };
        let span = self.span_from(start);
        self.eat(Punct::Semi);
        Ok(Stmt {
            kind,
            span,
            id: self.node_id(),
        })
    }

    fn return_stmt(&mut self) -> PResult<StmtKind> {
        let kw = self.bump().span;
        if !self.in_function {
            self.misplaced(
                kw,
                "'return' outside a function",
                "only functions return",
                Some("use 'next' to leave a probe handler early"),
            );
        }
        if self.at(Punct::Semi) || self.at(Punct::RBrace) {
            return Ok(StmtKind::Return(None));
        }
        Ok(StmtKind::Return(Some(self.expr()?)))
    }

    /// `( expr )` after `if`/`while`.
    fn paren_condition(&mut self, keyword: &str) -> PResult<super::super::ast::Expr> {
        if !self.at(Punct::LParen) {
            let help = format!("conditions are written in parentheses: {keyword} (condition) ...");
            return Err(self.expected(&format!("'(' after '{keyword}'"), Some(help)));
        }
        let open = self.bump().span;
        self.in_header(|p| {
            let cond = p.expr()?;
            p.expect_closing(Punct::RParen, open, "to close this '('")?;
            Ok(cond)
        })
    }

    /// Runs `parse` on a parenthesized loop or branch header whose `(` has
    /// been consumed; if it fails, skips to the header's `)` so that the
    /// statement's body is not misread as more of the header.
    fn in_header<T>(&mut self, parse: impl FnOnce(&mut Parser) -> PResult<T>) -> PResult<T> {
        let result = parse(self);
        if result.is_err() {
            self.skip_past_header();
        }
        result
    }

    fn skip_past_header(&mut self) {
        let mut depth = 0usize;
        loop {
            if self.at_eof() || self.at_item_start() {
                return;
            }
            match self.kind() {
                TokenKind::Punct(Punct::RParen) if depth == 0 => {
                    self.bump();
                    return;
                }
                TokenKind::Punct(Punct::LBrace | Punct::RBrace) if depth == 0 => return,
                TokenKind::Punct(Punct::LParen | Punct::LBracket | Punct::LBrace) => depth += 1,
                TokenKind::Punct(Punct::RParen | Punct::RBracket | Punct::RBrace) => {
                    depth = depth.saturating_sub(1)
                }
                _ => {}
            }
            self.bump();
        }
    }

    fn if_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        let cond = self.paren_condition("if")?;
        let then = Box::new(self.stmt()?);
        let otherwise = if self.eat_keyword(Keyword::Else) {
            Some(Box::new(self.stmt()?))
        } else {
            None
        };
        Ok(Stmt {
            id: self.node_id(),
            kind: StmtKind::If {
                cond,
                then,
                otherwise,
            },
            span: self.span_from(start),
        })
    }

    fn while_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        let cond = self.paren_condition("while")?;
        let body = Box::new(self.stmt()?);
        Ok(Stmt {
            id: self.node_id(),
            kind: StmtKind::While { cond, body },
            span: self.span_from(start),
        })
    }

    fn for_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        let open = self.expect(Punct::LParen, "'(' after 'for'")?;
        let (init, cond, step) = self.in_header(|p| p.for_header(open))?;
        let body = Box::new(self.stmt()?);
        Ok(Stmt {
            id: self.node_id(),
            kind: StmtKind::For {
                init,
                cond,
                step,
                body,
            },
            span: self.span_from(start),
        })
    }

    /// `init; cond; step)` of a `for` loop.
    #[allow(clippy::type_complexity)]
    fn for_header(
        &mut self,
        open: Span,
    ) -> PResult<(Option<Box<Expr>>, Option<Box<Expr>>, Option<Box<Expr>>)> {
        let init = if self.at(Punct::Semi) {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        if !self.at(Punct::Semi) {
            let help = init
                .as_ref()
                .filter(|e| matches!(e.kind, ExprKind::In { .. }))
                .map(|_| "to loop over an array write 'foreach (key in array)'".to_string());
            return Err(self.expected("';'", help));
        }
        self.bump();
        let cond = if self.at(Punct::Semi) {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        self.expect(Punct::Semi, "';'")?;
        let step = if self.at(Punct::RParen) {
            None
        } else {
            Some(Box::new(self.expr()?))
        };
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        Ok((init, cond, step))
    }

    fn try_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        let body = self.block()?;
        if !self.eat_keyword(Keyword::Catch) {
            return Err(self.expected(
                "'catch'",
                Some(
                    "a 'try' block is followed by 'catch { ... }' or 'catch (msg) { ... }'".into(),
                ),
            ));
        }
        let mut catch_var = None;
        if self.at(Punct::LParen) {
            let open = self.bump().span;
            catch_var = Some(self.expect_ident("a variable for the error message")?);
            self.expect_closing(Punct::RParen, open, "to close this '('")?;
        }
        let catch = self.block()?;
        Ok(Stmt {
            id: self.node_id(),
            kind: StmtKind::Try {
                body,
                catch_var,
                catch,
            },
            span: self.span_from(start),
        })
    }

    /// An optional `+`/`-` sort marker.
    fn sort_marker(&mut self) -> Option<(SortDirection, Span)> {
        let direction = match self.kind() {
            TokenKind::Punct(Punct::Plus) => SortDirection::Ascending,
            TokenKind::Punct(Punct::Minus) => SortDirection::Descending,
            _ => return None,
        };
        Some((direction, self.bump().span))
    }

    /// Records a sort, or reports a second one.
    fn set_sort(&mut self, slot: &mut Option<Sort>, sort: Sort) {
        if slot.is_some() {
            self.misplaced(
                sort.span,
                "a foreach loop can sort by only one column",
                "second sort order",
                Some("keep one '+' or '-'"),
            );
        } else {
            *slot = Some(sort);
        }
    }

    fn foreach_key(&mut self, index: usize, sort: &mut Option<Sort>) -> PResult<Ident> {
        let key = self.expect_ident("a key variable")?;
        if let Some((direction, span)) = self.sort_marker() {
            self.set_sort(
                sort,
                Sort {
                    column: SortColumn::Key(index),
                    direction,
                    aggregate: None,
                    span,
                },
            );
        }
        Ok(key)
    }

    /// `foreach ([value =] keys in array [slice] [@agg] [+|-] [limit N]) stmt`
    fn foreach_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        let open = self.expect(Punct::LParen, "'(' after 'foreach'")?;
        let mut foreach = self.in_header(|p| p.foreach_header(open))?;
        foreach.body = self.stmt()?;
        Ok(Stmt {
            id: self.node_id(),
            kind: StmtKind::Foreach(Box::new(foreach)),
            span: self.span_from(start),
        })
    }

    /// The header of a foreach loop after its `(`; the body is left empty.
    fn foreach_header(&mut self, open: Span) -> PResult<Foreach> {
        let mut sort: Option<Sort> = None;
        let mut value = None;
        let mut keys = Vec::new();

        if matches!(self.kind(), TokenKind::Ident(_)) {
            let first = self.expect_ident("a key variable")?;
            let marker = self.sort_marker();
            if self.eat(Punct::Eq) {
                if let Some((direction, span)) = marker {
                    sort = Some(Sort {
                        column: SortColumn::Value,
                        direction,
                        aggregate: None,
                        span,
                    });
                }
                value = Some(first);
            } else {
                if let Some((direction, span)) = marker {
                    sort = Some(Sort {
                        column: SortColumn::Key(0),
                        direction,
                        aggregate: None,
                        span,
                    });
                }
                keys.push(first);
            }
        }
        if keys.is_empty() {
            if self.at(Punct::LBracket) {
                let bracket = self.bump().span;
                loop {
                    let key = self.foreach_key(keys.len(), &mut sort)?;
                    keys.push(key);
                    if self.eat(Punct::Comma) {
                        continue;
                    }
                    self.expect_closing(Punct::RBracket, bracket, "to close this '['")?;
                    break;
                }
            } else {
                let key = self.foreach_key(0, &mut sort)?;
                keys.push(key);
            }
        }

        if !self.eat_keyword(Keyword::In) {
            return Err(self.expected("'in'", Some("foreach loops are written 'foreach (key in array)' or 'foreach ([k1, k2] in array)'".into())));
        }
        let base = self.indexable()?;
        let slice = if self.at(Punct::LBracket) {
            Some(self.index_list()?)
        } else {
            None
        };

        let mut aggregate = None;
        if let TokenKind::AtWord(name) = self.kind() {
            let Some(op) = StatOp::lookup(name) else {
                let name = name.clone();
                return Err(self.expected("'+', '-', 'limit' or ')'", Some(format!("'@{name}' is not an aggregate; sort by one of @count, @sum, @min, @max, @avg, @variance"))));
            };
            aggregate = Some((op, self.bump().span));
        }
        match self.sort_marker() {
            Some((direction, span)) => {
                let span = aggregate.map_or(span, |(_, s)| s.to(span));
                let new = Sort {
                    column: SortColumn::Value,
                    direction,
                    aggregate: aggregate.map(|(op, _)| op),
                    span,
                };
                self.set_sort(&mut sort, new);
            }
            None => {
                if let Some((op, _)) = aggregate {
                    return Err(self.expected(&format!("'+' or '-' after '@{}'", op.name()), None));
                }
            }
        }
        let limit = if self.eat_keyword(Keyword::Limit) {
            Some(self.expr()?)
        } else {
            None
        };
        self.expect_closing(Punct::RParen, open, "to close this '('")?;
        let body = Stmt {
            id: self.node_id(),
            kind: StmtKind::Empty,
            span: open,
        };
        Ok(Foreach {
            value,
            keys,
            base,
            slice,
            sort,
            limit,
            body,
        })
    }
}
