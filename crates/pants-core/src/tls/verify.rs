//! Certificate verification as node:tls does it: webpki's path building,
//! plus two things OpenSSL does and webpki does not. A certificate listed
//! in `ca` is trusted as it is, even when it is self-signed and marked as
//! a CA (webpki refuses a CA certificate as an end entity). And failures
//! carry OpenSSL's codes (`DEPTH_ZERO_SELF_SIGNED_CERT`, ...) and Node's
//! host name messages.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::certificate::{alt_names, ip_text};
use super::failure::verify_failure;

/// The certificates of `ca`, each trusted as it is.
#[derive(Debug, Default)]
pub(crate) struct TrustedAsIs(pub Vec<CertificateDer<'static>>);

impl TrustedAsIs {
    fn contains(&self, certificate: &CertificateDer<'_>) -> bool {
        self.0.iter().any(|trusted| trusted.as_ref() == certificate.as_ref())
    }
}

fn parse<'a>(certificate: &'a CertificateDer<'_>) -> Result<X509Certificate<'a>, Error> {
    X509Certificate::from_der(certificate.as_ref()).map(|(_, parsed)| parsed).map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))
}

/// A certificate trusted as it is must still be within its validity period.
fn check_dates(certificate: &CertificateDer<'_>, now: UnixTime) -> Result<(), Error> {
    let parsed = parse(certificate)?;
    let now = now.as_secs() as i64;
    if now < parsed.validity().not_before.timestamp() {
        return Err(verify_failure(Error::InvalidCertificate(CertificateError::NotValidYet), "CERT_NOT_YET_VALID", "certificate is not yet valid"));
    }
    if now > parsed.validity().not_after.timestamp() {
        return Err(verify_failure(Error::InvalidCertificate(CertificateError::Expired), "CERT_HAS_EXPIRED", "certificate has expired"));
    }
    Ok(())
}

fn self_issued(certificate: &CertificateDer<'_>) -> bool {
    parse(certificate).is_ok_and(|parsed| parsed.subject().as_raw() == parsed.issuer().as_raw())
}

/// The chain did not lead to a trusted certificate: OpenSSL's verdict.
fn chain_failure(error: Error, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> Error {
    let (code, message) = match intermediates.last() {
        None if self_issued(end_entity) => ("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"),
        None => ("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"),
        Some(last) if self_issued(last) => ("SELF_SIGNED_CERT_IN_CHAIN", "self-signed certificate in certificate chain"),
        Some(_) => ("UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "unable to get local issuer certificate"),
    };
    verify_failure(error, code, message)
}

/// The name does not match: Node's `checkServerIdentity` message.
fn name_failure(end_entity: &CertificateDer<'_>, server_name: &ServerName<'_>) -> Error {
    let parsed = parse(end_entity).ok();
    let alt_names = parsed.as_ref().and_then(alt_names).unwrap_or_default();
    let reason = match server_name {
        ServerName::IpAddress(address) => {
            let ips: Vec<String> = alt_names.split(", ").filter_map(|name| name.strip_prefix("IP Address:")).map(str::to_owned).collect();
            let address = std::net::IpAddr::from(*address);
            let shown = match address {
                std::net::IpAddr::V4(v4) => v4.to_string(),
                std::net::IpAddr::V6(v6) => ip_text(&v6.octets()).unwrap_or_default(),
            };
            format!("IP: {shown} is not in the cert's list: {}", ips.join(", "))
        }
        _ => {
            let host = server_name.to_str();
            let has_dns = alt_names.split(", ").any(|name| name.starts_with("DNS:"));
            let common_name = parsed.as_ref().and_then(|parsed| parsed.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned));
            match common_name {
                _ if has_dns => format!("Host: {host}. is not in the cert's altnames: {alt_names}"),
                Some(common_name) => format!("Host: {host}. is not cert's CN: {common_name}"),
                None => "Cert does not contain a DNS name".to_owned(),
            }
        }
    };
    verify_failure(
        Error::InvalidCertificate(CertificateError::NotValidForName),
        "ERR_TLS_CERT_ALTNAME_INVALID",
        format!("Hostname/IP does not match certificate's altnames: {reason}"),
    )
}

fn translate(error: Error, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], server_name: Option<&ServerName<'_>>) -> Error {
    match error {
        Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::Other(_)) => chain_failure(error, end_entity, intermediates),
        Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }) => match server_name {
            Some(server_name) => name_failure(end_entity, server_name),
            None => error,
        },
        other => other,
    }
}

/// Clients: webpki against `ca` (or the default roots), with the
/// certificates of `ca` trusted as they are.
#[derive(Debug)]
pub(crate) struct NodeServerVerifier {
    pub inner: Arc<WebPkiServerVerifier>,
    pub trusted: TrustedAsIs,
}

/// The handshake signature checks, which both Node verifiers leave to the
/// webpki verifier they wrap (`self.inner`): only the certificate checks differ.
macro_rules! signatures_checked_by_inner {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            signature: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.inner.verify_tls12_signature(message, cert, signature)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            signature: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            self.inner.verify_tls13_signature(message, cert, signature)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.inner.supported_verify_schemes()
        }
    };
}

impl ServerCertVerifier for NodeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.trusted.contains(end_entity) {
            check_dates(end_entity, now)?;
            let certificate = webpki::EndEntityCert::try_from(end_entity).map_err(|_| Error::InvalidCertificate(CertificateError::BadEncoding))?;
            certificate.verify_is_valid_for_subject_name(server_name).map_err(|_| name_failure(end_entity, server_name))?;
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|error| translate(error, end_entity, intermediates, Some(server_name)))
    }

    signatures_checked_by_inner!();
}

/// Servers with `requestCert`: webpki's client verifier, with the
/// certificates of `ca` trusted as they are.
#[derive(Debug)]
pub(crate) struct NodeClientVerifier {
    pub inner: Arc<dyn ClientCertVerifier>,
    pub trusted: TrustedAsIs,
}

impl ClientCertVerifier for NodeClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, Error> {
        if self.trusted.contains(end_entity) {
            check_dates(end_entity, now)?;
            return Ok(ClientCertVerified::assertion());
        }
        self.inner.verify_client_cert(end_entity, intermediates, now).map_err(|error| translate(error, end_entity, intermediates, None))
    }

    signatures_checked_by_inner!();
}

/// `rejectUnauthorized: false`: any server certificate is accepted (the
/// handshake signatures are still checked).
#[derive(Debug)]
pub(crate) struct AcceptAnyServer {
    pub provider: Arc<CryptoProvider>,
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
