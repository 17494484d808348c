//! `hoplab import`: a real host's dumps (`ip addr`, `ip route`, `ip rule`, `iptables-save`,
//! `iptables -L` listings, `nft list ruleset`, `docker inspect`, `docker network inspect`)
//! turned into a lab file
//! that rebuilds the host as a router, its Docker networks as bridges with their containers,
//! and a peer host on each LAN, with an `about:` that lists everything left out.
//!
//! One file per input format (`ipaddr`, `iproute`, `iptables`, `nft`, `docker`) reads its dump
//! into plain data, or fails with `FILE:LINE: message`; `lab` puts the pieces together and
//! writes the YAML. Nothing here reads a file: the caller hands over each dump's text.

pub mod docker;
pub mod ipaddr;
pub mod iproute;
pub mod iproute6;
pub mod iptables;
pub mod lab;
pub mod nft;

use std::fmt;

/// One dump: the flag it was given with (`--ip-addr`), the file's name as given, its text.
#[derive(Clone, Debug)]
pub struct Source {
    pub flag: &'static str,
    pub path: String,
    pub text: String,
}

impl Source {
    pub fn new(flag: &'static str, path: impl Into<String>, text: impl Into<String>) -> Source {
        Source {
            flag,
            path: path.into(),
            text: text.into(),
        }
    }

    /// An error at a line of this dump (1-based).
    pub fn err(&self, line: usize, message: impl Into<String>) -> ImportError {
        ImportError {
            file: self.path.clone(),
            line,
            message: message.into(),
        }
    }

    /// The dump is not in the format its flag expects.
    pub fn not_format(&self, what: &str) -> ImportError {
        let (n, first) = self
            .text
            .lines()
            .enumerate()
            .find(|(_, l)| !l.trim().is_empty())
            .map_or((1, ""), |(i, l)| (i + 1, l));
        let first: String = first.trim_end().chars().take(80).collect();
        self.err(
            n,
            format!(
                "{}: not the output of {what} (line {n}: `{first}`)",
                self.flag
            ),
        )
    }

    /// An error from serde_json, at its line.
    pub fn json_err(&self, what: &str, e: &serde_json::Error) -> ImportError {
        self.err(
            e.line().max(1),
            format!("{}: not the JSON of {what}: {e}", self.flag),
        )
    }
}

/// Bad input: `FILE:LINE: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ImportError {}

/// Everything `hoplab import` was given.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub ip_addr: Option<Source>,
    pub ip_route: Option<Source>,
    /// What `ip -6 route` printed.
    pub ip6_route: Option<Source>,
    pub ip_rule: Option<Source>,
    pub iptables_save: Option<Source>,
    pub iptables_list: Vec<Source>,
    /// What `nft list ruleset` printed.
    pub nft_ruleset: Option<Source>,
    pub docker_inspect: Vec<Source>,
    pub docker_network_inspect: Vec<Source>,
    /// The lab's name (default `imported`).
    pub name: Option<String>,
}

/// The lab, and what it leaves out.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The lab file.
    pub yaml: String,
    /// What was not imported, one item a line (also in the lab's `about:`).
    pub not_imported: Vec<String>,
    /// What was imported only approximately (also in the lab's `about:`).
    pub approximated: Vec<String>,
}

/// Reads every dump and writes the lab.
pub fn import(inputs: &Inputs) -> Result<Imported, ImportError> {
    lab::build(inputs)
}

/// A MAC an interface may have: six hex octets, unicast, not all zero.
pub fn is_unicast_mac(m: &str) -> bool {
    let octets: Vec<&str> = m.split(':').collect();
    octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()))
        && u8::from_str_radix(octets[0], 16).is_ok_and(|b| b & 1 == 0)
        && octets.iter().any(|o| *o != "00")
}

/// An IPv4 address and prefix length as written in the dumps (`10.0.0.1/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub addr: std::net::Ipv4Addr,
    pub len: u8,
}

impl Cidr {
    /// `A/P`, or `A` alone (a /32).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok().filter(|&l| l <= 32)?),
            None => (s, 32),
        };
        Some(Cidr {
            addr: a.parse().ok()?,
            len: l,
        })
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len))
        }
    }

    pub fn network(self) -> Cidr {
        Cidr {
            addr: (u32::from(self.addr) & self.mask()).into(),
            len: self.len,
        }
    }

    pub fn contains(self, a: std::net::Ipv4Addr) -> bool {
        u32::from(a) & self.mask() == u32::from(self.addr) & self.mask()
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
