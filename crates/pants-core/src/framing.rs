//! Framing codecs: split buffered bytes into frames by a read delimiter.
//!
//! A [`Framer`] is a pure codec in the style of tokio-util's `LinesCodec`:
//! it looks at the bytes buffered so far and says where the next frame ends,
//! without doing any I/O. The channel consumes the bytes it reports.

use memchr::memmem;

use crate::http::HeadLimits;

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
}

impl DelimiterKind {
    /// Every kind, in numeric order.
    pub const ALL: [DelimiterKind; 6] =
        [DelimiterKind::Chunk, DelimiterKind::Count, DelimiterKind::Sequence, DelimiterKind::External, DelimiterKind::Records, DelimiterKind::HttpRequest];

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
pub struct Frame {
    /// Length of the frame's payload, from the start of the buffer.
    pub len: usize,
    /// Bytes to drop from the buffer once the frame is taken.
    pub consumed: usize,
}

/// A delimiter plus the search state that makes trickled input cheap: bytes
/// already scanned for a sequence are not scanned again.
#[derive(Debug)]
pub struct Framer {
    delimiter: Delimiter,
    finder: Option<memmem::Finder<'static>>,
    scanned: usize,
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
        Self { delimiter, finder, scanned: 0 }
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
            Delimiter::Count(_) | Delimiter::External | Delimiter::Records(_) | Delimiter::HttpRequest(_) => 1,
        }
    }

    /// Finds the next frame at the start of `buf`, or `None` when more bytes
    /// are needed. Call [`Framer::reset`] whenever bytes leave the buffer by
    /// another way than a returned frame.
    pub fn decode(&mut self, buf: &[u8]) -> Option<Frame> {
        match &self.delimiter {
            Delimiter::Chunk if !buf.is_empty() => Some(Frame { len: buf.len(), consumed: buf.len() }),
            Delimiter::Count(count) if buf.len() >= *count => Some(Frame { len: *count, consumed: *count }),
            Delimiter::Sequence(bytes) => {
                let finder = self.finder.as_ref().expect("sequence framers have a finder");
                match finder.find(&buf[self.scanned.min(buf.len())..]) {
                    Some(at) => {
                        let len = self.scanned + at;
                        self.scanned = 0;
                        Some(Frame { len, consumed: len + bytes.len() })
                    }
                    None => {
                        self.scanned = buf.len().saturating_sub(bytes.len() - 1);
                        None
                    }
                }
            }
            Delimiter::Records(segments) => {
                let len = record_length(segments, buf)?;
                Some(Frame { len, consumed: len })
            }
            _ => None,
        }
    }

    /// Forgets the search position (after bytes were removed some other way).
    pub fn reset(&mut self) {
        self.scanned = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `chunk` bytes, taking every frame as soon
    /// as it is complete, like a channel does.
    fn frames_fed_in_chunks(delimiter: &Delimiter, input: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut framer = Framer::new(delimiter.clone());
        let mut buffer = Vec::new();
        let mut frames = Vec::new();
        for piece in input.chunks(chunk) {
            buffer.extend_from_slice(piece);
            while let Some(frame) = framer.decode(&buffer) {
                frames.push(buffer[..frame.len].to_vec());
                buffer.drain(..frame.consumed);
            }
        }
        (frames, buffer)
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
        assert_eq!(framer.decode(b""), None);
        assert_eq!(framer.decode(b"xyz"), Some(Frame { len: 3, consumed: 3 }));
    }

    #[test]
    fn external_delimiter_never_frames() {
        let mut framer = Framer::new(Delimiter::External);
        assert_eq!(framer.decode(b"anything"), None);
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
        assert_eq!(framer.decode(b"\xff\xffabcdefgh"), None);
    }

    #[test]
    #[should_panic]
    fn zero_count_is_rejected() {
        Framer::new(Delimiter::Count(0));
    }
}
