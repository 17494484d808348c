//! Literal values: checked against the field's kind and converted to the
//! form evaluation compares (numbers for integers, flags and addresses).

use super::FilterError;
use super::fields::{self, Field, Kind};
use super::lexer::{CmpOp, Tok, Token};

/// A literal on the right of a comparison, ready for evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Literal {
    /// Integers, flags (0/1), IPv4, IPv6 and MAC addresses as numbers. A field value
    /// `v` is compared as `v & mask` against `value` (already masked): the mask
    /// is all ones except for CIDR prefixes.
    Num {
        value: u128,
        mask: u128,
    },
    Str(String),
}

fn err(column: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        column,
        message: message.into(),
    }
}

/// Checks the value token against the field's kind and converts it.
pub(crate) fn literal(
    field: Field,
    kind: Kind,
    op: CmpOp,
    op_col: usize,
    value: &Token,
) -> Result<Literal, FilterError> {
    let fname = fields::name_of(field);
    if kind == Kind::Protocol {
        return Err(err(
            op_col,
            format!("`{fname}` is a protocol: it can only be tested for presence"),
        ));
    }
    if op == CmpOp::Contains && kind != Kind::Str {
        return Err(err(
            op_col,
            format!("`contains` needs a string field (frame.comment), not `{fname}`"),
        ));
    }
    let col = value.column;
    let word = match &value.tok {
        Tok::Word(w) => *w,
        Tok::Str(s) if kind == Kind::Str => return Ok(Literal::Str(s.clone())),
        Tok::Str(_) => {
            return Err(err(
                col,
                format!("`{fname}` cannot be compared with a string (remove the quotes)"),
            ));
        }
        Tok::End => {
            return Err(err(
                col,
                format!(
                    "unexpected end of filter: expected a value after `{}`",
                    op.symbol()
                ),
            ));
        }
        other => {
            return Err(err(
                col,
                format!(
                    "expected a value after `{}`, found {}",
                    op.symbol(),
                    other.describe()
                ),
            ));
        }
    };
    if fields::lookup(word).is_some() {
        return Err(err(
            col,
            format!("comparing two fields (`{fname}` with `{word}`) is not supported"),
        ));
    }
    let exact = |value: u64| Literal::Num {
        value: u128::from(value),
        mask: u128::MAX,
    };
    match kind {
        Kind::Str => Err(err(
            col,
            format!("string values must be double-quoted: \"{word}\""),
        )),
        Kind::Uint(max) => {
            let v = number(word, col)?;
            if v > max {
                return Err(err(
                    col,
                    format!("{word} is too big for `{fname}` (maximum {max})"),
                ));
            }
            Ok(exact(v))
        }
        Kind::Bool => match word {
            "True" | "TRUE" => Ok(exact(1)),
            "False" | "FALSE" => Ok(exact(0)),
            _ => Ok(exact(u64::from(number(word, col)? != 0))),
        },
        Kind::Ipv4 => ipv4_literal(word, col),
        Kind::Ipv6 => ipv6_literal(word, col),
        Kind::Mac => mac_literal(word, col).map(exact),
        Kind::Protocol => unreachable!("handled above"),
    }
}

/// An unsigned integer as Wireshark reads it: `0x` hex, `0b` binary, a leading
/// `0` octal, otherwise decimal.
fn number(word: &str, col: usize) -> Result<u64, FilterError> {
    if word.starts_with('-') {
        return Err(err(
            col,
            format!("negative value {word}: the field is unsigned"),
        ));
    }
    let lower = word.to_ascii_lowercase();
    let (digits, radix) = if let Some(h) = lower.strip_prefix("0x") {
        (h, 16)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (b, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    let parsed = if valid {
        u64::from_str_radix(digits, radix).ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        let hint = if radix == 8 {
            " (a leading 0 means octal, as in Wireshark)"
        } else {
            ""
        };
        let what = if valid {
            "is too big"
        } else {
            "is not a valid number"
        };
        err(col, format!("{word} {what}{hint}"))
    })
}

/// `a.b.c.d` or `a.b.c.d/len`.
fn ipv4_literal(word: &str, col: usize) -> Result<Literal, FilterError> {
    let (addr, prefix) = match word.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (word, None),
    };
    let parts: Vec<&str> = addr.split('.').collect();
    let octet = |p: &&str| {
        let canonical = !p.is_empty() && p.len() <= 3 && (p.len() == 1 || !p.starts_with('0'));
        if canonical {
            p.parse::<u8>().ok()
        } else {
            None
        }
    };
    let octets: Vec<u8> = parts.iter().filter_map(octet).collect();
    if parts.len() != 4 || octets.len() != 4 {
        return Err(err(
            col,
            format!("{addr} is not a valid IPv4 address (expected a.b.c.d)"),
        ));
    }
    let value = u64::from(u32::from_be_bytes([
        octets[0], octets[1], octets[2], octets[3],
    ]));
    let bits = match prefix {
        None => 32,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n <= 32 && (p == "0" || !p.starts_with('0')) => n,
            _ => {
                return Err(err(
                    col,
                    format!("/{p} is not a valid prefix length (0 to 32)"),
                ));
            }
        },
    };
    let mask = u64::from(u32::MAX.checked_shl(32 - bits).unwrap_or(0));
    Ok(Literal::Num {
        value: u128::from(value & mask),
        mask: u128::from(mask),
    })
}

/// An IPv6 address in any form `std` reads (`2001:db8::1`, `::ffff:10.0.0.1`), or a
/// CIDR prefix `2001:db8::/32`.
fn ipv6_literal(word: &str, col: usize) -> Result<Literal, FilterError> {
    let (addr, prefix) = match word.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (word, None),
    };
    let Ok(parsed) = addr.parse::<std::net::Ipv6Addr>() else {
        return Err(err(
            col,
            format!("{addr} is not a valid IPv6 address (expected e.g. 2001:db8::1)"),
        ));
    };
    let bits = match prefix {
        None => 128,
        Some(p) => match p.parse::<u32>() {
            Ok(n) if n <= 128 && (p == "0" || !p.starts_with('0')) => n,
            _ => {
                return Err(err(
                    col,
                    format!("/{p} is not a valid prefix length (0 to 128)"),
                ));
            }
        },
    };
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    Ok(Literal::Num {
        value: parsed.to_bits() & mask,
        mask,
    })
}

/// Six hex pairs separated by `:`, `-` or `.` (one kind), `xxxx.xxxx.xxxx`,
/// or twelve hex digits.
fn mac_literal(word: &str, col: usize) -> Result<u64, FilterError> {
    let hex: String = word
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .collect();
    let seps: Vec<char> = word
        .chars()
        .filter(|c| matches!(c, ':' | '-' | '.'))
        .collect();
    let groups: Vec<usize> = word.split([':', '-', '.']).map(str::len).collect();
    let same_sep = seps.windows(2).all(|w| w[0] == w[1]);
    let shape_ok = match seps.len() {
        0 => groups == [12],
        2 => seps[0] == '.' && groups == [4, 4, 4],
        5 => groups.iter().all(|&g| g == 2),
        _ => false,
    };
    if !same_sep || !shape_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(err(
            col,
            format!("{word} is not a valid MAC address (expected aa:bb:cc:dd:ee:ff)"),
        ));
    }
    u64::from_str_radix(&hex, 16)
        .map_err(|_| err(col, format!("{word} is not a valid MAC address")))
}
