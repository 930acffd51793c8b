//! The channels in the engine's slab, one enum over the three kinds: the
//! only place that matches on the kind of a channel to pick its operation.

use crate::address::SocketAddress;
use crate::datagram::DatagramChannel;
use crate::input::FramedInput;
use crate::listener::ListenerChannel;
use crate::reactor::{Reactor, Readiness};
use crate::stream::StreamChannel;
use crate::sys::RawHandle;

/// A channel in the engine's slab.
// Streams, the largest kind, are nearly every channel: kept inline, not
// boxed, they cost no allocation and no pointer chase per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Channel {
    Stream(StreamChannel),
    Listener(ListenerChannel),
    Datagram(DatagramChannel),
}

impl Channel {
    pub fn stream(&self) -> Option<&StreamChannel> {
        match self {
            Channel::Stream(stream) => Some(stream),
            _ => None,
        }
    }

    pub fn stream_mut(&mut self) -> Option<&mut StreamChannel> {
        match self {
            Channel::Stream(stream) => Some(stream),
            _ => None,
        }
    }

    pub fn datagram_mut(&mut self) -> Option<&mut DatagramChannel> {
        match self {
            Channel::Datagram(datagram) => Some(datagram),
            _ => None,
        }
    }

    pub fn listener_mut(&mut self) -> Option<&mut ListenerChannel> {
        match self {
            Channel::Listener(listener) => Some(listener),
            _ => None,
        }
    }

    /// Its framed input: streams' and datagram channels'.
    pub fn input(&self) -> Option<&dyn FramedInput> {
        match self {
            Channel::Stream(stream) => Some(stream),
            Channel::Datagram(datagram) => Some(datagram),
            Channel::Listener(_) => None,
        }
    }

    /// As [`Channel::input`], to take frames.
    pub fn input_mut(&mut self) -> Option<&mut dyn FramedInput> {
        match self {
            Channel::Stream(stream) => Some(stream),
            Channel::Datagram(datagram) => Some(datagram),
            Channel::Listener(_) => None,
        }
    }

    /// The socket's handle while it is open.
    pub fn handle(&self) -> Option<RawHandle> {
        match self {
            Channel::Stream(stream) => stream.handle(),
            Channel::Listener(listener) => listener.handle(),
            Channel::Datagram(datagram) => datagram.handle(),
        }
    }

    /// The socket is closed: the token can be released.
    pub fn is_closed(&self) -> bool {
        match self {
            Channel::Stream(stream) => stream.is_closed(),
            Channel::Listener(listener) => listener.is_closed(),
            Channel::Datagram(datagram) => datagram.is_closed(),
        }
    }

    /// See [`Engine::local_address`](crate::Engine::local_address).
    pub fn local_address(&self) -> Option<SocketAddress> {
        match self {
            Channel::Stream(stream) => stream.local_address(),
            Channel::Listener(listener) => listener.local_address(),
            Channel::Datagram(datagram) => datagram.local_address().map(SocketAddress::Inet),
        }
    }

    /// See [`Engine::peer_address`](crate::Engine::peer_address).
    pub fn peer_address(&self) -> Option<SocketAddress> {
        match self {
            Channel::Stream(stream) => stream.peer_address(),
            Channel::Datagram(datagram) => datagram.last_sender().map(SocketAddress::Inet),
            Channel::Listener(_) => None,
        }
    }

    /// See [`Engine::close`](crate::Engine::close).
    pub fn close(&mut self, reactor: &mut Reactor, flush: bool) {
        match self {
            Channel::Stream(stream) => stream.close(reactor, flush),
            Channel::Listener(listener) => listener.close(reactor),
            Channel::Datagram(datagram) => datagram.close(reactor, flush),
        }
    }

    /// What the poller reported, for a stream or datagram channel (a
    /// listener's readiness is the engine's: accepting adds channels).
    pub fn ready(&mut self, reactor: &mut Reactor, readiness: Readiness) {
        match self {
            Channel::Stream(stream) => stream.ready(reactor, readiness),
            Channel::Datagram(datagram) => datagram.ready(reactor, readiness),
            Channel::Listener(_) => {}
        }
    }

    /// The end of a dispatch: sends what was corked.
    pub fn send_corked(&mut self, reactor: &mut Reactor) {
        match self {
            Channel::Stream(stream) => stream.send_corked(reactor),
            Channel::Datagram(datagram) => datagram.send_corked(reactor),
            Channel::Listener(_) => {}
        }
    }

    /// Reading resumes after a pause at the limit: the readiness edge
    /// (maybe the peer's FIN) may have come meanwhile, so read on to
    /// WouldBlock or the end.
    pub fn resume_reading(&mut self, reactor: &mut Reactor) {
        match self {
            Channel::Stream(stream) => stream.receive(reactor, true),
            Channel::Datagram(datagram) => datagram.receive_packets(reactor),
            Channel::Listener(_) => {}
        }
    }
}
