//! A stream's send queue: bytes and file ranges, sent in the order written.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, ErrorKind};

use crate::byte_queue::ByteQueue;
use crate::socket::Connection;
use crate::sys;

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

/// [`Outgoing::writer`]: appends whatever is written.
struct QueueWriter<'a>(&'a mut Outgoing);

impl io::Write for QueueWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.push_bytes(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
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

    /// Queues what `write` writes (TLS records, written straight into the queue).
    pub fn writer(&mut self) -> impl io::Write + '_ {
        QueueWriter(self)
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

    /// Takes up to `max` bytes from the front, in order, and hands them to
    /// `sink` piece by piece: queued bytes as they are, file ranges read
    /// with `pread` through `scratch`. Returns the number of bytes taken
    /// (fewer than `max` only once the queue is empty). A file that turns
    /// out shorter than its range ends the range early.
    pub fn take_front(&mut self, max: usize, scratch: &mut [u8], mut sink: impl FnMut(&[u8])) -> io::Result<usize> {
        let mut taken = 0;
        while taken < max {
            if !self.head.is_empty() {
                let count = self.head.len().min(max - taken);
                sink(&self.head.as_slice()[..count]);
                self.head.consume(count);
                taken += count;
                continue;
            }
            match self.rest.front_mut() {
                None => break,
                Some(Part::Bytes(_)) => {
                    let Some(Part::Bytes(bytes)) = self.rest.pop_front() else { unreachable!() };
                    self.head = bytes;
                }
                Some(Part::File(range)) => {
                    let wanted = (max - taken).min(scratch.len()).min(usize::try_from(range.remaining).unwrap_or(usize::MAX));
                    let read = read_file_at(&range.file, &mut scratch[..wanted], range.offset)?;
                    if read > 0 {
                        sink(&scratch[..read]);
                        range.offset += read as u64;
                        range.remaining -= read as u64;
                        taken += read;
                    }
                    if read == 0 || range.remaining == 0 {
                        self.rest.pop_front();
                    }
                }
            }
        }
        Ok(taken)
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

/// Sends a chunk of a file range: with `sendfile` where the kernel has it,
/// else by reading a chunk at the offset and writing what the socket takes.
fn copy_file_chunk(connection: &mut Connection, range: &FileRange) -> io::Result<usize> {
    if sys::HAS_SEND_FILE {
        let count = range.remaining.min(FILE_CHUNK) as usize;
        return sys::send_file(connection.raw_handle(), &range.file, range.offset, count);
    }
    let mut buffer = vec![0; range.remaining.min(64 * 1024) as usize];
    let read = read_file_at(&range.file, &mut buffer, range.offset)?;
    if read == 0 {
        return Ok(0);
    }
    connection.write(&buffer[..read])
}

/// Reads from `offset` without moving the file's position, retrying interrupts.
fn read_file_at(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        match sys::read_file_at(file, buffer, offset) {
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn temp_file(contents: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!("pants-outgoing-{}-{}", std::process::id(), contents.len()));
        let mut file = File::create(&path).unwrap();
        file.write_all(contents).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    /// Takes everything in pieces of at most `max`, checking each call's count.
    fn take_all(queue: &mut Outgoing, max: usize, scratch: &mut [u8]) -> Vec<u8> {
        let mut taken = Vec::new();
        loop {
            let count = queue.take_front(max, scratch, |piece| taken.extend_from_slice(piece)).unwrap();
            assert!(count == max || queue.is_empty(), "{count} of {max} taken with more queued");
            if queue.is_empty() {
                return taken;
            }
        }
    }

    #[test]
    fn take_front_keeps_bytes_and_file_ranges_in_order_at_every_size() {
        let file_bytes: Vec<u8> = (0..10_000u32).map(|index| (index % 251) as u8).collect();
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&file_bytes[100..9_100]);
        expected.extend_from_slice(b"tail");
        for max in [1, 7, 4096, 100_000] {
            for scratch_size in [3, 1024, 65_536] {
                let mut queue = Outgoing::default();
                queue.push_bytes(b"head");
                queue.push_file(temp_file(&file_bytes), 100, 9_000);
                queue.push_bytes(b"tail");
                let mut scratch = vec![0; scratch_size];
                assert_eq!(take_all(&mut queue, max, &mut scratch), expected, "max {max}, scratch {scratch_size}");
            }
        }
    }

    #[test]
    fn take_front_ends_a_range_early_when_the_file_is_shorter() {
        let mut queue = Outgoing::default();
        queue.push_file(temp_file(b"short"), 0, 1_000);
        queue.push_bytes(b"!");
        let mut scratch = vec![0; 64];
        assert_eq!(take_all(&mut queue, 4096, &mut scratch), b"short!");
    }
}
