//! WebSocket (RFC 6455) on a stream: incoming frames parsed, unmasked,
//! validated and reassembled into whole messages ([`MessageFramer`]),
//! outgoing frames built and masked ([`MessageSender`]), permessage-deflate
//! (RFC 7692) on both sides when negotiated, and per-engine topics
//! ([`Topics`]) that queue one published message on every subscriber in
//! one call.
//!
//! The handshake is HTTP and happens before: the TypeScript layer answers
//! or sends it, then switches the stream's framing to
//! [`Delimiter::WebSocket`](crate::Delimiter::WebSocket).

mod deflate;
mod framer;
mod sender;
mod topics;

pub use framer::{Cut, MessageFramer, INFO_ERROR};
pub use sender::{plain_frame, MessageSender};
pub use topics::Topics;

/// Continuation frame.
pub const OP_CONTINUATION: u8 = 0;
/// Text message.
pub const OP_TEXT: u8 = 1;
/// Binary message.
pub const OP_BINARY: u8 = 2;
/// Close frame.
pub const OP_CLOSE: u8 = 8;
/// Ping frame.
pub const OP_PING: u8 = 9;
/// Pong frame.
pub const OP_PONG: u8 = 10;

/// Close code: the peer broke the protocol.
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code: a text message (or close reason) is not UTF-8, or compressed data is corrupt.
pub const CLOSE_INVALID_DATA: u16 = 1007;
/// Close code: a message is larger than the limit.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Which end of the connection this is: a server expects masked frames and
/// sends unmasked ones, a client the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Accepted the connection.
    Server,
    /// Opened the connection.
    Client,
}

/// permessage-deflate as negotiated in the handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateSettings {
    /// The peer resets its compressor after each message: so do we our decompressor.
    pub inflate_no_context_takeover: bool,
    /// We reset our compressor after each message.
    pub deflate_no_context_takeover: bool,
    /// Our compressor's window: `2^deflate_window_bits` bytes (9 to 15; the
    /// peer may ask for less than 15). We inflate with the largest window,
    /// which reads every smaller one.
    pub deflate_window_bits: u8,
}

/// How a stream speaks WebSocket once upgraded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsSettings {
    /// This end's role.
    pub role: Role,
    /// Largest message accepted, in bytes (after decompression); more closes with 1009.
    pub max_payload: u64,
    /// permessage-deflate, when negotiated.
    pub deflate: Option<DeflateSettings>,
}

/// A stream's WebSocket state: what it frames incoming bytes with, and how it builds outgoing frames.
#[derive(Debug)]
pub struct WsConnection {
    /// Incoming messages.
    pub framer: MessageFramer,
    /// Outgoing frames.
    pub sender: MessageSender,
    /// A frame being built (kept for its allocation).
    pub frame: Vec<u8>,
}

impl WsConnection {
    /// A connection speaking as `settings` say.
    pub fn new(settings: WsSettings) -> Self {
        Self { framer: MessageFramer::new(settings), sender: MessageSender::new(&settings), frame: Vec::new() }
    }
}

/// A close code a peer may send (RFC 6455 section 7.4, and the IANA registry).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// XORs `bytes` with the 4-byte `mask`, whose byte 0 applies at `bytes[0]`.
pub fn apply_mask(bytes: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let wide = u64::from(word) | (u64::from(word) << 32);
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let value = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&value.to_ne_bytes());
    }
    for (index, byte) in chunks.into_remainder().iter_mut().enumerate() {
        *byte ^= mask[index % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_matches_the_bytewise_definition() {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        for length in 0..40 {
            let original: Vec<u8> = (0..length).map(|n| (n * 7 + 3) as u8).collect();
            let mut masked = original.clone();
            apply_mask(&mut masked, mask);
            let expected: Vec<u8> = original.iter().enumerate().map(|(n, byte)| byte ^ mask[n % 4]).collect();
            assert_eq!(masked, expected, "length {length}");
        }
    }

    #[test]
    fn close_codes() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999] {
            assert!(is_valid_close_code(code), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!is_valid_close_code(code), "{code}");
        }
    }
}
