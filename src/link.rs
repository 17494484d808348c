//! Links: a veth pair or a cable between two ports. Each direction is independent, as on a
//! full-duplex wire: its own serialisation clock, queue and loss draws.
//!
//! Defaults behave like a veth pair: 10 µs, no loss, no rate limit, MTU 1500. With a `rate`
//! a frame waits for the ones before it to be serialised (drop-tail past `queue` frames), then
//! takes `len * 8 / rate` on the wire, then `delay` (+ uniform `jitter`) to arrive.

use std::collections::VecDeque;

use crate::dropped::DropReason;
use crate::id::PortId;
use crate::rand::Rng;
use crate::time::{Duration, Instant};

/// Ethernet header without FCS: the part of a frame that the MTU does not count.
pub const ETH_HEADER_LEN: usize = 14;
/// One-way delay of a default link: a veth hop takes microseconds in a kernel, and a small
/// delay keeps the hops of one packet apart in a capture's timestamps.
pub const DEFAULT_DELAY: Duration = Duration::from_micros(10);

#[derive(Clone, Debug, PartialEq)]
pub struct LinkParams {
    pub delay: Duration,
    pub jitter: Duration,
    /// Probability in [0, 1] that a frame is lost.
    pub loss: f64,
    /// Bits per second; `None` is unlimited (a veth).
    pub rate_bps: Option<u64>,
    pub mtu: u32,
    /// Frames that may wait for serialisation (only meaningful with a rate).
    pub queue_limit: u32,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            delay: DEFAULT_DELAY,
            jitter: Duration::ZERO,
            loss: 0.0,
            rate_bps: None,
            mtu: 1500,
            queue_limit: 1000,
        }
    }
}

impl LinkParams {
    /// True when every frame takes exactly `delay`: no loss, jitter or rate. Floods over such
    /// links travel as one event.
    pub fn is_ideal(&self) -> bool {
        self.jitter == Duration::ZERO && self.loss == 0.0 && self.rate_bps.is_none()
    }
}

/// What a link does with one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    Arrive(Instant),
    Drop(DropReason),
}

#[derive(Clone, Debug, Default)]
pub struct LinkCounters {
    pub frames: u64,
    pub bytes: u64,
    pub dropped_loss: u64,
    pub dropped_mtu: u64,
    pub dropped_queue: u64,
    pub dropped_down: u64,
}

#[derive(Debug, Default)]
struct Direction {
    busy_until: Instant,
    /// Serialisation finish times of frames still queued or on the wire.
    backlog: VecDeque<Instant>,
    counters: LinkCounters,
}

#[derive(Debug)]
pub struct Link {
    pub ends: [PortId; 2],
    pub params: LinkParams,
    pub up: bool,
    dirs: [Direction; 2],
    rng: Rng,
}

impl Link {
    pub fn new(ends: [PortId; 2], params: LinkParams, rng: Rng) -> Self {
        Link {
            ends,
            params,
            up: true,
            dirs: Default::default(),
            rng,
        }
    }

    /// The end a port is on (0 or 1).
    pub fn end_of(&self, port: PortId) -> usize {
        usize::from(self.ends[1] == port)
    }

    pub fn peer_of(&self, port: PortId) -> PortId {
        self.ends[1 - self.end_of(port)]
    }

    pub fn counters(&self, from_end: usize) -> &LinkCounters {
        &self.dirs[from_end].counters
    }

    /// Checks that do not depend on the link's clock: state and MTU. A `tagged` frame
    /// (802.1Q) may be a tag longer: a veth takes MTU + Ethernet header + `VLAN_HLEN` bytes
    /// (`is_skb_forwardable`), so a full-size packet in a tag still crosses.
    pub fn admit(&mut self, from_end: usize, len: usize, tagged: bool) -> Result<(), DropReason> {
        let c = &mut self.dirs[from_end].counters;
        if !self.up {
            c.dropped_down += 1;
            return Err(DropReason::LinkDown);
        }
        let tag = if tagged {
            crate::wire::vlan::VLAN_HLEN
        } else {
            0
        };
        if len.saturating_sub(ETH_HEADER_LEN + tag) > self.params.mtu as usize {
            c.dropped_mtu += 1;
            return Err(DropReason::Mtu {
                mtu: self.params.mtu,
            });
        }
        Ok(())
    }

    /// Sends one frame of `len` bytes from `from_end` at `now` (`tagged`: see `admit`).
    pub fn transmit(
        &mut self,
        from_end: usize,
        now: Instant,
        len: usize,
        tagged: bool,
    ) -> LinkOutcome {
        if let Err(reason) = self.admit(from_end, len, tagged) {
            return LinkOutcome::Drop(reason);
        }
        let p = &self.params;
        let dir = &mut self.dirs[from_end];
        let mut depart = now;
        if let Some(rate) = p.rate_bps {
            while dir.backlog.front().is_some_and(|&t| t <= now) {
                dir.backlog.pop_front();
            }
            // The frame on the wire is not queued; the ones behind it are.
            if dir.backlog.len() > p.queue_limit as usize {
                dir.counters.dropped_queue += 1;
                return LinkOutcome::Drop(DropReason::QueueFull {
                    limit: p.queue_limit,
                });
            }
            let start = dir.busy_until.max(now);
            let wire_ns = (len as u128 * 8 * 1_000_000_000 / u128::from(rate.max(1))) as u64;
            depart = start + Duration::from_nanos(wire_ns);
            dir.busy_until = depart;
            dir.backlog.push_back(depart);
        }
        if p.loss > 0.0 && self.rng.next_f64() < p.loss {
            dir.counters.dropped_loss += 1;
            return LinkOutcome::Drop(DropReason::LinkLoss);
        }
        let mut arrive = depart + p.delay;
        if p.jitter > Duration::ZERO {
            arrive += Duration::from_nanos(self.rng.below(p.jitter.nanos() + 1));
        }
        dir.counters.frames += 1;
        dir.counters.bytes += len as u64;
        LinkOutcome::Arrive(arrive)
    }
}

/// `node:iface` of a link end or capture point.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endpoint {
    pub node: String,
    pub iface: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.node, self.iface)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(params: LinkParams) -> Link {
        Link::new([PortId(0), PortId(1)], params, Rng::new(1))
    }

    #[test]
    fn veth_defaults_deliver_after_the_default_delay() {
        let mut l = link(LinkParams::default());
        let t = Instant::from_nanos(5);
        assert_eq!(
            l.transmit(0, t, 60, false),
            LinkOutcome::Arrive(t + DEFAULT_DELAY)
        );
        assert_eq!(l.peer_of(PortId(0)), PortId(1));
        assert_eq!(l.peer_of(PortId(1)), PortId(0));
    }

    #[test]
    fn mtu_drops_oversize_and_counts() {
        let mut l = link(LinkParams::default());
        assert_eq!(
            l.transmit(0, Instant::ZERO, 1514, false),
            LinkOutcome::Arrive(Instant::ZERO + DEFAULT_DELAY)
        );
        assert_eq!(
            l.transmit(0, Instant::ZERO, 1515, false),
            LinkOutcome::Drop(DropReason::Mtu { mtu: 1500 })
        );
        assert_eq!(l.counters(0).dropped_mtu, 1);
        // A tagged frame may carry a full-MTU packet: four bytes more, not five.
        assert_eq!(
            l.transmit(0, Instant::ZERO, 1518, true),
            LinkOutcome::Arrive(Instant::ZERO + DEFAULT_DELAY)
        );
        assert_eq!(
            l.transmit(0, Instant::ZERO, 1519, true),
            LinkOutcome::Drop(DropReason::Mtu { mtu: 1500 })
        );
    }

    #[test]
    fn rate_serialises_and_queue_is_bounded() {
        let mut l = link(LinkParams {
            rate_bps: Some(8_000_000), // 1 byte per microsecond
            delay: Duration::from_millis(1),
            queue_limit: 2,
            ..LinkParams::default()
        });
        let t0 = Instant::ZERO;
        let us = |n| Instant::ZERO + Duration::from_micros(n);
        assert_eq!(
            l.transmit(0, t0, 100, false),
            LinkOutcome::Arrive(us(100 + 1000))
        );
        assert_eq!(
            l.transmit(0, t0, 100, false),
            LinkOutcome::Arrive(us(200 + 1000))
        );
        assert_eq!(
            l.transmit(0, t0, 100, false),
            LinkOutcome::Arrive(us(300 + 1000))
        );
        assert_eq!(
            l.transmit(0, t0, 100, false),
            LinkOutcome::Drop(DropReason::QueueFull { limit: 2 })
        );
        // The other direction has its own clock.
        assert_eq!(
            l.transmit(1, t0, 100, false),
            LinkOutcome::Arrive(us(100 + 1000))
        );
        // Once the backlog drains, frames are accepted again.
        assert!(matches!(
            l.transmit(0, us(250), 100, false),
            LinkOutcome::Arrive(_)
        ));
    }

    #[test]
    fn loss_is_seeded() {
        let params = LinkParams {
            loss: 0.5,
            ..LinkParams::default()
        };
        let run = || {
            let mut l = link(params.clone());
            (0..64)
                .map(|_| {
                    matches!(
                        l.transmit(0, Instant::ZERO, 60, false),
                        LinkOutcome::Arrive(_)
                    )
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let delivered = a.iter().filter(|x| **x).count();
        assert!((16..48).contains(&delivered), "{delivered}");
    }

    #[test]
    fn down_link_drops() {
        let mut l = link(LinkParams::default());
        l.up = false;
        assert_eq!(
            l.transmit(0, Instant::ZERO, 60, false),
            LinkOutcome::Drop(DropReason::LinkDown)
        );
    }
}
