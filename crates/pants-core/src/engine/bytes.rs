//! Reading and writing a channel's bytes: frames (or a response body in
//! place) taken from its input, bytes and files queued to send, datagrams.

use std::fs::File;
use std::io;
use std::net::SocketAddr;

use super::Engine;
use crate::channel::Channel;
use crate::framing::FrameRead;
use crate::http::BodyRead;
use crate::input::FramedInput;
use crate::stream::StreamChannel;

impl Engine {
    /// Takes the next frame by the channel's current delimiter, copying its
    /// bytes to the start of `out`. For a datagram channel,
    /// [`Engine::peer_address`] then tells whose frame it was.
    pub fn read_frame(&mut self, token: usize, out: &mut [u8]) -> io::Result<FrameRead> {
        let (input, reactor) = self.input_mut(token)?;
        let result = input.read_frame(reactor, out);
        if let FrameRead::Frame(_) = result {
            input.resume_if_room(reactor);
        }
        Ok(result)
    }

    /// On a stream framing HTTP responses, in the body of one of known
    /// length: takes its next bytes into the start of `out` unframed (the
    /// caller holds the whole body's memory, so nothing passes through a
    /// frame), from the read buffer or straight from the socket. After
    /// [`BodyRead::NotBody`], frames go on with [`Engine::read_frame`].
    pub fn read_body(&mut self, token: usize, out: &mut [u8]) -> io::Result<BodyRead> {
        let (stream, reactor) = self.stream_mut(token)?;
        let read = stream.read_body(reactor, out);
        if matches!(read, BodyRead::Piece { count: 0, .. } | BodyRead::Piece { ended: true, .. }) {
            // The socket is left to the poller again (under TLS it always is).
            stream.resume_if_room(reactor);
        }
        Ok(read)
    }

    /// Copies the bytes framing would look at next to `out` without taking
    /// them (for framing done by the caller): a stream's whole buffer, or a
    /// datagram sender's. `Err(needed)` when `out` is too small.
    pub fn peek_input(&mut self, token: usize, out: &mut [u8]) -> Result<usize, usize> {
        let Ok((input, _)) = self.input_mut(token) else { return Ok(0) };
        let bytes = input.peek_input();
        if bytes.len() > out.len() {
            return Err(bytes.len());
        }
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    }

    /// Drops `count` peeked bytes (after framing done by the caller). For a
    /// datagram channel, 0 means "no frame in them": move to the next packet.
    pub fn consume_input(&mut self, token: usize, count: usize) -> io::Result<()> {
        let (input, reactor) = self.input_mut(token)?;
        input.consume_input(count);
        input.resume_if_room(reactor);
        Ok(())
    }

    /// Drops unframed input: all of a stream's, or the current datagram sender's.
    pub fn discard_input(&mut self, token: usize) {
        if let Ok((input, reactor)) = self.input_mut(token) {
            input.discard_input();
            input.resume_if_room(reactor);
        }
    }

    /// Bytes received but not yet taken as frames.
    pub fn pending_input(&self, token: usize) -> usize {
        self.channels.get(token).and_then(Channel::input).map_or(0, FramedInput::pending_input)
    }

    /// Another frame may be ready now (see [`Engine::read_frame`]): bytes
    /// are buffered, or a stream reading on demand may find more in its socket.
    pub fn more_input(&self, token: usize) -> bool {
        self.channels.get(token).and_then(Channel::input).is_some_and(FramedInput::more_input)
    }

    // ----- writing

    /// Appends to the stream's send buffer; sent at the end of the dispatch
    /// (at once outside an iteration) or by [`Engine::flush`]. `ENOTCONN` unless the stream is open. Returns
    /// true when more than [`OUTGOING_HIGH_WATER`](crate::OUTGOING_HIGH_WATER) bytes now wait: the
    /// writer should wait for the `Write` event (the stream stops reading).
    ///
    /// A write of at least [`DIRECT_SEND_MIN`](crate::DIRECT_SEND_MIN) bytes to a stream with
    /// nothing waiting is sent at once instead: batching gains nothing at
    /// that size, and the bytes are not copied into the buffer first. The
    /// stream is still flushed with the others, and its `Write` event (when
    /// asked for) comes from that flush, as for buffered bytes.
    pub fn write(&mut self, token: usize, bytes: &[u8]) -> io::Result<bool> {
        let (stream, reactor) = self.stream_mut(token)?;
        stream.write(reactor, bytes)
    }

    /// Queues `length` bytes of `file` from `offset` (0: to the end of the
    /// file) after what was written before; sent with `sendfile` on Linux.
    /// Returns the number of bytes queued. `ENOTCONN` unless the stream is open.
    pub fn write_file(&mut self, token: usize, file: File, offset: u64, length: u64) -> io::Result<u64> {
        let (stream, reactor) = self.stream_mut(token)?;
        stream.write_file(reactor, file, offset, length)
    }

    /// Sends the stream's buffered bytes now, as far as the kernel takes them.
    pub fn flush(&mut self, token: usize) {
        if let Ok((stream, reactor)) = self.stream_mut(token) {
            stream.send(reactor);
        }
    }

    /// Bytes written but not yet handed to the kernel (under TLS, counted
    /// as plaintext while they wait to be encrypted, then as records).
    pub fn pending_output(&self, token: usize) -> usize {
        self.stream(token).map_or(0, StreamChannel::unsent)
    }

    /// Queues a packet to `peer`; it is sent at the end of the dispatch (at
    /// once outside an iteration). A datagram channel that is not bound yet
    /// is bound to an ephemeral port.
    pub fn send_datagram(&mut self, token: usize, peer: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let (datagram, reactor) = self.datagram_mut(token)?;
        datagram.send_to(reactor, peer, bytes)
    }

    /// Sends what every channel written to since the last call has buffered.
    pub(super) fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.reactor.dirty);
        for &token in &dirty {
            if let Some(channel) = self.channels.get_mut(token) {
                channel.send_corked(&mut self.reactor);
            }
        }
        dirty.clear();
        if self.reactor.dirty.is_empty() {
            self.reactor.dirty = dirty;
        }
    }
}
