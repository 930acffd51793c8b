/**
 * Variable-length records in the format of the Python `netstruct` library.
 *
 * @packageDocumentation
 */

import { codedError } from './errors.js';
import { Struct } from './struct.js';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Flag bit of a {@link NetStruct.frameLayout} length field: little endian. */
const FLAG_LITTLE_ENDIAN = 1;
/** Flag bit of a {@link NetStruct.frameLayout} length field: signed. */
const FLAG_SIGNED = 2;

/** A code that may give the length of a `$` string: [byte size, signed]. */
type LengthCode = readonly [number, boolean];

/** Integer codes allowed before `$` with standard sizes (`!`, `<`, `>`, `=`, no prefix). */
const STANDARD_LENGTH_CODES: Readonly<Record<string, LengthCode>> = {
  b: [1, true],
  B: [1, false],
  h: [2, true],
  H: [2, false],
  i: [4, true],
  I: [4, false],
  l: [4, true],
  L: [4, false],
  q: [8, true],
  Q: [8, false],
};

/** Integer codes allowed before `$` in native (`@`) mode, Linux x86-64 sizes. */
const NATIVE_LENGTH_CODES: Readonly<Record<string, LengthCode>> = {
  ...STANDARD_LENGTH_CODES,
  l: [8, true],
  L: [8, false],
  n: [8, true],
  N: [8, false],
  P: [8, false],
};

/** Largest string length each (size, signedness) of length field can carry. */
function maxLength(size: number, signed: boolean): number {
  // 8-byte fields hold more than any Buffer can: no practical limit.
  if (size >= 8) return Number.MAX_SAFE_INTEGER;
  return 2 ** (size * 8 - (signed ? 1 : 0)) - 1;
}

function isDigit(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `[object ${(v as object).constructor?.name ?? 'Object'}]`;
  if (typeof v === 'string') return 'string';
  return `${typeof v} ${String(v)}`;
}

/** Read a length field as a number (exact below 2**53, monotonic above). */
function readLength(b: Uint8Array, o: number, size: number, le: boolean, signed: boolean): number {
  switch (size) {
    case 1:
      return signed ? (b[o] << 24) >> 24 : b[o];
    case 2: {
      const v = le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
      return signed ? (v << 16) >> 16 : v;
    }
    case 4: {
      const v = le
        ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
        : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
      return signed ? v : v >>> 0;
    }
    default: {
      // Two 32-bit words; the high one carries the sign.
      const hiAt = le ? o + 4 : o;
      const loAt = le ? o : o + 4;
      const high = le
        ? b[hiAt] | (b[hiAt + 1] << 8) | (b[hiAt + 2] << 16) | (b[hiAt + 3] << 24)
        : (b[hiAt] << 24) | (b[hiAt + 1] << 16) | (b[hiAt + 2] << 8) | b[hiAt + 3];
      const low = le
        ? b[loAt] | (b[loAt + 1] << 8) | (b[loAt + 2] << 16) | (b[loAt + 3] << 24)
        : (b[loAt] << 24) | (b[loAt + 1] << 16) | (b[loAt + 2] << 8) | b[loAt + 3];
      return (signed ? high : high >>> 0) * 4294967296 + (low >>> 0);
    }
  }
}

function toView(buffer: unknown, format: string): Uint8Array {
  if (buffer instanceof Uint8Array) return buffer;
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw codedError(TypeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER', `NetStruct ${JSON.stringify(format)}: expected a Buffer or Uint8Array, got ${describe(buffer)}`);
}

/** Below this many bytes a plain loop beats `set()` / `Buffer.from()`. */
const SMALL_COPY = 32;

/** Copy `n` bytes of `src` from `from` into `dst` at `to`. */
function copyBytes(dst: Uint8Array, to: number, src: Uint8Array, from: number, n: number): void {
  if (n > SMALL_COPY) dst.set(from === 0 && n === src.length ? src : src.subarray(from, from + n), to);
  else for (let k = 0; k < n; k++) dst[to + k] = src[from + k];
}

/** A fresh Buffer holding `n` bytes of `src` from `from`. */
function copyOut(src: Uint8Array, from: number, n: number): Buffer {
  if (n > SMALL_COPY) return Buffer.from(src.subarray(from, from + n));
  const out = Buffer.allocUnsafe(n);
  for (let k = 0; k < n; k++) out[k] = src[from + k];
  return out;
}

/**
 * A compiled format of the Python
 * [`netstruct`](https://pypi.org/project/netstruct/) library: a
 * {@link Struct} format that may also contain variable-length byte strings.
 *
 * ## Format
 * - **Byte order**: the first character may be `@`, `=`, `<`, `>` or `!` as
 *   for {@link Struct}; without one the format uses **network byte order**
 *   (`!`), not native order as {@link Struct} does.
 * - **`$`** is a byte string whose length is the integer code written just
 *   before it (`b B h H i I l L q Q`, and `n N P` in native `@` mode).
 *   That length is not a value of its own: {@link NetStruct.pack} computes
 *   it from the string, and {@link NetStruct.unpack} consumes it, returning
 *   only the string. `'ih$5b'` takes and returns `[i, bytes, b, b, b, b, b]`.
 *   Several `$` may appear (`'b$b$'`). The `$` must directly follow its
 *   integer code, which takes no repeat count.
 * - Every other code means what it means to {@link Struct}. As in `netstruct`,
 *   the format behaves as independent Struct pieces cut after each `$`, each
 *   with the format's byte order; in native `@` mode alignment therefore
 *   restarts after every string (`'@b$bi'` has 3 pad bytes after the second
 *   `b`, counted from the end of the string).
 *
 * ## Values
 * As for {@link Struct} (numbers, `bigint` for 8-byte integers, `Buffer`s for
 * `c`, `s`, `p`). A `$` value is a `Buffer`/`Uint8Array` or a `string`
 * (written as UTF-8); it unpacks to a fresh `Buffer`.
 *
 * ## Errors
 * - `TypeError`: a malformed format — including a `$` that is first, follows
 *   another `$` or a non-integer code, or whose integer code has a repeat
 *   count (`'2h$'`) — a wrong number of values, or a value of the wrong type;
 * - `RangeError`: a string longer than its length field can describe (e.g.
 *   128 bytes for `b$`), an out-of-range value, a negative length met while
 *   unpacking or framing, or a buffer that is not exactly one record.
 *
 * @example
 * ```ts
 * const msg = new NetStruct('ih$5b');
 * const bytes = msg.pack(7, Buffer.from('hey'), 1, 2, 3, 4, 5);
 * // <Buffer 00 00 00 07 00 03 68 65 79 01 02 03 04 05>
 * msg.unpack(bytes);         // [7, <Buffer 68 65 79>, 1, 2, 3, 4, 5]
 * msg.recordLength(bytes);   // 14
 * msg.minimumSize;           // 11
 * ```
 */
export class NetStruct {
  /** The format string, exactly as passed to the constructor. */
  readonly format: string;
  /**
   * Size in bytes of a record whose `$` strings are all empty, like
   * `netstruct.NetStruct(format).minimum_size`.
   *
   * @example
   * ```ts
   * new NetStruct('ih$5b').minimumSize; // 11
   * ```
   */
  readonly minimumSize: number;

  /** Number of values taken by pack and returned by unpack. */
  private readonly _count: number;
  private readonly _le: boolean;
  /**
   * One Struct for all the fixed parts, laid out one after the other (in
   * native mode each starting at a multiple of 8, so that alignment inside a
   * part is the same as when the part is compiled alone). Its values are the
   * record's values with each `$` string replaced by its length.
   */
  private readonly _fixed: Struct;
  /** `_fixed` itself when the format has no `$`: pack/unpack go straight to it. */
  private readonly _simple: Struct | null;
  /** Reused buffer of `_fixed.size` bytes where unpack gathers the fixed parts. */
  private readonly _scratch: Buffer;
  /** Reused by unpack: where each segment's string starts in the record, and its length. */
  private readonly _stringAt: Float64Array;
  private readonly _stringLen: Float64Array;
  // Per segment (a fixed part and the `$` string after it, if any):
  /** Offset of the fixed part in `_fixed`. */
  private readonly _segStart: readonly number[];
  /** Fixed bytes of the segment. */
  private readonly _segSize: readonly number[];
  /** Offset of the length field within the segment, -1 when no `$` follows. */
  private readonly _lenOffset: readonly number[];
  /** Length field size in bytes, 0 when no `$` follows. */
  private readonly _lenSize: readonly number[];
  private readonly _lenSigned: readonly boolean[];
  /** Longest string the length field can describe. */
  private readonly _maxLength: readonly number[];
  /** Index of the `$` value in the record's values, -1 when no `$` follows. */
  private readonly _stringIndex: readonly number[];
  private readonly _layout: readonly number[];

  /**
   * Parse and compile a netstruct format.
   *
   * @param format - e.g. `'ih$5b'`, `'<B$H$'`, `'!Q$'`.
   * @throws TypeError if `format` is not a string or is malformed.
   *
   * @example
   * ```ts
   * const header = new NetStruct('<H$');  // a little-endian 16-bit length, then the bytes
   * new NetStruct('c$');                  // TypeError: `$` needs an integer code before it
   * ```
   */
  constructor(format: string) {
    if (typeof format !== 'string') {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_FORMAT', `NetStruct format must be a string, got ${describe(format)}`);
    }
    this.format = format;
    const bad = (why: string): TypeError => codedError(TypeError, 'ERR_PANTS_INVALID_FORMAT', `bad netstruct format ${JSON.stringify(format)}: ${why}`);

    let order = '!';
    let body = format;
    if (format.length > 0 && '@=<>!'.includes(format[0])) {
      order = format[0];
      body = format.slice(1);
    }
    const native = order === '@';
    const le = order === '<' || ((order === '@' || order === '=') && HOST_LITTLE_ENDIAN);
    const lengthCodes = native ? NATIVE_LENGTH_CODES : STANDARD_LENGTH_CODES;
    const codeList = Object.keys(lengthCodes).join(' ');

    const segStart: number[] = [];
    const segSize: number[] = [];
    const lenOffset: number[] = [];
    const lenSize: number[] = [];
    const lenSigned: boolean[] = [];
    const maxLengths: number[] = [];
    const stringIndex: number[] = [];
    const layout: number[] = [];
    let fixedFormat = order;
    let fixedSize = 0;
    let count = 0;
    let minimumSize = 0;

    const pieces = body.split('$');
    let textPos = format.length - body.length;
    for (let k = 0; k < pieces.length; k++) {
      const text = pieces[k];
      const hasString = k < pieces.length - 1;
      const dollarAt = textPos + text.length;
      let size = 0;
      let signed = false;
      if (hasString) {
        const code = text.length > 0 ? text[text.length - 1] : '';
        if (code === '') throw bad(`'$' at position ${dollarAt} must follow an integer code (${codeList})`);
        if (!Object.prototype.hasOwnProperty.call(lengthCodes, code)) {
          throw bad(`'$' at position ${dollarAt} follows ${JSON.stringify(code)}, not an integer code (${codeList})`);
        }
        if (text.length > 1 && isDigit(text[text.length - 2])) {
          throw bad(`the length code before '$' at position ${dollarAt} must not have a repeat count`);
        }
        [size, signed] = lengthCodes[code];
      }

      let piece: Struct;
      try {
        piece = new Struct(order + text);
      } catch (e) {
        throw bad(`piece ${JSON.stringify(text)} (at position ${textPos}): ${(e as Error).message}`);
      }
      textPos = dollarAt + 1;
      // Unpacking zero bytes never fails and yields one value per item.
      const items = piece.unpack(Buffer.alloc(piece.size)).length;
      if (!hasString && items === 0 && piece.size === 0) continue; // e.g. the empty tail of 'b$'

      if (native && fixedSize % 8 !== 0) {
        const pad = 8 - (fixedSize % 8);
        fixedFormat += `${pad}x`;
        fixedSize += pad;
      }
      fixedFormat += text;
      segStart.push(fixedSize);
      segSize.push(piece.size);
      lenOffset.push(hasString ? piece.size - size : -1);
      lenSize.push(size);
      lenSigned.push(signed);
      maxLengths.push(hasString ? maxLength(size, signed) : 0);
      stringIndex.push(hasString ? count + items - 1 : -1);
      if (hasString || piece.size > 0) {
        layout.push(
          piece.size,
          hasString ? piece.size - size : -1,
          size,
          hasString ? (le ? FLAG_LITTLE_ENDIAN : 0) | (signed ? FLAG_SIGNED : 0) : 0,
        );
      }
      fixedSize += piece.size;
      count += items;
      minimumSize += piece.size;
    }

    const fixed = new Struct(fixedFormat);
    if (fixed.size !== fixedSize || fixed.unpack(Buffer.alloc(fixed.size)).length !== count) {
      throw new Error(`NetStruct ${JSON.stringify(format)}: internal error compiling ${JSON.stringify(fixedFormat)}`);
    }
    this.minimumSize = minimumSize;
    this._count = count;
    this._le = le;
    this._fixed = fixed;
    this._simple = stringIndex.every((i) => i < 0) ? fixed : null;
    this._scratch = Buffer.alloc(fixed.size);
    this._stringAt = new Float64Array(segSize.length);
    this._stringLen = new Float64Array(segSize.length);
    this._segStart = segStart;
    this._segSize = segSize;
    this._lenOffset = lenOffset;
    this._lenSize = lenSize;
    this._lenSigned = lenSigned;
    this._maxLength = maxLengths;
    this._stringIndex = stringIndex;
    this._layout = layout;
  }

  /**
   * Pack values into a new `Buffer`, like `netstruct.pack(format, *values)`.
   * The length before each `$` is not passed: it is the string's byte length.
   *
   * @param values - one value per item of the format, the `$` strings
   *   included and their lengths excluded.
   * @returns the packed record.
   * @throws TypeError if the number of values is wrong or a value has the
   *   wrong type (a `$` value must be a `Buffer`, `Uint8Array` or string).
   * @throws RangeError if a string is too long for its length code, or a
   *   value is out of range for its code.
   *
   * @example
   * ```ts
   * new NetStruct('b$b$').pack('hi', Buffer.from([1, 2, 3]));
   * // <Buffer 02 68 69 03 01 02 03>
   * ```
   */
  pack(...values: unknown[]): Buffer {
    if (values.length !== this._count) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_PACK_VALUE',
        `NetStruct ${JSON.stringify(this.format)}: pack expected ${this._count} value(s), got ${values.length}`,
      );
    }
    if (this._simple !== null) return this._packFixed(values);
    const stringIndex = this._stringIndex;
    const n = stringIndex.length;
    // `values` is this call's own rest array: put each string's length in its place.
    const strings: unknown[] = new Array(n);
    let total = this.minimumSize;
    for (let k = 0; k < n; k++) {
      const at = stringIndex[k];
      if (at < 0) continue;
      const v = values[at];
      let len: number;
      if (v instanceof Uint8Array) len = v.length;
      else if (typeof v === 'string') len = Buffer.byteLength(v, 'utf8');
      else {
        throw codedError(TypeError, 'ERR_PANTS_INVALID_PACK_VALUE',
          `NetStruct ${JSON.stringify(this.format)}: value at index ${at} for '$' (${describe(v)}): ` +
            'expected a Buffer, Uint8Array or string',
        );
      }
      if (len > this._maxLength[k]) {
        throw codedError(RangeError, 'ERR_PANTS_INVALID_PACK_VALUE',
          `NetStruct ${JSON.stringify(this.format)}: value at index ${at} for '$' is ${len} bytes long, ` +
            `more than its length field can hold (${this._maxLength[k]})`,
        );
      }
      strings[k] = v;
      values[at] = len;
      total += len;
    }
    const fixed = this._packFixed(values);
    const out = Buffer.allocUnsafe(total);
    const segStart = this._segStart;
    const segSize = this._segSize;
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const size = segSize[k];
      copyBytes(out, pos, fixed, segStart[k], size);
      pos += size;
      const s = strings[k];
      if (s === undefined) continue;
      if (typeof s === 'string') pos += out.write(s, pos, 'utf8');
      else {
        const bytes = s as Uint8Array;
        copyBytes(out, pos, bytes, 0, bytes.length);
        pos += bytes.length;
      }
    }
    return out;
  }

  /**
   * Unpack exactly one record, like `netstruct.unpack(format, buffer)`
   * (which, unlike this method, ignores trailing bytes).
   *
   * @param buffer - the record's bytes (any `ArrayBufferView` is accepted).
   * @returns one value per item, the `$` lengths left out: numbers, `bigint`
   *   for 8-byte integers, booleans for `?`, fresh `Buffer`s for `c`, `s`,
   *   `p` and `$`.
   * @throws TypeError if `buffer` is not a byte buffer.
   * @throws RangeError if `buffer` is not exactly one record long, or a
   *   length field is negative.
   *
   * @example
   * ```ts
   * new NetStruct('b$').unpack(Buffer.from('\x05hello', 'latin1')); // [<Buffer 68 65 6c 6c 6f>]
   * ```
   */
  unpack(buffer: Uint8Array): unknown[] {
    const b = toView(buffer, this.format);
    const len = b.length;
    const simple = this._simple;
    if (simple !== null) {
      if (len !== simple.size) throw this._lengthError(len, len < simple.size ? -1 : simple.size);
      return simple.unpack(b);
    }
    // Gather the fixed parts into the scratch buffer, noting where strings lie.
    const scratch = this._scratch;
    const segStart = this._segStart;
    const segSize = this._segSize;
    const lenSize = this._lenSize;
    const n = segSize.length;
    const stringAt = this._stringAt;
    const stringLen = this._stringLen;
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const size = segSize[k];
      if (pos + size > len) throw this._lengthError(len, -1);
      copyBytes(scratch, segStart[k], b, pos, size);
      pos += size;
      if (lenSize[k] === 0) continue;
      const field = pos - size + this._lenOffset[k];
      const strLen = readLength(b, field, lenSize[k], this._le, this._lenSigned[k]);
      if (strLen < 0) throw this._negativeError(strLen, field);
      if (pos + strLen > len) throw this._lengthError(len, -1);
      stringAt[k] = pos;
      stringLen[k] = strLen;
      pos += strLen;
    }
    if (pos !== len) throw this._lengthError(len, pos);
    const out = this._fixed.unpack(scratch);
    const stringIndex = this._stringIndex;
    for (let k = 0; k < n; k++) {
      if (stringIndex[k] >= 0) out[stringIndex[k]] = copyOut(b, stringAt[k], stringLen[k]);
    }
    return out;
  }

  /**
   * Length of the first complete record at `offset` in `buffer`, or -1 if
   * the record is not complete yet (more bytes are needed). Bytes after the
   * record are ignored. Reads only the fixed parts and the length fields.
   *
   * @param buffer - buffered stream bytes (any `ArrayBufferView` is accepted).
   * @param offset - where the record starts; defaults to 0.
   * @returns the record's byte length, or -1.
   * @throws TypeError if `buffer` is not a byte buffer or `offset` is not an integer.
   * @throws RangeError if `offset` is outside `0..buffer.length`, or a length
   *   field read is negative (the stream is corrupt).
   *
   * @example
   * ```ts
   * const ns = new NetStruct('H$');
   * ns.recordLength(Buffer.from([0, 3, 97]));          // -1: two more bytes needed
   * ns.recordLength(Buffer.from([0, 3, 97, 98, 99, 0])); // 5
   * ```
   */
  recordLength(buffer: Uint8Array, offset = 0): number {
    const b = toView(buffer, this.format);
    const len = b.length;
    if (typeof offset !== 'number' || !Number.isInteger(offset)) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER', `NetStruct ${JSON.stringify(this.format)}: offset must be an integer, got ${describe(offset)}`);
    }
    if (offset < 0 || offset > len) {
      throw codedError(RangeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
        `NetStruct ${JSON.stringify(this.format)}: offset ${offset} out of range for a ${len}-byte buffer`,
      );
    }
    const segSize = this._segSize;
    const lenSize = this._lenSize;
    let pos = offset;
    for (let k = 0; k < segSize.length; k++) {
      const end = pos + segSize[k];
      if (end > len) return -1;
      if (lenSize[k] === 0) {
        pos = end;
        continue;
      }
      const field = pos + this._lenOffset[k];
      const strLen = readLength(b, field, lenSize[k], this._le, this._lenSigned[k]);
      if (strLen < 0) throw this._negativeError(strLen, field);
      pos = end + strLen;
      if (pos > len) return -1;
    }
    return pos - offset;
  }

  /**
   * The framing layout the Rust engine uses to cut records out of a byte
   * stream: a flat list of `[fixedBytes, lengthFieldOffset, lengthFieldSize,
   * lengthFieldFlags]` quadruples, one per segment.
   *
   * A segment is `fixedBytes` fixed bytes; if `lengthFieldOffset >= 0`, the
   * integer at that offset within the segment (`lengthFieldSize` 1, 2, 4 or
   * 8 bytes; flags bit 0 = little endian, bit 1 = signed) gives the length
   * of the `$` string that follows the segment. The record is the
   * concatenation of all segments and their strings. A segment without a
   * string is `[fixedBytes, -1, 0, 0]`; only the last segment can be one,
   * and a format without `$` has a single such segment (none at all when its
   * size is 0, so the empty format's layout is `[]`). A negative signed
   * length means a corrupt stream ({@link NetStruct.recordLength} throws
   * `RangeError`).
   *
   * @returns a fresh array (4 numbers per segment).
   *
   * @example
   * ```ts
   * new NetStruct('ih$5b').frameLayout(); // [6, 4, 2, 2,  5, -1, 0, 0]
   * new NetStruct('<B$Q$').frameLayout(); // [1, 0, 1, 1,  8, 0, 8, 1]
   * ```
   */
  frameLayout(): number[] {
    return this._layout.slice();
  }

  // -------------------------------------------------------------------------
  // internals
  // -------------------------------------------------------------------------

  /** Pack the fixed parts, reporting errors with the NetStruct format. */
  private _packFixed(values: unknown[]): Buffer {
    try {
      return this._fixed.pack(...values);
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) {
        const Ctor = e instanceof RangeError ? RangeError : TypeError;
        // Value indexes are the record's: a length sits where its string goes.
        throw codedError(Ctor, 'ERR_PANTS_INVALID_PACK_VALUE', `NetStruct ${JSON.stringify(this.format)}: ${e.message}`);
      }
      throw e;
    }
  }

  /** `want`: the record's length, or -1 when the buffer ends inside the record. */
  private _lengthError(got: number, want: number): RangeError {
    const what =
      want < 0 ? 'ends before the record does' : `has ${got - want} byte(s) after the ${want}-byte record`;
    return codedError(RangeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
      `NetStruct ${JSON.stringify(this.format)}: unpack requires exactly one record; the ${got}-byte buffer ${what}`,
    );
  }

  private _negativeError(value: unknown, at: number): RangeError {
    return codedError(RangeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
      `NetStruct ${JSON.stringify(this.format)}: negative string length ${String(value)} in the length field at byte ${at}`,
    );
  }
}
