//! The ceiling for the echo rows: a minimal single-threaded epoll (mio)
//! echo server, raw or line-framed, with nothing between the socket and the
//! reply. Prints its port, then serves until killed.
//!
//!   native-echo [--line]

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);

struct Client {
    socket: TcpStream,
    /// Unsent reply bytes.
    out: Vec<u8>,
    /// With --line: bytes of an unfinished line.
    partial: Vec<u8>,
}

fn main() -> io::Result<()> {
    let line = std::env::args().any(|arg| arg == "--line");
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("{}", listener.local_addr()?.port());
    let mut clients: HashMap<usize, Client> = HashMap::new();
    let mut next = 0usize;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            // A tracer attaching (strace, perf) interrupts the wait.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut socket, _)) = listener.accept() {
                    socket.set_nodelay(true)?;
                    poll.registry().register(&mut socket, Token(next), Interest::READABLE | Interest::WRITABLE)?;
                    clients.insert(next, Client { socket, out: Vec::new(), partial: Vec::new() });
                    next += 1;
                }
                continue;
            }
            let id = event.token().0;
            let Some(client) = clients.get_mut(&id) else {
                continue;
            };
            let mut closed = false;
            loop {
                match client.socket.read(&mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => {
                        if line {
                            client.partial.extend_from_slice(&buf[..n]);
                            if let Some(end) = client.partial.iter().rposition(|&b| b == b'\n') {
                                client.out.extend_from_slice(&client.partial[..=end]);
                                client.partial.drain(..=end);
                            }
                        } else {
                            client.out.extend_from_slice(&buf[..n]);
                        }
                        if n < buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            while !client.out.is_empty() {
                match client.socket.write(&client.out) {
                    Ok(n) => {
                        client.out.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                clients.remove(&id);
            }
        }
    }
}
