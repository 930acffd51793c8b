/**
 * TLS on one stream: the context it runs with, the handshake's clock, the
 * answer to a client's server name (`SNICallback`), and what the handshake
 * settled (protocol, version, the peer's certificate).
 * @internal
 */
import { Channel, ChannelState } from './channel.js';
import { kEngineId, kSafely, kState, kToken } from './internal.js';
import { native } from './native.js';
import type { Timer } from './timer.js';
import { PeerCertificate, peerCertificateOf, SniContext, sniContext, TlsContext, TlsVersion } from './tls.js';

/** The stream TLS runs on (a `Stream`; named by what is used, so this file need not import stream.ts). */
interface TlsStream extends Channel {
  onSslHandshakeError(error: Error): void;
}

export class StreamTls {
  /** The peer's certificate once read after the handshake (what was read stays readable after the close); `undefined`: not read yet. */
  #peerCertificate: PeerCertificate | null | undefined = undefined;
  /** The error an `SNICallback` answered with, for `onSslHandshakeError`. */
  #servernameError: Error | null = null;
  /** Ends a handshake that takes longer than the context's `handshakeTimeout`. */
  #handshakeTimer: Timer | null = null;

  constructor(
    private readonly stream: TlsStream,
    readonly context: TlsContext,
  ) {}

  /** Starts TLS on the stream's connection; `host`: the server name a client sends unless `servername` was given. */
  begin(host: string): void {
    const stream = this.stream;
    native.startTls(stream[kEngineId], stream[kToken], this.context.id, this.context.servername ?? host);
    if (stream[kState] === ChannelState.Open) this.armHandshakeTimer();
  }

  /** Starts the handshake's clock (once connected: connecting has its own timeout). */
  armHandshakeTimer(): void {
    this.#handshakeTimer = this.stream.engine.defer(this.context.handshakeTimeout, () => this.#handshakeTimedOut());
  }

  cancelHandshakeTimer(): void {
    this.#handshakeTimer?.cancel();
    this.#handshakeTimer = null;
  }

  #handshakeTimedOut(): void {
    this.#handshakeTimer = null;
    const stream = this.stream;
    if (stream[kState] !== ChannelState.Open) return;
    const error = Object.assign(new Error('TLS handshake timeout'), { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' });
    stream[kSafely]('onSslHandshakeError', stream.onSslHandshakeError, error);
    stream.close(false);
  }

  /** The client named a server: `SNICallback` chooses the certificate; the handshake waits for its answer. */
  askServername(): void {
    const engineId = this.stream[kEngineId];
    const token = this.stream[kToken];
    const context = this.context;
    let answered = false;
    const answer = (error: Error | null, chosen?: SniContext | null): void => {
      if (answered || this.stream[kToken] !== token) return;
      answered = true;
      try {
        if (error) {
          this.#servernameError = error instanceof Error ? error : new Error(String(error));
          native.answerServername(engineId, token, null, true);
        } else {
          native.answerServername(engineId, token, chosen == null ? null : sniContext(context, chosen).id, false);
        }
      } catch (failure) {
        this.#servernameError = failure instanceof Error ? failure : new Error(String(failure));
        native.answerServername(engineId, token, null, true);
      }
    };
    try {
      context.sniCallback!(native.tlsServername(engineId, token) ?? '', answer);
    } catch (error) {
      answer(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** The error of a failed handshake or TLS session: what `SNICallback` answered, else what the engine reports. */
  takeError(): Error {
    if (this.#servernameError !== null) {
      const error = this.#servernameError;
      this.#servernameError = null;
      return error;
    }
    const [code, message] = native.tlsFailure(this.stream[kEngineId], this.stream[kToken]) ?? ['ERR_SSL_HANDSHAKE_FAILURE', 'TLS failed'];
    return Object.assign(new Error(message), { code });
  }

  /** The protocol ALPN agreed on, else `null`. */
  get alpnProtocol(): string | null {
    const stream = this.stream;
    return stream[kToken] >= 0 ? native.alpnProtocol(stream[kEngineId], stream[kToken]) : null;
  }

  /** The version the handshake agreed on once it is done, else `null`. */
  get version(): TlsVersion | null {
    const stream = this.stream;
    return stream[kToken] >= 0 ? (native.tlsVersion(stream[kEngineId], stream[kToken]) as TlsVersion | null) : null;
  }

  /** The peer's certificate once the handshake is done (`null`: it sent none, or the handshake runs). */
  get peerCertificate(): PeerCertificate | null {
    if (this.#peerCertificate !== undefined) return this.#peerCertificate;
    const stream = this.stream;
    if (stream[kToken] < 0) return null;
    if (native.tlsVersion(stream[kEngineId], stream[kToken]) === null) return null; // the handshake runs
    const fields = native.peerCertificate(stream[kEngineId], stream[kToken]);
    this.#peerCertificate = fields === null ? null : peerCertificateOf(fields);
    return this.#peerCertificate;
  }
}
