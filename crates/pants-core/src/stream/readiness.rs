//! What the poller reports for a stream: a connect settling, the socket
//! becoming writable (send what is queued) or readable (read into the
//! buffer, under TLS through the session, up to the buffer's limit).

use std::io::ErrorKind;

use super::{FailedCall, StreamChannel, StreamState, DIRECT_READ_MAX, DIRECT_READ_MIN, IN_PLACE_READ_BUDGET};
use crate::errors::{connection_refused, errno, is_disconnect};
use crate::event::EventKind;
use crate::framing::{Delimiter, FrameRead};
use crate::input::FramedInput;
use crate::reactor::{Reactor, Readiness};
use crate::socket::Connection;
use crate::sys;
use crate::tls::TlsProgress;

impl StreamChannel {
    /// What the poller reported for the stream.
    pub fn ready(&mut self, reactor: &mut Reactor, readiness: Readiness) {
        match self.state {
            StreamState::Connecting => {
                if !self.finish_connect(reactor, readiness) {
                    return;
                }
            }
            StreamState::Open | StreamState::Closing => {}
            StreamState::ConnectFailed | StreamState::Closed => return,
        }
        if readiness.writable {
            self.send(reactor);
        }
        if readiness.readable || readiness.read_closed || readiness.failed {
            self.receive(reactor, readiness.read_closed);
        }
    }

    /// Settles a connect on its first readiness; true once connected.
    fn finish_connect(&mut self, reactor: &mut Reactor, readiness: Readiness) -> bool {
        let Some(connection) = self.connection.as_ref() else { return false };
        let outcome = match connection.take_error() {
            Ok(Some(error)) | Err(error) => Err(error),
            Ok(None) => match connection.peer_address() {
                Ok(peer) => Ok(peer),
                Err(_) if !readiness.failed && !readiness.read_closed => return false, // spurious wake-up
                Err(_) => Err(connection_refused()),
            },
        };
        match outcome {
            Ok(peer) => {
                let _ = connection.set_no_delay(true);
                let fd = sys::handle_number(connection.raw_handle());
                self.peer = Some(peer);
                self.state = StreamState::Open;
                reactor.report_with(EventKind::Connect, self.token, fd, 0);
                true
            }
            Err(error) => {
                if let Some(mut connection) = self.connection.take() {
                    let _ = reactor.registry().deregister(&mut connection);
                }
                self.state = StreamState::ConnectFailed;
                reactor.report_with(EventKind::ConnectError, self.token, errno(&error), 0);
                false
            }
        }
    }

    /// Reads what the kernel has, up to the stream's buffer limit (with
    /// `to_end`, on to WouldBlock or end-of-stream even after a short read).
    pub fn receive(&mut self, reactor: &mut Reactor, to_end: bool) {
        let token = self.token;
        // A stream closing with flush still reads until its TLS handshake is done (its data waits for it).
        let handshaking = self.tls.as_ref().is_some_and(|tls| tls.handshaking());
        let reading = self.state == StreamState::Open || (self.state == StreamState::Closing && handshaking);
        if !reading || (self.paused && !handshaking) || self.peer_closed || self.tls.as_ref().is_some_and(|tls| tls.failure().is_some()) {
            return;
        }
        if self.reads_on_demand() && self.incoming.is_empty() {
            // Read when the application takes its next frame, straight into its memory.
            self.readable = true;
            self.readable_to_end |= to_end;
            self.read_budget = self.read_limit();
            self.report_read(reactor);
            return;
        }
        self.readable = false;
        // Unsent bytes do not change while reading: room depends on the read buffer only.
        let limit = if self.outgoing.len() > self.high_water { 0 } else { self.read_limit() };
        let StreamChannel { connection, tls, incoming, outgoing, .. } = self;
        let Some(connection) = connection.as_mut() else { return };
        let before = incoming.len();
        let mut progress = TlsProgress::default();
        let mut failure = None;
        let mut ended = false;
        loop {
            let room = limit.saturating_sub(incoming.len());
            if room == 0 {
                self.read_blocked = true;
                self.read_budget = IN_PLACE_READ_BUDGET;
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
                let wanted = room.min(reactor.scratch.len());
                (connection.read(&mut reactor.scratch[..wanted]), wanted)
            };
            match read {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(count) => {
                    reactor.stats.bytes_in += count as u64;
                    match tls {
                        // SAFETY: the read wrote these `count` bytes of the spare room.
                        _ if direct => unsafe { incoming.commit(count) },
                        Some(session) => {
                            let step = session.receive(&reactor.scratch[..count], incoming, outgoing);
                            progress.handshake_done |= step.handshake_done;
                            progress.closed |= step.closed;
                            progress.failed |= step.failed;
                            progress.servername |= step.servername;
                            if step.failed || step.closed {
                                break;
                            }
                        }
                        None => incoming.extend(&reactor.scratch[..count]),
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
            reactor.report(EventKind::SslHandshake, token);
        }
        if progress.servername {
            reactor.report(EventKind::SslServername, token);
        }
        let stop_watching = progress.handshake_done && self.paused;
        if progress.failed {
            let during_handshake = tls.as_ref().and_then(|session| session.failure()).is_some_and(|failure| failure.during_handshake);
            let kind = if during_handshake { EventKind::SslHandshakeError } else { EventKind::SslError };
            reactor.report(kind, token);
        }
        if incoming.len() > before {
            self.bytes_read += (incoming.len() - before) as u64;
            self.idle.last_active = reactor.now;
            self.report_read(reactor);
        }
        if hung_up {
            self.peer_hung_up(reactor);
        }
        if wrote {
            self.mark_dirty(reactor);
        }
        if stop_watching {
            let _ = self.watch_readable(reactor, false);
        }
        if progress.failed {
            // Send the alert now: the error handler usually closes without flushing.
            self.send(reactor);
        }
        if hung_up && self.state == StreamState::Closing {
            // Closing while waiting for a handshake the peer has given up on.
            self.close_now(reactor, false, None);
            return;
        }
        if hung_up && self.write_shut && self.state == StreamState::Open {
            // Both sides have ended.
            self.close_now(reactor, true, None);
            return;
        }
        if let Some(error) = failure {
            self.read_failed(reactor, &error);
        }
    }

    /// A plain stream framing chunks reads on demand: the poller only notes
    /// that the socket is readable, and the socket is read when the
    /// application asks for its next frame, straight into the application's
    /// memory (one copy fewer than through the read buffer).
    pub(super) fn reads_on_demand(&self) -> bool {
        self.state == StreamState::Open
            && self.tls.is_none()
            && self.http.is_none()
            && self.ws.is_none()
            && self.http_response.is_none()
            && matches!(self.framer.delimiter(), Delimiter::Chunk)
    }

    /// Reading on demand ends (TLS started): the poller reads what the
    /// socket holds from now on.
    pub(super) fn stop_reading_on_demand(&mut self, reactor: &mut Reactor) {
        if std::mem::take(&mut self.readable) {
            self.read_blocked = true;
            self.resume_if_room(reactor);
        }
    }

    /// Reads the socket for the application's next frame, into `out` when
    /// it has room for a large read, else through the scratch buffer (see
    /// [`StreamChannel::reads_on_demand`]).
    pub(super) fn read_on_demand(&mut self, reactor: &mut Reactor, out: &mut [u8]) -> FrameRead {
        if self.read_budget == 0 {
            return FrameRead::Incomplete; // read on in the next poll
        }
        let room = self.read_room().min(self.read_budget);
        if room == 0 {
            // Resumed, still readable, once unsent bytes drain.
            self.read_blocked = true;
            return FrameRead::Incomplete;
        }
        let whole = room.min(DIRECT_READ_MAX);
        if self.large_reads && out.len() < whole {
            // Room first: one more call instead of a copy of a large read.
            return FrameRead::NeedSpace(whole);
        }
        let Some(connection) = self.connection.as_mut() else { return FrameRead::Incomplete };
        let direct = out.len() >= DIRECT_READ_MIN.min(room);
        let wanted = if direct { room.min(out.len()) } else { room.min(reactor.scratch.len()) };
        let read = read_uninterrupted(connection, if direct { &mut out[..wanted] } else { &mut reactor.scratch[..wanted] });
        match read {
            Ok(0) => {
                self.readable = false;
                self.peer_hung_up(reactor);
                if self.write_shut && self.state == StreamState::Open {
                    self.close_now(reactor, true, None);
                }
                FrameRead::Incomplete
            }
            Ok(count) => {
                // A short read took what the kernel had (its next bytes raise a new edge).
                if count < wanted && !self.readable_to_end {
                    self.readable = false;
                }
                self.large_reads = count >= DIRECT_READ_MIN;
                self.read_budget -= count;
                if self.read_budget == 0 && self.readable {
                    // This poll's share is read: the rest in the next, after the other channels.
                    reactor.resumed.push(self.token);
                }
                self.took_from_socket(reactor, count);
                if direct {
                    return FrameRead::Frame(count);
                }
                if count <= out.len() {
                    out[..count].copy_from_slice(&reactor.scratch[..count]);
                    return FrameRead::Frame(count);
                }
                self.incoming.extend(&reactor.scratch[..count]);
                FrameRead::NeedSpace(count)
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                self.readable = false;
                self.readable_to_end = false;
                FrameRead::Incomplete
            }
            Err(error) => {
                self.readable = false;
                self.read_failed(reactor, &error);
                FrameRead::Incomplete
            }
        }
    }

    /// Reads the socket straight into `out` (a response body taken in
    /// place) when the poller stopped at the read buffer's limit with bytes
    /// left in it, up to [`IN_PLACE_READ_BUDGET`] per poll. The bytes read
    /// (0: none now), or `None` when the peer has closed.
    pub(super) fn read_in_place(&mut self, reactor: &mut Reactor, out: &mut [u8]) -> Option<usize> {
        let can_read = self.state == StreamState::Open && self.tls.is_none() && !self.paused && self.outgoing.len() <= self.high_water;
        if !self.read_blocked || !can_read {
            return Some(0);
        }
        let wanted = out.len().min(self.read_budget);
        let Some(connection) = self.connection.as_mut().filter(|_| wanted > 0) else { return Some(0) };
        let read = read_uninterrupted(connection, &mut out[..wanted]);
        match read {
            Ok(0) => {
                self.read_blocked = false;
                self.peer_hung_up(reactor);
                None
            }
            Ok(count) => {
                self.took_from_socket(reactor, count);
                self.read_budget -= count;
                if count < wanted {
                    self.read_blocked = false; // the socket is empty: its next bytes raise a new edge
                } else if self.read_budget == 0 {
                    // This poll's share is read: the poller reads on in the next, after the other channels.
                    self.read_blocked = false;
                    reactor.resumed.push(self.token);
                }
                Some(count)
            }
            Err(error) => {
                self.read_blocked = false;
                if error.kind() != ErrorKind::WouldBlock {
                    self.read_failed(reactor, &error);
                }
                Some(0)
            }
        }
    }

    /// `count` bytes read from the socket by the application's call (not the poller).
    fn took_from_socket(&mut self, reactor: &mut Reactor, count: usize) {
        reactor.stats.bytes_in += count as u64;
        self.bytes_read += count as u64;
        self.idle.last_active = reactor.now;
    }

    /// A Read event is due, unless one waits in the queue.
    fn report_read(&mut self, reactor: &mut Reactor) {
        if !self.read_queued {
            self.read_queued = true;
            reactor.report(EventKind::Read, self.token);
        }
    }

    /// The peer sent its end: nothing more will be read.
    fn peer_hung_up(&mut self, reactor: &mut Reactor) {
        self.peer_closed = true;
        if self.state == StreamState::Open {
            reactor.report(EventKind::Hangup, self.token);
        }
    }

    /// Reading failed: a disconnect closes the stream, another error is reported.
    fn read_failed(&mut self, reactor: &mut Reactor, error: &std::io::Error) {
        if is_disconnect(error) {
            self.close_now(reactor, false, Some((error, FailedCall::Read)));
        } else {
            reactor.report_with(EventKind::ReadError, self.token, errno(error), 0);
        }
    }
}

/// One `read`, retried when a signal interrupts it.
fn read_uninterrupted(connection: &mut Connection, buffer: &mut [u8]) -> std::io::Result<usize> {
    loop {
        let read = connection.read(buffer);
        if !matches!(&read, Err(error) if error.kind() == ErrorKind::Interrupted) {
            return read;
        }
    }
}
