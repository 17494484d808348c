//! What the statements that end or mark a packet's walk ask of netfilter: `log`'s line
//! (`nft_log`), the NAT request of `snat`, `dnat`, `masquerade` and `redirect` (`nft_nat`,
//! `nft_masq`, `nft_redir`), and `reject`'s answer (`nft_reject_ipv4`, `nft_reject_inet`).

use smoltcp::wire::{Ipv4Address, Ipv6Address};

use super::NftFamily;
use super::expr::Value;
use super::model::{ElemData, Log, Nat, NatKind, NatTo, Reject};
use crate::netfilter::rules::PacketLog;
use crate::netfilter::{NatAction, PacketView, RejectWith};

/// The kernel log line of a `log` statement, as `nf_log_ip_packet` writes it; `None` for
/// `log group N`, which goes to nfnetlink_log listeners instead of the kernel log. The
/// `flags` options (`tcp sequence`, `ip options`, `skuid`, `ether`) add fields hoplab does
/// not write.
pub fn log_line(log: &Log, pkt: &PacketView<'_>) -> Option<String> {
    if log.group.is_some() {
        return None;
    }
    let prefix = log.prefix.as_deref().unwrap_or("");
    Some(
        PacketLog {
            prefix,
            packet: pkt,
        }
        .to_string(),
    )
}

/// What a NAT statement does to the packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NatStep {
    /// Bind the flow's NAT: the walk ends, the packet accepted.
    Bind(NatAction),
    /// The statement is for the other family (`snat ip6 to` in an inet table, for an IPv4
    /// packet): nothing happens, the rule goes on (`nft_nat_inet_eval`).
    Skip,
    /// The map has no element for the packet's key: the rule ends as a mismatch.
    Break,
}

/// An address of the packet's family from a value (an IPv4 address's `u32`, an IPv6
/// address's `u128`).
fn addr(v: &Value, v6: bool) -> Option<smoltcp::wire::IpAddress> {
    if v6 {
        return Some(Ipv6Address::from_bits(v.num()).into());
    }
    let n = u32::try_from(v.num()).ok()?;
    Some(Ipv4Address::from_octets(n.to_be_bytes()).into())
}

/// The NAT request of statement `nat`; `mapped` is the data of the map element the
/// packet's key found, for `to KEY map { ... }` (`None`: no element).
pub fn nat_step(nat: &Nat, pkt: &PacketView<'_>, mapped: Option<&ElemData>) -> NatStep {
    let v6 = pkt.is_v6();
    let other = match v6 {
        true => NftFamily::Ip,
        false => NftFamily::Ip6,
    };
    if nat.family == Some(other) {
        return NatStep::Skip;
    }
    let addr = |v: &Value| addr(v, v6);
    let (addrs, ports) = match &nat.to {
        NatTo::None => (None, None),
        NatTo::Range { addrs, ports } => {
            let addrs = match addrs {
                Some((lo, hi)) => match (addr(lo), addr(hi)) {
                    (Some(lo), Some(hi)) => Some((lo, hi)),
                    _ => return NatStep::Skip,
                },
                None => None,
            };
            (addrs, *ports)
        }
        NatTo::Map { with_port, .. } => {
            let Some(ElemData::Values(vals)) = mapped else {
                return NatStep::Break;
            };
            let Some(a) = vals.first().and_then(addr) else {
                return NatStep::Skip;
            };
            // Data of type `ipv4_addr . inet_service` gives the port too, however the
            // statement was written (nft 1.0.6 prints it `dnat ip to KEY map @m`).
            let port = match *with_port || vals.len() > 1 {
                true => vals
                    .get(1)
                    .and_then(|p| u16::try_from(p.num()).ok())
                    .map(|p| (p, p)),
                false => None,
            };
            (Some((a, a)), port)
        }
    };
    // Without an address, snat and dnat change only the port: the address stays the
    // packet's own.
    NatStep::Bind(match nat.kind {
        NatKind::Snat => NatAction::Snat {
            addrs: addrs.unwrap_or((pkt.src, pkt.src)),
            ports,
        },
        NatKind::Dnat => NatAction::Dnat {
            addrs: addrs.unwrap_or((pkt.dst, pkt.dst)),
            ports,
        },
        NatKind::Masquerade => NatAction::Masquerade { ports },
        NatKind::Redirect => NatAction::Redirect { ports },
    })
}

/// How `reject` answers the packet; `None` when the statement's implied family is the
/// other one (`reject with icmpv6` for an IPv4 packet: its `meta nfproto ipv6` fails).
pub fn reject_with(r: Reject, v6: bool) -> Option<RejectWith> {
    if v6 {
        return reject_with6(r);
    }
    Some(match r {
        Reject::Default => RejectWith::IcmpPortUnreachable,
        Reject::TcpReset => RejectWith::TcpReset,
        Reject::Icmpv6(_) => return None,
        // `nft_reject_icmp_code`: no-route is net-unreachable, admin-prohibited is
        // ICMP_PKT_FILTERED.
        Reject::Icmpx(code) => match code {
            0 => RejectWith::IcmpNetUnreachable,
            2 => RejectWith::IcmpHostUnreachable,
            3 => RejectWith::IcmpAdminProhibited,
            _ => RejectWith::IcmpPortUnreachable,
        },
        Reject::Icmp(code) => match code {
            0 => RejectWith::IcmpNetUnreachable,
            1 => RejectWith::IcmpHostUnreachable,
            2 => RejectWith::IcmpProtoUnreachable,
            9 => RejectWith::IcmpNetProhibited,
            10 => RejectWith::IcmpHostProhibited,
            13 => RejectWith::IcmpAdminProhibited,
            // Port unreachable (3), and codes hoplab's ICMP errors do not make.
            _ => RejectWith::IcmpPortUnreachable,
        },
    })
}

/// `nft_reject_ipv6` and `nft_reject_inet` for an IPv6 packet: ICMPv6 destination
/// unreachable (port unreachable by default), or a TCP reset.
fn reject_with6(r: Reject) -> Option<RejectWith> {
    Some(match r {
        Reject::Default => RejectWith::Icmp6Unreachable(4),
        Reject::TcpReset => RejectWith::TcpReset,
        Reject::Icmp(_) => return None,
        Reject::Icmpv6(code) => RejectWith::Icmp6Unreachable(code),
        // `nft_reject_icmpv6_code`: no-route 0, admin-prohibited 1, host-unreachable is
        // address-unreachable 3, port-unreachable 4.
        Reject::Icmpx(code) => RejectWith::Icmp6Unreachable(match code {
            0 => 0,
            2 => 3,
            3 => 1,
            _ => 4,
        }),
    })
}

#[cfg(test)]
#[path = "eval_stmt_tests.rs"]
mod tests;
