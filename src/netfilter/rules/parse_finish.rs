//! The end of a command line: `-j`/`-g` targets, extension options (including the protocol
//! match `-p` loads on demand), and the checks iptables makes once everything is read.

use super::Prog;
use super::matches::Net;
use super::model::Target;
use super::options::opt;
use super::parse::{Args, Command, Res, State, TargetSpec, cmd};
use super::parse_ext::{
    MATCHES, MatchBuilder, TARGETS, TargetBuilder, final_check, parse_match_opt,
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
        self.c.rule.target = match name {
            "ACCEPT" => TargetSpec::Builtin(Target::Accept),
            "DROP" => TargetSpec::Builtin(Target::Drop),
            "RETURN" => TargetSpec::Builtin(Target::Return),
            "QUEUE" => TargetSpec::Builtin(Target::Queue),
            _ if goto => TargetSpec::Goto(name.to_string()),
            _ => match TARGETS.iter().find(|&&t| t == name) {
                Some(&t) => {
                    self.target = Some(TargetBuilder::new(t));
                    TargetSpec::None
                }
                None => TargetSpec::Chain(name.to_string()),
            },
        };
        Ok(())
    }

    /// An option that is not iptables' own: the target's, a loaded match's, or the
    /// protocol's match loaded on demand. False if none takes it.
    pub(super) fn extension(&mut self, p: &Prog, name: &str, inv: bool, a: &mut Args) -> Res<bool> {
        if let Some(t) = &mut self.target
            && let Some((opt, _)) = t.option(name)
        {
            return t.parse(p, opt, inv, a).map(|()| true);
        }
        // getopt_long takes the first exact name, and iptables merges a newly loaded module's
        // options before the older ones': the last loaded match that knows the name.
        for m in self.matches.iter_mut().rev() {
            if let Some((opt, _)) = m.option(name) {
                return parse_match_opt(p, m, opt, inv, a, self.protocol).map(|()| true);
            }
        }
        let proto_match = self
            .protocol
            .and_then(|n| super::names::proto_to_name(n, self.c.numeric))
            .and_then(|pn| {
                MATCHES
                    .iter()
                    .find(|&&m| m == pn && matches!(m, "tcp" | "udp" | "icmp"))
            });
        if let Some(&pm) = proto_match {
            let loaded = self.matches.iter().any(|m| m.name == pm);
            if !loaded || !self.proto_used {
                let mut b = MatchBuilder::new(pm);
                if let Some((opt, _)) = b.option(name) {
                    self.proto_used = true;
                    parse_match_opt(p, &mut b, opt, inv, a, self.protocol)?;
                    self.matches.push(b);
                    return Ok(true);
                }
            }
        }
        Ok(false)
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
        if r.srcs.is_empty() {
            r.srcs.push(Net::ANY);
        }
        if r.dsts.is_empty() {
            r.dsts.push(Net::ANY);
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
