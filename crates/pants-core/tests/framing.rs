//! Integration tests of framing on engine streams over real loopback
//! sockets: sequence and count delimiters, delimiter changes between frames,
//! overflow past the buffer size, and external (caller-side) framing.

mod support;

use std::io::Write;
use std::thread;
use std::time::Duration;

use pants_core::{Delimiter, Engine, EventKind, FrameRead};
use support::*;

/// Frames by `\r\n` when the peer sends one byte per segment (TCP_NODELAY,
/// a pause after each byte): no frame early, none lost, empty frames kept,
/// a lone `\r` inside a frame kept, and a delimiter split across reads found.
#[test]
fn sequence_delimiter_frames_input_trickled_one_byte_at_a_time() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let input: &[u8] = b"alpha\r\nbeta\r\n\r\ngam\rma\r\nunterminated";
    let pieces = input.iter().map(|&byte| (vec![byte], Duration::from_millis(1))).collect();
    let peer = spawn_paced_writer(address, pieces);
    let server = accept_one(&mut engine, listener);
    engine.set_delimiter(server, Delimiter::Sequence(b"\r\n".to_vec())).unwrap();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut reads = 0;
    drive(&mut engine, "four frames and the unterminated tail", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Read, server), "unexpected {event:?}");
            reads += 1;
            frames.extend(take_frames(engine, server));
        }
        peer.is_finished() && frames.len() == 4 && engine.pending_input(server) == b"unterminated".len()
    });
    let expected: Vec<&[u8]> = vec![b"alpha", b"beta", b"", b"gam\rma"];
    assert_eq!(frames, expected);
    assert!(reads > 4, "the input should have arrived in many reads, got {reads}");
    let mut out = [0u8; 64];
    assert_eq!(engine.read_frame(server, &mut out).unwrap(), FrameRead::Incomplete);
    drop(peer.join().unwrap());
}

/// Frames of exactly N bytes by `Delimiter::Count`, whatever the chunking
/// of the input; the remainder stays buffered.
#[test]
fn count_delimiter_frames_fixed_size_records() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    const RECORD: usize = 7;
    let input = pattern(4, 50 * RECORD + 3);
    let mut pieces = Vec::new();
    let mut offset = 0;
    for (i, size) in [1usize, 3, 11, 6, 100, 2, 13, 64].iter().cycle().enumerate() {
        if offset == input.len() {
            break;
        }
        let end = (offset + size).min(input.len());
        let pause = if i % 2 == 0 { Duration::from_millis(2) } else { Duration::ZERO };
        pieces.push((input[offset..end].to_vec(), pause));
        offset = end;
    }
    let peer = spawn_paced_writer(address, pieces);
    let server = accept_one(&mut engine, listener);
    engine.set_delimiter(server, Delimiter::Count(RECORD)).unwrap();
    let mut frames = Vec::new();
    drive(&mut engine, "50 records", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Read, server), "unexpected {event:?}");
            frames.extend(take_frames(engine, server));
        }
        peer.is_finished() && engine.pending_input(server) == 3
    });
    assert_eq!(frames.len(), 50);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!(frame.as_slice(), &input[i * RECORD..(i + 1) * RECORD], "record {i}");
    }
    drop(peer.join().unwrap());
}

/// A header line says how long the body is; the handler switches to
/// `Count(len)` right after taking the header, then back to lines. Both
/// changes apply to the very next frame, even though everything (body
/// containing `\r\n`, trailer) arrived in one segment and is already buffered.
#[test]
fn delimiter_change_applies_to_the_very_next_frame() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let body: &[u8] = b"ab\r\ncd\r\nef\r\n";
    let mut message = format!("LEN {}\r\n", body.len()).into_bytes();
    message.extend_from_slice(body);
    message.extend_from_slice(b"TRAILER\r\n");
    let peer = spawn_paced_writer(address, vec![(message, Duration::ZERO)]); // one write: one segment on loopback
    let server = accept_one(&mut engine, listener);
    engine.set_delimiter(server, Delimiter::Sequence(b"\r\n".to_vec())).unwrap();

    #[derive(Clone, Copy)]
    enum Want {
        Header,
        Body,
        Trailer,
        Done,
    }
    let mut want = Want::Header;
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut out = [0u8; 256];
    drive(&mut engine, "header, body and trailer", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Read, server), "unexpected {event:?}");
            while let FrameRead::Frame(len) = engine.read_frame(server, &mut out).unwrap() {
                let frame = out[..len].to_vec();
                want = match want {
                    Want::Header => {
                        let len: usize = std::str::from_utf8(&frame).unwrap().strip_prefix("LEN ").unwrap().parse().unwrap();
                        engine.set_delimiter(server, Delimiter::Count(len)).unwrap();
                        Want::Body
                    }
                    Want::Body => {
                        engine.set_delimiter(server, Delimiter::Sequence(b"\r\n".to_vec())).unwrap();
                        Want::Trailer
                    }
                    Want::Trailer => Want::Done,
                    Want::Done => panic!("a frame after the trailer: {frame:?}"),
                };
                frames.push(frame);
            }
        }
        matches!(want, Want::Done)
    });
    let expected: Vec<&[u8]> = vec![b"LEN 12", body, b"TRAILER"];
    assert_eq!(frames, expected);
    assert_eq!(engine.pending_input(server), 0);
    drop(peer.join().unwrap());
}

/// More than `buffer_size` bytes without a delimiter: `read_frame` says
/// `Overflow`, and the engine stops reading, so the buffered input never
/// exceeds `buffer_size` plus the delimiter's length however much the peer
/// sends.
#[test]
fn overflow_is_reported_and_buffered_input_stays_bounded() {
    const BUFFER_SIZE: usize = 1000;
    const DELIMITER: &[u8] = b"\r\n";
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
        // 4 MiB with no delimiter: more than the kernel buffers hold, so the
        // writes stall once the engine stops reading; errors after the
        // engine closes are expected.
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        while sent < 4 << 20 {
            match stream.write(&chunk) {
                Ok(count) => sent += count,
                Err(_) => break,
            }
        }
        sent
    });
    let mut server = None;
    let mut overflowed_at = None;
    let mut most_buffered = 0;
    let mut out = vec![0u8; 64 * 1024];
    let mut polls_after_overflow = 0;
    drive(&mut engine, "Overflow", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => {
                    let stream = accepted_stream(event, listener);
                    engine.set_buffer_size(stream, BUFFER_SIZE).unwrap();
                    engine.set_delimiter(stream, Delimiter::Sequence(DELIMITER.to_vec())).unwrap();
                    server = Some(stream);
                }
                EventKind::Read => match engine.read_frame(event.token, &mut out).unwrap() {
                    FrameRead::Overflow => {
                        assert!(engine.pending_input(event.token) > BUFFER_SIZE, "Overflow only past buffer_size");
                        overflowed_at.get_or_insert(engine.pending_input(event.token));
                    }
                    FrameRead::Incomplete => {
                        assert!(engine.pending_input(event.token) <= BUFFER_SIZE, "Incomplete past buffer_size");
                    }
                    other => panic!("no frame can be complete: {other:?}"),
                },
                _ => panic!("unexpected event {event:?}"),
            }
        }
        if let Some(stream) = server {
            most_buffered = most_buffered.max(engine.pending_input(stream));
        }
        // Keep polling a while after the Overflow: nothing more may be buffered.
        if overflowed_at.is_some() {
            polls_after_overflow += 1;
        }
        polls_after_overflow > 40
    });
    assert!(most_buffered <= BUFFER_SIZE + DELIMITER.len(), "buffered {most_buffered} bytes");
    assert!(overflowed_at.is_some());
    // The read side stays paused: asking again still says Overflow.
    let server = server.unwrap();
    assert_eq!(engine.read_frame(server, &mut out).unwrap(), FrameRead::Overflow);
    engine.close(server, false);
    let sent = peer.join().unwrap();
    assert!(sent > 4 * BUFFER_SIZE, "the peer should have sent far more than the engine buffered ({sent})");
}

/// `Delimiter::External`: `read_frame` never frames; the caller frames with
/// `peek_input` and takes bytes with `consume_input`, across reads.
#[test]
fn external_framing_with_peek_and_consume() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let pieces = [&b"ab"[..], b"c|de", b"f|", b"|gh"].iter().map(|piece| (piece.to_vec(), Duration::from_millis(5))).collect();
    let peer = spawn_paced_writer(address, pieces);
    let server = accept_one(&mut engine, listener);
    engine.set_delimiter(server, Delimiter::External).unwrap();
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut buf = [0u8; 64];
    drive(&mut engine, "caller-framed records", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Read, server), "unexpected {event:?}");
            assert_eq!(engine.read_frame(server, &mut buf).unwrap(), FrameRead::Incomplete);
            loop {
                let len = engine.peek_input(server, &mut buf).unwrap();
                let Some(at) = buf[..len].iter().position(|&byte| byte == b'|') else { break };
                frames.push(buf[..at].to_vec());
                engine.consume_input(server, at + 1).unwrap();
            }
        }
        peer.is_finished() && engine.pending_input(server) == 2
    });
    let expected: Vec<&[u8]> = vec![b"abc", b"def", b""];
    assert_eq!(frames, expected);
    let mut tiny = [0u8; 1];
    assert_eq!(engine.peek_input(server, &mut tiny), Err(2), "peek says how much room it needs");
    drop(peer.join().unwrap());
}
