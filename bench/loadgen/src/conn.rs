//! One client connection: what it has sent, what it still expects back, and
//! when each outstanding message left.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use rustls::ClientConnection;

/// A tiny xorshift generator so every message has different contents and a
/// mis-ordered or corrupted echo is caught.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// What happened to a connection during one readiness event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Progress {
    /// Messages whose whole echo came back.
    pub completed: u64,
    /// Completed messages whose echo differed from what was sent.
    pub mismatched: u64,
}

pub enum State {
    Connecting,
    Open,
    /// Failed or closed by the peer; ignored from then on.
    Dead,
}

pub struct Conn {
    pub stream: TcpStream,
    /// The TLS session, with `--tls`: messages are encrypted through it.
    tls: Option<ClientConnection>,
    pub state: State,
    size: usize,
    line: bool,
    rng: Rng,
    /// Bytes queued for writing; `out[out_pos..]` has not been written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Every byte sent (or queued) whose echo has not come back yet.
    expected: VecDeque<u8>,
    /// Send time of each outstanding message, oldest first.
    sent_at: VecDeque<Instant>,
    /// Bytes of the oldest outstanding message already received.
    received: usize,
    /// Whether the oldest outstanding message has differed so far.
    bad: bool,
}

impl Conn {
    pub fn new(stream: TcpStream, id: usize, size: usize, line: bool, tls: Option<ClientConnection>) -> Self {
        Conn {
            stream,
            tls,
            state: State::Connecting,
            size,
            line,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) * 0x2545_F491_4F6C_DD1D)),
            out: Vec::with_capacity(size * 4),
            out_pos: 0,
            expected: VecDeque::with_capacity(size * 4),
            sent_at: VecDeque::new(),
            received: 0,
            bad: false,
        }
    }

    pub fn is_dead(&self) -> bool {
        matches!(self.state, State::Dead)
    }

    /// Checks whether a non-blocking connect has finished: Ok(true) when
    /// connected, Ok(false) while still in progress.
    pub fn check_connected(&mut self) -> io::Result<bool> {
        if let Some(e) = self.stream.take_error()? {
            return Err(e);
        }
        match self.stream.peer_addr() {
            Ok(_) => {
                self.stream.set_nodelay(true)?;
                self.state = State::Open;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Queues one fresh message (sent by the next `flush`).
    pub fn queue_message(&mut self, now: Instant) {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        let start = self.out.len();
        let payload = if self.line { self.size - 1 } else { self.size };
        let mut left = payload;
        while left > 0 {
            let word = self.rng.next().to_le_bytes();
            let take = left.min(word.len());
            if self.line {
                // Printable ASCII only, so never '\n'.
                self.out.extend(word[..take].iter().map(|b| b'!' + b % 94));
            } else {
                self.out.extend_from_slice(&word[..take]);
            }
            left -= take;
        }
        if self.line {
            self.out.push(b'\n');
        }
        self.expected.extend(&self.out[start..]);
        self.sent_at.push_back(now);
    }

    /// Writes queued bytes until done or the socket would block.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(tls) = &mut self.tls {
            tls.writer().write_all(&self.out[self.out_pos..])?;
            self.out_pos = self.out.len();
            while tls.wants_write() {
                match tls.write_tls(&mut self.stream) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(());
        }
        while self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads until the socket would block, checking every byte against what
    /// was sent and queueing one new message per completed one. `on_done`
    /// gets each completed message's round-trip time and whether its echo
    /// differed from what was sent.
    pub fn read_ready(
        &mut self,
        buf: &mut [u8],
        mut on_done: impl FnMut(Duration, bool),
    ) -> io::Result<Progress> {
        let mut progress = Progress::default();
        loop {
            let n = match self.read_some(buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ))
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n > self.expected.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "received {n} bytes but only {} were outstanding",
                        self.expected.len()
                    ),
                ));
            }
            let mut data = &buf[..n];
            let now = Instant::now();
            while !data.is_empty() {
                // Never let one comparison span two messages.
                let take = data.len().min(self.size - self.received);
                if !deque_starts_with(&self.expected, &data[..take]) {
                    self.bad = true;
                }
                self.expected.drain(..take);
                self.received += take;
                data = &data[take..];
                if self.received == self.size {
                    let started = self.sent_at.pop_front().expect("a message was outstanding");
                    on_done(now.saturating_duration_since(started), self.bad);
                    progress.completed += 1;
                    progress.mismatched += self.bad as u64;
                    self.received = 0;
                    self.bad = false;
                    self.queue_message(now);
                }
            }
        }
        Ok(progress)
    }
}

impl Conn {
    /// Reads plaintext: from the socket, or decrypted from TLS records.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else { return self.stream.read(buf) };
        loop {
            match tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if tls.read_tls(&mut self.stream)? == 0 {
                return Ok(0);
            }
            tls.process_new_packets().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        }
    }
}

fn deque_starts_with(deque: &VecDeque<u8>, prefix: &[u8]) -> bool {
    let (a, b) = deque.as_slices();
    if prefix.len() <= a.len() {
        a[..prefix.len()] == *prefix
    } else {
        a == &prefix[..a.len()] && b[..prefix.len() - a.len()] == prefix[a.len()..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_with_across_the_wrap() {
        let mut d: VecDeque<u8> = VecDeque::with_capacity(4);
        d.extend([9, 9, 9]);
        d.drain(..3);
        d.extend([1, 2, 3, 4]); // likely wraps around the ring buffer
        assert!(deque_starts_with(&d, &[1, 2, 3]));
        assert!(deque_starts_with(&d, &[1, 2, 3, 4]));
        assert!(!deque_starts_with(&d, &[1, 2, 4]));
    }
}
