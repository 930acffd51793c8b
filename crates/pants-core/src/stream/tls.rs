//! TLS on a stream: starting a session, the server name a client asked
//! for, and what the handshake agreed on.

use super::StreamChannel;
use crate::event::EventKind;
use crate::reactor::Reactor;
use crate::tls::{PeerCertificate, TlsConfig, TlsFailure, TlsOptionError, TlsProgress, TlsSession, TlsVersion};

impl StreamChannel {
    /// See [`Engine::start_tls`](crate::Engine::start_tls).
    pub fn start_tls(&mut self, reactor: &mut Reactor, config: &TlsConfig, server_name: &str) -> Result<(), TlsOptionError> {
        let mut session = match config {
            TlsConfig::Client(client) => TlsSession::client(client.clone(), server_name)?,
            TlsConfig::Server(server) => TlsSession::server(server),
        };
        session.start(&mut self.outgoing);
        // Moved out through `clear`, not swapped for a new queue: the
        // framer counts positions in this one.
        let early = self.incoming.as_slice().to_vec();
        self.incoming.clear();
        let session = self.tls.insert(Box::new(session));
        let progress = if early.is_empty() { TlsProgress::default() } else { session.receive(&early, &mut self.incoming, &mut self.outgoing) };
        if progress.servername {
            reactor.report(EventKind::SslServername, self.token);
        }
        if progress.failed {
            reactor.report(EventKind::SslHandshakeError, self.token);
        }
        if !self.outgoing.is_empty() {
            self.mark_dirty(reactor);
        }
        // What the socket holds now goes through the session.
        self.stop_reading_on_demand(reactor);
        Ok(())
    }

    /// Why the TLS session failed.
    pub fn tls_failure(&self) -> Option<TlsFailure> {
        self.tls.as_ref()?.failure().cloned()
    }

    /// The ALPN protocol the TLS handshake agreed on.
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.tls.as_ref()?.alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The TLS version the handshake agreed on, once it is done.
    pub fn tls_version(&self) -> Option<TlsVersion> {
        self.tls.as_ref()?.version()
    }

    /// The certificate the peer presented, once the handshake is done.
    pub fn peer_certificate(&self) -> Option<PeerCertificate> {
        self.tls.as_ref()?.peer_certificate()
    }

    /// The server name a TLS client asked for (SNI), once read.
    pub fn tls_servername(&self) -> Option<String> {
        self.tls.as_ref()?.servername().map(str::to_owned)
    }

    /// See [`Engine::answer_servername`](crate::Engine::answer_servername).
    pub fn answer_servername(&mut self, reactor: &mut Reactor, answer: Result<Option<&TlsConfig>, ()>) {
        let config = match answer {
            Ok(Some(TlsConfig::Server(server))) => Ok(Some(server.config.clone())),
            Ok(Some(TlsConfig::Client(_))) | Err(()) => Err(()),
            Ok(None) => Ok(None),
        };
        let Some(session) = self.tls.as_mut() else { return };
        let before = self.incoming.len();
        let progress = session.answer_servername(config, &mut self.incoming, &mut self.outgoing);
        if progress.handshake_done {
            reactor.report(EventKind::SslHandshake, self.token);
        }
        if progress.failed {
            reactor.report(EventKind::SslHandshakeError, self.token);
        }
        // Records that came with the ClientHello are application data now.
        if self.incoming.len() > before && !self.read_queued {
            self.read_queued = true;
            reactor.report(EventKind::Read, self.token);
        }
        self.mark_dirty(reactor);
    }
}
