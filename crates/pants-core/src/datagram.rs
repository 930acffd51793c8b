//! UDP channels: packets in, framed per sender; packets out, queued and
//! sent at the end of the iteration.
//!
//! Incoming packets wait in arrival order. Taking a frame moves the next
//! packet into its sender's buffer and frames that buffer with the
//! channel's delimiter, so a sender's frame may span several packets and
//! senders never mix. With the `Chunk` delimiter every packet is a frame.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, ErrorKind};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Interest, Token};
use socket2::{Domain, Socket, Type};

use crate::byte_queue::ByteQueue;
use crate::errors::{closed, errno};
use crate::event::EventKind;
use crate::framing::{Delimiter, FrameRead, Framer};
use crate::input::{FramedInput, DEFAULT_BUFFER_SIZE};
use crate::reactor::{Reactor, Readiness};
use crate::sys::{self, RawHandle};

/// Received bytes a datagram channel holds before it stops reading (the
/// kernel then drops what does not fit, as UDP does).
const MAX_QUEUED_BYTES: usize = 4 << 20;

/// Default of [`Engine::set_sender_limits`](crate::Engine::set_sender_limits)' `max_senders`: the most senders with an unfinished frame.
pub const DEFAULT_MAX_SENDERS: usize = 1024;

/// Default of [`Engine::set_sender_limits`](crate::Engine::set_sender_limits)' `sender_timeout`: how long a sender's unfinished frame waits for its next packet.
pub const DEFAULT_SENDER_TIMEOUT: Duration = Duration::from_secs(30);

/// A sender's bytes that do not make a whole frame yet.
#[derive(Debug)]
struct SenderBuffer {
    incoming: ByteQueue,
    framer: Framer,
    /// Its key in [`DatagramChannel::idle`].
    stamp: u64,
}

/// A UDP socket: packets in, framed per sender; packets out, corked like
/// a stream's writes.
#[derive(Debug)]
pub(crate) struct DatagramChannel {
    token: usize,
    socket: Option<UdpSocket>,
    delimiter: Delimiter,
    buffer_size: usize,
    packets: VecDeque<(SocketAddr, Vec<u8>)>,
    queued_bytes: usize,
    senders: HashMap<SocketAddr, SenderBuffer>,
    /// The senders with a buffer, least recently active first: stamp →
    /// (sender, when its last packet was added).
    idle: BTreeMap<u64, (SocketAddr, Instant)>,
    next_stamp: u64,
    /// Bytes in all sender buffers.
    sender_bytes: usize,
    max_senders: usize,
    sender_timeout: Duration,
    /// The sender whose buffer the next frame is taken from, if it has one.
    current: Option<SocketAddr>,
    /// The sender of the frame (or overflow) reported last.
    last_sender: Option<SocketAddr>,
    outbox: VecDeque<(SocketAddr, Vec<u8>)>,
    /// A Read event for this channel is waiting in the queue.
    read_queued: bool,
    /// Reading stopped at [`MAX_QUEUED_BYTES`].
    read_blocked: bool,
    /// The channel is in the reactor's list of channels to send at the end of the dispatch.
    dirty: bool,
    /// `close(flush)` waits for the outbox to empty.
    closing: bool,
}

impl DatagramChannel {
    /// Binds a UDP socket as channel `token` (port 0: ephemeral).
    /// `SO_BROADCAST` is set, and an IPv6 socket also serves IPv4.
    pub fn bind(address: SocketAddr, token: usize, reactor: &Reactor) -> io::Result<Self> {
        let mut socket = bind_udp(address)?;
        reactor.registry().register(&mut socket, Token(token), Interest::READABLE | Interest::WRITABLE)?;
        Ok(Self::new(socket, token))
    }

    /// A channel for sending to `peer`'s address family, on an ephemeral port.
    pub fn open(peer: SocketAddr, token: usize, reactor: &Reactor) -> io::Result<Self> {
        Self::bind(unspecified_for(&peer), token, reactor)
    }

    fn new(socket: UdpSocket, token: usize) -> Self {
        Self {
            token,
            socket: Some(socket),
            delimiter: Delimiter::Chunk,
            buffer_size: DEFAULT_BUFFER_SIZE,
            packets: VecDeque::new(),
            queued_bytes: 0,
            senders: HashMap::new(),
            idle: BTreeMap::new(),
            next_stamp: 0,
            sender_bytes: 0,
            max_senders: DEFAULT_MAX_SENDERS,
            sender_timeout: DEFAULT_SENDER_TIMEOUT,
            current: None,
            last_sender: None,
            outbox: VecDeque::new(),
            read_queued: false,
            read_blocked: false,
            dirty: false,
            closing: false,
        }
    }

    /// The socket's handle while it is open.
    pub fn handle(&self) -> Option<RawHandle> {
        self.socket.as_ref().map(sys::raw_handle)
    }

    /// The socket is closed.
    pub fn is_closed(&self) -> bool {
        self.socket.is_none()
    }

    /// The bound address.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.socket.as_ref()?.local_addr().ok()
    }

    /// The sender of the frame (or overflow) reported last.
    pub fn last_sender(&self) -> Option<SocketAddr> {
        self.last_sender
    }

    /// Bounds the senders with an unfinished frame: at most `max_senders`
    /// at once (a new one evicts the one idle longest), each dropped after
    /// `sender_timeout` without a packet.
    pub fn set_sender_limits(&mut self, max_senders: usize, sender_timeout: Duration) {
        self.max_senders = max_senders.max(1);
        self.sender_timeout = sender_timeout;
        while self.senders.len() > self.max_senders {
            self.evict_idlest();
        }
    }

    /// Drops the unfinished frames of senders idle for `sender_timeout` at `now`.
    pub fn expire_senders(&mut self, now: Instant) {
        while let Some((_, &(sender, active_at))) = self.idle.first_key_value() {
            if now.saturating_duration_since(active_at) < self.sender_timeout {
                break;
            }
            self.remove_sender(sender);
        }
    }

    /// True while some sender has an unfinished frame.
    pub fn has_senders(&self) -> bool {
        !self.senders.is_empty()
    }

    fn evict_idlest(&mut self) {
        if let Some((_, &(sender, _))) = self.idle.first_key_value() {
            self.remove_sender(sender);
        }
    }

    /// Forgets a sender's buffer and its unfinished frame.
    fn remove_sender(&mut self, sender: SocketAddr) {
        if let Some(buffer) = self.senders.remove(&sender) {
            self.idle.remove(&buffer.stamp);
            self.sender_bytes -= buffer.incoming.len();
        }
        if self.current == Some(sender) {
            self.current = None;
        }
    }

    /// Drops `count` bytes from the front of a sender's buffer.
    fn consume_from(&mut self, sender: SocketAddr, count: usize) {
        if let Some(buffer) = self.senders.get_mut(&sender) {
            let count = count.min(buffer.incoming.len());
            buffer.incoming.consume(count);
            self.sender_bytes -= count;
        }
    }

    /// Appends a packet to its sender's buffer, which becomes the current
    /// one. A new sender beyond `max_senders` evicts the one idle longest.
    fn add_to_sender(&mut self, sender: SocketAddr, packet: &[u8]) {
        if !self.senders.contains_key(&sender) && self.senders.len() >= self.max_senders {
            self.evict_idlest();
        }
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        let delimiter = &self.delimiter;
        let buffer = self.senders.entry(sender).or_insert_with(|| SenderBuffer { incoming: ByteQueue::new(), framer: Framer::new(delimiter.clone()), stamp });
        self.idle.remove(&buffer.stamp);
        buffer.stamp = stamp;
        self.idle.insert(stamp, (sender, Instant::now()));
        buffer.incoming.extend(packet);
        self.sender_bytes += packet.len();
        self.current = Some(sender);
    }

    /// True when reading may go on: the queued packets are under the limit.
    fn has_room(&self) -> bool {
        self.queued_bytes < MAX_QUEUED_BYTES
    }

    fn forget_if_empty(&mut self, sender: SocketAddr) {
        if self.senders.get(&sender).is_some_and(|buffer| buffer.incoming.is_empty()) {
            self.remove_sender(sender);
        }
    }
}

fn unspecified_for(peer: &SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

fn bind_udp(address: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(address), Type::DGRAM, None)?;
    socket.set_nonblocking(true)?;
    socket.set_reuse_address(true)?;
    socket.set_broadcast(true)?;
    if address.is_ipv6() {
        socket.set_only_v6(false)?;
    }
    socket.bind(&address.into())?;
    Ok(UdpSocket::from_std(socket.into()))
}

impl DatagramChannel {
    /// Queues a packet to `peer`, sent at the end of the dispatch (at once
    /// outside an iteration). `EBADF` once the channel closes.
    pub fn send_to(&mut self, reactor: &mut Reactor, peer: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        if self.closing || self.socket.is_none() {
            return Err(closed());
        }
        self.outbox.push_back((peer, bytes.to_vec()));
        self.mark_dirty(reactor);
        Ok(())
    }

    /// Puts the channel on the list to send at the end of the dispatch;
    /// outside an iteration, sends at once.
    fn mark_dirty(&mut self, reactor: &mut Reactor) {
        if reactor.cork(self.token, &mut self.dirty) {
            self.send_packets(reactor);
        }
    }

    /// The end of a dispatch: sends what was corked.
    pub fn send_corked(&mut self, reactor: &mut Reactor) {
        self.dirty = false;
        self.send_packets(reactor);
    }

    /// What the poller reported for the channel.
    pub fn ready(&mut self, reactor: &mut Reactor, readiness: Readiness) {
        if readiness.writable {
            self.send_packets(reactor);
        }
        if readiness.readable || readiness.failed {
            self.receive_packets(reactor);
        }
    }

    /// Queues the packets the kernel has, up to [`MAX_QUEUED_BYTES`].
    pub fn receive_packets(&mut self, reactor: &mut Reactor) {
        if self.closing {
            return;
        }
        let Some(socket) = self.socket.as_ref() else { return };
        let mut received = false;
        let mut failure = None;
        loop {
            if self.queued_bytes >= MAX_QUEUED_BYTES {
                self.read_blocked = true;
                break;
            }
            match socket.recv_from(&mut reactor.scratch) {
                Ok((count, sender)) => {
                    reactor.stats.bytes_in += count as u64;
                    self.queued_bytes += count;
                    self.packets.push_back((sender, reactor.scratch[..count].to_vec()));
                    received = true;
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                // An ICMP error for an earlier send (port unreachable): not fatal for UDP.
                Err(error) if error.kind() == ErrorKind::ConnectionRefused => {}
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        if received && !self.read_queued {
            self.read_queued = true;
            reactor.report(EventKind::Read, self.token);
        }
        if let Some(error) = failure {
            reactor.report_with(EventKind::ReadError, self.token, errno(&error), 0);
        }
    }

    /// Sends the queued packets as far as the socket takes them; a closing
    /// channel closes once they are all sent.
    fn send_packets(&mut self, reactor: &mut Reactor) {
        let Some(socket) = self.socket.as_ref() else { return };
        while let Some((peer, packet)) = self.outbox.front() {
            match socket.send_to(packet, *peer) {
                Ok(sent) => {
                    reactor.stats.bytes_out += sent as u64;
                    self.outbox.pop_front();
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => return,
                Err(error) => {
                    self.outbox.pop_front();
                    reactor.report_with(EventKind::WriteError, self.token, errno(&error), 0);
                }
            }
        }
        if self.closing {
            self.close_now(reactor);
        }
    }

    /// Closes: with `flush`, once the queued packets are sent.
    pub fn close(&mut self, reactor: &mut Reactor, flush: bool) {
        if self.socket.is_none() {
            return;
        }
        if flush && !self.outbox.is_empty() {
            self.closing = true;
            self.mark_dirty(reactor);
        } else {
            self.close_now(reactor);
        }
    }

    fn close_now(&mut self, reactor: &mut Reactor) {
        if let Some(mut socket) = self.socket.take() {
            let _ = reactor.registry().deregister(&mut socket);
            self.outbox.clear();
            self.closing = false;
            reactor.report(EventKind::Close, self.token);
        }
    }
}

impl FramedInput for DatagramChannel {
    /// Unfinished frames of every sender are reframed with the new delimiter.
    fn set_delimiter(&mut self, delimiter: Delimiter) {
        for buffer in self.senders.values_mut() {
            buffer.framer = Framer::new(delimiter.clone());
        }
        self.delimiter = delimiter;
    }

    fn set_buffer_size(&mut self, size: usize) {
        self.buffer_size = size.max(1);
    }

    /// Takes the next frame (see the module docs).
    fn read_frame(&mut self, _reactor: &mut Reactor, out: &mut [u8]) -> FrameRead {
        loop {
            if let Some(sender) = self.current {
                let buffer = self.senders.get_mut(&sender).expect("the current sender has a buffer");
                let before = buffer.incoming.len();
                match buffer.framer.decode(&mut buffer.incoming, out) {
                    FrameRead::Frame(len) => {
                        self.sender_bytes -= before - buffer.incoming.len();
                        self.last_sender = Some(sender);
                        self.forget_if_empty(sender);
                        return FrameRead::Frame(len);
                    }
                    FrameRead::NeedSpace(len) => return FrameRead::NeedSpace(len),
                    FrameRead::Incomplete | FrameRead::Overflow => {}
                }
                self.current = None;
                if buffer.incoming.len() > self.buffer_size {
                    self.remove_sender(sender);
                    self.last_sender = Some(sender);
                    return FrameRead::Overflow;
                }
                self.forget_if_empty(sender);
            }
            let Some((sender, packet)) = self.packets.pop_front() else { return FrameRead::Incomplete };
            self.queued_bytes -= packet.len();
            if self.delimiter == Delimiter::Chunk && !self.senders.contains_key(&sender) {
                if packet.len() > self.buffer_size {
                    self.last_sender = Some(sender);
                    return FrameRead::Overflow;
                }
                if packet.len() > out.len() {
                    self.queued_bytes += packet.len();
                    self.packets.push_front((sender, packet));
                    return FrameRead::NeedSpace(self.packets[0].1.len());
                }
                out[..packet.len()].copy_from_slice(&packet);
                self.last_sender = Some(sender);
                return FrameRead::Frame(packet.len());
            }
            self.add_to_sender(sender, &packet);
        }
    }

    /// The bytes framing will look at next (for framing done by the caller):
    /// the current sender's buffer, after moving the next packet into it if
    /// there is no current sender.
    fn peek_input(&mut self) -> &[u8] {
        if self.current.is_none() {
            if let Some((sender, packet)) = self.packets.pop_front() {
                self.queued_bytes -= packet.len();
                self.add_to_sender(sender, &packet);
            }
        }
        match self.current.and_then(|sender| self.senders.get(&sender)) {
            Some(buffer) => buffer.incoming.as_slice(),
            None => &[],
        }
    }

    /// Drops `count` peeked bytes as a frame from the current sender; 0:
    /// there is no frame in them, move on to the next packet.
    fn consume_input(&mut self, count: usize) {
        let Some(sender) = self.current else { return };
        if count == 0 {
            self.current = None;
            return;
        }
        self.consume_from(sender, count);
        self.last_sender = Some(sender);
        self.forget_if_empty(sender);
    }

    /// Drops the current sender's unframed bytes (after an overflow).
    fn discard_input(&mut self) {
        if let Some(sender) = self.current {
            self.remove_sender(sender);
        }
    }

    /// Over all senders (kept as a count: framing in JavaScript asks for it once per packet).
    fn pending_input(&self) -> usize {
        self.queued_bytes + self.sender_bytes
    }

    fn resume_if_room(&mut self, reactor: &mut Reactor) {
        if self.read_blocked && self.has_room() {
            self.read_blocked = false;
            reactor.resumed.push(self.token);
        }
    }

    fn read_event_taken(&mut self) {
        self.read_queued = false;
    }
}
