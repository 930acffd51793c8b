//! The Pants engine: a single-threaded `mio` event loop with TCP and UNIX
//! stream channels, per-channel read framing, corked writes and a
//! hierarchical timer wheel. No JavaScript here: the Node binding drives it,
//! and it is usable and tested from Rust alone.

#![warn(missing_docs)]

mod address;
mod byte_queue;
mod channel;
mod datagram;
mod engine;
mod event;
mod framing;
mod outgoing;
mod socket;
mod stream_io;
pub mod timer_wheel;
mod timers;
mod tls;

pub use address::SocketAddress;
pub use byte_queue::ByteQueue;
pub use channel::{StreamState, DEFAULT_BUFFER_SIZE, OUTGOING_HIGH_WATER};
pub use datagram::{DEFAULT_MAX_SENDERS, DEFAULT_SENDER_TIMEOUT};
pub use engine::{Engine, EngineStats};
pub use event::{Event, EventKind};
pub use framing::{Delimiter, DelimiterKind, Frame, FrameRead, Framer, LengthField, RecordSegment};
pub use socket::ListenOptions;
pub use stream_io::DIRECT_SEND_MIN;
pub use timer_wheel::{TimerKey, TimerWheel};
pub use tls::{cipher_names, PeerCertificate, ServerTls, TlsConfig, TlsFailure, TlsOptionError, TlsOptions, TlsVersion};
