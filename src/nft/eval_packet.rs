//! What an nft expression loads from a packet into a register (`nft_payload`, `nft_meta`,
//! `nft_ct`, `nft_fib`), read from the [`PacketView`] the hooks give.
//!
//! Every value is written big-endian into a caller's buffer, so that comparing two values
//! byte by byte (`memcmp`, as `nft_cmp`, `nft_range` and the set backends do) orders them as
//! numbers. The kernel keeps `meta mark` and the like in host order and nft adds `byteorder`
//! expressions before a range or an interval lookup; big-endian throughout gives the same
//! answers without them. A load that finds nothing to read (no transport header in a
//! fragment, no connection for `ct mark`) answers `None`: the kernel's `NFT_BREAK`, which
//! ends the rule as a mismatch.

use crate::netfilter::{AddrType, CtState, Hook, PacketView};
use crate::time::Instant;

/// Where a payload offset counts from (`NFT_PAYLOAD_*_HEADER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadBase {
    /// The Ethernet header (`ether`, `vlan`): only for a packet that came in on an
    /// interface, whose MAC header the skb keeps.
    Link,
    /// The IPv4 header.
    Network,
    /// The transport header (`tcp`, `udp`, `icmp`, `th`), after the IP header's options.
    Transport,
}

/// `nft_payload_eval`: `len` bytes at `offset` from `base` into `out[..len]`.
pub fn load_payload(
    pkt: &PacketView<'_>,
    base: PayloadBase,
    offset: usize,
    len: usize,
    out: &mut [u8],
) -> Option<()> {
    let from: &[u8] = match base {
        PayloadBase::Link => match (&pkt.mac, pkt.in_iface) {
            (Some(mac), Some(_)) => mac,
            _ => return None,
        },
        PayloadBase::Network => ip_datagram(pkt.ip),
        PayloadBase::Transport => {
            // `NFT_PKTINFO_L4PROTO` is unset for a non-first fragment: its bytes are not a
            // transport header.
            if pkt.fragment {
                return None;
            }
            let ip = ip_datagram(pkt.ip);
            let hl = usize::from(ip.first()? & 0x0f) * 4;
            ip.get(hl..)?
        }
    };
    let bytes = from.get(offset..offset.checked_add(len)?)?;
    out.get_mut(..len)?.copy_from_slice(bytes);
    Some(())
}

/// The datagram as the skb holds it: `ip_rcv` trims the frame to the IP total length.
fn ip_datagram(ip: &[u8]) -> &[u8] {
    if ip.len() < 4 {
        return ip;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    &ip[..total.clamp(ip.len().min(20), ip.len())]
}

/// The `meta` keys a packet of the IP hooks answers (`nft_meta_get_eval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaKey {
    /// `skb->len`: the IP packet's length at the IP hooks (4 bytes).
    Len,
    /// The ethertype, `ip` (2 bytes).
    Protocol,
    /// The hook's family: `ipv4` (1 byte).
    NfProto,
    /// The transport protocol number (1 byte).
    L4Proto,
    /// `skb->mark` (4 bytes).
    Mark,
    /// Interface names, NUL-padded to `IFNAMSIZ` (16 bytes): a name ends at its first NUL,
    /// and a wildcard `"eth*"` compares only its prefix.
    IifName,
    OifName,
    /// `ARPHRD_*` of the interfaces (2 bytes): 1 Ethernet, 772 loopback.
    IifType,
    OifType,
    /// `PACKET_*` (1 byte): host 0, broadcast 1, multicast 2.
    PktType,
}

impl MetaKey {
    /// The register bytes the key loads.
    pub fn len(self) -> usize {
        match self {
            MetaKey::Len | MetaKey::Mark => 4,
            MetaKey::Protocol | MetaKey::IifType | MetaKey::OifType => 2,
            MetaKey::NfProto | MetaKey::L4Proto | MetaKey::PktType => 1,
            MetaKey::IifName | MetaKey::OifName => IFNAMSIZ,
        }
    }
}

/// The kernel's interface name buffer.
pub const IFNAMSIZ: usize = 16;

/// `NFPROTO_IPV4`.
pub const NFPROTO_IPV4: u8 = 2;

/// `nft_meta_get_eval`: the key's value into `out[..key.len()]`; `None` where the kernel
/// breaks (no input interface at OUTPUT, no output interface before routing).
pub fn load_meta(pkt: &PacketView<'_>, key: MetaKey, out: &mut [u8]) -> Option<()> {
    let out = out.get_mut(..key.len())?;
    match key {
        MetaKey::Len => out.copy_from_slice(&pkt.len.to_be_bytes()),
        MetaKey::Protocol => out.copy_from_slice(&0x0800u16.to_be_bytes()),
        MetaKey::NfProto => out[0] = NFPROTO_IPV4,
        MetaKey::L4Proto => out[0] = pkt.proto,
        MetaKey::Mark => out.copy_from_slice(&pkt.mark.to_be_bytes()),
        MetaKey::IifName => ifname(pkt.in_iface?, out),
        MetaKey::OifName => ifname(pkt.out_iface?, out),
        MetaKey::IifType => out.copy_from_slice(&arphrd(pkt.in_iface?).to_be_bytes()),
        MetaKey::OifType => out.copy_from_slice(&arphrd(pkt.out_iface?).to_be_bytes()),
        MetaKey::PktType => out[0] = pkt_type(pkt),
    }
    Some(())
}

fn ifname(name: &str, out: &mut [u8]) {
    out.fill(0);
    // A kernel name has at most 15 bytes and its NUL.
    let n = name.len().min(IFNAMSIZ - 1);
    out[..n].copy_from_slice(&name.as_bytes()[..n]);
}

fn arphrd(name: &str) -> u16 {
    match name {
        "lo" => 772,
        _ => 1,
    }
}

/// `skb->pkt_type`: how the link layer addressed a received frame (from its destination
/// MAC, or from the destination address when the frame is not at hand); a packet this host
/// sends is `PACKET_HOST`.
fn pkt_type(pkt: &PacketView<'_>) -> u8 {
    if pkt.in_iface.is_none() {
        return 0;
    }
    match pkt.mac {
        Some(mac) if mac[..6] == [0xff; 6] => 1,
        Some(mac) if mac[0] & 1 == 1 => 2,
        Some(_) => 0,
        None => match pkt.dst_type {
            AddrType::Broadcast => 1,
            AddrType::Multicast => 2,
            _ => 0,
        },
    }
}

/// `ct state`'s bits (`NF_CT_STATE_*_BIT`), as nft names them.
pub mod ct_state {
    pub const INVALID: u32 = 1;
    pub const ESTABLISHED: u32 = 2;
    pub const RELATED: u32 = 4;
    pub const NEW: u32 = 8;
    pub const UNTRACKED: u32 = 64;
}

/// `ct status`'s bits (`IPS_*`) that hoplab's conntrack keeps.
pub mod ct_status {
    pub const EXPECTED: u32 = 1;
    pub const SEEN_REPLY: u32 = 2;
    pub const ASSURED: u32 = 4;
    pub const CONFIRMED: u32 = 8;
    pub const SNAT: u32 = 16;
    pub const DNAT: u32 = 32;
}

/// The `ct` keys of `nft_ct_get_eval`; the tuple keys take a direction (`ct original
/// saddr`, `ct reply proto-dst`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtKey {
    /// 4 bytes, the bits of [`ct_state`]: every packet has one.
    State,
    /// 4 bytes, the bits of [`ct_status`].
    Status,
    /// 1 byte: original 0, reply 1.
    Direction,
    /// 4 bytes.
    Mark,
    /// 4 bytes: milliseconds until the entry times out (0 unconfirmed).
    Expiration,
    /// 1 byte: the layer-3 family, `ipv4`.
    L3Proto,
    /// 1 byte: the layer-4 protocol.
    Protocol,
    /// 4 bytes each, of the tuple of the direction.
    Saddr(CtDir),
    Daddr(CtDir),
    /// 2 bytes each.
    ProtoSrc(CtDir),
    ProtoDst(CtDir),
}

/// A conntrack tuple's direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtDir {
    Original,
    Reply,
}

impl CtKey {
    pub fn len(self) -> usize {
        match self {
            CtKey::Direction | CtKey::L3Proto | CtKey::Protocol => 1,
            CtKey::ProtoSrc(_) | CtKey::ProtoDst(_) => 2,
            _ => 4,
        }
    }
}

/// The packet's `ct state` bits: a packet without a connection is `invalid` or
/// `untracked`.
pub fn ct_state_bits(pkt: &PacketView<'_>) -> u32 {
    match pkt.ct.map(|c| c.state) {
        Some(CtState::New) => ct_state::NEW,
        Some(CtState::Established) => ct_state::ESTABLISHED,
        Some(CtState::Related) => ct_state::RELATED,
        Some(CtState::Untracked) => ct_state::UNTRACKED,
        Some(CtState::Invalid) | None => ct_state::INVALID,
    }
}

/// `nft_ct_get_eval`: the key's value into `out[..key.len()]`; `None` (break) for every key
/// but `state` when the packet has no connection.
pub fn load_ct(pkt: &PacketView<'_>, key: CtKey, now: Instant, out: &mut [u8]) -> Option<()> {
    let out = out.get_mut(..key.len())?;
    if key == CtKey::State {
        out.copy_from_slice(&ct_state_bits(pkt).to_be_bytes());
        return Some(());
    }
    let ct = pkt
        .ct
        .filter(|c| !matches!(c.state, CtState::Invalid | CtState::Untracked))?;
    let d = &ct.detail;
    let u32_of = |out: &mut [u8], v: u32| out.copy_from_slice(&v.to_be_bytes());
    let port = |out: &mut [u8], p: Option<u16>| -> Option<()> {
        out.copy_from_slice(&p?.to_be_bytes());
        Some(())
    };
    match key {
        CtKey::State => unreachable!("answered above"),
        CtKey::Status => u32_of(
            out,
            d.status
                | u32::from(ct.snat) * ct_status::SNAT
                | u32::from(ct.dnat) * ct_status::DNAT,
        ),
        CtKey::Direction => out[0] = u8::from(ct.reply),
        CtKey::Mark => u32_of(out, ct.mark),
        CtKey::Expiration => {
            let left = d.expires.map_or(0, |e| e.saturating_sub(now).nanos() / 1_000_000);
            u32_of(out, u32::try_from(left).unwrap_or(u32::MAX));
        }
        CtKey::L3Proto => out[0] = NFPROTO_IPV4,
        CtKey::Protocol => out[0] = d.proto,
        CtKey::Saddr(CtDir::Original) => out.copy_from_slice(&ct.orig_src.octets()),
        CtKey::Daddr(CtDir::Original) => out.copy_from_slice(&ct.orig_dst.octets()),
        CtKey::Saddr(CtDir::Reply) => out.copy_from_slice(&d.repl_src.octets()),
        CtKey::Daddr(CtDir::Reply) => out.copy_from_slice(&d.repl_dst.octets()),
        CtKey::ProtoSrc(CtDir::Original) => port(out, ct.orig_sport)?,
        CtKey::ProtoDst(CtDir::Original) => port(out, ct.orig_dport)?,
        CtKey::ProtoSrc(CtDir::Reply) => port(out, d.repl_sport)?,
        CtKey::ProtoDst(CtDir::Reply) => port(out, d.repl_dport)?,
    }
    Some(())
}

/// `fib saddr type` / `fib daddr type`: the route type (`RTN_*`, 4 bytes) of the address,
/// as `inet_addr_type` classes it.
pub fn fib_type(pkt: &PacketView<'_>, daddr: bool) -> u32 {
    let t = if daddr { pkt.dst_type } else { pkt.src_type };
    match t {
        AddrType::Unspec => 0,
        AddrType::Unicast => 1,
        AddrType::Local => 2,
        AddrType::Broadcast => 3,
        AddrType::Multicast => 5,
    }
}

/// The hook as nft names it (`meta trace`, decision notes).
pub fn hook_name(hook: Hook) -> &'static str {
    match hook {
        Hook::Prerouting => "prerouting",
        Hook::Input => "input",
        Hook::Forward => "forward",
        Hook::Output => "output",
        Hook::Postrouting => "postrouting",
    }
}

#[cfg(test)]
#[path = "eval_packet_tests.rs"]
mod tests;
