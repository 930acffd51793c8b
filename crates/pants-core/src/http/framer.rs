//! Whole HTTP requests cut from a stream's input: the head, then the body
//! it announces (`Content-Length` or chunked), handed to JavaScript as one
//! frame that carries the parse as spans, so JavaScript makes strings only
//! of what it reads. A refused head becomes a frame holding its status; the
//! framer then takes nothing more from that connection.
//!
//! A request frame, little-endian `u32` words, then bytes:
//!
//! | word | meaning |
//! | --- | --- |
//! | 0 | status: 0 for a request, else the refusal status (the frame ends there) |
//! | 1 | flags: [`FLAG_HTTP_1_1`], [`FLAG_KEEP_ALIVE`], [`FLAG_EXPECT_CONTINUE`], [`FLAG_UPGRADE`], [`FLAG_CHUNKED`] |
//! | 2 | header count `n` |
//! | 3, 4 | head length, body length |
//! | 5, 6 | method start and length |
//! | 7, 8 | target start and length |
//! | 9 .. 9 + 4n | per header: name start, name length, value start, value length |
//!
//! then the head's bytes (spans count from their start), then the body's.

use super::chunked::{ChunkedDecoder, ChunkedError};
use super::head::{parse_request_head, BodyLength, HeadError, HeadLimits, RequestHead, Span};

/// Flag: the request is HTTP/1.1 (else 1.0).
pub const FLAG_HTTP_1_1: u32 = 1;
/// Flag: the connection may carry another request.
pub const FLAG_KEEP_ALIVE: u32 = 2;
/// Flag: the client sent `Expect: 100-continue`.
pub const FLAG_EXPECT_CONTINUE: u32 = 4;
/// Flag: `Connection: upgrade` with an `Upgrade` header.
pub const FLAG_UPGRADE: u32 = 8;
/// Flag: the body came chunked.
pub const FLAG_CHUNKED: u32 = 16;
/// Words before the header spans.
pub const FIXED_WORDS: usize = 9;
/// The interim response sent when a client waits for leave to send its body.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What [`RequestFramer::frame`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// More input is needed. `send_continue`: answer `100 Continue` now (once per request).
    Incomplete {
        /// The client waits for `100 Continue` before it sends the body.
        send_continue: bool,
    },
    /// Input was used (a chunked body is being read): call again.
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

#[derive(Debug)]
enum State {
    /// Waiting for a complete head.
    Head,
    /// The head is parsed; its body is in the input after it (`Content-Length`).
    Length { head: RequestHead, length: usize },
    /// A chunked body: the head's bytes were copied out, the body is decoded as it comes.
    Chunked { head: RequestHead, head_bytes: Vec<u8>, decoder: ChunkedDecoder, body: Vec<u8> },
    /// A refusal was framed: nothing more is taken from this connection.
    Refused,
}

/// Cuts requests from one connection's input.
#[derive(Debug)]
pub struct RequestFramer {
    limits: HeadLimits,
    state: State,
    continue_sent: bool,
}

impl RequestFramer {
    /// A framer holding requests to `limits`.
    pub fn new(limits: HeadLimits) -> Self {
        RequestFramer { limits, state: State::Head, continue_sent: false }
    }

    /// The limits requests are held to.
    pub fn limits(&self) -> HeadLimits {
        self.limits
    }

    /// True once a head was refused: the connection is to answer and close.
    pub fn refused(&self) -> bool {
        matches!(self.state, State::Refused)
    }

    /// True while part of a request has been taken in (a timeout then means `408`, not an idle close).
    pub fn mid_request(&self) -> bool {
        !matches!(self.state, State::Head | State::Refused)
    }

    /// Frames the next request from `input` (the connection's unconsumed bytes) into `out`.
    pub fn frame(&mut self, input: &[u8], out: &mut [u8]) -> Framed {
        loop {
            match &mut self.state {
                State::Refused => return Framed::Incomplete { send_continue: false },
                State::Head => match parse_request_head(input, &self.limits) {
                    Ok(None) => return Framed::Incomplete { send_continue: false },
                    Err(error) => return self.refuse(error, input.len(), out),
                    Ok(Some(head)) => {
                        self.continue_sent = false;
                        self.state = match head.body {
                            BodyLength::Empty => State::Length { head, length: 0 },
                            // Within u64 limits checked by the head parser, and a body the buffer can hold.
                            BodyLength::Length(length) => State::Length { head, length: length as usize },
                            BodyLength::Chunked => {
                                let head_bytes = input[..head.length].to_vec();
                                let consumed = head.length;
                                let decoder = ChunkedDecoder::new(self.limits.max_body);
                                self.state = State::Chunked { head, head_bytes, decoder, body: Vec::new() };
                                return Framed::Progress { consumed };
                            }
                        };
                    }
                },
                State::Length { head, length } => {
                    let end = head.length + *length;
                    if input.len() < end {
                        return Framed::Incomplete { send_continue: self.take_continue() };
                    }
                    let (head_bytes, body) = input[..end].split_at(head.length);
                    let written = match write_request(head, head_bytes, body, out) {
                        Some(written) => written,
                        None => return Framed::NeedSpace(request_size(head, body.len())),
                    };
                    self.state = State::Head;
                    return Framed::Frame { consumed: end, length: written };
                }
                State::Chunked { head, head_bytes, decoder, body } => {
                    if !decoder.is_done() {
                        let step = match decoder.decode(input) {
                            Ok(step) => step,
                            Err(ChunkedError::Malformed) => return self.refuse(HeadError::Malformed, input.len(), out),
                            Err(ChunkedError::TooLarge) => return self.refuse(HeadError::BodyTooLarge, input.len(), out),
                        };
                        body.extend_from_slice(&input[step.data]);
                        if step.consumed > 0 {
                            return Framed::Progress { consumed: step.consumed };
                        }
                        return Framed::Incomplete { send_continue: self.take_continue() };
                    }
                    let written = match write_request(head, head_bytes, body, out) {
                        Some(written) => written,
                        None => return Framed::NeedSpace(request_size(head, body.len())),
                    };
                    self.state = State::Head;
                    return Framed::Frame { consumed: 0, length: written };
                }
            }
        }
    }

    /// Frames a refusal; the framer takes nothing more, and drops what it was given.
    fn refuse(&mut self, error: HeadError, available: usize, out: &mut [u8]) -> Framed {
        if out.len() < 4 {
            return Framed::NeedSpace(4);
        }
        out[..4].copy_from_slice(&u32::from(error.status()).to_le_bytes());
        self.state = State::Refused;
        Framed::Frame { consumed: available, length: 4 }
    }

    /// True the first time a request waiting for `100 Continue` asks for more input.
    fn take_continue(&mut self) -> bool {
        let head = match &self.state {
            State::Length { head, .. } | State::Chunked { head, .. } => head,
            _ => return false,
        };
        if !head.expect_continue || self.continue_sent {
            return false;
        }
        self.continue_sent = true;
        true
    }
}

/// Bytes of the frame of a request with this head and a body of `body` bytes.
fn request_size(head: &RequestHead, body: usize) -> usize {
    4 * (FIXED_WORDS + 4 * head.headers.len()) + head.length + body
}

/// Writes a request frame; `None` when `out` is too small.
fn write_request(head: &RequestHead, head_bytes: &[u8], body: &[u8], out: &mut [u8]) -> Option<usize> {
    let size = request_size(head, body.len());
    if out.len() < size {
        return None;
    }
    let flags = flags_of(&[
        (head.minor_version == 1, FLAG_HTTP_1_1),
        (head.keep_alive, FLAG_KEEP_ALIVE),
        (head.expect_continue, FLAG_EXPECT_CONTINUE),
        (head.upgrade, FLAG_UPGRADE),
        (head.body == BodyLength::Chunked, FLAG_CHUNKED),
    ]);
    let fixed = [0, flags, head.headers.len() as u32, head_bytes.len() as u32, body.len() as u32];
    let spans = [head.method, head.target].into_iter().chain(head.headers.iter().flat_map(|&(name, value)| [name, value]));
    Some(write_frame(&fixed, spans, head_bytes, body, out))
}

/// The flags whose condition holds, or-ed together.
pub(super) fn flags_of(flags: &[(bool, u32)]) -> u32 {
    flags.iter().filter(|(on, _)| *on).fold(0, |all, (_, flag)| all | flag)
}

/// Writes a frame (the `fixed` words, each span as start and length, the
/// head's bytes, the body's) into `out`, which is large enough; its length.
pub(super) fn write_frame(fixed: &[u32], spans: impl Iterator<Item = Span>, head_bytes: &[u8], body: &[u8], out: &mut [u8]) -> usize {
    let words = fixed.iter().copied().chain(spans.flat_map(|Span { start, len }| [start, len]));
    let mut at = 0;
    for word in words {
        out[at..at + 4].copy_from_slice(&word.to_le_bytes());
        at += 4;
    }
    out[at..at + head_bytes.len()].copy_from_slice(head_bytes);
    at += head_bytes.len();
    out[at..at + body.len()].copy_from_slice(body);
    at + body.len()
}
