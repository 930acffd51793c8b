//! TLS configurations, built once from `sslOptions` and shared by streams.

use std::cell::RefCell;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::{TlsConfig, TlsOptions};
use slab::Slab;

thread_local! {
    /// This thread's TLS configurations, by id.
    static CONFIGS: RefCell<Slab<TlsConfig>> = const { RefCell::new(Slab::new()) };
}

/// The configuration `id` (a cheap clone: it is reference counted).
pub fn config(id: u32) -> Result<TlsConfig> {
    CONFIGS.with(|configs| configs.borrow().get(id as usize).cloned()).ok_or_else(|| Error::from_reason("the TLS configuration has been released"))
}

/// Owns a TLS configuration: it lives until this object is collected.
#[napi]
pub struct NativeTlsConfig {
    id: u32,
}

#[napi]
impl NativeTlsConfig {
    /// Builds a client (`server = false`) or server configuration from PEM
    /// options; throws an Error naming the option at fault.
    #[napi(constructor)]
    pub fn new(
        server: bool,
        cert: Option<Buffer>,
        key: Option<Buffer>,
        ca: Option<Buffer>,
        reject_unauthorized: bool,
        request_cert: bool,
        alpn: Vec<String>,
    ) -> Result<Self> {
        let options = TlsOptions {
            cert: cert.map(|pem| pem.to_vec()).unwrap_or_default(),
            key: key.map(|pem| pem.to_vec()).unwrap_or_default(),
            ca: ca.map(|pem| pem.to_vec()).unwrap_or_default(),
            reject_unauthorized,
            request_cert,
            alpn: alpn.into_iter().map(String::into_bytes).collect(),
        };
        let built = if server { TlsConfig::server(&options) } else { TlsConfig::client(&options) };
        let config = built.map_err(|error| Error::new(Status::InvalidArg, error.to_string()))?;
        let id = CONFIGS.with(|configs| configs.borrow_mut().insert(config));
        Ok(Self { id: id as u32 })
    }

    /// The id the engine functions take.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl Drop for NativeTlsConfig {
    fn drop(&mut self) {
        let _ = CONFIGS.try_with(|configs| configs.borrow_mut().try_remove(self.id as usize));
    }
}
