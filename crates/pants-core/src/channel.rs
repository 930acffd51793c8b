//! The per-channel state the engine keeps in its slab.

use std::os::fd::RawFd;

use crate::address::SocketAddress;
use crate::byte_queue::ByteQueue;
use crate::datagram::DatagramChannel;
use crate::framing::{FrameRead, Framer};
use crate::outgoing::Outgoing;
use crate::socket::{Connection, Listener};
use crate::tls::TlsSession;

/// Default for [`StreamChannel::buffer_size`], as in Pants.
pub const DEFAULT_BUFFER_SIZE: usize = 65536;

/// Unsent bytes above which a stream stops reading until they drain: a
/// peer that sends faster than it reads cannot grow our memory without bound.
pub const OUTGOING_HIGH_WATER: usize = 1 << 20;

/// A channel in the engine's slab.
// Streams, the largest kind, are nearly every channel: kept inline, not
// boxed, they cost no allocation and no pointer chase per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Channel {
    Stream(StreamChannel),
    Listener(ListenerChannel),
    Datagram(DatagramChannel),
}

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

#[derive(Debug)]
pub(crate) struct StreamChannel {
    pub connection: Option<Connection>,
    pub state: StreamState,
    pub fd: RawFd,
    pub incoming: ByteQueue,
    pub outgoing: Outgoing,
    pub framer: Framer,
    pub buffer_size: usize,
    pub peer: Option<SocketAddress>,
    /// This end's address, recorded when the socket closes.
    pub local: Option<SocketAddress>,
    /// The peer sent end-of-stream; nothing more will be read.
    pub peer_closed: bool,
    /// Reading stopped at the buffer limit with data possibly left in the kernel.
    pub read_blocked: bool,
    /// A Read event for this stream is waiting in the queue.
    pub read_queued: bool,
    /// The stream is in the engine's list of streams to flush.
    pub dirty: bool,
    /// Report a Write event whenever the send buffer empties.
    pub notify_drain: bool,
    /// The application wrote since the last Write event: the next time
    /// everything is sent, a Write event is due (bytes the engine wrote
    /// itself, such as TLS handshake records, raise none).
    pub unreported_write: bool,
    /// The TLS session, once TLS has started.
    pub tls: Option<Box<TlsSession>>,
}

impl StreamChannel {
    pub fn new(connection: Option<Connection>, fd: RawFd, state: StreamState, peer: Option<SocketAddress>) -> Self {
        Self {
            connection,
            state,
            fd,
            incoming: ByteQueue::new(),
            outgoing: Outgoing::default(),
            framer: Framer::default(),
            buffer_size: DEFAULT_BUFFER_SIZE,
            peer,
            local: None,
            peer_closed: false,
            read_blocked: false,
            read_queued: false,
            dirty: false,
            notify_drain: false,
            unreported_write: false,
            tls: None,
        }
    }

    /// Most bytes the read buffer may hold: the user's limit plus room for a delimiter.
    pub fn read_limit(&self) -> usize {
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
    pub fn all_sent(&self) -> bool {
        self.outgoing.is_empty() && !self.tls.as_ref().is_some_and(|tls| tls.has_backlog())
    }

    /// Nothing more will be sent: everything was, or what is left waits for
    /// a TLS handshake that can no longer complete.
    pub fn finished_sending(&self) -> bool {
        self.outgoing.is_empty() && !self.awaits_handshake() && !self.tls.as_ref().is_some_and(|tls| !tls.handshaking() && tls.has_backlog())
    }

    /// A TLS handshake runs and can still complete: a closing stream waits
    /// for it, since what was written goes out only after it.
    pub fn awaits_handshake(&self) -> bool {
        !self.peer_closed && self.tls.as_ref().is_some_and(|tls| tls.handshaking() && tls.failure().is_none())
    }

    /// Bytes the stream may read now: none while its read buffer is full or
    /// its unsent bytes are above [`OUTGOING_HIGH_WATER`].
    pub fn read_room(&self) -> usize {
        if self.unsent() > OUTGOING_HIGH_WATER {
            0
        } else {
            self.read_limit().saturating_sub(self.incoming.len())
        }
    }

    /// Takes the next frame by the current delimiter into the start of `out`.
    pub fn read_frame(&mut self, out: &mut [u8]) -> FrameRead {
        match self.framer.decode(self.incoming.as_slice()) {
            Some(frame) if frame.len > out.len() => FrameRead::NeedSpace(frame.len),
            Some(frame) => {
                out[..frame.len].copy_from_slice(&self.incoming.as_slice()[..frame.len]);
                self.incoming.consume(frame.consumed);
                FrameRead::Frame(frame.len)
            }
            None if self.incoming.len() > self.buffer_size => FrameRead::Overflow,
            None => FrameRead::Incomplete,
        }
    }
}

#[derive(Debug)]
pub(crate) struct ListenerChannel {
    pub listener: Option<Listener>,
    pub fd: RawFd,
    /// Accepted streams speak TLS with this configuration.
    pub tls: Option<crate::tls::ServerTls>,
}
