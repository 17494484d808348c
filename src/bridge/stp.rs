//! 802.1D spanning tree as the Linux bridge runs it (`stp_state 1`, net/bridge/br_stp*.c).
//!
//! Every bridge starts believing it is the root. Designated ports send configuration BPDUs
//! every hello time (root) or when the root's BPDU arrives on the root port (the others); a
//! port that hears a better BPDU than it would send stops being designated and blocks. A
//! port made forwarding listens for one forward delay, learns for another, then forwards, so
//! a loop is broken before any frame can go round it. A port entering forwarding is a
//! topology change: a non-root bridge reports it to the root with a TCN BPDU, repeated every
//! hello time until a configuration BPDU acknowledges it (TCA); the root then sets TC in its
//! BPDUs for max age + forward delay.
//!
//! The functions follow the kernel's one for one (named in each comment), so the order of
//! state changes and BPDUs is the kernel's. Timers are instants; `Stp::next_timer` and
//! `Stp::run_timers` drive them from the bridge's own timer. BPDUs to send are queued in
//! `out` for the bridge to frame.

use crate::time::{Duration, Instant};

pub const HELLO_TIME: Duration = Duration::from_secs(2);
pub const MAX_AGE: Duration = Duration::from_secs(20);
pub const FORWARD_DELAY: Duration = Duration::from_secs(15);
/// At most one configuration BPDU per port per second (`BR_HOLD_TIME`).
const HOLD_TIME: Duration = Duration::from_secs(1);
/// What a BPDU's message age grows by at each bridge: one unit of 1/256 s
/// (`MESSAGE_AGE_INCR`).
const MESSAGE_AGE_INCR: Duration = Duration::from_nanos(1_000_000_000 / 256);
/// Linux's default bridge priority and port priority.
pub const BRIDGE_PRIORITY: u16 = 0x8000;
const PORT_PRIORITY: u16 = 0x20;
/// A veth's path cost (10 Gbit/s), as `bridge link` shows it.
pub const PATH_COST: u32 = 2;

/// Priority then MAC, compared as the kernel's `memcmp` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BridgeId(pub [u8; 8]);

impl BridgeId {
    pub fn new(priority: u16, mac: [u8; 6]) -> BridgeId {
        let p = priority.to_be_bytes();
        BridgeId([p[0], p[1], mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]])
    }
}

impl std::fmt::Display for BridgeId {
    /// As sysfs and `ip -d link` print it: `8000.0242ac110002`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(f, "{:02x}{:02x}.", b[0], b[1])?;
        b[2..].iter().try_for_each(|x| write!(f, "{x:02x}"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    Disabled,
    Listening,
    Learning,
    Forwarding,
    Blocking,
}

impl PortState {
    /// As `bridge link` and the kernel log name it.
    pub fn name(self) -> &'static str {
        match self {
            PortState::Disabled => "disabled",
            PortState::Listening => "listening",
            PortState::Learning => "learning",
            PortState::Forwarding => "forwarding",
            PortState::Blocking => "blocking",
        }
    }
}

/// A configuration BPDU's fields; times are whole units of 1/256 s on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigBpdu {
    pub topology_change: bool,
    pub topology_change_ack: bool,
    pub root: BridgeId,
    pub root_path_cost: u32,
    pub bridge_id: BridgeId,
    pub port_id: u16,
    pub message_age: Duration,
    pub max_age: Duration,
    pub hello_time: Duration,
    pub forward_delay: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bpdu {
    Config(ConfigBpdu),
    /// A topology change notification.
    Tcn,
}

/// The destination of BPDUs: the Bridge Group Address.
pub const GROUP_ADDRESS: [u8; 6] = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00];
/// LLC header: DSAP and SSAP 0x42 (spanning tree), UI.
const LLC: [u8; 3] = [0x42, 0x42, 0x03];

fn ticks(d: Duration) -> u16 {
    (u128::from(d.nanos()) * 256 / 1_000_000_000).min(u128::from(u16::MAX)) as u16
}

fn from_ticks(t: u16) -> Duration {
    Duration::from_nanos(u64::from(t) * 1_000_000_000 / 256)
}

impl Bpdu {
    /// The whole 802.3 frame from `src` (a port's MAC), as `br_send_bpdu` builds it: an
    /// 802.3 length, LLC, the BPDU; no padding (a veth pads nothing).
    pub fn encode(&self, src: [u8; 6], out: &mut Vec<u8>) {
        out.extend_from_slice(&GROUP_ADDRESS);
        out.extend_from_slice(&src);
        let body = match self {
            Bpdu::Config(_) => 35u16,
            Bpdu::Tcn => 4,
        };
        out.extend_from_slice(&(body + 3).to_be_bytes());
        out.extend_from_slice(&LLC);
        // Protocol identifier 0, version 0.
        out.extend_from_slice(&[0, 0, 0]);
        match self {
            Bpdu::Tcn => out.push(0x80),
            Bpdu::Config(c) => {
                out.push(0x00);
                out.push(u8::from(c.topology_change) | (u8::from(c.topology_change_ack) << 7));
                out.extend_from_slice(&c.root.0);
                out.extend_from_slice(&c.root_path_cost.to_be_bytes());
                out.extend_from_slice(&c.bridge_id.0);
                out.extend_from_slice(&c.port_id.to_be_bytes());
                for t in [c.message_age, c.max_age, c.hello_time, c.forward_delay] {
                    out.extend_from_slice(&ticks(t).to_be_bytes());
                }
            }
        }
    }

    /// Reads a BPDU from a frame to the group address (`br_stp_rcv`); None when it is not
    /// one (wrong LLC, protocol or length).
    pub fn parse(frame: &[u8]) -> Option<Bpdu> {
        let len = usize::from(u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]));
        if len > 1500 || frame.len() < 14 + len.max(7) || frame[14..17] != LLC {
            return None;
        }
        let b = &frame[17..14 + len];
        if b.len() < 4 || b[0] != 0 || b[1] != 0 {
            return None;
        }
        match b[3] {
            0x80 => Some(Bpdu::Tcn),
            0x00 if b.len() >= 35 => {
                let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
                let id = |i: usize| BridgeId(b[i..i + 8].try_into().unwrap_or_default());
                Some(Bpdu::Config(ConfigBpdu {
                    topology_change: b[4] & 0x01 != 0,
                    topology_change_ack: b[4] & 0x80 != 0,
                    root: id(5),
                    root_path_cost: u32::from_be_bytes([b[13], b[14], b[15], b[16]]),
                    bridge_id: id(17),
                    port_id: u16_at(25),
                    message_age: from_ticks(u16_at(27)),
                    max_age: from_ticks(u16_at(29)),
                    hello_time: from_ticks(u16_at(31)),
                    forward_delay: from_ticks(u16_at(33)),
                }))
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct StpPort {
    /// Takes part in spanning tree (the bridge device's own port does not).
    pub member: bool,
    pub port_id: u16,
    pub path_cost: u32,
    pub state: PortState,
    pub designated_root: BridgeId,
    pub designated_cost: u32,
    pub designated_bridge: BridgeId,
    pub designated_port: u16,
    /// When the root sent the information this port holds (now − message age).
    designated_age: Instant,
    topology_change_ack: bool,
    config_pending: bool,
    message_age_timer: Option<Instant>,
    forward_delay_timer: Option<Instant>,
    hold_timer: Option<Instant>,
}

/// One bridge's spanning tree.
#[derive(Clone, Debug)]
pub struct Stp {
    pub bridge_id: BridgeId,
    pub designated_root: BridgeId,
    pub root_path_cost: u32,
    pub root_port: Option<u16>,
    /// The times in use: the root's, learned from its BPDUs.
    max_age: Duration,
    hello_time: Duration,
    forward_delay: Duration,
    pub topology_change: bool,
    topology_change_detected: bool,
    hello_timer: Option<Instant>,
    tcn_timer: Option<Instant>,
    topology_change_timer: Option<Instant>,
    pub ports: Vec<StpPort>,
    /// BPDUs to send, by port, in order.
    pub out: Vec<(u16, Bpdu)>,
    /// Port state changes, in order, as the kernel logs them (for capture comments).
    pub changes: Vec<(u16, PortState)>,
}

impl Stp {
    /// A bridge whose ports `members[i]` take part; all start disabled until `enable`.
    pub fn new(mac: [u8; 6], members: &[bool]) -> Stp {
        let bridge_id = BridgeId::new(BRIDGE_PRIORITY, mac);
        let ports = members
            .iter()
            .enumerate()
            .map(|(i, &member)| StpPort {
                member,
                // `br_make_port_id`: priority above 10 bits of port number, from 1.
                port_id: (PORT_PRIORITY << 10) | ((i as u16 + 1) & 0x3ff),
                path_cost: PATH_COST,
                state: PortState::Disabled,
                designated_root: bridge_id,
                designated_cost: 0,
                designated_bridge: bridge_id,
                designated_port: 0,
                designated_age: Instant::ZERO,
                topology_change_ack: false,
                config_pending: false,
                message_age_timer: None,
                forward_delay_timer: None,
                hold_timer: None,
            })
            .collect();
        Stp {
            bridge_id,
            designated_root: bridge_id,
            root_path_cost: 0,
            root_port: None,
            max_age: MAX_AGE,
            hello_time: HELLO_TIME,
            forward_delay: FORWARD_DELAY,
            topology_change: false,
            topology_change_detected: false,
            hello_timer: None,
            tcn_timer: None,
            topology_change_timer: None,
            ports,
            out: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The bridge comes up (`br_stp_enable_bridge`): the first hello one hello time later,
    /// and every port in `up` enabled.
    pub fn enable(&mut self, now: Instant, up: &[bool]) {
        self.hello_timer = Some(now + self.hello_time);
        self.config_bpdu_generation(now);
        for i in 0..self.ports.len() {
            if self.ports[i].member && up.get(i).copied().unwrap_or(false) {
                self.enable_port(now, i);
            }
        }
    }

    pub fn is_root(&self) -> bool {
        self.designated_root == self.bridge_id
    }

    fn set_state(&mut self, p: usize, state: PortState) {
        if self.ports[p].state != state {
            self.ports[p].state = state;
            self.changes.push((p as u16, state));
        }
    }

    /// `br_stp_enable_port`.
    pub fn enable_port(&mut self, now: Instant, p: usize) {
        if !self.ports[p].member || self.ports[p].state != PortState::Disabled {
            return;
        }
        // `br_init_port`.
        self.become_designated_port(p);
        self.set_state(p, PortState::Blocking);
        let port = &mut self.ports[p];
        port.topology_change_ack = false;
        port.config_pending = false;
        self.port_state_selection(now);
    }

    /// `br_stp_disable_port`: the port's carrier went away.
    pub fn disable_port(&mut self, now: Instant, p: usize) {
        if !self.ports[p].member || self.ports[p].state == PortState::Disabled {
            return;
        }
        let was_root = self.is_root();
        self.become_designated_port(p);
        self.set_state(p, PortState::Disabled);
        let port = &mut self.ports[p];
        port.topology_change_ack = false;
        port.config_pending = false;
        port.message_age_timer = None;
        port.forward_delay_timer = None;
        port.hold_timer = None;
        self.configuration_update();
        self.port_state_selection(now);
        if self.is_root() && !was_root {
            self.become_root_bridge(now);
        }
    }

    fn is_designated_port(&self, p: usize) -> bool {
        let port = &self.ports[p];
        port.designated_bridge == self.bridge_id && port.designated_port == port.port_id
    }

    /// `br_become_designated_port`.
    fn become_designated_port(&mut self, p: usize) {
        let (root, cost, id) = (self.designated_root, self.root_path_cost, self.bridge_id);
        let port = &mut self.ports[p];
        port.designated_root = root;
        port.designated_cost = cost;
        port.designated_bridge = id;
        port.designated_port = port.port_id;
    }

    /// `br_should_become_root_port`.
    fn should_become_root_port(&self, p: usize, root_port: Option<u16>) -> bool {
        let port = &self.ports[p];
        if !port.member || port.state == PortState::Disabled || self.is_designated_port(p) {
            return false;
        }
        if self.bridge_id <= port.designated_root {
            return false;
        }
        let Some(rp) = root_port else { return true };
        let rp = &self.ports[usize::from(rp)];
        let key = |x: &StpPort| {
            (
                x.designated_root,
                x.designated_cost + x.path_cost,
                x.designated_bridge,
                x.designated_port,
                x.port_id,
            )
        };
        key(port) < key(rp)
    }

    /// `br_root_selection`.
    fn root_selection(&mut self) {
        let mut root_port = None;
        for p in 0..self.ports.len() {
            if self.should_become_root_port(p, root_port) {
                root_port = Some(p as u16);
            }
        }
        self.root_port = root_port;
        match root_port {
            None => {
                self.designated_root = self.bridge_id;
                self.root_path_cost = 0;
            }
            Some(rp) => {
                let p = &self.ports[usize::from(rp)];
                self.designated_root = p.designated_root;
                self.root_path_cost = p.designated_cost + p.path_cost;
            }
        }
    }

    /// `br_should_become_designated_port`.
    fn should_become_designated_port(&self, p: usize) -> bool {
        let port = &self.ports[p];
        if self.is_designated_port(p) || port.designated_root != self.designated_root {
            return true;
        }
        (self.root_path_cost, self.bridge_id, port.port_id)
            < (
                port.designated_cost,
                port.designated_bridge,
                port.designated_port,
            )
    }

    /// `br_designated_port_selection`.
    fn designated_port_selection(&mut self) {
        for p in 0..self.ports.len() {
            let port = &self.ports[p];
            if port.member
                && port.state != PortState::Disabled
                && self.should_become_designated_port(p)
            {
                self.become_designated_port(p);
            }
        }
    }

    /// `br_configuration_update`.
    fn configuration_update(&mut self) {
        self.root_selection();
        self.designated_port_selection();
    }

    /// `br_port_state_selection`.
    fn port_state_selection(&mut self, now: Instant) {
        for p in 0..self.ports.len() {
            if !self.ports[p].member || self.ports[p].state == PortState::Disabled {
                continue;
            }
            if self.root_port == Some(p as u16) {
                self.ports[p].config_pending = false;
                self.ports[p].topology_change_ack = false;
                self.make_forwarding(now, p);
            } else if self.is_designated_port(p) {
                self.ports[p].message_age_timer = None;
                self.make_forwarding(now, p);
            } else {
                self.ports[p].config_pending = false;
                self.ports[p].topology_change_ack = false;
                self.make_blocking(now, p);
            }
        }
    }

    /// `br_make_forwarding`: a blocking port starts listening.
    fn make_forwarding(&mut self, now: Instant, p: usize) {
        if self.ports[p].state != PortState::Blocking {
            return;
        }
        self.set_state(p, PortState::Listening);
        self.ports[p].forward_delay_timer = Some(now + self.forward_delay);
    }

    /// `br_make_blocking`.
    fn make_blocking(&mut self, now: Instant, p: usize) {
        let state = self.ports[p].state;
        if state == PortState::Disabled || state == PortState::Blocking {
            return;
        }
        if matches!(state, PortState::Forwarding | PortState::Learning) {
            self.topology_change_detection(now);
        }
        self.set_state(p, PortState::Blocking);
        self.ports[p].forward_delay_timer = None;
    }

    /// `br_topology_change_detection`.
    fn topology_change_detection(&mut self, now: Instant) {
        if self.is_root() {
            self.topology_change = true;
            self.topology_change_timer = Some(now + FORWARD_DELAY + MAX_AGE);
        } else if !self.topology_change_detected {
            self.transmit_tcn();
            self.tcn_timer = Some(now + HELLO_TIME);
        }
        self.topology_change_detected = true;
    }

    /// `br_transmit_tcn`: out of the root port.
    fn transmit_tcn(&mut self) {
        if let Some(rp) = self.root_port {
            self.out.push((rp, Bpdu::Tcn));
        }
    }

    /// `br_config_bpdu_generation`.
    fn config_bpdu_generation(&mut self, now: Instant) {
        for p in 0..self.ports.len() {
            if self.ports[p].member
                && self.ports[p].state != PortState::Disabled
                && self.is_designated_port(p)
            {
                self.transmit_config(now, p);
            }
        }
    }

    /// `br_transmit_config`: at most one per hold time; a later one waits for it.
    fn transmit_config(&mut self, now: Instant, p: usize) {
        if self.ports[p].hold_timer.is_some() {
            self.ports[p].config_pending = true;
            return;
        }
        let message_age = match self.root_port {
            None => Duration::ZERO,
            Some(rp) => {
                now.saturating_sub(self.ports[usize::from(rp)].designated_age) + MESSAGE_AGE_INCR
            }
        };
        if message_age >= self.max_age {
            return;
        }
        let port = &mut self.ports[p];
        let bpdu = ConfigBpdu {
            topology_change: self.topology_change,
            topology_change_ack: port.topology_change_ack,
            root: self.designated_root,
            root_path_cost: self.root_path_cost,
            bridge_id: self.bridge_id,
            port_id: port.port_id,
            message_age,
            max_age: self.max_age,
            hello_time: self.hello_time,
            forward_delay: self.forward_delay,
        };
        port.topology_change_ack = false;
        port.config_pending = false;
        port.hold_timer = Some(now + HOLD_TIME);
        self.out.push((p as u16, Bpdu::Config(bpdu)));
    }

    /// A BPDU arrived on port `p` (`br_stp_rcv`); a disabled port ignores it.
    pub fn receive(&mut self, now: Instant, p: usize, bpdu: &Bpdu) {
        if p >= self.ports.len()
            || !self.ports[p].member
            || self.ports[p].state == PortState::Disabled
        {
            return;
        }
        match bpdu {
            Bpdu::Config(c) => self.received_config_bpdu(now, p, c),
            Bpdu::Tcn => self.received_tcn_bpdu(now, p),
        }
    }

    /// `br_supersedes_port_info`.
    fn supersedes_port_info(&self, p: usize, b: &ConfigBpdu) -> bool {
        let port = &self.ports[p];
        let theirs = (b.root, b.root_path_cost, b.bridge_id);
        let ours = (
            port.designated_root,
            port.designated_cost,
            port.designated_bridge,
        );
        if theirs != ours {
            return theirs < ours;
        }
        b.bridge_id != self.bridge_id || b.port_id <= port.designated_port
    }

    /// `br_received_config_bpdu`.
    fn received_config_bpdu(&mut self, now: Instant, p: usize, b: &ConfigBpdu) {
        let was_root = self.is_root();
        if self.supersedes_port_info(p, b) {
            // `br_record_config_information`.
            let port = &mut self.ports[p];
            port.designated_root = b.root;
            port.designated_cost = b.root_path_cost;
            port.designated_bridge = b.bridge_id;
            port.designated_port = b.port_id;
            port.designated_age =
                Instant::from_nanos(now.nanos().saturating_sub(b.message_age.nanos()));
            port.message_age_timer = Some(
                now + Duration::from_nanos(b.max_age.nanos().saturating_sub(b.message_age.nanos())),
            );
            self.configuration_update();
            self.port_state_selection(now);
            if !self.is_root() && was_root {
                self.hello_timer = None;
                if self.topology_change_detected {
                    self.topology_change_timer = None;
                    self.transmit_tcn();
                    self.tcn_timer = Some(now + HELLO_TIME);
                }
            }
            if self.root_port == Some(p as u16) {
                // `br_record_config_timeout_values`.
                self.max_age = b.max_age;
                self.hello_time = b.hello_time;
                self.forward_delay = b.forward_delay;
                self.topology_change = b.topology_change;
                self.config_bpdu_generation(now);
                if b.topology_change_ack {
                    // `br_topology_change_acknowledged`.
                    self.topology_change_detected = false;
                    self.tcn_timer = None;
                }
            }
        } else if self.is_designated_port(p) {
            // `br_reply`.
            self.transmit_config(now, p);
        }
    }

    /// `br_received_tcn_bpdu`.
    fn received_tcn_bpdu(&mut self, now: Instant, p: usize) {
        if self.is_designated_port(p) {
            self.topology_change_detection(now);
            // `br_topology_change_acknowledge`.
            self.ports[p].topology_change_ack = true;
            self.transmit_config(now, p);
        }
    }

    /// `br_become_root_bridge`.
    fn become_root_bridge(&mut self, now: Instant) {
        self.max_age = MAX_AGE;
        self.hello_time = HELLO_TIME;
        self.forward_delay = FORWARD_DELAY;
        self.topology_change_detection(now);
        self.tcn_timer = None;
        self.config_bpdu_generation(now);
        self.hello_timer = Some(now + self.hello_time);
    }

    /// The earliest timer, if any runs.
    pub fn next_timer(&self) -> Option<Instant> {
        let bridge = [self.hello_timer, self.tcn_timer, self.topology_change_timer];
        let ports = self
            .ports
            .iter()
            .flat_map(|p| [p.message_age_timer, p.forward_delay_timer, p.hold_timer]);
        bridge.into_iter().chain(ports).flatten().min()
    }

    /// Runs every timer due at `now`: the bridge's, then each port's in port order
    /// (`br_stp_timer.c`).
    pub fn run_timers(&mut self, now: Instant) {
        let due = |t: &mut Option<Instant>| match *t {
            Some(at) if at <= now => {
                *t = None;
                true
            }
            _ => false,
        };
        if due(&mut self.hello_timer) {
            self.config_bpdu_generation(now);
            self.hello_timer = Some(now + self.hello_time);
        }
        if due(&mut self.tcn_timer) && !self.is_root() {
            self.transmit_tcn();
            self.tcn_timer = Some(now + HELLO_TIME);
        }
        if due(&mut self.topology_change_timer) {
            self.topology_change_detected = false;
            self.topology_change = false;
        }
        for p in 0..self.ports.len() {
            if due(&mut self.ports[p].message_age_timer) {
                self.message_age_expired(now, p);
            }
            if due(&mut self.ports[p].forward_delay_timer) {
                self.forward_delay_expired(now, p);
            }
            if due(&mut self.ports[p].hold_timer) && self.ports[p].config_pending {
                self.transmit_config(now, p);
            }
        }
    }

    /// `br_message_age_timer_expired`: the information the port held is too old.
    fn message_age_expired(&mut self, now: Instant, p: usize) {
        if self.ports[p].state == PortState::Disabled || self.is_designated_port(p) {
            return;
        }
        let was_root = self.is_root();
        self.become_designated_port(p);
        self.configuration_update();
        self.port_state_selection(now);
        if self.is_root() && !was_root {
            self.become_root_bridge(now);
        }
    }

    /// `br_forward_delay_timer_expired`: listening → learning → forwarding.
    fn forward_delay_expired(&mut self, now: Instant, p: usize) {
        match self.ports[p].state {
            PortState::Listening => {
                self.set_state(p, PortState::Learning);
                self.ports[p].forward_delay_timer = Some(now + self.forward_delay);
            }
            PortState::Learning => {
                self.set_state(p, PortState::Forwarding);
                let designated_for_some = (0..self.ports.len()).any(|q| {
                    self.ports[q].member
                        && self.ports[q].state != PortState::Disabled
                        && self.ports[q].designated_bridge == self.bridge_id
                });
                if designated_for_some {
                    self.topology_change_detection(now);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_bpdu_round_trips_and_matches_the_wire_layout() {
        let b = Bpdu::Config(ConfigBpdu {
            topology_change: true,
            topology_change_ack: false,
            root: BridgeId::new(0x8000, [2, 0, 0, 0, 0, 1]),
            root_path_cost: 2,
            bridge_id: BridgeId::new(0x8000, [2, 0, 0, 0, 0, 2]),
            port_id: 0x8001,
            message_age: from_ticks(1),
            max_age: MAX_AGE,
            hello_time: HELLO_TIME,
            forward_delay: FORWARD_DELAY,
        });
        let mut f = Vec::new();
        b.encode([2, 0, 0, 0, 0, 9], &mut f);
        assert_eq!(f.len(), 14 + 3 + 35);
        assert_eq!(&f[12..17], &[0, 38, 0x42, 0x42, 0x03]);
        assert_eq!(f[21], 0x01, "flags: TC");
        assert_eq!(&f[22..24], &[0x80, 0x00], "root priority");
        assert_eq!(&f[46..48], &[0x14, 0x00], "max age 20 s in 1/256 s");
        assert_eq!(Bpdu::parse(&f), Some(b));
        let mut t = Vec::new();
        Bpdu::Tcn.encode([2, 0, 0, 0, 0, 9], &mut t);
        assert_eq!(t.len(), 21);
        assert_eq!(Bpdu::parse(&t), Some(Bpdu::Tcn));
        assert_eq!(Bpdu::parse(&f[..20]), None);
    }

    /// Two bridges joined by two links (ports 0 and 1 of each): delivers every BPDU at
    /// once, runs timers, and returns both when `until` is reached.
    fn converge(until: u64) -> (Stp, Stp) {
        let mut a = Stp::new([2, 0, 0, 0, 0, 1], &[true, true]);
        let mut b = Stp::new([2, 0, 0, 0, 0, 2], &[true, true]);
        a.enable(Instant::ZERO, &[true, true]);
        b.enable(Instant::ZERO, &[true, true]);
        let mut now = Instant::ZERO;
        while now < Instant::ZERO + Duration::from_secs(until) {
            for _ in 0..10 {
                let from_a = std::mem::take(&mut a.out);
                let from_b = std::mem::take(&mut b.out);
                for (p, bpdu) in &from_a {
                    b.receive(now, usize::from(*p), bpdu);
                }
                for (p, bpdu) in &from_b {
                    a.receive(now, usize::from(*p), bpdu);
                }
            }
            let next = [a.next_timer(), b.next_timer()].into_iter().flatten().min();
            let Some(next) = next else { break };
            now = next;
            a.run_timers(now);
            b.run_timers(now);
        }
        (a, b)
    }

    #[test]
    fn the_lower_id_is_root_and_the_other_blocks_its_second_port() {
        let (a, b) = converge(40);
        assert!(a.is_root());
        assert_eq!(b.designated_root, a.bridge_id);
        assert_eq!(b.root_port, Some(0));
        assert_eq!(b.root_path_cost, PATH_COST);
        let states = |s: &Stp| s.ports.iter().map(|p| p.state).collect::<Vec<_>>();
        assert_eq!(states(&a), [PortState::Forwarding, PortState::Forwarding]);
        assert_eq!(states(&b), [PortState::Forwarding, PortState::Blocking]);
    }

    #[test]
    fn ports_listen_then_learn_for_a_forward_delay_each() {
        let (_, b) = converge(14);
        assert_eq!(b.ports[0].state, PortState::Listening);
        let (_, b) = converge(16);
        assert_eq!(b.ports[0].state, PortState::Learning);
        assert_eq!(b.ports[1].state, PortState::Blocking);
    }

    #[test]
    fn bridge_id_prints_as_sysfs_does() {
        let id = BridgeId::new(0x8000, [0x02, 0x42, 0xac, 0x11, 0, 2]);
        assert_eq!(id.to_string(), "8000.0242ac110002");
    }
}
