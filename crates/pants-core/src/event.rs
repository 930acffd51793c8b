//! What the engine reports to its user after an I/O wait.

/// The kind of an [`Event`]. The numeric values are part of the binding's
/// contract with the TypeScript layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum EventKind {
    /// A listener accepted a connection: `a` is the new stream's token, `b` its fd.
    Accept = 1,
    /// A connecting stream is connected: `a` is its fd.
    Connect = 2,
    /// A connect failed: `a` is the errno. The socket is gone; the stream
    /// still needs `close` (for its Close event) or `release`.
    ConnectError = 3,
    /// New bytes are buffered: take frames until none is left.
    Read = 4,
    /// The peer ended its side of the stream (end of stream).
    Hangup = 5,
    /// The send buffer has emptied (only for streams that asked for it).
    Write = 6,
    /// The channel's socket is closed; `release` the token once handled.
    Close = 7,
    /// Receiving failed with errno `a`.
    ReadError = 8,
    /// Sending failed with errno `a`.
    WriteError = 9,
    /// Accepting failed with errno `a` (for example EMFILE); the listener
    /// retries on its own.
    AcceptError = 10,
    /// The TLS handshake completed.
    SslHandshake = 11,
    /// The TLS handshake failed (see `Engine::tls_failure`); nothing was read.
    SslHandshakeError = 12,
    /// TLS failed after the handshake (see `Engine::tls_failure`).
    SslError = 13,
}

/// One event for the channel `token`; `a` and `b` depend on the kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The channel it happened to.
    pub token: usize,
    /// First argument (see [`EventKind`]).
    pub a: i32,
    /// Second argument (see [`EventKind`]).
    pub b: i32,
}

impl Event {
    pub(crate) fn new(kind: EventKind, token: usize) -> Self {
        Self { kind, token, a: 0, b: 0 }
    }

    pub(crate) fn with(kind: EventKind, token: usize, a: i32, b: i32) -> Self {
        Self { kind, token, a, b }
    }
}
