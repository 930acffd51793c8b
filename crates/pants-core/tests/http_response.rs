//! The client's response framing: heads parsed into spans, bodies by
//! `Content-Length`, chunked or to the close, none for `HEAD` / 1xx / 204 /
//! 304, and refusals, each fed at every chunk size (Twisted style); then
//! property tests: arbitrary bytes never panic, and a generated response
//! comes back whole however it is cut.

use pants_core::http::{
    Framed, ResponseFramer, ResponseLimits, FLAG_CHUNKED, FLAG_HTTP_1_1, FLAG_KEEP_ALIVE, KIND_BODY, KIND_END, KIND_HEAD, KIND_MALFORMED, KIND_RESPONSE,
    KIND_TOO_LARGE, KIND_TRUNCATED, RESPONSE_FIXED_WORDS,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// One response as read back from its frames, or the error that ended them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Read {
    Response { status: u16, reason: String, flags: u32, headers: Vec<(String, String)>, body: Vec<u8> },
    Error(u32),
}

fn word(frame: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(frame[4 * at..4 * at + 4].try_into().unwrap())
}

/// Status, reason, flags, headers and the body bytes of a response or head frame.
fn read_head(frame: &[u8]) -> (u16, String, u32, Vec<(String, String)>, Vec<u8>) {
    let count = word(frame, 2) as usize;
    let head_start = 4 * (RESPONSE_FIXED_WORDS + 4 * count);
    let span = |at: usize| {
        let start = head_start + word(frame, at) as usize;
        String::from_utf8_lossy(&frame[start..start + word(frame, at + 1) as usize]).into_owned()
    };
    let headers = (0..count).map(|n| (span(RESPONSE_FIXED_WORDS + 4 * n), span(RESPONSE_FIXED_WORDS + 4 * n + 2))).collect();
    let body_start = head_start + word(frame, 3) as usize;
    let body = frame[body_start..body_start + word(frame, 4) as usize].to_vec();
    (word(frame, 5) as u16, span(6), word(frame, 1), headers, body)
}

/// Feeds `input` in pieces of `chunk` bytes, then the close if `eof`; the responses read.
fn feed(limits: ResponseLimits, input: &[u8], chunk: usize, eof: bool) -> Vec<Read> {
    let mut framer = ResponseFramer::new(limits);
    let mut buffered: Vec<u8> = Vec::new();
    let mut out = vec![0u8; 64];
    let mut reads = Vec::new();
    let mut current: Option<Read> = None;
    let pieces: Vec<&[u8]> = input.chunks(chunk.max(1)).collect();
    for round in 0..=pieces.len() {
        let closed = round == pieces.len();
        if closed && !eof {
            break;
        }
        if !closed {
            buffered.extend_from_slice(pieces[round]);
        }
        loop {
            match framer.frame(&buffered, closed, &mut out) {
                Framed::Incomplete { .. } => break,
                Framed::NeedSpace(size) => out.resize(size, 0),
                Framed::Progress { consumed } => {
                    buffered.drain(..consumed);
                }
                Framed::Frame { consumed, length } => {
                    buffered.drain(..consumed);
                    let frame = &out[..length];
                    match word(frame, 0) {
                        KIND_RESPONSE => {
                            let (status, reason, flags, headers, body) = read_head(frame);
                            reads.push(Read::Response { status, reason, flags, headers, body });
                        }
                        KIND_HEAD => {
                            let (status, reason, flags, headers, body) = read_head(frame);
                            current = Some(Read::Response { status, reason, flags, headers, body });
                        }
                        kind @ (KIND_BODY | KIND_END) => {
                            let Some(Read::Response { body, .. }) = current.as_mut() else { panic!("a body frame without a head") };
                            body.extend_from_slice(&frame[4..]);
                            if kind == KIND_END {
                                reads.push(current.take().unwrap());
                            }
                        }
                        error => {
                            reads.push(Read::Error(error));
                            return reads;
                        }
                    }
                }
            }
        }
    }
    reads
}

fn limits() -> ResponseLimits {
    ResponseLimits { max_head: 1024, max_body: 4096, head_request: false }
}

/// The same reads at every chunk size.
fn at_every_chunk_size(limits: ResponseLimits, input: &[u8], eof: bool) -> Vec<Read> {
    let whole = feed(limits, input, input.len(), eof);
    for chunk in 1..input.len() {
        assert_eq!(feed(limits, input, chunk, eof), whole, "chunk size {chunk}");
    }
    whole
}

fn response(status: u16, flags: u32, headers: &[(&str, &str)], body: &[u8]) -> Read {
    Read::Response {
        status,
        reason: match status {
            101 => "Switching Protocols",
            200 => "OK",
            204 => "No Content",
            304 => "Not Modified",
            _ => "X",
        }
        .into(),
        flags,
        headers: headers.iter().map(|&(n, v)| (n.into(), v.into())).collect(),
        body: body.to_vec(),
    }
}

const ALIVE: u32 = FLAG_HTTP_1_1 | FLAG_KEEP_ALIVE;

#[test]
fn content_length_bodies_one_after_another() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(
        at_every_chunk_size(limits(), input, false),
        vec![
            response(200, ALIVE, &[("Content-Length", "5")], b"hello"),
            response(200, FLAG_HTTP_1_1, &[("Content-Length", "0"), ("Connection", "close")], b"")
        ]
    );
}

#[test]
fn a_body_of_known_length_may_be_taken_unframed_between_frames() {
    let mut framer = ResponseFramer::new(limits());
    let mut out = vec![0u8; 256];
    assert_eq!(framer.body_left(), None, "no head yet");
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
    let Framed::Frame { consumed, length } = framer.frame(head, false, &mut out) else { panic!("a head frame") };
    assert_eq!((consumed, word(&out[..length], 0)), (head.len(), KIND_HEAD));
    assert_eq!(framer.body_left(), Some(10));
    assert!(!framer.take_body(4));
    assert_eq!(framer.body_left(), Some(6));
    // Framed and unframed pieces mix: two bytes framed, the rest taken.
    let Framed::Frame { consumed: 2, length } = framer.frame(b"ab", false, &mut out) else { panic!("a body frame") };
    assert_eq!(&out[..length], [&KIND_BODY.to_le_bytes()[..], b"ab"].concat());
    assert!(framer.take_body(4), "the last byte ends the body");
    assert_eq!(framer.body_left(), None);
    // And the next response is framed from its head.
    let next = b"HTTP/1.1 204 No Content\r\n\r\n";
    let Framed::Frame { length, .. } = framer.frame(next, false, &mut out) else { panic!("a response frame") };
    assert_eq!(word(&out[..length], 0), KIND_RESPONSE);
    assert!(!framer.take_body(1), "nothing to take outside a body of known length");
}

#[test]
fn chunked_bodies_are_decoded_with_extensions_and_trailers() {
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n";
    assert_eq!(at_every_chunk_size(limits(), input, false), vec![response(200, ALIVE | FLAG_CHUNKED, &[("Transfer-Encoding", "chunked")], b"hello world")]);
}

#[test]
fn a_body_without_length_ends_with_the_connection() {
    let input = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end";
    assert_eq!(at_every_chunk_size(limits(), input, true), vec![response(200, 0, &[("Content-Type", "text/plain")], b"to the end")]);
    assert_eq!(feed(limits(), input, 7, false), vec![], "not done before the close");
}

#[test]
fn head_requests_1xx_204_and_304_have_no_body() {
    let head = ResponseLimits { head_request: true, ..limits() };
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
    assert_eq!(at_every_chunk_size(head, input, false), vec![response(200, ALIVE, &[("Content-Length", "50")], b"")]);
    let input =
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nHTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        at_every_chunk_size(limits(), input, false),
        vec![response(204, ALIVE, &[("Content-Length", "3")], b""), response(304, ALIVE, &[("Transfer-Encoding", "chunked")], b"")]
    );
}

#[test]
fn switching_protocols_ends_the_framing_and_the_keep_alive() {
    let input = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert_eq!(at_every_chunk_size(limits(), input, false), vec![response(101, FLAG_HTTP_1_1, &[("Upgrade", "websocket")], b"")]);
}

#[test]
fn malformed_responses_are_refused() {
    for input in [
        &b"HTTP/1.1 2x0 OK\r\n\r\n"[..],
        b"garbage\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
    ] {
        let reads = at_every_chunk_size(limits(), input, false);
        assert_eq!(reads.last(), Some(&Read::Error(KIND_MALFORMED)), "{}", String::from_utf8_lossy(input));
    }
}

#[test]
fn responses_over_the_limits_are_refused() {
    let long_head = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(2000));
    for input in [long_head.as_bytes(), b"HTTP/1.1 200 OK\r\nContent-Length: 4097\r\n\r\n", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1001\r\n"] {
        assert_eq!(at_every_chunk_size(limits(), input, false).last(), Some(&Read::Error(KIND_TOO_LARGE)));
    }
    let to_end = format!("HTTP/1.1 200 OK\r\n\r\n{}", "b".repeat(4097));
    assert_eq!(feed(limits(), to_end.as_bytes(), 1000, true).last(), Some(&Read::Error(KIND_TOO_LARGE)));
}

#[test]
fn a_close_before_the_body_ends_is_truncation() {
    for input in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nContent-",
    ] {
        assert_eq!(at_every_chunk_size(limits(), input, true).last(), Some(&Read::Error(KIND_TRUNCATED)));
    }
    assert_eq!(feed(limits(), b"", 1, true), vec![], "a close between responses is no error of the framer's");
}

// ----- properties -------------------------------------------------------------

fn config() -> Config {
    let cases = std::env::var("PANTS_FUZZ_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(2_000);
    Config { cases, failure_persistence: None, ..Config::default() }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut runner = TestRunner::new(config());
    let prefix =
        prop_oneof![Just(b"".to_vec()), Just(b"HTTP/1.1 200 OK\r\n".to_vec()), Just(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec())];
    runner
        .run(&(prefix, proptest::collection::vec(any::<u8>(), 0..300), 1usize..40, any::<bool>()), |(prefix, tail, chunk, eof)| {
            let input = [prefix, tail].concat();
            feed(limits(), &input, chunk, eof);
            Ok(())
        })
        .unwrap();
}

#[test]
fn generated_responses_come_back_whole_at_any_cut() {
    let mut runner = TestRunner::new(config());
    let body = proptest::collection::vec(any::<u8>(), 0..600);
    let chunk_sizes = proptest::collection::vec(1usize..200, 1..6);
    runner
        .run(&(body, chunk_sizes, 0u8..3, 1usize..64), |(body, chunk_sizes, framing, cut)| {
            let mut input = b"HTTP/1.1 200 OK\r\nX-A: b\r\n".to_vec();
            let eof = framing == 2;
            match framing {
                0 => {
                    input.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                    input.extend_from_slice(&body);
                }
                1 => {
                    input.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    let mut rest = &body[..];
                    for size in chunk_sizes.iter().cycle() {
                        if rest.is_empty() {
                            break;
                        }
                        let take = (*size).min(rest.len());
                        input.extend_from_slice(format!("{take:x}\r\n").as_bytes());
                        input.extend_from_slice(&rest[..take]);
                        input.extend_from_slice(b"\r\n");
                        rest = &rest[take..];
                    }
                    input.extend_from_slice(b"0\r\n\r\n");
                }
                _ => {
                    input.extend_from_slice(b"\r\n");
                    input.extend_from_slice(&body);
                }
            }
            let reads = feed(limits(), &input, cut, eof);
            prop_assert_eq!(reads.len(), 1);
            let Read::Response { status, body: read, .. } = &reads[0] else { panic!("{:?}", reads) };
            prop_assert_eq!(*status, 200);
            prop_assert_eq!(read, &body);
            Ok(())
        })
        .unwrap();
}
