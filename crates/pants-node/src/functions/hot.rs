//! The calls made for every message and every timer, as plain N-API
//! callbacks.
//!
//! napi-rs 3 wraps each `#[napi]` function in borrow-tracking scopes that
//! allocate and lock on every call. That is what a safe general binding
//! needs, but on the hot path it cost more than the work (see `bench/README.md`,
//! "The native boundary"). These functions take only numbers and typed
//! arrays, so they read their arguments with N-API directly; a wrong
//! argument is a `TypeError`, a destroyed engine an `Error`, as elsewhere.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::time::Duration;

use napi::bindgen_prelude::{Env, JsValue, Object};
use napi::sys;
use napi_derive::napi;
use pants_core::http::BodyRead;
use pants_core::{FrameRead, TimerKey};

use super::io::write_status;
use crate::driver::Driver;
use crate::native_engine::{driver, operate};

/// The most arguments a hot function takes.
const MAX_ARGS: usize = 4;

/// Why a call threw.
enum Thrown {
    Type(&'static CStr),
    Error(String),
}

impl From<napi::Error> for Thrown {
    fn from(error: napi::Error) -> Self {
        Thrown::Error(error.reason.clone())
    }
}

/// What a call returns to JavaScript.
enum Value {
    Number(f64),
    Int(i32),
    Bool(bool),
}

/// The arguments of one call.
struct Call {
    env: sys::napi_env,
    args: [sys::napi_value; MAX_ARGS],
}

impl Call {
    /// # Safety
    /// `env` and `info` are those N-API gave the callback.
    unsafe fn new(env: sys::napi_env, info: sys::napi_callback_info) -> Self {
        let mut count = MAX_ARGS;
        let mut args = [ptr::null_mut(); MAX_ARGS];
        // Missing arguments come back as `undefined`, and on failure they stay
        // null: the readers reject both.
        if sys::napi_get_cb_info(env, info, &mut count, args.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) != sys::Status::napi_ok {
            args = [ptr::null_mut(); MAX_ARGS];
        }
        Self { env, args }
    }

    fn u32(&self, index: usize) -> Result<u32, Thrown> {
        let mut value = 0;
        match unsafe { sys::napi_get_value_uint32(self.env, self.args[index], &mut value) } {
            sys::Status::napi_ok => Ok(value),
            _ => Err(Thrown::Type(c"expected a number")),
        }
    }

    fn f64(&self, index: usize) -> Result<f64, Thrown> {
        let mut value = 0.0;
        match unsafe { sys::napi_get_value_double(self.env, self.args[index], &mut value) } {
            sys::Status::napi_ok => Ok(value),
            _ => Err(Thrown::Type(c"expected a number")),
        }
    }

    /// The elements of a typed array of `kind` whose elements are `T`. They
    /// are JavaScript's memory, not the call's: JavaScript does not touch
    /// them until the call returns (it cannot: it is waiting for it).
    ///
    /// # Safety
    /// `T` is the element type of `kind`, and the caller holds no other
    /// slice of the same array.
    unsafe fn elements<'a, T>(&self, index: usize, kind: sys::napi_typedarray_type, expected: &'static CStr) -> Result<&'a mut [T], Thrown> {
        let mut actual = 0;
        let mut length = 0;
        let mut data = ptr::null_mut();
        let status = sys::napi_get_typedarray_info(self.env, self.args[index], &mut actual, &mut length, &mut data, ptr::null_mut(), ptr::null_mut());
        if status != sys::Status::napi_ok || actual != kind {
            return Err(Thrown::Type(expected));
        }
        if length == 0 {
            return Ok(&mut []);
        }
        Ok(std::slice::from_raw_parts_mut(data.cast(), length))
    }

    /// # Safety
    /// As for [`Call::elements`].
    unsafe fn bytes<'a>(&self, index: usize) -> Result<&'a mut [u8], Thrown> {
        self.elements(index, sys::TypedarrayType::uint8_array, c"expected a Uint8Array")
    }

    /// # Safety
    /// As for [`Call::elements`].
    unsafe fn int32s<'a>(&self, index: usize) -> Result<&'a mut [i32], Thrown> {
        self.elements(index, sys::TypedarrayType::int32_array, c"expected an Int32Array")
    }

    /// # Safety
    /// As for [`Call::elements`].
    unsafe fn uint32s<'a>(&self, index: usize) -> Result<&'a mut [u32], Thrown> {
        self.elements(index, sys::TypedarrayType::uint32_array, c"expected a Uint32Array")
    }

    /// Runs `body`, turning its result into a JavaScript value or exception.
    fn finish(self, body: impl FnOnce(&Call) -> Result<Value, Thrown>) -> sys::napi_value {
        let env = self.env;
        let outcome = catch_unwind(AssertUnwindSafe(|| body(&self))).unwrap_or_else(|_| Err(Thrown::Error("internal error in the Pants engine".to_owned())));
        let mut result = ptr::null_mut();
        unsafe {
            match outcome {
                Ok(Value::Number(value)) => sys::napi_create_double(env, value, &mut result),
                Ok(Value::Int(value)) => sys::napi_create_int32(env, value, &mut result),
                Ok(Value::Bool(value)) => sys::napi_get_boolean(env, value, &mut result),
                Err(Thrown::Type(message)) => sys::napi_throw_type_error(env, ptr::null(), message.as_ptr()),
                Err(Thrown::Error(message)) => {
                    let message = std::ffi::CString::new(message).unwrap_or_default();
                    sys::napi_throw_error(env, ptr::null(), message.as_ptr())
                }
            };
        }
        result
    }
}

/// Defines `$name` as an N-API callback running `$body` with the call's arguments.
macro_rules! hot {
    ($name:ident, |$call:ident| $body:expr) => {
        unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
            Call::new(env, info).finish(|$call| $body)
        }
    };
}

/// Copies queued events into `out` as (kind, token, a, b) quadruples.
fn copy_events(driver: &Driver, out: &mut [i32]) -> u32 {
    let mut engine = driver.engine.borrow_mut();
    let mut count = 0;
    for slot in out.chunks_exact_mut(4) {
        let Some(event) = engine.next_event() else { break };
        slot.copy_from_slice(&[event.kind as i32, event.token as i32, event.a, event.b]);
        count += 1;
    }
    count
}

// beginIteration(engine, expired: Uint32Array): starts an iteration (see
// `Engine::begin_iteration`), copies the ids of due timers into `expired`
// and returns their number (take the rest with takeExpiredTimers).
hot!(begin_iteration, |call| {
    let expired = unsafe { call.uint32s(1) }?;
    let mut engine = driver(call.u32(0)?)?.engine.borrow_mut();
    engine.begin_iteration();
    Ok(Value::Number(engine.take_expired_timers(expired) as f64))
});

// takeExpiredTimers(engine, out: Uint32Array): more due timer ids; 0 when done.
hot!(take_expired_timers, |call| {
    let out = unsafe { call.uint32s(1) }?;
    operate(call.u32(0)?, |engine| Value::Number(engine.take_expired_timers(out) as f64)).map_err(Thrown::from)
});

// pollIo(engine, timeoutMs, out: Int32Array): waits up to `timeoutMs`
// (negative: forever; never past the next timer) for I/O, does it, and
// copies events into `out`. Returns the number copied; take the rest with
// takeEvents.
hot!(poll_io, |call| {
    let driver = driver(call.u32(0)?)?;
    let timeout_ms = call.f64(1)?;
    let out = unsafe { call.int32s(2) }?;
    let timeout = (timeout_ms >= 0.0).then(|| Duration::from_secs_f64((timeout_ms / 1000.0).min(1e9)));
    driver.engine.borrow_mut().poll_io(timeout).map_err(|error| Thrown::Error(error.to_string()))?;
    Ok(Value::Number(copy_events(driver, out) as f64))
});

// takeEvents(engine, out: Int32Array): copies more queued events (see
// pollIo). 0 means the caller has dispatched them all: that ends the I/O
// dispatch (`Engine::end_io_dispatch`), so replies leave ahead of promise
// jobs and the rest of the iteration.
hot!(take_events, |call| {
    let driver = driver(call.u32(0)?)?;
    let count = copy_events(driver, unsafe { call.int32s(1) }?);
    if count == 0 {
        driver.engine.borrow_mut().end_io_dispatch();
    }
    Ok(Value::Number(count as f64))
});

// scheduleTimer(engine, delayMs): schedules a timer `delayMs` after engine
// time and returns its key (a number below 2^53); its id in expired lists
// is the key's low 32 bits.
hot!(schedule_timer, |call| {
    let driver = driver(call.u32(0)?)?;
    let delay_ms = call.f64(1)?;
    driver.refresh_time();
    let key = driver.engine.borrow_mut().schedule_timer(delay_ms.max(0.0).ceil() as u64);
    Ok(Value::Number(key.to_bits() as f64))
});

// cancelTimer(engine, key): true when the timer was pending (or due and
// not yet past): see `Engine::cancel_timer`.
hot!(cancel_timer, |call| {
    let key = call.f64(1)?;
    let key = (key >= 0.0).then(|| TimerKey::from_bits(key as u64)).flatten();
    Ok(Value::Bool(operate(call.u32(0)?, |engine| key.is_some_and(|key| engine.cancel_timer(key)))?))
});

// latestPollTime(engine): wall-clock seconds of engine time (see
// `Engine::latest_poll_time`).
hot!(latest_poll_time, |call| {
    let driver = driver(call.u32(0)?)?;
    driver.refresh_time();
    Ok(Value::Number(driver.engine.borrow().latest_poll_time()))
});

// readFrame(engine, token, pool: Uint8Array, offset): see `io::read_frame`.
hot!(read_frame, |call| {
    let token = call.u32(1)? as usize;
    let pool = unsafe { call.bytes(2) }?;
    let offset = (call.u32(3)? as usize).min(pool.len());
    let out = &mut pool[offset..];
    let frame = operate(call.u32(0)?, |engine| {
        let read = engine.read_frame(token, out).unwrap_or(FrameRead::Incomplete);
        read.encode(engine.more_input(token))
    })?;
    Ok(Value::Number(frame))
});

// readBody(engine, token, body: Uint8Array, offset): the next bytes of a
// response body of known length, into `body` at `offset`; see
// `Engine::read_body` and `BodyRead::encode`.
hot!(read_body, |call| {
    let token = call.u32(1)? as usize;
    let body = unsafe { call.bytes(2) }?;
    let offset = (call.u32(3)? as usize).min(body.len());
    let out = &mut body[offset..];
    let read = operate(call.u32(0)?, |engine| engine.read_body(token, out).unwrap_or(BodyRead::NotBody).encode())?;
    Ok(Value::Number(read))
});

// write(engine, token, data: Uint8Array): buffers bytes for sending; 0, 1
// above the high-water mark, or -errno.
hot!(write, |call| {
    let token = call.u32(1)? as usize;
    let data = unsafe { call.bytes(2) }?;
    Ok(Value::Int(operate(call.u32(0)?, |engine| write_status(engine.write(token, data)))?))
});

thread_local! {
    /// Where `writeString` puts a string's UTF-8 bytes on their way in.
    static STRING_BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bytes of a string kept between calls; longer ones are let go after use.
const RETAINED_STRING_BYTES: usize = 64 * 1024;

/// UTF-8 bytes per UTF-16 code unit, at most (a surrogate pair's 4 bytes are 2 units).
const MAX_UTF8_PER_UNIT: usize = 3;

// writeString(engine, token, data: string): buffers a string as UTF-8; see write.
// A string whose longest encoding fits the retained bytes is read once, into
// room for that longest encoding (its length is known without reading it);
// a longer one is measured first, so no more than its bytes are taken.
hot!(write_string, |call| {
    let engine = call.u32(0)?;
    let token = call.u32(1)? as usize;
    let mut units = 0;
    if unsafe { sys::napi_get_value_string_utf16(call.env, call.args[2], ptr::null_mut(), 0, &mut units) } != sys::Status::napi_ok {
        return Err(Thrown::Type(c"expected a string"));
    }
    let room = if units <= RETAINED_STRING_BYTES / MAX_UTF8_PER_UNIT {
        MAX_UTF8_PER_UNIT * units + 1
    } else {
        let mut length = 0;
        unsafe { sys::napi_get_value_string_utf8(call.env, call.args[2], ptr::null_mut(), 0, &mut length) };
        length + 1
    };
    STRING_BYTES.with(|bytes| {
        let mut bytes = bytes.borrow_mut();
        bytes.clear();
        bytes.reserve(room);
        let mut copied = 0;
        unsafe {
            sys::napi_get_value_string_utf8(call.env, call.args[2], bytes.as_mut_ptr().cast::<c_char>(), room, &mut copied);
            bytes.set_len(copied);
        }
        let status = operate(engine, |engine| write_status(engine.write(token, &bytes)));
        if bytes.capacity() > RETAINED_STRING_BYTES {
            *bytes = Vec::new();
        }
        Ok(Value::Int(status?))
    })
});

/// Puts the hot functions on the module's exports.
#[napi(module_exports)]
pub fn export_hot_functions(exports: Object, env: Env) -> napi::Result<()> {
    type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;
    let functions: [(&CStr, Callback); 11] = [
        (c"beginIteration", begin_iteration),
        (c"takeExpiredTimers", take_expired_timers),
        (c"pollIo", poll_io),
        (c"takeEvents", take_events),
        (c"scheduleTimer", schedule_timer),
        (c"cancelTimer", cancel_timer),
        (c"latestPollTime", latest_poll_time),
        (c"readFrame", read_frame),
        (c"readBody", read_body),
        (c"write", write),
        (c"writeString", write_string),
    ];
    for (name, callback) in functions {
        let mut function = ptr::null_mut();
        let created =
            unsafe { sys::napi_create_function(env.raw(), name.as_ptr(), name.count_bytes() as isize, Some(callback), ptr::null_mut(), &mut function) };
        let set = unsafe { sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), function) };
        if created != sys::Status::napi_ok || set != sys::Status::napi_ok {
            return Err(napi::Error::from_reason(format!("could not export {}", name.to_string_lossy())));
        }
    }
    Ok(())
}
