//! Opening, configuring and closing channels.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::http::{HeadLimits, ResponseLimits};
use pants_core::ws::{DeflateSettings, Role, WsSettings};
use pants_core::{Delimiter, DelimiterKind, Engine, LengthField, ListenOptions, RecordSegment, SocketAddress};

use super::{invalid, misuse, INVALID_ADDRESS};
use crate::address::{inet, unix, AddressInfo};
use crate::native_engine::{inspect, negative_errno, operate};

/// A token, or `-errno`.
fn token_or_errno(result: std::io::Result<usize>) -> i32 {
    result.map_or_else(|error| negative_errno(&error), |token| token as i32)
}

/// Runs `open` with an IP address built from the arguments (hostnames are
/// resolved in JavaScript first); `-EINVAL` when `host` is not an IP address.
fn with_inet(engine: u32, host: &str, port: u32, flowinfo: u32, scope_id: u32, open: impl FnOnce(&mut Engine, SocketAddress) -> i32) -> Result<i32> {
    match inet(host, port, flowinfo, scope_id) {
        Some(address) => operate(engine, |engine| open(engine, address)),
        None => Ok(INVALID_ADDRESS),
    }
}

/// Binds and listens on an IP address; the token, or `-errno`. (Its
/// arguments are the JavaScript call's, one by one: no options object to
/// convert on a call made once per server.)
#[allow(clippy::too_many_arguments)]
#[napi]
pub fn listen(engine: u32, host: String, port: u32, flowinfo: u32, scope_id: u32, backlog: i32, v6_only: bool, reuse_port: bool) -> Result<i32> {
    let options = ListenOptions { backlog, v6_only, reuse_port };
    with_inet(engine, &host, port, flowinfo, scope_id, |engine, address| token_or_errno(engine.listen(&address, options)))
}

/// Binds and listens on a UNIX socket path; the token, or `-errno`.
#[napi]
pub fn listen_unix(engine: u32, path: String, backlog: i32) -> Result<i32> {
    let options = ListenOptions { backlog, ..ListenOptions::default() };
    operate(engine, |engine| token_or_errno(engine.listen(&unix(path), options)))
}

/// Starts connecting to an IP address; the token (`-EINVAL` for a non-IP host).
#[napi]
pub fn connect(engine: u32, host: String, port: u32, flowinfo: u32, scope_id: u32) -> Result<i32> {
    with_inet(engine, &host, port, flowinfo, scope_id, |engine, address| engine.connect(&address) as i32)
}

/// Starts connecting to a UNIX socket path; the token.
#[napi]
pub fn connect_unix(engine: u32, path: String) -> Result<i32> {
    operate(engine, |engine| engine.connect(&unix(path)) as i32)
}

/// Binds a UDP socket; the token, or `-errno`.
#[napi]
pub fn bind_datagram(engine: u32, host: String, port: u32, flowinfo: u32, scope_id: u32) -> Result<i32> {
    with_inet(engine, &host, port, flowinfo, scope_id, |engine, address| match address {
        SocketAddress::Inet(address) => token_or_errno(engine.bind_datagram(address)),
        SocketAddress::Unix(_) => INVALID_ADDRESS,
    })
}

/// Opens a UDP socket on an ephemeral port, of the family of the address
/// it will send to; the token, or `-errno`.
#[napi]
pub fn open_datagram(engine: u32, host: String, port: u32) -> Result<i32> {
    with_inet(engine, &host, port, 0, 0, |engine, peer| match peer {
        SocketAddress::Inet(peer) => token_or_errno(engine.open_datagram(peer)),
        SocketAddress::Unix(_) => INVALID_ADDRESS,
    })
}

#[napi]
pub fn fd(engine: u32, token: u32) -> Result<i32> {
    inspect(engine, |engine| engine.fd(token as usize).unwrap_or(-1))
}

#[napi]
pub fn local_address(engine: u32, token: u32) -> Result<Option<AddressInfo>> {
    inspect(engine, |engine| engine.local_address(token as usize).map(AddressInfo::from))
}

/// A stream's peer, or the sender of a datagram channel's latest frame.
#[napi]
pub fn peer_address(engine: u32, token: u32) -> Result<Option<AddressInfo>> {
    inspect(engine, |engine| engine.peer_address(token as usize).map(AddressInfo::from))
}

/// `kind` is a `DelimiterKind`: every chunk; `count` bytes; up to
/// `sequence`; framed in JavaScript; records laid out by `sequence` (see
/// `record_layout`); HTTP requests with a body limit of `count` bytes and a
/// head limit given as `sequence`'s 4 little-endian bytes; HTTP responses
/// likewise, with a fifth byte of flags (1: the request was `HEAD`);
/// WebSocket messages up to `count` bytes, `sequence` one byte of flags (see
/// `websocket_settings`). Arguments that
/// make no delimiter throw a `TypeError`.
#[napi]
pub fn set_delimiter(engine: u32, token: u32, kind: u32, count: u32, sequence: Option<&[u8]>) -> Result<()> {
    let delimiter = match (DelimiterKind::from_code(kind), sequence) {
        (Some(DelimiterKind::Chunk), _) => Delimiter::Chunk,
        (Some(DelimiterKind::Count), _) if count > 0 => Delimiter::Count(count as usize),
        (Some(DelimiterKind::Sequence), Some(bytes)) if !bytes.is_empty() => Delimiter::Sequence(bytes.to_vec()),
        (Some(DelimiterKind::External), _) => Delimiter::External,
        (Some(DelimiterKind::Records), Some(bytes)) => record_layout(bytes).map(Delimiter::Records).ok_or_else(|| invalid("a record layout"))?,
        (Some(DelimiterKind::HttpRequest), Some(&[a, b, c, d])) if count > 0 => {
            Delimiter::HttpRequest(HeadLimits { max_head: u32::from_le_bytes([a, b, c, d]) as usize, max_body: u64::from(count) })
        }
        (Some(DelimiterKind::WebSocket), Some(&[flags])) if count > 0 => Delimiter::WebSocket(websocket_settings(count, flags)),
        (Some(DelimiterKind::HttpResponse), Some(&[a, b, c, d, flags])) if count > 0 => Delimiter::HttpResponse(ResponseLimits {
            max_head: u32::from_le_bytes([a, b, c, d]) as usize,
            max_body: u64::from(count),
            head_request: flags & 1 != 0,
        }),
        _ => return Err(invalid("a delimiter")),
    };
    operate(engine, |engine| engine.set_delimiter(token as usize, delimiter))?.map_err(misuse)
}

/// WebSocket framing: messages up to `max_payload` bytes; `flags`: 1 this
/// end is the client, 2 permessage-deflate, 4 the peer resets its
/// compressor after each message, 8 we reset ours; bits 4 to 7 our
/// compressor's window bits (0: 15).
fn websocket_settings(max_payload: u32, flags: u8) -> WsSettings {
    let window_bits = flags >> 4;
    WsSettings {
        role: if flags & 1 != 0 { Role::Client } else { Role::Server },
        max_payload: u64::from(max_payload),
        deflate: (flags & 2 != 0).then_some(DeflateSettings {
            inflate_no_context_takeover: flags & 4 != 0,
            deflate_no_context_takeover: flags & 8 != 0,
            deflate_window_bits: if window_bits == 0 { 15 } else { window_bits },
        }),
    }
}

/// Decodes a record layout: little-endian i32 quadruples (fixed bytes,
/// length field offset or -1, its size, flags: 1 little-endian, 2 signed).
fn record_layout(bytes: &[u8]) -> Option<Vec<RecordSegment>> {
    let numbers: Vec<i32> = bytes.chunks_exact(4).map(|word| i32::from_le_bytes(word.try_into().unwrap())).collect();
    let segments: Vec<RecordSegment> = numbers
        .chunks_exact(4)
        .map(|segment| {
            let [fixed, offset, size, flags] = [segment[0], segment[1], segment[2], segment[3]];
            let length_field = (offset >= 0 && matches!(size, 1 | 2 | 4 | 8) && offset + size <= fixed).then_some(LengthField {
                offset: offset as usize,
                size: size as usize,
                little_endian: flags & 1 != 0,
                signed: flags & 2 != 0,
            });
            RecordSegment { fixed: fixed.max(0) as usize, length_field }
        })
        .collect();
    (!segments.is_empty()).then_some(segments)
}

#[napi]
pub fn set_buffer_size(engine: u32, token: u32, size: f64) -> Result<()> {
    operate(engine, |engine| engine.set_buffer_size(token as usize, size as usize))?.map_err(misuse)
}

/// Bounds a datagram channel's senders with an unfinished frame.
#[napi]
pub fn set_sender_limits(engine: u32, token: u32, max_senders: u32, sender_timeout_ms: f64) -> Result<()> {
    let timeout = std::time::Duration::from_secs_f64(sender_timeout_ms.max(0.0) / 1000.0);
    operate(engine, |engine| engine.set_sender_limits(token as usize, max_senders as usize, timeout))?.map_err(misuse)
}

#[napi]
pub fn set_notify_drain(engine: u32, token: u32, on: bool) -> Result<()> {
    operate(engine, |engine| engine.set_notify_drain(token as usize, on))?.map_err(misuse)
}

/// 0, or `-errno`.
#[napi]
pub fn set_no_delay(engine: u32, token: u32, on: bool) -> Result<i32> {
    operate(engine, |engine| engine.set_no_delay(token as usize, on).map_or_else(|error| negative_errno(&error), |()| 0))
}

/// TCP keepalive with the first probe after `idle_seconds` (0 or less:
/// off); 0, or `-errno`.
#[napi]
pub fn set_keep_alive(engine: u32, token: u32, idle_seconds: f64) -> Result<i32> {
    let idle = (idle_seconds > 0.0).then(|| std::time::Duration::from_secs_f64(idle_seconds.max(1.0)));
    operate(engine, |engine| engine.set_keep_alive(token as usize, idle).map_or_else(|error| negative_errno(&error), |()| 0))
}

/// The unsent bytes above which writes report it and reading stops.
#[napi]
pub fn set_high_water(engine: u32, token: u32, bytes: f64) -> Result<()> {
    operate(engine, |engine| engine.set_high_water(token as usize, bytes as usize))?.map_err(misuse)
}

/// Pauses or resumes reading; 0, or `-errno`.
#[napi]
pub fn set_paused(engine: u32, token: u32, paused: bool) -> Result<i32> {
    operate(engine, |engine| engine.set_paused(token as usize, paused).map_or_else(|error| negative_errno(&error), |()| 0))
}

/// Ends the stream's side (FIN once everything is sent).
#[napi]
pub fn end(engine: u32, token: u32) -> Result<()> {
    operate(engine, |engine| engine.end(token as usize))?.map_err(misuse)
}

/// The stream's idle timeout in milliseconds (0: none).
#[napi]
pub fn set_timeout(engine: u32, token: u32, timeout_ms: f64) -> Result<()> {
    // The timeout counts from now, not from the latest iteration.
    crate::native_engine::driver(engine)?.refresh_time();
    operate(engine, |engine| engine.set_timeout(token as usize, timeout_ms.max(0.0).ceil() as u64))?.map_err(misuse)
}

/// As `set_timeout`, counting only bytes received as activity.
#[napi]
pub fn set_read_timeout(engine: u32, token: u32, timeout_ms: f64) -> Result<()> {
    crate::native_engine::driver(engine)?.refresh_time();
    operate(engine, |engine| engine.set_read_timeout(token as usize, timeout_ms.max(0.0).ceil() as u64))?.map_err(misuse)
}

/// `[bytesRead, bytesWritten]` of a stream.
#[napi]
pub fn byte_counts(engine: u32, token: u32) -> Result<Vec<f64>> {
    inspect(engine, |engine| {
        let (read, written) = engine.byte_counts(token as usize);
        vec![read as f64, written as f64]
    })
}

#[napi]
pub fn close(engine: u32, token: u32, flush: bool) -> Result<()> {
    operate(engine, |engine| engine.close(token as usize, flush))
}

#[napi]
pub fn release(engine: u32, token: u32) -> Result<()> {
    operate(engine, |engine| engine.release(token as usize))
}
