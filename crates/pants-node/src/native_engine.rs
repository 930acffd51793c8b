//! Engines as the TypeScript layer holds them.
//!
//! An engine is created as a `NativeEngine` object (its lifetime is the
//! engine's) but operated on with plain functions taking the engine's `id`
//! (in `functions/`): a napi-rs class method costs several times a plain
//! function, and the calls made for every message skip napi-rs altogether
//! (`functions/hot.rs`).

use std::cell::RefCell;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::Engine;
use slab::Slab;

use crate::driver::Driver;

thread_local! {
    /// This thread's engines (each worker thread has its own), by id.
    static ENGINES: RefCell<Slab<Box<Driver>>> = const { RefCell::new(Slab::new()) };
}

/// The driver of engine `id`.
pub fn driver(id: u32) -> Result<&'static Driver> {
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

/// Runs `operation` on engine `id`; outside an iteration, work it leaves
/// (events to dispatch) gets an iteration on the loop's next turn.
pub fn operate<R>(id: u32, operation: impl FnOnce(&mut Engine) -> R) -> Result<R> {
    let driver = driver(id)?;
    let result = operation(&mut driver.engine.borrow_mut());
    driver.after_call();
    Ok(result)
}

/// Reads from engine `id`.
pub fn inspect<R>(id: u32, operation: impl FnOnce(&Engine) -> R) -> Result<R> {
    Ok(operation(&driver(id)?.engine.borrow()))
}

/// `-errno` of an I/O error, the convention of calls that can fail.
pub fn negative_errno(error: &std::io::Error) -> i32 {
    -error.raw_os_error().unwrap_or(5 /* EIO */)
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
