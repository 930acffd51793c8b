//! TLS configurations, built once from `sslOptions` and shared by streams.

use std::cell::RefCell;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use pants_core::{TlsConfig, TlsOptions, TlsVersion};
use slab::Slab;

thread_local! {
    /// This thread's TLS configurations, by id.
    static CONFIGS: RefCell<Slab<TlsConfig>> = const { RefCell::new(Slab::new()) };
}

/// The configuration `id` (a cheap clone: it is reference counted).
pub fn config(id: u32) -> Result<TlsConfig> {
    CONFIGS.with(|configs| configs.borrow().get(id as usize).cloned()).ok_or_else(|| Error::from_reason("the TLS configuration has been released"))
}

/// `sslOptions` as the TypeScript layer hands them over (validated there
/// for types; values are checked here and in pants-core).
#[napi(object)]
pub struct TlsConfigOptions {
    /// A server configuration (else a client one).
    pub server: bool,
    pub cert: Option<Buffer>,
    pub key: Option<Buffer>,
    pub passphrase: Option<String>,
    /// PKCS#12 (DER).
    pub pfx: Option<Buffer>,
    pub ca: Option<Buffer>,
    pub reject_unauthorized: bool,
    pub request_cert: bool,
    pub alpn: Vec<String>,
    /// `'TLSv1.2'` or `'TLSv1.3'`.
    pub min_version: Option<String>,
    /// `'TLSv1.2'` or `'TLSv1.3'`.
    pub max_version: Option<String>,
    /// OpenSSL cipher suite names separated by `:`.
    pub ciphers: Option<String>,
    /// Servers: handshakes naming a server wait for `answerServername`.
    pub servername_callback: bool,
}

fn version(name: Option<String>, option: &str) -> Result<Option<TlsVersion>> {
    name.map(|name| {
        TlsVersion::from_name(&name).ok_or_else(|| {
            Error::new(Status::InvalidArg, format!("sslOptions.{option}: \"{name}\" is not a TLS version this engine speaks ('TLSv1.2', 'TLSv1.3')"))
        })
    })
    .transpose()
}

fn bytes(buffer: Option<Buffer>) -> Vec<u8> {
    buffer.map(|buffer| buffer.to_vec()).unwrap_or_default()
}

impl TryFrom<TlsConfigOptions> for TlsOptions {
    type Error = Error;

    fn try_from(options: TlsConfigOptions) -> Result<Self> {
        Ok(TlsOptions {
            min_version: version(options.min_version, "minVersion")?,
            max_version: version(options.max_version, "maxVersion")?,
            cert: bytes(options.cert),
            key: bytes(options.key),
            passphrase: options.passphrase,
            pfx: bytes(options.pfx),
            ca: bytes(options.ca),
            reject_unauthorized: options.reject_unauthorized,
            request_cert: options.request_cert,
            alpn: options.alpn.into_iter().map(String::into_bytes).collect(),
            ciphers: options.ciphers,
            servername_callback: options.servername_callback,
        })
    }
}

/// Owns a TLS configuration: it lives until this object is collected.
#[napi]
pub struct NativeTlsConfig {
    id: u32,
}

#[napi]
impl NativeTlsConfig {
    /// Builds a client or server configuration; throws an Error naming the
    /// option at fault. A message that starts with `[CODE] ` carries Node's
    /// code for the failure (`[ERR_OSSL_BAD_DECRYPT] ...`).
    #[napi(constructor)]
    pub fn new(options: TlsConfigOptions) -> Result<Self> {
        let server = options.server;
        let options = TlsOptions::try_from(options)?;
        let built = if server { TlsConfig::server(&options) } else { TlsConfig::client(&options) };
        let config = built.map_err(|error| match error.code {
            Some(code) => Error::new(Status::InvalidArg, format!("[{code}] {error}")),
            None => Error::new(Status::InvalidArg, error.to_string()),
        })?;
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
