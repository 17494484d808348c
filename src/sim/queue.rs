//! The event queue: events leave in (time, sequence) order, so simultaneous events keep the
//! order in which they were scheduled and a run is reproducible.
//!
//! Most frames are scheduled at or after the latest one already queued (a link with a fixed
//! delay preserves order), so a FIFO takes them in O(1) and the binary heap only holds the
//! out-of-order ones (jitter) and timers, which are set far ahead and would otherwise push
//! every later frame out of the FIFO. Popping compares the two heads.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use crate::time::Instant;

#[derive(Debug)]
pub struct Event<K> {
    pub at: Instant,
    seq: u64,
    pub kind: K,
}

impl<K> PartialEq for Event<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<K> Eq for Event<K> {}
impl<K> PartialOrd for Event<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Event<K> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Debug)]
pub struct EventQueue<K> {
    fifo: VecDeque<Event<K>>,
    heap: BinaryHeap<Event<K>>,
    seq: u64,
}

impl<K> Default for EventQueue<K> {
    fn default() -> Self {
        EventQueue {
            fifo: VecDeque::new(),
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<K> EventQueue<K> {
    /// Schedules an event that is usually in time order with the others (a frame).
    // Always inlined: an event's fields then go straight into the queue's slot, instead of
    // being stored piecewise on the stack and read back whole (a store-forwarding stall that
    // cost more than the rest of the push).
    #[inline(always)]
    pub fn push(&mut self, at: Instant, kind: K) {
        let seq = self.seq;
        self.seq += 1;
        let ev = Event { at, seq, kind };
        match self.fifo.back() {
            Some(last) if at < last.at => self.heap.push(ev),
            _ => self.fifo.push_back(ev),
        }
    }

    /// Schedules an event that is usually far ahead of the others (a timer).
    #[inline]
    pub fn push_far(&mut self, at: Instant, kind: K) {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Event { at, seq, kind });
    }

    #[inline]
    pub fn peek_time(&self) -> Option<Instant> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(a), Some(b)) => Some(a.at.min(b.at)),
            (Some(a), None) => Some(a.at),
            (None, Some(b)) => Some(b.at),
            (None, None) => None,
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<Event<K>> {
        let from_fifo = match (self.fifo.front(), self.heap.peek()) {
            (Some(a), Some(b)) => (a.at, a.seq) < (b.at, b.seq),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        if from_fifo {
            self.fifo.pop_front()
        } else {
            self.heap.pop()
        }
    }

    pub fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_sequence_order() {
        let mut q = EventQueue::default();
        let t = Instant::from_nanos;
        q.push(t(10), "a");
        q.push(t(5), "b"); // earlier than the tail: goes to the heap
        q.push(t(10), "c");
        q.push(t(5), "d");
        q.push_far(t(20), "e");
        q.push(t(0), "f");
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|e| e.kind)).collect();
        assert_eq!(order, ["f", "b", "d", "a", "c", "e"]);
    }

    #[test]
    fn peek_agrees_with_pop() {
        let mut q = EventQueue::default();
        let mut r = crate::rand::Rng::new(9);
        for i in 0..1000u64 {
            q.push(Instant::from_nanos(r.below(100)), i);
        }
        let mut last = (Instant::ZERO, 0);
        while let Some(t) = q.peek_time() {
            let e = q.pop().unwrap();
            assert_eq!(e.at, t);
            assert!((e.at, e.seq) >= last);
            last = (e.at, e.seq);
        }
    }
}
