//! Incoming WebSocket frames cut from a stream's input: parsed, unmasked,
//! checked against RFC 6455 as they arrive, and handed to JavaScript as
//! whole messages (fragments reassembled, compressed ones inflated).
//!
//! An output frame is a little-endian `u32` info word, then the payload:
//!
//! | info bits | meaning |
//! | --- | --- |
//! | 0–3 | opcode: text, binary, close, ping or pong |
//! | 8 ([`INFO_ERROR`]) | the peer broke the protocol: bits 16–31 hold the close code to fail the connection with, the payload a reason |
//!
//! A text message is valid UTF-8 (checked fragment by fragment, so a bad
//! sequence fails as soon as it arrives), a close frame's code is one a
//! peer may send and its reason UTF-8. After an error the framer takes
//! nothing more from the connection.

use super::deflate::{InflateError, Inflater};
use super::{
    apply_mask, is_valid_close_code, Role, WsSettings, CLOSE_INVALID_DATA, CLOSE_PROTOCOL_ERROR, CLOSE_TOO_BIG, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING,
    OP_PONG, OP_TEXT,
};

/// Info flag: the frame reports a protocol error (see the module docs).
pub const INFO_ERROR: u32 = 0x100;

/// Bytes of the info word before each payload.
const INFO_BYTES: usize = 4;

/// Largest control frame payload.
const MAX_CONTROL_PAYLOAD: u64 = 125;

/// What [`MessageFramer::frame`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// More input is needed.
    Incomplete,
    /// Input was used (a fragment was taken in): drop `consumed` bytes and call again.
    Progress {
        /// Input bytes to drop.
        consumed: usize,
    },
    /// A frame of `length` bytes was written to the output; drop `consumed` input bytes.
    Frame {
        /// Input bytes to drop.
        consumed: usize,
        /// Bytes written to the output.
        length: usize,
    },
    /// The next frame needs an output of this many bytes; nothing changed.
    NeedSpace(usize),
}

/// A frame header as sent.
#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    rsv1: bool,
    rsv23: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    length: u64,
    /// Bytes of the header itself.
    size: usize,
}

/// Reads a frame header from the start of `input`: `Ok(None)` until it is
/// all there; an error for a 64-bit length with its top bit set.
fn parse_header(input: &[u8]) -> Result<Option<Header>, &'static str> {
    let [first, second, ..] = *input else { return Ok(None) };
    let short = u64::from(second & 0x7f);
    let (length, mut size) = match short {
        126 => match input.get(2..4) {
            Some(bytes) => (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4),
            None => return Ok(None),
        },
        127 => match input.get(2..10) {
            Some(bytes) => {
                let length = u64::from_be_bytes(bytes.try_into().expect("8 bytes"));
                if length >> 63 != 0 {
                    return Err("a frame length with its most significant bit set");
                }
                (length, 10)
            }
            None => return Ok(None),
        },
        _ => (short, 2),
    };
    let mask = if second & 0x80 != 0 {
        let Some(bytes) = input.get(size..size + 4) else { return Ok(None) };
        size += 4;
        Some([bytes[0], bytes[1], bytes[2], bytes[3]])
    } else {
        None
    };
    Ok(Some(Header { fin: first & 0x80 != 0, rsv1: first & 0x40 != 0, rsv23: first & 0x30 != 0, opcode: first & 0x0f, mask, length, size }))
}

/// A fragmented (or compressed) message being put together.
#[derive(Debug)]
struct Partial {
    opcode: u8,
    compressed: bool,
    data: Vec<u8>,
    /// Bytes of `data` known to be valid UTF-8 so far (text only).
    checked: usize,
}

/// Cuts whole messages and control frames from one connection's input.
#[derive(Debug)]
pub struct MessageFramer {
    settings: WsSettings,
    partial: Option<Partial>,
    /// An output frame made but not yet handed out (it waited for space).
    ready: Option<Vec<u8>>,
    inflater: Option<Inflater>,
    failed: bool,
}

/// How far a fragment's bytes are valid UTF-8: `Err` for an invalid sequence,
/// `Ok(n)` when the first `n` bytes are whole characters (the rest may be a
/// character still to be completed).
fn utf8_prefix(bytes: &[u8]) -> Result<usize, ()> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(bytes.len()),
        Err(error) if error.error_len().is_none() => Ok(error.valid_up_to()),
        Err(_) => Err(()),
    }
}

impl MessageFramer {
    /// A framer for a connection speaking as `settings` say.
    pub fn new(settings: WsSettings) -> Self {
        let inflater = settings.deflate.map(|deflate| Inflater::new(deflate.inflate_no_context_takeover));
        Self { settings, partial: None, ready: None, inflater, failed: false }
    }

    /// The settings it frames by.
    pub fn settings(&self) -> &WsSettings {
        &self.settings
    }

    /// The next message or control frame from `input` into `out` (see [`Cut`]).
    pub fn frame(&mut self, input: &[u8], out: &mut [u8]) -> Cut {
        if let Some(ready) = self.ready.take() {
            return self.hand_out(ready, out);
        }
        if self.failed {
            return Cut::Incomplete;
        }
        let header = match parse_header(input) {
            Ok(Some(header)) => header,
            Ok(None) => return Cut::Incomplete,
            Err(reason) => return self.fail(CLOSE_PROTOCOL_ERROR, reason, out),
        };
        if let Err((code, reason)) = self.check(&header) {
            return self.fail(code, reason, out);
        }
        // `check` bounded the length by the message limit.
        let end = header.size + header.length as usize;
        if input.len() < end {
            return Cut::Incomplete;
        }
        let payload = &input[header.size..end];
        let mask = header.mask.unwrap_or([0; 4]);
        let whole = header.fin && self.partial.is_none() && !header.rsv1;
        if header.opcode >= OP_CLOSE || whole {
            let length = INFO_BYTES + payload.len();
            if out.len() < length {
                return Cut::NeedSpace(length);
            }
            let body = &mut out[INFO_BYTES..length];
            body.copy_from_slice(payload);
            apply_mask(body, mask);
            if let Err((code, reason)) = Self::check_payload(header.opcode, body) {
                return self.fail(code, reason, out);
            }
            out[..INFO_BYTES].copy_from_slice(&u32::from(header.opcode).to_le_bytes());
            return Cut::Frame { consumed: end, length };
        }
        self.take_fragment(&header, payload, mask, out, end)
    }

    /// The header's verdict, before its payload has arrived.
    fn check(&self, header: &Header) -> Result<(), (u16, &'static str)> {
        let protocol = |reason| Err((CLOSE_PROTOCOL_ERROR, reason));
        match (header.mask.is_some(), self.settings.role) {
            (false, Role::Server) => return protocol("an unmasked frame from a client"),
            (true, Role::Client) => return protocol("a masked frame from a server"),
            _ => {}
        }
        if header.rsv23 {
            return protocol("reserved bits set");
        }
        let control = header.opcode >= OP_CLOSE;
        match header.opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
            _ => return protocol("an unknown opcode"),
        }
        if header.rsv1 && (self.settings.deflate.is_none() || header.opcode == OP_CONTINUATION || control) {
            return protocol("reserved bit 1 set without permessage-deflate on a message's first frame");
        }
        if control {
            if !header.fin {
                return protocol("a fragmented control frame");
            }
            if header.length > MAX_CONTROL_PAYLOAD {
                return protocol("a control frame over 125 bytes");
            }
            return Ok(());
        }
        let so_far = match (&self.partial, header.opcode) {
            (None, OP_CONTINUATION) => return protocol("a continuation frame without a message to continue"),
            (Some(_), OP_TEXT | OP_BINARY) => return protocol("a new message inside a fragmented one"),
            (Some(partial), _) => partial.data.len() as u64,
            (None, _) => 0,
        };
        if so_far.saturating_add(header.length) > self.settings.max_payload {
            return Err((CLOSE_TOO_BIG, "a message larger than maxPayload"));
        }
        Ok(())
    }

    /// Checks a whole unmasked payload: a text message's UTF-8, a close frame's code and reason.
    fn check_payload(opcode: u8, payload: &[u8]) -> Result<(), (u16, &'static str)> {
        match opcode {
            OP_TEXT if std::str::from_utf8(payload).is_err() => Err((CLOSE_INVALID_DATA, "a text message that is not UTF-8")),
            OP_CLOSE => match payload {
                [] => Ok(()),
                [_] => Err((CLOSE_PROTOCOL_ERROR, "a close frame with a 1-byte payload")),
                [high, low, reason @ ..] => {
                    if !is_valid_close_code(u16::from_be_bytes([*high, *low])) {
                        Err((CLOSE_PROTOCOL_ERROR, "an invalid close code"))
                    } else if std::str::from_utf8(reason).is_err() {
                        Err((CLOSE_INVALID_DATA, "a close reason that is not UTF-8"))
                    } else {
                        Ok(())
                    }
                }
            },
            _ => Ok(()),
        }
    }

    /// Adds a data frame to the message being put together; hands the message out once it is whole.
    fn take_fragment(&mut self, header: &Header, payload: &[u8], mask: [u8; 4], out: &mut [u8], end: usize) -> Cut {
        let partial = self.partial.get_or_insert_with(|| Partial { opcode: header.opcode, compressed: header.rsv1, data: Vec::new(), checked: 0 });
        let start = partial.data.len();
        partial.data.extend_from_slice(payload);
        apply_mask(&mut partial.data[start..], mask);
        if partial.opcode == OP_TEXT && !partial.compressed {
            match utf8_prefix(&partial.data[partial.checked..]) {
                Ok(valid) => partial.checked += valid,
                Err(()) => return self.fail(CLOSE_INVALID_DATA, "a text message that is not UTF-8", out),
            }
            if header.fin && partial.checked != partial.data.len() {
                return self.fail(CLOSE_INVALID_DATA, "a text message that ends inside a character", out);
            }
        }
        if !header.fin {
            return Cut::Progress { consumed: end };
        }
        let Partial { opcode, compressed, data, .. } = self.partial.take().expect("a message is being put together");
        let message = if compressed {
            let mut inflated = Vec::with_capacity(INFO_BYTES + data.len() * 3);
            inflated.extend_from_slice(&[0; INFO_BYTES]);
            let limit = usize::try_from(self.settings.max_payload).unwrap_or(usize::MAX).saturating_add(INFO_BYTES);
            let inflater = self.inflater.as_mut().expect("compressed frames pass the check only with permessage-deflate");
            match inflater.inflate(&data, limit, &mut inflated) {
                Ok(()) => {}
                Err(InflateError::TooBig) => return self.fail(CLOSE_TOO_BIG, "a message larger than maxPayload", out),
                Err(InflateError::Corrupt) => return self.fail(CLOSE_INVALID_DATA, "a compressed message that does not inflate", out),
            }
            if opcode == OP_TEXT && std::str::from_utf8(&inflated[INFO_BYTES..]).is_err() {
                return self.fail(CLOSE_INVALID_DATA, "a text message that is not UTF-8", out);
            }
            inflated
        } else {
            let mut whole = Vec::with_capacity(INFO_BYTES + data.len());
            whole.extend_from_slice(&[0; INFO_BYTES]);
            whole.extend_from_slice(&data);
            whole
        };
        self.ready = Some(with_info(message, u32::from(opcode)));
        Cut::Progress { consumed: end }
    }

    /// Hands out a made frame, or keeps it until the output has room.
    fn hand_out(&mut self, frame: Vec<u8>, out: &mut [u8]) -> Cut {
        if out.len() < frame.len() {
            let needed = frame.len();
            self.ready = Some(frame);
            return Cut::NeedSpace(needed);
        }
        out[..frame.len()].copy_from_slice(&frame);
        Cut::Frame { consumed: 0, length: frame.len() }
    }

    /// The peer broke the protocol: reports it, and takes nothing more.
    fn fail(&mut self, code: u16, reason: &str, out: &mut [u8]) -> Cut {
        self.failed = true;
        self.partial = None;
        let mut frame = Vec::with_capacity(INFO_BYTES + reason.len());
        frame.extend_from_slice(&[0; INFO_BYTES]);
        frame.extend_from_slice(reason.as_bytes());
        self.hand_out(with_info(frame, INFO_ERROR | (u32::from(code) << 16)), out)
    }
}

/// Writes the info word at the start of a frame made with room for it.
fn with_info(mut frame: Vec<u8>, info: u32) -> Vec<u8> {
    frame[..INFO_BYTES].copy_from_slice(&info.to_le_bytes());
    frame
}
