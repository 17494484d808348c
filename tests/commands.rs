//! The commands a host runs, through a lab: their output and results read like the real tools.

mod common;

use common::{run, text};

const TWO_HOSTS: &str = "version: 1
name: cmds
captures: none
hosts:
  - name: a
    interfaces: {eth0: 10.0.0.1/24}
  - name: b
    interfaces: {eth0: 10.0.0.2/24}
links:
  - [a:eth0, b:eth0]
";

fn lab(steps: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.yaml");
    std::fs::write(&path, format!("{TWO_HOSTS}steps:\n{steps}")).unwrap();
    let out = run(&["run", path.to_str().unwrap(), "--json"]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn output(v: &serde_json::Value, step: usize) -> String {
    v["steps"][step]["result"]["output"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn curl_and_http_server_exchange_a_page() {
    let v = lab("  - {on: b, run: http-server 80, background: true}
  - {on: a, run: curl -s --local-port 40000 http://10.0.0.2/, expect: {status: 200}}
  - on: a
    run: curl -s -o /dev/null -w \"%{http_code} %{size_download}\\n\" http://10.0.0.2/bytes/300000
  - {on: a, run: curl -s http://10.0.0.2/missing, expect: {status: 404}}
  - {on: a, run: curl -sf http://10.0.0.2/missing, expect: {exit: 22}}
");
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(
        output(&v, 1),
        "Hello from b (10.0.0.2:80). You came from 10.0.0.1:40000.\n"
    );
    assert_eq!(output(&v, 2), "200 300000\n");
    let log = output(&v, 0);
    assert!(log.contains("10.0.0.1 - - ["), "{log}");
    assert!(
        log.contains("\"GET /bytes/300000 HTTP/1.1\" 200 300000"),
        "{log}"
    );
}

#[test]
fn refused_connections_read_like_curl_and_netcat() {
    let v = lab(
        "  - {on: a, run: curl http://10.0.0.2:8080/, expect: {exit: 7}}
  - {on: a, run: nc -zv 10.0.0.2 8080, expect: {exit: 1}}
",
    );
    assert_eq!(v["passed"], true, "{v}");
    assert!(output(&v, 0).starts_with(
        "curl: (7) Failed to connect to 10.0.0.2 port 8080 after 0 ms: Couldn't connect to server"
    ));
    assert_eq!(
        output(&v, 1),
        "nc: connect to 10.0.0.2 port 8080 (tcp) failed: Connection refused\n"
    );
}

#[test]
fn netcat_carries_input_both_ways_over_tcp_and_udp() {
    let v = lab(
        "  - {on: b, run: nc -l 9000, input: \"pong\\n\", background: true}
  - {on: a, run: nc -N 10.0.0.2 9000, input: \"ping\\n\", timeout: 5s}
  - {on: b, run: nc -lu 9001, input: \"ack\\n\", background: true}
  - {on: a, run: nc -u -w 1 10.0.0.2 9001, input: \"datagram\\n\"}
  - {on: a, run: nc -zv 10.0.0.2 9002, expect: {exit: 1}}
",
    );
    assert_eq!(output(&v, 0), "ping\n");
    assert_eq!(output(&v, 1), "pong\n");
    assert_eq!(output(&v, 2), "datagram\n");
    assert_eq!(output(&v, 3), "ack\n");
    assert_eq!(v["steps"][3]["result"]["received"], 1);
}

#[test]
fn bulk_transfer_checks_every_byte() {
    let v = lab("  - {on: b, run: bulk-recv 5001, background: true}
  - {on: a, run: bulk-send -p 41000 10.0.0.2 5001 3M, expect: {exit: 0, bytes: 3000000}}
");
    assert_eq!(v["passed"], true, "{v}");
    let recv = output(&v, 0);
    let send = output(&v, 1);
    assert!(
        recv.contains("received 3000000 bytes from 10.0.0.1:41000"),
        "{recv}"
    );
    assert!(recv.ends_with(", ok\n"), "{recv}");
    let digest = |s: &str| s.split("digest ").nth(1).unwrap()[..16].to_string();
    assert_eq!(digest(&recv), digest(&send));
}

#[test]
fn a_link_taken_down_loses_pings_until_it_comes_back() {
    let v = lab("  - {at: 1s, link: a:eth0, set: down}
  - {on: a, run: ping -c 2 -W 1 10.0.0.2, expect: {received: 0, exit: 1}}
  - {link: a:eth0, set: up}
  - {on: a, run: ping -c 2 10.0.0.2, expect: {received: 2}}
  - {on: a, show: ip -s link}
");
    assert_eq!(v["passed"], true, "{v}");
    let out = output(&v, 1);
    assert!(
        out.contains("2 packets transmitted, 0 received, 100% packet loss"),
        "{out}"
    );
    let listing = v["steps"][4]["listing"].as_str().unwrap();
    assert!(
        listing.contains("2: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500"),
        "{listing}"
    );
    assert!(
        listing.contains("    RX:  bytes packets errors dropped  missed   mcast"),
        "{listing}"
    );
}

#[test]
fn ping_reports_statistics_like_iputils() {
    let v = lab("  - {on: a, run: ping -c 2 -i 0.5 -s 100 10.0.0.2}
  - {on: a, run: ping -c 1 -W 1 10.0.0.9, expect: {exit: 1}}
");
    let out = output(&v, 0);
    assert!(out.starts_with("PING 10.0.0.2 (10.0.0.2) 100(128) bytes of data.\n108 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time="), "{out}");
    assert!(out.contains("\n--- 10.0.0.2 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 500ms\nrtt min/avg/max/mdev = "), "{out}");
    let lost = output(&v, 1);
    assert!(
        lost.contains("1 packets transmitted, 0 received, 100% packet loss"),
        "{lost}"
    );
}

#[test]
fn udp_send_and_recv_count_datagrams_and_see_loss() {
    let v = lab("  - {on: b, run: udp-recv 5000, background: true}
  - {on: a, run: udp-send -s 100 10.0.0.2 5000 500, expect: {transmitted: 500, exit: 0}}
");
    assert_eq!(v["passed"], true, "{v}");
    assert_eq!(output(&v, 0), "received 500 datagrams, 50000 bytes\n");
    assert!(output(&v, 1).starts_with("sent 500 datagrams of 100 bytes to 10.0.0.2:5000 in "));
}
