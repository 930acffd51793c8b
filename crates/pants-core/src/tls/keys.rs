//! The local identity (certificate chain and private key) from PEM `cert`
//! and `key` (an encrypted PKCS#8 key opened with `passphrase`), or from a
//! PKCS#12 `pfx` archive.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{option_error, TlsOptionError};

/// Certificates from PEM text, for option `option`.
pub(crate) fn certificates(pem: &[u8], option: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsOptionError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| option_error(option, format!("not valid PEM certificates ({error})")))?;
    if certificates.is_empty() {
        return Err(option_error(option, "no PEM certificate found"));
    }
    Ok(certificates)
}

const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// OpenSSL's words for a passphrase that does not open a key.
fn bad_decrypt() -> TlsOptionError {
    TlsOptionError { option: "passphrase", message: "error:1C800064:Provider routines::bad decrypt".to_owned(), code: Some("ERR_OSSL_BAD_DECRYPT") }
}

/// The private key in PEM `pem`; an encrypted PKCS#8 key is opened with `passphrase`.
pub(crate) fn private_key(pem: &[u8], passphrase: Option<&str>) -> Result<PrivateKeyDer<'static>, TlsOptionError> {
    let text = String::from_utf8_lossy(pem);
    if let Some(start) = text.find(ENCRYPTED_BEGIN) {
        let end = text[start..]
            .find(ENCRYPTED_END)
            .map(|end| start + end + ENCRYPTED_END.len())
            .ok_or_else(|| option_error("key", "an unterminated encrypted PEM key"))?;
        let (_, der) = pkcs8::der::pem::decode_vec(text[start..end].as_bytes())
            .map_err(|error| option_error("key", format!("not a valid encrypted PEM key ({error})")))?;
        let encrypted = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|error| option_error("key", format!("not a valid encrypted PKCS#8 key ({error})")))?;
        // Like OpenSSL without a passphrase callback: no passphrase cannot decrypt either.
        let decrypted = encrypted.decrypt(passphrase.unwrap_or("")).map_err(|_| bad_decrypt())?;
        return Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(decrypted.as_bytes().to_vec())));
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(option_error("key", "legacy PEM encryption (Proc-Type: 4,ENCRYPTED) is not supported; convert the key with `openssl pkcs8 -topk8`"));
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| option_error("key", format!("not a valid PEM private key ({error})")))
}

/// The certificate chain (the key's certificate first) and key of a PKCS#12 archive.
pub(crate) fn pfx_identity(der: &[u8], passphrase: Option<&str>) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsOptionError> {
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(der, passphrase.unwrap_or("")).map_err(|error| match error {
        // OpenSSL's words (Node's message has no code; this one is OpenSSL's reason as Node would code it).
        p12_keystore::error::Error::MacError(_) => {
            TlsOptionError { option: "passphrase", message: "mac verify failure".to_owned(), code: Some("ERR_OSSL_PKCS12_MAC_VERIFY_FAILURE") }
        }
        p12_keystore::error::Error::UnpadError | p12_keystore::error::Error::Pkcs5Error(_) => bad_decrypt(),
        other => option_error("pfx", format!("not a PKCS#12 archive this engine can read ({other})")),
    })?;
    let key = archive.keys.first().ok_or_else(|| option_error("pfx", "the archive holds no private key"))?;
    let mut bags: Vec<_> = archive.certs.iter().collect();
    if bags.is_empty() {
        return Err(option_error("pfx", "the archive holds no certificate"));
    }
    // The key's own certificate first, then the rest of the chain.
    if let Some(key_id) = &key.local_key_id {
        bags.sort_by_key(|bag| bag.local_key_id.as_deref() != Some(key_id.0.as_slice()));
    }
    let chain = bags.iter().map(|bag| CertificateDer::from(bag.cert.as_der().to_vec())).collect();
    Ok((chain, PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.key.as_der().to_vec()))))
}
