//! Names in a Docker-style lab built without YAML: two containers on a user-defined network
//! find each other through the embedded DNS (`getent`, `nslookup`, `ping`, `curl`, `nc`,
//! `traceroute` by name); a container on the default bridge finds nobody.

use hoplab::bridge::Bridge;
use hoplab::docker::dns::{HostTarget, names_for};
use hoplab::docker::{Container, Endpoint, Network};
use hoplab::host::resolve::Names;
use hoplab::host::{Host, HostConfig, IfaceConfig};
use hoplab::id::NodeId;
use hoplab::link::LinkParams;
use hoplab::sim::{CmdId, CmdResult, Sim, Stop};
use hoplab::time::Duration;
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

fn id(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn container(name: &str, c: char, network: usize, ip: [u8; 4]) -> Container {
    Container {
        name: name.into(),
        id: id(c),
        endpoints: vec![Endpoint {
            network,
            ip: Ipv4Address::from_octets(ip),
            ip6: None,
            mac: EthernetAddress([2, 0, 0, 0, ip[2], ip[3]]),
        }],
        publish: Vec::new(),
    }
}

fn host(c: &Container, names: Names) -> Host {
    let ep = c.endpoints[0];
    Host::new(
        HostConfig {
            name: c.name.clone(),
            ifaces: vec![IfaceConfig {
                name: "eth0".into(),
                mac: ep.mac,
                cidr: Some(Ipv4Cidr::new(ep.ip, 16)),
                mtu: 1500,
                ipv6: None,
            }],
            gateway: None,
            announce: 0,
        },
        1,
    )
    .with_names(names)
}

struct Lab {
    sim: Sim,
    nodes: Vec<NodeId>,
    next: u32,
}

impl Lab {
    /// web and app on `backend` (one bridge), old on the default bridge (alone).
    fn new() -> Lab {
        let networks = vec![
            Network::default_bridge(id('0')),
            Network::user(
                "backend",
                id('1'),
                Ipv4Cidr::new(Ipv4Address::new(172, 18, 0, 0), 16),
            ),
        ];
        let containers = vec![
            container("web", 'b', 1, [172, 18, 0, 2]),
            container("app", 'c', 1, [172, 18, 0, 3]),
            container("old", 'a', 0, [172, 17, 0, 2]),
        ];
        let aliases = vec![vec![vec!["www".to_string()]]];
        let gw = ("host.docker.internal".to_string(), HostTarget::HostGateway);
        let extra = vec![vec![], vec![], vec![gw]];
        let names = names_for(&networks, &containers, &aliases, &extra);

        let mut sim = Sim::new(1);
        let (bridge, ports) = Bridge::numbered("br-backend", "p", 2);
        let br = sim.add_node(Box::new(bridge), &ports);
        let mut nodes = Vec::new();
        for (c, n) in containers.iter().zip(names) {
            nodes.push(sim.add_node(Box::new(host(c, n)), &["eth0".into()]));
        }
        for (i, &n) in nodes[..2].iter().enumerate() {
            sim.connect(
                sim.port(n, 0),
                sim.port(br, i as u16),
                LinkParams::default(),
            )
            .unwrap();
        }
        Lab {
            sim,
            nodes,
            next: 0,
        }
    }

    fn start(&mut self, on: usize, cmd: &str) -> CmdId {
        let argv: Vec<String> = cmd.split_whitespace().map(String::from).collect();
        let id = CmdId(self.next);
        self.next += 1;
        self.sim
            .start_command(self.nodes[on], id, &argv, "")
            .unwrap();
        id
    }

    fn run(&mut self, on: usize, cmd: &str) -> CmdResult {
        let id = self.start(on, cmd);
        let limit = self.sim.now() + Duration::from_secs(60);
        loop {
            match self.sim.run_until(limit) {
                Stop::CommandDone => {
                    let done = self.sim.take_finished();
                    if let Some((_, r)) = done.into_iter().find(|(i, _)| *i == id) {
                        return r;
                    }
                }
                other => panic!("{cmd}: {other:?}"),
            }
        }
    }
}

const WEB: usize = 0;
const APP: usize = 1;
const OLD: usize = 2;

#[test]
fn getent_and_nslookup_on_a_user_network() {
    let mut lab = Lab::new();
    let r = lab.run(APP, "getent hosts web www.backend");
    assert_eq!(r.exit_code, 0);
    assert_eq!(
        r.output,
        "172.18.0.2      web\n172.18.0.2      www.backend\n"
    );
    // Its own hostname is its short ID, from /etc/hosts.
    let r = lab.run(APP, "getent hosts cccccccccccc");
    assert_eq!(r.output, "172.18.0.3      cccccccccccc\n");
    let r = lab.run(APP, "getent hosts nosuch");
    assert_eq!((r.exit_code, r.output.as_str()), (2, ""));

    let r = lab.run(APP, "nslookup web");
    assert_eq!(r.exit_code, 0);
    assert_eq!(
        r.output,
        "Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\n\
         Non-authoritative answer:\nName:\tweb\nAddress: 172.18.0.2\n\n\
         Non-authoritative answer:\n*** Can't find web: No answer\n\n"
    );
    let r = lab.run(APP, "nslookup nosuch");
    assert_eq!(r.exit_code, 1);
    assert!(
        r.output
            .ends_with("\n\n** server can't find nosuch: NXDOMAIN\n\n"),
        "{}",
        r.output
    );
}

#[test]
fn clients_take_names() {
    let mut lab = Lab::new();
    let r = lab.run(APP, "ping -c 2 -i 0.2 web");
    assert_eq!(r.exit_code, 0, "{}", r.output);
    assert!(
        r.output
            .starts_with("PING web (172.18.0.2) 56(84) bytes of data.\n64 bytes from web.backend (172.18.0.2): icmp_seq=1 ttl=64 time="),
        "{}",
        r.output
    );
    assert!(
        r.output
            .contains("\n--- web ping statistics ---\n2 packets transmitted, 2 received")
    );
    // An address typed as such is printed bare, as before.
    let r = lab.run(APP, "ping -c 1 172.18.0.2");
    assert!(
        r.output.contains("64 bytes from 172.18.0.2: icmp_seq=1"),
        "{}",
        r.output
    );

    lab.start(WEB, "http-server 8080");
    let r = lab.run(APP, "curl -s http://web:8080/");
    assert_eq!(r.exit_code, 0);
    assert!(
        r.output
            .starts_with("Hello from web (172.18.0.2:8080). You came from 172.18.0.3:"),
        "{}",
        r.output
    );
    let r = lab.run(APP, "curl -s -o /dev/null -w %{remote_ip} http://www:8080/");
    assert_eq!(r.output, "172.18.0.2");

    let r = lab.run(APP, "nc -zv web 8080");
    assert_eq!(
        r.output,
        "Connection to web (172.18.0.2) 8080 port [tcp/http-alt] succeeded!\n"
    );

    let r = lab.run(APP, "traceroute -q 1 web");
    assert!(
        r.output.starts_with(
            "traceroute to web (172.18.0.2), 30 hops max, 60 byte packets\n 1  web.backend (172.18.0.2)  "
        ),
        "{}",
        r.output
    );
}

#[test]
fn unknown_names_fail_as_the_tools_do() {
    let mut lab = Lab::new();
    let r = lab.run(APP, "ping -c 1 nosuch");
    assert_eq!(
        (r.exit_code, r.output.as_str()),
        (2, "ping: nosuch: Name or service not known\n")
    );
    let r = lab.run(APP, "curl http://nosuch/");
    assert_eq!(
        (r.exit_code, r.output.as_str()),
        (6, "curl: (6) Could not resolve host: nosuch\n")
    );
    let r = lab.run(APP, "nc nosuch 80");
    assert_eq!(
        (r.exit_code, r.output.as_str()),
        (
            1,
            "nc: getaddrinfo for host \"nosuch\" port 80: Name or service not known\n"
        )
    );
    let r = lab.run(APP, "traceroute -n nosuch");
    assert_eq!(r.exit_code, 2);
    assert_eq!(
        r.output,
        "nosuch: Name or service not known\n\
         Cannot handle \"host\" cmdline arg `nosuch' on position 1 (argc 2)\n"
    );
}

#[test]
fn the_default_bridge_has_no_embedded_dns() {
    let mut lab = Lab::new();
    let r = lab.run(OLD, "getent hosts web");
    assert_eq!((r.exit_code, r.output.as_str()), (2, ""));
    let r = lab.run(OLD, "getent hosts host.docker.internal");
    assert_eq!(r.output, "172.17.0.1      host.docker.internal\n");
    let r = lab.run(OLD, "nslookup web");
    assert_eq!(
        (r.exit_code, r.output.as_str()),
        (
            1,
            ";; connection timed out; no servers could be reached\n\n"
        )
    );
    let r = lab.run(OLD, "ping -c 1 web");
    assert_eq!(
        (r.exit_code, r.output.as_str()),
        (2, "ping: web: Temporary failure in name resolution\n")
    );
}
