//! The functions the TypeScript layer calls, each taking an engine id.
//!
//! Conventions, chosen for a cheap boundary: tokens are numbers; events and
//! expired timers are copied into typed arrays the caller owns; frames are
//! copied into the caller's pool buffer.
//!
//! One error convention: a failure the OS reports (a peer, a port in use)
//! is a result, `-errno`, from which the TypeScript layer builds the
//! Node-style error; a call that cannot be right (a token that is not a
//! channel of that kind, arguments that make no delimiter) throws, since
//! it is a bug of the TypeScript layer. Nothing is dropped silently.

mod channels;
mod driving;
mod hot;
mod io;
mod tls;
mod websocket;

use napi::{Error, Status};

/// The result of a call given a host that is not an IP address (hostnames
/// are resolved in JavaScript first).
const INVALID_ADDRESS: i32 = -22; // -EINVAL

/// The `TypeError` for arguments that do not describe `what`.
fn invalid(what: &str) -> Error {
    Error::new(Status::InvalidArg, format!("the arguments do not describe {what}"))
}

/// A call on a token that is not a channel of the right kind: a bug of the
/// TypeScript layer, reported as an exception.
fn misuse(error: std::io::Error) -> Error {
    Error::from_reason(error.to_string())
}
