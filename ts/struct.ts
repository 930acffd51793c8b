/**
 * Python `struct`-compatible binary packing.
 *
 * The {@link Struct} class parses a CPython `struct` format string once and
 * then packs JavaScript values into bytes (and back) producing output that is
 * byte-for-byte identical to CPython's `struct.pack` on Linux x86-64.
 *
 * @packageDocumentation
 */

import { codedError } from './errors.js';
import * as bytes from './struct/bytes.js';
import { Kind, parseFormat } from './struct/format.js';
import type { Step } from './struct/format.js';
import * as half from './struct/half.js';
import { unpackSteps } from './struct/unpack.js';
import * as values from './struct/values.js';

// The helpers pack calls for every item, as module-local constants: calling an
// imported name reads it off the other module's exports object every time,
// which V8 does not hoist out of the loop (up to ~15% slower on formats with
// many items).
const { F32, F32_BYTES, F64, F64_BYTES, copyIn, put16, put32, putAscii, putScratch, zero } = bytes;
const { toHalfBits } = half;
const { describe, packInt64, toBytes, toFloat, toInt, valueError } = values;

// Integer limits.
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/**
 * A compiled Python `struct` format, producing bytes identical to CPython's
 * `struct` module (as built for Linux x86-64).
 *
 * ## Byte order, size and alignment (first character of the format)
 * | prefix       | byte order  | sizes    | alignment |
 * |--------------|-------------|----------|-----------|
 * | `@` (default)| native      | native   | native    |
 * | `=`          | native      | standard | none      |
 * | `<`          | little      | standard | none      |
 * | `>` / `!`    | big         | standard | none      |
 *
 * In native (`@`) mode each field is aligned to its natural alignment, like a
 * C struct on Linux x86-64 (`'@bi'` is 8 bytes); as in CPython no trailing
 * padding is added — end a format with a zero-count code such as `'0q'` to
 * get it. A byte-order character is only valid as the very first character.
 *
 * ## Format codes
 * | code | meaning                  | std size | JS value                          |
 * |------|--------------------------|----------|-----------------------------------|
 * | `x`  | pad byte (writes 0)      | 1        | consumes no value                 |
 * | `c`  | char                     | 1        | bytes of length 1 → `Buffer`      |
 * | `b`/`B` | int8 / uint8          | 1        | `number`                          |
 * | `?`  | bool                     | 1        | any (truthiness) → `boolean`      |
 * | `h`/`H` | int16 / uint16        | 2        | `number`                          |
 * | `i`/`I` | int32 / uint32        | 4        | `number`                          |
 * | `l`/`L` | C long / unsigned long| 4 (8 in `@` mode) | `number` (`bigint` in `@` mode) |
 * | `q`/`Q` | int64 / uint64        | 8        | `bigint`                          |
 * | `n`/`N`/`P` | ssize_t / size_t / void* (`@` mode only) | 8 | `bigint`       |
 * | `e`  | IEEE 754 half float      | 2        | `number`                          |
 * | `f`  | IEEE 754 single          | 4        | `number`                          |
 * | `d`  | IEEE 754 double          | 8        | `number`                          |
 * | `s`  | bytes; the count is the byte length (`'5s'` is one 5-byte value) | n | bytes → `Buffer` |
 * | `p`  | Pascal string: length byte (≤ 255, ≤ count-1) then data | n | bytes → `Buffer` |
 *
 * A decimal repeat count may precede any code (`'3H'` is `'HHH'`); for `s`
 * and `p` it is the field width instead. Whitespace between codes is ignored,
 * but not between a count and its code.
 *
 * ## Values
 * - **bigint rule**: 8-byte integers (`q`, `Q`, `n`, `N`, `P`, and `l`/`L` in
 *   native `@` mode) unpack to `bigint`, and pack from a `bigint` or a
 *   safe-integer `number`. All other integer codes unpack to `number` and pack
 *   from an integral `number` (a `bigint` in range is accepted too). As in
 *   Python, where `bool` is an `int`, `true`/`false` pack as 1/0.
 * - `s`, `p` and `c` accept a `Buffer`/`Uint8Array` or a `string` (encoded as
 *   UTF-8 — an extension: CPython only accepts bytes) and unpack to a fresh
 *   `Buffer`. `s` pads with zero bytes or truncates to the field width.
 * - `e`, `f`, `d` accept a `number` (or `bigint`/`boolean`, converted).
 *   NaN and ±Infinity are allowed; NaN is written as the canonical quiet NaN.
 *
 * ## Errors
 * - malformed format (unknown code, byte-order character not in first
 *   position, count without a code, count on a byte-order character, size
 *   overflow) → `TypeError` from the constructor;
 * - wrong number of values, or a value of the wrong type (e.g. a fractional
 *   number or a string for an integer code, an unsafe-integer `number` for an
 *   8-byte code) → `TypeError`;
 * - an integer out of range for its code, a `c` value whose length is not 1,
 *   a float too large for `e`/`f` (CPython: `OverflowError`), or a buffer of
 *   the wrong length for {@link Struct.unpack} / too short for
 *   {@link Struct.unpackFrom} → `RangeError`.
 *
 * @example
 * ```ts
 * const header = new Struct('!BHI');
 * const buf = header.pack(1, 512, 70000); // <Buffer 01 02 00 00 01 11 70>
 * const [version, kind, length] = header.unpack(buf); // [1, 512, 70000]
 * ```
 */
export class Struct {
  /** The format string, exactly as passed to the constructor. */
  readonly format: string;
  /** Number of bytes produced by {@link Struct.pack}, like `struct.calcsize(format)`. */
  readonly size: number;

  /** Number of values consumed by pack / produced by unpack. */
  private readonly _items: number;
  private readonly _steps: readonly Step[];
  /** Flattened [start, end) pairs of pad bytes (`x` codes and alignment gaps). */
  private readonly _pads: readonly number[];
  private readonly _le: boolean;

  /**
   * Parse and compile a format string.
   *
   * @param format - a Python `struct` format string, e.g. `'<HHI'` or `'@bi'`.
   * @throws TypeError if `format` is not a string or is malformed.
   */
  constructor(format: string) {
    if (typeof format !== 'string') {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_FORMAT', `Struct format must be a string, got ${describe(format)}`);
    }
    this.format = format;
    const layout = parseFormat(format);
    this.size = layout.size;
    this._items = layout.items;
    this._steps = layout.steps;
    this._pads = layout.pads;
    this._le = layout.le;
  }

  /**
   * Pack values into a new `Buffer` of {@link Struct.size} bytes, like
   * Python's `struct.pack(format, *values)`.
   *
   * @param values - one value per item of the format (pad bytes take none;
   *   `'3h'` takes three, `'5s'` takes one).
   * @returns the packed bytes.
   * @throws TypeError if the number of values is wrong or a value has the
   *   wrong type for its code.
   * @throws RangeError if an integer is out of range for its code, a `c`
   *   value is not exactly 1 byte, or a float overflows `e`/`f`.
   */
  pack(...values: unknown[]): Buffer {
    if (values.length !== this._items) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_PACK_VALUE',
        `Struct ${JSON.stringify(this.format)}: pack expected ${this._items} value(s), got ${values.length}`,
      );
    }
    const buf = Buffer.allocUnsafe(this.size);
    const pads = this._pads;
    for (let i = 0; i < pads.length; i += 2) zero(buf, pads[i], pads[i + 1]);
    // The loop stays in this method: handing `values` to another function
    // would make V8 allocate the rest-parameter array on every call.
    const format = this.format;
    const le = this._le;
    const steps = this._steps;
    let vi = 0;
    for (let si = 0; si < steps.length; si++) {
      const st = steps[si];
      let off = st.offset;
      const end = vi + st.count;
      switch (st.kind) {
        case Kind.Int8:
          for (; vi < end; vi++, off++) buf[off] = toInt(format, values[vi], st.code, vi, -128, 127);
          break;
        case Kind.Uint8:
          for (; vi < end; vi++, off++) buf[off] = toInt(format, values[vi], st.code, vi, 0, 255);
          break;
        case Kind.Bool:
          for (; vi < end; vi++, off++) buf[off] = values[vi] ? 1 : 0;
          break;
        case Kind.Int16:
          for (; vi < end; vi++, off += 2) put16(buf, off, toInt(format, values[vi], st.code, vi, -32768, 32767), le);
          break;
        case Kind.Uint16:
          for (; vi < end; vi++, off += 2) put16(buf, off, toInt(format, values[vi], st.code, vi, 0, 65535), le);
          break;
        case Kind.Int32:
          for (; vi < end; vi++, off += 4) {
            put32(buf, off, toInt(format, values[vi], st.code, vi, -2147483648, 2147483647), le);
          }
          break;
        case Kind.Uint32:
          for (; vi < end; vi++, off += 4) put32(buf, off, toInt(format, values[vi], st.code, vi, 0, 4294967295), le);
          break;
        case Kind.Int64:
          for (; vi < end; vi++, off += 8) {
            packInt64(format, buf, off, values[vi], st.code, vi, INT64_MIN, INT64_MAX, le);
          }
          break;
        case Kind.Uint64:
          for (; vi < end; vi++, off += 8) packInt64(format, buf, off, values[vi], st.code, vi, 0n, UINT64_MAX, le);
          break;
        case Kind.Pointer:
          for (; vi < end; vi++, off += 8) {
            packInt64(format, buf, off, values[vi], st.code, vi, INT64_MIN, UINT64_MAX, le);
          }
          break;
        case Kind.Half:
          for (; vi < end; vi++, off += 2) {
            const bits = toHalfBits(toFloat(format, values[vi], st.code, vi));
            if (bits < 0) {
              throw valueError(format, RangeError, st.code, vi, values[vi], 'float too large to pack with e format');
            }
            put16(buf, off, bits, le);
          }
          break;
        case Kind.Float32:
          for (; vi < end; vi++, off += 4) {
            const x = toFloat(format, values[vi], st.code, vi);
            F32[0] = x;
            const y = F32[0];
            if ((y === Infinity || y === -Infinity) && x !== y) {
              throw valueError(format, RangeError, st.code, vi, values[vi], 'float too large to pack with f format');
            }
            putScratch(buf, off, F32_BYTES, 4, le);
          }
          break;
        case Kind.Float64:
          for (; vi < end; vi++, off += 8) {
            F64[0] = toFloat(format, values[vi], st.code, vi);
            putScratch(buf, off, F64_BYTES, 8, le);
          }
          break;
        case Kind.Char:
          for (; vi < end; vi++, off++) {
            const src = toBytes(format, values[vi], st.code, vi);
            if (src.length !== 1) {
              const why = `expected exactly 1 byte, got ${src.length}`;
              throw valueError(format, RangeError, st.code, vi, values[vi], why);
            }
            buf[off] = src[0];
          }
          break;
        case Kind.Bytes: {
          // s: the data, truncated or zero-padded to the field width.
          const width = st.itemSize;
          const v = values[vi];
          let n = typeof v === 'string' ? putAscii(buf, off, v, width) : -1;
          if (n < 0) {
            const src = toBytes(format, v, st.code, vi);
            n = src.length < width ? src.length : width;
            copyIn(buf, off, src, n);
          }
          zero(buf, off + n, off + width);
          vi++;
          break;
        }
        case Kind.Pascal: {
          // p: a length byte (<= 255 and <= width-1), then the data, zero-padded.
          const width = st.itemSize;
          const v = values[vi];
          if (width > 0) {
            let n = typeof v === 'string' ? putAscii(buf, off + 1, v, width - 1) : -1;
            if (n < 0) {
              const src = toBytes(format, v, st.code, vi);
              n = src.length < width - 1 ? src.length : width - 1;
              copyIn(buf, off + 1, src, n);
            }
            buf[off] = n > 255 ? 255 : n;
            zero(buf, off + 1 + n, off + width);
          } else {
            // '0p' behaves like '0s' (CPython >= 3.12.7 / 3.13.1); still type-check the value.
            toBytes(format, v, st.code, vi);
          }
          vi++;
          break;
        }
      }
    }
    return buf;
  }

  /**
   * Unpack a buffer of exactly {@link Struct.size} bytes, like Python's
   * `struct.unpack(format, buffer)`.
   *
   * @param buffer - the bytes to decode (any `ArrayBufferView` is accepted).
   * @returns one value per item: `number` for floats and integers of at most
   *   4 bytes, `bigint` for 8-byte integers, `boolean` for `?`, and a fresh
   *   `Buffer` for `c`, `s` and `p`.
   * @throws TypeError if `buffer` is not a byte buffer.
   * @throws RangeError if `buffer.length !== size`.
   */
  unpack(buffer: Uint8Array): unknown[] {
    const bytes = this._view(buffer);
    if (bytes.length !== this.size) {
      throw codedError(RangeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
        `Struct ${JSON.stringify(this.format)}: unpack requires a buffer of ${this.size} bytes, got ${bytes.length}`,
      );
    }
    return unpackSteps(bytes, 0, this._steps, this._items, this._le);
  }

  /**
   * Unpack {@link Struct.size} bytes starting at `offset`, like Python's
   * `struct.unpack_from(format, buffer, offset)`. Extra bytes after the
   * struct are ignored. Used by the framing layer to decode in place.
   *
   * @param buffer - the bytes to decode (any `ArrayBufferView` is accepted).
   * @param offset - start position; a negative offset counts from the end of
   *   the buffer, as in CPython. Defaults to 0.
   * @returns the decoded values, as for {@link Struct.unpack}.
   * @throws TypeError if `buffer` is not a byte buffer or `offset` is not an integer.
   * @throws RangeError if `offset` is out of bounds or fewer than `size`
   *   bytes remain after it.
   */
  unpackFrom(buffer: Uint8Array, offset = 0): unknown[] {
    const bytes = this._view(buffer);
    if (typeof offset !== 'number' || !Number.isInteger(offset)) {
      throw codedError(TypeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER', `Struct ${JSON.stringify(this.format)}: offset must be an integer, got ${describe(offset)}`);
    }
    const len = bytes.length;
    let start = offset;
    if (start < 0) {
      if (start + len < 0) {
        throw codedError(RangeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
          `Struct ${JSON.stringify(this.format)}: offset ${offset} out of range for ${len}-byte buffer`,
        );
      }
      start += len;
    }
    if (len - start < this.size) {
      throw codedError(RangeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
        `Struct ${JSON.stringify(this.format)}: unpackFrom requires a buffer of at least ${this.size + start} bytes ` +
          `for unpacking ${this.size} bytes at offset ${start} (actual buffer size is ${len})`,
      );
    }
    return unpackSteps(bytes, start, this._steps, this._items, this._le);
  }

  // -------------------------------------------------------------------------
  // internals
  // -------------------------------------------------------------------------

  private _view(buffer: unknown): Uint8Array {
    if (buffer instanceof Uint8Array) return buffer;
    if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    throw codedError(TypeError, 'ERR_PANTS_INVALID_UNPACK_BUFFER',
      `Struct ${JSON.stringify(this.format)}: expected a Buffer or Uint8Array, got ${describe(buffer)}`,
    );
  }
}
