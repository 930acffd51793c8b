//! One stream's TLS session, between the socket (ciphertext) and the
//! stream's buffers (plaintext).

use std::io::{self, BufRead, Write};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::server::{Accepted, AcceptedAlert, Acceptor};
use rustls::{ClientConfig, ClientConnection, ProtocolVersion, ServerConfig, ServerConnection};

use super::certificate::PeerCertificate;
use super::config::{ServerTls, TlsVersion};
use super::failure::TlsFailure;
use super::{option_error, TlsOptionError};
use crate::byte_queue::ByteQueue;
use crate::outgoing::Outgoing;

/// What feeding received bytes to a session brought.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsProgress {
    /// The handshake has just completed.
    pub handshake_done: bool,
    /// The peer sent close_notify (or the connection ended).
    pub closed: bool,
    /// The session failed; see [`TlsSession::failure`].
    pub failed: bool,
    /// Servers with a servername callback: the ClientHello named a server;
    /// the handshake waits for [`TlsSession::answer_servername`].
    pub servername: bool,
}

/// Ciphertext a session keeps ready in the stream's send queue while
/// plaintext waits behind it (see [`TlsSession::pump`]).
const PUMP_TARGET: usize = 256 * 1024;

/// Plaintext encrypted at a time by [`TlsSession::pump`].
const PUMP_CHUNK: usize = 64 * 1024;

/// Where a session stands. `Connected` is the large and common stage (the
/// session itself is boxed per stream).
#[allow(clippy::large_enum_variant)]
enum Stage {
    /// rustls' connection: a client, or a server past the ClientHello.
    Connected(rustls::Connection),
    /// A server with a servername callback, reading the ClientHello.
    Hello { acceptor: Box<Acceptor>, default: Arc<ServerConfig> },
    /// The ClientHello named a server: waiting for the user's choice of
    /// configuration; records received meanwhile wait in `held`.
    Choosing { accepted: Box<Accepted>, default: Arc<ServerConfig>, held: Vec<u8> },
    /// Failed before a connection existed.
    Broken,
}

/// One stream's TLS session.
///
/// Plaintext written while the handshake runs, a file, and whatever is
/// written behind a file wait in `backlog`, unencrypted: they are encrypted
/// a chunk at a time as the socket drains, so memory stays bounded and
/// the stream's unsent bytes are counted whatever the session's state.
pub(crate) struct TlsSession {
    stage: Stage,
    server: bool,
    handshaking: bool,
    failure: Option<TlsFailure>,
    backlog: Outgoing,
    /// Some bytes came from the peer.
    heard_from_peer: bool,
    /// close_notify goes out once the backlog is encrypted.
    close_requested: bool,
    /// Servers: the name the client asked for (SNI).
    servername: Option<String>,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession").field("handshaking", &self.handshaking).field("failure", &self.failure).field("backlog", &self.backlog.len()).finish()
    }
}

impl TlsSession {
    /// A client session for `server_name` (a DNS name or an IP address).
    pub fn client(config: Arc<ClientConfig>, server_name: &str) -> Result<Self, TlsOptionError> {
        let name = ServerName::try_from(server_name.to_owned()).map_err(|error| option_error("servername", error))?;
        let mut connection = ClientConnection::new(config, name).map_err(|error| option_error("servername", error))?;
        connection.set_buffer_limit(None);
        Ok(Self::new(Stage::Connected(connection.into()), false))
    }

    /// A server session; with a servername callback, it first reads the
    /// ClientHello (see [`TlsProgress::servername`]).
    pub fn server(tls: &ServerTls) -> Self {
        if tls.servername_callback {
            return Self::new(Stage::Hello { acceptor: Box::default(), default: tls.config.clone() }, true);
        }
        Self::new(Stage::Connected(Self::server_connection(tls.config.clone())), true)
    }

    fn server_connection(config: Arc<ServerConfig>) -> rustls::Connection {
        let mut connection = ServerConnection::new(config).expect("a server session from a valid configuration");
        connection.set_buffer_limit(None);
        connection.into()
    }

    fn new(stage: Stage, server: bool) -> Self {
        Self { stage, server, handshaking: true, failure: None, backlog: Outgoing::default(), heard_from_peer: false, close_requested: false, servername: None }
    }

    fn connection(&mut self) -> Option<&mut rustls::Connection> {
        match &mut self.stage {
            Stage::Connected(connection) => Some(connection),
            _ => None,
        }
    }

    /// Servers: the server name the client asked for, once its hello is read.
    pub fn servername(&self) -> Option<&str> {
        self.servername.as_deref()
    }

    /// The protocol version, once the handshake is done.
    pub fn version(&self) -> Option<TlsVersion> {
        match &self.stage {
            Stage::Connected(connection) if !self.handshaking => match connection.protocol_version()? {
                ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
                ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
                _ => None,
            },
            _ => None,
        }
    }

    /// The peer's certificate, once the handshake is done and if it sent one.
    pub fn peer_certificate(&self) -> Option<PeerCertificate> {
        match &self.stage {
            Stage::Connected(connection) if !self.handshaking => PeerCertificate::from_der(connection.peer_certificates()?.first()?.as_ref()),
            _ => None,
        }
    }

    fn fail(&mut self, failure: TlsFailure) {
        self.failure = Some(failure);
    }

    /// Reads the ClientHello (servers with a servername callback). True
    /// when the session goes on with a connection (no server name was
    /// asked for); false when it waits for more bytes, for the user's
    /// choice, or failed.
    fn read_hello(&mut self, ciphertext: &mut &[u8], outgoing: &mut Outgoing, progress: &mut TlsProgress) -> bool {
        let Stage::Hello { acceptor, .. } = &mut self.stage else { return true };
        while !ciphertext.is_empty() {
            if acceptor.read_tls(ciphertext).is_err() {
                self.fail(TlsFailure::from_error(&rustls::Error::InvalidMessage(rustls::InvalidMessage::HandshakePayloadTooLarge), true));
                progress.failed = true;
                self.stage = Stage::Broken;
                return false;
            }
            match acceptor.accept() {
                Ok(None) => {}
                Ok(Some(accepted)) => {
                    let Stage::Hello { default, .. } = std::mem::replace(&mut self.stage, Stage::Broken) else { unreachable!() };
                    self.servername = accepted.client_hello().server_name().map(str::to_owned);
                    if self.servername.is_some() {
                        self.stage = Stage::Choosing { accepted: Box::new(accepted), default, held: ciphertext.to_vec() };
                        *ciphertext = &[];
                        progress.servername = true;
                        return false;
                    }
                    return self.connect_with(accepted, default, outgoing, progress);
                }
                Err((error, alert)) => {
                    self.fail_before_connection(&error, alert, outgoing, progress);
                    return false;
                }
            }
        }
        false
    }

    fn connect_with(&mut self, accepted: Accepted, config: Arc<ServerConfig>, outgoing: &mut Outgoing, progress: &mut TlsProgress) -> bool {
        match accepted.into_connection(config) {
            Ok(mut connection) => {
                connection.set_buffer_limit(None);
                self.stage = Stage::Connected(connection.into());
                true
            }
            Err((error, alert)) => {
                self.fail_before_connection(&error, alert, outgoing, progress);
                false
            }
        }
    }

    /// The ClientHello could not be taken: the handshake fails, with the alert rustls has for it.
    fn fail_before_connection(&mut self, error: &rustls::Error, mut alert: AcceptedAlert, outgoing: &mut Outgoing, progress: &mut TlsProgress) {
        self.fail(TlsFailure::from_error(error, true));
        let mut records = Vec::new();
        let _ = alert.write_all(&mut records);
        outgoing.push_bytes(&records);
        progress.failed = true;
        self.stage = Stage::Broken;
    }

    /// The user chose the configuration for the server name asked for:
    /// `Ok(None)` the default one, `Err` fails the handshake (OpenSSL's
    /// "callback failed"). Goes on with the records held meanwhile.
    pub fn answer_servername(&mut self, answer: Result<Option<Arc<ServerConfig>>, ()>, plaintext: &mut ByteQueue, outgoing: &mut Outgoing) -> TlsProgress {
        let mut progress = TlsProgress::default();
        if !matches!(self.stage, Stage::Choosing { .. }) || self.failure.is_some() {
            return progress;
        }
        let Stage::Choosing { accepted, default, held } = std::mem::replace(&mut self.stage, Stage::Broken) else { unreachable!() };
        let config = match answer {
            Ok(chosen) => chosen.unwrap_or(default),
            Err(()) => {
                self.fail(TlsFailure {
                    code: "ERR_SSL_CALLBACK_FAILED",
                    message: "SSL routines:tls_early_post_process_client_hello:callback failed".to_owned(),
                    during_handshake: true,
                });
                progress.failed = true;
                return progress;
            }
        };
        if !self.connect_with(*accepted, config, outgoing, &mut progress) {
            return progress;
        }
        let step = self.receive(&held, plaintext, outgoing);
        progress.handshake_done = step.handshake_done;
        progress.closed = step.closed;
        progress.failed = step.failed;
        progress
    }

    /// Why the session failed, once it has.
    pub fn failure(&self) -> Option<&TlsFailure> {
        self.failure.as_ref()
    }

    /// The protocol ALPN agreed on.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match &self.stage {
            Stage::Connected(connection) => connection.alpn_protocol(),
            _ => None,
        }
    }

    /// Decrypts received bytes into `plaintext`; records the session
    /// produces (handshake messages, alerts) go to `outgoing`.
    pub fn receive(&mut self, mut ciphertext: &[u8], plaintext: &mut ByteQueue, outgoing: &mut Outgoing) -> TlsProgress {
        let mut progress = TlsProgress::default();
        self.heard_from_peer |= !ciphertext.is_empty();
        if matches!(self.stage, Stage::Hello { .. }) && !self.read_hello(&mut ciphertext, outgoing, &mut progress) {
            return progress;
        }
        match self.stage {
            Stage::Choosing { ref mut held, .. } => {
                held.extend_from_slice(ciphertext);
                return progress;
            }
            Stage::Broken => return progress,
            _ => {}
        }
        let Stage::Connected(connection) = &mut self.stage else { return progress };
        // rustls takes records only while its plaintext buffer has room:
        // alternate feeding records and draining plaintext until all is fed.
        while self.failure.is_none() && !progress.closed {
            if !ciphertext.is_empty() && connection.read_tls(&mut ciphertext).is_err() {
                break;
            }
            if let Err(error) = connection.process_new_packets() {
                self.failure = Some(TlsFailure::from_error(&error, self.handshaking));
                progress.failed = true;
                break;
            }
            if self.handshaking && !connection.is_handshaking() {
                self.handshaking = false;
                progress.handshake_done = true;
            }
            // Plaintext straight from the session's buffer (no copy through ours).
            let mut reader = connection.reader();
            loop {
                match reader.fill_buf() {
                    Ok([]) => {
                        progress.closed = true;
                        break;
                    }
                    Ok(chunk) => {
                        let count = chunk.len();
                        plaintext.extend(chunk);
                        reader.consume(count);
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        progress.closed = true; // the connection ended without close_notify
                        break;
                    }
                }
            }
            if ciphertext.is_empty() {
                break;
            }
        }
        self.take_output(outgoing);
        progress
    }

    /// The peer closed the connection: while the handshake runs, that fails
    /// it with `ECONNRESET`, as in node:tls (returns true then). A server
    /// whose peer sent nothing (a port probe) closes without a failure.
    pub fn peer_left_handshake(&mut self) -> bool {
        let silent_probe = self.server && !self.heard_from_peer;
        if !self.handshaking || self.failure.is_some() || silent_probe {
            return false;
        }
        self.failure = Some(TlsFailure {
            code: "ECONNRESET",
            message: "Client network socket disconnected before secure TLS connection was established".to_owned(),
            during_handshake: true,
        });
        true
    }

    /// True until the handshake completes.
    pub fn handshaking(&self) -> bool {
        self.handshaking
    }

    /// Encrypts `bytes` into `outgoing`, or keeps them in the backlog while
    /// the handshake runs or something waits there already.
    pub fn send(&mut self, bytes: &[u8], outgoing: &mut Outgoing) {
        if self.handshaking || !self.backlog.is_empty() {
            self.backlog.push_bytes(bytes);
        } else if let Some(connection) = self.connection() {
            let _ = connection.writer().write_all(bytes);
            self.take_output(outgoing);
        }
    }

    /// Queues `length` bytes of `file` from `offset`, encrypted as the socket drains.
    pub fn send_file(&mut self, file: std::fs::File, offset: u64, length: u64) {
        self.backlog.push_file(file, offset, length);
    }

    /// Plaintext (files included) waiting to be encrypted.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// True while plaintext or a requested close_notify waits for
    /// [`TlsSession::pump`]; never once the session has failed.
    pub fn has_backlog(&self) -> bool {
        self.failure.is_none() && (!self.backlog.is_empty() || self.close_requested)
    }

    /// Once the handshake is done, encrypts the backlog into `outgoing`
    /// until that holds [`PUMP_TARGET`] bytes, reading files through
    /// `scratch`; then, once the backlog is empty, close_notify if asked for.
    pub fn pump(&mut self, outgoing: &mut Outgoing, scratch: &mut [u8]) -> io::Result<()> {
        if self.handshaking || self.failure.is_some() {
            return Ok(());
        }
        let Stage::Connected(writer) = &mut self.stage else { return Ok(()) };
        while !self.backlog.is_empty() && outgoing.len() < PUMP_TARGET {
            self.backlog.take_front(PUMP_CHUNK, scratch, |plaintext| {
                let _ = writer.writer().write_all(plaintext);
            })?;
            Self::output_of(writer, outgoing);
        }
        if self.backlog.is_empty() && std::mem::take(&mut self.close_requested) {
            writer.send_close_notify();
            Self::output_of(writer, outgoing);
        }
        Ok(())
    }

    /// Queues close_notify after everything written (sent by [`TlsSession::pump`]).
    pub fn close(&mut self) {
        self.close_requested = true;
    }

    /// Drops what waits to be encrypted (the stream closed without flushing).
    pub fn discard_backlog(&mut self) {
        self.backlog.clear();
        self.close_requested = false;
    }

    /// Starts the handshake's first flight (a client's hello).
    pub fn start(&mut self, outgoing: &mut Outgoing) {
        self.take_output(outgoing);
    }

    fn take_output(&mut self, outgoing: &mut Outgoing) {
        if let Stage::Connected(connection) = &mut self.stage {
            Self::output_of(connection, outgoing);
        }
    }

    /// Moves the records rustls has ready into `outgoing`, with no buffer between.
    fn output_of(connection: &mut rustls::Connection, outgoing: &mut Outgoing) {
        let mut queue = outgoing.writer();
        while connection.wants_write() {
            if connection.write_tls(&mut queue).is_err() {
                break;
            }
        }
    }
}
