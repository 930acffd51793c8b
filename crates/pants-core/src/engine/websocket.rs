//! WebSocket messages written as frames, and per-engine topics.

use std::io;

use super::Engine;
use crate::channel::Channel;
use crate::errors::not_a_stream;
use crate::ws::plain_frame;

impl Engine {
    /// Queues one WebSocket message or control frame (`opcode`) on a
    /// stream framed by [`Delimiter::WebSocket`]: masked on the client side,
    /// compressed when negotiated. As [`Engine::write`]: true when more than
    /// the high-water mark waits to be sent; `ENOTCONN` unless it is open.
    pub fn write_message(&mut self, token: usize, opcode: u8, payload: &[u8]) -> io::Result<bool> {
        let (stream, reactor) = self.stream_mut(token)?;
        stream.write_message(reactor, opcode, payload)
    }

    /// Subscribes a stream to a topic; false when it already was.
    pub fn subscribe(&mut self, token: usize, topic: &str) -> io::Result<bool> {
        self.stream(token).ok_or_else(not_a_stream)?;
        Ok(self.topics.subscribe(token, topic))
    }

    /// Unsubscribes a stream from a topic; false when it was not subscribed.
    pub fn unsubscribe(&mut self, token: usize, topic: &str) -> bool {
        self.topics.unsubscribe(token, topic)
    }

    /// Unsubscribes a stream from every topic (it also happens on release).
    pub fn unsubscribe_all(&mut self, token: usize) {
        self.topics.leave_all(token);
    }

    /// The topics a stream is subscribed to.
    pub fn subscriptions(&self, token: usize) -> &[Box<str>] {
        self.topics.subscriptions(token)
    }

    /// Queues one message on every stream subscribed to `topic`, in one
    /// call: the frame is built once for every server-side stream without
    /// compression. Returns how many streams took it.
    pub fn publish(&mut self, topic: &str, opcode: u8, payload: &[u8]) -> usize {
        let mut frame = std::mem::take(&mut self.published);
        frame.clear();
        plain_frame(opcode, payload, &mut frame);
        let mut queued = 0;
        for token in self.topics.subscribers(topic) {
            if let Some(stream) = self.channels.get_mut(token).and_then(Channel::stream_mut) {
                queued += usize::from(stream.write_published(&mut self.reactor, opcode, payload, &frame));
            }
        }
        self.published = frame;
        queued
    }
}
