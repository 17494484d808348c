//! `ip addr add|del ADDR/PREFIX dev DEV` on a router, read as iproute2 reads it before it asks
//! the kernel: a lab's steps are checked with it when the lab loads (`links.rs` carries the
//! command out).

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

/// `ip addr add|del ...`, parsed: add or delete, the address, the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrCmd {
    pub add: bool,
    pub cidr: Ipv4Cidr,
    pub dev: String,
}

/// Parses the words after `ip addr` as iproute2 does before asking the kernel.
pub fn parse_addr_cmd(words: &[&str]) -> Result<AddrCmd, String> {
    let (op, rest) = words
        .split_first()
        .ok_or("Not enough information: \"dev\" argument is required.")?;
    let add = match *op {
        "add" => true,
        "del" | "delete" => false,
        other => {
            return Err(format!(
                "hoplab: `ip addr {other}` is not modelled on a router"
            ));
        }
    };
    let (mut cidr, mut dev) = (None, None);
    let mut it = rest.iter().copied();
    while let Some(w) = it.next() {
        match w {
            "dev" => {
                dev = Some(
                    it.next()
                        .ok_or("Command line is not complete. Try option \"help\"")?,
                )
            }
            // The broadcast address is computed from the prefix either way.
            "brd" | "broadcast" => {
                it.next()
                    .ok_or("Command line is not complete. Try option \"help\"")?;
            }
            "local" | "to" => cidr = Some(prefix(it.next().unwrap_or(""))?),
            a if cidr.is_none() => cidr = Some(prefix(a)?),
            other => {
                return Err(format!(
                    "hoplab: `ip addr` option `{other}` is not modelled; ADDR/PREFIX dev DEV is"
                ));
            }
        }
    }
    let dev = dev.ok_or("Not enough information: \"dev\" argument is required.")?;
    let cidr = cidr.ok_or("RTNETLINK answers: Invalid argument")?;
    Ok(AddrCmd {
        add,
        cidr,
        dev: dev.to_string(),
    })
}

/// `get_prefix`: `A.B.C.D[/N]` (a host address without a prefix).
fn prefix(s: &str) -> Result<Ipv4Cidr, String> {
    let bad = || format!("Error: any valid prefix is expected rather than \"{s}\".");
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().ok().filter(|l| *l <= 32).ok_or_else(bad)?,
        ),
        None => (s, 32),
    };
    let addr: Ipv4Address = a.parse().map_err(|_| bad())?;
    Ok(Ipv4Cidr::new(addr, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_iproute2() {
        let c = parse_addr_cmd(&["add", "192.168.10.1/24", "dev", "eth0.10"]).unwrap();
        assert_eq!(c.cidr.to_string(), "192.168.10.1/24");
        assert!(c.add);
        let c = parse_addr_cmd(&["del", "10.0.0.1", "dev", "eth0"]).unwrap();
        assert_eq!(c.cidr.prefix_len(), 32);
        assert_eq!(
            parse_addr_cmd(&["add", "10.0.0.300/24", "dev", "eth0"]).unwrap_err(),
            "Error: any valid prefix is expected rather than \"10.0.0.300/24\"."
        );
        assert_eq!(
            parse_addr_cmd(&["add", "10.0.0.1/24"]).unwrap_err(),
            "Not enough information: \"dev\" argument is required."
        );
        assert!(parse_addr_cmd(&["flush", "dev", "eth0"]).is_err());
    }
}
