//! `getent hosts` (glibc) and `nslookup` (busybox, as in Alpine-based images): name lookups
//! answered from the host's tables at once, without packets (see `crate::host::resolve`).
//!
//! They differ as the real tools do: `getent` goes through the resolver library, so
//! `/etc/hosts` (the container's own hostname, `extra_hosts`) answers first; `nslookup` asks
//! the DNS server directly and knows nothing of `/etc/hosts`.

use std::fmt::Write;

use smoltcp::wire::Ipv4Address;

use crate::host::resolve::{NameError, Names};
use crate::sim::CmdResult;

/// `getent hosts [KEY...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetentArgs {
    /// Names or addresses; none lists `/etc/hosts`.
    pub keys: Vec<String>,
}

/// `nslookup NAME|ADDRESS [SERVER]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NslookupArgs {
    pub query: String,
    /// The server asked instead of `resolv.conf`'s.
    pub server: Option<Ipv4Address>,
}

pub fn parse_getent(args: &[String]) -> Result<GetentArgs, String> {
    match args.split_first() {
        Some((db, keys)) if db == "hosts" => Ok(GetentArgs {
            keys: keys.to_vec(),
        }),
        Some((db, _)) => Err(format!(
            "getent: database '{db}': a lab host has only the hosts database"
        )),
        None => Err("Usage: getent hosts [key ...]".into()),
    }
}

pub fn parse_nslookup(args: &[String]) -> Result<NslookupArgs, String> {
    if let Some(opt) = args.iter().find(|a| a.starts_with('-')) {
        return Err(format!(
            "nslookup: option {opt}: no option is supported in a lab"
        ));
    }
    match args {
        [query] => Ok(NslookupArgs {
            query: query.clone(),
            server: None,
        }),
        [query, server] => Ok(NslookupArgs {
            query: query.clone(),
            server: Some(server.parse().map_err(|_| {
                format!("nslookup: server '{server}': give the server as an IPv4 address")
            })?),
        }),
        _ => Err("Usage: nslookup HOST [DNS_SERVER]".into()),
    }
}

/// glibc getent's `print_hosts`: `%-15s %s`, then the aliases, one line per address.
fn host_line(out: &mut String, ip: Ipv4Address, name: &str, aliases: &[String]) {
    let _ = write!(out, "{:<15} {name}", ip.to_string());
    for a in aliases {
        let _ = write!(out, " {a}");
    }
    out.push('\n');
}

/// `getent hosts`: exit 2 when some key is not found (and nothing is printed for it).
pub fn getent(args: &GetentArgs, names: &Names) -> CmdResult {
    let mut output = String::new();
    let mut exit_code = 0;
    if args.keys.is_empty() {
        for (ip, line) in &names.hosts_file {
            host_line(&mut output, *ip, &line[0], &line[1..]);
        }
    }
    for key in &args.keys {
        // An address is looked up backwards (gethostbyaddr), anything else forwards.
        if let Ok(ip) = key.parse::<Ipv4Address>() {
            if let Some((name, aliases)) = names.reverse_file(ip) {
                host_line(&mut output, ip, name, aliases);
            } else if let Ok(name) = names.query_pointer(ip) {
                host_line(&mut output, ip, &name, &[]);
            } else {
                exit_code = 2;
            }
            continue;
        }
        match names.resolve(key) {
            Ok(a) => {
                for ip in &a.addrs {
                    host_line(&mut output, *ip, &a.name, &a.aliases);
                }
            }
            Err(_) => exit_code = 2,
        }
    }
    CmdResult {
        exit_code,
        output,
        ..CmdResult::default()
    }
}

/// `d.c.b.a.in-addr.arpa`, the name a PTR query asks for.
fn arpa(ip: Ipv4Address) -> String {
    let [a, b, c, d] = ip.octets();
    format!("{d}.{c}.{b}.{a}.in-addr.arpa")
}

/// busybox nslookup: a header once the server answers, then each reply (A, then AAAA for a
/// name; PTR for an address) followed by a blank line. The embedded server is not
/// authoritative. NXDOMAIN makes the exit code 1; an empty AAAA answer does not.
pub fn nslookup(args: &NslookupArgs, names: &Names) -> CmdResult {
    let server = args.server.or(names.dns);
    let Some(server) = server.filter(|s| Some(*s) == names.dns) else {
        // resolv.conf names servers no lab node runs (or the one asked is not a server).
        return CmdResult {
            exit_code: 1,
            output: ";; connection timed out; no servers could be reached\n\n".into(),
            ..CmdResult::default()
        };
    };
    let mut out = format!("Server:\t\t{server}\nAddress:\t{server}:53\n\n");
    let mut exit_code = 0;
    let query = args.query.as_str();
    let owner = query.strip_suffix('.').unwrap_or(query);
    let nxdomain = |out: &mut String, asked: &str| {
        let _ = writeln!(out, "** server can't find {asked}: NXDOMAIN\n");
    };
    if let Ok(ip) = query.parse::<Ipv4Address>() {
        let ptr = arpa(ip);
        match names.query_pointer(ip) {
            Ok(name) => {
                let _ = writeln!(out, "Non-authoritative answer:\n{ptr}\tname = {name}\n");
            }
            Err(_) => {
                nxdomain(&mut out, &ptr);
                exit_code = 1;
            }
        }
    } else {
        match names.query(query) {
            Ok(addrs) => {
                out.push_str("Non-authoritative answer:\n");
                for a in addrs {
                    let _ = writeln!(out, "Name:\t{owner}\nAddress: {a}");
                }
                // The name exists without an IPv6 address: Docker answers AAAA with no record.
                let _ = writeln!(
                    out,
                    "\nNon-authoritative answer:\n*** Can't find {query}: No answer\n"
                );
            }
            Err(NameError::NotFound | NameError::NoServer) => {
                nxdomain(&mut out, query);
                nxdomain(&mut out, query);
                exit_code = 1;
            }
        }
    }
    CmdResult {
        exit_code,
        output: out,
        ..CmdResult::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::resolve::EMBEDDED_DNS;

    fn ip(d: u8) -> Ipv4Address {
        Ipv4Address::new(172, 18, 0, d)
    }

    fn names(dns: bool) -> Names {
        Names {
            hosts_file: vec![
                (Ipv4Address::new(127, 0, 0, 1), vec!["localhost".into()]),
                (
                    Ipv4Address::new(172, 17, 0, 1),
                    vec!["host.docker.internal".into()],
                ),
                (ip(3), vec!["0123456789ab".into()]),
            ],
            dns: dns.then_some(EMBEDDED_DNS),
            records: vec![
                ("web".into(), vec![ip(2)]),
                ("search".into(), vec![ip(2), ip(4)]),
            ],
            pointers: vec![(ip(2), "web.backend".into())],
        }
    }

    fn getent_of(keys: &[&str], dns: bool) -> CmdResult {
        let args = GetentArgs {
            keys: keys.iter().map(|k| k.to_string()).collect(),
        };
        getent(&args, &names(dns))
    }

    fn nslookup_of(query: &str, dns: bool) -> CmdResult {
        let args = parse_nslookup(&[query.to_string()]).unwrap();
        nslookup(&args, &names(dns))
    }

    #[test]
    fn getent_prints_as_glibc() {
        let r = getent_of(&["web"], true);
        assert_eq!(
            (r.exit_code, r.output.as_str()),
            (0, "172.18.0.2      web\n")
        );
        let r = getent_of(&["search", "host.docker.internal"], true);
        assert_eq!(
            r.output,
            "172.18.0.2      search\n172.18.0.4      search\n172.17.0.1      host.docker.internal\n"
        );
        let r = getent_of(&["172.18.0.2", "172.18.0.3"], true);
        assert_eq!(
            r.output,
            "172.18.0.2      web.backend\n172.18.0.3      0123456789ab\n"
        );
        let r = getent_of(&["nosuch"], true);
        assert_eq!((r.exit_code, r.output.as_str()), (2, ""));
        // Without a DNS server only /etc/hosts answers.
        let r = getent_of(&["web", "localhost"], false);
        assert_eq!(
            (r.exit_code, r.output.as_str()),
            (2, "127.0.0.1       localhost\n")
        );
        let r = getent_of(&[], false);
        assert!(
            r.output.starts_with("127.0.0.1       localhost\n"),
            "{}",
            r.output
        );
    }

    #[test]
    fn nslookup_prints_as_busybox() {
        let r = nslookup_of("web", true);
        assert_eq!(r.exit_code, 0);
        assert_eq!(
            r.output,
            "Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\n\
             Non-authoritative answer:\nName:\tweb\nAddress: 172.18.0.2\n\n\
             Non-authoritative answer:\n*** Can't find web: No answer\n\n"
        );
        let r = nslookup_of("nosuch", true);
        assert_eq!(r.exit_code, 1);
        assert_eq!(
            r.output,
            "Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\n\
             ** server can't find nosuch: NXDOMAIN\n\n\
             ** server can't find nosuch: NXDOMAIN\n\n"
        );
        let r = nslookup_of("172.18.0.2", true);
        assert!(
            r.output.ends_with(
                "Non-authoritative answer:\n2.0.18.172.in-addr.arpa\tname = web.backend\n\n"
            ),
            "{}",
            r.output
        );
        // /etc/hosts is not the server's: nslookup does not see extra_hosts.
        assert_eq!(nslookup_of("host.docker.internal", true).exit_code, 1);
    }

    #[test]
    fn nslookup_without_a_server_times_out() {
        let r = nslookup_of("web", false);
        assert_eq!(
            (r.exit_code, r.output.as_str()),
            (
                1,
                ";; connection timed out; no servers could be reached\n\n"
            )
        );
        let args = parse_nslookup(&["web".into(), "8.8.8.8".into()]).unwrap();
        assert_eq!(nslookup(&args, &names(true)).exit_code, 1);
    }

    #[test]
    fn parses() {
        assert!(parse_getent(&["passwd".into()]).is_err());
        assert!(parse_getent(&[]).is_err());
        assert!(parse_nslookup(&["-type=a".into(), "web".into()]).is_err());
        assert!(parse_nslookup(&["web".into(), "dns".into()]).is_err());
        assert!(parse_nslookup(&[]).is_err());
    }
}
