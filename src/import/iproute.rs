//! `ip route` (text or `ip -j route`) and `ip rule` (text or `ip -j rule`).

use std::net::Ipv4Addr;

use serde_json::Value;

use super::{Cidr, ImportError, Source};

/// One route as `ip route` lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    pub line: usize,
    /// The line as listed (rebuilt from the fields for JSON).
    pub text: String,
    /// `unicast` unless the listing names another type (`blackhole`, `local`, ...).
    pub typ: String,
    /// `None`: the default route.
    pub dst: Option<Cidr>,
    /// The destination is not IPv4 (an IPv6 route in a mixed dump).
    pub ipv6: bool,
    pub via: Option<Ipv4Addr>,
    pub dev: Option<String>,
    pub proto: Option<String>,
    pub scope: Option<String>,
    pub src: Option<Ipv4Addr>,
    pub metric: Option<u32>,
    pub table: Option<String>,
    /// Flags (`linkdown`, `onlink`, ...) and options hoplab has no use for (`mtu 1400`).
    pub other: Vec<String>,
}

impl Route {
    pub fn is_kernel(&self) -> bool {
        self.proto.as_deref() == Some("kernel")
    }
}

const TYPES: &[&str] = &[
    "unicast",
    "local",
    "broadcast",
    "multicast",
    "unreachable",
    "blackhole",
    "prohibit",
    "throw",
    "nat",
    "anycast",
];
const FLAGS: &[&str] = &[
    "linkdown",
    "onlink",
    "pervasive",
    "offload",
    "dead",
    "notify",
    "rt_offload",
    "trap",
];

/// One line of a route listing (either family's), split: its number and text, its type
/// (`unicast` unless the line begins with another), its destination and the words after.
pub(super) struct RouteLine<'a> {
    pub n: usize,
    pub line: &'a str,
    pub typ: &'a str,
    pub dst: &'a str,
    rest: Vec<&'a str>,
}

/// The non-empty lines of a route listing, one at a time (so a dump's errors come in its
/// order); a line with a type and no destination is the error. `types` are the route types
/// the family's listing prints.
pub(super) fn route_lines<'a>(
    src: &'a Source,
    types: &'a [&'a str],
) -> impl Iterator<Item = Result<RouteLine<'a>, ImportError>> + 'a {
    src.text.lines().enumerate().filter_map(move |(i, raw)| {
        let (n, line) = (i + 1, raw.trim());
        let mut w: Vec<&str> = line.split_whitespace().collect();
        let first = *w.first()?;
        let typ = match types.contains(&first) {
            true => w.remove(0),
            false => "unicast",
        };
        let Some(&dst) = w.first() else {
            return Some(Err(src.err(
                n,
                format!("{}: a route without a destination: `{line}`", src.flag),
            )));
        };
        let rest = w.split_off(1);
        Some(Ok(RouteLine {
            n,
            line,
            typ,
            dst,
            rest,
        }))
    })
}

impl<'a> RouteLine<'a> {
    /// The options after the destination, in order: one of `flags` alone, else a key and
    /// its value (a key without one is the error).
    pub(super) fn options(
        &self,
        src: &'a Source,
        flags: &'a [&'a str],
    ) -> impl Iterator<Item = Result<(&'a str, Option<&'a str>), ImportError>> + '_ {
        let mut k = 0;
        std::iter::from_fn(move || {
            let key = *self.rest.get(k)?;
            if flags.contains(&key) {
                k += 1;
                return Some(Ok((key, None)));
            }
            let Some(&v) = self.rest.get(k + 1) else {
                k = self.rest.len();
                return Some(Err(src.err(
                    self.n,
                    format!("{}: `{key}` without a value in `{}`", src.flag, self.line),
                )));
            };
            k += 2;
            Some(Ok((key, Some(v))))
        })
    }
}

/// Reads `ip route` or `ip -j route`.
pub fn parse_routes(src: &Source) -> Result<Vec<Route>, ImportError> {
    if src.text.trim_start().starts_with('[') {
        return parse_routes_json(src);
    }
    let mut out = Vec::new();
    for l in route_lines(src, TYPES) {
        let l = l?;
        let (n, line, dst) = (l.n, l.line, l.dst);
        let mut r = Route {
            line: n,
            text: line.to_string(),
            typ: l.typ.to_string(),
            ..Route::default()
        };
        let first = out.is_empty();
        let bad = |what: &str, tok: &str| {
            if first && what == "destination" {
                src.not_format("ip route")
            } else {
                src.err(n, format!("{}: bad {what} `{tok}` in `{line}`", src.flag))
            }
        };
        if dst == "default" {
        } else if dst.contains(':')
            && dst
                .chars()
                .all(|c| c.is_ascii_hexdigit() || ":/.".contains(c))
        {
            r.ipv6 = true;
        } else {
            r.dst = Some(Cidr::parse(dst).ok_or_else(|| bad("destination", dst))?);
        }
        for o in l.options(src, FLAGS) {
            let (key, v) = o?;
            let Some(v) = v else {
                r.other.push(key.to_string());
                continue;
            };
            match key {
                "via" if r.ipv6 || v == "inet6" => {}
                "via" => r.via = Some(v.parse().map_err(|_| bad("gateway", v))?),
                "dev" => r.dev = Some(v.to_string()),
                "proto" => r.proto = Some(v.to_string()),
                "scope" => r.scope = Some(v.to_string()),
                "src" if r.ipv6 => {}
                "src" => r.src = Some(v.parse().map_err(|_| bad("source", v))?),
                "metric" => r.metric = Some(v.parse().map_err(|_| bad("metric", v))?),
                "table" => r.table = Some(v.to_string()),
                _ => r.other.push(format!("{key} {v}")),
            }
        }
        out.push(r);
    }
    if out.is_empty() && !src.text.trim().is_empty() {
        return Err(src.not_format("ip route"));
    }
    Ok(out)
}

/// The entries of an `ip -j route` dump of either family (`what`: the command, for
/// errors), each with its `dst`, which every route has.
pub(super) fn json_routes(src: &Source, what: &str) -> Result<Vec<(Value, String)>, ImportError> {
    let v: Value = serde_json::from_str(&src.text).map_err(|e| src.json_err(what, &e))?;
    let Some(arr) = v.as_array() else {
        return Err(src.not_format(what));
    };
    arr.iter()
        .enumerate()
        .map(|(k, o)| {
            let dst = o.get("dst").and_then(Value::as_str).ok_or_else(|| {
                src.err(
                    1,
                    format!(
                        "{}: not the JSON of {what}: entry {} has no \"dst\"",
                        src.flag,
                        k + 1
                    ),
                )
            })?;
            Ok((o.clone(), dst.to_string()))
        })
        .collect()
}

/// Route `k`'s field `what` could not be read from `tok`.
pub(super) fn json_bad(src: &Source, k: usize, what: &str, tok: &str) -> ImportError {
    src.err(
        1,
        format!("{}: route {}: bad {what} `{tok}`", src.flag, k + 1),
    )
}

/// A JSON route's `flags`.
pub(super) fn json_flags(o: &Value) -> impl Iterator<Item = String> + '_ {
    o.get("flags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
}

fn parse_routes_json(src: &Source) -> Result<Vec<Route>, ImportError> {
    let mut out = Vec::new();
    for (k, (o, dst)) in json_routes(src, "ip -j route")?.into_iter().enumerate() {
        let s = |key: &str| o.get(key).and_then(Value::as_str).map(str::to_string);
        let bad = |what: &str, tok: &str| json_bad(src, k, what, tok);
        let mut r = Route {
            line: 1,
            typ: s("type").unwrap_or_else(|| "unicast".into()),
            dev: s("dev"),
            proto: s("protocol"),
            scope: s("scope"),
            metric: o.get("metric").and_then(Value::as_u64).map(|m| m as u32),
            table: s("table"),
            ..Route::default()
        };
        if dst == "default" {
        } else if dst.contains(':') {
            r.ipv6 = true;
        } else {
            r.dst = Some(Cidr::parse(&dst).ok_or_else(|| bad("destination", &dst))?);
        }
        if !r.ipv6 {
            if let Some(g) = s("gateway") {
                r.via = Some(g.parse().map_err(|_| bad("gateway", &g))?);
            }
            if let Some(p) = s("prefsrc") {
                r.src = Some(p.parse().map_err(|_| bad("source", &p))?);
            }
        }
        r.other.extend(json_flags(&o));
        // The line `ip route` would have printed.
        let mut t = String::new();
        if r.typ != "unicast" {
            t.push_str(&r.typ);
            t.push(' ');
        }
        t.push_str(&dst);
        if let Some(g) = s("gateway") {
            t.push_str(&format!(" via {g}"));
        }
        for (key, v) in [
            ("dev", &r.dev),
            ("proto", &r.proto),
            ("scope", &r.scope),
            ("src", &s("prefsrc")),
        ] {
            if let Some(v) = v {
                t.push_str(&format!(" {key} {v}"));
            }
        }
        if let Some(m) = r.metric {
            t.push_str(&format!(" metric {m}"));
        }
        for f in &r.other {
            t.push_str(&format!(" {f}"));
        }
        r.text = t;
        out.push(r);
    }
    Ok(out)
}

/// One `ip rule`: its priority and the rest of its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub line: usize,
    pub priority: u32,
    pub text: String,
}

impl Rule {
    /// One of the three rules every Linux host has.
    pub fn is_default(&self) -> bool {
        matches!(
            (self.priority, self.text.as_str()),
            (0, "from all lookup local")
                | (32766, "from all lookup main")
                | (32767, "from all lookup default")
        )
    }
}

/// Reads `ip rule` or `ip -j rule`.
pub fn parse_rules(src: &Source) -> Result<Vec<Rule>, ImportError> {
    if src.text.trim_start().starts_with('[') {
        let v: Value =
            serde_json::from_str(&src.text).map_err(|e| src.json_err("ip -j rule", &e))?;
        let Some(arr) = v.as_array() else {
            return Err(src.not_format("ip -j rule"));
        };
        let mut out = Vec::new();
        for o in arr {
            let s = |key: &str| o.get(key).and_then(Value::as_str).map(str::to_string);
            let from = match (s("src"), o.get("srclen").and_then(Value::as_u64)) {
                (Some(a), Some(l)) if a != "all" => format!("{a}/{l}"),
                (Some(a), _) => a,
                (None, _) => "all".into(),
            };
            let mut text = format!("from {from}");
            if let Some(d) = s("dst") {
                match o.get("dstlen").and_then(Value::as_u64) {
                    Some(l) => text.push_str(&format!(" to {d}/{l}")),
                    None => text.push_str(&format!(" to {d}")),
                }
            }
            for key in ["fwmark", "iif", "oif"] {
                if let Some(v) = s(key) {
                    text.push_str(&format!(" {key} {v}"));
                }
            }
            if let Some(t) = s("table") {
                text.push_str(&format!(" lookup {t}"));
            }
            out.push(Rule {
                line: 1,
                priority: o.get("priority").and_then(Value::as_u64).unwrap_or(0) as u32,
                text,
            });
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for (i, raw) in src.text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = line
            .split_once(':')
            .and_then(|(p, rest)| Some((p.trim().parse::<u32>().ok()?, rest.trim())));
        match parsed {
            Some((priority, text)) => out.push(Rule {
                line: n,
                priority,
                text: text.split_whitespace().collect::<Vec<_>>().join(" "),
            }),
            None if out.is_empty() => return Err(src.not_format("ip rule")),
            None => {
                let tok = line.split(':').next().unwrap_or(line);
                return Err(src.err(
                    n,
                    format!("{}: bad rule priority `{tok}` in `{line}`", src.flag),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_text() {
        let text = "default via 10.104.68.129 dev eth0 proto dhcp src 10.104.68.181 metric 100 \n\
                    172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown \n\
                    blackhole 10.9.0.0/16 \n\
                    fd00::/64 dev eth0 proto kernel metric 256 pref medium\n";
        let r = parse_routes(&Source::new("--ip-route", "r", text)).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].dst, None);
        assert_eq!(r[0].via, Some("10.104.68.129".parse().unwrap()));
        assert_eq!(r[0].proto.as_deref(), Some("dhcp"));
        assert_eq!(r[0].metric, Some(100));
        assert!(r[1].is_kernel());
        assert_eq!(r[1].other, vec!["linkdown"]);
        assert_eq!(r[2].typ, "blackhole");
        assert!(r[3].ipv6);
    }

    #[test]
    fn bad_routes_name_the_token() {
        let e = parse_routes(&Source::new(
            "--ip-route",
            "r",
            "Chain INPUT (policy ACCEPT)\n",
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("r:1: --ip-route: not the output of ip route"),
            "{e}"
        );
        let e = parse_routes(&Source::new(
            "--ip-route",
            "r",
            "default via 10.0.0.1 dev eth0\n10.1.0.0/16 via 10.0.0.300\n",
        ))
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "r:2: --ip-route: bad gateway `10.0.0.300` in `10.1.0.0/16 via 10.0.0.300`"
        );
    }

    #[test]
    fn rules() {
        let text = "0:\tfrom all lookup local\n1000:\tfrom 172.18.0.0/16 lookup 100\n32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n";
        let r = parse_rules(&Source::new("--ip-rule", "u", text)).unwrap();
        assert_eq!(r.iter().filter(|r| !r.is_default()).count(), 1);
        assert_eq!(r[1].text, "from 172.18.0.0/16 lookup 100");
        let json = r#"[{"priority":0,"src":"all","table":"local"},{"priority":1000,"src":"172.18.0.0","srclen":16,"table":"100"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}]"#;
        assert_eq!(
            parse_rules(&Source::new("--ip-rule", "u", json))
                .unwrap()
                .iter()
                .map(|r| (r.priority, r.text.clone()))
                .collect::<Vec<_>>(),
            r.iter()
                .map(|r| (r.priority, r.text.clone()))
                .collect::<Vec<_>>()
        );
    }
}
