//! Peer faults and hostile input at the engine level, with std peers in
//! threads: resets in the middle of a write, half-closes, a delimiter that
//! never arrives, and a peer that writes but never reads. What the engine
//! buffers is read with `pending_input` and `pending_output` after every
//! poll: memory must stay bounded whatever the peer sends.

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::Duration;

use pants_core::{Delimiter, Engine, EventKind, FrameRead, DEFAULT_BUFFER_SIZE};
use socket2::SockRef;
use support::*;

/// What `stream.rs` lets a stream queue before it stops reading
/// (`OUTGOING_HIGH_WATER`), copied here: not public.
const OUTGOING_HIGH_WATER: usize = 1 << 20;

/// The accepted stream of the first `Accept` in `events`, if any.
fn accepted(events: &[pants_core::Event]) -> Option<usize> {
    events.iter().find(|event| event.kind == EventKind::Accept).map(|event| event.a as usize)
}

/// The engine writes 32 MiB to a peer that reads 1 MiB, then resets the
/// connection (SO_LINGER 0). The stream reports at most a write or read
/// error, then exactly one Close once closed; nothing panics, and the
/// engine is left with only its listener.
#[test]
fn a_reset_in_the_middle_of_a_write_closes_the_stream_once() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        let mut buffer = vec![0u8; 1 << 20];
        stream.read_exact(&mut buffer).expect("the first MiB");
        SockRef::from(&stream).set_linger(Some(Duration::ZERO)).unwrap();
        drop(stream); // RST, with unread data in the receive buffer
    });
    let payload = pattern(7, 32 << 20);
    let mut server = None;
    let mut errors = Vec::new();
    let mut closes = 0;
    drive(&mut engine, "the reset stream closed", TIMEOUT, |engine, events| {
        if let Some(stream) = accepted(events) {
            server = Some(stream);
            engine.write(stream, &payload).unwrap();
        }
        for event in events.iter().filter(|event| Some(event.token) == server) {
            match event.kind {
                EventKind::ReadError | EventKind::WriteError => {
                    errors.push(event.a);
                    engine.close(event.token, false);
                }
                EventKind::Hangup => engine.close(event.token, false),
                EventKind::Close => {
                    closes += 1;
                    engine.release(event.token);
                }
                EventKind::Read => {
                    take_frames(engine, event.token);
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closes > 0 && peer.is_finished()
    });
    // A few more polls: no second Close, no event for the released token.
    for _ in 0..5 {
        let events = iterate(&mut engine, Duration::from_millis(5), |_, events| events.to_vec());
        assert_eq!(events, [], "events after the close");
    }
    assert_eq!(closes, 1);
    for errno in &errors {
        assert!([libc::ECONNRESET, libc::EPIPE].contains(errno), "unexpected errno {errno}");
    }
    assert_eq!(engine.channel_count(), 1, "only the listener is left");
    engine.close(listener, false);
}

/// The peer sends 200,000 lines and shuts its write side while still
/// reading. Every complete line reaches the engine, the unfinished one is
/// left buffered, one Hangup follows, and a reply written after the Hangup
/// still reaches the peer before the stream closes.
#[test]
fn a_half_closed_peer_gets_every_frame_and_the_reply_written_after_its_end() {
    let mut engine = Engine::new().unwrap();
    let (_listener, address) = listen_loopback(&mut engine);
    let mut input = Vec::new();
    for index in 0..200_000u32 {
        input.extend_from_slice(format!("line {index}\n").as_bytes());
    }
    input.extend_from_slice(b"unfinished");
    let sent = input.clone();
    let peer = thread::spawn(move || {
        let stream = std_client(address);
        write_and_read(stream, sent, true, None)
    });
    let mut server = None;
    let mut lines = 0u32;
    let mut hangups = 0;
    let mut closes = 0;
    drive(&mut engine, "every line, the hangup and the close", TIMEOUT, |engine, events| {
        if let Some(stream) = accepted(events) {
            engine.set_delimiter(stream, Delimiter::Sequence(b"\n".to_vec())).unwrap();
            server = Some(stream);
        }
        for event in events.iter().filter(|event| Some(event.token) == server) {
            match event.kind {
                EventKind::Read => {
                    for line in take_frames(engine, event.token) {
                        assert_eq!(line, format!("line {lines}").into_bytes());
                        lines += 1;
                    }
                }
                EventKind::Hangup => {
                    hangups += 1;
                    for line in take_frames(engine, event.token) {
                        assert_eq!(line, format!("line {lines}").into_bytes());
                        lines += 1;
                    }
                    assert_eq!(engine.pending_input(event.token), b"unfinished".len());
                    engine.write(event.token, format!("got {lines} lines").as_bytes()).unwrap();
                    engine.close(event.token, true);
                }
                EventKind::Close => {
                    closes += 1;
                    engine.release(event.token);
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closes == 1 && peer.is_finished()
    });
    assert_eq!((lines, hangups, closes), (200_000, 1, 1));
    assert_eq!(peer.join().unwrap(), b"got 200000 lines");
}

/// 100 MB without the delimiter, then "\nend\n". The engine never holds
/// more than the buffer size plus the delimiter's length; each Overflow is
/// handled by discarding the unframed bytes (as the TypeScript layer does
/// when `onOverflowError` leaves the stream open), every byte is accounted
/// for, and the frames after the flood still arrive.
#[test]
fn a_delimiter_that_never_arrives_keeps_the_read_buffer_bounded() {
    const FLOOD: usize = 100_000_000;
    let mut engine = Engine::new().unwrap();
    let (_listener, address) = listen_loopback(&mut engine);
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        let chunk = vec![b'a'; 1 << 20];
        let mut sent = 0;
        while sent < FLOOD {
            let count = chunk.len().min(FLOOD - sent);
            stream.write_all(&chunk[..count]).unwrap();
            sent += count;
        }
        stream.write_all(b"\nend\n").unwrap();
        stream.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    });
    let mut server = None;
    let mut overflows = 0usize;
    let mut discarded = 0usize;
    let mut frames = Vec::new();
    let mut peak = 0usize;
    let mut closed = false;
    drive(&mut engine, "the flood framed or discarded", Duration::from_secs(60), |engine, events| {
        if let Some(stream) = accepted(events) {
            engine.set_delimiter(stream, Delimiter::Sequence(b"\n".to_vec())).unwrap();
            server = Some(stream);
        }
        for event in events.iter().filter(|event| Some(event.token) == server) {
            match event.kind {
                EventKind::Read | EventKind::Hangup => {
                    let mut out = vec![0u8; DEFAULT_BUFFER_SIZE + 2];
                    loop {
                        peak = peak.max(engine.pending_input(event.token));
                        match engine.read_frame(event.token, &mut out).unwrap() {
                            FrameRead::Frame(len) => frames.push(out[..len].to_vec()),
                            FrameRead::Overflow => {
                                overflows += 1;
                                discarded += engine.pending_input(event.token);
                                engine.discard_input(event.token);
                            }
                            FrameRead::Incomplete => break,
                            FrameRead::NeedSpace(len) => panic!("a frame of {len} bytes, over the buffer size"),
                        }
                    }
                    if event.kind == EventKind::Hangup {
                        engine.close(event.token, false);
                    }
                }
                EventKind::Close => {
                    closed = true;
                    engine.release(event.token);
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        if let Some(stream) = server {
            peak = peak.max(engine.pending_input(stream));
        }
        closed
    });
    peer.join().unwrap();
    assert!(peak <= DEFAULT_BUFFER_SIZE + 1, "{peak} bytes buffered, over bufferSize + the delimiter");
    assert_eq!(frames.len(), 2, "the tail of the flood, then \"end\"");
    assert!(frames[0].iter().all(|&byte| byte == b'a'));
    assert_eq!(frames[1], b"end");
    assert_eq!(discarded + frames[0].len(), FLOOD, "every flooded byte is either discarded by an overflow or framed");
    println!("reliability: {FLOOD} bytes flooded, {overflows} overflows, at most {peak} bytes buffered");
}

/// An echo server and a peer that writes 64 MiB before it reads anything.
/// The engine stops reading while its unsent bytes are above the high-water
/// mark, so it never holds much more than that, and once the peer reads,
/// every byte comes back in order.
#[test]
fn an_echo_to_a_peer_that_does_not_read_stays_bounded_and_loses_nothing() {
    const TOTAL: usize = 64 << 20;
    let mut engine = Engine::new().unwrap();
    let (_listener, address) = listen_loopback(&mut engine);
    let payload = pattern(11, TOTAL);
    let expected_hash = fnv1a(FNV_START, &payload);
    let peer = thread::spawn(move || {
        let stream = std_client(address);
        let mut writer = stream.try_clone().unwrap();
        let writing = thread::spawn(move || {
            writer.write_all(&payload).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        thread::sleep(Duration::from_millis(300)); // a slow reader: nothing read yet
        let mut reader = stream;
        let mut hash = FNV_START;
        let mut received = 0;
        let mut buffer = vec![0u8; 1 << 16];
        loop {
            let count = reader.read(&mut buffer).unwrap();
            if count == 0 {
                break;
            }
            hash = fnv1a(hash, &buffer[..count]);
            received += count;
        }
        writing.join().unwrap();
        (received, hash)
    });
    let mut server = None;
    let mut peak_output = 0usize;
    let mut peak_input = 0usize;
    let mut closed = false;
    drive(&mut engine, "64 MiB echoed", Duration::from_secs(60), |engine, events| {
        if let Some(stream) = accepted(events) {
            server = Some(stream);
        }
        for event in events.iter().filter(|event| Some(event.token) == server) {
            match event.kind {
                EventKind::Read | EventKind::Hangup => {
                    for frame in take_frames(engine, event.token) {
                        engine.write(event.token, &frame).unwrap();
                    }
                    if event.kind == EventKind::Hangup {
                        engine.close(event.token, true);
                    }
                }
                EventKind::Close => {
                    closed = true;
                    engine.release(event.token);
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        if let Some(stream) = server {
            peak_output = peak_output.max(engine.pending_output(stream));
            peak_input = peak_input.max(engine.pending_input(stream));
        }
        closed
    });
    let (received, hash) = peer.join().unwrap();
    assert_eq!(received, TOTAL);
    assert_eq!(hash, expected_hash, "echoed bytes differ");
    let bound = OUTGOING_HIGH_WATER + DEFAULT_BUFFER_SIZE + 1;
    assert!(peak_output <= bound, "{peak_output} bytes unsent, over {bound}");
    assert!(peak_input <= DEFAULT_BUFFER_SIZE + 1, "{peak_input} bytes unread");
    println!("reliability: 64 MiB echoed to a slow reader; at most {peak_output} bytes unsent and {peak_input} unread");
}
