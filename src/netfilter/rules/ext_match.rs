//! Reading the options of the match modules (`--dport`, `--ctstate`, `--limit`, ...).

use super::Prog;
use super::matches::{
    IcmpMatch, LimitMatch, MarkMatch, Match, MultiportKind, Net, Ports, StatMode,
};
use super::parse::{Args, Res};
use super::parse_ext::{MatchBuilder, once};
use super::values::{
    addr_types, icmp_type, parse_ipv4, parse_mark_mask, parse_net, parse_port, parse_ports, rate,
    states, tcp_flags,
};

/// Parses one option of a match; `proto` is the rule's `-p` (for service names).
pub(crate) fn parse_match_opt(
    p: &Prog,
    b: &mut MatchBuilder,
    opt: &'static str,
    inv: bool,
    args: &mut Args,
    proto: Option<u8>,
) -> Res<()> {
    if let Match::State(_) = &b.m {
        return super::ext_state::parse_match_opt(p, b, opt, inv, args);
    }
    let name = b.name;
    let canon = match opt {
        "source-port" => "sport",
        "destination-port" => "dport",
        "source-ports" => "sports",
        "destination-ports" => "dports",
        o => o,
    };
    let inv_ok = !matches!(
        canon,
        "ctdir"
            | "limit"
            | "limit-burst"
            | "limit-iface-in"
            | "limit-iface-out"
            | "comment"
            | "mode"
            | "packet"
    );
    // libxt_tcp parses the old way, with its own words for a repeat.
    if name == "tcp" {
        let (flag, msg) = match canon {
            "sport" => ("sport", "Only one `--source-port' allowed"),
            "dport" => ("dport", "Only one `--destination-port' allowed"),
            "tcp-option" => ("tcp-option", "Only one `--tcp-option' allowed"),
            _ => ("syn", "Only one of `--syn' or `--tcp-flags'  allowed"),
        };
        if b.seen.contains(&flag) {
            return Err(p.param(msg, Some(opt)));
        }
    }
    // Multiport's three options exclude each other, as do tcp's `--syn` and `--tcp-flags`.
    let key = match (name, canon) {
        ("multiport", _) => "ports",
        ("tcp", "tcp-flags") => "syn",
        _ => canon,
    };
    if let Match::Hdr(h) = &mut b.m {
        return h.parse(p, opt, inv, args, &mut b.seen);
    }
    once(p, name, &mut b.seen, key, inv, inv_ok)?;
    let proto_name = if name == "udp" { 17 } else { 6 };
    match &mut b.m {
        Match::Tcp(m) | Match::Udp(m) => match canon {
            "sport" => m.sport = ports_arg(p, args.value(p)?, proto_name, inv)?,
            "dport" => m.dport = ports_arg(p, args.value(p)?, proto_name, inv)?,
            "syn" => m.flags = Some((0x17, 0x02, inv)),
            // `parse_tcp_option`: 1 to 255, in C's bases.
            "tcp-option" => {
                let v = args.value(p)?;
                let n = super::values::parse_u32(v).filter(|n| (1..=255).contains(n));
                let n = n.ok_or_else(|| p.param(format!("Bad TCP option \"{v}\""), Some(v)))?;
                m.option = Some((n as u8, inv));
            }
            _ => {
                let mask = tcp_flags(p, args.value(p)?)?;
                let comp = args.second(p, "--tcp-flags requires two args.")?;
                m.flags = Some((mask, tcp_flags(p, &comp)?, inv));
            }
        },
        Match::Icmp(m) => {
            let (typ, lo, hi) = icmp_type(p, args.value(p)?)?;
            *m = IcmpMatch {
                typ,
                code_lo: lo,
                code_hi: hi,
                inv,
            };
        }
        Match::Icmp6(m) => {
            let (typ, lo, hi) = super::values::icmpv6_type(p, args.value(p)?)?;
            *m = IcmpMatch {
                typ,
                code_lo: lo,
                code_hi: hi,
                inv,
            };
        }
        Match::Conntrack(m) => {
            let v = args.value(p)?;
            match canon {
                "ctstate" | "state" => m.state = Some((states(p, v, canon)?, inv)),
                "ctorigsrc" => m.origsrc = Some((single_net(p, v)?, inv)),
                "ctorigdst" => m.origdst = Some((single_net(p, v)?, inv)),
                "ctorigsrcport" | "ctorigdstport" => {
                    let ports = Some(super::ext_ctmatch::port_range(p, canon, v, inv)?);
                    match canon {
                        "ctorigsrcport" => m.origsrcport = ports,
                        _ => m.origdstport = ports,
                    }
                }
                o if super::ext_ctmatch::OPTIONS.contains(&o) => m.ext.parse(p, o, v, inv)?,
                _ => {
                    m.dir_reply = Some(match v.to_ascii_uppercase().as_str() {
                        "ORIGINAL" => false,
                        "REPLY" => true,
                        _ => return Err(p.param(format!("Unknown --ctdir \"{v}\""), Some(v))),
                    })
                }
            }
        }
        Match::AddrType(m) => match canon {
            "limit-iface-in" => m.limit_in = true,
            "limit-iface-out" => m.limit_out = true,
            dir => {
                let mask = addr_types(p, args.value(p)?)?;
                if dir == "src-type" {
                    m.src = Some((mask, inv))
                } else {
                    m.dst = Some((mask, inv))
                }
            }
        },
        Match::IpRange(m) => {
            let v = args.value(p)?;
            let (a, z) = v.split_once('-').unwrap_or((v, v));
            let bad = || p.param(format!("iprange match: Bad IP address \"{v}\""), Some(v));
            let range = (
                parse_ipv4(a).ok_or_else(bad)?,
                parse_ipv4(z).ok_or_else(bad)?,
                inv,
            );
            if canon == "src-range" {
                m.src = Some(range)
            } else {
                m.dst = Some(range)
            }
        }
        Match::Multiport(m) => {
            let proto =
                match proto {
                    Some(n @ (6 | 17 | 33 | 132 | 136)) => n,
                    _ => return Err(p.param(
                        "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'",
                        Some(opt),
                    )),
                };
            m.kind = match canon {
                "sports" => MultiportKind::Source,
                "dports" => MultiportKind::Destination,
                _ => MultiportKind::Either,
            };
            m.inv = inv;
            let v = args.value(p)?;
            let mut slots = 0;
            for item in v.split(',') {
                let (lo, hi) = match item.split_once(':') {
                    Some((a, z)) => (parse_port(p, a, proto)?, parse_port(p, z, proto)?),
                    None => {
                        let x = parse_port(p, item, proto)?;
                        (x, x)
                    }
                };
                slots += if lo == hi { 1 } else { 2 };
                if slots > 15 {
                    return Err(p.param("too many ports specified", Some(v)));
                }
                m.ports.push((lo, hi));
            }
        }
        Match::Limit(m) => {
            let v = args.value(p)?;
            if canon == "limit" {
                let avg = rate(v).ok_or_else(|| p.param(format!("bad rate \"{v}\"'"), Some(v)))?;
                *m = LimitMatch::new(avg, m.burst);
            } else {
                let burst = v.parse::<u32>().ok().filter(|b| (1..=10_000).contains(b));
                let burst = burst.ok_or_else(|| {
                    p.param(
                        "limit: bad value for option \"--limit-burst\", or out of range (0-10000).",
                        Some(v),
                    )
                })?;
                *m = LimitMatch::new(m.avg, burst);
            }
        }
        Match::Statistic(m) => {
            let v = args.value(p)?;
            let bad = || {
                p.param(
                    format!("statistic: Bad value for option \"--{canon}\": \"{v}\""),
                    Some(v),
                )
            };
            match canon {
                "mode" => {
                    m.mode = match v {
                        "nth" => StatMode::Nth {
                            every: u32::MAX,
                            packet: 0,
                            count: 0,
                        },
                        "random" => StatMode::Random {
                            probability: u32::MAX,
                            state: 0x9E37_79B9_7F4A_7C15,
                        },
                        _ => return Err(p.param(format!("Bad mode \"{v}\""), Some(v))),
                    };
                }
                "probability" => {
                    let prob: f64 = v
                        .parse()
                        .ok()
                        .filter(|x| (0.0..=1.0).contains(x))
                        .ok_or_else(bad)?;
                    let StatMode::Random { probability, .. } = &mut m.mode else {
                        return Err(
                            p.param("--probability can only be used in random mode", Some(v))
                        );
                    };
                    *probability = (prob * f64::from(0x8000_0000u32)).round() as u32;
                    // libxt_statistic 1.8.9 takes the `!` here and at `--every`, not at
                    // `--mode` (checked).
                    m.inv = inv;
                }
                _ => {
                    let n: u32 = v.parse().map_err(|_| bad())?;
                    let StatMode::Nth {
                        every,
                        packet,
                        count,
                    } = &mut m.mode
                    else {
                        return Err(
                            p.param(format!("--{canon} can only be used in nth mode"), Some(v))
                        );
                    };
                    if canon == "every" {
                        *every = n.checked_sub(1).ok_or_else(bad)?;
                        m.inv = inv;
                    } else {
                        *packet = n;
                        *count = n;
                    }
                }
            }
        }
        Match::Mark(m) | Match::ConnMark(m) => {
            let v = args.value(p)?;
            let (mark, mask) = parse_mark_mask(p, name, "mark", v)?;
            *m = MarkMatch { mark, mask, inv };
        }
        Match::Comment(c) => {
            let v = args.value(p)?;
            if v.len() > 255 {
                return Err(p.param(
                    "comment: option \"--comment\" cannot be more than 255 characters long",
                    Some(v),
                ));
            }
            *c = v.to_string();
        }
        Match::Hdr(_) => {}
        Match::State(_) => {}
    }
    Ok(())
}

fn ports_arg(p: &Prog, v: &str, proto: u8, inv: bool) -> Res<Ports> {
    let (lo, hi) = parse_ports(p, v, proto)?;
    Ok(Ports { lo, hi, inv })
}

fn single_net(p: &Prog, v: &str) -> Res<Net> {
    Ok(parse_net(p, v)?[0])
}
