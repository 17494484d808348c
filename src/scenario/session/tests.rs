//! The session without a terminal: typed commands as steps, their output, time, watches,
//! and the lab text `save` writes.

use super::*;
use crate::scenario::parse;

const LAB01: &str = include_str!("../../../scenarios/01-arp-and-mac-learning.yaml");

/// Two hosts and a router between them, no steps.
const ROUTED: &str = "version: 1
name: routed
bridges:
  - name: br0
hosts:
  - {name: h1, interfaces: {eth0: 10.0.1.10/24}, gateway: 10.0.1.1}
  - {name: h2, interfaces: {eth0: 10.0.2.10/24}, gateway: 10.0.2.1}
routers:
  - name: r1
    interfaces: {eth0: 10.0.1.1/24, eth1: 10.0.2.1/24}
links:
  - [h1:eth0, br0:p1]
  - [r1:eth0, br0:p2]
  - [h2:eth0, r1:eth1]
";

fn open(text: &str) -> Session {
    Session::open(text, "lab.yaml", SessionOptions::default()).unwrap()
}

#[test]
fn opens_after_the_labs_own_steps_on_the_first_host() {
    let s = open(LAB01);
    assert_eq!(s.node(), "c1");
    assert_eq!(s.now().to_string(), "3.000040s");
    assert!(s.opening().contains("its 5 steps ran"), "{}", s.opening());
    let s = open(ROUTED);
    assert_eq!((s.node(), s.now()), ("h1", Instant::ZERO));
}

#[test]
fn a_program_runs_in_virtual_time_and_a_listing_prints_at_once() {
    let mut s = open(LAB01);
    let r = s.execute("ping -c 2 172.17.0.3");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(
        r.output.contains("2 packets transmitted, 2 received"),
        "{}",
        r.output
    );
    assert_eq!(s.now().to_string(), "4.000080s");
    let r = s.execute("ip neigh");
    assert!(
        r.output
            .contains("172.17.0.3 dev eth0 lladdr 02:42:ac:11:00:03 REACHABLE"),
        "{}",
        r.output
    );
    assert_eq!(s.now().to_string(), "4.000080s");
    // Saved as a lab author writes them: run: for the program, show: for the listing.
    let text = s.lab_text();
    assert!(
        text.contains(r#"- {on: "c1", run: "ping -c 2 172.17.0.3"}"#),
        "{text}"
    );
    assert!(text.contains(r#"- {on: "c1", show: "ip neigh"}"#), "{text}");
}

#[test]
fn on_switches_node_and_ip_netns_exec_runs_once_elsewhere() {
    let mut s = open(LAB01);
    assert_eq!(s.execute("on c3").exit_code, 0);
    assert_eq!(s.node(), "c3");
    let r = s.execute("ip netns exec br0 bridge fdb show dynamic");
    assert!(
        r.output.contains("02:42:ac:11:00:02 dev veth1"),
        "{}",
        r.output
    );
    assert_eq!(s.node(), "c3");
    let r = s.execute("on c2 ping -c 1 172.17.0.2");
    assert!(r.output.contains("1 received"), "{}", r.output);
    assert_eq!(s.node(), "c3");
    let r = s.execute("on c9");
    assert_eq!(r.exit_code, 2);
    assert!(
        r.output.contains("no node named 'c9'") && r.output.contains("br0, c1, c2, c3"),
        "{}",
        r.output
    );
    let text = s.lab_text();
    assert!(
        text.contains(r#"{on: "br0", show: "bridge fdb show dynamic"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{on: "c2", run: "ping -c 1 172.17.0.2"}"#),
        "{text}"
    );
}

#[test]
fn a_refused_command_adds_nothing_and_says_why() {
    let mut s = open(LAB01);
    let r = s.execute("pnig 172.17.0.3");
    assert_eq!(r.exit_code, 2);
    assert!(r.output.contains("pnig: command not found"), "{}", r.output);
    let r = s.execute("ping -Q 172.17.0.3");
    assert!(r.output.contains("invalid option"), "{}", r.output);
    // A bridge runs no command: its listings' error says what it shows.
    let r = s.execute("on br0 bridge fbd");
    assert_eq!(r.exit_code, 2, "{}", r.output);
    assert_eq!(s.steps_typed(), 0);
    assert_eq!(s.lab_text(), LAB01);
    assert_eq!(s.execute("\"unclosed").exit_code, 2);
}

#[test]
fn watch_prints_the_frames_at_a_point_while_a_command_runs() {
    let mut s = open(LAB01);
    assert_eq!(s.execute("watch c2:eth0 icmp").exit_code, 0);
    assert!(s.execute("watch").output.contains("c2:eth0 icmp"));
    let r = s.execute("ping -c 1 172.17.0.3");
    let lines: Vec<&str> = r.output.lines().collect();
    assert!(
        lines[0]
            .starts_with("[  3.000060s] c2:eth0 in  172.17.0.2 > 172.17.0.3: ICMP echo request"),
        "{}",
        r.output
    );
    assert!(lines[1].contains("c2:eth0 out 172.17.0.3 > 172.17.0.2: ICMP echo reply"));
    assert!(lines[2].starts_with("PING 172.17.0.3"), "{}", r.output);
    // The next command shows only its own frames.
    let r = s.execute("ping -c 1 172.17.0.3");
    assert_eq!(r.output.matches("echo request").count(), 1, "{}", r.output);
    assert!(
        s.execute("watch c2:eth9")
            .output
            .contains("no interface 'eth9'")
    );
    assert!(s.execute("watch c2:eth0 icmp.nope").exit_code == 2);
    s.execute("unwatch");
    let r = s.execute("ping -c 1 172.17.0.3");
    assert!(!r.output.contains("echo request"), "{}", r.output);
}

#[test]
fn sleep_lets_time_pass_and_is_saved_as_the_next_steps_after() {
    let mut s = open(ROUTED);
    assert_eq!(s.execute("sleep 2s").exit_code, 0);
    assert_eq!(s.execute("time").output, "2.000000s\n");
    s.execute("ping -c 1 10.0.2.10");
    assert!(s.now() > Instant::ZERO + Duration::from_secs(2));
    assert!(
        s.lab_text()
            .contains(r#"  - {after: 2s, on: "h1", run: "ping -c 1 10.0.2.10"}"#),
        "{}",
        s.lab_text()
    );
    s.execute("sleep 500ms");
    assert_eq!(s.pending_sleep(), Duration::from_millis(500));
    // A sleep past the lab's end (1 h without a duration) is refused.
    assert_eq!(s.execute("sleep 2h").exit_code, 2);
    // With a point watched, the frames during the sleep are shown.
    s.execute("on h2 ping -c 3 10.0.1.10 &");
    s.execute("watch h1:eth0 icmp.type == 8");
    let r = s.execute("sleep 3");
    assert_eq!(r.output.matches("echo request").count(), 3, "{}", r.output);
}

#[test]
fn a_background_command_keeps_running_and_jobs_shows_it() {
    let mut s = open(ROUTED);
    let r = s.execute("on h2 http-server 80 &");
    assert!(r.output.contains("[1] h2$ http-server 80"), "{}", r.output);
    let r = s.execute("curl -s http://10.0.2.10/");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(r.output.contains("Hello from h2"), "{}", r.output);
    let jobs = s.execute("jobs").output;
    assert!(jobs.contains("[1] h2$ http-server 80"), "{jobs}");
    assert!(jobs.contains("GET /"), "{jobs}");
    assert!(
        s.lab_text()
            .contains(r#"{on: "h2", run: "http-server 80", background: true}"#)
    );
    // A listing has nothing to run in the background.
    assert_eq!(s.execute("ip route &").exit_code, 2);
}

#[test]
fn router_commands_and_listings_go_where_a_lab_puts_them() {
    let mut s = open(ROUTED);
    s.execute("on r1");
    let r = s.execute("iptables -A FORWARD -p icmp -j DROP");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    let r = s.execute("iptables -nvL FORWARD");
    assert!(
        r.output.contains("    0     0 DROP       icmp --"),
        "{}",
        r.output
    );
    let r = s.execute("ip route");
    assert!(r.output.contains("10.0.2.0/24 dev eth1"), "{}", r.output);
    let r = s.execute("on h1 ping -c 1 -W 1 10.0.2.10");
    assert_eq!(r.exit_code, 1, "{}", r.output);
    let r = s.execute("iptables -nvL FORWARD");
    assert!(
        r.output.contains("    1    84 DROP       icmp --"),
        "{}",
        r.output
    );
    let r = s.execute("iptables -C FORWARD -p icmp -j DROP || iptables -I FORWARD -p icmp -j DROP");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    let text = s.lab_text();
    assert!(text.contains(r#"{on: "r1", show: "ip route"}"#), "{text}");
    assert!(text.contains(r#"{on: "r1", run: "iptables -A FORWARD -p icmp -j DROP"}"#));
}

#[test]
fn link_takes_a_link_down_and_up_as_a_link_step() {
    let mut s = open(ROUTED);
    assert_eq!(s.execute("link r1:eth1 down"), Reply::default());
    let r = s.execute("ping -c 1 -W 1 10.0.2.10");
    assert_eq!(r.exit_code, 1, "{}", r.output);
    assert_eq!(s.execute("link r1:eth1 up"), Reply::default());
    let r = s.execute("ping -c 1 10.0.2.10");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(s.lab_text().contains(r#"  - {link: "r1:eth1", set: down}"#));
    let r = s.execute("link r1:eth7 down");
    assert_eq!(r.exit_code, 2);
    assert!(r.output.contains("eth7"), "{}", r.output);
    assert_eq!(s.execute("link r1:eth1 sideways").exit_code, 2);
}

#[test]
fn the_saved_text_replays_the_session() {
    let mut s = open(LAB01);
    s.execute("on c2");
    s.execute("ping -c 1 172.17.0.2");
    s.execute("sleep 1");
    s.execute("on br0");
    let listing = s.execute("bridge fdb show dynamic").output;
    let text = s.lab_text();
    let lab = parse(&text, "saved.yaml").unwrap();
    assert_eq!(lab.steps.len(), 7);
    // The lab's own expectations still hold, and the last listing is the session's.
    let opts = RunOptions::without_captures();
    let report = Runner::new(&lab, &opts).unwrap().run();
    assert!(report.passed, "{report:?}");
    assert_eq!(report.steps[6].listing.as_deref(), Some(listing.as_str()));
    assert_eq!(report.steps[6].at, s.now().since_start().as_secs_f64());
}

#[test]
fn ctrl_c_stops_the_command_and_saves_where_it_stopped() {
    let flag = Arc::new(AtomicBool::new(false));
    let opts = SessionOptions {
        interrupt: Some(flag.clone()),
        ..SessionOptions::default()
    };
    let mut s = Session::open(ROUTED, "lab.yaml", opts).unwrap();
    // Raised just before a command, the flag is for it; a command too short for the engine
    // to look at the flag (every few thousand events) ends as it would, and spends it.
    flag.store(true, Ordering::Relaxed);
    let r = s.execute("ping -c 1 10.0.2.10");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(!flag.load(Ordering::Relaxed));
    assert_eq!(s.execute("on h2 bulk-recv 9000 &").exit_code, 0);
    // 30 s of virtual time at this rate take far longer than the wall time allowed here.
    let raise = flag.clone();
    let ctrl_c = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        raise.store(true, Ordering::Relaxed);
    });
    let r = s.execute("bulk-send 10.0.2.10 9000 100000000000");
    ctrl_c.join().unwrap();
    assert_eq!(r.exit_code, 130, "{}", r.output);
    assert!(r.output.contains("^C (stopped after "), "{}", r.output);
    let stopped_at = s.now();
    assert!(stopped_at < Instant::ZERO + Duration::from_secs(30));
    assert!(s.lab_text().contains(", timeout: "), "{}", s.lab_text());
    // Replayed, the transfer stops where Ctrl-C stopped it.
    let r = s.execute("ip route");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert_eq!(s.now(), stopped_at);
}

#[test]
fn exit_and_save_are_for_the_caller() {
    let mut s = open(LAB01);
    assert_eq!(s.execute("exit").effect, Some(Effect::Quit));
    assert_eq!(
        s.execute("save out.yaml").effect,
        Some(Effect::Save("out.yaml".into()))
    );
    assert!(s.execute("help").output.contains("ip netns exec NODE CMD"));
    assert!(
        s.execute("nodes")
            .output
            .contains("* c1   host    eth0 172.17.0.2/16")
    );
    assert!(s.points().contains(&"br0:veth2".to_string()));
    assert_eq!(s.execute("# a comment"), Reply::default());
}

#[test]
fn a_lab_with_taps_or_an_unknown_start_node_is_refused() {
    let opts = SessionOptions {
        on: Some("nope".into()),
        ..SessionOptions::default()
    };
    let e = Session::open(LAB01, "lab.yaml", opts).err().unwrap();
    assert!(e.contains("no node named 'nope'"), "{e}");
    let e = Session::open("version: 1\nname: [", "lab.yaml", SessionOptions::default())
        .err()
        .unwrap();
    assert!(e.starts_with("lab.yaml:2:"), "{e}");
}

#[test]
fn steps_are_appended_to_each_layout_of_steps() {
    let item = vec!["{on: a, show: x}".to_string()];
    let block = "a: 1\nsteps:\n  - {on: b, show: y}\n  # trailing comment\nexpect: []\n";
    assert_eq!(
        append_steps(block, &item).unwrap(),
        "a: 1\nsteps:\n  - {on: b, show: y}\n  - {on: a, show: x}\n  # trailing comment\nexpect: []\n"
    );
    let col0 = "steps:\n- on: b\n  show: y\n";
    assert_eq!(
        append_steps(col0, &item).unwrap(),
        "steps:\n- on: b\n  show: y\n- {on: a, show: x}\n"
    );
    let literal = "steps:\n  - on: r\n    run: iptables-restore\n    input: |\n      COMMIT\n      # Completed\nname: n";
    assert_eq!(
        append_steps(literal, &item).unwrap(),
        "steps:\n  - on: r\n    run: iptables-restore\n    input: |\n      COMMIT\n      # Completed\n  - {on: a, show: x}\nname: n"
    );
    assert_eq!(
        append_steps("a: 1\nsteps: []  # none\n", &item).unwrap(),
        "a: 1\nsteps: [{on: a, show: x}]  # none\n"
    );
    assert_eq!(
        append_steps("steps: [{on: b, show: \"]\"},\n  # c\n]\n", &item).unwrap(),
        "steps: [{on: b, show: \"]\"},\n  # c\n, {on: a, show: x}]\n"
    );
    assert_eq!(
        append_steps("a: 1", &item).unwrap(),
        "a: 1\nsteps:\n  - {on: a, show: x}\n"
    );
    assert_eq!(
        append_steps("steps: ~\nb: 2\n", &item).unwrap(),
        "steps:\n  - {on: a, show: x}\nb: 2\n"
    );
    assert!(append_steps("steps: *anchor\n", &item).is_err());
    assert_eq!(append_steps(block, &[]).unwrap(), block);
}

#[test]
fn skip_words_keeps_the_rest_as_typed() {
    assert_eq!(
        skip_words("on c1 curl -s 'http://x/a b'", 2),
        "curl -s 'http://x/a b'"
    );
    assert_eq!(skip_words("on \"c 1\"   ping x", 2), "ping x");
    assert_eq!(skip_words("on c1", 2), "");
}

/// A namespace made by a typed command is a node like the others: `on`, `ip netns exec`
/// and `watch` reach it, and the saved lab replays it.
#[test]
fn namespaces_made_at_the_prompt_are_nodes() {
    let mut s = open("version: 1\nname: bare\nrouters:\n  - name: host\n    interfaces: {}\n");
    for line in [
        "ip netns add ns1",
        "ip link add v0 type veth peer name v1 netns ns1",
        "ip addr add 10.9.0.1/24 dev v0",
        "ip link set v0 up",
        "ip netns exec ns1 ip addr add 10.9.0.2/24 dev v1",
        "ip netns exec ns1 ip link set v1 up",
    ] {
        let r = s.execute(line);
        assert_eq!(r.exit_code, 0, "{line}: {}", r.output);
    }
    assert!(s.nodes().contains(&"ns1".to_string()));
    assert!(s.points().contains(&"ns1:v1".to_string()));
    assert_eq!(s.execute("watch ns1:v1 icmp").exit_code, 0);
    let r = s.execute("ping -c 1 10.9.0.2");
    assert!(
        r.output
            .contains("ns1:v1 in  10.9.0.1 > 10.9.0.2: ICMP echo request"),
        "{}",
        r.output
    );
    assert!(r.output.contains("1 received"), "{}", r.output);
    let r = s.execute("ip netns exec ns9 ip addr");
    assert!(
        r.output.contains("Cannot open network namespace \"ns9\""),
        "{}",
        r.output
    );
    assert_eq!(s.execute("on ns1").exit_code, 0);
    assert!(
        s.execute("ip addr")
            .output
            .contains("inet 10.9.0.2/24 scope global v1")
    );
    parse(&s.lab_text(), "saved.yaml").expect("the saved lab loads");
}
