//! `ip -6 route` (text or `ip -j -6 route`): the host's IPv6 routes.

use std::net::Ipv6Addr;

use serde_json::Value;

use super::{ImportError, Source};

/// One route as `ip -6 route` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route6 {
    pub line: usize,
    /// The line as listed (rebuilt from the fields for JSON).
    pub text: String,
    /// `unicast` unless the listing names another type (`unreachable`, `multicast`, ...).
    pub typ: String,
    /// `None`: the default route; else the prefix and its length (a host route: 128).
    pub dst: Option<(Ipv6Addr, u8)>,
    pub via: Option<Ipv6Addr>,
    pub dev: Option<String>,
    pub proto: Option<String>,
    pub metric: Option<u32>,
    pub table: Option<String>,
    /// Flags and options the lab has no use for (`linkdown`, `mtu 1400`, `expires 1790sec`).
    pub other: Vec<String>,
}

impl Route6 {
    pub fn is_kernel(&self) -> bool {
        self.proto.as_deref() == Some("kernel")
    }
}

const TYPES: &[&str] = &[
    "unicast",
    "local",
    "multicast",
    "unreachable",
    "blackhole",
    "prohibit",
    "throw",
    "anycast",
];
const FLAGS: &[&str] = &["linkdown", "onlink", "offload", "dead", "notify", "trap"];

/// `ADDR[/LEN]` or `default`.
fn prefix(s: &str) -> Option<Option<(Ipv6Addr, u8)>> {
    if s == "default" {
        return Some(None);
    }
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok().filter(|l| *l <= 128)?),
        None => (s, 128),
    };
    Some(Some((a.parse().ok()?, len)))
}

/// Reads `ip -6 route` or `ip -j -6 route`.
pub fn parse_routes6(src: &Source) -> Result<Vec<Route6>, ImportError> {
    if src.text.trim_start().starts_with('[') {
        return parse_json(src);
    }
    let mut out = Vec::new();
    for l in super::iproute::route_lines(src, TYPES) {
        let l = l?;
        let (n, line, dst) = (l.n, l.line, l.dst);
        let mut r = Route6 {
            line: n,
            text: line.to_string(),
            typ: l.typ.to_string(),
            ..Route6::default()
        };
        let bad = |what: &str, tok: &str| {
            src.err(n, format!("{}: bad {what} `{tok}` in `{line}`", src.flag))
        };
        r.dst = match prefix(dst) {
            Some(d) => d,
            None if out.is_empty() => return Err(src.not_format("ip -6 route")),
            None => return Err(bad("destination", dst)),
        };
        for o in l.options(src, FLAGS) {
            let (key, v) = o?;
            let Some(v) = v else {
                r.other.push(key.to_string());
                continue;
            };
            match key {
                "via" => r.via = Some(v.parse().map_err(|_| bad("gateway", v))?),
                "dev" => r.dev = Some(v.to_string()),
                "proto" => r.proto = Some(v.to_string()),
                "metric" => r.metric = Some(v.parse().map_err(|_| bad("metric", v))?),
                "table" => r.table = Some(v.to_string()),
                // Every IPv6 route has a preference; the lab's are all `medium`.
                "pref" if v == "medium" => {}
                _ => r.other.push(format!("{key} {v}")),
            }
        }
        out.push(r);
    }
    if out.is_empty() && !src.text.trim().is_empty() {
        return Err(src.not_format("ip -6 route"));
    }
    Ok(out)
}

fn parse_json(src: &Source) -> Result<Vec<Route6>, ImportError> {
    use super::iproute::{json_bad, json_flags, json_routes};
    let mut out = Vec::new();
    for (k, (o, dst)) in json_routes(src, "ip -j -6 route")?.into_iter().enumerate() {
        let s = |key: &str| o.get(key).and_then(Value::as_str).map(str::to_string);
        let bad = |what: &str, tok: &str| json_bad(src, k, what, tok);
        let mut r = Route6 {
            line: 1,
            typ: s("type").unwrap_or_else(|| "unicast".into()),
            dst: prefix(&dst).ok_or_else(|| bad("destination", &dst))?,
            dev: s("dev"),
            proto: s("protocol"),
            metric: o.get("metric").and_then(Value::as_u64).map(|m| m as u32),
            table: s("table"),
            ..Route6::default()
        };
        if let Some(g) = s("gateway") {
            r.via = Some(g.parse().map_err(|_| bad("gateway", &g))?);
        }
        r.other.extend(json_flags(&o));
        if let Some(e) = o.get("expires").and_then(Value::as_u64) {
            r.other.push(format!("expires {e}sec"));
        }
        // The line `ip -6 route` would print, for about: to name it.
        let mut text = String::new();
        if r.typ != "unicast" {
            text += &format!("{} ", r.typ);
        }
        text += &dst;
        for (k, v) in [
            ("via", r.via.map(|g| g.to_string())),
            ("dev", r.dev.clone()),
            ("proto", r.proto.clone()),
            ("metric", r.metric.map(|m| m.to_string())),
        ] {
            if let Some(v) = v {
                text += &format!(" {k} {v}");
            }
        }
        r.text = text;
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_lines_and_json() {
        let text = "2001:db8:1::/64 dev eth0 proto kernel metric 256 pref medium\n\
                    2001:db8:9::/48 via 2001:db8:1::99 dev eth0 metric 100 pref medium\n\
                    fe80::/64 dev eth0 proto kernel metric 256 pref medium\n\
                    default via fe80::1 dev eth0 proto ra metric 1024 expires 1794sec pref medium\n";
        let r = parse_routes6(&Source::new("--ip6-route", "r6.txt", text)).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[1].dst, Some(("2001:db8:9::".parse().unwrap(), 48)));
        assert_eq!(r[1].via, Some("2001:db8:1::99".parse().unwrap()));
        assert_eq!(r[1].metric, Some(100));
        assert!(r[0].is_kernel());
        assert_eq!(r[3].dst, None);
        assert_eq!(r[3].other, ["expires 1794sec"]);
        let json = r#"[{"dst":"default","gateway":"fe80::1","dev":"eth0","protocol":"ra","metric":1024,"flags":[],"expires":1794,"pref":"medium"}]"#;
        let j = parse_routes6(&Source::new("--ip6-route", "r6.json", json)).unwrap();
        assert_eq!(j[0].via, r[3].via);
        assert_eq!(j[0].other, r[3].other);
        let e = parse_routes6(&Source::new(
            "--ip6-route",
            "r6.txt",
            "10.0.0.0/24 dev eth0\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string().contains("not the output of ip -6 route"),
            "{e}"
        );
    }
}
