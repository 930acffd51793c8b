//! Socket addresses a channel can bind or connect to.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An IP socket address or a UNIX socket path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocketAddress {
    /// IPv4 or IPv6 host and port.
    Inet(SocketAddr),
    /// A UNIX domain socket path (empty for an unnamed socket).
    Unix(PathBuf),
}

impl From<SocketAddr> for SocketAddress {
    fn from(address: SocketAddr) -> Self {
        SocketAddress::Inet(address)
    }
}

// From a UNIX-domain socket's address: in `sys`, where those sockets are.

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Inet(address) => address.fmt(f),
            SocketAddress::Unix(path) => path.display().fmt(f),
        }
    }
}
