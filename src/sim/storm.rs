//! The storm guard: a run stops when one frame has been flooded by bridges more often than
//! any loop-free network floods it.
//!
//! In a loop without spanning tree a broadcast never dies: each bridge floods every copy on,
//! and a lab would storm until its hour was up, writing gigabytes of captures. A flood keeps
//! the packet id of the frame it floods (see `PacketTag`), so counting floods per id finds
//! the storm. Floods, not copies: one flood to the 10,000 ports of a big bridge is one
//! flood. The counts live in a small direct-mapped table (no allocation on the flood path).
//! An id that lands on another's slot wears that count down by one and takes the slot once
//! it is zero, so a storming id keeps its slot against the new ids around it, and a count
//! is never higher than the floods of its id.

/// Floods of one packet beyond which the run stops. A loop-free lab floods a frame once
/// per bridge it crosses (again per pass, if routers send it back through a bridge), so a
/// thousand is far beyond any lab. A storm gets there within milliseconds of virtual time,
/// and it must: the broadcast's answers (ARP replies to each copy) go round the loop too,
/// as unicast whose MAC keeps moving, and their number grows with every round. At ten
/// thousand floods the two-bridge loop has already moved twelve million frames.
pub const STORM_BOUND: u32 = 1_000;

const SLOTS: usize = 64;

#[derive(Debug)]
pub struct StormGuard {
    /// (packet id, floods so far), by id modulo the table size.
    slots: [(u32, u32); SLOTS],
    bound: u32,
}

impl Default for StormGuard {
    fn default() -> StormGuard {
        StormGuard::new(STORM_BOUND)
    }
}

impl StormGuard {
    pub fn new(bound: u32) -> StormGuard {
        StormGuard {
            slots: [(0, 0); SLOTS],
            bound,
        }
    }

    /// Counts one flood of packet `id`; true once it has been flooded more than the bound.
    #[inline]
    pub fn flooded(&mut self, id: u32) -> bool {
        if id == 0 {
            return false;
        }
        let slot = &mut self.slots[id as usize % SLOTS];
        if slot.0 != id {
            if slot.1 > 0 {
                slot.1 -= 1;
                return false;
            }
            slot.0 = id;
        }
        slot.1 += 1;
        slot.1 > self.bound
    }

    /// The floods counted for `id` (0 if another id holds its slot).
    pub fn count(&self, id: u32) -> u32 {
        let slot = self.slots[id as usize % SLOTS];
        if slot.0 == id { slot.1 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_only_past_the_bound_and_per_packet() {
        let mut g = StormGuard::new(3);
        for _ in 0..3 {
            assert!(!g.flooded(7));
            assert!(!g.flooded(8));
        }
        assert!(g.flooded(7));
        assert_eq!(g.count(8), 3);
        // Packets without an id are never counted.
        for _ in 0..10 {
            assert!(!g.flooded(0));
        }
        // A colliding id wears the count down, then takes the slot over.
        let other = 7 + SLOTS as u32;
        for left in (0..4).rev() {
            assert!(!g.flooded(other));
            assert_eq!(g.count(7), left);
        }
        assert!(!g.flooded(other));
        assert_eq!(g.count(other), 1);
    }
}
