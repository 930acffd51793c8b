/**
 * What a stream needs to carry a WebSocket after the upgrade: the framing
 * the engine cuts messages with (crates/pants-core/src/ws/), and the sink
 * the stream hands them to.
 * @internal
 */
import { DelimiterKind } from '../contract.js';
import type { Framing } from '../delimiter.js';

/** A message or control frame arrived (see `ws/framer.rs` for its layout). */
export const kMessage = Symbol('pants.wsMessage');
/** The stream's send buffer drained after a write that returned `false`. */
export const kDrained = Symbol('pants.wsDrained');
/** The stream closed (`error`: why, if it failed). */
export const kCarrierClosed = Symbol('pants.wsCarrierClosed');

/** The stream's read timeout fired (`native.setReadTimeout`): time to ping, or to give up. */
export const kQuiet = Symbol('pants.wsQuiet');
/** The server shuts down: the socket says goodbye (`1001`). */
export const kGoingAway = Symbol('pants.wsGoingAway');

/** A request's connection, for the socket it becomes (an `HTTPRequest` member). */
export const kConnection = Symbol('pants.connection');
/** Hands a request's connection over to a socket (an `HTTPRequest` member). */
export const kUpgrade = Symbol('pants.upgrade');

/** Where an upgraded stream delivers what it reads. */
export interface MessageSink {
  [kMessage](frame: Buffer): void;
  [kDrained](): void;
  [kCarrierClosed](error: Error | null): void;
  [kGoingAway](): void;
  [kQuiet](): void;
}

/** Flags of the WebSocket framing (`websocket_settings` in the binding). */
export const enum WsFlag {
  Client = 1,
  Deflate = 2,
  /** The peer resets its compressor after each message. */
  InflateNoContext = 4,
  /** We reset ours. */
  DeflateNoContext = 8,
}

/** Bytes a stream buffers beyond the largest message: a frame's header, and room to spare. */
export const FRAME_SLACK = 64;

/** The engine's WebSocket framing: messages up to `maxPayload` bytes. */
export function messageFraming(maxPayload: number, flags: number): Framing {
  return { kind: DelimiterKind.WebSocket, count: maxPayload, sequence: Uint8Array.of(flags), record: null, search: null, anchored: null };
}
