//! Match and target extensions on the command line: which modules exist, which options
//! each takes, and the checks a module makes once the line is read. The options' values are
//! read in `ext_match.rs` and `ext_target.rs`.

use super::Prog;
use super::matches::{
    AddrTypeMatch, CtMatch, IcmpMatch, IpRangeMatch, LimitMatch, MarkMatch, Match, MultiportKind,
    MultiportMatch, PortMatch, Ports, StatMatch, StatMode,
};
use super::parse::Res;

pub(crate) use super::ext_match::parse_match_opt;
pub(crate) use super::ext_target::TargetBuilder;

/// The options each match module takes (`None`: no argument, `Some(n)`: n arguments).
fn match_options(name: &str) -> &'static [(&'static str, u8)] {
    match name {
        "tcp" => &[
            ("sport", 1),
            ("source-port", 1),
            ("dport", 1),
            ("destination-port", 1),
            ("syn", 0),
            ("tcp-flags", 2),
            ("tcp-option", 1),
        ],
        "udp" => &[
            ("sport", 1),
            ("source-port", 1),
            ("dport", 1),
            ("destination-port", 1),
        ],
        "icmp" => &[("icmp-type", 1)],
        "icmp6" => &[("icmpv6-type", 1)],
        "conntrack" => &[
            ("ctstate", 1),
            ("ctorigsrc", 1),
            ("ctorigdst", 1),
            ("ctorigsrcport", 1),
            ("ctorigdstport", 1),
            ("ctdir", 1),
            ("ctproto", 1),
            ("ctreplsrc", 1),
            ("ctrepldst", 1),
            ("ctstatus", 1),
            ("ctexpire", 1),
            ("ctreplsrcport", 1),
            ("ctrepldstport", 1),
        ],
        "state" => &[("state", 1)],
        "addrtype" => &[
            ("src-type", 1),
            ("dst-type", 1),
            ("limit-iface-in", 0),
            ("limit-iface-out", 0),
        ],
        "iprange" => &[("src-range", 1), ("dst-range", 1)],
        "multiport" => &[
            ("sports", 1),
            ("source-ports", 1),
            ("dports", 1),
            ("destination-ports", 1),
            ("ports", 1),
        ],
        "limit" => &[("limit", 1), ("limit-burst", 1)],
        "statistic" => &[("mode", 1), ("probability", 1), ("every", 1), ("packet", 1)],
        "comment" => &[("comment", 1)],
        "mark" | "connmark" => &[("mark", 1)],
        n if super::ext_state::NAMES.contains(&n) => {
            super::ext_state::match_options(n).unwrap_or(&[])
        }
        _ => super::ext_hdr::match_options(name),
    }
}

/// Options iptables' modules have that are not modelled here: they still count when a
/// prefix is resolved (`--ctst` is ambiguous: `--ctstate`, `--ctstatus`).
fn match_options_elsewhere(_name: &str) -> &'static [&'static str] {
    // Every option of the modules hoplab loads is modelled now; one that is not yet goes
    // here, under its module's name.
    &[]
}

/// One option under its aliases' common name (`--source-port` is `--sport`), as getopt sees
/// them: one entry value.
pub(crate) fn canon_option(opt: &str) -> &str {
    match opt {
        "source-port" => "sport",
        "destination-port" => "dport",
        "source-ports" => "sports",
        "destination-ports" => "dports",
        o => o,
    }
}

/// Matches of one family alone: `icmp` and `ttl` are iptables', `icmp6` and `hl`
/// ip6tables'. Loading one in the other fails as libxtables fails to find it.
const V4_ONLY: &[&str] = &["icmp", "ttl"];
const V6_ONLY: &[&str] = &[
    "icmp6",
    "hl",
    "frag",
    "ipv6header",
    "rt",
    "hbh",
    "dst",
    "eui64",
];

/// Matches (and targets) ip6tables has whose IPv6 reading is not modelled here (they read
/// IPv4 addresses or header fields).
const NOT_MODELLED_V6: &[&str] = &[
    "iprange",
    "hashlimit",
    "recent",
    "set",
    "connlimit",
    "policy",
    "rpfilter",
    "socket",
    "dscp",
    "tos",
    "tcpmss",
    "string",
    "length",
    "TCPMSS",
    "DSCP",
    "TOS",
    "CHECKSUM",
    "TPROXY",
];

/// Refuses a match the command's family does not have (`Couldn't load match`), or whose
/// IPv6 reading hoplab does not model.
pub(crate) fn family_has_match(p: &Prog, name: &str) -> Res<()> {
    let foreign = if p.v6 { V4_ONLY } else { V6_ONLY };
    if foreign.contains(&name) {
        return Err(p.param(
            format!("Couldn't load match `{name}':No such file or directory\n"),
            Some(name),
        ));
    }
    if p.v6 && (NOT_MODELLED_V6.contains(&name) || V6_ONLY[1..].contains(&name)) {
        return Err(p.not_modelled("ip6tables match", name));
    }
    Ok(())
}

/// Refuses a target whose IPv6 rewrite hoplab does not model (`-j TCPMSS` in ip6tables).
pub(crate) fn family_has_target(p: &Prog, name: &str) -> Res<()> {
    if p.v6 && NOT_MODELLED_V6.contains(&name) {
        return Err(p.not_modelled("ip6tables target", name));
    }
    if p.v6 && matches!(name, "TTL") || !p.v6 && name == "HL" {
        return Err(p.param(
            format!("Couldn't load target `{name}':No such file or directory\n"),
            Some(name),
        ));
    }
    Ok(())
}

/// Match modules iptables can load here.
pub(crate) const MATCHES: &[&str] = &[
    "tcp",
    "udp",
    "icmp",
    "icmp6",
    "conntrack",
    "state",
    "addrtype",
    "iprange",
    "multiport",
    "limit",
    "statistic",
    "comment",
    "mark",
    "connmark",
    "length",
    "ttl",
    "pkttype",
    "mac",
    "dscp",
    "tos",
    "tcpmss",
    "devgroup",
    "hashlimit",
    "sctp",
    "string",
    "time",
    "recent",
    "set",
    "connlimit",
    "helper",
    "owner",
    "policy",
    "physdev",
    "rpfilter",
    "socket",
];

/// Match modules iptables 1.8.9 ships for IPv4 that are not modelled here: `-m NAME` says
/// so, where a name iptables does not know either gets iptables' own error.
pub(crate) const OTHER_MATCHES: &[&str] = &[
    "ah",
    "bpf",
    "cgroup",
    "cluster",
    "connbytes",
    "connlabel",
    "cpu",
    "dccp",
    "ecn",
    "esp",
    "ipcomp",
    "ipvs",
    "nfacct",
    "osf",
    "quota",
    "rateest",
    "realm",
    "u32",
];

/// Targets that are extensions (the rest of `-j NAME` is a standard verdict or a chain).
pub(crate) const TARGETS: &[&str] = &[
    "REJECT",
    "LOG",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "NETMAP",
    "TCPMSS",
    "MARK",
    "CONNMARK",
    "TTL",
    "DSCP",
    "TOS",
    "CHECKSUM",
    "CT",
    "NOTRACK",
    "NFLOG",
    "NFQUEUE",
    "TPROXY",
];

/// A match being read: its module, the options seen so far, the value.
#[derive(Debug)]
pub(crate) struct MatchBuilder {
    pub name: &'static str,
    pub(super) seen: Vec<&'static str>,
    pub m: Match,
}

impl MatchBuilder {
    pub fn new(name: &'static str) -> MatchBuilder {
        let m = match name {
            "tcp" | "udp" => {
                let p = PortMatch {
                    sport: Ports::ANY,
                    dport: Ports::ANY,
                    flags: None,
                    option: None,
                };
                if name == "tcp" {
                    Match::Tcp(p)
                } else {
                    Match::Udp(p)
                }
            }
            "icmp" => Match::Icmp(IcmpMatch {
                typ: 0xFF,
                code_lo: 0,
                code_hi: 0xFF,
                inv: false,
            }),
            "icmp6" => Match::Icmp6(IcmpMatch {
                typ: 0xFF,
                code_lo: 0,
                code_hi: 0xFF,
                inv: false,
            }),
            "conntrack" | "state" => Match::Conntrack(Box::new(CtMatch {
                state_alias: name == "state",
                ..CtMatch::default()
            })),
            "addrtype" => Match::AddrType(AddrTypeMatch::default()),
            "iprange" => Match::IpRange(IpRangeMatch::default()),
            "multiport" => Match::Multiport(MultiportMatch {
                kind: MultiportKind::Destination,
                ports: Vec::new(),
                inv: false,
            }),
            "limit" => Match::Limit(LimitMatch::new(10_000 * 3600 / 3, 5)),
            "statistic" => Match::Statistic(StatMatch {
                mode: StatMode::Nth {
                    every: u32::MAX,
                    packet: 0,
                    count: 0,
                },
                inv: false,
            }),
            "mark" | "connmark" => {
                let m = MarkMatch {
                    mark: 0,
                    mask: u32::MAX,
                    inv: false,
                };
                if name == "mark" {
                    Match::Mark(m)
                } else {
                    Match::ConnMark(m)
                }
            }
            n if super::ext_hdr::HDR_MATCHES.contains(&n) => {
                Match::Hdr(super::ext_hdr::HdrMatch::new(n))
            }
            n if super::ext_state::NAMES.contains(&n) => {
                super::ext_state::new_match(n).map_or(Match::Comment(String::new()), Match::State)
            }
            _ => Match::Comment(String::new()),
        };
        MatchBuilder {
            name,
            seen: Vec::new(),
            m,
        }
    }

    /// Every long option of the module, and whether it is modelled here.
    pub fn names(&self) -> impl Iterator<Item = (&'static str, bool)> + use<> {
        let modelled = match_options(self.name).iter().map(|o| (o.0, true));
        let other = match_options_elsewhere(self.name)
            .iter()
            .map(|&n| (n, false));
        modelled.chain(other)
    }
}

/// Marks `opt` seen, refusing a repeat or an unsupported `!` as `xtables_option_parse` does.
pub(super) fn once(
    p: &Prog,
    ext: &str,
    seen: &mut Vec<&'static str>,
    opt: &'static str,
    inv: bool,
    inv_ok: bool,
) -> Res<()> {
    if seen.contains(&opt) {
        // Named by the option table's first entry of that id (`--source-port` in udp's).
        let first = match (ext, opt) {
            ("udp", "sport") => "source-port",
            ("udp", "dport") => "destination-port",
            _ => opt,
        };
        return Err(p.param(
            format!("{ext}: option \"--{first}\" can only be used once.\n"),
            Some(opt),
        ));
    }
    if inv && !inv_ok {
        return Err(p.param(
            format!("{ext}: option \"--{opt}\" cannot be inverted.\n"),
            Some(opt),
        ));
    }
    seen.push(opt);
    Ok(())
}

/// The checks each module makes when the line has been read.
pub(crate) fn final_check(p: &Prog, b: &MatchBuilder) -> Res<()> {
    let need = |msg: &str| Err(p.param(msg.to_string(), Some(b.name)));
    match &b.m {
        Match::Conntrack(c) if c.state_alias && c.state.is_none() => {
            need("You must specify \"--state\"")
        }
        Match::Conntrack(_) if b.seen.is_empty() => {
            need("conntrack: At least one option is required")
        }
        Match::AddrType(a) if a.src.is_none() && a.dst.is_none() => {
            need("addrtype: you must specify --src-type or --dst-type")
        }
        Match::IpRange(_) if b.seen.is_empty() => {
            need("iprange match: You must specify `--src-range' or `--dst-range'")
        }
        Match::Multiport(_) if b.seen.is_empty() => need("multiport expects an option"),
        Match::Comment(_) if b.seen.is_empty() => {
            need("comment: option \"--comment\" must be specified")
        }
        Match::Mark(_) | Match::ConnMark(_) if b.seen.is_empty() => Err(p.param(
            format!("{}: option \"--mark\" must be specified\n", b.name),
            Some(b.name),
        )),
        Match::Statistic(s) => match s.mode {
            _ if !b.seen.contains(&"mode") => {
                need("statistic: option \"--mode\" must be specified")
            }
            StatMode::Nth {
                every: u32::MAX, ..
            } => need("--every must be specified in nth mode"),
            StatMode::Nth { every, packet, .. } if packet > every => {
                need("--packet can't be bigger than --every")
            }
            StatMode::Random {
                probability: u32::MAX,
                ..
            } => need("--probability must be specified in random mode"),
            _ => Ok(()),
        },
        Match::Hdr(h) => h.final_check(p, &b.seen),
        Match::State(s) => super::ext_state::final_check(p, s, &b.seen),
        _ => Ok(()),
    }
}
