//! Running the engine: iterations, I/O waits, events and timers.

use napi::bindgen_prelude::*;
use napi_derive::napi;

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

/// Asks for an iteration soon (see `Engine::request_iteration`).
#[napi]
pub fn wake(engine: u32) -> Result<()> {
    operate(engine, |engine| engine.request_iteration())
}

/// Ends a synchronous iteration (`Engine.poll`): sends the corked writes.
#[napi]
pub fn end_iteration(engine: u32) -> Result<()> {
    operate(engine, |engine| {
        engine.end_iteration();
    })
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
