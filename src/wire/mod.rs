//! What we add to `smoltcp::wire`: service names, one-line frame summaries, 802.1Q tags,
//! and the IPv6 neighbour discovery messages hosts and routers write.

pub mod ipv6;
pub mod summary;
pub mod vlan;

/// `/etc/services` names for well-known ports, as netcat and iptables print them.
pub fn service_name(port: u16, udp: bool) -> Option<&'static str> {
    let name = match port {
        20 => "ftp-data",
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 => "smtp",
        53 => "domain",
        67 => "bootps",
        68 => "bootpc",
        69 if udp => "tftp",
        80 => "http",
        110 => "pop3",
        123 => "ntp",
        143 => "imap2",
        161 => "snmp",
        389 => "ldap",
        443 => "https",
        465 => "submissions",
        514 if udp => "syslog",
        514 => "shell",
        587 => "submission",
        636 => "ldaps",
        993 => "imaps",
        995 => "pop3s",
        1194 => "openvpn",
        1812 => "radius",
        2049 => "nfs",
        3128 => "squid",
        3306 => "mysql",
        3389 => "ms-wbt-server",
        5353 if udp => "mdns",
        5432 => "postgresql",
        5672 => "amqp",
        6379 => "redis",
        6443 => "sun-sr-https",
        8080 => "http-alt",
        8443 => "https-alt",
        9000 => "cslistener",
        9090 => "websm",
        9200 => "wap-wsp",
        27017 => "mongodb",
        _ => return None,
    };
    Some(name)
}

/// A MAC address printed as Linux tools print it: `02:42:ac:11:00:02` (smoltcp uses dashes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac(pub smoltcp::wire::EthernetAddress);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}
