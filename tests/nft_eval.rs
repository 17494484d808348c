//! nft chains against the kernel: the same ruleset loaded into a real namespace and into
//! hoplab's `Nft`, the same packets (sent one at a time from a raw socket in a peer
//! namespace), and the same outcome: every rule's counter, which packets got past the
//! chain (a later observer chain counts them, with the mark they carry), and what a reject
//! or NAT made of them.
//!
//! Privileged: see `kernel::privileged`.

mod kernel;

use std::process::Command;

use hoplab::netfilter::hooks::{Env, Notes};
use hoplab::netfilter::{AddrType, CtState, CtView, Hook, NatAction, NoConns, RejectWith, Verdict};
use hoplab::nft::{ChainRef, Nft};
use hoplab::time::Instant;
use kernel::privileged;
use smoltcp::wire::{IpAddress, Ipv4Address};

/// Two namespaces, `a` (10.77.0.1) and `b` (10.77.0.2), joined by a veth pair (`nfa` in
/// `a`, `nfb` in `b`); deleted on drop.
struct Pair {
    a: String,
    b: String,
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Pair {
    fn new(case: &str) -> Pair {
        let tag = format!("nfteval{}{case}", std::process::id() % 100_000);
        let p = Pair {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
        };
        for ns in [&p.a, &p.b] {
            sh(&["ip", "netns", "add", ns]);
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        sh(&[
            "ip", "link", "add", "nfa", "netns", &p.a, "type", "veth", "peer", "name", "nfb",
            "netns", &p.b,
        ]);
        for (ns, dev, cidr) in [(&p.a, "nfa", "10.77.0.1/24"), (&p.b, "nfb", "10.77.0.2/24")] {
            sh(&["ip", "-n", ns, "addr", "add", cidr, "dev", dev]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        p
    }

    /// `nft -f -` in a namespace.
    fn nft(&self, ns: &str, text: &str) {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("nft");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every `counter packets N` of a table's listing, in order.
    fn counters(&self, ns: &str, table: &str) -> Vec<u64> {
        let listing = sh(&["ip", "netns", "exec", ns, "nft", "list", "table", table]);
        counters_of(&listing)
    }

    /// Sends one IPv4 datagram from `a` through a raw socket, and lets `b` take it in.
    fn send(&self, ip: &[u8]) {
        let hex: String = ip.iter().map(|b| format!("{b:02x}")).collect();
        let script = "import socket,sys\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n\
             s.sendto(bytes.fromhex(sys.argv[1]),(sys.argv[2],0))\n";
        sh(&[
            "ip",
            "netns",
            "exec",
            &self.a,
            "python3",
            "-c",
            script,
            &hex,
            "10.77.0.2",
        ]);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn counters_of(listing: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut words = listing.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if w == "counter" && words.peek() == Some(&"packets") {
            words.next();
            out.push(
                words
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(u64::MAX),
            );
        }
    }
    out
}

/// The internet checksum of `data`, with `sum` already added.
fn checksum(data: &[u8], mut sum: u32) -> u16 {
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 datagram from 10.77.0.1 to 10.77.0.2 carrying `l4` of protocol `proto`, every
/// checksum right (conntrack checks them: a wrong one makes the packet invalid).
fn datagram(proto: u8, mut l4: Vec<u8>) -> Vec<u8> {
    let (src, dst) = ([10, 77, 0, 1], [10, 77, 0, 2]);
    let at = match proto {
        6 => Some(16),
        17 => Some(6),
        _ => None,
    };
    match at {
        Some(at) => {
            let mut pseudo = 0u32;
            for w in [src, dst] {
                pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]));
                pseudo += u32::from(u16::from_be_bytes([w[2], w[3]]));
            }
            pseudo += u32::from(proto) + l4.len() as u32;
            let c = checksum(&l4, pseudo);
            l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        None => {
            let c = checksum(&l4, 0);
            l4[2..4].copy_from_slice(&c.to_be_bytes());
        }
    }
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x30, 0x39, 0x40, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = checksum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend(l4);
    ip
}

fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xfa, 0xf0, 0, 0, 0, 0]);
    datagram(6, t)
}

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&[0, 12, 0, 0, b'p', b'i', b'n', b'g']);
    datagram(17, u)
}

fn echo(id: u16) -> Vec<u8> {
    let mut i = vec![8, 0, 0, 0];
    i.extend_from_slice(&id.to_be_bytes());
    i.extend_from_slice(&[0, 1, b'h', b'l']);
    datagram(1, i)
}

/// `b`'s view of its own addresses.
struct HostB;

impl Env for HostB {
    fn addr_type(&self, a: IpAddress) -> AddrType {
        let IpAddress::Ipv4(a) = a else {
            return AddrType::Unicast;
        };
        match a.octets() {
            [10, 77, 0, 2] | [127, ..] => AddrType::Local,
            [10, 77, 0, 255] => AddrType::Broadcast,
            _ => AddrType::Unicast,
        }
    }
}

/// hoplab's run of `chain` (of the first table) for a datagram arriving on `nfb`, the first
/// of its flow.
fn hoplab_run(
    n: &mut Nft,
    chain: &str,
    hook: Hook,
    ip: &[u8],
) -> hoplab::netfilter::hooks::ChainOutcome {
    let t = &n.ruleset.tables[0];
    let ci = t.chains.iter().position(|c| &*c.name == chain).unwrap();
    let src = IpAddress::Ipv4(Ipv4Address::from_octets(ip[12..16].try_into().unwrap()));
    let dst = IpAddress::Ipv4(Ipv4Address::from_octets(ip[16..20].try_into().unwrap()));
    let ct = CtView {
        state: CtState::New,
        orig_src: src,
        orig_dst: dst,
        orig_sport: None,
        orig_dport: None,
        reply: false,
        snat: false,
        dnat: false,
        mark: 0,
        detail: Default::default(),
    };
    let pkt = hoplab::netfilter::hooks::view(ip, Some("nfb"), None, Some(ct), &HostB).unwrap();
    let mut notes = Notes::default();
    n.run(
        ChainRef::new(0, ci),
        hook,
        &pkt,
        Instant::ZERO,
        &NoConns,
        &mut notes,
    )
}

fn hoplab_nft(text: &str) -> Nft {
    let mut n = Nft::new();
    let args: Vec<String> = vec!["-f".into(), "-".into()];
    n.command(&args, text, &|_, _| None)
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    n
}

/// Counts what got past `b`'s chains at input, by mark.
const OBSERVER: &str = "table ip observe {
    chain input {
        type filter hook input priority 100; policy accept;
        meta mark 0x0000002a counter
        counter
    }
}";

#[test]
fn kd_nft_eval_filter_verdicts_and_counters() {
    let case = "kd_nft_eval_filter_verdicts_and_counters";
    if !privileged(case) {
        return;
    }
    let rules = "table ip t {
        set web {
            type inet_service
            flags interval
            elements = { 80, 8000-8100 }
        }
        chain input {
            type filter hook input priority 0; policy drop;
            iifname \"lo\" accept
            ip saddr != 10.77.0.0/24 counter drop
            tcp flags & (syn | ack) != syn counter drop
            tcp dport 22 counter accept
            tcp dport @web counter jump web_in
            meta l4proto vmap { udp : jump udp_in, icmp : goto icmp_in }
            counter
        }
        chain web_in {
            tcp dport 8080 counter return
            counter meta mark set 0x2a accept
        }
        chain udp_in {
            udp dport 53 counter accept
            counter
        }
        chain icmp_in {
            icmp type echo-request limit rate 1/minute burst 2 packets counter accept
            counter
        }
    }";
    let pair = Pair::new("f");
    pair.nft(&pair.b, rules);
    pair.nft(&pair.b, OBSERVER);
    let mut n = hoplab_nft(rules);
    let packets = [
        tcp(40001, 22, 0x02),
        tcp(40002, 80, 0x02),
        tcp(40003, 8080, 0x02),
        tcp(40004, 8090, 0x12),
        tcp(40005, 443, 0x02),
        udp(40006, 53),
        udp(40007, 54),
        echo(1),
        echo(2),
        echo(3),
    ];
    let mut kernel_seen = pair.counters(&pair.b, "ip observe");
    for (i, ip) in packets.iter().enumerate() {
        pair.send(ip);
        let seen = pair.counters(&pair.b, "ip observe");
        let kernel_passed = seen[1] > kernel_seen[1];
        let kernel_marked = seen[0] > kernel_seen[0];
        kernel_seen = seen;
        let out = hoplab_run(&mut n, "input", Hook::Input, ip);
        assert_eq!(
            out.verdict == Verdict::Accept,
            kernel_passed,
            "packet {i}: hoplab {:?}",
            out.verdict
        );
        assert_eq!(
            out.marks.is_some_and(|m| m.mark == 0x2a),
            kernel_marked,
            "packet {i}: marks {:?}",
            out.marks
        );
    }
    let kernel = pair.counters(&pair.b, "ip t");
    let ours = counters_of(&n.list_ruleset(Default::default(), &|_, _| None));
    assert_eq!(ours, kernel);
    // The walk went everywhere: 22 accepted; 80 marked; 8080 returned to input's last
    // counter, as did 443 and UDP 54 (counted in udp_in first); the SYN-ACK dropped; DNS
    // accepted; two pings of three within the limit.
    assert_eq!(kernel, [0, 1, 1, 2, 3, 1, 1, 1, 1, 2, 1]);
    assert_eq!(kernel_seen, [1, 5]);
}

#[test]
fn kd_nft_eval_reject_answers() {
    let case = "kd_nft_eval_reject_answers";
    if !privileged(case) {
        return;
    }
    let rules = "table inet t {
        chain input {
            type filter hook input priority 0; policy accept;
            tcp dport 1 reject with tcp reset
            tcp dport 2 reject with icmp type host-prohibited
            tcp dport 3 reject with icmpx type admin-prohibited
            tcp dport 4 reject
            udp dport 5 reject with icmp type net-unreachable
        }
    }";
    // What came back to `a`: RSTs, and ICMP errors by code.
    let answers = "table ip seen {
        chain input {
            type filter hook input priority 0; policy accept;
            tcp flags rst counter
            icmp type destination-unreachable icmp code host-prohibited counter
            icmp type destination-unreachable icmp code admin-prohibited counter
            icmp type destination-unreachable icmp code port-unreachable counter
            icmp type destination-unreachable icmp code net-unreachable counter
        }
    }";
    let pair = Pair::new("r");
    pair.nft(&pair.b, rules);
    pair.nft(&pair.a, answers);
    let mut n = hoplab_nft(rules);
    let cases = [
        (tcp(40001, 1, 0x02), RejectWith::TcpReset, 0),
        (tcp(40002, 2, 0x02), RejectWith::IcmpHostProhibited, 1),
        (tcp(40003, 3, 0x02), RejectWith::IcmpAdminProhibited, 2),
        (tcp(40004, 4, 0x02), RejectWith::IcmpPortUnreachable, 3),
        (udp(40005, 5), RejectWith::IcmpNetUnreachable, 4),
    ];
    let mut before = pair.counters(&pair.a, "ip seen");
    for (ip, with, slot) in cases {
        pair.send(&ip);
        let after = pair.counters(&pair.a, "ip seen");
        let changed: Vec<usize> = (0..after.len())
            .filter(|&i| after[i] != before[i])
            .collect();
        assert_eq!(changed, [slot], "{with:?}: kernel answered {after:?}");
        before = after;
        let out = hoplab_run(&mut n, "input", Hook::Input, &ip);
        assert_eq!(out.verdict, Verdict::Reject(with));
    }
}

#[test]
fn kd_nft_eval_dnat_binds_what_the_kernel_translates_to() {
    let case = "kd_nft_eval_dnat_binds_what_the_kernel_translates_to";
    if !privileged(case) {
        return;
    }
    let rules = "table ip t {
        map portmap {
            type inet_service : ipv4_addr . inet_service
            elements = { 8022 : 10.77.0.2 . 22 }
        }
        chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            tcp dport 80 dnat to 10.77.0.2:2280
            tcp dport 8022 dnat to tcp dport map @portmap
            tcp dport 8000 redirect to :2200
        }
    }";
    // Where the packets went, after NAT.
    let after_nat = "table ip observe {
        chain input {
            type filter hook input priority 100; policy accept;
            ip daddr 10.77.0.2 tcp dport 2280 counter
            ip daddr 10.77.0.2 tcp dport 22 counter
            ip daddr 10.77.0.2 tcp dport 2200 counter
        }
    }";
    let pair = Pair::new("n");
    pair.nft(&pair.b, rules);
    pair.nft(&pair.b, after_nat);
    let mut n = hoplab_nft(rules);
    let b = IpAddress::Ipv4(Ipv4Address::new(10, 77, 0, 2));
    let cases = [
        (
            tcp(40001, 80, 0x02),
            NatAction::Dnat {
                addrs: (b, b),
                ports: Some((2280, 2280)),
            },
        ),
        (
            tcp(40002, 8022, 0x02),
            NatAction::Dnat {
                addrs: (b, b),
                ports: Some((22, 22)),
            },
        ),
        (
            tcp(40003, 8000, 0x02),
            NatAction::Redirect {
                ports: Some((2200, 2200)),
            },
        ),
    ];
    for (i, (ip, action)) in cases.iter().enumerate() {
        pair.send(ip);
        let out = hoplab_run(&mut n, "prerouting", Hook::Prerouting, ip);
        assert_eq!(out.verdict, Verdict::Nat(*action));
        let seen = pair.counters(&pair.b, "ip observe");
        assert_eq!(seen[i], 1, "packet {i}: kernel's translations {seen:?}");
    }
}
