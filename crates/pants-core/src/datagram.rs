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
use crate::channel::{Channel, DEFAULT_BUFFER_SIZE};
use crate::engine::{Engine, Readiness};
use crate::errors::{closed, errno, not_a_datagram_channel};
use crate::event::{Event, EventKind};
use crate::framing::{Delimiter, FrameRead, Framer};

/// Received bytes a datagram channel holds before it stops reading (the
/// kernel then drops what does not fit, as UDP does).
const MAX_QUEUED_BYTES: usize = 4 << 20;

/// How often polls look for idle datagram senders.
const SENDER_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// Default of [`DatagramChannel::set_sender_limits`]' `max_senders`.
pub const DEFAULT_MAX_SENDERS: usize = 1024;

/// Default of [`DatagramChannel::set_sender_limits`]' `sender_timeout`.
pub const DEFAULT_SENDER_TIMEOUT: Duration = Duration::from_secs(30);

/// A sender's bytes that do not make a whole frame yet.
#[derive(Debug)]
struct SenderBuffer {
    incoming: ByteQueue,
    framer: Framer,
    /// Its key in [`DatagramChannel::idle`].
    stamp: u64,
}

#[derive(Debug)]
pub(crate) struct DatagramChannel {
    pub socket: Option<UdpSocket>,
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
    pub last_sender: Option<SocketAddr>,
    outbox: VecDeque<(SocketAddr, Vec<u8>)>,
    pub read_queued: bool,
    pub read_blocked: bool,
    pub dirty: bool,
    pub closing: bool,
}

impl DatagramChannel {
    fn new(socket: UdpSocket) -> Self {
        Self {
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

    /// Sets the delimiter; unfinished frames of every sender are reframed with it.
    pub fn set_delimiter(&mut self, delimiter: Delimiter) {
        for buffer in self.senders.values_mut() {
            buffer.framer = Framer::new(delimiter.clone());
        }
        self.delimiter = delimiter;
    }

    pub fn set_buffer_size(&mut self, size: usize) {
        self.buffer_size = size.max(1);
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
    fn consume_from(&mut self, sender: SocketAddr, count: usize, reset: bool) {
        if let Some(buffer) = self.senders.get_mut(&sender) {
            let count = count.min(buffer.incoming.len());
            buffer.incoming.consume(count);
            if reset {
                buffer.framer.reset();
            }
            self.sender_bytes -= count;
        }
    }

    /// Takes the next frame (see the module docs).
    pub fn read_frame(&mut self, out: &mut [u8]) -> FrameRead {
        loop {
            if let Some(sender) = self.current {
                let buffer = self.senders.get_mut(&sender).expect("the current sender has a buffer");
                if let Some(frame) = buffer.framer.decode(buffer.incoming.as_slice()) {
                    if frame.len > out.len() {
                        return FrameRead::NeedSpace(frame.len);
                    }
                    out[..frame.len].copy_from_slice(&buffer.incoming.as_slice()[..frame.len]);
                    self.consume_from(sender, frame.consumed, false);
                    self.last_sender = Some(sender);
                    self.forget_if_empty(sender);
                    return FrameRead::Frame(frame.len);
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

    /// The bytes framing will look at next (for framing done by the caller):
    /// the current sender's buffer, after moving the next packet into it if
    /// there is no current sender.
    pub fn peek(&mut self) -> &[u8] {
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
    pub fn consume(&mut self, count: usize) {
        let Some(sender) = self.current else { return };
        if count == 0 {
            self.current = None;
            return;
        }
        self.consume_from(sender, count, true);
        self.last_sender = Some(sender);
        self.forget_if_empty(sender);
    }

    /// Drops the current sender's unframed bytes (after an overflow).
    pub fn discard_current(&mut self) {
        if let Some(sender) = self.current {
            self.remove_sender(sender);
        }
    }

    /// True when reading may go on: the queued packets are under the limit.
    pub fn has_room(&self) -> bool {
        self.queued_bytes < MAX_QUEUED_BYTES
    }

    /// Bytes received and not yet framed, over all senders (kept as a
    /// count: framing in JavaScript asks for it once per packet).
    pub fn pending_input(&self) -> usize {
        self.queued_bytes + self.sender_bytes
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

impl Engine {
    /// Binds a UDP socket (port 0: ephemeral). `SO_BROADCAST` is set, and an
    /// IPv6 socket also serves IPv4.
    pub fn bind_datagram(&mut self, address: SocketAddr) -> io::Result<usize> {
        let mut socket = bind_udp(address)?;
        let entry = self.channels.vacant_entry();
        let token = entry.key();
        self.poll.registry().register(&mut socket, Token(token), Interest::READABLE | Interest::WRITABLE)?;
        entry.insert(Channel::Datagram(DatagramChannel::new(socket)));
        Ok(token)
    }

    /// Queues a packet to `peer`; it is sent at the end of the dispatch (at once outside an iteration). A
    /// datagram channel that is not bound yet is bound to an ephemeral port.
    pub fn send_datagram(&mut self, token: usize, peer: SocketAddr, bytes: &[u8]) -> io::Result<()> {
        let Some(Channel::Datagram(datagram)) = self.channels.get_mut(token) else {
            return Err(not_a_datagram_channel());
        };
        if datagram.closing || datagram.socket.is_none() {
            return Err(closed());
        }
        datagram.outbox.push_back((peer, bytes.to_vec()));
        self.mark_dirty(token);
        Ok(())
    }

    /// Bounds a datagram channel's senders with an unfinished frame (see
    /// [`DEFAULT_MAX_SENDERS`], [`DEFAULT_SENDER_TIMEOUT`]).
    pub fn set_sender_limits(&mut self, token: usize, max_senders: usize, sender_timeout: Duration) -> io::Result<()> {
        match self.channels.get_mut(token) {
            Some(Channel::Datagram(datagram)) => {
                datagram.set_sender_limits(max_senders, sender_timeout);
                Ok(())
            }
            _ => Err(not_a_datagram_channel()),
        }
    }

    /// Drops the unfinished frames of idle datagram senders, at most once
    /// per [`SENDER_SWEEP_INTERVAL`] (called by every poll).
    pub(crate) fn sweep_idle_senders(&mut self) {
        let now = Instant::now();
        if self.next_sender_sweep.is_some_and(|at| now < at) {
            return;
        }
        self.next_sender_sweep = Some(now + SENDER_SWEEP_INTERVAL);
        for (_, channel) in self.channels.iter_mut() {
            if let Channel::Datagram(datagram) = channel {
                if datagram.has_senders() {
                    datagram.expire_senders(now);
                }
            }
        }
    }

    /// Opens an unbound-looking datagram channel for sending to `peer`'s
    /// address family (bound to an ephemeral port).
    pub fn open_datagram(&mut self, peer: SocketAddr) -> io::Result<usize> {
        self.bind_datagram(unspecified_for(&peer))
    }

    pub(crate) fn datagram_ready(&mut self, token: usize, readiness: Readiness) {
        if readiness.writable {
            self.send_packets(token);
        }
        if readiness.readable || readiness.failed {
            self.receive_packets(token);
        }
    }

    pub(crate) fn receive_packets(&mut self, token: usize) {
        let Some(Channel::Datagram(datagram)) = self.channels.get_mut(token) else { return };
        if datagram.closing {
            return;
        }
        let Some(socket) = datagram.socket.as_ref() else { return };
        let mut received = false;
        let mut failure = None;
        loop {
            if datagram.queued_bytes >= MAX_QUEUED_BYTES {
                datagram.read_blocked = true;
                break;
            }
            match socket.recv_from(&mut self.scratch) {
                Ok((count, sender)) => {
                    self.stats.bytes_in += count as u64;
                    datagram.queued_bytes += count;
                    datagram.packets.push_back((sender, self.scratch[..count].to_vec()));
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
        if received && !datagram.read_queued {
            datagram.read_queued = true;
            self.queue.push_back(Event::new(EventKind::Read, token));
        }
        if let Some(error) = failure {
            self.queue.push_back(Event::with(EventKind::ReadError, token, errno(&error), 0));
        }
    }

    pub(crate) fn send_packets(&mut self, token: usize) {
        let Some(Channel::Datagram(datagram)) = self.channels.get_mut(token) else { return };
        let Some(socket) = datagram.socket.as_ref() else { return };
        while let Some((peer, packet)) = datagram.outbox.front() {
            match socket.send_to(packet, *peer) {
                Ok(sent) => {
                    self.stats.bytes_out += sent as u64;
                    datagram.outbox.pop_front();
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => return,
                Err(error) => {
                    datagram.outbox.pop_front();
                    self.queue.push_back(Event::with(EventKind::WriteError, token, errno(&error), 0));
                }
            }
        }
        if datagram.closing {
            self.close_datagram_now(token);
        }
    }

    pub(crate) fn close_datagram(&mut self, token: usize, flush: bool) {
        let Some(Channel::Datagram(datagram)) = self.channels.get_mut(token) else { return };
        if datagram.socket.is_none() {
            return;
        }
        if flush && !datagram.outbox.is_empty() {
            datagram.closing = true;
            self.mark_dirty(token);
        } else {
            self.close_datagram_now(token);
        }
    }

    fn close_datagram_now(&mut self, token: usize) {
        let Some(Channel::Datagram(datagram)) = self.channels.get_mut(token) else { return };
        if let Some(mut socket) = datagram.socket.take() {
            let _ = self.poll.registry().deregister(&mut socket);
            datagram.outbox.clear();
            datagram.closing = false;
            self.queue.push_back(Event::new(EventKind::Close, token));
        }
    }
}
