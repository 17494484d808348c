//! The end of a command line: `-j`/`-g` targets, extension options (including the protocol
//! match `-p` loads on demand), and the checks iptables makes once everything is read.

use super::Prog;
use super::matches::Net;
use super::model::Target;
use super::options::opt;
use super::parse::{Args, Command, Hit, LONG, Owner, Res, State, TargetSpec, cmd};
use super::parse_ext::{
    MATCHES, MatchBuilder, TARGETS, TargetBuilder, canon_option, final_check, parse_match_opt,
};
use crate::netfilter::packet::Table;

impl State {
    pub(super) fn jump(&mut self, p: &Prog, name: &str, goto: bool) -> Res<()> {
        if name.is_empty() {
            return Err(p.param("Invalid target name (too short)", Some(name)));
        }
        if name.len() >= 29 {
            return Err(p.param(
                format!("Invalid target name `{name}' (28 chars max)"),
                Some(name),
            ));
        }
        if name.contains(char::is_whitespace) {
            return Err(p.param(format!("Invalid target name `{name}'"), Some(name)));
        }
        self.jumpto = Some(name.to_string());
        super::parse_ext::family_has_target(p, name)?;
        self.c.rule.target = match name {
            "ACCEPT" => TargetSpec::Builtin(Target::Accept),
            "DROP" => TargetSpec::Builtin(Target::Drop),
            "RETURN" => TargetSpec::Builtin(Target::Return),
            "QUEUE" => TargetSpec::Builtin(Target::Queue),
            _ if goto => TargetSpec::Goto(name.to_string()),
            _ if super::apply::OTHER_TARGETS.contains(&name) => {
                return Err(p.not_modelled("target", name));
            }
            _ => match TARGETS.iter().find(|&&t| t == name) {
                Some(&t) => {
                    self.target = Some(TargetBuilder::new(t, p.v6));
                    self.target_at = self.matches.len();
                    TargetSpec::None
                }
                None => TargetSpec::Chain(name.to_string()),
            },
        };
        Ok(())
    }

    /// Reads a module's option that `resolve` found; one that exists in iptables but not
    /// here is an unknown option.
    pub(super) fn extension(
        &mut self,
        p: &Prog,
        owner: Owner,
        opt: Option<&'static str>,
        inv: bool,
        a: &mut Args,
    ) -> Res<()> {
        let unknown = || {
            p.param(
                format!("unknown option \"{}\"", a.opt_token),
                Some(a.opt_token),
            )
        };
        let Some(opt) = opt else {
            return Err(unknown());
        };
        match owner {
            Owner::Target => match &mut self.target {
                Some(t) => t.parse(p, opt, inv, a, self.protocol),
                None => Err(unknown()),
            },
            Owner::Match(i) => parse_match_opt(p, &mut self.matches[i], opt, inv, a, self.protocol),
        }
    }

    /// The protocol's match (`-p tcp`'s `tcp`), which `command_default` loads when an option
    /// is not resolved, unless it was loaded and used already.
    pub(super) fn proto_builder(&self, v6: bool) -> Option<MatchBuilder> {
        let pn = super::names::proto_to_name(self.protocol?, self.c.numeric)?;
        // libxtables loads `icmp6` for ICMPv6's names, and `icmp` is IPv4's alone.
        let pn = match (pn, v6) {
            ("ipv6-icmp" | "icmpv6" | "icmp6", true) => "icmp6",
            ("icmp", true) | ("icmp6", false) => return None,
            (pn, _) => pn,
        };
        let &pm = MATCHES
            .iter()
            .find(|&&m| m == pn && matches!(m, "tcp" | "udp" | "icmp" | "icmp6" | "sctp"))?;
        let loaded = self.matches.iter().any(|m| m.name == pm);
        (!loaded || !self.proto_used).then(|| MatchBuilder::new(pm))
    }

    /// The protocol's match iptables would load for `--name` (`-p dccp --dport 80`) when
    /// hoplab does not model it: a prefix of one of its options (`libxt_dccp`,
    /// `libxt_esp`, `libipt_ah`).
    pub(super) fn unmodelled_proto_match(&self, name: &str) -> Option<&'static str> {
        let pn = super::names::proto_to_name(self.protocol?, self.c.numeric)?;
        let ports: &[&str] = &["source-port", "sport", "destination-port", "dport"];
        let (m, opts): (&'static str, &[&str]) = match pn {
            "dccp" => ("dccp", &[ports, &["dccp-types", "dccp-option"]].concat()),
            "esp" => ("esp", &["espspi"]),
            "ah" => ("ah", &["ahspi"]),
            _ => return None,
        };
        opts.iter().any(|o| o.starts_with(name)).then_some(m)
    }

    /// `getopt_long` over the merged option table: iptables' own options, then the modules'
    /// newest first (`xtables_merge_options` puts a new module's before the older ones'),
    /// `extra` (a module about to be loaded) before all. The first exact name wins;
    /// otherwise a prefix must name one option (aliases such as `--sport` and
    /// `--source-port` are one), else getopt answers `?`: None.
    pub(super) fn resolve(&self, name: &str, extra: Option<&MatchBuilder>) -> Option<Hit> {
        if name.is_empty() {
            return None;
        }
        let mut cands: Vec<(&'static str, Hit, &'static str)> =
            LONG.iter().map(|&(n, c)| (n, Hit::Core(c), "")).collect();
        let mut module = |owner: Owner, opts: &mut dyn Iterator<Item = (&'static str, bool)>| {
            for (n, supported) in opts {
                let key = canon_option(n);
                cands.push((n, Hit::Ext(owner, supported.then_some(n)), key));
            }
        };
        let n = self.matches.len();
        if let Some(b) = extra {
            module(Owner::Match(n), &mut b.names());
        }
        for i in (0..n).rev() {
            if let Some(t) = &self.target
                && self.target_at == i + 1
            {
                module(Owner::Target, &mut t.names());
            }
            module(Owner::Match(i), &mut self.matches[i].names());
        }
        if let Some(t) = &self.target
            && self.target_at == 0
        {
            module(Owner::Target, &mut t.names());
        }
        if let Some(c) = cands.iter().find(|c| c.0 == name) {
            return Some(c.1);
        }
        let mut hits = cands.iter().filter(|c| c.0.starts_with(name));
        let first = hits.next()?;
        let same = |c: &&(&str, Hit, &str)| match (c.1, first.1) {
            (Hit::Core(a), Hit::Core(b)) => a == b,
            (Hit::Ext(a, _), Hit::Ext(b, _)) => a == b && c.2 == first.2,
            _ => false,
        };
        hits.all(|c| same(&c)).then_some(first.1)
    }

    pub(super) fn finish(mut self, p: &Prog, invert: bool) -> Res<Command> {
        if self.c.info.is_some() {
            return Ok(self.c);
        }
        if self.c.table == Table::Nat
            && (self.c.policy.as_deref() == Some("DROP") || self.jumpto.as_deref() == Some("DROP"))
        {
            return Err(p.param(
                "\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n",
                Some("DROP"),
            ));
        }
        for m in &self.matches {
            final_check(p, m)?;
        }
        if let Some(t) = &self.target {
            t.final_check(p)?;
            self.c.rule.target = TargetSpec::Builtin(t.target.clone());
        }
        self.c.rule.matches = self.matches.into_iter().map(|b| b.m).collect();
        if self.c.command == 0 {
            return Err(p.param("no command specified", None));
        }
        if invert {
            return Err(p.param("nothing appropriate following !", Some("!")));
        }
        let r = &mut self.c.rule;
        let any = if p.v6 { Net::ANY6 } else { Net::ANY };
        if r.srcs.is_empty() {
            r.srcs.push(any);
        }
        if r.dsts.is_empty() {
            r.dsts.push(any);
        }
        if self.c.command == cmd::REPLACE && (r.srcs.len() != 1 || r.dsts.len() != 1) {
            return Err(p.param("Replacement rule does not specify a unique address", None));
        }
        for i in 0..12 {
            let bit = 1u16 << i;
            if self.options & bit == 0 {
                continue;
            }
            let cmds = (0..15).filter(|j| self.c.command & (1 << j) != 0);
            let legal = cmds.clone().any(|j| opt::ILLEGAL[j] & bit == 0);
            if !legal {
                let ch = opt::FLAGS[i] as char;
                return Err(p.param(format!("Illegal option `-{ch}' with this command\n"), None));
            }
        }
        if let Some(chain) = &self.c.chain {
            if chain.len() >= 29 {
                return Err(p.param(
                    format!("chain name `{chain}' too long (must be under 29 chars)"),
                    Some(chain),
                ));
            }
            let rule_cmd = cmd::APPEND
                | cmd::DELETE
                | cmd::DELETE_NUM
                | cmd::CHECK
                | cmd::INSERT
                | cmd::REPLACE;
            if self.c.command & rule_cmd != 0 {
                let bad = match chain.as_str() {
                    "PREROUTING" | "INPUT" if self.options & opt::O != 0 => Some('o'),
                    "POSTROUTING" | "OUTPUT" if self.options & opt::I != 0 => Some('i'),
                    _ => None,
                };
                if let Some(ch) = bad {
                    return Err(p.param(format!("Can't use -{ch} with {chain}\n"), Some(chain)));
                }
            }
        }
        Ok(self.c)
    }
}

/// `parse_chain`: what `-N` (and `:CHAIN` in a restore file) accepts.
pub(crate) fn check_new_chain(p: &Prog, name: &str) -> Res<()> {
    if name.len() >= 29 {
        return Err(p.param(
            format!("chain name `{name}' too long (must be under 29 chars)"),
            Some(name),
        ));
    }
    if let Some(c) = name.chars().next().filter(|&c| c == '-' || c == '!') {
        return Err(p.param(
            format!("chain name not allowed to start with `{c}'\n"),
            Some(name),
        ));
    }
    const STANDARD: &[&str] = &["ACCEPT", "DROP", "RETURN", "QUEUE"];
    if STANDARD.contains(&name)
        || TARGETS.contains(&name)
        || super::apply::OTHER_TARGETS.contains(&name)
    {
        return Err(p.param("chain name may not clash with target name", Some(name)));
    }
    if name.contains(char::is_whitespace) || name.is_empty() {
        return Err(p.param(format!("Invalid chain name `{name}'"), Some(name)));
    }
    Ok(())
}

#[cfg(test)]
#[path = "parse_error_tests.rs"]
mod tests;
