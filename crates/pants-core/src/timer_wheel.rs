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
#[path = "timer_wheel_tests.rs"]
mod tests;
