//! Commands as a student types them, parsed before anything runs so that `hoplab check`
//! rejects a bad one with its location.

use smoltcp::wire::{IpAddress, Ipv4Address};

pub use crate::host::resolve::Dest;
use crate::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub struct PingArgs {
    pub dest: Dest,
    pub count: u64,
    pub interval: Duration,
    /// How long to wait for replies after the last request (`-W`).
    pub wait: Duration,
    pub size: usize,
    pub ttl: u8,
    pub quiet: bool,
    /// An IPv6 destination (`ping -6`, `ping6`, or an IPv6 address): `dest` is then unused.
    pub dest6: Option<Ping6Dest>,
}

/// Where `ping -6` goes: the address, and the interface its scope (`fe80::1%eth0`) or
/// `-I eth0` names.
#[derive(Clone, Debug, PartialEq)]
pub struct Ping6Dest {
    pub addr: smoltcp::wire::Ipv6Address,
    /// The `%eth0` written after the address: iputils prints it with the address.
    pub scope: Option<String>,
    /// `-I eth0`.
    pub iface: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CurlArgs {
    pub host: Dest,
    pub port: u16,
    pub path: String,
    pub host_header: String,
    /// `-s`: no progress meter and no error message.
    pub silent: bool,
    /// `-S`: the error message even when silent.
    pub show_error: bool,
    pub include_headers: bool,
    pub head: bool,
    pub discard_body: bool,
    pub fail: bool,
    pub local_port: Option<u16>,
    pub write_out: Option<String>,
    pub max_time: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    /// An IPv6 literal in brackets (`http://[2001:db8::2]:80/`), its `%25eth0` zone as
    /// `scope`; `host` is then unused.
    pub dest6: Option<Ping6Dest>,
    /// `-6` (`--ipv6`): names resolve to IPv6 addresses only.
    pub ipv6_only: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NcArgs {
    pub listen: bool,
    pub udp: bool,
    pub zero_io: bool,
    pub verbose: bool,
    pub keep_listening: bool,
    /// Shut down the sending side once the input is sent (`-N`).
    pub shutdown_after_input: bool,
    /// `-n`: the host must be an address; no name is looked up.
    pub numeric: bool,
    pub host: Option<Dest>,
    pub port: u16,
    pub source_port: Option<u16>,
    pub wait: Option<Duration>,
    pub quit_after: Option<Duration>,
    /// `-4`, `-6`: the family asked for (4 or 6), else either.
    pub family: Option<u8>,
    /// An IPv6 address as the host (`2001:db8::2`, `fe80::1%eth0`); `host` is then None.
    pub dest6: Option<Ping6Dest>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BulkSendArgs {
    /// IPv4 or IPv6.
    pub host: IpAddress,
    pub port: u16,
    pub bytes: u64,
    pub source_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UdpSendArgs {
    pub host: Ipv4Address,
    pub port: u16,
    pub count: u64,
    pub size: usize,
    pub source_port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TracerouteArgs {
    pub dest: Dest,
    /// Where the destination stood on the command line (traceroute names it when it cannot
    /// resolve it).
    pub dest_argc: usize,
    pub numeric: bool,
    pub first_ttl: u8,
    pub max_ttl: u8,
    pub queries: u8,
    pub wait: Duration,
    /// `-4`, `-6`: the family asked for.
    pub family: Option<u8>,
    /// An IPv6 destination (`traceroute -6 2001:db8::2`, or an IPv6 address alone).
    pub dest6: Option<Ping6Dest>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `ip route add|del|replace ...`: the host's static routes.
    IpRoute(super::route_cmd::RouteCmd),
    Ping(PingArgs),
    Curl(CurlArgs),
    HttpServer {
        port: u16,
        /// `--bind ::`: one IPv6 socket that takes both families (`bindv6only=0`), as
        /// `python3 -m http.server --bind ::` opens; else IPv4 only, as its default.
        dual: bool,
    },
    Nc(NcArgs),
    BulkSend(BulkSendArgs),
    BulkRecv {
        port: u16,
    },
    Sleep(Duration),
    Traceroute(TracerouteArgs),
    UdpSend(UdpSendArgs),
    UdpRecv {
        port: u16,
        count: Option<u64>,
    },
    DockerProxy(crate::host::apps::proxy::ProxyArgs),
    Getent(crate::host::apps::lookup::GetentArgs),
    Nslookup(crate::host::apps::lookup::NslookupArgs),
    /// `ss`: a listing of the stack's sockets, as a command.
    Ss(crate::host::ss::SsArgs),
}

/// The commands a host runs, for error messages and `hoplab` docs.
pub const COMMANDS: &[&str] = &[
    "ping",
    "ping6",
    "curl",
    "http-server",
    "nc",
    "bulk-send",
    "bulk-recv",
    "traceroute",
    "udp-send",
    "udp-recv",
    "getent",
    "nslookup",
    "sleep",
    "docker-proxy",
    "ss",
];

fn value<'a>(it: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("option requires an argument -- '{flag}'"))
}

fn num<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("invalid {what}: '{text}'"))
}

fn secs(text: &str, what: &str) -> Result<Duration, String> {
    let s: f64 = num(text, what)?;
    if !(0.0..=86_400.0).contains(&s) {
        return Err(format!("invalid {what}: '{text}'"));
    }
    Ok(Duration::from_secs_f64(s))
}

/// The transfer tools take addresses only; the student-facing tools also take names.
fn ipv4(text: &str) -> Result<Ipv4Address, String> {
    text.parse()
        .map_err(|_| format!("{text}: not an IPv4 address (this command takes addresses)"))
}

fn port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("invalid port: '{text}'")),
    }
}

pub fn parse(argv: &[String]) -> Result<Command, String> {
    let Some(name) = argv.first() else {
        return Err("empty command".into());
    };
    let rest = &argv[1..];
    match name.as_str() {
        "ping" => parse_ping(rest, None).map(Command::Ping),
        "ping6" => parse_ping(rest, Some(6)).map(Command::Ping),
        "curl" => parse_curl(rest).map(Command::Curl),
        "http-server" => match rest {
            [p] => Ok(Command::HttpServer {
                port: port(p)?,
                dual: false,
            }),
            [b, a, p] | [p, b, a] if matches!(b.as_str(), "--bind" | "-b") => match a.as_str() {
                "::" => Ok(Command::HttpServer {
                    port: port(p)?,
                    dual: true,
                }),
                "0.0.0.0" => Ok(Command::HttpServer {
                    port: port(p)?,
                    dual: false,
                }),
                _ => Err(format!(
                    "http-server: --bind {a}: a lab server binds every address (0.0.0.0) or both families (::)"
                )),
            },
            _ => Err("usage: http-server [--bind ::|0.0.0.0] PORT".into()),
        },
        "nc" => parse_nc(rest).map(Command::Nc),
        "bulk-send" => parse_bulk_send(rest).map(Command::BulkSend),
        "bulk-recv" => match rest {
            [p] => Ok(Command::BulkRecv { port: port(p)? }),
            _ => Err("usage: bulk-recv PORT".into()),
        },
        "traceroute" => parse_traceroute(rest).map(Command::Traceroute),
        "udp-send" => parse_udp_send(rest).map(Command::UdpSend),
        "udp-recv" => match rest {
            [p] => Ok(Command::UdpRecv {
                port: port(p)?,
                count: None,
            }),
            [p, c] => Ok(Command::UdpRecv {
                port: port(p)?,
                count: Some(num(c, "count")?),
            }),
            _ => Err("usage: udp-recv PORT [COUNT]".into()),
        },
        "docker-proxy" => crate::host::apps::proxy::parse(rest).map(Command::DockerProxy),
        "getent" => crate::host::apps::lookup::parse_getent(rest).map(Command::Getent),
        "nslookup" => crate::host::apps::lookup::parse_nslookup(rest).map(Command::Nslookup),
        "ss" => crate::host::ss::parse(rest).map(Command::Ss),
        "sleep" => match rest {
            // `sleep infinity`, a container's usual way to stay up.
            [s] if s == "infinity" => Ok(Command::Sleep(Duration::from_secs(u64::from(u32::MAX)))),
            [s] => Ok(Command::Sleep(
                Duration::parse(s).map_err(|e| format!("sleep: {e}"))?,
            )),
            _ => Err("usage: sleep DURATION".into()),
        },
        "ip" if matches!(
            rest.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["route" | "r", "add" | "del" | "delete" | "replace", ..]
        ) =>
        {
            let words: Vec<&str> = rest.iter().map(String::as_str).collect();
            super::route_cmd::parse_route_cmd(&words).map(Command::IpRoute)
        }
        // A host's `ip` otherwise only lists (as a `show:` step); its addresses and links are
        // the lab's.
        "ip" => Err(format!(
            "ip {}: a host runs `ip route add|del|replace PREFIX via GW`; its other `ip` commands only list, as a `show:` step: `ip addr`, `ip link`, `ip -s link`, `ip route`, `ip neigh`. Its addresses and links are the lab's: `interfaces:`, `gateway:` and `routes:` in YAML, and `link: NODE:IFACE` steps with `set: up|down`",
            rest.join(" ")
        )),
        other => Err(format!(
            "{other}: command not found (a host runs: {})",
            COMMANDS.join(", ")
        )),
    }
}

/// `ping [-4|-6] ...` (`family` 6 for `ping6`).
fn parse_ping(args: &[String], mut family: Option<u8>) -> Result<PingArgs, String> {
    let mut p = PingArgs {
        dest: Dest::Addr(Ipv4Address::UNSPECIFIED),
        count: 4,
        interval: Duration::from_secs(1),
        wait: Duration::from_secs(10),
        size: 56,
        ttl: 64,
        quiet: false,
        dest6: None,
    };
    let mut dest: Option<&str> = None;
    let mut iface = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-4" => family = Some(4),
            "-6" => family = Some(6),
            "-I" => iface = Some(value(&mut it, "I")?.to_string()),
            "-c" => p.count = num(value(&mut it, "c")?, "count")?,
            "-i" => p.interval = secs(value(&mut it, "i")?, "interval")?,
            "-W" => p.wait = secs(value(&mut it, "W")?, "timeout")?,
            "-s" => {
                p.size = num(value(&mut it, "s")?, "packet size")?;
                if p.size > 65507 {
                    return Err(format!("invalid -s value: '{}'", p.size));
                }
            }
            "-t" => p.ttl = num(value(&mut it, "t")?, "TTL")?,
            "-q" => p.quiet = true,
            s if s.starts_with('-') => return Err(format!("ping: invalid option -- '{s}'")),
            d => dest = Some(d),
        }
    }
    let dest = dest.ok_or("ping: usage error: Destination address required")?;
    // iputils takes an IPv6 address whatever the flags, unless -4 says otherwise.
    let (addr, scope) = match dest.split_once('%') {
        Some((a, s)) => (a, Some(s.to_string())),
        None => (dest, None),
    };
    let wrong_family = || format!("ping: {dest}: Address family for hostname not supported");
    match addr.parse::<smoltcp::wire::Ipv6Address>() {
        Ok(_) if family == Some(4) => return Err(wrong_family()),
        Ok(a) => {
            p.dest6 = Some(Ping6Dest {
                addr: a,
                scope,
                iface,
            });
        }
        Err(_) if family == Some(6) => {
            // A name has no IPv6 address here (the resolver answers A records only).
            return Err(wrong_family());
        }
        Err(_) => {
            if iface.is_some() {
                return Err("ping: -I is taken with an IPv6 destination only".into());
            }
            p.dest = Dest::parse(dest)?;
        }
    }
    if p.count == 0 {
        return Err("ping: invalid argument: '0': out of range: 1 <= value".into());
    }
    Ok(p)
}

/// `http://HOST[:PORT][/PATH]`, HOST an IPv4 address or a name.
pub fn parse_url(url: &str) -> Result<(Dest, u16, String, String), String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    if rest.contains("://") {
        return Err(format!(
            "curl: (1) Protocol not supported in {url} (only http://)"
        ));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, p) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            port(p).map_err(|e| format!("curl: (3) URL rejected: {e}"))?,
        ),
        None => (authority, 80),
    };
    let ip = Dest::parse(host).map_err(|e| format!("curl: (6) Could not resolve host: {e}"))?;
    Ok((ip, p, path, authority.to_string()))
}

/// A URL whose host is a bracketed IPv6 literal, `http://[2001:db8::2]:8080/x` or
/// `http://[fe80::1%25eth0]/` (RFC 6874's zone, `%25` for `%`): the address and zone, the
/// port, the path and the `Host:` value curl sends, which leaves the zone out
/// (`[fe80::1]:8080`). None for any other URL.
fn parse_url6(url: &str) -> Result<Option<(Ping6Dest, u16, String, String)>, String> {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let Some(inner) = rest.strip_prefix('[') else {
        return Ok(None);
    };
    let bad = || "curl: (3) URL using bad/illegal format or missing URL".to_string();
    let (lit, after) = inner.split_once(']').ok_or_else(bad)?;
    let (authority_rest, path) = match after.find('/') {
        Some(i) => (&after[..i], after[i..].to_string()),
        None => (after, "/".to_string()),
    };
    let port = match authority_rest {
        "" => 80,
        p => match p.strip_prefix(':') {
            Some("") => 80,
            Some(p) => port(p).map_err(|_| bad())?,
            None => return Err(bad()),
        },
    };
    let (addr, scope) = match lit.split_once("%25").or_else(|| lit.split_once('%')) {
        Some((a, z)) if !z.is_empty() => (a, Some(z.to_string())),
        Some(_) => return Err(bad()),
        None => (lit, None),
    };
    let addr: smoltcp::wire::Ipv6Address = addr.parse().map_err(|_| bad())?;
    // curl leaves HTTP's own port out of `Host:`.
    let host = match port {
        80 => format!("[{addr}]"),
        p => format!("[{addr}]:{p}"),
    };
    let dest = Ping6Dest {
        addr,
        scope,
        iface: None,
    };
    Ok(Some((dest, port, path, host)))
}

fn parse_curl(args: &[String]) -> Result<CurlArgs, String> {
    let mut url = None;
    let mut c = CurlArgs {
        host: Dest::Addr(Ipv4Address::UNSPECIFIED),
        port: 80,
        path: "/".into(),
        host_header: String::new(),
        silent: false,
        show_error: false,
        include_headers: false,
        head: false,
        discard_body: false,
        fail: false,
        local_port: None,
        write_out: None,
        max_time: None,
        connect_timeout: None,
        dest6: None,
        ipv6_only: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-6" | "--ipv6" => c.ipv6_only = true,
            // curl 7.88 takes a bracketed IPv6 address without `-g` as with it.
            "-g" | "--globoff" => {}
            "--silent" => c.silent = true,
            "--show-error" => c.show_error = true,
            "--include" => c.include_headers = true,
            "--head" => c.head = true,
            "--fail" => c.fail = true,
            // Short switches, alone or run together (`-sSf`).
            s if s.len() >= 2
                && s.starts_with('-')
                && !s.starts_with("--")
                && s[1..].chars().all(|ch| "sSfiI".contains(ch)) =>
            {
                for ch in s[1..].chars() {
                    match ch {
                        's' => c.silent = true,
                        'S' => c.show_error = true,
                        'f' => c.fail = true,
                        'i' => c.include_headers = true,
                        _ => c.head = true,
                    }
                }
            }
            "-o" | "--output" => {
                let f = value(&mut it, "o")?;
                if f != "/dev/null" {
                    return Err(format!(
                        "curl: -o {f}: a lab host has no file system; use -o /dev/null"
                    ));
                }
                c.discard_body = true;
            }
            "--local-port" => c.local_port = Some(port(value(&mut it, "local-port")?)?),
            "-w" | "--write-out" => c.write_out = Some(value(&mut it, "w")?.to_string()),
            "-m" | "--max-time" => c.max_time = Some(secs(value(&mut it, "m")?, "max-time")?),
            "--connect-timeout" => {
                c.connect_timeout =
                    Some(secs(value(&mut it, "connect-timeout")?, "connect-timeout")?)
            }
            s if s.starts_with('-') => return Err(format!("curl: option {s}: is unknown")),
            u => url = Some(u.to_string()),
        }
    }
    let url = url.ok_or("curl: no URL specified")?;
    if let Some((dest6, port, path, authority)) = parse_url6(&url)? {
        c.dest6 = Some(dest6);
        c.port = port;
        c.path = path;
        c.host_header = authority;
        return Ok(c);
    }
    let (host, port, path, authority) = parse_url(&url)?;
    c.host = host;
    c.port = port;
    c.path = path;
    c.host_header = authority;
    Ok(c)
}

fn parse_nc(args: &[String]) -> Result<NcArgs, String> {
    let mut n = NcArgs {
        listen: false,
        udp: false,
        zero_io: false,
        verbose: false,
        keep_listening: false,
        shutdown_after_input: false,
        numeric: false,
        host: None,
        port: 0,
        source_port: None,
        wait: None,
        quit_after: None,
        family: None,
        dest6: None,
    };
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') && a.len() > 1 {
            // Flags may be grouped (`-zv`, `-lu`); `p`, `w` and `q` take a value.
            for (i, f) in a[1..].char_indices() {
                match f {
                    'l' => n.listen = true,
                    'u' => n.udp = true,
                    'z' => n.zero_io = true,
                    'v' => n.verbose = true,
                    'k' => n.keep_listening = true,
                    'N' => n.shutdown_after_input = true,
                    'n' => n.numeric = true,
                    '4' => n.family = Some(4),
                    '6' => n.family = Some(6),
                    'p' | 'w' | 'q' => {
                        let inline = &a[2 + i..];
                        let v = if inline.is_empty() {
                            value(&mut it, &f.to_string())?.to_string()
                        } else {
                            inline.to_string()
                        };
                        match f {
                            'p' => n.source_port = Some(port(&v)?),
                            'w' => n.wait = Some(secs(&v, "timeout")?),
                            _ => n.quit_after = Some(secs(&v, "quit delay")?),
                        }
                        break;
                    }
                    other => return Err(format!("nc: invalid option -- '{other}'")),
                }
            }
        } else {
            positional.push(a.as_str());
        }
    }
    match (n.listen, positional.as_slice()) {
        (true, [p]) => n.port = port(p)?,
        (true, []) => {
            n.port = n.source_port.ok_or("nc: missing port number")?;
            n.source_port = None;
        }
        (false, [h, p]) => {
            n.port = port(p)?;
            let (addr, scope) = match h.split_once('%') {
                Some((a, z)) => (a, Some(z.to_string())),
                None => (*h, None),
            };
            // The family (`-4`, `-6`) is checked when nc starts, as getaddrinfo fails.
            match addr.parse::<smoltcp::wire::Ipv6Address>() {
                Ok(a) => {
                    n.dest6 = Some(Ping6Dest {
                        addr: a,
                        scope,
                        iface: None,
                    })
                }
                Err(_) => {
                    n.host = Some(
                        Dest::parse(h)
                            .map_err(|e| format!("nc: getaddrinfo for host \"{h}\": {e}"))?,
                    );
                }
            }
        }
        _ => {
            return Err("usage: nc [-46luzvkN] [-p PORT] [-w SECS] [-q SECS] [HOST] PORT".into());
        }
    }
    Ok(n)
}

fn parse_bulk_send(args: &[String]) -> Result<BulkSendArgs, String> {
    let mut source_port = None;
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-p" => source_port = Some(port(value(&mut it, "p")?)?),
            s if s.starts_with('-') => return Err(format!("bulk-send: invalid option {s}")),
            s => pos.push(s),
        }
    }
    match pos.as_slice() {
        [h, p, b] => Ok(BulkSendArgs {
            host: h
                .parse::<IpAddress>()
                .map_err(|_| format!("{h}: not an IP address (this command takes addresses)"))?,
            port: port(p)?,
            bytes: parse_size(b)?,
            source_port,
        }),
        _ => Err("usage: bulk-send [-p SRCPORT] HOST PORT BYTES (e.g. 20M)".into()),
    }
}

fn parse_udp_send(args: &[String]) -> Result<UdpSendArgs, String> {
    let (mut source_port, mut size) = (None, 64);
    let mut pos = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-p" => source_port = Some(port(value(&mut it, "p")?)?),
            "-s" => {
                size = num(value(&mut it, "s")?, "size")?;
                if size > 1472 {
                    return Err(format!(
                        "udp-send: size {size} exceeds one 1500-byte datagram (1472)"
                    ));
                }
            }
            s if s.starts_with('-') => return Err(format!("udp-send: invalid option {s}")),
            s => pos.push(s),
        }
    }
    match pos.as_slice() {
        [h, p, c] => Ok(UdpSendArgs {
            host: ipv4(h)?,
            port: port(p)?,
            count: num(c, "count")?,
            size,
            source_port,
        }),
        _ => Err("usage: udp-send [-p SRCPORT] [-s SIZE] HOST PORT COUNT".into()),
    }
}

fn parse_traceroute(args: &[String]) -> Result<TracerouteArgs, String> {
    let mut t = TracerouteArgs {
        dest: Dest::Addr(Ipv4Address::UNSPECIFIED),
        dest_argc: 0,
        numeric: false,
        first_ttl: 1,
        max_ttl: 30,
        queries: 3,
        wait: Duration::from_secs(5),
        family: None,
        dest6: None,
    };
    let mut dest = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-n" => t.numeric = true,
            "-f" => t.first_ttl = num(value(&mut it, "f")?, "first hop")?,
            "-m" => t.max_ttl = num(value(&mut it, "m")?, "max hops")?,
            "-q" => t.queries = num(value(&mut it, "q")?, "queries")?,
            "-w" => t.wait = secs(value(&mut it, "w")?, "wait")?,
            "-4" => t.family = Some(4),
            "-6" => t.family = Some(6),
            s if s.starts_with('-') => return Err(format!("traceroute: bad option `{s}'")),
            // argv index: the program's name is 0, so the word just taken is len - left.
            d => {
                let argc = args.len() - it.len();
                let (addr, scope) = match d.split_once('%') {
                    Some((a, z)) => (a, Some(z.to_string())),
                    None => (d, None),
                };
                match addr.parse::<smoltcp::wire::Ipv6Address>() {
                    Ok(a) => {
                        t.dest6 = Some(Ping6Dest {
                            addr: a,
                            scope,
                            iface: None,
                        });
                        dest = Some((Dest::Name(d.to_string()), argc));
                    }
                    Err(_) => dest = Some((Dest::parse(d)?, argc)),
                }
            }
        }
    }
    (t.dest, t.dest_argc) = dest.ok_or("Specify \"host\" missing argument.")?;
    if t.first_ttl == 0 || t.first_ttl > t.max_ttl || t.queries == 0 || t.queries > 10 {
        return Err("traceroute: first hop, max hops or queries out of range".into());
    }
    Ok(t)
}

/// `1500`, `64K`, `20M`, `1G` (powers of 1000, as transfer sizes are quoted).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, mult) = match text.chars().last() {
        Some('K' | 'k') => (&text[..text.len() - 1], 1_000),
        Some('M' | 'm') => (&text[..text.len() - 1], 1_000_000),
        Some('G' | 'g') => (&text[..text.len() - 1], 1_000_000_000),
        _ => (text, 1),
    };
    let n: u64 = num(digits, "size")?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size too large: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_ping() {
        let Command::Ping(p) = parse(&argv("ping -c 3 -i 0.2 -W 2 -s 100 10.0.0.2")).unwrap()
        else {
            panic!()
        };
        assert_eq!(p.count, 3);
        assert_eq!(p.interval, Duration::from_millis(200));
        assert_eq!(p.wait, Duration::from_secs(2));
        assert_eq!(p.size, 100);
        assert_eq!(p.dest, Dest::Addr(Ipv4Address::new(10, 0, 0, 2)));
        assert!(parse(&argv("ping")).is_err());
        assert!(parse(&argv("ping -c x 10.0.0.1")).is_err());
        assert!(parse(&argv("ping 10.0.0.256")).is_err());
        assert!(parse(&argv("ping web/1")).is_err());
    }

    #[test]
    fn destinations_may_be_names() {
        let Command::Ping(p) = parse(&argv("ping -c 1 web")).unwrap() else {
            panic!()
        };
        assert_eq!(p.dest, Dest::Name("web".into()));
        let Command::Curl(c) = parse(&argv("curl http://web.backend:8080/x")).unwrap() else {
            panic!()
        };
        assert_eq!(
            (c.host, c.port, c.host_header.as_str()),
            (Dest::Name("web.backend".into()), 8080, "web.backend:8080")
        );
        let Command::Nc(n) = parse(&argv("nc -zvn web 80")).unwrap() else {
            panic!()
        };
        assert_eq!((n.host, n.numeric), (Some(Dest::Name("web".into())), true));
        let Command::Traceroute(t) = parse(&argv("traceroute -m 5 web")).unwrap() else {
            panic!()
        };
        assert_eq!((t.dest, t.dest_argc), (Dest::Name("web".into()), 3));
        // The transfer tools still take addresses only.
        assert!(parse(&argv("bulk-send web 80 1M")).is_err());
        assert!(matches!(
            parse(&argv("bulk-send 2001:db8::1 80 1M")),
            Ok(Command::BulkSend(a)) if a.host.to_string() == "2001:db8::1"
        ));
    }

    #[test]
    fn parses_curl() {
        let Command::Curl(c) =
            parse(&argv("curl -s --local-port 40000 http://192.0.2.1:8080/x")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (c.host, c.port, c.path.as_str()),
            (Dest::Addr(Ipv4Address::new(192, 0, 2, 1)), 8080, "/x")
        );
        assert_eq!(c.local_port, Some(40000));
        assert!(c.silent);
        assert!(parse(&argv("curl https://1.2.3.4/")).is_err());
    }

    #[test]
    fn parses_nc_forms() {
        let Command::Nc(n) = parse(&argv("nc -zv 10.0.0.2 8080")).unwrap() else {
            panic!()
        };
        assert!(n.zero_io && n.verbose && !n.listen);
        let Command::Nc(n) = parse(&argv("nc -lu 9000")).unwrap() else {
            panic!()
        };
        assert!(n.listen && n.udp && n.port == 9000);
        let Command::Nc(n) = parse(&argv("nc -l -p 9000")).unwrap() else {
            panic!()
        };
        assert_eq!(n.port, 9000);
        let Command::Nc(n) = parse(&argv("nc -w2 -p 1234 10.0.0.2 80")).unwrap() else {
            panic!()
        };
        assert_eq!(
            (n.wait, n.source_port),
            (Some(Duration::from_secs(2)), Some(1234))
        );
    }

    #[test]
    fn unknown_command_lists_known_ones() {
        let e = parse(&argv("wget http://x")).unwrap_err();
        assert!(e.contains("command not found") && e.contains("curl"), "{e}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20M"), Ok(20_000_000));
        assert_eq!(parse_size("1500"), Ok(1500));
        assert!(parse_size("lots").is_err());
    }
}
