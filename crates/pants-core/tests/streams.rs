//! Integration tests of streams and listeners over real loopback and UNIX
//! sockets, with std sockets (in threads) as the peers: echo, connect,
//! addresses and token reuse.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener};
use std::thread;

use pants_core::{Engine, EventKind, ListenOptions, SocketAddress, StreamState};
use support::*;

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

    let mut accepts = 0;
    let server = serve_echo(&mut engine, "1 MiB echoed and the client done", listener, expected.len(), &peer, |engine, event| {
        accepts += 1;
        assert!(accepts == 1, "one client, one Accept");
        let stream = event.a as usize;
        assert_eq!(engine.fd(stream), Some(event.b), "Accept's b is the new stream's fd");
        assert_eq!(engine.stream_state(stream), Some(StreamState::Open));
    });
    let received = peer.join().expect("client thread");
    assert_same_bytes(&received, &expected, "echo");
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
        stream.set_peer_timeouts();
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
    let errors = await_events(&mut engine, "ConnectError", EventKind::ConnectError, client);
    assert_eq!(errors.len(), 1, "exactly one ConnectError");
    let error = Some(errors[0].a);
    assert_eq!(error, Some(libc::ECONNREFUSED));
    assert_eq!(error, Some(111));
    assert_eq!(engine.stream_state(client), Some(StreamState::ConnectFailed));
    assert_eq!(engine.fd(client), None, "the socket is gone after ConnectError");
    assert!(engine.write(client, b"x").is_err(), "no writes on a failed stream");

    engine.close(client, false);
    await_events(&mut engine, "Close after ConnectError", EventKind::Close, client);
    engine.release(client);
    assert_eq!(engine.channel_count(), 0);
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
    await_events(&mut engine, "listener Close", EventKind::Close, listener);
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
    let peer = thread::spawn(move || write_and_read(std_unix_client(&client_path), payload, false, Some(512 * 1024)));
    let server = serve_echo(&mut engine, "512 KiB echoed over a UNIX socket", listener, expected.len(), &peer, |_, _| {});
    let received = peer.join().expect("client thread");
    assert_same_bytes(&received, &expected, "UNIX echo");
    engine.close(server, false);
    engine.close(listener, false);
    drop(engine);
    drop(dir);
    assert!(!path.exists(), "the temporary directory is removed");
}

/// Connecting to a UNIX path that does not exist gives ConnectError(ENOENT).
#[test]
fn connect_to_a_missing_unix_path_reports_enoent() {
    let dir = TempDir::new("unix-missing");
    let mut engine = Engine::new().unwrap();
    let client = engine.connect(&SocketAddress::Unix(dir.path().join("nobody.sock")));
    let errors = await_events(&mut engine, "ConnectError", EventKind::ConnectError, client);
    let error = errors.last().map(|event| event.a);
    assert_eq!(error, Some(libc::ENOENT));
    engine.release(client);
    assert_eq!(engine.channel_count(), 0, "a failed connect can be released directly");
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

/// Large writes go to the socket at once when nothing waits, small ones are
/// buffered until the flush: mixed in every order, the peer still gets the
/// bytes in the order written, and the engine counts every byte sent.
#[test]
fn direct_and_buffered_writes_keep_their_order() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let large = pants_core::DIRECT_SEND_MIN;
    let pieces = [
        pattern(10, large + 1), // sent directly
        pattern(11, 10),        // buffered after it
        pattern(12, large * 3), // buffered: something waits
        pattern(13, 7),
    ];
    let expected: Vec<u8> = pieces.concat();
    let expected_len = expected.len();
    let peer = thread::spawn(move || {
        let mut stream = std_client(address);
        let mut received = Vec::new();
        stream.read_to_end(&mut received).unwrap();
        received
    });
    let stream = accept_one(&mut engine, listener);
    for piece in &pieces {
        engine.write(stream, piece).unwrap();
    }
    engine.close(stream, true);
    drive(&mut engine, "the buffered rest sent and the stream closed", TIMEOUT, |_, events| {
        events.iter().any(|event| event.kind == EventKind::Close && event.token == stream)
    });
    let received = peer.join().expect("client thread");
    assert_same_bytes(&received, &expected, "mixed writes");
    assert_eq!(engine.stats().bytes_out, expected_len as u64);
    engine.close(listener, false);
}
