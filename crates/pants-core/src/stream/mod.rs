//! Streams (TCP and UNIX): connecting, receiving into the read buffer,
//! framing it, corked sends from the write buffer, TLS, and closing.

use std::fs::File;
use std::io;
use std::net::Shutdown;

use mio::{Interest, Token};

mod messages;
mod readiness;
mod tls;

use crate::address::SocketAddress;
use crate::byte_queue::ByteQueue;
use crate::errors::{errno, is_disconnect, not_open};
use crate::event::EventKind;
use crate::framing::{Delimiter, FrameRead, Framer};
use crate::http::{RequestFramer, ResponseFramer};
use crate::input::{FramedInput, DEFAULT_BUFFER_SIZE};
use crate::outgoing::Outgoing;
use crate::reactor::Reactor;
use crate::socket::Connection;
use crate::sys::RawHandle;
use crate::timer_wheel::TimerKey;
use crate::tls::{ServerTls, TlsSession};
use crate::ws::WsConnection;

/// Default of the unsent bytes above which a stream stops reading until
/// they drain (see [`Engine::set_high_water`](crate::Engine::set_high_water)):
/// a peer that sends faster than it reads cannot grow our memory without bound.
pub const OUTGOING_HIGH_WATER: usize = 1 << 20;

/// The syscall a stream's closing error came from, as the `b` of its `Close` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum FailedCall {
    Read = 0,
    Write = 1,
}

/// A stream's idle timeout: one timer in the clock's idle wheel per stream,
/// stamped (not rescheduled) by every byte read or written (only read, with
/// `reads_only`). When it fires it is scheduled again for what is left, or
/// raises a `Timeout` event.
#[derive(Debug, Default)]
pub(crate) struct IdleTimeout {
    /// Milliseconds of inactivity allowed; 0: no timeout.
    pub timeout: u64,
    /// Only bytes received count as activity (a WebSocket's pings and idle
    /// timeout count from the latest frame received, whatever it sends).
    pub reads_only: bool,
    /// Engine time of the latest byte read (or written, without `reads_only`).
    pub last_active: u64,
    /// `last_active` when the latest `Timeout` was raised: one idle stretch raises one.
    pub reported_for: Option<u64>,
    /// The pending timer.
    pub key: Option<TimerKey>,
}

impl IdleTimeout {
    /// Bytes went out at `now`: activity, unless only reads count.
    fn written(&mut self, now: u64) {
        if !self.reads_only {
            self.last_active = now;
        }
    }
}

/// Writes at least this large go to the socket at once when nothing is
/// waiting to be sent (see [`Engine::write`](crate::Engine::write)).
pub const DIRECT_SEND_MIN: usize = 16 * 1024;

/// Bytes a graceful close reads and discards so that the kernel sends a FIN, not a reset.
const CLOSE_DRAIN_LIMIT: usize = 1 << 20;

/// Reads go straight into a stream's read buffer when it has at least
/// this much room allocated (see [`StreamChannel::receive`]), and straight
/// into the application's memory when that has at least this much room
/// (see [`StreamChannel::read_on_demand`]).
const DIRECT_READ_MIN: usize = 16 * 1024;

/// The most one read on demand asks room for (the scratch buffer's size).
const DIRECT_READ_MAX: usize = 64 * 1024;

/// Bytes of a response body the application may read from the socket
/// itself per poll (see [`StreamChannel::read_in_place`]), so that one fast
/// server cannot hold the engine.
const IN_PLACE_READ_BUDGET: usize = 1 << 20;

/// How often one `send` refills the socket from a TLS backlog before the
/// stream waits for the next poll, so that one fast reader of a large
/// file cannot hold the engine.
const MAX_SEND_ROUNDS: usize = 16;

/// Where a stream is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    /// `connect` is in progress.
    Connecting,
    /// Connected: reads and writes flow.
    Open,
    /// `close(flush)` waits for the send buffer to drain.
    Closing,
    /// The connect failed; the socket is gone.
    ConnectFailed,
    /// The socket is closed; only the token remains until released.
    Closed,
}

/// A TCP or UNIX stream: its socket, read buffer and framer, send queue,
/// TLS session and where it is in its life. It keeps its token to name
/// itself in the events it raises.
#[derive(Debug)]
pub(crate) struct StreamChannel {
    token: usize,
    connection: Option<Connection>,
    state: StreamState,
    incoming: ByteQueue,
    outgoing: Outgoing,
    framer: Framer,
    buffer_size: usize,
    peer: Option<SocketAddress>,
    /// This end's address, recorded when the socket closes.
    local: Option<SocketAddress>,
    /// The peer sent end-of-stream; nothing more will be read.
    peer_closed: bool,
    /// Reading stopped at the buffer limit with data possibly left in the kernel.
    read_blocked: bool,
    /// A Read event for this stream is waiting in the queue.
    read_queued: bool,
    /// The socket was reported readable and reading waits for the
    /// application's next frame, which is read straight into its memory
    /// (see [`StreamChannel::reads_on_demand`]).
    readable: bool,
    /// With `readable`: the peer's end was reported too, so read on to it
    /// even after a short read.
    readable_to_end: bool,
    /// Bytes the application may still read on demand, or in place, in
    /// this poll: as the poller reads at most the buffer's limit per stream
    /// and poll, so that one fast sender cannot hold the engine.
    read_budget: usize,
    /// The latest read on demand filled at least [`DIRECT_READ_MIN`]: the
    /// next is likely large too, so it asks for room for a whole read first.
    large_reads: bool,
    /// The stream is in the reactor's list of channels to send at the end of the dispatch.
    dirty: bool,
    /// Report a Write event whenever the send buffer empties.
    notify_drain: bool,
    /// The application wrote since the last Write event: the next time
    /// everything is sent, a Write event is due (bytes the engine wrote
    /// itself, such as TLS handshake records, raise none).
    unreported_write: bool,
    /// The TLS session, once TLS has started.
    tls: Option<Box<TlsSession>>,
    /// Whole HTTP requests are framed instead of `framer`'s frames ([`Delimiter::HttpRequest`]).
    http: Option<Box<RequestFramer>>,
    /// WebSocket messages are framed instead ([`Delimiter::WebSocket`]), and written as frames.
    ws: Option<Box<WsConnection>>,
    /// HTTP responses are framed instead of `framer`'s frames ([`Delimiter::HttpResponse`]).
    http_response: Option<Box<ResponseFramer>>,
    /// Unsent bytes above which writes report it and reading stops.
    high_water: usize,
    /// Reading is paused by the application: the socket is not read.
    paused: bool,
    /// The application ended its side: once everything is sent, the write side shuts down.
    ending: bool,
    /// The write side is shut down (FIN sent).
    write_shut: bool,
    /// Application bytes received (plaintext under TLS).
    bytes_read: u64,
    /// Application bytes accepted for sending.
    bytes_written: u64,
    /// The idle timeout.
    pub idle: IdleTimeout,
}

impl StreamChannel {
    fn new(token: usize, connection: Option<Connection>, state: StreamState, peer: Option<SocketAddress>) -> Self {
        Self {
            token,
            connection,
            state,
            incoming: ByteQueue::new(),
            outgoing: Outgoing::default(),
            framer: Framer::default(),
            buffer_size: DEFAULT_BUFFER_SIZE,
            peer,
            local: None,
            peer_closed: false,
            read_blocked: false,
            read_queued: false,
            readable: false,
            readable_to_end: false,
            read_budget: 0,
            large_reads: false,
            dirty: false,
            notify_drain: false,
            unreported_write: false,
            tls: None,
            http: None,
            ws: None,
            http_response: None,
            high_water: OUTGOING_HIGH_WATER,
            paused: false,
            ending: false,
            write_shut: false,
            bytes_read: 0,
            bytes_written: 0,
            idle: IdleTimeout::default(),
        }
    }

    /// Starts connecting as `token`. Never fails here: a failure is
    /// reported as a `ConnectError` event (the stream is `ConnectFailed`),
    /// success later as `Connect`.
    pub fn connect(address: &SocketAddress, token: usize, reactor: &mut Reactor) -> Self {
        let started = Connection::connect(address).and_then(|mut connection| {
            reactor.registry().register(&mut connection, Token(token), Interest::READABLE | Interest::WRITABLE)?;
            Ok(connection)
        });
        match started {
            Ok(connection) => Self::new(token, Some(connection), StreamState::Connecting, None),
            Err(error) => {
                reactor.report_with(EventKind::ConnectError, token, errno(&error), 0);
                Self::new(token, None, StreamState::ConnectFailed, None)
            }
        }
    }

    /// An accepted connection as the open stream `token`, speaking TLS
    /// with `tls` when given.
    pub fn accepted(mut connection: Connection, peer: SocketAddress, token: usize, tls: Option<ServerTls>, reactor: &mut Reactor) -> io::Result<Self> {
        let _ = connection.set_no_delay(true);
        reactor.registry().register(&mut connection, Token(token), Interest::READABLE | Interest::WRITABLE)?;
        let mut stream = Self::new(token, Some(connection), StreamState::Open, Some(peer));
        stream.tls = tls.map(|config| Box::new(TlsSession::server(&config)));
        Ok(stream)
    }

    pub fn state(&self) -> StreamState {
        self.state
    }

    /// The socket's handle while it is open.
    pub fn handle(&self) -> Option<RawHandle> {
        self.connection.as_ref().map(Connection::raw_handle)
    }

    /// The socket is gone (closed, or the connect failed).
    pub fn is_closed(&self) -> bool {
        self.connection.is_none()
    }

    /// The peer, known once connected and kept after the close.
    pub fn peer_address(&self) -> Option<SocketAddress> {
        self.peer.clone()
    }

    /// This end's address, kept after the close.
    pub fn local_address(&self) -> Option<SocketAddress> {
        match &self.connection {
            Some(connection) => connection.local_address().ok(),
            None => self.local.clone(),
        }
    }

    pub fn set_notify_drain(&mut self, on: bool) {
        self.notify_drain = on;
    }

    pub fn set_no_delay(&self, on: bool) -> io::Result<()> {
        match &self.connection {
            Some(connection) => connection.set_no_delay(on),
            None => Ok(()),
        }
    }

    /// See [`Engine::set_keep_alive`](crate::Engine::set_keep_alive).
    pub fn set_keep_alive(&self, idle: Option<std::time::Duration>) -> io::Result<()> {
        match &self.connection {
            Some(connection) => connection.set_keep_alive(idle),
            None => Ok(()),
        }
    }

    /// See [`Engine::set_high_water`](crate::Engine::set_high_water).
    pub fn set_high_water(&mut self, reactor: &mut Reactor, bytes: usize) {
        self.high_water = bytes.max(1);
        self.resume_if_room(reactor);
    }

    /// `(bytes read, bytes written)`: application bytes, plaintext under TLS.
    pub fn byte_counts(&self) -> (u64, u64) {
        (self.bytes_read, self.bytes_written)
    }

    /// See [`Engine::set_paused`](crate::Engine::set_paused).
    pub fn set_paused(&mut self, reactor: &mut Reactor, paused: bool) -> io::Result<()> {
        if self.paused == paused {
            return Ok(());
        }
        self.paused = paused;
        let token = self.token;
        // A TLS handshake goes on while paused: it is the handshake's end that stops reading.
        if !self.handshaking() {
            self.watch_readable(reactor, !paused)?;
        }
        if paused {
            return Ok(());
        }
        // What waited: the bytes buffered, what the kernel holds, the peer's end.
        if !self.incoming.is_empty() && !self.read_queued {
            self.read_queued = true;
            reactor.report(EventKind::Read, token);
        }
        if self.peer_closed && self.state == StreamState::Open {
            reactor.report(EventKind::Hangup, token);
        } else if self.connection.is_some() {
            self.read_blocked = false;
            reactor.resumed.push(token);
        }
        Ok(())
    }

    /// A TLS handshake is under way.
    fn handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.handshaking())
    }

    /// Asks the poller for readability, or not: a paused stream does not,
    /// so that the kernel's buffer fills and TCP slows the peer down
    /// without waking the engine.
    fn watch_readable(&mut self, reactor: &mut Reactor, on: bool) -> io::Result<()> {
        let Some(connection) = self.connection.as_mut() else { return Ok(()) };
        let interest = if on { Interest::READABLE | Interest::WRITABLE } else { Interest::WRITABLE };
        reactor.registry().reregister(connection, Token(self.token), interest)
    }

    /// See [`Engine::end`](crate::Engine::end).
    pub fn end(&mut self, reactor: &mut Reactor) {
        if self.state != StreamState::Open || self.ending {
            return;
        }
        self.ending = true;
        if let Some(session) = self.tls.as_mut() {
            session.close();
        }
        self.mark_dirty(reactor);
    }

    /// Everything written is sent after `end`: shuts the write side down,
    /// and closes when the peer has ended too.
    fn shut_write(&mut self, reactor: &mut Reactor) {
        self.write_shut = true;
        if let Some(connection) = self.connection.as_ref() {
            let _ = connection.shutdown(Shutdown::Write);
        }
        if self.peer_closed {
            self.close_now(reactor, true, None);
        }
    }

    /// Most bytes the read buffer may hold: the user's limit plus room for a delimiter.
    fn read_limit(&self) -> usize {
        self.buffer_size + self.framer.slack()
    }

    /// Bytes written but not yet handed to the kernel: the send queue, and
    /// under TLS the plaintext waiting to be encrypted.
    pub fn unsent(&self) -> usize {
        let backlog = self.tls.as_ref().map_or(0, |tls| tls.backlog_len());
        self.outgoing.len().saturating_add(backlog)
    }

    /// Everything written has been handed to the kernel (under TLS,
    /// encrypted first, close_notify included when asked for).
    fn all_sent(&self) -> bool {
        self.outgoing.is_empty() && !self.tls.as_ref().is_some_and(|tls| tls.has_backlog())
    }

    /// Nothing more will be sent: everything was, or what is left waits for
    /// a TLS handshake that can no longer complete.
    fn finished_sending(&self) -> bool {
        self.outgoing.is_empty() && !self.awaits_handshake() && !self.tls.as_ref().is_some_and(|tls| !tls.handshaking() && tls.has_backlog())
    }

    /// A TLS handshake runs and can still complete: a closing stream waits
    /// for it, since what was written goes out only after it.
    fn awaits_handshake(&self) -> bool {
        !self.peer_closed && self.tls.as_ref().is_some_and(|tls| tls.handshaking() && tls.failure().is_none())
    }

    /// Bytes the stream may read now: none while its read buffer is full or
    /// its unsent bytes are above its high-water mark.
    fn read_room(&self) -> usize {
        if self.unsent() > self.high_water {
            0
        } else {
            self.read_limit().saturating_sub(self.incoming.len())
        }
    }

    /// Puts the stream on the list to send at the end of the dispatch;
    /// outside an iteration, sends at once.
    fn mark_dirty(&mut self, reactor: &mut Reactor) {
        if reactor.cork(self.token, &mut self.dirty) {
            self.send(reactor);
        }
    }

    /// The end of a dispatch: sends what was corked.
    pub fn send_corked(&mut self, reactor: &mut Reactor) {
        self.dirty = false;
        self.send(reactor);
    }

    /// See [`Engine::write`](crate::Engine::write).
    pub fn write(&mut self, reactor: &mut Reactor, bytes: &[u8]) -> io::Result<bool> {
        if self.state != StreamState::Open || self.ending {
            return Err(not_open());
        }
        self.bytes_written += bytes.len() as u64;
        self.idle.written(reactor.now);
        let mut sent_directly = 0;
        match (&mut self.tls, &mut self.connection) {
            (Some(session), _) => session.send(bytes, &mut self.outgoing),
            (None, Some(connection)) if bytes.len() >= DIRECT_SEND_MIN && self.outgoing.is_empty() => {
                // An error here comes back from the flush of what is left, which handles it.
                sent_directly = connection.write(bytes).unwrap_or(0);
                self.outgoing.push_bytes(&bytes[sent_directly..]);
                // Still marked dirty below: the flush reports the drain (see `send`).
            }
            (None, _) => self.outgoing.push_bytes(bytes),
        }
        self.unreported_write = true;
        let above_high_water = self.unsent() > self.high_water;
        reactor.stats.bytes_out += sent_directly as u64;
        self.mark_dirty(reactor);
        Ok(above_high_water)
    }

    /// See [`Engine::write_file`](crate::Engine::write_file).
    pub fn write_file(&mut self, reactor: &mut Reactor, file: File, offset: u64, length: u64) -> io::Result<u64> {
        if self.state != StreamState::Open || self.ending {
            return Err(not_open());
        }
        let size = file.metadata()?.len();
        let available = size.saturating_sub(offset);
        let length = if length == 0 { available } else { length.min(available) };
        self.bytes_written += length;
        self.idle.written(reactor.now);
        match &mut self.tls {
            // Encrypted in the engine, a chunk at a time as the socket drains.
            Some(session) => session.send_file(file, offset, length),
            None => self.outgoing.push_file(file, offset, length),
        }
        self.unreported_write = true;
        self.mark_dirty(reactor);
        Ok(length)
    }

    /// Sends what the stream has queued, as far as the socket takes it
    /// (under TLS, encrypting its backlog as room frees up). Then reports
    /// the drain (a Write event) or finishes a closing stream.
    pub fn send(&mut self, reactor: &mut Reactor) {
        if !matches!(self.state, StreamState::Open | StreamState::Closing) {
            return;
        }
        let Some(connection) = self.connection.as_mut() else { return };
        let mut failure = None;
        for round in 0.. {
            if let Some(session) = self.tls.as_mut() {
                if let Err(error) = session.pump(&mut self.outgoing, &mut reactor.scratch) {
                    failure = Some(error);
                    break;
                }
            }
            if self.outgoing.is_empty() {
                break;
            }
            if round == MAX_SEND_ROUNDS {
                // The socket still takes more: send on in the next poll, after the others.
                reactor.unfinished.push(self.token);
                break;
            }
            let before = self.outgoing.len();
            let sent = self.outgoing.send_to(connection);
            let progress = before.saturating_sub(self.outgoing.len());
            if progress > 0 {
                reactor.stats.bytes_out += progress as u64;
                self.idle.written(reactor.now);
            }
            match sent {
                Ok(true) => {}
                Ok(false) => break, // the kernel buffer is full: wait for writability
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if let Some(error) = failure {
            self.outgoing.clear();
            if is_disconnect(&error) {
                self.close_now(reactor, false, Some((&error, FailedCall::Write)));
            } else {
                reactor.report_with(EventKind::WriteError, self.token, errno(&error), 0);
            }
            return;
        }
        if self.all_sent() && self.state == StreamState::Open && std::mem::take(&mut self.unreported_write) && self.notify_drain {
            reactor.report_drained(self.token);
        }
        let closed = self.state == StreamState::Closing && self.finished_sending();
        if self.read_blocked {
            self.resume_if_room(reactor);
        }
        if closed {
            self.close_now(reactor, true, None);
        } else if self.ending && !self.write_shut && self.state == StreamState::Open && self.finished_sending() {
            self.shut_write(reactor);
        }
    }

    /// Closes: with `flush`, once everything buffered is sent (taking no
    /// more writes meanwhile). A `Close` event follows the socket's close.
    pub fn close(&mut self, reactor: &mut Reactor, flush: bool) {
        match self.state {
            StreamState::Open if flush => {
                // Under TLS, close_notify follows what was written (after
                // the handshake, when that still runs: see `receive`).
                if let Some(session) = self.tls.as_mut() {
                    session.close();
                }
                if self.finished_sending() && self.tls.is_none() {
                    self.close_now(reactor, true, None);
                } else {
                    self.state = StreamState::Closing;
                    self.mark_dirty(reactor);
                }
            }
            StreamState::Open => self.close_now(reactor, false, None),
            StreamState::Closed => {}
            StreamState::Closing if flush => {}
            _ => self.close_now(reactor, false, None),
        }
    }

    /// Closes the socket now (`graceful`: after a FIN, reading what the peer
    /// still sends so that it sees no reset) and reports `Close`, with the
    /// errno and the call of the error that closed the stream, if one did.
    fn close_now(&mut self, reactor: &mut Reactor, graceful: bool, error: Option<(&io::Error, FailedCall)>) {
        if let Some(mut connection) = self.connection.take() {
            let _ = reactor.registry().deregister(&mut connection);
            reactor.descriptor_freed();
            self.local = connection.local_address().ok();
            if graceful {
                if !self.write_shut {
                    let _ = connection.shutdown(Shutdown::Write);
                }
                let mut discarded = 0;
                while discarded < CLOSE_DRAIN_LIMIT {
                    match connection.read(&mut reactor.scratch) {
                        Ok(0) | Err(_) => break,
                        Ok(count) => discarded += count,
                    }
                }
            }
        }
        self.state = StreamState::Closed;
        self.outgoing.clear();
        if let Some(session) = self.tls.as_mut() {
            session.discard_backlog();
        }
        self.read_blocked = false;
        match error {
            Some((error, call)) => reactor.report_with(EventKind::Close, self.token, errno(error), call as i32),
            None => reactor.report(EventKind::Close, self.token),
        }
    }
}

impl FramedInput for StreamChannel {
    fn set_delimiter(&mut self, delimiter: Delimiter) {
        self.http = match delimiter {
            Delimiter::HttpRequest(limits) => Some(Box::new(RequestFramer::new(limits))),
            _ => None,
        };
        self.ws = match delimiter {
            // Settings that do not change keep the connection's state (a compressor's window).
            Delimiter::WebSocket(settings) if self.ws.as_ref().is_some_and(|ws| *ws.framer.settings() == settings) => self.ws.take(),
            Delimiter::WebSocket(settings) => Some(Box::new(WsConnection::new(settings))),
            _ => None,
        };
        self.http_response = match delimiter {
            Delimiter::HttpResponse(limits) => Some(Box::new(ResponseFramer::new(limits))),
            _ => None,
        };
        self.framer = Framer::new(delimiter);
        if self.readable && !self.reads_on_demand() {
            // The socket's bytes are read by the poller again: from where
            // the engine resumes reads that stopped (`resume_if_room`).
            self.readable = false;
            self.read_blocked = true;
        }
    }

    fn set_buffer_size(&mut self, size: usize) {
        self.buffer_size = size.max(1);
    }

    fn read_frame(&mut self, reactor: &mut Reactor, out: &mut [u8]) -> FrameRead {
        if self.http.is_some() {
            return self.read_request(reactor, out);
        }
        if self.ws.is_some() {
            return self.read_message(out);
        }
        if self.http_response.is_some() {
            return self.read_response(out);
        }
        match self.framer.decode(&mut self.incoming, out) {
            FrameRead::Incomplete if self.incoming.len() > self.buffer_size => FrameRead::Overflow,
            FrameRead::Incomplete if self.readable && self.reads_on_demand() => self.read_on_demand(reactor, out),
            read => read,
        }
    }

    fn peek_input(&mut self) -> &[u8] {
        self.incoming.as_slice()
    }

    fn consume_input(&mut self, count: usize) {
        self.incoming.consume(count);
    }

    fn discard_input(&mut self) {
        self.incoming.clear();
    }

    fn pending_input(&self) -> usize {
        self.incoming.len()
    }

    fn more_input(&self) -> bool {
        !self.incoming.is_empty() || (self.readable && self.read_budget > 0 && self.reads_on_demand() && !self.paused)
    }

    fn resume_if_room(&mut self, reactor: &mut Reactor) {
        if self.read_blocked && self.read_room() > 0 {
            self.read_blocked = false;
            reactor.resumed.push(self.token);
        }
    }

    fn read_event_taken(&mut self) {
        self.read_queued = false;
    }
}
