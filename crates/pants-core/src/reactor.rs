//! What every channel's operations share: the poller, the event queue,
//! the corked-send list, the scratch buffer and the counters.
//!
//! The engine keeps this apart from its slab of channels, so that a
//! channel's own methods (`impl StreamChannel`, `impl DatagramChannel`,
//! ...) borrow their channel and the reactor at once, and the engine looks
//! a token up once per call.

use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};

use mio::{Events, Poll, Registry};

use crate::event::{Event, EventKind};

/// How long a listener out of descriptors waits before trying again (when
/// no socket of the engine closes first).
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Size of the shared receive buffer: the most one `read` returns.
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

/// What the poller said about one channel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Readiness {
    pub readable: bool,
    pub writable: bool,
    pub read_closed: bool,
    pub failed: bool,
}

/// The poller and what the channels' operations report to or ask of the
/// engine (see the module docs).
pub(crate) struct Reactor {
    poll: Poll,
    events: Events,
    /// The readiness the latest [`Reactor::wait`] found, by token.
    pub ready: Vec<(usize, Readiness)>,
    /// Events for the engine's user, oldest first.
    pub queue: VecDeque<Event>,
    /// Write events raised outside a poll's I/O (by a flush from a
    /// callback, or the end of a dispatch): queued by the next poll, so a
    /// stream that writes again from each `onWrite` cannot hold an
    /// iteration to itself.
    later: Vec<Event>,
    /// True while the engine's poll does I/O.
    pub polling: bool,
    /// Between the start and the end of an iteration: sends are corked.
    pub in_iteration: bool,
    /// Channels written to while corked, to send at the end of the dispatch.
    pub dirty: Vec<usize>,
    /// Channels that stopped reading at their limit and have room again.
    pub resumed: Vec<usize>,
    /// Streams that stopped sending with the socket still writable, to
    /// give others a turn: the next poll sends on.
    pub unfinished: Vec<usize>,
    /// Where reads land before they are decrypted or copied.
    pub scratch: Box<[u8]>,
    pub stats: EngineStats,
    /// Engine time (ms), as of the latest iteration: what streams stamp their activity with.
    pub now: u64,
    /// Listeners that stopped accepting for lack of descriptors (EMFILE, ...).
    pub accept_paused: Vec<usize>,
    /// A descriptor was freed since: retry `accept_paused` on the next poll.
    accept_retry_now: bool,
    /// When to retry `accept_paused` anyway (descriptors may be freed
    /// outside the engine).
    pub accept_retry_at: Option<Instant>,
}

impl Reactor {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            ready: Vec::with_capacity(1024),
            queue: VecDeque::new(),
            later: Vec::new(),
            polling: false,
            in_iteration: false,
            dirty: Vec::new(),
            resumed: Vec::new(),
            unfinished: Vec::new(),
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            stats: EngineStats::default(),
            now: 0,
            accept_paused: Vec::new(),
            accept_retry_now: false,
            accept_retry_at: None,
        })
    }

    /// The poller itself (its handle is what a host loop watches).
    #[cfg(unix)]
    pub fn poll(&self) -> &Poll {
        &self.poll
    }

    /// Where channels register their sockets.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Queues an event for the engine's user.
    pub fn report(&mut self, kind: EventKind, token: usize) {
        self.queue.push_back(Event::new(kind, token));
    }

    /// Queues an event with arguments (see [`EventKind`]).
    pub fn report_with(&mut self, kind: EventKind, token: usize, a: i32, b: i32) {
        self.queue.push_back(Event::with(kind, token, a, b));
    }

    /// Queues a stream's Write event: now during a poll's I/O, else on the next poll.
    pub fn report_drained(&mut self, token: usize) {
        let event = Event::new(EventKind::Write, token);
        if self.polling {
            self.queue.push_back(event);
        } else {
            self.later.push(event);
        }
    }

    /// Corks a channel's send until the dispatch ends (`corked` is the
    /// channel's "on the list" flag). False when that is done; true outside
    /// an iteration, where the caller sends at once instead.
    pub fn cork(&mut self, token: usize, corked: &mut bool) -> bool {
        if !self.in_iteration {
            return true;
        }
        if !std::mem::replace(corked, true) {
            self.dirty.push(token);
        }
        false
    }

    /// A socket of the engine closed: listeners out of descriptors try again.
    pub fn descriptor_freed(&mut self) {
        self.accept_retry_now |= !self.accept_paused.is_empty();
    }

    /// A listener ran out of descriptors: it accepts again once one is
    /// freed, or after [`ACCEPT_RETRY_DELAY`].
    pub fn pause_accepting(&mut self, token: usize) {
        if !self.accept_paused.contains(&token) {
            self.accept_paused.push(token);
            self.accept_retry_at.get_or_insert(Instant::now() + ACCEPT_RETRY_DELAY);
        }
    }

    /// The paused listeners, when it is time to retry them.
    pub fn take_accept_retries(&mut self) -> Vec<usize> {
        let due = self.accept_retry_at.is_some_and(|at| Instant::now() >= at);
        if std::mem::take(&mut self.accept_retry_now) || due {
            self.accept_retry_at = None;
            std::mem::take(&mut self.accept_paused)
        } else {
            Vec::new()
        }
    }

    /// True when events are queued or channels wait for the next poll.
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty() || !self.later.is_empty() || !self.resumed.is_empty() || !self.unfinished.is_empty() || self.accept_retry_now
    }

    /// Moves the Write events raised since the last poll into the queue.
    pub fn queue_later_events(&mut self) {
        self.queue.extend(self.later.drain(..));
    }

    /// Waits up to `timeout` (none when events are queued; never past an
    /// accept retry) and records what is ready in [`Reactor::ready`].
    pub fn wait(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = if self.queue.is_empty() { timeout } else { Some(Duration::ZERO) };
        let timeout = match self.accept_retry_at {
            Some(at) => Some(at.saturating_duration_since(Instant::now()).min(timeout.unwrap_or(Duration::MAX))),
            None => timeout,
        };
        self.ready.clear();
        match self.poll.poll(&mut self.events, timeout) {
            Err(error) if error.kind() == ErrorKind::Interrupted => return Ok(()),
            result => result?,
        }
        self.ready.extend(self.events.iter().map(|event| {
            let readiness =
                Readiness { readable: event.is_readable(), writable: event.is_writable(), read_closed: event.is_read_closed(), failed: event.is_error() };
            (event.token().0, readiness)
        }));
        Ok(())
    }
}
