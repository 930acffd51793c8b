//! Running the engine: iterations, I/O waits, events and timers.

use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::driver::Driver;
use crate::native_engine::{driver, inspect, operate};

/// Runs `iterate()` on every wake-up of Node's loop until `stop()`.
#[napi]
pub fn start(engine: u32, env: Env, iterate: Function<(), f64>) -> Result<()> {
    unsafe { driver(engine)?.start(env.raw(), iterate.raw()) }
}

#[napi]
pub fn stop(engine: u32) -> Result<()> {
    driver(engine)?.stop();
    Ok(())
}

/// Asks for an iteration on the loop's next turn.
#[napi]
pub fn wake(engine: u32) -> Result<()> {
    driver(engine)?.wake_soon();
    Ok(())
}

/// Starts an iteration: engine time is now; writes are corked. Copies the
/// ids of due timers into `expired` (see `takeExpiredTimers`) and returns
/// their number.
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
    driver(engine)?.end_dispatch();
    Ok(())
}

/// Waits up to `timeout_ms` (negative: forever) for I/O, does it, and
/// copies events into `out` as (kind, token, a, b) quadruples. Returns the
/// number of events copied; take the rest with `takeEvents`.
#[napi]
pub fn poll_io(engine: u32, timeout_ms: f64, out: Int32ArraySlice) -> Result<u32> {
    let driver = driver(engine)?;
    let timeout = (timeout_ms >= 0.0).then(|| Duration::from_micros((timeout_ms * 1000.0) as u64));
    driver.engine.borrow_mut().poll(timeout).map_err(|error| Error::from_reason(error.to_string()))?;
    Ok(copy_events(driver, out))
}

/// Copies queued events into `out` (see `pollIo`).
#[napi]
pub fn take_events(engine: u32, out: Int32ArraySlice) -> Result<u32> {
    Ok(copy_events(driver(engine)?, out))
}

fn copy_events(driver: &Driver, mut out: Int32ArraySlice) -> u32 {
    // SAFETY: the array is only read by JavaScript after this call returns.
    let out = unsafe { out.as_mut() };
    let mut engine = driver.engine.borrow_mut();
    let mut count = 0;
    for slot in out.chunks_exact_mut(4) {
        let Some(event) = engine.next_event() else { break };
        slot.copy_from_slice(&[event.kind as i32, event.token as i32, event.a, event.b]);
        count += 1;
    }
    count
}

/// Schedules timer `id` `delay_ms` after the current iteration's time, or
/// after now when called outside an iteration.
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
    operate(engine, |engine| engine.cancel_timer(id))
}

/// Copies the ids of due timers into `out`; call until it returns 0.
#[napi]
pub fn take_expired_timers(engine: u32, mut out: Uint32ArraySlice) -> Result<u32> {
    // SAFETY: the array is only read by JavaScript after this call returns.
    operate(engine, |engine| engine.take_expired_timers(unsafe { out.as_mut() }) as u32)
}

/// Milliseconds until the next timer may be due; -1 without timers.
#[napi]
pub fn next_timer_delay(engine: u32) -> Result<f64> {
    inspect(engine, |engine| engine.next_timer_delay().map_or(-1.0, |delay| delay as f64))
}

/// `[channels, timers, bytesIn, bytesOut, iterations]`.
#[napi]
pub fn stats(engine: u32) -> Result<Vec<f64>> {
    inspect(engine, |engine| {
        let stats = engine.stats();
        vec![engine.channel_count() as f64, engine.timer_count() as f64, stats.bytes_in as f64, stats.bytes_out as f64, stats.iterations as f64]
    })
}

#[napi]
pub fn timer_count(engine: u32) -> Result<u32> {
    inspect(engine, |engine| engine.timer_count() as u32)
}

#[napi]
pub fn channel_count(engine: u32) -> Result<u32> {
    inspect(engine, |engine| engine.channel_count() as u32)
}
