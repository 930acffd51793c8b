/**
 * Response frames as the engine cuts them on a client connection
 * (crates/pants-core/src/http/response_framer.rs): a little-endian u32 kind,
 * then for a whole response or a head the flags, header count, head and body
 * lengths, status, reason span and header spans, the head's bytes and the
 * body's; for a body piece, its bytes. Strings are made only when read.
 */
import { DelimiterKind } from '../contract.js';
import type { Framing } from '../delimiter.js';
import { HTTPHeaders } from './headers.js';

/** Word 0 of a response frame. @internal */
export const enum ResponseFrameKind {
  /** A whole response. */
  Response = 0,
  /** A head; body frames follow. */
  Head = 1,
  /** A piece of the body. */
  Body = 2,
  /** The last piece of the body. */
  End = 3,
  /** Not an HTTP/1.x response. */
  Malformed = 4,
  /** Head or body over the limit. */
  TooLarge = 5,
  /** The connection closed before the body ended. */
  Truncated = 6,
}

/** Flags of word 1 (as the request frame's). @internal */
export const enum ResponseFlag {
  Http11 = 1,
  KeepAlive = 2,
  Chunked = 16,
}

/** Words before the header spans. */
const FIXED_WORDS = 8;

/** The framing for the response to one request: head limit, body limit, and whether it was `HEAD`. @internal */
export function responseFraming(maxHead: number, maxBody: number, headRequest: boolean): Framing {
  const sequence = new Uint8Array(5);
  new DataView(sequence.buffer).setUint32(0, maxHead, true);
  sequence[4] = headRequest ? 1 : 0;
  return { kind: DelimiterKind.HttpResponse, count: maxBody, sequence, record: null, search: null, anchored: null };
}

/** The kind of a frame. @internal */
export function frameKind(frame: Buffer): ResponseFrameKind {
  return frame.readUInt32LE(0) as ResponseFrameKind;
}

/** A response or head frame read lazily. @internal */
export class ResponseFrame {
  readonly #frame: Buffer;
  readonly #headStart: number;

  constructor(frame: Buffer) {
    this.#frame = frame;
    this.#headStart = 4 * (FIXED_WORDS + 4 * this.#word(2));
  }

  #word(at: number): number {
    return this.#frame.readUInt32LE(4 * at);
  }

  #span(at: number): string {
    const start = this.#headStart + this.#word(at);
    return this.#frame.toString('latin1', start, start + this.#word(at + 1));
  }

  get flags(): number {
    return this.#word(1);
  }

  get status(): number {
    return this.#word(5);
  }

  get reason(): string {
    return this.#span(6);
  }

  /** Headers, names and values as latin1 (the bytes as sent). */
  headers(): HTTPHeaders {
    const headers = new HTTPHeaders();
    for (let n = 0; n < this.#word(2); n++) headers.append(this.#span(FIXED_WORDS + 4 * n), this.#span(FIXED_WORDS + 4 * n + 2));
    return headers;
  }

  /** The body in this frame (a view of it). */
  get body(): Buffer {
    const start = this.#headStart + this.#word(3);
    return this.#frame.subarray(start, start + this.#word(4));
  }
}
