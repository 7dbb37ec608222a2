//! Operators and precedence.
//!
//! From loosest to tightest, as in SystemTap:
//!
//! ```text
//! = += -= *= /= %= <<= >>= &= |= ^= .= <<<   right-assoc
//! ?:                                          right-assoc
//! ||   &&   |   ^   &                         left-assoc
//! in              k in a, [i, *] in a         once
//! == != < <= > >=  (or one =~ / !~ "regex")   left-assoc
//! << >> >>>   .   + -   * / %                 left-assoc
//! unary + - ! ~ and prefix ++ --, postfix ++ --
//! ```
//!
//! Note that `.` (concatenation) binds looser than `+`: `"n=" . x + 1` is
//! `"n=" . (x + 1)`.

use super::super::ast::{AssignOp, BinaryOp, CrementOp, Expr, ExprKind, Fix, IndexItem, UnaryOp};
use super::super::token::{Keyword, Punct, TokenKind};
use super::{Cost, PResult, Parser};

/// Binding levels of the binary operators (higher binds tighter).
pub(crate) mod level {
    pub const OR: u8 = 1;
    pub const AND: u8 = 2;
    pub const BIT_OR: u8 = 3;
    pub const BIT_XOR: u8 = 4;
    pub const BIT_AND: u8 = 5;
    pub const IN: u8 = 6;
    pub const COMPARE: u8 = 7;
    pub const SHIFT: u8 = 8;
    pub const CONCAT: u8 = 9;
    pub const ADD: u8 = 10;
    pub const MUL: u8 = 11;
}

/// The binding level of a binary operator.
pub(crate) fn binary_level(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Or => level::OR,
        And => level::AND,
        BitOr => level::BIT_OR,
        BitXor => level::BIT_XOR,
        BitAnd => level::BIT_AND,
        Eq | Ne | Lt | Le | Gt | Ge => level::COMPARE,
        Shl | Shr | UShr => level::SHIFT,
        Concat => level::CONCAT,
        Add | Sub => level::ADD,
        Mul | Div | Mod => level::MUL,
    }
}

fn binary_op(kind: &TokenKind) -> Option<BinaryOp> {
    let TokenKind::Punct(p) = kind else {
        return None;
    };
    Some(match p {
        Punct::OrOr => BinaryOp::Or,
        Punct::AndAnd => BinaryOp::And,
        Punct::Pipe => BinaryOp::BitOr,
        Punct::Caret => BinaryOp::BitXor,
        Punct::Amp => BinaryOp::BitAnd,
        Punct::EqEq => BinaryOp::Eq,
        Punct::NotEq => BinaryOp::Ne,
        Punct::Lt => BinaryOp::Lt,
        Punct::LtEq => BinaryOp::Le,
        Punct::Gt => BinaryOp::Gt,
        Punct::GtEq => BinaryOp::Ge,
        Punct::Shl => BinaryOp::Shl,
        Punct::Shr => BinaryOp::Shr,
        Punct::UShr => BinaryOp::UShr,
        Punct::Dot => BinaryOp::Concat,
        Punct::Plus => BinaryOp::Add,
        Punct::Minus => BinaryOp::Sub,
        Punct::Star => BinaryOp::Mul,
        Punct::Slash => BinaryOp::Div,
        Punct::Percent => BinaryOp::Mod,
        _ => return None,
    })
}

fn assign_op(kind: &TokenKind) -> Option<AssignOp> {
    let TokenKind::Punct(p) = kind else {
        return None;
    };
    Some(match p {
        Punct::Eq => AssignOp::Assign,
        Punct::PlusAssign => AssignOp::Add,
        Punct::MinusAssign => AssignOp::Sub,
        Punct::StarAssign => AssignOp::Mul,
        Punct::SlashAssign => AssignOp::Div,
        Punct::PercentAssign => AssignOp::Mod,
        Punct::ShlAssign => AssignOp::Shl,
        Punct::ShrAssign => AssignOp::Shr,
        Punct::AmpAssign => AssignOp::BitAnd,
        Punct::PipeAssign => AssignOp::BitOr,
        Punct::CaretAssign => AssignOp::BitXor,
        Punct::DotAssign => AssignOp::Concat,
        Punct::Accumulate => AssignOp::Accumulate,
        _ => return None,
    })
}

fn crement_op(kind: &TokenKind) -> Option<CrementOp> {
    match kind {
        TokenKind::Punct(Punct::PlusPlus) => Some(CrementOp::Increment),
        TokenKind::Punct(Punct::MinusMinus) => Some(CrementOp::Decrement),
        _ => None,
    }
}

impl Parser {
    /// A full expression (assignment level).
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        self.enter(Cost::Expression)?;
        let result = self.assignment();
        self.leave(Cost::Expression);
        result
    }

    fn assignment(&mut self) -> PResult<Expr> {
        let start = self.span();
        let lhs = self.ternary()?;
        match assign_op(self.kind()) {
            Some(op) => self.assignment_rhs(start, lhs, op),
            None => Ok(lhs),
        }
    }

    fn assignment_rhs(
        &mut self,
        start: crate::diag::Span,
        lhs: Expr,
        op: AssignOp,
    ) -> PResult<Expr> {
        self.bump();
        let rhs = self.expr()?;
        let kind = ExprKind::Assign {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let start = self.span();
        let cond = self.binary(level::OR)?;
        if self.at(Punct::Question) {
            return self.ternary_rest(start, cond);
        }
        Ok(cond)
    }

    fn ternary_rest(&mut self, start: crate::diag::Span, cond: Expr) -> PResult<Expr> {
        let question = self.bump().span;
        let then = self.expr()?;
        self.expect_closing(Punct::Colon, question, "to match this '?'")?;
        self.enter(Cost::Operator)?;
        let otherwise = self.ternary();
        self.leave(Cost::Operator);
        let kind = ExprKind::Ternary {
            cond: Box::new(cond),
            then: Box::new(then),
            otherwise: Box::new(otherwise?),
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    /// Binary operators binding at `min` or tighter, by precedence
    /// climbing (one stack frame per nested operand, not per level).
    ///
    /// An operator at level L applies to the expression built so far only
    /// if that expression binds at least as tightly as L, which gives
    /// SystemTap's non-associative `in` (`k in a in b` is an error), a
    /// single regex match that ends a comparison chain, and left
    /// associativity everywhere else.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let mut applied = 0;
        let result = self.binary_chain(min, &mut applied);
        for _ in 0..applied {
            self.leave(Cost::Operator);
        }
        result
    }

    /// The loop of [`Parser::binary`]; counts the operators applied, each of
    /// which makes the tree one level deeper.
    fn binary_chain(&mut self, min: u8, applied: &mut usize) -> PResult<Expr> {
        let start = self.span();
        let (mut lhs, mut lhs_level) = if self.at(Punct::LBracket) && min <= level::IN {
            (self.bracketed_in(start)?, level::IN)
        } else {
            (self.unary()?, u8::MAX)
        };
        let mut lhs_is_regex = false;
        loop {
            let kind = self.kind();
            let regex = match kind {
                TokenKind::Punct(Punct::Match) => Some(false),
                TokenKind::Punct(Punct::NotMatch) => Some(true),
                _ => None,
            };
            if kind.is_keyword(Keyword::In) {
                if min > level::IN || lhs_level < level::COMPARE {
                    return Ok(lhs);
                }
                self.enter(Cost::Operator)?;
                *applied += 1;
                lhs = self.in_rest(lhs, start)?;
                lhs_level = level::IN;
            } else if let Some(negated) = regex {
                if min > level::COMPARE || lhs_level < level::SHIFT {
                    return Ok(lhs);
                }
                self.enter(Cost::Operator)?;
                *applied += 1;
                lhs = self.regex(lhs, negated, start)?;
                lhs_level = level::COMPARE;
                lhs_is_regex = true;
            } else {
                let Some(op) = binary_op(kind) else {
                    return Ok(lhs);
                };
                let op_level = binary_level(op);
                if op_level < min || lhs_level < op_level || (op.is_comparison() && lhs_is_regex) {
                    return Ok(lhs);
                }
                self.enter(Cost::Operator)?;
                *applied += 1;
                lhs = self.binary_rest(lhs, op, start)?;
                lhs_level = op_level;
                lhs_is_regex = false;
            }
        }
    }

    /// `in ARRAY` after `lhs`.
    fn in_rest(&mut self, lhs: Expr, start: crate::diag::Span) -> PResult<Expr> {
        self.bump();
        let base = self.indexable()?;
        let keys = vec![IndexItem::Expr(lhs)];
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::In { keys, base },
            span: self.span_from(start),
        })
    }

    /// `OP rhs` after `lhs`.
    fn binary_rest(&mut self, lhs: Expr, op: BinaryOp, start: crate::diag::Span) -> PResult<Expr> {
        self.bump();
        let rhs = self.binary(binary_level(op) + 1)?;
        let kind = ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    /// `=~ "pattern"` or `!~ "pattern"` after `lhs`.
    fn regex(&mut self, lhs: Expr, negated: bool, start: crate::diag::Span) -> PResult<Expr> {
        self.bump();
        if !matches!(self.kind(), TokenKind::Str(_)) {
            let op_text = if negated { "!~" } else { "=~" };
            let help =
                "the regular expression must be a string literal; it is compiled with the script"
                    .to_string();
            return Err(self.expected(&format!("a string literal after '{op_text}'"), Some(help)));
        }
        let pattern = self.string_lit();
        let kind = ExprKind::Regex {
            negated,
            lhs: Box::new(lhs),
            pattern,
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    /// `[i, j] in a`: a key list must be followed by `in`.
    fn bracketed_in(&mut self, start: crate::diag::Span) -> PResult<Expr> {
        let keys = self.index_list()?;
        if !self.eat_keyword(Keyword::In) {
            return Err(self.expected(
                "'in' after a key list",
                Some("'[k1, k2] in array' tests whether the array has that key".into()),
            ));
        }
        let base = self.indexable()?;
        Ok(Expr {
            id: self.node_id(),
            kind: ExprKind::In { keys, base },
            span: self.span_from(start),
        })
    }

    fn unary(&mut self) -> PResult<Expr> {
        let op = match self.kind() {
            TokenKind::Punct(Punct::Minus) => Some(UnaryOp::Neg),
            TokenKind::Punct(Punct::Plus) => Some(UnaryOp::Plus),
            TokenKind::Punct(Punct::Bang) => Some(UnaryOp::Not),
            TokenKind::Punct(Punct::Tilde) => Some(UnaryOp::BitNot),
            _ => None,
        };
        if let Some(op) = op {
            return self.prefix_op(op);
        }
        if let Some(op) = crement_op(self.kind()) {
            return self.prefix_crement(op);
        }
        let value = self.dwarf_value()?;
        match crement_op(self.kind()) {
            Some(op) => self.postfix_crement(value, op),
            None => Ok(value),
        }
    }

    fn prefix_op(&mut self, op: UnaryOp) -> PResult<Expr> {
        let start = self.bump().span;
        self.enter(Cost::Operator)?;
        let operand = self.unary();
        self.leave(Cost::Operator);
        let kind = ExprKind::Unary {
            op,
            operand: Box::new(operand?),
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    fn prefix_crement(&mut self, op: CrementOp) -> PResult<Expr> {
        let start = self.bump().span;
        let operand = self.dwarf_value()?;
        let kind = ExprKind::Crement {
            op,
            fix: Fix::Prefix,
            operand: Box::new(operand),
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    fn postfix_crement(&mut self, operand: Expr, op: CrementOp) -> PResult<Expr> {
        let start = operand.span;
        self.bump();
        let kind = ExprKind::Crement {
            op,
            fix: Fix::Postfix,
            operand: Box::new(operand),
        };
        Ok(Expr {
            id: self.node_id(),
            kind,
            span: self.span_from(start),
        })
    }

    /// `[a, *, b]`: a bracketed index list, wildcards allowed.
    pub(super) fn index_list(&mut self) -> PResult<Vec<IndexItem>> {
        let open = self.expect(Punct::LBracket, "'['")?;
        let mut items = Vec::new();
        loop {
            if self.at(Punct::Star)
                && matches!(
                    self.nth(1).kind,
                    TokenKind::Punct(Punct::Comma | Punct::RBracket)
                )
            {
                items.push(IndexItem::Wildcard(self.bump().span));
            } else {
                items.push(IndexItem::Expr(self.expr()?));
            }
            if self.eat(Punct::Comma) {
                continue;
            }
            self.expect_closing(Punct::RBracket, open, "to close this '['")?;
            return Ok(items);
        }
    }
}
