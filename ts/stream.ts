import { constants } from 'node:os';

import { Address, formatAddress, parseAddress } from './address.js';
import { ChannelOptions, ChannelState } from './channel.js';
import { describeChannel, trace, TRACING } from './debug.js';
import { codedError, StreamBufferOverflow, StreamConnectError, systemError } from './errors.js';
import { FramedChannel, FRAMING_SETTINGS } from './framed_channel.js';
import { kAdoptFieldSettings, kAttach, kBindToken, kClosing, kEngineId, kFinishClose, kFinishing, kHandleEvent, kLogAndClose, kOpened, kOverflowError, kReadFrames, kReading, kSafely, kState, kToken, kWarnAndClose } from './internal.js';
import type { NetStruct } from './netstruct.js';
import { packerFor } from './packing.js';
import type { Struct } from './struct.js';
import { PeerCertificate, SslOptions, TlsContext, tlsContext, TlsVersion } from './tls.js';
import { StreamConnector } from './stream_connect.js';
import { StreamTls } from './stream_tls.js';
import { EventKind } from './contract.js';
import { native } from './native.js';
import type { AcceptingServer } from './accepting_server.js';

/** Options of `new Stream()`. */
export interface StreamOptions extends ChannelOptions {
  /** TLS options; given, the stream behaves as if `startSSL(sslOptions)` was called. */
  sslOptions?: SslOptions;
  /** Seconds a `connect()` may take (name resolution included) before it fails with `ETIMEDOUT`; default none. */
  connectTimeout?: number | null;
  /** Sets `timeout`: seconds of inactivity before `onTimeout()`. */
  timeout?: number | null;
  /** Sets `keepAlive`: seconds of idleness before the first TCP keepalive probe. */
  keepAlive?: number | null;
  /** Sets `allowHalfOpen`: the peer's end of stream leaves the stream open for writing. */
  allowHalfOpen?: boolean;
  /** Sets `highWaterMark`: unsent bytes above which `write()` returns `false`. */
  highWaterMark?: number;
}

/**
 * The native result of a write to a connection the engine has already
 * closed (a reset seen in this iteration) before the stream heard of it:
 * the data is dropped, as the socket would, and `onClose` follows.
 */
const GONE = -constants.errno.ENOTCONN;

/** Settings a subclass may declare as class fields; they are moved onto the accessors. */
const FIELD_SETTINGS = [...FRAMING_SETTINGS, 'noDelay', 'timeout', 'allowHalfOpen', 'keepAlive', 'highWaterMark'] as const;

/** Default `highWaterMark`: 1 MiB. */
const DEFAULT_HIGH_WATER_MARK = 1048576;

/** A `TypeError` coded `ERR_PANTS_INVALID_SETTING` for a bad value of the setting `name`. */
function invalidSetting(name: string, expected: string, value: unknown): Error {
  return codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `${name} must be ${expected}; got ${String(value)}.`);
}

/** True for `null` or a positive finite number of seconds. */
function isSecondsOrNull(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && value > 0 && Number.isFinite(value));
}

/**
 * A TCP or UNIX socket connection, with callbacks to override (`onConnect`,
 * `onRead`, `onClose`, ...).
 *
 * ```ts
 * class Echo extends Stream {
 *   onRead(data: Buffer) { this.write(data); }
 * }
 * ```
 *
 * Settings (`readDelimiter`, `timeout`, ...) may be declared as class
 * fields, as JavaScript users write them; the stream moves them onto its
 * accessors when it connects. A `#private` field declared after them
 * leaves the object in V8's slower dictionary mode (a line echo at 16
 * lines in flight ran 36% slower): declare private fields first, or assign
 * settings in `onConnect()` or the constructor.
 *
 * Incoming bytes are framed by `readDelimiter` before `onRead`. A frame
 * `Buffer` stays valid for as long as you keep it (the engine never reuses
 * its memory), unless you give the stream a `readBuffer` to reuse.
 * Writes are buffered and sent together once the engine iteration has
 * dispatched its I/O (at once when made outside an iteration); a write of
 * 16 KiB or more with nothing waiting goes out at once.
 *
 * `TServer` types `this.server` for streams a server of your own accepts:
 * `class ChatConnection extends Stream<ChatServer>` makes
 * `this.server?.broadcast(...)` type-check. Without it `server` is
 * untyped (`any`), so that a subclass still passes where `typeof Stream`
 * is asked for; a function taking a class of such a subclass should take
 * `StreamClass` (a `typeof Stream` parameter cannot accept a subclass
 * typed by its server).
 */
// `any` is the one default that keeps `class extends base` (base: typeof Stream)
// assignable to `typeof Stream`; any concrete default breaks that.
export class Stream<TServer extends AcceptingServer<any> = any> extends FramedChannel {
  #server: AcceptingServer<Stream> | null = null;
  #remoteAddress: Address | null = null;
  #localAddress: Address | null = null;
  #noDelay = true;
  /** TLS for this stream, once `startSSL()` was called (or the server speaks TLS). */
  #tls: StreamTls | null = null;
  /** The host given to `connect()`: the default TLS server name. */
  #host = '';
  #connectTimeout: number | null = null;
  /** Resolves and tries addresses while `connect()` runs. */
  #connector: StreamConnector | null = null;
  #timeout: number | null = null;
  #keepAlive: number | null = null;
  #highWaterMark = DEFAULT_HIGH_WATER_MARK;
  #allowHalfOpen = false;
  #paused = false;
  /** `end()` was called: no more writes. */
  #ended = false;
  /** The peer's end of stream was handled (`onEnd`, or the close it causes). */
  #peerEnded = false;
  /** `[bytesRead, bytesWritten]` as they were when the stream closed. */
  #finalByteCounts: number[] | null = null;

  /**
   * A stream of `options.engine` (default `Engine.instance()`), not
   * connected yet: `connect()` it, or let a `Server` hand it a connection.
   */
  constructor(options: StreamOptions = {}) {
    super(options);
    if (options.connectTimeout !== undefined) this.connectTimeout = options.connectTimeout;
    for (const name of ['timeout', 'keepAlive', 'allowHalfOpen', 'highWaterMark'] as const) {
      if (options[name] !== undefined) (this as Record<typeof name, unknown>)[name] = options[name];
    }
    if (options.sslOptions !== undefined) this.startSSL(options.sslOptions);
  }

  /**
   * Seconds a `connect()` may take, name resolution included, before it
   * fails through `onConnectError` with a `StreamConnectError` coded
   * `'ETIMEDOUT'`; `null` (default): no limit but the operating system's.
   * Not positive and finite: `RangeError`.
   */
  get connectTimeout(): number | null {
    return this.#connectTimeout;
  }

  set connectTimeout(value: number | null) {
    if (value !== null && (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))) {
      throw codedError(RangeError, 'ERR_PANTS_INVALID_SETTING', `connectTimeout must be a positive number of seconds or null; got ${String(value)}.`);
    }
    this.#connectTimeout = value;
  }

  // ----- state ----------------------------------------------------------

  /** True once connected, until closed (or `close()` is called). */
  get connected(): boolean {
    return this[kState] === ChannelState.Open;
  }

  /** True while a `connect()` is resolving or connecting. */
  get connecting(): boolean {
    return this[kState] === ChannelState.Resolving || this[kState] === ChannelState.Connecting;
  }

  /**
   * The server that accepted this stream (a `Server`), or `null` for a
   * stream that connected out. Typed by `TServer`
   * (`class ChatConnection extends Stream<ChatServer>`), or cast it:
   * `this.server as ChatServer`.
   */
  get server(): TServer | null {
    return this.#server as TServer | null;
  }

  /**
   * The peer's address once connected (kept after close), else `null`:
   * `[host, port]` (IPv6: `[host, port, flowinfo, scopeId]`) or a UNIX
   * socket path. `hostPort(stream.remoteAddress)` gives `{ host, port }`
   * (or `null`) without a cast; `isInetAddress()` narrows the tuple.
   */
  get remoteAddress(): Address | null {
    if (this.#remoteAddress === null && this[kToken] >= 0) {
      this.#remoteAddress = formatAddress(native.peerAddress(this[kEngineId], this[kToken]));
    }
    return this.#remoteAddress;
  }

  /** This end's address once connected (kept after close), else `null`. */
  get localAddress(): Address | null {
    if (this.#localAddress === null && this[kToken] >= 0 && this[kState] === ChannelState.Open) {
      this.#localAddress = formatAddress(native.localAddress(this[kEngineId], this[kToken]));
    }
    return this.#localAddress;
  }

  // ----- settings -------------------------------------------------------

  /** TCP_NODELAY; on by default, since writes are already coalesced once per iteration. */
  get noDelay(): boolean {
    return this.#noDelay;
  }

  set noDelay(value: boolean) {
    this.#noDelay = Boolean(value);
    if (this[kToken] >= 0 && this[kState] === ChannelState.Open) native.setNoDelay(this[kEngineId], this[kToken], this.#noDelay);
  }

  /**
   * Seconds of inactivity (no byte read or written) after which
   * `onTimeout()` runs; any byte re-arms it, and one idle stretch runs it
   * once. `null` (default): none. Counted by the engine from when the
   * stream is connected (or from the assignment, on a connected stream).
   * Not `null` or a positive finite number: `TypeError`.
   */
  get timeout(): number | null {
    return this.#timeout;
  }

  set timeout(value: number | null) {
    if (!isSecondsOrNull(value)) throw invalidSetting('timeout', 'a positive finite number of seconds or null', value);
    this.#timeout = value;
    if (this[kToken] >= 0 && this[kState] === ChannelState.Open) native.setTimeout(this[kEngineId], this[kToken], (value ?? 0) * 1000);
  }

  /**
   * TCP keepalive: seconds of idleness before the first probe (whole
   * seconds, at least 1); `null` (default): off. UNIX sockets ignore it.
   * Not `null` or a positive finite number: `TypeError`.
   */
  get keepAlive(): number | null {
    return this.#keepAlive;
  }

  set keepAlive(value: number | null) {
    if (!isSecondsOrNull(value)) throw invalidSetting('keepAlive', 'a positive finite number of seconds or null', value);
    this.#keepAlive = value;
    if (this[kToken] >= 0 && this[kState] === ChannelState.Open) native.setKeepAlive(this[kEngineId], this[kToken], value ?? 0);
  }

  /**
   * Bytes waiting to be sent above which `write()` returns `false` and the
   * stream stops reading from its peer until they drain (`onWrite`), so a
   * peer that sends without reading cannot grow memory without bound.
   * Default 1048576 (1 MiB). Not a positive integer: `TypeError`.
   */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }

  set highWaterMark(value: number) {
    if (!Number.isSafeInteger(value) || value < 1) throw invalidSetting('highWaterMark', 'a positive integer', value);
    this.#highWaterMark = value;
    if (this[kToken] >= 0) native.setHighWater(this[kEngineId], this[kToken], value);
  }

  /**
   * `false` (default): at the peer's end of stream, complete frames are
   * delivered and the stream closes. `true`: complete frames are
   * delivered, then `onEnd()`, and the stream stays open for writing until
   * `end()` or `close()`. Not a boolean: `TypeError`.
   */
  get allowHalfOpen(): boolean {
    return this.#allowHalfOpen;
  }

  set allowHalfOpen(value: boolean) {
    if (typeof value !== 'boolean') throw invalidSetting('allowHalfOpen', 'a boolean', value);
    this.#allowHalfOpen = value;
  }

  /** True between `pause()` and `resume()`. */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Application bytes received (plaintext under TLS), counted by the
   * engine; kept after the close.
   */
  get bytesRead(): number {
    return this.#byteCounts()[0];
  }

  /**
   * Application bytes accepted for sending (`write`, `writeFile`;
   * plaintext under TLS), counted by the engine; kept after the close.
   */
  get bytesWritten(): number {
    return this.#byteCounts()[1];
  }

  #byteCounts(): number[] {
    return this.#finalByteCounts ?? (this[kToken] >= 0 ? native.byteCounts(this[kEngineId], this[kToken]) : [0, 0]);
  }

  /**
   * Bytes written (files included) but not yet handed to the operating
   * system. Above `highWaterMark` the stream stops reading from its peer
   * until they drain; `onWrite` tells when the buffer has emptied.
   */
  get bufferedAmount(): number {
    return this[kToken] >= 0 ? native.pendingOutput(this[kEngineId], this[kToken]) : 0;
  }

  // ----- actions --------------------------------------------------------

  /**
   * Connects to `address` (see `Address`). Hostnames are resolved with
   * `dns.lookup`, and each address is tried in turn. Then `onConnect()`, or
   * `onConnectError(StreamConnectError)`. Throws `InvalidAddressFormatError`
   * for a malformed address, and `Error` if the stream is already connected,
   * connecting or closed.
   */
  connect(address: Address): this {
    if (this[kState] !== ChannelState.Idle) {
      throw this[kClosing]
        ? codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'The stream is closed.')
        : codedError(Error, 'ERR_PANTS_ALREADY_CONNECTED', 'The stream is already connected or connecting.');
    }
    const parsed = parseAddress(address);
    this[kAdoptFieldSettings](FIELD_SETTINGS);
    this.#host = parsed.kind === 'inet' ? parsed.host : 'localhost';
    this.#connector = new StreamConnector(this, (token) => this.#bind(token), this.#connectTimeout);
    this.#connector.start(parsed);
    return this;
  }

  /**
   * Buffers `data` (strings as UTF-8) for sending; `flush` sends at once.
   * Returns `false` once more than `highWaterMark` bytes wait to be sent:
   * stop writing until `onWrite()` says the buffer has emptied, or memory
   * grows with a slow reader. Throws `Error` on a stream that is not
   * connected or is closed, and after `end()` (code
   * `'ERR_PANTS_WRITE_AFTER_END'`).
   */
  write(data: string | Uint8Array, flush = false): boolean {
    if (this[kState] !== ChannelState.Open || this.#ended) throw this.#notWritable();
    let result: number;
    if (typeof data === 'string') result = native.writeString(this[kEngineId], this[kToken], data);
    else if (data instanceof Uint8Array) result = native.write(this[kEngineId], this[kToken], data);
    else throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `write() takes a string or a Uint8Array; got ${Object.prototype.toString.call(data)}.`);
    if (result === GONE) return false; // the peer reset the connection: onClose is on its way
    if (result < 0) throw systemError(result, 'write');
    if (flush) native.flush(this[kEngineId], this[kToken]);
    return result === 0;
  }

  /**
   * Secures the stream with TLS. Call it before `connect()` for a client,
   * or on a connected stream (STARTTLS style): TLS then starts after the
   * data already written is sent, and bytes already received are read as
   * TLS. A stream accepted by a server acts as the TLS server (give `cert`
   * and `key`). `onSslHandshake()` follows the handshake; failures reach
   * `onSslHandshakeError` and nothing from that peer reaches `onRead`.
   * Bad options throw at once, naming the option.
   */
  startSSL(sslOptions: SslOptions = {}): this {
    if (this[kClosing]) throw codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'The stream is closed.');
    if (this.#tls !== null) throw codedError(Error, 'ERR_PANTS_TLS_ALREADY_STARTED', 'TLS has already been started on this stream.');
    this.#tls = new StreamTls(this, tlsContext(sslOptions, this.#server !== null ? 'server' : 'client'));
    if (this[kToken] >= 0) this.#tls.begin(this.#host);
    return this;
  }

  /** The protocol ALPN agreed on during the TLS handshake, else `null`. */
  get alpnProtocol(): string | null {
    return this.#tls?.alpnProtocol ?? null;
  }

  /**
   * The TLS version the handshake agreed on (`'TLSv1.2'` or `'TLSv1.3'`)
   * once it is done, else `null`.
   */
  get tlsVersion(): TlsVersion | null {
    return this.#tls?.version ?? null;
  }

  /**
   * Under TLS, once the handshake is done: the certificate the peer
   * presented, named as node:tls' `getPeerCertificate()` names it; `null`
   * when it sent none, before the handshake, and after the close unless
   * it was read before (read it in `onSslHandshake` to keep it).
   */
  get peerCertificate(): PeerCertificate | null {
    return this.#tls?.peerCertificate ?? null;
  }

  /** True once TLS has been started on this stream. */
  get secure(): boolean {
    return this.#tls !== null;
  }

  /**
   * Sends a file (a path, or an open file descriptor that stays yours),
   * after everything written before and before anything written after:
   * `nbytes` bytes from `offset` (`nbytes = 0`: to the end of the file).
   * Linux sends it with `sendfile`, without copying it through JavaScript.
   * Throws `Error` on a stream that is not connected, and the open error
   * (`code` `'ENOENT'`, ...) for a file that cannot be read.
   */
  writeFile(file: string | number, nbytes = 0, offset = 0, flush = false): void {
    if (typeof file !== 'string' && !(Number.isInteger(file) && file >= 0)) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `writeFile() takes a path or a file descriptor; got ${String(file)}.`);
    }
    for (const [name, value] of [['nbytes', nbytes], ['offset', offset]] as const) {
      if (!Number.isSafeInteger(value) || value < 0) throw codedError(RangeError, 'ERR_PANTS_INVALID_ARGUMENT', `${name} must be a non-negative integer; got ${String(value)}.`);
    }
    if (this[kState] !== ChannelState.Open || this.#ended) throw this.#notWritable();
    const path = typeof file === 'string' ? file : '';
    const result = native.writeFile(this[kEngineId], this[kToken], path, typeof file === 'number' ? file : -1, offset, nbytes);
    if (result === GONE) return;
    if (result < 0) throw systemError(result, typeof file === 'string' ? 'open' : 'dup');
    if (flush) native.flush(this[kEngineId], this[kToken]);
  }

  /**
   * Packs `values` with `format` (a Struct, a NetStruct, or a format
   * string) or, without one, with the current Struct/NetStruct
   * `readDelimiter`, and writes the bytes. No format:
   * `Error('No format is available for writing packed data.')`, checked
   * before the connection state.
   */
  writePacked(values: unknown[], format?: string | Struct | NetStruct, flush = false): void {
    const packer = packerFor(format, this.readDelimiter);
    if (!Array.isArray(values)) throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', 'writePacked() takes an array of values.');
    this.write(packer.pack(...values), flush);
  }

  /**
   * Ends this side of the stream: writes `data` if given, then, once
   * everything written is sent, shuts down the write side (the peer reads
   * its end of stream). The stream closes when the peer has ended too (at
   * once if it already has), with `onClose(null)`; until then it still
   * reads. `write()` afterwards throws (`'ERR_PANTS_WRITE_AFTER_END'`).
   * A second `end()`, or one on a closed or closing stream, does nothing;
   * on a connecting stream, `end()` takes effect once connected (with
   * `data`, it throws as `write()` does), and on a stream never connected it
   * throws (`'ERR_PANTS_NOT_CONNECTED'`).
   */
  end(data?: string | Uint8Array): this {
    if (this.#ended || this[kClosing]) return this;
    if (data !== undefined || this[kState] === ChannelState.Idle) this.write(data ?? '');
    this.#ended = true;
    // A connecting stream ends once connected (see #opened).
    if (this[kState] === ChannelState.Open) native.end(this[kEngineId], this[kToken]);
    return this;
  }

  /**
   * Stops reading: nothing is read from the socket (its buffer fills and
   * TCP slows the peer down) and no `onRead` runs until `resume()`; frames
   * already buffered and the peer's end of stream wait for it too.
   */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    if (this[kToken] >= 0 && this[kState] === ChannelState.Open) native.setPaused(this[kEngineId], this[kToken], true);
  }

  /** Reads again after `pause()`: what waited is delivered from the engine, in order. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this[kToken] >= 0 && this[kState] === ChannelState.Open) native.setPaused(this[kEngineId], this[kToken], false);
  }

  /** Tries to send buffered data now instead of when the iteration's I/O is dispatched. */
  flush(): void {
    if (this[kToken] >= 0) native.flush(this[kEngineId], this[kToken]);
  }

  /**
   * Closes the stream. With `flush` (default), everything already written
   * is sent first; without, data still buffered is dropped (a write of
   * 16 KiB or more may have gone out already). No more `onRead`
   * calls follow; `onClose()` runs once, from the engine, after the socket
   * is closed. Closing a closed stream does nothing.
   */
  override close(flush = true): void {
    if (TRACING) trace(`${describeChannel(this)}: close(${flush ? 'after sending what was written' : 'at once'})`);
    super.close(flush);
  }

  // ----- callbacks ------------------------------------------------------

  /** Called once the connection is established (also for accepted streams, after `Server.onAccept`). */
  onConnect(): void {}

  /** Called when the send buffer has emptied. */
  onWrite(): void {}

  /**
   * Called once, after the socket is closed: `error` is `null` after
   * `close()`, `end()`, a timeout or an orderly end of stream, and
   * otherwise the error that closed the stream (with `code`, such as
   * `'ECONNRESET'` when the peer reset it, or the error a default error
   * callback closed it for).
   */
  override onClose(error: Error | null): void {}

  /** `timeout` seconds passed without a byte read or written. Default: `close(false)`. */
  onTimeout(): void {
    this.close(false);
  }

  /**
   * The peer ended its side (only with `allowHalfOpen`; without it the
   * stream closes instead). Complete frames were delivered before; the
   * stream stays open for writing until `end()` or `close()`.
   */
  onEnd(): void {}

  /** The TLS handshake completed (the peer is verified, if it was to be). */
  onSslHandshake(): void {}

  /**
   * The TLS handshake failed (`error.code` like `'CERT_HAS_EXPIRED'`).
   * Default: a failed handshake is the peer's doing (a port scanner, a
   * client that does not trust us): one line with `Engine.logger.warn`,
   * without a stack, then `close(false)`.
   */
  onSslHandshakeError(error: Error): void {
    this[kWarnAndClose]('onSslHandshakeError', error);
  }

  /** TLS failed after the handshake. Default: log it and `close(false)`. */
  onSslError(error: Error): void {
    this[kLogAndClose]('onSslError', error);
  }

  /** A connect failed. Default: log it and `close(false)`. */
  onConnectError(error: StreamConnectError): void {
    this[kLogAndClose]('onConnectError', error);
  }

  /**
   * More than `bufferSize` bytes arrived without completing a frame.
   * Default: log it and `close(false)`. If the handler keeps the stream
   * open, the unframed bytes are discarded.
   */
  override onOverflowError(error: StreamBufferOverflow): void {
    this[kLogAndClose]('onOverflowError', error);
  }

  // ----- engine side ----------------------------------------------------

  /** Adopts a connection accepted by `server`. @internal */
  [kAttach](token: number, fd: number, server: AcceptingServer<Stream>, tls: TlsContext | null): void {
    this.#server = server;
    if (tls !== null) this.#tls ??= new StreamTls(this, tls);
    this[kAdoptFieldSettings](FIELD_SETTINGS);
    this.#bind(token);
    this.#opened(fd);
  }

  /** @internal */
  [kHandleEvent](kind: number, a: number, b: number): void {
    switch (kind) {
      case EventKind.Read:
        this[kReadFrames]();
        break;
      case EventKind.Write:
        this[kSafely]('onWrite', this.onWrite);
        break;
      case EventKind.Connect:
        this.#opened(a);
        if (this[kState] === ChannelState.Open) this[kSafely]('onConnect', this.onConnect);
        break;
      case EventKind.ConnectError:
        this.#connector?.failed(-a);
        break;
      case EventKind.Hangup:
        // While paused, the end waits: resuming reports it again.
        if (this.#paused || this.#peerEnded) break;
        this.#peerEnded = true;
        this[kReadFrames]();
        if (this[kState] !== ChannelState.Open) break;
        if (this.#allowHalfOpen) this[kSafely]('onEnd', this.onEnd);
        else this.close(true);
        break;
      case EventKind.Timeout:
        if (this[kState] === ChannelState.Open) this[kSafely]('onTimeout', this.onTimeout);
        break;
      case EventKind.Close:
        this[kFinishClose](a !== 0 ? systemError(-a, b === 1 ? 'write' : 'read') : null);
        break;
      case EventKind.ReadError:
        this[kSafely]('onReadError', this.onReadError, systemError(-a, 'read'));
        break;
      // TLS events come only for a stream with TLS started.
      case EventKind.SslHandshake:
        this.#tls!.cancelHandshakeTimer();
        this[kSafely]('onSslHandshake', this.onSslHandshake);
        break;
      case EventKind.SslHandshakeError:
        this.#tls!.cancelHandshakeTimer();
        this[kSafely]('onSslHandshakeError', this.onSslHandshakeError, this.#tls!.takeError());
        break;
      case EventKind.SslError:
        this[kSafely]('onSslError', this.onSslError, this.#tls!.takeError());
        break;
      case EventKind.SslServername:
        this.#tls!.askServername();
        break;
      case EventKind.WriteError:
        this[kSafely]('onWriteError', this.onWriteError, systemError(-a, 'write'));
        break;
    }
  }

  #bind(token: number): void {
    this[kBindToken](token);
    if (this.#highWaterMark !== DEFAULT_HIGH_WATER_MARK) native.setHighWater(this[kEngineId], token, this.#highWaterMark);
    if (this.onWrite !== Stream.prototype.onWrite) native.setNotifyDrain(this[kEngineId], token, true);
    this.#tls?.begin(this.#host);
  }

  #opened(fd: number): void {
    this.#connector?.finish();
    if (this[kClosing]) return;
    this[kOpened](fd);
    if (!this.#noDelay) native.setNoDelay(this[kEngineId], this[kToken], false);
    if (this.#timeout !== null) native.setTimeout(this[kEngineId], this[kToken], this.#timeout * 1000);
    if (this.#keepAlive !== null) native.setKeepAlive(this[kEngineId], this[kToken], this.#keepAlive);
    if (this.#paused) native.setPaused(this[kEngineId], this[kToken], true);
    if (this.#ended) native.end(this[kEngineId], this[kToken]);
    this.#tls?.armHandshakeTimer();
  }

  /** Stops the clocks and keeps the addresses for after the close. @internal */
  override [kFinishing](): void {
    this.#connector?.finish();
    this.#tls?.cancelHandshakeTimer();
    if (this[kToken] >= 0) {
      this.#finalByteCounts = native.byteCounts(this[kEngineId], this[kToken]);
      this.#remoteAddress ??= formatAddress(native.peerAddress(this[kEngineId], this[kToken]));
      this.#localAddress ??= formatAddress(native.localAddress(this[kEngineId], this[kToken]));
    }
  }

  #notWritable(): Error {
    if (this.#ended && !this[kClosing]) return codedError(Error, 'ERR_PANTS_WRITE_AFTER_END', 'Cannot write to a stream after end().');
    return this[kClosing]
      ? codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'Cannot write to a closed stream.')
      : codedError(Error, 'ERR_PANTS_NOT_CONNECTED', 'Cannot write to a stream that is not connected.');
  }

  /** @internal */
  get [kReading](): boolean {
    return this[kState] === ChannelState.Open && !this.#paused;
  }

  /** @internal */
  [kOverflowError](): Error {
    return new StreamBufferOverflow(`More than bufferSize (${this.bufferSize}) bytes arrived without a complete frame.`);
  }
}
