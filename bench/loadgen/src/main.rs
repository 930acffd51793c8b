//! `loadgen`: a single-threaded, mio-based echo load generator.
//!
//! Steady mode opens `--connections` non-blocking connections, keeps
//! `--inflight` messages of `--size` bytes outstanding on each (ping-pong),
//! checks every echoed byte, and after `--warmup` seconds counts completed
//! messages and their round-trip latency for `--duration` seconds (or until
//! `--messages` completed). `--churn` instead runs connect, one message,
//! close, over and over, on `--connections` parallel workers (churn.rs).
//! `--ws` speaks WebSocket on each connection (ws.rs), and `--broadcast`
//! adds a publisher whose messages every connection receives (broadcast.rs).
//! Prints one JSON line.

mod args;
mod broadcast;
mod churn;
mod conn;
mod histogram;
mod pattern;
mod tls;
mod window;
mod ws;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use args::{ArgsError, Config};
use broadcast::Fanout;
use conn::{Conn, State};
use pattern::{Content, Pattern};
use window::{Next, Report, Window};

/// Bytes read per read(2): a few bulk messages at once.
pub const READ_BUFFER: usize = 256 * 1024;

/// How long all connections get to be established.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub fn resolve(cfg: &Config) -> io::Result<SocketAddr> {
    (cfg.host.as_str(), cfg.port).to_socket_addrs()?.next().ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("cannot resolve {}", cfg.host)))
}

/// Per-connection failures printed before the rest are only counted.
const MAX_REPORTED_FAILURES: u64 = 5;

/// Prints (the first few) connection failures and counts them.
pub fn report_failure(id: usize, what: &str, e: &io::Error, errors: &mut u64) {
    if *errors < MAX_REPORTED_FAILURES {
        eprintln!("loadgen: connection {id}: {what}: {e}");
    } else if *errors == MAX_REPORTED_FAILURES {
        eprintln!("loadgen: (further connection failures not shown)");
    }
    *errors += 1;
}

/// Marks a connection dead after an I/O error, and counts the error.
fn fail(conn: &mut Conn, poll: &Poll, id: usize, what: &str, e: &io::Error, errors: &mut u64) {
    report_failure(id, what, e, errors);
    let _ = poll.registry().deregister(&mut conn.stream);
    conn.state = State::Dead;
}

/// Messages of `--compress` start at one of this many offsets, each
/// deflated once at start.
const DEFLATED_OFFSETS: usize = 1024;

/// The messages of a run: what they are made of, and where they may start.
pub fn pattern(cfg: &Config) -> Pattern {
    let content = match (cfg.line, cfg.json, cfg.text) {
        (true, _, _) => Content::Line,
        (_, true, _) => Content::Json,
        (_, _, true) => Content::Printable,
        _ => Content::Binary,
    };
    Pattern::new(cfg.size, content, if cfg.compress { DEFLATED_OFFSETS } else { pattern::OFFSETS })
}

fn run(cfg: &Config) -> io::Result<Report> {
    let addr = resolve(cfg)?;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUFFER];
    let pattern = Rc::new(pattern(cfg));
    let deflated = cfg.compress.then(|| Rc::new(ws::Deflated::new(&pattern, DEFLATED_OFFSETS)));
    // With --broadcast, the publisher is one more connection, the last.
    let mut fanout = cfg.broadcast.then(|| Fanout::new(cfg.connections));
    let total = cfg.connections + cfg.broadcast as usize;

    let tls_config = cfg.tls.then(tls::client_config);
    let mut conns = Vec::with_capacity(total);
    for id in 0..total {
        let mut stream = TcpStream::connect(addr)?;
        poll.registry().register(&mut stream, Token(id), Interest::READABLE | Interest::WRITABLE)?;
        let session = tls_config.as_ref().map(|config| tls::session(config, &cfg.host));
        let mut conn = Conn::new(stream, id, pattern.clone(), session);
        if cfg.ws {
            conn = conn.with_ws(ws::Ws::new(cfg.text, deflated.clone()));
        }
        if fanout.is_some() {
            conn = conn.without_refill();
        }
        conns.push(conn);
    }

    let mut errors = 0u64;
    // Connections not open yet (connected, and upgraded with --ws).
    let mut connecting = total;
    let mut alive = total;
    let connect_deadline = Instant::now() + CONNECT_TIMEOUT;
    // The warmup starts once every connection is up.
    let mut window = Window::new(cfg);

    loop {
        let now = Instant::now();
        let timeout = match window.tick(now, errors) {
            Next::Done(report) => return Ok(report),
            Next::Poll(_) if !window.begun() && now >= connect_deadline => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{connecting} of {total} connections not established")));
            }
            Next::Poll(_) if !window.begun() => connect_deadline - now,
            Next::Poll(t) => t,
        };
        if alive == 0 {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "every connection failed"));
        }

        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        let measuring = window.measuring();

        for event in events.iter() {
            let id = event.token().0;
            let conn = &mut conns[id];
            if conn.is_dead() {
                continue;
            }
            // Messages to queue on this connection now that it is open.
            let mut opened = false;

            if let State::Connecting = conn.state {
                match conn.check_connected(true) {
                    Ok(false) => continue,
                    Ok(true) if cfg.ws => {
                        let path = if fanout.as_ref().is_some_and(|f| f.publisher == id) { "/publish" } else { "/" };
                        conn.upgrade(&ws::request(&cfg.host, path, cfg.compress));
                    }
                    Ok(true) => opened = true,
                    Err(e) => {
                        fail(conn, &poll, id, "connect", &e, &mut errors);
                        alive -= 1;
                        connecting -= 1;
                        continue;
                    }
                }
            }

            let mut fully_delivered = 0;
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                let hist = window.histogram();
                let result = conn.read_ready(&mut buf, |round_trip, bad| {
                    if measuring && !bad {
                        hist.record(round_trip.as_nanos() as u64);
                    }
                });
                match result {
                    Ok(progress) => {
                        window.count(progress.completed);
                        window.count_wire(progress.bytes);
                        // Mismatches count whenever they happen, warmup too.
                        errors += progress.mismatched;
                        opened |= progress.upgraded;
                        if let Some(fanout) = &mut fanout {
                            if progress.completed > 0 {
                                fully_delivered = fanout.delivered(id, progress.completed);
                            }
                        }
                    }
                    Err(e) => {
                        fail(conn, &poll, id, "read", &e, &mut errors);
                        alive -= 1;
                        if matches!(conn.state, State::Upgrading(_)) {
                            connecting -= 1;
                        }
                        continue;
                    }
                }
            }
            if opened {
                connecting -= 1;
                if fanout.is_none() {
                    let now = Instant::now();
                    for _ in 0..cfg.inflight {
                        conn.queue_message(now);
                    }
                }
            }

            // Always try to write: either the socket became writable or the
            // reads above queued new messages.
            if let Err(e) = conn.flush() {
                fail(conn, &poll, id, "write", &e, &mut errors);
                alive -= 1;
            }
            if let Some(fanout) = &mut fanout {
                // Each message that reached every subscriber makes room for one more.
                publish(fanout, &mut conns, fully_delivered, &poll, &mut errors, &mut alive);
            }
        }
        if !window.begun() && connecting == 0 {
            window.begin(Instant::now());
            if let Some(fanout) = &mut fanout {
                publish(fanout, &mut conns, cfg.inflight, &poll, &mut errors, &mut alive);
            }
        }
    }
}

/// `--broadcast`: the publisher sends `count` more messages.
fn publish(fanout: &mut Fanout, conns: &mut [Conn], count: usize, poll: &Poll, errors: &mut u64, alive: &mut usize) {
    if count == 0 || conns[fanout.publisher].is_dead() {
        return;
    }
    let now = Instant::now();
    for _ in 0..count {
        fanout.publish(conns, now);
    }
    let id = fanout.publisher;
    if let Err(e) = conns[id].flush() {
        fail(&mut conns[id], poll, id, "write", &e, errors);
        *alive -= 1;
    }
}

fn main() -> ExitCode {
    let cfg = match args::parse(std::env::args().skip(1)) {
        Ok(cfg) => cfg,
        Err(e @ ArgsError::Help) => {
            println!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = if cfg.churn { churn::run(&cfg) } else { run(&cfg) };
    match result {
        Ok(report) => {
            println!("{}", report.to_json());
            if report.errors > 0 {
                eprintln!("loadgen: {} errors", report.errors);
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
