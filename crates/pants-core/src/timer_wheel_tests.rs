//! Tests of the timer wheel (`timer_wheel.rs`).

use super::*;
use std::collections::HashMap;
use std::time::Instant;

/// A wheel whose timers carry a value, as the tests name them.
#[derive(Default)]
struct Valued {
    wheel: TimerWheel,
    values: HashMap<TimerKey, u32>,
    keys: Vec<TimerKey>,
}

impl Valued {
    fn new() -> Self {
        Self::default()
    }

    fn insert(&mut self, deadline: u64, value: u32) -> TimerKey {
        let key = self.wheel.insert(deadline);
        self.values.insert(key, value);
        key
    }

    fn cancel(&mut self, key: TimerKey) -> Option<u32> {
        self.wheel.cancel(key).then(|| self.values.remove(&key).expect("a value per key"))
    }

    fn advance(&mut self, now: u64, out: &mut Vec<u32>) {
        self.keys.clear();
        self.wheel.advance(now, &mut self.keys);
        out.extend(self.keys.iter().map(|key| self.values.remove(key).expect("a value per key")));
    }
}

impl std::ops::Deref for Valued {
    type Target = TimerWheel;

    fn deref(&self) -> &TimerWheel {
        &self.wheel
    }
}

/// SplitMix64: small deterministic PRNG for tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    /// Random value below `2^k` for a random `k` in `1..=max_bits`.
    fn magnitude(&mut self, max_bits: u64) -> u64 {
        let bits = 1 + self.below(max_bits);
        self.below(1u64 << bits)
    }
}

/// Values sorted by (deadline, insertion index), i.e. the expected firing order.
fn reference_order(deadlines: &[u64]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..deadlines.len() as u32).collect();
    order.sort_by_key(|&i| (deadlines[i as usize], i));
    order
}

fn drain(wheel: &mut Valued, now: u64) -> Vec<u32> {
    let mut out = Vec::new();
    wheel.advance(now, &mut out);
    out
}

#[test]
fn fires_in_deadline_order_across_levels() {
    let mut rng = Rng(1);
    let mut wheel = Valued::new();
    // Spread deadlines over every level: pick a random magnitude first.
    let deadlines: Vec<u64> = (0..5000).map(|_| rng.magnitude(36)).collect();
    for (i, &d) in deadlines.iter().enumerate() {
        wheel.insert(d, i as u32);
    }
    let mut fired = Vec::new();
    let mut now = 0;
    while !wheel.is_empty() {
        now += rng.below(1 << 33);
        wheel.advance(now, &mut fired);
    }
    assert_eq!(fired, reference_order(&deadlines));
}

#[test]
fn equal_deadlines_fire_in_insertion_order() {
    let mut wheel = Valued::new();
    // First group sits on level 2 at insert time, is cascaded twice.
    for v in 0..10 {
        wheel.insert(5000, v);
    }
    assert!(drain(&mut wheel, 4100).is_empty());
    // Second group goes straight to a lower level after the first cascade.
    for v in 10..20 {
        wheel.insert(5000, v);
    }
    assert!(drain(&mut wheel, 4999).is_empty());
    for v in 20..30 {
        wheel.insert(5000, v);
    }
    assert_eq!(drain(&mut wheel, 5000), (0..30).collect::<Vec<u32>>());
}

#[test]
fn cancel_before_firing_removes_timer() {
    let mut wheel = Valued::new();
    let a = wheel.insert(10, 1);
    let b = wheel.insert(100_000, 2);
    wheel.insert(10, 3);
    assert_eq!(wheel.cancel(a), Some(1));
    assert_eq!(wheel.cancel(b), Some(2));
    assert_eq!(wheel.len(), 1);
    assert_eq!(drain(&mut wheel, 1_000_000), vec![3]);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
}

#[test]
fn cancel_after_firing_or_twice_returns_false() {
    let mut wheel = TimerWheel::new();
    let fired = wheel.insert(5);
    let cancelled = wheel.insert(50);
    let mut out = Vec::new();
    wheel.advance(5, &mut out);
    assert_eq!(out, vec![fired]);
    // Fired in the latest advance: its caller may not have run it yet.
    assert!(wheel.cancel(fired));
    assert!(!wheel.cancel(fired), "second cancel");
    assert!(wheel.cancel(cancelled));
    assert!(!wheel.cancel(cancelled), "second cancel");
    assert!(wheel.is_empty());
    let again = wheel.insert(60);
    wheel.advance(6, &mut out);
    assert!(!wheel.cancel(fired), "fired before the latest advance");
    assert!(wheel.cancel(again));
}

#[test]
fn stale_key_after_slot_reuse_returns_none() {
    let mut wheel = Valued::new();
    let old = wheel.insert(7, 1);
    assert_eq!(wheel.cancel(old), Some(1));
    let new = wheel.insert(7, 2);
    assert_eq!(new.index(), old.index(), "a cancelled cell is reused at once");
    assert_ne!(old, new);
    assert_eq!(wheel.cancel(old), None);
    assert_eq!(wheel.len(), 1);
    assert_eq!(drain(&mut wheel, 7), vec![2]);
    drain(&mut wheel, 8);
    // Reused after firing too, once the next advance has freed it.
    let newer = wheel.insert(9, 3);
    assert_eq!(newer.index(), new.index());
    assert_eq!(wheel.cancel(new), None);
    assert_eq!(wheel.cancel(newer), Some(3));
}

#[test]
fn fired_cells_are_reused_only_after_the_next_advance() {
    let mut wheel = TimerWheel::new();
    let first: Vec<TimerKey> = (0..3).map(|_| wheel.insert(1)).collect();
    let mut out = Vec::new();
    wheel.advance(1, &mut out);
    assert_eq!(out, first);
    // Timers scheduled while the batch runs get other cells.
    let during = wheel.insert(2);
    assert!(first.iter().all(|key| key.index() != during.index()));
    out.clear();
    wheel.advance(2, &mut out);
    assert_eq!(out, vec![during]);
    let after = wheel.insert(3);
    assert!(first.iter().any(|key| key.index() == after.index()), "freed by the second advance");
}

#[test]
fn keys_round_trip_through_bits() {
    let mut wheel = TimerWheel::new();
    let key = wheel.insert(10);
    assert_eq!(TimerKey::from_bits(key.to_bits()), Some(key));
    assert!(key.to_bits() < 1 << 53);
    assert_eq!(TimerKey::from_bits(u64::MAX), None);
}

#[test]
fn next_deadline_is_a_lower_bound_and_exact_in_level_zero() {
    let mut rng = Rng(2);
    let mut wheel = Valued::new();
    let mut pending: Vec<(u64, TimerKey)> = Vec::new();
    for _ in 0..2000 {
        let d = wheel.now() + 1 + rng.magnitude(40);
        pending.push((d, wheel.insert(d, 0)));
        if rng.below(3) == 0 {
            let victim = pending.swap_remove(rng.below(pending.len() as u64) as usize);
            assert!(wheel.cancel(victim.1).is_some());
        }
        let Some(earliest) = pending.iter().map(|p| p.0).min() else {
            assert_eq!(wheel.next_deadline(), None);
            continue;
        };
        let next = wheel.next_deadline().unwrap();
        assert!(next <= earliest, "next {next} > earliest {earliest}");
        assert!(next >= wheel.now());
        if earliest >> SLOT_BITS == wheel.now() >> SLOT_BITS {
            assert_eq!(next, earliest, "level 0 bound must be exact");
        }
        if rng.below(4) == 0 {
            let to = wheel.now() + rng.below(earliest - wheel.now() + 100);
            let fired = drain(&mut wheel, to).len();
            let before = pending.len();
            pending.retain(|p| p.0 > to);
            assert_eq!(fired, before - pending.len());
        }
    }
}

#[test]
fn far_future_deadlines_fire() {
    let mut wheel = Valued::new();
    const SPAN: u64 = 1 << 36; // range of the six levels
    let deadlines = [SPAN << 4, SPAN + 1, SPAN << 1, (1 << 50) + 3, u64::MAX, SPAN];
    for (i, &d) in deadlines.iter().enumerate() {
        wheel.insert(d, i as u32);
    }
    assert_eq!(wheel.next_deadline(), Some(SPAN));
    assert!(drain(&mut wheel, SPAN - 1).is_empty());
    assert_eq!(drain(&mut wheel, SPAN), vec![5]);
    assert_eq!(drain(&mut wheel, SPAN + 1), vec![1]);
    assert_eq!(drain(&mut wheel, (1 << 50) + 2), vec![2, 0]);
    assert_eq!(drain(&mut wheel, (1 << 50) + 3), vec![3]);
    assert_eq!(drain(&mut wheel, u64::MAX - 1), Vec::<u32>::new());
    assert_eq!(drain(&mut wheel, u64::MAX), vec![4]);
    assert!(wheel.is_empty());
}

#[test]
fn single_step_advance_matches_one_big_jump() {
    let mut rng = Rng(3);
    let mut stepped = Valued::new();
    let mut jumped = Valued::new();
    let deadlines: Vec<u64> = (0..3000).map(|_| rng.below(300_000)).collect();
    for (i, &d) in deadlines.iter().enumerate() {
        stepped.insert(d, i as u32);
        jumped.insert(d, i as u32);
    }
    let mut by_step = Vec::new();
    for t in 0..=300_000 {
        stepped.advance(t, &mut by_step);
    }
    assert_eq!(by_step, drain(&mut jumped, 300_000));
    assert_eq!(by_step, reference_order(&deadlines));
}

#[test]
fn past_deadline_fires_on_next_advance() {
    let mut wheel = Valued::new();
    wheel.advance(1000, &mut Vec::new());
    wheel.insert(1003, 0);
    wheel.insert(500, 1);
    wheel.insert(1000, 2);
    assert_eq!(wheel.next_deadline(), Some(1000));
    // A smaller `now` is treated as the current time.
    assert_eq!(drain(&mut wheel, 10), vec![1, 2]);
    assert_eq!(wheel.now(), 1000);
    assert_eq!(drain(&mut wheel, 1003), vec![0]);
}

#[test]
fn far_jump_with_few_timers_is_fast() {
    let mut wheel = Valued::new();
    for i in 0..64 {
        wheel.insert(1_000_000_000 - i * 15_485_863, i as u32);
    }
    let start = Instant::now();
    let fired = drain(&mut wheel, 1_000_000_000);
    assert_eq!(fired, (0..64).rev().collect::<Vec<u32>>());
    assert!(start.elapsed().as_millis() < 100);
}

#[test]
fn million_timers_with_cancellations() {
    const COUNT: usize = 1_000_000;
    let mut rng = Rng(4);
    let start = Instant::now();
    let mut wheel = Valued::new();
    let mut deadlines = Vec::with_capacity(COUNT);
    let mut keys = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let d = rng.below(1 << 26);
        deadlines.push(d);
        keys.push(wheel.insert(d, i as u32));
    }
    // Deadlines are random, so every 10th timer is a random 10% sample.
    let cancelled = |i: u32| i % 10 == 7;
    for i in (0..COUNT as u32).filter(|&i| cancelled(i)) {
        assert_eq!(wheel.cancel(keys[i as usize]), Some(i));
    }
    assert_eq!(wheel.len(), COUNT - COUNT / 10);
    let mut fired = Vec::with_capacity(COUNT);
    let mut now = 0;
    while now < 1 << 26 {
        now += 1 + rng.below(1 << 20);
        wheel.advance(now, &mut fired);
    }
    let elapsed = start.elapsed();
    eprintln!("1M timers (insert, 10% cancel, fire): {elapsed:?}");
    assert!(wheel.is_empty());
    let expected: Vec<u32> = reference_order(&deadlines).into_iter().filter(|&i| !cancelled(i)).collect();
    assert_eq!(fired, expected);
}
