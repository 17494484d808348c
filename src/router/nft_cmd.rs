//! `nft` on a router: the namespace's nftables ruleset ([`crate::nft::Nft`]), kept with the
//! iptables rules in the router's `RuleSet`. After every command the nft base chains are
//! registered with netfilter again, at their priorities among iptables' tables, so a lab
//! can mix both as a host with iptables-nft does. Tables iptables-nft made are listed by
//! `nft list ruleset` from the iptables rules themselves, in the order they were made.

use super::{Filtering, Router};
use crate::netfilter::Table;
use crate::netfilter::base::{Family, NftHook};
use crate::netfilter::rules::{NftListOptions, nft_table_listing, nft_table_warning};
use crate::nft::{NftBase, NftFamily};

impl Router {
    /// Which nft's listing format `nft` prints.
    pub fn set_nft_version(&mut self, version: crate::nft::NftVersion) {
        let nft = &mut self.filtering.rules.nft;
        nft.version = version;
        nft.eval.style.version = version;
    }

    /// `nft -f -` reading `script`: a ruleset loaded whole, or nothing and nft's error.
    pub fn nft_load(&mut self, script: &str) -> Result<String, (i32, String)> {
        self.nft(&["nft", "-f", "-"].map(String::from), script)
    }

    /// Runs `nft ARGS` (`argv[0]` is `nft`); `input` is what `nft -f -` reads. An error comes
    /// with nft's exit status and its message.
    pub fn nft(&mut self, argv: &[String], input: &str) -> Result<String, (i32, String)> {
        let f = &mut self.filtering;
        let out = f.nft_command(&argv[1..], input);
        f.nft_changed();
        out
    }
}

/// The iptables tables, in the order iptables-nft makes them when first used.
const XT_TABLES: [Table; 4] = [Table::Filter, Table::Nat, Table::Mangle, Table::Raw];

impl Filtering {
    fn nft_command(&mut self, args: &[String], input: &str) -> Result<String, (i32, String)> {
        self.xt_tables_made();
        let (handles, stateless) = listing_flags(args);
        let super::RuleSet {
            tables,
            tables6,
            nft,
            ..
        } = &mut self.rules;
        let placed: Vec<(Family, Table, (u64, u64))> = Family::ALL
            .into_iter()
            .flat_map(|f| XT_TABLES.into_iter().map(move |t| (f, t)))
            .filter_map(|(f, t)| Some((f, t, xt_handle(nft, nft_family(f), t.name())?)))
            .collect();
        let xt = |family: NftFamily, name: &str| {
            let &(f, table, (handle, base)) = placed
                .iter()
                .find(|(f, t, _)| nft_family(*f) == family && t.name() == name)?;
            let tables = match f {
                Family::Ipv4 => &*tables,
                Family::Ipv6 => &*tables6,
            };
            let opts = NftListOptions {
                handles,
                stateless,
                table_handle: Some(handle),
                handle_base: base,
            };
            let text = nft_table_listing(tables, table, opts)?;
            // nft warns on stderr as it begins the table (a terminal shows it first).
            Some(match nft_table_warning(tables, table) {
                Some(w) => format!("{}\n{text}", w.trim_end()),
                None => text,
            })
        };
        nft.command(args, input, &xt)
    }

    /// Gives each table iptables-nft (or ip6tables-nft) has made since the last call its
    /// place among nft's tables (the next table handle), in the order they were made.
    pub(super) fn xt_tables_made(&mut self) {
        for f in Family::ALL {
            let tables = match f {
                Family::Ipv4 => &self.rules.tables,
                Family::Ipv6 => &self.rules.tables6,
            };
            let mut made: Vec<(u64, Table)> = XT_TABLES
                .iter()
                .filter_map(|&t| Some((tables.nft_table_order(t)?, t)))
                .collect();
            made.sort();
            for (_, t) in made {
                if xt_handle(&self.rules.nft, nft_family(f), t.name()).is_none() {
                    self.rules.nft.xt_table(nft_family(f), t.name());
                }
            }
        }
    }

    /// The iptables tables nft made with base chains of its own (`table ip nat` with a chain
    /// `postrouting`): iptables-nft cannot list those chains and says so.
    fn incompatible(&self) -> Vec<Table> {
        XT_TABLES
            .into_iter()
            .filter(|t| {
                self.rules.nft.ruleset.tables.iter().any(|nt| {
                    !nt.xt
                        && nt.family == NftFamily::Ip
                        && *nt.name == *t.name()
                        && nt.chains.iter().any(|c| c.base.is_some())
                })
            })
            .collect()
    }

    /// An iptables listing as iptables-nft prints it when nft made one of its tables:
    /// `# Table `nat' contains incompatible base-chains, use 'nft' tool to list them.` above
    /// that table's listing, and in `iptables-save` above its section (shown whether or not
    /// iptables added to it).
    pub(super) fn incompatible_notice(&self, argv: &[String], text: String) -> String {
        let bad = self.incompatible();
        if bad.is_empty() {
            return text;
        }
        let notice = |t: Table| {
            format!(
                "# Table `{}' contains incompatible base-chains, use 'nft' tool to list them.\n",
                t.name()
            )
        };
        if argv.first().is_some_and(|a| a == "iptables-save") {
            let counters = argv.iter().any(|a| a == "-c" || a == "--counters");
            let tables = &self.rules.tables;
            let mut out = String::new();
            for t in [Table::Mangle, Table::Raw, Table::Filter, Table::Nat] {
                let made = tables.nft_table_order(t).is_some();
                if bad.contains(&t) {
                    out.push_str(&notice(t));
                } else if !made {
                    continue;
                }
                out.push_str(&tables.save_with(counters, Some(t)));
            }
            return out;
        }
        let listing = argv.iter().skip(1).any(|a| {
            a == "--list"
                || a == "--list-rules"
                || (a.starts_with('-') && !a.starts_with("--") && a.contains(['L', 'S']))
        });
        let table = argv
            .iter()
            .position(|a| a == "-t" || a == "--table")
            .and_then(|i| argv.get(i + 1))
            .and_then(|n| Table::parse(n))
            .unwrap_or(Table::Filter);
        match listing && bad.contains(&table) {
            true => format!("{}{text}", notice(table)),
            false => text,
        }
    }

    /// Registers the nft ruleset's base chains with netfilter again (the ruleset changed).
    pub(super) fn nft_changed(&mut self) {
        let bases = self.rules.nft.base_chains();
        let hooks: Vec<NftHook> = bases.iter().copied().flat_map(ip_hooks).collect();
        self.nf.set_nft(&hooks);
        let mut bridge: Vec<super::BridgeChain> = bases
            .iter()
            .filter(|b| b.family == NftFamily::Bridge && !b.nat)
            .map(|b| super::BridgeChain {
                hook: b.hook,
                priority: b.priority,
                chain: b.chain.0,
            })
            .collect();
        bridge.sort_by_key(|c| c.priority);
        self.bridge_chains = bridge;
        self.rules_changed();
    }
}

/// `-a`/`--handle` and `-s`/`--stateless` among the options before the command.
fn listing_flags(args: &[String]) -> (bool, bool) {
    let (mut handles, mut stateless) = (false, false);
    for a in args
        .iter()
        .take_while(|a| a.starts_with('-') && a.len() > 1)
    {
        match a.as_str() {
            "--handle" => handles = true,
            "--stateless" => stateless = true,
            _ if !a.starts_with("--") => {
                handles |= a.contains('a');
                stateless |= a.contains('s');
            }
            _ => {}
        }
    }
    (handles, stateless)
}

/// Where an nft base chain hooks into netfilter: a chain of family `ip` on the IPv4 hook,
/// `ip6` on the IPv6 one, `inet` on both (as `nft_register_basechain` registers an inet
/// chain's `NFPROTO_INET` hook into each family's list); `bridge` chains are the bridge's.
fn ip_hooks(b: NftBase) -> impl Iterator<Item = NftHook> {
    let families: &[Family] = match b.family {
        NftFamily::Ip => &[Family::Ipv4],
        NftFamily::Ip6 => &[Family::Ipv6],
        NftFamily::Inet => &Family::ALL,
        _ => &[],
    };
    families.iter().map(move |&family| NftHook {
        family,
        hook: b.hook,
        priority: b.priority,
        nat: b.nat,
        chain: b.chain.0,
    })
}

/// The nft family of an iptables front-end's tables: `ip` for iptables', `ip6` for
/// ip6tables'.
fn nft_family(f: Family) -> NftFamily {
    match f {
        Family::Ipv4 => NftFamily::Ip,
        Family::Ipv6 => NftFamily::Ip6,
    }
}

/// The handle of the table iptables-nft's table `name` of `family` is among nft's (its
/// placeholder, or the table nft made first that it added its chains to), and where its own
/// handles begin.
fn xt_handle(nft: &crate::nft::Nft, family: NftFamily, name: &str) -> Option<(u64, u64)> {
    nft.ruleset
        .tables
        .iter()
        .filter(|t| t.family == family && *t.name == *name)
        .find_map(|t| match (t.xt, t.xt_shared) {
            (true, _) => Some((t.handle, 0)),
            (false, Some(base)) => Some((t.handle, base)),
            _ => None,
        })
}
