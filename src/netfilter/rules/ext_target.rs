//! The target extensions: REJECT, LOG, the NAT targets, TCPMSS, MARK and CONNMARK, and
//! their options.

use smoltcp::wire::{IpAddress, Ipv4Address, Ipv6Address};

use super::Prog;
use super::model::{ConnMarkMode, ConnMarkTarget, LogSpec, MarkTarget, NatSpec, Target};
use super::names::{LOG_LEVELS, REJECT_TYPES, REJECT_TYPES6};
use super::parse::{Args, Res};
use super::parse_ext::once;
use super::values::{parse_ipv4, parse_mark_mask, parse_u32};
use crate::netfilter::packet::{NatAction, RejectWith};
use crate::netfilter::tcpmss::TcpMss;

/// `--set-mss` at most, as libxt_TCPMSS bounds it (65535 less an IPv4 header).
const MAX_SET_MSS: u16 = 65515;

fn target_options(name: &str) -> &'static [(&'static str, u8)] {
    match name {
        "REJECT" => &[("reject-with", 1)],
        "LOG" => &[
            ("log-level", 1),
            ("log-prefix", 1),
            ("log-tcp-sequence", 0),
            ("log-tcp-options", 0),
            ("log-ip-options", 0),
            ("log-uid", 0),
            ("log-macdecode", 0),
        ],
        "DNAT" => &[("to-destination", 1), ("random", 0), ("persistent", 0)],
        "SNAT" => &[
            ("to-source", 1),
            ("random", 0),
            ("random-fully", 0),
            ("persistent", 0),
        ],
        "MASQUERADE" => &[("to-ports", 1), ("random", 0), ("random-fully", 0)],
        "REDIRECT" => &[("to-ports", 1), ("random", 0)],
        "NETMAP" => &[("to", 1)],
        "TCPMSS" => &[("set-mss", 1), ("clamp-mss-to-pmtu", 0)],
        "MARK" => &[
            ("set-xmark", 1),
            ("set-mark", 1),
            ("and-mark", 1),
            ("or-mark", 1),
            ("xor-mark", 1),
        ],
        "CONNMARK" => &[
            ("set-xmark", 1),
            ("set-mark", 1),
            ("and-mark", 1),
            ("or-mark", 1),
            ("xor-mark", 1),
            ("save-mark", 0),
            ("restore-mark", 0),
            ("left-shift-mark", 1),
            ("right-shift-mark", 1),
            ("ctmask", 1),
            ("nfmask", 1),
            ("mask", 1),
        ],
        n if super::ext_state::TARGET_NAMES.contains(&n) => super::ext_state::target_options(n),
        _ => super::ext_hdr::target_options(name),
    }
}

/// The options' exclusions (`xt_option_entry.excl`), in option table order: name, id, the
/// ids it excludes. Checked when the line is read (`xtables_options_fcheck`).
fn exclusions(name: &str) -> &'static [(&'static str, u8, u16)] {
    // libxt_MARK: O_SET_MARK 0, O_AND_MARK 1, O_OR_MARK 2, O_XOR_MARK 3, O_SET_XMARK 4.
    const MARK_ANY: u16 = 0x1F;
    // libxt_CONNMARK: set-mark 0, save 1, restore 2, and 3, or 4, xor 5, set-xmark 8,
    // ctmask 9, nfmask 10, mask 11.
    const CT_OP: u16 = 0x13F;
    match name {
        "MARK" => &[
            ("set-xmark", 4, MARK_ANY),
            ("set-mark", 0, MARK_ANY),
            ("and-mark", 1, MARK_ANY),
            ("or-mark", 2, MARK_ANY),
            ("xor-mark", 3, MARK_ANY),
        ],
        "CONNMARK" => &[
            ("set-xmark", 8, CT_OP),
            ("set-mark", 0, CT_OP),
            ("and-mark", 3, CT_OP),
            ("or-mark", 4, CT_OP),
            ("xor-mark", 5, CT_OP),
            ("save-mark", 1, CT_OP),
            ("restore-mark", 2, CT_OP),
            ("ctmask", 9, 1 << 11),
            ("nfmask", 10, 1 << 11),
            ("mask", 11, (1 << 9) | (1 << 10)),
        ],
        _ => &[],
    }
}

/// A target being read.
#[derive(Debug)]
pub(crate) struct TargetBuilder {
    pub name: &'static str,
    seen: Vec<&'static str>,
    pub target: Target,
}

impl TargetBuilder {
    /// `name`'s target with its defaults (`v6`: ip6tables').
    pub fn new(name: &'static str, v6: bool) -> TargetBuilder {
        let nat = |action| {
            Target::Nat(NatSpec {
                action,
                random: false,
                random_fully: false,
                persistent: false,
            })
        };
        let unspec = IpAddress::Ipv4(Ipv4Address::UNSPECIFIED);
        let any = (unspec, unspec);
        let target = match name {
            "REJECT" if v6 => Target::Reject(RejectWith::Icmp6Unreachable(4)),
            "REJECT" => Target::Reject(RejectWith::IcmpPortUnreachable),
            "LOG" => Target::Log(LogSpec {
                level: 4,
                prefix: String::new(),
                flags: 0,
            }),
            "DNAT" => nat(NatAction::Dnat {
                addrs: any,
                ports: None,
            }),
            "SNAT" => nat(NatAction::Snat {
                addrs: any,
                ports: None,
            }),
            "MASQUERADE" => nat(NatAction::Masquerade { ports: None }),
            "NETMAP" => nat(NatAction::Netmap {
                to: unspec,
                mask: 0,
            }),
            "TCPMSS" => Target::TcpMss(TcpMss::ClampToPmtu),
            "MARK" => Target::Mark(MarkTarget { xor: 0, mask: 0 }),
            "CONNMARK" => Target::ConnMark(ConnMarkTarget {
                mode: ConnMarkMode::Set,
                ctmark: 0,
                ctmask: u32::MAX,
                nfmask: u32::MAX,
                shift_right: false,
                shift_bits: 0,
            }),
            n if super::ext_hdr::HDR_TARGETS.contains(&n) => {
                Target::Hdr(super::ext_hdr::HdrTarget::new(n))
            }
            n if super::ext_state::TARGET_NAMES.contains(&n) => {
                Target::State(super::ext_state::new_target(n))
            }
            _ => nat(NatAction::Redirect { ports: None }),
        };
        TargetBuilder {
            name,
            seen: Vec::new(),
            target,
        }
    }

    /// Every long option of the target, and whether it is modelled here.
    pub fn names(&self) -> impl Iterator<Item = (&'static str, bool)> + use<> {
        target_options(self.name).iter().map(|o| (o.0, true))
    }

    /// Reads one option; `proto` is the rule's `-p` as given so far (NAT ports need one
    /// with ports, checked as the option is read, as libxt_NAT and libxt_REDIRECT do).
    pub fn parse(
        &mut self,
        p: &Prog,
        opt: &'static str,
        inv: bool,
        args: &mut Args,
        proto: Option<u8>,
    ) -> Res<()> {
        if let Target::State(t) = &mut self.target {
            return super::ext_state::parse_target_opt(p, t, &mut self.seen, opt, inv, args);
        }
        once(p, self.name, &mut self.seen, opt, inv, false)?;
        let ext = self.name;
        let markmask =
            |args: &mut Args| -> Res<(u32, u32)> { parse_mark_mask(p, ext, opt, args.value(p)?) };
        let uint32 = |args: &mut Args| -> Res<u32> {
            let v = args.value(p)?;
            parse_u32(v).ok_or_else(|| {
                p.param(
                    format!(
                        "{ext}: bad value for option \"--{opt}\", or out of range (0-4294967295).\n"
                    ),
                    Some(v),
                )
            })
        };
        // MARK's and CONNMARK's --set-xmark, --set-mark, --and-mark, --or-mark and
        // --xor-mark, as the (value, mask) pair the kernel applies: `new = (old & !mask) ^ value`.
        let set_op = |args: &mut Args| -> Res<(u32, u32)> {
            Ok(match opt {
                "set-xmark" => markmask(args)?,
                "set-mark" => {
                    let (v, mask) = markmask(args)?;
                    (v, v | mask)
                }
                "and-mark" => (0, !uint32(args)?),
                "or-mark" => {
                    let v = uint32(args)?;
                    (v, v)
                }
                _ => (uint32(args)?, 0),
            })
        };
        match &mut self.target {
            // `mark_tg_parse` (revision 2).
            Target::Mark(m) => (m.xor, m.mask) = set_op(args)?,
            // `connmark_tg_parse_v2`.
            Target::ConnMark(c) => match opt {
                "save-mark" => c.mode = ConnMarkMode::Save,
                "restore-mark" => c.mode = ConnMarkMode::Restore,
                "ctmask" => c.ctmask = uint32(args)?,
                "nfmask" => c.nfmask = uint32(args)?,
                "mask" => {
                    let v = uint32(args)?;
                    (c.ctmask, c.nfmask) = (v, v);
                }
                "left-shift-mark" | "right-shift-mark" => {
                    let v = args.value(p)?;
                    let n = parse_u32(v).filter(|&n| n <= 32).ok_or_else(|| {
                        p.param(
                            format!(
                                "{ext}: bad value for option \"--{opt}\", or out of range (0-32).\n"
                            ),
                            Some(v),
                        )
                    })?;
                    c.shift_right = opt == "right-shift-mark";
                    c.shift_bits = n as u8;
                }
                _ => {
                    c.mode = ConnMarkMode::Set;
                    (c.ctmark, c.ctmask) = set_op(args)?;
                }
            },
            Target::Reject(with) => {
                let v = args.value(p)?;
                let names = if p.v6 { REJECT_TYPES6 } else { REJECT_TYPES };
                *with = names
                    .iter()
                    .find(|r| r.0 == v || r.1 == v)
                    .map(|r| r.2)
                    .ok_or_else(|| p.param(format!("unknown reject type \"{v}\""), Some(v)))?;
            }
            Target::Log(l) => match opt {
                "log-level" => {
                    let v = args.value(p)?;
                    // `xtopt_parse_sysloglevel`: a number in C's bases up to 7, or a name.
                    l.level = match parse_u32(v) {
                        Some(n) if n <= 7 => n as u8,
                        _ => LOG_LEVELS
                            .iter()
                            .find(|x| x.0 == v)
                            .map(|x| x.1)
                            .ok_or_else(|| {
                                p.param(format!("log level \"{v}\" unknown\n"), Some(v))
                            })?,
                    };
                }
                "log-prefix" => {
                    let v = args.value(p)?;
                    if v.len() > 29 {
                        return Err(p.param("Maximum prefix length 29 for --log-prefix", Some(v)));
                    }
                    if v.contains('\n') {
                        return Err(p.param("Newlines not allowed in --log-prefix", Some(v)));
                    }
                    l.prefix = v.to_string();
                }
                "log-tcp-sequence" => l.flags |= 0x01,
                "log-tcp-options" => l.flags |= 0x02,
                "log-ip-options" => l.flags |= 0x04,
                "log-uid" => l.flags |= 0x08,
                _ => l.flags |= 0x20,
            },
            // The options are not exclusive: the last one given wins, as in libxt_TCPMSS.
            Target::TcpMss(t) => match opt {
                "clamp-mss-to-pmtu" => *t = TcpMss::ClampToPmtu,
                _ => {
                    let v = args.value(p)?;
                    let n = v.parse::<u16>().ok().filter(|&n| n <= MAX_SET_MSS);
                    *t = TcpMss::Set(n.ok_or_else(|| {
                        p.param(
                            format!(
                                "TCPMSS: bad value for option \"--set-mss\", or out of range \
                                 (0-{MAX_SET_MSS}).\n"
                            ),
                            Some(v),
                        )
                    })?);
                }
            },
            Target::Nat(n) => match opt {
                "random" => n.random = true,
                "random-fully" => n.random_fully = true,
                "persistent" => n.persistent = true,
                _ => {
                    let v = args.value(p)?;
                    // TCP, UDP, SCTP, DCCP and (accepted, though it has no ports) ICMP.
                    let portok = matches!(proto, Some(6 | 17 | 132 | 33 | 1));
                    // An IPv6 address has colons of its own: its port follows a bracket.
                    let has_port = match p.v6 {
                        true => v.rfind(']').is_some_and(|e| v[e + 1..].starts_with(':')),
                        false => v.contains(':'),
                    };
                    let ports = opt == "to-ports" || opt != "to" && has_port;
                    if ports && !portok {
                        return Err(p.param(
                            "Need TCP, UDP, SCTP or DCCP with port specification",
                            Some(v),
                        ));
                    }
                    n.action = match n.action {
                        NatAction::Dnat { .. } => {
                            let (addrs, ports) = nat_range(p, v)?;
                            NatAction::Dnat { addrs, ports }
                        }
                        NatAction::Snat { .. } => {
                            let (addrs, ports) = nat_range(p, v)?;
                            NatAction::Snat { addrs, ports }
                        }
                        NatAction::Masquerade { .. } => NatAction::Masquerade {
                            ports: Some(port_range(p, v)?),
                        },
                        NatAction::Redirect { .. } => NatAction::Redirect {
                            ports: Some(port_range(p, v)?),
                        },
                        NatAction::Netmap { .. } => netmap_to(p, v)?,
                    };
                }
            },
            Target::Hdr(h) => h.parse(p, opt, args)?,
            _ => {}
        }
        Ok(())
    }

    pub fn final_check(&self, p: &Prog) -> Res<()> {
        match self.name {
            "DNAT" if !self.seen.contains(&"to-destination") => {
                Err(p.param("You must specify --to-destination", None))
            }
            "SNAT" if !self.seen.contains(&"to-source") => {
                Err(p.param("You must specify --to-source", None))
            }
            "NETMAP" if self.seen.is_empty() => {
                Err(p.param("NETMAP: option \"--to\" must be specified\n", None))
            }
            "TCPMSS" if self.seen.is_empty() => {
                Err(p.param("TCPMSS target: At least one parameter is required", None))
            }
            "MARK" if self.seen.is_empty() => Err(p.param(
                "MARK: One of the --set-xmark, --{and,or,xor,set}-mark options is required",
                None,
            )),
            "CONNMARK"
                if !self
                    .seen
                    .iter()
                    .any(|o| !o.ends_with("mask") && !o.ends_with("shift-mark")) =>
            {
                Err(p.param("CONNMARK target: No operation specified", None))
            }
            n if super::ext_state::TARGET_NAMES.contains(&n) => {
                super::ext_state::target_final_check(p, &self.target, &self.seen)
            }
            _ if let Target::Hdr(h) = &self.target => h.final_check(p, &self.seen),
            _ => self.check_exclusions(p),
        }
    }

    /// `xtables_options_fcheck`: the first option (in table order) given with one it
    /// excludes names the lowest-numbered such option.
    fn check_exclusions(&self, p: &Prog) -> Res<()> {
        let table = exclusions(self.name);
        let given: u16 = table
            .iter()
            .filter(|o| self.seen.contains(&o.0))
            .fold(0, |acc, o| acc | 1 << o.1);
        for &(name, id, excl) in table {
            let clash = excl & given & !(1 << id);
            if given & (1 << id) == 0 || clash == 0 {
                continue;
            }
            let other = clash.trailing_zeros() as u8;
            let other = table.iter().find(|o| o.1 == other).map_or("", |o| o.0);
            return Err(p.param(
                format!(
                    "{}: option \"--{name}\" cannot be used together with \"--{other}\".\n",
                    self.name
                ),
                None,
            ));
        }
        Ok(())
    }
}

/// `A[-B]` as `--to-ports` takes it.
fn port_range(p: &Prog, v: &str) -> Res<(u16, u16)> {
    let bad = || p.param(format!("Port \"{v}\" not valid\n"), Some(v));
    let (a, z) = v.split_once('-').unwrap_or((v, v));
    let lo: u16 = a.parse().map_err(|_| bad())?;
    let hi: u16 = z.parse().map_err(|_| bad())?;
    if lo == 0 || hi < lo {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// NETMAP's `--to ADDR[/MASK]` (`XTTYPE_HOSTMASK`): the address masked, as `NETMAP_parse`
/// stores it. A prefix is a number in C's bases; one above 32, like a dotted mask that is
/// not a prefix, leaves all 32 bits, as libxtables does.
fn netmap_to(p: &Prog, v: &str) -> Res<NatAction> {
    let (a, m) = match v.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (v, None),
    };
    if p.v6 {
        let addr = a
            .parse::<Ipv6Address>()
            .map_err(|_| p.param("getaddrinfo: Name or service not known\n", Some(v)))?;
        let len = match m {
            None => 128,
            Some(m) => parse_u32(m).filter(|&n| n <= 128).ok_or_else(|| {
                p.param(
                    "NETMAP: bad value for option \"--to\", neither a valid network mask \
                         nor valid CIDR (0-128).\n",
                    Some(v),
                )
            })?,
        };
        let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
        return Ok(NatAction::Netmap {
            to: IpAddress::Ipv6(Ipv6Address::from_bits(addr.to_bits() & mask)),
            mask,
        });
    }
    let addr = parse_ipv4(a)
        .or_else(|| super::names::host_by_name(a))
        .ok_or_else(|| p.param("getaddrinfo: Name or service not known\n", Some(v)))?;
    let bad = || {
        p.param(
            "NETMAP: bad value for option \"--to\", neither a valid network mask nor valid \
             CIDR (0-32).\n",
            Some(v),
        )
    };
    let bits = match m {
        None => 32,
        Some(m) if m.contains('.') => {
            let mask = parse_ipv4(m).ok_or_else(bad)?;
            match mask.leading_ones() + mask.trailing_zeros() {
                32 => mask.leading_ones(),
                _ => 32,
            }
        }
        Some(m) => parse_u32(m).ok_or_else(bad)?.min(32),
    };
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    Ok(NatAction::Netmap {
        to: IpAddress::Ipv4(Ipv4Address::from_bits(addr & mask)),
        mask: mask.into(),
    })
}

type NatRange = ((IpAddress, IpAddress), Option<(u16, u16)>);

/// `A[-B][:P[-Q]]` as `--to-destination`/`--to-source` take it; for IPv6 the addresses in
/// brackets when ports follow (`[A]-[B]:P`), as libxt_NAT's `parse_to` reads them.
fn nat_range(p: &Prog, v: &str) -> Res<NatRange> {
    if p.v6 {
        return nat_range6(p, v);
    }
    let (addrs, ports) = match v.split_once(':') {
        Some((a, ports)) => (a, Some(port_range(p, ports)?)),
        None => (v, None),
    };
    let bad = || p.param(format!("Bad IP address \"{addrs}\"\n"), Some(v));
    let (a, z) = addrs.split_once('-').unwrap_or((addrs, addrs));
    let lo = parse_ipv4(a).ok_or_else(bad)?;
    let hi = parse_ipv4(z).ok_or_else(bad)?;
    Ok((
        (
            IpAddress::Ipv4(Ipv4Address::from_bits(lo)),
            IpAddress::Ipv4(Ipv4Address::from_bits(hi)),
        ),
        ports,
    ))
}

fn nat_range6(p: &Prog, v: &str) -> Res<NatRange> {
    let bad = |what: &str| p.param(format!("Bad IP address \"{what}\""), Some(v));
    // `[A]...:P`: the port after the last bracket; a bare address has no port.
    let (addrs, ports) = match v.rfind(']') {
        Some(end) => match &v[end + 1..] {
            "" => (&v[..=end], None),
            rest => match rest.strip_prefix(':') {
                Some(ports) => (&v[..=end], Some(port_range(p, ports)?)),
                None => return Err(bad(v)),
            },
        },
        None => (v, None),
    };
    let addr = |s: &str| {
        let s = s
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .unwrap_or(s);
        s.parse::<Ipv6Address>().map_err(|_| bad(s))
    };
    let (lo, hi) = match addrs.split_once('-') {
        Some((a, z)) => (addr(a)?, addr(z)?),
        None if addrs.is_empty() => return Err(bad(v)),
        None => {
            let a = addr(addrs)?;
            (a, a)
        }
    };
    Ok(((IpAddress::Ipv6(lo), IpAddress::Ipv6(hi)), ports))
}

#[cfg(test)]
#[path = "tcpmss_tests.rs"]
mod tcpmss_tests;

#[cfg(test)]
#[path = "mark_tests.rs"]
mod mark_tests;
