use super::*;
use crate::time::Duration;

fn limit(rate: u64, per: u64, bytes: bool, burst: u64, over: bool) -> Limit {
    Limit {
        rate,
        per,
        bytes,
        burst,
        over,
    }
}

fn at(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

#[test]
fn a_packet_rate_lets_the_burst_through_then_one_per_interval() {
    // limit rate 10/second (burst 5): 100 ms a packet, a bucket of 500 ms.
    let mut b = Bucket::new(&limit(10, 1, false, 5, false)).unwrap();
    let passed: Vec<bool> = (0..7).map(|_| b.matches(at(1000), 60)).collect();
    assert_eq!(passed, [true, true, true, true, true, false, false]);
    assert!(!b.matches(at(1099), 60));
    assert!(b.matches(at(1100), 60));
    assert!(!b.matches(at(1100), 60));
    // A long pause refills the bucket to its size, not beyond.
    let later: Vec<bool> = (0..6).map(|_| b.matches(at(60_000), 60)).collect();
    assert_eq!(later, [true, true, true, true, true, false]);
}

#[test]
fn a_missed_packet_keeps_the_refill() {
    // The kernel stores the refilled tokens even when the packet finds too few.
    let mut b = Bucket::new(&limit(10, 1, false, 1, false)).unwrap();
    assert!(b.matches(at(0), 60));
    assert!(!b.matches(at(50), 60));
    assert!(b.matches(at(100), 60));
}

#[test]
fn burst_zero_is_the_default_five_for_packets() {
    let mut b = Bucket::new(&limit(1, 60, false, 0, false)).unwrap();
    let passed = (0..6).filter(|_| b.matches(at(0), 60)).count();
    assert_eq!(passed, 5);
}

#[test]
fn over_matches_what_exceeds_the_rate() {
    let mut b = Bucket::new(&limit(2, 1, false, 1, true)).unwrap();
    assert!(!b.matches(at(0), 60));
    assert!(b.matches(at(0), 60));
    assert!(!b.matches(at(500), 60));
}

#[test]
fn a_byte_rate_costs_by_length_and_holds_rate_plus_burst() {
    // limit rate 1000 bytes/second burst 500 bytes: a bucket of 1.5 s, 1 ms a byte.
    let mut b = Bucket::new(&limit(1000, 1, true, 500, false)).unwrap();
    assert!(b.matches(at(0), 1000));
    assert!(b.matches(at(0), 500));
    assert!(!b.matches(at(0), 1));
    assert!(b.matches(at(100), 100));
    assert!(!b.matches(at(100), 1));
    // With no burst, one second's worth.
    let mut b = Bucket::new(&limit(1000, 1, true, 0, false)).unwrap();
    assert!(b.matches(at(0), 1000));
    assert!(!b.matches(at(0), 1));
}

#[test]
fn the_kernel_refuses_a_zero_rate_and_overflows() {
    assert_eq!(
        Bucket::new(&limit(0, 1, false, 5, false)),
        Err(LimitError::ZeroRate)
    );
    assert_eq!(
        Bucket::new(&limit(1, u64::MAX, false, 5, false)),
        Err(LimitError::Overflow)
    );
    assert_eq!(
        Bucket::new(&limit(u64::MAX, 1, true, 5, false)),
        Err(LimitError::Overflow)
    );
}
