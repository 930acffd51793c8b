//! `--churn`: each of `--connections` workers connects, sends one message,
//! reads its echo (checking every byte), closes, and starts over. A
//! completed message is a completed connection; its latency runs from
//! `connect()` to the last echoed byte.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::ClientConfig;

use crate::args::Config;
use crate::conn::{Conn, State};
use crate::pattern::Pattern;
use crate::window::{Next, Report, Window};
use crate::{report_failure, resolve, tls, READ_BUFFER};

struct Worker {
    conn: Conn,
    /// The token of the current connection: `serial * workers + index`, so
    /// a late event for a closed connection is told apart from its successor.
    token: usize,
    connected_at: Instant,
}

struct Dialer<'a> {
    cfg: &'a Config,
    addr: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
    pattern: Rc<Pattern>,
    serial: usize,
}

impl Dialer<'_> {
    /// Starts a non-blocking connect for worker `index`.
    fn dial(&mut self, poll: &Poll, index: usize) -> io::Result<Worker> {
        let token = self.serial * self.cfg.connections + index;
        self.serial += 1;
        let mut stream = TcpStream::connect(self.addr)?;
        poll.registry().register(&mut stream, Token(token), Interest::READABLE | Interest::WRITABLE)?;
        let session = self.tls.as_ref().map(|config| tls::session(config, &self.cfg.host));
        let conn = Conn::new(stream, token, self.pattern.clone(), session).without_refill();
        Ok(Worker { conn, token, connected_at: Instant::now() })
    }
}

pub fn run(cfg: &Config) -> io::Result<Report> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; READ_BUFFER];
    let mut dialer = Dialer { cfg, addr: resolve(cfg)?, tls: cfg.tls.then(tls::client_config), pattern: Rc::new(crate::pattern(cfg)), serial: 0 };

    let mut workers = Vec::with_capacity(cfg.connections);
    for index in 0..cfg.connections {
        workers.push(dialer.dial(&poll, index)?);
    }
    let mut errors = 0u64;
    let mut window = Window::new(cfg);
    window.begin(Instant::now());

    loop {
        let timeout = match window.tick(Instant::now(), errors) {
            Next::Done(report) => return Ok(report),
            Next::Poll(t) => t,
        };
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }

        for event in events.iter() {
            let token = event.token().0;
            let index = token % cfg.connections;
            let worker = &mut workers[index];
            if worker.token != token {
                continue; // an event for a connection already closed
            }
            let conn = &mut worker.conn;
            // What ends this connection: Ok(()) after a full echo, or an error.
            let mut finished: Option<Result<(), (&str, io::Error)>> = None;

            if let State::Connecting = conn.state {
                match conn.check_connected(false) {
                    Ok(false) => continue,
                    Ok(true) => conn.queue_message(Instant::now()),
                    Err(e) => finished = Some(Err(("connect", e))),
                }
            }
            if finished.is_none() && (event.is_readable() || event.is_read_closed() || event.is_error()) {
                match conn.read_ready(&mut buf, |_, _| {}) {
                    Ok(progress) => {
                        errors += progress.mismatched;
                        if progress.completed > 0 {
                            finished = Some(Ok(()));
                        }
                    }
                    Err(e) => finished = Some(Err(("read", e))),
                }
            }
            if finished.is_none() {
                if let Err(e) = conn.flush() {
                    finished = Some(Err(("write", e)));
                }
            }

            match finished {
                None => continue,
                Some(Ok(())) => {
                    window.record(worker.connected_at.elapsed());
                    window.count(1);
                }
                Some(Err((what, e))) => report_failure(token, what, &e, &mut errors),
            }
            // Close (dropping the socket sends the FIN; closing its only
            // descriptor also takes it out of the epoll set) and dial again.
            *worker = dialer.dial(&poll, index)?;
        }
    }
}
