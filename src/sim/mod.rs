//! The discrete-event engine.
//!
//! Events are frame arrivals and node timers, ordered by (virtual time, sequence). The engine
//! jumps `now` to the earliest event, hands it to its node, then carries out what the node
//! queued: each frame goes through its link (delay, loss, MTU, queue) and is scheduled to
//! arrive at the other end. Captures are written at both ends of every hop: `Out` on the
//! sending interface when a frame leaves, `In` on the receiving one with the notes of what the
//! node decided about it. Nothing here reads a clock: a run is a pure function of its inputs.
//!
//! Ordering rules, kept so runs are reproducible: simultaneous events run in the order they
//! were scheduled; a node's transmissions are scheduled in the order it queued them; a flood
//! reaches ports in port order; anything iterated is a `Vec` or an ordered map.

mod framelog;
mod inject;
pub mod node;
pub mod note;
pub mod pool;
pub mod probe;
pub mod queue;
pub mod storm;

use crate::capture::{Capture, Direction, FrameEvent, Observer, PointName};
use crate::id::{LinkId, NodeId, PortId};
use crate::link::{Link, LinkOutcome, LinkParams};
use crate::rand::Rng;
use crate::time::{Duration, Instant};

use framelog::FrameLog;
pub use framelog::TraceRecord;
pub use inject::Probed;
pub use node::{CmdId, CmdResult, Ctx, Node, Peers, PortStats, PortView, Tx};
pub use note::{DropReason, NodeNote, Note, OwnNote};
pub use pool::PacketTag;
use pool::{FrameId, FramePool};
use queue::EventQueue;

/// An event; its frame waits in the pool, so an event is small and `Copy`.
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// A frame reaches `port` (the receiving end of a link).
    Arrive {
        port: PortId,
        frame: FrameId,
    },
    /// A flood from `from` reaches the far end of every link of `from` but `except`'s.
    FloodArrive {
        from: NodeId,
        except: u16,
        frame: FrameId,
    },
    Timer {
        node: NodeId,
    },
}

/// What a delivery left for its caller to do.
#[derive(Clone, Copy)]
struct Delivered {
    /// Nothing: the node said it was untouched and sent or finished nothing.
    quiet: bool,
    /// The node's deadline is as before: no re-arming.
    kept: bool,
}

/// The frame a node was handed, for its `Tx::Forward`s.
enum Incoming<'a> {
    /// Ours to pass on: a forward that is the only send takes the buffer itself.
    Owned(Vec<u8>),
    /// Shared with other deliveries (a flood): forwards copy it.
    Shared(&'a [u8]),
    /// A timer or a command: there is no frame to forward.
    None,
}

/// The sender and destination addresses of a frame: IPv4 source and destination, or an
/// ARP message's sender and target.
fn ends(frame: &[u8]) -> Option<([u8; 4], [u8; 4])> {
    use smoltcp::wire::{ArpPacket, EthernetFrame, EthernetProtocol, Ipv4Packet};
    let eth = EthernetFrame::new_checked(frame).ok()?;
    match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            Some((ip.src_addr().octets(), ip.dst_addr().octets()))
        }
        EthernetProtocol::Arp => {
            let arp = ArpPacket::new_checked(eth.payload()).ok()?;
            Some((
                arp.source_protocol_addr().try_into().ok()?,
                arp.target_protocol_addr().try_into().ok()?,
            ))
        }
        _ => None,
    }
}

impl Incoming<'_> {
    /// The handled frame's bytes, if there is one.
    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Incoming::Owned(buf) => Some(buf),
            Incoming::Shared(data) => Some(data),
            Incoming::None => None,
        }
    }

    /// The frame parked to be sent: the buffer itself if it is ours (nothing is left
    /// behind), else a copy.
    fn take(&mut self, pool: &mut FramePool) -> Option<FrameId> {
        match std::mem::replace(self, Incoming::None) {
            Incoming::Owned(buf) => Some(pool.park(buf)),
            Incoming::Shared(data) => {
                *self = Incoming::Shared(data);
                Some(pool.park_copy(data))
            }
            Incoming::None => None,
        }
    }

    /// A copy of the frame, parked to be sent.
    fn copy(&self, pool: &mut FramePool) -> Option<FrameId> {
        match self {
            Incoming::Owned(buf) => Some(pool.park_copy(buf)),
            Incoming::Shared(data) => Some(pool.park_copy(data)),
            Incoming::None => None,
        }
    }
}

struct NodeSlot {
    node: Box<dyn Node>,
    first_port: u32,
    ports: u16,
    /// Ports added after the node (`ip link add` at run time), numbered on from `ports`.
    extra: Vec<PortId>,
    /// The deadline a `Timer` event is queued for; other timer events for the node are stale.
    timer: Option<Instant>,
    /// Cached: the common delay of every link of this node when all are ideal and up.
    uniform: Option<Option<Duration>>,
}

struct PortSlot {
    node: NodeId,
    local: u16,
    name: String,
    link: Option<LinkId>,
    stats: PortStats,
    /// Not a capture point (see `set_silent`).
    silent: bool,
    /// The interface exists now (see `set_present`): an absent one is in no listing, takes
    /// no flood and sends nothing.
    present: bool,
}

/// Nodes with more ports than this have their port names indexed (see `Sim::port_names`).
const INDEXED_PORTS: usize = 16;

/// Why `run_until` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// A command finished: collect it with `take_finished`.
    CommandDone,
    /// `now` reached the limit.
    Limit,
    /// No event is left.
    Idle,
    /// The interrupt flag was raised (Ctrl-C).
    Interrupted,
    /// The engine stopped the run itself: see `Sim::halt`.
    Halted,
}

/// Why the engine stopped a run on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt {
    /// One frame was flooded more than `storm::STORM_BOUND` times: it goes round an L2 loop.
    Storm {
        /// The packet's id (`id=` in the capture comments).
        id: u32,
        floods: u32,
        /// The bridge that flooded it last.
        bridge: String,
        /// The frame, tcpdump-like.
        summary: String,
    },
    /// The captures would pass the byte limit (`Capture::set_limit`).
    CaptureLimit { limit: u64 },
}

/// Counters for the run summary.
#[derive(Clone, Debug, Default, serde::Serialize, schemars::JsonSchema)]
pub struct SimStats {
    pub events: u64,
    pub frames_sent: u64,
    pub frames_delivered: u64,
    pub frames_dropped: u64,
}

/// Scratch space lent to nodes, kept between events so the hot path does not allocate.
#[derive(Default)]
struct Scratch {
    tx: Vec<Tx>,
    notes: Vec<Note>,
    done: Vec<(CmdId, CmdResult)>,
    /// The node a call reached into (`Ctx::bridge_forward`), whose deadline may have moved.
    called: Option<NodeId>,
}

pub struct Sim {
    now: Instant,
    seed: u64,
    queue: EventQueue<Ev>,
    nodes: Vec<NodeSlot>,
    ports: Vec<PortSlot>,
    /// Node names to nodes (the first of a name), so a lookup does not scan 10,000 nodes.
    node_names: rustc_hash::FxHashMap<String, NodeId>,
    /// Port names to local numbers, for nodes with more than `INDEXED_PORTS` ports (a
    /// bridge's thousands of veths); smaller nodes are scanned.
    port_names: rustc_hash::FxHashMap<NodeId, rustc_hash::FxHashMap<String, u16>>,
    links: Vec<Link>,
    pool: FramePool,
    scratch: Scratch,
    finished: Vec<(CmdId, CmdResult)>,
    /// Where frame events go (see `capture::observe`): the capture files, the frame log.
    observers: Vec<Box<dyn Observer>>,
    comment: String,
    last_frame_at: Option<Instant>,
    interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    pub stats: SimStats,
    /// Ports of other nodes a node lists as its own (a router lists the ports of the bridge
    /// whose device it holds, as `ip addr` on a Docker host lists the veths on docker0).
    listed: Vec<(NodeId, Vec<PortId>)>,
    /// The last packet id given (see `PacketTag`).
    last_id: u32,
    /// Every decision is traced (`set_trace`), for the frame log.
    full_trace: bool,
    /// Counts floods per packet, to stop a storm.
    storm: storm::StormGuard,
    /// Why the engine stopped the run, if it did: `run_until` then returns `Stop::Halted`.
    halt: Option<Halt>,
}

impl NodeSlot {
    pub(super) fn port_count(&self) -> u16 {
        self.ports + self.extra.len() as u16
    }

    pub(super) fn port_at(&self, local: u16) -> Option<PortId> {
        match local.checked_sub(self.ports) {
            None => Some(PortId(self.first_port + u32::from(local))),
            Some(i) => self.extra.get(usize::from(i)).copied(),
        }
    }
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        Sim {
            now: Instant::ZERO,
            seed,
            queue: EventQueue::default(),
            nodes: Vec::new(),
            ports: Vec::new(),
            node_names: Default::default(),
            port_names: Default::default(),
            links: Vec::new(),
            pool: FramePool::default(),
            scratch: Scratch::default(),
            finished: Vec::new(),
            observers: Vec::new(),
            comment: String::new(),
            last_frame_at: None,
            interrupt: None,
            stats: SimStats::default(),
            listed: Vec::new(),
            last_id: 0,
            full_trace: false,
            storm: storm::StormGuard::default(),
            halt: None,
        }
    }

    /// Why the engine stopped the run on its own, if it did.
    pub fn halt(&self) -> Option<&Halt> {
        self.halt.as_ref()
    }

    /// Stops a run whose captures would pass the limit (see `Capture::set_limit`).
    fn check_capture_limit(&mut self) {
        if self.halt.is_none()
            && let Some(limit) = self.observer::<Capture>().and_then(|c| c.limit_reached())
        {
            self.halt = Some(Halt::CaptureLimit { limit });
        }
    }

    /// Traces every decision from now on and keeps a record of every frame at every capture
    /// point (`trace_log`). Slower; a run's outcome is the same.
    pub fn set_trace(&mut self) {
        self.start_frame_log();
        self.full_trace = true;
    }

    /// Keeps a record of every frame at every capture point with the notes a capture
    /// comment would have (`trace_log`), without tracing every decision: for reports.
    pub fn set_frame_log(&mut self) {
        self.start_frame_log();
        self.full_trace = false;
    }

    /// A fresh frame log, in place of any before it.
    fn start_frame_log(&mut self) {
        self.observers.retain(|o| !o.as_any().is::<FrameLog>());
        self.observe(Box::new(FrameLog::default()));
    }

    /// What tracing recorded.
    pub fn trace_log(&self) -> &[TraceRecord] {
        self.observer::<FrameLog>()
            .map_or(&[][..], |l| l.records.as_slice())
    }

    /// Registers an observer of every frame at every capture point from now on; every port
    /// but the silent ones is a point.
    pub fn observe(&mut self, mut observer: Box<dyn Observer>) {
        for (i, p) in self.ports.iter().enumerate() {
            let name = PointName {
                node: self.nodes[p.node.index()].node.name().to_string(),
                iface: p.name.clone(),
            };
            observer.point(i, &name, p.silent);
        }
        self.observers.push(observer);
    }

    /// The first observer of type `T`.
    pub fn observer<T: Observer>(&self) -> Option<&T> {
        self.observers
            .iter()
            .find_map(|o| o.as_any().downcast_ref::<T>())
    }

    /// The first observer of type `T`, to change it while the run goes on.
    pub fn observer_mut<T: Observer>(&mut self) -> Option<&mut T> {
        self.observers
            .iter_mut()
            .find_map(|o| o.as_any_mut().downcast_mut::<T>())
    }

    /// Takes the first observer of type `T` back: it sees no more frames.
    pub fn take_observer<T: Observer>(&mut self) -> Option<T> {
        let i = self.observers.iter().position(|o| o.as_any().is::<T>())?;
        self.observers
            .remove(i)
            .into_any()
            .downcast::<T>()
            .ok()
            .map(|b| *b)
    }

    /// Tells every observer of a point (a port made or silenced).
    fn declare_point(&mut self, port: PortId) {
        if self.observers.is_empty() {
            return;
        }
        let p = &self.ports[port.index()];
        let name = PointName {
            node: self.nodes[p.node.index()].node.name().to_string(),
            iface: p.name.clone(),
        };
        for o in &mut self.observers {
            o.point(port.index(), &name, p.silent);
        }
    }

    /// Whether an observer reads the comment of a frame at `port`.
    #[inline]
    fn wants_comment(&self, port: PortId) -> bool {
        self.observers.iter().any(|o| o.wants_comment(port.index()))
    }

    /// Reports a frame to the observers.
    fn emit(observers: &mut [Box<dyn Observer>], event: FrameEvent<'_>) {
        for o in observers {
            o.frame(&event);
        }
    }

    /// Makes `node`'s listings see `ports` (of other nodes) after its own, in this order.
    pub fn list_ports_with(&mut self, node: NodeId, ports: Vec<PortId>) {
        self.listed.push((node, ports));
    }

    /// The ports `node`'s listings see after its own.
    pub fn listed_ports(&self, node: NodeId) -> Vec<PortId> {
        self.listed
            .iter()
            .filter(|(n, _)| *n == node)
            .flat_map(|(_, ports)| ports.iter().copied())
            .collect()
    }

    /// Replaces the ports `node`'s listings see after its own (a bridge port added or
    /// released at run time).
    pub fn set_listed_ports(&mut self, node: NodeId, ports: Vec<PortId>) {
        self.listed.retain(|(n, _)| *n != node);
        self.listed.push((node, ports));
    }

    /// The port at the other end of `port`'s link.
    pub fn peer_of(&self, port: PortId) -> Option<PortId> {
        let link = self.ports[port.index()].link?;
        Some(self.links[link.index()].peer_of(port))
    }

    /// The node a port belongs to.
    pub fn node_of_port(&self, port: PortId) -> NodeId {
        self.ports[port.index()].node
    }

    /// A port's name.
    pub fn port_name(&self, port: PortId) -> &str {
        &self.ports[port.index()].name
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Adds a node whose local ports are named `port_names` (in local-number order).
    pub fn add_node(&mut self, node: Box<dyn Node>, port_names: &[String]) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        let first_port = self.ports.len() as u32;
        for (i, name) in port_names.iter().enumerate() {
            self.ports.push(PortSlot {
                node: id,
                local: i as u16,
                name: name.clone(),
                link: None,
                stats: PortStats::default(),
                silent: false,
                present: true,
            });
        }
        if port_names.len() > INDEXED_PORTS {
            let mut index = rustc_hash::FxHashMap::default();
            for (i, name) in port_names.iter().enumerate() {
                index.entry(name.clone()).or_insert(i as u16);
            }
            self.port_names.insert(id, index);
        }
        self.node_names.entry(node.name().to_string()).or_insert(id);
        self.nodes.push(NodeSlot {
            node,
            first_port,
            ports: port_names.len() as u16,
            extra: Vec::new(),
            timer: None,
            uniform: None,
        });
        // A node made while the lab runs (`ip netns add`): its ports are capture points.
        for i in 0..port_names.len() {
            self.declare_point(PortId(first_port + i as u32));
        }
        self.reschedule(id);
        id
    }

    /// The global id of a node's local port.
    pub fn port(&self, node: NodeId, local: u16) -> PortId {
        let slot = &self.nodes[node.index()];
        slot.port_at(local)
            .unwrap_or(PortId(slot.first_port + u32::from(local)))
    }

    /// Gives `node` one more port named `name` (an interface made at run time): its local
    /// number follows the node's last. A capture attached already records it from now on.
    pub fn add_port(&mut self, node: NodeId, name: &str) -> PortId {
        let id = PortId(self.ports.len() as u32);
        let slot = &mut self.nodes[node.index()];
        let local = slot.port_count();
        slot.extra.push(id);
        slot.uniform = None;
        self.ports.push(PortSlot {
            node,
            local,
            name: name.to_string(),
            link: None,
            stats: PortStats::default(),
            silent: false,
            present: true,
        });
        if let Some(index) = self.port_names.get_mut(&node) {
            index.entry(name.to_string()).or_insert(local);
        }
        self.declare_point(id);
        id
    }

    /// How many ports a node has.
    pub fn port_count(&self, node: NodeId) -> u16 {
        self.nodes[node.index()].port_count()
    }

    /// A port's number on its node.
    pub fn local_of(&self, port: PortId) -> u16 {
        self.ports[port.index()].local
    }

    pub fn find_node(&self, name: &str) -> Option<NodeId> {
        self.node_names.get(name).copied()
    }

    pub fn find_port(&self, node: NodeId, name: &str) -> Option<PortId> {
        if let Some(index) = self.port_names.get(&node) {
            return index.get(name).map(|&l| self.port(node, l));
        }
        let slot = &self.nodes[node.index()];
        (0..slot.port_count())
            .filter_map(|l| slot.port_at(l))
            .find(|p| self.ports[p.index()].name == name)
    }

    pub fn node_name(&self, node: NodeId) -> &str {
        self.nodes[node.index()].node.name()
    }

    pub fn port_label(&self, port: PortId) -> String {
        let p = &self.ports[port.index()];
        format!("{}:{}", self.node_name(p.node), p.name)
    }

    pub fn port_stats(&self, port: PortId) -> PortStats {
        self.ports[port.index()].stats
    }

    /// Joins two ports with a link. Each port takes at most one link.
    pub fn connect(&mut self, a: PortId, b: PortId, params: LinkParams) -> Result<LinkId, String> {
        for p in [a, b] {
            if self.ports[p.index()].link.is_some() {
                return Err(format!("{} is already linked", self.port_label(p)));
            }
        }
        if a == b {
            return Err(format!("{} cannot be linked to itself", self.port_label(a)));
        }
        let id = LinkId(self.links.len() as u32);
        let label = format!("link:{}-{}", self.port_label(a), self.port_label(b));
        let rng = Rng::stream(self.seed, &label);
        self.links.push(Link::new([a, b], params, rng));
        self.ports[a.index()].link = Some(id);
        self.ports[b.index()].link = Some(id);
        self.invalidate_uniform(&[a, b]);
        Ok(id)
    }

    /// Unlinks a port from its peer (a veth pair deleted): frames on the wire are lost and
    /// both ends are free to be linked again.
    pub fn disconnect(&mut self, port: PortId) {
        let Some(link) = self.ports[port.index()].link else {
            return;
        };
        let l = &mut self.links[link.index()];
        l.up = false;
        let ends = l.ends;
        for p in ends {
            self.ports[p.index()].link = None;
        }
        self.invalidate_uniform(&ends);
    }

    /// Makes an interface exist or not (a container's veth comes and goes with it). Ports
    /// are present unless made absent.
    pub fn set_present(&mut self, port: PortId, present: bool) {
        self.ports[port.index()].present = present;
        self.invalidate_uniform(&[port]);
    }

    pub fn is_present(&self, port: PortId) -> bool {
        self.ports[port.index()].present
    }

    pub fn link_of(&self, port: PortId) -> Option<LinkId> {
        self.ports[port.index()].link
    }

    pub fn link(&self, link: LinkId) -> &Link {
        &self.links[link.index()]
    }

    /// Sets a link up or down; the nodes at both ends hear that their port's carrier came
    /// or went (a bridge's spanning tree enables or disables the port).
    pub fn set_link_up(&mut self, link: LinkId, up: bool) {
        let was = self.links[link.index()].up;
        self.links[link.index()].up = up;
        let ends = self.links[link.index()].ends;
        self.invalidate_uniform(&ends);
        if was != up {
            for end in ends {
                let (node, local) = (self.ports[end.index()].node, self.ports[end.index()].local);
                self.with_node(node, |n, now, ctx| n.carrier(now, local, up, ctx));
            }
        }
    }

    fn invalidate_uniform(&mut self, ports: &[PortId]) {
        for p in ports {
            let node = self.ports[p.index()].node;
            self.nodes[node.index()].uniform = None;
        }
    }

    /// Makes a port no capture point: the bridge's side of a bridge device that is a host's
    /// interface, whose frames that interface already captures.
    pub fn set_silent(&mut self, port: PortId) {
        self.ports[port.index()].silent = true;
        self.declare_point(port);
    }

    /// Starts writing captures; every port but the silent ones becomes a capture point.
    pub fn attach_capture(&mut self, capture: Capture) {
        self.take_observer::<Capture>();
        self.observe(Box::new(capture));
    }

    /// The attached capture, while the run goes on (a runner limits its watches to steps).
    pub fn capture_mut(&mut self) -> Option<&mut Capture> {
        self.observer_mut::<Capture>()
    }

    pub fn take_capture(&mut self) -> Option<Capture> {
        self.take_observer::<Capture>()
    }

    /// When a frame last left or reached an interface.
    pub fn last_frame_at(&self) -> Option<Instant> {
        self.last_frame_at
    }

    /// When the next event is due.
    pub fn next_event_at(&self) -> Option<Instant> {
        self.queue.peek_time()
    }

    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    pub fn node_ref(&self, node: NodeId) -> &dyn Node {
        self.nodes[node.index()].node.as_ref()
    }

    /// A node as its concrete type, to read its state (tests and benchmarks).
    pub fn node_as<T: Node>(&mut self, node: NodeId) -> Option<&mut T> {
        self.nodes[node.index()]
            .node
            .as_any_mut()
            .downcast_mut::<T>()
    }

    /// Changes a node from outside the simulation (a test scripting a probe), then re-arms
    /// its timer, since the change may move its next deadline.
    pub fn update<T: Node, R>(&mut self, node: NodeId, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let r = self.node_as::<T>(node).map(f);
        self.reschedule(node);
        r
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Results of commands that finished since the last call, in finishing order.
    pub fn take_finished(&mut self) -> Vec<(CmdId, CmdResult)> {
        std::mem::take(&mut self.finished)
    }

    /// A flag that, once raised, makes `run_until` return `Stop::Interrupted` (the CLI's
    /// Ctrl-C handler sets it; the engine only reads it).
    pub fn set_interrupt(&mut self, flag: std::sync::Arc<std::sync::atomic::AtomicBool>) {
        self.interrupt = Some(flag);
    }

    pub fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Runs events up to and including `limit`; returns early when a command finishes.
    pub fn run_until(&mut self, limit: Instant) -> Stop {
        let mut n: u32 = 0;
        loop {
            if !self.finished.is_empty() {
                return Stop::CommandDone;
            }
            if self.halt.is_some() {
                return Stop::Halted;
            }
            n = n.wrapping_add(1);
            if n.is_multiple_of(4096) {
                if self.interrupted() {
                    return Stop::Interrupted;
                }
                self.check_capture_limit();
            }
            match self.queue.peek_time() {
                None => return Stop::Idle,
                Some(t) if t > limit => {
                    self.now = self.now.max(limit);
                    return Stop::Limit;
                }
                Some(_) => {}
            }
            self.step();
        }
    }

    /// As `run_until`, but returns `None` as soon as an event added a frame to the frame log
    /// (`set_frame_log`): for stepping frame by frame.
    pub fn run_until_logged(&mut self, limit: Instant) -> Option<Stop> {
        let before = self.trace_log().len();
        loop {
            if !self.finished.is_empty() {
                return Some(Stop::CommandDone);
            }
            if self.interrupted() {
                return Some(Stop::Interrupted);
            }
            self.check_capture_limit();
            if self.halt.is_some() {
                return Some(Stop::Halted);
            }
            match self.queue.peek_time() {
                None => return Some(Stop::Idle),
                Some(t) if t > limit => {
                    self.now = self.now.max(limit);
                    return Some(Stop::Limit);
                }
                Some(_) => {}
            }
            self.step();
            if self.trace_log().len() > before {
                return None;
            }
        }
    }

    /// Moves `now` forward to `t` (no events may be pending before it).
    pub fn advance_to(&mut self, t: Instant) {
        debug_assert!(self.queue.peek_time().is_none_or(|q| q >= t));
        self.now = self.now.max(t);
    }

    /// Processes the next event, if any.
    pub fn step(&mut self) -> bool {
        let Some(ev) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(ev.at);
        self.stats.events += 1;
        match ev.kind {
            Ev::Arrive { port, frame } => {
                let (frame, tag) = self.pool.unpark_tagged(frame);
                if self.ports[port.index()].link.is_none() {
                    // Its link was deleted while the frame was on the wire.
                    self.stats.frames_dropped += 1;
                    self.pool.give(frame);
                    return true;
                }
                let (node, done) = self.deliver(port, &frame, tag);
                self.after_call(node, Incoming::Owned(frame), tag, done.kept);
            }
            Ev::FloodArrive {
                from,
                except,
                frame,
            } => {
                let (frame, tag) = self.pool.unpark_tagged(frame);
                let slot = &self.nodes[from.index()];
                let count = slot.port_count();
                for local in 0..count {
                    if local == except {
                        continue;
                    }
                    let Some(me) = self.nodes[from.index()].port_at(local) else {
                        continue;
                    };
                    let port = &self.ports[me.index()];
                    if let Some(link) = port.link {
                        let peer = self.links[link.index()].peer_of(me);
                        let (node, done) = self.deliver(peer, &frame, tag);
                        if !done.quiet {
                            self.after_call(node, Incoming::Shared(&frame), tag, done.kept);
                        }
                    }
                }
                self.pool.give(frame);
            }
            Ev::Timer { node } => {
                let (slot, peers) = Peers::split(&mut self.nodes, node.index());
                if slot.timer == Some(ev.at) {
                    slot.timer = None;
                    let mut ctx = Ctx {
                        pool: &mut self.pool,
                        tx: &mut self.scratch.tx,
                        notes: &mut self.scratch.notes,
                        done: &mut self.scratch.done,
                        incoming: PacketTag::default(),
                        same: false,
                        last_id: &mut self.last_id,
                        detail: false,
                        trace: false,
                        untouched: false,
                        kept: false,
                        peers,
                    };
                    slot.node.handle_timeout(self.now, &mut ctx);
                    self.scratch.called = ctx.peers.called;
                    self.scratch.notes.clear();
                    self.after_call(node, Incoming::None, PacketTag::default(), false);
                }
            }
        }
        true
    }

    /// Hands a frame to the node owning `port` and captures it; the caller then carries out
    /// the node's sends with `after_call`, which it may skip when the node says it was left
    /// untouched (`Delivered::quiet`: nothing sent or finished, no new deadline).
    fn deliver(&mut self, port: PortId, frame: &[u8], tag: PacketTag) -> (NodeId, Delivered) {
        let p = &mut self.ports[port.index()];
        p.stats.rx_packets += 1;
        p.stats.rx_bytes += frame.len() as u64;
        if frame.first().is_some_and(|b| b & 1 == 1) {
            p.stats.rx_multicast += 1;
        }
        let (node, local) = (p.node, p.local);
        self.stats.frames_delivered += 1;
        self.last_frame_at = Some(self.now);
        let observed = !self.observers.is_empty();
        let detail = observed && self.wants_comment(port);
        let trace = detail && self.full_trace;
        let (slot, peers) = Peers::split(&mut self.nodes, node.index());
        let mut ctx = Ctx {
            pool: &mut self.pool,
            tx: &mut self.scratch.tx,
            notes: &mut self.scratch.notes,
            done: &mut self.scratch.done,
            incoming: tag,
            same: false,
            last_id: &mut self.last_id,
            detail,
            trace,
            untouched: false,
            kept: false,
            peers,
        };
        slot.node.handle_frame(self.now, local, frame, &mut ctx);
        let (untouched, kept) = (ctx.untouched, ctx.kept);
        self.scratch.called = ctx.peers.called;
        if observed && !self.ports[port.index()].silent {
            // Formatting notes costs more than writing the frame: only when read.
            if detail {
                self.write_comment(node, tag);
            } else {
                self.comment.clear();
            }
            let event = FrameEvent {
                point: port.index(),
                at: self.now,
                dir: Direction::In,
                frame,
                id: tag.id,
                re: tag.re,
                comment: (!self.comment.is_empty()).then_some(self.comment.as_str()),
            };
            Self::emit(&mut self.observers, event);
        }
        self.scratch.notes.clear();
        // A node that called a peer (a bridge into its master) sent or dropped a frame: it
        // is not untouched.
        let quiet = untouched && self.scratch.tx.is_empty() && self.scratch.done.is_empty();
        (node, Delivered { quiet, kept })
    }

    /// Formats the packet's tag and the pending notes of `node` into `self.comment`.
    fn write_comment(&mut self, node: NodeId, tag: PacketTag) {
        self.comment.clear();
        tag.write(&mut self.comment);
        if self.scratch.notes.is_empty() {
            return;
        }
        let slot = &self.nodes[node.index()];
        let ports = &self.ports;
        let name = |l: u16| match slot.port_at(l).and_then(|p| ports.get(p.index())) {
            Some(p) => std::borrow::Cow::Borrowed(p.name.as_str()),
            None => std::borrow::Cow::Owned(format!("port {l}")),
        };
        for n in &self.scratch.notes {
            if !self.comment.is_empty() {
                self.comment.push_str("; ");
            }
            n.describe_into(&mut self.comment, &name);
        }
    }

    /// Sends what the node queued, collects finished commands, and re-arms its timer unless
    /// the node said its deadline was `kept`.
    fn after_call(&mut self, node: NodeId, mut incoming: Incoming<'_>, tag: PacketTag, kept: bool) {
        // Most deliveries send nothing (a flood's copies at the hosts it is not for).
        if !self.scratch.tx.is_empty() {
            self.send_queued(node, &mut incoming, tag);
        }
        if let Incoming::Owned(buf) = incoming {
            self.pool.give(buf);
        }
        if !self.scratch.done.is_empty() {
            self.finished.append(&mut self.scratch.done);
        }
        if !kept {
            self.reschedule(node);
        }
        if self.scratch.called.is_some()
            && let Some(peer) = self.scratch.called.take()
        {
            self.reschedule(peer);
        }
    }

    fn send_queued(&mut self, node: NodeId, incoming: &mut Incoming<'_>, tag: PacketTag) {
        let mut tx = std::mem::take(&mut self.scratch.tx);
        // A forward that is the node's only send takes the incoming buffer; others copy it.
        let only = tx.len() == 1;
        // A new packet answers the handled one only if it goes back to its sender (an echo
        // reply, an ICMP error, an ARP reply), not because it left while the node handled
        // it (a queued packet leaving once an ARP reply came).
        let mut sender: Option<Option<[u8; 4]>> = None;
        for t in tx.drain(..) {
            match t {
                Tx::One { port, frame } => {
                    let mut t = self.pool.tag(frame);
                    if t.re != 0 && t.re == tag.id {
                        let from = *sender.get_or_insert_with(|| {
                            incoming.bytes().and_then(ends).map(|(src, _)| src)
                        });
                        let to = ends(self.pool.get(frame)).map(|(_, dst)| dst);
                        if to.is_none() || to != from {
                            t.re = 0;
                            self.pool.set_tag(frame, t);
                        }
                    }
                    self.transmit(node, port, frame)
                }
                Tx::Flood { except, frame } => self.flood(node, except, frame),
                Tx::Refused {
                    port,
                    frame,
                    reason,
                } => self.refuse(node, port, frame, reason),
                Tx::Forward { port } => {
                    let frame = if only {
                        incoming.take(&mut self.pool)
                    } else {
                        incoming.copy(&mut self.pool)
                    };
                    if let Some(frame) = frame {
                        self.pool.set_tag(frame, tag);
                        self.transmit(node, port, frame);
                    }
                }
            }
        }
        self.scratch.tx = tx;
    }

    fn reschedule(&mut self, node: NodeId) {
        let slot = &mut self.nodes[node.index()];
        let next = slot.node.poll_timeout(self.now).map(|t| t.max(self.now));
        if next != slot.timer {
            slot.timer = next;
            if let Some(t) = next {
                self.queue.push_far(t, Ev::Timer { node });
            }
        }
    }

    /// Captures a frame leaving `port` (a parked frame: the pool lends its bytes).
    // Inlined: without observers a frame's way out costs this one test, not a call.
    #[inline(always)]
    fn record_out(&mut self, port: PortId, frame: FrameId, drop: Option<DropReason>) {
        if !self.observers.is_empty() {
            self.record_out_as(port, frame, drop, false);
        }
    }

    /// As `record_out`; `keyed` names the drop by its class key (`dropped: runt`), as the
    /// lab's edge counts refused frames.
    fn record_out_as(
        &mut self,
        port: PortId,
        frame: FrameId,
        drop: Option<DropReason>,
        keyed: bool,
    ) {
        if self.observers.is_empty() || self.ports[port.index()].silent {
            return;
        }
        let tag = self.pool.tag(frame);
        self.comment.clear();
        if self.wants_comment(port) {
            tag.write(&mut self.comment);
            if let Some(r) = drop {
                if !self.comment.is_empty() {
                    self.comment.push_str("; ");
                }
                self.comment.push_str("dropped: ");
                match keyed {
                    true => self.comment.push_str(r.key()),
                    false => self.comment.push_str(&r.describe()),
                }
            }
        }
        let event = FrameEvent {
            point: port.index(),
            at: self.now,
            dir: Direction::Out,
            frame: self.pool.get(frame),
            id: tag.id,
            re: tag.re,
            comment: (!self.comment.is_empty()).then_some(self.comment.as_str()),
        };
        Self::emit(&mut self.observers, event);
    }

    /// A frame refused at the lab's edge (`Tx::Refused`): captured where it came in, and an
    /// error of the interface it was for.
    fn refuse(&mut self, node: NodeId, local: u16, frame: FrameId, reason: DropReason) {
        let Some(port) = self.nodes[node.index()].port_at(local) else {
            self.pool.release(frame);
            return;
        };
        self.stats.frames_dropped += 1;
        if let Some(link) = self.ports[port.index()].link {
            let peer = self.links[link.index()].peer_of(port);
            self.ports[peer.index()].stats.rx_errors += 1;
        }
        self.record_out_as(port, frame, Some(reason), true);
        self.pool.release(frame);
    }

    fn transmit(&mut self, node: NodeId, local: u16, frame: FrameId) {
        let Some(port) = self.nodes[node.index()].port_at(local) else {
            self.pool.release(frame);
            return;
        };
        let len = self.pool.get(frame).len();
        self.stats.frames_sent += 1;
        self.last_frame_at = Some(self.now);
        let p = &mut self.ports[port.index()];
        if !p.present {
            self.pool.release(frame);
            return;
        }
        let Some(link) = p.link else {
            p.stats.tx_dropped += 1;
            self.stats.frames_dropped += 1;
            self.record_out(port, frame, Some(DropReason::NoCarrier));
            self.pool.release(frame);
            return;
        };
        let l = &mut self.links[link.index()];
        let end = l.end_of(port);
        let peer = l.ends[1 - end];
        // Whether the frame is tagged matters only to a frame over the MTU: asked only then.
        let over = len.saturating_sub(crate::link::ETH_HEADER_LEN) > l.params.mtu as usize;
        let tagged = over && crate::wire::vlan::is_tagged(self.pool.get(frame));
        match l.transmit(end, self.now, len, tagged) {
            LinkOutcome::Arrive(at) => {
                p.stats.tx_packets += 1;
                p.stats.tx_bytes += len as u64;
                self.record_out(port, frame, None);
                self.queue.push(at, Ev::Arrive { port: peer, frame });
            }
            LinkOutcome::Drop(reason) => {
                // Link loss happens on the wire: the sender counted the frame as sent.
                if reason == DropReason::LinkLoss {
                    p.stats.tx_packets += 1;
                    p.stats.tx_bytes += len as u64;
                } else {
                    p.stats.tx_dropped += 1;
                }
                self.stats.frames_dropped += 1;
                self.record_out(port, frame, Some(reason));
                self.pool.release(frame);
            }
        }
    }

    /// The delay shared by every link of `node`, when all are ideal, up and of one MTU.
    fn uniform_delay(&mut self, node: NodeId) -> Option<(Duration, u32)> {
        let slot = &self.nodes[node.index()];
        if let Some(cached) = slot.uniform {
            return cached.map(|d| (d, self.uniform_mtu(node)));
        }
        let mut common: Option<(Duration, u32)> = None;
        let mut ok = true;
        for local in 0..slot.port_count() {
            let Some(id) = slot.port_at(local) else {
                continue;
            };
            let port = &self.ports[id.index()];
            if !port.present {
                continue;
            }
            let Some(link) = port.link else {
                ok = false;
                break;
            };
            let l = &self.links[link.index()];
            let this = (l.params.delay, l.params.mtu);
            if !l.up || !l.params.is_ideal() || common.is_some_and(|c| c != this) {
                ok = false;
                break;
            }
            common = Some(this);
        }
        let result = if ok { common } else { None };
        self.nodes[node.index()].uniform = Some(result.map(|(d, _)| d));
        result
    }

    fn uniform_mtu(&self, node: NodeId) -> u32 {
        let slot = &self.nodes[node.index()];
        (0..slot.port_count())
            .filter_map(|l| slot.port_at(l))
            .find_map(|p| self.ports[p.index()].link)
            .map_or(1500, |l| self.links[l.index()].params.mtu)
    }

    fn flood(&mut self, node: NodeId, except: u16, frame: FrameId) {
        let id = self.pool.tag(frame).id;
        if self.storm.flooded(id) && self.halt.is_none() {
            self.halt = Some(Halt::Storm {
                id,
                floods: self.storm.count(id),
                bridge: self.node_name(node).to_string(),
                summary: crate::wire::summary::summarize(self.pool.get(frame)),
            });
        }
        let Some((delay, mtu)) = self.uniform_delay(node) else {
            // Links differ: each copy takes its own link's fate.
            let slot = &self.nodes[node.index()];
            let count = slot.port_count();
            let present = |l: u16| {
                slot.port_at(l)
                    .is_some_and(|p| self.ports[p.index()].present)
            };
            let out: Vec<u16> = (0..count).filter(|&l| l != except && present(l)).collect();
            for local in out {
                let copy = self.pool.duplicate(frame);
                self.transmit(node, local, copy);
            }
            self.pool.release(frame);
            return;
        };
        let count = self.nodes[node.index()].port_count();
        let len = self.pool.get(frame).len();
        // A tagged frame may be a tag longer (see `Link::admit`); asked only of a long one.
        let over = len.saturating_sub(crate::link::ETH_HEADER_LEN) > mtu as usize;
        let tagged = over && crate::wire::vlan::is_tagged(self.pool.get(frame));
        let tag = if tagged {
            crate::wire::vlan::VLAN_HLEN
        } else {
            0
        };
        let oversize = len.saturating_sub(crate::link::ETH_HEADER_LEN + tag) > mtu as usize;
        let mut sent = 0u64;
        let mut absent = 0u16;
        for local in (0..count).filter(|&l| l != except) {
            let Some(port) = self.nodes[node.index()].port_at(local) else {
                continue;
            };
            if !self.ports[port.index()].present {
                absent += 1;
                continue;
            }
            let link = self.ports[port.index()].link.expect("uniform links");
            let l = &mut self.links[link.index()];
            let end = l.end_of(port);
            let drop = l.admit(end, len, tagged).err();
            let p = &mut self.ports[port.index()];
            if drop.is_some() {
                p.stats.tx_dropped += 1;
            } else {
                p.stats.tx_packets += 1;
                p.stats.tx_bytes += len as u64;
                sent += 1;
            }
            self.record_out(port, frame, drop);
        }
        self.stats.frames_sent += sent;
        if sent > 0 {
            self.last_frame_at = Some(self.now);
        }
        if oversize || sent == 0 {
            self.stats.frames_dropped +=
                u64::from(count.saturating_sub(1 + absent)).saturating_sub(sent);
            self.pool.release(frame);
            return;
        }
        self.queue.push(
            self.now + delay,
            Ev::FloodArrive {
                from: node,
                except,
                frame,
            },
        );
    }

    /// Runs a closure with a node and a fresh outbox, then carries out its sends.
    fn with_node<R>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut dyn Node, Instant, &mut Ctx<'_>) -> R,
    ) -> R {
        let (slot, peers) = Peers::split(&mut self.nodes, node.index());
        let mut ctx = Ctx {
            pool: &mut self.pool,
            tx: &mut self.scratch.tx,
            notes: &mut self.scratch.notes,
            done: &mut self.scratch.done,
            incoming: PacketTag::default(),
            same: false,
            last_id: &mut self.last_id,
            detail: false,
            trace: false,
            untouched: false,
            kept: false,
            peers,
        };
        let r = f(slot.node.as_mut(), self.now, &mut ctx);
        self.scratch.called = ctx.peers.called;
        self.scratch.notes.clear();
        self.after_call(node, Incoming::None, PacketTag::default(), false);
        r
    }

    pub fn start_command(
        &mut self,
        node: NodeId,
        cmd: CmdId,
        argv: &[String],
        input: &str,
    ) -> Result<(), String> {
        self.with_node(node, |n, now, ctx| {
            n.start_command(now, cmd, argv, input, ctx)
        })
    }

    pub fn stop_command(&mut self, node: NodeId, cmd: CmdId) {
        self.with_node(node, |n, now, ctx| n.stop_command(now, cmd, ctx));
    }

    /// A listing from a node, e.g. `bridge fdb show`.
    pub fn show(&mut self, node: NodeId, argv: &[String]) -> Result<String, String> {
        let views = self.port_views(node);
        let now = self.now;
        self.nodes[node.index()].node.show(now, argv, &views)
    }

    /// The node's ports as its listings see them, then the ports it lists with its own.
    pub fn port_views(&self, node: NodeId) -> Vec<PortView> {
        let slot = &self.nodes[node.index()];
        let own = (0..slot.port_count()).filter_map(|l| slot.port_at(l));
        let listed = self
            .listed
            .iter()
            .filter(|(n, _)| *n == node)
            .flat_map(|(_, ports)| ports.iter().copied());
        own.chain(listed)
            .map(|id| {
                let p = &self.ports[id.index()];
                let node = p.node;
                let (peer_ifindex, peer_node, up) = match p.link {
                    Some(link) => {
                        let l = &self.links[link.index()];
                        let peer = &self.ports[l.peer_of(id).index()];
                        let peer_node = self.nodes[peer.node.index()].node.as_ref();
                        let other = (peer.node != node).then(|| peer_node.name().to_string());
                        (Some(peer_node.ifindex(peer.local)), other, l.up)
                    }
                    None => (None, None, false),
                };
                PortView {
                    name: p.name.clone(),
                    peer_ifindex,
                    peer_node,
                    up,
                    present: p.present,
                    stats: p.stats,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
