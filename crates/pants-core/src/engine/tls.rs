//! TLS on a stream: starting it, what its session agreed on, and the
//! application's answer to a client's server name.

use super::Engine;
use crate::tls::{PeerCertificate, TlsConfig, TlsFailure, TlsOptionError, TlsVersion};

impl Engine {
    /// Starts TLS on a stream (before or after it connects; on an open
    /// stream, after the data already written). Bytes already received are
    /// taken as the first TLS records.
    pub fn start_tls(&mut self, token: usize, config: &TlsConfig, server_name: &str) -> Result<(), TlsOptionError> {
        let Ok((stream, reactor)) = self.stream_mut(token) else {
            return Err(TlsOptionError { option: "stream", message: "not a stream".into(), code: None });
        };
        stream.start_tls(reactor, config, server_name)
    }

    /// Why a stream's TLS session failed.
    pub fn tls_failure(&self, token: usize) -> Option<TlsFailure> {
        self.stream(token)?.tls_failure()
    }

    /// The ALPN protocol a stream's TLS handshake agreed on.
    pub fn alpn_protocol(&self, token: usize) -> Option<Vec<u8>> {
        self.stream(token)?.alpn_protocol()
    }

    /// The TLS version a stream's handshake agreed on, once it is done.
    pub fn tls_version(&self, token: usize) -> Option<TlsVersion> {
        self.stream(token)?.tls_version()
    }

    /// The certificate the peer of a stream presented, once the handshake is done.
    pub fn peer_certificate(&self, token: usize) -> Option<PeerCertificate> {
        self.stream(token)?.peer_certificate()
    }

    /// The server name a TLS client asked a stream for (SNI), once read.
    pub fn tls_servername(&self, token: usize) -> Option<String> {
        self.stream(token)?.tls_servername()
    }

    /// Answers [`EventKind::SslServername`](crate::EventKind::SslServername):
    /// the handshake goes on with `Ok(Some(config))` (a server
    /// configuration), or with the stream's default with `Ok(None)`;
    /// `Err(())` fails it (`SslHandshakeError`). Does nothing when the stream
    /// no longer waits for an answer.
    pub fn answer_servername(&mut self, token: usize, answer: Result<Option<&TlsConfig>, ()>) {
        if let Ok((stream, reactor)) = self.stream_mut(token) {
            stream.answer_servername(reactor, answer);
        }
    }
}
