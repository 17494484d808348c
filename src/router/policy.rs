//! Policy routing: the routing policy database (`ip rule`) that picks which routing table a
//! packet is looked up in, by its source, destination, mark and interfaces, in priority
//! order. The kernel's three default rules are there from the start: 0 `lookup local`,
//! 32766 `lookup main`, 32767 `lookup default`. A rule whose table has no route for the
//! packet passes it on to the next rule, as `fib_rules_lookup` does.

use std::collections::BTreeMap;

use smoltcp::wire::{Ipv4Address, Ipv4Cidr};

use super::route::{Route, RouteTable};
// The table ids live with the `ip route` parser, below the router, which reads `table ID`.
pub use crate::host::route_cmd::{DEFAULT, LOCAL, MAIN, parse_table, table_name};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRule {
    pub pref: u32,
    /// `not`: the selector is inverted.
    pub not: bool,
    pub from: Option<Ipv4Cidr>,
    pub to: Option<Ipv4Cidr>,
    /// `fwmark VALUE/MASK`.
    pub fwmark: Option<(u32, u32)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub table: u32,
}

/// What a lookup knows of the packet.
#[derive(Clone, Copy, Debug)]
pub struct FlowKey<'a> {
    pub src: Option<Ipv4Address>,
    pub dst: Ipv4Address,
    pub mark: u32,
    /// The interface it came in on (`lo` for one the router makes).
    pub iif: Option<&'a str>,
    /// The interface it is bound to leave by, if any.
    pub oif: Option<&'a str>,
}

impl<'a> FlowKey<'a> {
    /// A packet the router itself makes or asks about: from `lo`, not bound to an
    /// interface.
    pub fn from_lo(src: Option<Ipv4Address>, dst: Ipv4Address, mark: u32) -> FlowKey<'a> {
        FlowKey {
            src,
            dst,
            mark,
            iif: Some(super::local::LO),
            oif: None,
        }
    }
}

impl PolicyRule {
    fn default_rule(pref: u32, table: u32) -> PolicyRule {
        PolicyRule {
            pref,
            not: false,
            from: None,
            to: None,
            fwmark: None,
            iif: None,
            oif: None,
            table,
        }
    }

    /// `fib_rule_match` with `fib4_rule_match`: every selector given must hold; `not`
    /// inverts the whole.
    pub fn matches(&self, k: &FlowKey) -> bool {
        let hit = self
            .from
            .is_none_or(|c| c.prefix_len() == 0 || k.src.is_some_and(|s| c.contains_addr(&s)))
            && self.to.is_none_or(|c| c.contains_addr(&k.dst))
            && self.fwmark.is_none_or(|(v, m)| (k.mark & m) == v)
            && self.iif.as_deref().is_none_or(|i| k.iif == Some(i))
            && self.oif.as_deref().is_none_or(|o| k.oif == Some(o));
        hit != self.not
    }

    /// As `ip rule` prints it.
    fn line(&self, exists: &dyn Fn(&str) -> bool) -> String {
        let mut s = format!("{}:\t", self.pref);
        if self.not {
            s.push_str("not ");
        }
        match self.from {
            Some(c) if c.prefix_len() == 32 => s.push_str(&format!("from {}", c.address())),
            Some(c) if c.prefix_len() > 0 => s.push_str(&format!("from {c}")),
            _ => s.push_str("from all"),
        }
        if let Some(c) = self.to {
            match c.prefix_len() {
                32 => s.push_str(&format!(" to {}", c.address())),
                _ => s.push_str(&format!(" to {c}")),
            }
        }
        if let Some((v, m)) = self.fwmark {
            s.push_str(&format!(" fwmark {v:#x}"));
            if m != u32::MAX {
                s.push_str(&format!("/{m:#x}"));
            }
        }
        for (word, dev) in [("iif", &self.iif), ("oif", &self.oif)] {
            if let Some(d) = dev {
                s.push_str(&format!(" {word} {d}"));
                if !exists(d) {
                    s.push_str(" [detached]");
                }
            }
        }
        s.push_str(&format!(" lookup {}\n", table_name(self.table)));
        s
    }
}

/// The rules, in priority order (those of one priority in the order they were added).
#[derive(Clone, Debug)]
pub struct RuleList {
    rules: Vec<PolicyRule>,
    /// Still the kernel's three rules: a lookup is `main`'s alone (the forwarding path's
    /// common case, kept cheap).
    pristine: bool,
}

impl Default for RuleList {
    fn default() -> Self {
        RuleList {
            rules: vec![
                PolicyRule::default_rule(0, LOCAL),
                PolicyRule::default_rule(32766, MAIN),
                PolicyRule::default_rule(32767, DEFAULT),
            ],
            pristine: true,
        }
    }
}

/// `ip rule add|del SELECTOR ACTION`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCmd {
    pub add: bool,
    pub rule: PolicyRule,
    /// A priority was given (a delete then matches it; an add uses it).
    pub pref_given: bool,
    pub table_given: bool,
}

fn prefix(word: &str) -> Result<Ipv4Cidr, String> {
    if word == "all" {
        return Ok(Ipv4Cidr::new(Ipv4Address::UNSPECIFIED, 0));
    }
    let bad = || format!("Error: any valid prefix is expected rather than \"{word}\".\n");
    let (addr, len) = match word.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().map_err(|_| bad())?),
        None => (word, 32),
    };
    // `ip` reads a short address as its leading bytes: `1.2.3` is 1.2.3.0.
    let mut octets = [0u8; 4];
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || len > 32 {
        return Err(bad());
    }
    for (i, p) in parts.iter().enumerate() {
        octets[i] = p.parse().map_err(|_| bad())?;
    }
    let c = Ipv4Cidr::new(Ipv4Address::from(octets), len);
    Ok(Ipv4Cidr::new(c.network().address(), len))
}

fn number(word: &str) -> Option<u32> {
    match word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => word.parse().ok(),
    }
}

/// Parses the words after `ip rule` (`add`/`del` and their selectors).
pub fn parse_rule_cmd(words: &[&str]) -> Result<RuleCmd, String> {
    let (add, rest) = match words.split_first() {
        Some((&"add", rest)) => (true, rest),
        Some((&("del" | "delete"), rest)) => (false, rest),
        Some((other, _)) => {
            return Err(format!(
                "Command \"{other}\" is unknown, try \"ip rule help\".\n"
            ));
        }
        None => return Err("Command line is not complete. Try option \"help\"\n".into()),
    };
    let mut cmd = RuleCmd {
        add,
        rule: PolicyRule::default_rule(0, MAIN),
        pref_given: false,
        table_given: false,
    };
    let mut it = rest.iter();
    while let Some(&w) = it.next() {
        let mut arg = || {
            it.next()
                .copied()
                .ok_or_else(|| "Command line is not complete. Try option \"help\"\n".to_string())
        };
        match w {
            "not" => cmd.rule.not = true,
            "from" => cmd.rule.from = Some(prefix(arg()?)?),
            "to" => cmd.rule.to = Some(prefix(arg()?)?),
            "fwmark" => {
                let v = arg()?;
                let bad = || format!("Error: argument \"{v}\" is wrong: fwmark value is invalid\n");
                let (val, mask) = match v.split_once('/') {
                    Some((a, m)) => (number(a).ok_or_else(bad)?, number(m).ok_or_else(bad)?),
                    None => (number(v).ok_or_else(bad)?, u32::MAX),
                };
                cmd.rule.fwmark = Some((val, mask));
            }
            "iif" | "dev" => cmd.rule.iif = Some(arg()?.to_string()),
            "oif" => cmd.rule.oif = Some(arg()?.to_string()),
            "pref" | "priority" | "order" | "prio" => {
                let v = arg()?;
                cmd.rule.pref = v.parse().map_err(|_| {
                    format!("Error: argument \"{v}\" is wrong: preference value is invalid\n")
                })?;
                cmd.pref_given = true;
            }
            "table" | "lookup" => {
                cmd.rule.table = parse_table(arg()?)?;
                cmd.table_given = true;
            }
            other => {
                return Err(format!(
                    "Error: argument \"{other}\" is wrong: Failed to parse rule type\n"
                ));
            }
        }
    }
    Ok(cmd)
}

impl RuleList {
    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    /// Adds or deletes a rule as the kernel does. An added rule without a priority takes
    /// one less than the first rule after rule 0 (`fib_default_rule_pref`); a delete removes
    /// the first rule every given part of which matches.
    pub fn apply(&mut self, cmd: &RuleCmd) -> Result<(), String> {
        self.pristine = false;
        if cmd.add {
            let mut rule = cmd.rule.clone();
            if !cmd.pref_given {
                rule.pref = self.rules.get(1).map_or(0, |r| r.pref.saturating_sub(1));
            }
            let at = self.rules.partition_point(|r| r.pref <= rule.pref);
            self.rules.insert(at, rule);
            return Ok(());
        }
        let r = &cmd.rule;
        let found = self.rules.iter().position(|x| {
            (!cmd.pref_given || x.pref == r.pref)
                && (!cmd.table_given || x.table == r.table)
                && (r.from.is_none() || x.from == r.from)
                && (r.to.is_none() || x.to == r.to)
                && (r.fwmark.is_none() || x.fwmark == r.fwmark)
                && (r.iif.is_none() || x.iif == r.iif)
                && (r.oif.is_none() || x.oif == r.oif)
                && (!r.not || x.not)
        });
        match found {
            Some(i) => {
                self.rules.remove(i);
                Ok(())
            }
            None => Err("RTNETLINK answers: No such file or directory\n".into()),
        }
    }

    /// `ip rule flush`: every rule but those of priority 0.
    pub fn flush(&mut self) {
        self.pristine = false;
        self.rules.retain(|r| r.pref == 0);
    }

    /// `ip rule` / `ip rule show`; `exists` tells which interfaces exist (`[detached]`).
    pub fn listing(&self, exists: &dyn Fn(&str) -> bool) -> String {
        self.rules.iter().map(|r| r.line(exists)).collect()
    }

    /// The rules that match, in the order a lookup tries them.
    pub fn matching<'a>(&'a self, k: &'a FlowKey<'a>) -> impl Iterator<Item = &'a PolicyRule> {
        self.rules.iter().filter(move |r| r.matches(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(l: &mut RuleList, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        l.apply(&parse_rule_cmd(&words).unwrap()).unwrap();
    }

    /// The kernel's listing after the same commands (iproute2 6.1, Linux 6.x).
    #[test]
    fn lists_as_ip_rule_does() {
        let mut l = RuleList::default();
        for line in [
            "add fwmark 1 table 100",
            "add from 10.0.1.0/24 table 100",
            "add to 10.5.0.0/16 iif d0 lookup 100 pref 1000",
            "add fwmark 0x2/0xff lookup main priority 500",
            "add not from 10.0.0.0/8 table 200",
            "add oif d1 table 100",
            "add from 1.2.3 table 5",
            "add from 10.0.1.9 table 7",
        ] {
            apply(&mut l, line);
        }
        let exists = |d: &str| d == "d0" || d == "d1";
        assert_eq!(
            l.listing(&exists),
            "0:\tfrom all lookup local\n\
             496:\tfrom 10.0.1.9 lookup 7\n\
             497:\tfrom 1.2.3.0 lookup 5\n\
             498:\tfrom all oif d1 lookup 100\n\
             499:\tnot from 10.0.0.0/8 lookup 200\n\
             500:\tfrom all fwmark 0x2/0xff lookup main\n\
             1000:\tfrom all to 10.5.0.0/16 iif d0 lookup 100\n\
             32764:\tfrom 10.0.1.0/24 lookup 100\n\
             32765:\tfrom all fwmark 0x1 lookup 100\n\
             32766:\tfrom all lookup main\n\
             32767:\tfrom all lookup default\n"
        );
        apply(&mut l, "del from 10.0.1.9");
        apply(&mut l, "del pref 1000");
        assert!(!l.listing(&exists).contains("1000:"));
        let words = ["del", "fwmark", "7", "table", "100"];
        assert_eq!(
            l.apply(&parse_rule_cmd(&words).unwrap()),
            Err("RTNETLINK answers: No such file or directory\n".into())
        );
        assert!(
            RuleList::default()
                .listing(&|_| false)
                .ends_with("32767:\tfrom all lookup default\n")
        );
        let detached = {
            let mut l = RuleList::default();
            apply(&mut l, "add iif gone table 9");
            l.listing(&|_| false)
        };
        assert!(
            detached.contains("from all iif gone [detached] lookup 9"),
            "{detached}"
        );
    }

    #[test]
    fn selectors_match_as_the_kernel_matches() {
        let r = parse_rule_cmd(&[
            "add",
            "from",
            "10.0.1.0/24",
            "fwmark",
            "0x1/0xf",
            "table",
            "100",
        ])
        .unwrap()
        .rule;
        let k = |src: &str, mark: u32| FlowKey {
            src: Some(src.parse().unwrap()),
            dst: Ipv4Address::new(8, 8, 8, 8),
            mark,
            iif: Some("eth0"),
            oif: None,
        };
        assert!(r.matches(&k("10.0.1.7", 0x31)));
        assert!(!r.matches(&k("10.0.1.7", 0x2)));
        assert!(!r.matches(&k("10.0.2.7", 0x1)));
        let not = parse_rule_cmd(&["add", "not", "from", "10.0.0.0/8", "table", "5"])
            .unwrap()
            .rule;
        assert!(not.matches(&k("192.0.2.1", 0)));
        assert!(!not.matches(&k("10.1.2.3", 0)));
    }

    #[test]
    fn bad_words_are_refused_as_ip_refuses_them() {
        let e = |w: &[&str]| parse_rule_cmd(w).unwrap_err();
        assert_eq!(
            e(&["add", "table", "foo"]),
            "Error: argument \"foo\" is wrong: invalid table ID\n"
        );
        assert_eq!(
            e(&["add", "from", "10.0.0.300", "table", "5"]),
            "Error: any valid prefix is expected rather than \"10.0.0.300\".\n"
        );
        assert!(e(&["show2"]).contains("\"show2\" is unknown"));
        // Without an action the rule looks up main.
        let mut l = RuleList::default();
        l.apply(&parse_rule_cmd(&["add", "from", "10.0.0.0/8"]).unwrap())
            .unwrap();
        assert!(
            l.listing(&|_| true)
                .contains("32765:\tfrom 10.0.0.0/8 lookup main\n")
        );
        // `flush` leaves rule 0 alone, as the kernel does.
        l.flush();
        assert_eq!(l.listing(&|_| true), "0:\tfrom all lookup local\n");
    }
}

/// The routing tables and rules a lookup reads: `main`, the others by id, the rules.
#[derive(Clone, Copy)]
pub struct Routing<'a> {
    pub main: &'a RouteTable,
    pub tables: &'a BTreeMap<u32, RouteTable>,
    pub rules: &'a RuleList,
}

impl Routing<'_> {
    /// The route for a packet as `fib_rules_lookup` finds it: the matching rules in
    /// priority order, each looking up its table, the first route found winning; with it,
    /// the table and the rule's priority. Rule 0's `local` table is the caller's (its own
    /// addresses are checked before routing).
    pub fn lookup(&self, key: &FlowKey) -> Option<(Route, u32, u32)> {
        if self.rules.pristine {
            return self.main.lookup(key.dst).map(|r| (r.clone(), MAIN, 32766));
        }
        for rule in self.rules.matching(key) {
            let table = match rule.table {
                MAIN => Some(self.main),
                LOCAL => None,
                t => self.tables.get(&t),
            };
            if let Some(r) = table.and_then(|t| t.lookup(key.dst)) {
                return Some((r.clone(), rule.table, rule.pref));
            }
        }
        None
    }
}
