//! Hierarchical timer wheel with 1 ms ticks.
//!
//! Time is measured in abstract ticks; the event loop uses one tick per
//! millisecond. The wheel has six levels of 64 slots each: a slot
//! on level `L` spans `64^L` ticks, so level 0 slots are 1 ms, level 1 slots
//! 64 ms, level 2 slots 4096 ms, and the six levels together cover 2^36 ticks
//! (about 2.2 years). Deadlines further away than that wait in an overflow
//! list and are moved into the levels once time gets close enough.
//!
//! Every slot is an intrusive doubly-linked list threaded through a slab of
//! entries, so insert and cancel are O(1). Each level keeps a 64-bit
//! occupancy mask, which lets `advance` jump straight to the next occupied
//! slot instead of stepping through empty milliseconds.
//!
//! Invariant: an entry with deadline `d` sits on level `L` when the highest
//! bit in which `d` and the current time differ belongs to level `L`'s six
//! bits. When time reaches the start of a slot on level `L > 0`, its entries
//! are re-placed ("cascaded") relative to the new time and end up on lower
//! levels; entries whose deadline has been reached fire.

use std::fmt;

/// Number of wheel levels.
const LEVELS: usize = 6;
/// log2 of the number of slots per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of ticks covered by all levels together (2^36).
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// List id of the overflow list (level lists use `level * SLOTS + slot`).
const OVERFLOW: u16 = (LEVELS * SLOTS) as u16;
/// List id marking a free slab entry.
const FREE: u16 = u16::MAX;
/// Null link.
const NIL: u32 = u32::MAX;

/// Handle to a scheduled timer, returned by [`TimerWheel::insert`].
///
/// It holds the slab index and a generation counter, so a key whose timer has
/// fired or been cancelled never matches a later timer that reuses the same
/// slab entry (until the 32-bit generation wraps around).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// One slab entry: a pending timer or a free cell.
struct Entry {
    /// Absolute deadline in ticks (ms).
    deadline: u64,
    /// Insertion sequence number, breaks ties between equal deadlines.
    seq: u64,
    value: u32,
    /// Bumped every time the entry is freed.
    generation: u32,
    prev: u32,
    /// Next entry in the slot list, or next free entry when free.
    next: u32,
    /// Which list the entry is on (`FREE` when unused).
    list: u16,
}

/// Head and tail of an intrusive list.
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY_LIST: List = List { head: NIL, tail: NIL };

/// Hierarchical timer wheel with 1 ms ticks, O(1) insert and O(1) cancel.
///
/// All times are absolute tick counts (milliseconds since an origin chosen by
/// the caller). The wheel starts at tick 0 and only moves forward. Timers fire
/// from [`advance`](TimerWheel::advance) ordered by deadline, and timers with
/// equal deadlines fire in insertion order.
pub struct TimerWheel {
    /// Current time in ticks.
    elapsed: u64,
    entries: Vec<Entry>,
    /// Head of the free list threaded through `Entry::next`.
    free_head: u32,
    /// `LEVELS * SLOTS` slot lists followed by the overflow list.
    lists: Vec<List>,
    /// Bit `s` of `occupied[L]` is set when slot `s` on level `L` is non-empty.
    occupied: [u64; LEVELS],
    /// Lower bound of the deadlines in the overflow list (`u64::MAX` if empty).
    overflow_min: u64,
    len: usize,
    next_seq: u64,
    /// Scratch buffer for one `advance` batch: (deadline, seq, value).
    batch: Vec<(u64, u64, u32)>,
}

impl TimerWheel {
    /// Creates an empty wheel whose current time is tick 0.
    #[must_use]
    pub fn new() -> Self {
        TimerWheel {
            elapsed: 0,
            entries: Vec::new(),
            free_head: NIL,
            lists: vec![EMPTY_LIST; LEVELS * SLOTS + 1],
            occupied: [0; LEVELS],
            overflow_min: u64::MAX,
            len: 0,
            next_seq: 0,
            batch: Vec::new(),
        }
    }

    /// Current time in ticks (ms): the largest `now` ever passed to
    /// [`advance`](TimerWheel::advance), or 0.
    #[must_use]
    pub fn now(&self) -> u64 {
        self.elapsed
    }

    /// Number of pending timers (inserted, not yet fired or cancelled).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no timer is pending.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `value` to fire at absolute tick `deadline` (ms) and returns
    /// a key that can cancel it.
    ///
    /// A deadline <= [`now`](TimerWheel::now) fires on the next call to
    /// [`advance`](TimerWheel::advance), whatever time it is given. Timers with
    /// equal deadlines fire in the order they were inserted.
    ///
    /// # Panics
    ///
    /// Panics if more than `u32::MAX - 1` timers are pending at once.
    pub fn insert(&mut self, deadline: u64, value: u32) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = if self.free_head == NIL {
            let index = u32::try_from(self.entries.len()).ok().filter(|&i| i != NIL).expect("timer wheel: too many timers");
            self.entries.push(Entry { deadline, seq, value, generation: 0, prev: NIL, next: NIL, list: FREE });
            index
        } else {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            self.free_head = entry.next;
            entry.deadline = deadline;
            entry.seq = seq;
            entry.value = value;
            index
        };
        self.len += 1;
        self.place(index);
        TimerKey { index, generation: self.entries[index as usize].generation }
    }

    /// Cancels the timer behind `key`.
    ///
    /// Returns its value if it was still pending, or `None` if it has already
    /// fired or been cancelled (a stale key never affects a newer timer that
    /// reuses the same storage).
    pub fn cancel(&mut self, key: TimerKey) -> Option<u32> {
        let entry = self.entries.get(key.index as usize)?;
        if entry.list == FREE || entry.generation != key.generation {
            return None;
        }
        let value = entry.value;
        self.unlink(key.index);
        self.release(key.index);
        Some(value)
    }

    /// Moves time forward to tick `now` (ms) and appends the values of all
    /// timers with deadline <= `now` to `expired`.
    ///
    /// Time never goes backwards: a `now` smaller than
    /// [`now()`](TimerWheel::now) is treated as the current time (which still
    /// fires timers inserted with a deadline in the past). Values are appended
    /// ordered by (deadline, insertion order). Empty stretches of time are
    /// skipped using the occupancy masks, so a large jump costs time in
    /// proportion to the timers touched, not the ticks crossed.
    pub fn advance(&mut self, now: u64, expired: &mut Vec<u32>) {
        let target = now.max(self.elapsed);
        let mut batch = std::mem::take(&mut self.batch);
        while let Some((time, list)) = self.next_expiration() {
            if time > target {
                break;
            }
            self.elapsed = time;
            self.process(list, &mut batch);
        }
        self.elapsed = target;
        // Lists are FIFO so the batch is nearly sorted already; sorting keeps
        // the (deadline, insertion order) guarantee unconditional.
        batch.sort_unstable();
        expired.extend(batch.iter().map(|&(_, _, value)| value));
        batch.clear();
        self.batch = batch;
    }

    /// The earliest tick (ms) at which [`advance`](TimerWheel::advance) could
    /// return something, or `None` when no timer is pending.
    ///
    /// This is exact for timers due within the current 64 ms block (level 0)
    /// and may be earlier than the real earliest deadline when that timer sits
    /// on a coarser level or in the overflow list; it is never later, except
    /// that a timer whose deadline is already in the past reports
    /// [`now()`](TimerWheel::now).
    #[must_use]
    pub fn next_deadline(&self) -> Option<u64> {
        self.next_expiration().map(|(time, _)| time)
    }

    /// Finds the earliest non-empty list and the tick at which it is due.
    ///
    /// Every entry on level `L` is later than every entry on lower levels, and
    /// overflow entries are later than all level entries, so the first
    /// non-empty level decides.
    fn next_expiration(&self) -> Option<(u64, u16)> {
        for level in 0..LEVELS {
            let shift = SLOT_BITS * level as u32;
            let current = (self.elapsed >> shift) & (SLOTS as u64 - 1);
            let pending = self.occupied[level] & (u64::MAX << current);
            debug_assert_eq!(pending, self.occupied[level], "slot behind current time");
            if pending == 0 {
                continue;
            }
            let slot = u64::from(pending.trailing_zeros());
            let block_mask = (1u64 << (shift + SLOT_BITS)) - 1;
            let time = (self.elapsed & !block_mask) + (slot << shift);
            return Some((time, (level * SLOTS) as u16 + slot as u16));
        }
        if self.lists[OVERFLOW as usize].head != NIL {
            let block_start = (self.overflow_min >> WHEEL_BITS) << WHEEL_BITS;
            return Some((block_start.max(self.elapsed), OVERFLOW));
        }
        None
    }

    /// Detaches list `list` (due at the current time) and either fires its
    /// entries or re-places them relative to the current time.
    fn process(&mut self, list: u16, batch: &mut Vec<(u64, u64, u32)>) {
        let mut cursor = self.take_list(list);
        while cursor != NIL {
            let entry = &self.entries[cursor as usize];
            let next = entry.next;
            if entry.deadline <= self.elapsed {
                batch.push((entry.deadline, entry.seq, entry.value));
                self.release(cursor);
            } else {
                self.place(cursor);
            }
            cursor = next;
        }
    }

    /// Empties list `list`, returning its former head. The entries keep their
    /// `next` links so the caller can walk them.
    fn take_list(&mut self, list: u16) -> u32 {
        let head = self.lists[list as usize].head;
        self.lists[list as usize] = EMPTY_LIST;
        self.mark_empty(list);
        head
    }

    /// Clears the occupancy bit (or overflow bound) of a list that became empty.
    fn mark_empty(&mut self, list: u16) {
        if list == OVERFLOW {
            self.overflow_min = u64::MAX;
        } else {
            let (level, slot) = (list as usize / SLOTS, list as usize % SLOTS);
            self.occupied[level] &= !(1u64 << slot);
        }
    }

    /// Appends entry `index` to the list matching its deadline relative to the
    /// current time. Past deadlines go to the current level 0 slot, which is
    /// due immediately.
    fn place(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let due = deadline.max(self.elapsed);
        let level = match due ^ self.elapsed {
            0 => 0,
            diff => (diff.ilog2() / SLOT_BITS) as usize,
        };
        let list = if level >= LEVELS {
            self.overflow_min = self.overflow_min.min(deadline);
            OVERFLOW
        } else {
            let shift = SLOT_BITS * level as u32;
            let slot = ((due >> shift) & (SLOTS as u64 - 1)) as usize;
            self.occupied[level] |= 1u64 << slot;
            (level * SLOTS + slot) as u16
        };
        let tail = self.lists[list as usize].tail;
        let entry = &mut self.entries[index as usize];
        entry.list = list;
        entry.prev = tail;
        entry.next = NIL;
        if tail == NIL {
            self.lists[list as usize].head = index;
        } else {
            self.entries[tail as usize].next = index;
        }
        self.lists[list as usize].tail = index;
    }

    /// Removes entry `index` from its list, clearing occupancy if it empties.
    fn unlink(&mut self, index: u32) {
        let Entry { prev, next, list, .. } = self.entries[index as usize];
        if prev == NIL {
            self.lists[list as usize].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.lists[list as usize].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.lists[list as usize].head == NIL {
            self.mark_empty(list);
        }
    }

    /// Returns an (already unlinked) entry to the free list.
    fn release(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.list = FREE;
        entry.generation = entry.generation.wrapping_add(1);
        entry.prev = NIL;
        entry.next = self.free_head;
        self.free_head = index;
        self.len -= 1;
    }
}

impl Default for TimerWheel {
    /// Same as [`TimerWheel::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TimerWheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel").field("now", &self.elapsed).field("len", &self.len).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

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

    fn drain(wheel: &mut TimerWheel, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        wheel.advance(now, &mut out);
        out
    }

    #[test]
    fn fires_in_deadline_order_across_levels() {
        let mut rng = Rng(1);
        let mut wheel = TimerWheel::new();
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
        let mut wheel = TimerWheel::new();
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
        let mut wheel = TimerWheel::new();
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
    fn cancel_after_firing_or_twice_returns_none() {
        let mut wheel = TimerWheel::new();
        let fired = wheel.insert(5, 1);
        let cancelled = wheel.insert(50, 2);
        assert_eq!(drain(&mut wheel, 5), vec![1]);
        assert_eq!(wheel.cancel(fired), None);
        assert_eq!(wheel.cancel(cancelled), Some(2));
        assert_eq!(wheel.cancel(cancelled), None);
        assert!(wheel.is_empty());
    }

    #[test]
    fn stale_key_after_slot_reuse_returns_none() {
        let mut wheel = TimerWheel::new();
        let old = wheel.insert(7, 1);
        assert_eq!(wheel.cancel(old), Some(1));
        let new = wheel.insert(7, 2);
        assert_ne!(old, new);
        assert_eq!(wheel.cancel(old), None);
        assert_eq!(wheel.len(), 1);
        assert_eq!(drain(&mut wheel, 7), vec![2]);
        // Reused after firing too.
        let newer = wheel.insert(9, 3);
        assert_eq!(wheel.cancel(new), None);
        assert_eq!(wheel.cancel(newer), Some(3));
    }

    #[test]
    fn next_deadline_is_a_lower_bound_and_exact_in_level_zero() {
        let mut rng = Rng(2);
        let mut wheel = TimerWheel::new();
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
        let mut wheel = TimerWheel::new();
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
        let mut stepped = TimerWheel::new();
        let mut jumped = TimerWheel::new();
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
        let mut wheel = TimerWheel::new();
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
        let mut wheel = TimerWheel::new();
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
        let mut wheel = TimerWheel::new();
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
}
