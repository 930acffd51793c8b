/**
 * The stream under a client `WebSocket`: it connects, sends the opening
 * handshake, checks the answer, then switches to the engine's WebSocket
 * framing and hands every message to its socket.
 * @internal
 */
import type { Engine } from '../engine.js';
import { codedError } from '../errors.js';
import { kEngineId, kToken, kUseFraming } from '../internal.js';
import { native } from '../native.js';
import { Stream } from '../stream.js';
import { FRAME_SLACK, kCarrierClosed, kDrained, kMessage, kQuiet, messageFraming, MessageSink, WsFlag } from './upgrade.js';
import { Agreement, checkAnswer, DEFLATE_OFFER, newKey, parseAnswerHead } from './websocket_handshake.js';

/** The handshake is done: the socket opens. */
export const kHandshakeDone = Symbol('pants.wsHandshakeDone');
/** The connect or the handshake failed. */
export const kHandshakeFailed = Symbol('pants.wsHandshakeFailed');

/** What a client carrier reports to its socket. */
export interface HandshakeOwner extends MessageSink {
  [kHandshakeDone](carrier: Stream, agreement: Agreement): void;
  [kHandshakeFailed](error: Error): void;
}

/** What the handshake offers. */
export interface ClientOffer {
  engine: Engine;
  maxPayload: number;
  protocols: readonly string[];
  compression: boolean;
}

/** Most bytes of the server's answer head. */
const MAX_ANSWER_HEAD = 16384;

function handshakeFailure(message: string): Error {
  return codedError(Error, 'ERR_PANTS_WS_HANDSHAKE', message);
}

/** The client's stream: the handshake, then messages for its socket. */
export class ClientCarrier extends Stream {
  readonly #owner: HandshakeOwner;
  readonly #offer: ClientOffer;
  readonly #key = newKey();
  readonly #request: string;
  #open = false;

  constructor(owner: HandshakeOwner, url: URL, offer: ClientOffer) {
    super({ engine: offer.engine });
    this.#owner = owner;
    this.#offer = offer;
    const defaultPort = url.protocol === 'wss:' ? '443' : '80';
    const host = url.port === '' || url.port === defaultPort ? url.hostname : `${url.hostname}:${url.port}`;
    let request =
      `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${this.#key}\r\nSec-WebSocket-Version: 13\r\n`;
    if (offer.protocols.length > 0) request += `Sec-WebSocket-Protocol: ${offer.protocols.join(', ')}\r\n`;
    if (offer.compression) request += `Sec-WebSocket-Extensions: ${DEFLATE_OFFER}\r\n`;
    this.#request = `${request}\r\n`;
  }

  override onConnect(): void {
    this.readDelimiter = '\r\n\r\n';
    this.bufferSize = MAX_ANSWER_HEAD;
    this.write(this.#request);
  }

  override onRead(frame: Buffer): void {
    if (this.#open) {
      this.#owner[kMessage](frame);
      return;
    }
    const head = parseAnswerHead(frame.toString('latin1'));
    const { protocols, compression, maxPayload } = this.#offer;
    const agreement = head === null ? 'the server answered with something that is not HTTP' : checkAnswer(head, this.#key, protocols, compression);
    if (typeof agreement === 'string') {
      this.#owner[kHandshakeFailed](handshakeFailure(agreement));
      return;
    }
    this.#open = true;
    // Drain notices only after a write above the high-water mark (the socket asks for them).
    native.setNotifyDrain(this[kEngineId], this[kToken], false);
    this.bufferSize = maxPayload + FRAME_SLACK;
    this[kUseFraming](messageFraming(maxPayload, WsFlag.Client | agreement.flags), null);
    this.#owner[kHandshakeDone](this, agreement);
  }

  override onWrite(): void {
    if (this.#open) this.#owner[kDrained]();
  }

  override onTimeout(): void {
    if (this.#open) this.#owner[kQuiet]();
  }

  override onClose(error: Error | null): void {
    if (!this.#open) this.#owner[kHandshakeFailed](error ?? handshakeFailure('the server closed the connection during the handshake'));
    this.#owner[kCarrierClosed](error);
  }

  override onConnectError(error: Error): void {
    this.#owner[kHandshakeFailed](error);
  }

  override onSslHandshakeError(error: Error): void {
    this.#owner[kHandshakeFailed](error);
  }

  override onOverflowError(): void {
    if (this.#open) this.close(false);
    else this.#owner[kHandshakeFailed](handshakeFailure('the answer to the handshake is too large'));
  }
}
