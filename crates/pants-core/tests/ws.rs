//! WebSocket framing (RFC 6455): messages cut from bytes arriving in every
//! chunking, the protocol errors each with its close code, permessage-deflate,
//! and arbitrary input that never panics.

use pants_core::ws::{
    is_valid_close_code, Cut, DeflateSettings, MessageFramer, MessageSender, Role, WsSettings, INFO_ERROR, OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING,
    OP_PONG, OP_TEXT,
};
use proptest::prelude::*;

const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

fn settings(role: Role) -> WsSettings {
    WsSettings { role, max_payload: 1 << 20, deflate: None }
}

/// One frame as a peer would send it (`first`: FIN, RSV bits and opcode).
fn raw(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![first];
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len if len < 126 => out.push(mask_bit | len as u8),
        len if len <= 0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(n, byte)| byte ^ key[n % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A client's frame (masked), FIN set.
fn client(opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw(0x80 | opcode, payload, Some(MASK))
}

/// What came out: (info word, payload).
type Output = Vec<(u32, Vec<u8>)>;

/// Feeds `input` `chunk` bytes at a time, taking every frame as soon as it is complete.
fn feed(framer: &mut MessageFramer, input: &[u8], chunk: usize) -> Output {
    let mut buffered: Vec<u8> = Vec::new();
    let mut frames = Vec::new();
    let mut out = vec![0u8; 64];
    for piece in input.chunks(chunk.max(1)) {
        buffered.extend_from_slice(piece);
        loop {
            match framer.frame(&buffered, &mut out) {
                Cut::Incomplete => break,
                Cut::Progress { consumed } => {
                    buffered.drain(..consumed);
                }
                Cut::Frame { consumed, length } => {
                    buffered.drain(..consumed);
                    let info = u32::from_le_bytes(out[..4].try_into().unwrap());
                    frames.push((info, out[4..length].to_vec()));
                }
                Cut::NeedSpace(size) => {
                    assert!(size > out.len());
                    out = vec![0u8; size];
                }
            }
        }
    }
    frames
}

/// The same output for every chunk size.
fn frames_at_every_chunking(settings: WsSettings, input: &[u8]) -> Output {
    let whole = feed(&mut MessageFramer::new(settings), input, input.len());
    for chunk in 1..input.len().min(40) {
        assert_eq!(feed(&mut MessageFramer::new(settings), input, chunk), whole, "chunk size {chunk}");
    }
    whole
}

fn error_code(info: u32) -> Option<u16> {
    (info & INFO_ERROR != 0).then_some((info >> 16) as u16)
}

/// The close code the framer fails the connection with for `input` (from a client).
fn failure(input: &[u8]) -> u16 {
    let frames = frames_at_every_chunking(settings(Role::Server), input);
    let (info, _) = frames.last().expect("a frame");
    error_code(*info).unwrap_or_else(|| panic!("no error in {frames:?}"))
}

#[test]
fn whole_messages_and_control_frames() {
    let mut input = client(OP_TEXT, "héllo".as_bytes());
    input.extend(client(OP_BINARY, &[0, 1, 2, 255]));
    input.extend(client(OP_PING, b"p"));
    input.extend(client(OP_PONG, b""));
    input.extend(client(OP_TEXT, &vec![b'x'; 300]));
    input.extend(client(OP_BINARY, &vec![7; 70_000]));
    input.extend(client(OP_CLOSE, &[0x03, 0xe8, b'b', b'y', b'e']));
    let frames = frames_at_every_chunking(settings(Role::Server), &input);
    let expected: Output = vec![
        (u32::from(OP_TEXT), "héllo".as_bytes().to_vec()),
        (u32::from(OP_BINARY), vec![0, 1, 2, 255]),
        (u32::from(OP_PING), b"p".to_vec()),
        (u32::from(OP_PONG), vec![]),
        (u32::from(OP_TEXT), vec![b'x'; 300]),
        (u32::from(OP_BINARY), vec![7; 70_000]),
        (u32::from(OP_CLOSE), vec![0x03, 0xe8, b'b', b'y', b'e']),
    ];
    assert_eq!(frames, expected);
}

#[test]
fn fragments_are_reassembled_with_control_frames_between() {
    let mut input = raw(OP_TEXT, "frag".as_bytes(), Some(MASK));
    input.extend(client(OP_PING, b"in between"));
    input.extend(raw(OP_CONTINUATION, "mé".as_bytes(), Some(MASK)));
    input.extend(raw(0x80 | OP_CONTINUATION, "nted".as_bytes(), Some(MASK)));
    input.extend(raw(OP_BINARY, &[], Some(MASK)));
    input.extend(raw(0x80 | OP_CONTINUATION, &[9], Some(MASK)));
    let frames = frames_at_every_chunking(settings(Role::Server), &input);
    assert_eq!(
        frames,
        vec![(u32::from(OP_PING), b"in between".to_vec()), (u32::from(OP_TEXT), "fragménted".as_bytes().to_vec()), (u32::from(OP_BINARY), vec![9])]
    );
}

#[test]
fn a_character_split_across_fragments_is_valid() {
    let text = "€uro".as_bytes();
    let mut input = raw(OP_TEXT, &text[..1], Some(MASK));
    input.extend(raw(OP_CONTINUATION, &text[1..2], Some(MASK)));
    input.extend(raw(0x80 | OP_CONTINUATION, &text[2..], Some(MASK)));
    assert_eq!(frames_at_every_chunking(settings(Role::Server), &input), vec![(u32::from(OP_TEXT), text.to_vec())]);
}

#[test]
fn protocol_errors_fail_with_1002() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unmasked client frame", raw(0x80 | OP_TEXT, b"hi", None)),
        ("RSV1 without an extension", raw(0xc0 | OP_TEXT, b"hi", Some(MASK))),
        ("RSV2", raw(0xa0 | OP_TEXT, b"hi", Some(MASK))),
        ("RSV3", raw(0x90 | OP_TEXT, b"hi", Some(MASK))),
        ("opcode 3", client(3, b"")),
        ("opcode 7", client(7, b"")),
        ("opcode 11", client(11, b"")),
        ("opcode 15", client(15, b"")),
        ("fragmented ping", raw(OP_PING, b"x", Some(MASK))),
        ("126-byte ping", client(OP_PING, &[0; 126])),
        ("continuation first", client(OP_CONTINUATION, b"x")),
        ("new message inside a fragmented one", [raw(OP_TEXT, b"a", Some(MASK)), client(OP_TEXT, b"b")].concat()),
        ("1-byte close", client(OP_CLOSE, &[3])),
        ("close code 999", client(OP_CLOSE, &999u16.to_be_bytes())),
        ("close code 1005", client(OP_CLOSE, &1005u16.to_be_bytes())),
        ("close code 1006", client(OP_CLOSE, &1006u16.to_be_bytes())),
        ("close code 1016", client(OP_CLOSE, &1016u16.to_be_bytes())),
        ("close code 2999", client(OP_CLOSE, &2999u16.to_be_bytes())),
        ("close code 5000", client(OP_CLOSE, &5000u16.to_be_bytes())),
        ("64-bit length with the top bit", vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]),
    ];
    for (name, input) in cases {
        assert_eq!(failure(&input), 1002, "{name}");
    }
}

#[test]
fn invalid_utf8_fails_with_1007_as_soon_as_it_arrives() {
    assert_eq!(failure(&client(OP_TEXT, &[b'a', 0xff])), 1007);
    assert_eq!(failure(&client(OP_TEXT, &[0xce, 0xba, 0xe1, 0xbd])), 1007, "ends inside a character");
    assert_eq!(failure(&client(OP_CLOSE, &[0x03, 0xe8, 0xff])), 1007, "close reason");
    // Fail fast: the bad fragment is reported before the message's last frame.
    let mut input = raw(OP_TEXT, b"good", Some(MASK));
    input.extend(raw(OP_CONTINUATION, &[0xf8, 0x88], Some(MASK)));
    let frames = frames_at_every_chunking(settings(Role::Server), &input);
    assert_eq!(frames.len(), 1);
    assert_eq!(error_code(frames[0].0), Some(1007));
    // A binary message is not text.
    assert_eq!(frames_at_every_chunking(settings(Role::Server), &client(OP_BINARY, &[0xff])), vec![(u32::from(OP_BINARY), vec![0xff])]);
}

#[test]
fn messages_over_max_payload_fail_with_1009_from_the_header() {
    let small = WsSettings { max_payload: 100, ..settings(Role::Server) };
    // Only the header has arrived: the length says enough.
    let header = &client(OP_BINARY, &[0; 101])[..8];
    let frames = feed(&mut MessageFramer::new(small), header, header.len());
    assert_eq!(error_code(frames[0].0), Some(1009));
    // Fragments adding up past the limit.
    let mut input = raw(OP_BINARY, &[0; 60], Some(MASK));
    input.extend(raw(0x80 | OP_CONTINUATION, &[0; 41], Some(MASK)));
    let frames = feed(&mut MessageFramer::new(small), &input, input.len());
    assert_eq!(error_code(frames[0].0), Some(1009));
    assert_eq!(feed(&mut MessageFramer::new(small), &client(OP_BINARY, &[0; 100]), 1000).len(), 1, "exactly the limit passes");
}

#[test]
fn after_an_error_nothing_more_is_taken() {
    let mut input = client(15, b"");
    input.extend(client(OP_TEXT, b"ignored"));
    let frames = frames_at_every_chunking(settings(Role::Server), &input);
    assert_eq!(frames.len(), 1);
}

#[test]
fn a_client_takes_unmasked_frames_and_refuses_masked_ones() {
    let frames = frames_at_every_chunking(settings(Role::Client), &raw(0x80 | OP_TEXT, b"hi", None));
    assert_eq!(frames, vec![(u32::from(OP_TEXT), b"hi".to_vec())]);
    let frames = frames_at_every_chunking(settings(Role::Client), &client(OP_TEXT, b"hi"));
    assert_eq!(error_code(frames[0].0), Some(1002));
}

#[test]
fn what_a_sender_builds_a_framer_reads_with_and_without_deflate() {
    for deflate in [
        None,
        Some(DeflateSettings { inflate_no_context_takeover: false, deflate_no_context_takeover: false, deflate_window_bits: 15 }),
        Some(DeflateSettings { inflate_no_context_takeover: true, deflate_no_context_takeover: true, deflate_window_bits: 10 }),
    ] {
        let mut sender = MessageSender::new(&WsSettings { role: Role::Client, max_payload: 1 << 20, deflate });
        let messages: Vec<(u8, Vec<u8>)> = vec![
            (OP_TEXT, b"short".to_vec()),
            (OP_TEXT, "long and repetitive ".repeat(100).into_bytes()),
            (OP_BINARY, (0..70_000u32).map(|n| (n % 251) as u8).collect()),
            (OP_PING, b"ping".to_vec()),
            (OP_TEXT, "long and repetitive ".repeat(100).into_bytes()),
        ];
        let mut wire = Vec::new();
        for (opcode, payload) in &messages {
            sender.encode(*opcode, payload, &mut wire);
        }
        let read = frames_at_every_chunking(WsSettings { role: Role::Server, max_payload: 1 << 20, deflate }, &wire);
        let expected: Output = messages.iter().map(|(opcode, payload)| (u32::from(*opcode), payload.clone())).collect();
        assert_eq!(read, expected, "deflate {deflate:?}");
        if deflate.is_some() {
            assert!(wire.len() < 75_000, "compressed: {} bytes", wire.len());
        }
    }
}

#[test]
fn a_server_sends_unmasked_frames_and_a_client_masks_with_fresh_keys() {
    let mut server = MessageSender::new(&settings(Role::Server));
    let mut wire = Vec::new();
    server.encode(OP_TEXT, b"hi", &mut wire);
    assert_eq!(wire, [0x81, 2, b'h', b'i']);
    let mut client = MessageSender::new(&settings(Role::Client));
    let (mut first, mut second) = (Vec::new(), Vec::new());
    client.encode(OP_TEXT, b"hi", &mut first);
    client.encode(OP_TEXT, b"hi", &mut second);
    assert_eq!(first[..2], [0x81, 0x82]);
    assert_ne!(first[2..6], second[2..6], "a new masking key per frame");
}

#[test]
fn compressed_data_that_does_not_inflate_fails_with_1007() {
    let deflate = Some(DeflateSettings { inflate_no_context_takeover: false, deflate_no_context_takeover: false, deflate_window_bits: 15 });
    let frames = feed(
        &mut MessageFramer::new(WsSettings { role: Role::Server, max_payload: 1 << 20, deflate }),
        &raw(0xc0 | OP_TEXT, &[0xff, 0xff, 0xff], Some(MASK)),
        100,
    );
    assert_eq!(error_code(frames[0].0), Some(1007));
    // RSV1 on a continuation frame is an error even with the extension.
    let mut input = raw(0x40 | OP_TEXT, &[], Some(MASK));
    input.extend(raw(0xc0 | OP_CONTINUATION, &[], Some(MASK)));
    let frames = feed(&mut MessageFramer::new(WsSettings { role: Role::Server, max_payload: 1 << 20, deflate }), &input, 100);
    assert_eq!(error_code(frames[0].0), Some(1002));
}

#[test]
fn close_codes_a_peer_may_send() {
    assert!(is_valid_close_code(1000) && is_valid_close_code(4999));
    assert!(!is_valid_close_code(1005));
}

proptest! {
    /// Arbitrary bytes in arbitrary chunks never panic, and after an error nothing more comes out.
    #[test]
    fn arbitrary_input_never_panics(input in proptest::collection::vec(any::<u8>(), 0..400), chunk in 1usize..50, client_role in any::<bool>()) {
        let role = if client_role { Role::Client } else { Role::Server };
        let frames = feed(&mut MessageFramer::new(WsSettings { role, max_payload: 300, deflate: None }), &input, chunk);
        if let Some(at) = frames.iter().position(|(info, _)| info & INFO_ERROR != 0) {
            prop_assert_eq!(at, frames.len() - 1);
        }
    }

    /// Valid messages split into arbitrary fragments come out whole.
    #[test]
    fn arbitrary_fragmentation(text in "\\PC{0,60}", cuts in proptest::collection::vec(0usize..200, 0..5), chunk in 1usize..30) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        let mut pieces = Vec::new();
        let mut start = 0;
        for point in points.into_iter().chain([bytes.len()]) {
            pieces.push(&bytes[start..point.max(start)]);
            start = point.max(start);
        }
        let mut input = Vec::new();
        for (index, piece) in pieces.iter().enumerate() {
            let opcode = if index == 0 { OP_TEXT } else { OP_CONTINUATION };
            let fin = if index == pieces.len() - 1 { 0x80 } else { 0 };
            input.extend(raw(fin | opcode, piece, Some(MASK)));
        }
        let frames = feed(&mut MessageFramer::new(settings(Role::Server)), &input, chunk);
        prop_assert_eq!(frames, vec![(u32::from(OP_TEXT), bytes.to_vec())]);
    }
}
