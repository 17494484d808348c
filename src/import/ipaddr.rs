//! `ip addr` (text, or `ip -j addr` JSON; `-d` adds each link's kind) read into links.

use serde_json::Value;

use super::{Cidr, ImportError, Source};

/// One link as `ip addr` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// The dump's line of its header (1 for JSON).
    pub line: usize,
    pub index: u32,
    pub name: String,
    /// What follows `@` in the text (`if2`), or `if` + JSON's `link_index`.
    pub peer: Option<String>,
    pub flags: Vec<String>,
    pub mtu: Option<u32>,
    pub master: Option<String>,
    /// `ether`, `loopback`, `none`, ...
    pub link_type: String,
    pub mac: Option<String>,
    /// The link's kind when the dump says it (`ip -d`: `bridge`, `veth`, `dummy`, ...).
    pub kind: Option<String>,
    pub inet: Vec<Cidr>,
    pub inet6: Vec<String>,
}

/// Kinds `ip -d addr` prints on a line of their own.
const KINDS: &[&str] = &[
    "veth",
    "bridge",
    "dummy",
    "vxlan",
    "wireguard",
    "tun",
    "gre",
    "gretap",
    "ipip",
    "sit",
    "vlan",
    "macvlan",
    "macvtap",
    "ipvlan",
    "bond",
    "team",
    "geneve",
    "vrf",
    "ip6tnl",
    "xfrm",
];

/// Reads `ip addr` or `ip -j addr`.
pub fn parse(src: &Source) -> Result<Vec<Link>, ImportError> {
    let links = if src.text.trim_start().starts_with('[') {
        parse_json(src)?
    } else {
        parse_text(src)?
    };
    for (k, l) in links.iter().enumerate() {
        // Linux's dev_valid_name: at most 15 bytes, no `/`, `:` or white space.
        if l.name.len() > 15
            || l.name.contains(['/', ':'])
            || l.name.contains(char::is_whitespace)
            || l.name == "."
            || l.name == ".."
        {
            return Err(src.err(
                l.line,
                format!("{}: `{}` is not a link name", src.flag, l.name),
            ));
        }
        if let Some(m) = l
            .mac
            .as_deref()
            .filter(|m| l.link_type != "loopback" && !super::is_unicast_mac(m))
        {
            return Err(src.err(
                l.line,
                format!("{}: `{m}` of {} is not a unicast MAC", src.flag, l.name),
            ));
        }
        if links[..k].iter().any(|x| x.name == l.name) {
            return Err(src.err(
                l.line,
                format!("{}: link {} is listed twice", src.flag, l.name),
            ));
        }
        if let Some(m) = l
            .mtu
            .filter(|m| !(68..=65535).contains(m) && l.link_type != "loopback")
        {
            return Err(src.err(
                l.line,
                format!(
                    "{}: mtu `{m}` of {} is out of range (68-65535)",
                    src.flag, l.name
                ),
            ));
        }
    }
    Ok(links)
}

fn parse_text(src: &Source) -> Result<Vec<Link>, ImportError> {
    let mut links: Vec<Link> = Vec::new();
    for (i, raw) in src.text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            match header(line) {
                Some(mut l) => {
                    l.line = n;
                    links.push(l);
                    continue;
                }
                None if links.is_empty() => return Err(src.not_format("ip addr")),
                None => {
                    return Err(src.err(
                        n,
                        format!("{}: not a link's first line: `{line}`", src.flag),
                    ));
                }
            }
        }
        let Some(l) = links.last_mut() else {
            return Err(src.not_format("ip addr"));
        };
        let mut w = line.split_whitespace();
        let first = w.next().unwrap_or("");
        match first {
            "inet" => {
                let a = w.next().unwrap_or("");
                let c = Cidr::parse(a)
                    .ok_or_else(|| src.err(n, format!("{}: bad IPv4 address `{a}`", src.flag)))?;
                // `inet A peer B/P`: the prefix is the peer's.
                let words: Vec<&str> = w.collect();
                let c = match words.iter().position(|x| *x == "peer") {
                    Some(p) => match words.get(p + 1).and_then(|b| Cidr::parse(b)) {
                        Some(b) => Cidr {
                            addr: c.addr,
                            len: b.len,
                        },
                        None => c,
                    },
                    None => c,
                };
                l.inet.push(c);
            }
            "inet6" => l.inet6.push(w.next().unwrap_or("").to_string()),
            t if t.starts_with("link/") => {
                l.link_type = t["link/".len()..].to_string();
                if let Some(m) = w.next().filter(|m| is_mac(m)) {
                    l.mac = Some(m.to_string());
                }
            }
            k if KINDS.contains(&k) && l.kind.is_none() => l.kind = Some(k.to_string()),
            _ => {}
        }
    }
    if links.is_empty() {
        return Err(src.not_format("ip addr"));
    }
    Ok(links)
}

fn is_mac(s: &str) -> bool {
    s.len() == 17
        && s.split(':')
            .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `N: NAME[@PEER]: <FLAGS> mtu M ... [master B] state S ...`.
fn header(line: &str) -> Option<Link> {
    let (idx, rest) = line.split_once(": ")?;
    let index: u32 = idx.trim().parse().ok()?;
    let (name, rest) = rest.split_once(": <")?;
    let (flags, rest) = rest.split_once('>')?;
    let (name, peer) = match name.split_once('@') {
        Some((a, b)) => (a, Some(b.to_string())),
        None => (name, None),
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let val = |k: &str| {
        words
            .iter()
            .position(|w| *w == k)
            .and_then(|p| words.get(p + 1))
            .map(|s| s.to_string())
    };
    Some(Link {
        line: 0,
        index,
        name: name.to_string(),
        peer,
        flags: flags
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect(),
        mtu: val("mtu").and_then(|m| m.parse().ok()),
        master: val("master"),
        link_type: String::new(),
        ..Link::default()
    })
}

fn parse_json(src: &Source) -> Result<Vec<Link>, ImportError> {
    let v: Value = serde_json::from_str(&src.text).map_err(|e| src.json_err("ip -j addr", &e))?;
    let Some(arr) = v.as_array() else {
        return Err(src.not_format("ip -j addr"));
    };
    let mut links = Vec::new();
    for (k, o) in arr.iter().enumerate() {
        let name = o.get("ifname").and_then(Value::as_str).ok_or_else(|| {
            src.err(
                1,
                format!(
                    "{}: not the JSON of ip -j addr: entry {} has no \"ifname\"",
                    src.flag,
                    k + 1
                ),
            )
        })?;
        let s = |key: &str| o.get(key).and_then(Value::as_str).map(str::to_string);
        let mut l = Link {
            line: 1,
            index: o.get("ifindex").and_then(Value::as_u64).unwrap_or(0) as u32,
            name: name.to_string(),
            peer: o
                .get("link_index")
                .and_then(Value::as_u64)
                .map(|i| format!("if{i}"))
                .or_else(|| s("link")),
            flags: o
                .get("flags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            mtu: o.get("mtu").and_then(Value::as_u64).map(|m| m as u32),
            master: s("master"),
            link_type: s("link_type").unwrap_or_default(),
            mac: s("address").filter(|m| is_mac(m)),
            kind: o
                .get("linkinfo")
                .and_then(|li| li.get("info_kind"))
                .and_then(Value::as_str)
                .map(str::to_string),
            inet: Vec::new(),
            inet6: Vec::new(),
        };
        for a in o
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let local = a.get("local").and_then(Value::as_str).unwrap_or("");
            let len = a.get("prefixlen").and_then(Value::as_u64).unwrap_or(32);
            match a.get("family").and_then(Value::as_str) {
                Some("inet") => {
                    let c = Cidr::parse(&format!("{local}/{len}")).ok_or_else(|| {
                        src.err(
                            1,
                            format!("{}: bad IPv4 address `{local}/{len}` on {name}", src.flag),
                        )
                    })?;
                    l.inet.push(c);
                }
                Some("inet6") => l.inet6.push(format!("{local}/{len}")),
                _ => {}
            }
        }
        links.push(l);
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_agree() {
        let text = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
21: veth9780200@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br-d9231d44a1ab state UP group default 
    link/ether ea:9f:57:00:bf:1d brd ff:ff:ff:ff:ff:ff link-netnsid 0
    inet6 fe80::e89f:57ff:fe00:bf1d/64 scope link 
";
        let l = parse(&Source::new("--ip-addr", "a", text)).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].name, "veth9780200");
        assert_eq!(l[1].peer.as_deref(), Some("if2"));
        assert_eq!(l[1].master.as_deref(), Some("br-d9231d44a1ab"));
        assert_eq!(l[1].mac.as_deref(), Some("ea:9f:57:00:bf:1d"));
        assert_eq!(l[0].inet[0].to_string(), "127.0.0.1/8");
        let json = r#"[{"ifindex":21,"link_index":2,"ifname":"veth9780200","flags":["BROADCAST"],"mtu":1500,"master":"br-d9231d44a1ab","link_type":"ether","address":"ea:9f:57:00:bf:1d","addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":64}]}]"#;
        let j = parse(&Source::new("--ip-addr", "a", json)).unwrap();
        assert_eq!(j[0].master, l[1].master);
        assert_eq!(j[0].peer, l[1].peer);
    }

    #[test]
    fn other_text_is_named() {
        let e = parse(&Source::new(
            "--ip-addr",
            "x.txt",
            "\ndefault via 10.0.0.1 dev eth0\n",
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.txt:2: --ip-addr: not the output of ip addr (line 2: `default via 10.0.0.1 dev eth0`)"
        );
        let e = parse(&Source::new("--ip-addr", "x.json", "[{\"x\": 1}]")).unwrap_err();
        assert!(e.to_string().contains("no \"ifname\""), "{e}");
        let e = parse(&Source::new("--ip-addr", "x.json", "[{\"x\": ")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.json:1: --ip-addr: not the JSON"),
            "{e}"
        );
    }
}
