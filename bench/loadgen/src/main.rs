//! `loadgen`: a single-threaded, mio-based echo load generator.
//!
//! Opens `--connections` non-blocking connections, keeps `--inflight`
//! messages of `--size` bytes outstanding on each (ping-pong), checks every
//! echoed byte, and after `--warmup` seconds counts completed messages and
//! their round-trip latency for `--duration` seconds. Prints one JSON line.

mod args;
mod conn;
mod histogram;
mod tls;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use args::{ArgsError, Config};
use conn::{Conn, State};
use histogram::Histogram;

/// How long all connections get to be established.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

struct Report {
    msgs: u64,
    seconds: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

impl Report {
    fn to_json(&self) -> String {
        let rate = if self.seconds > 0.0 {
            self.msgs as f64 / self.seconds
        } else {
            0.0
        };
        format!(
            "{{\"msgs\":{},\"seconds\":{:.3},\"msgsPerSec\":{:.1},\"p50us\":{:.1},\"p99us\":{:.1},\"errors\":{}}}",
            self.msgs, self.seconds, rate, self.p50_us, self.p99_us, self.errors
        )
    }
}

fn resolve(cfg: &Config) -> io::Result<SocketAddr> {
    (cfg.host.as_str(), cfg.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("cannot resolve {}", cfg.host),
            )
        })
}

/// Per-connection failures printed before the rest are only counted.
const MAX_REPORTED_FAILURES: u64 = 5;

/// Marks a connection dead after an I/O error, and counts the error.
fn fail(conn: &mut Conn, poll: &Poll, id: usize, what: &str, e: &io::Error, errors: &mut u64) {
    if *errors < MAX_REPORTED_FAILURES {
        eprintln!("loadgen: connection {id}: {what}: {e}");
    } else if *errors == MAX_REPORTED_FAILURES {
        eprintln!("loadgen: (further connection failures not shown)");
    }
    *errors += 1;
    let _ = poll.registry().deregister(&mut conn.stream);
    conn.state = State::Dead;
}

fn run(cfg: &Config) -> io::Result<Report> {
    let addr = resolve(cfg)?;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];

    let tls_config = cfg.tls.then(tls::client_config);
    let mut conns = Vec::with_capacity(cfg.connections);
    for id in 0..cfg.connections {
        let mut stream = TcpStream::connect(addr)?;
        poll.registry().register(
            &mut stream,
            Token(id),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let session = tls_config.as_ref().map(|config| tls::session(config, &cfg.host));
        conns.push(Conn::new(stream, id, cfg.size, cfg.line, session));
    }

    let mut errors = 0u64;
    let mut connecting = cfg.connections;
    let mut alive = cfg.connections;
    let connect_deadline = Instant::now() + CONNECT_TIMEOUT;
    // Set once every connection is up: the warmup starts then.
    let mut start: Option<Instant> = None;
    let mut measuring_since: Option<Instant> = None;
    let mut msgs = 0u64;
    let mut hist = Histogram::new();

    loop {
        let now = Instant::now();
        let timeout = match (start, measuring_since) {
            (None, _) => {
                if now >= connect_deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "{connecting} of {} connections not established",
                            cfg.connections
                        ),
                    ));
                }
                connect_deadline - now
            }
            (Some(s), None) => {
                let warm_end = s + cfg.warmup;
                if now >= warm_end {
                    if cfg.marks {
                        eprintln!("loadgen: measuring");
                    }
                    measuring_since = Some(now);
                    msgs = 0;
                    hist.clear();
                    continue;
                }
                warm_end - now
            }
            (Some(_), Some(m)) => {
                let end = m + cfg.duration;
                if now >= end {
                    if cfg.marks {
                        eprintln!("loadgen: done");
                    }
                    let seconds = (now - m).as_secs_f64();
                    return Ok(Report {
                        msgs,
                        seconds,
                        p50_us: hist.quantile(0.50) / 1000.0,
                        p99_us: hist.quantile(0.99) / 1000.0,
                        errors,
                    });
                }
                end - now
            }
        };
        if alive == 0 {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "every connection failed",
            ));
        }

        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        let measuring = measuring_since.is_some();

        for event in events.iter() {
            let id = event.token().0;
            let conn = &mut conns[id];
            if conn.is_dead() {
                continue;
            }

            if let State::Connecting = conn.state {
                match conn.check_connected() {
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
                let result = conn.read_ready(&mut buf, |round_trip, bad| {
                    if measuring && !bad {
                        hist.record(round_trip.as_nanos() as u64);
                    }
                });
                match result {
                    Ok(progress) => {
                        if measuring {
                            msgs += progress.completed;
                        }
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
        if start.is_none() && connecting == 0 {
            start = Some(Instant::now());
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
    match run(&cfg) {
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
