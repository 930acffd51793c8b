//! HTTP/1.1 message framing for the server and client layers: request heads
//! parsed with `httparse` into spans over the engine's bytes (JavaScript makes
//! strings only of what it reads), and the `chunked` coding decoded as bytes
//! arrive; response heads and bodies for the client. What API-HTTP.md says of bad input is decided here, as status codes.

mod chunked;
mod framer;
mod head;
mod response_framer;
mod response_head;

pub use chunked::{ChunkedDecoder, ChunkedError, Decoded};
pub use framer::{Framed, RequestFramer, CONTINUE, FIXED_WORDS, FLAG_CHUNKED, FLAG_EXPECT_CONTINUE, FLAG_HTTP_1_1, FLAG_KEEP_ALIVE, FLAG_UPGRADE};
pub use head::{parse_request_head, BodyLength, HeadError, HeadLimits, RequestHead, Span};
pub use response_framer::{
    BodyRead, ResponseFramer, KIND_BODY, KIND_END, KIND_HEAD, KIND_MALFORMED, KIND_RESPONSE, KIND_TOO_LARGE, KIND_TRUNCATED, MAX_BODY_FRAME,
    RESPONSE_FIXED_WORDS,
};
pub use response_head::{parse_response_head, ResponseBody, ResponseError, ResponseHead, ResponseLimits};
