/**
 * IEEE 754 binary16 ("half float", format code `e`) conversion, rounding the
 * way CPython's PyFloat_Pack2 does.
 *
 * @packageDocumentation
 */
import { HOST_LITTLE_ENDIAN } from './bytes.js';

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
export function toHalfBits(x: number): number {
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
export function fromHalfBits(h: number): number {
  const neg = (h & 0x8000) !== 0;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  let v: number;
  if (exp === 0) v = mant * 5.960464477539063e-8; /* 2**-24 */
  else if (exp === 31) v = mant === 0 ? Infinity : NaN;
  else v = (mant + 1024) * pow2(exp - 25);
  return neg ? -v : v;
}
