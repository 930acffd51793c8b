//! Moving bytes: taking frames, writing data and files, sending datagrams.

use std::fs::File;
use std::os::fd::BorrowedFd;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::{FrameRead, SocketAddress};

use super::{misuse, INVALID_ADDRESS};
use crate::address::inet;
use crate::native_engine::{inspect, negative_errno, operate};

/// The part of the caller's pool from `offset` on.
fn pool_from<'a>(out: &'a mut Uint8ArraySlice<'_>, offset: u32) -> &'a mut [u8] {
    // SAFETY: JavaScript reads the pool only after the call returns.
    let out = unsafe { out.as_mut() };
    let start = (offset as usize).min(out.len());
    &mut out[start..]
}

/// Copies the bytes framing would look at next to `out[offset..]` without
/// taking them: their length, or `-3 - n` when the `n` bytes don't fit.
#[napi]
pub fn peek_input(engine: u32, token: u32, mut out: Uint8ArraySlice, offset: u32) -> Result<f64> {
    operate(engine, |engine| {
        engine.peek_input(token as usize, pool_from(&mut out, offset)).map_or_else(|needed| FrameRead::NeedSpace(needed).encode(false), |len| len as f64)
    })
}

/// Drops `count` peeked bytes (0 on a datagram channel: move to the next packet).
#[napi]
pub fn consume_input(engine: u32, token: u32, count: f64) -> Result<()> {
    operate(engine, |engine| engine.consume_input(token as usize, count as usize))?.map_err(misuse)
}

/// Drops unframed input: all of a stream's, or the current datagram sender's.
#[napi]
pub fn discard_input(engine: u32, token: u32) -> Result<()> {
    operate(engine, |engine| engine.discard_input(token as usize))
}

#[napi]
pub fn pending_input(engine: u32, token: u32) -> Result<f64> {
    inspect(engine, |engine| engine.pending_input(token as usize) as f64)
}

#[napi]
pub fn pending_output(engine: u32, token: u32) -> Result<f64> {
    inspect(engine, |engine| engine.pending_output(token as usize) as f64)
}

/// 0, or `-errno`.
fn status(result: std::io::Result<()>) -> i32 {
    result.map_or_else(|error| negative_errno(&error), |()| 0)
}

/// 0, 1 when more than the high-water mark waits to be sent, or `-errno`.
pub(super) fn write_status(result: std::io::Result<bool>) -> i32 {
    result.map_or_else(|error| negative_errno(&error), i32::from)
}

/// Queues a file (a path, or a descriptor when `path` is empty) after what
/// was written before: the number of bytes queued, or `-errno`.
#[napi]
pub fn write_file(engine: u32, token: u32, path: String, fd: i32, offset: f64, length: f64) -> Result<f64> {
    let file = if path.is_empty() {
        // SAFETY: the descriptor is only borrowed to duplicate it; the caller keeps its own.
        unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned().map(File::from)
    } else {
        File::open(path)
    };
    operate(engine, |engine| match file.and_then(|file| engine.write_file(token as usize, file, offset as u64, length as u64)) {
        Ok(queued) => queued as f64,
        Err(error) => f64::from(negative_errno(&error)),
    })
}

/// Queues a packet to an IP address; 0, or `-errno`.
#[napi]
pub fn send_datagram(engine: u32, token: u32, host: String, port: u32, flowinfo: u32, scope_id: u32, data: &[u8]) -> Result<i32> {
    let Some(SocketAddress::Inet(peer)) = inet(&host, port, flowinfo, scope_id) else { return Ok(INVALID_ADDRESS) };
    operate(engine, |engine| status(engine.send_datagram(token as usize, peer, data)))
}

#[napi]
pub fn flush(engine: u32, token: u32) -> Result<()> {
    operate(engine, |engine| engine.flush(token as usize))
}
