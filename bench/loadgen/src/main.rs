//! `loadgen`: a single-threaded, mio-based echo load generator.
//!
//! Steady mode opens `--connections` non-blocking connections, keeps
//! `--inflight` messages of `--size` bytes outstanding on each (ping-pong),
//! checks every echoed byte, and after `--warmup` seconds counts completed
//! messages and their round-trip latency for `--duration` seconds (or until
//! `--messages` completed). `--churn` instead runs connect, one message,
//! close, over and over, on `--connections` parallel workers (churn.rs).
//! Prints one JSON line.

mod args;
mod churn;
mod conn;
mod histogram;
mod pattern;
mod tls;
mod window;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use args::{ArgsError, Config};
use conn::{Conn, State};
use pattern::Pattern;
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

fn run(cfg: &Config) -> io::Result<Report> {
    let addr = resolve(cfg)?;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUFFER];
    let pattern = Rc::new(Pattern::new(cfg.size, cfg.line));

    let tls_config = cfg.tls.then(tls::client_config);
    let mut conns = Vec::with_capacity(cfg.connections);
    for id in 0..cfg.connections {
        let mut stream = TcpStream::connect(addr)?;
        poll.registry().register(&mut stream, Token(id), Interest::READABLE | Interest::WRITABLE)?;
        let session = tls_config.as_ref().map(|config| tls::session(config, &cfg.host));
        conns.push(Conn::new(stream, id, pattern.clone(), session));
    }

    let mut errors = 0u64;
    let mut connecting = cfg.connections;
    let mut alive = cfg.connections;
    let connect_deadline = Instant::now() + CONNECT_TIMEOUT;
    // The warmup starts once every connection is up.
    let mut window = Window::new(cfg);

    loop {
        let now = Instant::now();
        let timeout = match window.tick(now, errors) {
            Next::Done(report) => return Ok(report),
            Next::Poll(_) if !window.begun() && now >= connect_deadline => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{connecting} of {} connections not established", cfg.connections)));
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

            if let State::Connecting = conn.state {
                match conn.check_connected(true) {
                    Ok(false) => continue,
                    Ok(true) => {
                        connecting -= 1;
                        let now = Instant::now();
                        for _ in 0..cfg.inflight {
                            conn.queue_message(now);
                        }
                    }
                    Err(e) => {
                        fail(conn, &poll, id, "connect", &e, &mut errors);
                        alive -= 1;
                        connecting -= 1;
                        continue;
                    }
                }
            }

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
                        // Mismatches count whenever they happen, warmup too.
                        errors += progress.mismatched;
                    }
                    Err(e) => {
                        fail(conn, &poll, id, "read", &e, &mut errors);
                        alive -= 1;
                        continue;
                    }
                }
            }

            // Always try to write: either the socket became writable or the
            // reads above queued new messages.
            if let Err(e) = conn.flush() {
                fail(conn, &poll, id, "write", &e, &mut errors);
                alive -= 1;
            }
        }
        if !window.begun() && connecting == 0 {
            window.begin(Instant::now());
        }
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
