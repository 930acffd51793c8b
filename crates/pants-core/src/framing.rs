//! Framing codecs: split buffered bytes into frames by a read delimiter.
//!
//! A [`Framer`] is a pure codec in the style of tokio-util's `LinesCodec`:
//! [`Framer::decode`] takes the next frame off the front of a channel's
//! buffer, without doing any I/O, and the frame and its delimiter leave
//! the buffer with it. Nothing else is the caller's to remember: bytes may
//! also leave the buffer another way (framing done by the caller, a
//! discard), and the framer still frames what is left correctly.
//!
//! # Maximum length
//! A framer has no limit of its own: the channel holding the buffer
//! reports `Overflow` once more than its buffer size waits without a
//! complete frame (Pants' `bufferSize`). Without such a bound a peer that
//! never sends the delimiter would grow the buffer without end.

use memchr::memmem;

use crate::byte_queue::ByteQueue;
use crate::http::{HeadLimits, ResponseLimits};
use crate::ws::WsSettings;

/// How a channel's incoming bytes are cut into frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delimiter {
    /// Every chunk as it arrives: a frame is everything buffered.
    Chunk,
    /// Exactly this many bytes per frame (never zero).
    Count(usize),
    /// The bytes up to the sequence; the sequence itself is dropped (never empty).
    Sequence(Vec<u8>),
    /// Framed by the caller (for example a JavaScript RegExp); the codec only
    /// reports the whole buffer as undecided.
    External,
    /// Variable-length records (netstruct's `$` strings): segments of fixed
    /// bytes, each possibly followed by a string whose length is an integer
    /// field of the segment. Never empty.
    Records(Vec<RecordSegment>),
    /// Whole HTTP/1.1 requests (streams only): each frame is a request's
    /// parse, head and body, laid out as [`crate::http::RequestFramer`] says.
    HttpRequest(HeadLimits),
    /// WebSocket messages (streams only, after the upgrade): each frame is a
    /// whole message or control frame, laid out as [`crate::ws::MessageFramer`] says.
    WebSocket(WsSettings),
    /// HTTP/1.1 responses (client streams only): each frame is a response,
    /// or its head or a piece of its body, as [`crate::http::ResponseFramer`] says.
    HttpResponse(ResponseLimits),
}

/// How a binding names the kinds of [`Delimiter`] (their numbers are part
/// of the contract with the TypeScript layer, generated from here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum DelimiterKind {
    /// [`Delimiter::Chunk`].
    Chunk = 0,
    /// [`Delimiter::Count`].
    Count = 1,
    /// [`Delimiter::Sequence`].
    Sequence = 2,
    /// [`Delimiter::External`].
    External = 3,
    /// [`Delimiter::Records`].
    Records = 4,
    /// [`Delimiter::HttpRequest`].
    HttpRequest = 5,
    /// [`Delimiter::WebSocket`].
    WebSocket = 6,
    /// [`Delimiter::HttpResponse`].
    HttpResponse = 7,
}

impl DelimiterKind {
    /// Every kind, in numeric order.
    pub const ALL: [DelimiterKind; 8] = [
        DelimiterKind::Chunk,
        DelimiterKind::Count,
        DelimiterKind::Sequence,
        DelimiterKind::External,
        DelimiterKind::Records,
        DelimiterKind::HttpRequest,
        DelimiterKind::WebSocket,
        DelimiterKind::HttpResponse,
    ];

    /// The kind numbered `code`.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }
}

/// The result of [`Engine::read_frame`](crate::Engine::read_frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameRead {
    /// A frame of this many bytes was copied to the start of the output.
    Frame(usize),
    /// No complete frame is buffered.
    Incomplete,
    /// No complete frame, and more than `buffer_size` bytes wait for one.
    Overflow,
    /// The next frame has this many bytes: more than the output can hold.
    NeedSpace(usize),
}

impl FrameRead {
    /// [`FrameRead::encode`] of `Incomplete`.
    pub const INCOMPLETE: f64 = -1.0;
    /// [`FrameRead::encode`] of `Overflow`.
    pub const OVERFLOW: f64 = -2.0;
    /// [`FrameRead::encode`] of `NeedSpace(n)` is `NEED_SPACE - n`.
    pub const NEED_SPACE: f64 = -3.0;
    /// Added to a frame's length by [`FrameRead::encode`] when more input
    /// is buffered (another frame may follow).
    pub const MORE_INPUT: f64 = 4294967296.0;

    /// The result as one number, for a binding whose calls return numbers
    /// cheaply: a frame's length (plus [`FrameRead::MORE_INPUT`] when
    /// `more_input`), or one of the negative codes above.
    pub fn encode(self, more_input: bool) -> f64 {
        match self {
            FrameRead::Frame(len) if more_input => len as f64 + Self::MORE_INPUT,
            FrameRead::Frame(len) => len as f64,
            FrameRead::Incomplete => Self::INCOMPLETE,
            FrameRead::Overflow => Self::OVERFLOW,
            FrameRead::NeedSpace(len) => Self::NEED_SPACE - len as f64,
        }
    }
}

/// One part of a [`Delimiter::Records`] layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSegment {
    /// Fixed bytes of the segment.
    pub fixed: usize,
    /// Where the length of the string after the segment is, if one follows.
    pub length_field: Option<LengthField>,
}

/// An integer field giving the length of a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LengthField {
    /// Offset within its segment.
    pub offset: usize,
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: usize,
    /// Little-endian (else big-endian).
    pub little_endian: bool,
    /// Two's-complement signed (a negative length never completes a record).
    pub signed: bool,
}

impl LengthField {
    fn read(&self, bytes: &[u8]) -> usize {
        let mut raw = [0u8; 8];
        let field = &bytes[self.offset..self.offset + self.size];
        if self.little_endian {
            raw[..self.size].copy_from_slice(field);
        } else {
            for (index, byte) in field.iter().rev().enumerate() {
                raw[index] = *byte;
            }
        }
        let value = u64::from_le_bytes(raw);
        let negative = self.signed && field[if self.little_endian { self.size - 1 } else { 0 }] & 0x80 != 0;
        if negative {
            usize::MAX
        } else {
            usize::try_from(value).unwrap_or(usize::MAX)
        }
    }
}

/// The length of the first complete record at the start of `buf`, if there is one.
fn record_length(segments: &[RecordSegment], buf: &[u8]) -> Option<usize> {
    let mut position = 0usize;
    for segment in segments {
        let end = position.checked_add(segment.fixed)?;
        let fixed = buf.get(position..end)?;
        position = end;
        if let Some(field) = segment.length_field {
            position = position.checked_add(field.read(fixed))?;
            if position > buf.len() {
                return None;
            }
        }
    }
    Some(position)
}

/// Where the next frame lies in the buffer: its bytes are `buf[..len]`, and
/// `consumed >= len` bytes (frame plus delimiter) leave the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frame {
    len: usize,
    consumed: usize,
}

/// A delimiter plus the search state that makes trickled input cheap: bytes
/// already scanned for a sequence are not scanned again.
///
/// A framer serves one [`ByteQueue`] (its scan position counts the bytes
/// that ever left that queue's front).
#[derive(Debug)]
pub struct Framer {
    delimiter: Delimiter,
    finder: Option<memmem::Finder<'static>>,
    /// No sequence starts before this position of the queue's bytes
    /// (counted as [`ByteQueue::taken`] counts them).
    scanned_to: u64,
}

impl Default for Framer {
    fn default() -> Self {
        Self::new(Delimiter::Chunk)
    }
}

impl Framer {
    /// A framer for `delimiter`.
    ///
    /// # Panics
    /// On `Count(0)` or an empty `Sequence`: callers validate delimiters first.
    pub fn new(delimiter: Delimiter) -> Self {
        let finder = match &delimiter {
            Delimiter::Count(0) => panic!("a count delimiter must be positive"),
            Delimiter::Records(segments) => {
                assert!(!segments.is_empty(), "a record layout must not be empty");
                None
            }
            Delimiter::Sequence(bytes) => {
                assert!(!bytes.is_empty(), "a sequence delimiter must not be empty");
                Some(memmem::Finder::new(bytes).into_owned())
            }
            _ => None,
        };
        Self { delimiter, finder, scanned_to: 0 }
    }

    /// The current delimiter.
    pub fn delimiter(&self) -> &Delimiter {
        &self.delimiter
    }

    /// How many bytes beyond the user's buffer size the buffer may hold while
    /// waiting for a frame: room for the delimiter itself, so a frame of
    /// exactly the buffer size still fits.
    pub fn slack(&self) -> usize {
        match &self.delimiter {
            Delimiter::Chunk => 0,
            Delimiter::Sequence(bytes) => bytes.len(),
            Delimiter::Count(_)
            | Delimiter::External
            | Delimiter::Records(_)
            | Delimiter::HttpRequest(_)
            | Delimiter::WebSocket(_)
            | Delimiter::HttpResponse(_) => 1,
        }
    }

    /// Takes the next frame off the front of `buf`, copying its bytes to
    /// the start of `out`: `Frame(len)`, and the frame and its delimiter
    /// have left `buf`. `Incomplete` when no whole frame is buffered, and
    /// `NeedSpace(len)` when the frame is longer than `out`: then nothing
    /// leaves `buf`. Never `Overflow`: see "Maximum length" above.
    pub fn decode(&mut self, buf: &mut ByteQueue, out: &mut [u8]) -> FrameRead {
        let Some(frame) = self.find(buf) else { return FrameRead::Incomplete };
        if frame.len > out.len() {
            return FrameRead::NeedSpace(frame.len);
        }
        out[..frame.len].copy_from_slice(&buf.as_slice()[..frame.len]);
        buf.consume(frame.consumed);
        FrameRead::Frame(frame.len)
    }

    /// Where the next frame at the front of `buf` ends, if it is complete.
    fn find(&mut self, buf: &ByteQueue) -> Option<Frame> {
        let bytes = buf.as_slice();
        match &self.delimiter {
            Delimiter::Chunk if !bytes.is_empty() => Some(Frame { len: bytes.len(), consumed: bytes.len() }),
            Delimiter::Count(count) if bytes.len() >= *count => Some(Frame { len: *count, consumed: *count }),
            Delimiter::Sequence(sequence) => {
                let finder = self.finder.as_ref().expect("sequence framers have a finder");
                // Bytes that left the front since the last scan need no scan either.
                let start = usize::try_from(self.scanned_to.saturating_sub(buf.taken())).unwrap_or(usize::MAX).min(bytes.len());
                match finder.find(&bytes[start..]) {
                    Some(at) => {
                        let len = start + at;
                        // Found again at once if the frame does not fit the caller's output.
                        self.scanned_to = buf.taken() + len as u64;
                        Some(Frame { len, consumed: len + sequence.len() })
                    }
                    None => {
                        // A sequence may start in the last `len - 1` bytes and end in bytes to come.
                        self.scanned_to = buf.taken() + bytes.len().saturating_sub(sequence.len() - 1) as u64;
                        None
                    }
                }
            }
            Delimiter::Records(segments) => {
                let len = record_length(segments, bytes)?;
                Some(Frame { len, consumed: len })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `chunk` bytes, taking every frame as soon
    /// as it is complete, like a channel does.
    fn frames_fed_in_chunks(delimiter: &Delimiter, input: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut framer = Framer::new(delimiter.clone());
        let mut buffer = ByteQueue::new();
        let mut frames = Vec::new();
        let mut out = vec![0; input.len()];
        for piece in input.chunks(chunk) {
            buffer.extend(piece);
            while let FrameRead::Frame(len) = framer.decode(&mut buffer, &mut out) {
                frames.push(out[..len].to_vec());
            }
        }
        (frames, buffer.as_slice().to_vec())
    }

    fn queue_of(bytes: &[u8]) -> ByteQueue {
        let mut queue = ByteQueue::new();
        queue.extend(bytes);
        queue
    }

    fn check_every_chunk_size(delimiter: Delimiter, input: &[u8], expected: &[&[u8]], rest: &[u8]) {
        for chunk in 1..=input.len() {
            let (frames, leftover) = frames_fed_in_chunks(&delimiter, input, chunk);
            let frames: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
            assert_eq!(frames, expected, "chunk size {chunk}");
            assert_eq!(leftover, rest, "chunk size {chunk}");
        }
    }

    #[test]
    fn count_frames_at_every_chunk_size() {
        check_every_chunk_size(Delimiter::Count(3), b"abcdefgh", &[b"abc", b"def"], b"gh");
    }

    #[test]
    fn single_byte_sequence_at_every_chunk_size() {
        check_every_chunk_size(Delimiter::Sequence(b"\n".to_vec()), b"one\n\ntwo\nthr", &[b"one", b"", b"two"], b"thr");
    }

    #[test]
    fn multi_byte_sequence_at_every_chunk_size() {
        let input = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r\r\n\r\n\r";
        check_every_chunk_size(Delimiter::Sequence(b"\r\n\r\n".to_vec()), input, &[b"GET / HTTP/1.1\r\nHost: x", b"body\r"], b"\r");
    }

    #[test]
    fn overlapping_sequence_prefixes_are_found() {
        check_every_chunk_size(Delimiter::Sequence(b"aab".to_vec()), b"aaaabxaab", &[b"aa", b"x"], b"");
    }

    #[test]
    fn chunk_delimiter_returns_everything_buffered() {
        let mut framer = Framer::new(Delimiter::Chunk);
        let mut out = [0; 8];
        assert_eq!(framer.decode(&mut ByteQueue::new(), &mut out), FrameRead::Incomplete);
        let mut buffer = queue_of(b"xyz");
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Frame(3));
        assert_eq!(&out[..3], b"xyz");
        assert!(buffer.is_empty(), "the frame left the buffer");
    }

    #[test]
    fn external_delimiter_never_frames() {
        let mut framer = Framer::new(Delimiter::External);
        assert_eq!(framer.decode(&mut queue_of(b"anything"), &mut [0; 16]), FrameRead::Incomplete);
    }

    #[test]
    fn a_frame_too_long_for_the_output_stays_in_the_buffer() {
        let mut framer = Framer::new(Delimiter::Sequence(b"\n".to_vec()));
        let mut buffer = queue_of(b"hello\nrest");
        assert_eq!(framer.decode(&mut buffer, &mut [0; 4]), FrameRead::NeedSpace(5));
        assert_eq!(buffer.as_slice(), b"hello\nrest");
        let mut out = [0; 5];
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Frame(5));
        assert_eq!((&out[..], buffer.as_slice()), (&b"hello"[..], &b"rest"[..]));
    }

    #[test]
    fn bytes_leaving_the_buffer_another_way_need_no_reset() {
        let mut framer = Framer::new(Delimiter::Sequence(b"\r\n".to_vec()));
        let mut buffer = queue_of(b"abcdef\r");
        let mut out = [0; 16];
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Incomplete);
        buffer.consume(6); // taken by the caller's own framing
        buffer.extend(b"\nxy\r\n");
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Frame(0));
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Frame(2));
        assert_eq!(&out[..2], b"xy");
        buffer.extend(b"abc\r");
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Incomplete);
        buffer.clear();
        buffer.extend(b"z\r\n");
        assert_eq!(framer.decode(&mut buffer, &mut out), FrameRead::Frame(1));
    }

    #[test]
    fn slack_leaves_room_for_the_delimiter() {
        assert_eq!(Framer::new(Delimiter::Sequence(b"\r\n".to_vec())).slack(), 2);
        assert_eq!(Framer::new(Delimiter::Chunk).slack(), 0);
    }

    /// `'!h$b'`: a big-endian i16 length, the string, then one byte.
    fn netstruct_h_string_b() -> Delimiter {
        Delimiter::Records(vec![
            RecordSegment { fixed: 2, length_field: Some(LengthField { offset: 0, size: 2, little_endian: false, signed: true }) },
            RecordSegment { fixed: 1, length_field: None },
        ])
    }

    #[test]
    fn records_at_every_chunk_size() {
        let input = b"\x00\x03abc\x07\x00\x00\x08\x00\x02xy";
        check_every_chunk_size(netstruct_h_string_b(), input, &[b"\x00\x03abc\x07", b"\x00\x00\x08"], b"\x00\x02xy");
    }

    #[test]
    fn little_endian_unsigned_length_fields() {
        let layout =
            Delimiter::Records(vec![RecordSegment { fixed: 5, length_field: Some(LengthField { offset: 1, size: 4, little_endian: true, signed: false }) }]);
        let input = b"Z\x02\x00\x00\x00hiZ\x00\x00\x00\x00";
        check_every_chunk_size(layout, input, &[b"Z\x02\x00\x00\x00hi", b"Z\x00\x00\x00\x00"], b"");
    }

    #[test]
    fn a_negative_length_never_completes_a_record() {
        let mut framer = Framer::new(netstruct_h_string_b());
        assert_eq!(framer.decode(&mut queue_of(b"\xff\xffabcdefgh"), &mut [0; 16]), FrameRead::Incomplete);
    }

    #[test]
    #[should_panic]
    fn zero_count_is_rejected() {
        Framer::new(Delimiter::Count(0));
    }
}
