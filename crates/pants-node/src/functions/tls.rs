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

/// The TLS version a stream's handshake agreed on (`'TLSv1.3'`), or null before it is done.
#[napi]
pub fn tls_version(engine: u32, token: u32) -> Result<Option<&'static str>> {
    inspect(engine, |engine| engine.tls_version(token as usize).map(|version| version.name()))
}

/// A peer's certificate in node:tls' terms; `subject` and `issuer` as `[name, value]` pairs.
#[napi(object)]
pub struct PeerCertificateFields {
    pub subject: Vec<Vec<String>>,
    pub issuer: Vec<Vec<String>>,
    pub subjectaltname: Option<String>,
    pub valid_from: String,
    pub valid_to: String,
    pub fingerprint256: String,
    pub serial_number: String,
    pub ca: bool,
    pub raw: Buffer,
}

fn pairs(attributes: Vec<(String, String)>) -> Vec<Vec<String>> {
    attributes.into_iter().map(|(name, value)| vec![name, value]).collect()
}

/// The certificate a stream's peer presented, once the handshake is done; null when it sent none.
#[napi]
pub fn peer_certificate(engine: u32, token: u32) -> Result<Option<PeerCertificateFields>> {
    let certificate = inspect(engine, |engine| engine.peer_certificate(token as usize))?;
    Ok(certificate.map(|certificate| PeerCertificateFields {
        subject: pairs(certificate.subject),
        issuer: pairs(certificate.issuer),
        subjectaltname: certificate.subjectaltname,
        valid_from: certificate.valid_from,
        valid_to: certificate.valid_to,
        fingerprint256: certificate.fingerprint256,
        serial_number: certificate.serial_number,
        ca: certificate.ca,
        raw: certificate.raw.into(),
    }))
}

/// The server name a TLS client asked for (SNI), once its hello is read; else null.
#[napi]
pub fn tls_servername(engine: u32, token: u32) -> Result<Option<String>> {
    inspect(engine, |engine| engine.tls_servername(token as usize))
}

/// Answers a servername event: go on with server configuration `config`
/// (null: the stream's default), or fail the handshake (`failed`).
#[napi]
pub fn answer_servername(engine: u32, token: u32, config: Option<u32>, failed: bool) -> Result<()> {
    let config = config.map(tls_config::config).transpose()?;
    let answer = if failed { Err(()) } else { Ok(config.as_ref()) };
    operate(engine, |engine| engine.answer_servername(token as usize, answer))
}
