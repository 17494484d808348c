//! `limit rate [over] N/unit [burst B packets|bytes]`: the token bucket of the kernel's
//! `nft_limit.c`, with tokens counted in nanoseconds.
//!
//! A packet costs `unit / rate` nanoseconds (`unit * len / rate` for a byte rate); the
//! bucket holds `unit / rate * burst` (packets) or `unit * (rate + burst) / rate` (bytes),
//! starts full, and refills with the time that passes. A packet that finds enough tokens
//! takes them and is within the rate; one that does not leaves the bucket as it found it
//! (refilled). `over` inverts which of the two matches.

use super::model::Limit;
use crate::time::Instant;

/// `NFT_LIMIT_PKT_BURST_DEFAULT`: a packet limit's burst when none (or 0) is given.
pub const DEFAULT_PACKET_BURST: u64 = 5;

/// One limit statement's bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The statement it was made for: a changed statement gets a new bucket.
    pub limit: Limit,
    /// `tokens_max`: the bucket's size, in nanoseconds.
    max: u64,
    /// Nanoseconds per unit (`unit * NSEC_PER_SEC`).
    nsecs: u64,
    /// What a packet costs, for a packet rate.
    cost: u64,
    tokens: u64,
    /// When the bucket was last read; `None` until the first packet, the bucket being full
    /// (the kernel starts it full at the rule's creation, and tokens beyond the size are
    /// cut, so the first packet finds it full either way).
    last: Option<Instant>,
}

/// Why the kernel refuses a limit (`nft_limit_init`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitError {
    /// A rate of 0 (`EINVAL`).
    ZeroRate,
    /// The unit or burst overflows the kernel's 64-bit arithmetic (`EOVERFLOW`).
    Overflow,
}

impl Bucket {
    /// A full bucket for the statement, sized as `nft_limit_init` sizes it.
    pub fn new(limit: &Limit) -> Result<Bucket, LimitError> {
        if limit.rate == 0 {
            return Err(LimitError::ZeroRate);
        }
        let nsecs = limit
            .per
            .checked_mul(1_000_000_000)
            .ok_or(LimitError::Overflow)?;
        let burst = match (limit.bytes, limit.burst) {
            (false, 0) => DEFAULT_PACKET_BURST,
            (_, b) => b,
        };
        // The kernel keeps the burst in 32 bits.
        let burst = u64::from(u32::try_from(burst).map_err(|_| LimitError::Overflow)?);
        let with_burst = limit.rate.checked_add(burst).ok_or(LimitError::Overflow)?;
        let (max, cost) = if limit.bytes {
            let max = nsecs.checked_mul(with_burst).ok_or(LimitError::Overflow)? / limit.rate;
            (max, 0)
        } else {
            let cost = nsecs / limit.rate;
            (cost.checked_mul(burst).ok_or(LimitError::Overflow)?, cost)
        };
        Ok(Bucket {
            limit: limit.clone(),
            max,
            nsecs,
            cost,
            tokens: max,
            last: None,
        })
    }

    /// `nft_limit_eval` for a packet of `len` bytes at `now`: whether the statement matches
    /// (the packet is within the rate, or beyond it for `over`).
    pub fn matches(&mut self, now: Instant, len: u32) -> bool {
        let cost = match self.limit.bytes {
            // `div64_u64(priv->nsecs * pkt->skb->len, priv->rate)`, wrapping as the kernel's
            // u64 product would for absurd rates.
            true => self.nsecs.wrapping_mul(u64::from(len)) / self.limit.rate,
            false => self.cost,
        };
        let elapsed = self
            .last
            .map_or(self.max, |l| now.saturating_sub(l).nanos());
        let tokens = self.tokens.saturating_add(elapsed).min(self.max);
        self.last = Some(now);
        let within = match tokens.checked_sub(cost) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => {
                self.tokens = tokens;
                false
            }
        };
        within != self.limit.over
    }
}

#[cfg(test)]
#[path = "eval_limit_tests.rs"]
mod tests;
