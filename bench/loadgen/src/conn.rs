//! One client connection: what it has sent, what it still expects back, and
//! when each outstanding message left.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use rustls::ClientConnection;

use crate::pattern::{Pattern, Rng};
use crate::ws::{self, Piece, Ws};

/// What happened to a connection during one readiness event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Progress {
    /// Messages whose whole echo came back.
    pub completed: u64,
    /// Completed messages whose echo differed from what was sent.
    pub mismatched: u64,
    /// Bytes read from the socket (after TLS).
    pub bytes: u64,
    /// The WebSocket upgrade was answered: the connection is open now.
    pub upgraded: bool,
}

pub enum State {
    Connecting,
    /// `--ws`: the upgrade request is sent; what came back of the answer.
    Upgrading(Vec<u8>),
    Open,
    /// Failed or closed by the peer; ignored from then on.
    Dead,
}

pub struct Conn {
    pub stream: TcpStream,
    /// The TLS session, with `--tls`: messages are encrypted through it.
    tls: Option<ClientConnection>,
    pub state: State,
    pattern: Rc<Pattern>,
    rng: Rng,
    /// Bytes queued for writing; `out[out_pos..]` has not been written yet.
    out: Vec<u8>,
    out_pos: usize,
    /// Each outstanding message, oldest first: where in the pattern it
    /// starts, and when it was queued.
    outstanding: VecDeque<(usize, Instant)>,
    /// Bytes of the oldest outstanding message already received.
    received: usize,
    /// Whether the oldest outstanding message has differed so far.
    bad: bool,
    /// Queue a new message for each completed one (steady load); off for
    /// churn, where a connection carries one message and is closed.
    refill: bool,
    /// With `--ws`: messages go as WebSocket frames.
    ws: Option<Ws>,
}

impl Conn {
    pub fn new(stream: TcpStream, id: usize, pattern: Rc<Pattern>, tls: Option<ClientConnection>) -> Self {
        let size = pattern.size();
        Conn {
            stream,
            tls,
            state: State::Connecting,
            pattern,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ ((id as u64 + 1) * 0x2545_F491_4F6C_DD1D)),
            out: Vec::with_capacity(size * 4),
            out_pos: 0,
            outstanding: VecDeque::new(),
            received: 0,
            bad: false,
            refill: true,
            ws: None,
        }
    }

    /// A connection that speaks WebSocket once upgraded.
    pub fn with_ws(mut self, ws: Ws) -> Self {
        self.ws = Some(ws);
        self
    }

    /// Queues the WebSocket upgrade request (after connecting); messages
    /// are queued once `read_ready` reports it `upgraded`.
    pub fn upgrade(&mut self, request: &[u8]) {
        self.out.extend_from_slice(request);
        self.state = State::Upgrading(Vec::new());
    }

    /// A connection that sends only the messages queued explicitly.
    pub fn without_refill(mut self) -> Self {
        self.refill = false;
        self
    }

    pub fn is_dead(&self) -> bool {
        matches!(self.state, State::Dead)
    }

    /// Checks whether a non-blocking connect has finished: Ok(true) when
    /// connected, Ok(false) while still in progress. Sets TCP_NODELAY then
    /// if asked (a connection carrying one message has no use for it).
    pub fn check_connected(&mut self, nodelay: bool) -> io::Result<bool> {
        if let Some(e) = self.stream.take_error()? {
            return Err(e);
        }
        match self.stream.peer_addr() {
            Ok(_) => {
                if nodelay {
                    self.stream.set_nodelay(true)?;
                }
                self.state = State::Open;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Queues one fresh message (sent by the next `flush`).
    pub fn queue_message(&mut self, now: Instant) {
        let offset = self.send_message();
        self.outstanding.push_back((offset, now));
    }

    /// Queues one fresh message without expecting it back (the publisher of
    /// `--broadcast`); returns where in the pattern it starts.
    pub fn send_message(&mut self) -> usize {
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        let offset = self.pattern.pick(&mut self.rng);
        match &self.ws {
            Some(ws) => ws.write_message(&self.pattern, offset, &mut self.out),
            None => self.pattern.write(offset, &mut self.out),
        }
        offset
    }

    /// Expects the message at `offset`, sent at `started` by another
    /// connection (a `--broadcast` subscriber).
    pub fn expect(&mut self, offset: usize, started: Instant) {
        self.outstanding.push_back((offset, started));
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

    /// Reads until the socket is drained, checking every byte against what
    /// was sent and (unless built `without_refill`) queueing one new
    /// message per completed one. `on_done`
    /// gets each completed message's round-trip time and whether its echo
    /// differed from what was sent.
    pub fn read_ready(&mut self, buf: &mut [u8], mut on_done: impl FnMut(Duration, bool)) -> io::Result<Progress> {
        let mut progress = Progress::default();
        loop {
            let n = match self.read_some(buf) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection")),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            progress.bytes += n as u64;
            let now = Instant::now();
            if let State::Upgrading(answer) = &mut self.state {
                answer.extend_from_slice(&buf[..n]);
                let compress = self.ws.as_ref().is_some_and(Ws::compresses);
                if let Some(end) = ws::response(answer, compress)? {
                    if end != answer.len() {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "data after the upgrade response"));
                    }
                    self.state = State::Open;
                    progress.upgraded = true;
                }
            } else if self.ws.is_some() {
                self.take_frames(&buf[..n], now, &mut on_done, &mut progress)?;
            } else {
                self.take_raw(&buf[..n], now, &mut on_done, &mut progress)?;
            }
            // A short plain read drained the socket: with edge-triggered
            // readiness, more data will bring another event, so don't spend
            // a syscall on the EAGAIN (as tokio does). TLS records are read
            // until EAGAIN, since rustls buffers them.
            if self.tls.is_none() && n < buf.len() {
                break;
            }
        }
        Ok(progress)
    }
}

impl Conn {
    /// Checks echoed bytes of plain messages.
    fn take_raw(&mut self, mut data: &[u8], now: Instant, on_done: &mut impl FnMut(Duration, bool), progress: &mut Progress) -> io::Result<()> {
        let size = self.pattern.size();
        let expected = self.outstanding.len() * size - self.received;
        if data.len() > expected {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("received {} bytes but only {expected} were outstanding", data.len())));
        }
        while !data.is_empty() {
            // Never let one comparison span two messages.
            let take = data.len().min(size - self.received);
            self.check(&data[..take]);
            data = &data[take..];
            if self.received == size {
                self.complete(now, on_done, progress);
            }
        }
        Ok(())
    }

    /// Checks echoed WebSocket frames: each header, then the payload.
    fn take_frames(&mut self, mut data: &[u8], now: Instant, on_done: &mut impl FnMut(Duration, bool), progress: &mut Progress) -> io::Result<()> {
        let size = self.pattern.size();
        while !data.is_empty() {
            if self.outstanding.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("received {} bytes with no message outstanding", data.len())));
            }
            let ws = self.ws.as_mut().expect("take_frames with --ws");
            let ended = match ws.next(&mut data, size)? {
                Piece::Header => false,
                Piece::Payload(chunk, end) => {
                    let (offset, _) = self.outstanding[0];
                    self.bad |= !self.pattern.matches(offset, self.received, chunk);
                    self.received += chunk.len();
                    end
                }
                Piece::Inflated(message) => {
                    let (offset, _) = self.outstanding[0];
                    self.bad |= message.len() != size || !self.pattern.matches(offset, 0, message);
                    self.received = size;
                    true
                }
            };
            if ended {
                self.complete(now, on_done, progress);
            }
        }
        Ok(())
    }

    /// Compares the next bytes of the oldest outstanding message.
    fn check(&mut self, chunk: &[u8]) {
        let (offset, _) = self.outstanding[0];
        if !self.pattern.matches(offset, self.received, chunk) {
            self.bad = true;
        }
        self.received += chunk.len();
    }

    /// The oldest outstanding message has come back whole.
    fn complete(&mut self, now: Instant, on_done: &mut impl FnMut(Duration, bool), progress: &mut Progress) {
        let (_, started) = self.outstanding.pop_front().expect("a completed message was outstanding");
        on_done(now.saturating_duration_since(started), self.bad);
        progress.completed += 1;
        progress.mismatched += self.bad as u64;
        self.received = 0;
        self.bad = false;
        if self.refill {
            self.queue_message(now);
        }
    }

    /// Reads plaintext: from the socket, or decrypted from TLS records.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &mut self.tls else {
            return self.stream.read(buf);
        };
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
