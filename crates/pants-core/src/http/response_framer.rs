//! HTTP responses cut from a client connection's input. A response whose
//! body is all there when its head is parsed (the common small response)
//! is one frame; any other is a head frame, then body frames as bytes
//! arrive (decoded from chunks), the last one marked: JavaScript can report
//! progress, or pass a large body on without holding it whole. Interim
//! `1xx` responses (other than `101`) are skipped. The framer is told per
//! request whether that request was `HEAD` (see [`ResponseLimits`]), and
//! at the end of the input whether the peer has closed (bodies delimited
//! by the close end there; others are then truncated).
//!
//! Every frame starts with a little-endian `u32` kind ([`KIND_RESPONSE`],
//! [`KIND_HEAD`], [`KIND_BODY`], [`KIND_END`], or an error: [`KIND_MALFORMED`],
//! [`KIND_TOO_LARGE`], [`KIND_TRUNCATED`], which end the frame and the
//! framer's work on this connection). Body frames are that word and body
//! bytes. Response and head frames go on with words:
//!
//! | word | meaning |
//! | --- | --- |
//! | 1 | flags: [`FLAG_HTTP_1_1`], [`FLAG_KEEP_ALIVE`], [`FLAG_CHUNKED`] |
//! | 2 | header count `n` |
//! | 3, 4 | head length, body length (in this frame) |
//! | 5 | status code |
//! | 6, 7 | reason start and length |
//! | 8 .. 8 + 4n | per header: name start, name length, value start, value length |
//!
//! then the head's bytes (spans count from their start), then the body's.

use super::chunked::{ChunkedDecoder, ChunkedError};
use super::framer::{flags_of, write_frame, Framed, FLAG_CHUNKED, FLAG_HTTP_1_1, FLAG_KEEP_ALIVE};
use super::response_head::{parse_response_head, ResponseBody, ResponseError, ResponseHead, ResponseLimits};

/// A whole response, head and body.
pub const KIND_RESPONSE: u32 = 0;
/// A response head; its body follows in body frames.
pub const KIND_HEAD: u32 = 1;
/// Part of the body.
pub const KIND_BODY: u32 = 2;
/// The last part of the body (possibly empty).
pub const KIND_END: u32 = 3;
/// A malformed response.
pub const KIND_MALFORMED: u32 = 4;
/// A head or body larger than its limit.
pub const KIND_TOO_LARGE: u32 = 5;
/// The connection closed before the body ended.
pub const KIND_TRUNCATED: u32 = 6;
/// Words before the header spans of a response or head frame.
pub const RESPONSE_FIXED_WORDS: usize = 8;
/// Most body bytes per body frame.
pub const MAX_BODY_FRAME: usize = 256 * 1024;

/// What taking a body in place ([`Engine::read_body`](crate::Engine::read_body)) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyRead {
    /// No body of known length comes next (or the output is full, or the
    /// peer has closed): take frames instead.
    NotBody,
    /// `count` bytes of the body were written (0: none has arrived yet); `ended`: it is complete.
    Piece {
        /// Bytes written to the start of the output.
        count: usize,
        /// That was the body's last byte.
        ended: bool,
    },
}

impl BodyRead {
    /// [`BodyRead::encode`] of `NotBody`.
    pub const NOT_BODY: f64 = -1.0;
    /// Added to a piece's length by [`BodyRead::encode`] when it ends the body.
    pub const BODY_ENDED: f64 = 4294967296.0;

    /// The result as one number: a piece's length, plus [`BodyRead::BODY_ENDED`]
    /// for the last, or [`BodyRead::NOT_BODY`].
    pub fn encode(self) -> f64 {
        match self {
            BodyRead::NotBody => Self::NOT_BODY,
            BodyRead::Piece { count, ended: true } => count as f64 + Self::BODY_ENDED,
            BodyRead::Piece { count, ended: false } => count as f64,
        }
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for a complete head.
    Head,
    /// A body of known length, this many bytes left.
    Length(u64),
    /// A chunked body.
    Chunked(ChunkedDecoder),
    /// A body that ends with the connection; this many bytes so far.
    ToEnd(u64),
    /// An error was framed: nothing more is taken.
    Failed,
}

/// Cuts responses from one client connection's input.
#[derive(Debug)]
pub struct ResponseFramer {
    limits: ResponseLimits,
    state: State,
}

impl ResponseFramer {
    /// A framer for the response to one request, held to `limits`.
    pub fn new(limits: ResponseLimits) -> Self {
        ResponseFramer { limits, state: State::Head }
    }

    /// True while a response is partly read.
    pub fn mid_response(&self) -> bool {
        !matches!(self.state, State::Head | State::Failed)
    }

    /// Bytes left of the body of known length being read, when that is
    /// what comes next: they may be taken unframed ([`ResponseFramer::take_body`]).
    pub fn body_left(&self) -> Option<u64> {
        match self.state {
            State::Length(left) => Some(left),
            _ => None,
        }
    }

    /// `count` bytes of the body of known length were taken unframed (at
    /// most [`ResponseFramer::body_left`]); true when that ends the body.
    pub fn take_body(&mut self, count: usize) -> bool {
        let State::Length(left) = &mut self.state else { return false };
        *left = left.saturating_sub(count as u64);
        if *left > 0 {
            return false;
        }
        self.state = State::Head;
        true
    }

    /// Frames the next piece of response from `input` into `out`; `eof`: the peer has closed and `input` is all there will be.
    pub fn frame(&mut self, input: &[u8], eof: bool, out: &mut [u8]) -> Framed {
        // Bodies of known length and to the close: `take` bytes pass on, and after the `last` piece the framer is `after`.
        let (take, last, after) = match &mut self.state {
            State::Failed => return Framed::Incomplete { send_continue: false },
            State::Head => return self.frame_head(input, eof, out),
            State::Chunked(_) => return self.frame_chunks(input, eof, out),
            State::Length(left) => {
                let take = (*left).min(input.len().min(MAX_BODY_FRAME) as u64) as usize;
                if take == 0 {
                    return if eof { self.fail(ResponseError::Truncated, input.len(), out) } else { Framed::Incomplete { send_continue: false } };
                }
                (take, take as u64 == *left, State::Head)
            }
            State::ToEnd(received) => {
                let take = input.len().min(MAX_BODY_FRAME);
                if take == 0 && !eof {
                    return Framed::Incomplete { send_continue: false };
                }
                if *received + take as u64 > self.limits.max_body {
                    return self.fail(ResponseError::TooLarge, input.len(), out);
                }
                // Nothing follows on this connection.
                (take, eof && take == input.len(), State::Failed)
            }
        };
        let Some(length) = body_frame(if last { KIND_END } else { KIND_BODY }, &input[..take], out) else {
            return Framed::NeedSpace(4 + take);
        };
        match &mut self.state {
            State::Length(left) => *left -= take as u64,
            State::ToEnd(received) => *received += take as u64,
            _ => {}
        }
        if last {
            self.state = after;
        }
        Framed::Frame { consumed: take, length }
    }

    /// The next piece of a chunked body: the data of the chunks buffered, decoded.
    fn frame_chunks(&mut self, input: &[u8], eof: bool, out: &mut [u8]) -> Framed {
        let State::Chunked(decoder) = &mut self.state else { unreachable!("frame_chunks is for chunked bodies") };
        let input_piece = &input[..input.len().min(MAX_BODY_FRAME)];
        if out.len() < 4 + input_piece.len() {
            return Framed::NeedSpace(4 + input_piece.len());
        }
        let mut at = 0;
        let mut written = 4;
        while at < input_piece.len() && !decoder.is_done() {
            let step = match decoder.decode(&input_piece[at..]) {
                Ok(step) => step,
                Err(ChunkedError::Malformed) => return self.fail(ResponseError::Malformed, input.len(), out),
                Err(ChunkedError::TooLarge) => return self.fail(ResponseError::TooLarge, input.len(), out),
            };
            let data = &input_piece[at + step.data.start..at + step.data.end];
            out[written..written + data.len()].copy_from_slice(data);
            written += data.len();
            at += step.consumed;
            if step.consumed == 0 {
                break;
            }
        }
        if decoder.is_done() {
            out[..4].copy_from_slice(&KIND_END.to_le_bytes());
            self.state = State::Head;
            return Framed::Frame { consumed: at, length: written };
        }
        if written > 4 {
            out[..4].copy_from_slice(&KIND_BODY.to_le_bytes());
            return Framed::Frame { consumed: at, length: written };
        }
        if at > 0 {
            return Framed::Progress { consumed: at };
        }
        if eof {
            return self.fail(ResponseError::Truncated, input.len(), out);
        }
        Framed::Incomplete { send_continue: false }
    }

    fn frame_head(&mut self, input: &[u8], eof: bool, out: &mut [u8]) -> Framed {
        let head = match parse_response_head(input, &self.limits) {
            Ok(Some(head)) => head,
            Ok(None) if eof && !input.is_empty() => return self.fail(ResponseError::Truncated, input.len(), out),
            Ok(None) => return Framed::Incomplete { send_continue: false },
            Err(error) => return self.fail(error, input.len(), out),
        };
        if (100..200).contains(&head.status) && head.status != 101 {
            // An interim response: the real one follows.
            return Framed::Progress { consumed: head.length };
        }
        let (head_bytes, rest) = input.split_at(head.length);
        let whole_body = match head.body {
            ResponseBody::Empty => Some(0),
            ResponseBody::Length(length) if rest.len() as u64 >= length => Some(length as usize),
            _ => None,
        };
        let (kind, body) = match whole_body {
            Some(length) => (KIND_RESPONSE, &rest[..length]),
            None => (KIND_HEAD, &rest[..0]),
        };
        let size = response_size(&head, body.len());
        if out.len() < size {
            return Framed::NeedSpace(size);
        }
        let length = write_response(kind, &head, head_bytes, body, out);
        self.state = match (kind, head.body) {
            (KIND_RESPONSE, _) | (_, ResponseBody::Empty) => State::Head,
            (_, ResponseBody::Length(length)) => State::Length(length),
            (_, ResponseBody::Chunked) => State::Chunked(ChunkedDecoder::new(self.limits.max_body)),
            (_, ResponseBody::ToEnd) => State::ToEnd(0),
        };
        Framed::Frame { consumed: head.length + body.len(), length }
    }

    /// Frames an error; the framer takes nothing more, and drops what it was given.
    fn fail(&mut self, error: ResponseError, available: usize, out: &mut [u8]) -> Framed {
        if out.len() < 4 {
            return Framed::NeedSpace(4);
        }
        let kind = match error {
            ResponseError::Malformed => KIND_MALFORMED,
            ResponseError::TooLarge => KIND_TOO_LARGE,
            ResponseError::Truncated => KIND_TRUNCATED,
        };
        out[..4].copy_from_slice(&kind.to_le_bytes());
        self.state = State::Failed;
        Framed::Frame { consumed: available, length: 4 }
    }
}

/// A body frame of `kind` holding `bytes`; `None` when `out` is too small.
fn body_frame(kind: u32, bytes: &[u8], out: &mut [u8]) -> Option<usize> {
    let length = 4 + bytes.len();
    if out.len() < length {
        return None;
    }
    out[..4].copy_from_slice(&kind.to_le_bytes());
    out[4..length].copy_from_slice(bytes);
    Some(length)
}

fn response_size(head: &ResponseHead, body: usize) -> usize {
    4 * (RESPONSE_FIXED_WORDS + 4 * head.headers.len()) + head.length + body
}

/// Writes a response or head frame into `out`, which is large enough.
fn write_response(kind: u32, head: &ResponseHead, head_bytes: &[u8], body: &[u8], out: &mut [u8]) -> usize {
    let flags = flags_of(&[(head.minor_version == 1, FLAG_HTTP_1_1), (head.keep_alive, FLAG_KEEP_ALIVE), (head.body == ResponseBody::Chunked, FLAG_CHUNKED)]);
    let fixed = [kind, flags, head.headers.len() as u32, head_bytes.len() as u32, body.len() as u32, u32::from(head.status)];
    let spans = std::iter::once(head.reason).chain(head.headers.iter().flat_map(|&(name, value)| [name, value]));
    write_frame(&fixed, spans, head_bytes, body, out)
}
