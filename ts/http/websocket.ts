/**
 * `WebSocket` (RFC 6455): Pants' channel for messages, server and client.
 * Frames are parsed, unmasked, checked and reassembled by the engine
 * (crates/pants-core/src/ws/); this class keeps the life cycle (open,
 * the close handshake, pings and the idle timeout) and the callbacks.
 */
import type { Address } from '../address.js';
import { logCallbackError, watchCallback } from '../callback.js';
import { framingOf, ReadDelimiter } from '../delimiter.js';
import { Engine } from '../engine.js';
import { codedError } from '../errors.js';
import { FrameDecoder } from '../frame_codec.js';
import { kEngineId, kNative, kToken } from '../internal.js';
import { logger } from '../logger.js';
import { native } from '../native.js';
import type { Stream } from '../stream.js';
import type { Timer } from '../timer.js';
import type { SslOptions } from '../tls.js';
import type { HTTPRequest } from './request.js';
import { kCarrierClosed, kDrained, kGoingAway, kMessage, kQuiet } from './upgrade.js';
import { Agreement } from './websocket_handshake.js';
import { ClientCarrier, kHandshakeDone, kHandshakeFailed } from './websocket_client.js';

/** `readDelimiter` for one `onRead` per whole message (the default). */
export const EntireMessage: unique symbol = Symbol('EntireMessage');

/** What a WebSocket's `readDelimiter` may be: `EntireMessage`, or any `Stream` delimiter. */
export type MessageDelimiter = typeof EntireMessage | ReadDelimiter;

/** Options of `new WebSocket()` (client side). */
export interface WebSocketOptions {
  /** The engine (default `Engine.instance()`). */
  engine?: Engine;
  /** TLS options for `wss://` (for example `{ ca }`), as `Stream`'s. */
  sslOptions?: SslOptions;
}

/** A `WebSocket` subclass, as `HTTPServer` and `Application` routes take it. */
export type WebSocketClass = new (options?: WebSocketOptions) => WebSocket;

const OP_TEXT = 1;
const OP_BINARY = 2;
const OP_CLOSE = 8;
const OP_PING = 9;
const OP_PONG = 10;
/** Info flag of a frame reporting the peer's protocol error (`ws/framer.rs`). */
const INFO_ERROR = 0x100;

/** Seconds the close handshake may take before the connection is closed anyway. */
const CLOSE_TIMEOUT = 5;
/** The largest `maxPayload`: the engine counts a connection's buffered bytes in 32 bits. */
const MAX_PAYLOAD_LIMIT = 0xffffffff - 1024;
/** Largest control frame payload; a close reason gets 2 bytes fewer. */
const MAX_CONTROL = 125;

/** Opens a socket over its carrier stream. @internal */
export const kOpen = Symbol('pants.wsOpen');
/** Checks a socket's settings before its handshake is answered. @internal */
export const kCheckSettings = Symbol('pants.wsCheckSettings');

/** A setting of the wrong type (`TypeError`), or out of range (`RangeError`). */
function invalidSetting(name: string, expected: string, value: unknown, ErrorClass: new (message: string) => Error = TypeError): never {
  throw codedError(ErrorClass, 'ERR_PANTS_INVALID_SETTING', `${name} must be ${expected}; got ${String(value)}.`);
}

/** Seconds, or `null` for off. */
function secondsOrNull(name: string, value: unknown): void {
  if (value === null) return;
  if (typeof value !== 'number') invalidSetting(name, 'a number of seconds or null', value);
  if (!Number.isFinite(value) || value <= 0) invalidSetting(name, 'a positive number of seconds or null', value, RangeError);
}

/** A message's opcode and bytes. */
function messageOf(data: string | Uint8Array, binary: boolean | undefined): [number, Uint8Array] {
  if (typeof data === 'string') return [binary === true ? OP_BINARY : OP_TEXT, Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [binary === false ? OP_TEXT : OP_BINARY, data];
  throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `a WebSocket message is a string or a Uint8Array; got ${typeof data}.`);
}

/**
 * A WebSocket connection, with callbacks to override (`onConnect`,
 * `onRead`, `onClose`, ...).
 *
 * ```ts
 * class Echo extends WebSocket {
 *   override onRead(data: string | Buffer) { this.write(data); }
 * }
 * new HTTPServer(Echo).listen(8080);            // every request upgrades
 * new Echo().connect('ws://127.0.0.1:8080/');   // a client
 * ```
 *
 * Settings are plain properties (declare them as class fields or set them
 * before the connection opens); they are checked when it opens.
 */
export class WebSocket {
  /** `readyState` while the client's handshake runs. */
  static readonly CONNECTING = 0;
  /** `readyState` while messages flow. */
  static readonly OPEN = 1;
  /** `readyState` once a close frame was sent or received. */
  static readonly CLOSING = 2;
  /** `readyState` once the connection is closed. */
  static readonly CLOSED = 3;

  /** The engine the connection runs on. */
  readonly engine: Engine;
  /** Largest message accepted, in bytes (after decompression); more closes with `1009`. */
  maxPayload = 16777216;
  /** Seconds without any frame received before closing with `1001`; `null`: never. */
  idleTimeout: number | null = 120;
  /** Seconds between automatic pings while nothing is received; `null`: none. */
  pingInterval: number | null = 30;
  /** Subprotocols in preference order: a server picks from them, a client offers them. */
  protocols: string[] = [];
  /** permessage-deflate (RFC 7692), used when both sides agree. */
  compression = false;
  /**
   * `EntireMessage` (default): one `onRead` per message, text as a
   * `string`, binary as a `Buffer`. Any `Stream` delimiter instead frames
   * the stream of all message payloads, as a `Stream` frames its bytes.
   */
  readDelimiter: MessageDelimiter = EntireMessage;
  /** With a `Stream` delimiter: decode frames to strings with this encoding (`null`: Buffers). */
  encoding: BufferEncoding | null = null;

  readonly #sslOptions: SslOptions | undefined;
  #carrier: Stream | null = null;
  #readyState = WebSocket.CONNECTING;
  #request: HTTPRequest | null = null;
  #url = '';
  #protocol = '';
  #extensions = '';
  #decoder: FrameDecoder | null = null;
  #decoderFor: MessageDelimiter = EntireMessage;
  #closeSent = false;
  /** The code and reason of the close frame the peer sent. */
  #peerClose: [number, string] | null = null;
  /** The code and reason we failed the connection with (or closed it idle). */
  #failure: [number, string] | null = null;
  #closeTimer: Timer | null = null;
  #lastReceived = 0;
  #lastPing = 0;
  #closeReported = false;

  /** A client WebSocket (`connect()` it); a server makes its own with `{ engine }`. */
  constructor(options: WebSocketOptions = {}) {
    this.engine = options.engine ?? Engine.instance();
    this.#sslOptions = options.sslOptions;
  }

  // ----- state -------------------------------------------------------------

  /** `WebSocket.CONNECTING`, `OPEN`, `CLOSING` or `CLOSED`. */
  get readyState(): number {
    return this.#readyState;
  }

  /** The subprotocol agreed on; `''` for none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** The extensions agreed on, as the handshake named them; `''` for none. */
  get extensions(): string {
    return this.#extensions;
  }

  /** Bytes written and not yet handed to the kernel. */
  get bufferedAmount(): number {
    const carrier = this.#carrier;
    return carrier === null || carrier[kToken] < 0 ? 0 : native.pendingOutput(carrier[kEngineId], carrier[kToken]);
  }

  /** The peer's address. */
  get remoteAddress(): Address | null {
    return this.#carrier?.remoteAddress ?? null;
  }

  /** This end's address. */
  get localAddress(): Address | null {
    return this.#carrier?.localAddress ?? null;
  }

  /** True over TLS (`wss://`). */
  get isSecure(): boolean {
    return this.#carrier?.secure ?? false;
  }

  /** Server side: the upgrade request; client side: `null`. */
  get request(): HTTPRequest | null {
    return this.#request;
  }

  /** Client side: the URL connected to; server side: the request target. */
  get url(): string {
    return this.#url;
  }

  /** The topics this socket is subscribed to. */
  get subscriptions(): string[] {
    const carrier = this.#open() ? this.#carrier! : null;
    return carrier === null ? [] : native.subscriptions(carrier[kEngineId], carrier[kToken]);
  }

  // ----- callbacks -----------------------------------------------------------

  /**
   * Server side, before the upgrade: add response headers to `headers`;
   * return `false` to refuse it with `403`.
   */
  onHandshake(request: HTTPRequest, headers: Record<string, string>): boolean {
    return true;
  }

  /** The connection is open; on an `Application` route, the rule's values. */
  onConnect(...routeArgs: any[]): void {}

  /** A message (or, with a `Stream` delimiter, a frame of the payloads). */
  onRead(data: any, ...more: any[]): void {}

  /** Buffered output drained after a `write()` returned `false`. */
  onWrite(): void {}

  /** The connection closed: the peer's close code and reason, or `1006` when it ended without one. */
  onClose(code: number, reason: string): void {}

  /** A pong arrived. */
  onPong(data: Buffer): void {}

  /**
   * A failure: the connect or the handshake (`code` `'ERR_PANTS_WS_HANDSHAKE'`
   * or the socket's, like `'ECONNREFUSED'`), or the peer broke the protocol
   * (`'ERR_PANTS_WS_PROTOCOL'`, with `closeCode`). The close follows. Default:
   * one line with `Engine.logger.warn`.
   */
  onError(error: Error): void {
    logger().warn(`pants: ${this.constructor.name}: ${error.message}`);
  }

  // ----- sending ---------------------------------------------------------------

  /**
   * Sends a message: a `string` as text, a `Uint8Array` as binary (unless
   * `binary` says otherwise). Returns `false` above the high-water mark:
   * `onWrite()` follows once it drained. Throws `ERR_PANTS_WS_NOT_OPEN`
   * unless the socket is open.
   */
  write(data: string | Uint8Array, binary?: boolean): boolean {
    const [opcode, bytes] = messageOf(data, binary);
    return this.#send(opcode, bytes);
  }

  /** Sends a ping (at most 125 bytes); `onPong` gets the answer. */
  ping(data: string | Uint8Array = ''): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (bytes.length > MAX_CONTROL) throw codedError(RangeError, 'ERR_PANTS_INVALID_ARGUMENT', `a ping carries at most ${MAX_CONTROL} bytes; got ${bytes.length}.`);
    this.#send(OP_PING, bytes);
  }

  /**
   * Starts the close handshake with `code` (1000, or 3000 to 4999) and a
   * `reason` of at most 123 bytes. The connection closes once the peer
   * answers, or after 5 seconds. Closing a closing socket does nothing.
   */
  close(code = 1000, reason = ''): void {
    if (!Number.isInteger(code) || (code !== 1000 && (code < 3000 || code > 4999))) {
      throw codedError(RangeError, 'ERR_PANTS_WS_CLOSE_CODE', `a close code is 1000 or 3000 to 4999; got ${String(code)}.`);
    }
    if (typeof reason !== 'string' || Buffer.byteLength(reason) > MAX_CONTROL - 2) {
      throw codedError(RangeError, 'ERR_PANTS_INVALID_ARGUMENT', `a close reason is a string of at most ${MAX_CONTROL - 2} bytes.`);
    }
    if (this.#readyState === WebSocket.CONNECTING) {
      this.#carrier?.close(false);
      this.#closed();
      return;
    }
    if (this.#readyState !== WebSocket.OPEN) return;
    this.#sendClose(code, reason);
  }

  /** Subscribes to `topic` (per engine); false when already subscribed. */
  subscribe(topic: string): boolean {
    const carrier = this.#openCarrier('subscribe');
    return native.subscribe(carrier[kEngineId], carrier[kToken], String(topic));
  }

  /** Unsubscribes from `topic`; false when not subscribed. */
  unsubscribe(topic: string): boolean {
    const carrier = this.#carrier;
    return carrier !== null && carrier[kToken] >= 0 && native.unsubscribe(carrier[kEngineId], carrier[kToken], String(topic));
  }

  /** `WebSocket.publish` on this socket's engine. */
  publish(topic: string, data: string | Uint8Array, binary?: boolean): number {
    return WebSocket.publish(topic, data, binary, this.engine);
  }

  /**
   * Sends one message to every WebSocket of `engine` subscribed to `topic`
   * (the frame is built once); returns how many took it.
   */
  static publish(topic: string, data: string | Uint8Array, binary?: boolean, engine: Engine = Engine.instance()): number {
    const [opcode, bytes] = messageOf(data, binary);
    return native.publish(engine[kNative], String(topic), opcode, bytes);
  }

  // ----- client ------------------------------------------------------------------

  /** Connects to a `ws://` or `wss://` URL and runs the handshake; `onConnect()` follows. */
  connect(url: string | URL): this {
    if (this.#carrier !== null || this.#readyState !== WebSocket.CONNECTING) {
      throw codedError(Error, 'ERR_PANTS_ALREADY_CONNECTED', 'this WebSocket is already connected or connecting.');
    }
    let parsed: URL;
    try {
      parsed = new URL(String(url));
    } catch {
      throw Object.assign(new TypeError(`Invalid URL: ${String(url)}`), { code: 'ERR_INVALID_URL' });
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw Object.assign(new TypeError(`a WebSocket URL starts with ws: or wss:; got ${parsed.protocol}`), { code: 'ERR_INVALID_URL' });
    }
    this.#checkSettings();
    this.#url = parsed.href;
    const carrier = new ClientCarrier(this, parsed, { engine: this.engine, maxPayload: this.maxPayload, protocols: this.protocols, compression: this.compression });
    if (parsed.protocol === 'wss:') carrier.startSSL(this.#sslOptions ?? {});
    this.#carrier = carrier;
    const port = parsed.port === '' ? (parsed.protocol === 'wss:' ? 443 : 80) : Number(parsed.port);
    carrier.connect([parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port]);
    return this;
  }

  /** @internal */
  [kHandshakeDone](carrier: Stream, agreement: Agreement): void {
    this[kOpen](carrier, null, this.#url, agreement.protocol, agreement.extensions, []);
  }

  /** @internal */
  [kHandshakeFailed](error: Error): void {
    if (this.#closeReported) return;
    this.#safely('onError', error);
    this.#carrier?.close(false);
    this.#closed();
  }

  // ----- the engine's side ---------------------------------------------------------

  /** Checks the settings before a connection opens (a bad one throws `ERR_PANTS_INVALID_SETTING`). */
  #checkSettings(): void {
    if (typeof this.maxPayload !== 'number') invalidSetting('maxPayload', 'a number of bytes', this.maxPayload);
    if (!Number.isInteger(this.maxPayload) || this.maxPayload < 1 || this.maxPayload > MAX_PAYLOAD_LIMIT) {
      invalidSetting('maxPayload', `an integer from 1 to ${MAX_PAYLOAD_LIMIT}`, this.maxPayload, RangeError);
    }
    secondsOrNull('idleTimeout', this.idleTimeout);
    secondsOrNull('pingInterval', this.pingInterval);
    if (!Array.isArray(this.protocols) || !this.protocols.every((protocol) => typeof protocol === 'string' && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(protocol))) {
      invalidSetting('protocols', 'an array of subprotocol tokens', this.protocols);
    }
    if (typeof this.compression !== 'boolean') invalidSetting('compression', 'a boolean', this.compression);
    if (this.readDelimiter !== EntireMessage) framingOf(this.readDelimiter);
  }

  /** Server side, before the answer: the settings checked. @internal */
  [kCheckSettings](): void {
    this.#checkSettings();
  }

  /** The connection is open over `carrier`. @internal */
  [kOpen](carrier: Stream, request: HTTPRequest | null, url: string, protocol: string, extensions: string, args: unknown[]): void {
    this.#carrier = carrier;
    this.#request = request;
    this.#url = url;
    this.#protocol = protocol;
    this.#extensions = extensions;
    this.#readyState = WebSocket.OPEN;
    this.#lastReceived = this.engine.latestPollTime;
    this.#lastPing = this.#lastReceived;
    this.#armIdle();
    try {
      const result = this.onConnect(...args);
      if (result !== undefined) watchCallback(result, this, 'onConnect');
    } catch (error) {
      logCallbackError(this, 'onConnect', error);
    }
  }

  /** A message or control frame from the engine. @internal */
  [kMessage](frame: Buffer): void {
    this.#lastReceived = this.engine.latestPollTime;
    const info = frame.readUInt32LE(0);
    if (info & INFO_ERROR) {
      this.#fail(info >>> 16, frame.toString('utf8', 4));
      return;
    }
    switch (info & 0xf) {
      case OP_TEXT:
      case OP_BINARY:
        if (this.#readyState === WebSocket.OPEN) this.#deliver(frame, (info & 0xf) === OP_TEXT);
        break;
      case OP_PING:
        if (this.#readyState === WebSocket.OPEN) this.#send(OP_PONG, frame.subarray(4));
        break;
      case OP_PONG:
        this.#safely('onPong', frame.subarray(4));
        break;
      case OP_CLOSE:
        this.#peerClosed(frame.subarray(4));
        break;
    }
  }

  /** Buffered output drained. @internal */
  [kDrained](): void {
    const carrier = this.#carrier;
    if (carrier !== null && carrier[kToken] >= 0) native.setNotifyDrain(carrier[kEngineId], carrier[kToken], false);
    this.#safely('onWrite');
  }

  /** The server shuts down: close with `1001`. @internal */
  [kGoingAway](): void {
    if (this.#readyState === WebSocket.OPEN) this.#sendClose(1001, 'server shutting down');
  }

  /** Nothing was received for the read timeout set by `#armIdle`. @internal */
  [kQuiet](): void {
    this.#idleCheck();
  }

  /** The carrier stream closed (a reset's error is not reported: `onClose` says 1006). @internal */
  [kCarrierClosed](): void {
    this.#closed();
  }

  // ----- inside --------------------------------------------------------------------

  #open(): boolean {
    return this.#readyState === WebSocket.OPEN && this.#carrier !== null && this.#carrier[kToken] >= 0;
  }

  #openCarrier(what: string): Stream {
    if (!this.#open()) throw codedError(Error, 'ERR_PANTS_WS_NOT_OPEN', `${what}() on a WebSocket that is not open (readyState ${this.#readyState}).`);
    return this.#carrier!;
  }

  /** Queues a frame; false when above the high-water mark (then `onWrite` follows the drain). */
  #send(opcode: number, bytes: Uint8Array): boolean {
    const carrier = this.#openCarrier(opcode === OP_PING ? 'ping' : 'write');
    const status = native.writeMessage(carrier[kEngineId], carrier[kToken], opcode, bytes);
    if (status === 0) return true;
    if (status === 1) native.setNotifyDrain(carrier[kEngineId], carrier[kToken], true);
    return false; // above the high-water mark, or the carrier is closing (its close reports why)
  }

  #deliver(frame: Buffer, text: boolean): void {
    const delimiter = this.readDelimiter;
    try {
      if (delimiter === EntireMessage) {
        const result = this.onRead(text ? frame.toString('utf8', 4) : frame.subarray(4));
        if (result !== undefined) watchCallback(result, this, 'onRead');
        return;
      }
      if (this.#decoder === null || this.#decoderFor !== delimiter) {
        this.#decoder = new FrameDecoder(delimiter, { encoding: this.encoding ?? undefined });
        this.#decoderFor = delimiter;
      }
      for (const args of this.#decoder.feed(frame.subarray(4))) {
        const result = this.onRead(...(args as [unknown]));
        if (result !== undefined) watchCallback(result, this, 'onRead');
        if (this.#readyState !== WebSocket.OPEN) break;
      }
    } catch (error) {
      logCallbackError(this, 'onRead', error);
    }
  }

  #safely(name: 'onPong' | 'onWrite' | 'onError', ...args: [Buffer] | [Error] | []): void {
    try {
      const result = (this[name] as (...values: unknown[]) => unknown)(...args);
      if (result !== undefined) watchCallback(result, this, name);
    } catch (error) {
      logCallbackError(this, name, error);
    }
  }

  /** Queues a close frame (`code` `null`: an empty one); the socket leaves its topics and takes no more writes. */
  #writeClose(code: number | null, reason: string): Stream {
    const carrier = this.#carrier!;
    this.#readyState = WebSocket.CLOSING;
    this.#closeSent = true;
    this.#cancelIdle();
    if (carrier[kToken] >= 0) {
      const payload = code === null ? Buffer.alloc(0) : Buffer.concat([Buffer.of(code >> 8, code & 0xff), Buffer.from(reason)]);
      native.unsubscribeAll(carrier[kEngineId], carrier[kToken]);
      native.writeMessage(carrier[kEngineId], carrier[kToken], OP_CLOSE, payload);
    }
    return carrier;
  }

  /** Sends a close frame (`code` `null`: an empty one) and waits for the peer's, at most `CLOSE_TIMEOUT`. */
  #sendClose(code: number | null, reason: string): void {
    const carrier = this.#writeClose(code, reason);
    if (this.#peerClose !== null) {
      carrier.close(true);
      return;
    }
    this.#closeTimer = this.engine.defer(CLOSE_TIMEOUT, () => {
      this.#closeTimer = null;
      carrier.close(false);
    });
  }

  #peerClosed(payload: Buffer): void {
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
    this.#peerClose ??= [code, payload.length > 2 ? payload.toString('utf8', 2) : ''];
    if (!this.#closeSent) {
      this.#sendClose(code === 1005 ? null : code, '');
      return;
    }
    this.#closeTimer?.cancel();
    this.#closeTimer = null;
    this.#carrier?.close(true);
  }

  /** The peer broke the protocol: tell it with `code`, and close. */
  #fail(code: number, reason: string): void {
    if (this.#failure !== null || this.#closeReported) return;
    this.#failure = [code, reason];
    const error = Object.assign(codedError(Error, 'ERR_PANTS_WS_PROTOCOL', `WebSocket protocol error: ${reason} (closing with ${code})`), { closeCode: code });
    this.#safely('onError', error);
    const carrier = this.#carrier;
    if (carrier === null) return;
    if (this.#readyState === WebSocket.OPEN) this.#writeClose(code, reason);
    carrier.close(true);
  }

  #closed(): void {
    if (this.#closeReported) return;
    this.#closeReported = true;
    this.#readyState = WebSocket.CLOSED;
    this.#cancelIdle();
    this.#closeTimer?.cancel();
    this.#closeTimer = null;
    const [code, reason] = this.#peerClose ?? this.#failure ?? [1006, ''];
    try {
      const result = this.onClose(code, reason);
      if (result !== undefined) watchCallback(result, this, 'onClose');
    } catch (failure) {
      logCallbackError(this, 'onClose', failure);
    }
  }

  // ----- idle timeout and pings ----------------------------------------------------

  /**
   * Asks the engine for a `Timeout` when the next ping or the idle timeout
   * is due: the stream's read timeout, in the engine's idle wheel (no
   * JavaScript timer per socket), counting only what is received.
   */
  #armIdle(): void {
    const next = this.#nextIdleCheck();
    const carrier = this.#carrier;
    if (carrier !== null && carrier[kToken] >= 0) native.setReadTimeout(carrier[kEngineId], carrier[kToken], next === null ? 0 : Math.max(next, 0.001) * 1000);
  }

  /** Seconds until the idle timeout or the next ping is due; `null` when neither is set. */
  #nextIdleCheck(): number | null {
    const now = this.engine.latestPollTime;
    const { idleTimeout, pingInterval } = this;
    const due = Math.min(
      typeof idleTimeout === 'number' ? this.#lastReceived + idleTimeout : Infinity,
      typeof pingInterval === 'number' ? Math.max(this.#lastReceived, this.#lastPing) + pingInterval : Infinity,
    );
    return due === Infinity ? null : due - now;
  }

  #cancelIdle(): void {
    const carrier = this.#carrier;
    if (carrier !== null && carrier[kToken] >= 0) native.setReadTimeout(carrier[kEngineId], carrier[kToken], 0);
  }

  #idleCheck(): void {
    if (!this.#open()) return;
    const now = this.engine.latestPollTime;
    const { idleTimeout, pingInterval } = this;
    const quiet = now - this.#lastReceived;
    if (typeof idleTimeout === 'number' && quiet >= idleTimeout - 0.001) {
      this.#failure = [1001, 'idle timeout'];
      this.#sendClose(1001, 'idle timeout');
      return;
    }
    if (typeof pingInterval === 'number' && now - Math.max(this.#lastReceived, this.#lastPing) >= pingInterval - 0.001) {
      this.#lastPing = now;
      this.#send(OP_PING, Buffer.alloc(0));
    }
    this.#armIdle();
  }
}
