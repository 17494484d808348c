//! The contract between the engine and a node.
//!
//! Call order, as in smoltcp and quinn-proto: the engine hands a node a frame
//! (`handle_frame`) or wakes it at the deadline it asked for (`handle_timeout`); the node reacts
//! by queueing frames and notes on the `Ctx` it is given (the engine's outbox, so no per-node
//! transmit queue exists); afterwards the engine asks `poll_timeout` for the next deadline. A
//! node never reads a clock, opens a file or spawns a thread.

use std::any::Any;

use crate::sim::note::Note;
use crate::sim::pool::{FrameId, FramePool, PacketTag};
use crate::time::Instant;

/// Identifies one command started by the scenario runner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CmdId(pub u32);

/// What a finished (or stopped) command produced.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CmdResult {
    pub exit_code: i32,
    pub output: String,
    /// Packets sent (ping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transmitted: Option<u64>,
    /// Replies received (ping) or datagrams received (nc -u).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received: Option<u64>,
    /// HTTP status (curl).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Payload bytes moved (curl body, bulk transfer, nc).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// True when the runner stopped it (timeout, or the lab ended while it ran in background).
    pub stopped: bool,
}

/// A frame a node wants sent (parked in the pool: a send is a word, cheap to queue).
#[derive(Clone, Copy, Debug)]
pub enum Tx {
    /// Out of one local port.
    One { port: u16, frame: FrameId },
    /// Out of every local port except `except` (a bridge's flood): one event that fans out.
    Flood { except: u16, frame: FrameId },
    /// The frame being handled, unchanged, out of one port: the engine passes its buffer on
    /// instead of copying it when it can.
    Forward { port: u16 },
    /// A frame from outside the lab (a TAP) refused at its edge: captured leaving `port`
    /// with `dropped: <reason>`, counted as a receive error of the interface it was for.
    Refused {
        port: u16,
        frame: FrameId,
        reason: crate::sim::DropReason,
    },
}

/// The engine's outbox, lent to a node for one call.
pub struct Ctx<'a> {
    pub(crate) pool: &'a mut FramePool,
    pub(crate) tx: &'a mut Vec<Tx>,
    pub(crate) notes: &'a mut Vec<Note>,
    pub(crate) done: &'a mut Vec<(CmdId, CmdResult)>,
    /// The packet being handled (none for a timer or a command).
    pub(crate) incoming: PacketTag,
    /// `send` passes the handled packet on (see `continuing`) rather than making a new one.
    pub(crate) same: bool,
    /// The last packet id given.
    pub(crate) last_id: &'a mut u32,
    /// Something reads this call's notes (a capture comment, a trace): a node may spend on
    /// describing its decisions.
    pub(crate) detail: bool,
    /// Full tracing: a node notes every step of its decisions (each rule a packet meets).
    pub(crate) trace: bool,
    /// The node neither changed nor sent anything (see `untouched`).
    pub(crate) untouched: bool,
    /// The node's next deadline is as before the call (see `deadline_kept`).
    pub(crate) kept: bool,
    /// The other nodes, for a call into the one holding a bridge's device.
    pub(crate) peers: Peers<'a>,
}

/// The nodes other than the one being called: a node may call into another at the same
/// instant through [`Ctx::bridge_forward`] (a bridge into the namespace its device is an
/// interface of, as Linux's bridge calls its namespace's netfilter hooks), never send
/// through it.
pub struct Peers<'a> {
    before: &'a mut [super::NodeSlot],
    after: &'a mut [super::NodeSlot],
    /// The peer called, whose deadline the engine reads again afterwards.
    pub(super) called: Option<crate::id::NodeId>,
}

impl<'a> Peers<'a> {
    /// Splits `nodes` around `me`: that node, and the others as its peers.
    #[inline]
    pub(super) fn split(
        nodes: &'a mut [super::NodeSlot],
        me: usize,
    ) -> (&'a mut super::NodeSlot, Peers<'a>) {
        let (before, rest) = nodes.split_at_mut(me);
        let (slot, after) = rest.split_first_mut().expect("the node exists");
        let peers = Peers {
            before,
            after,
            called: None,
        };
        (slot, peers)
    }

    fn get(&mut self, node: crate::id::NodeId) -> Option<&mut dyn Node> {
        let (i, me) = (node.index(), self.before.len());
        let slot = match i.cmp(&me) {
            std::cmp::Ordering::Less => self.before.get_mut(i)?,
            std::cmp::Ordering::Greater => self.after.get_mut(i - me - 1)?,
            std::cmp::Ordering::Equal => return None,
        };
        Some(slot.node.as_mut())
    }
}

impl Ctx<'_> {
    /// Whether this call's notes are read (see the field).
    #[inline]
    pub fn detail(&self) -> bool {
        self.detail
    }

    /// Whether the run traces every decision (`hoplab trace`).
    #[inline]
    pub fn trace(&self) -> bool {
        self.trace
    }

    /// The packet being handled.
    #[inline]
    pub fn incoming(&self) -> PacketTag {
        self.incoming
    }

    /// Handling a different packet from now on (one taken from a queue).
    #[inline]
    pub fn set_incoming(&mut self, tag: PacketTag) {
        self.incoming = tag;
    }

    /// While on, `send` passes the packet being handled on (a router forwarding it, with a
    /// new header), instead of making a new packet that answers it.
    #[inline]
    pub fn continuing(&mut self, on: bool) {
        self.same = on;
    }

    /// A new packet's tag: the next id, answering the packet being handled.
    #[inline]
    pub fn new_tag(&mut self) -> PacketTag {
        *self.last_id += 1;
        PacketTag {
            id: *self.last_id,
            re: self.incoming.id,
        }
    }

    /// Sends `frame` as the packet `tag` (one that waited in a queue).
    #[inline]
    pub fn send_tagged(&mut self, port: u16, frame: Vec<u8>, tag: PacketTag) {
        let frame = self.pool.park(frame);
        self.pool.set_tag(frame, tag);
        self.tx.push(Tx::One { port, frame });
    }

    /// Sends a new packet (an ARP request), whatever `continuing` says.
    #[inline]
    pub fn send_new(&mut self, port: u16, frame: Vec<u8>) {
        let tag = self.new_tag();
        self.send_tagged(port, frame, tag);
    }

    /// An empty buffer to build a frame in; hand it back through `send`.
    #[inline]
    pub fn buffer(&mut self) -> Vec<u8> {
        self.pool.take()
    }

    /// Sends a frame: a new packet answering the one being handled, or that packet itself
    /// while `continuing`.
    #[inline]
    pub fn send(&mut self, port: u16, frame: Vec<u8>) {
        let tag = match self.same && self.incoming.id != 0 {
            true => self.incoming,
            false => self.new_tag(),
        };
        self.send_tagged(port, frame, tag);
    }

    #[inline]
    pub fn send_copy(&mut self, port: u16, data: &[u8]) {
        let buf = self.pool.copy_of(data);
        self.send(port, buf);
    }

    /// Sends the packet being handled, rebuilt in `frame` (a bridge's filtered copy).
    #[inline]
    pub fn send_same(&mut self, port: u16, frame: Vec<u8>) {
        let tag = match self.incoming.id {
            0 => self.new_tag(),
            _ => self.incoming,
        };
        self.send_tagged(port, frame, tag);
    }

    /// Whether node `master`, whose interface `dev` is the calling bridge's device, looks at
    /// the frames the bridge forwards (see [`Node::bridge_forward`]).
    pub fn bridge_filtering(&mut self, master: crate::id::NodeId, dev: &str) -> bool {
        self.peers
            .get(master)
            .is_some_and(|n| n.bridge_filtering(dev))
    }

    /// Hands a frame the calling bridge forwards from port `ports.0` to `ports.1` to node
    /// `master`, whose interface `dev` is the bridge's device: false drops it, and it may
    /// come back rewritten (br_netfilter's NAT).
    pub fn bridge_forward(
        &mut self,
        now: Instant,
        master: crate::id::NodeId,
        dev: &str,
        frame: &mut [u8],
        ports: (&str, &str),
    ) -> bool {
        self.peers.called = Some(master);
        self.peers
            .get(master)
            .is_none_or(|node| node.bridge_forward(now, dev, frame, ports))
    }

    /// Sends the frame being handled (the one `handle_frame` got), unchanged, out of `port`.
    /// Outside `handle_frame` there is no such frame and nothing is sent.
    #[inline]
    pub fn forward(&mut self, port: u16) {
        self.tx.push(Tx::Forward { port });
    }

    /// Sends `data` out of every port but `except`: the packet being handled, or a new
    /// one outside `handle_frame`.
    pub fn flood(&mut self, except: u16, data: &[u8]) {
        let frame = self.pool.park_copy(data);
        let tag = match self.incoming.id {
            0 => self.new_tag(),
            _ => self.incoming,
        };
        self.pool.set_tag(frame, tag);
        self.tx.push(Tx::Flood { except, frame });
    }

    /// Refuses a frame that came from outside the lab before it enters (see `Tx::Refused`):
    /// a new packet, so the capture names it.
    pub fn refuse(&mut self, port: u16, frame: Vec<u8>, reason: crate::sim::DropReason) {
        let tag = self.new_tag();
        let frame = self.pool.park(frame);
        self.pool.set_tag(frame, tag);
        self.tx.push(Tx::Refused {
            port,
            frame,
            reason,
        });
    }

    /// Records a decision about the frame being handled (it becomes a capture comment).
    /// Kept only while the notes are read (`detail`): otherwise nothing is stored.
    // Always inlined: the note is then built (and dropped) only behind the `detail` test,
    // instead of being made and dropped by an out-of-line call on every frame.
    #[inline(always)]
    pub fn note(&mut self, note: Note) {
        if self.detail {
            self.notes.push(note);
        }
    }

    /// Records a decision of the node's own kind (see `NodeNote`), as `note` does: kept only
    /// while the notes are read, and then without allocating.
    #[inline(always)]
    pub fn note_own<N: crate::sim::NodeNote>(&mut self, note: N) {
        if self.detail {
            self.notes.push(Note::Own(crate::sim::OwnNote::new(note)));
        }
    }

    /// Says the node dropped the frame without changing any state (a host ignoring an ARP
    /// request for another address): the engine then skips re-arming its timer, the cost of
    /// a flood's delivery to the hosts it is not for. Only valid if the node sent, noted and
    /// finished nothing, and its deadline is as before.
    #[inline]
    pub fn untouched(&mut self) {
        self.untouched = true;
        self.kept = true;
    }

    /// Says the node's next deadline (`poll_timeout`) is what it was before this call (a
    /// bridge forwarding to a MAC it knew already, refreshing its entry): the engine then
    /// does not ask for it again. Only valid if it is so.
    #[inline]
    pub fn deadline_kept(&mut self) {
        self.kept = true;
    }

    /// Reports that a command finished.
    pub fn finish(&mut self, cmd: CmdId, result: CmdResult) {
        self.done.push((cmd, result));
    }
}

/// What a node may know of its ports for its listings.
#[derive(Clone, Debug)]
pub struct PortView {
    pub name: String,
    /// The interface index of the other end, in its own node (`eth0@if5`).
    pub peer_ifindex: Option<u32>,
    /// The other end is in another node (a netns of its own): `link-netnsid 0`.
    pub peer_node: Option<String>,
    pub up: bool,
    /// The interface exists now (see `Sim::set_present`); listings leave absent ones out.
    pub present: bool,
    pub stats: PortStats,
}

/// Interface counters, as `ip -s link` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PortStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_dropped: u64,
    pub rx_multicast: u64,
    /// Frames for this interface refused as malformed at the lab's edge (a TAP's runts,
    /// oversize frames, bad IPv4 headers and checksums).
    pub rx_errors: u64,
}

/// A host, bridge or router in the simulation.
pub trait Node: Any {
    fn name(&self) -> &str;

    /// `host`, `bridge`, `router`: for messages and listings.
    fn kind(&self) -> &'static str;

    /// A frame arrived on local port `port`.
    fn handle_frame(&mut self, now: Instant, port: u16, frame: &[u8], ctx: &mut Ctx<'_>);

    /// The deadline returned by `poll_timeout` was reached.
    fn handle_timeout(&mut self, now: Instant, ctx: &mut Ctx<'_>);

    /// The next instant the node must be woken at, if any.
    fn poll_timeout(&mut self, now: Instant) -> Option<Instant>;

    /// Starts a command (`ping -c 3 10.0.0.2`). An error is a usage error, shown as the
    /// command's output with exit code 2.
    fn start_command(
        &mut self,
        _now: Instant,
        _cmd: CmdId,
        _argv: &[String],
        _input: &str,
        _ctx: &mut Ctx<'_>,
    ) -> Result<(), String> {
        Err(format!("a {} runs no commands", self.kind()))
    }

    /// Stops a running command; it reports its result through `ctx.finish`.
    fn stop_command(&mut self, _now: Instant, _cmd: CmdId, _ctx: &mut Ctx<'_>) {}

    /// A listing such as `ip addr` or `bridge fdb show`.
    fn show(&mut self, now: Instant, argv: &[String], ports: &[PortView])
    -> Result<String, String>;

    /// Local port `port`'s carrier came or went: its link was set up or down.
    fn carrier(&mut self, _now: Instant, _port: u16, _up: bool, _ctx: &mut Ctx<'_>) {}

    /// The kernel-style interface index of a local port (1 is `lo`).
    fn ifindex(&self, port: u16) -> u32 {
        u32::from(port) + 2
    }

    /// Whether frames a bridge whose device is this node's interface `dev` forwards go
    /// through [`Node::bridge_forward`] now (br_netfilter on, or bridge-family chains).
    fn bridge_filtering(&self, _dev: &str) -> bool {
        false
    }

    /// br_netfilter: a bridge whose device is this node's interface `dev` forwards `frame`
    /// from its port `ports.0` to `ports.1`; the node's netfilter decides (false drops it)
    /// and may rewrite it. It sends nothing.
    fn bridge_forward(
        &mut self,
        _now: Instant,
        _dev: &str,
        _frame: &mut [u8],
        _ports: (&str, &str),
    ) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
