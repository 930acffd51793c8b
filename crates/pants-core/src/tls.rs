//! TLS on streams, with rustls inside the engine: configurations built from
//! PEM options, and the per-stream session between the socket and the
//! stream's buffers (ciphertext on the socket side, plaintext on ours).

use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, Error, InvalidMessage, RootCertStore, ServerConfig, ServerConnection,
    SignatureScheme,
};

use crate::byte_queue::ByteQueue;
use crate::outgoing::Outgoing;

/// TLS options, Node's names: PEM `cert`, `key` and `ca` (certificates
/// concatenated), `rejectUnauthorized`, `requestCert`, `ALPNProtocols`.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// The certificate chain (PEM); required for servers.
    pub cert: Vec<u8>,
    /// The private key (PEM); required for servers.
    pub key: Vec<u8>,
    /// Certificates to trust (PEM); empty: the webpki roots (clients).
    pub ca: Vec<u8>,
    /// Verify the peer (clients: the server always; servers: client certificates when requested).
    pub reject_unauthorized: bool,
    /// Servers: ask clients for a certificate.
    pub request_cert: bool,
    /// ALPN protocols, most preferred first.
    pub alpn: Vec<Vec<u8>>,
}

/// An option that cannot be used, with the option's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptionError {
    /// The option at fault (`"cert"`, `"key"`, `"ca"`, `"servername"`, ...).
    pub option: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for TlsOptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sslOptions.{}: {}", self.option, self.message)
    }
}

fn option_error(option: &'static str, message: impl ToString) -> TlsOptionError {
    TlsOptionError { option, message: message.to_string() }
}

/// A ready configuration, shared by every stream that uses it.
#[derive(Clone, Debug)]
pub enum TlsConfig {
    /// Connecting side.
    Client(Arc<ClientConfig>),
    /// Accepting side.
    Server(Arc<ServerConfig>),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(pem: &[u8], option: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsOptionError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| option_error(option, format!("not valid PEM certificates ({error})")))?;
    if certificates.is_empty() {
        return Err(option_error(option, "no PEM certificate found"));
    }
    Ok(certificates)
}

fn private_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsOptionError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| option_error("key", format!("not a valid PEM private key ({error})")))
}

fn roots(ca: &[u8]) -> Result<RootCertStore, TlsOptionError> {
    let mut roots = RootCertStore::empty();
    if ca.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        for certificate in certificates(ca, "ca")? {
            roots.add(certificate).map_err(|error| option_error("ca", error))?;
        }
    }
    Ok(roots)
}

impl TlsConfig {
    /// A client configuration: the server is verified against `ca` (or
    /// the webpki roots) unless `reject_unauthorized` is false; `cert` and
    /// `key`, when given, answer a server's certificate request.
    pub fn client(options: &TlsOptions) -> Result<Self, TlsOptionError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| option_error("ALPNProtocols", error))?;
        let builder = if options.reject_unauthorized {
            builder.with_root_certificates(roots(&options.ca)?)
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyServer { provider }))
        };
        let mut config = match (options.cert.is_empty(), options.key.is_empty()) {
            (true, true) => builder.with_no_client_auth(),
            (false, false) => builder
                .with_client_auth_cert(certificates(&options.cert, "cert")?, private_key(&options.key)?)
                .map_err(|error| option_error("key", format!("does not match the certificate ({error})")))?,
            (true, false) => return Err(option_error("cert", "a key was given without a certificate")),
            (false, true) => return Err(option_error("key", "a certificate was given without its key")),
        };
        config.alpn_protocols = options.alpn.clone();
        Ok(Self::Client(Arc::new(config)))
    }

    /// A server configuration: `cert` and `key` are required; with
    /// `request_cert`, clients are asked for certificates, verified against
    /// `ca` (required then) unless `reject_unauthorized` is false.
    pub fn server(options: &TlsOptions) -> Result<Self, TlsOptionError> {
        if options.cert.is_empty() {
            return Err(option_error("cert", "a server needs a certificate"));
        }
        if options.key.is_empty() {
            return Err(option_error("key", "a server needs a private key"));
        }
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| option_error("ALPNProtocols", error))?;
        let builder = if options.request_cert {
            if options.ca.is_empty() {
                return Err(option_error("ca", "requestCert needs the certificates to verify clients against"));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&options.ca)?), provider);
            let verifier = if options.reject_unauthorized { verifier } else { verifier.allow_unauthenticated() };
            builder.with_client_cert_verifier(verifier.build().map_err(|error| option_error("ca", error))?)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(certificates(&options.cert, "cert")?, private_key(&options.key)?)
            .map_err(|error| option_error("key", format!("does not match the certificate ({error})")))?;
        config.alpn_protocols = options.alpn.clone();
        Ok(Self::Server(Arc::new(config)))
    }
}

/// `rejectUnauthorized: false`: any server certificate is accepted (the
/// handshake signatures are still checked).
#[derive(Debug)]
struct AcceptAnyServer {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, signature: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, signature, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, signature: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, signature, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Why a TLS session failed, with a Node-style `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFailure {
    /// Node's code for it, such as `'CERT_HAS_EXPIRED'`.
    pub code: &'static str,
    /// rustls' description.
    pub message: String,
    /// It happened during the handshake.
    pub during_handshake: bool,
}

fn code_of(error: &Error) -> &'static str {
    match error {
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => "CERT_HAS_EXPIRED",
        Error::InvalidCertificate(CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }) => "CERT_NOT_YET_VALID",
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
        Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => "ERR_TLS_CERT_ALTNAME_INVALID",
        Error::InvalidCertificate(CertificateError::Revoked) => "CERT_REVOKED",
        Error::InvalidCertificate(_) => "ERR_SSL_BAD_CERTIFICATE",
        Error::NoCertificatesPresented => "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
        Error::AlertReceived(_) => "ERR_SSL_ALERT_RECEIVED",
        Error::NoApplicationProtocol => "ERR_SSL_NO_APPLICATION_PROTOCOL",
        // Not TLS at all (plaintext, another protocol).
        Error::InvalidMessage(InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion) => "ERR_SSL_WRONG_VERSION_NUMBER",
        Error::InvalidMessage(InvalidMessage::MessageTooLarge) => "ERR_SSL_PACKET_LENGTH_TOO_LONG",
        Error::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge | InvalidMessage::CertificatePayloadTooLarge) => "ERR_SSL_EXCESSIVE_MESSAGE_SIZE",
        Error::InvalidMessage(_) => "ERR_SSL_DECODE_ERROR",
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => "ERR_SSL_UNEXPECTED_MESSAGE",
        Error::PeerIncompatible(_) => "ERR_SSL_UNSUPPORTED_PROTOCOL",
        _ => "ERR_SSL_HANDSHAKE_FAILURE",
    }
}

/// What feeding received bytes to a session brought.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TlsProgress {
    /// The handshake has just completed.
    pub handshake_done: bool,
    /// The peer sent close_notify (or the connection ended).
    pub closed: bool,
    /// The session failed; see [`TlsSession::failure`].
    pub failed: bool,
}

/// Ciphertext a session keeps ready in the stream's send queue while
/// plaintext waits behind it (see [`TlsSession::pump`]).
const PUMP_TARGET: usize = 256 * 1024;

/// Plaintext encrypted at a time by [`TlsSession::pump`].
const PUMP_CHUNK: usize = 64 * 1024;

/// One stream's TLS session.
///
/// Plaintext written while the handshake runs, a file, and whatever is
/// written behind a file wait in `backlog`, unencrypted: they are encrypted
/// a chunk at a time as the socket drains, so memory stays bounded and
/// the stream's unsent bytes are counted whatever the session's state.
pub(crate) struct TlsSession {
    connection: rustls::Connection,
    handshaking: bool,
    failure: Option<TlsFailure>,
    backlog: Outgoing,
    /// Some bytes came from the peer.
    heard_from_peer: bool,
    /// close_notify goes out once the backlog is encrypted.
    close_requested: bool,
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
        Ok(Self::new(connection.into()))
    }

    /// A server session.
    pub fn server(config: Arc<ServerConfig>) -> Self {
        let mut connection = ServerConnection::new(config).expect("a server session from a valid configuration");
        connection.set_buffer_limit(None);
        Self::new(connection.into())
    }

    fn new(connection: rustls::Connection) -> Self {
        Self { connection, handshaking: true, failure: None, backlog: Outgoing::default(), heard_from_peer: false, close_requested: false }
    }

    /// Why the session failed, once it has.
    pub fn failure(&self) -> Option<&TlsFailure> {
        self.failure.as_ref()
    }

    /// The protocol ALPN agreed on.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.connection.alpn_protocol()
    }

    /// Decrypts received bytes into `plaintext`; records the session
    /// produces (handshake messages, alerts) go to `outgoing`.
    pub fn receive(&mut self, mut ciphertext: &[u8], plaintext: &mut ByteQueue, outgoing: &mut Outgoing) -> TlsProgress {
        let mut progress = TlsProgress::default();
        self.heard_from_peer |= !ciphertext.is_empty();
        let mut buffer = [0u8; 16 * 1024];
        // rustls takes records only while its plaintext buffer has room:
        // alternate feeding records and draining plaintext until all is fed.
        while self.failure.is_none() && !progress.closed {
            if !ciphertext.is_empty() && self.connection.read_tls(&mut ciphertext).is_err() {
                break;
            }
            if let Err(error) = self.connection.process_new_packets() {
                self.failure = Some(TlsFailure { code: code_of(&error), message: error.to_string(), during_handshake: self.handshaking });
                progress.failed = true;
                break;
            }
            if self.handshaking && !self.connection.is_handshaking() {
                self.handshaking = false;
                progress.handshake_done = true;
            }
            loop {
                match self.connection.reader().read(&mut buffer) {
                    Ok(0) => {
                        progress.closed = true;
                        break;
                    }
                    Ok(count) => plaintext.extend(&buffer[..count]),
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
        let silent_probe = matches!(self.connection, rustls::Connection::Server(_)) && !self.heard_from_peer;
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
        } else {
            let _ = self.connection.writer().write_all(bytes);
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
        while !self.backlog.is_empty() && outgoing.len() < PUMP_TARGET {
            let writer = &mut self.connection;
            self.backlog.take_front(PUMP_CHUNK, scratch, |plaintext| {
                let _ = writer.writer().write_all(plaintext);
            })?;
            self.take_output(outgoing);
        }
        if self.backlog.is_empty() && std::mem::take(&mut self.close_requested) {
            self.connection.send_close_notify();
            self.take_output(outgoing);
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
        let mut records = Vec::new();
        while self.connection.wants_write() {
            if self.connection.write_tls(&mut records).is_err() {
                break;
            }
        }
        if !records.is_empty() {
            outgoing.push_bytes(&records);
        }
    }
}
