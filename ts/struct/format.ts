/**
 * Parsing a Python `struct` format string into the steps that `Struct`
 * (ts/struct.ts) packs and unpacks: the table of format codes with their
 * standard and native (Linux x86-64) sizes and alignment, and the layout of
 * fields and pad bytes.
 *
 * @packageDocumentation
 */
import { codedError } from '../errors.js';
import { HOST_LITTLE_ENDIAN } from './bytes.js';

/**
 * Step kinds. A const enum compiles to plain numeric literals (no object
 * lookup), which keeps the hot switch in pack/unpack monomorphic and cheap.
 */
export const enum Kind {
  /** `x`: handled by the parser (no step, zero-filled region). */
  Pad = -1,
  Char = 0,
  Int8 = 1,
  Uint8 = 2,
  Bool = 3,
  Int16 = 4,
  Uint16 = 5,
  Int32 = 6,
  Uint32 = 7,
  Int64 = 8,
  Uint64 = 9,
  /** `P`: accepts -2**63 .. 2**64-1 like CPython's PyLong_AsVoidPtr, unpacks unsigned. */
  Pointer = 10,
  Half = 11,
  Float32 = 12,
  Float64 = 13,
  Bytes = 14,
  Pascal = 15,
}

/** Description of one format character in a given table (native or standard). */
interface CodeDef {
  readonly kind: Kind;
  /** Size in bytes of one item (for `s`/`p`: of one byte of the field). */
  readonly size: number;
  /** Alignment in native mode; 0 or 1 means none. */
  readonly align: number;
}

/** `x` is handled specially by the parser (no step, zero-filled region). */
const PAD_CODE = 'x';

function def(kind: Kind, size: number, align: number): CodeDef {
  return { kind, size, align };
}

/** Standard sizes, no alignment: used by `=`, `<`, `>` and `!`. */
const STANDARD: Readonly<Record<string, CodeDef>> = {
  x: def(Kind.Pad, 1, 0),
  c: def(Kind.Char, 1, 0),
  b: def(Kind.Int8, 1, 0),
  B: def(Kind.Uint8, 1, 0),
  '?': def(Kind.Bool, 1, 0),
  h: def(Kind.Int16, 2, 0),
  H: def(Kind.Uint16, 2, 0),
  i: def(Kind.Int32, 4, 0),
  I: def(Kind.Uint32, 4, 0),
  l: def(Kind.Int32, 4, 0),
  L: def(Kind.Uint32, 4, 0),
  q: def(Kind.Int64, 8, 0),
  Q: def(Kind.Uint64, 8, 0),
  e: def(Kind.Half, 2, 0),
  f: def(Kind.Float32, 4, 0),
  d: def(Kind.Float64, 8, 0),
  s: def(Kind.Bytes, 1, 0),
  p: def(Kind.Pascal, 1, 0),
};

/**
 * Native sizes and alignment of CPython on Linux x86-64 (LP64): `l`/`L` are
 * 8 bytes, and the native-only codes `n`, `N`, `P` (ssize_t, size_t, void*)
 * are available.
 */
const NATIVE: Readonly<Record<string, CodeDef>> = {
  x: def(Kind.Pad, 1, 0),
  c: def(Kind.Char, 1, 0),
  b: def(Kind.Int8, 1, 0),
  B: def(Kind.Uint8, 1, 0),
  '?': def(Kind.Bool, 1, 1),
  h: def(Kind.Int16, 2, 2),
  H: def(Kind.Uint16, 2, 2),
  i: def(Kind.Int32, 4, 4),
  I: def(Kind.Uint32, 4, 4),
  l: def(Kind.Int64, 8, 8),
  L: def(Kind.Uint64, 8, 8),
  q: def(Kind.Int64, 8, 8),
  Q: def(Kind.Uint64, 8, 8),
  n: def(Kind.Int64, 8, 8),
  N: def(Kind.Uint64, 8, 8),
  P: def(Kind.Pointer, 8, 8),
  e: def(Kind.Half, 2, 2),
  f: def(Kind.Float32, 4, 4),
  d: def(Kind.Float64, 8, 8),
  s: def(Kind.Bytes, 1, 0),
  p: def(Kind.Pascal, 1, 0),
};

/** One parsed field group: `count` consecutive items of the same code. */
export interface Step {
  readonly kind: Kind;
  readonly code: string;
  /** Byte offset of the first item. */
  readonly offset: number;
  /** Number of items (always 1 for `s` and `p`). */
  readonly count: number;
  /** Byte size of one item (for `s`/`p`: the whole field width). */
  readonly itemSize: number;
}

/** A format string compiled by {@link parseFormat}. */
export interface Layout {
  /** Total size in bytes, like `struct.calcsize(format)`. */
  readonly size: number;
  /** Number of values consumed by pack / produced by unpack. */
  readonly items: number;
  readonly steps: readonly Step[];
  /** Flattened [start, end) pairs of pad bytes (`x` codes and alignment gaps). */
  readonly pads: readonly number[];
  /** Byte order: little endian? */
  readonly le: boolean;
}

function isWhitespace(ch: number): boolean {
  // Py_ISSPACE: space, \t, \n, \v, \f, \r
  return ch === 0x20 || (ch >= 0x09 && ch <= 0x0d);
}

/**
 * Parse a Python `struct` format string.
 *
 * @throws TypeError if `format` is malformed.
 */
export function parseFormat(format: string): Layout {
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
    codedError(TypeError, 'ERR_PANTS_INVALID_FORMAT', `bad struct format ${JSON.stringify(format)}: ${why} at position ${at}`);

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
    } else if (d.kind === Kind.Bytes || d.kind === Kind.Pascal) {
      steps.push({ kind: d.kind, code, offset: size, count: 1, itemSize: num });
      items++;
    } else if (num > 0) {
      steps.push({ kind: d.kind, code, offset: size, count: num, itemSize: d.size });
      items += num;
    }
    size += width;
    if (size > Number.MAX_SAFE_INTEGER) throw bad('total struct size too long', pos - 1);
  }

  return { size, items, steps, pads, le };
}
