//! Wireshark display filters (a documented subset), evaluated on raw Ethernet
//! frames so that a lab expectation counts exactly what
//! `tshark -r capture.pcapng -Y FILTER` counts with the same string.
//! Every rule below was checked against tshark 4.0.17.
//!
//! # Fields
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `frame` | protocol | every frame |
//! | `frame.len` | uint32 | frame length in bytes |
//! | `frame.comment` | string | pcapng frame comment (absent when none) |
//! | `eth` | protocol | Ethernet header present |
//! | `eth.src`, `eth.dst` | MAC | source, destination MAC |
//! | `eth.addr` | MAC | source or destination MAC |
//! | `eth.type` | uint16 | EtherType (absent for 802.3 length frames); 0x8100 on a tagged frame |
//! | `vlan` | protocol | 802.1Q tag present |
//! | `vlan.id` | uint16 | VLAN id |
//! | `vlan.priority` | uint16 | priority code point (0-7) |
//! | `vlan.dei` | flag | drop eligible indicator |
//! | `vlan.etype` | uint16 | the EtherType the tag carries |
//! | `arp` | protocol | ARP packet present |
//! | `arp.opcode` | uint16 | 1 request, 2 reply |
//! | `arp.src.hw_mac`, `arp.dst.hw_mac` | MAC | sender, target MAC |
//! | `arp.src.proto_ipv4`, `arp.dst.proto_ipv4` | IPv4 | sender, target address |
//! | `ip` | protocol | IPv4 header present |
//! | `ip.src`, `ip.dst` | IPv4 | source, destination address |
//! | `ip.addr` | IPv4 | source or destination address |
//! | `ip.ttl`, `ip.proto` | uint8 | time to live, protocol number |
//! | `ip.len`, `ip.id` | uint16 | total length, identification |
//! | `ip.flags.df` | flag | don't fragment |
//! | `ipv6` | protocol | IPv6 header present |
//! | `ipv6.src`, `ipv6.dst` | IPv6 | source, destination address |
//! | `ipv6.addr` | IPv6 | source or destination address |
//! | `ipv6.hlim`, `ipv6.nxt` | uint8 | hop limit, the fixed header's next header |
//! | `ipv6.plen` | uint16 | payload length |
//! | `icmpv6` | protocol | ICMPv6 message present |
//! | `icmpv6.type`, `icmpv6.code` | uint8 | ICMPv6 type (128 echo request, 129 reply, 133-137 NDP, 1-4 errors) and code |
//! | `icmpv6.nd.ns.target_address`, `icmpv6.nd.na.target_address` | IPv6 | a neighbor solicitation's, advertisement's target |
//! | `icmpv6.mtu` | uint32 | a packet too big's MTU |
//! | `icmp` | protocol | ICMP message present |
//! | `icmp.type`, `icmp.code` | uint8 | ICMP type (8 echo request, 0 reply, 3, 11, ...) and code |
//! | `icmp.ident`, `icmp.seq` | uint16 | identifier, sequence number (echo, timestamp, mask types only) |
//! | `tcp` | protocol | TCP segment present |
//! | `tcp.srcport`, `tcp.dstport` | uint16 | source, destination port |
//! | `tcp.port` | uint16 | source or destination port |
//! | `tcp.len` | uint32 | payload length |
//! | `tcp.flags.syn`, `tcp.flags.ack`, `tcp.flags.reset`, `tcp.flags.fin`, `tcp.flags.push` | flag | TCP flags (RST is `reset`, as in Wireshark) |
//! | `udp` | protocol | UDP datagram present |
//! | `udp.srcport`, `udp.dstport` | uint16 | source, destination port |
//! | `udp.port` | uint16 | source or destination port |
//! | `udp.length` | uint16 | UDP length field (header + payload) |
//!
//! # Values
//!
//! | type | accepted literals |
//! |---|---|
//! | uint | `64`, `0x40`, `0b1000000`; a leading `0` is octal (`010` is 8), as in Wireshark; must fit the field |
//! | flag | `1`/`0` (any non-zero number is true), `True`/`TRUE`/`False`/`FALSE` |
//! | IPv4 | `172.17.0.3`, or a CIDR prefix `172.16.0.0/12` (each side is masked, also for `<`/`>`) |
//! | IPv6 | `2001:db8::10`, `fe80::1`, or a CIDR prefix `2001:db8::/32` (masked the same way) |
//! | MAC | `02:42:ac:11:00:02`, `02-42-ac-11-00-02`, `02.42.ac.11.00.02`, `0242.ac11.0002`, `0242ac110002` |
//! | string | `"..."` only (double quotes), escapes `\"` `\\` `\n` `\r` `\t` `\xHH` `\NNN` (ASCII) |
//!
//! # Operators
//!
//! | operator | meaning |
//! |---|---|
//! | `==` `eq`, `<` `lt`, `<=` `le`, `>` `gt`, `>=` `ge` | true if ANY occurrence of the field compares true |
//! | `!=` `ne` | true if the field occurs and ALL occurrences differ |
//! | `contains` | substring test, `frame.comment` only (`contains ""` is never true) |
//! | `!` `not`, `&&` `and`, `\|\|` `or` | in decreasing precedence; `(` `)` group |
//! | bare `field` or `protocol` | presence test (a bare flag such as `tcp.flags.syn` is true whenever the TCP header is there, whatever its value) |
//!
//! An empty filter matches every frame. Keywords are lower case only (`and`,
//! not `AND`), as in Wireshark.
//!
//! # Semantics worth knowing (all as tshark does)
//!
//! - A comparison on a field the frame lacks is false, for `!=` too:
//!   `tcp.port != 80` is false on a UDP frame, while `!(tcp.port == 80)` is true.
//! - `!=` on a field that occurs twice is "none equal": `ip.addr != 10.0.0.1`
//!   excludes every packet from or to 10.0.0.1, same for `eth.addr`, `tcp.port`.
//! - ICMP errors (destination unreachable, source quench, redirect, time
//!   exceeded, parameter problem) quote an IPv4 header and its first bytes:
//!   the quoted header's `ip.*` fields, its `icmp.*`, `tcp.*` (ports; flags
//!   when 20 TCP bytes are quoted; never `tcp.len`) and `udp.*` fields, and the
//!   `tcp`/`udp` protocols, also occur in the frame. So `ip.src == X` matches an
//!   ICMP error about a packet X sent, `icmp.type == 8` matches a time exceeded
//!   quoting an echo request, and `tcp` matches an unreachable quoting a SYN.
//!   ICMPv6 errors (destination unreachable, packet too big, time exceeded, parameter
//!   problem) quote an IPv6 packet the same way (`ipv6.*`, `icmpv6.*`, `tcp.*`, `udp.*`).
//! - IPv6's hop-by-hop, routing and destination options headers are skipped to reach
//!   what they carry (an MLD report under hop-by-hop options is `icmpv6`); `ipv6.nxt` is
//!   the fixed header's next header, as in Wireshark.
//! - `frame.len` is the length of the bytes given (captures are not truncated).
//! - A tagged frame's fields under the tag (`arp`, `ip.src`, `tcp.port`, ...) are its
//!   own, as if the tag were not there; a frame with two 802.1Q tags has two `vlan.id`s.
//!
//! # Not supported (a parse error, never a silent difference)
//!
//! Other fields (`tcp.seq` and `tcp.ack` in particular: Wireshark shows
//! relative numbers), field-to-field comparisons, unquoted strings, negative
//! numbers, `matches`/`~`, `===`/`!==`, `in {...}`, slices, arithmetic and
//! functions.
//!
//! Known differences, on unusual or malformed frames only:
//!
//! - only Ethernet II with IPv4 or IPv6 is dissected, with up to two 802.1Q (0x8100) tags
//!   (no 802.1ad 0x88a8 tags, no LLC/SNAP, nothing under a third tag);
//! - a header truncated below its minimum (IPv4 20 bytes, IPv6 40; TCP, UDP and
//!   ICMP 8 bytes, ICMPv6 4; TCP flags need 20) is absent as a whole, where tshark shows the
//!   protocol and the fields that fit;
//! - IPv4 fragments and whatever follows an IPv6 fragment header carry no
//!   `tcp`/`udp`/`icmp`/`icmpv6` fields here, while tshark
//!   (reassembling by default) shows them on the frame that completes the
//!   datagram.

mod dissect;
mod eval;
mod fields;
mod lexer;
mod parse;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod tests;
mod values;

/// Every supported field and protocol name with a one-line description.
pub const FIELDS: &[(&str, &str)] = &fields::NAMES;

/// A parsed display filter.
#[derive(Debug, Clone)]
pub struct Filter {
    text: String,
    /// `None` for an empty filter, which matches every frame.
    root: Option<parse::Node>,
}

impl Filter {
    /// Parses `text`; errors carry the 1-based char column of the problem.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let tokens = lexer::tokenize(text)?;
        let root = parse::Parser::new(tokens).parse()?;
        Ok(Filter {
            text: text.to_owned(),
            root,
        })
    }

    /// `frame` is a whole Ethernet II frame (dst MAC first); `comment` is the pcapng frame comment if any.
    pub fn matches(&self, frame: &[u8], comment: Option<&str>) -> bool {
        match &self.root {
            None => true,
            Some(root) => eval::eval(root, &dissect::Packet::dissect(frame, comment)),
        }
    }

    /// The original text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A filter that does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    /// 1-based char column in the filter text.
    pub column: usize,
    pub message: String,
}
