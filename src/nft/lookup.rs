//! Finding the table, chain or set a command names, and the errors nft gives when it is
//! missing: `No such file or directory`, with nft's "did you mean" when a name is close.

use super::lex::Fault;
use super::model::{Ruleset, Table};
use super::parse::Name;
use super::parse_cmd::{ChainId, TableId};

/// nft's `string_distance`, kept as nft computes it (its table and indexes included), so
/// the same names are suggested.
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (la, lb) = (a.len(), b.len());
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let mut d = vec![0usize; (la + 1) * (lb + 1) + 1];
    let idx = |i: usize, j: usize| i * lb + j;
    for i in 0..=la {
        d[idx(i, 0)] = i;
    }
    for j in 0..=lb {
        d[idx(0, j)] = j;
    }
    for i in 1..=la {
        for j in 1..=lb {
            let sub = usize::from(at(a, i) != at(b, j));
            let del = d[idx(i - 1, j)] + 1;
            let ins = d[idx(i, j - 1)] + 1;
            let tra = d[idx(i - 1, j - 1)] + sub;
            let mut v = del.min(ins).min(tra);
            if i > 1 && j > 1 && at(a, i) == at(b, j - 1) && at(a, i - 1) == at(b, j) {
                v = v.min(d[idx(i - 2, j - 2)] + sub);
            }
            d[idx(i, j)] = v;
        }
    }
    d[idx(la, lb)]
}

/// Whether `cand` is close enough to `name` for nft to suggest it.
fn close(name: &str, cand: &str) -> Option<usize> {
    let (la, lb) = (name.len(), cand.len());
    let (max, min) = (la.max(lb), la.min(lb));
    if max <= 1 {
        return None;
    }
    let threshold = if max - min <= 1 {
        max.div_ceil(3).max(1)
    } else {
        (max + 2).div_ceil(3)
    };
    let d = distance(cand, name);
    (d <= threshold).then_some(d)
}

/// The table's index.
pub fn table(rs: &Ruleset, t: &TableId) -> Option<usize> {
    rs.tables
        .iter()
        .position(|x| x.family == t.family && *x.name == *t.name.text)
}

/// The table, or nft's error for a missing one (`prefix` is "Could not process rule: "
/// where the kernel said it, empty where nft's cache did).
pub fn table_or(rs: &Ruleset, t: &TableId, prefix: &str) -> Result<usize, Fault> {
    if let Some(i) = table(rs, t) {
        return Ok(i);
    }
    let mut best: Option<(usize, &Table)> = None;
    for x in &rs.tables {
        if let Some(d) = close(&t.name.text, &x.name)
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, x));
        }
    }
    Err(match best {
        Some((_, x)) => Fault::new(
            format!(
                "No such file or directory; did you mean table \u{2018}{}\u{2019} in family {}?",
                x.name,
                x.family.name()
            ),
            t.name.at,
        ),
        None => Fault::new(format!("{prefix}No such file or directory"), t.name.at),
    })
}

/// The chain's (table, chain) indexes, or the error for a missing table or chain.
pub fn chain_or(rs: &Ruleset, c: &ChainId, prefix: &str) -> Result<(usize, usize), Fault> {
    let ti = table_or(rs, &c.table, prefix)?;
    let t = &rs.tables[ti];
    if let Some(ci) = t.chains.iter().position(|x| *x.name == *c.name.text) {
        return Ok((ti, ci));
    }
    let mut best: Option<(usize, &str)> = None;
    for x in &t.chains {
        if let Some(d) = close(&c.name.text, &x.name)
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, &x.name));
        }
    }
    Err(match best {
        Some((_, n)) => Fault::new(
            format!(
                "No such file or directory; did you mean chain \u{2018}{n}\u{2019} in table {} \u{2018}{}\u{2019}?",
                t.family.name(),
                t.name
            ),
            c.name.at,
        ),
        None => Fault::new(format!("{prefix}No such file or directory"), c.name.at),
    })
}

/// The set's index in its table, or `No such file or directory` at its name.
pub fn set_or(t: &Table, name: &Name, prefix: &str) -> Result<usize, Fault> {
    t.sets
        .iter()
        .position(|s| *s.name == *name.text)
        .ok_or_else(|| Fault::new(format!("{prefix}No such file or directory"), name.at))
}

/// nft's words for a datatype in "datatype mismatch" errors.
pub fn describe(dt: super::expr::DataType) -> &'static str {
    use super::expr::DataType::*;
    match dt {
        Integer(_) => "integer",
        Ipv4Addr => "IPv4 address",
        Ipv6Addr => "IPv6 address",
        EtherAddr => "Ethernet address",
        EtherType => "Ethernet protocol",
        InetProto => "Internet protocol",
        InetService => "internet network service",
        Ifname => "network interface name",
        Iface => "network interface index",
        Mark => "packet mark",
        CtState => "conntrack state",
        CtStatus => "conntrack status",
        CtDir => "conntrack direction",
        TcpFlags => "TCP flag",
        IcmpType => "ICMP type",
        IcmpCode => "icmp code",
        Icmpv6Type => "ICMPv6 type",
        Nfproto => "netfilter protocol",
        Pkttype => "packet type",
        FibAddrType => "fib address type",
        Dscp => "Differentiated Services Code Point",
        Verdict => "netfilter verdict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_as_nft_does() {
        assert!(close("nope2", "d2").is_some());
        assert!(close("t2", "t").is_some());
        assert!(close("filter", "x").is_none());
    }
}
