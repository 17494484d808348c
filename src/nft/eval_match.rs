//! A match statement on one packet: its keys read (`nft_payload`, `nft_meta`...), masked
//! (`nft_bitwise`), then compared (`nft_cmp`, `nft_range`, a prefix's shorter compare) or
//! looked up (`nft_lookup`), as the bytecode nft 1.0.6 makes of the rule's text does:
//!
//! - no operator on a bit mask type without a mask (`ct state established,related`,
//!   `tcp flags syn`) is "any of these bits": `(key & bits) != 0`;
//! - no operator otherwise, and `==`, is equality (`tcp flags syn / syn,ack` is
//!   `(flags & (syn|ack)) == syn`); `!=` is inequality, also for bit masks;
//! - a set (`{ established, related }`, `@name`) is membership of the exact value.

use super::eval_packet::{name_range, read};
use super::eval_set::{SetIndex, find_linear};
use super::expr::{Expr, Key, Value};
use super::model::{CmpOp, Match, Rhs, Set};
use crate::netfilter::{ConnQuery, PacketView};

/// The most parts a concatenation reads: nft's registers hold 64 bytes, 16 of the 4-byte
/// slots each part takes at least.
pub const MAX_PARTS: usize = 16;

/// A key's parts as read from a packet, on the stack.
#[derive(Clone, Copy, Debug)]
pub struct KeyRead {
    parts: [u128; MAX_PARTS],
    len: usize,
}

impl KeyRead {
    pub fn parts(&self) -> &[u128] {
        &self.parts[..self.len]
    }
}

/// Reads every key of `expr`; `None` when one breaks (or the concatenation is longer than
/// nft allows).
pub fn read_expr(expr: &Expr, pkt: &PacketView<'_>, conns: &dyn ConnQuery) -> Option<KeyRead> {
    let keys = expr.keys();
    if keys.len() > MAX_PARTS {
        return None;
    }
    let mut r = KeyRead {
        parts: [0; MAX_PARTS],
        len: keys.len(),
    };
    for (slot, key) in r.parts.iter_mut().zip(keys) {
        *slot = read(*key, pkt, conns)?;
    }
    Some(r)
}

/// The set a match or map names, as the evaluator finds it: its index when it has one.
#[derive(Clone, Copy)]
pub struct SetAt<'a> {
    pub set: &'a Set,
    pub index: Option<&'a SetIndex>,
}

impl SetAt<'_> {
    /// The element holding `key`.
    pub fn find(&self, key: &[u128]) -> Option<usize> {
        match self.index {
            Some(ix) => ix.find(key),
            None => find_linear(self.set, key),
        }
    }
}

/// A value's interval (a name with `*` stands for many).
fn bounds(v: &Value) -> (u128, u128) {
    match v {
        Value::Num(n) => (*n, *n),
        Value::Name(s) => name_range(s),
    }
}

/// The highest value a key of `bits` bits holds.
fn width_mask(bits: u32) -> u128 {
    match bits {
        0 => 0,
        128.. => u128::MAX,
        b => (1u128 << b) - 1,
    }
}

/// Whether the packet matches; `set` is the match's set when its right side is one.
pub fn matches(
    m: &Match,
    set: Option<SetAt<'_>>,
    pkt: &PacketView<'_>,
    conns: &dyn ConnQuery,
) -> bool {
    let Some(mut key) = read_expr(&m.left, pkt, conns) else {
        return false;
    };
    if let Some(mask) = m.mask {
        key.parts[0] &= mask;
    }
    let keys = m.left.keys();
    let negate = m.op == CmpOp::Ne;
    match &m.right {
        Rhs::Set(_) => match set {
            Some(s) => s.find(key.parts()).is_some() != negate,
            // A set the ruleset lost (never left by commands) holds nothing.
            None => negate,
        },
        Rhs::Range(lo, hi) => {
            let x = key.parts[0];
            (bounds(lo).0 <= x && x <= bounds(hi).1) != negate
        }
        Rhs::Prefix(v, len) => {
            let bits = keys.first().map_or(0, |k| k.datatype().bits());
            let host = bits.saturating_sub(u32::from(*len));
            let net = !width_mask(host);
            ((key.parts[0] & net) == (bounds(v).0 & net)) != negate
        }
        Rhs::Value(vals) => {
            if vals.len() != key.len {
                return false;
            }
            compare(m, keys, key.parts(), vals)
        }
    }
}

/// `LEFT OP VALUE` for each part.
fn compare(m: &Match, keys: &[Key], parts: &[u128], vals: &[Value]) -> bool {
    let each_equal = || {
        parts.iter().zip(vals).all(|(x, v)| {
            let (lo, hi) = bounds(v);
            lo <= *x && *x <= hi
        })
    };
    let one = || (parts[0], bounds(&vals[0]).0);
    match m.op {
        CmpOp::Implicit => {
            let bitmask = keys.len() == 1 && keys[0].datatype().is_bitmask();
            if bitmask && m.mask.is_none() {
                parts[0] & bounds(&vals[0]).0 != 0
            } else {
                each_equal()
            }
        }
        CmpOp::Eq => each_equal(),
        CmpOp::Ne => !each_equal(),
        CmpOp::Lt => one().0 < one().1,
        CmpOp::Gt => one().0 > one().1,
        CmpOp::Le => one().0 <= one().1,
        CmpOp::Ge => one().0 >= one().1,
    }
}

#[cfg(test)]
#[path = "eval_match_tests.rs"]
mod tests;
