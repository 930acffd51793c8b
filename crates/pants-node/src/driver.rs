//! Runs engine iterations from libuv wake-ups: one native→JS call each.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr;
use std::time::Duration;

use napi::sys;
use pants_core::Engine;

use crate::host::HostLoop;
use crate::uv::LoopHook;

/// The JavaScript side of a started engine: the iteration function and the
/// async context it is called in.
#[derive(Clone, Copy)]
struct JsIteration {
    env: sys::napi_env,
    function: sys::napi_ref,
    resource: sys::napi_ref,
    context: sys::napi_async_context,
}

/// An engine plus what it needs to run inside Node's loop. Boxed, so the
/// libuv handles can point at it.
pub struct Driver {
    pub engine: RefCell<Engine>,
    host: RefCell<Option<Box<dyn HostLoop>>>,
    iteration: Cell<Option<JsIteration>>,
    /// The host loop's time when engine time was last refreshed.
    host_time: Cell<u64>,
    /// The environment whose teardown must close our handles first (a
    /// worker thread's loop does not end while they are open).
    cleanup_env: Cell<Option<sys::napi_env>>,
}

unsafe fn wake(context: *const c_void) {
    (*(context as *const Driver)).iterate();
}

/// Environment teardown (a worker thread ending): stop and close the
/// handles while the loop still runs; the driver itself goes later.
unsafe extern "C" fn on_env_cleanup(context: *mut c_void) {
    let driver = &*(context as *const Driver);
    driver.cleanup_env.set(None);
    driver.stop();
    driver.host.borrow_mut().take();
}

impl Driver {
    pub fn new(engine: Engine) -> Box<Self> {
        Box::new(Self {
            engine: RefCell::new(engine),
            host: RefCell::new(None),
            iteration: Cell::new(None),
            host_time: Cell::new(0),
            cleanup_env: Cell::new(None),
        })
    }

    pub fn running(&self) -> bool {
        self.iteration.get().is_some()
    }

    fn arm(&self, delay: Duration) {
        if let Some(host) = self.host.borrow().as_ref() {
            host.arm(delay);
        }
    }

    /// After a call from JavaScript: when it left work for an iteration
    /// (events, or a request) and none runs, have one on the loop's next turn.
    pub fn after_call(&self) {
        if self.running() && self.engine.borrow().needs_iteration() {
            self.arm(Duration::ZERO);
        }
    }

    /// Before engine time is used outside an iteration: when Node's loop
    /// has turned since, engine time becomes now (as Node's own timers
    /// count from the loop's time, not from our latest iteration's).
    pub fn refresh_time(&self) {
        if !self.running() || self.engine.borrow().in_iteration() {
            return;
        }
        let Some(host) = self.host.borrow().as_ref().map(|host| host.loop_time()) else { return };
        if host != self.host_time.replace(host) {
            self.engine.borrow_mut().refresh_time();
        }
    }

    /// Starts calling `function` on every wake-up of Node's loop. It takes
    /// no arguments, runs one iteration (up to its I/O dispatch) and
    /// returns the longest delay in ms until it wants the next; the engine
    /// may want it sooner.
    ///
    /// # Safety
    /// `env` is the current environment and `function` a JavaScript function.
    pub unsafe fn start(&self, env: sys::napi_env, function: sys::napi_value) -> napi::Result<()> {
        if self.host.borrow().is_none() {
            let mut event_loop = ptr::null_mut();
            check(sys::napi_get_uv_event_loop(env, &mut event_loop))?;
            let fd = self.engine.borrow().poll_fd();
            let hook = LoopHook::new(event_loop.cast(), fd, wake, self as *const Self as *const c_void)
                .map_err(|error| napi::Error::from_reason(error.to_string()))?;
            *self.host.borrow_mut() = Some(Box::new(hook));
            let context = self as *const Self as *mut c_void;
            check(sys::napi_add_env_cleanup_hook(env, Some(on_env_cleanup), context))?;
            self.cleanup_env.set(Some(env));
        }
        let mut function_ref = ptr::null_mut();
        check(sys::napi_create_reference(env, function, 1, &mut function_ref))?;
        let mut resource = ptr::null_mut();
        check(sys::napi_create_object(env, &mut resource))?;
        let mut resource_ref = ptr::null_mut();
        check(sys::napi_create_reference(env, resource, 1, &mut resource_ref))?;
        let mut name = ptr::null_mut();
        let label = "pants:engine";
        check(sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name))?;
        let mut context = ptr::null_mut();
        check(sys::napi_async_init(env, resource, name, &mut context))?;
        self.iteration.set(Some(JsIteration { env, function: function_ref, resource: resource_ref, context }));
        let host = self.host.borrow();
        let host = host.as_ref().expect("created above");
        host.start().map_err(|error| napi::Error::from_reason(error.to_string()))?;
        host.arm(Duration::ZERO);
        Ok(())
    }

    /// Stops the wake-ups and lets go of the JavaScript function.
    pub fn stop(&self) {
        if let Some(host) = self.host.borrow().as_ref() {
            host.stop();
        }
        if let Some(iteration) = self.iteration.take() {
            unsafe {
                sys::napi_async_destroy(iteration.env, iteration.context);
                sys::napi_delete_reference(iteration.env, iteration.function);
                sys::napi_delete_reference(iteration.env, iteration.resource);
            }
        }
    }

    /// One wake-up: the JavaScript iteration runs inside a callback scope
    /// (promise jobs and `nextTick`s run before it closes, their writes
    /// still corked); then the engine ends the iteration and says when the
    /// next is due.
    fn iterate(&self) {
        let Some(iteration) = self.iteration.get() else {
            return;
        };
        let wanted = unsafe { call(iteration) };
        let next = self.engine.borrow_mut().end_iteration();
        let Some(wanted) = wanted else {
            // JavaScript can no longer run here (the worker is terminating):
            // stop waking, or the thread's loop would never end.
            if let Some(host) = self.host.borrow().as_ref() {
                host.stop();
            }
            return;
        };
        if self.running() {
            let wanted = Duration::from_secs_f64(wanted.max(0.0) / 1000.0);
            self.arm(next.map_or(wanted, |next| next.min(wanted)));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Without a registered cleanup hook the environment may be gone:
        // then there is nothing of it left to release.
        if let Some(env) = self.cleanup_env.take() {
            unsafe { sys::napi_remove_env_cleanup_hook(env, Some(on_env_cleanup), self as *const Self as *mut c_void) };
            self.stop();
            self.host.borrow_mut().take();
        }
    }
}

fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!("N-API call failed with status {status}")))
    }
}

/// Calls the iteration function inside a callback scope, so that promise
/// jobs and `process.nextTick` callbacks run before it returns, and returns
/// the delay it asks for. `None` when the call failed: JavaScript cannot run
/// any more (an exception escaping it is reported to Node as uncaught).
unsafe fn call(iteration: JsIteration) -> Option<f64> {
    let env = iteration.env;
    let mut scope = ptr::null_mut();
    sys::napi_open_handle_scope(env, &mut scope);
    let mut function = ptr::null_mut();
    let mut resource = ptr::null_mut();
    sys::napi_get_reference_value(env, iteration.function, &mut function);
    sys::napi_get_reference_value(env, iteration.resource, &mut resource);
    let mut result = ptr::null_mut();
    let status = sys::napi_make_callback(env, iteration.context, resource, function, 0, ptr::null(), &mut result);
    let mut delay = 0.0;
    let can_run = status == sys::Status::napi_ok;
    if can_run {
        sys::napi_get_value_double(env, result, &mut delay);
    } else {
        // Our iteration function catches everything, so this is Node
        // tearing the environment down (a worker terminating), or a bug to report.
        let mut exception = ptr::null_mut();
        if sys::napi_get_and_clear_last_exception(env, &mut exception) == sys::Status::napi_ok && !exception.is_null() {
            let mut kind = 0;
            if sys::napi_typeof(env, exception, &mut kind) == sys::Status::napi_ok && kind == sys::ValueType::napi_object {
                sys::napi_fatal_exception(env, exception);
            }
        }
    }
    sys::napi_close_handle_scope(env, scope);
    can_run.then_some(delay)
}
