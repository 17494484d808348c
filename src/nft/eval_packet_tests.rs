use super::*;
use crate::netfilter::NoConns;
use crate::nft::eval_testing::{echo_hdr, ipv4, ipv6, syn, syn6, tcp_hdr, udp_hdr, view};

fn payload(pkt: &PacketView<'_>, base: PayloadBase, offset: usize, len: usize) -> Option<Vec<u8>> {
    let mut out = [0u8; 64];
    load_payload(pkt, base, offset, len, &mut out).map(|()| out[..len].to_vec())
}

fn field(pkt: &PacketView<'_>, f: Field) -> Option<u128> {
    read(Key::Payload(f), pkt, &NoConns)
}

#[test]
fn fields_read_at_their_offsets_as_numbers() {
    let ip = syn();
    let pkt = view(&ip);
    assert_eq!(field(&pkt, Field::IpSaddr), Some(0x0a00_0002));
    assert_eq!(field(&pkt, Field::IpDaddr), Some(0x0a00_0001));
    assert_eq!(field(&pkt, Field::IpProtocol), Some(6));
    assert_eq!(field(&pkt, Field::IpTtl), Some(64));
    assert_eq!(field(&pkt, Field::IpLength), Some(40));
    assert_eq!(field(&pkt, Field::TcpSport), Some(40000));
    assert_eq!(field(&pkt, Field::TcpDport), Some(22));
    assert_eq!(field(&pkt, Field::ThDport), Some(22));
    assert_eq!(field(&pkt, Field::TcpFlags), Some(0x02));
    assert_eq!(field(&pkt, Field::EtherSaddr), Some(0x0200_0000_0201));
    assert_eq!(field(&pkt, Field::EtherType), Some(0x0800));
}

#[test]
fn ipv6_fields_read_from_the_ipv6_header_and_ipv4_fields_break() {
    let ip = syn6();
    let pkt = view(&ip);
    assert_eq!(
        field(&pkt, Field::Ip6Saddr),
        Some(0x2001_0db8_0000_0000_0000_0000_0000_0002)
    );
    assert_eq!(
        field(&pkt, Field::Ip6Daddr),
        Some(0x2001_0db8_0000_0000_0000_0000_0000_0001)
    );
    assert_eq!(field(&pkt, Field::Ip6Nexthdr), Some(6));
    assert_eq!(field(&pkt, Field::Ip6Hoplimit), Some(64));
    assert_eq!(field(&pkt, Field::TcpDport), Some(22));
    assert_eq!(field(&pkt, Field::EtherType), Some(0x86dd));
    for f in [
        Field::IpSaddr,
        Field::IpDaddr,
        Field::IpProtocol,
        Field::IpTtl,
    ] {
        assert_eq!(field(&pkt, f), None, "{f:?}");
    }
    assert_eq!(read(Key::Meta(MetaKey::Nfproto), &pkt, &NoConns), Some(10));
    assert_eq!(
        read(Key::Meta(MetaKey::Protocol), &pkt, &NoConns),
        Some(0x86dd)
    );
    assert_eq!(read(Key::Meta(MetaKey::L4proto), &pkt, &NoConns), Some(6));
}

#[test]
fn ipv6_transport_fields_come_after_the_extension_headers() {
    // A hop-by-hop options header (8 bytes: next header TCP, PadN) before the segment.
    let mut l4 = vec![6, 0, 1, 4, 0, 0, 0, 0];
    l4.extend_from_slice(&tcp_hdr(40000, 443, 0x12));
    let ip = ipv6("2001:db8::2", "2001:db8::1", 0, &l4);
    let pkt = view(&ip);
    // `ip6 nexthdr` is the fixed header's field; `meta l4proto` the protocol after.
    assert_eq!(field(&pkt, Field::Ip6Nexthdr), Some(0));
    assert_eq!(read(Key::Meta(MetaKey::L4proto), &pkt, &NoConns), Some(6));
    assert_eq!(field(&pkt, Field::TcpDport), Some(443));
    assert_eq!(field(&pkt, Field::TcpFlags), Some(0x12));
    let echo = ipv6(
        "2001:db8::2",
        "2001:db8::1",
        58,
        &[128, 0, 0, 0, 0, 7, 0, 1],
    );
    let pkt = view(&echo);
    assert_eq!(field(&pkt, Field::Icmpv6Type), Some(128));
    assert_eq!(field(&pkt, Field::IcmpType), None);
}

#[test]
fn a_protocols_field_needs_its_protocol_and_th_does_not() {
    let ip = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1, &echo_hdr());
    let pkt = view(&ip);
    assert_eq!(field(&pkt, Field::TcpDport), None);
    assert_eq!(field(&pkt, Field::UdpDport), None);
    assert_eq!(field(&pkt, Field::IcmpType), Some(8));
    assert_eq!(field(&pkt, Field::IcmpCode), Some(0));
    // `th dport` of an echo request is its checksum's bytes.
    assert_eq!(field(&pkt, Field::ThDport), Some(0));
    assert_eq!(field(&pkt, Field::Ip6Saddr), None);
}

#[test]
fn dscp_is_the_upper_six_bits_of_the_tos_byte() {
    let mut ip = syn();
    ip[1] = 0x10 | 0x01;
    assert_eq!(field(&view(&ip), Field::IpDscp), Some(4));
}

#[test]
fn payload_breaks_past_the_datagram_in_fragments_and_without_a_mac_header() {
    let ip = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1, &echo_hdr());
    let mut pkt = view(&ip);
    // An 8-byte ICMP header has no byte 8; the total length bounds reads, not the buffer.
    assert_eq!(
        payload(&pkt, PayloadBase::Transport, 6, 2),
        Some(vec![0, 1])
    );
    assert_eq!(payload(&pkt, PayloadBase::Transport, 7, 2), None);
    let mut padded = ip.clone();
    padded.extend_from_slice(&[0xee; 6]);
    let trailer = PacketView {
        len: ip.len() as u32,
        ..view(&padded)
    };
    assert_eq!(payload(&trailer, PayloadBase::Transport, 8, 1), None);
    pkt.fragment = true;
    assert_eq!(payload(&pkt, PayloadBase::Transport, 0, 1), None);
    assert_eq!(field(&pkt, Field::IcmpType), None);
    assert_eq!(payload(&pkt, PayloadBase::Network, 9, 1), Some(vec![1]));
    // Sent by this host: no MAC header yet.
    pkt.in_iface = None;
    assert_eq!(field(&pkt, Field::EtherSaddr), None);
}

#[test]
fn payload_honours_ip_options_for_the_transport_offset() {
    // IHL 6: one word of options (NOP x4) before the UDP header.
    let mut l4 = vec![1, 1, 1, 1];
    l4.extend(udp_hdr(53, 5353));
    let mut ip = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 17, &l4);
    ip[0] = 0x46;
    let pkt = view(&ip);
    assert_eq!(field(&pkt, Field::UdpSport), Some(53));
    assert_eq!(field(&pkt, Field::UdpDport), Some(5353));
}

fn meta(pkt: &PacketView<'_>, m: MetaKey) -> u128 {
    read(Key::Meta(m), pkt, &NoConns).unwrap()
}

#[test]
fn meta_keys_and_interface_names() {
    let ip = syn();
    let mut pkt = view(&ip);
    pkt.mark = 0x10;
    assert_eq!(meta(&pkt, MetaKey::Mark), 0x10);
    assert_eq!(meta(&pkt, MetaKey::L4proto), 6);
    assert_eq!(meta(&pkt, MetaKey::Nfproto), 2);
    assert_eq!(meta(&pkt, MetaKey::Protocol), 0x0800);
    assert_eq!(meta(&pkt, MetaKey::Pkttype), 0);
    assert_eq!(meta(&pkt, MetaKey::Iifname), name_num("eth0"));
    // No output interface before routing: the empty name.
    assert_eq!(meta(&pkt, MetaKey::Oifname), 0);
    pkt.mac.as_mut().unwrap()[..6].fill(0xff);
    assert_eq!(meta(&pkt, MetaKey::Pkttype), 1);
    let (lo, hi) = name_range("eth*");
    assert!((lo..=hi).contains(&name_num("eth0")));
    assert!((lo..=hi).contains(&name_num("eth")));
    assert!(!(lo..=hi).contains(&name_num("et")));
    assert!(!(lo..=hi).contains(&name_num("veth0")));
    assert_eq!(name_range("eth0"), (name_num("eth0"), name_num("eth0")));
}

#[test]
fn ct_state_bits_are_nfts() {
    let ip = syn();
    let mut pkt = view(&ip);
    assert_eq!(ct_state_bits(&pkt), 8);
    for (state, bit) in [
        (CtState::Established, 2),
        (CtState::Related, 4),
        (CtState::Invalid, 1),
        (CtState::Untracked, 64),
    ] {
        pkt.ct.as_mut().unwrap().state = state;
        assert_eq!(ct_state_bits(&pkt), bit, "{state:?}");
    }
    pkt.ct = None;
    assert_eq!(ct_state_bits(&pkt), 1);
}

#[test]
fn ct_keys_break_without_a_connection() {
    let ip = syn();
    let mut pkt = view(&ip);
    let ct_read = |pkt: &PacketView<'_>, k| read(k, pkt, &NoConns);
    {
        let ct = pkt.ct.as_mut().unwrap();
        ct.mark = 7;
        ct.dnat = true;
        ct.reply = true;
        ct.detail.status = ct_status::SEEN_REPLY | ct_status::CONFIRMED;
        ct.detail.repl_dport = Some(40000);
    }
    assert_eq!(ct_read(&pkt, Key::Ct(CtKey::Mark)), Some(7));
    assert_eq!(ct_read(&pkt, Key::Ct(CtKey::Status)), Some(2 | 8 | 32));
    assert_eq!(ct_read(&pkt, Key::Ct(CtKey::Direction)), Some(1));
    let tuple = |d, t| Key::CtTuple(d, t);
    assert_eq!(
        ct_read(&pkt, tuple(CtDir::Original, TupleKey::ProtoDst)),
        Some(22)
    );
    assert_eq!(
        ct_read(&pkt, tuple(CtDir::Original, TupleKey::IpSaddr)),
        Some(0x0a00_0002)
    );
    assert_eq!(
        ct_read(&pkt, tuple(CtDir::Reply, TupleKey::ProtoDst)),
        Some(40000)
    );
    pkt.ct.as_mut().unwrap().state = CtState::Invalid;
    assert_eq!(ct_read(&pkt, Key::Ct(CtKey::Mark)), None);
    assert_eq!(ct_read(&pkt, Key::Ct(CtKey::State)), Some(1));
}

#[test]
fn fib_type_follows_the_address_classes() {
    let ip = syn();
    let mut pkt = view(&ip);
    let daddr = Key::Fib(FibFlags(FibFlags::DADDR), FibResult::Type);
    let saddr = Key::Fib(FibFlags(FibFlags::SADDR), FibResult::Type);
    assert_eq!(read(daddr, &pkt, &NoConns), Some(2));
    assert_eq!(read(saddr, &pkt, &NoConns), Some(1));
    pkt.dst_type = AddrType::Broadcast;
    assert_eq!(read(daddr, &pkt, &NoConns), Some(3));
    pkt.dst_type = AddrType::Multicast;
    assert_eq!(read(daddr, &pkt, &NoConns), Some(5));
}

/// A host whose route back to every source leaves by `eth1`.
struct BackByEth1;

impl ConnQuery for BackByEth1 {
    fn alive(
        &self,
        _: smoltcp::wire::IpAddress,
        _: smoltcp::wire::IpAddress,
        _: u8,
        _: (u16, u16),
    ) -> bool {
        true
    }
    fn reverse_path(
        &self,
        _: smoltcp::wire::IpAddress,
        iif: &str,
        _: bool,
        loose: bool,
    ) -> Option<bool> {
        Some(loose || iif == "eth1")
    }
}

#[test]
fn fib_saddr_iif_oif_is_the_reverse_path_check() {
    let ip = syn();
    let mut pkt = view(&ip);
    let key = Key::Fib(FibFlags(FibFlags::SADDR | FibFlags::IIF), FibResult::Oif);
    assert_eq!(read(key, &pkt, &BackByEth1), Some(0));
    pkt.in_iface = Some("eth1");
    assert_eq!(read(key, &pkt, &BackByEth1), Some(name_num("eth1")));
    // Without a routing table to ask, the lookup breaks.
    assert_eq!(read(key, &pkt, &NoConns), None);
}
