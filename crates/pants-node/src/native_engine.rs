//! The engine's operations as the TypeScript layer calls them.
//!
//! Conventions, chosen for a cheap boundary: engines are created as a
//! `NativeEngine` object (its lifetime is the engine's), but operated on with
//! plain functions taking the engine's `id`: a napi-rs class method costs
//! about 500 ns per call here, a plain function about 60 ns. Tokens are numbers; calls that
//! can fail with an OS error return `-errno` (the TypeScript layer builds
//! the Node-style error); events and expired timers are copied into typed
//! arrays the caller owns; frames are copied into the caller's pool buffer.

use std::cell::RefCell;
use std::fs::File;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::{Delimiter, LengthField, RecordSegment, Engine, FrameRead, ListenOptions, SocketAddress};
use slab::Slab;

use crate::address::{inet, unix, AddressInfo};
use crate::driver::Driver;
use crate::tls_config;

/// Result of `readFrame` and `peekInput` when no complete frame is buffered.
const INCOMPLETE: f64 = -1.0;
/// Result of `readFrame` when more than `bufferSize` bytes wait for a frame.
const OVERFLOW: f64 = -2.0;
/// Added to a frame length by `readFrame` when more bytes remain buffered.
const MORE_INPUT: f64 = 4294967296.0;

fn need_space(bytes: usize) -> f64 {
    -3.0 - bytes as f64
}

fn negative_errno(error: &std::io::Error) -> i32 {
    -error.raw_os_error().unwrap_or(libc_eio())
}

const fn libc_eio() -> i32 {
    5
}

fn invalid_address() -> i32 {
    -22 // EINVAL
}

thread_local! {
    /// This thread's engines (each worker thread has its own), by id.
    static ENGINES: RefCell<Slab<Box<Driver>>> = RefCell::new(Slab::new());
}

/// The driver of engine `id`.
fn driver(id: u32) -> Result<&'static Driver> {
    ENGINES.with(|engines| {
        engines
            .borrow()
            .get(id as usize)
            // SAFETY: the driver is boxed (its address is stable) and is only
            // dropped by `NativeEngine`'s finalizer, never during these calls.
            .map(|driver| unsafe { &*(driver.as_ref() as *const Driver) })
            .ok_or_else(|| Error::from_reason("the engine has been destroyed"))
    })
}

/// Owns an engine: the engine lives until this object is collected.
#[napi]
pub struct NativeEngine {
    id: u32,
}

#[napi]
impl NativeEngine {
    #[napi(constructor)]
    pub fn new() -> Result<Self> {
        let engine = Engine::new().map_err(|error| Error::from_reason(error.to_string()))?;
        let id = ENGINES.with(|engines| engines.borrow_mut().insert(Driver::new(engine)));
        Ok(Self { id: id as u32 })
    }

    /// The id the engine functions take.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl Drop for NativeEngine {
    fn drop(&mut self) {
        // `try_with`: at thread exit the table may already be gone (and the engines with it).
        let driver = ENGINES.try_with(|engines| engines.borrow_mut().try_remove(self.id as usize));
        drop(driver);
    }
}

pub mod functions {
    use super::*;

    // ----- driving -------------------------------------------------------

    /// Runs `iterate()` on every wake-up of Node's loop until `stop()`.
    #[napi]
    pub fn start(engine: u32, env: Env, iterate: Function<(), f64>) -> Result<()> {
        unsafe { driver(engine)?.start(env.raw(), iterate.raw()) }
    }

    #[napi]
    pub fn stop(engine: u32) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            driver.stop();
        })
    }

    /// Asks for an iteration on the loop's next turn.
    #[napi]
    pub fn wake(engine: u32) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            driver.wake_soon();
        })
    }

    /// Starts an iteration: engine time is now; writes are corked. Copies
    /// the ids of due timers into `expired` (see `takeExpiredTimers`) and
    /// returns their number.
    #[napi]
    pub fn begin_iteration(engine: u32, mut expired: Uint32ArraySlice) -> Result<u32> {
        let driver = driver(engine)?;
        driver.begin_dispatch();
        let mut engine = driver.engine.borrow_mut();
        engine.begin_iteration();
        // SAFETY: the array is only read by JavaScript after this call returns.
        Ok(engine.take_expired_timers(unsafe { expired.as_mut() }) as u32)
    }

    /// Ends a synchronous iteration: sends the corked writes.
    #[napi]
    pub fn end_iteration(engine: u32) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            driver.end_dispatch();
        })
    }

    /// Waits up to `timeout_ms` (negative: forever) for I/O, does it, and
    /// copies events into `out` as (kind, token, a, b) quadruples. Returns
    /// the number of events copied; take the rest with `takeEvents`.
    #[napi]
    pub fn poll_io(engine: u32, timeout_ms: f64, out: Int32ArraySlice) -> Result<u32> {
        let driver = driver(engine)?;
        let timeout =
            (timeout_ms >= 0.0).then(|| Duration::from_micros((timeout_ms * 1000.0) as u64));
        driver
            .engine
            .borrow_mut()
            .poll(timeout)
            .map_err(|error| Error::from_reason(error.to_string()))?;
        Ok(copy_events(driver, out))
    }

    /// Copies queued events into `out` (see `pollIo`).
    #[napi]
    pub fn take_events(engine: u32, out: Int32ArraySlice) -> Result<u32> {
        Ok(copy_events(driver(engine)?, out))
    }

    // ----- timers --------------------------------------------------------

    /// Schedules timer `id` `delay_ms` after the current iteration's time,
    /// or after now when called outside an iteration.
    #[napi]
    pub fn schedule_timer(engine: u32, delay_ms: f64, id: u32) -> Result<()> {
        let driver = driver(engine)?;
        let mut engine = driver.engine.borrow_mut();
        if !driver.dispatching() {
            engine.update_time();
        }
        engine.schedule_timer(delay_ms.max(0.0).ceil() as u64, id);
        Ok(())
    }

    #[napi]
    pub fn cancel_timer(engine: u32, id: u32) -> Result<bool> {
        let driver = driver(engine)?;
        Ok(driver.engine.borrow_mut().cancel_timer(id))
    }

    /// Copies the ids of due timers into `out`; call until it returns 0.
    #[napi]
    pub fn take_expired_timers(engine: u32, mut out: Uint32ArraySlice) -> Result<u32> {
        let driver = driver(engine)?;
        Ok({
            // SAFETY: the array is only read by JavaScript after this call returns.
            driver
                .engine
                .borrow_mut()
                .take_expired_timers(unsafe { out.as_mut() }) as u32
        })
    }

    /// Milliseconds until the next timer may be due; -1 without timers.
    #[napi]
    pub fn next_timer_delay(engine: u32) -> Result<f64> {
        let driver = driver(engine)?;
        Ok({
            driver
                .engine
                .borrow()
                .next_timer_delay()
                .map_or(-1.0, |delay| delay as f64)
        })
    }

    #[napi]
    pub fn timer_count(engine: u32) -> Result<u32> {
        let driver = driver(engine)?;
        Ok(driver.engine.borrow().timer_count() as u32)
    }

    #[napi]
    pub fn channel_count(engine: u32) -> Result<u32> {
        let driver = driver(engine)?;
        Ok(driver.engine.borrow().channel_count() as u32)
    }

    // ----- channels ------------------------------------------------------

    /// Binds and listens on an IP address; the token, or `-errno`.
    #[napi]
    pub fn listen(
        engine: u32,
        host: String,
        port: u32,
        flowinfo: u32,
        scope_id: u32,
        backlog: i32,
        v6_only: bool,
        reuse_port: bool,
    ) -> Result<i32> {
        let driver = driver(engine)?;
        Ok({
            let Some(address) = inet(&host, port, flowinfo, scope_id) else {
                return Ok(invalid_address());
            };
            listen_on(
                driver,
                &address,
                ListenOptions {
                    backlog,
                    v6_only,
                    reuse_port,
                },
            )
        })
    }

    /// Binds a UDP socket; the token, or `-errno`.
    #[napi]
    pub fn bind_datagram(engine: u32, host: String, port: u32, flowinfo: u32, scope_id: u32) -> Result<i32> {
        let driver = driver(engine)?;
        let Some(SocketAddress::Inet(address)) = inet(&host, port, flowinfo, scope_id) else { return Ok(invalid_address()) };
        let result = driver.engine.borrow_mut().bind_datagram(address);
        Ok(result.map_or_else(|error| negative_errno(&error), |token| token as i32))
    }

    /// Opens a UDP socket on an ephemeral port of the family of the given
    /// address; the token, or `-errno`.
    #[napi]
    pub fn open_datagram(engine: u32, host: String, port: u32) -> Result<i32> {
        let driver = driver(engine)?;
        let Some(SocketAddress::Inet(peer)) = inet(&host, port, 0, 0) else { return Ok(invalid_address()) };
        let result = driver.engine.borrow_mut().open_datagram(peer);
        Ok(result.map_or_else(|error| negative_errno(&error), |token| token as i32))
    }

    /// Queues a packet to an IP address; 0, or `-errno`.
    #[napi]
    pub fn send_datagram(engine: u32, token: u32, host: String, port: u32, flowinfo: u32, scope_id: u32, data: &[u8]) -> Result<i32> {
        let driver = driver(engine)?;
        let Some(SocketAddress::Inet(peer)) = inet(&host, port, flowinfo, scope_id) else { return Ok(invalid_address()) };
        let result = driver.engine.borrow_mut().send_datagram(token as usize, peer, data);
        Ok(written(driver, result))
    }

    /// Starts TLS on a stream with configuration `config` (see
    /// `NativeTlsConfig`); `server_name` is checked against the server's
    /// certificate and sent as SNI (clients). Throws for a bad server name.
    #[napi]
    pub fn start_tls(engine: u32, token: u32, config: u32, server_name: String) -> Result<()> {
        let driver = driver(engine)?;
        let config = tls_config::config(config)?;
        let started = driver.engine.borrow_mut().start_tls(token as usize, &config, &server_name);
        started.map_err(|error| Error::new(Status::InvalidArg, error.to_string()))?;
        driver.settle();
        Ok(())
    }

    /// Makes a listener's accepted streams speak TLS with server configuration `config`.
    #[napi]
    pub fn set_listener_tls(engine: u32, token: u32, config: u32) -> Result<()> {
        let driver = driver(engine)?;
        let config = tls_config::config(config)?;
        let set = driver.engine.borrow_mut().set_listener_tls(token as usize, Some(&config));
        set.map_err(|error| Error::from_reason(error.to_string()))
    }

    /// Why a stream's TLS session failed: `[code, message]`, or null.
    #[napi]
    pub fn tls_failure(engine: u32, token: u32) -> Result<Option<Vec<String>>> {
        let failure = driver(engine)?.engine.borrow().tls_failure(token as usize);
        Ok(failure.map(|failure| vec![failure.code.to_owned(), failure.message]))
    }

    /// The protocol a stream's TLS handshake agreed on with ALPN, or null.
    #[napi]
    pub fn alpn_protocol(engine: u32, token: u32) -> Result<Option<String>> {
        let protocol = driver(engine)?.engine.borrow().alpn_protocol(token as usize);
        Ok(protocol.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Drops unframed input: all of a stream's, or the current datagram sender's.
    #[napi]
    pub fn discard_input(engine: u32, token: u32) -> Result<()> {
        let driver = driver(engine)?;
        driver.engine.borrow_mut().discard_input(token as usize);
        driver.settle();
        Ok(())
    }

    /// Binds and listens on a UNIX socket path; the token, or `-errno`.
    #[napi]
    pub fn listen_unix(engine: u32, path: String, backlog: i32) -> Result<i32> {
        let driver = driver(engine)?;
        Ok({
            listen_on(
                driver,
                &unix(path),
                ListenOptions {
                    backlog,
                    ..ListenOptions::default()
                },
            )
        })
    }

    fn listen_on(driver: &Driver, address: &SocketAddress, options: ListenOptions) -> i32 {
        match driver.engine.borrow_mut().listen(address, options) {
            Ok(token) => token as i32,
            Err(error) => negative_errno(&error),
        }
    }

    /// Starts connecting to an IP address; the token (`-EINVAL` for a non-IP host).
    #[napi]
    pub fn connect(
        engine: u32,
        host: String,
        port: u32,
        flowinfo: u32,
        scope_id: u32,
    ) -> Result<i32> {
        let driver = driver(engine)?;
        Ok({
            let Some(address) = inet(&host, port, flowinfo, scope_id) else {
                return Ok(invalid_address());
            };
            connect_to(driver, &address)
        })
    }

    /// Starts connecting to a UNIX socket path; the token.
    #[napi]
    pub fn connect_unix(engine: u32, path: String) -> Result<i32> {
        let driver = driver(engine)?;
        Ok(connect_to(driver, &unix(path)))
    }

    fn connect_to(driver: &Driver, address: &SocketAddress) -> i32 {
        let token = driver.engine.borrow_mut().connect(address);
        driver.settle();
        token as i32
    }

    #[napi]
    pub fn fd(engine: u32, token: u32) -> Result<i32> {
        let driver = driver(engine)?;
        Ok(driver.engine.borrow().fd(token as usize).unwrap_or(-1))
    }

    #[napi]
    pub fn local_address(engine: u32, token: u32) -> Result<Option<AddressInfo>> {
        let driver = driver(engine)?;
        Ok({
            driver
                .engine
                .borrow()
                .local_address(token as usize)
                .map(AddressInfo::from)
        })
    }

    #[napi]
    pub fn peer_address(engine: u32, token: u32) -> Result<Option<AddressInfo>> {
        let driver = driver(engine)?;
        Ok({
            driver
                .engine
                .borrow()
                .peer_address(token as usize)
                .map(AddressInfo::from)
        })
    }

    /// `kind`: 0 every chunk, 1 `count` bytes, 2 up to `sequence`, 3 framed in JavaScript.
    #[napi]
    pub fn set_delimiter(
        engine: u32,
        token: u32,
        kind: u32,
        count: u32,
        sequence: Option<&[u8]>,
    ) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            let delimiter = match (kind, sequence) {
                (1, _) if count > 0 => Delimiter::Count(count as usize),
                (2, Some(bytes)) if !bytes.is_empty() => Delimiter::Sequence(bytes.to_vec()),
                (3, _) => Delimiter::External,
                (4, Some(bytes)) => record_layout(bytes).map_or(Delimiter::Chunk, Delimiter::Records),
                _ => Delimiter::Chunk,
            };
            let _ = driver
                .engine
                .borrow_mut()
                .set_delimiter(token as usize, delimiter);
            driver.settle();
        })
    }

    #[napi]
    pub fn set_buffer_size(engine: u32, token: u32, size: f64) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            let _ = driver
                .engine
                .borrow_mut()
                .set_buffer_size(token as usize, size as usize);
            driver.settle();
        })
    }

    #[napi]
    pub fn set_notify_drain(engine: u32, token: u32, on: bool) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            let _ = driver
                .engine
                .borrow_mut()
                .set_notify_drain(token as usize, on);
        })
    }

    /// 0, or `-errno`.
    #[napi]
    pub fn set_no_delay(engine: u32, token: u32, on: bool) -> Result<i32> {
        let driver = driver(engine)?;
        Ok({
            match driver.engine.borrow_mut().set_no_delay(token as usize, on) {
                Ok(()) => 0,
                Err(error) => negative_errno(&error),
            }
        })
    }

    /// Frame length copied to `out[offset..]`, plus `MORE_INPUT` when bytes
    /// remain buffered (another frame may follow); -1 none buffered; -2
    /// overflow; `-3 - n`: the frame has `n` bytes, more than fit.
    #[napi]
    pub fn read_frame(
        engine: u32,
        token: u32,
        mut out: Uint8ArraySlice,
        offset: u32,
    ) -> Result<f64> {
        let driver = driver(engine)?;
        Ok({
            // SAFETY: JavaScript reads the pool only after this call returns.
            let out = unsafe { out.as_mut() };
            let start = (offset as usize).min(out.len());
            let out = &mut out[start..];
            let mut engine = driver.engine.borrow_mut();
            let value = match engine.read_frame(token as usize, out) {
                Ok(FrameRead::Frame(len)) if engine.pending_input(token as usize) > 0 => len as f64 + MORE_INPUT,
                Ok(FrameRead::Frame(len)) => len as f64,
                Ok(FrameRead::Incomplete) | Err(_) => INCOMPLETE,
                Ok(FrameRead::Overflow) => OVERFLOW,
                Ok(FrameRead::NeedSpace(len)) => need_space(len),
            };
            drop(engine);
            driver.settle();
            value
        })
    }

    /// Copies all buffered input to `out[offset..]` without taking it:
    /// its length, or `-3 - n` when the `n` bytes don't fit.
    #[napi]
    pub fn peek_input(
        engine: u32,
        token: u32,
        mut out: Uint8ArraySlice,
        offset: u32,
    ) -> Result<f64> {
        let driver = driver(engine)?;
        Ok({
            // SAFETY: JavaScript reads the pool only after this call returns.
            let out = unsafe { out.as_mut() };
            let start = (offset as usize).min(out.len());
            let out = &mut out[start..];
            match driver.engine.borrow_mut().peek_input(token as usize, out) {
                Ok(len) => len as f64,
                Err(needed) => need_space(needed),
            }
        })
    }

    #[napi]
    pub fn consume_input(engine: u32, token: u32, count: f64) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            let _ = driver
                .engine
                .borrow_mut()
                .consume_input(token as usize, count as usize);
            driver.settle();
        })
    }

    #[napi]
    pub fn pending_input(engine: u32, token: u32) -> Result<f64> {
        let driver = driver(engine)?;
        Ok(driver.engine.borrow().pending_input(token as usize) as f64)
    }

    #[napi]
    pub fn pending_output(engine: u32, token: u32) -> Result<f64> {
        let driver = driver(engine)?;
        Ok(driver.engine.borrow().pending_output(token as usize) as f64)
    }

    /// Buffers bytes for sending; 0, or `-errno` (`-ENOTCONN` unless open).
    #[napi]
    pub fn write(engine: u32, token: u32, data: &[u8]) -> Result<i32> {
        let driver = driver(engine)?;
        Ok({
            let result = driver.engine.borrow_mut().write(token as usize, data);
            written(driver, result)
        })
    }

    /// Queues a file (a path, or a descriptor when `path` is empty) after
    /// what was written before: the number of bytes queued, or `-errno`.
    #[napi]
    pub fn write_file(engine: u32, token: u32, path: String, fd: i32, offset: f64, length: f64) -> Result<f64> {
        let driver = driver(engine)?;
        let file = if path.is_empty() {
            // SAFETY: the descriptor is only borrowed to duplicate it; the caller keeps its own.
            unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned().map(File::from)
        } else {
            File::open(path)
        };
        let result = file.and_then(|file| driver.engine.borrow_mut().write_file(token as usize, file, offset as u64, length as u64));
        Ok(match result {
            Ok(queued) => {
                driver.settle();
                queued as f64
            }
            Err(error) => f64::from(negative_errno(&error)),
        })
    }

    /// Buffers a string as UTF-8; see `write`.
    #[napi]
    pub fn write_string(engine: u32, token: u32, data: String) -> Result<i32> {
        let driver = driver(engine)?;
        Ok({
            let result = driver
                .engine
                .borrow_mut()
                .write(token as usize, data.as_bytes());
            written(driver, result)
        })
    }

    fn written(driver: &Driver, result: std::io::Result<()>) -> i32 {
        match result {
            Ok(()) => {
                driver.settle();
                0
            }
            Err(error) => negative_errno(&error),
        }
    }

    #[napi]
    pub fn flush(engine: u32, token: u32) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            driver.engine.borrow_mut().flush(token as usize);
            driver.settle();
        })
    }

    #[napi]
    pub fn close(engine: u32, token: u32, flush: bool) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            driver.engine.borrow_mut().close(token as usize, flush);
            driver.settle();
        })
    }

    #[napi]
    pub fn release(engine: u32, token: u32) -> Result<()> {
        let driver = driver(engine)?;
        Ok({
            driver.engine.borrow_mut().release(token as usize);
        })
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

/// Copies queued events into `out` as (kind, token, a, b) quadruples.
fn copy_events(driver: &Driver, mut out: Int32ArraySlice) -> u32 {
    // SAFETY: the array is only read by JavaScript after this call returns.
    let out = unsafe { out.as_mut() };
    let mut engine = driver.engine.borrow_mut();
    let mut count = 0;
    for slot in out.chunks_exact_mut(4) {
        let Some(event) = engine.next_event() else {
            break;
        };
        slot.copy_from_slice(&[event.kind as i32, event.token as i32, event.a, event.b]);
        count += 1;
    }
    count
}
