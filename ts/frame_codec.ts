/**
 * Framing as pure steps over bytes: no sockets, no engine, no native code.
 *
 * A channel frames RegExp delimiters in JavaScript with
 * {@link nextRegexFrame}, over the bytes the engine holds for it, and turns
 * every frame into `onRead`'s arguments with {@link frameArguments} (a
 * Struct or NetStruct record unpacked, an encoding applied). Every other
 * delimiter is cut in Rust (`pants_core::Framer`, tested there at every
 * chunk size).
 *
 * {@link FrameDecoder} is the same framing over an in-memory buffer, for
 * every delimiter kind: feed it bytes in any pieces, take the frames. It
 * uses the channel's RegExp step and record unpacking as they are, and cuts
 * Struct, NetStruct, byte-count and string delimiters the way the Rust
 * framer does. Tests feed it byte streams at every chunk size
 * (`__test__/framing-chunks.test.ts`), as Twisted's protocol tests do.
 * @internal
 */
import { DelimiterKind } from './contract.js';
import { Framing, framingOf, ReadDelimiter } from './delimiter.js';
import type { NetStruct } from './netstruct.js';

/**
 * The next frame of a RegExp delimiter in `text` (the buffered bytes read
 * as latin1, one char per byte): the match, or `null` when there is no
 * frame yet (no match, or an empty match at the very start). The frame is
 * `text` up to `match.index` (with `regexSearch`) or the match itself
 * (anchored); `match.index + match[0].length` bytes leave the buffer.
 * @internal
 */
export function nextRegexFrame(text: string, framing: Framing, regexSearch: boolean): RegExpExecArray | null {
  const pattern = regexSearch ? framing.search! : framing.anchored!;
  pattern.lastIndex = 0;
  const match = pattern.exec(text);
  return match === null || match.index + match[0].length === 0 ? null : match;
}

/**
 * The arguments `onRead` gets for `frame`: a Struct's or NetStruct's
 * unpacked values, else the frame (decoded with `encoding` when set).
 * @internal
 */
export function frameArguments(framing: Framing, frame: Buffer, encoding: BufferEncoding | null): unknown[] {
  if (framing.record !== null) return framing.record.unpack(frame);
  return [encoding === null ? frame : frame.toString(encoding)];
}

/** Options of a {@link FrameDecoder}: the channel settings of the same names. @internal */
export interface FrameDecoderOptions {
  /** With a RegExp delimiter: search for it (true, default) or match it at the start. */
  regexSearch?: boolean;
  /** Most bytes kept waiting for a frame; more are dropped and counted in `overflows`. Default: no limit. */
  bufferSize?: number;
  /** Decode each frame to a string; default `null`: Buffers. */
  encoding?: BufferEncoding | null;
}

/** Where the next frame lies at the start of a buffer: `length` bytes of frame, `consumed` bytes to drop. */
interface Cut {
  length: number;
  consumed: number;
}

/**
 * Frames bytes by a `readDelimiter` without a socket or an engine: feed it
 * bytes in any pieces, and each complete frame comes out as the argument
 * list a channel's `onRead` would get. For testing protocols and
 * delimiters in memory:
 *
 * ```ts
 * const decoder = new FrameDecoder('\r\n', { encoding: 'latin1' });
 * decoder.feed(Buffer.from('HELO x\r')); // []
 * decoder.feed(Buffer.from('\nQUIT\r\n')); // [['HELO x'], ['QUIT']]
 * ```
 * @internal
 */
export class FrameDecoder {
  readonly #framing: Framing;
  readonly #regexSearch: boolean;
  readonly #bufferSize: number;
  readonly #encoding: BufferEncoding | null;
  #buffered: Buffer = Buffer.alloc(0);
  /** How many times more than `bufferSize` bytes waited without a frame (they were dropped, as a channel's are). */
  overflows = 0;

  /** A decoder for `delimiter` (any `readDelimiter` value; invalid ones throw as on a channel). */
  constructor(delimiter: ReadDelimiter, options: FrameDecoderOptions = {}) {
    this.#framing = framingOf(delimiter);
    this.#regexSearch = options.regexSearch ?? true;
    this.#bufferSize = options.bufferSize ?? Infinity;
    this.#encoding = options.encoding ?? null;
  }

  /** The bytes waiting for the rest of their frame. */
  get pending(): Buffer {
    return this.#buffered;
  }

  /** Adds `bytes` to the buffer and returns every frame now complete, each as `onRead`'s arguments. */
  feed(bytes: Uint8Array): unknown[][] {
    this.#buffered = Buffer.concat([this.#buffered, bytes]);
    const frames: unknown[][] = [];
    for (let frame = this.#next(); frame !== null; frame = this.#next()) frames.push(frame);
    return frames;
  }

  #next(): unknown[] | null {
    const framing = this.#framing;
    const buffered = this.#buffered;
    if (framing.kind === DelimiterKind.External) {
      const match = nextRegexFrame(buffered.toString('latin1'), framing, this.#regexSearch);
      if (match === null) return this.#waiting(this.#bufferSize);
      this.#buffered = buffered.subarray(match.index + match[0].length);
      return this.#regexSearch ? frameArguments(framing, Buffer.from(buffered.subarray(0, match.index)), this.#encoding) : [match];
    }
    const cut = cutFrame(framing, buffered);
    // The Rust framer lets the delimiter itself in beyond bufferSize.
    if (cut === null) return this.#waiting(this.#bufferSize + (framing.kind === DelimiterKind.Sequence ? framing.sequence!.length : 1));
    this.#buffered = buffered.subarray(cut.consumed);
    return frameArguments(framing, Buffer.from(buffered.subarray(0, cut.length)), this.#encoding);
  }

  /** No frame yet: drops the buffer when it holds more than `limit` bytes. */
  #waiting(limit: number): null {
    if (this.#buffered.length > limit) {
      this.overflows += 1;
      this.#buffered = Buffer.alloc(0);
    }
    return null;
  }
}

/** The next frame of a delimiter the engine frames in Rust, cut from the start of `buffered`, or `null`. */
function cutFrame(framing: Framing, buffered: Buffer): Cut | null {
  switch (framing.kind) {
    case DelimiterKind.Chunk:
      return buffered.length > 0 ? { length: buffered.length, consumed: buffered.length } : null;
    case DelimiterKind.Count:
      return buffered.length >= framing.count ? { length: framing.count, consumed: framing.count } : null;
    case DelimiterKind.Sequence: {
      const at = buffered.indexOf(framing.sequence!);
      return at < 0 ? null : { length: at, consumed: at + framing.sequence!.length };
    }
    case DelimiterKind.Records: {
      const length = (framing.record as NetStruct).recordLength(buffered);
      return length < 0 ? null : { length, consumed: length };
    }
    default:
      return null;
  }
}
