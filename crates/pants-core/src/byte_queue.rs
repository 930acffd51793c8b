//! A growable FIFO of bytes: appended at the back, consumed from the front.

use std::mem::MaybeUninit;

/// Bytes waiting to be read by the user or sent to the peer.
///
/// Consuming only moves a cursor; the live bytes are moved to the front when
/// the dead prefix is at least half of the allocation, so appends stay
/// amortised O(1) and memory is at most twice the live bytes.
#[derive(Debug, Default)]
pub struct ByteQueue {
    data: Vec<u8>,
    head: usize,
    /// Bytes that have left the front since the queue was made.
    taken: u64,
}

/// Capacity kept by an empty queue; larger allocations are released once
/// the queue drains, so idle channels stay small.
const RETAINED_CAPACITY: usize = 64 * 1024;

impl ByteQueue {
    /// An empty queue that allocates nothing until the first append.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live bytes.
    pub fn len(&self) -> usize {
        self.data.len() - self.head
    }

    /// True when no bytes are queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live bytes, oldest first.
    pub fn as_slice(&self) -> &[u8] {
        &self.data[self.head..]
    }

    /// Appends `bytes` at the back.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.compact();
        self.data.extend_from_slice(bytes);
    }

    /// The room after the live bytes that is already allocated, for
    /// reading straight into the queue (see [`ByteQueue::commit`]). Moves
    /// the live bytes to the front first when they sit past the middle.
    pub fn spare(&mut self) -> &mut [MaybeUninit<u8>] {
        self.compact();
        self.data.spare_capacity_mut()
    }

    /// Appends the first `count` bytes of the room [`ByteQueue::spare`] gave.
    ///
    /// # Safety
    /// Those bytes have been written since.
    pub unsafe fn commit(&mut self, count: usize) {
        debug_assert!(count <= self.data.capacity() - self.data.len());
        self.data.set_len(self.data.len() + count);
    }

    fn compact(&mut self) {
        if self.head > 0 && self.head >= self.data.len() / 2 {
            self.data.drain(..self.head);
            self.head = 0;
        }
    }

    /// How many bytes have left the front since the queue was made: with
    /// it, a position in the stream of bytes stays valid however they leave
    /// (see [`Framer`](crate::Framer)).
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Drops `count` bytes from the front (at most `len()`).
    pub fn consume(&mut self, count: usize) {
        let count = count.min(self.len());
        self.head += count;
        self.taken += count as u64;
        if self.head == self.data.len() {
            self.clear();
        }
    }

    /// Drops every byte, releasing a large allocation.
    pub fn clear(&mut self) {
        self.taken += self.len() as u64;
        self.data.clear();
        self.head = 0;
        if self.data.capacity() > RETAINED_CAPACITY {
            self.data = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteQueue;

    #[test]
    fn keeps_fifo_order_across_compaction() {
        let mut queue = ByteQueue::new();
        let mut expected = Vec::new();
        for round in 0..200u32 {
            let chunk: Vec<u8> = (0..(round % 17 + 1)).map(|i| (round + i) as u8).collect();
            queue.extend(&chunk);
            expected.extend_from_slice(&chunk);
            let take = (round as usize * 7) % (queue.len() + 1);
            assert_eq!(&queue.as_slice()[..take], &expected[..take]);
            queue.consume(take);
            expected.drain(..take);
            assert_eq!(queue.as_slice(), &expected[..]);
        }
    }

    #[test]
    fn bytes_written_into_the_spare_room_follow_the_live_ones() {
        let mut queue = ByteQueue::new();
        queue.extend(&[0u8; 100]);
        queue.extend(b"live");
        queue.consume(100);
        let spare = queue.spare();
        assert!(spare.len() >= 100, "the consumed front was reclaimed");
        for (slot, byte) in spare.iter_mut().zip(b" and new") {
            slot.write(*byte);
        }
        unsafe { queue.commit(8) };
        assert_eq!(queue.as_slice(), b"live and new");
    }

    #[test]
    fn releases_large_allocations_when_drained() {
        let mut queue = ByteQueue::new();
        queue.extend(&vec![1u8; 1 << 20]);
        queue.consume(1 << 20);
        assert!(queue.is_empty());
        assert!(queue.data.capacity() <= super::RETAINED_CAPACITY);
    }
}
