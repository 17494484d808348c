//! The harness of the `nft_xt` cases: a namespace per case, the commands run in both
//! worlds, nft's listings compared with hoplab's.

#![allow(dead_code)]

use hoplab::netfilter::Table;
use hoplab::netfilter::rules::{
    IptablesVersion, NftListOptions, Tables, nft_ruleset_listing, nft_table_listing,
    nft_table_warning,
};

use crate::kernel;
pub use crate::kernel::netns::Netns;

/// Splits a command line as a shell would for these cases: words, double quotes.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Runs each command in both worlds (they must agree on success), then compares nft's
/// listings and warnings with hoplab's.
pub fn compare(case: &str, commands: &[Vec<String>]) {
    if !kernel::privileged(case) {
        return;
    }
    let ns = Netns::new(&format!("xtnft-{case}"));
    let mut t = Tables::new(IptablesVersion::V1_8_9);
    for argv in commands {
        let (ok, _, err) = ns.exec(argv);
        // ipset's sets live in the namespace, beside the rules.
        let ours = match argv.first().map(String::as_str) {
            Some("ipset") => t
                .ipset(&argv[1..], hoplab::time::Instant::ZERO)
                .map_err(|(_, e)| e),
            _ => t.apply(argv).map_err(|e| e.to_string()),
        };
        assert_eq!(
            ok,
            ours.is_ok(),
            "{case}: `{}`: kernel {}, hoplab {ours:?}",
            argv.join(" "),
            if ok { "succeeded".into() } else { err }
        );
    }
    let made: Vec<Table> = {
        let mut v: Vec<(u64, Table)> = Table::ALL
            .into_iter()
            .filter_map(|tb| t.nft_table_order(tb).map(|o| (o, tb)))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, tb)| tb).collect()
    };
    let warnings: String = made
        .iter()
        .filter_map(|&tb| nft_table_warning(&t, tb))
        .collect();
    let nft = |args: &[&str]| {
        let mut argv = vec!["nft".to_string()];
        argv.extend(args.iter().map(|a| a.to_string()));
        let (ok, out, err) = ns.exec(&argv);
        assert!(ok, "{case}: nft {args:?}: {err}");
        (out, err)
    };
    let plain = NftListOptions::default();
    let (out, err) = nft(&["list", "ruleset"]);
    same(
        &format!("{case}: nft list ruleset"),
        &out,
        &nft_ruleset_listing(&t, plain),
    );
    assert_eq!(err, warnings, "{case}: nft list ruleset's stderr");
    let (out, _) = nft(&["-s", "list", "ruleset"]);
    let stateless = NftListOptions {
        stateless: true,
        ..plain
    };
    same(
        &format!("{case}: nft -s list ruleset"),
        &out,
        &nft_ruleset_listing(&t, stateless),
    );
    let handles = NftListOptions {
        handles: true,
        ..plain
    };
    for tb in made {
        let (out, err) = nft(&["-a", "list", "table", "ip", tb.name()]);
        same(
            &format!("{case}: nft -a list table ip {}", tb.name()),
            &out,
            &nft_table_listing(&t, tb, handles).unwrap_or_default(),
        );
        assert_eq!(err, nft_table_warning(&t, tb).unwrap_or_default());
    }
}

/// Panics with the lines that differ when `got` is not `want`.
pub fn same(what: &str, want: &str, got: &str) {
    if want == got {
        return;
    }
    let mut diff = String::new();
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i).copied(), g.get(i).copied());
        if a != b {
            diff.push_str(&format!(
                "line {}:\n  nft:    {a:?}\n  hoplab: {b:?}\n",
                i + 1
            ));
        }
    }
    panic!("{what} differs:\n{diff}\nnft:\n{want}\nhoplab:\n{got}");
}

pub fn lines(cmds: &[&str]) -> Vec<Vec<String>> {
    cmds.iter().map(|c| words(c)).collect()
}
