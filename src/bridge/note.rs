//! The bridge's own decision notes (see `sim::NodeNote`): what it learned, where it sent a
//! frame. The engine keeps them packed in two words and has them described only when a
//! capture comment or a trace reads them.

use std::borrow::Cow;

use smoltcp::wire::EthernetAddress;

use crate::sim::NodeNote;
use crate::wire::Mac;

/// One decision of a bridge about one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BridgeNote {
    /// It learned `mac` on a port.
    Learned { mac: EthernetAddress, port: u16 },
    /// A known `mac` moved from one port to another.
    Moved {
        mac: EthernetAddress,
        from: u16,
        to: u16,
    },
    /// It could not learn `mac`: its FDB is at capacity.
    FdbFull { mac: EthernetAddress },
    /// It sent the frame out of one port (destination known).
    Forwarded { port: u16 },
    /// It sent the frame out of every port but the ingress (`ports` of them).
    Flooded { ports: u32, unknown_unicast: bool },
}

fn mac_word(mac: EthernetAddress) -> u64 {
    let mut b = [0u8; 8];
    b[..6].copy_from_slice(&mac.0);
    u64::from_le_bytes(b)
}

fn word_mac(w: u64) -> EthernetAddress {
    let b = w.to_le_bytes();
    EthernetAddress([b[0], b[1], b[2], b[3], b[4], b[5]])
}

impl NodeNote for BridgeNote {
    /// Word 0: the variant in the low byte, then port numbers (or the flood's port count and
    /// kind); word 1: the MAC.
    fn pack(self) -> [u64; 2] {
        let port = |p: u16, shift: u32| u64::from(p) << shift;
        match self {
            BridgeNote::Learned { mac, port: p } => [port(p, 8), mac_word(mac)],
            BridgeNote::Moved { mac, from, to } => {
                [1 | port(from, 8) | port(to, 24), mac_word(mac)]
            }
            BridgeNote::FdbFull { mac } => [2, mac_word(mac)],
            BridgeNote::Forwarded { port: p } => [3 | port(p, 8), 0],
            BridgeNote::Flooded {
                ports,
                unknown_unicast,
            } => [4 | (u64::from(unknown_unicast) << 8), u64::from(ports)],
        }
    }

    fn unpack([w, m]: [u64; 2]) -> BridgeNote {
        let port = |shift: u32| (w >> shift) as u16;
        match w & 0xff {
            0 => BridgeNote::Learned {
                mac: word_mac(m),
                port: port(8),
            },
            1 => BridgeNote::Moved {
                mac: word_mac(m),
                from: port(8),
                to: port(24),
            },
            2 => BridgeNote::FdbFull { mac: word_mac(m) },
            3 => BridgeNote::Forwarded { port: port(8) },
            _ => BridgeNote::Flooded {
                ports: m as u32,
                unknown_unicast: (w >> 8) & 1 == 1,
            },
        }
    }

    fn describe_into<'a>(&self, out: &mut String, port_name: &dyn Fn(u16) -> Cow<'a, str>) {
        use std::fmt::Write;
        match *self {
            BridgeNote::Forwarded { port } => {
                out.push_str("forwarded to ");
                out.push_str(&port_name(port));
            }
            BridgeNote::Learned { mac, port } => {
                let _ = write!(out, "learned {} on {}", Mac(mac), port_name(port));
            }
            BridgeNote::Moved { mac, from, to } => {
                let _ = write!(
                    out,
                    "{} moved from {} to {}",
                    Mac(mac),
                    port_name(from),
                    port_name(to)
                );
            }
            BridgeNote::FdbFull { mac } => {
                let _ = write!(out, "not learned {}: FDB full", Mac(mac));
            }
            BridgeNote::Flooded {
                ports,
                unknown_unicast,
            } => {
                let what = if unknown_unicast {
                    "unknown unicast"
                } else {
                    "broadcast/multicast"
                };
                let s = if ports == 1 { "" } else { "s" };
                let _ = write!(out, "flooded ({what}) to {ports} port{s}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_come_back_from_their_words() {
        let mac = EthernetAddress([2, 0xab, 3, 4, 5, 0xff]);
        for n in [
            BridgeNote::Learned { mac, port: 4095 },
            BridgeNote::Moved {
                mac,
                from: 7,
                to: u16::MAX,
            },
            BridgeNote::FdbFull { mac },
            BridgeNote::Forwarded { port: 300 },
            BridgeNote::Flooded {
                ports: 70_000,
                unknown_unicast: true,
            },
            BridgeNote::Flooded {
                ports: 1,
                unknown_unicast: false,
            },
        ] {
            assert_eq!(BridgeNote::unpack(n.pack()), n);
        }
    }

    #[test]
    fn descriptions_name_ports() {
        let name = |p: u16| Cow::Owned(format!("veth{p}"));
        let mut out = String::new();
        BridgeNote::Moved {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            from: 1,
            to: 2,
        }
        .describe_into(&mut out, &name);
        assert_eq!(out, "02:00:00:00:00:01 moved from veth1 to veth2");
        out.clear();
        BridgeNote::Flooded {
            ports: 1,
            unknown_unicast: true,
        }
        .describe_into(&mut out, &name);
        assert_eq!(out, "flooded (unknown unicast) to 1 port");
    }
}
