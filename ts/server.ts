import { lookup } from 'node:dns';

import type { AcceptingServer } from './accepting_server.js';
import { Address, formatAddress, parseAddress, ParsedAddress } from './address.js';
import { logCallbackError, watchCallback } from './callback.js';
import { Channel, ChannelOptions, ChannelState } from './channel.js';
import { codedError, oneLine, systemError } from './errors.js';
import { kAttach, kBindToken, kClosing, kEngineId, kFinishClose, kFinishing, kHandleEvent, kOpened, kReleaseToken, kSafely, kState, kToken, kWhenFinished } from './internal.js';
import { logger } from './logger.js';
import { EventKind } from './contract.js';
import { native } from './native.js';
import { Stream, StreamOptions } from './stream.js';
import type { Timer } from './timer.js';
import { SslOptions, TlsContext, tlsContext } from './tls.js';

/** A Stream class a server wraps accepted connections in. */
export type StreamClass = new (options?: StreamOptions) => Stream;

/** Options of `new Server()`. */
export interface ServerOptions extends ChannelOptions {
  /** The class accepted connections are wrapped in (default `Stream`). */
  ConnectionClass?: StreamClass;
  /** TLS options; given, the server behaves as if `startSSL(sslOptions)` was called. */
  sslOptions?: SslOptions;
}

/** Options of `listen()` beyond Pants' positional ones. */
export interface ListenOptions {
  /** Set `SO_REUSEPORT`, so that several engines (worker threads) can listen on one port. */
  reusePort?: boolean;
}

/**
 * Seconds between two accept-failure warnings of one listener. A listener
 * out of descriptors (EMFILE) retries every 100 ms: the first failure is
 * logged, the ones after it are counted and summed up in one line per
 * interval while they go on.
 */
const ACCEPT_WARNING_INTERVAL = 5;

/** True for `Stream` and its subclasses. */
function isStreamClass(value: unknown): value is StreamClass {
  return value === Stream || (typeof value === 'function' && value.prototype instanceof Stream);
}

/** `value` if it is `Stream` or a subclass; else throws a `TypeError` coded `ERR_PANTS_INVALID_CONNECTION_CLASS`. */
function checkConnectionClass(value: unknown): StreamClass {
  if (isStreamClass(value)) return value;
  const shown = typeof value === 'function' ? `the function ${value.name || '(anonymous)'}` : typeof value === 'symbol' ? 'a symbol' : (JSON.stringify(value) ?? String(value));
  throw codedError(TypeError, 'ERR_PANTS_INVALID_CONNECTION_CLASS', `ConnectionClass must be Stream or a subclass of it; got ${shown}.`);
}

/**
 * A listening TCP or UNIX socket that wraps each accepted connection in its
 * `ConnectionClass`.
 *
 * The class is given as the first constructor argument, in the options
 * object, or declared by a subclass:
 *
 * ```ts
 * class ChatServer extends Server {
 *   ConnectionClass = ChatConnection;
 * }
 * ```
 */
export class Server extends Channel implements AcceptingServer<Stream> {
  /** The class accepted connections are wrapped in. */
  ConnectionClass: StreamClass = Stream;
  /** Live accepted connections, keyed by `fileno`; closed ones leave the map. */
  readonly channels = new Map<number, Stream>();

  #localAddress: Address | null = null;
  #tls: TlsContext | null = null;
  /** Pending while accept failures are being counted rather than logged. */
  #acceptWarningTimer: Timer | null = null;
  #acceptFailuresUnlogged = 0;
  #latestAcceptFailure = '';
  #maxConnections: number | null = null;
  /** Set by `shutdown()`: the server waits for its streams before it finishes closing. */
  #shutdown: { promise: Promise<void>; resolve: () => void; timer: Timer | null } | null = null;
  /** True once the listening socket is closed while a shutdown waits for streams. */
  #listenerGone = false;

  /**
   * A server, not listening yet. Give the ConnectionClass first, or in the
   * options (`new Server({ ConnectionClass, engine, sslOptions })`). A
   * ConnectionClass that is not `Stream` or a subclass of it, or a first
   * argument that is neither a class nor an options object, throws a
   * `TypeError` (code `'ERR_PANTS_INVALID_CONNECTION_CLASS'`). A subclass
   * may instead declare the field `ConnectionClass = MyStream`; that one is
   * checked by `listen()`.
   */
  constructor(connectionClass?: StreamClass | ServerOptions, options: ServerOptions = {}) {
    let merged: ServerOptions;
    if (connectionClass === undefined || connectionClass === null) merged = options;
    else if (typeof connectionClass === 'object' && !Array.isArray(connectionClass)) merged = { ...options, ...connectionClass };
    else merged = { ...options, ConnectionClass: checkConnectionClass(connectionClass) };
    super(merged);
    if (merged.ConnectionClass !== undefined) this.ConnectionClass = checkConnectionClass(merged.ConnectionClass);
    if (merged.sslOptions !== undefined) this.startSSL(merged.sslOptions);
  }

  /**
   * Every connection accepted from now on speaks TLS, with `cert` and
   * `key` (and, with `requestCert`, client certificates verified against
   * `ca`). Bad options throw at once, naming the option.
   */
  startSSL(sslOptions: SslOptions = {}): this {
    if (this[kClosing]) throw codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'The server is closed.');
    this.#tls = tlsContext(sslOptions, 'server');
    if (this.listening) native.setListenerTls(this[kEngineId], this[kToken], this.#tls.id);
    return this;
  }

  /** True while listening. */
  get listening(): boolean {
    return this[kState] === ChannelState.Open;
  }

  /** Where the server listens (with the real port after binding port 0), else `null`. */
  get localAddress(): Address | null {
    return this.#localAddress;
  }

  /**
   * Binds to `address` and listens, then `onListen()`. Bind errors throw
   * at once with Node's `code` (`'EADDRINUSE'`, ...); a hostname is first
   * resolved, and its errors reach `onError`. With `slave`, listening on
   * the IPv6 any address also serves IPv4. A `ConnectionClass` (a subclass
   * field) that is not `Stream` or a subclass of it: `TypeError`, coded
   * `'ERR_PANTS_INVALID_CONNECTION_CLASS'`.
   */
  listen(address: Address, backlog = 1024, slave = true, options: ListenOptions = {}): this {
    if (this[kState] !== ChannelState.Idle) {
      throw this[kClosing]
        ? codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'The server is closed.')
        : codedError(Error, 'ERR_PANTS_ALREADY_LISTENING', 'The server is already listening.');
    }
    checkConnectionClass(this.ConnectionClass);
    if (!Number.isInteger(backlog) || backlog < 0) throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `backlog must be a non-negative integer; got ${String(backlog)}.`);
    const parsed = parseAddress(address);
    if (parsed.kind === 'inet' && parsed.resolve) {
      this[kState] = ChannelState.Resolving;
      lookup(parsed.host, { family: parsed.family === 6 ? 6 : 0 }, (error, host) => {
        if (this[kState] !== ChannelState.Resolving) return;
        this.engine.callback(() => {
          if (this[kState] !== ChannelState.Resolving) return;
          this[kState] = ChannelState.Idle;
          try {
            if (error) throw error;
            this.#bind({ ...parsed, host, resolve: false }, backlog, slave, options);
          } catch (failure) {
            this[kSafely]('onError', this.onError, failure as Error);
          }
        });
      });
    } else {
      this.#bind(parsed, backlog, slave, options);
    }
    return this;
  }

  /**
   * The most accepted connections open at once, or `null` (the default)
   * for no limit. A connection accepted beyond it is closed at once,
   * before any callback (no `onAccept`, no `onConnect`). Not `null` or a
   * non-negative integer: `TypeError` / `RangeError` naming
   * `maxConnections`.
   */
  get maxConnections(): number | null {
    return this.#maxConnections;
  }

  set maxConnections(value: number | null) {
    if (value !== null && typeof value !== 'number') {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `maxConnections must be a non-negative integer or null; got ${String(value)}.`);
    }
    if (value !== null && (!Number.isSafeInteger(value) || value < 0)) {
      throw codedError(RangeError, 'ERR_PANTS_INVALID_SETTING', `maxConnections must be a non-negative integer or null; got ${String(value)}.`);
    }
    this.#maxConnections = value;
  }

  /** Stops listening; `onClose()` follows from the engine. */
  override close(): void {
    super.close(false);
  }

  /**
   * Graceful shutdown: stops listening at once (the server's `onClose()`
   * is not called yet) and lets the accepted streams finish. Those still
   * open after `timeout` seconds are closed without flushing. Then
   * `onClose()` runs and the promise resolves. Calling it again returns the
   * same promise; a server without streams resolves at once. `timeout`
   * not a number: `TypeError`; negative or NaN: `RangeError`
   * (`Infinity` waits for ever).
   *
   * ```ts
   * process.once('SIGTERM', () => void server.shutdown(10).then(() => engine.stop()));
   * ```
   */
  shutdown(timeout = 30): Promise<void> {
    if (typeof timeout !== 'number') throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `timeout must be a non-negative number of seconds; got ${String(timeout)}.`);
    if (Number.isNaN(timeout) || timeout < 0) throw codedError(RangeError, 'ERR_PANTS_INVALID_ARGUMENT', `timeout must be a non-negative number of seconds; got ${String(timeout)}.`);
    if (this.#shutdown !== null) return this.#shutdown.promise;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    const shutdown: { promise: Promise<void>; resolve: () => void; timer: Timer | null } = { promise, resolve, timer: null };
    this.#shutdown = shutdown;
    if (this[kState] === ChannelState.Closed) {
      resolve();
      return promise;
    }
    if (Number.isFinite(timeout) && this.channels.size > 0) {
      shutdown.timer = this.engine.defer(timeout, () => {
        shutdown.timer = null;
        for (const stream of [...this.channels.values()]) stream.close(false);
      });
    }
    super.close(false);
    return promise;
  }

  /** Finishes a shutdown once the listener is gone and the last stream has closed. */
  #shutdownProgress(): void {
    if (this.#listenerGone && this.channels.size === 0 && this[kState] === ChannelState.Closing) this[kFinishClose]();
  }

  // ----- callbacks ------------------------------------------------------

  /** Called once listening. */
  onListen(): void {}

  /** Called with each accepted connection, after it is wrapped (its `server` set) and before its `onConnect()`. */
  onAccept(stream: Stream): void {}

  /** Called once the listening socket is closed. Default: closes every accepted stream without flushing. */
  override onClose(): void {
    for (const stream of [...this.channels.values()]) stream.close(false);
  }

  // ----- engine side ----------------------------------------------------

  #bind(parsed: ParsedAddress, backlog: number, slave: boolean, options: ListenOptions): void {
    const token =
      parsed.kind === 'unix'
        ? native.listenUnix(this[kEngineId], parsed.path, backlog)
        : native.listen(this[kEngineId], parsed.host, parsed.port, parsed.flowinfo, parsed.scopeId, backlog, !slave, Boolean(options.reusePort));
    if (token < 0) throw systemError(token, 'listen', Error, parsed.kind === 'unix' ? { path: parsed.path } : { host: parsed.host, port: parsed.port });
    this[kBindToken](token);
    this[kOpened](native.fd(this[kEngineId], token));
    this.#localAddress = formatAddress(native.localAddress(this[kEngineId], token));
    if (this.#tls !== null) native.setListenerTls(this[kEngineId], token, this.#tls.id);
    this.engine.callback(() => {
      if (this.listening) this[kSafely]('onListen', this.onListen);
    });
  }

  /** @internal */
  [kHandleEvent](kind: number, a: number, b: number): void {
    switch (kind) {
      case EventKind.Accept:
        this.#accept(a, b);
        break;
      case EventKind.AcceptError:
        this.#acceptFailed(systemError(-a, 'accept'));
        break;
      case EventKind.Close:
        if (this.#shutdown !== null && this.channels.size > 0) {
          // The listener is gone; the server finishes with its last stream.
          this[kReleaseToken]();
          this.#listenerGone = true;
        } else {
          this[kFinishClose]();
        }
        break;
    }
  }

  #accept(token: number, fd: number): void {
    if (this.#maxConnections !== null && this.channels.size >= this.#maxConnections) {
      native.close(this[kEngineId], token, false);
      return;
    }
    let stream: Stream;
    try {
      stream = new this.ConnectionClass({ engine: this.engine });
      if (!(stream instanceof Stream)) throw codedError(TypeError, 'ERR_PANTS_INVALID_CONNECTION_CLASS', 'ConnectionClass must construct a Stream.');
    } catch (error) {
      logger().error(`${this.constructor.name}: could not create a ${this.ConnectionClass?.name} for an accepted connection:`, error);
      native.close(this[kEngineId], token, false);
      return;
    }
    stream[kAttach](token, fd, this, this.#tls);
    this.channels.set(fd, stream);
    stream[kWhenFinished](() => {
      if (this.channels.get(fd) === stream) this.channels.delete(fd);
      if (this.#listenerGone) this.engine.callback(() => this.#shutdownProgress());
    });
    this[kSafely]('onAccept', this.onAccept, stream);
    if (stream.connected) {
      try {
        const result: unknown = stream.onConnect();
        if (result !== undefined) watchCallback(result, stream, 'onConnect');
      } catch (error) {
        logCallbackError(stream, 'onConnect', error);
      }
    }
  }

  /** Logs an accept failure, or counts it while a warning was logged less than ACCEPT_WARNING_INTERVAL ago. */
  #acceptFailed(error: Error): void {
    this.#latestAcceptFailure = oneLine(error);
    if (this.#acceptWarningTimer !== null) {
      this.#acceptFailuresUnlogged += 1;
      return;
    }
    logger().warn(`${this.constructor.name}: accept failed: ${this.#latestAcceptFailure}; retrying (repeats are summed up every ${ACCEPT_WARNING_INTERVAL} s)`);
    this.#acceptWarningTimer = this.engine.defer(ACCEPT_WARNING_INTERVAL, () => this.#summarizeAcceptFailures(true));
  }

  /** Logs the accept failures counted since the last warning, if any; `goOn`: count the next ones again. */
  #summarizeAcceptFailures(goOn: boolean): void {
    this.#acceptWarningTimer?.cancel();
    this.#acceptWarningTimer = null;
    const count = this.#acceptFailuresUnlogged;
    if (count === 0) return;
    this.#acceptFailuresUnlogged = 0;
    logger().warn(`${this.constructor.name}: accept failed ${count} more times in the last ${ACCEPT_WARNING_INTERVAL} s (latest: ${this.#latestAcceptFailure})`);
    if (goOn) this.#acceptWarningTimer = this.engine.defer(ACCEPT_WARNING_INTERVAL, () => this.#summarizeAcceptFailures(true));
  }

  /** Logs the accept failures not logged yet. @internal */
  override [kFinishing](): void {
    this.#summarizeAcceptFailures(false);
    this.#shutdown?.timer?.cancel();
  }

  /** Closes, runs `onClose()`, then resolves a pending `shutdown()`. @internal */
  override [kFinishClose](error: Error | null = null): void {
    super[kFinishClose](error);
    this.#shutdown?.resolve();
  }
}
