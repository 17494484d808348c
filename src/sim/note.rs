//! Decisions a node or link made about a frame, recorded as compact values. Text is made only
//! when a note is shown or written as a capture comment, so recording costs a push.

use smoltcp::wire::EthernetAddress;

pub use crate::dropped::DropReason;
use crate::wire::Mac;

/// One decision about one frame at one hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    /// A bridge learned `mac` on a port.
    Learned {
        mac: EthernetAddress,
        port: u16,
    },
    /// A bridge saw a known `mac` move from one port to another.
    Moved {
        mac: EthernetAddress,
        from: u16,
        to: u16,
    },
    /// A bridge could not learn `mac`: its FDB is at capacity.
    FdbFull {
        mac: EthernetAddress,
    },
    /// A bridge sent the frame out of one port (destination known).
    Forwarded {
        port: u16,
    },
    /// A bridge sent the frame out of every port but the ingress (`ports` of them).
    Flooded {
        ports: u32,
        unknown_unicast: bool,
    },
    Dropped(DropReason),
    /// A router sent the packet on: out of `port`, to `via` (a gateway) or straight to the
    /// destination.
    Routed {
        port: u16,
        via: Option<smoltcp::wire::Ipv4Address>,
        /// The interface's name when it has no port of its own (a VLAN device, which sends
        /// through `port`).
        dev: Option<Box<str>>,
    },
    /// A router waits for ARP before it can send the packet.
    Queued {
        next_hop: smoltcp::wire::Ipv4Address,
    },
    /// A router answered the frame with an ICMP message of this type and code.
    Icmp {
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
        before: (smoltcp::wire::Ipv4Address, u16),
        after: (smoltcp::wire::Ipv4Address, u16),
    },
}

/// `addr:port`, or `addr` without a port.
fn endpoint((addr, port): (smoltcp::wire::Ipv4Address, u16)) -> String {
    match port {
        0 => addr.to_string(),
        p => format!("{addr}:{p}"),
    }
}

impl Note {
    /// The note as a capture comment; `port_name` resolves the node's local port numbers.
    pub fn describe(&self, port_name: &dyn Fn(u16) -> String) -> String {
        let mut out = String::new();
        self.describe_into(&mut out, &|p| port_name(p).into());
        out
    }

    /// As `describe`, appended to `out`: the commonest notes of a captured run (forwarded,
    /// learned, flooded) are written without a `String` of their own.
    pub fn describe_into<'a>(
        &self,
        out: &mut String,
        port_name: &dyn Fn(u16) -> std::borrow::Cow<'a, str>,
    ) {
        use std::fmt::Write;
        match *self {
            Note::Forwarded { port } => {
                out.push_str("forwarded to ");
                out.push_str(&port_name(port));
            }
            Note::Learned { mac, port } => {
                let _ = write!(out, "learned {} on {}", Mac(mac), port_name(port));
            }
            Note::Flooded {
                ports,
                unknown_unicast,
            } => {
                let what = if unknown_unicast {
                    "unknown unicast"
                } else {
                    "broadcast/multicast"
                };
                let s = if ports == 1 { "" } else { "s" };
                let _ = write!(out, "flooded ({what}) to {ports} port{s}");
            }
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
            Note::Learned { mac, port } => format!("learned {} on {}", Mac(mac), port_name(port)),
            Note::Moved { mac, from, to } => {
                format!(
                    "{} moved from {} to {}",
                    Mac(mac),
                    port_name(from),
                    port_name(to)
                )
            }
            Note::FdbFull { mac } => format!("not learned {}: FDB full", Mac(mac)),
            Note::Forwarded { port } => format!("forwarded to {}", port_name(port)),
            Note::Flooded {
                ports,
                unknown_unicast,
            } => {
                let what = if unknown_unicast {
                    "unknown unicast"
                } else {
                    "broadcast/multicast"
                };
                format!(
                    "flooded ({what}) to {ports} port{}",
                    if ports == 1 { "" } else { "s" }
                )
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
            Note::Queued { next_hop } => format!("queued: resolving {next_hop} (ARP)"),
            Note::Icmp { kind, code } => format!("answered with ICMP {}", icmp_name(kind, code)),
            Note::Local => "delivered locally".into(),
        }
    }
}

/// ICMP type and code as Wireshark names them.
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
