// Shared by the CPython parity tests (struct.test.ts, netstruct.test.ts):
// the JSON wire codec spoken on both sides, a batch of cases sent to one
// python3 run, and a seeded PRNG for the fuzz tables.
import { spawnSync } from 'node:child_process';

// ---------------------------------------------------------------------------
// The wire codec.
// ---------------------------------------------------------------------------

/** JSON encoding of a value shared by both sides. */
export type Wire =
  | null
  | boolean
  | { t: 'int'; v: string }
  | { t: 'float'; hex: string }
  | { t: 'bytes'; hex: string }
  | { t: 'obj' };

/**
 * The Python half of the codec, for a test's script to embed: `dec(wire)`
 * gives the Python value, `enc(value)` the wire form, `err(exception)` the
 * text reported for an exception ("ValueError: ...").
 */
export const PY_WIRE_CODEC = String.raw`
import struct

def dec(v):
    if v is None or isinstance(v, bool):
        return v
    t = v['t']
    if t == 'int':
        return int(v['v'])
    if t == 'float':
        return struct.unpack('>d', bytes.fromhex(v['hex']))[0]
    if t == 'bytes':
        return bytes.fromhex(v['hex'])
    return object()

def enc(x):
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return {'t': 'int', 'v': str(x)}
    if isinstance(x, float):
        return {'t': 'float', 'hex': struct.pack('>d', x).hex()}
    if isinstance(x, bytes):
        return {'t': 'bytes', 'hex': x.hex()}
    raise TypeError(type(x))

def err(e):
    return type(e).__name__ + ': ' + str(e)
`;

/** The big-endian IEEE 754 bytes of a double, in hex. */
export function f64hex(x: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.toString('hex');
}

/** The double whose big-endian bytes are `hex`. */
export function hexToF64(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

/** A JS value as sent to Python. */
export function toWire(v: unknown): Wire {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return { t: 'int', v: v.toString() };
  if (typeof v === 'number') {
    // Python needs an int for integer codes; integral numbers are sent as int
    // (an int is accepted by e/f/d too), everything else (and -0) as float.
    if (Number.isInteger(v) && !Object.is(v, -0)) return { t: 'int', v: BigInt(v).toString() };
    return { t: 'float', hex: f64hex(v) };
  }
  if (typeof v === 'string') return { t: 'bytes', hex: Buffer.from(v, 'utf8').toString('hex') };
  if (v instanceof Uint8Array) return { t: 'bytes', hex: Buffer.from(v).toString('hex') };
  return { t: 'obj' };
}

/**
 * Whether a value we unpacked equals the one Python unpacked: the same
 * boolean or null, an int as a bigint or a safe-integer number, a float with
 * the same bits (NaN and -0 included), the same bytes as a Buffer.
 */
export function wireEquals(ours: unknown, theirs: Wire): boolean {
  if (theirs === null || typeof theirs === 'boolean') return ours === theirs;
  switch (theirs.t) {
    case 'int':
      if (typeof ours === 'bigint') return ours === BigInt(theirs.v);
      return typeof ours === 'number' && Number.isSafeInteger(ours) && String(ours) === theirs.v;
    case 'float':
      return typeof ours === 'number' && Object.is(ours, hexToF64(theirs.hex));
    case 'bytes':
      return Buffer.isBuffer(ours) && ours.toString('hex') === theirs.hex;
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------
// Every case in one python3 run.
// ---------------------------------------------------------------------------

export interface PythonBatchOptions<Case, Reply, Result> {
  /** The Python program: reads the JSON list of cases on stdin, writes its JSON reply on stdout. */
  script: string;
  /** The JSON form of a case sent to the script. */
  encode: (c: Case) => unknown;
  /** The per-case results in the reply, in case order. */
  results: (reply: Reply) => Result[];
}

/**
 * Cases are registered while the test tables are built, then `run()` sends
 * them all to one python3 process. python3 is required: `result()` throws
 * when it could not run, and tests do not skip.
 */
export class PythonBatch<Case, Reply, Result> {
  readonly cases: Case[] = [];
  /** The parsed reply, once `run()` got one. */
  reply: Reply | undefined;
  /** Why python3 gave no usable reply, if it did not. */
  failure: string | undefined;

  constructor(private readonly options: PythonBatchOptions<Case, Reply, Result>) {}

  /** Adds a case; its index is the one to pass to `result()`. */
  register(c: Case): number {
    this.cases.push(c);
    return this.cases.length - 1;
  }

  run(): void {
    const input = JSON.stringify(this.cases.map((c) => this.options.encode(c)));
    const r = spawnSync('python3', ['-c', this.options.script], { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (r.error) {
      this.failure = `could not run python3: ${r.error.message}`;
      return;
    }
    if (r.status !== 0) {
      this.failure = `python3 exited with ${r.status}: ${r.stderr}`;
      return;
    }
    try {
      this.reply = JSON.parse(r.stdout) as Reply;
    } catch (e) {
      this.failure = `bad output from python3: ${String(e)}`;
      return;
    }
    if (this.options.results(this.reply).length !== this.cases.length) {
      this.failure = 'python3 returned the wrong number of results';
    }
  }

  /** Python's result for the case registered as `index`. */
  result(index: number): Result {
    if (this.reply === undefined || this.failure !== undefined) {
      throw new Error(`CPython reference unavailable (python3 is required, tests do not skip): ${this.failure}`);
    }
    return this.options.results(this.reply)[index];
  }
}

// ---------------------------------------------------------------------------
// Deterministic PRNG for the fuzz tables.
// ---------------------------------------------------------------------------

export interface Rng {
  /** The next 32-bit unsigned value (xorshift32). */
  rand32(): number;
  /** An integer in [lo, hi]. */
  randInt(lo: number, hi: number): number;
  /** 52 random bits in [0, 1). */
  randUnit(): number;
  /** A `bits`-bit integer, two's complement when `signed`. */
  randBig(bits: number, signed?: boolean): bigint;
  pick<T>(list: readonly T[]): T;
  randBytes(n: number): Buffer;
}

/** A xorshift32 generator started at `seed` (non-zero); its functions may be destructured. */
export function seededRng(seed: number): Rng {
  let state = seed >>> 0;
  const rand32 = (): number => {
    let x = state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    state = x;
    return x;
  };
  return {
    rand32,
    randInt: (lo, hi) => lo + (rand32() % (hi - lo + 1)),
    randUnit: () => ((rand32() >>> 6) * 2 ** 26 + (rand32() >>> 6)) / 2 ** 52,
    randBig: (bits, signed = false) => {
      let v = 0n;
      for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(rand32());
      return signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
    },
    pick: (list) => list[rand32() % list.length],
    randBytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let k = 0; k < n; k++) b[k] = rand32() & 0xff;
      return b;
    },
  };
}
