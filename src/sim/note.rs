//! Decisions a node or link made about a frame, recorded as compact values. Text is made only
//! when a note is shown or written as a capture comment, so recording costs a push.
//!
//! A node may own its notes: it defines a small `Copy` type for them and implements
//! `NodeNote` (pack into two words, unpack, describe), and the engine keeps them as `OwnNote`
//! values, with no allocation, without knowing the type. The bridge's notes are its own
//! (`bridge::BridgeNote`); the variants of `Note` left are the router's and the generic ones.

use std::any::TypeId;
use std::borrow::Cow;

pub use crate::dropped::DropReason;

/// A node's own kind of note (see the module's text).
pub trait NodeNote: Copy + 'static {
    /// The note in two words.
    fn pack(self) -> [u64; 2];
    /// The note back from what `pack` made.
    fn unpack(words: [u64; 2]) -> Self;
    /// The note as a capture comment, appended to `out`; `port_name` resolves the node's
    /// local port numbers.
    fn describe_into<'a>(&self, out: &mut String, port_name: &dyn Fn(u16) -> Cow<'a, str>);
}

/// Writes a packed note (see `NodeNote::describe_into`).
type Describer = for<'a> fn([u64; 2], &mut String, &dyn Fn(u16) -> Cow<'a, str>);

/// A node's own note as the engine keeps it: its words, its type and its describer.
#[derive(Clone, Copy)]
pub struct OwnNote {
    words: [u64; 2],
    kind: fn() -> TypeId,
    describe: Describer,
}

fn describe_packed<'a, N: NodeNote>(
    words: [u64; 2],
    out: &mut String,
    port_name: &dyn Fn(u16) -> Cow<'a, str>,
) {
    N::unpack(words).describe_into(out, port_name);
}

impl OwnNote {
    #[inline]
    pub fn new<N: NodeNote>(note: N) -> OwnNote {
        OwnNote {
            words: note.pack(),
            kind: TypeId::of::<N>,
            describe: describe_packed::<N>,
        }
    }

    /// The note as its node's type, if it is one of `N`.
    pub fn get<N: NodeNote>(&self) -> Option<N> {
        ((self.kind)() == TypeId::of::<N>()).then(|| N::unpack(self.words))
    }

    pub fn describe_into<'a>(&self, out: &mut String, port_name: &dyn Fn(u16) -> Cow<'a, str>) {
        (self.describe)(self.words, out, port_name);
    }
}

impl PartialEq for OwnNote {
    fn eq(&self, other: &Self) -> bool {
        (self.kind)() == (other.kind)() && self.words == other.words
    }
}

impl Eq for OwnNote {}

impl std::fmt::Debug for OwnNote {
    /// As described with port numbers for names.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::new();
        self.describe_into(&mut text, &|p| Cow::Owned(format!("port {p}")));
        write!(f, "OwnNote({text:?})")
    }
}

/// One decision about one frame at one hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A note of the node's own type (see `NodeNote`).
    Own(OwnNote),
    Dropped(DropReason),
    /// A router sent the packet on: out of `port`, to `via` (a gateway) or straight to the
    /// destination.
    Routed {
        port: u16,
        via: Option<smoltcp::wire::IpAddress>,
        /// The interface's name when it has no port of its own (a VLAN device, which sends
        /// through `port`).
        dev: Option<Box<str>>,
    },
    /// A router waits for ARP (or, for IPv6, neighbour discovery) before it can send the
    /// packet.
    Queued {
        next_hop: smoltcp::wire::IpAddress,
    },
    /// A router answered the frame with an ICMP message of this type and code.
    Icmp {
        kind: u8,
        code: u8,
    },
    /// A router answered the frame with an ICMPv6 message of this type and code.
    Icmpv6 {
        kind: u8,
        code: u8,
    },
    /// The packet was for the router itself.
    Local,
    /// A LOG rule's kernel log line (prefix and fields, as dmesg shows it after the time).
    Log(Box<str>),
    /// What decided the packet's fate at a rule set, in words (`filter FORWARD: dropped by
    /// rule 3 of DOCKER: -A DOCKER ... -j DROP`).
    Decision(Box<str>),
    /// NAT rewrote the packet's source or destination (`by`: the target that made the
    /// binding; `reply`: a reply un-NATed).
    Rewrite {
        by: &'static str,
        reply: bool,
        source: bool,
        before: (smoltcp::wire::IpAddress, u16),
        after: (smoltcp::wire::IpAddress, u16),
    },
}

/// `addr:port`, or `addr` without a port.
/// `ADDR:PORT`, an IPv6 address in brackets as URLs write it.
fn endpoint((addr, port): (smoltcp::wire::IpAddress, u16)) -> String {
    match (port, addr) {
        (0, _) => addr.to_string(),
        (p, smoltcp::wire::IpAddress::Ipv6(a)) => format!("[{a}]:{p}"),
        (p, _) => format!("{addr}:{p}"),
    }
}

impl Note {
    /// The note as a capture comment; `port_name` resolves the node's local port numbers.
    pub fn describe(&self, port_name: &dyn Fn(u16) -> String) -> String {
        let mut out = String::new();
        self.describe_into(&mut out, &|p| port_name(p).into());
        out
    }

    /// As `describe`, appended to `out`: a node's own notes (the commonest of a captured
    /// run: forwarded, learned, flooded) are written without a `String` of their own.
    pub fn describe_into<'a>(
        &self,
        out: &mut String,
        port_name: &dyn Fn(u16) -> std::borrow::Cow<'a, str>,
    ) {
        match self {
            Note::Own(note) => note.describe_into(out, port_name),
            _ => out.push_str(&self.describe_owned(&|p| port_name(p).into_owned())),
        }
    }

    fn describe_owned(&self, port_name: &dyn Fn(u16) -> String) -> String {
        match *self {
            Note::Log(ref line) => format!("LOG: {}", line.trim_end()),
            Note::Decision(ref text) => text.to_string(),
            Note::Rewrite {
                by,
                reply,
                source,
                before,
                after,
            } => format!(
                "{by}{} {} {} → {}",
                if reply { " (reply)" } else { "" },
                if source { "src" } else { "dst" },
                endpoint(before),
                endpoint(after)
            ),
            Note::Own(ref note) => {
                let mut out = String::new();
                note.describe_into(&mut out, &|p| Cow::Owned(port_name(p)));
                out
            }
            Note::Dropped(reason) => format!("dropped: {}", reason.describe()),
            Note::Routed { port, via, ref dev } => {
                let dev = dev
                    .as_deref()
                    .map_or_else(|| port_name(port), str::to_string);
                match via {
                    Some(gw) => format!("routed via {gw} dev {dev}"),
                    None => format!("routed dev {dev} (directly connected)"),
                }
            }
            Note::Queued { next_hop } => match next_hop {
                smoltcp::wire::IpAddress::Ipv4(_) => format!("queued: resolving {next_hop} (ARP)"),
                smoltcp::wire::IpAddress::Ipv6(_) => {
                    format!("queued: resolving {next_hop} (neighbour discovery)")
                }
            },
            Note::Icmp { kind, code } => format!("answered with ICMP {}", icmp_name(kind, code)),
            Note::Icmpv6 { kind, code } => {
                format!("answered with ICMPv6 {}", icmpv6_name(kind, code))
            }
            Note::Local => "delivered locally".into(),
        }
    }
}

/// ICMP type and code as Wireshark names them.
/// An ICMPv6 message's name, as RFC 4443 words it.
pub fn icmpv6_name(kind: u8, code: u8) -> String {
    match (kind, code) {
        (1, 0) => "destination unreachable (no route to destination)".into(),
        (1, 1) => "destination unreachable (administratively prohibited)".into(),
        (1, 2) => "destination unreachable (beyond scope of source address)".into(),
        (1, 3) => "destination unreachable (address unreachable)".into(),
        (1, 4) => "destination unreachable (port unreachable)".into(),
        (2, _) => "packet too big".into(),
        (3, 0) => "time exceeded (hop limit exceeded in transit)".into(),
        (4, 1) => "parameter problem (unrecognized next header)".into(),
        (129, _) => "echo reply".into(),
        (136, _) => "neighbor advertisement".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}

pub fn icmp_name(kind: u8, code: u8) -> String {
    match (kind, code) {
        (0, _) => "echo reply".into(),
        (3, 0) => "destination unreachable (network unreachable)".into(),
        (3, 1) => "destination unreachable (host unreachable)".into(),
        (3, 2) => "destination unreachable (protocol unreachable)".into(),
        (3, 3) => "destination unreachable (port unreachable)".into(),
        (3, 4) => "destination unreachable (fragmentation needed)".into(),
        (3, 13) => "destination unreachable (communication administratively filtered)".into(),
        (11, 0) => "time exceeded (TTL expired in transit)".into(),
        (t, c) => format!("type {t} code {c}"),
    }
}
