//! The platform seam, as mio's `sys`: everything that differs between
//! operating systems, so that the rest of the crate is written once.
//!
//! Each platform module provides:
//! - [`RawHandle`]: a socket's OS handle (a file descriptor on Unix), and
//!   `raw_handle` / `handle_number` to get it from a socket and to report
//!   it in an event;
//! - the error codes the engine raises or reports (`EIO`, `ENOTCONN`,
//!   `ECONNREFUSED`, `EBADF`) and `is_out_of_descriptors`;
//! - `read_file_at` (a positioned read), and `send_file` where the kernel
//!   copies a file to a socket itself (`HAS_SEND_FILE`);
//! - `set_reuse_port` (`SO_REUSEPORT`, for listeners shared by threads);
//! - UNIX-domain sockets: `UnixStream`, `UnixListener`, `UnixSocketAddr`,
//!   `unix_socket_address` and `unix_listener`.
//!
//! Windows has the types but not the engine yet (it needs mio's IOCP
//! behind a helper thread): what it lacks fails with
//! `io::ErrorKind::Unsupported` and a message naming it.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;
