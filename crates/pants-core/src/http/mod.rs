//! HTTP/1.1 message framing for the server and client layers: request heads
//! parsed with `httparse` into spans over the engine's bytes (JavaScript makes
//! strings only of what it reads), and the `chunked` coding decoded as bytes
//! arrive. What API-HTTP.md says of bad input is decided here, as status codes.

mod chunked;
mod framer;
mod head;

pub use chunked::{ChunkedDecoder, ChunkedError, Decoded};
pub use framer::{Framed, RequestFramer, CONTINUE, FIXED_WORDS, FLAG_CHUNKED, FLAG_EXPECT_CONTINUE, FLAG_HTTP_1_1, FLAG_KEEP_ALIVE, FLAG_UPGRADE};
pub use head::{parse_request_head, BodyLength, HeadError, HeadLimits, RequestHead, Span};
