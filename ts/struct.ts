/**
 * Python `struct`-compatible binary packing.
 *
 * The {@link Struct} class parses a CPython `struct` format string once and
 * then packs JavaScript values into bytes (and back) producing output that is
 * byte-for-byte identical to CPython's `struct.pack` on Linux x86-64.
 *
 * @packageDocumentation
 */

// ---------------------------------------------------------------------------
// Step kinds. Plain numeric constants (not an enum) keep the hot switch in
// pack/unpack monomorphic and cheap.
// ---------------------------------------------------------------------------
const K_CHAR = 0;
const K_INT8 = 1;
const K_UINT8 = 2;
const K_BOOL = 3;
const K_INT16 = 4;
const K_UINT16 = 5;
const K_INT32 = 6;
const K_UINT32 = 7;
const K_INT64 = 8;
const K_UINT64 = 9;
/** `P`: accepts -2**63 .. 2**64-1 like CPython's PyLong_AsVoidPtr, unpacks unsigned. */
const K_PTR = 10;
const K_HALF = 11;
const K_FLOAT32 = 12;
const K_FLOAT64 = 13;
const K_BYTES = 14;
const K_PASCAL = 15;

/** Description of one format character in a given table (native or standard). */
interface CodeDef {
  readonly kind: number;
  /** Size in bytes of one item (for `s`/`p`: of one byte of the field). */
  readonly size: number;
  /** Alignment in native mode; 0 or 1 means none. */
  readonly align: number;
}

/** `x` is handled specially by the parser (no step, zero-filled region). */
const PAD_CODE = 'x';

function def(kind: number, size: number, align: number): CodeDef {
  return { kind, size, align };
}

/** Standard sizes, no alignment: used by `=`, `<`, `>` and `!`. */
const STANDARD: Readonly<Record<string, CodeDef>> = {
  x: def(-1, 1, 0),
  c: def(K_CHAR, 1, 0),
  b: def(K_INT8, 1, 0),
  B: def(K_UINT8, 1, 0),
  '?': def(K_BOOL, 1, 0),
  h: def(K_INT16, 2, 0),
  H: def(K_UINT16, 2, 0),
  i: def(K_INT32, 4, 0),
  I: def(K_UINT32, 4, 0),
  l: def(K_INT32, 4, 0),
  L: def(K_UINT32, 4, 0),
  q: def(K_INT64, 8, 0),
  Q: def(K_UINT64, 8, 0),
  e: def(K_HALF, 2, 0),
  f: def(K_FLOAT32, 4, 0),
  d: def(K_FLOAT64, 8, 0),
  s: def(K_BYTES, 1, 0),
  p: def(K_PASCAL, 1, 0),
};

/**
 * Native sizes and alignment of CPython on Linux x86-64 (LP64): `l`/`L` are
 * 8 bytes, and the native-only codes `n`, `N`, `P` (ssize_t, size_t, void*)
 * are available.
 */
const NATIVE: Readonly<Record<string, CodeDef>> = {
  x: def(-1, 1, 0),
  c: def(K_CHAR, 1, 0),
  b: def(K_INT8, 1, 0),
  B: def(K_UINT8, 1, 0),
  '?': def(K_BOOL, 1, 1),
  h: def(K_INT16, 2, 2),
  H: def(K_UINT16, 2, 2),
  i: def(K_INT32, 4, 4),
  I: def(K_UINT32, 4, 4),
  l: def(K_INT64, 8, 8),
  L: def(K_UINT64, 8, 8),
  q: def(K_INT64, 8, 8),
  Q: def(K_UINT64, 8, 8),
  n: def(K_INT64, 8, 8),
  N: def(K_UINT64, 8, 8),
  P: def(K_PTR, 8, 8),
  e: def(K_HALF, 2, 2),
  f: def(K_FLOAT32, 4, 4),
  d: def(K_FLOAT64, 8, 8),
  s: def(K_BYTES, 1, 0),
  p: def(K_PASCAL, 1, 0),
};

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One parsed field group: `count` consecutive items of the same code. */
interface Step {
  readonly kind: number;
  readonly code: string;
  /** Byte offset of the first item. */
  readonly offset: number;
  /** Number of items (always 1 for `s` and `p`). */
  readonly count: number;
  /** Byte size of one item (for `s`/`p`: the whole field width). */
  readonly itemSize: number;
}

// Integer limits.
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

// Exact powers of two for the half-float conversion, POW2[k + 64] = 2**k.
const POW2: number[] = [];
for (let k = -64; k <= 64; k++) POW2.push(2 ** k);
function pow2(k: number): number {
  return POW2[k + 64];
}

// Scratch space for reading a double's sign bit (needed for NaN / -0).
const SCRATCH_F64 = new Float64Array(1);
const SCRATCH_U8 = new Uint8Array(SCRATCH_F64.buffer);
const SIGN_BYTE = HOST_LITTLE_ENDIAN ? 7 : 0;
function signBit(x: number): boolean {
  SCRATCH_F64[0] = x;
  return (SCRATCH_U8[SIGN_BYTE] & 0x80) !== 0;
}

// ---------------------------------------------------------------------------
// Byte-level helpers. Direct indexed access on the Uint8Array is much cheaper
// than creating a DataView per call; storing into a Uint8Array truncates
// modulo 256, which gives two's complement for negative values for free.
// ---------------------------------------------------------------------------

const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const TWO_32 = 4294967296;
/** Below this many bytes a plain loop beats subarray()+set()/fill(). */
const SMALL_COPY = 32;

function put16(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v;
    b[o + 1] = v >>> 8;
  } else {
    b[o] = v >>> 8;
    b[o + 1] = v;
  }
}

function put32(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v;
    b[o + 1] = v >>> 8;
    b[o + 2] = v >>> 16;
    b[o + 3] = v >>> 24;
  } else {
    b[o] = v >>> 24;
    b[o + 1] = v >>> 16;
    b[o + 2] = v >>> 8;
    b[o + 3] = v;
  }
}

/** Write a 64-bit value given as low and high 32-bit words. */
function put64(b: Uint8Array, o: number, lo: number, hi: number, le: boolean): void {
  if (le) {
    put32(b, o, lo, true);
    put32(b, o + 4, hi, true);
  } else {
    put32(b, o, hi, false);
    put32(b, o + 4, lo, false);
  }
}

/** Unsigned 16-bit read. */
function get16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

/** Signed 32-bit read (use `>>> 0` for unsigned). */
function get32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
    : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** 64-bit read as bigint. */
function get64(b: Uint8Array, o: number, le: boolean, signed: boolean): bigint {
  const lo = get32(b, le ? o : o + 4, le) >>> 0;
  const hi = signed ? get32(b, le ? o + 4 : o, le) : get32(b, le ? o + 4 : o, le) >>> 0;
  // Fast path: the value fits in a double exactly, one BigInt conversion.
  if (hi < 0x200000 && hi >= -0x200000) return BigInt(hi * TWO_32 + lo);
  return (BigInt(hi) << 32n) + BigInt(lo);
}

/** Copy `n` bytes of a scratch float into `b` in the requested byte order. */
function putScratch(b: Uint8Array, o: number, src: Uint8Array, n: number, le: boolean): void {
  if (le === HOST_LITTLE_ENDIAN) for (let k = 0; k < n; k++) b[o + k] = src[k];
  else for (let k = 0; k < n; k++) b[o + k] = src[n - 1 - k];
}

/** Load `n` bytes from `b` into a scratch float in host byte order. */
function getScratch(b: Uint8Array, o: number, dst: Uint8Array, n: number, le: boolean): void {
  if (le === HOST_LITTLE_ENDIAN) for (let k = 0; k < n; k++) dst[k] = b[o + k];
  else for (let k = 0; k < n; k++) dst[n - 1 - k] = b[o + k];
}

function zero(b: Uint8Array, start: number, end: number): void {
  if (end - start > SMALL_COPY) b.fill(0, start, end);
  else for (let k = start; k < end; k++) b[k] = 0;
}

/** Copy the first `n` bytes of `src` into `b` at `o`. */
function copyIn(b: Uint8Array, o: number, src: Uint8Array, n: number): void {
  if (n > SMALL_COPY) b.set(n === src.length ? src : src.subarray(0, n), o);
  else for (let k = 0; k < n; k++) b[o + k] = src[k];
}

/** A fresh Buffer holding a copy of `n` bytes of `b` from `from`. */
function copyOut(b: Uint8Array, from: number, n: number): Buffer {
  if (n > SMALL_COPY) return Buffer.from(b.subarray(from, from + n));
  const out = Buffer.allocUnsafe(n);
  for (let k = 0; k < n; k++) out[k] = b[from + k];
  return out;
}

/**
 * Write the ASCII prefix of `s` (at most `max` chars) into `b` at `o`.
 * Returns the number of bytes written, or -1 if a non-ASCII character occurs
 * within the first `max` characters (the caller then UTF-8 encodes).
 */
function putAscii(b: Uint8Array, o: number, s: string, max: number): number {
  const n = s.length < max ? s.length : max;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) return -1;
    b[o + k] = c;
  }
  return n;
}

function isWhitespace(ch: number): boolean {
  // Py_ISSPACE: space, \t, \n, \v, \f, \r
  return ch === 0x20 || (ch >= 0x09 && ch <= 0x0d);
}

function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) {
    return Object.is(v, -0) ? '-0' : String(v);
  }
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  if (typeof v === 'object') return `[object ${(v as object).constructor?.name ?? 'Object'}]`;
  return typeof v;
}

/** Round a non-negative number (< 2**52) to an integer, ties to even. */
function roundHalfEven(m: number): number {
  const fl = Math.floor(m);
  const frac = m - fl; // exact for the magnitudes used here
  if (frac > 0.5 || (frac === 0.5 && (fl & 1) === 1)) return fl + 1;
  return fl;
}

/**
 * Encode a double as IEEE 754 binary16 bits with round-half-to-even, the way
 * CPython's PyFloat_Pack2 does. Returns -1 on overflow (finite value too
 * large); NaN becomes the quiet NaN 0x7e00 carrying the input's sign.
 */
function toHalfBits(x: number): number {
  if (x !== x) return signBit(x) ? 0xfe00 : 0x7e00;
  const sign = x < 0 || (x === 0 && 1 / x < 0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  if (a < 6.103515625e-5 /* 2**-14, smallest normal half */) {
    // Subnormal (or rounds up to the smallest normal: 1024 == 0x0400 works).
    return sign | roundHalfEven(a * 16777216 /* 2**24 */);
  }
  if (a >= 65520) return -1; // rounds to 65536 or more: overflow
  let e = Math.floor(Math.log2(a));
  if (pow2(e) > a) e--;
  else if (pow2(e + 1) <= a) e++;
  // a = m * 2**(e-10) with m in [1024, 2048); scaling by a power of 2 is exact.
  const m = roundHalfEven(a * pow2(10 - e));
  // A carry to 2048 rolls into the exponent field, as it should.
  const bits = ((e + 15) << 10) + (m - 1024);
  if (bits >= 0x7c00) return -1;
  return sign | bits;
}

/** Decode IEEE 754 binary16 bits to a double. */
function fromHalfBits(h: number): number {
  const neg = (h & 0x8000) !== 0;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  let v: number;
  if (exp === 0) v = mant * 5.960464477539063e-8; /* 2**-24 */
  else if (exp === 31) v = mant === 0 ? Infinity : NaN;
  else v = (mant + 1024) * pow2(exp - 25);
  return neg ? -v : v;
}

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
      throw new TypeError(`Struct format must be a string, got ${describe(format)}`);
    }
    this.format = format;

    let pos = 0;
    let table = NATIVE;
    let native = true;
    let le = HOST_LITTLE_ENDIAN;
    switch (format.charAt(0)) {
      case '@':
        pos = 1;
        break;
      case '=':
        pos = 1;
        table = STANDARD;
        native = false;
        break;
      case '<':
        pos = 1;
        table = STANDARD;
        native = false;
        le = true;
        break;
      case '>':
      case '!':
        pos = 1;
        table = STANDARD;
        native = false;
        le = false;
        break;
    }

    const steps: Step[] = [];
    const pads: number[] = [];
    const addPad = (start: number, end: number): void => {
      if (end <= start) return;
      const n = pads.length;
      if (n > 0 && pads[n - 1] === start) pads[n - 1] = end;
      else pads.push(start, end);
    };
    let size = 0;
    let items = 0;
    const len = format.length;
    const bad = (why: string, at: number): TypeError =>
      new TypeError(`bad struct format ${JSON.stringify(format)}: ${why} at position ${at}`);

    while (pos < len) {
      let ch = format.charCodeAt(pos);
      if (isWhitespace(ch)) {
        pos++;
        continue;
      }
      let num = 1;
      if (ch >= 0x30 && ch <= 0x39) {
        const numStart = pos;
        num = 0;
        while (pos < len && (ch = format.charCodeAt(pos)) >= 0x30 && ch <= 0x39) {
          num = num * 10 + (ch - 0x30);
          if (num > Number.MAX_SAFE_INTEGER) throw bad('repeat count too large', numStart);
          pos++;
        }
        if (pos >= len) throw bad('repeat count given without format specifier', numStart);
      }
      const code = format.charAt(pos);
      const d = Object.prototype.hasOwnProperty.call(table, code) ? table[code] : undefined;
      if (d === undefined) {
        const shown = JSON.stringify(code);
        const why =
          '@=<>!'.includes(code)
            ? `byte order character ${shown} is only allowed first`
            : native || !'nNP'.includes(code)
              ? `bad char ${shown}`
              : `code ${shown} is only allowed in native (@) mode`;
        throw bad(why, pos);
      }
      pos++;

      // Native alignment (applies even for a zero repeat count, as in CPython).
      if (d.align > 1 && size > 0) {
        const aligned = Math.ceil(size / d.align) * d.align;
        addPad(size, aligned);
        size = aligned;
      }

      const width = num * d.size;
      if (code === PAD_CODE) {
        addPad(size, size + width);
      } else if (d.kind === K_BYTES || d.kind === K_PASCAL) {
        steps.push({ kind: d.kind, code, offset: size, count: 1, itemSize: num });
        items++;
      } else if (num > 0) {
        steps.push({ kind: d.kind, code, offset: size, count: num, itemSize: d.size });
        items += num;
      }
      size += width;
      if (size > Number.MAX_SAFE_INTEGER) throw bad('total struct size too long', pos - 1);
    }

    this.size = size;
    this._items = items;
    this._steps = steps;
    this._pads = pads;
    this._le = le;
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
      throw new TypeError(
        `Struct ${JSON.stringify(this.format)}: pack expected ${this._items} value(s), got ${values.length}`,
      );
    }
    const buf = Buffer.allocUnsafe(this.size);
    const pads = this._pads;
    for (let i = 0; i < pads.length; i += 2) zero(buf, pads[i], pads[i + 1]);
    const le = this._le;
    const steps = this._steps;
    let vi = 0;
    for (let si = 0; si < steps.length; si++) {
      const st = steps[si];
      let off = st.offset;
      const end = vi + st.count;
      switch (st.kind) {
        case K_INT8:
          for (; vi < end; vi++, off++) buf[off] = this._int(values[vi], st.code, vi, -128, 127);
          break;
        case K_UINT8:
          for (; vi < end; vi++, off++) buf[off] = this._int(values[vi], st.code, vi, 0, 255);
          break;
        case K_BOOL:
          for (; vi < end; vi++, off++) buf[off] = values[vi] ? 1 : 0;
          break;
        case K_INT16:
          for (; vi < end; vi++, off += 2) put16(buf, off, this._int(values[vi], st.code, vi, -32768, 32767), le);
          break;
        case K_UINT16:
          for (; vi < end; vi++, off += 2) put16(buf, off, this._int(values[vi], st.code, vi, 0, 65535), le);
          break;
        case K_INT32:
          for (; vi < end; vi++, off += 4) {
            put32(buf, off, this._int(values[vi], st.code, vi, -2147483648, 2147483647), le);
          }
          break;
        case K_UINT32:
          for (; vi < end; vi++, off += 4) put32(buf, off, this._int(values[vi], st.code, vi, 0, 4294967295), le);
          break;
        case K_INT64:
          for (; vi < end; vi++, off += 8) this._put64(buf, off, values[vi], st.code, vi, INT64_MIN, INT64_MAX, le);
          break;
        case K_UINT64:
          for (; vi < end; vi++, off += 8) this._put64(buf, off, values[vi], st.code, vi, 0n, UINT64_MAX, le);
          break;
        case K_PTR:
          for (; vi < end; vi++, off += 8) this._put64(buf, off, values[vi], st.code, vi, INT64_MIN, UINT64_MAX, le);
          break;
        case K_HALF:
          for (; vi < end; vi++, off += 2) {
            const bits = toHalfBits(this._float(values[vi], st.code, vi));
            if (bits < 0) throw this._err(RangeError, st.code, vi, values[vi], 'float too large to pack with e format');
            put16(buf, off, bits, le);
          }
          break;
        case K_FLOAT32:
          for (; vi < end; vi++, off += 4) {
            const x = this._float(values[vi], st.code, vi);
            F32[0] = x;
            const y = F32[0];
            if ((y === Infinity || y === -Infinity) && x !== y) {
              throw this._err(RangeError, st.code, vi, values[vi], 'float too large to pack with f format');
            }
            putScratch(buf, off, F32_BYTES, 4, le);
          }
          break;
        case K_FLOAT64:
          for (; vi < end; vi++, off += 8) {
            F64[0] = this._float(values[vi], st.code, vi);
            putScratch(buf, off, F64_BYTES, 8, le);
          }
          break;
        case K_CHAR:
          for (; vi < end; vi++, off++) {
            const src = this._bytes(values[vi], st.code, vi);
            if (src.length !== 1) {
              throw this._err(RangeError, st.code, vi, values[vi], `expected exactly 1 byte, got ${src.length}`);
            }
            buf[off] = src[0];
          }
          break;
        case K_BYTES: {
          // s: the data, truncated or zero-padded to the field width.
          const width = st.itemSize;
          const v = values[vi];
          let n = typeof v === 'string' ? putAscii(buf, off, v, width) : -1;
          if (n < 0) {
            const src = this._bytes(v, st.code, vi);
            n = src.length < width ? src.length : width;
            copyIn(buf, off, src, n);
          }
          zero(buf, off + n, off + width);
          vi++;
          break;
        }
        case K_PASCAL: {
          // p: a length byte (<= 255 and <= width-1), then the data, zero-padded.
          const width = st.itemSize;
          const v = values[vi];
          if (width > 0) {
            let n = typeof v === 'string' ? putAscii(buf, off + 1, v, width - 1) : -1;
            if (n < 0) {
              const src = this._bytes(v, st.code, vi);
              n = src.length < width - 1 ? src.length : width - 1;
              copyIn(buf, off + 1, src, n);
            }
            buf[off] = n > 255 ? 255 : n;
            zero(buf, off + 1 + n, off + width);
          } else {
            // '0p' behaves like '0s' (CPython >= 3.12.7 / 3.13.1); still type-check the value.
            this._bytes(v, st.code, vi);
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
      throw new RangeError(
        `Struct ${JSON.stringify(this.format)}: unpack requires a buffer of ${this.size} bytes, got ${bytes.length}`,
      );
    }
    return this._read(bytes, 0);
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
      throw new TypeError(`Struct ${JSON.stringify(this.format)}: offset must be an integer, got ${describe(offset)}`);
    }
    const len = bytes.length;
    let start = offset;
    if (start < 0) {
      if (start + len < 0) {
        throw new RangeError(
          `Struct ${JSON.stringify(this.format)}: offset ${offset} out of range for ${len}-byte buffer`,
        );
      }
      start += len;
    }
    if (len - start < this.size) {
      throw new RangeError(
        `Struct ${JSON.stringify(this.format)}: unpackFrom requires a buffer of at least ${this.size + start} bytes ` +
          `for unpacking ${this.size} bytes at offset ${start} (actual buffer size is ${len})`,
      );
    }
    return this._read(bytes, start);
  }

  // -------------------------------------------------------------------------
  // internals
  // -------------------------------------------------------------------------

  private _view(buffer: unknown): Uint8Array {
    if (buffer instanceof Uint8Array) return buffer;
    if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    throw new TypeError(
      `Struct ${JSON.stringify(this.format)}: expected a Buffer or Uint8Array, got ${describe(buffer)}`,
    );
  }

  private _read(b: Uint8Array, base: number): unknown[] {
    const le = this._le;
    const steps = this._steps;
    const out: unknown[] = new Array(this._items);
    let vi = 0;
    for (let si = 0; si < steps.length; si++) {
      const st = steps[si];
      let off = base + st.offset;
      const end = vi + st.count;
      switch (st.kind) {
        case K_INT8:
          for (; vi < end; vi++, off++) out[vi] = (b[off] << 24) >> 24;
          break;
        case K_UINT8:
          for (; vi < end; vi++, off++) out[vi] = b[off];
          break;
        case K_BOOL:
          for (; vi < end; vi++, off++) out[vi] = b[off] !== 0;
          break;
        case K_INT16:
          for (; vi < end; vi++, off += 2) out[vi] = (get16(b, off, le) << 16) >> 16;
          break;
        case K_UINT16:
          for (; vi < end; vi++, off += 2) out[vi] = get16(b, off, le);
          break;
        case K_INT32:
          for (; vi < end; vi++, off += 4) out[vi] = get32(b, off, le);
          break;
        case K_UINT32:
          for (; vi < end; vi++, off += 4) out[vi] = get32(b, off, le) >>> 0;
          break;
        case K_INT64:
          for (; vi < end; vi++, off += 8) out[vi] = get64(b, off, le, true);
          break;
        case K_UINT64:
        case K_PTR:
          for (; vi < end; vi++, off += 8) out[vi] = get64(b, off, le, false);
          break;
        case K_HALF:
          for (; vi < end; vi++, off += 2) out[vi] = fromHalfBits(get16(b, off, le));
          break;
        case K_FLOAT32:
          for (; vi < end; vi++, off += 4) {
            getScratch(b, off, F32_BYTES, 4, le);
            out[vi] = F32[0];
          }
          break;
        case K_FLOAT64:
          for (; vi < end; vi++, off += 8) {
            getScratch(b, off, F64_BYTES, 8, le);
            out[vi] = F64[0];
          }
          break;
        case K_CHAR:
          for (; vi < end; vi++, off++) out[vi] = copyOut(b, off, 1);
          break;
        case K_BYTES:
          out[vi++] = copyOut(b, off, st.itemSize);
          break;
        case K_PASCAL: {
          const width = st.itemSize;
          if (width === 0) {
            out[vi++] = Buffer.alloc(0);
            break;
          }
          let n = b[off];
          if (n >= width) n = width - 1;
          out[vi++] = copyOut(b, off + 1, n);
          break;
        }
      }
    }
    return out;
  }

  /** Validate an 8-byte integer and write it; safe-integer numbers avoid BigInt. */
  private _put64(
    buf: Uint8Array,
    off: number,
    v: unknown,
    code: string,
    index: number,
    min: bigint,
    max: bigint,
    le: boolean,
  ): void {
    if (typeof v === 'number' && Number.isSafeInteger(v)) {
      if (v < 0 && min === 0n) throw this._err(RangeError, code, index, v, `must be in ${min}..${max}`);
      // >>> 0 is exact modulo 2**32 for safe integers; floor division gives the
      // two's complement high word for negative values.
      put64(buf, off, v >>> 0, Math.floor(v / TWO_32), le);
      return;
    }
    const big = this._big(v, code, index, min, max);
    put64(buf, off, Number(BigInt.asUintN(32, big)), Number(BigInt.asUintN(32, big >> 32n)), le);
  }

  private _err(
    Ctor: typeof TypeError | typeof RangeError,
    code: string,
    index: number,
    value: unknown,
    why: string,
  ): Error {
    return new Ctor(
      `Struct ${JSON.stringify(this.format)}: value at index ${index} for '${code}' (${describe(value)}): ${why}`,
    );
  }

  /** Validate an integer for a code of at most 4 bytes. */
  private _int(v: unknown, code: string, index: number, min: number, max: number): number {
    if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw this._err(TypeError, code, index, v, 'required argument is not an integer');
      if (v < min || v > max) throw this._err(RangeError, code, index, v, `must be in ${min}..${max}`);
      return v;
    }
    if (typeof v === 'bigint') {
      if (v < min || v > max) throw this._err(RangeError, code, index, v, `must be in ${min}..${max}`);
      return Number(v);
    }
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw this._err(TypeError, code, index, v, 'required argument is not an integer');
  }

  /** Validate an 8-byte integer (bigint or safe-integer number). */
  private _big(v: unknown, code: string, index: number, min: bigint, max: bigint): bigint {
    let b: bigint;
    if (typeof v === 'bigint') b = v;
    else if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw this._err(TypeError, code, index, v, 'required argument is not an integer');
      if (!Number.isSafeInteger(v)) {
        throw this._err(TypeError, code, index, v, 'number is not a safe integer; pass a bigint');
      }
      b = BigInt(v);
    } else if (typeof v === 'boolean') b = v ? 1n : 0n;
    else throw this._err(TypeError, code, index, v, 'required argument is not an integer (number or bigint)');
    if (b < min || b > max) throw this._err(RangeError, code, index, v, `must be in ${min}..${max}`);
    return b;
  }

  private _float(v: unknown, code: string, index: number): number {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') {
      const x = Number(v);
      if (x === Infinity || x === -Infinity) {
        throw this._err(RangeError, code, index, v, 'int too large to convert to float');
      }
      return x;
    }
    if (typeof v === 'boolean') return v ? 1 : 0;
    throw this._err(TypeError, code, index, v, 'required argument is not a float');
  }

  private _bytes(v: unknown, code: string, index: number): Uint8Array {
    if (v instanceof Uint8Array) return v;
    if (typeof v === 'string') return Buffer.from(v, 'utf8');
    throw this._err(TypeError, code, index, v, 'expected a Buffer, Uint8Array or string');
  }
}
