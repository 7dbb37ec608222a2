//! `-G NAME=VALUE`: the initial value of the script's global NAME, as
//! SystemTap's option sets it for the session (`-G sloth=100` where the
//! script says `global sloth = 50`). VALUE is a number when it reads as
//! one (decimal, `0x` hex or octal, signed), else a string; the global
//! must be one the script declares, as a scalar.

use crate::syntax::ast::{Item, Literal, NumLit, Script, StrLit};

/// `script` with each `NAME=VALUE` of `values` as its global's initial
/// value, or the message naming the first that cannot be.
pub(super) fn with_global_values(script: &Script, values: &[String]) -> Result<Script, String> {
    let mut script = script.clone();
    for text in values {
        let Some((name, value)) = text.split_once('=') else {
            return Err(format!(
                "stap: -G '{text}' must be NAME=VALUE, such as -G sloth=100"
            ));
        };
        let var = script
            .items
            .iter_mut()
            .filter_map(|item| match item {
                Item::Global(g) => Some(g),
                _ => None,
            })
            .flat_map(|g| g.vars.iter_mut())
            .find(|v| v.name.name == name);
        let Some(var) = var else {
            return Err(format!(
                "stap: -G {text}: the script declares no global '{name}'"
            ));
        };
        if var.size.is_some() {
            return Err(format!(
                "stap: -G {text}: '{name}' is an array; -G sets scalars"
            ));
        }
        let span = var.span;
        var.init = Some(match number(value) {
            Some(value) => Literal::Number(NumLit { value, span }),
            None => Literal::String(StrLit {
                value: value.as_bytes().to_vec(),
                span,
            }),
        });
    }
    Ok(script)
}

/// `value` as a script number: decimal, `0x` hex or `0` octal, signed.
fn number(value: &str) -> Option<i64> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value.strip_prefix('+').unwrap_or(value)),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    let value = magnitude as i64;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_numbers_when_they_are_ones() {
        assert_eq!(number("65536"), Some(65536));
        assert_eq!(number("-3"), Some(-3));
        assert_eq!(number("0x10"), Some(16));
        assert_eq!(number("010"), Some(8));
        assert_eq!(number("0"), Some(0));
        assert_eq!(number("abc"), None);
        assert_eq!(number(""), None);
        assert_eq!(number("12k"), None);
    }
}
