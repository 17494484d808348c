//! Lab 14 (IPv6 basics) through the CLI: the run passes, the listings read as iproute2's,
//! the pings' outcomes and exit codes are right, and the capture (read back by tshark,
//! checksums checked) holds the neighbor discovery exchange and no ARP.

mod common;

use std::path::Path;

use common::{assert_tshark_clean, have_tool, run, text, tshark, tshark_lines};

const LAB: &str = "scenarios/14-ipv6-basics.yaml";

/// The lab's JSON report and the directory its captures went to.
fn report(dir: &Path) -> serde_json::Value {
    let out = run(&[
        "run",
        LAB,
        "--json",
        "--capture",
        "both",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON report")
}

/// The output of the step whose command is `cmd` on `node`.
fn step<'a>(v: &'a serde_json::Value, node: &str, cmd: &str) -> &'a str {
    let s = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["on"] == node && s["command"] == cmd)
        .unwrap_or_else(|| panic!("no step `{cmd}` on {node}: {v}"));
    s["result"]["output"]
        .as_str()
        .or(s["listing"].as_str())
        .unwrap_or_else(|| panic!("{s}"))
}

#[test]
fn lab14_listings_pings_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let v = report(dir.path());
    assert_eq!(v["passed"], true, "{v}");
    let addr = step(&v, "h1", "ip -6 addr");
    assert_eq!(
        addr,
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 state UNKNOWN qlen 1000\n\
         \x20   inet6 ::1/128 scope host \n\
         \x20      valid_lft forever preferred_lft forever\n\
         2: eth0@eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP qlen 1000\n\
         \x20   inet6 2001:db8:1::10/64 scope global \n\
         \x20      valid_lft forever preferred_lft forever\n\
         \x20   inet6 fe80::42:acff:fe11:2/64 scope link \n\
         \x20      valid_lft forever preferred_lft forever\n\
         3: eth1@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 state UP qlen 1000\n\
         \x20   inet6 fe80::42:acff:fe12:2/64 scope link \n\
         \x20      valid_lft forever preferred_lft forever\n",
        "{addr}: IPv6's own link dump gives each veth's peer index without its namespace, \
         and iproute2 names it by the local interface with that index (eth0's peer, port \
         3 of the bridge, reads as eth1)"
    );
    assert_eq!(
        step(&v, "h1", "ip -6 route"),
        "2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium\n\
         fe80::/64 dev eth0 proto kernel metric 256 pref medium\n\
         fe80::/64 dev eth1 proto kernel metric 256 pref medium\n\
         default via 2001:db8:1::1 dev eth0 metric 1024 pref medium\n"
    );
    let ping = step(&v, "h1", "ping -6 -c 3 2001:db8:1::20");
    assert!(
        ping.starts_with("PING 2001:db8:1::20(2001:db8:1::20) 56 data bytes\n64 bytes from 2001:db8:1::20: icmp_seq=1 ttl=64 time="),
        "{ping}"
    );
    assert!(
        ping.contains("\n--- 2001:db8:1::20 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time 2000ms\nrtt min/avg/max/mdev = "),
        "{ping}"
    );
    let cable = step(&v, "h1", "ping6 -c 2 -I eth1 fe80::42:acff:fe12:5");
    assert!(
        cable.starts_with("PING fe80::42:acff:fe12:5(fe80::42:acff:fe12:5) from :: eth1: 56 data bytes\n64 bytes from fe80::42:acff:fe12:5%eth1: icmp_seq=1 ttl=64 "),
        "{cable}"
    );
    let lost = step(&v, "h1", "ping -6 -c 2 -W 1 2001:db8:1::99");
    assert!(
        lost.ends_with("2 packets transmitted, 0 received, 100% packet loss, time 1000ms\n\n"),
        "{lost:?}"
    );
    let exit_of = |cmd: &str| {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["command"] == cmd)
            .map(|s| s["result"]["exit_code"].clone())
    };
    assert_eq!(
        exit_of("ping -6 -c 2 -W 1 2001:db8:1::99"),
        Some(1.into()),
        "{v}"
    );
    assert_eq!(
        exit_of("ping -6 -c 3 2001:db8:1::20"),
        Some(0.into()),
        "{v}"
    );
    // Both families in `ip neigh`, and the IPv6 entries alone in `ip -6 neigh`.
    assert_eq!(
        step(&v, "h1", "ip neigh"),
        "2001:db8:1::20 dev eth0 lladdr 02:42:ac:11:00:03 REACHABLE \n\
         fe80::42:acff:fe11:3 dev eth0 lladdr 02:42:ac:11:00:03 REACHABLE \n\
         fe80::42:acff:fe12:5 dev eth1 lladdr 02:42:ac:12:00:05 REACHABLE \n"
    );
    // curl over IPv6 to a `--bind ::` server, and to one on 0.0.0.0 that resets it.
    let curl = "curl -s --local-port 40000 http://[2001:db8:1::20]/";
    assert_eq!(
        step(&v, "h1", curl),
        "Hello from h2 ([2001:db8:1::20]:80). You came from [2001:db8:1::10]:40000.\n"
    );
    assert_eq!(exit_of(curl), Some(0.into()), "{v}");
    let refused = "curl http://[2001:db8:1::20]:8080/";
    assert_eq!(
        step(&v, "h1", refused),
        "curl: (7) Failed to connect to 2001:db8:1::20 port 8080 after 0 ms: Couldn't connect to server\n"
    );
    assert_eq!(exit_of(refused), Some(7.into()), "{v}");
    let server = step(&v, "h2", "http-server --bind :: 80");
    assert!(
        server
            .starts_with("Serving HTTP on :: port 80 (http://[::]:80/) ...\n2001:db8:1::10 - - ["),
        "{server}"
    );
    // An IPv4 socket first, as `ss` asks for each family in turn; the dual one as `*`.
    assert_eq!(
        step(&v, "h2", "ss -ltn"),
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n\
         LISTEN 0      5            0.0.0.0:8080      0.0.0.0:*          \n\
         LISTEN 0      5                  *:80              *:*          \n"
    );
    // netcat both ways over IPv6.
    let nc = "nc -v -N 2001:db8:1::20 7000";
    assert_eq!(
        step(&v, "h1", nc),
        "Connection to 2001:db8:1::20 7000 port [tcp/*] succeeded!\nhello from h2\n"
    );
    assert_eq!(exit_of(nc), Some(0.into()), "{v}");
    assert_eq!(step(&v, "h2", "nc -6 -l 7000"), "hello from h1\n");
    // traceroute -6 on one link: the destination at hop 1.
    let trace = step(&v, "h1", "traceroute -6 -n 2001:db8:1::20");
    assert!(
        trace.starts_with(
            "traceroute to 2001:db8:1::20 (2001:db8:1::20), 30 hops max, 80 byte packets\n 1  2001:db8:1::20  "
        ),
        "{trace}"
    );
    assert_eq!(trace.lines().count(), 2, "{trace}");
    assert_eq!(trace.matches(" ms").count(), 3, "{trace}");
}

#[test]
fn lab14_capture_is_tshark_clean_and_holds_neighbor_discovery() {
    if !have_tool(
        "tshark",
        "lab14_capture_is_tshark_clean_and_holds_neighbor_discovery",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let v = report(dir.path());
    for f in v["files"].as_array().unwrap() {
        assert_tshark_clean(Path::new(f["path"].as_str().unwrap()));
    }
    let h1 = dir.path().join("h1-eth0.pcap");
    assert!(h1.exists(), "{v}");
    let count = |file: &Path, filter: &str| tshark_lines(&tshark(file, &["-Y", filter]));
    // h1's link: no ARP at all, and each solicitation as RFC 4861 wants it.
    assert_eq!(count(&h1, "arp"), 0);
    let ns = count(&h1, "icmpv6.type == 135 && eth.dst[0:3] == 33:33:ff");
    assert!(ns >= 2, "{ns} solicitations");
    assert_eq!(
        count(
            &h1,
            "icmpv6.type == 135 && ipv6.hlim == 255 && eth.dst[0:3] == 33:33:ff && icmpv6.opt.linkaddr == 02:42:ac:11:00:02"
        ),
        ns,
        "every solicitation to a group: hop limit 255, to a solicited-node group's MAC, with h1's MAC"
    );
    // The rest are unicast probes of a neighbour gone stale (r1, before the ip6tables
    // part), hop limit 255 too.
    let probes = count(&h1, "icmpv6.type == 135 && !(eth.dst[0:3] == 33:33:ff)");
    assert_eq!(
        count(
            &h1,
            "icmpv6.type == 135 && !(eth.dst[0:3] == 33:33:ff) && ipv6.hlim == 255 && icmpv6.nd.ns.target_address == ipv6.dst"
        ),
        probes
    );
    assert_eq!(
        count(&h1, "icmpv6.type == 136 && ipv6.hlim == 255"),
        count(&h1, "icmpv6.type == 136")
    );
    // The echo requests and replies of the pings that got through (3, 2, 2 through the
    // router, and 1 through its ip6tables), and the requests of the three that r1
    // answered with an error, each also quoted in its error.
    assert_eq!(count(&h1, "icmpv6.type == 128"), 8 + 3 + 3);
    assert_eq!(count(&h1, "icmpv6.type == 129"), 8);
    assert_eq!(
        count(&h1, "icmpv6.type == 128 && ipv6.dst == 2001:db8:1::99"),
        0
    );
    // The solicitation for h2 reached h3 (flooded), which answered nothing.
    let h3 = dir.path().join("h3-eth0.pcap");
    assert_eq!(
        count(
            &h3,
            "icmpv6.type == 135 && icmpv6.nd.ns.target_address == 2001:db8:1::20"
        ),
        1
    );
    assert_eq!(count(&h3, "ipv6.src == 2001:db8:1::30"), 0);
    // curl's connection: one handshake over IPv6 (h1 to h2, MSS 1440 = 1500 - 40 - 20),
    // the request and answer, both FINs; the SYN to 8080 answered by a reset.
    let h2 = dir.path().join("h2-eth0.pcap");
    let syn = "ipv6 && tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 80";
    assert_eq!(count(&h2, syn), 1);
    assert_eq!(
        count(&h2, &format!("{syn} && tcp.options.mss_val == 1440")),
        1
    );
    assert_eq!(
        count(
            &h1,
            "ipv6 && tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == 80"
        ),
        1
    );
    assert_eq!(
        count(
            &h1,
            "ipv6 && http.request.method == \"GET\" && http.host == \"[2001:db8:1::20]\""
        ),
        1
    );
    assert_eq!(count(&h1, "ipv6 && http.response.code == 200"), 1);
    assert_eq!(
        count(&h1, "ipv6 && tcp.port == 80 && tcp.flags.fin == 1"),
        2
    );
    assert_eq!(
        count(&h1, "ipv6 && tcp.flags.reset == 1 && tcp.srcport == 8080"),
        1
    );
    assert_eq!(count(&h1, "ip && tcp"), 0, "no IPv4 in the exchange");
    // nc's line each way, each in one segment.
    assert_eq!(
        count(
            &h1,
            "ipv6 && tcp.dstport == 7000 && tcp.payload == \"hello from h1\\n\""
        ),
        1
    );
    assert_eq!(
        count(
            &h1,
            "ipv6 && tcp.srcport == 7000 && tcp.payload == \"hello from h2\\n\""
        ),
        1
    );
}

/// `::1` on `lo`, on a host and on a router's own stack: an echo request is answered, a
/// `[::]` server answers from it, an IPv4-only one refuses (the kernel's own outcomes,
/// `tests/kernel_diff_v6.rs`).
#[test]
fn the_ipv6_loopback_address_answers_on_hosts_and_routers() {
    let y = "version: 1
name: lo6
captures: none
hosts:
  - name: h
    interfaces: {eth0: {ip: 10.0.0.1/24, ipv6: '2001:db8::1/64'}}
routers:
  - name: r
    interfaces: {eth0: {ip: 10.0.0.2/24, ipv6: '2001:db8::2/64'}}
links:
  - [h:eth0, r:eth0]
steps:
  - {on: h, run: 'http-server --bind :: 80', background: true}
  - {on: h, run: 'http-server 8080', background: true}
  - {on: r, run: 'http-server --bind :: 80', background: true}
  - {name: h-ping, on: h, run: 'ping -6 -c 1 ::1'}
  - {name: h-dual, on: h, run: 'curl -s http://[::1]/'}
  - {name: h-v4, on: h, run: 'curl -sS http://[::1]:8080/'}
  - {name: r-ping, on: r, run: 'ping -6 -c 1 ::1'}
  - {name: r-dual, on: r, run: 'curl -s http://[::1]/'}
";
    let r = common::run_lab_text(y, "lo6.yaml");
    for (name, code, text) in [
        ("h-ping", 0, "64 bytes from ::1: icmp_seq=1 ttl=64 "),
        ("h-dual", 0, "Hello from h ([::1]:80). You came from [::1]:"),
        ("h-v4", 7, "Failed to connect to ::1 port 8080"),
        ("r-ping", 0, "64 bytes from ::1: icmp_seq=1 ttl=64 "),
        ("r-dual", 0, "Hello from r ([::1]:80). You came from [::1]:"),
    ] {
        let (got, out) = common::step_out(&r, name);
        assert_eq!(got, code, "{name}: {out}");
        assert!(out.contains(text), "{name}: {out}");
    }
}
