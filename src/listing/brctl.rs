//! `brctl show` and `brctl showmacs` as bridge-utils 1.7 prints them: tab-separated columns,
//! bridges and their interfaces in name order, FDB entries in MAC order.

use std::fmt::Write;

use smoltcp::wire::EthernetAddress;

/// One bridge as `brctl show` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrctlBridge {
    pub name: String,
    pub mac: EthernetAddress,
    pub stp: bool,
    pub interfaces: Vec<String>,
}

/// `brctl show`: the bridge id is the default priority 8000 and the bridge's MAC.
pub fn show(bridges: &[BrctlBridge]) -> String {
    let mut out = String::from("bridge name\tbridge id\t\tSTP enabled\tinterfaces\n");
    let mut sorted: Vec<&BrctlBridge> = bridges.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for b in sorted {
        let m = b.mac.0;
        let _ = write!(
            out,
            "{}\t\t8000.{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}\t{}\t\t",
            b.name,
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            if b.stp { "yes" } else { "no" }
        );
        let mut ifaces: Vec<&String> = b.interfaces.iter().collect();
        ifaces.sort();
        match ifaces.split_first() {
            None => out.push('\n'),
            Some((first, rest)) => {
                let _ = writeln!(out, "{first}");
                for i in rest {
                    let _ = writeln!(out, "\t\t\t\t\t\t\t{i}");
                }
            }
        }
    }
    out
}

/// One entry of `brctl showmacs`: the port number (from 1), the MAC, whether it is one of
/// the bridge's own, and the time since it was last seen (centiseconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacEntry {
    pub port: u16,
    pub mac: EthernetAddress,
    pub local: bool,
    pub age_cs: u64,
}

/// `brctl showmacs BR`.
pub fn showmacs(entries: &[MacEntry]) -> String {
    let mut out = String::from("port no\tmac addr\t\tis local?\tageing timer\n");
    let mut sorted: Vec<&MacEntry> = entries.iter().collect();
    sorted.sort_by_key(|e| e.mac.0);
    for e in sorted {
        let m = e.mac.0;
        let _ = writeln!(
            out,
            "{:3}\t{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}\t{}\t\t{:4}.{:02}",
            e.port,
            m[0],
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            if e.local { "yes" } else { "no" },
            e.age_cs / 100,
            e.age_cs % 100
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What bridge-utils 1.7.1 printed in a namespace: br0 with two ports, br1 and docker0
    /// without, br1 with STP on.
    #[test]
    fn lists_as_brctl_does() {
        let mac = |s: &str| {
            let b: Vec<u8> = s
                .split(':')
                .map(|x| u8::from_str_radix(x, 16).unwrap())
                .collect();
            EthernetAddress::from_bytes(&b)
        };
        let bridges = [
            BrctlBridge {
                name: "docker0".into(),
                mac: mac("00:00:00:00:00:00"),
                stp: false,
                interfaces: vec![],
            },
            BrctlBridge {
                name: "br0".into(),
                mac: mac("3a:35:1b:70:2c:e3"),
                stp: false,
                interfaces: vec!["vz1".into(), "va1".into()],
            },
            BrctlBridge {
                name: "br1".into(),
                mac: mac("00:00:00:00:00:00"),
                stp: true,
                interfaces: vec![],
            },
        ];
        assert_eq!(
            show(&bridges),
            "bridge name\tbridge id\t\tSTP enabled\tinterfaces\n\
             br0\t\t8000.3a351b702ce3\tno\t\tva1\n\
             \t\t\t\t\t\t\tvz1\n\
             br1\t\t8000.000000000000\tyes\t\t\n\
             docker0\t\t8000.000000000000\tno\t\t\n"
        );
        let entries = [
            MacEntry {
                port: 2,
                mac: mac("ea:6f:ac:14:ff:5f"),
                local: true,
                age_cs: 0,
            },
            MacEntry {
                port: 1,
                mac: mac("3a:35:1b:70:2c:e3"),
                local: true,
                age_cs: 0,
            },
            MacEntry {
                port: 1,
                mac: mac("02:00:00:00:00:09"),
                local: false,
                age_cs: 1234,
            },
        ];
        assert_eq!(
            showmacs(&entries),
            "port no\tmac addr\t\tis local?\tageing timer\n\
             \x20 1\t02:00:00:00:00:09\tno\t\t  12.34\n\
             \x20 1\t3a:35:1b:70:2c:e3\tyes\t\t   0.00\n\
             \x20 2\tea:6f:ac:14:ff:5f\tyes\t\t   0.00\n"
        );
    }
}
