//! WebSocket: messages written as frames, and per-engine topics.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::io::write_status;
use super::misuse;
use crate::native_engine::{inspect, operate};

/// Queues one message or control frame (`opcode`) on a stream framed as
/// WebSocket: 0, 1 when more than the high-water mark waits to be sent, or
/// `-errno`. A stream that does not speak WebSocket throws.
#[napi]
pub fn write_message(engine: u32, token: u32, opcode: u32, data: &[u8]) -> Result<i32> {
    let opcode = u8::try_from(opcode).map_err(|_| Error::new(Status::InvalidArg, "an opcode is a byte"))?;
    operate(engine, |engine| match engine.write_message(token as usize, opcode, data) {
        Err(error) if error.kind() == std::io::ErrorKind::InvalidInput => Err(misuse(error)),
        result => Ok(write_status(result)),
    })?
}

/// Subscribes a stream to a topic; false when it already was.
#[napi]
pub fn subscribe(engine: u32, token: u32, topic: String) -> Result<bool> {
    operate(engine, |engine| engine.subscribe(token as usize, &topic))?.map_err(misuse)
}

/// Unsubscribes a stream from a topic; false when it was not subscribed.
#[napi]
pub fn unsubscribe(engine: u32, token: u32, topic: String) -> Result<bool> {
    operate(engine, |engine| engine.unsubscribe(token as usize, &topic))
}

/// Unsubscribes a stream from every topic.
#[napi]
pub fn unsubscribe_all(engine: u32, token: u32) -> Result<()> {
    operate(engine, |engine| engine.unsubscribe_all(token as usize))
}

/// The topics a stream is subscribed to, in the order it subscribed.
#[napi]
pub fn subscriptions(engine: u32, token: u32) -> Result<Vec<String>> {
    inspect(engine, |engine| engine.subscriptions(token as usize).iter().map(|topic| topic.to_string()).collect())
}

/// Queues one message on every stream subscribed to `topic`: how many took it.
#[napi]
pub fn publish(engine: u32, topic: String, opcode: u32, data: &[u8]) -> Result<u32> {
    let opcode = u8::try_from(opcode).map_err(|_| Error::new(Status::InvalidArg, "an opcode is a byte"))?;
    operate(engine, |engine| engine.publish(&topic, opcode, data) as u32)
}
