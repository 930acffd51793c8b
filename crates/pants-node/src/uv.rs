//! The libuv seam: how an engine's poller and timer wheel are watched from
//! inside Node's own event loop.
//!
//! Node exports libuv's symbols, so the handles are plain `extern "C"` calls
//! on a `uv_poll_t` (watching the engine's epoll/kqueue fd) and a
//! `uv_timer_t` (the next timer deadline). This is the [`HostLoop`] of
//! platforms whose poller has a file descriptor.

use std::ffi::{c_int, c_void};
use std::os::fd::RawFd;
use std::time::Duration;

use crate::host::HostLoop;

#[allow(non_camel_case_types)]
type uv_handle_t = c_void;
#[allow(non_camel_case_types)]
pub type uv_loop_t = c_void;

const UV_IDLE: c_int = 6;
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

type PollCallback = unsafe extern "C" fn(handle: *mut uv_handle_t, status: c_int, events: c_int);
type TimerCallback = unsafe extern "C" fn(handle: *mut uv_handle_t);
type CloseCallback = unsafe extern "C" fn(handle: *mut uv_handle_t);
type IdleCallback = unsafe extern "C" fn(handle: *mut uv_handle_t);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_handle_set_data(handle: *mut uv_handle_t, data: *mut c_void);
    fn uv_handle_get_data(handle: *const uv_handle_t) -> *mut c_void;
    fn uv_poll_init(event_loop: *mut uv_loop_t, handle: *mut uv_handle_t, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut uv_handle_t, events: c_int, callback: PollCallback) -> c_int;
    fn uv_poll_stop(handle: *mut uv_handle_t) -> c_int;
    fn uv_timer_init(event_loop: *mut uv_loop_t, handle: *mut uv_handle_t) -> c_int;
    fn uv_timer_start(handle: *mut uv_handle_t, callback: TimerCallback, timeout: u64, repeat: u64) -> c_int;
    fn uv_timer_stop(handle: *mut uv_handle_t) -> c_int;
    fn uv_close(handle: *mut uv_handle_t, callback: CloseCallback);
    fn uv_idle_init(event_loop: *mut uv_loop_t, handle: *mut uv_handle_t) -> c_int;
    fn uv_idle_start(handle: *mut uv_handle_t, callback: IdleCallback) -> c_int;
    fn uv_idle_stop(handle: *mut uv_handle_t) -> c_int;
    fn uv_now(event_loop: *const uv_loop_t) -> u64;
}

/// What a wake-up calls: one engine iteration. `context` is the pointer
/// given to [`LoopHook::new`].
pub type WakeFn = unsafe fn(context: *const c_void);

/// A `uv_poll` on the engine's poller fd, a `uv_timer` for the next
/// deadline, and a `uv_idle` for "again on the loop's next turn" (a timer
/// re-armed at 0 from its own callback would run again at once, starving
/// Node's own timers). All call `wake(context)`; while started they keep
/// the process alive, while stopped they don't.
pub struct LoopHook {
    event_loop: *mut uv_loop_t,
    poll: *mut uv_handle_t,
    timer: *mut uv_handle_t,
    idle: *mut uv_handle_t,
}

struct Target {
    wake: WakeFn,
    context: *const c_void,
}

unsafe fn allocate(kind: c_int) -> *mut uv_handle_t {
    let words = uv_handle_size(kind).div_ceil(8);
    Box::into_raw(vec![0u64; words].into_boxed_slice()) as *mut uv_handle_t
}

/// Frees a closed handle and its target; `kind` gives the allocation size.
unsafe fn release(handle: *mut uv_handle_t, kind: c_int) {
    let target = uv_handle_get_data(handle) as *mut Target;
    if !target.is_null() {
        drop(Box::from_raw(target));
    }
    let words = uv_handle_size(kind).div_ceil(8);
    drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(handle as *mut u64, words)));
}

unsafe extern "C" fn release_poll(handle: *mut uv_handle_t) {
    release(handle, UV_POLL);
}

unsafe extern "C" fn release_timer(handle: *mut uv_handle_t) {
    release(handle, UV_TIMER);
}

unsafe extern "C" fn release_idle(handle: *mut uv_handle_t) {
    release(handle, UV_IDLE);
}

unsafe extern "C" fn on_idle(handle: *mut uv_handle_t) {
    uv_idle_stop(handle);
    let target = &*(uv_handle_get_data(handle) as *const Target);
    (target.wake)(target.context);
}

unsafe extern "C" fn on_poll(handle: *mut uv_handle_t, _status: c_int, _events: c_int) {
    let target = &*(uv_handle_get_data(handle) as *const Target);
    (target.wake)(target.context);
}

unsafe extern "C" fn on_timer(handle: *mut uv_handle_t) {
    let target = &*(uv_handle_get_data(handle) as *const Target);
    (target.wake)(target.context);
}

fn check(code: c_int, what: &str) -> std::io::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("{what} failed with libuv error {code}")))
    }
}

impl LoopHook {
    /// Creates (stopped) handles on `event_loop` watching `fd`.
    ///
    /// # Safety
    /// `event_loop` is the current thread's libuv loop and `context` stays
    /// valid until the hook is dropped.
    pub unsafe fn new(event_loop: *mut uv_loop_t, fd: RawFd, wake: WakeFn, context: *const c_void) -> std::io::Result<Self> {
        let poll = allocate(UV_POLL);
        let timer = allocate(UV_TIMER);
        let idle = allocate(UV_IDLE);
        check(uv_poll_init(event_loop, poll, fd), "uv_poll_init")?;
        check(uv_timer_init(event_loop, timer), "uv_timer_init")?;
        check(uv_idle_init(event_loop, idle), "uv_idle_init")?;
        for handle in [poll, timer, idle] {
            uv_handle_set_data(handle, Box::into_raw(Box::new(Target { wake, context })) as *mut c_void);
        }
        Ok(Self { event_loop, poll, timer, idle })
    }
}

impl HostLoop for LoopHook {
    fn start(&self) -> std::io::Result<()> {
        check(unsafe { uv_poll_start(self.poll, UV_READABLE, on_poll) }, "uv_poll_start")
    }

    fn arm(&self, delay: Duration) {
        // Whole milliseconds, rounding up: waking early would find the timer not yet due.
        let delay_ms = delay.as_nanos().div_ceil(1_000_000).min(u128::from(u64::MAX)) as u64;
        unsafe {
            if delay_ms == 0 {
                uv_timer_stop(self.timer);
                uv_idle_start(self.idle, on_idle);
            } else {
                uv_idle_stop(self.idle);
                uv_timer_start(self.timer, on_timer, delay_ms, 0);
            }
        }
    }

    fn stop(&self) {
        unsafe {
            uv_poll_stop(self.poll);
            uv_timer_stop(self.timer);
            uv_idle_stop(self.idle);
        }
    }

    fn loop_time(&self) -> u64 {
        unsafe { uv_now(self.event_loop) }
    }
}

impl Drop for LoopHook {
    fn drop(&mut self) {
        unsafe {
            uv_close(self.poll, release_poll);
            uv_close(self.timer, release_timer);
            uv_close(self.idle, release_idle);
        }
    }
}
