//! Namespaces, veth pairs and bridges built by commands (seed 004's sections 4 and 5),
//! against the kernel: the same command lines run in a namespace standing for the root one
//! and in a hoplab lab, and their exit codes, messages, listings and pings must agree.

mod kernel;

/// How a step's outcome is compared.
#[derive(Clone, Copy)]
enum Kind {
    /// A command: exit code and output.
    Run,
    /// A listing, with what differs by nature (MACs, IPv6 lines) masked.
    Show,
    /// A ping: how many replies came back.
    Ping,
}
use Kind::*;

/// The namespaces the scripts make; the kernel's carry the test's prefix.
const NAMES: [&str; 3] = ["netns1", "ns-a", "ns-b"];

/// Masks MACs, drops IPv6 addresses (hoplab is IPv4-only) and ping timings, names the
/// peer namespace one way (the kernel's root namespace has a name, hoplab's has not), and
/// takes the prefix off namespace names.
fn normalize(prefix: &str, text: &str) -> String {
    let mut out = Vec::new();
    let mut skip = 0;
    for line in text.lines() {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        if line.trim_start().starts_with("inet6 ") {
            skip = 1;
            continue;
        }
        let mut words: Vec<String> = Vec::new();
        let mut it = line.split(' ').peekable();
        while let Some(w) = it.next() {
            let is_mac = w.len() == 17 && w.split(':').count() == 6;
            if is_mac && w != "ff:ff:ff:ff:ff:ff" && w != "00:00:00:00:00:00" {
                words.push("MAC".into());
            } else if w == "link-netns" || w == "link-netnsid" {
                it.next();
                words.push("LINKNS".into());
            } else {
                words.push(w.replace(prefix, ""));
            }
        }
        out.push(words.join(" "));
    }
    out.join("\n")
}

fn received(text: &str) -> Option<u32> {
    let line = text.lines().find(|l| l.contains(" received"))?;
    line.split(", ").nth(1)?.split(' ').next()?.parse().ok()
}

fn hoplab(steps: &[(Kind, &str)]) -> Vec<(i32, String)> {
    let mut y = String::from(
        "version: 1\nname: kd-netns\nrouters:\n  - name: host\n    interfaces: {}\nsteps:\n",
    );
    for (kind, cmd) in steps {
        let verb = match kind {
            Show => "show",
            Run | Ping => "run",
        };
        y.push_str(&format!("  - {{on: host, {verb}: \"{cmd}\"}}\n"));
    }
    let report = kernel::run_lab(&y);
    report
        .steps
        .iter()
        .map(|s| match (&s.result, &s.listing) {
            (Some(r), _) => (r.exit_code, r.output.clone()),
            (None, Some(l)) => (0, l.clone()),
            _ => (0, String::new()),
        })
        .collect()
}

fn compare(case: &str, steps: &[(Kind, &str)]) {
    if !kernel::privileged(case) {
        return;
    }
    let k = kernel::machine::Machine::new(case.trim_start_matches("kd_netns_"), &NAMES);
    let ours = hoplab(steps);
    let mut diffs = Vec::new();
    for ((kind, cmd), (code, text)) in steps.iter().zip(&ours) {
        let mut tries = 0;
        let (a, b) = loop {
            let (kcode, ktext) = k.exec(cmd);
            let pair = match kind {
                Ping => (
                    format!("{:?}", received(&ktext)),
                    format!("{:?}", received(text)),
                ),
                // The kernel lists every namespace of the machine: the test's own are
                // compared.
                Show if cmd.starts_with("ip netns") && !cmd.contains("exec") => (
                    normalize(
                        &k.prefix,
                        &ktext
                            .lines()
                            .filter(|l| NAMES.iter().any(|n| l.split(' ').next() == Some(n)))
                            .map(|l| format!("{l}\n"))
                            .collect::<String>(),
                    ),
                    normalize(&k.prefix, text),
                ),
                Show => (normalize(&k.prefix, &ktext), normalize(&k.prefix, text)),
                Run => (
                    format!("exit {kcode}: {}", ktext.trim_end().replace(&k.prefix, "")),
                    format!("exit {code}: {}", text.trim_end()),
                ),
            };
            // The kernel sets a link's operstate a moment after its carrier (linkwatch,
            // up to a second later, more on a loaded machine): a listing is read again until it
            // settles.
            tries += 1;
            if pair.0 == pair.1 || !matches!(kind, Show) || tries == 40 {
                break pair;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        if a != b {
            diffs.push(format!("$ {cmd}\n--- kernel\n{a}\n--- hoplab\n{b}\n"));
        }
    }
    assert!(diffs.is_empty(), "{case}:\n{}", diffs.join("\n"));
}

/// Seed 004 §4.3 and §5.2: a veth pair, one end moved to a namespace, addresses, up, ping
/// both ways; then the link goes down again.
#[test]
fn kd_netns_veth_pair_across_namespaces() {
    compare(
        "kd_netns_veth",
        &[
            (Run, "ip link add veth0 type veth peer name veth1"),
            (Show, "ip link show"),
            (Run, "ip netns add netns1"),
            (Run, "ip link set veth1 netns netns1"),
            (Show, "ip link show"),
            (Show, "ip netns list"),
            (Run, "ip addr add 10.0.0.1/24 dev veth0"),
            (
                Run,
                "ip netns exec netns1 ip addr add 10.0.0.2/24 dev veth1",
            ),
            (Show, "ip addr show"),
            (Run, "ip link set veth0 up"),
            (Show, "ip link show veth0"),
            (Show, "ip route show"),
            (Run, "ip netns exec netns1 ip link set veth1 up"),
            (Run, "ip netns exec netns1 ip link set lo up"),
            (Show, "ip addr show"),
            (Show, "ip netns exec netns1 ip addr show"),
            (Show, "ip netns exec netns1 ip route show"),
            (Ping, "ping -c 2 10.0.0.2"),
            (Ping, "ip netns exec netns1 ping -c 1 10.0.0.1"),
            (Run, "ip link set veth0 down"),
            (Show, "ip link show veth0"),
            (Show, "ip route show"),
            (Ping, "ping -c 1 -W 1 10.0.0.2"),
        ],
    );
}

/// The errors `ip` gives for what cannot be done.
#[test]
fn kd_netns_errors() {
    compare(
        "kd_netns_errors",
        &[
            (Run, "ip netns add netns1"),
            (Run, "ip netns add netns1"),
            (Run, "ip netns del ns-b"),
            (Run, "ip link add veth0 type veth peer name veth1"),
            (Run, "ip link add veth0 type veth peer name veth2"),
            (Run, "ip link set nope up"),
            (Run, "ip netns exec ns-b ip link show"),
            (Run, "ip addr add 10.0.0.1/24 dev nope"),
            (Run, "ip addr add 10.0.0.1/24 dev veth0"),
            (Run, "ip addr add 10.0.0.1/24 dev veth0"),
            (Run, "ip addr del 10.0.0.9/24 dev veth0"),
            (Run, "ip link del veth1"),
            (Show, "ip link show"),
            (Run, "ip netns del netns1"),
        ],
    );
}

/// Seed 004 §4.4: a bridge joining two namespaces, with an address as their gateway.
#[test]
fn kd_netns_bridge() {
    compare(
        "kd_netns_bridge",
        &[
            (Run, "ip link add br0 type bridge"),
            (Show, "ip link show br0"),
            (Run, "ip link set br0 up"),
            (Run, "ip netns add ns-a"),
            (Run, "ip netns add ns-b"),
            (
                Run,
                "ip link add veth-a type veth peer name eth0 netns ns-a",
            ),
            (
                Run,
                "ip link add veth-b type veth peer name eth0 netns ns-b",
            ),
            (Run, "ip link set veth-a master br0"),
            (Run, "ip link set veth-b master br0"),
            (Show, "bridge link show"),
            (Run, "ip link set veth-a up"),
            (Run, "ip link set veth-b up"),
            (
                Run,
                "ip netns exec ns-a ip addr add 192.168.100.10/24 dev eth0",
            ),
            (Run, "ip netns exec ns-a ip link set eth0 up"),
            (
                Run,
                "ip netns exec ns-b ip addr add 192.168.100.20/24 dev eth0",
            ),
            (Run, "ip netns exec ns-b ip link set eth0 up"),
            (Run, "ip addr add 192.168.100.1/24 dev br0"),
            (Ping, "ip netns exec ns-a ping -c 2 192.168.100.20"),
            (Ping, "ping -c 1 192.168.100.10"),
            (Show, "bridge link show"),
            (Show, "ip link show master br0"),
            (Show, "ip addr show br0"),
            (Show, "ip route show"),
            (Run, "ip link set veth-b nomaster"),
            (Ping, "ip netns exec ns-a ping -c 1 -W 1 192.168.100.20"),
            (Show, "bridge link show"),
            (Run, "ip link delete br0"),
            (Show, "ip link show type bridge"),
            (Run, "ip netns del ns-a"),
            (Show, "ip link show"),
        ],
    );
}

/// nftables' bridge family on that bridge: a `bridge` table's forward chain filters what the
/// bridge forwards port to port (not what it delivers to its own address), and its counter
/// counts the frame's IP length.
#[test]
fn kd_netns_bridge_nft_forward_chain() {
    compare(
        "kd_netns_bridge_nft",
        &[
            (Run, "ip link add br0 type bridge"),
            (Run, "ip link set br0 up"),
            (Run, "ip netns add ns-a"),
            (Run, "ip netns add ns-b"),
            (
                Run,
                "ip link add veth-a type veth peer name eth0 netns ns-a",
            ),
            (
                Run,
                "ip link add veth-b type veth peer name eth0 netns ns-b",
            ),
            (Run, "ip link set veth-a master br0"),
            (Run, "ip link set veth-b master br0"),
            (Run, "ip link set veth-a up"),
            (Run, "ip link set veth-b up"),
            (
                Run,
                "ip netns exec ns-a ip addr add 192.168.100.10/24 dev eth0",
            ),
            (Run, "ip netns exec ns-a ip link set eth0 up"),
            (
                Run,
                "ip netns exec ns-b ip addr add 192.168.100.20/24 dev eth0",
            ),
            (Run, "ip netns exec ns-b ip link set eth0 up"),
            (Run, "ip addr add 192.168.100.1/24 dev br0"),
            (Ping, "ip netns exec ns-a ping -c 1 192.168.100.20"),
            (Run, "nft add table bridge filter"),
            (
                Run,
                "nft add chain bridge filter forward '{ type filter hook forward priority filter; }'",
            ),
            (
                Run,
                "nft add rule bridge filter forward iifname veth-a ip daddr 192.168.100.20 icmp type echo-request counter drop",
            ),
            (Ping, "ip netns exec ns-a ping -c 2 -W 1 192.168.100.20"),
            (Ping, "ip netns exec ns-b ping -c 1 192.168.100.10"),
            (Ping, "ip netns exec ns-a ping -c 1 192.168.100.1"),
            (Show, "nft list ruleset"),
            (Run, "nft flush chain bridge filter forward"),
            (
                Run,
                "nft add rule bridge filter forward ether type ip meta l4proto icmp counter",
            ),
            (Ping, "ip netns exec ns-a ping -c 1 192.168.100.20"),
            (Show, "nft list chain bridge filter forward"),
            (Run, "nft delete table bridge filter"),
            (Run, "ip netns del ns-a"),
            (Run, "ip netns del ns-b"),
        ],
    );
}
