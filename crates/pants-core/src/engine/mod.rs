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

//!
//! # Who does what
//! The engine holds the slab of channels, the [`Reactor`] they share (the
//! poller, the event queue, the corked sends) and the [`Clock`]. Each call
//! looks its token up once and hands the channel and the reactor to the
//! channel's own operation (`impl StreamChannel` in `stream.rs`, `impl
//! DatagramChannel` in `datagram.rs`, `impl ListenerChannel` in
//! `listener.rs`); `channel.rs` matches on a channel's kind to pick the
//! operation, except for a ready listener, which the engine handles
//! itself (accepting adds streams to the slab).

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use slab::Slab;

mod bytes;
mod idle;
mod tls;
mod websocket;

use crate::address::SocketAddress;
use crate::channel::Channel;
use crate::clock::Clock;
use crate::datagram::DatagramChannel;
use crate::errors::{errno, not_a_datagram_channel, not_a_listener, not_a_stream};
use crate::event::{Event, EventKind};
use crate::framing::Delimiter;
use crate::input::FramedInput;
use crate::listener::ListenerChannel;
use crate::reactor::{EngineStats, Reactor};
use crate::socket::ListenOptions;
use crate::stream::{StreamChannel, StreamState};
use crate::sys::RawHandle;
use crate::timer_wheel::TimerKey;
use crate::tls::TlsConfig;
use crate::ws::Topics;

/// How often polls look for idle datagram senders.
const SENDER_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// A single-threaded event loop over TCP and UNIX stream sockets and UDP.
pub struct Engine {
    channels: Slab<Channel>,
    reactor: Reactor,
    clock: Clock,
    /// The host asked for another iteration soon ([`Engine::request_iteration`]).
    iteration_requested: bool,
    /// When polls next look for idle datagram senders.
    next_sender_sweep: Option<Instant>,
    /// The streams' idle timers due in this iteration (kept for its allocation).
    idle_due: Vec<(TimerKey, usize)>,
    /// WebSocket topics: who is subscribed to what.
    topics: Topics,
    /// A published frame (kept for its allocation).
    published: Vec<u8>,
}

impl Engine {
    /// A new engine with its own poller.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            channels: Slab::new(),
            reactor: Reactor::new()?,
            clock: Clock::new(),
            iteration_requested: false,
            next_sender_sweep: None,
            idle_due: Vec::new(),
            topics: Topics::default(),
            published: Vec::new(),
        })
    }

    /// The poller's file descriptor (epoll on Linux), readable when
    /// [`Engine::poll_io`] has something to do. Embed it in another loop.
    #[cfg(unix)]
    pub fn poll_fd(&self) -> RawHandle {
        crate::sys::raw_handle(self.reactor.poll())
    }

    /// What the engine has done since it was created.
    pub fn stats(&self) -> EngineStats {
        self.reactor.stats
    }

    /// Number of live channels (streams and listeners, closed ones until released).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// True when events are queued or streams wait to resume reading: the
    /// next [`Engine::poll_io`] will not block.
    pub fn has_pending(&self) -> bool {
        self.reactor.has_pending()
    }

    // ----- looking channels up --------------------------------------------

    fn stream_mut(&mut self, token: usize) -> io::Result<(&mut StreamChannel, &mut Reactor)> {
        match self.channels.get_mut(token).and_then(Channel::stream_mut) {
            Some(stream) => Ok((stream, &mut self.reactor)),
            None => Err(not_a_stream()),
        }
    }

    fn input_mut(&mut self, token: usize) -> io::Result<(&mut dyn FramedInput, &mut Reactor)> {
        match self.channels.get_mut(token).and_then(Channel::input_mut) {
            Some(input) => Ok((input, &mut self.reactor)),
            None => Err(not_a_stream()),
        }
    }

    fn datagram_mut(&mut self, token: usize) -> io::Result<(&mut DatagramChannel, &mut Reactor)> {
        match self.channels.get_mut(token).and_then(Channel::datagram_mut) {
            Some(datagram) => Ok((datagram, &mut self.reactor)),
            None => Err(not_a_datagram_channel()),
        }
    }

    fn stream(&self, token: usize) -> Option<&StreamChannel> {
        self.channels.get(token)?.stream()
    }

    // ----- channels -------------------------------------------------------

    /// Binds and listens. Errors (`EADDRINUSE`, ...) are returned at once.
    pub fn listen(&mut self, address: &SocketAddress, options: ListenOptions) -> io::Result<usize> {
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        entry.insert(Channel::Listener(ListenerChannel::bind(address, options, token, &self.reactor)?));
        Ok(token)
    }

    /// Starts connecting a stream. Never fails here: a failure arrives as a
    /// `ConnectError` event, success as `Connect`.
    pub fn connect(&mut self, address: &SocketAddress) -> usize {
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        entry.insert(Channel::Stream(StreamChannel::connect(address, token, &mut self.reactor)));
        token
    }

    /// Binds a UDP socket (port 0: ephemeral). `SO_BROADCAST` is set, and an
    /// IPv6 socket also serves IPv4.
    pub fn bind_datagram(&mut self, address: SocketAddr) -> io::Result<usize> {
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        entry.insert(Channel::Datagram(DatagramChannel::bind(address, token, &self.reactor)?));
        Ok(token)
    }

    /// Opens an unbound-looking datagram channel for sending to `peer`'s
    /// address family (bound to an ephemeral port).
    pub fn open_datagram(&mut self, peer: SocketAddr) -> io::Result<usize> {
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        entry.insert(Channel::Datagram(DatagramChannel::open(peer, token, &self.reactor)?));
        Ok(token)
    }

    /// Makes every stream the listener accepts from now on speak TLS with
    /// `config` (a server configuration); `None` turns that off.
    pub fn set_listener_tls(&mut self, token: usize, config: Option<&TlsConfig>) -> io::Result<()> {
        match self.channels.get_mut(token).and_then(Channel::listener_mut) {
            Some(listener) => listener.set_tls(config),
            None => Err(not_a_listener()),
        }
    }

    /// The channel's OS handle (file descriptor), while its socket is open.
    pub fn fd(&self, token: usize) -> Option<RawHandle> {
        self.channels.get(token)?.handle()
    }

    /// The channel's local address (for a stream, kept after the close).
    pub fn local_address(&self, token: usize) -> Option<SocketAddress> {
        self.channels.get(token)?.local_address()
    }

    /// The stream's peer, known once connected and kept after the close;
    /// for a datagram channel, the sender of the frame it reported last.
    pub fn peer_address(&self, token: usize) -> Option<SocketAddress> {
        self.channels.get(token)?.peer_address()
    }

    /// The stream's state, `None` for listeners and unknown tokens.
    pub fn stream_state(&self, token: usize) -> Option<StreamState> {
        Some(self.stream(token)?.state())
    }

    /// Sets how the channel frames its input. Takes effect for the next frame.
    pub fn set_delimiter(&mut self, token: usize, delimiter: Delimiter) -> io::Result<()> {
        if let Delimiter::HttpRequest(_) | Delimiter::HttpResponse(_) = delimiter {
            // Requests and responses are framed on streams only.
            self.stream_mut(token)?;
        }
        let (input, reactor) = self.input_mut(token)?;
        input.set_delimiter(delimiter);
        input.resume_if_room(reactor);
        Ok(())
    }

    /// Sets the most unframed bytes the channel buffers (per sender for
    /// datagrams) before `Overflow`.
    pub fn set_buffer_size(&mut self, token: usize, size: usize) -> io::Result<()> {
        let (input, reactor) = self.input_mut(token)?;
        input.set_buffer_size(size);
        input.resume_if_room(reactor);
        Ok(())
    }

    /// Bounds a datagram channel's senders with an unfinished frame (see
    /// [`DEFAULT_MAX_SENDERS`](crate::DEFAULT_MAX_SENDERS),
    /// [`DEFAULT_SENDER_TIMEOUT`](crate::DEFAULT_SENDER_TIMEOUT)).
    pub fn set_sender_limits(&mut self, token: usize, max_senders: usize, sender_timeout: Duration) -> io::Result<()> {
        self.datagram_mut(token)?.0.set_sender_limits(max_senders, sender_timeout);
        Ok(())
    }

    /// Asks for a `Write` event every time the stream's send buffer empties.
    pub fn set_notify_drain(&mut self, token: usize, on: bool) -> io::Result<()> {
        self.stream_mut(token)?.0.set_notify_drain(on);
        Ok(())
    }

    /// Turns `TCP_NODELAY` on or off (on by default).
    pub fn set_no_delay(&mut self, token: usize, on: bool) -> io::Result<()> {
        self.stream_mut(token)?.0.set_no_delay(on)
    }

    /// Turns TCP keepalive on, with the first probe after `idle` without
    /// traffic, or off (`None`, the default). UNIX sockets ignore it.
    pub fn set_keep_alive(&mut self, token: usize, idle: Option<Duration>) -> io::Result<()> {
        self.stream_mut(token)?.0.set_keep_alive(idle)
    }

    /// Sets the unsent bytes above which [`Engine::write`] returns true and
    /// the stream stops reading until they drain (default
    /// [`OUTGOING_HIGH_WATER`](crate::OUTGOING_HIGH_WATER)).
    pub fn set_high_water(&mut self, token: usize, bytes: usize) -> io::Result<()> {
        let (stream, reactor) = self.stream_mut(token)?;
        stream.set_high_water(reactor, bytes);
        Ok(())
    }

    /// Pauses reading a stream (the socket is not read, nor watched for
    /// readability: its buffer fills and TCP slows the peer down), or
    /// resumes it: bytes already buffered then raise a `Read` event, and a
    /// peer's end of stream seen before a `Hangup` event again.
    pub fn set_paused(&mut self, token: usize, paused: bool) -> io::Result<()> {
        let (stream, reactor) = self.stream_mut(token)?;
        stream.set_paused(reactor, paused)
    }

    /// Ends the stream's side: once everything written is sent, shuts the
    /// write side down (FIN; under TLS, after close_notify). Writes fail
    /// from now on with `ENOTCONN`. The stream closes once the peer has
    /// ended too (at once if it already has). Does nothing twice.
    pub fn end(&mut self, token: usize) -> io::Result<()> {
        let (stream, reactor) = self.stream_mut(token)?;
        stream.end(reactor);
        Ok(())
    }

    /// `(bytes read, bytes written)` by the application on a stream
    /// (plaintext under TLS): received, and accepted for sending.
    pub fn byte_counts(&self, token: usize) -> (u64, u64) {
        self.stream(token).map_or((0, 0), StreamChannel::byte_counts)
    }

    // ----- closing --------------------------------------------------------

    /// Closes a channel. A stream with `flush` first sends what it has
    /// buffered (it takes no more writes meanwhile). A `Close` event follows
    /// once the socket is closed; closing a closed channel does nothing.
    pub fn close(&mut self, token: usize, flush: bool) {
        if let Some(channel) = self.channels.get_mut(token) {
            channel.close(&mut self.reactor, flush);
        }
    }

    /// Forgets a closed channel's token so that it can be reused. Call it
    /// after handling the channel's `Close` (or a final `ConnectError`).
    pub fn release(&mut self, token: usize) {
        if self.channels.get(token).is_some_and(Channel::is_closed) {
            self.topics.leave_all(token);
            if let Some(key) = self.channels.remove(token).stream_mut().and_then(|stream| stream.idle.key.take()) {
                self.clock.cancel_idle(key);
            }
        }
    }

    // ----- iterations -----------------------------------------------------

    /// Starts an iteration: engine time becomes now, and writes are corked
    /// until [`Engine::end_io_dispatch`] or [`Engine::end_iteration`]. Take
    /// the timers due now with [`Engine::take_expired_timers`]. Returns
    /// engine time.
    pub fn begin_iteration(&mut self) -> u64 {
        self.reactor.stats.iterations += 1;
        self.reactor.in_iteration = true;
        self.iteration_requested = false;
        self.clock.update();
        self.reactor.now = self.clock.time();
        self.run_idle_timers();
        self.clock.time()
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
        self.reactor.polling = true;
        let result = self.do_io(timeout);
        self.reactor.polling = false;
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
        self.reactor.in_iteration = false;
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
        !self.reactor.in_iteration && (self.iteration_requested || self.has_pending())
    }

    /// True between [`Engine::begin_iteration`] and [`Engine::end_iteration`].
    pub fn in_iteration(&self) -> bool {
        self.reactor.in_iteration
    }

    fn do_io(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.reactor.queue_later_events();
        self.sweep_idle_senders();
        for token in std::mem::take(&mut self.reactor.unfinished) {
            self.flush(token);
        }
        for token in std::mem::take(&mut self.reactor.resumed) {
            if let Some(channel) = self.channels.get_mut(token) {
                channel.resume_reading(&mut self.reactor);
            }
        }
        for token in self.reactor.take_accept_retries() {
            self.accept(token);
        }
        self.reactor.wait(timeout)?;
        for index in 0..self.reactor.ready.len() {
            let (token, readiness) = self.reactor.ready[index];
            match self.channels.get_mut(token) {
                Some(Channel::Listener(_)) => self.accept(token),
                Some(channel) => channel.ready(&mut self.reactor, readiness),
                None => {}
            }
        }
        Ok(())
    }

    /// Accepts what the listener `token` has pending, each connection a new stream.
    fn accept(&mut self, token: usize) {
        loop {
            let Some(listener) = self.channels.get_mut(token).and_then(Channel::listener_mut) else { return };
            let Some((connection, peer)) = listener.accept(&mut self.reactor) else { return };
            let tls = listener.tls();
            let entry = self.channels.vacant_entry();
            let stream_token = entry.key();
            match StreamChannel::accepted(connection, peer, stream_token, tls, &mut self.reactor) {
                Ok(stream) => {
                    let fd = stream.handle().map_or(-1, crate::sys::handle_number);
                    entry.insert(Channel::Stream(stream));
                    self.reactor.report_with(EventKind::Accept, token, stream_token as i32, fd);
                }
                Err(error) => self.reactor.report_with(EventKind::AcceptError, token, errno(&error), 0),
            }
        }
    }

    /// Drops the unfinished frames of idle datagram senders, at most once
    /// per [`SENDER_SWEEP_INTERVAL`] (called by every poll).
    fn sweep_idle_senders(&mut self) {
        let now = Instant::now();
        if self.next_sender_sweep.is_some_and(|at| now < at) {
            return;
        }
        self.next_sender_sweep = Some(now + SENDER_SWEEP_INTERVAL);
        for (_, channel) in self.channels.iter_mut() {
            if let Some(datagram) = channel.datagram_mut() {
                if datagram.has_senders() {
                    datagram.expire_senders(now);
                }
            }
        }
    }

    /// The next queued event, oldest first.
    pub fn next_event(&mut self) -> Option<Event> {
        let event = self.reactor.queue.pop_front()?;
        if event.kind == EventKind::Read {
            if let Some(input) = self.channels.get_mut(event.token).and_then(Channel::input_mut) {
                input.read_event_taken();
            }
        }
        Some(event)
    }

    // ----- time and timers --------------------------------------------------

    /// Milliseconds since the engine was created (monotonic).
    pub fn elapsed_ms(&self) -> u64 {
        self.clock.elapsed_ms()
    }

    /// Engine time: milliseconds since the engine was created, as of the
    /// start of the latest iteration (or [`Engine::refresh_time`]).
    pub fn time(&self) -> u64 {
        self.clock.time()
    }

    /// Wall-clock seconds since the UNIX epoch at the moment engine time
    /// was taken: Pants' `latestPollTime`.
    pub fn latest_poll_time(&self) -> f64 {
        self.clock.wall_time()
    }

    /// Outside an iteration, makes engine time now: for a host whose loop
    /// has turned since the latest iteration (its own callbacks ran since,
    /// and a timer they schedule should count from their time, as the
    /// host's own timers do). Inside an iteration it does nothing: engine
    /// time stays the iteration's.
    pub fn refresh_time(&mut self) {
        if !self.reactor.in_iteration {
            self.clock.update();
            self.reactor.now = self.clock.time();
        }
    }

    /// Schedules a timer due `delay_ms` after engine time, and returns its
    /// key: its id in [`Engine::take_expired_timers`], and what cancels it.
    pub fn schedule_timer(&mut self, delay_ms: u64) -> TimerKey {
        self.clock.schedule(delay_ms)
    }

    /// Cancels a timer: true when it was pending, or due but not yet taken
    /// past (see [`TimerWheel::cancel`](crate::TimerWheel::cancel)); false
    /// for a key cancelled already or long expired.
    pub fn cancel_timer(&mut self, key: TimerKey) -> bool {
        self.clock.cancel(key)
    }

    /// Copies the indices ([`TimerKey::index`]) of the timers due at engine
    /// time to `out`, in due order; call again until it returns 0. Until
    /// then no timer scheduled meanwhile takes one of their indices.
    pub fn take_expired_timers(&mut self, out: &mut [u32]) -> usize {
        self.clock.take_expired(out)
    }

    /// Time from now until the earliest timer may be due (or a listener out
    /// of descriptors retries), `None` without either.
    pub fn next_timer_delay(&self) -> Option<Duration> {
        let timer = self.clock.next_deadline();
        let retry = self.reactor.accept_retry_at.map(|at| at.saturating_duration_since(Instant::now()));
        match (timer, retry) {
            (Some(timer), Some(retry)) => Some(timer.min(retry)),
            (timer, retry) => timer.or(retry),
        }
    }

    /// Number of pending timers.
    pub fn timer_count(&self) -> usize {
        self.clock.len()
    }
}
