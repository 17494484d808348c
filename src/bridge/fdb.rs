//! The forwarding database of a Linux bridge: which port a MAC address was last seen on.
//!
//! Learned entries expire `ageing` after they were last refreshed (300 s by default, as
//! `ageing_time 30000` in `ip -d link`); expiry is exact, as the kernel's garbage-collection
//! work re-arms itself for the earliest expiry. An ageing time of zero learns nothing, which
//! makes the bridge a hub. The table is bounded (`fdb_max_learned`): a new address beyond the
//! bound is not learned and is counted, so its frames keep being flooded.

use rustc_hash::FxHashMap;
use smoltcp::wire::EthernetAddress;

use crate::time::{Duration, Instant};

/// Default bound on learned entries. Linux's `fdb_max_learned` defaults to unlimited; a
/// simulator keeps every table bounded, with room for ten thousand containers per bridge.
pub const DEFAULT_FDB_MAX: usize = 65_536;
pub const DEFAULT_AGEING: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    pub port: u16,
    /// The VLAN it was learned in (0 without VLAN filtering).
    pub vid: u16,
    pub updated: Instant,
    /// Learning order, so listings are stable.
    pub seq: u64,
}

/// What learning a source address did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Learn {
    New,
    Refreshed,
    Moved { from: u16 },
    Full,
    Disabled,
}

#[derive(Debug)]
pub struct Fdb {
    entries: FxHashMap<u64, FdbEntry>,
    ageing: Duration,
    capacity: usize,
    next_gc: Option<Instant>,
    seq: u64,
    /// Addresses refused because the table was full.
    pub not_learned: u64,
    pub learned_total: u64,
    pub moves: u64,
    pub expired: u64,
}

pub fn mac_key(mac: EthernetAddress) -> u64 {
    let b = mac.0;
    u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
}

/// The key of `mac` in VLAN `vid`: the VLAN above the 48 bits of the MAC, so that without
/// VLAN filtering (VLAN 0) the key is the MAC's.
#[inline]
pub fn vlan_key(mac: EthernetAddress, vid: u16) -> u64 {
    mac_key(mac) | (u64::from(vid & 0x0fff) << 48)
}

pub fn key_mac(key: u64) -> EthernetAddress {
    let b = key.to_be_bytes();
    EthernetAddress([b[2], b[3], b[4], b[5], b[6], b[7]])
}

impl Fdb {
    pub fn new(ageing: Duration, capacity: usize) -> Fdb {
        Fdb {
            entries: FxHashMap::default(),
            ageing,
            capacity,
            next_gc: None,
            seq: 0,
            not_learned: 0,
            learned_total: 0,
            moves: 0,
            expired: 0,
        }
    }

    pub fn ageing(&self) -> Duration {
        self.ageing
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Learns (or refreshes) `mac` as reachable through `port`.
    #[inline]
    pub fn learn(&mut self, mac: EthernetAddress, port: u16, now: Instant) -> Learn {
        self.learn_in(mac, 0, port, now)
    }

    /// Learns (or refreshes) `mac` in VLAN `vid` as reachable through `port`: with VLAN
    /// filtering a MAC has an entry per VLAN (`fdb_find_rcu(br, addr, vid)`).
    pub fn learn_in(&mut self, mac: EthernetAddress, vid: u16, port: u16, now: Instant) -> Learn {
        if self.ageing == Duration::ZERO {
            return Learn::Disabled;
        }
        let key = vlan_key(mac, vid);
        if let Some(e) = self.entries.get_mut(&key) {
            e.updated = now;
            if e.port != port {
                let from = e.port;
                e.port = port;
                self.moves += 1;
                return Learn::Moved { from };
            }
            return Learn::Refreshed;
        }
        if self.entries.len() >= self.capacity {
            self.not_learned += 1;
            return Learn::Full;
        }
        self.seq += 1;
        self.entries.insert(
            key,
            FdbEntry {
                port,
                vid,
                updated: now,
                seq: self.seq,
            },
        );
        self.learned_total += 1;
        if self.next_gc.is_none() {
            self.next_gc = Some(now + self.ageing);
        }
        Learn::New
    }

    /// The port `mac` was learned on.
    #[inline]
    pub fn lookup(&self, mac: EthernetAddress) -> Option<u16> {
        self.entries.get(&mac_key(mac)).map(|e| e.port)
    }

    /// The port `mac` was learned on in VLAN `vid`.
    pub fn lookup_in(&self, mac: EthernetAddress, vid: u16) -> Option<u16> {
        self.entries.get(&vlan_key(mac, vid)).map(|e| e.port)
    }

    pub fn get(&self, mac: EthernetAddress) -> Option<&FdbEntry> {
        self.entries.get(&mac_key(mac))
    }

    /// When the next entry expires.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.next_gc
    }

    /// Removes the entries whose age reached the ageing time, and re-arms for the next one.
    pub fn expire(&mut self, now: Instant) {
        if self.next_gc.is_none_or(|t| t > now) {
            return;
        }
        let ageing = self.ageing;
        let before = self.entries.len();
        self.entries.retain(|_, e| e.updated + ageing > now);
        self.expired += (before - self.entries.len()) as u64;
        self.next_gc = self.entries.values().map(|e| e.updated + ageing).min();
    }

    /// Changes the ageing time (spanning tree shortens it to twice the forward delay while
    /// a topology change lasts, so entries on a path that moved go soon); expiry follows the
    /// new time at once. A hub (ageing 0) stays one.
    pub fn set_ageing(&mut self, ageing: Duration) {
        if self.ageing == Duration::ZERO || ageing == Duration::ZERO {
            return;
        }
        self.ageing = ageing;
        self.next_gc = self.entries.values().map(|e| e.updated + ageing).min();
    }

    /// Drops every entry learned on `port` (the port went down, as the kernel does).
    pub fn flush_port(&mut self, port: u16) {
        self.entries.retain(|_, e| e.port != port);
    }

    /// Drops what `port` learned in these VLANs (the port left them).
    pub fn flush_port_vlans(&mut self, port: u16, vids: &[u16]) {
        self.entries
            .retain(|_, e| e.port != port || !vids.contains(&e.vid));
    }

    /// Entries in learning order.
    pub fn entries(&self) -> Vec<(EthernetAddress, FdbEntry)> {
        let mut v: Vec<_> = self
            .entries
            .iter()
            .map(|(k, e)| (key_mac(*k), *e))
            .collect();
        v.sort_by_key(|(_, e)| e.seq);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u8) -> EthernetAddress {
        EthernetAddress([2, 0, 0, 0, 0, n])
    }
    fn at(s: u64) -> Instant {
        Instant::ZERO + Duration::from_secs(s)
    }

    #[test]
    fn learns_refreshes_and_moves() {
        let mut f = Fdb::new(DEFAULT_AGEING, 10);
        assert_eq!(f.learn(mac(1), 0, at(0)), Learn::New);
        assert_eq!(f.learn(mac(1), 0, at(1)), Learn::Refreshed);
        assert_eq!(f.learn(mac(1), 2, at(2)), Learn::Moved { from: 0 });
        assert_eq!(f.lookup(mac(1)), Some(2));
        assert_eq!(f.lookup(mac(9)), None);
        assert_eq!(key_mac(mac_key(mac(7))), mac(7));
    }

    #[test]
    fn ages_out_exactly() {
        let mut f = Fdb::new(Duration::from_secs(300), 10);
        f.learn(mac(1), 0, at(0));
        f.learn(mac(2), 1, at(100));
        assert_eq!(f.next_expiry(), Some(at(300)));
        f.expire(at(299));
        assert_eq!(f.len(), 2);
        f.expire(at(300));
        assert_eq!(f.lookup(mac(1)), None);
        assert_eq!(f.lookup(mac(2)), Some(1));
        assert_eq!(f.next_expiry(), Some(at(400)));
        // A refresh pushes the expiry back.
        f.learn(mac(2), 1, at(350));
        f.expire(at(400));
        assert_eq!(f.lookup(mac(2)), Some(1));
        assert_eq!(f.next_expiry(), Some(at(650)));
        f.expire(at(650));
        assert!(f.is_empty());
        assert_eq!(f.next_expiry(), None);
        assert_eq!(f.expired, 2);
    }

    #[test]
    fn capacity_bound_refuses_and_counts() {
        let mut f = Fdb::new(DEFAULT_AGEING, 2);
        f.learn(mac(1), 0, at(0));
        f.learn(mac(2), 0, at(0));
        assert_eq!(f.learn(mac(3), 0, at(0)), Learn::Full);
        assert_eq!(f.lookup(mac(3)), None);
        assert_eq!(f.not_learned, 1);
        // Known addresses still refresh when full.
        assert_eq!(f.learn(mac(1), 1, at(1)), Learn::Moved { from: 0 });
    }

    #[test]
    fn a_mac_has_an_entry_per_vlan() {
        let mut f = Fdb::new(DEFAULT_AGEING, 10);
        assert_eq!(f.learn_in(mac(1), 10, 0, at(0)), Learn::New);
        assert_eq!(f.learn_in(mac(1), 20, 3, at(0)), Learn::New);
        assert_eq!(f.lookup_in(mac(1), 10), Some(0));
        assert_eq!(f.lookup_in(mac(1), 20), Some(3));
        assert_eq!(f.lookup(mac(1)), None);
        let listed: Vec<(u8, u16, u16)> = f
            .entries()
            .iter()
            .map(|(m, e)| (m.0[5], e.vid, e.port))
            .collect();
        assert_eq!(listed, [(1, 10, 0), (1, 20, 3)]);
    }

    #[test]
    fn zero_ageing_is_a_hub() {
        let mut f = Fdb::new(Duration::ZERO, 10);
        assert_eq!(f.learn(mac(1), 0, at(0)), Learn::Disabled);
        assert!(f.is_empty());
    }

    #[test]
    fn listing_order_is_learning_order() {
        let mut f = Fdb::new(DEFAULT_AGEING, 100);
        for n in [9, 3, 7, 1] {
            f.learn(mac(n), 0, at(0));
        }
        let order: Vec<u8> = f.entries().iter().map(|(m, _)| m.0[5]).collect();
        assert_eq!(order, [9, 3, 7, 1]);
    }
}
