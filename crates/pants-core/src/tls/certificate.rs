//! A peer's certificate described with the names of node:tls'
//! `getPeerCertificate()`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::objects::{oid2sn, oid_registry};
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

/// A certificate as node:tls' `getPeerCertificate()` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificate {
    /// Subject attributes in order, by OpenSSL short name (`CN`, `O`, ...).
    pub subject: Vec<(String, String)>,
    /// Issuer attributes, as `subject`.
    pub issuer: Vec<(String, String)>,
    /// The subject alternative names, `'DNS:a, IP Address:1.2.3.4'`; `None` without the extension.
    pub subjectaltname: Option<String>,
    /// Start of validity, `'Jan  1 00:00:00 2030 GMT'`.
    pub valid_from: String,
    /// End of validity, same format.
    pub valid_to: String,
    /// SHA-256 of the DER bytes, colon-separated uppercase hex.
    pub fingerprint256: String,
    /// The serial number, uppercase hex.
    pub serial_number: String,
    /// `basicConstraints` says CA.
    pub ca: bool,
    /// The certificate's DER bytes.
    pub raw: Vec<u8>,
}

impl PeerCertificate {
    /// Describes a DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, certificate) = X509Certificate::from_der(der).ok()?;
        let validity = certificate.validity();
        Some(Self {
            subject: attributes(certificate.subject()),
            issuer: attributes(certificate.issuer()),
            subjectaltname: alt_names(&certificate),
            valid_from: openssl_date(validity.not_before.timestamp()),
            valid_to: openssl_date(validity.not_after.timestamp()),
            fingerprint256: colon_hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref()),
            serial_number: serial_hex(certificate.raw_serial()),
            ca: certificate.is_ca(),
            raw: der.to_vec(),
        })
    }
}

/// OpenSSL's short names of name attributes (Node uses them as keys).
const SHORT_NAMES: [(&str, &str); 22] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "street"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "title"),
    ("2.5.4.15", "businessCategory"),
    ("2.5.4.17", "postalCode"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "initials"),
    ("2.5.4.44", "generationQualifier"),
    ("2.5.4.46", "dnQualifier"),
    ("2.5.4.65", "pseudonym"),
    ("2.5.4.97", "organizationIdentifier"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC"),
];

fn attributes(name: &X509Name<'_>) -> Vec<(String, String)> {
    name.iter_attributes()
        .map(|attribute| {
            let id = attribute.attr_type().to_id_string();
            let key = match SHORT_NAMES.iter().find(|(known, _)| *known == id) {
                Some((_, short)) => (*short).to_owned(),
                None => oid2sn(attribute.attr_type(), oid_registry()).map(str::to_owned).unwrap_or(id),
            };
            let value = match attribute.as_str() {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(attribute.attr_value().data).into_owned(),
            };
            (key, value)
        })
        .collect()
}

/// The subject alternative names as OpenSSL prints them.
pub(crate) fn alt_names(certificate: &X509Certificate<'_>) -> Option<String> {
    let extension = certificate.subject_alternative_name().ok()??;
    let names: Vec<String> = extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => Some(format!("DNS:{dns}")),
            GeneralName::RFC822Name(email) => Some(format!("email:{email}")),
            GeneralName::URI(uri) => Some(format!("URI:{uri}")),
            GeneralName::IPAddress(bytes) => ip_text(bytes).map(|ip| format!("IP Address:{ip}")),
            _ => None,
        })
        .collect();
    Some(names.join(", "))
}

/// An IP address SAN as OpenSSL prints it (IPv6 uncompressed, uppercase).
pub(crate) fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?).to_string()),
        16 => {
            let address = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            Some(address.segments().iter().map(|segment| format!("{segment:X}")).collect::<Vec<_>>().join(":"))
        }
        _ => None,
    }
}

fn colon_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 3);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}

/// A serial number as OpenSSL's `BN_bn2hex` writes it: no leading zero bytes.
fn serial_hex(bytes: &[u8]) -> String {
    let start = bytes.iter().position(|&byte| byte != 0).unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02X}");
        text
    })
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A UNIX time as OpenSSL's `ASN1_TIME_print` writes it: `'Jan  1 00:00:00 2030 GMT'`.
pub(crate) fn openssl_date(timestamp: i64) -> String {
    let days = timestamp.div_euclid(86_400);
    let seconds = timestamp.rem_euclid(86_400);
    let (year, month, day) = civil_date(days);
    format!("{} {:>2} {:02}:{:02}:{:02} {} GMT", MONTHS[(month - 1) as usize], day, seconds / 3600, seconds / 60 % 60, seconds % 60, year)
}

/// Year, month (1-12) and day (1-31) of a count of days since 1970-01-01
/// (the proleptic Gregorian calendar, by 400-year eras).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{openssl_date, serial_hex};

    #[test]
    fn dates_read_like_openssl() {
        assert_eq!(openssl_date(0), "Jan  1 00:00:00 1970 GMT");
        assert_eq!(openssl_date(1_893_456_000), "Jan  1 00:00:00 2030 GMT");
        assert_eq!(openssl_date(951_782_400 + 3661), "Feb 29 01:01:01 2000 GMT");
        assert_eq!(openssl_date(1_798_761_599), "Dec 31 23:59:59 2026 GMT");
    }

    #[test]
    fn serials_lose_leading_zero_bytes() {
        assert_eq!(serial_hex(&[0x0a, 0xbc, 0x12]), "0ABC12");
        assert_eq!(serial_hex(&[0x00, 0x9f]), "9F");
        assert_eq!(serial_hex(&[0x00]), "00");
    }
}
