//! The napi-rs binding of the Pants engine: conversions and the libuv hook
//! only. The engine's logic lives in `pants-core`; the user-facing classes
//! live in the TypeScript package.

// napi-derive compiles the registration of `#[napi]` items out of test
// builds (`cfg(not(test))`), so there everything reachable only from
// JavaScript looks unused.
#![cfg_attr(test, allow(dead_code))]

mod address;
mod driver;
mod functions;
mod host;
mod native_engine;
mod tls_config;
mod uv;
