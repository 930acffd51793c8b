//! Request heads and chunked bodies against the rules of API-HTTP.md: what is
//! accepted, with which framing, and the status each refusal answers with.

use pants_core::http::{parse_request_head, BodyLength, ChunkedDecoder, ChunkedError, HeadError, HeadLimits, RequestHead};

fn parse(head: &str) -> Result<Option<RequestHead>, HeadError> {
    parse_request_head(head.as_bytes(), &HeadLimits::default())
}

fn accepted(head: &str) -> RequestHead {
    parse(head).unwrap_or_else(|error| panic!("{head:?} refused: {error:?}")).unwrap_or_else(|| panic!("{head:?} incomplete"))
}

fn refused(head: &str) -> u16 {
    match parse(head) {
        Err(error) => error.status(),
        Ok(result) => panic!("{head:?} accepted: {result:?}"),
    }
}

fn text(head: &str, span: pants_core::http::Span) -> &str {
    &head[span.range()]
}

#[test]
fn a_get_is_cut_into_method_target_version_and_headers() {
    let head = "GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Two:  spaced value \t\r\n\r\nnext";
    let parsed = accepted(head);
    assert_eq!(parsed.length, head.len() - "next".len());
    assert_eq!(text(head, parsed.method), "GET");
    assert_eq!(text(head, parsed.target), "/a/b?x=1");
    assert_eq!(parsed.minor_version, 1);
    let headers: Vec<(&str, &str)> = parsed.headers.iter().map(|&(name, value)| (text(head, name), text(head, value))).collect();
    assert_eq!(headers, [("Host", "example.com"), ("X-Two", "spaced value")]);
    assert_eq!(parsed.body, BodyLength::Empty);
    assert!(parsed.keep_alive && !parsed.expect_continue && !parsed.upgrade);
}

#[test]
fn every_prefix_of_a_head_is_incomplete() {
    let head = "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
    for end in 0..head.len() {
        assert_eq!(parse(&head[..end]), Ok(None), "prefix of {end} bytes");
    }
    assert_eq!(accepted(head).body, BodyLength::Length(3));
}

#[test]
fn blank_lines_before_the_request_line_are_skipped() {
    let head = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let parsed = accepted(head);
    assert_eq!(text(head, parsed.method), "GET");
    assert_eq!(parsed.length, head.len());
}

#[test]
fn keep_alive_follows_the_version_and_the_connection_header() {
    assert!(accepted("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
    assert!(!accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(!accepted("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n").keep_alive);
    assert!(!accepted("GET / HTTP/1.0\r\n\r\n").keep_alive);
    assert!(accepted("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
    let upgrade = accepted("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert!(upgrade.upgrade);
    assert!(!accepted("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").upgrade);
}

#[test]
fn bodies_are_framed_by_one_content_length_or_chunked() {
    assert_eq!(accepted("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n").body, BodyLength::Length(42));
    assert_eq!(accepted("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").body, BodyLength::Empty);
    assert_eq!(accepted("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n").body, BodyLength::Chunked);
}

#[test]
fn ambiguous_or_bad_lengths_are_400() {
    for length in ["+5", "-1", "5, 5", "5 5", "0x5", "", "99999999999999999999"] {
        assert_eq!(refused(&format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n")), 400, "{length:?}");
    }
    assert_eq!(refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 400);
    assert_eq!(refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
    assert_eq!(refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    assert_eq!(refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
    assert_eq!(refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), 400);
    assert_eq!(refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n"), 400);
    assert_eq!(refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

#[test]
fn other_transfer_codings_are_501() {
    for coding in ["gzip", "gzip, chunked", "chunked, gzip", "identity"] {
        assert_eq!(refused(&format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {coding}\r\n\r\n")), 501, "{coding}");
    }
}

#[test]
fn a_body_over_the_limit_is_413_before_it_is_read() {
    let limits = HeadLimits { max_head: 1024, max_body: 100 };
    let head = |length: u32| format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n");
    assert_eq!(parse_request_head(head(100).as_bytes(), &limits).unwrap().unwrap().body, BodyLength::Length(100));
    assert_eq!(parse_request_head(head(101).as_bytes(), &limits), Err(HeadError::BodyTooLarge));
    assert_eq!(HeadError::BodyTooLarge.status(), 413);
}

#[test]
fn versions_other_than_1_0_and_1_1_are_505_and_garbage_is_400() {
    assert_eq!(refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
    assert_eq!(refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), 505);
    assert_eq!(refused("GET / HTTP/10.1\r\nHost: a\r\n\r\n"), 505);
    assert_eq!(refused("GET / HTTP/x\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(refused("GET / FTP/1.1\r\nHost: a\r\n\r\n"), 400);
    assert_eq!(refused("GET /\r\n\r\n"), 400);
}

#[test]
fn smuggling_shapes_are_400() {
    // Bare LF, bare CR, an obs-fold continuation, whitespace before the colon, a NUL.
    assert_eq!(refused("GET / HTTP/1.1\nHost: a\n\n"), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), 400);
    assert_eq!(refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

#[test]
fn host_is_required_once_in_1_1_and_at_most_once_in_1_0() {
    assert_eq!(refused("GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    assert_eq!(refused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    accepted("GET / HTTP/1.0\r\n\r\n");
}

#[test]
fn expect_100_continue_is_noted_and_other_expectations_are_417() {
    assert!(accepted("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n").expect_continue);
    assert!(!accepted("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expect_continue);
    assert_eq!(refused("PUT / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n"), 417);
}

#[test]
fn heads_over_the_limit_are_431_complete_or_not() {
    let limits = HeadLimits { max_head: 64, max_body: 0 };
    let long = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "v".repeat(64));
    assert_eq!(parse_request_head(long.as_bytes(), &limits), Err(HeadError::TooLarge));
    assert_eq!(parse_request_head(&long.as_bytes()[..64], &limits), Err(HeadError::TooLarge));
    assert_eq!(parse_request_head(&long.as_bytes()[..63], &limits), Ok(None));
    assert_eq!(HeadError::TooLarge.status(), 431);
}

#[test]
fn many_short_headers_within_the_limit_are_all_kept() {
    let mut head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    for n in 0..2000 {
        head.push_str(&format!("h{n}:{n}\r\n"));
    }
    head.push_str("\r\n");
    let parsed = parse_request_head(head.as_bytes(), &HeadLimits { max_head: head.len(), max_body: 0 }).unwrap().unwrap();
    assert_eq!(parsed.headers.len(), 2001);
    assert_eq!(text(&head, parsed.headers[2000].1), "1999");
}

// ----- chunked bodies ----------------------------------------------------------

/// Decodes `input` whole: the body, the bytes used, or the error.
fn dechunk(input: &str, max_body: u64) -> Result<(String, usize, bool), ChunkedError> {
    let mut decoder = ChunkedDecoder::new(max_body);
    let (mut body, mut at) = (String::new(), 0);
    loop {
        let step = decoder.decode(&input.as_bytes()[at..])?;
        body.push_str(&input[at + step.data.start..at + step.data.end]);
        at += step.consumed;
        if step.consumed == 0 || decoder.is_done() {
            return Ok((body, at, decoder.is_done()));
        }
    }
}

#[test]
fn chunks_extensions_and_trailers_decode_to_the_body() {
    let input = "5\r\nhello\r\n6;name=value\r\n world\r\nA \t;x\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    assert_eq!(dechunk(input, 1 << 20), Ok(("hello world0123456789".into(), input.len() - 4, true)));
}

#[test]
fn a_chunked_body_cut_anywhere_waits_for_more() {
    let input = "4\r\nwiki\r\n0\r\n\r\n";
    for end in 0..input.len() {
        let (_, _, done) = dechunk(&input[..end], 100).unwrap();
        assert!(!done, "done after {end} bytes");
    }
}

#[test]
fn malformed_chunking_is_refused() {
    for input in [
        "x\r\n",
        "5\nhello\r\n0\r\n\r\n",
        "5\r\nhelloX\r\n",
        "5\r\nhello\n0\r\n\r\n",
        "5 x\r\n",
        "5;a\nb\r\n",
        "0\r\n folded: t\r\n\r\n",
        "0\r\nX: t\n\r\n",
        "0\r\n\n",
        "-5\r\n",
        "5;\0\r\n",
    ] {
        assert_eq!(dechunk(input, 100), Err(ChunkedError::Malformed), "{input:?}");
    }
}

#[test]
fn chunked_bodies_over_the_limit_are_refused_at_the_size_line() {
    assert_eq!(dechunk("8\r\n12345678\r\n0\r\n\r\n", 8).map(|(body, ..)| body), Ok("12345678".into()));
    assert_eq!(dechunk("8\r\n12345678\r\n1\r\n", 8), Err(ChunkedError::TooLarge));
    assert_eq!(dechunk("FFFFFFFFFFFFFFFF\r\n", u64::MAX), Err(ChunkedError::TooLarge));
}

#[test]
fn endless_extensions_and_trailers_are_refused() {
    let extension = format!("5;{}", "e".repeat(5000));
    assert_eq!(dechunk(&extension, 100), Err(ChunkedError::Malformed));
    let trailers = format!("0\r\n{}", "X: y\r\n".repeat(2000));
    assert_eq!(dechunk(&trailers, 100), Err(ChunkedError::Malformed));
}

// ----- whole requests framed from a connection's input -------------------------------

use pants_core::http::{Framed, RequestFramer, FIXED_WORDS, FLAG_CHUNKED, FLAG_EXPECT_CONTINUE, FLAG_HTTP_1_1, FLAG_KEEP_ALIVE};

/// A framed request read back: status, flags, method, target, headers, body.
#[derive(Debug, PartialEq)]
struct Request {
    status: u32,
    flags: u32,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn read_frame(frame: &[u8]) -> Request {
    let word = |at: usize| u32::from_le_bytes(frame[4 * at..4 * at + 4].try_into().unwrap()) as usize;
    if word(0) != 0 {
        assert_eq!(frame.len(), 4);
        return Request { status: word(0) as u32, flags: 0, method: String::new(), target: String::new(), headers: vec![], body: vec![] };
    }
    let count = word(2);
    let head_start = 4 * (FIXED_WORDS + 4 * count);
    let head = &frame[head_start..head_start + word(3)];
    let body = frame[head_start + word(3)..].to_vec();
    assert_eq!(body.len(), word(4));
    let span = |at: usize| String::from_utf8(head[word(at)..word(at) + word(at + 1)].to_vec()).unwrap();
    Request {
        status: 0,
        flags: word(1) as u32,
        method: span(5),
        target: span(7),
        headers: (0..count).map(|n| (span(FIXED_WORDS + 4 * n), span(FIXED_WORDS + 4 * n + 2))).collect(),
        body,
    }
}

/// Feeds `arrivals` one after another as a connection would, and returns the
/// frames and how many times `100 Continue` was asked for.
fn frame_all(framer: &mut RequestFramer, arrivals: &[&[u8]]) -> (Vec<Request>, usize) {
    let (mut input, mut frames, mut continues) = (Vec::new(), Vec::new(), 0);
    let mut out = vec![0u8; 16];
    for arrival in arrivals {
        input.extend_from_slice(arrival);
        loop {
            match framer.frame(&input, &mut out) {
                Framed::Incomplete { send_continue } => {
                    continues += usize::from(send_continue);
                    break;
                }
                Framed::Progress { consumed } => drop(input.drain(..consumed)),
                Framed::NeedSpace(size) => out.resize(size, 0),
                Framed::Frame { consumed, length } => {
                    input.drain(..consumed);
                    frames.push(read_frame(&out[..length]));
                }
            }
        }
    }
    (frames, continues)
}

#[test]
fn pipelined_requests_come_out_whole_and_in_order_at_any_cut() {
    let stream = b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    let chunked = b"POST /four HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n";
    let whole: Vec<u8> = [&stream[..], &chunked[..]].concat();
    for size in 1..=whole.len() {
        let arrivals: Vec<&[u8]> = whole.chunks(size).collect();
        let (frames, continues) = frame_all(&mut RequestFramer::new(HeadLimits::default()), &arrivals);
        assert_eq!(continues, 0);
        let summary: Vec<(&str, &str, &[u8], u32)> = frames.iter().map(|r| (&*r.method, &*r.target, &r.body[..], r.flags)).collect();
        assert_eq!(
            summary,
            [
                ("GET", "/one", &b""[..], FLAG_HTTP_1_1 | FLAG_KEEP_ALIVE),
                ("POST", "/two", b"hello", FLAG_HTTP_1_1 | FLAG_KEEP_ALIVE),
                ("POST", "/four", b"abcde", FLAG_HTTP_1_1 | FLAG_KEEP_ALIVE | FLAG_CHUNKED),
            ],
            "arrivals of {size} bytes"
        );
        assert_eq!(frames[1].headers, [("Host".to_string(), "a".to_string()), ("Content-Length".to_string(), "5".to_string())]);
    }
}

#[test]
fn a_client_expecting_100_continue_is_told_once_when_its_body_is_awaited() {
    let head = b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    let (frames, continues) = frame_all(&mut RequestFramer::new(HeadLimits::default()), &[head, b"da", b"ta"]);
    assert_eq!(continues, 1);
    assert_eq!(frames[0].body, b"data");
    assert_ne!(frames[0].flags & FLAG_EXPECT_CONTINUE, 0);
    // The body came with the head: nothing to wait for, no 100 Continue.
    let (_, continues) = frame_all(&mut RequestFramer::new(HeadLimits::default()), &[&[&head[..], b"data"].concat()]);
    assert_eq!(continues, 0);
    // Chunked bodies too.
    let head = b"PUT /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (frames, continues) = frame_all(&mut RequestFramer::new(HeadLimits::default()), &[head, b"1\r\nx\r\n", b"0\r\n\r\n"]);
    assert_eq!((continues, &frames[0].body[..]), (1, &b"x"[..]));
}

#[test]
fn a_refused_request_is_a_status_frame_after_the_good_ones_and_ends_the_framing() {
    let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/2.0\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut framer = RequestFramer::new(HeadLimits::default());
    let (frames, _) = frame_all(&mut framer, &[input]);
    assert_eq!(frames.iter().map(|r| r.status).collect::<Vec<_>>(), [0, 505]);
    assert!(framer.refused());
    for (body, status) in [("5\r\nabc", 400), ("20\r\n", 413)] {
        let input = format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
        let (frames, _) = frame_all(&mut RequestFramer::new(HeadLimits { max_head: 1024, max_body: 16 }), &[input.as_bytes(), b"x\r\n"]);
        assert_eq!(frames.iter().map(|r| r.status).collect::<Vec<_>>(), [status], "{body:?}");
    }
}

#[test]
fn the_framer_knows_when_it_is_inside_a_request() {
    let mut framer = RequestFramer::new(HeadLimits::default());
    let mut out = vec![0u8; 1024];
    assert!(!framer.mid_request());
    let head = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nab";
    assert_eq!(framer.frame(head, &mut out), Framed::Incomplete { send_continue: false });
    assert!(framer.mid_request());
    assert!(matches!(framer.frame(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", &mut out), Framed::Frame { .. }));
    assert!(!framer.mid_request());
}
