/**
 * Checking and converting the JavaScript values given to `Struct.pack`
 * (ts/struct.ts), with CPython's rules and error classes: `TypeError` for a
 * value of the wrong type, `RangeError` for one out of range. Every error
 * message names the format, the value's index and its format code.
 * {@link packInt64} also writes the 8-byte integer it checks.
 *
 * @packageDocumentation
 */
import { codedError } from '../errors.js';
import * as bytes from './bytes.js';

// Module-local, like the per-item helpers in ts/struct.ts: calling an imported
// name reads it off the other module's exports object every time.
const { TWO_32, put64 } = bytes;

/** A short, safe rendering of any value for an error message. */
export function describe(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) {
    return Object.is(v, -0) ? '-0' : String(v);
  }
  if (v instanceof Uint8Array) return `${v.constructor.name}(${v.length})`;
  if (typeof v === 'object') return `[object ${(v as object).constructor?.name ?? 'Object'}]`;
  return typeof v;
}

/** The error for value `index` (format code `code`) of a pack of `format`. */
export function valueError(
  format: string,
  Ctor: typeof TypeError | typeof RangeError,
  code: string,
  index: number,
  value: unknown,
  why: string,
): Error {
  return codedError(Ctor, 'ERR_PANTS_INVALID_PACK_VALUE',
    `Struct ${JSON.stringify(format)}: value at index ${index} for '${code}' (${describe(value)}): ${why}`,
  );
}

/** Validate an integer for a code of at most 4 bytes. */
export function toInt(format: string, v: unknown, code: string, index: number, min: number, max: number): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      throw valueError(format, TypeError, code, index, v, 'required argument is not an integer');
    }
    if (v < min || v > max) throw valueError(format, RangeError, code, index, v, `must be in ${min}..${max}`);
    return v;
  }
  if (typeof v === 'bigint') {
    if (v < min || v > max) throw valueError(format, RangeError, code, index, v, `must be in ${min}..${max}`);
    return Number(v);
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw valueError(format, TypeError, code, index, v, 'required argument is not an integer');
}

/** Validate an 8-byte integer (bigint or safe-integer number). */
export function toBigInt(format: string, v: unknown, code: string, index: number, min: bigint, max: bigint): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      throw valueError(format, TypeError, code, index, v, 'required argument is not an integer');
    }
    if (!Number.isSafeInteger(v)) {
      throw valueError(format, TypeError, code, index, v, 'number is not a safe integer; pass a bigint');
    }
    b = BigInt(v);
  } else if (typeof v === 'boolean') b = v ? 1n : 0n;
  else throw valueError(format, TypeError, code, index, v, 'required argument is not an integer (number or bigint)');
  if (b < min || b > max) throw valueError(format, RangeError, code, index, v, `must be in ${min}..${max}`);
  return b;
}

/** Validate a value for a float code (`e`, `f`, `d`). */
export function toFloat(format: string, v: unknown, code: string, index: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const x = Number(v);
    if (x === Infinity || x === -Infinity) {
      throw valueError(format, RangeError, code, index, v, 'int too large to convert to float');
    }
    return x;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw valueError(format, TypeError, code, index, v, 'required argument is not a float');
}

/** Validate a value for a bytes code (`c`, `s`, `p`); a string is UTF-8 encoded. */
export function toBytes(format: string, v: unknown, code: string, index: number): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw valueError(format, TypeError, code, index, v, 'expected a Buffer, Uint8Array or string');
}

/** Validate an 8-byte integer and write it; safe-integer numbers avoid BigInt. */
export function packInt64(
  format: string,
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
    if (v < 0 && min === 0n) throw valueError(format, RangeError, code, index, v, `must be in ${min}..${max}`);
    // >>> 0 is exact modulo 2**32 for safe integers; floor division gives the
    // two's complement high word for negative values.
    put64(buf, off, v >>> 0, Math.floor(v / TWO_32), le);
    return;
  }
  const big = toBigInt(format, v, code, index, min, max);
  put64(buf, off, Number(BigInt.asUintN(32, big)), Number(BigInt.asUintN(32, big >> 32n)), le);
}
