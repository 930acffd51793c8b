//! The engine's errors: OS error numbers for events, which failures mean
//! "the peer is gone", and the errors of calls on the wrong channel.

use std::io::{self, ErrorKind};

use crate::sys;

/// The OS error number of `error`, for an event's argument (`EIO` when it has none).
pub(crate) fn errno(error: &io::Error) -> i32 {
    error.raw_os_error().unwrap_or(sys::EIO)
}

/// Errors that mean the peer is gone: the stream closes without an error callback.
pub(crate) fn is_disconnect(error: &io::Error) -> bool {
    matches!(error.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::NotConnected)
}

/// A stream call on a token that is no stream (or datagram channel, for input calls).
pub(crate) fn not_a_stream() -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, "the token is not a stream")
}

/// A datagram call on a token that is no datagram channel.
pub(crate) fn not_a_datagram_channel() -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, "the token is not a datagram channel")
}

/// A listener call on a token that is no listener.
pub(crate) fn not_a_listener() -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, "the token is not a listener")
}

/// A write to a stream that is not open (`ENOTCONN`).
pub(crate) fn not_open() -> io::Error {
    io::Error::from_raw_os_error(sys::ENOTCONN)
}

/// A send on a datagram channel that is closed or closing (`EBADF`).
pub(crate) fn closed() -> io::Error {
    io::Error::from_raw_os_error(sys::EBADF)
}

/// A connect that settled without a peer and without an error (`ECONNREFUSED`).
pub(crate) fn connection_refused() -> io::Error {
    io::Error::from_raw_os_error(sys::ECONNREFUSED)
}

/// A WebSocket call on a stream that does not speak WebSocket.
pub(crate) fn not_websocket() -> io::Error {
    io::Error::new(ErrorKind::InvalidInput, "the stream does not speak WebSocket")
}
