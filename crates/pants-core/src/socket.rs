//! The two transports a stream or listener can sit on: TCP and UNIX sockets.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::Shutdown;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Registry, Token};
use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::address::SocketAddress;
use crate::sys::{self, RawHandle, UnixListener, UnixStream};

/// A connected (or connecting) byte stream.
#[derive(Debug)]
pub enum Connection {
    /// TCP over IPv4 or IPv6.
    Tcp(TcpStream),
    /// A UNIX domain stream socket.
    Unix(UnixStream),
}

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP over IPv4 or IPv6.
    Tcp(TcpListener),
    /// A UNIX domain stream socket.
    Unix(UnixListener),
}

/// How a listener binds.
#[derive(Clone, Copy, Debug)]
pub struct ListenOptions {
    /// Pending-connection queue length.
    pub backlog: i32,
    /// For IPv6 addresses: refuse IPv4-mapped peers (`IPV6_V6ONLY`).
    pub v6_only: bool,
    /// Set `SO_REUSEPORT` so several listeners (threads) share one port.
    pub reuse_port: bool,
}

impl Default for ListenOptions {
    fn default() -> Self {
        Self { backlog: 1024, v6_only: false, reuse_port: false }
    }
}

macro_rules! each_transport {
    ($value:expr, $socket:ident => $body:expr) => {
        match $value {
            Self::Tcp($socket) => $body,
            Self::Unix($socket) => $body,
        }
    };
}

impl Connection {
    /// Starts a non-blocking connect; completion is signalled by writability.
    pub fn connect(address: &SocketAddress) -> io::Result<Self> {
        match address {
            SocketAddress::Inet(inet) => TcpStream::connect(*inet).map(Self::Tcp),
            SocketAddress::Unix(path) => UnixStream::connect(path).map(Self::Unix),
        }
    }

    /// The pending socket error (`SO_ERROR`), cleared by reading it.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        each_transport!(self, socket => socket.take_error())
    }

    /// The peer's address; `ENOTCONN` while a connect is in progress.
    pub fn peer_address(&self) -> io::Result<SocketAddress> {
        match self {
            Self::Tcp(socket) => socket.peer_addr().map(SocketAddress::from),
            Self::Unix(socket) => socket.peer_addr().map(SocketAddress::from),
        }
    }

    /// The local address.
    pub fn local_address(&self) -> io::Result<SocketAddress> {
        match self {
            Self::Tcp(socket) => socket.local_addr().map(SocketAddress::from),
            Self::Unix(socket) => socket.local_addr().map(SocketAddress::from),
        }
    }

    /// Sets `TCP_NODELAY` (a no-op on UNIX sockets).
    pub fn set_no_delay(&self, on: bool) -> io::Result<()> {
        match self {
            Self::Tcp(socket) => socket.set_nodelay(on),
            Self::Unix(_) => Ok(()),
        }
    }

    /// Turns TCP keepalive on, probing after `idle` without traffic, or
    /// off (`None`); a no-op on UNIX sockets.
    pub fn set_keep_alive(&self, idle: Option<std::time::Duration>) -> io::Result<()> {
        let Self::Tcp(socket) = self else { return Ok(()) };
        let socket = SockRef::from(socket);
        match idle {
            Some(idle) => socket.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(idle)),
            None => socket.set_keepalive(false),
        }
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        each_transport!(self, socket => socket.shutdown(how))
    }

    /// Reads into `buf`.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        each_transport!(self, socket => socket.read(buf))
    }

    /// Reads into memory not yet initialized (the spare room of a buffer).
    pub fn read_uninit(&mut self, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
        each_transport!(self, socket => SockRef::from(&*socket).recv(buf))
    }

    /// Writes from `buf`.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        each_transport!(self, socket => socket.write(buf))
    }
}

impl Listener {
    /// Binds and listens without blocking; `SO_REUSEADDR` is always set for TCP.
    pub fn bind(address: &SocketAddress, options: ListenOptions) -> io::Result<Self> {
        let (domain, target) = match address {
            SocketAddress::Inet(inet) => (Domain::for_address(*inet), SockAddr::from(*inet)),
            SocketAddress::Unix(path) => (Domain::UNIX, sys::unix_socket_address(path)?),
        };
        // socket2 sets close-on-exec itself; non-blocking is set separately for portability.
        let socket = Socket::new(domain, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        if let SocketAddress::Inet(inet) = address {
            socket.set_reuse_address(true)?;
            if inet.is_ipv6() {
                socket.set_only_v6(options.v6_only)?;
            }
            if options.reuse_port {
                sys::set_reuse_port(&socket)?;
            }
        }
        socket.bind(&target)?;
        socket.listen(options.backlog)?;
        Ok(match address {
            SocketAddress::Inet(_) => Self::Tcp(TcpListener::from_std(socket.into())),
            SocketAddress::Unix(_) => Self::Unix(sys::unix_listener(socket)?),
        })
    }

    /// Accepts one pending connection.
    pub fn accept(&self) -> io::Result<(Connection, SocketAddress)> {
        match self {
            Self::Tcp(listener) => listener.accept().map(|(socket, peer)| (Connection::Tcp(socket), peer.into())),
            Self::Unix(listener) => listener.accept().map(|(socket, peer)| (Connection::Unix(socket), peer.into())),
        }
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_address(&self) -> io::Result<SocketAddress> {
        match self {
            Self::Tcp(listener) => listener.local_addr().map(SocketAddress::from),
            Self::Unix(listener) => listener.local_addr().map(SocketAddress::from),
        }
    }
}

macro_rules! forward_source_and_handle {
    ($type:ty) => {
        impl Source for $type {
            fn register(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
                each_transport!(self, socket => socket.register(registry, token, interests))
            }
            fn reregister(&mut self, registry: &Registry, token: Token, interests: Interest) -> io::Result<()> {
                each_transport!(self, socket => socket.reregister(registry, token, interests))
            }
            fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
                each_transport!(self, socket => socket.deregister(registry))
            }
        }

        impl $type {
            /// The socket's OS handle.
            pub fn raw_handle(&self) -> RawHandle {
                each_transport!(self, socket => sys::raw_handle(socket))
            }
        }
    };
}

forward_source_and_handle!(Connection);
forward_source_and_handle!(Listener);
