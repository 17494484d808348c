//! Carrying out a parsed command on a table: the change is made on a copy, checked as the
//! kernel would check it (targets' tables and hooks, matches' protocols, loops, nesting), and
//! only then kept.

use super::listing::{ListFormat, list};
use super::matches::IpSpec;
use super::model::{Rule, TableState, Tables, Target};
use super::parse::{Command, TargetSpec, cmd, parse_command};
use super::save::{list_rules, rule_key};
use super::validate::{check_graph, check_rule, hook_bit, rule_hooks};
use super::{IptablesError, IptablesVersion, Prog};
use crate::netfilter::packet::Table;

type Res<T> = Result<T, IptablesError>;

/// Target modules iptables 1.8.9 ships that are not implemented here: a chain name may not
/// clash with them, and `-j NAME` says the target is not modelled.
pub(crate) const OTHER_TARGETS: &[&str] = &[
    "AUDIT",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNSECMARK",
    "ECN",
    "HMARK",
    "IDLETIMER",
    "LED",
    "RATEEST",
    "SECMARK",
    "SET",
    "SYNPROXY",
    "TCPOPTSTRIP",
    "TEE",
    "TRACE",
    "ULOG",
];

/// `iptables -h`, abbreviated to its usage lines.
pub(crate) fn usage(p: &Prog) -> String {
    format!(
        "iptables v{} (nf_tables)\n\n\
         Usage: iptables -[ACD] chain rule-specification [options]\n       \
         iptables -I chain [rulenum] rule-specification [options]\n       \
         iptables -R chain rulenum rule-specification [options]\n       \
         iptables -D chain rulenum [options]\n       \
         iptables -[LS] [chain [rulenum]] [options]\n       \
         iptables -[FZ] [chain] [options]\n       \
         iptables -[NX] chain\n       \
         iptables -E old-chain-name new-chain-name\n       \
         iptables -P chain target [options]\n       \
         iptables -h (print this help information)\n",
        p.version
    )
}

/// What a command line's first word names.
enum Tool {
    /// `iptables` or `ip6tables` (also as `-nft`, `-legacy`, or by path).
    Main,
    /// `iptables-save` or `ip6tables-save` (also as `-nft-save`).
    Save,
    /// Neither: the line is iptables' arguments alone.
    None,
}

fn tool(argv: &[String]) -> Tool {
    let prog = argv.first().map(|a| a.rsplit('/').next().unwrap_or(a));
    match prog {
        Some(
            "iptables" | "iptables-nft" | "iptables-legacy" | "ip6tables" | "ip6tables-nft"
            | "ip6tables-legacy",
        ) => Tool::Main,
        Some("iptables-save" | "iptables-nft-save" | "ip6tables-save" | "ip6tables-nft-save") => {
            Tool::Save
        }
        _ => Tool::None,
    }
}

impl Tables {
    /// Runs one `iptables` command line (`argv` with or without the leading `iptables`;
    /// `iptables-save [-c] [-t TABLE]` is understood too). Returns what iptables prints on
    /// stdout: a listing, or nothing for a change. Nothing changes when it fails.
    pub fn apply(&mut self, argv: &[String]) -> Result<String, IptablesError> {
        let p = self.prog("");
        let args = match tool(argv) {
            Tool::Main => &argv[1..],
            Tool::Save => return self.save_command(&argv[1..]),
            Tool::None => argv,
        };
        let c = parse_command(&p, args, None)?;
        self.ext.check_sets(&p, &c.rule.matches)?;
        if let Some(info) = c.info {
            return Ok(info);
        }
        // A rule change leaves the table as it was when it fails (see `exec`); other commands
        // run on a copy that is kept only on success.
        if matches!(c.command, cmd::APPEND | cmd::INSERT | cmd::REPLACE) {
            let version = self.version;
            let out = exec(self.state_mut(c.table), &c, &p, version)?;
            self.nft_number();
            return Ok(out);
        }
        let mut ts = self.state(c.table).clone();
        let out = exec(&mut ts, &c, &p, self.version)?;
        *self.state_mut(c.table) = ts;
        self.nft_number();
        Ok(out)
    }

    /// Checks a command line as iptables parses it, before it reads any table: what is
    /// wrong with it whatever the rules are (exit status 2 or 3). Whether it would succeed
    /// (the chain or rule exists, a jump's chain exists) is for `apply` to say.
    pub fn check(&self, argv: &[String]) -> Result<(), IptablesError> {
        let p = self.prog("");
        let args = match tool(argv) {
            Tool::Main => &argv[1..],
            Tool::Save => return self.save_command(&argv[1..]).map(|_| ()),
            Tool::None => argv,
        };
        parse_command(&p, args, None).map(|_| ())
    }

    fn save_command(&self, args: &[String]) -> Result<String, IptablesError> {
        let p = self.prog("save");
        let (mut counters, mut table) = (false, None);
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-c" | "--counters" => counters = true,
                "-t" | "--table" => {
                    let t = it.next().map(String::as_str).unwrap_or("");
                    table = Some(Table::parse(t).ok_or_else(|| p.no_table(t))?);
                }
                _ => return Err(p.param(format!("unknown option \"{a}\""), Some(a))),
            }
        }
        Ok(self.save_with(counters, table))
    }
}

fn chain_id(ts: &TableState, p: &Prog, name: &str) -> Res<usize> {
    ts.find(name)
        .ok_or_else(|| p.kernel("No chain/target/match by that name", Some(name)))
}

/// A jump or goto to a chain the table lacks, as iptables-nft 1.8.9 words it.
pub(crate) fn missing_chain(p: &Prog, name: &str) -> IptablesError {
    p.param(format!("Chain '{name}' does not exist"), Some(name))
}

/// The rules a rule command makes: one per source and destination address.
fn build_rules(ts: &TableState, p: &Prog, c: &Command) -> Res<Vec<Rule>> {
    let spec = &c.rule;
    let target = match &spec.target {
        TargetSpec::None => Target::None,
        TargetSpec::Builtin(t) => t.clone(),
        TargetSpec::Chain(name) | TargetSpec::Goto(name) => {
            let Some(id) = ts.find(name) else {
                return Err(missing_chain(p, name));
            };
            if matches!(spec.target, TargetSpec::Goto(_)) {
                Target::Goto(id)
            } else {
                Target::Jump(id)
            }
        }
    };
    let mut rules = Vec::new();
    for &src in &spec.srcs {
        for &dst in &spec.dsts {
            rules.push(Rule {
                ip: IpSpec {
                    src,
                    dst,
                    ..spec.ip
                },
                matches: spec.matches.clone(),
                target: target.clone(),
                counters: c.counters.unwrap_or_default(),
                handle: 0,
            });
        }
    }
    Ok(rules)
}

/// Executes `c` on `ts` (a copy the caller keeps only on success).
pub(crate) fn exec(ts: &mut TableState, c: &Command, p: &Prog, v: IptablesVersion) -> Res<String> {
    let name = c.chain.as_deref().unwrap_or("");
    let fmt = ListFormat {
        numeric: c.numeric,
        verbose: c.verbose,
        exact: c.exact,
        line_numbers: c.line_numbers,
    };
    let op = match c.command {
        cmd::INSERT => "RULE_INSERT",
        cmd::REPLACE => "RULE_REPLACE",
        _ => "RULE_APPEND",
    };
    let mut out = String::new();
    match c.command & !cmd::ZERO & !cmd::ZERO_NUM {
        cmd::APPEND | cmd::INSERT | cmd::REPLACE => {
            // The jump's chain is looked up first, as iptables-nft builds the rule before it
            // looks for the chain to add it to.
            let rules = build_rules(ts, p, c)?;
            let id = chain_id(ts, p, name)?;
            for r in &rules {
                check_rule(ts, p, r, op, name)?;
            }
            let len = ts.chain(id).rules.len();
            let n = c.rulenum.unwrap_or(1);
            match c.command {
                cmd::INSERT if n > len + 1 => {
                    return Err(p.kernel("Index of insertion too big", Some(name)));
                }
                cmd::REPLACE if n > len => {
                    return Err(p.kernel("Index of replacement too big", Some(name)));
                }
                _ => {}
            }
            // Only a new jump can make a loop or deepen nesting, and only a hook-restricted
            // target in a user chain needs to know which hooks reach it (a built-in chain is
            // reached from its own hook alone: jumps to one are refused): other rules are
            // checked on their own, so a long rule set loads in linear time.
            let jumps = rules
                .iter()
                .any(|r| matches!(r.target, Target::Jump(_) | Target::Goto(_)));
            let restricted = rules.iter().any(|r| rule_hooks(r).is_some());
            let hook = ts.chain(id).hook;
            if let Some(h) = hook
                && !jumps
                && rules
                    .iter()
                    .any(|r| rule_hooks(r).is_some_and(|a| a & hook_bit(h) == 0))
            {
                return Err(p.batch(
                    op,
                    "Invalid argument",
                    &format!("rule in chain {name}"),
                    Some(name),
                ));
            }
            let k = rules.len();
            let list = &mut ts.chain_mut(id).rules;
            let replaced = match c.command {
                cmd::APPEND => {
                    list.extend(rules);
                    None
                }
                cmd::INSERT => {
                    drop(list.splice(n - 1..n - 1, rules));
                    None
                }
                _ => Some(list.splice(n - 1..n, rules).collect::<Vec<_>>()),
            };
            let graph = match jumps || (restricted && hook.is_none()) {
                true => check_graph(ts, p, op, name),
                false => Ok(()),
            };
            if let Err(e) = graph {
                // Undone here, so the caller need not have copied the table.
                let list = &mut ts.chain_mut(id).rules;
                match (c.command, replaced) {
                    (cmd::APPEND, _) => list.truncate(len),
                    (cmd::INSERT, _) => drop(list.drain(n - 1..n - 1 + k)),
                    (_, old) => drop(list.splice(n - 1..n - 1 + k, old.unwrap_or_default())),
                }
                return Err(e);
            }
            // nf_tables replaces a rule in place: the new one keeps the old one's handle.
            if let Some([old]) = replaced.as_deref()
                && let Some(r) = ts.chain_mut(id).rules.get_mut(n - 1)
            {
                r.handle = old.handle;
            }
            ts.nft_rules(id);
        }
        cmd::DELETE | cmd::CHECK => {
            let rules = build_rules(ts, p, c)?;
            let id = chain_id(ts, p, name)?;
            for r in rules {
                let key = rule_key(ts, &r);
                let pos = ts
                    .chain(id)
                    .rules
                    .iter()
                    .position(|x| rule_key(ts, x) == key);
                let Some(pos) = pos else {
                    return Err(p.kernel(
                        "Bad rule (does a matching rule exist in that chain?)",
                        Some(name),
                    ));
                };
                if c.command == cmd::DELETE {
                    ts.chain_mut(id).rules.remove(pos);
                }
            }
        }
        cmd::DELETE_NUM => {
            let id = chain_id(ts, p, name)?;
            let n = c.rulenum.unwrap_or(1);
            if n > ts.chain(id).rules.len() {
                return Err(p.kernel("Index of deletion too big", Some(name)));
            }
            ts.chain_mut(id).rules.remove(n - 1);
        }
        cmd::LIST | cmd::LIST_RULES => {
            let id = c.chain.as_deref().map(|n| chain_id(ts, p, n)).transpose()?;
            out = if c.command & cmd::LIST != 0 {
                list(ts, id, c.rulenum, fmt, v)
            } else {
                list_rules(ts, id, c.rulenum, c.verbose)
            };
            if c.command & (cmd::ZERO | cmd::ZERO_NUM) == 0 {
                return Ok(out);
            }
        }
        cmd::FLUSH => {
            let ids = match &c.chain {
                Some(n) => vec![chain_id(ts, p, n)?],
                None => ts.listing_order(),
            };
            for &id in &ids {
                ts.chain_mut(id).rules.clear();
            }
            // `-F CHAIN` makes the chain in nf_tables; `-F` alone flushes what exists.
            if c.chain.is_some() {
                ts.nft_chain(ids[0]);
            }
        }
        cmd::NEW_CHAIN => {
            if ts.find(name).is_some() {
                return Err(p.kernel("Chain already exists", Some(name)));
            }
            let id = ts.add_chain(name);
            ts.nft_chain(id);
        }
        cmd::DELETE_CHAIN => {
            let ids: Vec<usize> = match &c.chain {
                Some(n) => {
                    let id = chain_id(ts, p, n)?;
                    if ts.chain(id).hook.is_some() {
                        return Err(p.einval("Can't delete built-in chain", Some(n)));
                    }
                    vec![id]
                }
                None => ts
                    .listing_order()
                    .into_iter()
                    .filter(|&id| ts.chain(id).hook.is_none())
                    .collect(),
            };
            for &id in &ids {
                let referenced = ts.chains.iter().flatten().any(|ch| {
                    ch.rules
                        .iter()
                        .any(|r| matches!(r.target, Target::Jump(t) | Target::Goto(t) if t == id))
                });
                if referenced || !ts.chain(id).rules.is_empty() {
                    let what = format!("chain {}", ts.chain(id).name);
                    return Err(p.batch(
                        // iptables-nft 1.8.9 names the operation CHAIN_DEL (checked).
                        match v {
                            IptablesVersion::V1_8_9 => "CHAIN_DEL",
                            IptablesVersion::V1_8_10 => "CHAIN_USER_DEL",
                        },
                        "Device or resource busy",
                        &what,
                        Some(name),
                    ));
                }
            }
            for id in ids {
                ts.remove_chain(id);
            }
        }
        cmd::SET_POLICY => {
            let id = ts.find(name).filter(|&id| ts.chain(id).hook.is_some());
            let id = id.ok_or_else(|| p.kernel("Bad built-in chain name", Some(name)))?;
            let policy = match c.policy.as_deref() {
                Some("ACCEPT") => super::Policy::Accept,
                Some("DROP") => super::Policy::Drop,
                other => return Err(p.einval("Bad policy name", other)),
            };
            let ch = ts.chain_mut(id);
            ch.policy = policy;
            ch.policy_set = true;
            if let Some(cnt) = c.counters {
                ch.policy_counters = cnt;
            }
            ts.nft_chain(id);
        }
        cmd::RENAME => {
            let id = chain_id(ts, p, name)?;
            let new = c.newname.as_deref().unwrap_or("");
            super::parse_finish::check_new_chain(p, new)?;
            if ts.find(new).is_some() {
                return Err(p.kernel("File exists", Some(new)));
            }
            if ts.chain(id).hook.is_some() {
                return Err(p.einval("Invalid argument", Some(name)));
            }
            ts.rename_chain(id, new);
        }
        _ => {}
    }
    if c.command & (cmd::ZERO | cmd::ZERO_NUM) != 0 {
        zero(ts, p, c)?;
    }
    Ok(out)
}

fn zero(ts: &mut TableState, p: &Prog, c: &Command) -> Res<()> {
    let ids = match &c.chain {
        Some(n) => vec![chain_id(ts, p, n)?],
        None => ts.listing_order(),
    };
    for id in ids {
        let ch = ts.chain_mut(id);
        match c.rulenum.filter(|_| c.command & cmd::ZERO_NUM != 0) {
            Some(n) => match ch.rules.get_mut(n - 1) {
                Some(r) => r.counters = Default::default(),
                None => return Err(p.kernel("Argument list too long", Some(&ch.name.clone()))),
            },
            None => {
                ch.policy_counters = Default::default();
                ch.rules
                    .iter_mut()
                    .for_each(|r| r.counters = Default::default());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "apply_tests.rs"]
mod tests;
