//! Engine operations on a stream's TLS session: what node:tls lets users
//! read of it, and the answer to a servername callback.

use crate::channel::Channel;
use crate::engine::Engine;
use crate::event::{Event, EventKind};

use super::certificate::PeerCertificate;
use super::config::{TlsConfig, TlsVersion};
use super::session::TlsSession;

impl Engine {
    fn tls_session(&self, token: usize) -> Option<&TlsSession> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => stream.tls.as_deref(),
            _ => None,
        }
    }

    /// The TLS version a stream's handshake agreed on, once it is done.
    pub fn tls_version(&self, token: usize) -> Option<TlsVersion> {
        self.tls_session(token)?.version()
    }

    /// The certificate the peer of a stream presented, once the handshake is done.
    pub fn peer_certificate(&self, token: usize) -> Option<PeerCertificate> {
        self.tls_session(token)?.peer_certificate()
    }

    /// The server name a TLS client asked a stream for (SNI), once read.
    pub fn tls_servername(&self, token: usize) -> Option<String> {
        self.tls_session(token)?.servername().map(str::to_owned)
    }

    /// Answers [`EventKind::SslServername`]: the handshake goes on with
    /// `Ok(Some(config))` (a server configuration), or with the stream's
    /// default with `Ok(None)`; `Err(())` fails it (`SslHandshakeError`).
    /// Does nothing when the stream no longer waits for an answer.
    pub fn answer_servername(&mut self, token: usize, answer: Result<Option<&TlsConfig>, ()>) {
        let config = match answer {
            Ok(Some(TlsConfig::Server(server))) => Ok(Some(server.config.clone())),
            Ok(Some(TlsConfig::Client(_))) | Err(()) => Err(()),
            Ok(None) => Ok(None),
        };
        let Some(Channel::Stream(stream)) = self.channels.get_mut(token) else { return };
        let Some(session) = stream.tls.as_mut() else { return };
        let before = stream.incoming.len();
        let progress = session.answer_servername(config, &mut stream.incoming, &mut stream.outgoing);
        if progress.handshake_done {
            self.queue.push_back(Event::new(EventKind::SslHandshake, token));
        }
        if progress.failed {
            self.queue.push_back(Event::new(EventKind::SslHandshakeError, token));
        }
        let Some(Channel::Stream(stream)) = self.channels.get_mut(token) else { return };
        if stream.incoming.len() > before && !stream.read_queued {
            stream.read_queued = true;
            self.queue.push_back(Event::new(EventKind::Read, token));
        }
        self.mark_dirty(token);
    }
}
