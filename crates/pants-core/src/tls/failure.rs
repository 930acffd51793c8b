//! Why a TLS session failed, in node:tls' words: the `code`s and messages
//! Node (OpenSSL) gives for the same situation.

use std::cell::RefCell;

use rustls::{AlertDescription, CertificateError, Error, InvalidMessage, PeerIncompatible};

/// Why a TLS session failed, with a Node-style `code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFailure {
    /// Node's code for it, such as `'CERT_HAS_EXPIRED'`.
    pub code: &'static str,
    /// Node's message for it, such as `'certificate has expired'`.
    pub message: String,
    /// It happened during the handshake.
    pub during_handshake: bool,
}

thread_local! {
    /// Node's words for the certificate check that just failed on this
    /// thread. Verification runs inside rustls' packet processing, which
    /// returns the failure as a plain rustls error (so that rustls sends
    /// the alert OpenSSL would, `unknown_ca` and the like); the session
    /// takes these words right after (engines are per thread).
    static VERIFY_FAILURE: RefCell<Option<(&'static str, String)>> = const { RefCell::new(None) };
}

/// A certificate check failed: rustls gets `error`, Node's users `code` and `message`.
pub(crate) fn verify_failure(error: Error, code: &'static str, message: impl Into<String>) -> Error {
    let message = message.into();
    VERIFY_FAILURE.with(|slot| *slot.borrow_mut() = Some((code, message)));
    error
}

/// OpenSSL's reason text for an alert the peer sent (`ssl3_read_bytes`),
/// which Node turns into the code `ERR_SSL_<REASON>`.
fn alert_reason(alert: AlertDescription) -> Option<(&'static str, &'static str)> {
    Some(match alert {
        AlertDescription::UnexpectedMessage => ("ERR_SSL_SSLV3_ALERT_UNEXPECTED_MESSAGE", "sslv3 alert unexpected message"),
        AlertDescription::BadRecordMac => ("ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC", "sslv3 alert bad record mac"),
        AlertDescription::RecordOverflow => ("ERR_SSL_TLSV1_ALERT_RECORD_OVERFLOW", "tlsv1 alert record overflow"),
        AlertDescription::HandshakeFailure => ("ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", "sslv3 alert handshake failure"),
        AlertDescription::BadCertificate => ("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "sslv3 alert bad certificate"),
        AlertDescription::UnsupportedCertificate => ("ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE", "sslv3 alert unsupported certificate"),
        AlertDescription::CertificateRevoked => ("ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED", "sslv3 alert certificate revoked"),
        AlertDescription::CertificateExpired => ("ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED", "sslv3 alert certificate expired"),
        AlertDescription::CertificateUnknown => ("ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN", "sslv3 alert certificate unknown"),
        AlertDescription::IllegalParameter => ("ERR_SSL_SSLV3_ALERT_ILLEGAL_PARAMETER", "sslv3 alert illegal parameter"),
        AlertDescription::UnknownCA => ("ERR_SSL_TLSV1_ALERT_UNKNOWN_CA", "tlsv1 alert unknown ca"),
        AlertDescription::AccessDenied => ("ERR_SSL_TLSV1_ALERT_ACCESS_DENIED", "tlsv1 alert access denied"),
        AlertDescription::DecodeError => ("ERR_SSL_TLSV1_ALERT_DECODE_ERROR", "tlsv1 alert decode error"),
        AlertDescription::DecryptError => ("ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR", "tlsv1 alert decrypt error"),
        AlertDescription::ProtocolVersion => ("ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION", "tlsv1 alert protocol version"),
        AlertDescription::InsufficientSecurity => ("ERR_SSL_TLSV1_ALERT_INSUFFICIENT_SECURITY", "tlsv1 alert insufficient security"),
        AlertDescription::InternalError => ("ERR_SSL_TLSV1_ALERT_INTERNAL_ERROR", "tlsv1 alert internal error"),
        AlertDescription::InappropriateFallback => ("ERR_SSL_TLSV1_ALERT_INAPPROPRIATE_FALLBACK", "tlsv1 alert inappropriate fallback"),
        AlertDescription::UserCanceled => ("ERR_SSL_TLSV1_ALERT_USER_CANCELLED", "tlsv1 alert user cancelled"),
        AlertDescription::MissingExtension => ("ERR_SSL_TLSV13_ALERT_MISSING_EXTENSION", "tlsv13 alert missing extension"),
        AlertDescription::UnsupportedExtension => ("ERR_SSL_TLSV1_UNSUPPORTED_EXTENSION", "tlsv1 unsupported extension"),
        AlertDescription::UnrecognisedName => ("ERR_SSL_TLSV1_UNRECOGNIZED_NAME", "tlsv1 unrecognized name"),
        AlertDescription::BadCertificateStatusResponse => ("ERR_SSL_TLSV1_BAD_CERTIFICATE_STATUS_RESPONSE", "tlsv1 bad certificate status response"),
        AlertDescription::UnknownPSKIdentity => ("ERR_SSL_TLSV1_ALERT_UNKNOWN_PSK_IDENTITY", "tlsv1 alert unknown psk identity"),
        AlertDescription::CertificateRequired => ("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "tlsv13 alert certificate required"),
        AlertDescription::NoApplicationProtocol => ("ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL", "tlsv1 alert no application protocol"),
        _ => return None,
    })
}

/// An OpenSSL-style message: `SSL routines:<function>:<reason>`.
fn ssl_routines(function: &str, reason: &str) -> String {
    format!("SSL routines:{function}:{reason}")
}

impl TlsFailure {
    /// Node's code and message for a rustls error.
    pub(crate) fn from_error(error: &Error, during_handshake: bool) -> Self {
        let recorded = VERIFY_FAILURE.with(|slot| slot.borrow_mut().take());
        let (code, message) = match (error, recorded) {
            (Error::InvalidCertificate(_), Some(recorded)) => recorded,
            _ => describe(error),
        };
        Self { code, message, during_handshake }
    }
}

fn describe(error: &Error) -> (&'static str, String) {
    let fixed = |code: &'static str, message: &str| (code, message.to_owned());
    match error {
        Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => fixed("CERT_HAS_EXPIRED", "certificate has expired"),
        Error::InvalidCertificate(CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. }) => {
            fixed("CERT_NOT_YET_VALID", "certificate is not yet valid")
        }
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => fixed("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"),
        Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => {
            fixed("ERR_TLS_CERT_ALTNAME_INVALID", "Hostname/IP does not match certificate's altnames")
        }
        Error::InvalidCertificate(CertificateError::Revoked) => fixed("CERT_REVOKED", "certificate revoked"),
        Error::InvalidCertificate(CertificateError::BadSignature | CertificateError::UnsupportedSignatureAlgorithmContext { .. }) => {
            fixed("CERT_SIGNATURE_FAILURE", "certificate signature failure")
        }
        Error::InvalidCertificate(CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. }) => {
            fixed("INVALID_PURPOSE", "unsupported certificate purpose")
        }
        Error::InvalidCertificate(_) => fixed("ERR_SSL_CERTIFICATE_VERIFY_FAILED", "certificate verify failed"),
        Error::NoCertificatesPresented => {
            ("ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", ssl_routines("tls_process_client_certificate", "peer did not return a certificate"))
        }
        Error::AlertReceived(alert) => match alert_reason(*alert) {
            Some((code, reason)) => (code, format!("{}:SSL alert number {}", ssl_routines("ssl3_read_bytes", reason), u8::from(*alert))),
            None => ("ERR_SSL_ALERT_RECEIVED", format!("{}:SSL alert number {}", ssl_routines("ssl3_read_bytes", "alert received"), u8::from(*alert))),
        },
        Error::NoApplicationProtocol => ("ERR_SSL_NO_APPLICATION_PROTOCOL", ssl_routines("tls_handle_alpn", "no application protocol")),
        // Not TLS at all (plaintext, another protocol).
        Error::InvalidMessage(InvalidMessage::InvalidContentType | InvalidMessage::UnknownProtocolVersion) => {
            ("ERR_SSL_WRONG_VERSION_NUMBER", ssl_routines("ssl3_get_record", "wrong version number"))
        }
        Error::InvalidMessage(InvalidMessage::MessageTooLarge) => ("ERR_SSL_PACKET_LENGTH_TOO_LONG", ssl_routines("ssl3_get_record", "packet length too long")),
        Error::InvalidMessage(InvalidMessage::HandshakePayloadTooLarge | InvalidMessage::CertificatePayloadTooLarge) => {
            ("ERR_SSL_EXCESSIVE_MESSAGE_SIZE", ssl_routines("tls_get_message_header", "excessive message size"))
        }
        Error::InvalidMessage(_) => ("ERR_SSL_DECODE_ERROR", ssl_routines("ssl3_read_bytes", "decode error")),
        Error::InappropriateMessage { .. } | Error::InappropriateHandshakeMessage { .. } => {
            ("ERR_SSL_UNEXPECTED_MESSAGE", ssl_routines("ssl3_read_bytes", "unexpected message"))
        }
        Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon) => {
            ("ERR_SSL_NO_SHARED_CIPHER", ssl_routines("tls_post_process_client_hello", "no shared cipher"))
        }
        Error::PeerIncompatible(
            PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
            | PeerIncompatible::Tls12NotOffered
            | PeerIncompatible::Tls12NotOfferedOrEnabled
            | PeerIncompatible::Tls13RequiredForQuic
            | PeerIncompatible::SupportedVersionsExtensionRequired,
        ) => ("ERR_SSL_UNSUPPORTED_PROTOCOL", ssl_routines("tls_early_post_process_client_hello", "unsupported protocol")),
        Error::PeerIncompatible(_) => ("ERR_SSL_UNSUPPORTED_PROTOCOL", ssl_routines("ssl3_read_bytes", "unsupported protocol")),
        other => ("ERR_SSL_HANDSHAKE_FAILURE", ssl_routines("ssl3_read_bytes", &other.to_string())),
    }
}
