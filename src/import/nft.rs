//! `nft list ruleset` as a real host printed it (`-a` and `-s` forms too): the tables nft
//! itself owns are loaded with `nft -f`. The tables iptables-nft manages (nft warns `# Warning:
//! table ip filter is managed by iptables-nft, do not touch!` of those holding an iptables
//! extension it cannot print natively; all are `ip` tables of iptables' names holding its
//! built-in chains) are iptables' own, which `--iptables-save` gives.

use super::{ImportError, Source};
use crate::nft::Nft;

/// The ruleset to load, the tables it holds (`inet hostfw`, ...) and the iptables-nft tables
/// left out (`ip filter`, ...).
#[derive(Clone, Debug, Default)]
pub struct NftImport {
    pub ruleset: String,
    pub nft_tables: Vec<String>,
    pub xt_tables: Vec<String>,
}

const XT_WARNING: &str = "# Warning: table ";
const XT_TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];
const XT_CHAINS: [&str; 5] = ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"];

/// Reads the dump; an error is the dump's line nft refused, with nft's message.
pub fn import_ruleset(src: &Source) -> Result<NftImport, ImportError> {
    let mut out = NftImport::default();
    // The kept lines, each with its line number in the dump.
    let mut kept: Vec<(usize, &str)> = Vec::new();
    let lines: Vec<&str> = src.text.lines().collect();
    let mut warned = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix(XT_WARNING) {
            warned = rest.contains("is managed by iptables-nft");
            i += 1;
            continue;
        }
        let Some(head) = line.strip_prefix("table ") else {
            if line.trim().is_empty() || line.starts_with('#') {
                i += 1;
                continue;
            }
            return Err(src.err(
                i + 1,
                format!(
                    "{}: not the output of nft list ruleset (line {}: `{}`)",
                    src.flag,
                    i + 1,
                    line.trim_end()
                ),
            ));
        };
        // The whole table block, to its closing brace at the margin.
        let end = (i..lines.len())
            .find(|&j| lines[j] == "}" || (j == i && line.trim_end().ends_with('}')))
            .unwrap_or(lines.len() - 1);
        let block = &lines[i..=end];
        let name = head.split(" {").next().unwrap_or(head).trim();
        // iptables-nft's: nft warns of it (iptables 1.8.10+), or an `ip` table of an iptables
        // name holding an iptables built-in chain.
        let xt = std::mem::take(&mut warned)
            || (name
                .strip_prefix("ip ")
                .is_some_and(|t| XT_TABLES.contains(&t))
                && block.iter().any(|l| {
                    l.trim_start()
                        .strip_prefix("chain ")
                        .and_then(|c| c.split_whitespace().next())
                        .is_some_and(|c| XT_CHAINS.contains(&c))
                }));
        if xt {
            out.xt_tables.push(name.to_string());
        } else {
            out.nft_tables.push(name.to_string());
            kept.extend(block.iter().enumerate().map(|(k, l)| (i + k + 1, *l)));
        }
        i = end + 1;
    }
    let text: String = kept.iter().map(|(_, l)| format!("{l}\n")).collect();
    let mut nft = Nft::new();
    let argv = ["-f", "-"].map(String::from);
    if let Err((_, e)) = nft.command(&argv, &text, &|_, _| None) {
        // nft names the line of what it read (`/dev/stdin:L:C`): the dump's own line.
        let at = e
            .split_once("/dev/stdin:")
            .and_then(|(_, r)| r.split(':').next()?.parse::<usize>().ok())
            .and_then(|l| kept.get(l.checked_sub(1)?))
            .map_or(1, |(n, _)| *n);
        let msg = e.lines().find(|l| l.contains("Error:")).unwrap_or(&e);
        let msg = msg.split_once("Error: ").map_or(msg, |(_, m)| m);
        return Err(src.err(at, format!("{}: nft refuses it: {msg}", src.flag)));
    }
    // As the lab writes it: a block of lines indented with spaces (nft reads any blanks).
    out.ruleset = kept
        .iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(_, l)| {
            let body = l.trim_start_matches('\t');
            let tabs = l.len() - body.len();
            format!("{}{}\n", "  ".repeat(tabs), body.trim_end())
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source::new("--nft-ruleset", "nft.txt", text)
    }

    #[test]
    fn nft_tables_are_kept_and_iptables_nft_tables_left_to_iptables_save() {
        let dump = "table inet fw {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\ttcp dport 22 counter packets 3 bytes 180 accept
\t}
}
# Warning: table ip filter is managed by iptables-nft, do not touch!
table ip filter {
\tchain INPUT {
\t\ttype filter hook input priority filter; policy accept;
\t\txt match \"physdev\" counter packets 0 bytes 0 drop
\t}
}
";
        let got = import_ruleset(&src(dump)).unwrap();
        assert_eq!(got.xt_tables, ["ip filter"]);
        assert!(
            got.ruleset
                .starts_with("table inet fw {\n  chain input {\n")
        );
        assert!(!got.ruleset.contains("ip filter"));
        assert!(got.ruleset.contains("counter packets 3 bytes 180 accept"));
    }

    #[test]
    fn a_refused_rule_names_its_line_in_the_dump() {
        let dump = "# Warning: table ip nat is managed by iptables-nft, do not touch!
table ip nat {
\tchain POSTROUTING {
\t}
}
table ip t {
\tchain c {
\t\ttcp dport 22 acept
\t}
}
";
        let e = import_ruleset(&src(dump)).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("nft.txt", 8), "{e}");
        assert!(e.message.contains("nft refuses it: syntax error"), "{e}");
        let e = import_ruleset(&src("default via 10.0.0.1 dev eth0\n")).unwrap_err();
        assert!(
            e.message.contains("not the output of nft list ruleset"),
            "{e}"
        );
    }
}
