//! Helpers for the unit tests of this module.

use super::{IptablesError, IptablesVersion, Tables};
use crate::netfilter::packet::{AddrType, CtState, CtView, PacketView};

pub(crate) fn argv(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}

/// Tables after running each command (panicking on errors).
pub(crate) fn tables(cmds: &[&str]) -> Tables {
    let mut t = Tables::new(IptablesVersion::V1_8_10);
    for c in cmds {
        ok(&mut t, c);
    }
    t
}

pub(crate) fn ok(t: &mut Tables, line: &str) -> String {
    t.apply(&argv(line))
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

pub(crate) fn err(t: &mut Tables, line: &str) -> IptablesError {
    match t.apply(&argv(line)) {
        Ok(out) => panic!("{line}: succeeded with {out:?}"),
        Err(e) => e,
    }
}

/// The first line of an error (without the `Try ...` hint).
pub(crate) fn err1(t: &mut Tables, line: &str) -> String {
    err(t, line)
        .message()
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

/// A TCP SYN from `src:sport` to `dst:dport`, arriving on eth0, for this host.
pub(crate) fn tcp(src: &str, sport: u16, dst: &str, dport: u16) -> PacketView<'static> {
    PacketView {
        len: 60,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: 6,
        sport: Some(sport),
        dport: Some(dport),
        tcp_flags: Some(0x02),
        icmp: None,
        fragment: false,
        in_iface: Some("eth0"),
        out_iface: None,
        ct: None,
        src_type: AddrType::Unicast,
        dst_type: AddrType::Local,
        ip: &[],
        mac: None,
        mark: 0,
        physdev: None,
    }
}

pub(crate) fn udp(src: &str, sport: u16, dst: &str, dport: u16) -> PacketView<'static> {
    PacketView {
        len: 40,
        proto: 17,
        tcp_flags: None,
        ..tcp(src, sport, dst, dport)
    }
}

pub(crate) fn icmp(src: &str, dst: &str, typ: u8, code: u8) -> PacketView<'static> {
    PacketView {
        len: 84,
        proto: 1,
        sport: None,
        dport: None,
        tcp_flags: None,
        icmp: Some((typ, code)),
        ..tcp(src, 0, dst, 0)
    }
}

pub(crate) fn ct(state: CtState, pkt: &PacketView) -> CtView {
    CtView {
        state,
        orig_src: pkt.src,
        orig_dst: pkt.dst,
        orig_sport: pkt.sport,
        orig_dport: pkt.dport,
        reply: false,
        snat: false,
        dnat: false,
        mark: 0,
        detail: Default::default(),
    }
}
