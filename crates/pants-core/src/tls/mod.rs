//! TLS on streams, with rustls inside the engine, behaving as node:tls:
//! configurations built from Node's options (`config`, `keys`), the
//! per-stream session (`session`), verification and failures in Node's
//! words (`verify`, `failure`), the peer's certificate as Node describes it
//! (`certificate`).

mod certificate;
mod config;
mod failure;
mod keys;
mod session;
mod verify;

pub use certificate::PeerCertificate;
pub use config::{cipher_names, ServerTls, TlsConfig, TlsOptions, TlsVersion};
pub use failure::TlsFailure;
pub(crate) use session::{TlsProgress, TlsSession};

/// An option that cannot be used, with the option's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptionError {
    /// The option at fault (`"cert"`, `"key"`, `"ca"`, `"servername"`, ...).
    pub option: &'static str,
    /// What is wrong with it.
    pub message: String,
    /// Node's (OpenSSL's) code for it, when Node gives one (`'ERR_OSSL_BAD_DECRYPT'`).
    pub code: Option<&'static str>,
}

impl std::fmt::Display for TlsOptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sslOptions.{}: {}", self.option, self.message)
    }
}

pub(crate) fn option_error(option: &'static str, message: impl ToString) -> TlsOptionError {
    TlsOptionError { option, message: message.to_string(), code: None }
}
