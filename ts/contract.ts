// Generated from pants-core by crates/pants-core/tests/typescript_contract.rs: do not edit.
// After changing them in Rust: PANTS_WRITE_CONTRACT=1 cargo test -p pants-core --test typescript_contract

/** Event kinds (`pants_core::EventKind`), as `pollIo` / `takeEvents` report them. @internal */
export enum EventKind {
  Accept = 1,
  Connect = 2,
  ConnectError = 3,
  Read = 4,
  Hangup = 5,
  Write = 6,
  Close = 7,
  ReadError = 8,
  WriteError = 9,
  AcceptError = 10,
  SslHandshake = 11,
  SslHandshakeError = 12,
  SslError = 13,
  SslServername = 14,
  Timeout = 15,
}

/** Delimiter kinds of `setDelimiter` (`pants_core::DelimiterKind`). @internal */
export const enum DelimiterKind {
  Chunk = 0,
  Count = 1,
  Sequence = 2,
  External = 3,
  Records = 4,
  HttpRequest = 5,
  WebSocket = 6,
  HttpResponse = 7,
}

/** `readFrame` / `peekInput` results below zero (`pants_core::FrameRead::encode`). @internal */
export const FRAME_INCOMPLETE = -1;
/** @internal */
export const FRAME_OVERFLOW = -2;
/** A result `r <= NEED_SPACE` means the frame needs `NEED_SPACE - r` bytes. @internal */
export const NEED_SPACE = -3;
/** Added to a frame's length when more bytes remain buffered (another frame may follow). @internal */
export const MORE_INPUT = 4294967296;
/** `readBody`: no body of known length comes next, take frames (`pants_core::http::BodyRead::encode`). @internal */
export const NOT_BODY = -1;
/** Added to a body piece's length when it is the body's last. @internal */
export const BODY_ENDED = 4294967296;

/** Default `bufferSize` of streams and datagram channels, in bytes. @internal */
export const DEFAULT_BUFFER_SIZE = 65536;
/** Unsent bytes above which a stream stops reading until they drain. @internal */
export const OUTGOING_HIGH_WATER = 1048576;
/** Writes at least this large go to the socket at once when nothing waits. @internal */
export const DIRECT_SEND_MIN = 16384;
