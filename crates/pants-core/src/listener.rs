//! Listeners: accepting connections, with a back-off when the process is
//! out of descriptors, and the TLS configuration accepted streams start with.

use std::io::{self, ErrorKind};

use mio::{Interest, Token};

use crate::address::SocketAddress;
use crate::errors::errno;
use crate::event::EventKind;
use crate::reactor::Reactor;
use crate::socket::{Connection, ListenOptions, Listener};
use crate::sys::{self, RawHandle};
use crate::tls::{ServerTls, TlsConfig};

/// A listening socket; it stays in the slab, closed, until released.
#[derive(Debug)]
pub(crate) struct ListenerChannel {
    token: usize,
    listener: Option<Listener>,
    /// Accepted streams speak TLS with this configuration.
    tls: Option<ServerTls>,
}

impl ListenerChannel {
    /// Binds and listens as channel `token`.
    pub fn bind(address: &SocketAddress, options: ListenOptions, token: usize, reactor: &Reactor) -> io::Result<Self> {
        let mut listener = Listener::bind(address, options)?;
        reactor.registry().register(&mut listener, Token(token), Interest::READABLE)?;
        Ok(Self { token, listener: Some(listener), tls: None })
    }

    /// Makes accepted streams speak TLS with `config` (a server
    /// configuration); `None` turns that off.
    pub fn set_tls(&mut self, config: Option<&TlsConfig>) -> io::Result<()> {
        self.tls = match config {
            None => None,
            Some(TlsConfig::Server(server)) => Some(server.clone()),
            Some(TlsConfig::Client(_)) => return Err(io::Error::new(ErrorKind::InvalidInput, "a listener needs a server configuration")),
        };
        Ok(())
    }

    /// The configuration accepted streams start TLS with.
    pub fn tls(&self) -> Option<ServerTls> {
        self.tls.clone()
    }

    /// The socket's handle while it is open.
    pub fn handle(&self) -> Option<RawHandle> {
        self.listener.as_ref().map(Listener::raw_handle)
    }

    /// The socket is closed.
    pub fn is_closed(&self) -> bool {
        self.listener.is_none()
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_address(&self) -> Option<SocketAddress> {
        self.listener.as_ref()?.local_address().ok()
    }

    /// Accepts the next pending connection; `None` when there is none, or
    /// accepting failed (reported as `AcceptError`; without descriptors,
    /// the listener pauses and retries on its own).
    pub fn accept(&mut self, reactor: &mut Reactor) -> Option<(Connection, SocketAddress)> {
        loop {
            match self.listener.as_ref()?.accept() {
                Ok(accepted) => return Some(accepted),
                Err(error) if error.kind() == ErrorKind::WouldBlock => return None,
                Err(error) if matches!(error.kind(), ErrorKind::Interrupted | ErrorKind::ConnectionAborted) => {}
                Err(error) => {
                    if sys::is_out_of_descriptors(&error) {
                        reactor.pause_accepting(self.token);
                    }
                    reactor.report_with(EventKind::AcceptError, self.token, errno(&error), 0);
                    return None;
                }
            }
        }
    }

    /// Stops listening; a `Close` event follows.
    pub fn close(&mut self, reactor: &mut Reactor) {
        if let Some(mut socket) = self.listener.take() {
            let _ = reactor.registry().deregister(&mut socket);
            reactor.descriptor_freed();
            reactor.report(EventKind::Close, self.token);
        }
    }
}
