//! HTTP requests and responses and WebSocket messages on a stream: what its
//! input is cut into when the framing is
//! [`Delimiter::HttpRequest`](crate::Delimiter::HttpRequest),
//! [`Delimiter::HttpResponse`](crate::Delimiter::HttpResponse) or
//! [`Delimiter::WebSocket`](crate::Delimiter::WebSocket), and the frames it
//! writes for them.

use std::io;

use super::{StreamChannel, StreamState};
use crate::errors::not_websocket;
use crate::framing::FrameRead;
use crate::http::{BodyRead, Framed, CONTINUE};
use crate::reactor::Reactor;
use crate::ws::Cut;

impl StreamChannel {
    /// The next whole HTTP request ([`Delimiter::HttpRequest`](crate::Delimiter::HttpRequest)). A client
    /// waiting for leave to send its body is told `100 Continue` here, when
    /// the application asks for the request: after the responses before it.
    pub(super) fn read_request(&mut self, reactor: &mut Reactor, out: &mut [u8]) -> FrameRead {
        let http = self.http.as_deref_mut().expect("read_request is for HTTP framing");
        let send_continue = loop {
            match http.frame(self.incoming.as_slice(), out) {
                Framed::Progress { consumed } => self.incoming.consume(consumed),
                Framed::Frame { consumed, length } => {
                    self.incoming.consume(consumed);
                    return FrameRead::Frame(length);
                }
                Framed::NeedSpace(size) => return FrameRead::NeedSpace(size),
                Framed::Incomplete { send_continue } => break send_continue,
            }
        };
        if send_continue && self.state == StreamState::Open {
            self.send_interim(reactor, CONTINUE);
        }
        if self.incoming.len() > self.buffer_size {
            FrameRead::Overflow
        } else {
            FrameRead::Incomplete
        }
    }

    /// The next response frame ([`Delimiter::HttpResponse`](crate::Delimiter::HttpResponse)): once the peer
    /// has closed, the framer is told the input is all there is.
    pub(super) fn read_response(&mut self, out: &mut [u8]) -> FrameRead {
        let framer = self.http_response.as_deref_mut().expect("read_response is for HTTP response framing");
        loop {
            match framer.frame(self.incoming.as_slice(), self.peer_closed, out) {
                Framed::Progress { consumed } => self.incoming.consume(consumed),
                Framed::Frame { consumed, length } => {
                    self.incoming.consume(consumed);
                    return FrameRead::Frame(length);
                }
                Framed::NeedSpace(size) => return FrameRead::NeedSpace(size),
                Framed::Incomplete { .. } if self.incoming.len() > self.buffer_size => return FrameRead::Overflow,
                Framed::Incomplete { .. } => return FrameRead::Incomplete,
            }
        }
    }

    /// Takes the next bytes of a response body of known length into the
    /// start of `out`, unframed: from the read buffer, else (a plain stream
    /// whose poller left bytes in the socket) straight from the socket.
    pub(crate) fn read_body(&mut self, reactor: &mut Reactor, out: &mut [u8]) -> BodyRead {
        let Some(left) = self.http_response.as_deref().and_then(|framer| framer.body_left()) else { return BodyRead::NotBody };
        let wanted = left.min(out.len() as u64) as usize;
        if wanted == 0 || (self.peer_closed && self.incoming.is_empty()) {
            // Full, or truncated: the framer says which in a frame.
            return BodyRead::NotBody;
        }
        let out = &mut out[..wanted];
        let count = if self.incoming.is_empty() {
            match self.read_in_place(reactor, out) {
                Some(count) => count,
                None => return BodyRead::NotBody, // the peer has closed
            }
        } else {
            let count = self.incoming.len().min(wanted);
            out[..count].copy_from_slice(&self.incoming.as_slice()[..count]);
            self.incoming.consume(count);
            count
        };
        let ended = self.http_response.as_deref_mut().is_some_and(|framer| framer.take_body(count));
        BodyRead::Piece { count, ended }
    }

    /// The next WebSocket message or control frame ([`Delimiter::WebSocket`](crate::Delimiter::WebSocket)).
    pub(super) fn read_message(&mut self, out: &mut [u8]) -> FrameRead {
        let ws = self.ws.as_deref_mut().expect("read_message is for WebSocket framing");
        loop {
            match ws.framer.frame(self.incoming.as_slice(), out) {
                Cut::Progress { consumed } => self.incoming.consume(consumed),
                Cut::Frame { consumed, length } => {
                    self.incoming.consume(consumed);
                    return FrameRead::Frame(length);
                }
                Cut::NeedSpace(size) => return FrameRead::NeedSpace(size),
                Cut::Incomplete if self.incoming.len() > self.buffer_size => return FrameRead::Overflow,
                Cut::Incomplete => return FrameRead::Incomplete,
            }
        }
    }

    /// See [`Engine::write_message`](crate::Engine::write_message).
    pub fn write_message(&mut self, reactor: &mut Reactor, opcode: u8, payload: &[u8]) -> io::Result<bool> {
        let Some(ws) = self.ws.as_deref_mut() else { return Err(not_websocket()) };
        let mut frame = std::mem::take(&mut ws.frame);
        frame.clear();
        ws.sender.encode(opcode, payload, &mut frame);
        let written = self.write(reactor, &frame);
        if let Some(ws) = self.ws.as_deref_mut() {
            ws.frame = frame;
        }
        written
    }

    /// Queues a frame built for every plain subscriber of a topic (see
    /// [`Engine::publish`](crate::Engine::publish)); builds its own when this
    /// stream masks or compresses. False when the stream cannot take it.
    pub fn write_published(&mut self, reactor: &mut Reactor, opcode: u8, payload: &[u8], plain: &[u8]) -> bool {
        match self.ws.as_deref() {
            Some(ws) if ws.sender.is_plain() => self.write(reactor, plain).is_ok(),
            Some(_) => self.write_message(reactor, opcode, payload).is_ok(),
            None => false,
        }
    }

    /// Queues bytes the engine writes on the application's behalf (an
    /// interim response): sent like a write, but raising no Write event.
    fn send_interim(&mut self, reactor: &mut Reactor, bytes: &[u8]) {
        match &mut self.tls {
            Some(session) => session.send(bytes, &mut self.outgoing),
            None => self.outgoing.push_bytes(bytes),
        }
        self.mark_dirty(reactor);
    }
}
