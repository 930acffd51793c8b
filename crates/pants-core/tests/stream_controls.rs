//! Integration tests of what a stream offers beyond reading and writing:
//! idle timeouts, pausing, half-close, the reason of a close, per-stream
//! high-water marks and byte counts; std sockets in threads as the peers.

mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};

use pants_core::{Engine, EventKind};
use support::*;

/// Drives for `duration`, returning every event seen.
fn events_during(engine: &mut Engine, duration: Duration) -> Vec<pants_core::Event> {
    let start = Instant::now();
    let mut seen = Vec::new();
    drive(engine, "the time to pass", duration + TIMEOUT, |_, events| {
        seen.extend_from_slice(events);
        start.elapsed() >= duration
    });
    seen
}

/// Drives until an event of `kind` on `token`; returns it.
fn await_kind(engine: &mut Engine, what: &str, kind: EventKind, token: usize) -> pants_core::Event {
    let mut found = None;
    drive(engine, what, TIMEOUT, |_, events| {
        found = found.or_else(|| events.iter().find(|event| event.kind == kind && event.token == token).copied());
        found.is_some()
    });
    found.unwrap()
}

#[test]
fn an_idle_stream_raises_one_timeout_per_idle_stretch_and_bytes_rearm_it() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let mut client = std_client(address);
    let stream = accept_one(&mut engine, listener);
    engine.set_timeout(stream, 100).unwrap();
    let armed = Instant::now();
    await_kind(&mut engine, "the first Timeout", EventKind::Timeout, stream);
    assert!(armed.elapsed() >= Duration::from_millis(90), "timed out after {:?}", armed.elapsed());

    let quiet = events_during(&mut engine, Duration::from_millis(350));
    assert!(quiet.iter().all(|event| event.kind != EventKind::Timeout), "one Timeout per idle stretch: {quiet:?}");

    client.write_all(b"x").unwrap();
    await_kind(&mut engine, "the byte", EventKind::Read, stream);
    let active = Instant::now();
    take_frames(&mut engine, stream);
    await_kind(&mut engine, "the second Timeout", EventKind::Timeout, stream);
    assert!(active.elapsed() >= Duration::from_millis(50), "re-armed by the byte: {:?}", active.elapsed());

    engine.set_timeout(stream, 0).unwrap();
    let off = events_during(&mut engine, Duration::from_millis(300));
    assert!(off.iter().all(|event| event.kind != EventKind::Timeout), "no timeout once off: {off:?}");
    engine.close(stream, false);
    engine.close(listener, false);
}

#[test]
fn a_reset_closes_the_stream_with_econnreset() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let client = std_client(address);
    let stream = accept_one(&mut engine, listener);
    set_linger_zero(&client);
    drop(client);
    // The reset surfaces where the stream is read: a Read event, answered
    // as every application does, by taking its frames.
    let mut close = None;
    drive(&mut engine, "the Close", TIMEOUT, |engine, events| {
        for event in events.iter().filter(|event| event.token == stream) {
            match event.kind {
                EventKind::Read => assert!(take_frames(engine, stream).is_empty()),
                EventKind::Close => close = Some(*event),
                _ => panic!("unexpected {event:?}"),
            }
        }
        close.is_some()
    });
    let close = close.unwrap();
    assert_eq!((close.a, close.b), (libc::ECONNRESET, 0), "errno of the read that failed");
    engine.close(listener, false);
}

#[test]
fn end_sends_then_shuts_the_write_side_and_the_stream_closes_once_the_peer_ends() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let client = std_client(address);
    let stream = accept_one(&mut engine, listener);
    engine.write(stream, b"last words").unwrap();
    engine.end(stream).unwrap();
    engine.end(stream).unwrap();
    assert!(engine.write(stream, b"late").is_err(), "no write after end");
    let peer = thread::spawn(move || {
        let mut client = client;
        let mut received = Vec::new();
        client.read_to_end(&mut received).unwrap();
        client.write_all(b"reply").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        received
    });
    let mut replies = Vec::new();
    let mut close = None;
    drive(&mut engine, "the reply and the Close", TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Read => replies.extend(take_frames(engine, stream).concat()),
                EventKind::Close => close = Some(*event),
                _ => {}
            }
        }
        close.is_some()
    });
    assert_eq!(peer.join().unwrap(), b"last words");
    assert_eq!(replies, b"reply", "the stream reads on after its end");
    assert_eq!(close.unwrap().a, 0, "an orderly close");
    assert_eq!(engine.byte_counts(stream), (5, 10));
    engine.close(listener, false);
}

#[test]
fn a_paused_stream_reads_nothing_until_resumed() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let mut client = std_client(address);
    let stream = accept_one(&mut engine, listener);
    engine.set_paused(stream, true).unwrap();
    client.write_all(b"held").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    let paused = events_during(&mut engine, Duration::from_millis(200));
    assert!(paused.is_empty(), "nothing while paused: {paused:?}");
    assert_eq!(engine.pending_input(stream), 0, "not even read into the buffer");
    engine.set_paused(stream, false).unwrap();
    let mut kinds = Vec::new();
    let mut received = Vec::new();
    drive(&mut engine, "the Read, then the Hangup", TIMEOUT, |engine, events| {
        for event in events {
            kinds.push(event.kind);
            if event.kind == EventKind::Read {
                received.extend(take_frames(engine, stream).concat());
            }
        }
        kinds.contains(&EventKind::Hangup)
    });
    assert_eq!(kinds, [EventKind::Read, EventKind::Hangup]);
    assert_eq!(received, b"held");
    engine.close(stream, false);
    engine.close(listener, false);
}

#[test]
fn the_high_water_mark_is_per_stream() {
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen_loopback(&mut engine);
    let _client = std_client(address);
    let stream = accept_one(&mut engine, listener);
    engine.set_high_water(stream, 10).unwrap();
    engine.begin_iteration();
    assert!(!engine.write(stream, b"0123456789").unwrap(), "at the mark: not above it");
    assert!(engine.write(stream, b"!").unwrap(), "above the mark");
    engine.end_iteration();
    assert_eq!(engine.byte_counts(stream), (0, 11));
    engine.close(stream, false);
    engine.close(listener, false);
}
