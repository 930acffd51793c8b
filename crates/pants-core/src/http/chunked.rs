//! The `chunked` transfer coding (RFC 9112 section 7.1), decoded as bytes
//! arrive in any pieces. Strict where laxness lets two parsers disagree on
//! where a body ends: every line ends in CRLF, sizes are hex digits only,
//! trailers are read and dropped but may not be folded.

use std::ops::Range;

/// Why a chunked body is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkedError {
    /// Not the chunked coding: a bad size, a bare CR or LF, a missing CRLF after data, a folded trailer (`400`).
    Malformed,
    /// The body grew past the limit (`413`).
    TooLarge,
}

/// What one [`ChunkedDecoder::decode`] call did with its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes used up, framing and data alike; the caller drops them.
    pub consumed: usize,
    /// Body bytes found, as a range of the input (empty when none); it ends at `consumed`.
    pub data: Range<usize>,
}

/// Bytes after the digits of one size line (extensions), and of all trailer lines, before the body is refused.
const MAX_LINE_EXTRA: usize = 4096;
/// Hex digits of a chunk size: 15 keep any size below `u64::MAX / 16`.
const MAX_SIZE_DIGITS: u8 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The first hex digit of a chunk size.
    SizeStart,
    /// More hex digits, or the end of the size.
    Size,
    /// Whitespace after the size, before a `;` or the CR.
    SizeSpace,
    /// A chunk extension, up to the CR.
    Extension,
    /// The LF ending a size line.
    SizeLf,
    /// Chunk data, this many bytes left.
    Data(u64),
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// The start of a trailer line, or the CR of the final blank line.
    TrailerStart,
    /// Inside a trailer line, up to its CR.
    Trailer,
    /// The LF ending a trailer line.
    TrailerLf,
    /// The LF of the final blank line.
    FinalLf,
    /// The body is complete.
    Done,
}

/// Decodes one chunked body; make a new one (or [`ChunkedDecoder::new`]) per message.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    digits: u8,
    /// Bytes after a size's digits, or of trailers, held to [`MAX_LINE_EXTRA`].
    extra: usize,
    received: u64,
    max_body: u64,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body` bytes.
    pub fn new(max_body: u64) -> Self {
        ChunkedDecoder { state: State::SizeStart, size: 0, digits: 0, extra: 0, received: 0, max_body }
    }

    /// True once the last chunk and the trailers are read; bytes after them belong to the next message.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Body bytes decoded so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Reads `input` until it ends, the body ends, or a run of body bytes is
    /// found (returned as `data`, so the caller can pass it on before asking
    /// for more). Call again with the input after `consumed`.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, ChunkedError> {
        let mut at = 0;
        while at < input.len() && self.state != State::Done {
            if let State::Data(left) = self.state {
                let take = left.min((input.len() - at) as u64) as usize;
                self.state = if take as u64 == left { State::DataCr } else { State::Data(left - take as u64) };
                return Ok(Decoded { consumed: at + take, data: at..at + take });
            }
            self.step(input[at])?;
            at += 1;
        }
        Ok(Decoded { consumed: at, data: at..at })
    }

    /// One framing byte.
    fn step(&mut self, byte: u8) -> Result<(), ChunkedError> {
        use ChunkedError::Malformed;
        self.state = match (self.state, byte) {
            (State::SizeStart | State::Size, _) if byte.is_ascii_hexdigit() => {
                if self.digits == MAX_SIZE_DIGITS {
                    return Err(ChunkedError::TooLarge);
                }
                self.digits += 1;
                self.size = self.size * 16 + u64::from(hex_value(byte));
                State::Size
            }
            (State::Size | State::SizeSpace, b' ' | b'\t') => {
                self.count_extra()?;
                State::SizeSpace
            }
            (State::Size | State::SizeSpace, b';') => {
                self.count_extra()?;
                State::Extension
            }
            (State::Size | State::SizeSpace | State::Extension, b'\r') => State::SizeLf,
            (State::Extension | State::TrailerStart | State::Trailer, _) if is_control(byte) && byte != b'\r' => return Err(Malformed),
            (State::Extension, _) => {
                self.count_extra()?;
                State::Extension
            }
            (State::SizeLf, b'\n') => self.chunk_started()?,
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::SizeStart,
            (State::TrailerStart, b'\r') => State::FinalLf,
            // A trailer line starting with whitespace is obs-fold.
            (State::TrailerStart, b' ' | b'\t') => return Err(Malformed),
            (State::Trailer, b'\r') => State::TrailerLf,
            (State::TrailerStart | State::Trailer, _) => {
                self.count_extra()?;
                State::Trailer
            }
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::FinalLf, b'\n') => State::Done,
            _ => return Err(Malformed),
        };
        Ok(())
    }

    /// The size line is complete: data follows, or the trailers after the last chunk.
    fn chunk_started(&mut self) -> Result<State, ChunkedError> {
        let size = std::mem::take(&mut self.size);
        self.digits = 0;
        self.extra = 0;
        if size == 0 {
            return Ok(State::TrailerStart);
        }
        self.received = self.received.checked_add(size).filter(|&total| total <= self.max_body).ok_or(ChunkedError::TooLarge)?;
        Ok(State::Data(size))
    }

    fn count_extra(&mut self) -> Result<(), ChunkedError> {
        self.extra += 1;
        if self.extra > MAX_LINE_EXTRA {
            return Err(ChunkedError::Malformed);
        }
        Ok(())
    }
}

/// Control characters other than HTAB: never part of an extension or a field line.
fn is_control(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\t') || byte == 0x7f
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => (digit | 0x20) - b'a' + 10,
    }
}
