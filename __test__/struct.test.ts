import test from 'ava';
import { hexToF64, PY_WIRE_CODEC, PythonBatch, seededRng, toWire, wireEquals, type Wire } from './python-struct.js';

// The test compiles to build/__test__/, the library to dist/: load the compiled
// library at runtime while type-checking against the source.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require('../../dist/struct.js') as typeof import('../ts/struct.js');

// ---------------------------------------------------------------------------
// Talking to CPython: every case is sent to one python3 process as JSON.
// ---------------------------------------------------------------------------

interface PyResult {
  size?: number;
  formatError?: string;
  pack?: string;
  packError?: string;
  unpack?: Wire[];
  unpackError?: string;
}

const PY_SCRIPT = String.raw`
import json, struct, sys
${PY_WIRE_CODEC}
out = []
for c in json.load(sys.stdin):
    r = {}
    out.append(r)
    try:
        r['size'] = struct.calcsize(c['fmt'])
    except Exception as e:
        r['formatError'] = err(e)
        continue
    if 'values' not in c:
        continue
    try:
        b = struct.pack(c['fmt'], *[dec(v) for v in c['values']])
    except Exception as e:
        r['packError'] = err(e)
        continue
    r['pack'] = b.hex()
    try:
        r['unpack'] = [enc(x) for x in struct.unpack(c['fmt'], b)]
    except Exception as e:
        r['unpackError'] = err(e)
json.dump(out, sys.stdout)
`;

interface PyCase {
  fmt: string;
  values?: unknown[];
}

/** Results by case, filled by one python3 run over all registered cases. */
const python = new PythonBatch<PyCase, PyResult[], PyResult>({
  script: PY_SCRIPT,
  encode: (c) => (c.values ? { fmt: c.fmt, values: c.values.map(toWire) } : { fmt: c.fmt }),
  results: (reply) => reply,
});

// ---------------------------------------------------------------------------
// Comparing values.
// ---------------------------------------------------------------------------

/** Check a value we unpacked against the one CPython unpacked. */
function sameAsPython(ours: unknown, theirs: Wire): string | undefined {
  if (wireEquals(ours, theirs)) return undefined;
  if (theirs === null || typeof theirs === 'boolean') return `expected ${String(theirs)}, got ${String(ours)}`;
  switch (theirs.t) {
    case 'int':
      if (typeof ours === 'bigint') return `expected ${theirs.v}, got ${ours}n`;
      if (typeof ours === 'number' && Number.isSafeInteger(ours)) return `expected ${theirs.v}, got ${ours}`;
      return `expected int ${theirs.v}, got ${String(ours)}`;
    case 'float':
      return `expected float ${hexToF64(theirs.hex)}, got ${String(ours)}`;
    case 'bytes':
      return `expected bytes ${theirs.hex}, got ${String(ours)}`;
    default:
      return 'unexpected wire value';
  }
}

/** Check that unpack(pack(v)) gave back v (for lossless cases). */
function roundTrips(input: unknown, output: unknown): boolean {
  if (typeof input === 'bigint') {
    return output === input || (typeof output === 'number' && Number.isInteger(output) && BigInt(output) === input);
  }
  if (typeof input === 'number') {
    if (typeof output === 'bigint') return BigInt(input) === output;
    return Object.is(input, output);
  }
  if (typeof input === 'string') return Buffer.isBuffer(output) && output.equals(Buffer.from(input, 'utf8'));
  if (input instanceof Uint8Array) return Buffer.isBuffer(output) && output.equals(input);
  if (typeof input === 'boolean') return output === input || output === (input ? 1 : 0);
  return false;
}

// ---------------------------------------------------------------------------
// Deterministic PRNG for the fuzz tables.
// ---------------------------------------------------------------------------

const { rand32, randInt, randUnit, randBig } = seededRng(0x9e3779b9);

// ---------------------------------------------------------------------------
// Parity cases: formats and values covering every code and byte order.
// ---------------------------------------------------------------------------

interface Case {
  fmt: string;
  values: unknown[];
  /** Human-readable hint for the test title. */
  label?: string;
  /** Skip the unpack(pack(v)) === v check (lossy floats, truncated strings...). */
  lossy?: boolean;
  /** pack(unpack(bytes)) differs from bytes (a Pascal length byte capped at 255). */
  noRepack?: boolean;
  /** CPython 3.11 cannot unpack '0p' (fixed in later versions); only compare pack. */
  oldCpythonCannotUnpack?: boolean;
}

const cases: Case[] = [];
const add = (fmt: string, values: unknown[], extra: Omit<Case, 'fmt' | 'values'> = {}): void => {
  cases.push({ fmt, values, ...extra });
};

const PREFIXES = ['', '@', '=', '<', '>', '!'];
const isNative = (p: string): boolean => p === '' || p === '@';

interface IntCode {
  code: string;
  min: bigint;
  max: bigint;
  /** unpacks to bigint */
  big: boolean;
}
function intCodes(prefix: string): IntCode[] {
  const native = isNative(prefix);
  const r = (code: string, bits: number, signed: boolean, big = bits === 64): IntCode => ({
    code,
    min: signed ? -(1n << BigInt(bits - 1)) : 0n,
    max: signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n,
    big,
  });
  const list = [
    r('b', 8, true),
    r('B', 8, false),
    r('h', 16, true),
    r('H', 16, false),
    r('i', 32, true),
    r('I', 32, false),
    r('l', native ? 64 : 32, true),
    r('L', native ? 64 : 32, false),
    r('q', 64, true),
    r('Q', 64, false),
  ];
  if (native) list.push(r('n', 64, true), r('N', 64, false));
  return list;
}
const asValue = (c: IntCode, v: bigint): unknown => (c.big ? v : Number(v));

// Integers: min / max / 0 / -1 of every code under every prefix.
for (const p of PREFIXES) {
  for (const c of intCodes(p)) {
    const vals = c.min < 0n ? [c.min, -1n, 0n, 1n, c.max] : [0n, 1n, c.max - 1n, c.max];
    add(`${p}${vals.length}${c.code}`, vals.map((v) => asValue(c, v)), { label: 'min/max' });
    // The same values written as individual codes must give the same bytes.
    add(`${p}${c.code.repeat(vals.length)}`, vals.map((v) => asValue(c, v)), { label: 'min/max' });
  }
  // 8-byte codes also accept safe-integer numbers, and small codes bigints.
  add(`${p}qQ`, [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], { label: 'numbers for q/Q' });
  add(`${p}hI`, [-5n, 4000000000n], { label: 'bigints for h/I' });
  add(`${p}bB`, [true, false], { label: 'booleans as ints' });
}
// bigint edges of q/Q.
add('<4q', [-(2n ** 63n), 2n ** 63n - 1n, -(2n ** 53n) - 1n, 2n ** 53n + 1n], { label: 'q edges' });
add('>4Q', [0n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 32n], { label: 'Q edges' });
for (const p of ['<', '>']) {
  const q = [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, -(2n ** 53n), -(2n ** 53n) - 1n, -(2n ** 53n) + 1n, -(2n ** 32n), -(2n ** 32n) - 1n];
  add(`${p}${q.length}q`, q, { label: 'q around 2**53' });
  const Q = [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 2n ** 32n, 2n ** 32n - 1n, 2n ** 32n + 1n];
  add(`${p}${Q.length}Q`, Q, { label: 'Q around 2**53' });
}
add('@P', [2n ** 64n - 1n], { label: 'void* max' });
add('@P', [-1n], { label: 'void* -1', lossy: true });
add('@P', [-(2n ** 63n)], { label: 'void* min', lossy: true });
add('@nN', [-(2n ** 63n), 2n ** 64n - 1n]);

// Native alignment.
for (const fmt of ['@bi', '@bq', '@hcl', '@?d', '@bh', '@be', '@bf', '@bd', '@bl', '@BL', '@bn', '@bN', '@bP']) {
  const withoutPrefix = fmt.slice(1);
  // n, N and P only exist in native mode.
  const variants = /[nNP]/.test(fmt) ? [fmt, withoutPrefix] : [fmt, withoutPrefix, `=${withoutPrefix}`, `<${withoutPrefix}`];
  for (const f of variants) {
    const native = !'=<'.includes(f.charAt(0));
    const values = [...withoutPrefix].map((code, i) => {
      if (code === 'c') return 'z';
      if (code === '?') return true;
      if ('efd'.includes(code)) return 1.5;
      if (code === 'q' || code === 'Q' || (native && 'lLnNP'.includes(code))) return code === 'l' || code === 'n' ? -7n : 7n;
      return code === 'l' ? -7 : i + 1;
    });
    add(f, values, { label: 'alignment' });
  }
}
add('@b0i', [1], { label: 'trailing alignment via 0i' });
add('b0q', [1], { label: 'trailing alignment via 0q' });
add('@3sI', ['ab', 9], { label: 'alignment after s', lossy: true });
add('@5sq', ['hello', 1n], { label: 'alignment after s' });
add('@b2xh', [1, 2], { label: 'pad then align' });
add('@iq', [1, 2n]);
add('@hhi', [1, 2, 3]);
add('@bqbq', [1, 2n, 3, 4n]);
add('@cHcIcQ', ['a', 1, 'b', 2, 'c', 3n]);
add('@?h?i?l?d', [true, 1, false, 2, true, 3n, false, 4.25]);
add('@xq', [5n], { label: 'x then alignment' });
add('@bl0b', [1, 2n]);

// Pad bytes and repeat counts.
add('<xhx', [258]);
add('<3x', []);
add('@x', []);
add('xxx?', [true]);
add('', [], { label: 'empty format' });
add('<0h', [], { label: 'zero repeat' });
add('<3H', [1, 2, 65535]);
add('>2q', [-1n, 1n]);
add('@2bi', [1, 2, 3]);
add('=hil', [1, 2, 3], { label: 'standard native-order' });
add('=q', [-2n]);
add('!BHI', [1, 512, 70000]);
add('>bhilqBHILQ', [-1, -2, -3, -4, -5n, 1, 2, 3, 4, 5n]);
add('<bhilqBHILQ', [-1, -2, -3, -4, -5n, 1, 2, 3, 4, 5n]);

// Whitespace between codes.
add(' h h ', [1, 2], { label: 'whitespace' });
add('<\th\n H\r\x0b\x0ci', [1, 2, 3], { label: 'whitespace' });
add('< 3h', [1, 2, 3], { label: 'whitespace after byte order' });

// Bool.
add('?????', [true, false, 0, 1, 2], { lossy: true });
add('<3?', ['x', '', null], { label: 'truthiness', lossy: true });

// Char.
add('c', ['a']);
add('<3c', [Buffer.from([0xff]), new Uint8Array([0]), 'z']);

// Bytes.
add('5s', ['ab'], { label: 'short input is zero padded', lossy: true });
add('5s', ['abcdefgh'], { label: 'long input is truncated', lossy: true });
add('5s', [Buffer.from('hello')]);
add('5s', [new Uint8Array([1, 2, 3, 4, 5])]);
add('0s', ['abc'], { label: '0s with data', lossy: true });
add('0s', [''], { label: '0s' });
add('10s', [Buffer.from('0123456789')]);
add('<2s', ['é'], { label: 'UTF-8 string' });
add('<1s', ['é'], { label: 'truncation inside a UTF-8 sequence', lossy: true });
add('<3s', ['é'], { label: 'UTF-8 string padded', lossy: true });
add('<2s0sh', ['ab', '', 3]);
add('<s', [''], { label: 'empty into 1s', lossy: true });
add('<2s', ['abé'], { label: 'non-ASCII beyond the width', lossy: true });
add('<5p', ['abcdé'], { label: 'non-ASCII beyond the width', lossy: true });
add('<6p', ['abcdé'], { label: 'UTF-8 split by the width', lossy: true });
add('<40s', ['x'.repeat(33) + 'ü'], { label: 'long UTF-8 string', lossy: true });
add('<40s', [Buffer.alloc(40, 7)], { label: 'long Buffer' });

// Pascal strings.
add('5p', ['abcdefghij'], { label: 'long input is truncated', lossy: true });
add('5p', ['ab'], { label: 'short input', lossy: true });
add('5p', ['abcd'], { label: 'exact fit' });
add('1p', ['abc'], { label: '1p holds no data', lossy: true });
add('2p', [''], { label: 'empty' });
add('<256p', ['a'.repeat(255)], { label: '255 bytes' });
add('<300p', ['b'.repeat(299)], { label: 'length byte capped at 255', lossy: true, noRepack: true });
add('<300p', ['c'.repeat(400)], { label: 'length byte capped at 255', lossy: true, noRepack: true });
add('<0pB', ['', 5], { label: '0p', oldCpythonCannotUnpack: true });
add('<0p', ['xyz'], { label: '0p with data', oldCpythonCannotUnpack: true, lossy: true });
add('@b3pi', [1, 'ab', 2]);

// Half floats.
const halfValues: number[] = [
  0, -0, 1, -1, 0.5, 2, 65504, -65504, 65519.99, -65519.99, 2 ** -14, -(2 ** -14), 2 ** -24, -(2 ** -24),
  2 ** -25, // tie between 0 and the smallest subnormal: rounds to 0 (even)
  -(2 ** -25),
  2 ** -25 * 1.0000001, // just above the tie: rounds up
  3 * 2 ** -25, // tie: 1.5 ulp -> 2
  5 * 2 ** -25, // tie: 2.5 ulp -> 2
  1023.5 * 2 ** -24, // tie at the top of the subnormals -> 1024 (smallest normal)
  1 + 2 ** -11, // tie -> 1
  1 + 3 * 2 ** -11, // tie -> 1 + 2**-9
  2047.5, // tie -> 2048
  2049, // tie -> 2048
  2051, // tie -> 2052
  1 / 3, Math.PI, 0.1, 1e-8, 6e-8, 1e4, 60000, 32768.5,
  Infinity, -Infinity, NaN, Number.MIN_VALUE, -Number.MIN_VALUE,
];
add(`<${halfValues.length}e`, halfValues, { label: 'half floats', lossy: true });
add(`>${halfValues.length}e`, halfValues, { label: 'half floats', lossy: true });
add('@be', [1, 0.333], { lossy: true });
add('<e', [3n], { label: 'bigint for e' });

// Single and double floats.
const FLT_MAX = 3.4028234663852886e38;
const floatValues: number[] = [
  0, -0, 1, -1.5, 1.1, FLT_MAX, -FLT_MAX, 3.4028235e38, 1e-45, 1.4e-45, 7e-46, 1e-46, -1e-46, 16777217, 16777219,
  1e-40, Infinity, -Infinity, NaN, Math.PI, 1e38, -1e-38,
];
add(`<${floatValues.length}f`, floatValues, { label: 'floats', lossy: true });
add(`!${floatValues.length}f`, floatValues, { label: 'floats', lossy: true });
const doubleValues: number[] = [
  0, -0, 1, Math.PI, -Math.E, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 2.2250738585072014e-308, 1e300,
  Infinity, -Infinity, NaN, 0.1, 2 ** 53 + 2,
];
add(`<${doubleValues.length}d`, doubleValues, { label: 'doubles' });
add(`>${doubleValues.length}d`, doubleValues, { label: 'doubles' });
add(`=${doubleValues.length}d`, doubleValues, { label: 'doubles' });
add('<fd', [2n ** 60n, -(2n ** 70n)], { label: 'bigints for floats', lossy: true });

// Everything at once, in every byte order.
for (const p of PREFIXES) {
  const l = isNative(p) ? -9n : -9;
  const L = isNative(p) ? 9n : 9;
  add(`${p}xcbB?hHiIlLqQefd5s5p`, ['c', -1, 255, true, -300, 60000, -70000, 3000000000, l, L, -1n, 1n, 0.5, 0.25, -0.125, 'hi', 'pas'], {
    label: 'every code',
    lossy: true,
  });
}

// Fuzz: random half floats (many near ties), floats and integers.
{
  const halves: number[] = [];
  for (let k = 0; k < 1500; k++) {
    const sign = rand32() & 1 ? -1 : 1;
    let v: number;
    switch (k % 5) {
      case 0: // anything in range, subnormals included
        v = (1 + randUnit()) * 2 ** randInt(-27, 14);
        break;
      case 1: // exact ties between two normal halves
        v = (randInt(1024, 2046) + 0.5) * 2 ** randInt(-24, 5);
        break;
      case 2: // exact ties between two subnormal halves
        v = (randInt(0, 1023) + 0.5) * 2 ** -24;
        break;
      case 3: {
        // one double-ulp either side of a tie
        const t = (randInt(1024, 2046) + 0.5) * 2 ** randInt(-24, 5);
        v = t + (rand32() & 1 ? 1 : -1) * t * 2 ** -52;
        break;
      }
      default: // near the top of the range
        v = 65504 + randUnit() * 15.99;
    }
    halves.push(sign * v);
  }
  add(`<${halves.length}e`, halves, { label: 'fuzz half floats', lossy: true });

  const singles: number[] = [];
  for (let k = 0; k < 1000; k++) {
    const sign = rand32() & 1 ? -1 : 1;
    if (k % 3 === 0) singles.push(sign * (1 + randUnit()) * 2 ** randInt(-152, 126));
    else if (k % 3 === 1) singles.push(sign * (randInt(0x800000, 0xffffff) + 0.5) * 2 ** randInt(-149, 103));
    else singles.push(sign * (randInt(0, 0x7fffff) + 0.5) * 2 ** -149); // ties between subnormals
  }
  add(`>${singles.length}f`, singles, { label: 'fuzz floats', lossy: true });

  for (const p of PREFIXES) {
    const codes = intCodes(p);
    const fmt: string[] = [];
    const vals: unknown[] = [];
    for (let k = 0; k < 200; k++) {
      const c = codes[randInt(0, codes.length - 1)];
      const bits = c.max.toString(2).length + (c.min < 0n ? 1 : 0);
      const v = BigInt.asUintN(bits, randBig(bits)) + c.min;
      fmt.push(c.code);
      vals.push(asValue(c, v > c.max ? c.max : v));
    }
    add(p + fmt.join(''), vals, { label: 'fuzz integers' });
  }
}

const caseIds = cases.map((c) => python.register({ fmt: c.fmt, values: c.values }));

// ---------------------------------------------------------------------------
// Error cases. `py: true` means CPython must reject the same input.
// ---------------------------------------------------------------------------

interface ErrorCase {
  fmt: string;
  /** undefined: the constructor must throw */
  values?: unknown[];
  error: typeof TypeError | typeof RangeError;
  py: boolean;
  label: string;
}
const errorCases: ErrorCase[] = [];
const bad = (
  fmt: string,
  values: unknown[] | undefined,
  error: typeof TypeError | typeof RangeError,
  label: string,
  py = true,
): void => {
  errorCases.push({ fmt, values, error, py, label });
};

// Malformed formats.
for (const fmt of ['3', '<3', 'h3', 'h<', '<<h', '3<h', '@=h', '3 h', 'z', 'hZ', '<n', '>N', '=P', '!n', 'h\0', 'é', 'h!', '<j', '2@']) {
  bad(fmt, undefined, TypeError, 'malformed format');
}
// Wrong number of values.
bad('<hh', [1], TypeError, 'too few values');
bad('<hh', [1, 2, 3], TypeError, 'too many values');
bad('<x', [1], TypeError, 'pad takes no value');
bad('5s', [], TypeError, 's takes one value');
bad('3s', ['a', 'b', 'c'], TypeError, '3s takes one value, not three');
bad('', [0], TypeError, 'empty format takes nothing');
// Wrong types.
for (const [fmt, v] of [
  ['<h', 1.5],
  ['<h', '1'],
  ['<h', NaN],
  ['<h', Infinity],
  ['<h', null],
  ['<h', undefined],
  ['<h', {}],
  ['<b', [1]],
  ['<q', 1.5],
  ['<Q', 'x'],
  ['@l', 0.5],
  ['<d', 'x'],
  ['<f', {}],
  ['<e', null],
  ['5s', 123],
  ['5s', null],
  ['5p', 7],
  ['0s', 1],
  ['0p', 1],
  ['c', 65],
] as [string, unknown][]) {
  bad(fmt, [v], TypeError, `wrong type ${typeof v}`);
}
bad('<q', [2 ** 53], TypeError, 'unsafe integer number for q (must be a bigint)', false);
bad('<Q', [2 ** 64], TypeError, 'unsafe integer number for Q (must be a bigint)', false);
bad('5s', [[104, 105]], TypeError, 'array for s', false);
bad('5s', [new Uint16Array([1])], TypeError, 'non-byte typed array for s', false);
// Out of range integers.
for (const p of PREFIXES) {
  for (const c of intCodes(p)) {
    bad(`${p}${c.code}`, [asValue(c, c.min - 1n)], RangeError, 'below minimum');
    bad(`${p}${c.code}`, [asValue(c, c.max + 1n)], RangeError, 'above maximum');
    bad(`${p}x${c.code}`, [c.max + 1n], RangeError, 'bigint above maximum');
  }
}
bad('@P', [-(2n ** 63n) - 1n], RangeError, 'void* below minimum');
bad('@P', [2n ** 64n], RangeError, 'void* above maximum');
bad('<hh', [1, 40000], RangeError, 'second value out of range');
bad('<Q', [-1], RangeError, 'negative number for Q');
// Chars of the wrong length.
bad('c', ['ab'], RangeError, 'c needs exactly one byte');
bad('c', [''], RangeError, 'c needs exactly one byte');
bad('c', ['é'], RangeError, 'c with a 2-byte UTF-8 char');
// Float overflow (CPython: OverflowError / struct.error).
bad('<e', [65520], RangeError, 'half overflow (tie rounds up to 65536)');
bad('<e', [-65520], RangeError, 'half overflow');
bad('>e', [1e10], RangeError, 'half overflow');
bad('<e', [Number.MAX_VALUE], RangeError, 'half overflow');
bad('<f', [3.4028235677973366e38], RangeError, 'float overflow (tie rounds up to infinity)');
bad('<f', [1e39], RangeError, 'float overflow');
bad('>f', [-1e300], RangeError, 'float overflow');
bad('<d', [10n ** 400n], RangeError, 'int too large for a double');

const errorIds = errorCases.map((c) => python.register({ fmt: c.fmt, values: c.values }));

// Sizes of formats that take values we do not bother packing here.
const sizeOnly = ['@bi', 'bi', '=bi', '<bi', '@b0i', '@hcl', '@?d', '@bq', '@5sq', 'l', '=l', 'P', 'n', '@ e', '3x', '1000000x', '0s', '10p', 'e', 'qP?'];
const sizeIds = sizeOnly.map((fmt) => python.register({ fmt }));

python.run();

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

test('python3 (CPython reference) is available', (t) => {
  t.is(python.failure, undefined, 'python3 is required to run these tests');
  t.truthy(python.reply);
});

cases.forEach((c, i) => {
  const title = `CPython parity #${i}: ${JSON.stringify(c.fmt.length > 40 ? c.fmt.slice(0, 40) + '…' : c.fmt)}${c.label ? ` (${c.label})` : ''}`;
  test(title, (t) => {
    const ref = python.result(caseIds[i]);
    t.is(ref.formatError, undefined, 'CPython rejected the format');
    t.is(ref.packError, undefined, 'CPython rejected the values');
    const s = new Struct(c.fmt);
    t.is(s.format, c.fmt);
    t.is<number | undefined, number | undefined>(s.size, ref.size, 'size must equal struct.calcsize');
    const packed = s.pack(...c.values);
    t.true(Buffer.isBuffer(packed));
    t.is<string | undefined, string | undefined>(packed.toString('hex'), ref.pack, 'pack must be byte-identical to struct.pack');
    const back = s.unpack(packed);
    if (c.oldCpythonCannotUnpack && ref.unpackError !== undefined) {
      t.regex(ref.unpackError, /SystemError/);
      t.is(back.length, c.values.length);
    } else {
      t.is(ref.unpackError, undefined);
      const want = ref.unpack ?? [];
      t.is(back.length, want.length);
      const problems: string[] = [];
      back.forEach((v, k) => {
        const p = sameAsPython(v, want[k]);
        if (p) problems.push(`value ${k}: ${p}`);
      });
      t.deepEqual(problems, [], 'unpack must match struct.unpack');
    }
    if (!c.lossy) {
      const bad = c.values.filter((v, k) => !roundTrips(v, back[k]));
      t.deepEqual(bad, [], 'unpack(pack(v)) must round-trip');
    }
    // Re-packing what we unpacked gives the same bytes (NaN payloads aside).
    if (!c.values.some((v) => typeof v === 'number' && Number.isNaN(v)) && !c.oldCpythonCannotUnpack && !c.noRepack) {
      t.is<string | undefined, string | undefined>(s.pack(...back).toString('hex'), ref.pack, 'pack(unpack(bytes)) must reproduce the bytes');
    }
  });
});

errorCases.forEach((c, i) => {
  const what = c.values === undefined ? 'constructor' : `pack(${c.values.length} value(s))`;
  const title = `error #${i}: ${JSON.stringify(c.fmt)} ${what} -> ${c.error.name} (${c.label})`;
  test(title, (t) => {
    if (c.values === undefined) {
      t.throws(() => new Struct(c.fmt), { instanceOf: c.error });
    } else {
      const s = new Struct(c.fmt);
      const values = c.values;
      const err = t.throws(() => s.pack(...values), { instanceOf: c.error });
      // RangeError is not a TypeError and vice versa: the class is exact.
      t.is(err?.constructor, c.error);
    }
    if (c.py) {
      const ref = python.result(errorIds[i]);
      const rejected = c.values === undefined ? ref.formatError : (ref.formatError ?? ref.packError);
      t.truthy(rejected, 'CPython must reject this input too');
    }
  });
});

test('size equals struct.calcsize for assorted formats', (t) => {
  sizeOnly.forEach((fmt, i) => {
    const ref = python.result(sizeIds[i]);
    t.is(ref.formatError, undefined, fmt);
    t.is<number | undefined, number | undefined>(new Struct(fmt).size, ref.size, `calcsize(${JSON.stringify(fmt)})`);
  });
});

test('native alignment and sizes match Linux x86-64', (t) => {
  t.is(new Struct('@bi').size, 8);
  t.is(new Struct('bi').size, 8);
  t.is(new Struct('=bi').size, 5);
  t.is(new Struct('@bq').size, 16);
  t.is(new Struct('@hcl').size, 16);
  t.is(new Struct('@?d').size, 16);
  t.is(new Struct('@ib').size, 5, 'no trailing alignment');
  t.is(new Struct('@ib0i').size, 8, 'trailing alignment on request');
  t.is(new Struct('@l').size, 8);
  t.is(new Struct('<l').size, 4);
  t.is(new Struct('').size, 0);
});

test('value types: bigint rule, booleans and Buffers', (t) => {
  const native = new Struct('@bhilqQnNPLe');
  const out = native.unpack(native.pack(1, 2, 3, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 1.5));
  t.deepEqual(
    out.map((v) => typeof v),
    ['number', 'number', 'number', 'bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'bigint', 'number'],
  );
  const std = new Struct('<lLqQ');
  t.deepEqual(std.unpack(std.pack(-1, 2, 3, 4)), [-1, 2, 3n, 4n], 'l/L are numbers in standard mode; q/Q accept numbers');
  const misc = new Struct('<?c3s2p');
  const [b, c, s, p] = misc.unpack(misc.pack(1, 'A', 'xyz', 'q'));
  t.is(b, true);
  t.true(Buffer.isBuffer(c));
  t.deepEqual(c, Buffer.from('A'));
  t.deepEqual(s, Buffer.from('xyz'));
  t.deepEqual(p, Buffer.from('q'));
});

test('pack zeroes pad and alignment bytes even with a dirty allocation pool', (t) => {
  const s = new Struct('@bxq3sh2p');
  for (let k = 0; k < 50; k++) {
    Buffer.allocUnsafe(64).fill(0xaa);
    const b = s.pack(1, 2n, 'a', 3, '');
    t.is(b.toString('hex'), '01' + '00'.repeat(7) + '0200000000000000' + '610000' + '00' + '0300' + '0000');
  }
});

test('unpack copies bytes instead of aliasing the input', (t) => {
  const s = new Struct('<3sc');
  const input = Buffer.from('abcd');
  const [str, ch] = s.unpack(input) as Buffer[];
  input.fill(0);
  t.is(str.toString(), 'abc');
  t.is(ch.toString(), 'd');
});

test('unpack accepts any Uint8Array view and other ArrayBuffer views', (t) => {
  const s = new Struct('>HI');
  const backing = new Uint8Array([9, 9, 0x01, 0x02, 0, 0, 0, 5, 9]);
  t.deepEqual(s.unpack(backing.subarray(2, 8)), [258, 5]);
  t.deepEqual(s.unpack(new DataView(backing.buffer, 2, 6) as unknown as Uint8Array), [258, 5]);
});

test('unpack requires exactly size bytes', (t) => {
  const s = new Struct('<hi');
  t.throws(() => s.unpack(Buffer.alloc(5)), { instanceOf: RangeError });
  t.throws(() => s.unpack(Buffer.alloc(7)), { instanceOf: RangeError });
  t.throws(() => s.unpack(Buffer.alloc(0)), { instanceOf: RangeError });
  t.throws(() => s.unpack('abcdef' as unknown as Uint8Array), { instanceOf: TypeError });
  t.throws(() => s.unpack(null as unknown as Uint8Array), { instanceOf: TypeError });
  t.deepEqual(new Struct('').unpack(Buffer.alloc(0)), []);
});

test('unpackFrom reads size bytes at an offset', (t) => {
  const s = new Struct('>H');
  const buf = Buffer.from([1, 2, 3, 4, 5]);
  t.deepEqual(s.unpackFrom(buf), [0x0102]);
  t.deepEqual(s.unpackFrom(buf, 1), [0x0203]);
  t.deepEqual(s.unpackFrom(buf, 3), [0x0405]);
  t.deepEqual(s.unpackFrom(buf, -2), [0x0405], 'negative offsets count from the end, as in CPython');
  t.deepEqual(s.unpackFrom(buf.subarray(1), 1), [0x0304]);
  t.throws(() => s.unpackFrom(buf, 4), { instanceOf: RangeError });
  t.throws(() => s.unpackFrom(buf, 5), { instanceOf: RangeError });
  t.throws(() => s.unpackFrom(buf, -6), { instanceOf: RangeError });
  t.throws(() => s.unpackFrom(buf, 1.5), { instanceOf: TypeError });
  t.throws(() => s.unpackFrom(buf, '1' as unknown as number), { instanceOf: TypeError });
});

test('constructor rejects non-string formats', (t) => {
  t.throws(() => new Struct(5 as unknown as string), { instanceOf: TypeError });
  t.throws(() => new Struct(undefined as unknown as string), { instanceOf: TypeError });
});

test('a huge repeat count is parsed without expanding it', (t) => {
  const s = new Struct('<1000000000H');
  t.is(s.size, 2000000000);
  t.throws(() => s.pack(1), { instanceOf: TypeError });
  t.throws(() => new Struct('99999999999999999999h'), { instanceOf: TypeError });
});

test('error messages name the code and the position of the value', (t) => {
  const s = new Struct('<hBq');
  const range = t.throws(() => s.pack(1, 256, 0n), { instanceOf: RangeError });
  t.regex(range?.message ?? '', /'B'/);
  t.regex(range?.message ?? '', /index 1/);
  const type = t.throws(() => s.pack(1, 2, 'x'), { instanceOf: TypeError });
  t.regex(type?.message ?? '', /'q'/);
  t.regex(type?.message ?? '', /index 2/);
  const fmt = t.throws(() => new Struct('<hk'), { instanceOf: TypeError });
  t.regex(fmt?.message ?? '', /"k"/);
});

test('strings are UTF-8 encoded for s, p and c', (t) => {
  t.deepEqual(new Struct('4s').pack('€'), Buffer.from([0xe2, 0x82, 0xac, 0]));
  t.deepEqual(new Struct('2s').pack('€'), Buffer.from([0xe2, 0x82]), 'truncates the encoded bytes');
  t.deepEqual(new Struct('5p').pack('€'), Buffer.from([3, 0xe2, 0x82, 0xac, 0]));
  t.deepEqual(new Struct('c').pack('\x7f'), Buffer.from([0x7f]));
});
