//! The functions the TypeScript layer calls, each taking an engine id.
//!
//! Conventions, chosen for a cheap boundary: tokens are numbers; calls that
//! can fail with an OS error return `-errno` (the TypeScript layer builds
//! the Node-style error); events and expired timers are copied into typed
//! arrays the caller owns; frames are copied into the caller's pool buffer.

mod channels;
mod driving;
mod hot;
mod io;
mod tls;

/// The result of a call given a host that is not an IP address (hostnames
/// are resolved in JavaScript first).
const INVALID_ADDRESS: i32 = -22; // -EINVAL
