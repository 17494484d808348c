//! The hash index that finds a flow by either of its tuples, as the kernel's conntrack hash
//! does with the two hash nodes embedded in each entry.
//!
//! A bucket is four bytes: the flow's slab id, its direction, and as many bits of the tuple's
//! hash as are left over. The index of the default 262,144 flows then takes 1 MiB at most and
//! stays in the cache, so a lookup's one trip to memory is the slab entry, where the tuple is
//! compared; the hash bits spare reading the entries of other flows on the way. Open
//! addressing with linear probing: a collision lands in the same or the next cache line.
//! Removal shifts the following run back instead of leaving tombstones, so lookups do not
//! slow down as flows come and go. Growing and shifting need a bucket's home, which the
//! caller gives by hashing the flow's tuple again (`rehash`).

use smoltcp::wire::IpAddress;

use super::Tuple;
use crate::netfilter::packet::bits;

/// A free bucket. No real bucket has it: their top bit is clear.
const EMPTY: u32 = u32::MAX;
/// The index is grown before more than 4 buckets in 5 are taken.
const LOAD_NUM: usize = 4;
const LOAD_DEN: usize = 5;
const MIN_BUCKETS: usize = 16;

/// Hashes a tuple (IPv6 addresses folded to 64 bits each) with a multiply-and-fold mix: fixed (the simulation is
/// deterministic), with every input bit reaching the top bits (a bucket's home) and the low
/// bits (kept in the bucket).
pub fn hash(t: &Tuple) -> u64 {
    const K1: u64 = 0x9e37_79b9_7f4a_7c15;
    const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;
    const K3: u64 = 0x1656_67b1_9e37_79f9;
    fn fold(a: u64, b: u64) -> u64 {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    }
    let addrs = match (t.src, t.dst) {
        (IpAddress::Ipv4(s), IpAddress::Ipv4(d)) => {
            u64::from(s.to_bits()) << 32 | u64::from(d.to_bits())
        }
        (s, d) => {
            let (s, d) = (bits(s), bits(d));
            fold((s >> 64) as u64 ^ K3, s as u64) ^ fold((d >> 64) as u64 ^ K1, d as u64 ^ K2)
        }
    };
    let rest = u64::from(t.sport) << 24 | u64::from(t.dport) << 8 | u64::from(t.proto);
    fold(fold(addrs ^ K1, K2) ^ rest, K3)
}

#[derive(Debug)]
pub struct Index {
    /// `hash bits | id << 1 | reply`, or [`EMPTY`]; a power of two long (or empty).
    buckets: Vec<u32>,
    len: usize,
    /// Where the hash bits start: above the id and direction.
    shift: u32,
}

impl Index {
    /// The most flows an index can tell apart.
    pub const MAX_FLOWS: usize = 1 << 30;

    /// An index for flow ids below `max_flows` (at most [`Index::MAX_FLOWS`]).
    pub fn new(max_flows: usize) -> Index {
        let id_bits = usize::BITS - max_flows.saturating_sub(1).leading_zeros();
        Index {
            buckets: Vec::new(),
            len: 0,
            shift: id_bits.max(1) + 1,
        }
    }

    /// Taken buckets: two per flow.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    /// The bucket a hash starts probing at: its top bits.
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.buckets.len().trailing_zeros())) as usize
    }

    /// The hash bits a bucket keeps, in place; never the top bit, so never [`EMPTY`].
    fn tag(&self, hash: u64) -> u32 {
        ((hash as u32) << self.shift) & (u32::MAX >> 1)
    }

    fn tag_mask(&self) -> u32 {
        self.tag(u64::MAX)
    }

    fn flow(e: u32, shift: u32) -> (u32, bool) {
        let low = e & ((1 << shift) - 1);
        (low >> 1, low & 1 == 1)
    }

    /// The `(id, reply)` of the first bucket with this hash for which `is` (reading the slab)
    /// says the tuple matches.
    pub fn find(&self, hash: u64, mut is: impl FnMut(u32, bool) -> bool) -> Option<(u32, bool)> {
        if self.buckets.is_empty() {
            return None;
        }
        let (tag, tag_mask) = (self.tag(hash), self.tag_mask());
        let mut i = self.home(hash);
        loop {
            let e = self.buckets[i];
            if e == EMPTY {
                return None;
            }
            if e & tag_mask == tag {
                let (id, reply) = Index::flow(e, self.shift);
                if is(id, reply) {
                    return Some((id, reply));
                }
            }
            i = (i + 1) & self.mask();
        }
    }

    /// Enters flow `id` under `hash` in direction `reply`. `rehash` gives the hash of any
    /// entered flow and direction, should the index grow.
    pub fn insert(&mut self, hash: u64, id: u32, reply: bool, rehash: impl Fn(u32, bool) -> u64) {
        if (self.len + 1) * LOAD_DEN > self.buckets.len() * LOAD_NUM {
            self.grow(rehash);
        }
        let e = self.tag(hash) | id << 1 | u32::from(reply);
        self.place(hash, e);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, e: u32) {
        let mut i = self.home(hash);
        while self.buckets[i] != EMPTY {
            i = (i + 1) & self.mask();
        }
        self.buckets[i] = e;
    }

    fn grow(&mut self, rehash: impl Fn(u32, bool) -> u64) {
        let size = (self.buckets.len() * 2).max(MIN_BUCKETS);
        let old = std::mem::replace(&mut self.buckets, vec![EMPTY; size]);
        for e in old.into_iter().filter(|&e| e != EMPTY) {
            let (id, reply) = Index::flow(e, self.shift);
            self.place(rehash(id, reply), e);
        }
    }

    /// Removes flow `id`'s bucket in direction `reply`, if there is one, and shifts the run
    /// after it back so that every bucket stays reachable from its home.
    pub fn remove(&mut self, hash: u64, id: u32, reply: bool, rehash: impl Fn(u32, bool) -> u64) {
        if self.buckets.is_empty() {
            return;
        }
        let want = self.tag(hash) | id << 1 | u32::from(reply);
        let mut hole = self.home(hash);
        loop {
            match self.buckets[hole] {
                EMPTY => return,
                e if e == want => break,
                _ => hole = (hole + 1) & self.mask(),
            }
        }
        self.len -= 1;
        let mut j = hole;
        loop {
            j = (j + 1) & self.mask();
            let e = self.buckets[j];
            if e == EMPTY {
                break;
            }
            // `e` may fill the hole unless its home lies cyclically in (hole, j].
            let (id, reply) = Index::flow(e, self.shift);
            let home = self.home(rehash(id, reply));
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                self.buckets[hole] = e;
                hole = j;
            }
        }
        self.buckets[hole] = EMPTY;
    }

    pub fn clear(&mut self) {
        self.buckets.fill(EMPTY);
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bucket can be found after removals that shift runs, including runs that wrap.
    #[test]
    fn removal_keeps_every_other_bucket_reachable() {
        let mut ix = Index::new(64);
        // Three distinct hashes near the top: long runs of collisions, wrapping past the end.
        let h = |id: u32, _: bool| u64::MAX - u64::from(id % 3) * (1 << 60);
        for id in 0..12 {
            ix.insert(h(id, false), id, id % 2 == 1, h);
        }
        for gone in [0, 5, 7, 11] {
            ix.remove(h(gone, false), gone, gone % 2 == 1, h);
        }
        ix.remove(h(4, true), 4, true, h); // absent: the direction differs
        assert_eq!(ix.len(), 8);
        for id in 0..12 {
            let found = ix.find(h(id, false), |i, _| i == id);
            let gone = [0, 5, 7, 11].contains(&id);
            assert_eq!(found.is_none(), gone, "{id}");
            if let Some((_, reply)) = found {
                assert_eq!(reply, id % 2 == 1);
            }
        }
    }

    #[test]
    fn growing_keeps_buckets() {
        let mut ix = Index::new(1000);
        let h = |id: u32, _: bool| u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for id in 0..1000 {
            ix.insert(h(id, false), id, false, h);
        }
        assert!((0..1000).all(|id| ix.find(h(id, false), |i, _| i == id) == Some((id, false))));
        ix.clear();
        assert!(ix.is_empty());
        assert_eq!(ix.find(0, |_, _| true), None);
    }

    /// The largest id and a full hash still make a bucket that is not free.
    #[test]
    fn no_bucket_looks_free() {
        let mut ix = Index::new(1 << 18);
        let h = |_: u32, _: bool| u64::MAX;
        ix.insert(u64::MAX, (1 << 18) - 1, true, h);
        assert_eq!(ix.find(u64::MAX, |_, _| true), Some(((1 << 18) - 1, true)));
    }
}
