//! The kernel side of a lab, checked: its TAPs, their addresses and routes, and the
//! namespace. `crate::scenario::taps` resolves it from a lab file; the edge makes it real.

use smoltcp::wire::{EthernetAddress, Ipv4Address, Ipv4Cidr};

/// A kernel-side route through a TAP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelRoute {
    pub dst: Ipv4Cidr,
    pub via: Ipv4Address,
}

impl std::fmt::Display for KernelRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dst.prefix_len() == 0 {
            write!(f, "default via {}", self.via)
        } else {
            write!(f, "{} via {}", self.dst, self.via)
        }
    }
}

/// A TAP, checked.
#[derive(Clone, Debug)]
pub struct TapSpec {
    pub name: String,
    /// Its port's peer in the lab.
    pub plug: crate::link::Endpoint,
    pub mtu: u32,
    pub mac: EthernetAddress,
    pub ip: Option<Ipv4Cidr>,
    pub routes: Vec<KernelRoute>,
    pub existing: bool,
}

/// The kernel side, checked.
#[derive(Clone, Debug, Default)]
pub struct KernelSpec {
    pub netns: Option<String>,
    pub taps: Vec<TapSpec>,
    pub lag_warn: Option<crate::time::Duration>,
}
