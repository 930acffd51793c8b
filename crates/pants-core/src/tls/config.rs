//! Configurations built from node:tls-style options, shared by every
//! stream that uses them.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

use super::keys::{certificates, pfx_identity, private_key};
use super::verify::{AcceptAnyServer, NodeClientVerifier, NodeServerVerifier, TrustedAsIs};
use super::{option_error, TlsOptionError};

/// A TLS protocol version the engine speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// The version of a Node name (`'TLSv1.2'`, `'TLSv1.3'`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "TLSv1.2" => Some(Self::Tls12),
            "TLSv1.3" => Some(Self::Tls13),
            _ => None,
        }
    }

    /// Node's name for it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        }
    }

    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            Self::Tls12 => &rustls::version::TLS12,
            Self::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// TLS options, Node's names.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// The certificate chain (PEM); servers need it (or `pfx`).
    pub cert: Vec<u8>,
    /// The private key (PEM, maybe encrypted PKCS#8); servers need it (or `pfx`).
    pub key: Vec<u8>,
    /// Opens an encrypted `key` or a `pfx`.
    pub passphrase: Option<String>,
    /// A PKCS#12 archive (DER) holding the certificate chain and key; used instead of `cert` and `key`.
    pub pfx: Vec<u8>,
    /// Certificates to trust (PEM); empty: the webpki roots (clients).
    pub ca: Vec<u8>,
    /// Verify the peer (clients: the server always; servers: client certificates when requested).
    pub reject_unauthorized: bool,
    /// Servers: ask clients for a certificate.
    pub request_cert: bool,
    /// ALPN protocols, most preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// Lowest version to speak (default TLS 1.2).
    pub min_version: Option<TlsVersion>,
    /// Highest version to speak (default TLS 1.3).
    pub max_version: Option<TlsVersion>,
    /// OpenSSL names of the cipher suites to allow, separated by `:`.
    pub ciphers: Option<String>,
    /// Servers: each handshake with SNI waits for the user to pick the
    /// configuration (see `Engine::answer_servername`).
    pub servername_callback: bool,
}

/// A server configuration and how sessions start with it.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub(crate) config: Arc<ServerConfig>,
    /// Handshakes that name a server wait for `Engine::answer_servername`.
    pub(crate) servername_callback: bool,
}

/// A ready configuration, shared by every stream that uses it.
#[derive(Clone, Debug)]
pub enum TlsConfig {
    /// Connecting side.
    Client(Arc<ClientConfig>),
    /// Accepting side.
    Server(ServerTls),
}

/// OpenSSL's name of each suite the engine has.
const SUITES: [(&str, SupportedCipherSuite); 9] = {
    use rustls::crypto::ring::cipher_suite::*;
    [
        ("TLS_AES_256_GCM_SHA384", TLS13_AES_256_GCM_SHA384),
        ("TLS_AES_128_GCM_SHA256", TLS13_AES_128_GCM_SHA256),
        ("TLS_CHACHA20_POLY1305_SHA256", TLS13_CHACHA20_POLY1305_SHA256),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        ("ECDHE-RSA-AES256-GCM-SHA384", TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        ("ECDHE-RSA-AES128-GCM-SHA256", TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        ("ECDHE-RSA-CHACHA20-POLY1305", TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ]
};

/// The OpenSSL names of the cipher suites the engine has.
pub fn cipher_names() -> Vec<&'static str> {
    SUITES.iter().map(|(name, _)| *name).collect()
}

fn is_tls13(suite: &SupportedCipherSuite) -> bool {
    matches!(suite, SupportedCipherSuite::Tls13(_))
}

/// The provider with the suites `ciphers` allows, and the versions to speak.
///
/// As in Node, TLS 1.3 suites (`TLS_...`) and TLS 1.2 suites are chosen
/// apart: a list without TLS 1.3 names keeps every TLS 1.3 suite, and a
/// list without TLS 1.2 names turns TLS 1.2 off.
fn provider_and_versions(options: &TlsOptions) -> Result<(Arc<CryptoProvider>, Vec<&'static SupportedProtocolVersion>), TlsOptionError> {
    let mut provider = rustls::crypto::ring::default_provider();
    let mut min = options.min_version.unwrap_or(TlsVersion::Tls12);
    let max = options.max_version.unwrap_or(TlsVersion::Tls13);
    if min > max {
        return Err(option_error("minVersion", format!("{} is above maxVersion {}", min.name(), max.name())));
    }
    if let Some(ciphers) = &options.ciphers {
        let mut chosen = Vec::new();
        for name in ciphers.split([':', ',', ' ']).filter(|name| !name.is_empty()) {
            let Some((_, suite)) = SUITES.iter().find(|(known, _)| *known == name) else {
                return Err(option_error("ciphers", format!("the engine has no cipher suite named \"{name}\" (it has {})", cipher_names().join(", "))));
            };
            if !chosen.iter().any(|known: &SupportedCipherSuite| known.suite() == suite.suite()) {
                chosen.push(*suite);
            }
        }
        if chosen.is_empty() {
            return Err(option_error("ciphers", "names no cipher suite"));
        }
        if !chosen.iter().any(is_tls13) {
            chosen.extend(SUITES.iter().map(|(_, suite)| *suite).filter(is_tls13));
        }
        if chosen.iter().all(is_tls13) {
            min = min.max(TlsVersion::Tls13);
            if min > max {
                return Err(option_error("ciphers", "names only TLS 1.3 suites, but maxVersion is TLSv1.2"));
            }
        }
        provider.cipher_suites = chosen;
    }
    let versions = [TlsVersion::Tls13, TlsVersion::Tls12].into_iter().filter(|version| (min..=max).contains(version)).map(TlsVersion::rustls).collect();
    Ok((Arc::new(provider), versions))
}

fn roots(ca: &[u8]) -> Result<(RootCertStore, TrustedAsIs), TlsOptionError> {
    let mut roots = RootCertStore::empty();
    let mut trusted = TrustedAsIs::default();
    if ca.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        for certificate in certificates(ca, "ca")? {
            // A certificate webpki cannot take as an anchor is still trusted as it is.
            let _ = roots.add(certificate.clone());
            trusted.0.push(certificate);
        }
    }
    Ok((roots, trusted))
}

/// The certificate chain and key: `pfx`, else `cert` and `key`; `None` when none is given.
fn identity(options: &TlsOptions) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsOptionError> {
    let passphrase = options.passphrase.as_deref();
    if !options.pfx.is_empty() {
        return pfx_identity(&options.pfx, passphrase).map(Some);
    }
    match (options.cert.is_empty(), options.key.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some((certificates(&options.cert, "cert")?, private_key(&options.key, passphrase)?))),
        (true, false) => Err(option_error("cert", "a key was given without a certificate")),
        (false, true) => Err(option_error("key", "a certificate was given without its key")),
    }
}

fn key_mismatch(error: rustls::Error) -> TlsOptionError {
    option_error("key", format!("does not match the certificate ({error})"))
}

impl TlsConfig {
    /// A client configuration: the server is verified against `ca` (or
    /// the webpki roots) unless `reject_unauthorized` is false; `cert` and
    /// `key` (or `pfx`), when given, answer a server's certificate request.
    pub fn client(options: &TlsOptions) -> Result<Self, TlsOptionError> {
        let (provider, versions) = provider_and_versions(options)?;
        let builder =
            ClientConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions).map_err(|error| option_error("ciphers", error))?;
        let builder = if options.reject_unauthorized {
            let (roots, trusted) = roots(&options.ca)?;
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().map_err(|error| option_error("ca", error))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(NodeServerVerifier { inner, trusted }))
        } else {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyServer { provider }))
        };
        let mut config = match identity(options)? {
            None => builder.with_no_client_auth(),
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(key_mismatch)?,
        };
        config.alpn_protocols = options.alpn.clone();
        Ok(Self::Client(Arc::new(config)))
    }

    /// A server configuration: `cert` and `key` (or `pfx`) are required;
    /// with `request_cert`, clients are asked for certificates, verified
    /// against `ca` (required then) unless `reject_unauthorized` is false.
    pub fn server(options: &TlsOptions) -> Result<Self, TlsOptionError> {
        let Some((chain, key)) = identity(options)? else {
            return Err(option_error("cert", "a server needs a certificate and its key (cert and key, or pfx)"));
        };
        let (provider, versions) = provider_and_versions(options)?;
        let builder =
            ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions).map_err(|error| option_error("ciphers", error))?;
        let builder = if options.request_cert {
            if options.ca.is_empty() {
                return Err(option_error("ca", "requestCert needs the certificates to verify clients against"));
            }
            let (roots, trusted) = roots(&options.ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if options.reject_unauthorized { verifier } else { verifier.allow_unauthenticated() };
            let inner = verifier.build().map_err(|error| option_error("ca", error))?;
            builder.with_client_cert_verifier(Arc::new(NodeClientVerifier { inner, trusted }))
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_single_cert(chain, key).map_err(key_mismatch)?;
        config.alpn_protocols = options.alpn.clone();
        Ok(Self::Server(ServerTls { config: Arc::new(config), servername_callback: options.servername_callback }))
    }
}

#[cfg(test)]
mod tests {
    use super::{provider_and_versions, TlsOptions, TlsVersion};

    fn with_ciphers(ciphers: &str) -> TlsOptions {
        TlsOptions { ciphers: Some(ciphers.to_owned()), ..TlsOptions::default() }
    }

    fn names(options: &TlsOptions) -> Vec<String> {
        let (provider, _) = provider_and_versions(options).expect("valid options");
        provider.cipher_suites.iter().map(|suite| format!("{:?}", suite.suite())).collect()
    }

    #[test]
    fn a_cipher_name_the_engine_lacks_is_named() {
        let error = provider_and_versions(&with_ciphers("TLS_AES_128_GCM_SHA256:RC4-MD5")).unwrap_err();
        assert_eq!(error.option, "ciphers");
        assert!(error.message.contains("\"RC4-MD5\""), "{}", error.message);
    }

    #[test]
    fn tls12_names_keep_every_tls13_suite() {
        let chosen = names(&with_ciphers("ECDHE-RSA-AES128-GCM-SHA256"));
        assert_eq!(chosen.len(), 4, "{chosen:?}");
        assert!(chosen[0].contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), "{chosen:?}");
        let (_, versions) = provider_and_versions(&with_ciphers("ECDHE-RSA-AES128-GCM-SHA256")).unwrap();
        assert_eq!(versions.len(), 2);
    }

    #[test]
    fn tls13_names_alone_turn_tls12_off() {
        let options = with_ciphers("TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256");
        assert_eq!(names(&options), ["TLS13_AES_256_GCM_SHA384", "TLS13_AES_128_GCM_SHA256"]);
        let (_, versions) = provider_and_versions(&options).unwrap();
        assert_eq!(versions, [&rustls::version::TLS13]);
        let capped = TlsOptions { max_version: Some(TlsVersion::Tls12), ..options };
        assert_eq!(provider_and_versions(&capped).unwrap_err().option, "ciphers");
    }

    #[test]
    fn versions_follow_min_and_max() {
        let only12 = TlsOptions { max_version: Some(TlsVersion::Tls12), ..TlsOptions::default() };
        assert_eq!(provider_and_versions(&only12).unwrap().1, [&rustls::version::TLS12]);
        let inverted = TlsOptions { min_version: Some(TlsVersion::Tls13), max_version: Some(TlsVersion::Tls12), ..TlsOptions::default() };
        assert_eq!(provider_and_versions(&inverted).unwrap_err().option, "minVersion");
        assert_eq!(TlsVersion::from_name("TLSv1.1"), None);
        assert_eq!(TlsVersion::from_name("TLSv1.3").map(TlsVersion::name), Some("TLSv1.3"));
    }
}
