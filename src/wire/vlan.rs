//! IEEE 802.1Q tags: reading one from a frame, and adding, removing or rewriting it.
//!
//! A tag sits between the source MAC and the EtherType: TPID 0x8100, then the TCI (3 bits of
//! priority, the drop-eligible bit, 12 bits of VLAN id), then the EtherType of what it
//! carries. Every function here takes any bytes without panicking: a frame too short to
//! hold a whole tag is untagged to them.

/// The 802.1Q tag protocol identifier (a C-tag).
pub const TPID_8021Q: u16 = 0x8100;
/// Bytes a tag adds to a frame.
pub const VLAN_HLEN: usize = 4;
/// The highest usable VLAN id (4095 is reserved).
pub const VID_MAX: u16 = 4094;

const MACS: usize = 12;

/// A tag's control information.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tci {
    /// Priority code point (`vlan.priority`), 0..=7.
    pub pcp: u8,
    /// Drop eligible indicator (`vlan.dei`, the former CFI).
    pub dei: bool,
    /// VLAN id (`vlan.id`), 0..=4095; 0 is a priority tag.
    pub vid: u16,
}

impl Tci {
    /// The tag of VLAN `vid` with priority 0, as a bridge or a VLAN device adds it.
    pub fn vid(vid: u16) -> Tci {
        Tci {
            pcp: 0,
            dei: false,
            vid: vid & 0x0fff,
        }
    }

    pub fn from_bits(bits: u16) -> Tci {
        Tci {
            pcp: (bits >> 13) as u8,
            dei: bits & 0x1000 != 0,
            vid: bits & 0x0fff,
        }
    }

    pub fn to_bits(self) -> u16 {
        (u16::from(self.pcp & 7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff)
    }
}

/// The frame's outer 802.1Q tag, if it has one.
#[inline]
pub fn tag(frame: &[u8]) -> Option<Tci> {
    match frame.get(MACS..MACS + VLAN_HLEN + 2) {
        Some(h) if u16::from_be_bytes([h[0], h[1]]) == TPID_8021Q => {
            Some(Tci::from_bits(u16::from_be_bytes([h[2], h[3]])))
        }
        _ => None,
    }
}

/// Whether the frame carries an 802.1Q tag (a test of two bytes).
#[inline]
pub fn is_tagged(frame: &[u8]) -> bool {
    frame.get(MACS..MACS + 2) == Some(&TPID_8021Q.to_be_bytes()[..]) && frame.len() >= 18
}

/// The frame with its outer tag replaced by `tci` (added if it had none), or removed
/// (`None`), written into `out` (cleared first). What follows the tag is copied unchanged.
pub fn retag(frame: &[u8], tci: Option<Tci>, out: &mut Vec<u8>) {
    out.clear();
    let Some(macs) = frame.get(..MACS) else {
        out.extend_from_slice(frame);
        return;
    };
    let rest = match is_tagged(frame) {
        true => &frame[MACS + VLAN_HLEN..],
        false => &frame[MACS..],
    };
    out.extend_from_slice(macs);
    if let Some(t) = tci {
        out.extend_from_slice(&TPID_8021Q.to_be_bytes());
        out.extend_from_slice(&t.to_bits().to_be_bytes());
    }
    out.extend_from_slice(rest);
}

/// Puts a tag in front of the EtherType, in place (a fresh pool buffer has room for one).
pub fn insert_tag(frame: &mut Vec<u8>, tci: Tci) {
    if frame.len() < MACS {
        return;
    }
    let [a, b] = TPID_8021Q.to_be_bytes();
    let [c, d] = tci.to_bits().to_be_bytes();
    frame.splice(MACS..MACS, [a, b, c, d]);
}

/// Whether `frame` already has the tagging `vid` asks for (a tag of that VLAN, or no tag),
/// so that it can leave as it came, uncopied.
pub fn same_tagging(frame: &[u8], vid: Option<u16>) -> bool {
    match (tag(frame), vid) {
        (None, None) => true,
        (Some(t), Some(v)) => t.vid == v,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn untagged() -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(b"payload");
        f
    }

    #[test]
    fn tci_bits_round_trip() {
        let t = Tci {
            pcp: 5,
            dei: true,
            vid: 10,
        };
        assert_eq!(t.to_bits(), 0xb00a);
        assert_eq!(Tci::from_bits(0xb00a), t);
        assert_eq!(Tci::vid(4095).vid, 4095);
        assert_eq!(Tci::vid(20).to_bits(), 20);
    }

    #[test]
    fn adds_reads_and_strips_a_tag() {
        let f = untagged();
        assert_eq!(tag(&f), None);
        let mut t = Vec::new();
        retag(&f, Some(Tci::vid(10)), &mut t);
        assert_eq!(t.len(), f.len() + VLAN_HLEN);
        assert_eq!(&t[12..18], &[0x81, 0x00, 0x00, 0x0a, 0x08, 0x00]);
        assert_eq!(tag(&t), Some(Tci::vid(10)));
        assert!(is_tagged(&t));
        let mut back = Vec::new();
        retag(&t, None, &mut back);
        assert_eq!(back, f);
        // Rewriting a tag keeps one tag.
        let mut other = Vec::new();
        retag(&t, Some(Tci::vid(20)), &mut other);
        assert_eq!(other.len(), t.len());
        assert_eq!(tag(&other).map(|t| t.vid), Some(20));
        assert!(same_tagging(&t, Some(10)) && !same_tagging(&t, Some(20)));
        assert!(same_tagging(&f, None) && !same_tagging(&f, Some(10)));
        let mut g = f.clone();
        insert_tag(&mut g, Tci::vid(10));
        assert_eq!(g, t);
    }

    #[test]
    fn short_frames_are_untagged_and_copied() {
        let mut out = Vec::new();
        for n in 0..18 {
            let mut f = untagged();
            f[12] = 0x81;
            f[13] = 0x00;
            f.truncate(n);
            assert_eq!(tag(&f), None, "{n}");
            assert!(!is_tagged(&f));
            retag(&f, None, &mut out);
            if n >= 12 {
                assert_eq!(out, f);
            }
            retag(&f, Some(Tci::vid(1)), &mut out);
        }
    }
}
