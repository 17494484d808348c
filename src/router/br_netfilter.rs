//! br_netfilter: a bridge whose device is one of the router's interfaces calls into the
//! router's netfilter for each frame it forwards port to port ([`Node::bridge_forward`],
//! through the engine's [`crate::sim::Ctx::bridge_forward`]), as Linux's bridge calls the
//! hooks of the namespace it belongs to. IPv4 frames pass PREROUTING, FORWARD and
//! POSTROUTING with the bridge device as both interfaces, are conntracked, and NAT applies
//! (a reply un-NATed on the way); IPv6 frames likewise through ip6tables when
//! `bridge-nf-call-ip6tables` is on (neighbour discovery included, as
//! `br_nf_pre_routing_ipv6` passes it). A DNAT to somewhere off the bridge is not
//! re-routed: the frame stays bridged. The `bridge` family's nft chains run around
//! br_netfilter's own hook by priority, for every IP frame, whether or not it is on.
//!
//! [`Node::bridge_forward`]: crate::sim::Node::bridge_forward

use smoltcp::wire::{EthernetFrame, EthernetProtocol, Ipv4Packet};

use super::{Filtering, RouterEnv, RouterIface};
use crate::link::ETH_HEADER_LEN;
use crate::netfilter::hooks::{Cx, Fate, Notes, Rules};
use crate::netfilter::{Hook, PacketView, Verdict};
use crate::time::Instant;

impl Filtering {
    /// Whether bridged frames are looked at now: br_netfilter on for either family, or
    /// `bridge` chains loaded. When not, the bridge forwards without copying.
    pub(super) fn bridge_filtering(&self) -> bool {
        self.bridge_nf || self.bridge_nf6 || !self.bridge_chains.is_empty()
    }

    /// A frame the bridge whose device is `dev` (one of `ifaces`) forwards from port
    /// `ports.0` to `ports.1` (see the module's doc): false drops it.
    pub(super) fn bridge_forward(
        &mut self,
        ifaces: &[RouterIface],
        dev: &str,
        now: Instant,
        frame: &mut [u8],
        ports: (&str, &str),
    ) -> bool {
        let ethertype = EthernetFrame::new_checked(&frame[..]).map(|e| e.ethertype());
        let v6 = match ethertype {
            Ok(EthernetProtocol::Ipv4) => false,
            Ok(EthernetProtocol::Ipv6) => true,
            _ => return true,
        };
        // br_netfilter on for the frame's family; without it only the `bridge` chains see it.
        let brnf = if v6 { self.bridge_nf6 } else { self.bridge_nf };
        if !brnf && self.bridge_chains.is_empty() {
            return true;
        }
        let ip = &frame[ETH_HEADER_LEN..];
        let malformed = match v6 {
            false => Ipv4Packet::new_checked(ip).is_err(),
            true => smoltcp::wire::Ipv6Packet::new_checked(ip).is_err(),
        };
        if malformed {
            return false;
        }
        // A bridged frame has no route of the router's (TCPMSS leaves it alone).
        let env = RouterEnv(ifaces, None, None);
        let Filtering {
            nf,
            rules,
            bridge_chains,
            ..
        } = self;
        // The `bridge` chains of one hook on one side of br_netfilter's own hook.
        let bridged = |hook: Hook, before: bool, frame: &[u8], rules: &mut dyn Rules| {
            // No chain there: the frame is not read for nothing.
            if !bridge_chains.iter().any(|c| c.runs(hook, before)) {
                return true;
            }
            let mut hdr = [0u8; ETH_HEADER_LEN];
            hdr.copy_from_slice(&frame[..ETH_HEADER_LEN]);
            let out = (hook != Hook::Prerouting).then_some(ports.1);
            let ip = &frame[ETH_HEADER_LEN..];
            let Some(pkt) = crate::netfilter::hooks::view(ip, Some(ports.0), out, None, &env)
            else {
                return false;
            };
            let pkt = PacketView {
                mac: Some(hdr),
                ..pkt
            };
            bridge_chains_pass(rules, bridge_chains, hook, before, now, &pkt)
        };
        if !brnf {
            return [Hook::Prerouting, Hook::Forward, Hook::Postrouting]
                .into_iter()
                .all(|h| bridged(h, true, frame, rules) && bridged(h, false, frame, rules));
        }
        if !bridged(Hook::Prerouting, true, frame, rules) {
            return false;
        }
        let mut cx = Cx {
            now,
            env: &env,
            rules,
            mac: None,
            physdev: Some((ports.0, None)),
        };
        let (out, mut tr) = nf.prerouting(&mut cx, &mut frame[ETH_HEADER_LEN..], dev, None);
        if out.fate != Fate::Continue
            || !bridged(Hook::Prerouting, false, frame, &mut *cx.rules)
            || !bridged(Hook::Forward, true, frame, &mut *cx.rules)
        {
            return false;
        }
        cx.physdev = Some((ports.0, Some(ports.1)));
        // LOG lines of a bridged frame are in dmesg; its notes are not the router's.
        let ip = &mut frame[ETH_HEADER_LEN..];
        if nf.forward(&mut cx, ip, &mut tr, dev, dev).fate != Fate::Continue
            || !bridged(Hook::Forward, false, frame, &mut *cx.rules)
            || !bridged(Hook::Postrouting, true, frame, &mut *cx.rules)
        {
            return false;
        }
        let ip = &mut frame[ETH_HEADER_LEN..];
        nf.postrouting(&mut cx, ip, &mut tr, (Some(dev), dev), None)
            .fate
            == Fate::Continue
    }
}

/// A base chain of an nft `bridge` table, where the bridge's hook runs it.
#[derive(Clone, Copy, Debug)]
pub struct BridgeChain {
    pub hook: Hook,
    pub priority: i32,
    pub chain: u32,
}

impl BridgeChain {
    /// Whether the chain is on `hook`, below br_netfilter's priority there (`before`) or not.
    fn runs(&self, hook: Hook, before: bool) -> bool {
        self.hook == hook && (self.priority < brnf_priority(hook)) == before
    }
}

/// br_netfilter's own hook priorities on the bridge hooks (`NF_BR_PRI_BRNF`, IPv4 forward
/// one below, postrouting last): `bridge` chains below them run first.
fn brnf_priority(hook: Hook) -> i32 {
    match hook {
        Hook::Forward => -1,
        Hook::Postrouting => i32::MAX,
        _ => 0,
    }
}

/// Runs the `bridge` chains on `hook` whose priority is below (`before`) or at or above
/// br_netfilter's: false when one drops or rejects the frame.
fn bridge_chains_pass(
    rules: &mut dyn Rules,
    chains: &[BridgeChain],
    hook: Hook,
    before: bool,
    now: Instant,
    pkt: &PacketView<'_>,
) -> bool {
    for c in chains.iter().filter(|c| c.runs(hook, before)) {
        let mut notes = Notes::default();
        let out = rules.run_nft(
            c.chain,
            hook,
            pkt,
            now,
            &crate::netfilter::NoConns,
            &mut notes,
        );
        if matches!(out.verdict, Verdict::Drop | Verdict::Reject(_)) {
            return false;
        }
    }
    true
}
