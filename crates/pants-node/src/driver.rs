//! Runs engine iterations from libuv wake-ups: one native→JS call each.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::ptr;

use napi::sys;
use pants_core::Engine;

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
    /// True while an iteration dispatches: writes are corked until it ends.
    dispatching: Cell<bool>,
    /// Something asked for an iteration on the next turn while one ran
    /// (a callback added from a promise job): re-arm at 0, not at its delay.
    woken: Cell<bool>,
    hook: RefCell<Option<LoopHook>>,
    iteration: Cell<Option<JsIteration>>,
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
    driver.hook.borrow_mut().take();
}

impl Driver {
    pub fn new(engine: Engine) -> Box<Self> {
        Box::new(Self {
            engine: RefCell::new(engine),
            dispatching: Cell::new(false),
            woken: Cell::new(false),
            hook: RefCell::new(None),
            iteration: Cell::new(None),
            cleanup_env: Cell::new(None),
        })
    }

    pub fn running(&self) -> bool {
        self.iteration.get().is_some()
    }

    /// True while an iteration dispatches.
    pub fn dispatching(&self) -> bool {
        self.dispatching.get()
    }

    /// Marks the start of an iteration's dispatch (writes are corked).
    pub fn begin_dispatch(&self) {
        self.dispatching.set(true);
    }

    /// Ends a dispatch: sends every corked write.
    pub fn end_dispatch(&self) {
        self.engine.borrow_mut().flush_dirty();
        self.dispatching.set(false);
    }

    /// After a call from JavaScript that may have written or queued events:
    /// outside an iteration, send at once and make sure events get dispatched.
    pub fn settle(&self) {
        if self.dispatching.get() {
            return;
        }
        let mut engine = self.engine.borrow_mut();
        engine.flush_dirty();
        if engine.has_pending() {
            drop(engine);
            self.wake_soon();
        }
    }

    /// Runs an iteration on the loop's next turn (when started).
    pub fn wake_soon(&self) {
        self.woken.set(true);
        if self.running() {
            if let Some(hook) = self.hook.borrow().as_ref() {
                hook.arm(0);
            }
        }
    }

    /// Starts calling `function` on every wake-up of Node's loop. It takes
    /// no arguments and returns the longest delay in ms until it wants to
    /// run again; the driver shortens it to the next timer's.
    ///
    /// # Safety
    /// `env` is the current environment and `function` a JavaScript function.
    pub unsafe fn start(&self, env: sys::napi_env, function: sys::napi_value) -> napi::Result<()> {
        if self.hook.borrow().is_none() {
            let mut event_loop = ptr::null_mut();
            check(sys::napi_get_uv_event_loop(env, &mut event_loop))?;
            let fd = self.engine.borrow().poll_fd();
            let hook = LoopHook::new(event_loop.cast(), fd, wake, self as *const Self as *const c_void)
                .map_err(|error| napi::Error::from_reason(error.to_string()))?;
            *self.hook.borrow_mut() = Some(hook);
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
        let hook = self.hook.borrow();
        let hook = hook.as_ref().expect("created above");
        hook.start().map_err(|error| napi::Error::from_reason(error.to_string()))?;
        hook.arm(0);
        Ok(())
    }

    /// Stops the wake-ups and lets go of the JavaScript function.
    pub fn stop(&self) {
        if let Some(hook) = self.hook.borrow().as_ref() {
            hook.stop();
        }
        if let Some(iteration) = self.iteration.take() {
            unsafe {
                sys::napi_async_destroy(iteration.env, iteration.context);
                sys::napi_delete_reference(iteration.env, iteration.function);
                sys::napi_delete_reference(iteration.env, iteration.resource);
            }
        }
    }

    fn iterate(&self) {
        let Some(iteration) = self.iteration.get() else {
            return;
        };
        self.woken.set(false);
        self.begin_dispatch();
        let delay = unsafe { call(iteration) };
        self.end_dispatch();
        let Some(delay) = delay else {
            // JavaScript can no longer run here (the worker is terminating):
            // stop waking, or the thread's loop would never end.
            if let Some(hook) = self.hook.borrow().as_ref() {
                hook.stop();
            }
            return;
        };
        if self.running() {
            let engine = self.engine.borrow();
            let delay = if engine.has_pending() || self.woken.get() { 0.0 } else { engine.next_timer_delay().map_or(delay, |timer| delay.min(timer as f64)) };
            drop(engine);
            if let Some(hook) = self.hook.borrow().as_ref() {
                hook.arm(delay.max(0.0).ceil() as u64);
            }
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
            self.hook.borrow_mut().take();
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
