//! Windows: sockets, Winsock error codes, and no UNIX-domain sockets yet.
//!
//! This is enough for the crate to compile; the engine itself is not
//! ported (the host loop needs a helper thread waiting on mio's IOCP
//! poller), so the package does not ship for Windows.

use std::fs::File;
use std::io;
use std::os::windows::fs::FileExt;
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket};
use std::path::Path;

use mio::event::Source;
use mio::{Interest, Registry, Token};
use socket2::{SockAddr, Socket};

use crate::address::SocketAddress;

/// A socket's OS handle: its `SOCKET`.
pub type RawHandle = std::os::windows::io::RawSocket;

/// The handle of `socket`.
pub fn raw_handle(socket: &impl AsRawSocket) -> RawHandle {
    socket.as_raw_socket()
}

/// A handle as an event argument: -1 when it does not fit.
pub fn handle_number(handle: RawHandle) -> i32 {
    i32::try_from(handle).unwrap_or(-1)
}

/// Reported for an error the OS gave no number for (`ERROR_IO_DEVICE`).
pub const EIO: i32 = 1117;
/// `WSAENOTCONN`.
pub const ENOTCONN: i32 = 10057;
/// `WSAECONNREFUSED`.
pub const ECONNREFUSED: i32 = 10061;
/// `WSAEBADF`.
pub const EBADF: i32 = 10009;

const WSAEMFILE: i32 = 10024;
const WSAENOBUFS: i32 = 10055;

/// Winsock ran out of sockets or buffers: accepting again at once would fail the same way.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(WSAEMFILE | WSAENOBUFS))
}

/// Reads from `offset` (Windows moves the file's position; the engine does not use it).
pub fn read_file_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    file.seek_read(buffer, offset)
}

/// Files are read and written (`TransmitFile` is not used yet).
pub const HAS_SEND_FILE: bool = false;

/// Not used: see [`HAS_SEND_FILE`].
pub fn send_file(_socket: RawHandle, _file: &File, _offset: u64, _count: usize) -> io::Result<usize> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "sendfile is not supported on Windows"))
}

/// Fails: Windows has no `SO_REUSEPORT`.
pub fn set_reuse_port(_socket: &Socket) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "SO_REUSEPORT is not supported on Windows"))
}

fn no_unix_sockets() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "UNIX-domain sockets are not supported on Windows")
}

/// Fails: see [`UnixStream`].
pub fn unix_socket_address(_path: &Path) -> io::Result<SockAddr> {
    Err(no_unix_sockets())
}

/// Fails: see [`UnixStream`].
pub fn unix_listener(_socket: Socket) -> io::Result<UnixListener> {
    Err(no_unix_sockets())
}

/// A UNIX-domain stream: none can exist on Windows (connecting fails), so
/// the type has no values and its methods are never called.
#[derive(Debug)]
pub enum UnixStream {}

/// A UNIX-domain listener: none can exist on Windows (see [`UnixStream`]).
#[derive(Debug)]
pub enum UnixListener {}

/// The address of a UNIX-domain socket: none on Windows.
#[derive(Debug)]
pub enum UnixSocketAddr {}

impl From<UnixSocketAddr> for SocketAddress {
    fn from(address: UnixSocketAddr) -> Self {
        match address {}
    }
}

impl UnixStream {
    /// Fails with `Unsupported`.
    pub fn connect(_path: impl AsRef<Path>) -> io::Result<Self> {
        Err(no_unix_sockets())
    }

    /// Never called: there is no value.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match *self {}
    }

    /// Never called: there is no value.
    pub fn peer_addr(&self) -> io::Result<UnixSocketAddr> {
        match *self {}
    }

    /// Never called: there is no value.
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        match *self {}
    }

    /// Never called: there is no value.
    pub fn shutdown(&self, _how: std::net::Shutdown) -> io::Result<()> {
        match *self {}
    }
}

impl UnixListener {
    /// Never called: there is no value.
    pub fn accept(&self) -> io::Result<(UnixStream, UnixSocketAddr)> {
        match *self {}
    }

    /// Never called: there is no value.
    pub fn local_addr(&self) -> io::Result<UnixSocketAddr> {
        match *self {}
    }
}

impl io::Read for UnixStream {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match *self {}
    }
}

impl io::Write for UnixStream {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        match *self {}
    }

    fn flush(&mut self) -> io::Result<()> {
        match *self {}
    }
}

macro_rules! no_value_source {
    ($type:ty) => {
        impl Source for $type {
            fn register(&mut self, _: &Registry, _: Token, _: Interest) -> io::Result<()> {
                match *self {}
            }
            fn reregister(&mut self, _: &Registry, _: Token, _: Interest) -> io::Result<()> {
                match *self {}
            }
            fn deregister(&mut self, _: &Registry) -> io::Result<()> {
                match *self {}
            }
        }

        impl AsRawSocket for $type {
            fn as_raw_socket(&self) -> RawHandle {
                match *self {}
            }
        }

        impl AsSocket for $type {
            fn as_socket(&self) -> BorrowedSocket<'_> {
                match *self {}
            }
        }
    };
}

no_value_source!(UnixStream);
no_value_source!(UnixListener);
