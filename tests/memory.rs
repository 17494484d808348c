//! Memory that holds and says so, in deterministic quantities (socket buffer capacities,
//! table lengths), never RSS: an idle server holds no socket buffers, a connection's come
//! and go with it, and a long ping's state stops growing.

use hoplab::capture::CaptureMode;
use hoplab::host::Host;
use hoplab::host::stack::Footprint;
use hoplab::scenario::run::{RunOptions, RunReport, Runner};
use hoplab::time::Duration;
use smoltcp::wire::{EthernetFrame, EthernetProtocol, Ipv4Packet, TcpPacket, TcpRepr};

const TWO_HOSTS: &str = "version: 1
name: mem
hosts:
  - name: a
    interfaces: {eth0: 10.0.0.1/24}
  - name: b
    interfaces: {eth0: 10.0.0.2/24}
links:
  - [a:eth0, b:eth0]
steps:
";

fn options(out: Option<&std::path::Path>) -> RunOptions {
    RunOptions {
        out_dir: out.map(|p| p.to_path_buf()),
        seed: None,
        capture: Some(match out {
            Some(_) => CaptureMode::Split,
            None => CaptureMode::None,
        }),
        interrupt: None,
        merged_to: None,
        max_capture_bytes: 0,
        snaplen: None,
    }
}

/// Runs the two-host lab with `steps` until virtual time `at` (programs still running then
/// keep running) and returns each host's footprint then.
fn footprints_at(steps: &str, at: Duration) -> (Footprint, Footprint, RunReport) {
    let lab = hoplab::scenario::parse(&format!("{TWO_HOSTS}{steps}"), "mem.yaml").expect("lab");
    let mut runner = Runner::new(&lab, &options(None)).expect("build");
    runner.stop_at(at);
    let report = runner.run();
    let mut footprint = |name: &str| {
        let id = runner.sim.find_node(name).unwrap();
        runner.sim.node_as::<Host>(id).unwrap().footprint()
    };
    (footprint("a"), footprint("b"), report)
}

const SERVER: &str = "  - {on: b, run: http-server 80, background: true}\n";

#[test]
fn an_idle_server_holds_no_socket_buffers() {
    let (_, b, _) = footprints_at(SERVER, Duration::from_secs(1));
    // Listening on eth0 and lo: two sockets, no buffers.
    assert_eq!(
        b,
        Footprint {
            sockets: 2,
            buffer_bytes: 0,
            program_bytes: 0
        }
    );
}

#[test]
fn a_connection_brings_its_buffers_and_takes_them_away() {
    let steps = format!("{SERVER}  - {{at: 1s, on: a, run: curl -s http://10.0.0.2/}}\n");
    // Just after the exchange, the server's side of it waits in TIME_WAIT with the buffers it
    // was made with (16 KiB to receive, 256 KiB to send); its new listener has none.
    let (_, b, report) = footprints_at(&steps, Duration::from_millis(1100));
    assert_eq!(report.steps[1].result.as_ref().unwrap().status, Some(200));
    assert_eq!(b.sockets, 3);
    assert_eq!(b.buffer_bytes, 16 * 1024 + 256 * 1024);
    // Once the connection is gone, the server is idle again.
    let steps = format!("{steps}  - {{at: 29s, on: a, run: sleep 2}}\n");
    let (a, b, _) = footprints_at(&steps, Duration::from_secs(30));
    assert_eq!((b.sockets, b.buffer_bytes), (2, 0));
    assert_eq!((a.sockets, a.buffer_bytes), (0, 0));
}

#[test]
fn a_udp_receiver_gets_its_buffers_with_its_first_datagram() {
    let recv = "  - {on: b, run: udp-recv 5000, background: true}\n";
    let (_, b, _) = footprints_at(recv, Duration::from_secs(1));
    assert_eq!((b.sockets, b.buffer_bytes), (2, 0));
    let steps = format!(
        "{recv}  - {{at: 1s, on: a, run: udp-send 10.0.0.2 5000 10}}\n  - {{at: 2s, on: a, run: sleep 1}}\n"
    );
    let (_, b, report) = footprints_at(&steps, Duration::from_millis(2500));
    assert_eq!(
        report.steps[1].result.as_ref().unwrap().transmitted,
        Some(10)
    );
    // The socket on eth0 took them, with its 64 slots of 1,500 bytes each way; lo's has none.
    assert_eq!((b.sockets, b.buffer_bytes), (2, 2 * 64 * 1500));
}

/// The SYN-ACKs `b` sent, as (window, window scale) from its capture.
fn syn_acks(steps: &str) -> Vec<(u16, Option<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let lab = hoplab::scenario::parse(&format!("{TWO_HOSTS}{steps}"), "mem.yaml").expect("lab");
    let mut runner = Runner::new(&lab, &options(Some(dir.path()))).expect("build");
    let report = runner.run();
    assert!(report.passed, "{:?}", report.steps);
    drop(runner);
    let file = std::fs::File::open(dir.path().join("mem/b-eth0.pcap"))
        .or_else(|_| std::fs::File::open(dir.path().join("b-eth0.pcap")))
        .expect("b's capture");
    let mut reader = pcap_file::pcap::PcapReader::new(file).unwrap();
    let mut out = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.unwrap();
        let eth = EthernetFrame::new_checked(&pkt.data[..]).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            continue;
        };
        if tcp.syn() && tcp.ack() && ip.src_addr() == smoltcp::wire::Ipv4Address::new(10, 0, 0, 2) {
            let caps = smoltcp::phy::ChecksumCapabilities::ignored();
            let repr =
                TcpRepr::parse(&tcp, &ip.src_addr().into(), &ip.dst_addr().into(), &caps).unwrap();
            out.push((repr.window_len, repr.window_scale));
        }
    }
    out
}

#[test]
fn a_listener_given_its_buffers_at_the_syn_advertises_them() {
    // http-server: a 16 KiB receive buffer, no scaling needed; bulk-recv: 1 MiB, scale 5
    // (smoltcp's: the buffer's bit length less 16), the SYN-ACK's window unscaled, at most
    // 65,535.
    let http = format!(
        "{SERVER}  - {{at: 1s, on: a, run: curl -s http://10.0.0.2/, expect: {{status: 200}}}}\n"
    );
    assert_eq!(syn_acks(&http), vec![(16384, Some(0))]);
    let bulk = "  - {on: b, run: bulk-recv 9000, background: true}
  - {at: 1s, on: a, run: bulk-send 10.0.0.2 9000 100000, expect: {exit: 0}}
";
    assert_eq!(syn_acks(bulk), vec![(65535, Some(5))]);
}

#[test]
fn a_long_ping_keeps_bounded_state_and_wraps_its_sequence_numbers() {
    // 70,000 requests, 2 ms apart: past the 16-bit sequence space, as a 20-hour `ping -i 1`.
    let ping = "{at: 1s, on: a, run: ping -q -i 0.002 -c 70000 10.0.0.2";
    // In the background, so that it is still running where the run stops.
    let steps = format!("  - {ping}, background: true}}\n  - {{at: 150s, on: a, run: sleep 1}}\n");
    let state = |secs| {
        footprints_at(&steps, Duration::from_secs(secs))
            .0
            .program_bytes
    };
    // A send time (8 bytes) and a duplicate bit per sequence number, 65,536 of them at most.
    let bound = 65_536 * 8 + 65_536 / 8;
    // Midway, about 49,500 sent; past the wrap (65,536 sent at 132 s), no more (the last
    // request leaves just before 141 s).
    let (midway, wrapped, later) = (state(100), state(134), state(140));
    assert!(midway > 49_000 * 8 && midway <= bound, "{midway}");
    assert!(wrapped <= bound, "{wrapped}");
    assert_eq!(wrapped, later);
    let steps = format!("  - {ping}, timeout: 200s}}\n");
    let (_, _, report) = footprints_at(&steps, Duration::from_secs(300));
    let r = report.steps[0].result.as_ref().unwrap();
    assert_eq!((r.transmitted, r.received), (Some(70_000), Some(70_000)));
    assert!(!r.output.contains("duplicates"), "{}", r.output);
}
