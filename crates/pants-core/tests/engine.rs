//! Integration tests of the engine over real loopback sockets, with std
//! sockets (in threads) as the peers.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use pants_core::{Delimiter, Engine, EventKind, FrameRead, ListenOptions, SocketAddress, StreamState};
use support::*;

// ----- streams --------------------------------------------------------------

/// A std client writes 1 MiB in uneven chunks through an engine listener
/// that echoes every chunk it reads; the client gets every byte back, in order.
#[test]
fn listener_echoes_every_byte_to_a_std_client() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let payload = pattern(1, 1 << 20);
    let expected = payload.clone();
    let peer = thread::spawn(move || {
        let stream = std_client(address);
        write_and_read(stream, payload, false, Some(1 << 20))
    });

    let mut server = None;
    let mut echoed = 0usize;
    drive(&mut engine, "1 MiB echoed and the client done", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => {
                    assert_eq!(event.token, listener);
                    assert!(server.is_none(), "one client, one Accept");
                    let stream = event.a as usize;
                    assert_eq!(engine.fd(stream), Some(event.b), "Accept's b is the new stream's fd");
                    assert_eq!(engine.stream_state(stream), Some(StreamState::Open));
                    server = Some(stream);
                }
                EventKind::Read => {
                    assert_eq!(Some(event.token), server);
                    for frame in take_frames(engine, event.token) {
                        echoed += frame.len();
                        engine.write(event.token, &frame).unwrap();
                    }
                }
                EventKind::Hangup => {}
                _ => panic!("unexpected event {event:?}"),
            }
        }
        echoed == expected.len() && peer.is_finished()
    });
    let received = peer.join().expect("client thread");
    assert_same_bytes(&received, &expected, "echo");
    let server = server.unwrap();
    engine.close(server, false);
    engine.close(listener, false);
}

/// `connect` to a std listener: a Connect event (with the fd), the peer
/// address known, then data in both directions.
#[test]
fn connect_to_a_std_listener_exchanges_data_both_ways() {
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = std_listener.local_addr().unwrap();
    let to_peer = pattern(2, 300_000);
    let from_peer = pattern(3, 200_000);
    let (to_peer_expected, from_peer_sent) = (to_peer.clone(), from_peer.clone());
    let peer = thread::spawn(move || {
        let (stream, _) = std_listener.accept().unwrap();
        stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(PEER_TIMEOUT)).unwrap();
        // Sends its bytes, then reads to EOF (the engine closes after its write).
        let received = write_and_read(stream, from_peer_sent, false, None);
        assert_same_bytes(&received, &to_peer_expected, "engine -> peer");
    });

    let mut engine = Engine::new().unwrap();
    let client = engine.connect(&SocketAddress::Inet(address));
    assert_eq!(engine.stream_state(client), Some(StreamState::Connecting));
    let mut connected = false;
    let mut received = Vec::new();
    let mut closed = false;
    drive(&mut engine, "connect, exchange and close", TIMEOUT, |engine, events| {
        for event in events {
            assert_eq!(event.token, client, "only the client stream exists: {event:?}");
            match event.kind {
                EventKind::Connect => {
                    assert!(!connected, "exactly one Connect");
                    connected = true;
                    assert_eq!(engine.fd(client), Some(event.a), "Connect's a is the fd");
                    assert_eq!(engine.stream_state(client), Some(StreamState::Open));
                    assert_eq!(engine.peer_address(client), Some(SocketAddress::Inet(address)));
                    engine.write(client, &to_peer).unwrap();
                }
                EventKind::Read => {
                    assert!(connected, "Read before Connect");
                    for frame in take_frames(engine, client) {
                        received.extend_from_slice(&frame);
                    }
                    if received.len() == from_peer.len() {
                        engine.close(client, true);
                    }
                }
                EventKind::Close => {
                    assert!(!closed, "exactly one Close");
                    closed = true;
                }
                _ => panic!("unexpected event {event:?}"),
            }
        }
        closed
    });
    peer.join().expect("peer thread");
    assert_same_bytes(&received, &from_peer, "peer -> engine");
    engine.release(client);
    assert_eq!(engine.channel_count(), 0);
}

/// Connecting to a port nobody listens on gives one ConnectError with errno
/// ECONNREFUSED, never a Connect; `close` then gives the Close event.
#[test]
fn connect_refused_reports_econnrefused() {
    // A port that was just free: bind, read the port, release it.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut engine = Engine::new().unwrap();
    let client = engine.connect(&SocketAddress::Inet(([127, 0, 0, 1], port).into()));
    let mut error = None;
    drive(&mut engine, "ConnectError", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!(event.token, client);
            assert_eq!(event.kind, EventKind::ConnectError, "unexpected event {event:?}");
            assert!(error.is_none(), "exactly one ConnectError");
            error = Some(event.a);
        }
        error.is_some()
    });
    assert_eq!(error, Some(libc::ECONNREFUSED));
    assert_eq!(error, Some(111));
    assert_eq!(engine.stream_state(client), Some(StreamState::ConnectFailed));
    assert_eq!(engine.fd(client), None, "the socket is gone after ConnectError");
    assert!(engine.write(client, b"x").is_err(), "no writes on a failed stream");

    engine.close(client, false);
    let mut closes = 0;
    drive(&mut engine, "Close after ConnectError", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Close, client), "unexpected {event:?}");
            closes += 1;
        }
        closes > 0
    });
    engine.release(client);
    assert_eq!(engine.channel_count(), 0);
}

/// Accepts one connection on `listener` and returns the new stream's token.
fn accept_one(engine: &mut Engine, listener: usize) -> usize {
    let mut accepted = None;
    drive(engine, "Accept", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Accept, listener), "unexpected {event:?}");
            accepted = Some(event.a as usize);
        }
        accepted.is_some()
    });
    accepted.unwrap()
}

/// Frames by `\r\n` when the peer sends one byte per segment (TCP_NODELAY,
/// a pause after each byte): no frame early, none lost, empty frames kept,
/// a lone `\r` inside a frame kept, and a delimiter split across reads found.
#[test]
fn sequence_delimiter_frames_input_trickled_one_byte_at_a_time() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let input: &[u8] = b"alpha\r\nbeta\r\n\r\ngam\rma\r\nunterminated";
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.set_nodelay(true).unwrap();
        for byte in input {
            stream.write_all(std::slice::from_ref(byte)).unwrap();
            thread::sleep(Duration::from_millis(1));
        }
        stream
    });
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
    let sent = input.clone();
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.set_nodelay(true).unwrap();
        let mut offset = 0;
        for (i, size) in [1usize, 3, 11, 6, 100, 2, 13, 64].iter().cycle().enumerate() {
            if offset == sent.len() {
                break;
            }
            let end = (offset + size).min(sent.len());
            stream.write_all(&sent[offset..end]).unwrap();
            offset = end;
            if i % 2 == 0 {
                thread::sleep(Duration::from_millis(2));
            }
        }
        stream
    });
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
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.write_all(&message).unwrap(); // one write: one segment on loopback
        stream
    });
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
                    assert_eq!(event.token, listener);
                    let stream = event.a as usize;
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
                    assert_eq!(event.token, listener);
                    let stream = event.a as usize;
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
                EventKind::Read => {
                    for frame in take_frames(engine, event.token) {
                        echoed += frame.len();
                        engine.write(event.token, &frame).unwrap();
                    }
                }
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
    engine.write(server, b"never sent").unwrap();
    engine.close(server, false);
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

/// A second listener on a port already listened on fails at once with
/// `AddrInUse` (SO_REUSEADDR does not allow two listeners).
#[test]
fn listen_on_a_port_in_use_fails_with_addr_in_use() {
    let mut engine = Engine::new().unwrap();
    let (first, address) = listen_loopback(&mut engine);
    let error = engine.listen(&SocketAddress::Inet(address), ListenOptions::default()).expect_err("second listen");
    assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
    assert_eq!(engine.channel_count(), 1, "the failed listen leaves no channel behind");
    // The first listener still works.
    let _client = std_client(address);
    accept_one(&mut engine, first);
}

/// Closing a listener gives its Close event and frees the port for a new listener.
#[test]
fn closing_a_listener_frees_its_port() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    engine.close(listener, false);
    let mut closed = false;
    drive(&mut engine, "listener Close", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::Close, listener), "unexpected {event:?}");
            closed = true;
        }
        closed
    });
    engine.release(listener);
    let again = engine.listen(&SocketAddress::Inet(address), ListenOptions::default()).expect("port free again");
    assert_eq!(engine.local_address(again), Some(SocketAddress::Inet(address)));
}

/// A UNIX socket listener echoes 512 KiB for a std UnixStream client; the
/// listener reports its path; the client's shutdown gives Hangup, and
/// `close(true)` after it delivers the rest before EOF.
#[test]
fn unix_socket_listener_echoes_to_a_std_client() {
    let dir = TempDir::new("unix-echo");
    let path = dir.path().join("echo.sock");
    let mut engine = Engine::new().unwrap();
    let listener = engine.listen(&SocketAddress::Unix(path.clone()), ListenOptions::default()).unwrap();
    assert_eq!(engine.local_address(listener), Some(SocketAddress::Unix(path.clone())));
    let payload = pattern(7, 512 * 1024);
    let expected = payload.clone();
    let client_path = path.clone();
    let peer = thread::spawn(move || {
        let stream = UnixStream::connect(&client_path).unwrap();
        stream.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(PEER_TIMEOUT)).unwrap();
        write_and_read(stream, payload, false, Some(512 * 1024))
    });
    let mut server = None;
    let mut echoed = 0;
    drive(&mut engine, "512 KiB echoed over a UNIX socket", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => {
                    assert_eq!(event.token, listener);
                    server = Some(event.a as usize);
                }
                EventKind::Read => {
                    for frame in take_frames(engine, event.token) {
                        echoed += frame.len();
                        engine.write(event.token, &frame).unwrap();
                    }
                }
                EventKind::Hangup => {}
                _ => panic!("unexpected event {event:?}"),
            }
        }
        echoed == expected.len() && peer.is_finished()
    });
    let received = peer.join().expect("client thread");
    assert_same_bytes(&received, &expected, "UNIX echo");
    engine.close(server.unwrap(), false);
    engine.close(listener, false);
    drop(engine);
    drop(dir);
    assert!(!path.exists(), "the temporary directory is removed");
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

/// A peer that resets the connection (SO_LINGER 0, then close) makes the
/// stream close by itself: one Close, no ReadError (a reset is a disconnect).
#[test]
fn peer_reset_closes_the_stream_without_an_error_event() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let client = std_client(address);
    let server = accept_one(&mut engine, listener);
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    let result = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(&client),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "SO_LINGER");
    drop(client); // RST
    let mut kinds = Vec::new();
    drive(&mut engine, "Close after the reset", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!(event.token, server);
            kinds.push(event.kind);
        }
        kinds.contains(&EventKind::Close)
    });
    assert!(!kinds.contains(&EventKind::ReadError) && !kinds.contains(&EventKind::WriteError), "{kinds:?}");
    assert_eq!(kinds.iter().filter(|&&kind| kind == EventKind::Close).count(), 1, "{kinds:?}");
    assert_eq!(engine.stream_state(server), Some(StreamState::Closed));
    assert_eq!(engine.peer_address(server).map(|peer| inet(&peer).ip().is_loopback()), Some(true), "peer kept after close");
}

/// Connecting to a UNIX path that does not exist gives ConnectError(ENOENT).
#[test]
fn connect_to_a_missing_unix_path_reports_enoent() {
    let dir = TempDir::new("unix-missing");
    let mut engine = Engine::new().unwrap();
    let client = engine.connect(&SocketAddress::Unix(dir.path().join("nobody.sock")));
    let mut error = None;
    drive(&mut engine, "ConnectError", TIMEOUT, |_, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (EventKind::ConnectError, client), "unexpected {event:?}");
            error = Some(event.a);
        }
        error.is_some()
    });
    assert_eq!(error, Some(libc::ENOENT));
    engine.release(client);
    assert_eq!(engine.channel_count(), 0, "a failed connect can be released directly");
}

/// `Delimiter::External`: `read_frame` never frames; the caller frames with
/// `peek_input` and takes bytes with `consume_input`, across reads.
#[test]
fn external_framing_with_peek_and_consume() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        stream.set_nodelay(true).unwrap();
        for piece in [&b"ab"[..], b"c|de", b"f|", b"|gh"] {
            stream.write_all(piece).unwrap();
            thread::sleep(Duration::from_millis(5));
        }
        stream
    });
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

// ----- timers -----------------------------------------------------------------

/// Runs timer iterations the way the binding does (begin_iteration, take
/// expired timers, poll no longer than the next timer) until `until` says
/// stop; returns the fired ids with the engine time at which each fired.
fn run_timers(engine: &mut Engine, mut until: impl FnMut(&[(u32, u64)]) -> bool) -> (Vec<(u32, u64)>, usize) {
    let start = Instant::now();
    let mut fired = Vec::new();
    let mut iterations = 0;
    let mut out = [0u32; 4];
    loop {
        let now = engine.begin_iteration();
        loop {
            let count = engine.take_expired_timers(&mut out);
            if count == 0 {
                break;
            }
            fired.extend(out[..count].iter().map(|&id| (id, now)));
        }
        if until(&fired) {
            return (fired, iterations);
        }
        assert!(start.elapsed() < Duration::from_secs(5), "timers did not fire: {fired:?}");
        let timeout = engine.next_timer_delay().map(Duration::from_millis).unwrap_or(Duration::from_millis(50));
        engine.poll(Some(timeout)).unwrap();
        iterations += 1;
    }
}

/// Timers fire in due order (equal deadlines in scheduling order), never before they are due.
#[test]
fn timers_fire_in_due_order_and_not_early() {
    let mut engine = Engine::new().unwrap();
    let scheduled_at = engine.begin_iteration();
    let plan = [(3u32, 60u64), (1, 20), (2, 40), (4, 40), (0, 0)];
    for &(id, delay) in &plan {
        engine.schedule_timer(delay, id);
    }
    assert_eq!(engine.timer_count(), plan.len());
    let (fired, _) = run_timers(&mut engine, |fired| fired.len() == plan.len());
    let order: Vec<u32> = fired.iter().map(|&(id, _)| id).collect();
    assert_eq!(order, [0, 1, 2, 4, 3]);
    for &(id, at) in &fired {
        let delay = plan.iter().find(|&&(planned, _)| planned == id).unwrap().1;
        assert!(at >= scheduled_at + delay, "timer {id} fired at {at}, due at {}", scheduled_at + delay);
        assert!(at <= scheduled_at + delay + 500, "timer {id} fired far too late: {at}");
    }
    assert_eq!(engine.timer_count(), 0);
    assert_eq!(engine.next_timer_delay(), None);
}

/// A cancelled timer never fires; cancelling twice, or after firing, says false.
#[test]
fn cancelled_timer_never_fires() {
    let mut engine = Engine::new().unwrap();
    engine.begin_iteration();
    engine.schedule_timer(10, 7);
    engine.schedule_timer(30, 8);
    engine.schedule_timer(20, 9);
    assert!(engine.cancel_timer(7));
    assert!(!engine.cancel_timer(7), "second cancel");
    assert!(!engine.cancel_timer(12345), "never scheduled");
    assert_eq!(engine.timer_count(), 2);
    let (fired, _) = run_timers(&mut engine, |fired| fired.iter().any(|&(id, _)| id == 8));
    let ids: Vec<u32> = fired.iter().map(|&(id, _)| id).collect();
    assert_eq!(ids, [9, 8]);
    assert!(!engine.cancel_timer(8), "cancel after firing");
    // The id can be scheduled again and cancelled again.
    engine.schedule_timer(5, 7);
    assert!(engine.cancel_timer(7));
    assert_eq!(engine.timer_count(), 0);
}

/// `next_timer_delay`: `None` without timers, never later than the earliest
/// deadline, shrinking as time passes, and good enough that a loop sleeping
/// on it wakes only a few times before a 200 ms timer fires.
#[test]
fn next_timer_delay_is_sane() {
    let mut engine = Engine::new().unwrap();
    assert_eq!(engine.next_timer_delay(), None);
    let tick = engine.begin_iteration();
    engine.schedule_timer(200, 1);
    engine.schedule_timer(5_000, 2);
    let delay = engine.next_timer_delay().expect("a timer is pending");
    assert!(delay <= 200, "delay {delay} is later than the earliest deadline");
    thread::sleep(Duration::from_millis(50));
    let later = engine.next_timer_delay().unwrap();
    assert!(later + 49 <= delay, "delay went from {delay} to {later} after 50 ms");
    let (fired, iterations) = run_timers(&mut engine, |fired| !fired.is_empty());
    assert_eq!(fired[0].0, 1);
    assert!(fired[0].1 >= tick + 200);
    assert!(iterations < 20, "woke {iterations} times for one 200 ms timer");
    let remaining = engine.next_timer_delay().expect("the 5 s timer is pending");
    assert!(remaining <= 5_000 - 200, "remaining {remaining}");
    assert!(remaining > 0);
    assert!(engine.cancel_timer(2));
    assert_eq!(engine.next_timer_delay(), None);
}

/// The listener keeps working for new clients while old ones come and go:
/// accepted tokens are released and reused (slab), without crossed streams.
#[test]
fn released_tokens_are_reused_without_crossing_streams() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let mut seen_tokens = std::collections::HashSet::new();
    for round in 0..5u8 {
        let mut client = std_client(address);
        let server = accept_one(&mut engine, listener);
        seen_tokens.insert(server);
        client.write_all(&[round; 3]).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        let mut closed = false;
        drive(&mut engine, "round trip", TIMEOUT, |engine, events| {
            for event in events {
                assert_eq!(event.token, server, "event for another token: {event:?}");
                match event.kind {
                    EventKind::Read => got.extend(take_frames(engine, server).concat()),
                    EventKind::Hangup => {
                        engine.write(server, &got).unwrap();
                        engine.close(server, true);
                    }
                    EventKind::Close => {
                        engine.release(server);
                        closed = true;
                    }
                    _ => panic!("unexpected {event:?}"),
                }
            }
            closed
        });
        let mut echoed = Vec::new();
        client.read_to_end(&mut echoed).unwrap();
        assert_eq!(echoed, [round; 3]);
    }
    assert_eq!(seen_tokens.len(), 1, "the released token is reused: {seen_tokens:?}");
    assert_eq!(engine.channel_count(), 1);
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
        engine.poll(Some(Duration::from_millis(10))).unwrap();
        while let Some(event) = engine.next_event() {
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
        engine.flush_dirty();
        if let Some(token) = stream {
            most_pending = most_pending.max(engine.pending_output(token) + engine.pending_input(token));
        }
    }
    let (_peer, sent) = writer.join().unwrap();
    assert!(sent < 64 << 20, "the peer could send everything ({sent} bytes): we never stopped reading");
    let bound = pants_core::OUTGOING_HIGH_WATER + 2 * pants_core::DEFAULT_BUFFER_SIZE + (1 << 17);
    assert!(most_pending <= bound, "buffered {most_pending} bytes, more than {bound}");
}
