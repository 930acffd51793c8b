//! The Pants engine: a single-threaded `mio` event loop with TCP and UNIX
//! stream channels, per-channel read framing, corked writes and a
//! hierarchical timer wheel. No JavaScript here: the Node binding drives it,
//! and it is usable and tested from Rust alone.

#![deny(missing_docs)]

mod address;
mod byte_queue;
mod channel;
mod clock;
mod datagram;
mod engine;
mod errors;
mod event;
mod framing;
pub mod http;
mod input;
mod listener;
mod outgoing;
mod reactor;
mod socket;
mod stream;
mod sys;
pub mod timer_wheel;
mod tls;
pub mod ws;

pub use address::SocketAddress;
pub use byte_queue::ByteQueue;
pub use datagram::{DEFAULT_MAX_SENDERS, DEFAULT_SENDER_TIMEOUT};
pub use engine::Engine;
pub use event::{Event, EventKind};
pub use framing::{Delimiter, DelimiterKind, FrameRead, Framer, LengthField, RecordSegment};
pub use input::DEFAULT_BUFFER_SIZE;
pub use reactor::EngineStats;
pub use socket::ListenOptions;
pub use stream::{StreamState, DIRECT_SEND_MIN, OUTGOING_HIGH_WATER};
pub use sys::RawHandle;
pub use timer_wheel::{TimerKey, TimerWheel};
pub use tls::{cipher_names, PeerCertificate, ServerTls, TlsConfig, TlsFailure, TlsOptionError, TlsOptions, TlsVersion};
