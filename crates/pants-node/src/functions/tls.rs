//! TLS on channels.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::native_engine::{inspect, operate};
use crate::tls_config;

/// Starts TLS on a stream with configuration `config` (see
/// `NativeTlsConfig`); `server_name` is checked against the server's
/// certificate and sent as SNI (clients). Throws for a bad server name.
#[napi]
pub fn start_tls(engine: u32, token: u32, config: u32, server_name: String) -> Result<()> {
    let config = tls_config::config(config)?;
    let started = operate(engine, |engine| engine.start_tls(token as usize, &config, &server_name))?;
    started.map_err(|error| Error::new(Status::InvalidArg, error.to_string()))
}

/// Makes a listener's accepted streams speak TLS with server configuration `config`.
#[napi]
pub fn set_listener_tls(engine: u32, token: u32, config: u32) -> Result<()> {
    let config = tls_config::config(config)?;
    let set = operate(engine, |engine| engine.set_listener_tls(token as usize, Some(&config)))?;
    set.map_err(|error| Error::from_reason(error.to_string()))
}

/// Why a stream's TLS session failed: `[code, message]`, or null.
#[napi]
pub fn tls_failure(engine: u32, token: u32) -> Result<Option<Vec<String>>> {
    inspect(engine, |engine| engine.tls_failure(token as usize).map(|failure| vec![failure.code.to_owned(), failure.message]))
}

/// The protocol a stream's TLS handshake agreed on with ALPN, or null.
#[napi]
pub fn alpn_protocol(engine: u32, token: u32) -> Result<Option<String>> {
    inspect(engine, |engine| engine.alpn_protocol(token as usize).map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}
