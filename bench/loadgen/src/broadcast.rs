//! `--broadcast`: one publisher connection, `--connections` subscribers.
//! Each message the publisher sends is expected, in order, by every
//! subscriber; once all of them have it whole, the publisher sends the next
//! (keeping `--inflight` messages on their way). A delivery to one
//! subscriber counts as one message.

use std::collections::VecDeque;
use std::time::Instant;

use crate::conn::Conn;

pub struct Fanout {
    /// The publisher's index among the connections (the last one).
    pub publisher: usize,
    /// Messages each subscriber has received whole.
    delivered: Vec<u64>,
    /// For each message still on its way, oldest first: the subscribers
    /// that have not received it yet. The first is message number `first`.
    pending: VecDeque<usize>,
    first: u64,
}

impl Fanout {
    /// Subscribers are connections `0..subscribers`, the publisher the next.
    pub fn new(subscribers: usize) -> Self {
        Fanout { publisher: subscribers, delivered: vec![0; subscribers], pending: VecDeque::new(), first: 0 }
    }

    /// The publisher sends a fresh message, and every subscriber expects it.
    pub fn publish(&mut self, conns: &mut [Conn], now: Instant) {
        let (subscribers, publisher) = conns.split_at_mut(self.publisher);
        let offset = publisher[0].send_message();
        for conn in subscribers {
            conn.expect(offset, now);
        }
        self.pending.push_back(self.publisher);
    }

    /// Subscriber `id` received `count` more messages whole; returns how many
    /// messages have now reached every subscriber (room to publish more).
    pub fn delivered(&mut self, id: usize, count: u64) -> usize {
        let from = self.delivered[id];
        self.delivered[id] += count;
        for n in from..from + count {
            self.pending[(n - self.first) as usize] -= 1;
        }
        let mut done = 0;
        while self.pending.front() == Some(&0) {
            self.pending.pop_front();
            self.first += 1;
            done += 1;
        }
        done
    }
}
