//! Named chain priorities: which names a family and hook accept (`dstnat` only at
//! prerouting, `srcnat` only at postrouting), and how nft prints a number near one of them
//! (`filter + 7`; more than 10 away it prints the number).

use super::NftFamily;
use super::model::NftHook;

const IP: &[(&str, i32)] = &[
    ("raw", -300),
    ("mangle", -150),
    ("dstnat", -100),
    ("filter", 0),
    ("security", 50),
    ("srcnat", 100),
];
const BRIDGE: &[(&str, i32)] = &[
    ("dstnat", -300),
    ("filter", -200),
    ("out", 100),
    ("srcnat", 300),
];

/// Whether the standard priority `name` may be used by a chain of `family` at `hook`.
fn compatible(family: NftFamily, hook: NftHook, name: &str) -> bool {
    match (family, name) {
        (NftFamily::Bridge, "dstnat") => hook == NftHook::Prerouting,
        (NftFamily::Bridge, "out") => hook == NftHook::Output,
        (NftFamily::Bridge, "srcnat") => hook == NftHook::Postrouting,
        (_, "dstnat") => hook == NftHook::Prerouting,
        (_, "srcnat") => hook == NftHook::Postrouting,
        _ => true,
    }
}

fn table(family: NftFamily) -> &'static [(&'static str, i32)] {
    match family {
        NftFamily::Bridge => BRIDGE,
        NftFamily::Arp | NftFamily::Netdev => &IP[3..4],
        _ => IP,
    }
}

/// The number a standard priority name stands for, if the family and hook accept it.
pub fn standard(family: NftFamily, hook: NftHook, name: &str) -> Option<(&'static str, i32)> {
    table(family)
        .iter()
        .find(|(n, _)| *n == name && compatible(family, hook, n))
        .copied()
}

/// The priority as `nft list` prints it.
pub fn print(family: NftFamily, hook: NftHook, value: i32) -> String {
    for &(name, base) in table(family) {
        if !compatible(family, hook, name) {
            continue;
        }
        let d = value - base;
        if d == 0 {
            return name.to_string();
        }
        if (1..=10).contains(&d) {
            return format!("{name} + {d}");
        }
        if (-10..0).contains(&d) {
            return format!("{name} - {}", -d);
        }
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_near_a_name_print_by_the_name() {
        let p = |f, h, v| print(f, h, v);
        assert_eq!(p(NftFamily::Ip, NftHook::Input, 7), "filter + 7");
        assert_eq!(p(NftFamily::Ip, NftHook::Input, -290), "raw + 10");
        assert_eq!(p(NftFamily::Ip, NftHook::Input, 11), "11");
        assert_eq!(p(NftFamily::Ip, NftHook::Input, 100), "100");
        assert_eq!(p(NftFamily::Ip, NftHook::Postrouting, 100), "srcnat");
        assert_eq!(p(NftFamily::Bridge, NftHook::Forward, -200), "filter");
        assert_eq!(p(NftFamily::Bridge, NftHook::Forward, -300), "-300");
        assert!(standard(NftFamily::Ip, NftHook::Input, "dstnat").is_none());
    }
}
