//! Frame buffers are recycled so the forwarding path allocates nothing in steady state.
//!
//! A frame on its way (queued by a node, or on a link) is parked here and named by a
//! `FrameId`: sends and events then carry a word instead of a `Vec`, so they are `Copy` and
//! moving them costs no more than moving an integer.

/// Bytes a fresh buffer reserves: a full Ethernet frame at MTU 1500 plus room for a VLAN tag.
const FRAME_CAPACITY: usize = 1536;
/// Buffers kept for reuse; beyond this they are freed, so a burst does not pin memory forever.
const POOL_LIMIT: usize = 4096;

/// A parked frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameId(u32);

/// Which packet a frame carries: an id given where the packet was made, kept across hops,
/// bridging and NAT, and the id of the packet it answers (0: none), e.g. an echo reply's
/// request or an ICMP error's offending datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketTag {
    pub id: u32,
    pub re: u32,
}

impl PacketTag {
    /// The tag as a capture comment starts: `id=42` or `id=42 re=41`.
    pub fn write(&self, out: &mut String) {
        use std::fmt::Write;
        if self.id == 0 {
            return;
        }
        let _ = write!(out, "id={}", self.id);
        if self.re != 0 {
            let _ = write!(out, " re={}", self.re);
        }
    }
}

#[derive(Debug, Default)]
pub struct FramePool {
    free: Vec<Vec<u8>>,
    /// Parked frames by id, each with the packet it is (side by side: one cache line); a
    /// vacant slot holds an empty `Vec` (no allocation).
    parked: Vec<(Vec<u8>, PacketTag)>,
    vacant: Vec<u32>,
}

impl FramePool {
    /// An empty buffer, recycled when one is available.
    #[inline]
    pub fn take(&mut self) -> Vec<u8> {
        self.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(FRAME_CAPACITY))
    }

    /// A buffer holding a copy of `data`.
    #[inline]
    pub fn copy_of(&mut self, data: &[u8]) -> Vec<u8> {
        let mut buf = self.take();
        buf.extend_from_slice(data);
        buf
    }

    #[inline]
    pub fn give(&mut self, mut buf: Vec<u8>) {
        if self.free.len() < POOL_LIMIT {
            buf.clear();
            self.free.push(buf);
        }
    }

    /// Keeps a frame until `unpark`; it is no packet in particular until `set_tag`.
    #[inline]
    pub fn park(&mut self, frame: Vec<u8>) -> FrameId {
        match self.vacant.pop() {
            Some(i) => {
                self.parked[i as usize] = (frame, PacketTag::default());
                FrameId(i)
            }
            None => {
                self.parked.push((frame, PacketTag::default()));
                FrameId((self.parked.len() - 1) as u32)
            }
        }
    }

    /// Which packet a parked frame is.
    #[inline]
    pub fn tag(&self, id: FrameId) -> PacketTag {
        self.parked[id.0 as usize].1
    }

    #[inline]
    pub fn set_tag(&mut self, id: FrameId, tag: PacketTag) {
        self.parked[id.0 as usize].1 = tag;
    }

    /// Parks a copy of `data`.
    #[inline]
    pub fn park_copy(&mut self, data: &[u8]) -> FrameId {
        let buf = self.copy_of(data);
        self.park(buf)
    }

    /// Parks a copy of a parked frame (the same packet).
    pub fn duplicate(&mut self, id: FrameId) -> FrameId {
        let mut buf = self.take();
        buf.extend_from_slice(&self.parked[id.0 as usize].0);
        let tag = self.tag(id);
        let copy = self.park(buf);
        self.set_tag(copy, tag);
        copy
    }

    /// A parked frame's bytes.
    #[inline]
    pub fn get(&self, id: FrameId) -> &[u8] {
        &self.parked[id.0 as usize].0
    }

    /// Takes a frame back with its tag; its id is free again.
    #[inline]
    pub fn unpark_tagged(&mut self, id: FrameId) -> (Vec<u8>, PacketTag) {
        self.vacant.push(id.0);
        let (frame, tag) = &mut self.parked[id.0 as usize];
        (std::mem::take(frame), *tag)
    }

    /// Takes a frame back; its id is free again.
    #[inline]
    pub fn unpark(&mut self, id: FrameId) -> Vec<u8> {
        self.vacant.push(id.0);
        std::mem::take(&mut self.parked[id.0 as usize].0)
    }

    /// Drops a parked frame, keeping its buffer for reuse.
    #[inline]
    pub fn release(&mut self, id: FrameId) {
        let buf = self.unpark(id);
        self.give(buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parked_frames_come_back_and_ids_are_reused() {
        let mut pool = FramePool::default();
        let a = pool.park(vec![1]);
        let b = pool.park_copy(&[2]);
        let c = pool.duplicate(b);
        assert_eq!(pool.get(c), [2]);
        assert_eq!(pool.unpark(a), [1]);
        let d = pool.park(vec![3]);
        assert_eq!(d, a, "a vacant id is reused");
        pool.release(b);
        assert_eq!(pool.unpark(c), [2]);
        assert_eq!(pool.unpark(d), [3]);
    }
}
