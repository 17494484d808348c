//! Set and map lookups (`nft_lookup` over the hash, rbtree and pipapo backends): a set's
//! elements made once into sorted intervals, so a packet's lookup is a binary search that
//! allocates nothing.
//!
//! Every element is an interval per part of its key (a single value is `lo == hi`, a name
//! with `*` the range of names it begins, see [`super::eval_packet::name_range`]), which
//! serves plain, interval and concatenated sets alike: a key matches an element when each
//! part lies in the element's interval for it, as pipapo matches. Entries are sorted by
//! their first part's low end; a lookup finds the last entry starting at or before the key
//! and walks back while an earlier entry could still reach it (the running maximum of the
//! high ends says when none can), so sets nft keeps free of overlaps cost one search.

use super::eval_packet::name_range;
use super::expr::Value;
use super::model::Set;

/// A set's elements as sorted intervals.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetIndex {
    /// Parts per key (1 unless the set is a concatenation).
    parts: usize,
    /// Entry `e`'s interval for part `p` is `lo[e * parts + p] ..= hi[e * parts + p]`.
    lo: Vec<u128>,
    hi: Vec<u128>,
    /// The highest first-part `hi` among entries `0..=e`.
    reach: Vec<u128>,
    /// The element of the model's `Set::elems` each entry stands for (a map's data is there).
    elem: Vec<u32>,
}

/// A value's interval: a number is itself, a name its range of names.
fn bounds(v: &Value) -> (u128, u128) {
    match v {
        Value::Num(n) => (*n, *n),
        Value::Name(s) => name_range(s),
    }
}

impl SetIndex {
    /// The index of a set's elements; an element whose key has the wrong number of parts
    /// is left out (it can match no key).
    pub fn build(set: &Set) -> SetIndex {
        let parts = set.key.len().max(1);
        let mut order: Vec<(u32, Vec<(u128, u128)>)> = set
            .elems
            .iter()
            .enumerate()
            .filter(|(_, e)| e.key.len() == parts)
            .map(|(i, e)| {
                let ivs = e
                    .key
                    .iter()
                    .map(|(lo, hi)| (bounds(lo).0, bounds(hi).1))
                    .collect();
                (i as u32, ivs)
            })
            .collect();
        // The backward walk meets the last of equal starts first: put the element added
        // first there.
        order.sort_by(|a, b| a.1[0].0.cmp(&b.1[0].0).then(b.0.cmp(&a.0)));
        let mut index = SetIndex {
            parts,
            ..SetIndex::default()
        };
        let mut reach = 0;
        for (elem, ivs) in order {
            for (lo, hi) in &ivs {
                index.lo.push(*lo);
                index.hi.push(*hi);
            }
            reach = reach.max(ivs[0].1);
            index.reach.push(reach);
            index.elem.push(elem);
        }
        index
    }

    /// The element (its place in the model's `Set::elems`) whose intervals hold `key`, one
    /// number per part.
    pub fn find(&self, key: &[u128]) -> Option<usize> {
        if key.len() != self.parts || self.elem.is_empty() {
            return None;
        }
        let p = self.parts;
        let first = key[0];
        // Entries starting at or before the key: 0..end.
        let (mut a, mut b) = (0, self.elem.len());
        while a < b {
            let mid = (a + b) / 2;
            if self.lo[mid * p] <= first {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        for e in (0..a).rev() {
            if self.reach[e] < first {
                break;
            }
            let at = e * p;
            let holds = (0..p).all(|i| self.lo[at + i] <= key[i] && key[i] <= self.hi[at + i]);
            if holds {
                return Some(self.elem[e] as usize);
            }
        }
        None
    }

    /// How many elements the index holds.
    pub fn len(&self) -> usize {
        self.elem.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elem.is_empty()
    }
}

/// A set looked up without an index (one the evaluator has not indexed yet), walking the
/// elements in order: the answer of [`SetIndex::find`] for sets without overlapping
/// elements, which nft refuses to make.
pub fn find_linear(set: &Set, key: &[u128]) -> Option<usize> {
    set.elems.iter().position(|e| {
        e.key.len() == key.len()
            && e.key
                .iter()
                .zip(key)
                .all(|((lo, hi), k)| bounds(lo).0 <= *k && *k <= bounds(hi).1)
    })
}

#[cfg(test)]
#[path = "eval_set_tests.rs"]
mod tests;
