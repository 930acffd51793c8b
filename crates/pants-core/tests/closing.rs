//! Integration tests of how streams end, over real loopback sockets with std
//! peers: local close with and without flush, the peer's reset, and the
//! Hangup that follows the peer's FIN or half-close.

mod support;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use pants_core::{Delimiter, Engine, EventKind, SocketAddress, StreamState};
use support::*;

/// `close(token, false)` on an open stream: exactly one Close event, the
/// socket gone at once, a second close does nothing, and the peer sees EOF.
#[test]
fn close_without_flush_gives_exactly_one_close_event() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let mut client = std_client(address);
    let server = accept_one(&mut engine, listener);
    let local = engine.local_address(server).expect("an open stream has a local address");
    assert_eq!(local, SocketAddress::Inet(client.peer_addr().unwrap()));
    // Inside an iteration the write is corked: the close drops it unsent.
    engine.begin_iteration();
    engine.write(server, b"never sent").unwrap();
    engine.close(server, false);
    engine.end_iteration();
    assert_eq!(engine.local_address(server), Some(local), "a stream's local address is kept after the close");
    assert_eq!(engine.stream_state(server), Some(StreamState::Closed));
    assert_eq!(engine.fd(server), None);
    assert_eq!(engine.pending_output(server), 0, "close(false) drops unsent bytes");
    assert!(engine.write(server, b"x").is_err());
    engine.close(server, false); // closing a closed stream does nothing
    engine.close(server, true);

    let mut closes = 0;
    let quiet_until = Instant::now() + Duration::from_millis(200);
    drive(&mut engine, "one Close then quiet", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Close, server), "unexpected {event:?}");
            closes += 1;
        }
        Instant::now() > quiet_until
    });
    assert_eq!(closes, 1);
    engine.release(server);
    assert_eq!(engine.stream_state(server), None, "released");
    assert_eq!(engine.channel_count(), 1, "only the listener is left");

    let mut buf = [0u8; 16];
    assert_eq!(client.read(&mut buf).unwrap(), 0, "the peer sees EOF and none of the unsent bytes");
}

/// A peer that resets the connection (SO_LINGER 0, then close) makes the
/// stream close by itself: one Close, no ReadError (a reset is a disconnect).
#[test]
fn peer_reset_closes_the_stream_without_an_error_event() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let client = std_client(address);
    let server = accept_one(&mut engine, listener);
    set_linger_zero(&client);
    drop(client); // RST
    let mut kinds = Vec::new();
    drive(&mut engine, "Close after the reset", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!(event.token, server);
            kinds.push(event.kind);
            if event.kind == EventKind::Read {
                // The reset surfaces where the stream is read.
                assert!(take_frames(engine, server).is_empty());
            }
        }
        kinds.contains(&EventKind::Close)
    });
    assert!(!kinds.contains(&EventKind::ReadError) && !kinds.contains(&EventKind::WriteError), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|&&kind| kind == EventKind::Close).count(), 1, "{kinds:?}");
    assert_eq!(engine.stream_state(server), Some(StreamState::Closed));
    assert_eq!(engine.peer_address(server).map(|peer| inet(&peer).ip().is_loopback()), Some(true), "peer kept after close");
}

/// The peer writes three lines and closes: the lines are readable (Read
/// comes first) before the Hangup, then `close(true)` gives one Close.
#[test]
fn peer_close_gives_hangup_after_the_buffered_frames() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.write_all(b"one\ntwo\nthree\n").unwrap();
        // then drop: FIN
    });
    let server = accept_one(&mut engine, listener);
    engine.set_delimiter(server, Delimiter::Sequence(b"\n".to_vec())).unwrap();
    let mut frames = Vec::new();
    let mut log = Vec::new();
    let mut closed = false;
    drive(&mut engine, "Read, Hangup and Close", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!(event.token, server, "unexpected {event:?}");
            log.push(event.kind);
            match event.kind {
                EventKind::Read => frames.extend(take_frames(engine, server)),
                EventKind::Hangup => {
                    let expected: Vec<&[u8]> = vec![b"one", b"two", b"three"];
                    assert_eq!(frames, expected, "all frames were taken before the Hangup");
                    assert_eq!(engine.stream_state(server), Some(StreamState::Open));
                    engine.close(server, true);
                }
                EventKind::Close => closed = true,
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closed
    });
    peer.join().unwrap();
    assert_eq!(log.iter().filter(|&&kind| kind == EventKind::Hangup).count(), 1, "{log:?}");
    assert_eq!(log.last(), Some(&EventKind::Close), "{log:?}");
    assert!(log.iter().position(|&kind| kind == EventKind::Read) < log.iter().position(|&kind| kind == EventKind::Hangup));
}

/// The peer sends 100 bytes and closes while the stream's buffer holds only
/// 17 (buffer_size 16 plus one of slack): reading pauses at the limit and
/// resumes as frames are taken. All ten frames must arrive and then the Hangup.
#[test]
fn hangup_arrives_when_the_peer_closes_while_the_read_buffer_is_full() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let input = pattern(6, 100);
    let sent = input.clone();
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.write_all(&sent).unwrap();
        // then drop: FIN right behind the data
    });
    peer.join().unwrap(); // data and FIN are queued before the engine reads
    let server = accept_one(&mut engine, listener);
    engine.set_buffer_size(server, 16).unwrap();
    engine.set_delimiter(server, Delimiter::Count(10)).unwrap();
    let mut frames = Vec::new();
    let mut hangup = false;
    let deadline = Instant::now() + Duration::from_secs(2);
    drive(&mut engine, "ten frames, then Hangup", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Read => frames.extend(take_frames(engine, server)),
                EventKind::Hangup => hangup = true,
                _ => panic!("unexpected event {event:?}"),
            }
        }
        assert!(engine.pending_input(server) <= 17, "buffered past the limit");
        hangup || Instant::now() > deadline
    });
    assert_eq!(frames.concat(), input, "every byte arrives, in ten frames");
    assert!(hangup, "all ten frames arrived, but no Hangup within 2 s of the peer closing");
}

/// The everyday form of the bug above, with the default 64 KiB buffer: a
/// client uploads 1 MiB then half-closes (shutdown(Write)) and reads the echo
/// to EOF; the server echoes and closes on Hangup.
#[test]
fn hangup_arrives_after_a_large_upload_and_half_close() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let payload = pattern(9, 1 << 20);
    let expected = payload.clone();
    let peer = thread::spawn(move || write_and_read(std_client(address), payload, true, None));
    let mut echoed = 0;
    let mut closed = false;
    let deadline = Instant::now() + Duration::from_secs(3);
    drive(&mut engine, "echo, Hangup, Close", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => assert_eq!(event.token, listener),
                EventKind::Read => echoed += echo_frames(engine, event.token),
                EventKind::Hangup => engine.close(event.token, true),
                EventKind::Close => closed = true,
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closed || Instant::now() > deadline
    });
    assert_eq!(echoed, expected.len(), "every byte was read and echoed");
    assert!(closed, "the whole upload was echoed, but no Hangup (so no close) within 3 s of the half-close");
    assert_same_bytes(&peer.join().unwrap(), &expected, "echo");
}
