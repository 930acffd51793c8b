//! Shared helpers for the integration tests: a driver loop over a real
//! [`Engine`], loopback addresses, frame draining, payload patterns and a
//! self-removing temporary directory.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pants_core::{Engine, Event, EventKind, FrameRead, ListenOptions, SocketAddress};

/// How long one `poll` may block inside [`drive`]: short, so that the step
/// closure can notice conditions outside the engine (a peer thread finishing).
pub const POLL_SLICE: Duration = Duration::from_millis(5);

/// Default deadline of a driven exchange; every test must finish well within it.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Timeouts put on blocking std peers so that a broken engine fails a test
/// instead of hanging it.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// One engine iteration through its public API, as the binding runs it:
/// begin (timers due are dropped: these tests schedule none), wait up to
/// `timeout` for I/O, hand the whole batch of events to `step` (writes it
/// makes are corked and sent by `end_io_dispatch`), end. Returns what
/// `step` returned.
pub fn iterate<R>(engine: &mut Engine, timeout: Duration, step: impl FnOnce(&mut Engine, &[Event]) -> R) -> R {
    engine.begin_iteration();
    while engine.take_expired_timers(&mut [0; 16]) > 0 {}
    engine.poll_io(Some(timeout)).expect("Engine::poll_io failed");
    let mut batch = Vec::new();
    while let Some(event) = engine.next_event() {
        batch.push(event);
    }
    let result = step(engine, &batch);
    engine.end_io_dispatch();
    engine.end_iteration();
    result
}

/// Runs iterations (see [`iterate`]) of at most [`POLL_SLICE`] each.
/// `step` is called after every poll, also with an empty batch, so it can
/// check conditions outside the engine. Stops when `step` returns true.
///
/// # Panics
/// When `step` has not returned true within `timeout`, with `what` in the message.
pub fn drive<F>(engine: &mut Engine, what: &str, timeout: Duration, mut step: F)
where
    F: FnMut(&mut Engine, &[Event]) -> bool,
{
    let start = Instant::now();
    let mut last = Vec::new();
    let mut iterations = 0u64;
    loop {
        let done = iterate(engine, POLL_SLICE, |engine, events| {
            last.clear();
            last.extend_from_slice(events);
            step(engine, events)
        });
        iterations += 1;
        if done {
            return;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {:?} ({iterations} iterations) waiting for: {what}; last batch: {last:?}", start.elapsed());
        }
    }
}

/// `127.0.0.1:0`: the kernel picks the port.
pub fn loopback_any_port() -> SocketAddress {
    SocketAddress::Inet("127.0.0.1:0".parse().unwrap())
}

/// The IP address behind a [`SocketAddress`]; panics for UNIX paths.
pub fn inet(address: &SocketAddress) -> SocketAddr {
    match address {
        SocketAddress::Inet(inet) => *inet,
        other => panic!("expected an IP address, got {other:?}"),
    }
}

/// Listens on 127.0.0.1 with a kernel-chosen port; returns the listener's
/// token and the address it really got (read back with `local_address`).
pub fn listen_loopback(engine: &mut Engine) -> (usize, SocketAddr) {
    let token = engine.listen(&loopback_any_port(), ListenOptions::default()).expect("listen on 127.0.0.1:0");
    let address = inet(&engine.local_address(token).expect("a listener has a local address"));
    assert_ne!(address.port(), 0, "local_address must report the port the kernel chose");
    (token, address)
}

/// Takes every complete frame buffered for `token`, in order, growing the
/// output buffer on `NeedSpace`. Panics on `Overflow`.
pub fn take_frames(engine: &mut Engine, token: usize) -> Vec<Vec<u8>> {
    let mut out = vec![0u8; 64 * 1024];
    let mut frames = Vec::new();
    loop {
        match engine.read_frame(token, &mut out).expect("read_frame on a stream") {
            FrameRead::Frame(len) => frames.push(out[..len].to_vec()),
            FrameRead::Incomplete => return frames,
            FrameRead::NeedSpace(len) => {
                assert!(len > out.len(), "NeedSpace({len}) with an output of {} bytes", out.len());
                out.resize(len, 0);
            }
            FrameRead::Overflow => panic!("unexpected Overflow on stream {token}"),
        }
    }
}

/// Drives until a batch brings events, every one of which must be `kind`
/// on `token` (else it panics with the event); returns that batch.
pub fn await_events(engine: &mut Engine, what: &str, kind: EventKind, token: usize) -> Vec<Event> {
    let mut seen = Vec::new();
    drive(engine, what, TIMEOUT, |_, events| {
        for event in events {
            assert_eq!((event.kind, event.token), (kind, token), "unexpected {event:?}");
            seen.push(*event);
        }
        !seen.is_empty()
    });
    seen
}

/// The stream an Accept event brought, checking it came from `listener`.
pub fn accepted_stream(event: &Event, listener: usize) -> usize {
    assert_eq!(event.token, listener);
    event.a as usize
}

/// Accepts one connection on `listener` and returns the new stream's token.
pub fn accept_one(engine: &mut Engine, listener: usize) -> usize {
    let accepted = await_events(engine, "Accept", EventKind::Accept, listener);
    accepted.last().unwrap().a as usize
}

/// Takes every complete frame buffered for `token` and writes each back to
/// it; returns how many bytes were echoed.
pub fn echo_frames(engine: &mut Engine, token: usize) -> usize {
    let mut echoed = 0;
    for frame in take_frames(engine, token) {
        echoed += frame.len();
        engine.write(token, &frame).unwrap();
    }
    echoed
}

/// An echo server on `listener` for one client: `on_accept` sees the Accept
/// event, every Read is echoed (and must be on the accepted stream), Hangup
/// is ignored. Runs until `expected_len` bytes were echoed and `peer` has
/// finished; returns the accepted stream's token.
pub fn serve_echo<T, F>(engine: &mut Engine, what: &str, listener: usize, expected_len: usize, peer: &JoinHandle<T>, mut on_accept: F) -> usize
where
    F: FnMut(&mut Engine, &Event),
{
    let mut server = None;
    let mut echoed = 0usize;
    drive(engine, what, TIMEOUT, |engine, events| {
        for event in events {
            match event.kind {
                EventKind::Accept => {
                    let stream = accepted_stream(event, listener);
                    on_accept(engine, event);
                    server = Some(stream);
                }
                EventKind::Read => {
                    assert_eq!(Some(event.token), server);
                    echoed += echo_frames(engine, event.token);
                }
                EventKind::Hangup => {}
                _ => panic!("unexpected event {event:?}"),
            }
        }
        echoed == expected_len && peer.is_finished()
    });
    server.expect("a client was accepted")
}

/// Deterministic pseudo-random bytes (xorshift64*), distinct per seed, so
/// that lost, duplicated or reordered bytes are caught.
pub fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// Asserts two byte strings are equal, reporting the first difference
/// instead of dumping megabytes.
pub fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    if let Some(at) = actual.iter().zip(expected).position(|(a, b)| a != b) {
        panic!("{what}: first difference at byte {at} (got {:#04x}, expected {:#04x})", actual[at], expected[at]);
    }
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ (bytes agree up to the shorter one)");
}

/// FNV-1a over `bytes`, continuing from `hash` (start with [`FNV_START`]).
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

/// FNV-1a offset basis.
pub const FNV_START: u64 = 0xCBF2_9CE4_8422_2325;

/// Connects a blocking std client with read/write timeouts.
pub fn std_client(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("std client connect");
    stream.set_peer_timeouts();
    stream
}

/// Connects a blocking std UNIX client with read/write timeouts.
pub fn std_unix_client(path: &Path) -> std::os::unix::net::UnixStream {
    let stream = std::os::unix::net::UnixStream::connect(path).expect("std UNIX client connect");
    stream.set_peer_timeouts();
    stream
}

/// Spawns a peer that connects with TCP_NODELAY and writes `pieces` in
/// order, sleeping after each for its pause (none when zero); the thread
/// returns the still open stream, so no FIN is sent before it is joined.
pub fn spawn_paced_writer(address: SocketAddr, pieces: Vec<(Vec<u8>, Duration)>) -> JoinHandle<TcpStream> {
    std::thread::spawn(move || {
        let mut stream = std_client(address);
        stream.set_nodelay(true).unwrap();
        for (piece, pause) in pieces {
            stream.write_all(&piece).unwrap();
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
        stream
    })
}

/// Sets SO_LINGER to zero, so that closing `stream` sends a RST.
pub fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    let result = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(stream),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "SO_LINGER");
}

/// Writes `payload` on a clone of `stream` from another thread (in uneven
/// chunks), optionally shutting down the write side after, while this thread
/// reads `expect_len` bytes (or to EOF when `None`). Returns what was read.
pub fn write_and_read<S>(stream: S, payload: Vec<u8>, shutdown_after: bool, expect_len: Option<usize>) -> Vec<u8>
where
    S: Read + Write + Send + 'static + TryCloneShutdown,
{
    let mut writer = stream.try_clone_stream();
    let writer = std::thread::spawn(move || {
        let mut offset = 0;
        let mut chunk = 1;
        while offset < payload.len() {
            let end = (offset + chunk).min(payload.len());
            writer.write_all(&payload[offset..end]).expect("peer write");
            offset = end;
            chunk = chunk * 3 % 65_521 + 1; // uneven chunk sizes, from 1 byte to ~64 KiB
        }
        if shutdown_after {
            writer.shutdown_write();
        }
    });
    let mut reader = stream;
    let mut received = Vec::new();
    match expect_len {
        Some(len) => {
            received.resize(len, 0);
            reader.read_exact(&mut received).expect("peer read_exact");
        }
        None => {
            reader.read_to_end(&mut received).expect("peer read_to_end");
        }
    }
    writer.join().expect("peer writer thread");
    received
}

/// `try_clone`, write-side shutdown and peer timeouts for the std stream types.
pub trait TryCloneShutdown: Sized {
    /// A second handle on the same socket.
    fn try_clone_stream(&self) -> Self;
    /// `shutdown(Write)`.
    fn shutdown_write(&self);
    /// Read and write timeouts of [`PEER_TIMEOUT`].
    fn set_peer_timeouts(&self);
}

macro_rules! impl_try_clone_shutdown {
    ($stream:ty) => {
        impl TryCloneShutdown for $stream {
            fn try_clone_stream(&self) -> Self {
                self.try_clone().unwrap()
            }
            fn shutdown_write(&self) {
                self.shutdown(Shutdown::Write).unwrap()
            }
            fn set_peer_timeouts(&self) {
                self.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
                self.set_write_timeout(Some(PEER_TIMEOUT)).unwrap();
            }
        }
    };
}

impl_try_clone_shutdown!(TcpStream);
impl_try_clone_shutdown!(std::os::unix::net::UnixStream);

/// A directory under `std::env::temp_dir()` named after the process id and a
/// label, created empty and removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `temp_dir()/pants-core-<label>-<pid>`, replacing a stale one.
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!("pants-core-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create the temporary directory");
        Self { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
