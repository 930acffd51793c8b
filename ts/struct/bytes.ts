/**
 * Byte-level helpers for `Struct` (ts/struct.ts). Direct indexed access on the
 * Uint8Array is much cheaper than creating a DataView per call; storing into
 * a Uint8Array truncates modulo 256, which gives two's complement for
 * negative values for free.
 *
 * @packageDocumentation
 */

/** Whether this host stores multi-byte numbers least significant byte first. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// Scratch floats: store a number, then copy its bytes out (or the reverse).
const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const TWO_32 = 4294967296;
/** Below this many bytes a plain loop beats subarray()+set()/fill(). */
const SMALL_COPY = 32;

export function put16(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v;
    b[o + 1] = v >>> 8;
  } else {
    b[o] = v >>> 8;
    b[o + 1] = v;
  }
}

export function put32(b: Uint8Array, o: number, v: number, le: boolean): void {
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
export function put64(b: Uint8Array, o: number, lo: number, hi: number, le: boolean): void {
  if (le) {
    put32(b, o, lo, true);
    put32(b, o + 4, hi, true);
  } else {
    put32(b, o, hi, false);
    put32(b, o + 4, lo, false);
  }
}

/** Unsigned 16-bit read. */
export function get16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

/** Signed 32-bit read (use `>>> 0` for unsigned). */
export function get32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)
    : (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** 64-bit read as bigint. */
export function get64(b: Uint8Array, o: number, le: boolean, signed: boolean): bigint {
  const lo = get32(b, le ? o : o + 4, le) >>> 0;
  const hi = signed ? get32(b, le ? o + 4 : o, le) : get32(b, le ? o + 4 : o, le) >>> 0;
  // Fast path: the value fits in a double exactly, one BigInt conversion.
  if (hi < 0x200000 && hi >= -0x200000) return BigInt(hi * TWO_32 + lo);
  return (BigInt(hi) << 32n) + BigInt(lo);
}

/** Copy `n` bytes of a scratch float into `b` in the requested byte order. */
export function putScratch(b: Uint8Array, o: number, src: Uint8Array, n: number, le: boolean): void {
  if (le === HOST_LITTLE_ENDIAN) for (let k = 0; k < n; k++) b[o + k] = src[k];
  else for (let k = 0; k < n; k++) b[o + k] = src[n - 1 - k];
}

/** Load `n` bytes from `b` into a scratch float in host byte order. */
export function getScratch(b: Uint8Array, o: number, dst: Uint8Array, n: number, le: boolean): void {
  if (le === HOST_LITTLE_ENDIAN) for (let k = 0; k < n; k++) dst[k] = b[o + k];
  else for (let k = 0; k < n; k++) dst[n - 1 - k] = b[o + k];
}

export function zero(b: Uint8Array, start: number, end: number): void {
  if (end - start > SMALL_COPY) b.fill(0, start, end);
  else for (let k = start; k < end; k++) b[k] = 0;
}

/** Copy the first `n` bytes of `src` into `b` at `o`. */
export function copyIn(b: Uint8Array, o: number, src: Uint8Array, n: number): void {
  if (n > SMALL_COPY) b.set(n === src.length ? src : src.subarray(0, n), o);
  else for (let k = 0; k < n; k++) b[o + k] = src[k];
}

/** A fresh Buffer holding a copy of `n` bytes of `b` from `from`. */
export function copyOut(b: Uint8Array, from: number, n: number): Buffer {
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
export function putAscii(b: Uint8Array, o: number, s: string, max: number): number {
  const n = s.length < max ? s.length : max;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c >= 0x80) return -1;
    b[o + k] = c;
  }
  return n;
}

// Constants are exported apart from their declarations so that uses in this
// file stay plain local reads (TypeScript compiles them to `exports.NAME`
// otherwise, a property load on every call).
export { F32, F32_BYTES, F64, F64_BYTES, HOST_LITTLE_ENDIAN, TWO_32 };
