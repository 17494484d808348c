//! TCP connection tracking states and the kernel's transition table
//! (`tcp_conntracks` in `nf_conntrack_proto_tcp.c`), indexed by direction, segment kind and
//! current state.

use crate::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpState {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
    SynSent2,
}

/// What the table says for a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    To(TcpState),
    /// Out of the state machine's expectations: the packet is INVALID.
    Invalid,
    /// Accepted without changing state.
    Ignore,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::SynSent2 => "SYN_SENT2",
        }
    }

    /// `nf_conntrack_tcp_timeout_*`.
    pub fn timeout(self) -> Duration {
        Duration::from_secs(match self {
            TcpState::None => 0,
            TcpState::SynSent | TcpState::SynSent2 => 120,
            TcpState::SynRecv => 60,
            TcpState::Established => 432_000,
            TcpState::FinWait => 120,
            TcpState::CloseWait => 60,
            TcpState::LastAck => 30,
            TcpState::TimeWait => 120,
            TcpState::Close => 10,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The segment kinds the table distinguishes, from its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment {
    Syn,
    SynAck,
    Fin,
    Ack,
    Rst,
    None,
}

impl Segment {
    /// Classifies by flags as `get_conntrack_index` does: RST, then SYN(+ACK), FIN, ACK.
    pub fn of(flags: u8) -> Segment {
        let (fin, syn, rst, ack) = (
            flags & 0x01 != 0,
            flags & 0x02 != 0,
            flags & 0x04 != 0,
            flags & 0x10 != 0,
        );
        if rst {
            Segment::Rst
        } else if syn {
            if ack { Segment::SynAck } else { Segment::Syn }
        } else if fin {
            Segment::Fin
        } else if ack {
            Segment::Ack
        } else {
            Segment::None
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

use Step::{Ignore as IG, Invalid as IV};
use TcpState::*;

const fn to(s: TcpState) -> Step {
    Step::To(s)
}

// Columns: sNO sSS sSR sES sFW sCW sLA sTW sCL sS2.
const ORIGINAL: [[Step; 10]; 6] = [
    /* syn */
    [
        to(SynSent),
        to(SynSent),
        IG,
        IG,
        IG,
        IG,
        IG,
        to(SynSent),
        to(SynSent),
        to(SynSent2),
    ],
    /* synack */
    [IV, IV, to(SynRecv), IV, IV, IV, IV, IV, IV, to(SynRecv)],
    /* fin */
    [
        IV,
        IV,
        to(FinWait),
        to(FinWait),
        to(LastAck),
        to(LastAck),
        to(LastAck),
        to(TimeWait),
        to(Close),
        IV,
    ],
    /* ack */
    [
        to(Established),
        IV,
        to(Established),
        to(Established),
        to(CloseWait),
        to(CloseWait),
        to(TimeWait),
        to(TimeWait),
        to(Close),
        IV,
    ],
    /* rst */
    [
        IV,
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
    ],
    /* none */
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

const REPLY: [[Step; 10]; 6] = [
    /* syn */
    [
        IV,
        to(SynSent2),
        IV,
        IV,
        IV,
        IV,
        IV,
        to(SynSent),
        IV,
        to(SynSent2),
    ],
    /* synack */
    [IV, to(SynRecv), IG, IG, IG, IG, IG, IG, IG, to(SynRecv)],
    /* fin */
    [
        IV,
        IV,
        to(FinWait),
        to(FinWait),
        to(LastAck),
        to(LastAck),
        to(LastAck),
        to(TimeWait),
        to(Close),
        IV,
    ],
    /* ack */
    [
        IV,
        IG,
        to(SynRecv),
        to(Established),
        to(CloseWait),
        to(CloseWait),
        to(TimeWait),
        to(TimeWait),
        to(Close),
        IG,
    ],
    /* rst */
    [
        IV,
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
        to(Close),
    ],
    /* none */
    [IV, IV, IV, IV, IV, IV, IV, IV, IV, IV],
];

/// The transition for a segment of `kind` in direction `reply` from `state`.
pub fn step(state: TcpState, reply: bool, kind: Segment) -> Step {
    let table = if reply { &REPLY } else { &ORIGINAL };
    table[kind.index()][state.index()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_and_close_walk_the_table() {
        let mut s = TcpState::None;
        for (reply, flags, want) in [
            (false, 0x02, SynSent),
            (true, 0x12, SynRecv),
            (false, 0x10, Established),
            (false, 0x11, FinWait),
            (true, 0x10, CloseWait),
            (true, 0x11, LastAck),
            (false, 0x10, TimeWait),
        ] {
            match step(s, reply, Segment::of(flags)) {
                Step::To(n) => s = n,
                other => panic!("{s:?} {reply} {flags:#x}: {other:?}"),
            }
            assert_eq!(s, want);
        }
    }

    #[test]
    fn a_reset_answering_a_syn_closes() {
        assert_eq!(step(SynSent, true, Segment::of(0x14)), Step::To(Close));
        assert_eq!(
            step(TcpState::None, false, Segment::of(0x01)),
            Step::Invalid
        );
        assert_eq!(
            step(TcpState::None, false, Segment::of(0x10)),
            Step::To(Established)
        );
    }
}
