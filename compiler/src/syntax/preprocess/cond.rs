//! Evaluation of `%( CONDITION %? ... %)` conditions.
//!
//! A condition is a list of comparisons `LEFT OP RIGHT` joined by `&&` and
//! `||` (`&&` binds tighter; there are no parentheses, as in SystemTap).
//! LEFT is one of `kernel_v`, `kernel_vr`, `systemtap_v` (version order, or a
//! glob with `==`/`!=`), `arch`, `runtime`, `systemtap_privilege` (glob with
//! `==`/`!=`), `guru_mode` (`0`/`1`), `CONFIG_*` (glob against the `.config`
//! value, or numeric against a number, or against another `CONFIG_*`), or a
//! literal: two numbers or two strings compare as such. `$#`, `$1`, `@1`...
//! have already been replaced by literals.

use std::cmp::Ordering;

use crate::diag::Span;

use super::super::config::PreprocessConfig;
use super::super::error::SyntaxError;
use super::super::token::{Punct, Token, TokenKind};
use super::matching::compare_versions;
use crate::text::glob::{is_wildcard as has_glob, matches as glob_match};
use crate::text::similar;

const NAMES: [&str; 7] = [
    "kernel_v",
    "kernel_vr",
    "systemtap_v",
    "arch",
    "runtime",
    "systemtap_privilege",
    "guru_mode",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, Op::Eq | Op::Ne)
    }
}

/// Evaluation result; the error is boxed to keep the `Ok` path small.
type CondResult<T> = Result<T, Box<SyntaxError>>;

fn error(span: Span, message: impl Into<String>, help: Option<String>) -> Box<SyntaxError> {
    Box::new(SyntaxError::PpCondition {
        span,
        message: message.into(),
        help,
    })
}

/// Evaluates the tokens between `%(` and `%?`; `open` is the `%(` span,
/// used when the condition is empty.
pub(crate) fn evaluate(tokens: &[Token], cfg: &PreprocessConfig, open: Span) -> CondResult<bool> {
    if tokens.is_empty() {
        return Err(error(
            open,
            "empty preprocessor condition",
            Some("write e.g. '%( kernel_v >= \"5.10\" %? ... %)'".into()),
        ));
    }
    let mut any = false;
    let mut all = true;
    let mut rest = tokens;
    loop {
        let (value, after) = comparison(rest, cfg)?;
        all &= value;
        match after.first().map(|t| &t.kind) {
            None => return Ok(any || all),
            Some(TokenKind::Punct(Punct::AndAnd)) => {}
            Some(TokenKind::Punct(Punct::OrOr)) => {
                any |= all;
                all = true;
            }
            Some(other) => {
                return Err(error(
                    after[0].span,
                    format!("expected '&&', '||' or '%?' after a comparison, found {other}"),
                    Some("preprocessor conditions are comparisons joined by '&&' and '||', without parentheses".into()),
                ))
            }
        }
        rest = &after[1..];
        if rest.is_empty() {
            return Err(error(
                after[0].span,
                "condition ends after '&&' or '||'",
                None,
            ));
        }
    }
}

/// Parses and evaluates one `LEFT OP RIGHT`, returning the tokens after it.
fn comparison<'t>(tokens: &'t [Token], cfg: &PreprocessConfig) -> CondResult<(bool, &'t [Token])> {
    let left = &tokens[0];
    let Some(op_tok) = tokens.get(1) else {
        return Err(incomplete(left));
    };
    let op = match op_tok.kind {
        TokenKind::Punct(Punct::EqEq) => Op::Eq,
        TokenKind::Punct(Punct::NotEq) => Op::Ne,
        TokenKind::Punct(Punct::Lt) => Op::Lt,
        TokenKind::Punct(Punct::LtEq) => Op::Le,
        TokenKind::Punct(Punct::Gt) => Op::Gt,
        TokenKind::Punct(Punct::GtEq) => Op::Ge,
        TokenKind::Punct(Punct::AndAnd | Punct::OrOr) => return Err(incomplete(left)),
        ref other => {
            return Err(error(
                op_tok.span,
                format!("expected a comparison operator (== != < <= > >=), found {other}"),
                None,
            ))
        }
    };
    let Some(right) = tokens.get(2) else {
        return Err(error(
            op_tok.span,
            "comparison has no right-hand side",
            None,
        ));
    };
    let value = compare(left, op, op_tok.span, right, cfg)?;
    Ok((value, &tokens[3..]))
}

fn incomplete(left: &Token) -> Box<SyntaxError> {
    let help = match &left.kind {
        TokenKind::Ident(name) if name.starts_with("CONFIG_") => {
            Some(format!("compare it explicitly, e.g. '{name} == \"y\"'"))
        }
        _ => Some(
            "write a comparison such as 'kernel_v >= \"5.10\"' or 'arch == \"x86_64\"'".to_string(),
        ),
    };
    error(
        left.span,
        format!("incomplete comparison after {}", left.kind),
        help,
    )
}

fn compare(
    left: &Token,
    op: Op,
    op_span: Span,
    right: &Token,
    cfg: &PreprocessConfig,
) -> CondResult<bool> {
    let need_string = |what: &str| {
        error(
            right.span,
            format!(
                "{what} is compared with a string literal, found {}",
                right.kind
            ),
            None,
        )
    };
    let need_equality = |what: &str| {
        error(
            op_span,
            format!("{what} can only be compared with '==' or '!='"),
            None,
        )
    };
    match &left.kind {
        TokenKind::Ident(name)
            if matches!(name.as_str(), "kernel_v" | "kernel_vr" | "systemtap_v") =>
        {
            let TokenKind::Str(query) = &right.kind else {
                return Err(need_string(name));
            };
            let query = String::from_utf8_lossy(query);
            let target = match name.as_str() {
                "kernel_v" => &cfg.kernel_version,
                "kernel_vr" => &cfg.kernel_release,
                _ => &cfg.systemtap_version,
            };
            if has_glob(&query) {
                if !op.is_equality() {
                    return Err(error(
                        op_span,
                        "a version pattern with wildcards can only be compared with '==' or '!='",
                        None,
                    ));
                }
                return Ok(glob_match(&query, target) == (op == Op::Eq));
            }
            Ok(op.holds(compare_versions(target, &query)))
        }
        TokenKind::Ident(name)
            if matches!(name.as_str(), "arch" | "runtime" | "systemtap_privilege") =>
        {
            let TokenKind::Str(query) = &right.kind else {
                return Err(need_string(name));
            };
            if !op.is_equality() {
                return Err(need_equality(name));
            }
            let target = match name.as_str() {
                "arch" => cfg.arch.as_str(),
                "runtime" => cfg.runtime.as_str(),
                _ => cfg.privilege.as_str(),
            };
            Ok(glob_match(&String::from_utf8_lossy(query), target) == (op == Op::Eq))
        }
        TokenKind::Ident(name) if name == "guru_mode" => {
            let TokenKind::Number(n) = right.kind else {
                return Err(error(
                    right.span,
                    format!("guru_mode is compared with 0 or 1, found {}", right.kind),
                    None,
                ));
            };
            if n > 1 {
                return Err(error(right.span, "guru_mode is compared with 0 or 1", None));
            }
            if !op.is_equality() {
                return Err(need_equality(name));
            }
            Ok(op.holds(u64::from(cfg.guru).cmp(&n)))
        }
        TokenKind::Ident(name) if name.starts_with("CONFIG_") => {
            config(name, left.span, op, op_span, right, cfg)
        }
        TokenKind::Number(a) => match right.kind {
            TokenKind::Number(b) => Ok(op.holds(a.cmp(&b))),
            ref other => Err(error(
                right.span,
                format!("a number is compared with a number, found {other}"),
                None,
            )),
        },
        TokenKind::Str(a) => match &right.kind {
            TokenKind::Str(b) => Ok(op.holds(a.cmp(b))),
            other => Err(error(
                right.span,
                format!("a string is compared with a string literal, found {other}"),
                None,
            )),
        },
        TokenKind::Ident(name) => {
            let help = suggest(name).map(|s| format!("did you mean '{s}'?"));
            Err(error(
                left.span,
                format!("unknown preprocessor condition '{name}'"),
                help.or(Some(format!(
                    "conditions test {}, CONFIG_*, or compare two literals",
                    NAMES.join(", ")
                ))),
            ))
        }
        other => Err(error(
            left.span,
            format!("expected a condition name or a literal, found {other}"),
            Some(format!(
                "conditions test {}, CONFIG_*, or compare two literals",
                NAMES.join(", ")
            )),
        )),
    }
}

/// `CONFIG_X OP ...`. An option that is not set has the value `""` (and
/// so does not match `"n"`, as in SystemTap).
fn config(
    name: &str,
    span: Span,
    op: Op,
    op_span: Span,
    right: &Token,
    cfg: &PreprocessConfig,
) -> CondResult<bool> {
    let value = cfg.kernel_config.get(name);
    match &right.kind {
        TokenKind::Str(pattern) => {
            if !op.is_equality() {
                return Err(error(op_span, format!("{name} can only be compared with a string using '==' or '!='"), Some("to compare numerically, write the number without quotes".into())));
            }
            let pattern = String::from_utf8_lossy(pattern);
            let matched = match value {
                Some(v) => glob_match(&pattern, v),
                None => glob_match(&pattern, ""),
            };
            Ok(matched == (op == Op::Eq))
        }
        TokenKind::Number(n) => {
            let Some(v) = value.and_then(|v| parse_c_integer(v)) else {
                let shown = value.map_or("not set".to_string(), |v| format!("'{v}'"));
                return Err(error(span, format!("{name} is {shown}, which is not a number"), None));
            };
            Ok(op.holds(i128::from(v).cmp(&i128::from(*n))))
        }
        TokenKind::Ident(other) if other.starts_with("CONFIG_") => {
            let a = value.map_or("", String::as_str);
            let b = cfg.kernel_config.get(other).map_or("", String::as_str);
            match (parse_c_integer(a), parse_c_integer(b)) {
                (Some(x), Some(y)) => Ok(op.holds(x.cmp(&y))),
                _ => Ok(op.holds(a.cmp(b))),
            }
        }
        other => Err(error(right.span, format!("{name} is compared with a string, a number or another CONFIG_ option, found {other}"), None)),
    }
}

/// Parses a `.config` value as C's `strtoll(.., 0)` would, strictly.
fn parse_c_integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.is_empty() {
        return None;
    }
    let magnitude = super::super::lexer::parse_number(digits).ok()?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// The known condition name closest to `name`, if it is a likely typo.
fn suggest(name: &str) -> Option<&'static str> {
    similar::closest(name, NAMES, |n| 2.max(n.len() / 4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceMap;
    use crate::syntax::lexer::tokenize;

    fn eval_with(cond: &str, cfg: &PreprocessConfig) -> CondResult<bool> {
        let mut map = SourceMap::new();
        let f = map.add("t", cond);
        let (tokens, errs) = tokenize(f, cond);
        assert!(errs.is_empty());
        evaluate(&tokens, cfg, Span::new(f, 0, 0))
    }

    fn eval(cond: &str) -> bool {
        eval_with(cond, &PreprocessConfig::default()).unwrap_or_else(|e| panic!("{cond}: {e:?}"))
    }

    #[test]
    fn kernel_versions() {
        assert!(eval(r#"kernel_v >= "5.10""#));
        assert!(eval(r#"kernel_v < "6.12""#));
        assert!(eval(r#"kernel_v == "6.1.0""#));
        assert!(eval(r#"kernel_vr == "6.1.0-18-*""#));
        assert!(eval(r#"kernel_vr != "*-rt*""#));
        assert!(!eval(r#"kernel_v > "6.1.0""#));
        assert!(eval(r#"kernel_vr > "6.1.0""#));
        assert!(eval_with(r#"kernel_v < "6.*""#, &PreprocessConfig::default()).is_err());
    }

    #[test]
    fn systemtap_version_and_privilege_and_guru() {
        assert!(eval(r#"systemtap_v >= "4.0""#));
        assert!(!eval(r#"systemtap_v < "2.0""#));
        assert!(eval(r#"systemtap_privilege == "stapdev""#));
        assert!(eval(r#"systemtap_privilege != "stapusr""#));
        assert!(eval("guru_mode == 0"));
        let cfg = PreprocessConfig {
            guru: true,
            ..PreprocessConfig::default()
        };
        assert!(eval_with("guru_mode == 1", &cfg).unwrap());
        assert!(eval_with("guru_mode == 2", &cfg).is_err());
        assert!(eval_with("guru_mode < 1", &cfg).is_err());
    }

    #[test]
    fn arch_and_runtime_globs() {
        assert!(eval(r#"arch == "x86_64""#));
        assert!(eval(r#"arch != "i?86""#));
        assert!(eval(r#"arch == "x86*""#));
        assert!(eval(r#"runtime == "kernel""#));
        assert!(!eval(r#"runtime == "dyninst""#));
        assert!(eval_with(r#"arch < "x""#, &PreprocessConfig::default()).is_err());
    }

    #[test]
    fn kernel_config() {
        assert!(eval(r#"CONFIG_KPROBES == "y""#));
        assert!(eval(r#"CONFIG_EXT4_FS == "m""#));
        assert!(eval(r#"CONFIG_EXT4_FS == "[ym]""#));
        assert!(!eval(r#"CONFIG_UTRACE == "y""#));
        assert!(!eval(r#"CONFIG_UTRACE == "n""#));
        assert!(eval(r#"CONFIG_UTRACE != "n""#));
        assert!(eval(r#"CONFIG_UTRACE == """#));
        assert!(eval(r#"CONFIG_UTRACE != "y""#));
        assert!(eval("CONFIG_HZ >= 100"));
        assert!(eval("CONFIG_NR_CPUS > CONFIG_HZ"));
        assert!(eval_with("CONFIG_KPROBES > 1", &PreprocessConfig::default()).is_err());
        assert!(eval_with("CONFIG_KPROBES", &PreprocessConfig::default()).is_err());
    }

    #[test]
    fn literals_and_connectives() {
        assert!(eval("1 < 2"));
        assert!(eval(r#""a" < "b""#));
        assert!(!eval(r#""a*" == "abc""#));
        assert!(eval(r#"1 == 2 || 3 == 3"#));
        assert!(!eval(r#"1 == 1 && 3 == 4"#));
        // && binds tighter: (1==2 && 1==1) || 1==1
        assert!(eval(r#"1 == 2 && 1 == 1 || 1 == 1"#));
        // 1==1 || (1==2 && 1==1)
        assert!(eval(r#"1 == 1 || 1 == 2 && 1 == 1"#));
        assert!(eval_with(r#"1 == "a""#, &PreprocessConfig::default()).is_err());
        assert!(eval_with("1 == 1 &&", &PreprocessConfig::default()).is_err());
    }

    #[test]
    fn unknown_names_get_suggestions() {
        let err = eval_with(r#"kernel_ver >= "5""#, &PreprocessConfig::default()).unwrap_err();
        let d = err.into_diagnostic();
        assert!(
            d.message
                .contains("unknown preprocessor condition 'kernel_ver'"),
            "{d:?}"
        );
        assert!(d.help[0].contains("kernel_vr"), "{d:?}");
    }

    #[test]
    fn c_integers() {
        assert_eq!(parse_c_integer("250"), Some(250));
        assert_eq!(parse_c_integer("0x10"), Some(16));
        assert_eq!(parse_c_integer("-5"), Some(-5));
        assert_eq!(parse_c_integer("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_c_integer("9223372036854775808"), None);
        assert_eq!(parse_c_integer("y"), None);
        assert_eq!(parse_c_integer(""), None);
    }
}
