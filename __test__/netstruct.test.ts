import test from 'ava';
import { PY_WIRE_CODEC, PythonBatch, seededRng, toWire, wireEquals, type Wire } from './python-struct.js';

// The test compiles to build/__test__/, the library to dist/: load the compiled
// library at runtime while type-checking against the source.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { NetStruct } = require('../../dist/netstruct.js') as typeof import('../ts/netstruct.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require('../../dist/struct.js') as typeof import('../ts/struct.js');

type NetStructT = InstanceType<typeof NetStruct>;

// ---------------------------------------------------------------------------
// Python references, all cases in one python3 run:
//  - `ref`: netstruct's rule rebuilt on CPython's `struct` (the format cut
//    after every '$', each piece packed by struct with the byte order, the
//    length item replaced by the string's length, pieces and strings joined);
//  - `ns`: the real `netstruct` package, when python3 can import it.
// ---------------------------------------------------------------------------

interface PyOutcome {
  minimumSize?: number;
  formatError?: string;
  pack?: string;
  packError?: string;
  unpack?: Wire[];
  unpackError?: string;
}

interface PyResult {
  ref: PyOutcome;
  ns?: PyOutcome;
}

interface PyReply {
  netstruct: string | null;
  results: PyResult[];
}

const PY_SCRIPT = String.raw`
import json, struct, sys
try:
    import netstruct
    NS_VERSION = getattr(netstruct, '__version__', '?')
except Exception:
    netstruct = None
    NS_VERSION = None
${PY_WIRE_CODEC}
class Ref:
    """netstruct's format rule, with every byte coming from CPython struct."""
    def __init__(self, fmt):
        if fmt[:1] and fmt[0] in '@=<>!':
            order, body = fmt[0], fmt[1:]
        else:
            order, body = '!', fmt
        parts = body.split('$')
        self.pieces = []
        for i, text in enumerate(parts):
            has = i < len(parts) - 1
            if has and (not text or text[-1] not in 'bBhHiIlLqQnNP' or (len(text) > 1 and text[-2].isdigit())):
                raise ValueError('bad $ in ' + repr(fmt))
            st = struct.Struct(order + text)
            n = len(st.unpack(bytes(st.size)))
            self.pieces.append((st, n, has))
        self.minimum_size = sum(st.size for st, n, has in self.pieces)

    def pack(self, *vals):
        if len(vals) != sum(n for st, n, has in self.pieces):
            raise TypeError('wrong number of values')
        out, i = [], 0
        for st, n, has in self.pieces:
            args = list(vals[i:i + n])
            i += n
            if has:
                s = args[-1]
                if not isinstance(s, bytes):
                    raise TypeError('$ needs bytes')
                args[-1] = len(s)
                out.append(st.pack(*args))
                out.append(s)
            else:
                out.append(st.pack(*args))
        return b''.join(out)

    def unpack(self, b):
        res, off = [], 0
        for st, n, has in self.pieces:
            if off + st.size > len(b):
                raise ValueError('buffer too short')
            v = list(st.unpack_from(b, off))
            off += st.size
            if has:
                length = v.pop()
                if length < 0:
                    raise ValueError('negative length')
                if off + length > len(b):
                    raise ValueError('buffer too short')
                v.append(b[off:off + length])
                off += length
            res.extend(v)
        if off != len(b):
            raise ValueError('buffer too long')
        return res

def run(make, fmt, c):
    r = {}
    try:
        s = make(fmt)
        r['minimumSize'] = s.minimum_size
    except Exception as e:
        r['formatError'] = err(e)
        return r
    data = None
    if 'values' in c:
        try:
            data = s.pack(*[dec(v) for v in c['values']])
            r['pack'] = data.hex()
        except Exception as e:
            r['packError'] = err(e)
    if 'bytes' in c:
        data = bytes.fromhex(c['bytes'])
    if data is not None:
        try:
            r['unpack'] = [enc(x) for x in s.unpack(data)]
        except Exception as e:
            r['unpackError'] = err(e)
    return r

results = []
for c in json.load(sys.stdin):
    res = {'ref': run(Ref, c['fmt'], c)}
    if netstruct is not None and c.get('ns'):
        res['ns'] = run(netstruct.NetStruct, c['fmt'].encode('latin-1'), c)
    results.append(res)
json.dump({'netstruct': NS_VERSION, 'results': results}, sys.stdout)
`;

interface PyCase {
  fmt: string;
  values?: unknown[];
  /** Bytes to unpack instead of the packed values. */
  bytes?: Buffer;
  /** Also run the real netstruct (its format grammar is looser and it lacks `x`/`e`). */
  ns: boolean;
}

const python = new PythonBatch<PyCase, PyReply, PyResult>({
  script: PY_SCRIPT,
  encode: (c) => ({
    fmt: c.fmt,
    ns: c.ns,
    ...(c.values ? { values: c.values.map(toWire) } : {}),
    ...(c.bytes ? { bytes: c.bytes.toString('hex') } : {}),
  }),
  results: (reply) => reply.results,
});

/** Differences between our unpacked values and Python's, as readable strings. */
function diffPython(ours: unknown[], theirs: Wire[]): string[] {
  const problems: string[] = [];
  if (ours.length !== theirs.length) problems.push(`expected ${theirs.length} values, got ${ours.length}`);
  theirs.forEach((w, k) => {
    const v = ours[k];
    if (!wireEquals(v, w)) problems.push(`value ${k}: python ${JSON.stringify(w)}, ours ${show(v)}`);
  });
  return problems;
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return `<${v.toString('hex')}>`;
  return String(v);
}

/** Whether unpack gave back what was packed. */
function sameValue(input: unknown, output: unknown): boolean {
  if (typeof input === 'bigint') return output === input;
  if (typeof input === 'number') return Object.is(input, output) || (typeof output === 'bigint' && BigInt(input) === output);
  if (typeof input === 'string') return Buffer.isBuffer(output) && output.equals(Buffer.from(input, 'utf8'));
  if (input instanceof Uint8Array) return Buffer.isBuffer(output) && output.equals(input);
  if (typeof input === 'boolean') return output === input;
  return false;
}

// ---------------------------------------------------------------------------
// Deterministic PRNG.
// ---------------------------------------------------------------------------

const { rand32, randInt, pick, randBytes, randBig } = seededRng(0x2545f491);

// ---------------------------------------------------------------------------
// Cases.
// ---------------------------------------------------------------------------

interface Case {
  fmt: string;
  values: unknown[];
  label?: string;
  /** Compare with the real netstruct too (not for `x`, `e`, `n`, `N`, which it does not count). */
  ns?: boolean;
}

const cases: Case[] = [];
const add = (fmt: string, values: unknown[], extra: Omit<Case, 'fmt' | 'values'> = {}): void => {
  cases.push({ fmt, values, ns: true, ...extra });
};

const hey = Buffer.from('hey');
const bytesOf = (n: number, seed = 0): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let k = 0; k < n; k++) b[k] = (k * 31 + seed) & 0xff;
  return b;
};

// No '$' at all: a plain Struct with network order by default.
add('', [], { label: 'empty' });
add('ih', [-7, 300], { label: 'no $, default !' });
add('!ih', [-7, 300]);
add('<ih', [-7, 300]);
add('>Hq', [65535, -(2n ** 63n)]);
add('=hI', [-2, 4000000000]);
add('@bi', [1, 2], { label: 'native alignment' });
add('c3s2p?fd', [Buffer.from('A'), Buffer.from('xyz'), Buffer.from('q'), true, 1.5, -0.1]);
// The API example and one '$'.
add('ih$5b', [7, hey, 1, 2, 3, 4, 5], { label: 'API example' });
add('ih$5b', [1298, Buffer.from('largeBiomes'), 0, 0, 1, 0, 8], { label: 'netstruct docs example' });
add('b$', [Buffer.from('Hello World!')]);
add('b$', [Buffer.alloc(0)], { label: 'empty string' });
add('b$', [bytesOf(127)], { label: 'b$ longest' });
add('B$', [bytesOf(255)], { label: 'B$ longest' });
add('h$', [bytesOf(32767)], { label: 'h$ longest' });
add('H$', [bytesOf(65535, 3)], { label: 'H$ longest' });
add('b$', ['héllo'], { label: 'string value as UTF-8' });
// Every length code under every byte order, 8-byte ones included.
for (const p of ['', '!', '<', '>', '=', '@']) {
  for (const code of ['b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q']) {
    add(`${p}${code}$`, [bytesOf(5, code.charCodeAt(0))], { label: 'length code' });
    add(`${p}B${code}$H`, [9, bytesOf(3), 513], { label: 'length code mid-record' });
  }
}
add('@bH$', [1, hey], { label: 'native: padding before the length' });
add('@b$bi', [hey, 1, -1], { label: 'native: alignment restarts after $' });
add('@bq$ch', [1, bytesOf(9), Buffer.from('z'), 2], { label: 'native: q length, aligned' });
add('@P$', [hey], { label: 'native: P length' });
add('<q$d', [bytesOf(20), 2.5]);
add('>Q$', [bytesOf(300)]);
add('@l$L$', [hey, Buffer.from('x')], { label: 'native 8-byte l/L lengths' });
// Several '$'.
add('b$b$', [Buffer.from('hi'), Buffer.from([1, 2, 3])]);
add('b$b$', [Buffer.alloc(0), Buffer.alloc(0)]);
add('B$H$I$Q$', [bytesOf(1), bytesOf(2), bytesOf(3), bytesOf(4)]);
add('<h$h$h$', [bytesOf(10), Buffer.alloc(0), bytesOf(300)]);
add('=i$q$', [hey, hey]);
add('ih$5bQ$?', [-1, hey, 1, 2, 3, 4, 5, bytesOf(70), false]);
add('B$B$B$B$B$', [bytesOf(0), bytesOf(1), bytesOf(2), bytesOf(3), bytesOf(4)]);
add(' B$ 2h H$ ', [hey, 1, 2, hey], { label: 'whitespace between codes' });
// Codes the real netstruct cannot count (x, e, n, N): CPython struct reference only.
add('xB$e', [hey, 0.5], { label: 'pad and half float', ns: false });
add('<e2xH$x', [-2, hey], { label: 'pads around $', ns: false });
add('@n$N$', [hey, hey], { label: 'native n/N lengths', ns: false });
add('b$0s', [hey, Buffer.alloc(0)], { label: 'zero-size tail', ns: false });

// Random records (netstruct-safe codes) for parity, framing and layout checks.
const PREFIXES = ['', '!', '<', '>', '=', '@'];
function randomCase(): Case {
  const p = pick(PREFIXES);
  const native = p === '@';
  const sizeOf = (code: string): number =>
    ({ b: 1, B: 1, h: 2, H: 2, i: 4, I: 4, l: native ? 8 : 4, L: native ? 8 : 4, q: 8, Q: 8, P: 8 })[code] ?? 0;
  const intValue = (code: string): unknown => {
    const size = sizeOf(code);
    const signed = code === code.toLowerCase();
    const v = randBig(size * 8, signed);
    return size === 8 ? v : Number(v);
  };
  const parts: string[] = [];
  const values: unknown[] = [];
  const field = (): void => {
    const code = pick(['b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', '?', 'c', 'f', 'd', 's', 'p']);
    const space = rand32() % 5 === 0 ? ' ' : '';
    if (code === 's' || code === 'p') {
      const width = randInt(1, 6);
      parts.push(`${space}${width}${code}`);
      values.push(randBytes(code === 's' ? width : randInt(0, width - 1)));
      return;
    }
    const count = rand32() % 4 === 0 ? randInt(2, 3) : 1;
    parts.push(`${space}${count > 1 ? count : ''}${code}`);
    for (let k = 0; k < count; k++) {
      if (code === '?') values.push(rand32() % 2 === 0);
      else if (code === 'c') values.push(randBytes(1));
      else if (code === 'f') values.push((randInt(0, 2000) - 1000) / 8);
      else if (code === 'd') values.push(rand32() / 3 - 1e9);
      else values.push(intValue(code));
    }
  };
  const strings = randInt(0, 3);
  for (let s = 0; s < strings; s++) {
    for (let f = randInt(0, 2); f > 0; f--) field();
    const lengthCodes = ['b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', ...(native ? ['P'] : [])];
    const code = pick(lengthCodes);
    parts.push(`${rand32() % 5 === 0 ? ' ' : ''}${code}$`);
    values.push(randBytes(rand32() % 4 === 0 ? 0 : randInt(0, code === 'b' ? 127 : 60)));
  }
  for (let f = randInt(0, 2); f > 0; f--) field();
  if (parts.length === 0) field(); // netstruct cannot compile a bare byte order ('!'): IndexError
  return { fmt: p + parts.join(''), values, label: 'random', ns: true };
}
const randomCases: Case[] = [];
for (let k = 0; k < 300; k++) randomCases.push(randomCase());
cases.push(...randomCases);

const caseIds = cases.map((c) => python.register({ fmt: c.fmt, values: c.values, ns: c.ns !== false }));

// Unpacking given bytes (negative lengths, wrong buffer sizes): reference only.
interface UnpackCase {
  fmt: string;
  bytes: Buffer;
  label: string;
}
const unpackCases: UnpackCase[] = [
  { fmt: 'b$', bytes: Buffer.from([0xff]), label: 'negative b length' },
  { fmt: 'b$', bytes: Buffer.from([0x80, 1, 2]), label: 'negative -128 b length' },
  { fmt: '<h$', bytes: Buffer.from([0xfe, 0xff, 0, 0]), label: 'negative <h length' },
  { fmt: 'i$', bytes: Buffer.from([0x80, 0, 0, 0]), label: 'negative i length' },
  { fmt: '<q$', bytes: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]), label: 'negative <q length' },
  { fmt: '>q$', bytes: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 1]), label: 'negative >q length' },
  { fmt: 'b$', bytes: Buffer.from([3, 1, 2]), label: 'string cut short' },
  { fmt: 'b$', bytes: Buffer.from([1, 1, 2]), label: 'one byte too many' },
  { fmt: 'ih$5b', bytes: Buffer.from([0, 0, 0, 1, 0]), label: 'fixed part cut short' },
  { fmt: 'ih', bytes: Buffer.from([0, 0, 0, 1, 0, 1, 9]), label: 'no $, too long' },
  { fmt: 'ih', bytes: Buffer.from([0, 0, 0, 1, 0]), label: 'no $, too short' },
  { fmt: '', bytes: Buffer.from([0]), label: 'empty format, one byte' },
  { fmt: '>Q$', bytes: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1]), label: 'huge Q length' },
];
const unpackIds = unpackCases.map((c) => python.register({ fmt: c.fmt, bytes: c.bytes, ns: false }));

// Errors.
interface ErrorCase {
  fmt: unknown;
  values?: unknown[];
  error: typeof TypeError | typeof RangeError;
  label: string;
  /** The real netstruct rejects it too (where its rules agree). */
  nsRejects?: boolean;
}
const errorCases: ErrorCase[] = [
  { fmt: '$', error: TypeError, label: '$ first', nsRejects: true },
  { fmt: '!$', error: TypeError, label: '$ right after the byte order', nsRejects: true },
  { fmt: '$b', error: TypeError, label: '$ first', nsRejects: true },
  { fmt: 'c$', error: TypeError, label: '$ after c', nsRejects: true },
  { fmt: '?$', error: TypeError, label: '$ after ?', nsRejects: true },
  { fmt: 'f$', error: TypeError, label: '$ after f', nsRejects: true },
  { fmt: 'd$', error: TypeError, label: '$ after d', nsRejects: true },
  { fmt: 'e$', error: TypeError, label: '$ after e', nsRejects: true },
  { fmt: 's$', error: TypeError, label: '$ after s', nsRejects: true },
  { fmt: '5s$', error: TypeError, label: '$ after 5s', nsRejects: true },
  { fmt: 'p$', error: TypeError, label: '$ after p', nsRejects: true },
  { fmt: 'x$', error: TypeError, label: '$ after x', nsRejects: true },
  { fmt: 'b$$', error: TypeError, label: '$$', nsRejects: true },
  { fmt: 'h $', error: TypeError, label: 'space before $', nsRejects: true },
  { fmt: '2h$', error: TypeError, label: 'repeat count on the length' },
  { fmt: 'b1i$', error: TypeError, label: 'repeat count 1 on the length' },
  { fmt: '0b$', error: TypeError, label: 'repeat count 0 on the length' },
  { fmt: 'n$', error: TypeError, label: 'n outside native mode', nsRejects: true },
  { fmt: '!P$', error: TypeError, label: 'P outside native mode', nsRejects: true },
  { fmt: 'b$<h', error: TypeError, label: 'byte order after $', nsRejects: true },
  { fmt: '<<b', error: TypeError, label: 'two byte orders', nsRejects: true },
  { fmt: 'z', error: TypeError, label: 'unknown code', nsRejects: true },
  { fmt: 'b$z', error: TypeError, label: 'unknown code after $', nsRejects: true },
  { fmt: 'b$3', error: TypeError, label: 'count without code', nsRejects: true },
  { fmt: 42, error: TypeError, label: 'format not a string' },
  // Wrong value counts.
  { fmt: 'ih$5b', values: [1, hey], error: TypeError, label: 'too few values', nsRejects: true },
  { fmt: 'ih$5b', values: [1, 3, hey, 1, 2, 3, 4, 5], error: TypeError, label: 'length passed too', nsRejects: true },
  { fmt: 'b$', values: [], error: TypeError, label: 'no value', nsRejects: true },
  { fmt: 'hh', values: [1, 2, 3], error: TypeError, label: 'no $, too many', nsRejects: true },
  // Wrong value types.
  { fmt: 'b$', values: [5], error: TypeError, label: '$ value is a number', nsRejects: true },
  { fmt: 'b$', values: [null], error: TypeError, label: '$ value is null', nsRejects: true },
  { fmt: 'hb$', values: ['x', hey], error: TypeError, label: 'string for h', nsRejects: true },
  // Out-of-range lengths and values.
  { fmt: 'b$', values: [bytesOf(128)], error: RangeError, label: '128 bytes for b$', nsRejects: true },
  { fmt: 'B$', values: [bytesOf(256)], error: RangeError, label: '256 bytes for B$', nsRejects: true },
  { fmt: '<h$', values: [bytesOf(32768)], error: RangeError, label: '32768 bytes for h$', nsRejects: true },
  { fmt: 'H$', values: [bytesOf(65536)], error: RangeError, label: '65536 bytes for H$', nsRejects: true },
  { fmt: 'bb$', values: ['é'.repeat(64), Buffer.alloc(0)], error: TypeError, label: 'string for b (not a length)' },
  { fmt: 'b$', values: ['é'.repeat(64)], error: RangeError, label: '128 UTF-8 bytes for b$' },
  { fmt: 'Bb$b', values: [256, hey, 1], error: RangeError, label: 'B value 256', nsRejects: true },
  { fmt: 'b$b', values: [hey, -129], error: RangeError, label: 'b value -129 after $', nsRejects: true },
];
const errorIds = errorCases.map((c) =>
  typeof c.fmt === 'string' ? python.register({ fmt: c.fmt, values: c.values, ns: c.nsRejects === true }) : -1,
);

python.run();

// ---------------------------------------------------------------------------
// A reference decoder of frameLayout(), written independently with BigInt.
// ---------------------------------------------------------------------------

/** Record length per the layout, -1 when incomplete, 'negative' for a negative length. */
function layoutLength(layout: readonly number[], buf: Uint8Array, offset = 0): number | 'negative' {
  let pos = BigInt(offset);
  const end = BigInt(buf.length);
  for (let i = 0; i < layout.length; i += 4) {
    const [fixed, lenOffset, lenSize, flags] = layout.slice(i, i + 4);
    const start = pos;
    pos += BigInt(fixed);
    if (pos > end) return -1;
    if (lenOffset < 0) continue;
    let v = 0n;
    for (let k = 0; k < lenSize; k++) {
      const byte = (flags & 1) !== 0 ? buf[Number(start) + lenOffset + lenSize - 1 - k] : buf[Number(start) + lenOffset + k];
      v = (v << 8n) | BigInt(byte);
    }
    if ((flags & 2) !== 0) v = BigInt.asIntN(lenSize * 8, v);
    if (v < 0n) return 'negative';
    pos += v;
    if (pos > end) return -1;
  }
  return Number(pos - BigInt(offset));
}

/** recordLength, with a RangeError turned into 'negative'. */
function ourLength(ns: NetStructT, buf: Uint8Array, offset = 0): number | 'negative' {
  try {
    return ns.recordLength(buf, offset);
  } catch (e) {
    if (e instanceof RangeError && /negative/.test(e.message)) return 'negative';
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

test('python3 reference runs; netstruct package availability is reported', (t) => {
  t.is(python.failure, undefined, 'python3 is required to run these tests');
  t.truthy(python.reply);
  t.log(
    python.reply?.netstruct
      ? `comparing against the real netstruct ${python.reply.netstruct} and CPython struct`
      : 'python netstruct is not installed: comparing against the CPython struct reference only',
  );
  const withNs = python.reply?.results.filter((r) => r.ns !== undefined).length ?? 0;
  t.log(`${python.cases.length} python cases, ${withNs} of them also run through netstruct`);
  if (python.reply?.netstruct) t.true(withNs > 300);
});

test('API example: ih$5b', (t) => {
  const ns = new NetStruct('ih$5b');
  const packed = ns.pack(7, Buffer.from('hey'), 1, 2, 3, 4, 5);
  t.is(packed.toString('hex'), '00000007' + '0003' + '686579' + '0102030405');
  t.deepEqual(ns.unpack(packed), [7, Buffer.from('hey'), 1, 2, 3, 4, 5]);
  t.is(ns.format, 'ih$5b');
  t.is(ns.minimumSize, 11);
  t.is(ns.recordLength(packed), 14);
  t.deepEqual(ns.frameLayout(), [6, 4, 2, 2, 5, -1, 0, 0]);
});

cases.forEach((c, i) => {
  const title = `python parity #${i}: ${JSON.stringify(c.fmt)}${c.label ? ` (${c.label})` : ''}`;
  test(title, (t) => {
    const r = python.result(caseIds[i]);
    const ns = new NetStruct(c.fmt);
    t.is(ns.format, c.fmt);
    const packed = ns.pack(...c.values);
    t.true(Buffer.isBuffer(packed));
    const back = ns.unpack(packed);

    // Against the CPython struct reference.
    t.is(r.ref.formatError, undefined, 'the reference rejected the format');
    t.is(r.ref.packError, undefined, 'the reference rejected the values');
    t.is<number | undefined, number | undefined>(ns.minimumSize, r.ref.minimumSize, 'minimumSize');
    t.is<string | undefined, string | undefined>(packed.toString('hex'), r.ref.pack, 'pack must equal CPython struct pieces joined with the strings');
    t.deepEqual(diffPython(back, r.ref.unpack ?? []), [], 'unpack must match the reference');

    // Against the real netstruct, when installed.
    if (r.ns) {
      t.is(r.ns.formatError, undefined, 'netstruct rejected the format');
      t.is(r.ns.packError, undefined, 'netstruct rejected the values');
      t.is<number | undefined, number | undefined>(ns.minimumSize, r.ns.minimumSize, 'minimumSize = netstruct minimum_size');
      t.is<string | undefined, string | undefined>(packed.toString('hex'), r.ns.pack, 'pack must be byte-identical to netstruct.pack');
      t.deepEqual(diffPython(back, r.ns.unpack ?? []), [], 'unpack must match netstruct.unpack');
    }

    // Round trip, framing and layout on the same bytes.
    const bad = c.values.filter((v, k) => !sameValue(v, back[k]));
    t.deepEqual(bad.map(show), [], 'unpack(pack(v)) must give v back');
    t.is(ns.pack(...back).toString('hex'), packed.toString('hex'), 'pack(unpack(bytes)) must reproduce the bytes');
    t.is(ns.recordLength(packed), packed.length);
    const trailing = Buffer.concat([packed, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])]);
    t.is(ns.recordLength(trailing), packed.length, 'trailing bytes are not part of the record');
    t.is(layoutLength(ns.frameLayout(), trailing), packed.length, 'the layout gives the same length');
  });
});

unpackCases.forEach((c, i) => {
  test(`unpack of given bytes #${i}: ${JSON.stringify(c.fmt)} (${c.label}) -> RangeError like the reference`, (t) => {
    const ref = python.result(unpackIds[i]).ref;
    t.is(ref.formatError, undefined);
    t.truthy(ref.unpackError, 'the reference must reject these bytes too');
    const ns = new NetStruct(c.fmt);
    const err = t.throws(() => ns.unpack(c.bytes), { instanceOf: RangeError });
    t.is(err?.constructor, RangeError);
    if (/negative/.test(c.label)) {
      t.throws(() => ns.recordLength(c.bytes), { instanceOf: RangeError, message: /negative/ });
      t.is(layoutLength(ns.frameLayout(), c.bytes), 'negative');
    }
  });
});

errorCases.forEach((c, i) => {
  const what = c.values === undefined ? 'constructor' : `pack(${c.values.length} value(s))`;
  test(`error #${i}: ${JSON.stringify(c.fmt)} ${what} -> ${c.error.name} (${c.label})`, (t) => {
    let err: Error | undefined;
    if (c.values === undefined) {
      err = t.throws(() => new NetStruct(c.fmt as string), { instanceOf: c.error });
    } else {
      const ns = new NetStruct(c.fmt as string);
      const values = c.values;
      err = t.throws(() => ns.pack(...values), { instanceOf: c.error });
    }
    t.is(err?.constructor, c.error, 'the error class is exact');
    if (typeof c.fmt === 'string') {
      const r = python.result(errorIds[i]);
      const refRejects = r.ref.formatError ?? (c.values ? r.ref.packError : undefined);
      t.truthy(refRejects, 'the CPython struct reference rejects it too');
      if (r.ns) {
        const nsRejects = r.ns.formatError ?? (c.values ? r.ns.packError : undefined);
        t.truthy(nsRejects, 'netstruct rejects it too');
      }
    }
  });
});

test('default byte order is network order; prefixes are honoured', (t) => {
  t.is(new NetStruct('H$').pack(hey).toString('hex'), '0003686579');
  t.is(new NetStruct('!H$').pack(hey).toString('hex'), '0003686579');
  t.is(new NetStruct('>H$').pack(hey).toString('hex'), '0003686579');
  t.is(new NetStruct('<H$').pack(hey).toString('hex'), '0300686579');
  // = and @ use the host order (little endian on x86-64), like Struct.
  const host = new Struct('=H').pack(3).toString('hex');
  t.is(new NetStruct('=H$').pack(hey).toString('hex'), host + '686579');
  t.is(new NetStruct('@H$').pack(hey).toString('hex'), host + '686579');
  t.is(new NetStruct('ih').pack(1, 2).toString('hex'), new Struct('!ih').pack(1, 2).toString('hex'));
  t.not(new NetStruct('ih').pack(1, 2).toString('hex'), new Struct('ih').pack(1, 2).toString('hex'));
});

test('value types: numbers, bigints for 8-byte codes, fresh Buffers for $', (t) => {
  t.throws(() => new NetStruct('<q$@'), { instanceOf: TypeError }, "'@' after the first character");
  const a = new NetStruct('<qQ$i?c3s');
  const input = Buffer.from('abc');
  const out = a.unpack(a.pack(-5n, input, 7, true, 'Z', 'xyz'));
  t.deepEqual(out.map((v) => (Buffer.isBuffer(v) ? 'Buffer' : typeof v)), [
    'bigint',
    'Buffer',
    'number',
    'boolean',
    'Buffer',
    'Buffer',
  ]);
  t.deepEqual(out, [-5n, input, 7, true, Buffer.from('Z'), Buffer.from('xyz')]);
  t.not(out[1], input, 'a fresh Buffer, not the input');
  // The $ Buffer does not share memory with the record.
  const rec = new NetStruct('b$').pack(hey);
  const [s] = new NetStruct('b$').unpack(rec) as [Buffer];
  rec[1] = 0;
  t.deepEqual(s, hey);
  // Native l/L are 8-byte: bigint.
  const n = new NetStruct('@lL$');
  t.deepEqual(n.unpack(n.pack(-1n, hey)), [-1n, hey]);
  // Uint8Array input and other views for unpack.
  const u = new NetStruct('>I$');
  const packed = u.pack(new Uint8Array([1, 2]));
  t.deepEqual(u.unpack(new Uint8Array(packed)), [Buffer.from([1, 2])]);
  t.deepEqual(u.unpack(new DataView(packed.buffer, packed.byteOffset, packed.length) as unknown as Uint8Array), [
    Buffer.from([1, 2]),
  ]);
  t.throws(() => u.unpack('nope' as unknown as Uint8Array), { instanceOf: TypeError });
});

test('minimumSize and frameLayout of assorted formats', (t) => {
  const expect: [string, number, number[]][] = [
    ['', 0, []],
    ['ih', 6, [6, -1, 0, 0]],
    ['b$', 1, [1, 0, 1, 2]],
    ['B$', 1, [1, 0, 1, 0]],
    ['<H$', 2, [2, 0, 2, 1]],
    ['>h$', 2, [2, 0, 2, 2]],
    ['<q$', 8, [8, 0, 8, 3]],
    ['Q$', 8, [8, 0, 8, 0]],
    ['!l$', 4, [4, 0, 4, 2]],
    ['ih$5b', 11, [6, 4, 2, 2, 5, -1, 0, 0]],
    ['b$b$', 2, [1, 0, 1, 2, 1, 0, 1, 2]],
    ['<B$Q$', 9, [1, 0, 1, 1, 8, 0, 8, 1]],
    ['@bH$', 4, [4, 2, 2, 1]],
    ['@bl$', 16, [16, 8, 8, 3]],
    ['xB$e', 4, [2, 1, 1, 0, 2, -1, 0, 0]],
    ['b$0s', 1, [1, 0, 1, 2]],
  ];
  for (const [fmt, min, layout] of expect) {
    const ns = new NetStruct(fmt);
    t.is(ns.minimumSize, min, `minimumSize of ${fmt}`);
    t.deepEqual(ns.frameLayout(), layout, `frameLayout of ${fmt}`);
  }
  const ns = new NetStruct('b$');
  const l = ns.frameLayout();
  l[0] = 99;
  t.deepEqual(ns.frameLayout(), [1, 0, 1, 2], 'frameLayout returns a copy');
});

/** Formats for the streaming tests, with a generator of random values. */
const STREAM_FORMATS: [string, () => unknown[]][] = [
  ['ih$5b', () => [rand32() | 0, randBytes(randInt(0, 20)), 1, -2, 3, -4, 5]],
  ['b$b$', () => [randBytes(randInt(0, 9)), randBytes(randInt(0, 9))]],
  ['<Q$', () => [randBytes(randInt(0, 12))]],
  ['>q$H', () => [randBytes(randInt(0, 12)), randInt(0, 65535)]],
  ['@bH$i', () => [1, randBytes(randInt(0, 7)), -1]],
  ['=I$h$', () => [randBytes(randInt(0, 5)), randBytes(randInt(0, 5))]],
  ['hh', () => [randInt(-100, 100), 7]],
  ['B$', () => [randBytes(randInt(0, 3))]],
];

test('recordLength is -1 until a whole record is buffered, then exactly its length (every chunk size)', (t) => {
  for (const [fmt, gen] of STREAM_FORMATS) {
    const ns = new NetStruct(fmt);
    const records: Buffer[] = [];
    for (let k = 0; k < 8; k++) records.push(ns.pack(...gen()));
    records.push(ns.pack(...gen().map((v) => (Buffer.isBuffer(v) ? Buffer.alloc(0) : v)))); // empty strings
    const stream = Buffer.concat(records);
    const failures: string[] = [];
    for (let chunk = 1; chunk <= stream.length; chunk++) {
      // Even chunk sizes: slice consumed bytes off; odd ones: keep the buffer, advance an offset.
      const useOffset = chunk % 2 === 1;
      let buf = Buffer.alloc(0);
      let start = 0;
      let k = 0;
      for (let fed = 0; fed < stream.length; fed += chunk) {
        buf = Buffer.concat([buf, stream.subarray(fed, fed + chunk)]);
        for (;;) {
          const available = buf.length - start;
          if (k === records.length) {
            if (available !== 0) failures.push(`${fmt} chunk ${chunk}: ${available} stray bytes`);
            break;
          }
          const got = useOffset ? ns.recordLength(buf, start) : ns.recordLength(buf);
          const want = available < records[k].length ? -1 : records[k].length;
          if (got !== want) {
            failures.push(`${fmt} chunk ${chunk}, record ${k}, ${available} bytes buffered: got ${got}, want ${want}`);
            break;
          }
          if (got < 0) break;
          const rec = buf.subarray(start, start + got);
          if (!rec.equals(records[k])) failures.push(`${fmt} chunk ${chunk}: record ${k} bytes differ`);
          if (useOffset) start += got;
          else buf = buf.subarray(got);
          k++;
        }
      }
      if (k !== records.length) failures.push(`${fmt} chunk ${chunk}: only ${k} of ${records.length} records`);
    }
    t.deepEqual(failures.slice(0, 10), [], fmt);
  }
});

test('recordLength on every prefix of random records, and with trailing bytes', (t) => {
  const failures: string[] = [];
  for (const c of randomCases) {
    const ns = new NetStruct(c.fmt);
    const rec = ns.pack(...c.values);
    for (let p = 0; p < rec.length; p++) {
      const got = ns.recordLength(rec.subarray(0, p));
      if (got !== -1) failures.push(`${c.fmt}: prefix ${p}/${rec.length} gave ${got}`);
    }
    const padded = Buffer.concat([Buffer.from([0xff, 0xff]), rec, randBytes(randInt(0, 20))]);
    if (ns.recordLength(padded, 2) !== rec.length) failures.push(`${c.fmt}: offset 2 wrong`);
  }
  t.deepEqual(failures.slice(0, 10), []);
  const ns = new NetStruct('b$');
  t.is(new NetStruct('').recordLength(Buffer.alloc(3)), 0, 'the empty format has 0-byte records');
  t.is(ns.recordLength(Buffer.from([2, 1, 2]), 3), -1, 'offset at the end: more bytes needed');
  t.throws(() => ns.recordLength(Buffer.from([2, 1, 2]), 4), { instanceOf: RangeError });
  t.throws(() => ns.recordLength(Buffer.from([2, 1, 2]), -1), { instanceOf: RangeError });
  t.throws(() => ns.recordLength(Buffer.from([2, 1, 2]), 0.5), { instanceOf: TypeError });
  t.throws(() => ns.recordLength(Buffer.from([0xff, 1, 2])), { instanceOf: RangeError, message: /negative/ });
  t.is(new NetStruct('>Q$').recordLength(Buffer.alloc(100, 0xff)), -1, 'a huge unsigned length needs more bytes');
});

test('frameLayout decodes to the same lengths as recordLength (random records and random bytes)', (t) => {
  const failures: string[] = [];
  let negatives = 0;
  let complete = 0;
  for (const c of randomCases) {
    const ns = new NetStruct(c.fmt);
    const layout = ns.frameLayout();
    // Layout sanity: quadruples, fixed parts summing to minimumSize, only the last without a length.
    if (layout.length % 4 !== 0) failures.push(`${c.fmt}: layout length ${layout.length}`);
    let fixed = 0;
    for (let i = 0; i < layout.length; i += 4) {
      fixed += layout[i];
      const [size, off, lenSize] = [layout[i], layout[i + 1], layout[i + 2]];
      if (off >= 0 && (![1, 2, 4, 8].includes(lenSize) || off + lenSize > size)) failures.push(`${c.fmt}: bad field`);
      if (off < 0 && i !== layout.length - 4) failures.push(`${c.fmt}: fixed-only segment not last`);
    }
    if (fixed !== ns.minimumSize) failures.push(`${c.fmt}: layout fixed bytes ${fixed} != minimumSize ${ns.minimumSize}`);

    const rec = ns.pack(...c.values);
    const tail = randBytes(randInt(0, 10));
    const full = Buffer.concat([rec, tail]);
    for (let p = 0; p <= full.length; p++) {
      const view = full.subarray(0, p);
      const a = layoutLength(layout, view);
      const b = ourLength(ns, view);
      if (a !== b) failures.push(`${c.fmt}: ${p} bytes: layout ${a}, recordLength ${b}`);
    }
    // Random garbage: both must agree, negative lengths included.
    for (let k = 0; k < 20; k++) {
      const junk = randBytes(randInt(0, ns.minimumSize + 40));
      // Keep some lengths small so complete records occur too.
      if (k % 2 === 0) for (let j = 0; j < junk.length; j += 1) if (rand32() % 3 === 0) junk[j] &= 0x03;
      const a = layoutLength(layout, junk);
      const b = ourLength(ns, junk);
      if (a !== b) failures.push(`${c.fmt}: junk ${junk.toString('hex')}: layout ${a}, recordLength ${b}`);
      if (b === 'negative') negatives++;
      else if (b >= 0) complete++;
    }
  }
  t.deepEqual(failures.slice(0, 10), []);
  t.true(negatives > 0, 'negative lengths were exercised');
  t.true(complete > 0, 'complete records were found in random bytes');
});

test('pack/unpack round trips with 0, 1 and several $ under every prefix', (t) => {
  for (const p of ['', '!', '<', '>', '=', '@']) {
    const none = new NetStruct(`${p}bhiq`);
    t.deepEqual(none.unpack(none.pack(-1, -2, -3, -4n)), [-1, -2, -3, -4n], `${p} no $`);
    const one = new NetStruct(`${p}I$d`);
    t.deepEqual(one.unpack(one.pack(bytesOf(40), 0.25)), [bytesOf(40), 0.25], `${p} one $`);
    const many = new NetStruct(`${p}B$q$Q$h`);
    const v = [bytesOf(3), bytesOf(0), bytesOf(1000), -300];
    t.deepEqual(many.unpack(many.pack(...v)), v, `${p} several $`);
    t.is(many.pack(...v).length, many.minimumSize + 1003);
  }
});

test('unpack requires exactly one record', (t) => {
  const ns = new NetStruct('b$h');
  const rec = ns.pack(hey, 5);
  t.deepEqual(ns.unpack(rec), [hey, 5]);
  t.throws(() => ns.unpack(Buffer.concat([rec, Buffer.from([0])])), { instanceOf: RangeError });
  t.throws(() => ns.unpack(rec.subarray(0, rec.length - 1)), { instanceOf: RangeError });
  t.throws(() => ns.unpack(Buffer.alloc(0)), { instanceOf: RangeError });
  const fixed = new NetStruct('hh');
  t.throws(() => fixed.unpack(Buffer.alloc(3)), { instanceOf: RangeError });
  t.throws(() => fixed.unpack(Buffer.alloc(5)), { instanceOf: RangeError });
  t.deepEqual(new NetStruct('').unpack(Buffer.alloc(0)), []);
  t.deepEqual(new NetStruct('').pack(), Buffer.alloc(0));
});
