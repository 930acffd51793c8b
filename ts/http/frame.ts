/**
 * Request frames as the engine cuts them (crates/pants-core/src/http/framer.rs):
 * little-endian u32 words (status, flags, header count, head and body
 * lengths, method and target spans, then name and value spans per header),
 * the head's bytes, then the body's. Strings are made only when read.
 */
import { HTTPHeaders } from './headers.js';

/** Flags of word 1. @internal */
export const enum FrameFlag {
  Http11 = 1,
  KeepAlive = 2,
  ExpectContinue = 4,
  Upgrade = 8,
  Chunked = 16,
}

/** Words before the header spans. */
const FIXED_WORDS = 9;

/** Methods most requests use. */
const COMMON_METHODS = ['GET', 'POST', 'HEAD'];

/** True when the ASCII `text` is at `start` of `bytes`. */
function isAt(bytes: Buffer, start: number, text: string): boolean {
  for (let n = 0; n < text.length; n++) if (bytes[start + n] !== text.charCodeAt(n)) return false;
  return true;
}

/** A request frame read lazily. @internal */
export class RequestFrame {
  readonly #frame: Buffer;
  readonly #headStart: number;
  #method: string | null = null;
  #headers: HTTPHeaders | null = null;

  constructor(frame: Buffer) {
    this.#frame = frame;
    this.#headStart = 4 * (FIXED_WORDS + 4 * this.headerCount);
  }

  #word(at: number): number {
    return this.#frame.readUInt32LE(4 * at);
  }

  /** The status of a refused request (400, 413, 431, 501, 505, 417), else 0. */
  get refusal(): number {
    return this.#word(0);
  }

  /** Word 1. */
  get flags(): number {
    return this.#word(1);
  }

  get headerCount(): number {
    return this.#frame.length > 4 ? this.#word(2) : 0;
  }

  #span(at: number): string {
    const start = this.#headStart + this.#word(at);
    return this.#frame.toString('latin1', start, start + this.#word(at + 1));
  }

  get method(): string {
    return (this.#method ??= this.#commonMethod() ?? this.#span(5));
  }

  /** The method when it is one of `COMMON_METHODS`, compared in place: no string is made. */
  #commonMethod(): string | null {
    const start = this.#headStart + this.#word(5);
    const length = this.#word(6);
    for (const name of COMMON_METHODS) if (name.length === length && isAt(this.#frame, start, name)) return name;
    return null;
  }

  /** The request target as sent. */
  get target(): string {
    return this.#span(7);
  }

  /** Headers, names and values as latin1 (the bytes as sent), made on first use. */
  get headers(): HTTPHeaders {
    if (this.#headers === null) {
      const headers = new HTTPHeaders();
      for (let n = 0; n < this.headerCount; n++) headers.append(this.#span(FIXED_WORDS + 4 * n), this.#span(FIXED_WORDS + 4 * n + 2));
      this.#headers = headers;
    }
    return this.#headers;
  }

  /** Forgets the headers made from the frame (they are made again if read): a long-lived request keeps only its bytes. */
  forgetHeaders(): void {
    this.#headers = null;
  }

  /** The body, a view of the frame. */
  get body(): Buffer {
    const start = this.#headStart + this.#word(3);
    return this.#frame.subarray(start, start + this.#word(4));
  }
}
