//! The options of the command line proper (commands, `-s -d -i -o -p -f -j -g -m -t`, the
//! listing flags, `-c`, `-w`), as `do_parse` handles each.

use super::Prog;
use super::model::Counters;
use super::parse::{Args, Res, State, cmd};
use super::parse_ext::{MATCHES, MatchBuilder, OTHER_MATCHES};
use super::parse_finish::check_new_chain;
use super::values::{parse_iface, parse_net, parse_proto};
use crate::netfilter::packet::Table;

/// Option bits, in `optflags` order: n s d p j v x i o 0 c f.
pub(super) mod opt {
    pub const FLAGS: &[u8; 12] = b"nsdpjvxio0cf";
    pub const N: u16 = 1;
    pub const S: u16 = 1 << 1;
    pub const D: u16 = 1 << 2;
    pub const P: u16 = 1 << 3;
    pub const J: u16 = 1 << 4;
    pub const V: u16 = 1 << 5;
    pub const X: u16 = 1 << 6;
    pub const I: u16 = 1 << 7;
    pub const O: u16 = 1 << 8;
    pub const LINE: u16 = 1 << 9;
    pub const C: u16 = 1 << 10;
    pub const F: u16 = 1 << 11;
    /// `commands_v_options`: per command (bit order), the options it forbids.
    pub const ILLEGAL: [u16; 15] = [
        N | X | LINE,
        N | X | LINE | C,
        !V & 0xFFF,
        N | X | LINE,
        N | X | LINE,
        S | D | P | J | I | O | C | F,
        !V & 0xFFF,
        !V & 0xFFF,
        !V & 0xFFF,
        !V & 0xFFF,
        !(V | C) & 0xFFF,
        !V & 0xFFF,
        !V & 0xFFF,
        !V & 0xFFF,
        N | X | LINE | C,
    ];
}

impl State {
    pub(super) fn set_option(&mut self, p: &Prog, bit: u16, invert: bool, tok: &str) -> Res<()> {
        let i = bit.trailing_zeros() as usize;
        let ch = opt::FLAGS[i] as char;
        if self.options & bit != 0 {
            return Err(p.param(format!("multiple -{ch} flags not allowed"), Some(tok)));
        }
        self.options |= bit;
        if invert && bit & (opt::S | opt::D | opt::P | opt::I | opt::O | opt::F) == 0 {
            return Err(p.param(format!("cannot have ! before -{ch}"), Some(tok)));
        }
        Ok(())
    }

    pub(super) fn add_command(
        &mut self,
        p: &Prog,
        new: u16,
        others: u16,
        invert: bool,
        tok: &str,
    ) -> Res<()> {
        if invert {
            return Err(p.param("unexpected '!' flag", Some(tok)));
        }
        if self.c.command & !others != 0 {
            let old = self.c.command & !others;
            let ch = |b: u16| cmd::CHARS[b.trailing_zeros() as usize] as char;
            return Err(p.param(
                format!("Cannot use -{} with -{}\n", ch(new), ch(old)),
                Some(tok),
            ));
        }
        self.c.command |= new;
        Ok(())
    }

    fn rulenum(p: &Prog, v: &str) -> Res<usize> {
        v.parse::<usize>()
            .ok()
            .filter(|&n| n >= 1 && n <= i32::MAX as usize)
            .ok_or_else(|| p.param(format!("Invalid rule number `{v}'"), Some(v)))
    }

    pub(super) fn option<'b>(
        &mut self,
        p: &Prog,
        c: char,
        inv: bool,
        a: &mut Args<'b>,
        restore: bool,
    ) -> Res<()> {
        let tok = a.opt_token;
        let optional =
            |a: &mut Args<'b>| a.inline.take().or_else(|| a.next_arg()).map(str::to_string);
        match c {
            'A' | 'C' | 'N' => {
                let bit = match c {
                    'A' => cmd::APPEND,
                    'C' => cmd::CHECK,
                    _ => cmd::NEW_CHAIN,
                };
                let chain = a.value(p)?.to_string();
                if c == 'N' {
                    check_new_chain(p, &chain)?;
                }
                self.add_command(p, bit, 0, inv, tok)?;
                self.c.chain = Some(chain);
            }
            'D' | 'I' | 'R' => {
                let chain = a.value(p)?.to_string();
                let bit = [cmd::DELETE, cmd::INSERT, cmd::REPLACE]["DIR".find(c).unwrap_or(0)];
                self.add_command(p, bit, 0, inv, tok)?;
                self.c.chain = Some(chain);
                match (c, a.next_arg()) {
                    ('D', Some(n)) => {
                        self.c.rulenum = Some(Self::rulenum(p, n)?);
                        self.c.command = cmd::DELETE_NUM;
                    }
                    ('I', n) => self.c.rulenum = Some(n.map_or(Ok(1), |n| Self::rulenum(p, n))?),
                    ('R', Some(n)) => self.c.rulenum = Some(Self::rulenum(p, n)?),
                    ('R', None) => return Err(p.param("-R requires a rule number", Some(tok))),
                    _ => {}
                }
            }
            'L' | 'S' | 'Z' => {
                let (bit, others) = match c {
                    'L' => (cmd::LIST, cmd::ZERO | cmd::ZERO_NUM),
                    'S' => (cmd::LIST_RULES, cmd::ZERO | cmd::ZERO_NUM),
                    _ => (cmd::ZERO, cmd::LIST | cmd::LIST_RULES),
                };
                self.add_command(p, bit, others, inv, tok)?;
                if let Some(chain) = optional(a) {
                    self.c.chain = Some(chain);
                }
                if let Some(n) = a.next_arg() {
                    self.c.rulenum = Some(Self::rulenum(p, n)?);
                    if c == 'Z' {
                        self.c.command = self.c.command & !cmd::ZERO | cmd::ZERO_NUM;
                    }
                }
            }
            'F' | 'X' => {
                let bit = if c == 'F' {
                    cmd::FLUSH
                } else {
                    cmd::DELETE_CHAIN
                };
                self.add_command(p, bit, 0, inv, tok)?;
                self.c.chain = optional(a);
            }
            'E' | 'P' => {
                let chain = a.value(p)?.to_string();
                let bit = if c == 'E' {
                    cmd::RENAME
                } else {
                    cmd::SET_POLICY
                };
                self.add_command(p, bit, 0, inv, tok)?;
                let second = a.next_arg().map(str::to_string);
                let Some(second) = second else {
                    return Err(p.param(
                        if c == 'E' {
                            "-E requires old-chain-name and new-chain-name"
                        } else {
                            "-P requires a chain and a policy"
                        },
                        Some(tok),
                    ));
                };
                self.c.chain = Some(chain);
                if c == 'E' {
                    self.c.newname = Some(second);
                } else {
                    self.c.policy = Some(second);
                }
            }
            'p' => {
                self.set_option(p, opt::P, inv, tok)?;
                let v = a.value(p)?;
                let proto = parse_proto(p, v)?;
                if proto == 0 && inv {
                    return Err(p.param("rule would never match protocol", Some(v)));
                }
                self.c.rule.ip.proto = proto;
                self.c.rule.ip.proto_inv = inv;
                self.protocol = Some(proto);
            }
            's' | 'd' => {
                self.set_option(p, if c == 's' { opt::S } else { opt::D }, inv, tok)?;
                let v = a.value(p)?;
                intrapositioned(p, v, a)?;
                let nets = parse_net(p, v)?;
                if c == 's' {
                    self.c.rule.srcs = nets;
                    self.c.rule.ip.src_inv = inv;
                } else {
                    self.c.rule.dsts = nets;
                    self.c.rule.ip.dst_inv = inv;
                }
            }
            'i' | 'o' => {
                self.set_option(p, if c == 'i' { opt::I } else { opt::O }, inv, tok)?;
                let v = a.value(p)?;
                intrapositioned(p, v, a)?;
                let iface = parse_iface(p, v)?;
                if c == 'i' {
                    (self.c.rule.ip.iniface, self.c.rule.ip.in_inv) = (Some(iface), inv);
                } else {
                    (self.c.rule.ip.outiface, self.c.rule.ip.out_inv) = (Some(iface), inv);
                }
            }
            'f' if p.v6 => {
                return Err(p.param(
                    "`-f' is not supported in IPv6, use -m frag instead",
                    Some(tok),
                ));
            }
            'f' => {
                self.set_option(p, opt::F, inv, tok)?;
                (self.c.rule.ip.frag, self.c.rule.ip.frag_inv) = (true, inv);
            }
            'j' | 'g' => {
                self.set_option(p, opt::J, inv, tok)?;
                let name = a.value(p)?;
                self.jump(p, name, c == 'g')?;
            }
            'm' => {
                if inv {
                    return Err(p.param("unexpected ! flag before --match", Some(tok)));
                }
                let name = a.value(p)?;
                super::parse_ext::family_has_match(p, name)?;
                let Some(&known) = MATCHES.iter().find(|&&m| m == name) else {
                    if OTHER_MATCHES.contains(&name) {
                        return Err(p.not_modelled("match", name));
                    }
                    return Err(p.param(
                        format!("Couldn't load match `{name}':No such file or directory\n"),
                        Some(name),
                    ));
                };
                self.matches.push(MatchBuilder::new(known));
            }
            't' => {
                if inv {
                    return Err(p.param("unexpected ! flag before --table", Some(tok)));
                }
                if restore {
                    return Err(p.param(
                        "The -t option cannot be used in iptables-restore.\n",
                        Some(tok),
                    ));
                }
                let v = a.value(p)?;
                self.c.table = Table::parse(v).ok_or_else(|| p.no_table(v))?;
            }
            'n' => {
                self.set_option(p, opt::N, inv, tok)?;
                self.c.numeric = true;
            }
            'v' => {
                if !self.c.verbose {
                    self.set_option(p, opt::V, inv, tok)?;
                }
                self.c.verbose = true;
            }
            'x' => {
                self.set_option(p, opt::X, inv, tok)?;
                self.c.exact = true;
            }
            '0' => {
                self.set_option(p, opt::LINE, inv, tok)?;
                self.c.line_numbers = true;
            }
            'c' => {
                self.set_option(p, opt::C, inv, tok)?;
                let v = a.value(p)?;
                let (pc, bc) = match v.split_once(',') {
                    Some((x, y)) => (x.to_string(), Some(y.to_string())),
                    None => (v.to_string(), a.next_arg().map(str::to_string)),
                };
                let bc =
                    bc.ok_or_else(|| p.param("-c requires packet and byte counter", Some(tok)))?;
                let num = |s: &str, what: &str| {
                    s.parse::<u64>()
                        .map_err(|_| p.param(format!("-c {what} counter not numeric"), Some(tok)))
                };
                self.c.counters = Some(Counters {
                    packets: num(&pc, "packet")?,
                    bytes: num(&bc, "byte")?,
                });
            }
            'w' | 'W' => {
                if restore {
                    return Err(p.param(
                        format!("You cannot use `-{c}' from iptables-restore"),
                        Some(tok),
                    ));
                }
                if let Some(v) = optional(a)
                    && c == 'w'
                    && v.parse::<i32>().is_err()
                {
                    return Err(p.param("wait seconds not numeric", Some(tok)));
                }
            }
            'V' => self.c.info = Some(format!("iptables v{} (nf_tables)\n", p.version)),
            'h' => self.c.info = Some(super::apply::usage(p)),
            'M' => {
                a.value(p)?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// `-s ! ADDR` (the old intrapositioned negation): iptables takes `!` as the address, and
/// the address that follows is a stray argument, reported before `!` is resolved.
fn intrapositioned(p: &Prog, v: &str, a: &mut Args) -> Res<()> {
    if v != "!" {
        return Ok(());
    }
    match a.next_arg() {
        Some(stray) if v == "!" => Err(p.bad_argument(stray)),
        _ => Ok(()),
    }
}
