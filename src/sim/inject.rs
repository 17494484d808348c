//! One frame handed to one node outside the run's own traffic, with every decision traced:
//! what `hoplab explain` asks of a router as it stands at some instant. What the node sends
//! is recorded, then sent on as any frame is.

use super::{Ctx, Incoming, Note, PacketTag, Peers, Sim, Tx};
use crate::id::PortId;

/// What a node did with a probed frame.
#[derive(Clone, Debug)]
pub struct Probed {
    /// The probe's packet id (its own, as the next packet of the run would get).
    pub id: u32,
    /// Each decision, in order, with its text as a capture comment would write it.
    pub notes: Vec<(Note, String)>,
    /// Frames the node sent while handling it: `node:iface`, the packet's tag, the bytes.
    pub sent: Vec<(String, PacketTag, Vec<u8>)>,
}

impl Sim {
    /// Hands `frame` to the node owning `port`, now, with full tracing, and returns what the
    /// node decided and sent. The frame itself is not captured; what the node sends goes on
    /// as with any frame, and the node's state changes as with any frame (counters,
    /// conntrack).
    pub fn probe_frame(&mut self, port: PortId, frame: &[u8]) -> Probed {
        let (node, local) = {
            let p = &self.ports[port.index()];
            (p.node, p.local)
        };
        self.last_id += 1;
        let tag = PacketTag {
            id: self.last_id,
            re: 0,
        };
        self.scratch.notes.clear();
        self.scratch.tx.clear();
        let (slot, peers) = Peers::split(&mut self.nodes, node.index());
        let mut ctx = Ctx {
            pool: &mut self.pool,
            tx: &mut self.scratch.tx,
            notes: &mut self.scratch.notes,
            done: &mut self.scratch.done,
            incoming: tag,
            same: false,
            last_id: &mut self.last_id,
            detail: true,
            trace: true,
            untouched: false,
            kept: false,
            peers,
        };
        slot.node.handle_frame(self.now, local, frame, &mut ctx);
        self.scratch.called = ctx.peers.called;
        let ports = &self.ports;
        let name = |l: u16| match slot.port_at(l).and_then(|p| ports.get(p.index())) {
            Some(p) => std::borrow::Cow::Borrowed(p.name.as_str()),
            None => std::borrow::Cow::Owned(format!("port {l}")),
        };
        let notes = self
            .scratch
            .notes
            .drain(..)
            .map(|n| {
                let mut text = String::new();
                n.describe_into(&mut text, &name);
                (n, text)
            })
            .collect();
        let node_name = slot.node.name().to_string();
        let label = |l: u16| format!("{node_name}:{}", name(l));
        let mut sent = Vec::new();
        for t in &self.scratch.tx {
            match *t {
                Tx::One { port, frame } | Tx::Refused { port, frame, .. } => {
                    let bytes = self.pool.get(frame).to_vec();
                    sent.push((label(port), self.pool.tag(frame), bytes));
                }
                Tx::Flood { except, frame } => {
                    let out = format!("{node_name}: every port but {}", name(except));
                    sent.push((out, self.pool.tag(frame), self.pool.get(frame).to_vec()));
                }
                Tx::Forward { port } => sent.push((label(port), tag, frame.to_vec())),
            }
        }
        // What it sent goes on its way, as any frame does: an ARP request gets its answer
        // and a queued packet leaves once the run goes on.
        self.after_call(node, Incoming::Shared(frame), tag, false);
        Probed {
            id: tag.id,
            notes,
            sent,
        }
    }
}
