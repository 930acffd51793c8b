//! Integration tests of back-pressure over real loopback sockets: slow
//! readers, the drain notification and the outgoing high-water mark.

mod support;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use pants_core::{Engine, EventKind, FrameRead, StreamState};
use support::*;

/// `close(token, true)` right after writing 8 MiB: the stream takes no
/// more writes, keeps sending until everything is out, and the peer, which
/// reads slowly, gets every byte (checked by length, FNV-1a and content)
/// and only then a clean EOF.
#[test]
fn close_with_flush_delivers_8_mib_to_a_slow_reader_before_eof() {
    const SIZE: usize = 8 << 20;
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let payload = pattern(5, SIZE);
    let expected_hash = fnv1a(FNV_START, &payload);
    let expected = payload.clone();
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        let mut received = Vec::with_capacity(SIZE);
        let mut buf = vec![0u8; 32 * 1024];
        let mut reads = 0;
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(count) => received.extend_from_slice(&buf[..count]),
                Err(error) => panic!("peer read failed after {} bytes: {error}", received.len()),
            }
            reads += 1;
            if reads % 4 == 0 {
                thread::sleep(Duration::from_millis(1)); // a slow reader
            }
        }
        received
    });
    let mut server = None;
    let mut closes = 0;
    drive(&mut engine, "8 MiB flushed and Close", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => {
                    let stream = accepted_stream(event, listener);
                    server = Some(stream);
                    engine.write(stream, &payload).unwrap();
                    engine.close(stream, true);
                    assert_eq!(engine.stream_state(stream), Some(StreamState::Closing));
                    let error = engine.write(stream, b"late").expect_err("no writes while closing");
                    assert_eq!(error.raw_os_error(), Some(libc::ENOTCONN));
                }
                EventKind::Close => {
                    assert_eq!(Some(event.token), server);
                    closes += 1;
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closes > 0
    });
    let received = peer.join().expect("peer thread");
    assert_eq!(received.len(), SIZE, "bytes received before EOF");
    assert_eq!(fnv1a(FNV_START, &received), expected_hash, "checksum");
    assert_same_bytes(&received, &expected, "8 MiB");
    // Exactly one Close.
    drive(&mut engine, "quiet after Close", TIMEOUT, |_, events| {
        assert!(events.is_empty(), "events after the Close: {events:?}");
        true
    });
    assert_eq!(closes, 1);
}

/// With `set_notify_drain(true)`, a Write event comes once the send buffer
/// has emptied (after 4 MiB reached a reader that takes its time), and only once.
#[test]
fn notify_drain_gives_one_write_event_when_the_send_buffer_empties() {
    const SIZE: usize = 4 << 20;
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        let mut total = 0;
        let mut buf = vec![0u8; 64 * 1024];
        while total < SIZE {
            thread::sleep(Duration::from_millis(1));
            total += stream.read(&mut buf).unwrap();
        }
        stream
    });
    let server = accept_one(&mut engine, listener);
    engine.set_notify_drain(server, true).unwrap();
    engine.write(server, &pattern(8, SIZE)).unwrap();
    let mut writes = 0;
    let quiet_after_peer_done = Instant::now() + Duration::from_secs(8);
    let mut peer_done_at: Option<Instant> = None;
    drive(&mut engine, "Write event", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Write, server), "unexpected {event:?}");
            assert_eq!(engine.pending_output(server), 0, "Write only once everything is handed to the kernel");
            writes += 1;
        }
        if peer.is_finished() {
            peer_done_at.get_or_insert_with(Instant::now);
        }
        // Done a little after the peer got everything, to catch extra Write events.
        peer_done_at.is_some_and(|at| at.elapsed() > Duration::from_millis(50)) || Instant::now() > quiet_after_peer_done
    });
    assert_eq!(writes, 1);
    drop(peer.join().unwrap());
}

/// A peer that sends without reading: once our unsent replies pass the
/// high-water mark, the stream stops reading, so neither buffer grows without bound.
#[test]
fn a_peer_that_never_reads_cannot_grow_our_buffers_without_bound() {
    let mut engine = Engine::new().unwrap();
    let (_listener, address) = listen_loopback(&mut engine);
    let writer = std::thread::spawn(move || {
        let mut peer = std::net::TcpStream::connect(address).unwrap();
        peer.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        while sent < 64 << 20 {
            match peer.write(&chunk) {
                Ok(count) => sent += count,
                Err(_) => break, // we stopped reading: the peer's send buffer is full
            }
        }
        (peer, sent)
    });
    let mut stream = None;
    let mut most_pending = 0;
    let start = Instant::now();
    let mut out = vec![0u8; 1 << 17];
    while start.elapsed() < Duration::from_secs(3) {
        iterate(&mut engine, Duration::from_millis(10), |engine, events| {
            for event in events {
                match event.kind {
                    EventKind::Accept => stream = Some(event.a as usize),
                    EventKind::Read => {
                        let token = event.token;
                        while let Ok(FrameRead::Frame(len)) = engine.read_frame(token, &mut out) {
                            engine.write(token, &out[..len]).unwrap(); // echo to a peer that never reads
                        }
                    }
                    _ => {}
                }
            }
        });
        if let Some(token) = stream {
            most_pending = most_pending.max(engine.pending_output(token) + engine.pending_input(token));
        }
    }
    let (_peer, sent) = writer.join().unwrap();
    assert!(sent < 64 << 20, "the peer could send everything ({sent} bytes): we never stopped reading");
    let bound = pants_core::OUTGOING_HIGH_WATER + 2 * pants_core::DEFAULT_BUFFER_SIZE + (1 << 17);
    assert!(most_pending <= bound, "buffered {most_pending} bytes, more than {bound}");
}
