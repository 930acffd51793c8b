//! The engine: one `mio::Poll`, a slab of channels, an event queue and a timer wheel.
//!
//! The engine never calls user code. Its user (the Node binding, or a Rust
//! program) drives it in iterations, and the engine keeps their rules:
//!
//! 1. [`Engine::begin_iteration`]: engine time becomes now, and writes are
//!    corked from here on. Run the timers [`Engine::take_expired_timers`]
//!    names;
//! 2. [`Engine::poll_io`] waits for readiness (never past the next timer)
//!    and does the I/O: accepts, finishes connects, reads into each
//!    stream's buffer, sends;
//! 3. [`Engine::next_event`] hands out what happened. On a `Read` event,
//!    take frames with [`Engine::read_frame`] until there are none;
//! 4. [`Engine::end_io_dispatch`] sends everything written while the events
//!    were handled, one `write` per stream (corking);
//! 5. [`Engine::end_iteration`] sends what was written since, and says when
//!    the next iteration is due.
//!
//! Outside an iteration, writes are sent at once, and
//! [`Engine::needs_iteration`] tells the host loop when events wait for one.
//!
//! # Draining readiness
//! Sockets are registered edge-triggered. A read that returns fewer bytes
//! than asked is taken as "drained" (as tokio does), except after the peer
//! hung up, where the engine reads on to the end. A stream whose buffer
//! reaches its limit stops reading; taking frames resumes it.

use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::address::SocketAddress;
use crate::channel::{Channel, ListenerChannel, StreamChannel, StreamState};
use crate::event::{Event, EventKind};
use crate::framing::{Delimiter, FrameRead, Framer};
use crate::socket::{ListenOptions, Listener};
use crate::timer_wheel::{TimerKey, TimerWheel};
use crate::tls::{TlsConfig, TlsSession};

/// How long a listener out of descriptors waits before trying again (when
/// no socket of the engine closes first).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Size of the engine's shared receive buffer: the most one `read` returns.
const READ_CHUNK: usize = 64 * 1024;

/// Counters of an engine's work since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Bytes received from sockets (TLS records included).
    pub bytes_in: u64,
    /// Bytes handed to sockets (TLS records included).
    pub bytes_out: u64,
    /// Iterations begun.
    pub iterations: u64,
}

/// A single-threaded event loop over TCP and UNIX stream sockets.
pub struct Engine {
    pub(crate) poll: Poll,
    pub(crate) events: Events,
    pub(crate) ready: Vec<(usize, Readiness)>,
    pub(crate) channels: Slab<Channel>,
    pub(crate) queue: VecDeque<Event>,
    /// Write events raised outside [`Engine::poll_io`] (by a flush from a
    /// callback, or the end of a dispatch): queued by the next poll, so a
    /// stream that writes again from each `onWrite` cannot hold an
    /// iteration to itself.
    pub(crate) later: Vec<Event>,
    /// True while [`Engine::poll_io`] does I/O.
    pub(crate) polling: bool,
    /// Between [`Engine::begin_iteration`] and [`Engine::end_iteration`]:
    /// writes are corked.
    pub(crate) in_iteration: bool,
    /// The host asked for another iteration soon ([`Engine::request_iteration`]).
    pub(crate) iteration_requested: bool,
    /// Streams that stopped sending with the socket still writable, to
    /// give others a turn: the next poll sends on (see `Engine::send`).
    pub(crate) unfinished: Vec<usize>,
    /// When polls next look for idle datagram senders.
    pub(crate) next_sender_sweep: Option<Instant>,
    pub(crate) dirty: Vec<usize>,
    pub(crate) resumed: Vec<usize>,
    pub(crate) scratch: Box<[u8]>,
    pub(crate) timers: TimerWheel,
    /// The timers the latest advance of the wheel fired, and how many of
    /// them [`Engine::take_expired_timers`] has handed out.
    pub(crate) expired: Vec<TimerKey>,
    pub(crate) expired_taken: usize,
    /// Listeners that stopped accepting for lack of descriptors (EMFILE, ...).
    pub(crate) accept_paused: Vec<usize>,
    /// A descriptor was freed since: retry `accept_paused` on the next poll.
    pub(crate) accept_retry_now: bool,
    /// When to retry `accept_paused` anyway (descriptors may be freed
    /// outside the engine).
    pub(crate) accept_retry_at: Option<Instant>,
    pub(crate) epoch: Instant,
    /// Engine time: milliseconds since `epoch`, as of the latest iteration
    /// (or [`Engine::refresh_time`]). Timers are due relative to it.
    pub(crate) tick: u64,
    /// Wall-clock seconds since the UNIX epoch at the same moment as `tick`.
    pub(crate) wall_time: f64,
    pub(crate) stats: EngineStats,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    pub(crate) read_closed: bool,
    pub(crate) failed: bool,
}

pub(crate) fn errno(error: &io::Error) -> i32 {
    error.raw_os_error().unwrap_or(libc::EIO)
}

/// Errors that mean the peer is gone: the stream closes without an error callback.
pub(crate) fn is_disconnect(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::NotConnected)
}

pub(crate) fn not_a_stream() -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, "the token is not a stream")
}

pub(crate) fn not_open() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOTCONN)
}

impl Engine {
    /// A new engine with its own poller.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            ready: Vec::with_capacity(1024),
            channels: Slab::new(),
            queue: VecDeque::new(),
            later: Vec::new(),
            polling: false,
            in_iteration: false,
            iteration_requested: false,
            unfinished: Vec::new(),
            next_sender_sweep: None,
            dirty: Vec::new(),
            resumed: Vec::new(),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            timers: TimerWheel::new(),
            expired: Vec::new(),
            expired_taken: 0,
            accept_paused: Vec::new(),
            accept_retry_now: false,
            accept_retry_at: None,
            epoch: Instant::now(),
            tick: 0,
            wall_time: crate::timers::wall_clock(),
            stats: EngineStats::default(),
        })
    }

    /// The poller's file descriptor (epoll on Linux), readable when
    /// [`Engine::poll_io`] has something to do. Embed it in another loop.
    pub fn poll_fd(&self) -> RawFd {
        self.poll.as_raw_fd()
    }

    /// What the engine has done since it was created.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Number of live channels (streams and listeners, closed ones until released).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// True when events are queued or streams wait to resume reading: the
    /// next [`Engine::poll_io`] will not block.
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty() || !self.later.is_empty() || !self.resumed.is_empty() || !self.unfinished.is_empty() || self.accept_retry_now
    }

    // ----- channels -------------------------------------------------------

    /// Binds and listens. Errors (`EADDRINUSE`, ...) are returned at once.
    pub fn listen(&mut self, address: &SocketAddress, options: ListenOptions) -> io::Result<usize> {
        let mut listener = Listener::bind(address, options)?;
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        self.poll.registry().register(&mut listener, Token(token), Interest::READABLE)?;
        let fd = listener.as_raw_fd();
        entry.insert(Channel::Listener(ListenerChannel { listener: Some(listener), fd, tls: None }));
        Ok(token)
    }

    /// Makes every stream the listener accepts from now on speak TLS with
    /// `config` (a server configuration); `None` turns that off.
    pub fn set_listener_tls(&mut self, token: usize, config: Option<&TlsConfig>) -> io::Result<()> {
        let Some(Channel::Listener(listener)) = self.channels.get_mut(token) else {
            return Err(io::Error::new(ErrorKind::InvalidInput, "the token is not a listener"));
        };
        listener.tls = match config {
            None => None,
            Some(TlsConfig::Server(server)) => Some(server.clone()),
            Some(TlsConfig::Client(_)) => return Err(io::Error::new(ErrorKind::InvalidInput, "a listener needs a server configuration")),
        };
        Ok(())
    }

    /// The channel's file descriptor, while its socket is open.
    pub fn fd(&self, token: usize) -> Option<RawFd> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => stream.connection.as_ref().map(|_| stream.fd),
            Channel::Listener(listener) => listener.listener.as_ref().map(|_| listener.fd),
            Channel::Datagram(datagram) => datagram.socket.as_ref().map(|_| datagram.fd),
        }
    }

    /// The channel's local address (for a stream, kept after the close).
    pub fn local_address(&self, token: usize) -> Option<SocketAddress> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => match &stream.connection {
                Some(connection) => connection.local_address().ok(),
                None => stream.local.clone(),
            },
            Channel::Listener(listener) => listener.listener.as_ref()?.local_address().ok(),
            Channel::Datagram(datagram) => datagram.socket.as_ref()?.local_addr().ok().map(SocketAddress::Inet),
        }
    }

    /// Sets how the channel frames its input. Takes effect for the next frame.
    pub fn set_delimiter(&mut self, token: usize, delimiter: Delimiter) -> io::Result<()> {
        match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => stream.framer = Framer::new(delimiter),
            Some(Channel::Datagram(datagram)) => datagram.set_delimiter(delimiter),
            _ => return Err(not_a_stream()),
        }
        self.resume_if_room(token);
        Ok(())
    }

    /// Sets the most unframed bytes the channel buffers (per sender for
    /// datagrams) before `Overflow`.
    pub fn set_buffer_size(&mut self, token: usize, size: usize) -> io::Result<()> {
        match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => stream.buffer_size = size.max(1),
            Some(Channel::Datagram(datagram)) => datagram.set_buffer_size(size),
            _ => return Err(not_a_stream()),
        }
        self.resume_if_room(token);
        Ok(())
    }

    // ----- reading --------------------------------------------------------

    /// Takes the next frame by the channel's current delimiter, copying its
    /// bytes to the start of `out`. For a datagram channel,
    /// [`Engine::peer_address`] then tells whose frame it was.
    pub fn read_frame(&mut self, token: usize, out: &mut [u8]) -> io::Result<FrameRead> {
        let result = match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => stream.read_frame(out),
            Some(Channel::Datagram(datagram)) => datagram.read_frame(out),
            _ => return Err(not_a_stream()),
        };
        if let FrameRead::Frame(_) = result {
            self.resume_if_room(token);
        }
        Ok(result)
    }

    /// Copies the bytes framing would look at next to `out` without taking
    /// them (for framing done by the caller): a stream's whole buffer, or a
    /// datagram sender's. `Err(needed)` when `out` is too small.
    pub fn peek_input(&mut self, token: usize, out: &mut [u8]) -> Result<usize, usize> {
        let bytes = match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => stream.incoming.as_slice(),
            Some(Channel::Datagram(datagram)) => datagram.peek(),
            _ => return Ok(0),
        };
        if bytes.len() > out.len() {
            return Err(bytes.len());
        }
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Drops `count` peeked bytes (after framing done by the caller). For a
    /// datagram channel, 0 means "no frame in them": move to the next packet.
    pub fn consume_input(&mut self, token: usize, count: usize) -> io::Result<()> {
        match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => {
                stream.incoming.consume(count);
                stream.framer.reset();
            }
            Some(Channel::Datagram(datagram)) => datagram.consume(count),
            _ => return Err(not_a_stream()),
        }
        self.resume_if_room(token);
        Ok(())
    }

    /// Drops unframed input: all of a stream's, or the current datagram sender's.
    pub fn discard_input(&mut self, token: usize) {
        match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => {
                stream.incoming.clear();
                stream.framer.reset();
            }
            Some(Channel::Datagram(datagram)) => datagram.discard_current(),
            _ => return,
        }
        self.resume_if_room(token);
    }

    /// Bytes received but not yet taken as frames.
    pub fn pending_input(&self, token: usize) -> usize {
        match self.channels.get(token) {
            Some(Channel::Stream(stream)) => stream.incoming.len(),
            Some(Channel::Datagram(datagram)) => datagram.pending_input(),
            _ => 0,
        }
    }

    /// Lets a channel that stopped reading at its limit read again once
    /// there is room (on the next poll).
    pub(crate) fn resume_if_room(&mut self, token: usize) {
        let resume = match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) if stream.read_blocked && stream.read_room() > 0 => {
                stream.read_blocked = false;
                true
            }
            Some(Channel::Datagram(datagram)) if datagram.read_blocked && datagram.has_room() => {
                datagram.read_blocked = false;
                true
            }
            _ => false,
        };
        if resume {
            self.resumed.push(token);
        }
    }

    // ----- writing --------------------------------------------------------

    /// Puts a stream on the list of those to send at the end of the
    /// dispatch; outside an iteration, sends at once.
    pub(crate) fn mark_dirty(&mut self, token: usize) {
        let dirty = match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => &mut stream.dirty,
            Some(Channel::Datagram(datagram)) => &mut datagram.dirty,
            _ => return,
        };
        if !std::mem::replace(dirty, true) {
            self.dirty.push(token);
        }
        if !self.in_iteration {
            self.flush_dirty();
        }
    }

    /// Sends what every channel written to since the last call has buffered.
    pub(crate) fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &token in &dirty {
            match self.channels.get_mut(token) {
                Some(Channel::Stream(stream)) => {
                    stream.dirty = false;
                    self.send(token);
                }
                Some(Channel::Datagram(datagram)) => {
                    datagram.dirty = false;
                    self.send_packets(token);
                }
                _ => {}
            }
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    // ----- closing --------------------------------------------------------

    /// Closes a channel. A stream with `flush` first sends what it has
    /// buffered (it takes no more writes meanwhile). A `Close` event follows
    /// once the socket is closed; closing a closed channel does nothing.
    pub fn close(&mut self, token: usize, flush: bool) {
        match self.channels.get_mut(token) {
            Some(Channel::Listener(listener)) => {
                if let Some(mut socket) = listener.listener.take() {
                    let _ = self.poll.registry().deregister(&mut socket);
                    self.accept_retry_now |= !self.accept_paused.is_empty();
                    self.queue.push_back(Event::new(EventKind::Close, token));
                }
            }
            Some(Channel::Stream(stream)) => match stream.state {
                StreamState::Open if flush => {
                    // Under TLS, close_notify follows what was written (after
                    // the handshake, when that still runs: see `receive`).
                    if let Some(session) = stream.tls.as_mut() {
                        session.close();
                    }
                    if stream.finished_sending() && stream.tls.is_none() {
                        self.close_now(token, true);
                    } else {
                        stream.state = StreamState::Closing;
                        self.mark_dirty(token);
                    }
                }
                StreamState::Open => self.close_now(token, false),
                StreamState::Closed => {}
                StreamState::Closing if flush => {}
                _ => self.close_now(token, false),
            },
            Some(Channel::Datagram(_)) => self.close_datagram(token, flush),
            None => {}
        }
    }

    /// Forgets a closed channel's token so that it can be reused. Call it
    /// after handling the channel's `Close` (or a final `ConnectError`).
    pub fn release(&mut self, token: usize) {
        let closed = match self.channels.get(token) {
            Some(Channel::Stream(stream)) => stream.connection.is_none(),
            Some(Channel::Listener(listener)) => listener.listener.is_none(),
            Some(Channel::Datagram(datagram)) => datagram.socket.is_none(),
            None => false,
        };
        if closed {
            self.channels.remove(token);
        }
    }

    // ----- iterations -----------------------------------------------------

    /// Starts an iteration: engine time becomes now, and writes are corked
    /// until [`Engine::end_io_dispatch`] or [`Engine::end_iteration`]. Take
    /// the timers due now with [`Engine::take_expired_timers`]. Returns
    /// engine time.
    pub fn begin_iteration(&mut self) -> u64 {
        self.stats.iterations += 1;
        self.in_iteration = true;
        self.iteration_requested = false;
        self.update_time();
        self.tick
    }

    /// Waits up to `timeout` (`None`: forever), but never past the next
    /// timer and not at all when events are already queued, for readiness,
    /// and does the I/O it allows, queueing events for
    /// [`Engine::next_event`].
    pub fn poll_io(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = match self.next_timer_delay() {
            Some(delay) => Some(timeout.map_or(delay, |timeout| timeout.min(delay))),
            None => timeout,
        };
        self.polling = true;
        let result = self.do_io(timeout);
        self.polling = false;
        result
    }

    /// Ends the dispatch of the events [`Engine::poll_io`] queued: sends
    /// what was written while handling them, one send per channel.
    pub fn end_io_dispatch(&mut self) {
        self.flush_dirty();
    }

    /// Ends the iteration: sends what was written since the dispatch
    /// ended, and returns when the next iteration is due: `ZERO` when work
    /// already waits, the next timer's delay, or `None` when nothing is
    /// scheduled (the host then wakes on I/O, or at its own pace).
    pub fn end_iteration(&mut self) -> Option<Duration> {
        self.flush_dirty();
        self.in_iteration = false;
        if std::mem::take(&mut self.iteration_requested) || self.has_pending() {
            Some(Duration::ZERO)
        } else {
            self.next_timer_delay()
        }
    }

    /// Asks for an iteration soon: from [`Engine::end_iteration`] when one
    /// is running, else through [`Engine::needs_iteration`].
    pub fn request_iteration(&mut self) {
        self.iteration_requested = true;
    }

    /// Outside an iteration: true when one should run on the host loop's
    /// next turn (events wait, or one was requested). Check it after each
    /// call made from outside an iteration.
    pub fn needs_iteration(&self) -> bool {
        !self.in_iteration && (self.iteration_requested || self.has_pending())
    }

    /// True between [`Engine::begin_iteration`] and [`Engine::end_iteration`].
    pub fn in_iteration(&self) -> bool {
        self.in_iteration
    }

    fn do_io(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.queue.extend(self.later.drain(..));
        self.sweep_idle_senders();
        for token in std::mem::take(&mut self.unfinished) {
            self.send(token);
        }
        for token in std::mem::take(&mut self.resumed) {
            // The readiness edge (maybe the peer's FIN) may have come while
            // reading was paused at the limit: read on to WouldBlock or EOF.
            match self.channels.get(token) {
                Some(Channel::Stream(_)) => self.receive(token, true),
                Some(Channel::Datagram(_)) => self.receive_packets(token),
                _ => {}
            }
        }
        let retry_due = self.accept_retry_at.is_some_and(|at| Instant::now() >= at);
        if std::mem::take(&mut self.accept_retry_now) || retry_due {
            self.accept_retry_at = None;
            for token in std::mem::take(&mut self.accept_paused) {
                self.accept(token);
            }
        }
        let timeout = if self.queue.is_empty() { timeout } else { Some(Duration::ZERO) };
        let timeout = match self.accept_retry_at {
            Some(at) => Some(at.saturating_duration_since(Instant::now()).min(timeout.unwrap_or(Duration::MAX))),
            None => timeout,
        };
        match self.poll.poll(&mut self.events, timeout) {
            Err(error) if error.kind() == ErrorKind::Interrupted => return Ok(()),
            result => result?,
        }
        self.ready.clear();
        self.ready.extend(self.events.iter().map(|event| {
            let readiness =
                Readiness { readable: event.is_readable(), writable: event.is_writable(), read_closed: event.is_read_closed(), failed: event.is_error() };
            (event.token().0, readiness)
        }));
        for index in 0..self.ready.len() {
            let (token, readiness) = self.ready[index];
            match self.channels.get(token) {
                Some(Channel::Listener(_)) => self.accept(token),
                Some(Channel::Stream(_)) => self.stream_ready(token, readiness),
                Some(Channel::Datagram(_)) => self.datagram_ready(token, readiness),
                None => {}
            }
        }
        Ok(())
    }

    /// The next queued event, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        let event = self.queue.pop_front()?;
        if event.kind == EventKind::Read {
            match self.channels.get_mut(event.token) {
                Some(Channel::Stream(stream)) => stream.read_queued = false,
                Some(Channel::Datagram(datagram)) => datagram.read_queued = false,
                _ => {}
            }
        }
        Some(event)
    }

    fn accept(&mut self, token: usize) {
        loop {
            let Some(Channel::Listener(ListenerChannel { listener: Some(listener), tls, .. })) = self.channels.get(token) else {
                return;
            };
            let tls = tls.clone();
            match listener.accept() {
                Ok((mut connection, peer)) => {
                    let _ = connection.set_no_delay(true);
                    let entry = self.channels.vacant_entry();
                    let stream_token = entry.key();
                    let registered = self.poll.registry().register(&mut connection, Token(stream_token), Interest::READABLE | Interest::WRITABLE);
                    if let Err(error) = registered {
                        self.queue.push_back(Event::with(EventKind::AcceptError, token, errno(&error), 0));
                        continue;
                    }
                    let fd = connection.as_raw_fd();
                    let mut stream = StreamChannel::new(Some(connection), fd, StreamState::Open, Some(peer));
                    stream.tls = tls.map(|config| Box::new(TlsSession::server(&config)));
                    entry.insert(Channel::Stream(stream));
                    self.queue.push_back(Event::with(EventKind::Accept, token, stream_token as i32, fd));
                }
                Err(error) if error.kind() == ErrorKind::WouldBlock => return,
                Err(error) if matches!(error.kind(), ErrorKind::Interrupted | ErrorKind::ConnectionAborted) => {}
                Err(error) => {
                    let out_of_descriptors = matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM));
                    if out_of_descriptors && !self.accept_paused.contains(&token) {
                        self.accept_paused.push(token);
                        self.accept_retry_at.get_or_insert(Instant::now() + ACCEPT_RETRY_DELAY);
                    }
                    self.queue.push_back(Event::with(EventKind::AcceptError, token, errno(&error), 0));
                    return;
                }
            }
        }
    }
}
