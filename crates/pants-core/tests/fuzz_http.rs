//! Property tests of the HTTP head parser and the chunked decoder.
//!
//! - Arbitrary bytes never panic either of them.
//! - The chunked decoder gives the same outcome fed in any pieces as fed
//!   whole, and the same as a naive reference written here, which reads the
//!   whole input line by line with no state carried between calls.
//! - Generated requests come back from the head parser as generated, and
//!   every prefix of one is incomplete.
//!
//! Cases per property: `PANTS_FUZZ_CASES` (default 2,000).

use pants_core::http::{parse_request_head, BodyLength, ChunkedDecoder, HeadLimits};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn config() -> Config {
    let cases = std::env::var("PANTS_FUZZ_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(2_000);
    Config { cases, failure_persistence: None, ..Config::default() }
}

const MAX_BODY: u64 = 64;

/// How a chunked body read went: the body and the bytes it took, not finished, or refused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Done(Vec<u8>, usize),
    Incomplete(Vec<u8>),
    Refused,
}

// ----- the reference ------------------------------------------------------------

/// A line of the input, read from some offset.
enum Line<'a> {
    /// Its content and where the next line starts.
    Full(&'a [u8], usize),
    /// The input ends inside it: the content so far, and whether its CR came (only the LF is missing).
    Partial(&'a [u8], bool),
    /// It ends in something other than CRLF.
    Bad,
}

fn line(input: &[u8], at: usize) -> Line<'_> {
    let rest = &input[at..];
    match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
        None => Line::Partial(rest, false),
        Some(end) if rest[end] == b'\n' => Line::Bad,
        Some(end) if end + 1 == rest.len() => Line::Partial(&rest[..end], true),
        Some(end) if rest[end + 1] == b'\n' => Line::Full(&rest[..end], at + end + 2),
        Some(_) => Line::Bad,
    }
}

fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// The size on a size line, checking as much of it as is there: `Ok(None)`
/// for a valid start of a line that is not finished.
fn size_line(content: &[u8], finished: bool) -> Result<Option<u64>, ()> {
    let digits = content.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits > 15 {
        return Err(());
    }
    let rest = &content[digits..];
    let spaces = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let extension_ok = match rest.get(spaces) {
        None => true,
        Some(b';') => !rest[spaces..].iter().any(|&b| is_control(b)),
        Some(_) => false,
    };
    if !extension_ok || (digits == 0 && (finished || !content.is_empty())) {
        return Err(());
    }
    if !finished {
        return Ok(None);
    }
    Ok(Some(u64::from_str_radix(std::str::from_utf8(&content[..digits]).unwrap(), 16).unwrap()))
}

fn trailer_ok(content: &[u8]) -> bool {
    !matches!(content.first(), Some(b' ' | b'\t')) && !content.iter().any(|&b| is_control(b))
}

fn reference(input: &[u8]) -> Outcome {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let (content, next) = match line(input, at) {
            Line::Full(content, next) => (content, next),
            Line::Partial(content, ended) => return if size_line(content, ended).is_ok() { Outcome::Incomplete(body) } else { Outcome::Refused },
            Line::Bad => return Outcome::Refused,
        };
        let Ok(Some(size)) = size_line(content, true) else { return Outcome::Refused };
        at = next;
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY {
            return Outcome::Refused;
        }
        let end = at + size as usize;
        if input.len() < end {
            body.extend_from_slice(&input[at..]);
            return Outcome::Incomplete(body);
        }
        body.extend_from_slice(&input[at..end]);
        let after = &input[end..input.len().min(end + 2)];
        if !b"\r\n".starts_with(after) {
            return Outcome::Refused;
        }
        if after.len() < 2 {
            return Outcome::Incomplete(body);
        }
        at = end + 2;
    }
    loop {
        match line(input, at) {
            Line::Full(&[], next) => return Outcome::Done(body, next),
            Line::Full(content, next) if trailer_ok(content) => at = next,
            Line::Partial(content, _) if trailer_ok(content) => return Outcome::Incomplete(body),
            _ => return Outcome::Refused,
        }
    }
}

// ----- the decoder, fed in pieces --------------------------------------------------

/// Feeds `input` as it would arrive, cut at `cuts` (modulo its length): after
/// each arrival the decoder sees every byte received and not yet consumed.
fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut decoder = ChunkedDecoder::new(MAX_BODY);
    let mut body = Vec::new();
    let mut used = 0;
    let mut arrivals: Vec<usize> = cuts.iter().map(|&cut| cut % (input.len() + 1)).collect();
    arrivals.sort_unstable();
    arrivals.push(input.len());
    for received in arrivals {
        while used < received {
            let available = &input[used..received];
            let Ok(step) = decoder.decode(available) else { return Outcome::Refused };
            body.extend_from_slice(&available[step.data.clone()]);
            used += step.consumed;
            if decoder.is_done() {
                return Outcome::Done(body, used);
            }
            if step.consumed == 0 {
                break;
            }
        }
    }
    Outcome::Incomplete(body)
}

/// Bytes near the chunked grammar, so arbitrary inputs reach deep states.
fn chunked_alphabet() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(b"0123456789aAfF;= \t\r\n\r\n\r\nxX:\0".to_vec()), 0..80)
}

/// A valid chunked body of random chunks, extensions and trailers, maybe with one byte changed.
fn chunked_message() -> impl Strategy<Value = Vec<u8>> {
    let chunk = (prop::collection::vec(any::<u8>(), 1..20), prop::option::of("[a-z]{1,5}(=[a-z0-9]{0,5})?"));
    let trailers = prop::collection::vec("[A-Za-z-]{1,8}: [ -~]{0,10}", 0..3);
    (prop::collection::vec(chunk, 0..4), trailers, prop::option::of((any::<prop::sample::Index>(), any::<u8>()))).prop_map(|(chunks, trailers, change)| {
        let mut out = Vec::new();
        for (data, extension) in chunks {
            out.extend_from_slice(format!("{:X}", data.len()).as_bytes());
            if let Some(extension) = extension {
                out.extend_from_slice(format!(";{extension}").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        for trailer in trailers {
            out.extend_from_slice(format!("{trailer}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\nNEXT");
        if let Some((index, byte)) = change {
            let at = index.index(out.len());
            out[at] = byte;
        }
        out
    })
}

fn check_chunked(input: &[u8], cuts: &[usize]) -> Result<(), TestCaseError> {
    let whole = decode_in_pieces(input, &[]);
    prop_assert_eq!(&whole, &reference(input), "whole input against the reference");
    prop_assert_eq!(&decode_in_pieces(input, cuts), &whole, "in pieces against whole");
    for size in 1..input.len().min(24) {
        let cuts: Vec<usize> = (size..input.len()).step_by(size).collect();
        prop_assert_eq!(&decode_in_pieces(input, &cuts), &whole, "pieces of {} bytes", size);
    }
    Ok(())
}

#[test]
fn chunked_near_grammar_bytes_agree_with_the_reference_in_any_pieces() {
    let strategy = (chunked_alphabet(), prop::collection::vec(any::<usize>(), 0..6));
    TestRunner::new(config()).run(&strategy, |(input, cuts)| check_chunked(&input, &cuts)).unwrap();
}

#[test]
fn chunked_messages_and_one_byte_corruptions_agree_with_the_reference() {
    let strategy = (chunked_message(), prop::collection::vec(any::<usize>(), 0..6));
    TestRunner::new(config()).run(&strategy, |(input, cuts)| check_chunked(&input, &cuts)).unwrap();
}

#[test]
fn chunked_arbitrary_bytes_never_panic() {
    TestRunner::new(config())
        .run(&prop::collection::vec(any::<u8>(), 0..200), |input| {
            let _ = decode_in_pieces(&input, &[]);
            Ok(())
        })
        .unwrap();
}

// ----- request heads ----------------------------------------------------------------

#[test]
fn heads_arbitrary_bytes_never_panic_and_prefixes_never_contradict_the_whole() {
    let limits = HeadLimits { max_head: 4096, max_body: 1 << 20 };
    let near =
        prop::collection::vec(prop::sample::select(b"GET / HTTP/1.01\r\n\r\nHost: a:Content-Length: 5\0 \t,Transfer-Encoding: chunked".to_vec()), 0..120);
    let strategy = prop_oneof![prop::collection::vec(any::<u8>(), 0..200), near];
    TestRunner::new(config())
        .run(&strategy, |input| {
            let whole = parse_request_head(&input, &limits);
            if let Ok(Some(head)) = &whole {
                prop_assert!(head.length <= input.len());
                for end in 0..head.length {
                    prop_assert_eq!(parse_request_head(&input[..end], &limits), Ok(None), "prefix of {} bytes", end);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn generated_requests_come_back_as_generated() {
    let header = ("[A-Za-z][A-Za-z0-9-]{0,10}", "[!-~]([ -~]{0,20}[!-~])?");
    let strategy = ("[A-Z]{1,7}", "/[!-~]{0,30}", 0u8..2, prop::collection::vec(header, 0..8), prop::option::of(0u64..1000)).prop_filter(
        "framing headers are chosen below",
        |(_, _, _, headers, _)| {
            headers.iter().all(|(name, _)| {
                !["host", "content-length", "transfer-encoding", "expect", "connection", "upgrade"].iter().any(|n| name.eq_ignore_ascii_case(n))
            })
        },
    );
    TestRunner::new(config())
        .run(&strategy, |(method, target, minor, mut headers, length)| {
            headers.insert(0, ("Host".to_string(), "example.com".to_string()));
            if let Some(length) = length {
                headers.push(("Content-Length".to_string(), length.to_string()));
            }
            let mut text = format!("{method} {target} HTTP/1.{minor}\r\n");
            for (name, value) in &headers {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
            text.push_str("\r\n");
            let head = parse_request_head(text.as_bytes(), &HeadLimits::default()).unwrap().unwrap();
            prop_assert_eq!(head.length, text.len());
            prop_assert_eq!(&text[head.method.range()], method.as_str());
            prop_assert_eq!(&text[head.target.range()], target.as_str());
            prop_assert_eq!(head.minor_version, minor);
            let parsed: Vec<(String, String)> =
                head.headers.iter().map(|&(name, value)| (text[name.range()].to_string(), text[value.range()].to_string())).collect();
            prop_assert_eq!(&parsed, &headers);
            let body = match length {
                None | Some(0) => BodyLength::Empty,
                Some(n) => BodyLength::Length(n),
            };
            prop_assert_eq!(head.body, body);
            prop_assert_eq!(head.keep_alive, minor == 1);
            Ok(())
        })
        .unwrap();
}
