//! `iptables-restore`: `*table`, `:CHAIN POLICY [packets:bytes]`, command lines (optionally
//! prefixed with `[packets:bytes]`), `COMMIT`, `#` comments. Each table is built on a copy
//! and replaces the live one at its `COMMIT`; an error leaves the table as it was (tables
//! committed earlier in the file stay, as with iptables).

use super::apply::{exec, missing_chain};
use super::model::{Counters, Policy, Tables};
use super::parse::{TargetSpec, parse_command};
use super::parse_finish::check_new_chain;
use super::{ErrorKind, IptablesError, Prog};
use crate::netfilter::packet::Table;

/// `iptables-restore` options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// `--noflush`: keep the table's rules and chains (a declared user chain is flushed).
    pub noflush: bool,
    /// `--counters`: take `[packets:bytes]` of chains and rules.
    pub counters: bool,
}

/// `add_param_to_argv`: splits at blanks; double quotes group, and a backslash escapes the
/// next character inside them.
pub(crate) fn split_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped, mut started) = (false, false, false);
    for c in line.chars() {
        if quoted {
            if escaped {
                cur.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                quoted = true;
                started = true;
            }
            ' ' | '\t' | '\n' | '\r' => {
                if started || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            _ => cur.push(c),
        }
    }
    if started || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_counters(s: &str) -> Option<Counters> {
    let (p, b) = s.strip_prefix('[')?.strip_suffix(']')?.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

/// `line N failed: <strerror>.`, as iptables-nft-restore 1.8.9 reports a command the
/// kernel refused.
fn failed_with(p: &Prog, n: usize, why: &str) -> IptablesError {
    p.plain(
        ErrorKind::Other,
        format!("iptables-restore: line {n} failed: {why}"),
        Some(&n.to_string()),
    )
}

/// A command's error as iptables-restore words it: a command-line error as it is (it
/// carries the line), an errno as `line N failed: ...`, a refused batch as
/// `line N: RULE_APPEND failed (...): ...` after the program's prefix.
fn exec_failed(p: &Prog, n: usize, e: IptablesError) -> IptablesError {
    let text = e.message();
    match e.kind() {
        ErrorKind::Parameter | ErrorKind::Version => e,
        ErrorKind::Resource => {
            let rest = text.split_once("(nf_tables):  ").map_or(text, |x| x.1);
            p.plain(
                ErrorKind::Resource,
                format!(
                    "iptables-restore v{} (nf_tables): \nline {n}: {rest}",
                    p.version
                ),
                Some(&n.to_string()),
            )
        }
        ErrorKind::Other => {
            let why = text.split_once(": ").map_or(text, |x| x.1);
            let why = why.split(" Run `dmesg'").next().unwrap_or(why);
            failed_with(p, n, why)
        }
    }
}

impl Tables {
    /// `iptables-restore --counters` of `text` (counters are taken where given).
    pub fn restore(&mut self, text: &str) -> Result<(), IptablesError> {
        self.restore_with(
            text,
            RestoreOptions {
                noflush: false,
                counters: true,
            },
        )
    }

    pub fn restore_with(&mut self, text: &str, opts: RestoreOptions) -> Result<(), IptablesError> {
        let mut p = self.prog("restore");
        let failed = |p: &Prog, n: usize| {
            p.plain(
                ErrorKind::Other,
                format!("{}: line {n} failed", p.name),
                Some(&n.to_string()),
            )
        };
        let mut current: Option<super::model::TableState> = None;
        // iptables-nft resolves jumps when it builds the table's batch, at COMMIT: a jump to
        // a missing chain is reported there, ahead of errors the batch itself would meet.
        let mut missing: Option<String> = None;
        let mut last = 0;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            last = n;
            p.line = Some(n);
            let line = raw.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.trim_end() == "COMMIT" {
                let Some(ts) = current.take() else {
                    return Err(failed(&p, n));
                };
                if let Some(chain) = missing.take() {
                    return Err(missing_chain(&p, &chain));
                }
                let table = ts.table;
                *self.state_mut(table) = ts;
                self.nft_number();
                continue;
            }
            let Some(ts) = current.as_mut() else {
                let name = line
                    .strip_prefix('*')
                    .map(|t| t.split_whitespace().next().unwrap_or(""));
                let table = match name {
                    None => return Err(failed(&p, n)),
                    Some(t) => Table::parse(t).ok_or_else(|| {
                        p.param(
                            format!("iptables-restore: line {n} table name '{t}' invalid"),
                            Some(t),
                        )
                    })?,
                };
                let mut ts = self.state(table).clone();
                if !opts.noflush {
                    ts.reset();
                }
                current = Some(ts);
                continue;
            };
            if line.starts_with('*') {
                let word = line.split_whitespace().next().unwrap_or(line);
                return Err(p.bad_argument(word));
            }
            if let Some(decl) = line.strip_prefix(':') {
                let mut f = decl.split_whitespace();
                let chain = f.next().ok_or_else(|| failed(&p, n))?;
                let policy = f.next().ok_or_else(|| {
                    p.param(
                        format!("iptables-restore: line {n} policy invalid"),
                        Some(chain),
                    )
                })?;
                let counters = f.next().and_then(parse_counters).filter(|_| opts.counters);
                match ts.find(chain) {
                    Some(id) if ts.chain(id).hook.is_some() => {
                        let c = ts.chain_mut(id);
                        c.policy = match policy {
                            "ACCEPT" => Policy::Accept,
                            // Only the `iptables` command refuses DROP in nat: a restore
                            // file sets it (checked with iptables-restore 1.8.9).
                            "DROP" => Policy::Drop,
                            _ => return Err(failed_with(&p, n, "Bad policy name.")),
                        };
                        c.policy_set = true;
                        if let Some(cnt) = counters {
                            c.policy_counters = cnt;
                        }
                        ts.nft_chain(id);
                    }
                    Some(id) => ts.chain_mut(id).rules.clear(),
                    None if policy == "-" => {
                        check_new_chain(&p, chain)?;
                        let id = ts.add_chain(chain);
                        ts.nft_chain(id);
                    }
                    None => return Err(failed(&p, n)),
                }
                continue;
            }
            let (counters, rest) = match line.strip_prefix('[') {
                Some(_) => {
                    let end = line.find(']').ok_or_else(|| failed(&p, n))?;
                    (parse_counters(&line[..=end]), &line[end + 1..])
                }
                None => (None, line),
            };
            let argv = split_line(rest);
            let mut c = parse_command(&p, &argv, Some(ts.table))?;
            self.ext.check_sets(&p, &c.rule.matches)?;
            if opts.counters && counters.is_some() {
                c.counters = counters;
            }
            if let TargetSpec::Chain(name) | TargetSpec::Goto(name) = &c.rule.target
                && ts.find(name).is_none()
            {
                missing.get_or_insert_with(|| name.clone());
                continue;
            }
            match exec(ts, &c, &p, self.version) {
                Err(_) if missing.is_some() => {}
                Err(e) => return Err(exec_failed(&p, n, e)),
                Ok(_) => {}
            }
        }
        if current.is_some() {
            return Err(p.plain(
                ErrorKind::Other,
                format!("iptables-restore: COMMIT expected at line {}", last + 1),
                Some(&(last + 1).to_string()),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "restore_tests.rs"]
mod tests;
