//! Decisions a node or link made about a frame, recorded as compact values. Text is made only
//! when a note is shown or written as a capture comment, so recording costs a push.

use smoltcp::wire::EthernetAddress;

use crate::wire::Mac;

/// Why a frame went no further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The link's random loss (`loss:` in the lab).
    LinkLoss,
    /// The link is down.
    LinkDown,
    /// The frame's payload exceeds the link's MTU.
    Mtu { mtu: u32 },
    /// The link's transmit queue was full.
    QueueFull { limit: u32 },
    /// The interface is not attached to any link.
    NoCarrier,
    /// A bridge does not send a frame back out of the port it came in on.
    SamePort,
    /// A frame with a source MAC that cannot be learned (multicast or zero).
    BadSource,
    /// The frame is too short or its headers cannot be parsed.
    Malformed,
}

/// One decision about one frame at one hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

impl DropReason {
    pub fn describe(&self) -> String {
        match self {
            DropReason::LinkLoss => "link loss".into(),
            DropReason::LinkDown => "link down".into(),
            DropReason::Mtu { mtu } => format!("frame exceeds MTU {mtu}"),
            DropReason::QueueFull { limit } => format!("queue full ({limit} packets)"),
            DropReason::NoCarrier => "no carrier (interface not linked)".into(),
            DropReason::SamePort => "destination is on the ingress port".into(),
            DropReason::BadSource => "invalid source MAC".into(),
            DropReason::Malformed => "malformed frame".into(),
        }
    }

    /// A short stable key for counters and JSON.
    pub fn key(&self) -> &'static str {
        match self {
            DropReason::LinkLoss => "link_loss",
            DropReason::LinkDown => "link_down",
            DropReason::Mtu { .. } => "mtu",
            DropReason::QueueFull { .. } => "queue_full",
            DropReason::NoCarrier => "no_carrier",
            DropReason::SamePort => "same_port",
            DropReason::BadSource => "bad_source",
            DropReason::Malformed => "malformed",
        }
    }
}

impl Note {
    /// The note as a capture comment; `port_name` resolves the node's local port numbers.
    pub fn describe(&self, port_name: &dyn Fn(u16) -> String) -> String {
        match *self {
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
        }
    }
}
