//! Socket addresses to and from JavaScript.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::path::PathBuf;

use napi_derive::napi;
use pants_core::SocketAddress;

/// An address as the TypeScript layer formats it: `path` for UNIX sockets,
/// otherwise `host`/`port` (and `flowinfo`/`scopeId` for IPv6).
#[napi(object)]
pub struct AddressInfo {
    pub host: String,
    pub port: u32,
    pub flowinfo: u32,
    pub scope_id: u32,
    pub ipv6: bool,
    pub path: Option<String>,
}

impl From<SocketAddress> for AddressInfo {
    fn from(address: SocketAddress) -> Self {
        match address {
            SocketAddress::Inet(SocketAddr::V4(v4)) => {
                Self { host: v4.ip().to_string(), port: v4.port().into(), flowinfo: 0, scope_id: 0, ipv6: false, path: None }
            }
            SocketAddress::Inet(SocketAddr::V6(v6)) => {
                Self { host: v6.ip().to_string(), port: v6.port().into(), flowinfo: v6.flowinfo(), scope_id: v6.scope_id(), ipv6: true, path: None }
            }
            SocketAddress::Unix(path) => {
                Self { host: String::new(), port: 0, flowinfo: 0, scope_id: 0, ipv6: false, path: Some(path.to_string_lossy().into_owned()) }
            }
        }
    }
}

/// Builds an IP socket address from a numeric host (hostnames are resolved
/// in JavaScript first). `None` when `host` is not an IP address.
pub fn inet(host: &str, port: u32, flowinfo: u32, scope_id: u32) -> Option<SocketAddress> {
    let port = u16::try_from(port).ok()?;
    let address = match host.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port),
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, flowinfo, scope_id)),
    };
    Some(SocketAddress::Inet(address))
}

/// A UNIX socket path.
pub fn unix(path: String) -> SocketAddress {
    SocketAddress::Unix(PathBuf::from(path))
}
