//! `ip route add|del|replace ...` parsed, and the table ids it names: the command a host
//! applies to its gateway and a router to its routing tables (`crate::router::route`,
//! `crate::router::policy`).

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

/// The kernel's table ids: `local` 255, `main` 254, `default` 253.
pub const LOCAL: u32 = 255;
pub const MAIN: u32 = 254;
pub const DEFAULT: u32 = 253;

/// A table id as `ip` names it.
pub fn table_name(id: u32) -> String {
    match id {
        LOCAL => "local".into(),
        MAIN => "main".into(),
        DEFAULT => "default".into(),
        n => n.to_string(),
    }
}

/// `main`, `local`, `default` or a number 1..2^32-1, as `ip` reads a table.
pub fn parse_table(word: &str) -> Result<u32, String> {
    match word {
        "main" => Ok(MAIN),
        "local" => Ok(LOCAL),
        "default" => Ok(DEFAULT),
        n => n
            .parse::<u32>()
            .ok()
            .filter(|&n| n != 0)
            .ok_or_else(|| format!("Error: argument \"{n}\" is wrong: invalid table ID\n")),
    }
}

/// `ip route add|del|replace PREFIX|default [via GW] [dev IF] [proto P] [scope S] [src A]
/// [metric N]`, parsed. `proto`, `scope` and `src` are kept for the listing; routing does
/// not read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteCmd {
    pub op: RouteOp,
    pub dst: Ipv4Cidr,
    pub via: Option<Ipv4Address>,
    pub dev: Option<String>,
    pub metric: u32,
    pub proto: Option<String>,
    pub scope: Option<String>,
    pub src: Option<Ipv4Address>,
    /// `table ID` (default `main`).
    pub table: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteOp {
    Add,
    Del,
    Replace,
}

pub(crate) fn network(c: Ipv4Cidr) -> Ipv4Cidr {
    Ipv4Cidr::new(c.network().address(), c.prefix_len())
}

/// Parses the words after `ip route` (also accepts them without the `ip route` prefix, and
/// a bare `PREFIX via GW`, meaning add).
pub fn parse_route_cmd(words: &[&str]) -> Result<RouteCmd, String> {
    let mut w = words;
    if w.first() == Some(&"ip") {
        w = &w[1..];
    }
    if matches!(w.first(), Some(&"route") | Some(&"r")) {
        w = &w[1..];
    }
    let op = match w.first() {
        Some(&"add") => RouteOp::Add,
        Some(&"del" | &"delete") => RouteOp::Del,
        Some(&"replace") => RouteOp::Replace,
        _ => {
            return parse_route_cmd(&[&["add"], w].concat()).map_err(|e| {
                format!(
                    "{e} (expected: ip route add|del|replace PREFIX via GW [dev IF] [metric N])"
                )
            });
        }
    };
    let mut it = w[1..].iter();
    let dst = match it.next() {
        Some(&"default") => Ipv4Cidr::new(Ipv4Address::UNSPECIFIED, 0),
        Some(p) => {
            let c: Ipv4Cidr = if p.contains('/') {
                p.parse()
                    .map_err(|_| format!("Error: inet prefix is expected rather than \"{p}\"."))?
            } else {
                let a: Ipv4Address = p
                    .parse()
                    .map_err(|_| format!("Error: inet prefix is expected rather than \"{p}\"."))?;
                Ipv4Cidr::new(a, 32)
            };
            if network(c) != c {
                return Err(format!(
                    "Error: Invalid prefix for given prefix length. ({p})"
                ));
            }
            c
        }
        None => return Err("Error: a prefix or \"default\" is expected".into()),
    };
    let mut cmd = RouteCmd {
        op,
        dst,
        via: None,
        dev: None,
        metric: 0,
        proto: None,
        scope: None,
        src: None,
        table: MAIN,
    };
    while let Some(k) = it.next() {
        let v = it
            .next()
            .ok_or_else(|| format!("Error: argument expected after \"{k}\""))?;
        match *k {
            "via" => {
                cmd.via = Some(v.parse().map_err(|_| {
                    format!("Error: an IPv4 address is expected rather than \"{v}\".")
                })?)
            }
            "dev" => cmd.dev = Some(v.to_string()),
            "proto" | "protocol" => cmd.proto = Some(v.to_string()),
            "scope" => match *v {
                "global" | "universe" | "link" | "host" | "site" | "nowhere" => {
                    cmd.scope = Some(v.replace("universe", "global"))
                }
                _ => return Err(format!("Error: invalid \"scope\" value: {v}")),
            },
            "src" => {
                cmd.src = Some(v.parse().map_err(|_| {
                    format!("Error: an IPv4 address is expected rather than \"{v}\".")
                })?)
            }
            "table" => cmd.table = parse_table(v).map_err(|e| e.trim_end().to_string())?,
            "metric" | "preference" | "priority" => {
                cmd.metric = v
                    .parse()
                    .map_err(|_| format!("Error: \"metric\" value is invalid: {v}"))?
            }
            other => {
                return Err(format!(
                    "Error: either \"to\" is duplicate, or \"{other}\" is a garbage."
                ));
            }
        }
    }
    if cmd.op != RouteOp::Del && cmd.via.is_none() && cmd.dev.is_none() {
        return Err("Error: a route needs \"via GW\" or \"dev IF\"".into());
    }
    Ok(cmd)
}
