import { lookup } from 'node:dns';

import { Address, formatAddress, parseAddress } from './address.js';
import { ChannelOptions, ChannelState } from './channel.js';
import { codedError, DatagramBufferOverflow, InvalidAddressFormatError, systemError } from './errors.js';
import { FramedChannel, FRAMING_SETTINGS } from './framed_channel.js';
import { kAdoptFieldSettings, kBindToken, kClosing, kEngineId, kFinishClose, kFinishing, kFrameArrived, kHandleEvent, kLogAndClose, kOpened, kOverflowError, kReadFrames, kReading, kSafely, kState, kToken } from './internal.js';
import { EventKind } from './contract.js';
import { native } from './native.js';

/** Default of `Datagram.maxSenders`. */
const DEFAULT_MAX_SENDERS = 1024;
/** Default of `Datagram.senderTimeout`, in seconds. */
const DEFAULT_SENDER_TIMEOUT = 30;

/** Settings a subclass may declare as class fields; they are moved onto the accessors. */
const FIELD_SETTINGS = [...FRAMING_SETTINGS, 'maxSenders', 'senderTimeout'] as const;

/** Options of `new Datagram()`. */
export type DatagramOptions = ChannelOptions;

/** An IP address to send to, checked and resolved. */
interface Target {
  host: string;
  port: number;
  flowinfo: number;
  scopeId: number;
}

/**
 * A UDP socket: override `onRead` to handle each sender's frames.
 *
 * ```ts
 * class UdpEcho extends Datagram {
 *   onRead(data: Buffer) { this.write(data); } // back to the sender
 * }
 * new UdpEcho().listen(['127.0.0.1', 9000]);
 * ```
 *
 * Incoming bytes are framed per sender: a `readDelimiter` of `'\n'` makes
 * lines out of each sender's packets, which never mix with other senders'.
 * With the default `null` delimiter, each packet is one frame. During
 * `onRead`, `remoteAddress` is the sender of the frame, and `write(data)`
 * without an address replies to it. A packet larger than `bufferSize`, or
 * a sender's unfinished frame growing past it, calls
 * `onOverflowError(DatagramBufferOverflow)`.
 */
export class Datagram extends FramedChannel {
  #remoteAddress: Address | null = null;
  #localAddress: Address | null = null;
  /** Packets written while the socket is still being set up (a hostname resolving). */
  #waiting: { data: Uint8Array; address: Address }[] = [];
  #maxSenders = DEFAULT_MAX_SENDERS;
  #senderTimeout = DEFAULT_SENDER_TIMEOUT;

  /** An unbound UDP channel of `options.engine` (default `Engine.instance()`); `listen()` binds it. */
  constructor(options: DatagramOptions = {}) {
    super(options);
  }

  /** The sender of the frame being delivered (during `onRead`; kept until the next one), else `null`. */
  get remoteAddress(): Address | null {
    return this.#remoteAddress;
  }

  /** Where the socket is bound (with the real port after binding port 0), else `null`. */
  get localAddress(): Address | null {
    return this.#localAddress;
  }

  /**
   * Most senders whose unfinished frame is kept at once (default 1024): a
   * new sender beyond it evicts the one idle longest, whose partial frame
   * is dropped. Bounds the memory a flood of senders can take to about
   * `maxSenders × bufferSize`. Not a positive integer: `TypeError`.
   */
  get maxSenders(): number {
    return this.#maxSenders;
  }

  set maxSenders(value: number) {
    if (!Number.isInteger(value) || value < 1) throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `maxSenders must be a positive integer; got ${String(value)}.`);
    this.#maxSenders = value;
    this.#applySenderLimits();
  }

  /**
   * Seconds without a packet after which a sender's unfinished frame is
   * dropped (default 30). Not a positive finite number: `TypeError`.
   */
  get senderTimeout(): number {
    return this.#senderTimeout;
  }

  set senderTimeout(value: number) {
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `senderTimeout must be a positive number of seconds; got ${String(value)}.`);
    }
    this.#senderTimeout = value;
    this.#applySenderLimits();
  }

  /**
   * Binds to `address` (an IP address or hostname; port 0: ephemeral).
   * Bind errors throw at once with Node's `code`; a hostname is resolved
   * first and its errors reach `onError`. Not an IP address form:
   * `InvalidAddressFormatError`.
   */
  listen(address: Address): this {
    if (this[kState] !== ChannelState.Idle) {
      throw this[kClosing]
        ? codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'The datagram channel is closed.')
        : codedError(Error, 'ERR_PANTS_ALREADY_LISTENING', 'The datagram channel is already bound.');
    }
    const parsed = parseAddress(address);
    if (parsed.kind !== 'inet') throw new InvalidAddressFormatError(`A datagram channel needs an IP address; got ${JSON.stringify(address)}.`);
    if (!parsed.resolve) {
      this.#bind(native.bindDatagram(this[kEngineId], parsed.host, parsed.port, parsed.flowinfo, parsed.scopeId), 'bind');
      return this;
    }
    this[kState] = ChannelState.Resolving;
    lookup(parsed.host, { family: parsed.family === 6 ? 6 : 0 }, (error, host) => {
      this.engine.callback(() => {
        if (this[kState] !== ChannelState.Resolving) return;
        this[kState] = ChannelState.Idle;
        try {
          if (error) throw error;
          this.#bind(native.bindDatagram(this[kEngineId], host, parsed.port, parsed.flowinfo, parsed.scopeId), 'bind');
        } catch (failure) {
          this[kSafely]('onError', this.onError, failure as Error);
        }
        this.#drainWaiting();
      });
    });
    return this;
  }

  /**
   * Sends `data` (strings as UTF-8) as one packet to `address`, by default
   * `remoteAddress` (the sender being answered). Packets are sent together
   * at the end of the engine iteration; `flush` sends at once. An unbound
   * channel is bound to an ephemeral port first. Throws `Error` when closed
   * or when there is no address, `InvalidAddressFormatError` for a bad one.
   */
  write(data: string | Uint8Array, address?: Address, flush = false): void {
    if (this[kClosing]) throw codedError(Error, 'ERR_PANTS_CHANNEL_CLOSED', 'Cannot write to a closed datagram channel.');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (!(bytes instanceof Uint8Array)) throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `write() takes a string or a Uint8Array; got ${Object.prototype.toString.call(data)}.`);
    const to = address ?? this.#remoteAddress;
    if (to === null) throw codedError(Error, 'ERR_PANTS_NO_DESTINATION', 'No address to write to: give one, or write while answering a sender.');
    const parsed = parseAddress(to);
    if (parsed.kind !== 'inet') throw new InvalidAddressFormatError(`A datagram needs an IP address; got ${JSON.stringify(to)}.`);
    if (this[kState] === ChannelState.Resolving || parsed.resolve || this.#waiting.length > 0) {
      this.#writeLater(bytes, to);
      return;
    }
    this.#send(bytes, parsed, flush);
  }

  /** Tries to send queued packets now. */
  flush(): void {
    if (this[kToken] >= 0) native.flush(this[kEngineId], this[kToken]);
  }

  /**
   * More than `bufferSize` bytes arrived from one sender without completing
   * a frame (or one packet was larger). `remoteAddress` is that sender.
   * Default: log it and `close(false)`. The sender's unframed bytes are discarded.
   */
  override onOverflowError(error: DatagramBufferOverflow): void {
    this[kLogAndClose]('onOverflowError', error);
  }

  // ----- engine side ----------------------------------------------------

  /** @internal */
  [kHandleEvent](kind: number, a: number): void {
    switch (kind) {
      case EventKind.Read:
        this[kReadFrames]();
        break;
      case EventKind.Close:
        this[kFinishClose]();
        break;
      case EventKind.ReadError:
        this[kSafely]('onReadError', this.onReadError, systemError(-a, 'recvfrom'));
        break;
      case EventKind.WriteError:
        this[kSafely]('onWriteError', this.onWriteError, systemError(-a, 'sendto'));
        break;
    }
  }

  /** @internal */
  get [kReading](): boolean {
    return this[kState] === ChannelState.Open;
  }

  /** @internal */
  override [kFrameArrived](): void {
    this.#remoteAddress = formatAddress(native.peerAddress(this[kEngineId], this[kToken]));
  }

  /** @internal */
  [kOverflowError](): Error {
    return new DatagramBufferOverflow(`More than bufferSize (${this.bufferSize}) bytes arrived from one sender without a complete frame.`);
  }

  #bind(token: number, syscall: string): void {
    if (token < 0) throw systemError(token, syscall);
    this[kAdoptFieldSettings](FIELD_SETTINGS); // settings declared as fields, whether listen() or a write() binds
    this[kBindToken](token);
    if (this.#maxSenders !== DEFAULT_MAX_SENDERS || this.#senderTimeout !== DEFAULT_SENDER_TIMEOUT) this.#applySenderLimits();
    this[kOpened](native.fd(this[kEngineId], token));
    this.#localAddress = formatAddress(native.localAddress(this[kEngineId], token));
  }

  #applySenderLimits(): void {
    if (this[kToken] >= 0) native.setSenderLimits(this[kEngineId], this[kToken], this.#maxSenders, this.#senderTimeout * 1000);
  }

  #send(bytes: Uint8Array, target: Target, flush: boolean): void {
    if (this[kState] === ChannelState.Idle) this.#bind(native.openDatagram(this[kEngineId], target.host, target.port), 'bind');
    const result = native.sendDatagram(this[kEngineId], this[kToken], target.host, target.port, target.flowinfo, target.scopeId, bytes);
    if (result < 0) throw systemError(result, 'sendto');
    if (flush) native.flush(this[kEngineId], this[kToken]);
  }

  /**
   * Queues a copy of a packet until hostnames (of the target, or of
   * `listen`) are resolved: packets keep their order, and the caller may
   * reuse its bytes at once (a frame of a `readBuffer` is overwritten by
   * the next read), as for a packet sent at once.
   */
  #writeLater(bytes: Uint8Array, address: Address): void {
    this.#waiting.push({ data: Buffer.from(bytes), address });
    if (this.#waiting.length === 1) this.#drainWaiting();
  }

  #drainWaiting(): void {
    while (this.#waiting.length > 0 && this[kState] !== ChannelState.Resolving) {
      const { data, address } = this.#waiting[0];
      const parsed = parseAddress(address) as Extract<ReturnType<typeof parseAddress>, { kind: 'inet' }>;
      if (parsed.resolve) {
        lookup(parsed.host, { family: parsed.family === 6 ? 6 : 0 }, (error, host) => {
          this.engine.callback(() => {
            this.#waiting.shift();
            if (error) this[kSafely]('onWriteError', this.onWriteError, error);
            else this.#trySend(data, { ...parsed, host });
            this.#drainWaiting();
          });
        });
        return;
      }
      this.#waiting.shift();
      this.#trySend(data, parsed);
    }
  }

  #trySend(bytes: Uint8Array, target: Target): void {
    if (this[kClosing]) return;
    try {
      this.#send(bytes, target, false);
    } catch (error) {
      this[kSafely]('onWriteError', this.onWriteError, error as Error);
    }
  }

  /** Packets still waiting for a hostname are dropped. @internal */
  override [kFinishing](): void {
    this.#waiting = [];
  }
}
