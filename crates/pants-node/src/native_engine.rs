//! `NativeEngine`: the engine's methods as the TypeScript layer calls them.
//!
//! Conventions, chosen for a cheap boundary: tokens are numbers; calls that
//! can fail with an OS error return `-errno` (the TypeScript layer builds
//! the Node-style error); events and expired timers are copied into typed
//! arrays the caller owns; frames are copied into the caller's pool buffer.

use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::{Delimiter, Engine, FrameRead, ListenOptions, SocketAddress};

use crate::address::{inet, unix, AddressInfo};
use crate::driver::Driver;

/// Result of `readFrame` and `peekInput` when no complete frame is buffered.
const INCOMPLETE: f64 = -1.0;
/// Result of `readFrame` when more than `bufferSize` bytes wait for a frame.
const OVERFLOW: f64 = -2.0;

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

#[napi]
pub struct NativeEngine {
    driver: Box<Driver>,
}

#[napi]
impl NativeEngine {
    #[napi(constructor)]
    pub fn new() -> Result<Self> {
        let engine = Engine::new().map_err(|error| Error::from_reason(error.to_string()))?;
        Ok(Self { driver: Driver::new(engine) })
    }

    // ----- driving -------------------------------------------------------

    /// Runs `iterate()` on every wake-up of Node's loop until `stop()`.
    #[napi]
    pub fn start(&self, env: Env, iterate: Function<(), f64>) -> Result<()> {
        unsafe { self.driver.start(env.raw(), iterate.raw()) }
    }

    #[napi]
    pub fn stop(&self) {
        self.driver.stop();
    }

    /// Asks for an iteration on the loop's next turn.
    #[napi]
    pub fn wake(&self) {
        self.driver.wake_soon();
    }

    /// Starts an iteration: engine time is now; writes are corked. Returns the tick.
    #[napi]
    pub fn begin_iteration(&self) -> f64 {
        self.driver.begin_dispatch();
        self.driver.engine.borrow_mut().begin_iteration() as f64
    }

    /// Ends a synchronous iteration: sends the corked writes.
    #[napi]
    pub fn end_iteration(&self) {
        self.driver.end_dispatch();
    }

    /// Waits up to `timeout_ms` (negative: forever) for I/O, does it, and
    /// copies events into `out` as (kind, token, a, b) quadruples. Returns
    /// the number of events copied; take the rest with `takeEvents`.
    #[napi]
    pub fn poll_io(&self, timeout_ms: f64, out: Int32ArraySlice) -> Result<u32> {
        let timeout = (timeout_ms >= 0.0).then(|| Duration::from_micros((timeout_ms * 1000.0) as u64));
        self.driver.engine.borrow_mut().poll(timeout).map_err(|error| Error::from_reason(error.to_string()))?;
        Ok(self.take_events(out))
    }

    /// Copies queued events into `out` (see `pollIo`).
    #[napi]
    pub fn take_events(&self, mut out: Int32ArraySlice) -> u32 {
        // SAFETY: the array is only read by JavaScript after this call returns.
        let out = unsafe { out.as_mut() };
        let mut engine = self.driver.engine.borrow_mut();
        let mut count = 0;
        for slot in out.chunks_exact_mut(4) {
            let Some(event) = engine.next_event() else { break };
            slot.copy_from_slice(&[event.kind as i32, event.token as i32, event.a, event.b]);
            count += 1;
        }
        count
    }

    // ----- timers --------------------------------------------------------

    #[napi]
    pub fn schedule_timer(&self, delay_ms: f64, id: u32) {
        self.driver.engine.borrow_mut().schedule_timer(delay_ms.max(0.0).ceil() as u64, id);
    }

    #[napi]
    pub fn cancel_timer(&self, id: u32) -> bool {
        self.driver.engine.borrow_mut().cancel_timer(id)
    }

    /// Copies the ids of due timers into `out`; call until it returns 0.
    #[napi]
    pub fn take_expired_timers(&self, mut out: Uint32ArraySlice) -> u32 {
        // SAFETY: the array is only read by JavaScript after this call returns.
        self.driver.engine.borrow_mut().take_expired_timers(unsafe { out.as_mut() }) as u32
    }

    /// Milliseconds until the next timer may be due; -1 without timers.
    #[napi]
    pub fn next_timer_delay(&self) -> f64 {
        self.driver.engine.borrow().next_timer_delay().map_or(-1.0, |delay| delay as f64)
    }

    #[napi]
    pub fn timer_count(&self) -> u32 {
        self.driver.engine.borrow().timer_count() as u32
    }

    #[napi]
    pub fn channel_count(&self) -> u32 {
        self.driver.engine.borrow().channel_count() as u32
    }

    // ----- channels ------------------------------------------------------

    /// Binds and listens on an IP address; the token, or `-errno`.
    #[napi]
    pub fn listen(&self, host: String, port: u32, flowinfo: u32, scope_id: u32, backlog: i32, v6_only: bool, reuse_port: bool) -> i32 {
        let Some(address) = inet(&host, port, flowinfo, scope_id) else { return invalid_address() };
        self.listen_on(&address, ListenOptions { backlog, v6_only, reuse_port })
    }

    /// Binds and listens on a UNIX socket path; the token, or `-errno`.
    #[napi]
    pub fn listen_unix(&self, path: String, backlog: i32) -> i32 {
        self.listen_on(&unix(path), ListenOptions { backlog, ..ListenOptions::default() })
    }

    fn listen_on(&self, address: &SocketAddress, options: ListenOptions) -> i32 {
        match self.driver.engine.borrow_mut().listen(address, options) {
            Ok(token) => token as i32,
            Err(error) => negative_errno(&error),
        }
    }

    /// Starts connecting to an IP address; the token (`-EINVAL` for a non-IP host).
    #[napi]
    pub fn connect(&self, host: String, port: u32, flowinfo: u32, scope_id: u32) -> i32 {
        let Some(address) = inet(&host, port, flowinfo, scope_id) else { return invalid_address() };
        self.connect_to(&address)
    }

    /// Starts connecting to a UNIX socket path; the token.
    #[napi]
    pub fn connect_unix(&self, path: String) -> i32 {
        self.connect_to(&unix(path))
    }

    fn connect_to(&self, address: &SocketAddress) -> i32 {
        let token = self.driver.engine.borrow_mut().connect(address);
        self.driver.settle();
        token as i32
    }

    #[napi]
    pub fn fd(&self, token: u32) -> i32 {
        self.driver.engine.borrow().fd(token as usize).unwrap_or(-1)
    }

    #[napi]
    pub fn local_address(&self, token: u32) -> Option<AddressInfo> {
        self.driver.engine.borrow().local_address(token as usize).map(AddressInfo::from)
    }

    #[napi]
    pub fn peer_address(&self, token: u32) -> Option<AddressInfo> {
        self.driver.engine.borrow().peer_address(token as usize).map(AddressInfo::from)
    }

    /// `kind`: 0 every chunk, 1 `count` bytes, 2 up to `sequence`, 3 framed in JavaScript.
    #[napi]
    pub fn set_delimiter(&self, token: u32, kind: u32, count: u32, sequence: Option<&[u8]>) {
        let delimiter = match (kind, sequence) {
            (1, _) if count > 0 => Delimiter::Count(count as usize),
            (2, Some(bytes)) if !bytes.is_empty() => Delimiter::Sequence(bytes.to_vec()),
            (3, _) => Delimiter::External,
            _ => Delimiter::Chunk,
        };
        let _ = self.driver.engine.borrow_mut().set_delimiter(token as usize, delimiter);
        self.driver.settle();
    }

    #[napi]
    pub fn set_buffer_size(&self, token: u32, size: f64) {
        let _ = self.driver.engine.borrow_mut().set_buffer_size(token as usize, size as usize);
        self.driver.settle();
    }

    #[napi]
    pub fn set_notify_drain(&self, token: u32, on: bool) {
        let _ = self.driver.engine.borrow_mut().set_notify_drain(token as usize, on);
    }

    /// 0, or `-errno`.
    #[napi]
    pub fn set_no_delay(&self, token: u32, on: bool) -> i32 {
        match self.driver.engine.borrow_mut().set_no_delay(token as usize, on) {
            Ok(()) => 0,
            Err(error) => negative_errno(&error),
        }
    }

    /// Frame length copied to `out[offset..]`; -1 none buffered; -2
    /// overflow; `-3 - n`: the frame has `n` bytes, more than fit.
    #[napi]
    pub fn read_frame(&self, token: u32, mut out: Uint8ArraySlice, offset: u32) -> f64 {
        // SAFETY: JavaScript reads the pool only after this call returns.
        let out = unsafe { out.as_mut() };
        let start = (offset as usize).min(out.len());
        let out = &mut out[start..];
        let result = self.driver.engine.borrow_mut().read_frame(token as usize, out);
        let value = match result {
            Ok(FrameRead::Frame(len)) => len as f64,
            Ok(FrameRead::Incomplete) | Err(_) => INCOMPLETE,
            Ok(FrameRead::Overflow) => OVERFLOW,
            Ok(FrameRead::NeedSpace(len)) => need_space(len),
        };
        self.driver.settle();
        value
    }

    /// Copies all buffered input to `out[offset..]` without taking it:
    /// its length, or `-3 - n` when the `n` bytes don't fit.
    #[napi]
    pub fn peek_input(&self, token: u32, mut out: Uint8ArraySlice, offset: u32) -> f64 {
        // SAFETY: JavaScript reads the pool only after this call returns.
        let out = unsafe { out.as_mut() };
        let start = (offset as usize).min(out.len());
        let out = &mut out[start..];
        match self.driver.engine.borrow().peek_input(token as usize, out) {
            Ok(len) => len as f64,
            Err(needed) => need_space(needed),
        }
    }

    #[napi]
    pub fn consume_input(&self, token: u32, count: f64) {
        let _ = self.driver.engine.borrow_mut().consume_input(token as usize, count as usize);
        self.driver.settle();
    }

    #[napi]
    pub fn pending_input(&self, token: u32) -> f64 {
        self.driver.engine.borrow().pending_input(token as usize) as f64
    }

    #[napi]
    pub fn pending_output(&self, token: u32) -> f64 {
        self.driver.engine.borrow().pending_output(token as usize) as f64
    }

    /// Buffers bytes for sending; 0, or `-errno` (`-ENOTCONN` unless open).
    #[napi]
    pub fn write(&self, token: u32, data: &[u8]) -> i32 {
        let result = self.driver.engine.borrow_mut().write(token as usize, data);
        self.written(result)
    }

    /// Buffers a string as UTF-8; see `write`.
    #[napi]
    pub fn write_string(&self, token: u32, data: String) -> i32 {
        let result = self.driver.engine.borrow_mut().write(token as usize, data.as_bytes());
        self.written(result)
    }

    fn written(&self, result: std::io::Result<()>) -> i32 {
        match result {
            Ok(()) => {
                self.driver.settle();
                0
            }
            Err(error) => negative_errno(&error),
        }
    }

    #[napi]
    pub fn flush(&self, token: u32) {
        self.driver.engine.borrow_mut().flush(token as usize);
        self.driver.settle();
    }

    #[napi]
    pub fn close(&self, token: u32, flush: bool) {
        self.driver.engine.borrow_mut().close(token as usize, flush);
        self.driver.settle();
    }

    #[napi]
    pub fn release(&self, token: u32) {
        self.driver.engine.borrow_mut().release(token as usize);
    }
}
