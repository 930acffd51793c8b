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
/// List id of an entry that fired in the latest [`TimerWheel::advance`]: its
/// cell is reused only after the next one.
const FIRED: u16 = u16::MAX - 1;
/// Generations count modulo 2^21, so that a key fits in the 53 bits of a
/// JavaScript number (see [`TimerKey::to_bits`]).
const GENERATION_MASK: u32 = (1 << 21) - 1;
/// Null link.
const NIL: u32 = u32::MAX;

/// A scheduled timer's id, returned by [`TimerWheel::insert`] and handed
/// back by [`TimerWheel::advance`] when it fires.
///
/// It holds the slab index and a generation counter, so a key whose timer has
/// fired or been cancelled never matches a later timer that reuses the same
/// slab entry (until the 21-bit generation wraps around: two million reuses
/// of one cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

impl TimerKey {
    /// The slab index: small, dense, and unique among the timers pending or
    /// fired in the latest [`TimerWheel::advance`] (a table indexed by it
    /// needs no other bookkeeping).
    #[must_use]
    pub fn index(self) -> u32 {
        self.index
    }

    /// The key as one integer below 2^53 (exact in a JavaScript number).
    #[must_use]
    pub fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The key [`TimerKey::to_bits`] gave; `None` for numbers no key gives.
    #[must_use]
    pub fn from_bits(bits: u64) -> Option<Self> {
        let generation = u32::try_from(bits >> 32).ok().filter(|&generation| generation <= GENERATION_MASK)?;
        Some(Self { index: bits as u32, generation })
    }
}

/// One slab entry: a pending timer or a free cell.
struct Entry {
    /// Absolute deadline in ticks (ms).
    deadline: u64,
    /// Insertion sequence number, breaks ties between equal deadlines.
    seq: u64,
    /// Bumped every time the entry is freed.
    generation: u32,
    prev: u32,
    /// Next entry in the slot list, or next free entry when free.
    next: u32,
    /// Which list the entry is on (`FREE` when unused, `FIRED` when it
    /// fired in the latest advance).
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
    /// Scratch buffer for one `advance` batch: (deadline, seq, index).
    batch: Vec<(u64, u64, u32)>,
    /// Cells of the timers the latest `advance` returned: freed by the next.
    fired: Vec<u32>,
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
            fired: Vec::new(),
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

    /// Schedules a timer to fire at absolute tick `deadline` (ms) and returns
    /// its key: its id when it fires, and what cancels it.
    ///
    /// A deadline <= [`now`](TimerWheel::now) fires on the next call to
    /// [`advance`](TimerWheel::advance), whatever time it is given. Timers with
    /// equal deadlines fire in the order they were inserted.
    ///
    /// # Panics
    ///
    /// Panics if more than `u32::MAX - 1` timers are pending at once.
    pub fn insert(&mut self, deadline: u64) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = if self.free_head == NIL {
            let index = u32::try_from(self.entries.len()).ok().filter(|&i| i != NIL).expect("timer wheel: too many timers");
            self.entries.push(Entry { deadline, seq, generation: 0, prev: NIL, next: NIL, list: FREE });
            index
        } else {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            self.free_head = entry.next;
            entry.deadline = deadline;
            entry.seq = seq;
            index
        };
        self.len += 1;
        self.place(index);
        TimerKey { index, generation: self.entries[index as usize].generation }
    }

    /// Cancels the timer behind `key`: true when it was pending, or fired
    /// in the latest [`advance`](TimerWheel::advance) (its caller may not
    /// have run it yet); false when it was cancelled already, or fired
    /// earlier. A stale key never affects a newer timer that reuses the
    /// same storage.
    pub fn cancel(&mut self, key: TimerKey) -> bool {
        let Some(entry) = self.entries.get_mut(key.index as usize) else { return false };
        if entry.list == FREE || entry.generation != key.generation {
            return false;
        }
        if entry.list == FIRED {
            // Still reserved until the next advance; only the key goes stale.
            entry.generation = (entry.generation + 1) & GENERATION_MASK;
            return true;
        }
        self.unlink(key.index);
        self.release(key.index);
        self.len -= 1;
        true
    }

    /// Moves time forward to tick `now` (ms) and appends the keys of all
    /// timers with deadline <= `now` to `expired`.
    ///
    /// Their cells stay reserved until the next call, so while the caller
    /// runs this batch no timer it schedules takes the index of one still
    /// to run.
    ///
    /// Time never goes backwards: a `now` smaller than
    /// [`now()`](TimerWheel::now) is treated as the current time (which still
    /// fires timers inserted with a deadline in the past). Values are appended
    /// ordered by (deadline, insertion order). Empty stretches of time are
    /// skipped using the occupancy masks, so a large jump costs time in
    /// proportion to the timers touched, not the ticks crossed.
    pub fn advance(&mut self, now: u64, expired: &mut Vec<TimerKey>) {
        for index in std::mem::take(&mut self.fired) {
            self.release(index);
        }
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
        self.fired.extend(batch.iter().map(|&(_, _, index)| index));
        expired.extend(batch.iter().map(|&(_, _, index)| TimerKey { index, generation: self.entries[index as usize].generation }));
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
                batch.push((entry.deadline, entry.seq, cursor));
                self.entries[cursor as usize].list = FIRED;
                self.len -= 1;
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

    /// Returns an (already unlinked, or fired) entry to the free list.
    fn release(&mut self, index: u32) {
        let entry = &mut self.entries[index as usize];
        entry.list = FREE;
        entry.generation = (entry.generation + 1) & GENERATION_MASK;
        entry.prev = NIL;
        entry.next = self.free_head;
        self.free_head = index;
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
}
