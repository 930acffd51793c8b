/**
 * How a client stream connects: its host resolved with `dns.lookup`, each
 * address tried in turn until one connects, under `connectTimeout`.
 * @internal
 */
import { lookup, LookupAddress } from 'node:dns';

import { ParsedAddress } from './address.js';
import { Channel, ChannelState } from './channel.js';
import { ErrorTarget, StreamConnectError, systemError } from './errors.js';
import { kClosing, kEngineId, kReleaseToken, kSafely, kState } from './internal.js';
import { native } from './native.js';
import type { Timer } from './timer.js';

/** A resolved address to try connecting to. */
type Candidate = { kind: 'unix'; path: string } | { kind: 'inet'; host: string; port: number; flowinfo: number; scopeId: number };

/** The stream that connects (a `Stream`; named by what is used, so this file need not import stream.ts). */
interface ConnectingStream extends Channel {
  readonly connecting: boolean;
  onConnectError(error: StreamConnectError): void;
}

export class StreamConnector {
  /** The addresses not tried yet. */
  #candidates: Candidate[] = [];
  /** The address the latest attempt was for, named by its error. */
  #attempt: ErrorTarget | null = null;
  #timer: Timer | null = null;

  /**
   * @param bind takes the token of each attempt's socket for the stream
   * @param timeout `connectTimeout`: seconds, or `null` for no limit
   */
  constructor(
    private readonly stream: ConnectingStream,
    private readonly bind: (token: number) => void,
    private readonly timeout: number | null,
  ) {}

  /** Resolves and connects to `address`; the stream is then `Resolving` or `Connecting`. */
  start(address: ParsedAddress): void {
    const stream = this.stream;
    if (this.timeout !== null) this.#timer = stream.engine.defer(this.timeout, () => this.#timedOut());
    if (address.kind === 'inet' && address.resolve) {
      stream[kState] = ChannelState.Resolving;
      this.#resolve(address);
    } else {
      stream[kState] = ChannelState.Connecting;
      this.#candidates = [address.kind === 'unix' ? address : { ...address }];
      this.#next();
    }
  }

  /** The stream connected or is closing: the clock stops and the other addresses are forgotten. */
  finish(): void {
    this.#timer?.cancel();
    this.#timer = null;
    this.#candidates = [];
  }

  /** The attempt failed with `-negativeErrno`: the next address, or `onConnectError` and the close. */
  failed(negativeErrno: number): void {
    const stream = this.stream;
    if (this.#candidates.length > 0 && stream[kState] === ChannelState.Connecting) {
      stream[kReleaseToken]();
      this.#next();
      return;
    }
    this.#report(systemError(negativeErrno, 'connect', StreamConnectError, this.#attempt ?? undefined));
  }

  #timedOut(): void {
    if (!this.stream.connecting) return;
    this.#candidates = [];
    this.#report(new StreamConnectError(`connect ETIMEDOUT after ${this.timeout} s`, { code: 'ETIMEDOUT', errno: -110, syscall: 'connect' }));
  }

  #resolve(address: Extract<ParsedAddress, { kind: 'inet' }>): void {
    const stream = this.stream;
    lookup(address.host, { all: true, family: address.family === 6 ? 6 : 0 }, (error, addresses: LookupAddress[]) => {
      if (stream[kState] !== ChannelState.Resolving) return;
      if (error || addresses.length === 0) {
        const code = (error as NodeJS.ErrnoException | null)?.code ?? 'ENOTFOUND';
        const failure = new StreamConnectError(`getaddrinfo ${code} ${address.host}`, {
          code,
          errno: (error as NodeJS.ErrnoException | null)?.errno,
          syscall: 'getaddrinfo',
          hostname: address.host,
        });
        stream.engine.callback(() => this.#report(failure));
        return;
      }
      stream[kState] = ChannelState.Connecting;
      const { port, flowinfo, scopeId } = address;
      this.#candidates = addresses.map(({ address: host }) => ({ kind: 'inet', host, port, flowinfo, scopeId }));
      this.#next();
    });
  }

  #next(): void {
    const next = this.#candidates.shift()!;
    const engineId = this.stream[kEngineId];
    this.#attempt = next.kind === 'unix' ? { path: next.path } : { host: next.host, port: next.port };
    this.bind(next.kind === 'unix' ? native.connectUnix(engineId, next.path) : native.connect(engineId, next.host, next.port, next.flowinfo, next.scopeId));
  }

  #report(error: StreamConnectError): void {
    const stream = this.stream;
    if (stream[kClosing]) return;
    stream[kSafely]('onConnectError', stream.onConnectError, error);
    stream.close(false);
  }
}
