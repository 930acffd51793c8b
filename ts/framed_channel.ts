import { logCallbackError, watchCallback } from './callback.js';
import { Channel, ChannelOptions } from './channel.js';
import { describeChannel, trace, TRACING } from './debug.js';
import { framingOf, Framing, ReadDelimiter } from './delimiter.js';
import { frameArguments, nextRegexFrame } from './frame_codec.js';
import { kAdoptFieldSettings, kBindToken, kEngineId, kFrameArrived, kFramePool, kLogAndClose, kOverflowError, kReadFrames, kReading, kSafely, kToken, kUseFraming, kWarnAndClose } from './internal.js';
import { codedError, isPeerError } from './errors.js';
import { DEFAULT_BUFFER_SIZE, DelimiterKind, NEED_SPACE } from './contract.js';
import { frameReadKind, FrameReadKind, frameReadLength, moreInputAfter } from './frame_read.js';
import { native } from './native.js';


/** Settings a subclass may declare as class fields; they are moved onto the accessors. @internal */
export const FRAMING_SETTINGS = ['readDelimiter', 'regexSearch', 'bufferSize', 'encoding', 'readBuffer'] as const;

/**
 * The first of the framing kinds of the HTTP and WebSocket layers, whose
 * requests and messages outlive `onRead`: never read into `readBuffer`.
 */
const FIRST_LAYER_KIND = DelimiterKind.HttpRequest;

/** A bad setting's value, for its error: `5`, `[object Uint16Array]`, `an empty Uint8Array`. */
function describeSetting(value: unknown): string {
  if (value instanceof Uint8Array) return `an empty ${value.constructor.name}`;
  return typeof value === 'object' && value !== null ? Object.prototype.toString.call(value) : String(value);
}

/**
 * A channel that receives bytes and frames them by `readDelimiter` before
 * `onRead`: the common part of `Stream` and `Datagram`.
 *
 * A frame `Buffer` stays valid for as long as you keep it: the engine
 * copies each frame into a pool that is never overwritten. A kept frame
 * keeps its pool alive (16 KiB for frames under 4 KiB, 256 KiB for larger
 * ones): keep copies (`Buffer.from(frame)`) of small frames you hold for
 * long. A handler that is done with each frame when `onRead` returns can
 * set `readBuffer` instead, and have every frame read into the same memory.
 */
export abstract class FramedChannel extends Channel {
  #framing: Framing = framingOf(null);
  #delimiter: ReadDelimiter = null;
  #regexSearch = true;
  #bufferSize = DEFAULT_BUFFER_SIZE;
  #encoding: BufferEncoding | null = null;
  #readBuffer: Uint8Array | null = null;
  /** `readBuffer` as a Buffer over the same memory (frames are its views). */
  #readInto: Buffer | null = null;

  /** A channel of `options.engine`, by default `Engine.instance()`. */
  constructor(options: ChannelOptions = {}) {
    super(options);
  }

  // ----- settings -------------------------------------------------------

  /**
   * How incoming bytes are framed before `onRead` (see `ReadDelimiter`).
   * Assigning inside `onRead` applies to the very next frame. Invalid
   * values throw `TypeError`.
   *
   * What a RegExp costs: it runs on the JavaScript thread, over every byte
   * buffered so far (read as latin1), each time bytes arrive without a
   * match, so one attempt costs up to `bufferSize` bytes of matching; keep
   * `bufferSize` small for peers you do not trust. A pattern that
   * backtracks catastrophically (`/(a+)+b/`) would take time exponential in
   * the peer's bytes and stall every channel of the engine: the package
   * turns on V8's linear-time fallback when it loads
   * (`--enable-experimental-regexp-engine-on-excessive-backtracks`), which
   * bounds such a match to about 50,000 backtracking steps plus one linear
   * pass (30 hostile bytes: about 1 ms instead of a minute; 64 KiB: about
   * 25 ms). V8's linear engine does not handle backreferences, lookahead or
   * lookbehind, the `i` and `u` flags or large counted repetitions (Node 20):
   * a RegExp using them is not bounded, so give such a delimiter only to
   * trusted peers, or frame with a string, a byte count or a Struct.
   */
  get readDelimiter(): ReadDelimiter {
    return this.#delimiter;
  }

  set readDelimiter(value: ReadDelimiter) {
    this[kUseFraming](framingOf(value), value ?? null);
  }

  /** Frames from now on by `framing` (`delimiter`: what `readDelimiter` reads back). @internal */
  [kUseFraming](framing: Framing, delimiter: ReadDelimiter): void {
    this.#framing = framing;
    this.#delimiter = delimiter;
    if (this[kToken] >= 0) native.setDelimiter(this[kEngineId], this[kToken], framing.kind, framing.count, framing.sequence);
  }

  /** With a RegExp delimiter: search for it (true, default) or match it at the start of the buffer (false). */
  get regexSearch(): boolean {
    return this.#regexSearch;
  }

  set regexSearch(value: boolean) {
    this.#regexSearch = Boolean(value);
  }

  /**
   * Most unframed bytes buffered while waiting for a frame (default 65536;
   * per sender for datagrams); more calls `onOverflowError`. Not a positive
   * integer: `TypeError`.
   */
  get bufferSize(): number {
    return this.#bufferSize;
  }

  set bufferSize(value: number) {
    if (!Number.isInteger(value) || value < 1) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `bufferSize must be a positive integer; got ${String(value)}.`);
    }
    this.#bufferSize = value;
    if (this[kToken] >= 0) native.setBufferSize(this[kEngineId], this[kToken], value);
  }

  /** Decode each frame to a string with this encoding; `null` (default) delivers Buffers. */
  get encoding(): BufferEncoding | null {
    return this.#encoding;
  }

  set encoding(value: BufferEncoding | null) {
    if (value !== null && value !== undefined && !Buffer.isEncoding(value)) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `Unknown encoding: ${String(value)}.`);
    }
    this.#encoding = value ?? null;
  }

  /**
   * Memory every frame is read into, reused for the next one, as with
   * node:net's `onread.buffer`: the `Buffer` `onRead` gets is a view of it,
   * valid only until `onRead` returns (strings and Struct values decoded
   * from it are copies). For handlers done with the bytes by then (an echo,
   * a proxy, a parser that copies what it keeps): large reads land in
   * memory that stays in the CPU's cache, not in fresh memory per frame
   * (16 KiB echo: a quarter less CPU per message). Writing the frame on is
   * safe: `write()`, `end()` and `writePacked()` copy what they do not send
   * at once, and a Datagram copies a packet that waits for a hostname.
   * Keeping it, using it after an `await`, or handing it to anything that
   * uses it later (an `HTTPClient` request body) is not: copy it
   * (`Buffer.from(data)`).
   *
   * A frame larger than the buffer arrives in its own memory, as without
   * one: give raw chunks (no `readDelimiter`) at least `bufferSize` bytes.
   * One buffer may serve every channel of an engine (`onRead`s run one at
   * a time). RegExp delimiters, and the HTTP and WebSocket layers (whose
   * requests and messages outlive `onRead`), do not use it. Default `null`:
   * every frame is its own memory, valid for as long as it is kept. Not a
   * non-empty `Uint8Array` or `null`: `TypeError`.
   */
  get readBuffer(): Uint8Array | null {
    return this.#readBuffer;
  }

  set readBuffer(value: Uint8Array | null) {
    if (value === null || value === undefined) {
      this.#readBuffer = this.#readInto = null;
      return;
    }
    if (!(value instanceof Uint8Array) || value.length === 0) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_SETTING', `readBuffer must be a non-empty Uint8Array or null; got ${describeSetting(value)}.`);
    }
    this.#readBuffer = value;
    this.#readInto = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }

  /**
   * Called with each frame. What it receives depends on `readDelimiter`:
   *
   * - `null`: every chunk as it arrives (`Buffer`);
   * - a positive integer `n`: exactly `n` bytes at a time (`Buffer`);
   * - a `string` or `Buffer`: the bytes up to the delimiter, which is dropped (`Buffer`);
   * - a `RegExp` with `regexSearch = true`: the bytes before the first match, which is dropped (`Buffer`);
   * - a `RegExp` with `regexSearch = false`: the `RegExpExecArray` of a match anchored at the start;
   * - a `Struct` or `NetStruct`: the unpacked values as separate arguments, `onRead(a, b, c)`.
   *
   * With `encoding` set, the `Buffer`s above arrive as strings. Declare
   * the parameters your delimiter delivers: `onRead(line: string)`,
   * `onRead(chunk: Buffer)`, `onRead(id: number, name: string)`.
   */
  onRead(data: any, ...more: any[]): void {}

  /** More than `bufferSize` bytes arrived without completing a frame. Default: log it and `close(false)`. */
  onOverflowError(error: Error): void {
    this[kLogAndClose]('onOverflowError', error);
  }

  /**
   * Receiving failed. Default: `close(false)`, after logging the error:
   * one line with `Engine.logger.warn` for an error the peer caused
   * (`code` `'ECONNRESET'`, `'EPIPE'`, `'ECONNABORTED'`, `'ECONNREFUSED'`,
   * `'ETIMEDOUT'`, `'EHOSTUNREACH'`, `'ENETUNREACH'`), else with
   * `Engine.logger.error` and its stack.
   */
  onReadError(error: Error): void {
    if (isPeerError(error)) this[kWarnAndClose]('onReadError', error);
    else this[kLogAndClose]('onReadError', error);
  }

  /** Sending failed. Default: as `onReadError`: a peer's reset is one warn line, anything else an error; then `close(false)`. */
  onWriteError(error: Error): void {
    if (isPeerError(error)) this[kWarnAndClose]('onWriteError', error);
    else this[kLogAndClose]('onWriteError', error);
  }

  // ----- for subclasses -------------------------------------------------

  /** Takes a native token: registers for its events and applies the framing settings. @internal */
  override [kBindToken](token: number): void {
    super[kBindToken](token);
    const framing = this.#framing;
    if (framing.kind !== DelimiterKind.Chunk) native.setDelimiter(this[kEngineId], token, framing.kind, framing.count, framing.sequence);
    if (this.#bufferSize !== DEFAULT_BUFFER_SIZE) native.setBufferSize(this[kEngineId], token, this.#bufferSize);
  }

  /**
   * Settings a subclass declared as class fields shadow the accessors: move
   * them onto them. V8 keeps an object in its fast mode only when the
   * property deleted is the last one added, so the fields from the first
   * setting on come off last first and the others go back in their order
   * (a line echo whose settings were fields ran 36% slower in dictionary
   * mode); a private field declared after a setting still forces that mode.
   * @internal
   */
  [kAdoptFieldSettings](keys: readonly string[] = FRAMING_SETTINGS): void {
    const own = Object.getOwnPropertyNames(this);
    const first = own.findIndex((key) => keys.includes(key));
    if (first < 0) return;
    const self = this as unknown as Record<string, unknown>;
    const moved = own.slice(first).map((key) => ({ key, descriptor: Object.getOwnPropertyDescriptor(this, key)! }));
    const movable = moved.every(({ key, descriptor }) => descriptor.configurable || keys.includes(key));
    const removed = movable ? moved : moved.filter(({ key }) => keys.includes(key));
    for (let index = removed.length - 1; index >= 0; index--) delete self[removed[index].key];
    if (movable) for (const { key, descriptor } of moved) if (!keys.includes(key)) Object.defineProperty(this, key, descriptor);
    for (const key of keys) {
      const setting = moved.find((entry) => entry.key === key);
      if (setting !== undefined) self[key] = setting.descriptor.value;
    }
  }

  /** True while frames should be delivered. @internal */
  abstract get [kReading](): boolean;

  /** Called before each frame is delivered (datagrams set their sender). @internal */
  [kFrameArrived](): void {}

  /** The error `onOverflowError` gets. @internal */
  abstract [kOverflowError](): Error;

  /** Takes every complete frame by the current delimiter and hands it to `onRead`. @internal */
  [kReadFrames](): void {
    const pool = this.engine[kFramePool];
    while (this[kReading]) {
      const framing = this.#framing;
      if (framing.search !== null) {
        if (!this.#readRegexFrame(framing)) return;
        continue;
      }
      // Into readBuffer when there is one and the frame fits, else into the pool.
      const into = framing.kind < FIRST_LAYER_KIND ? this.#readInto : null;
      let result = into === null ? NEED_SPACE : native.readFrame(this[kEngineId], this[kToken], into, 0);
      const pooled = frameReadKind(result) === FrameReadKind.NeedSpace;
      if (pooled) result = this.#readIntoPool(native.readFrame);
      switch (frameReadKind(result)) {
        case FrameReadKind.Frame: {
          const length = frameReadLength(result);
          this.#deliver(pooled ? pool.take(length) : into!.subarray(0, length), framing);
          if (!moreInputAfter(result)) return; // nothing left buffered
          break;
        }
        case FrameReadKind.Overflow:
          this.#overflow();
          break;
        case FrameReadKind.Incomplete:
        default: // (never NeedSpace: #readIntoPool made room)
          return;
      }
    }
  }

  /**
   * `read` (readFrame or peekInput) into the frame pool; when the frame
   * needs more room than the pool has, makes room and reads again.
   * @returns the result, never a NeedSpace one.
   */
  #readIntoPool(read: typeof native.readFrame): number {
    const pool = this.engine[kFramePool];
    let result = read(this[kEngineId], this[kToken], pool.buffer, pool.offset);
    while (frameReadKind(result) === FrameReadKind.NeedSpace) {
      pool.reserve(frameReadLength(result));
      result = read(this[kEngineId], this[kToken], pool.buffer, pool.offset);
    }
    return result;
  }

  #deliver(frame: Buffer, framing: Framing): void {
    this[kFrameArrived]();
    if (TRACING) trace(`${describeChannel(this)}: a frame of ${frame.length} bytes for onRead`);
    try {
      const result: unknown =
        framing.record === null && this.#encoding === null ? this.onRead(frame) : this.onRead(...(frameArguments(framing, frame, this.#encoding) as [unknown]));
      if (result !== undefined) watchCallback(result, this, 'onRead');
    } catch (error) {
      logCallbackError(this, 'onRead', error);
    }
  }

  /** Frames one match of a RegExp delimiter over the buffered bytes (latin1); false when there is none. */
  #readRegexFrame(framing: Framing): boolean {
    const pool = this.engine[kFramePool];
    const result = this.#readIntoPool(native.peekInput);
    const length = frameReadLength(result);
    if (frameReadKind(result) !== FrameReadKind.Frame || length === 0) return false;
    const text = pool.buffer.toString('latin1', pool.offset, pool.offset + length);
    const match = nextRegexFrame(text, framing, this.#regexSearch);
    if (match === null) {
      if (length > this.#bufferSize) {
        this.#overflow();
        return true;
      }
      // No frame in these bytes; a datagram channel moves on to its next packet.
      native.consumeInput(this[kEngineId], this[kToken], 0);
      return native.pendingInput(this[kEngineId], this[kToken]) > length;
    }
    native.consumeInput(this[kEngineId], this[kToken], match.index + match[0].length);
    if (this.#regexSearch) {
      this.#deliver(pool.take(match.index), framing);
    } else {
      this[kFrameArrived]();
      try {
        const result: unknown = this.onRead(match);
        if (result !== undefined) watchCallback(result, this, 'onRead');
      } catch (error) {
        logCallbackError(this, 'onRead', error);
      }
    }
    return true;
  }

  /** Reports an overflow, then discards the unframed bytes (if the handler left the channel open). */
  #overflow(): void {
    this[kFrameArrived]();
    this[kSafely]('onOverflowError', this.onOverflowError, this[kOverflowError]());
    if (this[kToken] >= 0) native.discardInput(this[kEngineId], this[kToken]);
  }
}
