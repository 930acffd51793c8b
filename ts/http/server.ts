/**
 * `HTTPServer`: a `Server` whose connections speak HTTP/1.1. The engine cuts
 * whole requests (head and body) from each connection; the connection hands
 * them to the handler one at a time, in order, and takes the next once the
 * response is finished (pipelining).
 */
import { randomBytes } from 'node:crypto';

import type { Address } from '../address.js';
import { watchCallback } from '../callback.js';
import { DelimiterKind } from '../contract.js';
import type { Framing } from '../delimiter.js';
import { codedError } from '../errors.js';
import { kClosing, kEngineId, kReadFrames, kReading, kToken, kUseFraming } from '../internal.js';
import { logger } from '../logger.js';
import { native } from '../native.js';
import { ListenOptions, Server, ServerOptions } from '../server.js';
import { Stream } from '../stream.js';
import type { Timer } from '../timer.js';
import type { SslOptions } from '../tls.js';
import { RequestFrame } from './frame.js';
import { HTTPException, HTTPRequest } from './request.js';
import { reasonPhrase } from './status.js';
import { FRAME_SLACK, kCarrierClosed, kDrained, kGoingAway, kMessage, kQuiet, messageFraming, MessageSink } from './upgrade.js';
import type { WebSocketClass } from './websocket.js';
import { acceptUpgrade, isWebSocketClass } from './websocket_server.js';

/**
 * What answers requests: a function of the request (it may be `async`),
 * an object with `handle(request)` (an `Application`), or a `WebSocket`
 * class (every request upgrades).
 */
export type HTTPHandler =
  | ((request: HTTPRequest) => unknown)
  | {
      /** Answers `request` (it may return a promise). */
      handle(request: HTTPRequest): unknown;
    }
  | WebSocketClass;

/** Options of `new HTTPServer()`; each is also a property of the same name. */
export interface HTTPServerOptions extends Omit<ServerOptions, 'ConnectionClass'> {
  /** HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive` (default `true`). */
  keepAlive?: boolean;
  /** Seconds an idle kept-alive connection waits for the next request, then closes (default 5). */
  keepAliveTimeout?: number;
  /** Seconds to receive a complete request head; then `408` and close (default 60). */
  headersTimeout?: number;
  /** Bytes of request line and headers; more: `431` and close (default 16384). */
  maxHeaderSize?: number;
  /** Bytes of body; more: `413` and close (default 10485760). */
  maxRequest?: number;
  /** Trust `X-Forwarded-For` / `X-Real-IP` / `X-Forwarded-Proto` for `remoteIp` and `scheme` (default `false`). */
  xheaders?: boolean;
  /** The key of `setSecureCookie` / `getSecureCookie` (default: random, per server). */
  cookieSecret?: string | Buffer;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `${name} must be a positive number; got ${String(value)}.`);
  }
  return value;
}

function byteCount(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 0xffffffff) {
    throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `${name} must be a positive integer below 2**32; got ${String(value)}.`);
  }
  return value as number;
}

/** The request framing of the engine for these limits. */
function requestFraming(maxHeaderSize: number, maxRequest: number): Framing {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, maxHeaderSize, true);
  return { kind: DelimiterKind.HttpRequest, count: maxRequest, sequence: head, record: null, search: null, anchored: null };
}

/** An HTTP/1.1 server: `new HTTPServer(handler, options).listen(8080)`. */
export class HTTPServer extends Server {
  /** What answers each request. */
  handler: HTTPHandler;
  #keepAlive = true;
  #keepAliveTimeout = 5;
  #headersTimeout = 60;
  #maxHeaderSize = 16384;
  #maxRequest = 10485760;
  /** Trust proxy headers for `remoteIp` and `scheme`. */
  xheaders = false;
  /** The key of signed cookies. */
  cookieSecret: string | Buffer = randomBytes(32);
  /** TLS was started (the default port is then 443). */
  #secure = false;
  /** `shutdown()` was called: no connection is kept alive after its response. */
  #draining = false;

  /** A server answering with `handler`; see `HTTPServerOptions`. */
  constructor(handler: HTTPHandler, options: HTTPServerOptions = {}) {
    super({ engine: options.engine, sslOptions: options.sslOptions, ConnectionClass: HTTPConnection });
    if (typeof handler !== 'function' && typeof (handler as { handle?: unknown })?.handle !== 'function') {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', 'The handler must be a function of the request, an object with handle(request) or a WebSocket class.');
    }
    this.handler = handler;
    if (options.keepAlive !== undefined) this.keepAlive = options.keepAlive;
    if (options.keepAliveTimeout !== undefined) this.keepAliveTimeout = options.keepAliveTimeout;
    if (options.headersTimeout !== undefined) this.headersTimeout = options.headersTimeout;
    if (options.maxHeaderSize !== undefined) this.maxHeaderSize = options.maxHeaderSize;
    if (options.maxRequest !== undefined) this.maxRequest = options.maxRequest;
    if (options.xheaders !== undefined) this.xheaders = Boolean(options.xheaders);
    if (options.cookieSecret !== undefined) this.cookieSecret = options.cookieSecret;
    this.#secure = options.sslOptions !== undefined;
  }

  /**
   * As `Server.shutdown`: stops listening at once, closes idle kept-alive
   * connections at once, lets requests in flight be answered (with
   * `Connection: close` when their head is still to be sent; each connection
   * then closes instead of waiting for another request), and
   * after `timeout` seconds closes what is left.
   */
  override shutdown(timeout = 30): Promise<void> {
    const done = super.shutdown(timeout);
    this.#draining = true;
    for (const stream of [...this.channels.values()]) if (stream instanceof HTTPConnection) stream.drain();
    return done;
  }

  /** True once `shutdown()` was called. @internal */
  get draining(): boolean {
    return this.#draining;
  }

  /** As `Server.startSSL`; the default port becomes 443. */
  override startSSL(sslOptions?: SslOptions): this {
    super.startSSL(sslOptions);
    // Server's constructor calls this before this class's fields exist.
    if (#secure in this) this.#secure = true;
    return this;
  }

  /** Keep connections between requests (default `true`). */
  get keepAlive(): boolean {
    return this.#keepAlive;
  }

  set keepAlive(value: boolean) {
    this.#keepAlive = Boolean(value);
  }

  /** Seconds an idle kept-alive connection waits for the next request (default 5). */
  get keepAliveTimeout(): number {
    return this.#keepAliveTimeout;
  }

  set keepAliveTimeout(value: number) {
    this.#keepAliveTimeout = positive('keepAliveTimeout', value);
  }

  /** Seconds to receive a complete request head, then `408` (default 60). */
  get headersTimeout(): number {
    return this.#headersTimeout;
  }

  set headersTimeout(value: number) {
    this.#headersTimeout = positive('headersTimeout', value);
  }

  /** Bytes of request line and headers, more: `431` (default 16384). */
  get maxHeaderSize(): number {
    return this.#maxHeaderSize;
  }

  set maxHeaderSize(value: number) {
    this.#maxHeaderSize = byteCount('maxHeaderSize', value);
  }

  /** Bytes of request body, more: `413` (default 10485760). */
  get maxRequest(): number {
    return this.#maxRequest;
  }

  set maxRequest(value: number) {
    this.#maxRequest = byteCount('maxRequest', value);
  }

  /** Listens on `address` (default 80, or 443 once TLS is started); otherwise as `Server.listen`. */
  override listen(address?: Address, backlog?: number, slave?: boolean, options?: ListenOptions): this {
    return super.listen(address ?? (this.#secure ? 443 : 80), backlog, slave, options);
  }
}

/** How much a connection may buffer beyond one request's head and body: a pipelined head or two. */
const PIPELINE_SLACK = 65536;

/**
 * `Stream`'s `kReading` getter, called directly: V8 makes `super[symbol]` a
 * runtime call (about 0.1 µs), and it is read twice per request.
 */
const streamReading = Object.getOwnPropertyDescriptor(Stream.prototype, kReading)?.get as (this: Stream) => boolean;

/** A connection of an `HTTPServer`: made by the server, one per accepted socket. */
export class HTTPConnection extends Stream<HTTPServer> {
  #current: HTTPRequest | null = null;
  #delivering = false;
  #ending = false;
  #idleTimer: Timer | null = null;
  #idleSince = 0;
  /** The WebSocket this connection carries since its upgrade. */
  #socket: MessageSink | null = null;

  get #server(): HTTPServer {
    return this.server as HTTPServer;
  }

  /** @internal */
  get stream(): Stream {
    return this;
  }

  /** @internal */
  get httpKeepAlive(): boolean {
    return this.#server.keepAlive && !this.#server.draining;
  }

  /** @internal */
  get xheaders(): boolean {
    return this.#server.xheaders;
  }

  /** @internal */
  get cookieSecret(): string | Buffer {
    return this.#server.cookieSecret;
  }

  /** The request being answered, if any. */
  get currentRequest(): HTTPRequest | null {
    return this.#current;
  }

  override onConnect(): void {
    const { maxHeaderSize, maxRequest } = this.#server;
    this.bufferSize = maxHeaderSize + maxRequest + PIPELINE_SLACK;
    this[kUseFraming](requestFraming(maxHeaderSize, maxRequest), null);
    // Drain notices only while a response waits for one (request.onDrain): most responses fit the socket.
    this.#notifyDrain(false);
    this.#waitForRequest();
  }

  /** @internal */
  wantDrain(): void {
    this.#notifyDrain(true);
  }

  #notifyDrain(on: boolean): void {
    if (this[kToken] >= 0) native.setNotifyDrain(this[kEngineId], this[kToken], on);
  }

  /** Requests are taken one at a time: the next waits until this one is answered. @internal */
  override get [kReading](): boolean {
    return (this.#socket !== null || (this.#current === null && !this.#ending)) && streamReading.call(this);
  }

  override onRead(frame: Buffer): void {
    if (this.#socket !== null) {
      this.#socket[kMessage](frame);
      return;
    }
    const parsed = new RequestFrame(frame);
    if (parsed.refusal !== 0) {
      this.#refuse(parsed.refusal);
      return;
    }
    const request = new HTTPRequest(parsed, this);
    this.#current = request;
    this.#delivering = true;
    try {
      this.#handle(request);
    } finally {
      this.#delivering = false;
    }
  }

  #handle(request: HTTPRequest): void {
    const handler = this.#server.handler;
    let result: unknown;
    try {
      if (isWebSocketClass(handler)) acceptUpgrade(request, handler, []);
      else result = typeof handler === 'function' ? (handler as (request: HTTPRequest) => unknown)(request) : handler.handle(request);
    } catch (error) {
      this.#failed(request, error);
      return;
    }
    if (result instanceof Promise) result.then(undefined, (error: unknown) => this.#failed(request, error));
    else if (result !== undefined) watchCallback(result, this, 'handler');
  }

  /** A handler threw or rejected: its status for an `HTTPException`, else `500` (logged); if headers went out already, the connection closes. */
  #failed(request: HTTPRequest, error: unknown): void {
    if (!(error instanceof HTTPException)) logger().error(`pants: HTTP handler for ${request.method} ${request.url} failed:`, error);
    if (request.finished || this[kClosing]) return;
    if (request.headersSent) {
      this.close(false);
      return;
    }
    if (error instanceof HTTPException) {
      request.sendStatus(error.status);
      const body = Buffer.from(error.message);
      request.sendHeaders({ 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length), ...error.headers });
      if (request.method !== 'HEAD') this.write(body);
      request.finish();
      return;
    }
    request.sendResponse(reasonPhrase(500), 500);
  }

  /** @internal */
  responseFinished(request: HTTPRequest, keepAlive: boolean): void {
    if (request !== this.#current) return;
    this.#current = null;
    if (!keepAlive || this.#server.draining) {
      this.#ending = true;
      this.close(true);
      return;
    }
    this.#waitForRequest();
    // A response finished later than its handler returned: take the requests that queued meanwhile.
    if (!this.#delivering && this[kReading]) this[kReadFrames]();
  }

  /** The connection carries a WebSocket from now on (see `RequestHost`). @internal */
  upgrade(sink: MessageSink, maxPayload: number, flags: number): void {
    this.#current = null;
    this.#socket = sink;
    this.#cancelIdle();
    this.bufferSize = maxPayload + FRAME_SLACK;
    this[kUseFraming](messageFraming(maxPayload, flags), null);
    // Upgraded later than its request arrived (an async route): take the frames that came meanwhile.
    if (!this.#delivering && this[kReading]) this[kReadFrames]();
  }

  /** The server shuts down: an idle connection closes now, a busy one after its response. @internal */
  drain(): void {
    if (this.#socket !== null) {
      this.#socket[kGoingAway]();
      return;
    }
    if (this.#current === null && !this[kClosing]) {
      this.#ending = true;
      this.close(false);
    }
  }

  /** Answers a request the engine refused (400, 413, 417, 431, 501, 505) and closes. */
  #refuse(status: number): void {
    this.#ending = true;
    const body = reasonPhrase(status);
    this.write(
      `HTTP/1.1 ${status} ${body}\r\nDate: ${new Date().toUTCString()}\r\nServer: pants-net\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    this.close(true);
  }

  /**
   * Waits for the next request: an idle connection closes after
   * `keepAliveTimeout`, a started head gets `408` after `headersTimeout`.
   * One timer per connection, armed once: a request only moves the time it
   * counts from, and the timer, when it fires, waits again for what is left.
   */
  #waitForRequest(): void {
    this.#idleSince = this.engine.latestPollTime;
    if (this.#idleTimer === null) this.#armIdle(this.#checkInterval());
  }

  #checkInterval(): number {
    const { keepAliveTimeout, headersTimeout } = this.#server;
    return Math.min(keepAliveTimeout, headersTimeout);
  }

  #armIdle(delay: number): void {
    this.#cancelIdle();
    this.#idleTimer = this.engine.defer(Math.max(delay, 0.001), () => this.#idleExpired());
  }

  #cancelIdle(): void {
    this.#idleTimer?.cancel();
    this.#idleTimer = null;
  }

  #idleExpired(): void {
    this.#idleTimer = null;
    if (this[kClosing]) return;
    if (this.#current !== null) {
      // A handler is at work: no timeout applies until it answers.
      this.#armIdle(this.#checkInterval());
      return;
    }
    const { keepAliveTimeout, headersTimeout } = this.#server;
    const started = this[kToken] >= 0 && native.pendingInput(this[kEngineId], this[kToken]) > 0;
    const deadline = this.#idleSince + (started ? headersTimeout : keepAliveTimeout);
    const left = deadline - this.engine.latestPollTime;
    if (left > 0.001) {
      this.#armIdle(left);
    } else if (started) {
      this.#refuse(408);
    } else {
      this.close(false);
    }
  }

  /** Only a WebSocket's read timeout is set on an HTTP connection. */
  override onTimeout(): void {
    this.#socket?.[kQuiet]();
  }

  override onWrite(): void {
    if (this.#socket !== null) {
      this.#socket[kDrained]();
      return;
    }
    this.#notifyDrain(false);
    const request = this.#current;
    if (request !== null) for (const fn of request.drained()) fn();
  }

  override onClose(error: Error | null): void {
    this.#cancelIdle();
    this.#socket?.[kCarrierClosed](error);
    const request = this.#current;
    this.#current = null;
    if (request !== null) for (const fn of request.closed()) fn();
  }
}
