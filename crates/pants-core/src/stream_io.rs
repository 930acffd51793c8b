//! The engine's stream operations: connecting, receiving into the read
//! buffer, sending the write buffer, and closing.

use std::fs::File;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::os::fd::AsRawFd;

use mio::{Interest, Token};

use crate::address::SocketAddress;
use crate::channel::{Channel, StreamChannel, StreamState, OUTGOING_HIGH_WATER};
use crate::engine::{errno, is_disconnect, not_a_stream, not_open, Engine, Readiness};
use crate::event::{Event, EventKind};
use crate::socket::Connection;
use crate::tls::{TlsConfig, TlsFailure, TlsOptionError, TlsProgress, TlsSession};

/// Bytes a graceful close reads and discards so that the kernel sends a FIN, not a reset.
const CLOSE_DRAIN_LIMIT: usize = 1 << 20;

/// Reads go straight into a stream's read buffer when it has at least
/// this much room allocated (see [`Engine::receive`]).
const DIRECT_READ_MIN: usize = 16 * 1024;

/// Writes at least this large go to the socket at once when nothing is
/// waiting to be sent (see [`Engine::write`]).
pub const DIRECT_SEND_MIN: usize = 16 * 1024;

/// How often one `send` refills the socket from a TLS backlog before the
/// stream waits for the next poll, so that one fast reader of a large
/// file cannot hold the engine.
const MAX_SEND_ROUNDS: usize = 16;

impl Engine {
    /// Starts connecting a stream. Never fails here: a failure arrives as a
    /// `ConnectError` event, success as `Connect`.
    pub fn connect(&mut self, address: &SocketAddress) -> usize {
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        let started = Connection::connect(address).and_then(|mut connection| {
            self.poll.registry().register(&mut connection, Token(token), Interest::READABLE | Interest::WRITABLE)?;
            Ok(connection)
        });
        match started {
            Ok(connection) => {
                let fd = connection.as_raw_fd();
                entry.insert(Channel::Stream(StreamChannel::new(Some(connection), fd, StreamState::Connecting, None)));
            }
            Err(error) => {
                entry.insert(Channel::Stream(StreamChannel::new(None, -1, StreamState::ConnectFailed, None)));
                self.queue.push_back(Event::with(EventKind::ConnectError, token, errno(&error), 0));
            }
        }
        token
    }

    /// The stream's peer, known once connected and kept after the close;
    /// for a datagram channel, the sender of the frame it reported last.
    pub fn peer_address(&self, token: usize) -> Option<SocketAddress> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => stream.peer.clone(),
            Channel::Datagram(datagram) => datagram.last_sender.map(SocketAddress::Inet),
            Channel::Listener(_) => None,
        }
    }

    /// The stream's state, `None` for listeners and unknown tokens.
    pub fn stream_state(&self, token: usize) -> Option<StreamState> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => Some(stream.state),
            _ => None,
        }
    }

    pub(crate) fn stream_mut(&mut self, token: usize) -> io::Result<&mut StreamChannel> {
        match self.channels.get_mut(token) {
            Some(Channel::Stream(stream)) => Ok(stream),
            _ => Err(not_a_stream()),
        }
    }

    /// Asks for a `Write` event every time the stream's send buffer empties.
    pub fn set_notify_drain(&mut self, token: usize, on: bool) -> io::Result<()> {
        self.stream_mut(token)?.notify_drain = on;
        Ok(())
    }

    /// Turns `TCP_NODELAY` on or off (on by default).
    pub fn set_no_delay(&mut self, token: usize, on: bool) -> io::Result<()> {
        match &self.stream_mut(token)?.connection {
            Some(connection) => connection.set_no_delay(on),
            None => Ok(()),
        }
    }

    /// Bytes written but not yet handed to the kernel (under TLS, counted
    /// as plaintext while they wait to be encrypted, then as records).
    pub fn pending_output(&self, token: usize) -> usize {
        match self.channels.get(token) {
            Some(Channel::Stream(stream)) => stream.unsent(),
            _ => 0,
        }
    }

    /// Appends to the stream's send buffer; sent at the end of the dispatch
    /// (at once outside an iteration) or by [`Engine::flush`]. `ENOTCONN` unless the stream is open. Returns
    /// true when more than [`OUTGOING_HIGH_WATER`] bytes now wait: the
    /// writer should wait for the `Write` event (the stream stops reading).
    ///
    /// A write of at least [`DIRECT_SEND_MIN`] bytes to a stream with
    /// nothing waiting is sent at once instead: batching gains nothing at
    /// that size, and the bytes are not copied into the buffer first. The
    /// stream is still flushed with the others, and its `Write` event (when
    /// asked for) comes from that flush, as for buffered bytes.
    pub fn write(&mut self, token: usize, bytes: &[u8]) -> io::Result<bool> {
        let stream = self.stream_mut(token)?;
        if stream.state != StreamState::Open {
            return Err(not_open());
        }
        let mut sent_directly = 0;
        match (&mut stream.tls, &mut stream.connection) {
            (Some(session), _) => session.send(bytes, &mut stream.outgoing),
            (None, Some(connection)) if bytes.len() >= DIRECT_SEND_MIN && stream.outgoing.is_empty() => {
                // An error here comes back from the flush of what is left, which handles it.
                sent_directly = connection.write(bytes).unwrap_or(0);
                stream.outgoing.push_bytes(&bytes[sent_directly..]);
                // Still marked dirty below: the flush reports the drain (see `send`).
            }
            (None, _) => stream.outgoing.push_bytes(bytes),
        }
        stream.unreported_write = true;
        let above_high_water = stream.unsent() > OUTGOING_HIGH_WATER;
        self.stats.bytes_out += sent_directly as u64;
        self.mark_dirty(token);
        Ok(above_high_water)
    }

    /// Queues `length` bytes of `file` from `offset` (0: to the end of the
    /// file) after what was written before; sent with `sendfile` on Linux.
    /// Returns the number of bytes queued. `ENOTCONN` unless the stream is open.
    pub fn write_file(&mut self, token: usize, file: File, offset: u64, length: u64) -> io::Result<u64> {
        let stream = self.stream_mut(token)?;
        if stream.state != StreamState::Open {
            return Err(not_open());
        }
        let size = file.metadata()?.len();
        let available = size.saturating_sub(offset);
        let length = if length == 0 { available } else { length.min(available) };
        match &mut stream.tls {
            // Encrypted in the engine, a chunk at a time as the socket drains.
            Some(session) => session.send_file(file, offset, length),
            None => stream.outgoing.push_file(file, offset, length),
        }
        stream.unreported_write = true;
        self.mark_dirty(token);
        Ok(length)
    }

    /// Sends the stream's buffered bytes now, as far as the kernel takes them.
    pub fn flush(&mut self, token: usize) {
        self.send(token);
    }

    /// Sends what the stream has queued, as far as the socket takes it
    /// (under TLS, encrypting its backlog as room frees up). Then reports
    /// the drain (a Write event) or finishes a closing stream.
    pub(crate) fn send(&mut self, token: usize) {
        let Engine { channels, scratch, stats, later, queue, polling, unfinished, .. } = self;
        let Some(Channel::Stream(stream)) = channels.get_mut(token) else { return };
        if !matches!(stream.state, StreamState::Open | StreamState::Closing) {
            return;
        }
        let Some(connection) = stream.connection.as_mut() else { return };
        let mut failure = None;
        for round in 0.. {
            if let Some(session) = stream.tls.as_mut() {
                if let Err(error) = session.pump(&mut stream.outgoing, scratch) {
                    failure = Some(error);
                    break;
                }
            }
            if stream.outgoing.is_empty() {
                break;
            }
            if round == MAX_SEND_ROUNDS {
                // The socket still takes more: send on in the next poll, after the others.
                unfinished.push(token);
                break;
            }
            let before = stream.outgoing.len();
            let sent = stream.outgoing.send_to(connection);
            stats.bytes_out += before.saturating_sub(stream.outgoing.len()) as u64;
            match sent {
                Ok(true) => {}
                Ok(false) => break, // the kernel buffer is full: wait for writability
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if let Some(error) = failure {
            stream.outgoing.clear();
            if is_disconnect(&error) {
                self.close_now(token, false);
            } else {
                self.queue.push_back(Event::with(EventKind::WriteError, token, errno(&error), 0));
            }
            return;
        }
        if stream.all_sent() && stream.state == StreamState::Open && std::mem::take(&mut stream.unreported_write) && stream.notify_drain {
            let event = Event::new(EventKind::Write, token);
            if *polling {
                queue.push_back(event);
            } else {
                later.push(event);
            }
        }
        let closed = stream.state == StreamState::Closing && stream.finished_sending();
        if stream.read_blocked {
            self.resume_if_room(token);
        }
        if closed {
            self.close_now(token, true);
        }
    }

    pub(crate) fn close_now(&mut self, token: usize, graceful: bool) {
        let Some(Channel::Stream(stream)) = self.channels.get_mut(token) else { return };
        if let Some(mut connection) = stream.connection.take() {
            let _ = self.poll.registry().deregister(&mut connection);
            self.accept_retry_now |= !self.accept_paused.is_empty();
            stream.local = connection.local_address().ok();
            if graceful {
                let _ = connection.shutdown(Shutdown::Write);
                let mut discarded = 0;
                while discarded < CLOSE_DRAIN_LIMIT {
                    match connection.read(&mut self.scratch) {
                        Ok(0) | Err(_) => break,
                        Ok(count) => discarded += count,
                    }
                }
            }
        }
        stream.state = StreamState::Closed;
        stream.outgoing.clear();
        if let Some(session) = stream.tls.as_mut() {
            session.discard_backlog();
        }
        stream.read_blocked = false;
        self.queue.push_back(Event::new(EventKind::Close, token));
    }

    pub(crate) fn stream_ready(&mut self, token: usize, readiness: Readiness) {
        let Ok(stream) = self.stream_mut(token) else { return };
        match stream.state {
            StreamState::Connecting => {
                if !self.finish_connect(token, readiness) {
                    return;
                }
            }
            StreamState::Open | StreamState::Closing => {}
            StreamState::ConnectFailed | StreamState::Closed => return,
        }
        if readiness.writable {
            self.send(token);
        }
        if readiness.readable || readiness.read_closed || readiness.failed {
            self.receive(token, readiness.read_closed);
        }
    }

    /// Settles a connect on its first readiness; true once connected.
    pub(crate) fn finish_connect(&mut self, token: usize, readiness: Readiness) -> bool {
        let Some(Channel::Stream(stream)) = self.channels.get_mut(token) else { return false };
        let Some(connection) = stream.connection.as_ref() else { return false };
        let outcome = match connection.take_error() {
            Ok(Some(error)) | Err(error) => Err(error),
            Ok(None) => match connection.peer_address() {
                Ok(peer) => Ok(peer),
                Err(_) if !readiness.failed && !readiness.read_closed => return false, // spurious wake-up
                Err(_) => Err(io::Error::from_raw_os_error(libc::ECONNREFUSED)),
            },
        };
        match outcome {
            Ok(peer) => {
                let _ = connection.set_no_delay(true);
                stream.peer = Some(peer);
                stream.state = StreamState::Open;
                let fd = stream.fd;
                self.queue.push_back(Event::with(EventKind::Connect, token, fd, 0));
                true
            }
            Err(error) => {
                if let Some(mut connection) = stream.connection.take() {
                    let _ = self.poll.registry().deregister(&mut connection);
                }
                stream.state = StreamState::ConnectFailed;
                self.queue.push_back(Event::with(EventKind::ConnectError, token, errno(&error), 0));
                false
            }
        }
    }

    /// Reads what the kernel has, up to the stream's buffer limit.
    pub(crate) fn receive(&mut self, token: usize, to_end: bool) {
        let Some(Channel::Stream(stream)) = self.channels.get_mut(token) else { return };
        // A stream closing with flush still reads until its TLS handshake is done (its data waits for it).
        let handshaking = stream.tls.as_ref().is_some_and(|tls| tls.handshaking());
        let reading = stream.state == StreamState::Open || (stream.state == StreamState::Closing && handshaking);
        if !reading || stream.peer_closed || stream.tls.as_ref().is_some_and(|tls| tls.failure().is_some()) {
            return;
        }
        // Unsent bytes do not change while reading: room depends on the read buffer only.
        let limit = if stream.outgoing.len() > OUTGOING_HIGH_WATER { 0 } else { stream.read_limit() };
        let StreamChannel { connection, tls, incoming, outgoing, .. } = stream;
        let Some(connection) = connection.as_mut() else { return };
        let before = incoming.len();
        let mut progress = TlsProgress::default();
        let mut failure = None;
        let mut ended = false;
        loop {
            let room = limit.saturating_sub(incoming.len());
            if room == 0 {
                stream.read_blocked = true;
                break;
            }
            // Plain bytes go straight into a read buffer that has grown large
            // (it keeps up to 64 KiB), saving a copy; others pass through scratch.
            let spare = if tls.is_none() { incoming.spare() } else { Default::default() };
            let direct = spare.len() >= DIRECT_READ_MIN;
            let (read, wanted) = if direct {
                let wanted = room.min(spare.len());
                (connection.read_uninit(&mut spare[..wanted]), wanted)
            } else {
                let wanted = room.min(self.scratch.len());
                (connection.read(&mut self.scratch[..wanted]), wanted)
            };
            match read {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(count) => {
                    self.stats.bytes_in += count as u64;
                    match tls {
                        // SAFETY: the read wrote these `count` bytes of the spare room.
                        _ if direct => unsafe { incoming.commit(count) },
                        Some(session) => {
                            let step = session.receive(&self.scratch[..count], incoming, outgoing);
                            progress.handshake_done |= step.handshake_done;
                            progress.closed |= step.closed;
                            progress.failed |= step.failed;
                            progress.servername |= step.servername;
                            if step.failed || step.closed {
                                break;
                            }
                        }
                        None => incoming.extend(&self.scratch[..count]),
                    }
                    if count < wanted && !to_end {
                        break;
                    }
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        let hung_up = ended || progress.closed;
        if hung_up && !progress.failed {
            // The peer left in the middle of the handshake: that fails it.
            progress.failed = tls.as_mut().is_some_and(|session| session.peer_left_handshake());
        }
        // Records to send, or (the handshake just done) plaintext that waited for it.
        let wrote = tls.is_some() && (!outgoing.is_empty() || progress.handshake_done);
        if progress.handshake_done {
            self.queue.push_back(Event::new(EventKind::SslHandshake, token));
        }
        if progress.servername {
            self.queue.push_back(Event::new(EventKind::SslServername, token));
        }
        if progress.failed {
            let during_handshake = tls.as_ref().and_then(|session| session.failure()).is_some_and(|failure| failure.during_handshake);
            let kind = if during_handshake { EventKind::SslHandshakeError } else { EventKind::SslError };
            self.queue.push_back(Event::new(kind, token));
        }
        if incoming.len() > before && !stream.read_queued {
            stream.read_queued = true;
            self.queue.push_back(Event::new(EventKind::Read, token));
        }
        if hung_up {
            stream.peer_closed = true;
            if stream.state == StreamState::Open {
                self.queue.push_back(Event::new(EventKind::Hangup, token));
            }
        }
        if wrote {
            self.mark_dirty(token);
        }
        if progress.failed {
            // Send the alert now: the error handler usually closes without flushing.
            self.send(token);
        }
        if hung_up && matches!(self.stream_state(token), Some(StreamState::Closing)) {
            // Closing while waiting for a handshake the peer has given up on.
            self.close_now(token, false);
            return;
        }
        if let Some(error) = failure {
            if is_disconnect(&error) {
                self.close_now(token, false);
            } else {
                self.queue.push_back(Event::with(EventKind::ReadError, token, errno(&error), 0));
            }
        }
    }

    // ----- TLS ------------------------------------------------------------

    /// Starts TLS on a stream (before or after it connects; on an open
    /// stream, after the data already written). Bytes already received are
    /// taken as the first TLS records.
    pub fn start_tls(&mut self, token: usize, config: &TlsConfig, server_name: &str) -> Result<(), TlsOptionError> {
        let Ok(stream) = self.stream_mut(token) else { return Err(TlsOptionError { option: "stream", message: "not a stream".into(), code: None }) };
        let mut session = match config {
            TlsConfig::Client(client) => TlsSession::client(client.clone(), server_name)?,
            TlsConfig::Server(server) => TlsSession::server(server),
        };
        session.start(&mut stream.outgoing);
        let early = std::mem::take(&mut stream.incoming);
        stream.tls = Some(Box::new(session));
        let mut progress = TlsProgress::default();
        if !early.is_empty() {
            let session = stream.tls.as_mut().expect("just set");
            progress = session.receive(early.as_slice(), &mut stream.incoming, &mut stream.outgoing);
        }
        let handshake_to_send = !stream.outgoing.is_empty();
        if progress.servername {
            self.queue.push_back(Event::new(EventKind::SslServername, token));
        }
        if progress.failed {
            self.queue.push_back(Event::new(EventKind::SslHandshakeError, token));
        }
        if handshake_to_send {
            self.mark_dirty(token);
        }
        Ok(())
    }

    /// Why a stream's TLS session failed.
    pub fn tls_failure(&self, token: usize) -> Option<TlsFailure> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => stream.tls.as_ref()?.failure().cloned(),
            _ => None,
        }
    }

    /// The ALPN protocol a stream's TLS handshake agreed on.
    pub fn alpn_protocol(&self, token: usize) -> Option<Vec<u8>> {
        match self.channels.get(token)? {
            Channel::Stream(stream) => stream.tls.as_ref()?.alpn_protocol().map(<[u8]>::to_vec),
            _ => None,
        }
    }
}
