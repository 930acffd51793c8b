//! A stream's send queue: bytes and file ranges, sent in the order written.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, ErrorKind};
use std::os::fd::AsRawFd;

use crate::byte_queue::ByteQueue;
use crate::socket::Connection;

/// Most bytes one `sendfile` call is asked for.
const FILE_CHUNK: u64 = 1 << 30;

/// What waits behind the head bytes.
#[derive(Debug)]
enum Part {
    Bytes(ByteQueue),
    File(FileRange),
}

/// A range of a file still to send.
#[derive(Debug)]
struct FileRange {
    file: File,
    offset: u64,
    remaining: u64,
}

/// Bytes and file ranges waiting to be sent. Writes go to the head bytes
/// while no file is queued, so the common case is a single `ByteQueue`.
#[derive(Debug, Default)]
pub struct Outgoing {
    head: ByteQueue,
    rest: VecDeque<Part>,
}

impl Outgoing {
    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.rest.is_empty()
    }

    /// Bytes waiting, file ranges included.
    pub fn len(&self) -> usize {
        let rest: u64 = self
            .rest
            .iter()
            .map(|part| match part {
                Part::Bytes(bytes) => bytes.len() as u64,
                Part::File(range) => range.remaining,
            })
            .sum();
        self.head.len().saturating_add(usize::try_from(rest).unwrap_or(usize::MAX))
    }

    /// Queues bytes after everything queued so far.
    pub fn push_bytes(&mut self, bytes: &[u8]) {
        match self.rest.back_mut() {
            None => self.head.extend(bytes),
            Some(Part::Bytes(tail)) => tail.extend(bytes),
            Some(Part::File(_)) => {
                let mut tail = ByteQueue::new();
                tail.extend(bytes);
                self.rest.push_back(Part::Bytes(tail));
            }
        }
    }

    /// Queues `length` bytes of `file` from `offset`, after everything queued so far.
    pub fn push_file(&mut self, file: File, offset: u64, length: u64) {
        if length > 0 {
            self.rest.push_back(Part::File(FileRange { file, offset, remaining: length }));
        }
    }

    /// Drops everything queued.
    pub fn clear(&mut self) {
        self.head.clear();
        self.rest.clear();
    }

    /// Sends as much as `connection` takes: `Ok(true)` once everything is
    /// sent, `Ok(false)` when the socket is full (wait for writability).
    pub fn send_to(&mut self, connection: &mut Connection) -> io::Result<bool> {
        loop {
            while !self.head.is_empty() {
                let pending = self.head.as_slice();
                let pending_len = pending.len();
                match connection.write(pending) {
                    Ok(sent) => {
                        self.head.consume(sent);
                        if sent < pending_len {
                            return Ok(false); // the kernel buffer is full
                        }
                    }
                    Err(error) if error.kind() == ErrorKind::Interrupted => {}
                    Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(false),
                    Err(error) => return Err(error),
                }
            }
            match self.rest.pop_front() {
                None => return Ok(true),
                Some(Part::Bytes(bytes)) => self.head = bytes,
                Some(Part::File(mut range)) => {
                    if !send_file(connection, &mut range)? {
                        self.rest.push_front(Part::File(range));
                        return Ok(false);
                    }
                }
            }
        }
    }
}

/// Sends a file range; `Ok(true)` when done (or the file ended early).
fn send_file(connection: &mut Connection, range: &mut FileRange) -> io::Result<bool> {
    while range.remaining > 0 {
        match copy_file_chunk(connection, range) {
            Ok(0) => return Ok(true), // the file is shorter than announced
            Ok(sent) => {
                range.offset += sent as u64;
                range.remaining -= sent as u64;
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

/// One `sendfile(2)`: the kernel copies from the file to the socket.
#[cfg(target_os = "linux")]
fn copy_file_chunk(connection: &mut Connection, range: &FileRange) -> io::Result<usize> {
    let mut offset = range.offset as libc::off_t;
    let count = range.remaining.min(FILE_CHUNK) as usize;
    // SAFETY: both descriptors are open for the duration of the call.
    let sent = unsafe { libc::sendfile(connection.as_raw_fd(), range.file.as_raw_fd(), &mut offset, count) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Elsewhere: read a chunk at the offset and write what the socket takes.
#[cfg(not(target_os = "linux"))]
fn copy_file_chunk(connection: &mut Connection, range: &FileRange) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut buffer = vec![0; range.remaining.min(64 * 1024) as usize];
    let read = range.file.read_at(&mut buffer, range.offset)?;
    if read == 0 {
        return Ok(0);
    }
    connection.write(&buffer[..read])
}
