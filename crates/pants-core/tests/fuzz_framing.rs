//! Property tests of [`Framer`] against a reference framer written here.
//!
//! The reference is deliberately naive: it re-reads the whole input from
//! the start of the unframed bytes every time, with no search state. The
//! real framer is fed the same input the way a channel feeds it (bytes
//! arrive in chunks, every complete frame is taken after each chunk, the
//! taken bytes leave the buffer), at random chunkings and at every uniform
//! chunk size; both must cut the same frames and leave the same bytes, and
//! the real one must never panic or stall (a frame always consumes bytes).
//!
//! Cases per property: `PANTS_FUZZ_CASES` (default 2,000; `npm run stress`
//! runs 1,000,000). Each case checks one random chunking, plus every
//! uniform chunk size for inputs up to 96 bytes.

use pants_core::{ByteQueue, Delimiter, FrameRead, Framer, LengthField, RecordSegment};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const DEFAULT_CASES: u32 = 2_000;

fn cases() -> u32 {
    std::env::var("PANTS_FUZZ_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(DEFAULT_CASES)
}

fn config() -> Config {
    Config { cases: cases(), failure_persistence: None, ..Config::default() }
}

// ----- the reference framer -------------------------------------------------

/// What a length field says, or `None` for a length no buffer can hold
/// (negative when signed, or beyond `usize`).
fn reference_length(field: &LengthField, bytes: &[u8]) -> Option<usize> {
    let raw = &bytes[field.offset..field.offset + field.size];
    let mut value: i128 = 0;
    if field.little_endian {
        for &byte in raw.iter().rev() {
            value = (value << 8) | i128::from(byte);
        }
    } else {
        for &byte in raw {
            value = (value << 8) | i128::from(byte);
        }
    }
    if field.signed && value >= 1i128 << (field.size * 8 - 1) {
        value -= 1i128 << (field.size * 8);
    }
    usize::try_from(value).ok()
}

/// The length of the record at the start of `buf`, if it is complete.
fn reference_record(segments: &[RecordSegment], buf: &[u8]) -> Option<usize> {
    let mut position = 0usize;
    for segment in segments {
        if buf.len() - position < segment.fixed {
            return None;
        }
        let fixed = &buf[position..position + segment.fixed];
        position += segment.fixed;
        if let Some(field) = &segment.length_field {
            let length = reference_length(field, fixed)?;
            if buf.len() - position < length {
                return None;
            }
            position += length;
        }
    }
    Some(position)
}

/// `(frame length, bytes consumed)` of the frame at the start of `buf`.
fn reference_frame(delimiter: &Delimiter, buf: &[u8]) -> Option<(usize, usize)> {
    match delimiter {
        Delimiter::Chunk => (!buf.is_empty()).then_some((buf.len(), buf.len())),
        Delimiter::Count(count) => (buf.len() >= *count).then_some((*count, *count)),
        Delimiter::Sequence(sequence) => buf.windows(sequence.len()).position(|window| window == sequence.as_slice()).map(|at| (at, at + sequence.len())),
        // Framed by the caller, or by the stream's request, response or message framer (tests/http.rs, tests/fuzz_http.rs, tests/http_response.rs, tests/ws.rs).
        Delimiter::External | Delimiter::HttpRequest(_) | Delimiter::HttpResponse(_) | Delimiter::WebSocket(_) => None,
        Delimiter::Records(segments) => reference_record(segments, buf).map(|len| (len, len)),
    }
}

/// Frames the whole input at once. `delimiters[i]` cuts frame `i`; the
/// last one cuts every frame after it (a protocol switching delimiters
/// after each frame, as `readDelimiter` set inside `onRead` does).
fn reference(delimiters: &[Delimiter], input: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut frames = Vec::new();
    let mut start = 0;
    loop {
        let delimiter = &delimiters[frames.len().min(delimiters.len() - 1)];
        match reference_frame(delimiter, &input[start..]) {
            Some((len, consumed)) => {
                frames.push(input[start..start + len].to_vec());
                start += consumed;
            }
            None => return (frames, input[start..].to_vec()),
        }
    }
}

// ----- the framer, fed like a channel feeds it ------------------------------

/// Feeds `input` to a real [`Framer`] in pieces of the given sizes (cycled;
/// 0 is read as 1), taking every complete frame after each piece and
/// switching to the next delimiter after each frame. With `reset_every`,
/// a fresh framer (no scan state) takes over after every so many decodes,
/// which must not matter.
fn feed(delimiters: &[Delimiter], input: &[u8], chunks: &[usize], reset_every: Option<usize>) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut framer = Framer::new(delimiters[0].clone());
    let mut buffer = ByteQueue::new();
    let mut out = vec![0; input.len()];
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut offset = 0;
    let mut decodes = 0usize;
    for &size in chunks.iter().cycle() {
        if offset == input.len() {
            break;
        }
        let end = (offset + size.max(1)).min(input.len());
        buffer.extend(&input[offset..end]);
        offset = end;
        loop {
            decodes += 1;
            if reset_every.is_some_and(|every| decodes.is_multiple_of(every)) {
                framer = Framer::new(framer.delimiter().clone());
            }
            let before = buffer.len();
            let len = match framer.decode(&mut buffer, &mut out) {
                FrameRead::Frame(len) => len,
                FrameRead::Incomplete => break,
                other => panic!("{other:?} with room for the whole input"),
            };
            let consumed = before - buffer.len();
            assert!(consumed >= 1, "a frame that consumes nothing would stall the channel: {len} bytes");
            assert!(len <= consumed, "a frame of {len} bytes took only {consumed} bytes off the buffer");
            frames.push(out[..len].to_vec());
            let next = &delimiters[frames.len().min(delimiters.len() - 1)];
            if next != framer.delimiter() || delimiters.len() > 1 {
                framer = Framer::new(next.clone());
            }
        }
    }
    (frames, buffer.as_slice().to_vec())
}

fn check(delimiters: &[Delimiter], input: &[u8], chunks: &[usize], reset_every: Option<usize>) -> Result<(), TestCaseError> {
    let expected = reference(delimiters, input);
    let got = feed(delimiters, input, chunks, reset_every);
    prop_assert_eq!(&got, &expected, "random chunking {:?}", chunks);
    if input.len() <= 96 {
        for size in 1..=input.len().max(1) {
            let uniform = feed(delimiters, input, &[size], None);
            prop_assert_eq!(&uniform, &expected, "uniform chunks of {} bytes", size);
        }
    }
    Ok(())
}

// ----- strategies -----------------------------------------------------------

/// Bytes from a small alphabet, so delimiters (and their prefixes) occur often.
fn bytes_from(alphabet: &'static [u8], max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(alphabet), 0..max_len)
}

fn chunkings() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![4 => 1usize..8, 2 => 8usize..64, 1 => 64usize..1024], 1..24)
}

const ALPHABET: &[u8] = b"ab\r\n\x00\xff";

fn sequences() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..5)
}

fn length_fields(fixed: usize) -> impl Strategy<Value = Option<LengthField>> {
    let sizes: Vec<usize> = [1, 2, 4, 8].into_iter().filter(|&size| size <= fixed).collect();
    if sizes.is_empty() {
        return Just(None).boxed();
    }
    prop_oneof![
        1 => Just(None),
        3 => (prop::sample::select(sizes), any::<bool>(), any::<bool>()).prop_flat_map(move |(size, little_endian, signed)| {
            (0..=fixed - size).prop_map(move |offset| Some(LengthField { offset, size, little_endian, signed }))
        }),
    ]
    .boxed()
}

/// Layouts like the ones `NetStruct.frameLayout()` produces, and more: any
/// number of segments, any of them with or without a string, at least one
/// fixed byte in all (the TypeScript layer refuses a record of no bytes).
fn record_layouts() -> impl Strategy<Value = Vec<RecordSegment>> {
    prop::collection::vec((0usize..10).prop_flat_map(|fixed| length_fields(fixed).prop_map(move |length_field| RecordSegment { fixed, length_field })), 1..4)
        .prop_filter("a record has at least one fixed byte", |segments| segments.iter().any(|segment| segment.fixed > 0))
}

/// Record input: length bytes are mostly small, so strings complete; a
/// byte of 0x80..0xff now and then makes huge or negative lengths.
fn record_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![8 => 0u8..6, 1 => any::<u8>()], 0..160)
}

fn delimiters() -> impl Strategy<Value = Delimiter> {
    prop_oneof![(1usize..40).prop_map(Delimiter::Count), sequences().prop_map(Delimiter::Sequence), record_layouts().prop_map(Delimiter::Records),]
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    let mut runner = TestRunner::new(config());
    if let Err(failure) = runner.run(&strategy, test) {
        panic!("{failure}");
    }
    println!("fuzz: {} cases", cases());
}

// ----- properties -----------------------------------------------------------

#[test]
fn count_framing_matches_the_reference_at_every_chunking() {
    run((1usize..300, bytes_from(ALPHABET, 2_000), chunkings()), |(count, input, chunks)| check(&[Delimiter::Count(count)], &input, &chunks, None));
}

#[test]
fn sequence_framing_matches_the_reference_at_every_chunking() {
    run((sequences(), bytes_from(ALPHABET, 400), chunkings(), prop::option::of(1usize..5)), |(sequence, input, chunks, reset_every)| {
        check(&[Delimiter::Sequence(sequence)], &input, &chunks, reset_every)
    });
}

#[test]
fn record_framing_matches_the_reference_at_every_chunking() {
    run((record_layouts(), record_bytes(), chunkings()), |(layout, input, chunks)| check(&[Delimiter::Records(layout)], &input, &chunks, None));
}

#[test]
fn switching_delimiters_after_each_frame_matches_the_reference() {
    run((prop::collection::vec(delimiters(), 1..8), record_bytes(), chunkings()), |(delimiters, input, chunks)| check(&delimiters, &input, &chunks, None));
}

#[test]
fn arbitrary_bytes_never_panic_any_framer() {
    run((delimiters(), prop::collection::vec(any::<u8>(), 0..600), chunkings()), |(delimiter, input, chunks)| check(&[delimiter], &input, &chunks, None));
}

/// `Chunk` frames depend on how the bytes arrive: each piece fed is one frame.
#[test]
fn chunk_framing_returns_each_piece_as_it_arrives() {
    run((prop::collection::vec(any::<u8>(), 0..600), chunkings()), |(input, chunks)| {
        let (frames, rest) = feed(&[Delimiter::Chunk], &input, &chunks, None);
        prop_assert!(rest.is_empty());
        let mut expected = Vec::new();
        let mut offset = 0;
        for &size in chunks.iter().cycle() {
            if offset == input.len() {
                break;
            }
            let end = (offset + size.max(1)).min(input.len());
            expected.push(input[offset..end].to_vec());
            offset = end;
        }
        prop_assert_eq!(frames, expected);
        Ok(())
    });
}

/// Every input of up to 9 bytes over {a, b}, cut at every one of its
/// 2^(n-1) chunkings, for delimiters whose prefixes overlap.
#[test]
fn sequence_framing_at_every_split_of_every_short_input() {
    let mut checked = 0u64;
    for sequence in [&b"ab"[..], b"aab", b"aa", b"aba", b"b"] {
        let delimiter = [Delimiter::Sequence(sequence.to_vec())];
        for len in 0..=9usize {
            for bits in 0u32..(1 << len) {
                let input: Vec<u8> = (0..len).map(|index| if bits >> index & 1 == 1 { b'b' } else { b'a' }).collect();
                let expected = reference(&delimiter, &input);
                for cuts in 0u32..(1 << len.saturating_sub(1)) {
                    let mut chunks = Vec::new();
                    let mut size = 1;
                    for index in 0..len.saturating_sub(1) {
                        if cuts >> index & 1 == 1 {
                            chunks.push(size);
                            size = 1;
                        } else {
                            size += 1;
                        }
                    }
                    chunks.push(size);
                    assert_eq!(feed(&delimiter, &input, &chunks, None), expected, "{input:?} cut {chunks:?} by {sequence:?}");
                    checked += 1;
                }
            }
        }
    }
    println!("fuzz: {checked} exhaustive chunkings");
}

/// The reference itself, on inputs whose frames are known.
#[test]
fn the_reference_frames_known_inputs() {
    let lines = [Delimiter::Sequence(b"\r\n".to_vec())];
    assert_eq!(reference(&lines, b"a\r\nb\r\n\r\nc"), (vec![b"a".to_vec(), b"b".to_vec(), vec![]], b"c".to_vec()));
    let header_then_body = [Delimiter::Sequence(b"\r\n\r\n".to_vec()), Delimiter::Count(3)];
    assert_eq!(reference(&header_then_body, b"H: 1\r\n\r\nabcdefg"), (vec![b"H: 1".to_vec(), b"abc".to_vec(), b"def".to_vec()], b"g".to_vec()));
    let short_string = [Delimiter::Records(vec![
        RecordSegment { fixed: 2, length_field: Some(LengthField { offset: 0, size: 2, little_endian: false, signed: true }) },
        RecordSegment { fixed: 1, length_field: None },
    ])];
    assert_eq!(reference(&short_string, b"\x00\x02hi!\xff\xffxx"), (vec![b"\x00\x02hi!".to_vec()], b"\xff\xffxx".to_vec()));
}
