use super::*;
use crate::nft::eval_testing::{echo_hdr, ipv4, syn, udp_hdr, view};
use crate::time::Duration;

fn payload(pkt: &PacketView<'_>, base: PayloadBase, offset: usize, len: usize) -> Option<Vec<u8>> {
    let mut out = [0u8; 64];
    load_payload(pkt, base, offset, len, &mut out).map(|()| out[..len].to_vec())
}

#[test]
fn payload_reads_ip_and_transport_fields_at_their_offsets() {
    let ip = syn();
    let pkt = view(&ip);
    // ip saddr: network header + 12, 4 bytes; tcp dport: transport header + 2.
    assert_eq!(payload(&pkt, PayloadBase::Network, 12, 4), Some(vec![10, 0, 0, 2]));
    assert_eq!(payload(&pkt, PayloadBase::Transport, 2, 2), Some(vec![0, 22]));
    // tcp flags: transport header + 13.
    assert_eq!(payload(&pkt, PayloadBase::Transport, 13, 1), Some(vec![0x02]));
    // ether saddr: link header + 6.
    assert_eq!(
        payload(&pkt, PayloadBase::Link, 6, 6),
        Some(vec![2, 0, 0, 0, 2, 1])
    );
}

#[test]
fn payload_breaks_past_the_datagram_in_fragments_and_without_a_mac_header() {
    let ip = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 1, &echo_hdr());
    let mut pkt = view(&ip);
    // An 8-byte ICMP header has no byte 8; the total length bounds reads, not the buffer.
    assert_eq!(payload(&pkt, PayloadBase::Transport, 6, 2), Some(vec![0, 1]));
    assert_eq!(payload(&pkt, PayloadBase::Transport, 7, 2), None);
    let mut padded = ip.clone();
    padded.extend_from_slice(&[0xee; 6]);
    let trailer = view(&padded);
    let trailer = PacketView { len: ip.len() as u32, ..trailer };
    assert_eq!(payload(&trailer, PayloadBase::Transport, 8, 1), None);
    pkt.fragment = true;
    assert_eq!(payload(&pkt, PayloadBase::Transport, 0, 1), None);
    assert_eq!(payload(&pkt, PayloadBase::Network, 9, 1), Some(vec![1]));
    // Sent by this host: no MAC header yet.
    pkt.in_iface = None;
    assert_eq!(payload(&pkt, PayloadBase::Link, 6, 6), None);
}

#[test]
fn payload_honours_ip_options_for_the_transport_offset() {
    // IHL 6: one word of options (NOP x4) before the UDP header.
    let mut l4 = vec![1, 1, 1, 1];
    l4.extend(udp_hdr(53, 5353));
    let mut ip = ipv4([10, 0, 0, 2], [10, 0, 0, 1], 17, &l4);
    ip[0] = 0x46;
    let pkt = view(&ip);
    assert_eq!(payload(&pkt, PayloadBase::Transport, 0, 4), Some(vec![0, 53, 0x14, 0xe9]));
}

fn meta(pkt: &PacketView<'_>, key: MetaKey) -> Option<Vec<u8>> {
    let mut out = [0u8; 64];
    load_meta(pkt, key, &mut out).map(|()| out[..key.len()].to_vec())
}

#[test]
fn meta_keys_load_big_endian_values() {
    let ip = syn();
    let mut pkt = view(&ip);
    pkt.mark = 0x10;
    assert_eq!(meta(&pkt, MetaKey::Mark), Some(vec![0, 0, 0, 0x10]));
    assert_eq!(meta(&pkt, MetaKey::Len), Some(vec![0, 0, 0, 40]));
    assert_eq!(meta(&pkt, MetaKey::L4Proto), Some(vec![6]));
    assert_eq!(meta(&pkt, MetaKey::NfProto), Some(vec![2]));
    assert_eq!(meta(&pkt, MetaKey::Protocol), Some(vec![8, 0]));
    assert_eq!(meta(&pkt, MetaKey::IifType), Some(vec![0, 1]));
    assert_eq!(meta(&pkt, MetaKey::PktType), Some(vec![0]));
    let mut name = b"eth0".to_vec();
    name.resize(16, 0);
    assert_eq!(meta(&pkt, MetaKey::IifName), Some(name));
    // No output interface before routing: the kernel breaks.
    assert_eq!(meta(&pkt, MetaKey::OifName), None);
    pkt.mac.as_mut().unwrap()[..6].fill(0xff);
    assert_eq!(meta(&pkt, MetaKey::PktType), Some(vec![1]));
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
    let now = Instant::from_nanos(1_000_000_000);
    let mut out = [0u8; 16];
    {
        let ct = pkt.ct.as_mut().unwrap();
        ct.mark = 7;
        ct.dnat = true;
        ct.detail.status = ct_status::SEEN_REPLY | ct_status::CONFIRMED;
        ct.detail.expires = Some(now + Duration::from_millis(2500));
        ct.detail.proto = 6;
    }
    load_ct(&pkt, CtKey::Mark, now, &mut out).unwrap();
    assert_eq!(out[..4], [0, 0, 0, 7]);
    load_ct(&pkt, CtKey::Status, now, &mut out).unwrap();
    assert_eq!(u32::from_be_bytes(out[..4].try_into().unwrap()), 2 | 8 | 32);
    load_ct(&pkt, CtKey::Expiration, now, &mut out).unwrap();
    assert_eq!(u32::from_be_bytes(out[..4].try_into().unwrap()), 2500);
    load_ct(&pkt, CtKey::ProtoDst(CtDir::Original), now, &mut out).unwrap();
    assert_eq!(out[..2], [0, 22]);
    load_ct(&pkt, CtKey::Saddr(CtDir::Original), now, &mut out).unwrap();
    assert_eq!(out[..4], [10, 0, 0, 2]);
    pkt.ct.as_mut().unwrap().state = CtState::Invalid;
    assert_eq!(load_ct(&pkt, CtKey::Mark, now, &mut out), None);
    load_ct(&pkt, CtKey::State, now, &mut out).unwrap();
    assert_eq!(out[..4], [0, 0, 0, 1]);
}

#[test]
fn fib_type_follows_the_address_classes() {
    let ip = syn();
    let mut pkt = view(&ip);
    assert_eq!(fib_type(&pkt, true), 2);
    assert_eq!(fib_type(&pkt, false), 1);
    pkt.dst_type = AddrType::Broadcast;
    assert_eq!(fib_type(&pkt, true), 3);
    pkt.dst_type = AddrType::Multicast;
    assert_eq!(fib_type(&pkt, true), 5);
}
