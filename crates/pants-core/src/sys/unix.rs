//! Unix: file descriptors, errno values, `sendfile` on Linux, and UNIX-domain sockets.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use socket2::{SockAddr, Socket};

use crate::address::SocketAddress;

pub use mio::net::{UnixListener, UnixStream};
pub use std::os::unix::net::SocketAddr as UnixSocketAddr;

/// A socket's OS handle: its file descriptor.
pub type RawHandle = std::os::fd::RawFd;

/// The handle of `socket` (or of the poller).
pub fn raw_handle(socket: &impl AsRawFd) -> RawHandle {
    socket.as_raw_fd()
}

/// A handle as an event argument: the descriptor itself.
pub fn handle_number(handle: RawHandle) -> i32 {
    handle
}

/// Reported for an error the OS gave no number for.
pub const EIO: i32 = libc::EIO;
/// The stream is not connected (or no longer open).
pub const ENOTCONN: i32 = libc::ENOTCONN;
/// A connect found nobody listening.
pub const ECONNREFUSED: i32 = libc::ECONNREFUSED;
/// The channel's socket is closed.
pub const EBADF: i32 = libc::EBADF;

/// The process or the system ran out of descriptors (or of the memory for
/// one): accepting again at once would fail the same way.
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// Reads from `offset` without moving the file's position.
pub fn read_file_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    file.read_at(buffer, offset)
}

/// True where [`send_file`] has the kernel copy a file to a socket.
pub const HAS_SEND_FILE: bool = cfg!(target_os = "linux");

/// One `sendfile(2)` of up to `count` bytes of `file` from `offset` to `socket`.
#[cfg(target_os = "linux")]
pub fn send_file(socket: RawHandle, file: &File, offset: u64, count: usize) -> io::Result<usize> {
    let mut offset = offset as libc::off_t;
    // SAFETY: both descriptors are open for the duration of the call.
    let sent = unsafe { libc::sendfile(socket, file.as_raw_fd(), &mut offset, count) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Not used where [`HAS_SEND_FILE`] is false: files are read and written.
#[cfg(not(target_os = "linux"))]
pub fn send_file(_socket: RawHandle, _file: &File, _offset: u64, _count: usize) -> io::Result<usize> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "sendfile is only used on Linux"))
}

/// Sets `SO_REUSEPORT`: listeners of several threads share the port.
pub fn set_reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

/// The socket address of a UNIX socket path, to bind to.
pub fn unix_socket_address(path: &Path) -> io::Result<SockAddr> {
    SockAddr::unix(path)
}

/// A bound, listening UNIX socket as a mio listener.
pub fn unix_listener(socket: Socket) -> io::Result<UnixListener> {
    Ok(UnixListener::from_std(socket.into()))
}

impl From<UnixSocketAddr> for SocketAddress {
    fn from(address: UnixSocketAddr) -> Self {
        SocketAddress::Unix(address.as_pathname().map(PathBuf::from).unwrap_or_default())
    }
}
