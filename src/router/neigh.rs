//! The neighbour (ARP) table of a Linux-like router, with the kernel's NUD states:
//!
//! ```text
//!   (none) --send--> INCOMPLETE --reply--> REACHABLE --reachable_time--> STALE
//!                      | 3 probes, 1 s apart         ^                     | send
//!                      v                             | reply               v
//!                    FAILED <--3 unicast probes-- PROBE <--5 s-- DELAY <---+
//! ```
//! Packets for an INCOMPLETE neighbour wait in its queue (at most `QUEUE_LEN` of them, the
//! oldest dropped first); when resolution fails they are returned to the caller, which
//! answers each with ICMP host unreachable, as `arp_error_report` does. An ARP request aimed at
//! us records its sender as STALE (or refreshes the address of a known one).
//!
//! IPv6's neighbour discovery runs the same machine in the kernel (`nd_tbl` beside
//! `arp_tbl`): a table is generic in its address, a solicitation playing an ARP request's
//! part and a solicited advertisement a reply's; a FAILED IPv6 neighbour's packets get
//! ICMPv6 address unreachable.

use smoltcp::wire::{EthernetAddress, Ipv4Address};

use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// `mcast_solicit` and `ucast_solicit`: probes before giving up.
pub const PROBES: u8 = 3;
/// `retrans_time_ms`.
pub const RETRANS: Duration = Duration::from_secs(1);
/// `base_reachable_time_ms`; each entry's reachable time is drawn from [0.5, 1.5) × this.
pub const BASE_REACHABLE: Duration = Duration::from_secs(30);
/// `delay_first_probe_time`.
pub const DELAY_FIRST_PROBE: Duration = Duration::from_secs(5);
/// Packets queued per unresolved neighbour (`unres_qlen`).
pub const QUEUE_LEN: usize = 101;
/// Bound on entries (`gc_thresh3`).
pub const MAX_ENTRIES: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nud {
    Incomplete,
    Reachable,
    Stale,
    Delay,
    Probe,
    Failed,
    /// Set by hand (`ip neigh add ... nud permanent`, the default): never probed, never
    /// changed by ARP, kept by `ip neigh flush`.
    Permanent,
    /// Set by hand with `nud noarp`: used as is, like PERMANENT.
    Noarp,
}

impl Nud {
    pub fn name(self) -> &'static str {
        match self {
            Nud::Incomplete => "INCOMPLETE",
            Nud::Reachable => "REACHABLE",
            Nud::Stale => "STALE",
            Nud::Delay => "DELAY",
            Nud::Probe => "PROBE",
            Nud::Failed => "FAILED",
            Nud::Permanent => "PERMANENT",
            Nud::Noarp => "NOARP",
        }
    }
}

#[derive(Debug)]
pub struct Neighbour<P = Vec<u8>, A = Ipv4Address> {
    pub ip: A,
    pub dev: usize,
    pub mac: Option<EthernetAddress>,
    pub state: Nud,
    /// When the current state's timer fires.
    deadline: Option<Instant>,
    probes: u8,
    reachable_for: Duration,
    pub queue: Vec<P>,
}

/// What the router must do after asking to send to a neighbour.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolve {
    /// Send now to this MAC.
    Send(EthernetAddress),
    /// The packet was queued; send an ARP request (broadcast) for the neighbour.
    Queued { probe: bool },
    /// The neighbour is FAILED: answer with host unreachable.
    Unreachable,
}

/// A timer's consequence.
#[derive(Debug, PartialEq, Eq)]
pub enum Action<P = Vec<u8>, A = Ipv4Address> {
    /// Send an ARP request for `ip` on `dev`, broadcast or unicast to `to`.
    Probe {
        ip: A,
        dev: usize,
        to: Option<EthernetAddress>,
    },
    /// Resolution failed: these queued packets get ICMP host unreachable.
    Failed { packets: Vec<P> },
}

#[derive(Debug)]
pub struct NeighTable<P = Vec<u8>, A = Ipv4Address> {
    entries: Vec<Neighbour<P, A>>,
    rng: Rng,
    /// Packets dropped because a queue was full or the table at its bound.
    pub dropped: u64,
}

impl<P, A: Copy + PartialEq> NeighTable<P, A> {
    pub fn new(rng: Rng) -> Self {
        NeighTable {
            entries: Vec::new(),
            rng,
            dropped: 0,
        }
    }

    fn reachable_time(&mut self) -> Duration {
        let base = BASE_REACHABLE.nanos();
        Duration::from_nanos(base / 2 + self.rng.below(base))
    }

    fn find(&mut self, ip: A, dev: usize) -> Option<&mut Neighbour<P, A>> {
        self.entries.iter_mut().find(|n| n.ip == ip && n.dev == dev)
    }

    pub fn entries(&self) -> &[Neighbour<P, A>] {
        &self.entries
    }

    /// The entry of `ip` on device `dev`.
    pub fn entry(&self, ip: A, dev: usize) -> Option<&Neighbour<P, A>> {
        self.entries.iter().find(|n| n.ip == ip && n.dev == dev)
    }

    /// Asks to send `packet` (a whole frame, its Ethernet header to be filled) to `ip`.
    pub fn resolve(&mut self, now: Instant, ip: A, dev: usize, packet: P) -> (Resolve, Option<P>) {
        if let Some(n) = self.entries.iter_mut().find(|n| n.ip == ip && n.dev == dev) {
            match n.state {
                Nud::Reachable | Nud::Delay | Nud::Probe | Nud::Permanent | Nud::Noarp => {
                    return (
                        Resolve::Send(n.mac.unwrap_or(EthernetAddress::BROADCAST)),
                        Some(packet),
                    );
                }
                Nud::Stale => {
                    n.state = Nud::Delay;
                    n.deadline = Some(now + DELAY_FIRST_PROBE);
                    return (
                        Resolve::Send(n.mac.unwrap_or(EthernetAddress::BROADCAST)),
                        Some(packet),
                    );
                }
                Nud::Incomplete => {
                    if n.queue.len() >= QUEUE_LEN {
                        n.queue.remove(0);
                        self.dropped += 1;
                    }
                    n.queue.push(packet);
                    return (Resolve::Queued { probe: false }, None);
                }
                Nud::Failed => {
                    // A new attempt restarts resolution, as a new packet does in Linux.
                    n.state = Nud::Incomplete;
                    n.probes = 1;
                    n.deadline = Some(now + RETRANS);
                    n.queue.push(packet);
                    return (Resolve::Queued { probe: true }, None);
                }
            }
        }
        if self.entries.len() >= MAX_ENTRIES {
            self.dropped += 1;
            return (Resolve::Unreachable, Some(packet));
        }
        let reachable_for = self.reachable_time();
        self.entries.push(Neighbour {
            ip,
            dev,
            mac: None,
            state: Nud::Incomplete,
            deadline: Some(now + RETRANS),
            probes: 1,
            reachable_for,
            queue: vec![packet],
        });
        (Resolve::Queued { probe: true }, None)
    }

    /// An ARP reply (or a request aimed at us, `solicited == false`) from `ip` at `mac`.
    /// Returns the packets that were waiting for it.
    pub fn learn(
        &mut self,
        now: Instant,
        ip: A,
        dev: usize,
        mac: EthernetAddress,
        reply: bool,
    ) -> Vec<P> {
        let reachable = self.reachable_time();
        if let Some(n) = self.find(ip, dev) {
            // ARP does not change an entry set by hand (`neigh_update` without ADMIN).
            if matches!(n.state, Nud::Permanent | Nud::Noarp) {
                return std::mem::take(&mut n.queue);
            }
            let changed = n.mac != Some(mac);
            n.mac = Some(mac);
            if reply {
                n.state = Nud::Reachable;
                n.probes = 0;
                n.deadline = Some(now + n.reachable_for);
            } else if changed || matches!(n.state, Nud::Incomplete | Nud::Failed) {
                n.state = Nud::Stale;
                n.deadline = None;
            }
            return std::mem::take(&mut n.queue);
        }
        // An unsolicited reply does not create an entry (arp_accept = 0); a request does.
        if !reply && self.entries.len() < MAX_ENTRIES {
            self.entries.push(Neighbour {
                ip,
                dev,
                mac: Some(mac),
                state: Nud::Stale,
                deadline: None,
                probes: 0,
                reachable_for: reachable,
                queue: Vec::new(),
            });
        }
        Vec::new()
    }

    /// A gratuitous ARP (sender address = target address) from `ip` at `mac`: an existing
    /// entry takes the new address, STALE (`arp_process` overrides for a GARP; with
    /// `arp_accept = 0` no entry is made). Returns the packets that were waiting for it.
    pub fn gratuitous(&mut self, ip: A, dev: usize, mac: EthernetAddress) -> Vec<P> {
        let Some(n) = self.find(ip, dev) else {
            return Vec::new();
        };
        if matches!(n.state, Nud::Permanent | Nud::Noarp) {
            return Vec::new();
        }
        if n.mac != Some(mac) || matches!(n.state, Nud::Incomplete | Nud::Failed) {
            n.mac = Some(mac);
            n.state = Nud::Stale;
            n.deadline = None;
            n.probes = 0;
        }
        std::mem::take(&mut n.queue)
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries.iter().filter_map(|n| n.deadline).min()
    }

    /// Runs the timers due at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Action<P, A>> {
        let mut actions = Vec::new();
        for n in &mut self.entries {
            if n.deadline.is_none_or(|d| d > now) {
                continue;
            }
            match n.state {
                Nud::Reachable => {
                    n.state = Nud::Stale;
                    n.deadline = None;
                }
                Nud::Delay => {
                    n.state = Nud::Probe;
                    n.probes = 1;
                    n.deadline = Some(now + RETRANS);
                    actions.push(Action::Probe {
                        ip: n.ip,
                        dev: n.dev,
                        to: n.mac,
                    });
                }
                Nud::Incomplete | Nud::Probe if n.probes < PROBES => {
                    n.probes += 1;
                    n.deadline = Some(now + RETRANS);
                    let to = if n.state == Nud::Probe { n.mac } else { None };
                    actions.push(Action::Probe {
                        ip: n.ip,
                        dev: n.dev,
                        to,
                    });
                }
                Nud::Incomplete | Nud::Probe => {
                    n.state = Nud::Failed;
                    n.deadline = None;
                    actions.push(Action::Failed {
                        packets: std::mem::take(&mut n.queue),
                    });
                }
                Nud::Stale | Nud::Failed | Nud::Permanent | Nud::Noarp => n.deadline = None,
            }
        }
        actions
    }

    /// Forgets the neighbours of an interface (its link went down).
    pub fn flush_dev(&mut self, dev: usize) {
        self.entries.retain(|n| n.dev != dev);
    }

    /// `ip neigh add|replace|change IP lladdr MAC dev DEV nud STATE`: `add` refuses an
    /// existing entry, `change` a missing one. The packets that waited for it are returned.
    pub fn set(
        &mut self,
        now: Instant,
        op: &str,
        (ip, dev, mac): (A, usize, EthernetAddress),
        state: Nud,
    ) -> Result<Vec<P>, &'static str> {
        let reachable = self.reachable_time();
        let deadline = (state == Nud::Reachable).then(|| now + reachable);
        match self.find(ip, dev) {
            Some(_) if op == "add" => Err("RTNETLINK answers: File exists"),
            Some(n) => {
                n.mac = Some(mac);
                n.state = state;
                n.deadline = deadline;
                n.probes = 0;
                Ok(std::mem::take(&mut n.queue))
            }
            None if op == "change" => Err("RTNETLINK answers: No such file or directory"),
            None => {
                if self.entries.len() >= MAX_ENTRIES {
                    return Err("RTNETLINK answers: No buffer space available");
                }
                self.entries.push(Neighbour {
                    ip,
                    dev,
                    mac: Some(mac),
                    state,
                    deadline,
                    probes: 0,
                    reachable_for: reachable,
                    queue: Vec::new(),
                });
                Ok(Vec::new())
            }
        }
    }

    /// `ip neigh del IP dev DEV`.
    pub fn remove(&mut self, ip: A, dev: usize) -> bool {
        let before = self.entries.len();
        self.entries.retain(|n| !(n.ip == ip && n.dev == dev));
        self.entries.len() != before
    }

    /// `ip neigh flush [dev DEV]`: every entry but those set by hand (PERMANENT, NOARP),
    /// as `ip neigh flush` leaves them.
    pub fn flush(&mut self, dev: Option<usize>) {
        self.entries.retain(|n| {
            matches!(n.state, Nud::Permanent | Nud::Noarp) || dev.is_some_and(|d| n.dev != d)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> Ipv4Address {
        Ipv4Address::new(10, 0, 0, n)
    }
    fn mac(n: u8) -> EthernetAddress {
        EthernetAddress([2, 0, 0, 0, 0, n])
    }
    fn t(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn incomplete_queues_then_resolves() {
        let mut nt: NeighTable = NeighTable::new(Rng::new(1));
        assert_eq!(
            nt.resolve(t(0), ip(2), 0, vec![1]).0,
            Resolve::Queued { probe: true }
        );
        assert_eq!(
            nt.resolve(t(1), ip(2), 0, vec![2]).0,
            Resolve::Queued { probe: false }
        );
        let waiting = nt.learn(t(2), ip(2), 0, mac(2), true);
        assert_eq!(waiting, vec![vec![1], vec![2]]);
        assert_eq!(nt.entries()[0].state, Nud::Reachable);
        assert_eq!(nt.resolve(t(3), ip(2), 0, vec![3]).0, Resolve::Send(mac(2)));
    }

    #[test]
    fn a_gratuitous_arp_moves_a_known_neighbour_and_makes_none() {
        let mut nt: NeighTable = NeighTable::new(Rng::new(1));
        assert!(nt.gratuitous(ip(2), 0, mac(9)).is_empty());
        assert!(nt.entries().is_empty(), "arp_accept = 0: no new entry");
        nt.resolve(t(0), ip(2), 0, vec![1]);
        nt.learn(t(1), ip(2), 0, mac(2), true);
        assert_eq!(nt.entries()[0].state, Nud::Reachable);
        nt.gratuitous(ip(2), 0, mac(3));
        assert_eq!(nt.entries()[0].mac, Some(mac(3)));
        assert_eq!(nt.entries()[0].state, Nud::Stale);
        assert_eq!(nt.resolve(t(2), ip(2), 0, vec![2]).0, Resolve::Send(mac(3)));
    }

    #[test]
    fn three_probes_then_failed_with_packets_returned() {
        let mut nt: NeighTable = NeighTable::new(Rng::new(1));
        nt.resolve(t(0), ip(9), 0, vec![7]);
        let probe = Action::Probe {
            ip: ip(9),
            dev: 0,
            to: None,
        };
        assert_eq!(nt.expire(t(1000)), vec![probe]);
        assert_eq!(nt.expire(t(2000)).len(), 1);
        assert_eq!(
            nt.expire(t(3000)),
            vec![Action::Failed {
                packets: vec![vec![7]]
            }]
        );
        assert_eq!(nt.entries()[0].state, Nud::Failed);
        assert_eq!(nt.next_deadline(), None);
    }

    #[test]
    fn reachable_goes_stale_then_delay_probe_and_back() {
        let mut nt: NeighTable = NeighTable::new(Rng::new(1));
        nt.resolve(t(0), ip(2), 0, vec![]);
        nt.learn(t(0), ip(2), 0, mac(2), true);
        let stale_at = nt.next_deadline().unwrap();
        assert!(stale_at >= t(15_000) && stale_at < t(45_000));
        nt.expire(stale_at);
        assert_eq!(nt.entries()[0].state, Nud::Stale);
        // Use makes it DELAY; 5 s later a unicast probe.
        assert_eq!(
            nt.resolve(t(60_000), ip(2), 0, vec![]).0,
            Resolve::Send(mac(2))
        );
        assert_eq!(nt.entries()[0].state, Nud::Delay);
        let actions = nt.expire(t(65_000));
        assert_eq!(
            actions,
            vec![Action::Probe {
                ip: ip(2),
                dev: 0,
                to: Some(mac(2))
            }]
        );
        assert_eq!(nt.entries()[0].state, Nud::Probe);
        nt.learn(t(65_001), ip(2), 0, mac(2), true);
        assert_eq!(nt.entries()[0].state, Nud::Reachable);
    }

    #[test]
    fn requests_create_stale_entries_replies_do_not() {
        let mut nt: NeighTable = NeighTable::new(Rng::new(1));
        nt.learn(t(0), ip(5), 0, mac(5), false);
        nt.learn(t(0), ip(6), 0, mac(6), true);
        assert_eq!(nt.entries().len(), 1);
        assert_eq!(nt.entries()[0].state, Nud::Stale);
    }

    #[test]
    fn queue_is_bounded() {
        let mut nt: NeighTable = NeighTable::new(Rng::new(1));
        for i in 0..(QUEUE_LEN + 5) {
            nt.resolve(t(0), ip(2), 0, vec![i as u8]);
        }
        assert_eq!(nt.dropped, 5);
        let q = nt.learn(t(1), ip(2), 0, mac(2), true);
        assert_eq!(q.len(), QUEUE_LEN);
        assert_eq!(q[0], vec![5]);
    }
}

#[cfg(test)]
mod by_hand_tests {
    use super::*;

    fn ip(n: u8) -> Ipv4Address {
        Ipv4Address::new(10, 0, 0, n)
    }
    fn mac(n: u8) -> EthernetAddress {
        EthernetAddress([2, 0, 0, 0, 0, n])
    }

    #[test]
    fn a_permanent_entry_is_used_as_is_and_outlives_arp_and_flush() {
        let mut t: NeighTable<u32> = NeighTable::new(Rng::new(1));
        let now = Instant::ZERO;
        assert_eq!(
            t.set(now, "add", (ip(9), 0, mac(9)), Nud::Permanent),
            Ok(vec![])
        );
        assert_eq!(
            t.set(now, "add", (ip(9), 0, mac(8)), Nud::Permanent),
            Err("RTNETLINK answers: File exists")
        );
        assert_eq!(t.resolve(now, ip(9), 0, 1).0, Resolve::Send(mac(9)));
        // An ARP reply or a gratuitous ARP with another MAC changes nothing.
        t.learn(now, ip(9), 0, mac(7), true);
        t.gratuitous(ip(9), 0, mac(7));
        assert_eq!(t.entries()[0].mac, Some(mac(9)));
        assert_eq!(t.entries()[0].state, Nud::Permanent);
        assert!(t.next_deadline().is_none());
        t.learn(now, ip(3), 0, mac(3), false);
        t.flush(None);
        assert_eq!(t.entries().len(), 1);
        assert!(t.remove(ip(9), 0));
        assert!(!t.remove(ip(9), 0));
        assert_eq!(
            t.set(now, "change", (ip(9), 0, mac(9)), Nud::Stale),
            Err("RTNETLINK answers: No such file or directory")
        );
    }

    #[test]
    fn setting_an_incomplete_entry_releases_its_queue() {
        let mut t: NeighTable<u32> = NeighTable::new(Rng::new(1));
        let now = Instant::ZERO;
        t.resolve(now, ip(5), 0, 11);
        t.resolve(now, ip(5), 0, 12);
        let waiting = t
            .set(now, "replace", (ip(5), 0, mac(5)), Nud::Reachable)
            .unwrap();
        assert_eq!(waiting, vec![11, 12]);
        assert_eq!(t.entries()[0].state, Nud::Reachable);
    }
}
