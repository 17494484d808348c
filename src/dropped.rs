//! Why a frame went no further: the reasons links, the engine and nodes give, as compact
//! values (text is made only when a capture comment or a trace shows one). Below the link
//! and the engine, which both drop frames.

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
    /// An IPv4 header that fails the kernel's checks (version, length, checksum).
    BadIpHeader,
    /// A unicast frame for another MAC reached a router interface.
    OtherHost,
    /// A router with forwarding off got a packet for another host.
    ForwardingOff,
    /// The packet was larger than the egress MTU, without DF, and fragmentation is not modelled.
    NeedsFragmenting,
    /// Address resolution of the next hop failed.
    NeighbourFailed,
    /// A queue for an unresolved neighbour, or the neighbour table, was full.
    NeighbourQueueFull,
    /// A netfilter rule or policy dropped or rejected it.
    Filtered,
    /// A new flow found the conntrack table full (`nf_conntrack_max`).
    ConntrackFull,
    /// A loopback address where `route_localnet` does not allow one.
    Martian,
    /// The source fails the reverse-path check (`rp_filter`): no route back to it, or, in
    /// strict mode, none through the interface it came in on.
    ReversePath,
    /// From a TAP: too short for its own headers.
    Runt,
    /// From a TAP: larger than the TAP's MTU allows.
    Oversize,
    /// From a TAP: an IPv4 header whose checksum is wrong.
    BadIpChecksum,
    /// A bridge port that spanning tree keeps from forwarding (blocking, listening,
    /// learning).
    PortState,
    /// VLAN filtering: an untagged frame came in on a bridge port without a PVID.
    NoPvid,
    /// VLAN filtering: the frame's VLAN is not one of the bridge port's (in or out).
    VlanNotMember { vid: u16 },
    /// A frame tagged for a VLAN no subinterface of the receiving interface has.
    UnknownVlan { vid: u16 },
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
            DropReason::BadIpHeader => "bad IPv4 header".into(),
            DropReason::OtherHost => "not addressed to this interface".into(),
            DropReason::ForwardingOff => "forwarding is off (net.ipv4.ip_forward=0)".into(),
            DropReason::NeedsFragmenting => {
                "exceeds the egress MTU (fragmentation is not modelled)".into()
            }
            DropReason::NeighbourFailed => "next hop did not answer ARP".into(),
            DropReason::NeighbourQueueFull => "neighbour queue full".into(),
            DropReason::Filtered => "netfilter".into(),
            DropReason::ConntrackFull => "conntrack table full (nf_conntrack_max)".into(),
            DropReason::Martian => "martian (127.0.0.0/8 without route_localnet)".into(),
            DropReason::ReversePath => {
                "reverse path filter (rp_filter): no route back to the source by this interface"
                    .into()
            }
            DropReason::Runt => "runt (too short for its headers)".into(),
            DropReason::Oversize => "oversize (larger than the MTU allows)".into(),
            DropReason::BadIpChecksum => "bad IPv4 header checksum".into(),
            DropReason::PortState => "port is not forwarding (STP)".into(),
            DropReason::NoPvid => "untagged, and the port has no PVID (VLAN filtering)".into(),
            DropReason::VlanNotMember { vid } => {
                format!("VLAN {vid} is not allowed on the port (VLAN filtering)")
            }
            DropReason::UnknownVlan { vid } => format!("tagged VLAN {vid}: no such VLAN device"),
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
            DropReason::BadIpHeader => "bad_ip_header",
            DropReason::OtherHost => "other_host",
            DropReason::ForwardingOff => "forwarding_off",
            DropReason::NeedsFragmenting => "needs_fragmenting",
            DropReason::NeighbourFailed => "neighbour_failed",
            DropReason::NeighbourQueueFull => "neighbour_queue_full",
            DropReason::Filtered => "filtered",
            DropReason::ConntrackFull => "conntrack_full",
            DropReason::Martian => "martian",
            DropReason::ReversePath => "reverse_path",
            DropReason::Runt => "runt",
            DropReason::Oversize => "oversize",
            DropReason::BadIpChecksum => "bad_ip_checksum",
            DropReason::PortState => "port_state",
            DropReason::NoPvid => "no_pvid",
            DropReason::VlanNotMember { .. } => "vlan_not_member",
            DropReason::UnknownVlan { .. } => "unknown_vlan",
        }
    }
}
