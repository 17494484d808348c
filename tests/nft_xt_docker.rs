//! iptables-nft's tables in `nft list ruleset` after whole rule sets: Docker 29's for
//! several hosts (hoplab's `docker::iptables_commands`, as the daemon issues them) and an
//! `iptables-restore` file, compared with the kernel's as in `nft_xt.rs`.

#[path = "nft_xt/harness.rs"]
mod harness;
mod kernel;

use harness::{Netns, compare, same, words};
use hoplab::docker::{
    Container, Daemon, Endpoint, Engine, ForwardPolicy, GatewayMode, Network, PortMap, Proto,
};
use hoplab::netfilter::rules::{IptablesVersion, NftListOptions, Tables, nft_ruleset_listing};
use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

#[test]
fn kd_nft_xt_restore_recreates_tables() {
    if !kernel::privileged("kd_nft_xt_restore_recreates_tables") {
        return;
    }
    let file = "*filter\n:DOCKER - [0:0]\n:OUTPUT ACCEPT [5:6]\n:INPUT DROP [0:0]\n\
                -A INPUT -j DOCKER\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n\
                *raw\nCOMMIT\n";
    let ns = Netns::new("xtnft-restore");
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for c in ["iptables -A FORWARD -j ACCEPT", "iptables -t mangle -N M"] {
        assert!(ns.exec(&words(c)).0);
        t.apply(&words(c)).unwrap();
    }
    let path = std::env::temp_dir().join(format!("xtnft-restore-{}.rules", std::process::id()));
    std::fs::write(&path, file).unwrap();
    let sh = format!("iptables-restore < {}", path.display());
    let (ok, _, err) = ns.exec(&["sh".into(), "-c".into(), sh]);
    let _ = std::fs::remove_file(&path);
    assert!(ok, "iptables-restore: {err}");
    t.restore(file).unwrap();
    let (_, out, _) = ns.exec(&words("nft -a list ruleset"));
    let handles = NftListOptions {
        handles: true,
        ..NftListOptions::default()
    };
    same(
        "restore: nft -a list ruleset",
        &out,
        &nft_ruleset_listing(&t, handles),
    );
}

fn docker_host() -> (Daemon, Vec<Network>, Vec<Container>) {
    let daemon = Daemon {
        engine: Engine::V29,
        forward_policy: ForwardPolicy::Accept,
        ..Daemon::default()
    };
    let ip = |s: &str| s.parse::<Ipv4Address>().unwrap();
    let bridge1 = Network {
        bridge: "bridge1".to_string(),
        ..Network::user(
            "bridge1",
            format!("{:0>64}", "b1"),
            Ipv4Cidr::new(ip("192.0.2.0"), 24),
        )
    };
    let c1 = Container {
        name: "c1".to_string(),
        id: format!("{:0>64}", "c1"),
        endpoints: vec![Endpoint {
            network: 1,
            ip: ip("192.0.2.2"),
            ip6: None,
            mac: EthernetAddress([0x02, 0x42, 0xc0, 0x00, 0x02, 0x02]),
        }],
        publish: vec![
            PortMap {
                host_ip: None,
                host_port: 8080,
                ctr_port: 80,
                proto: Proto::Tcp,
            },
            PortMap {
                host_ip: Some(ip("127.0.0.1").into()),
                host_port: 5353,
                ctr_port: 53,
                proto: Proto::Udp,
            },
        ],
    };
    let docker0 = Network::default_bridge(format!("{:0>64}", "d0"));
    (daemon, vec![docker0, bridge1], vec![c1])
}

#[test]
fn kd_nft_xt_docker29_host() {
    let (daemon, networks, containers) = docker_host();
    let mut commands = hoplab::docker::iptables_commands(&daemon, &networks, &containers);
    // IPv4's: this comparison's iptables-nft table set holds no ip6tables chain.
    commands.retain(|c| c[0] == "iptables");
    assert!(commands.len() > 20, "Docker's rule set: {commands:?}");
    compare("docker29", &commands);
}

/// Docker 29 with the FORWARD policy DROP, no userland proxy, and networks of every kind:
/// internal with and without ICC, routed, unprotected NAT; containers publishing ports.
#[test]
fn kd_nft_xt_docker29_network_kinds() {
    let daemon = Daemon {
        engine: Engine::V29,
        forward_policy: ForwardPolicy::Drop,
        userland_proxy: false,
        ..Daemon::default()
    };
    let ip = |s: &str| s.parse::<Ipv4Address>().unwrap();
    let net = |name: &str, n: u8, subnet: &str| Network {
        bridge: name.to_string(),
        ..Network::user(name, format!("{n:0>64}"), Ipv4Cidr::new(ip(subnet), 24))
    };
    let mut internal_icc = net("bridgeICC", 1, "192.0.2.0");
    internal_icc.internal = true;
    let mut internal_no_icc = net("bridgeNoICC", 2, "198.51.100.0");
    internal_no_icc.internal = true;
    internal_no_icc.enable_icc = false;
    let mut routed = net("bridgeR", 3, "203.0.113.0");
    routed.gateway_mode_ipv4 = GatewayMode::Routed;
    let mut open = net("bridgeU", 4, "10.99.0.0");
    open.gateway_mode_ipv4 = GatewayMode::NatUnprotected;
    let networks = vec![
        Network::default_bridge(format!("{:0>64}", "d0")),
        internal_icc,
        internal_no_icc,
        routed,
        open,
    ];
    let ctr = |name: &str, network: usize, addr: &str, publish: Vec<PortMap>| Container {
        name: name.to_string(),
        id: format!("{name:0>64}"),
        endpoints: vec![Endpoint {
            network,
            ip: ip(addr),
            ip6: None,
            mac: EthernetAddress([0x02, 0x42, 0, 0, 0, network as u8]),
        }],
        publish,
    };
    let tcp = |host_port, ctr_port| PortMap {
        host_ip: None,
        host_port,
        ctr_port,
        proto: Proto::Tcp,
    };
    let containers = vec![
        ctr("web", 0, "172.17.0.2", vec![tcp(8080, 80)]),
        ctr("db", 2, "198.51.100.2", vec![]),
        ctr("api", 3, "203.0.113.2", vec![tcp(8443, 443)]),
        ctr("dns", 4, "10.99.0.2", vec![tcp(5300, 53)]),
    ];
    let mut commands = hoplab::docker::iptables_commands(&daemon, &networks, &containers);
    // IPv4's: this comparison's iptables-nft table set holds no ip6tables chain.
    commands.retain(|c| c[0] == "iptables");
    assert!(commands.len() > 30, "Docker's rule set: {commands:?}");
    compare("docker29-kinds", &commands);
}
