//! `-m socket` (revision 3, `socket_mt4_v3`): the packet has a local socket on the router.
//! An established or bound-to-the-address socket matches; a socket listening on 0.0.0.0 is
//! a wildcard and matches only with `--nowildcard`; `--transparent` asks for an
//! `IP_TRANSPARENT` socket, which no program in a lab opens, so it never matches;
//! `--restore-skmark` would copy the socket's mark (always 0 here) to the packet.
//! PREROUTING and INPUT only, as the kernel's hook mask says.

use std::fmt::Write;

use super::Prog;
use super::parse::{Args, Res};
use super::parse_ext::once;
use crate::netfilter::packet::{ConnQuery, Hook, PacketView};

pub(crate) const SOCKET_OPTIONS: &[(&str, u8)] =
    &[("transparent", 0), ("nowildcard", 0), ("restore-skmark", 0)];

/// `xt_socket_mtinfo3`'s flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SocketMatch {
    pub transparent: bool,
    pub nowildcard: bool,
    pub restore_skmark: bool,
}

impl SocketMatch {
    pub fn parse(
        &mut self,
        p: &Prog,
        seen: &mut Vec<&'static str>,
        opt: &'static str,
        inv: bool,
        _args: &mut Args,
    ) -> Res<()> {
        once(p, "socket", seen, opt, inv, false)?;
        match opt {
            "transparent" => self.transparent = true,
            "nowildcard" => self.nowildcard = true,
            _ => self.restore_skmark = true,
        }
        Ok(())
    }

    /// As `-L` prints it.
    pub fn print(&self, out: &mut String) {
        out.push_str(" socket");
        self.save(out);
    }

    /// As `-S` writes it, after `-m socket`.
    pub fn save(&self, out: &mut String) {
        for (on, word) in [
            (self.transparent, "--transparent"),
            (self.nowildcard, "--nowildcard"),
            (self.restore_skmark, "--restore-skmark"),
        ] {
            if on {
                let _ = write!(out, " {word}");
            }
        }
    }

    /// `socket_match`: a TCP or UDP packet with a local socket, a wildcard listener only
    /// with `--nowildcard`, a transparent one only (none exists) with `--transparent`.
    pub fn matches(&self, pkt: &PacketView, conns: &dyn ConnQuery) -> bool {
        if !matches!(pkt.proto, 6 | 17) || pkt.fragment {
            return false;
        }
        let (Some(sport), Some(dport)) = (pkt.sport, pkt.dport) else {
            return false;
        };
        match conns.local_socket(pkt.proto, (pkt.src, sport), (pkt.dst, dport)) {
            None => false,
            Some(wildcard) => (!wildcard || self.nowildcard) && !self.transparent,
        }
    }

    /// PREROUTING and INPUT.
    pub fn hooks(&self) -> u8 {
        super::validate::hook_bit(Hook::Prerouting) | super::validate::hook_bit(Hook::Input)
    }
}

#[cfg(test)]
mod tests {
    use crate::netfilter::rules::testing::{err1, ok, tables};

    /// `iptables -t mangle` listings from iptables 1.8.9 over Linux 6.x.
    #[test]
    fn lists_as_iptables_does() {
        let rules = [
            "iptables -t mangle -A PREROUTING -p tcp -m socket -j ACCEPT",
            "iptables -t mangle -A PREROUTING -p tcp -m socket --transparent -j ACCEPT",
            "iptables -t mangle -A PREROUTING -p tcp -m socket --nowildcard -j ACCEPT",
            "iptables -t mangle -A PREROUTING -p tcp -m socket --restore-skmark -j ACCEPT",
            "iptables -t mangle -A PREROUTING -p tcp -m socket --transparent --nowildcard --restore-skmark -j ACCEPT",
            "iptables -t mangle -A INPUT -m socket -j ACCEPT",
        ];
        let mut t = tables(&rules);
        assert_eq!(
            ok(&mut t, "iptables -t mangle -S"),
            "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n\
             -A PREROUTING -p tcp -m socket -j ACCEPT\n\
             -A PREROUTING -p tcp -m socket --transparent -j ACCEPT\n\
             -A PREROUTING -p tcp -m socket --nowildcard -j ACCEPT\n\
             -A PREROUTING -p tcp -m socket --restore-skmark -j ACCEPT\n\
             -A PREROUTING -p tcp -m socket --transparent --nowildcard --restore-skmark -j ACCEPT\n\
             -A INPUT -m socket -j ACCEPT\n"
        );
        assert_eq!(
            ok(&mut t, "iptables -t mangle -L PREROUTING"),
            "Chain PREROUTING (policy ACCEPT)\n\
             target     prot opt source               destination         \n\
             ACCEPT     tcp  --  anywhere             anywhere             socket\n\
             ACCEPT     tcp  --  anywhere             anywhere             socket --transparent\n\
             ACCEPT     tcp  --  anywhere             anywhere             socket --nowildcard\n\
             ACCEPT     tcp  --  anywhere             anywhere             socket --restore-skmark\n\
             ACCEPT     tcp  --  anywhere             anywhere             socket --transparent --nowildcard --restore-skmark\n"
        );
        // OUTPUT is not in the match's hook mask; an option it does not have is unknown.
        assert_eq!(
            err1(&mut t, "iptables -A OUTPUT -m socket -j ACCEPT"),
            "iptables v1.8.10 (nf_tables):  RULE_APPEND failed (Invalid argument): rule in chain OUTPUT"
        );
        assert_eq!(
            err1(&mut t, "iptables -A INPUT -m socket --bogus"),
            "iptables v1.8.10 (nf_tables): unknown option \"--bogus\""
        );
    }
}
