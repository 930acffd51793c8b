/**
 * One kept-alive connection of an `HTTPClient` pool: a `Stream` that sends
 * one request at a time and reads its response with the engine's response
 * framing (told per request whether it was `HEAD`). It hands what it reads
 * to the exchange it carries, and itself back to its pool when done.
 */
import type { Engine } from '../engine.js';
import type { MisuseCode, StreamConnectError } from '../errors.js';
import { BODY_ENDED, NOT_BODY } from '../contract.js';
import { kEngineId, kReadFrames, kReading, kToken, kUseFraming } from '../internal.js';
import { native } from '../native.js';
import { Stream } from '../stream.js';
import type { Timer } from '../timer.js';
import type { SslOptions } from '../tls.js';
import { frameKind, ResponseFlag, ResponseFrame, ResponseFrameKind, responseFraming } from './response_frame.js';

/** An error with a `code`, made by the client. @internal */
export function clientError(code: MisuseCode | 'ETIMEDOUT' | 'ECONNRESET', message: string): Error & { code: string } {
  const error = new Error(message) as Error & { code: string };
  error.code = code;
  return error;
}

/** One request in flight on a connection: its bytes and what hears of its response. @internal */
export interface Exchange {
  /** The request head and body. */
  readonly request: Buffer[];
  /** The request is `HEAD`: its response has no body. */
  readonly headRequest: boolean;
  readonly maxHeaderSize: number;
  readonly maxResponseSize: number;
  /** The head arrived. */
  head(frame: ResponseFrame): void;
  /** A piece of the body arrived. */
  data(piece: Buffer): void;
  /**
   * Where the body is read in place, or null (it comes to `data`): a body
   * of known length kept whole, the buffer holding it and how far it is filled.
   */
  bodyTarget(): { buffer: Buffer; offset: number } | null;
  /** `count` bytes of body were read into the target at its offset. */
  filled(count: number): void;
  /** The body ended; the connection has gone back to its pool. */
  end(): void;
  /**
   * The exchange failed; `retry`: nothing of a response came, on a
   * connection that had carried one before (the server closed it while idle).
   */
  fail(error: Error, retry: boolean): void;
}

/** What a connection tells its pool. @internal */
export interface ConnectionOwner {
  /** The response is read; `reusable`: the connection can carry another request (else the owner closes it). */
  release(connection: ClientConnection, reusable: boolean): void;
  /** The connection closed. */
  lost(connection: ClientConnection): void;
}

/** Where a connection is in its life. */
const enum ConnectionState {
  Connecting,
  Ready,
  Closed,
}

/** A pooled client connection. @internal */
export class ClientConnection extends Stream {
  readonly #owner: ConnectionOwner;
  #state = ConnectionState.Connecting;
  #exchange: Exchange | null = null;
  /** A response arrived for the current exchange. */
  #answered = false;
  /** A response was read before on this connection. */
  #reused = false;
  #keepAlive = false;
  /** The response's body is read in place, into the exchange's memory, not as frames. */
  #inPlace = false;
  /** Closes the connection after it has idled in the pool. */
  idleTimer: Timer | null = null;

  constructor(engine: Engine, owner: ConnectionOwner, sslOptions: SslOptions | null) {
    super({ engine });
    this.#owner = owner;
    if (sslOptions !== null) this.startSSL(sslOptions);
  }

  /** True while the connection can take a request. */
  get usable(): boolean {
    return this.#state !== ConnectionState.Closed && this.#exchange === null;
  }

  /** True when the server sent bytes while no request was out: the connection is out of step and closes. */
  get stale(): boolean {
    return this[kToken] >= 0 && native.pendingInput(this[kEngineId], this[kToken]) > 0;
  }

  /** Sends `exchange`'s request now, or once connected. */
  begin(exchange: Exchange): void {
    this.idleTimer?.cancel();
    this.idleTimer = null;
    this.#exchange = exchange;
    this.#answered = false;
    this.#inPlace = false;
    if (this.#state === ConnectionState.Ready) this.#send();
  }

  /** True while `exchange` is this connection's request. */
  carries(exchange: Exchange): boolean {
    return this.#exchange === exchange;
  }

  /** Gives up the current exchange (timed out): the connection cannot be reused. */
  abandon(): void {
    this.#exchange = null;
    this.#state = ConnectionState.Closed;
    this.close(false);
    this.#owner.lost(this);
  }

  #send(): void {
    const exchange = this.#exchange!;
    const bufferSize = exchange.maxHeaderSize + 65536;
    if (this.bufferSize !== bufferSize) this.bufferSize = bufferSize;
    this[kUseFraming](responseFraming(exchange.maxHeaderSize, exchange.maxResponseSize, exchange.headRequest), null);
    try {
      // Corked: sent with the connection's other writes at the end of the engine's dispatch (at once outside one).
      for (const part of exchange.request) this.write(part);
    } catch (error) {
      this.#fail(error as Error);
    }
  }

  override onConnect(): void {
    this.#state = ConnectionState.Ready;
    if (this.#exchange !== null) this.#send();
  }

  /** Frames are taken only while a response is awaited, and its body is not read in place. @internal */
  override get [kReading](): boolean {
    return super[kReading] && this.#exchange !== null && !this.#inPlace;
  }

  /** Frames, and bodies read in place between them. @internal */
  override [kReadFrames](): void {
    do super[kReadFrames]();
    while (this.#inPlace && this.#readBodyInPlace());
  }

  /**
   * Reads the body into the exchange's memory, one copy from the socket
   * (none through a frame), while bytes come. True when frames go on (the
   * body ended, or the engine has none of known length to give).
   */
  #readBodyInPlace(): boolean {
    const exchange = this.#exchange;
    // While paused or closed, the body waits where it is.
    while (exchange !== null && this.#exchange === exchange && super[kReading]) {
      const target = exchange.bodyTarget();
      const result = target === null ? NOT_BODY : native.readBody(this[kEngineId], this[kToken], target.buffer, target.offset);
      if (result === NOT_BODY) {
        this.#inPlace = false;
        return true;
      }
      const ended = result >= BODY_ENDED;
      const count = ended ? result - BODY_ENDED : result;
      if (count > 0) exchange.filled(count);
      if (ended) {
        this.#inPlace = false;
        if (this.#exchange === exchange) this.#finish(exchange);
        return true;
      }
      if (count === 0) return false; // the next Read event goes on
    }
    return false;
  }

  override onRead(frame: Buffer): void {
    const exchange = this.#exchange;
    if (exchange === null) return;
    this.#answered = true;
    switch (frameKind(frame)) {
      case ResponseFrameKind.Response: {
        const response = new ResponseFrame(frame);
        this.#keepAlive = (response.flags & ResponseFlag.KeepAlive) !== 0;
        exchange.head(response);
        if (this.#exchange !== exchange) return;
        const body = response.body;
        if (body.length > 0) exchange.data(body);
        this.#finish(exchange);
        return;
      }
      case ResponseFrameKind.Head: {
        const response = new ResponseFrame(frame);
        this.#keepAlive = (response.flags & ResponseFlag.KeepAlive) !== 0;
        exchange.head(response);
        this.#inPlace = this.#exchange === exchange && exchange.bodyTarget() !== null;
        return;
      }
      case ResponseFrameKind.Body:
        exchange.data(frame.subarray(4));
        return;
      case ResponseFrameKind.End:
        if (frame.length > 4) exchange.data(frame.subarray(4));
        if (this.#exchange === exchange) this.#finish(exchange);
        return;
      case ResponseFrameKind.Malformed:
        this.#fail(clientError('ERR_PANTS_HTTP_PARSE', 'The server sent a malformed HTTP response.'));
        return;
      case ResponseFrameKind.TooLarge:
        this.#fail(clientError('ERR_PANTS_HTTP_RESPONSE_TOO_LARGE', `The response is larger than the limit (maxHeaderSize ${exchange.maxHeaderSize}, maxResponseSize ${exchange.maxResponseSize} bytes).`));
        return;
      default:
        this.#fail(clientError('ECONNRESET', 'The server closed the connection before the response ended.'));
    }
  }

  #finish(exchange: Exchange): void {
    this.#exchange = null;
    this.#reused = true;
    // The pool closes it when it cannot be reused.
    this.#owner.release(this, this.#keepAlive && this.#state === ConnectionState.Ready);
    exchange.end();
  }

  /** Fails the current exchange and closes. */
  #fail(error: Error): void {
    const exchange = this.#exchange;
    this.#exchange = null;
    const retry = !this.#answered && this.#reused;
    this.#state = ConnectionState.Closed;
    this.close(false);
    // Out of the pool now (onClose comes later, from the engine).
    this.#owner.lost(this);
    exchange?.fail(error, retry);
  }

  override onConnectError(error: StreamConnectError): void {
    this.#fail(error);
  }

  override onSslHandshakeError(error: Error): void {
    this.#fail(error);
  }

  override onSslError(error: Error): void {
    this.#fail(error);
  }

  override onReadError(error: Error): void {
    this.#fail(error);
  }

  override onWriteError(error: Error): void {
    this.#fail(error);
  }

  override onOverflowError(): void {
    this.#fail(clientError('ERR_PANTS_HTTP_RESPONSE_TOO_LARGE', 'The response head is larger than maxHeaderSize.'));
  }

  override onClose(error: Error | null): void {
    this.#state = ConnectionState.Closed;
    this.idleTimer?.cancel();
    this.idleTimer = null;
    if (this.#exchange !== null) {
      const closed = clientError('ECONNRESET', 'The server closed the connection before the response ended.');
      this.#fail(error === null ? closed : Object.assign(error, { code: (error as { code?: string }).code ?? 'ECONNRESET' }));
    }
    this.#owner.lost(this);
  }
}
