//! 10,000 concurrent connections echoing through one engine, every byte checked.
//!
//! Each connection: the client sends 1 KiB carrying its index, the server
//! side echoes it, the client checks it got exactly its own payload back and
//! closes, the server side sees the Hangup and closes too. No payload is sent
//! before all the connections are open on both sides, so all of them are open
//! at the same time.
//!
//! The engine plays both sides (it `connect`s the client streams to its own
//! listener) when RLIMIT_NOFILE allows two fds per connection. When it does
//! not and the hard limit cannot be raised (no CAP_SYS_RESOURCE, as in some
//! containers), the client side runs in a second engine in a child process
//! (this test binary run again, see [`stress_client_side`]), which has an fd
//! limit of its own: the server engine still holds all 10,000 connections.
//! Only when even that does not fit does the test run fewer connections, and
//! it says so.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pants_core::{Delimiter, Engine, Event, EventKind, ListenOptions, SocketAddress};
use support::*;

const CONNECTIONS: usize = 10_000;
const PAYLOAD: usize = 1024;
/// Connections opened but not yet accepted (or connected), so the accept
/// backlog never overflows into SYN retransmits.
const MAX_IN_FLIGHT: usize = 512;
/// Deadline of the whole exchange.
const STRESS_TIMEOUT: Duration = Duration::from_secs(50);
/// Environment of the child process running the client side.
const CONNECT_VAR: &str = "PANTS_STRESS_CONNECT";
const CONNECTIONS_VAR: &str = "PANTS_STRESS_CONNECTIONS";

/// Raises RLIMIT_NOFILE to at least `wanted` (the hard limit too, when the
/// process may); failing that, the soft limit to the hard one. Returns the
/// soft limit in force afterwards.
fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0, "getrlimit");
    if limit.rlim_cur >= wanted {
        return limit.rlim_cur;
    }
    let raised = libc::rlimit { rlim_cur: wanted, rlim_max: limit.rlim_max.max(wanted) };
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return wanted;
    }
    let error = std::io::Error::last_os_error();
    let soft_to_hard = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
    let soft = if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &soft_to_hard) } == 0 { limit.rlim_max } else { limit.rlim_cur };
    println!("stress: cannot raise RLIMIT_NOFILE to {wanted} ({error}); the limit is {soft}");
    soft
}

/// File descriptors the process has open now.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|dir| dir.count()).unwrap_or(64)
}

/// Client `index`'s payload: the index in the first 8 bytes, then bytes
/// that differ per index.
fn payload(index: usize) -> Vec<u8> {
    let mut bytes = pattern(index as u64 + 1_000_000, PAYLOAD);
    bytes[..8].copy_from_slice(&(index as u64).to_le_bytes());
    bytes
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Free,
    Listener,
    /// A client stream, with its index.
    Client(usize),
    /// An accepted (server-side) stream.
    Server,
}

/// One engine's part of the exchange: the client streams, the server
/// streams, or both.
struct Side {
    connections: usize,
    /// Where the client streams connect; `None` on a server-only side.
    connect_to: Option<SocketAddress>,
    /// The listener; `None` on a client-only side.
    listener: Option<usize>,
    roles: Vec<Role>,
    issued: usize,
    connected: usize,
    accepted: usize,
    echoed: usize,
    verified: usize,
    verified_clients: Vec<bool>,
    closed: usize,
    sent: bool,
    peak_channels: usize,
}

impl Side {
    fn new(connections: usize, connect_to: Option<SocketAddress>, listener: Option<usize>) -> Self {
        let mut side = Self {
            connections,
            connect_to,
            listener,
            roles: vec![Role::Free; 2 * connections + 16],
            issued: 0,
            connected: 0,
            accepted: 0,
            echoed: 0,
            verified: 0,
            verified_clients: vec![false; connections],
            closed: 0,
            sent: false,
            peak_channels: 0,
        };
        if let Some(token) = listener {
            side.set_role(token, Role::Listener);
        }
        side
    }

    fn has_clients(&self) -> bool {
        self.connect_to.is_some()
    }

    fn has_servers(&self) -> bool {
        self.listener.is_some()
    }

    fn set_role(&mut self, token: usize, role: Role) {
        if token >= self.roles.len() {
            self.roles.resize(token + 1, Role::Free);
        }
        self.roles[token] = role;
    }

    fn handle(&mut self, engine: &mut Engine, event: &Event) {
        let role = self.roles.get(event.token).copied().unwrap_or(Role::Free);
        match (event.kind, role) {
            (EventKind::Accept, Role::Listener) => {
                self.accepted += 1;
                self.set_role(event.a as usize, Role::Server);
            }
            (EventKind::Connect, Role::Client(_)) => {
                self.connected += 1;
                engine.set_delimiter(event.token, Delimiter::Count(PAYLOAD)).unwrap();
            }
            (EventKind::Read, Role::Server) => {
                for frame in take_frames(engine, event.token) {
                    self.echoed += frame.len();
                    engine.write(event.token, &frame).unwrap();
                }
            }
            (EventKind::Read, Role::Client(index)) => {
                for frame in take_frames(engine, event.token) {
                    assert!(!self.verified_clients[index], "client {index} got a second payload");
                    let got = u64::from_le_bytes(frame[..8].try_into().unwrap()) as usize;
                    assert_eq!(got, index, "client {index} got client {got}'s payload");
                    assert!(frame == payload(index), "client {index} got its payload corrupted");
                    self.verified_clients[index] = true;
                    self.verified += frame.len();
                    engine.close(event.token, true);
                }
            }
            (EventKind::Hangup, Role::Server) => engine.close(event.token, true),
            (EventKind::Close, Role::Client(index)) => {
                assert!(self.verified_clients[index], "client {index} closed before it got its payload back");
                engine.release(event.token);
                self.set_role(event.token, Role::Free);
                self.closed += 1;
            }
            (EventKind::Close, Role::Server) => {
                engine.release(event.token);
                self.set_role(event.token, Role::Free);
                self.closed += 1;
            }
            _ => panic!("unexpected event {event:?} for a {role:?} (issued {}, connected {}, accepted {})", self.issued, self.connected, self.accepted),
        }
    }

    /// Starts more connects, keeping at most MAX_IN_FLIGHT unanswered.
    fn open_more(&mut self, engine: &mut Engine) {
        let Some(address) = self.connect_to.clone() else { return };
        loop {
            let answered = if self.has_servers() { self.accepted } else { self.connected };
            if self.issued == self.connections || self.issued - answered.min(self.issued) >= MAX_IN_FLIGHT {
                return;
            }
            let token = engine.connect(&address);
            self.set_role(token, Role::Client(self.issued));
            self.issued += 1;
        }
    }

    /// Every connection of this side is open.
    fn all_open(&self) -> bool {
        (!self.has_clients() || self.connected == self.connections) && (!self.has_servers() || self.accepted == self.connections)
    }

    /// Every client writes its payload.
    fn send_all(&mut self, engine: &mut Engine) {
        assert!(!self.sent);
        let open = self.connections * (usize::from(self.has_clients()) + usize::from(self.has_servers()));
        assert_eq!(engine.channel_count(), open + usize::from(self.has_servers()), "all connections open at once");
        for (token, role) in self.roles.iter().enumerate() {
            if let Role::Client(index) = *role {
                engine.write(token, &payload(index)).unwrap();
            }
        }
        self.sent = true;
    }

    fn done(&self) -> bool {
        let expected = self.connections * (usize::from(self.has_clients()) + usize::from(self.has_servers()));
        self.closed == expected
    }

    /// The checks common to every side once it is done.
    fn check(&self, engine: &Engine) {
        if self.has_clients() {
            assert_eq!(self.verified, self.connections * PAYLOAD, "verified bytes");
            assert!(self.verified_clients.iter().all(|&ok| ok));
        }
        if self.has_servers() {
            assert_eq!(self.echoed, self.connections * PAYLOAD, "echoed bytes");
            assert_eq!(self.peak_channels, self.connections * (1 + usize::from(self.has_clients())) + 1, "peak");
            assert_eq!(engine.channel_count(), 1, "only the listener is left");
        } else {
            assert_eq!(engine.channel_count(), 0, "every stream released");
        }
    }
}

fn listen(engine: &mut Engine) -> (usize, SocketAddress) {
    let options = ListenOptions { backlog: 4096, ..ListenOptions::default() };
    let listener = engine.listen(&SocketAddress::Inet("127.0.0.1:0".parse().unwrap()), options).unwrap();
    let address = engine.local_address(listener).unwrap();
    (listener, address)
}

#[test]
fn ten_thousand_concurrent_connections_echo_every_byte() {
    let limit = raise_fd_limit(65_536) as usize;
    let spare = limit.saturating_sub(open_fds() + 100);
    if spare >= 2 * CONNECTIONS {
        both_sides_in_one_engine(CONNECTIONS);
    } else if spare >= CONNECTIONS {
        println!("stress: RLIMIT_NOFILE {limit} < 2 fds x {CONNECTIONS}: the client side runs in a child process");
        client_side_in_a_child_process(CONNECTIONS);
    } else {
        let connections = spare / 2;
        println!("stress: RLIMIT_NOFILE is {limit}: running {connections} connections instead of {CONNECTIONS}");
        assert!(connections >= 1000, "RLIMIT_NOFILE {limit} allows only {connections} connections");
        both_sides_in_one_engine(connections);
    }
}

/// One engine, both sides: it connects the clients to its own listener.
fn both_sides_in_one_engine(connections: usize) {
    let started = Instant::now();
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen(&mut engine);
    let mut side = Side::new(connections, Some(address), Some(listener));
    let mut all_open_after = None;
    drive(&mut engine, "every connection echoed and closed", STRESS_TIMEOUT, |engine, events| {
        for event in events {
            side.handle(engine, event);
        }
        side.peak_channels = side.peak_channels.max(engine.channel_count());
        side.open_more(engine);
        if !side.sent && side.all_open() {
            all_open_after = Some(started.elapsed());
            side.send_all(engine);
        }
        side.done()
    });
    let elapsed = started.elapsed();
    side.check(&engine);
    println!(
        "stress: {connections} concurrent connections (both sides in one engine), {} bytes verified, \
         all open after {:?}, done in {elapsed:?}",
        side.verified,
        all_open_after.unwrap()
    );
    assert!(elapsed < STRESS_TIMEOUT, "took {elapsed:?}");
}

/// This engine has the listener and all the server streams; a child process
/// runs the clients. When every connection is accepted the parent writes
/// "go" to the child's stdin; the child then sends, checks its echoes and
/// reports the bytes it verified on stdout.
fn client_side_in_a_child_process(connections: usize) {
    let started = Instant::now();
    let mut engine = Engine::new().unwrap();
    let (listener, address) = listen(&mut engine);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "stress_client_side", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CONNECT_VAR, address.to_string())
        .env(CONNECTIONS_VAR, connections.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the client process");
    let guard = KillOnDrop(Some(child.id()));
    let mut go = child.stdin.take().unwrap();
    let mut child_stdout = child.stdout.take().unwrap();
    let output = std::thread::spawn(move || {
        let mut text = String::new();
        child_stdout.read_to_string(&mut text).unwrap();
        text
    });

    let mut side = Side::new(connections, None, Some(listener));
    let mut all_open_after = None;
    let mut child_status = None;
    drive(&mut engine, "every server stream echoed and closed", STRESS_TIMEOUT, |engine, events| {
        for event in events {
            side.handle(engine, event);
        }
        side.peak_channels = side.peak_channels.max(engine.channel_count());
        if !side.sent && side.all_open() {
            all_open_after = Some(started.elapsed());
            side.sent = true;
            go.write_all(b"go\n").and_then(|()| go.flush()).expect("tell the client process to send");
        }
        if child_status.is_none() {
            child_status = child.try_wait().unwrap();
            if let Some(status) = child_status {
                assert!(status.success(), "the client process failed: {status}");
            }
        }
        side.done()
    });
    let status = wait_with_deadline(&mut child, started + STRESS_TIMEOUT);
    drop(guard);
    let text = output.join().unwrap();
    assert!(status.success(), "the client process failed ({status}):\n{text}");
    let elapsed = started.elapsed();
    side.check(&engine);
    let verified: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("stress-client: verified "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no verified count in the client's output:\n{text}"));
    assert_eq!(verified, connections * PAYLOAD, "bytes verified by the clients");
    println!(
        "stress: {connections} concurrent connections on one server engine (clients in a child process), \
         {verified} bytes verified, all open after {:?}, done in {elapsed:?}",
        all_open_after.unwrap()
    );
    assert!(elapsed < STRESS_TIMEOUT, "took {elapsed:?}");
}

fn wait_with_deadline(child: &mut Child, deadline: Instant) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the client process did not finish");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills the child process if the test panics before it ended.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(pid) = self.0 {
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

/// The client side of [`client_side_in_a_child_process`], run in a child
/// process. Ignored, and a no-op without its environment, in normal runs.
#[test]
#[ignore = "the client half of the stress test, run by it in a child process"]
fn stress_client_side() {
    let (Ok(address), Ok(connections)) = (std::env::var(CONNECT_VAR), std::env::var(CONNECTIONS_VAR)) else {
        println!("stress_client_side: only run by ten_thousand_concurrent_connections_echo_every_byte");
        return;
    };
    let address = SocketAddress::Inet(address.parse().unwrap());
    let connections: usize = connections.parse().unwrap();
    raise_fd_limit(65_536);

    let go = Arc::new(AtomicBool::new(false));
    let go_flag = Arc::clone(&go);
    std::thread::spawn(move || {
        let mut line = String::new();
        if BufReader::new(std::io::stdin()).read_line(&mut line).is_ok() && line.trim() == "go" {
            go_flag.store(true, Ordering::Release);
        }
    });

    let mut engine = Engine::new().unwrap();
    let mut side = Side::new(connections, Some(address), None);
    drive(&mut engine, "every client verified and closed", STRESS_TIMEOUT, |engine, events| {
        for event in events {
            side.handle(engine, event);
        }
        side.open_more(engine);
        if !side.sent && side.all_open() && go.load(Ordering::Acquire) {
            side.send_all(engine);
        }
        side.done()
    });
    side.check(&engine);
    println!("stress-client: verified {} bytes", side.verified);
}
