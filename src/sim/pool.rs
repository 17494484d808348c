//! Frame buffers are recycled so the forwarding path allocates nothing in steady state.

/// Bytes a fresh buffer reserves: a full Ethernet frame at MTU 1500 plus room for a VLAN tag.
const FRAME_CAPACITY: usize = 1536;
/// Buffers kept for reuse; beyond this they are freed, so a burst does not pin memory forever.
const POOL_LIMIT: usize = 4096;

#[derive(Debug, Default)]
pub struct FramePool {
    free: Vec<Vec<u8>>,
}

impl FramePool {
    /// An empty buffer, recycled when one is available.
    pub fn take(&mut self) -> Vec<u8> {
        self.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(FRAME_CAPACITY))
    }

    /// A buffer holding a copy of `data`.
    pub fn copy_of(&mut self, data: &[u8]) -> Vec<u8> {
        let mut buf = self.take();
        buf.extend_from_slice(data);
        buf
    }

    pub fn give(&mut self, mut buf: Vec<u8>) {
        if self.free.len() < POOL_LIMIT {
            buf.clear();
            self.free.push(buf);
        }
    }
}
