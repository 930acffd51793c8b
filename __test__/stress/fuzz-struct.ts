// Struct and NetStruct fed random formats and random bytes (seeded).
//
//   node build/__test__/stress/fuzz-struct.js [--cases 1000000] [--seed 1]
//
// Per case: a format (mostly well-formed, sometimes garbage) and random
// bytes of the right length or not. What must hold:
// - constructors accept the format or throw TypeError;
// - unpack/unpackFrom/recordLength return or throw TypeError/RangeError,
//   never anything else, never hang;
// - Struct: bytes of exactly `size` always unpack; the values pack again and
//   unpack to the same values;
// - NetStruct: `unpack(b)` succeeds exactly when `recordLength(b)` is
//   `b.length`; a record's values pack to a record of the same length that
//   unpacks to the same values.
// The reliability test runs 20,000 cases.
import { isDeepStrictEqual } from 'node:util';
import { NetStruct, Struct } from 'pants-net';

import { numberOption, printResult, Random } from './common.js';

/** Figures of a run. */
export interface FuzzFigures {
  seed: number;
  cases: number;
  /** Calls of unpack, unpackFrom, recordLength and pack. */
  executions: number;
  formatsAccepted: number;
  formatsRejected: number;
  typedErrors: number;
  /** Struct values and NetStruct records checked through pack and unpack again. */
  roundTrips: number;
  /** Descriptions of the first failures, with what reproduces them. */
  failures: string[];
  failureCount: number;
  elapsedMs: number;
}

const STANDARD_CODES = 'xcbB?hHiIlLqQefdsp';
const NATIVE_CODES = `${STANDARD_CODES}nNP`;
const STANDARD_LENGTH_CODES = 'bBhHiIlLqQ';
const NATIVE_LENGTH_CODES = `${STANDARD_LENGTH_CODES}nNP`;
const ORDERS = ['', '@', '=', '<', '>', '!'];
const GARBAGE = ' \t0123456789$@=<>!xcbB?hHiIlLqQefdspnNPzZ#.-';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A format of `items` items: a repeat count now and then, whitespace rarely. */
function fixedItems(random: Random, native: boolean, items: number): string {
  const codes = native ? NATIVE_CODES : STANDARD_CODES;
  let text = '';
  for (let index = 0; index < items; index++) {
    const code = random.pick([...codes]);
    if (random.chance(0.3)) text += String(code === 's' || code === 'p' ? random.int(0, 40) : random.int(0, 5));
    text += code;
    if (random.chance(0.05)) text += ' ';
  }
  return text;
}

function structFormat(random: Random): string {
  if (random.chance(0.05)) {
    return Array.from({ length: random.int(0, 8) }, () => random.pick([...GARBAGE])).join('');
  }
  const order = random.pick(ORDERS);
  return order + fixedItems(random, order === '' || order === '@', random.int(0, 6));
}

function netStructFormat(random: Random): string {
  if (random.chance(0.05)) {
    return Array.from({ length: random.int(0, 8) }, () => random.pick([...GARBAGE])).join('');
  }
  const order = random.pick(ORDERS);
  const native = order === '@';
  let format = order;
  for (let segment = random.int(0, 3); segment > 0; segment--) {
    format += fixedItems(random, native, random.int(0, 3));
    format += `${random.pick([...(native ? NATIVE_LENGTH_CODES : STANDARD_LENGTH_CODES)])}$`;
  }
  return format + fixedItems(random, native, random.int(0, 3));
}

/** Random bytes for a record: small length fields most of the time, so that strings complete. */
function recordBytes(random: Random, length: number): Buffer {
  const bytes = random.bytes(length);
  for (let index = 0; index < length; index++) if (random.chance(0.7)) bytes[index] &= 3;
  return bytes;
}

function isTyped(error: unknown): boolean {
  return error instanceof TypeError || error instanceof RangeError;
}

/** Runs `cases` cases from `seed`. */
export function fuzzStructs(cases: number, seed: number): FuzzFigures {
  const random = new Random(seed);
  const started = Date.now();
  const figures: FuzzFigures = { seed, cases, executions: 0, formatsAccepted: 0, formatsRejected: 0, typedErrors: 0, roundTrips: 0, failures: [], failureCount: 0, elapsedMs: 0 };
  const fail = (caseIndex: number, what: string) => {
    figures.failureCount += 1;
    if (figures.failures.length < 20) figures.failures.push(`case ${caseIndex} (seed ${seed}): ${what}`);
  };
  /** Runs `fn`; a TypeError or RangeError is counted, anything else is a failure. */
  const attempt = <T>(caseIndex: number, what: () => string, fn: () => T): { ok: true; value: T } | { ok: false; error: unknown } => {
    figures.executions += 1;
    try {
      return { ok: true, value: fn() };
    } catch (error) {
      if (isTyped(error)) figures.typedErrors += 1;
      else fail(caseIndex, `${what()} threw ${String(error)}`);
      return { ok: false, error };
    }
  };

  for (let caseIndex = 0; caseIndex < cases; caseIndex++) {
    if (caseIndex % 2 === 0) {
      // ----- Struct
      const format = structFormat(random);
      let struct: Struct;
      try {
        struct = new Struct(format);
      } catch (error) {
        figures.formatsRejected += 1;
        if (!(error instanceof TypeError)) fail(caseIndex, `new Struct(${JSON.stringify(format)}) threw ${String(error)}`);
        continue;
      }
      figures.formatsAccepted += 1;
      if (struct.size > 4096) continue;
      const exact = random.chance(0.7);
      const bytes = random.bytes(exact ? struct.size : random.int(0, struct.size + 8));
      const label = () => `Struct(${JSON.stringify(format)}) on ${hex(bytes)}`;
      const unpacked = attempt(caseIndex, () => `${label()}.unpack`, () => struct.unpack(bytes));
      if (bytes.length === struct.size && !unpacked.ok) fail(caseIndex, `${label()}.unpack of exactly size bytes threw ${String(unpacked.error)}`);
      if (bytes.length !== struct.size && unpacked.ok) fail(caseIndex, `${label()}.unpack of ${bytes.length} bytes (size ${struct.size}) succeeded`);
      const offset = random.int(-bytes.length - 2, bytes.length + 2);
      attempt(caseIndex, () => `${label()}.unpackFrom(${offset})`, () => struct.unpackFrom(bytes, offset));
      if (unpacked.ok) {
        const values = unpacked.value;
        const repacked = attempt(caseIndex, () => `${label()} repack`, () => struct.pack(...values));
        if (!repacked.ok) fail(caseIndex, `${label()}: its own values do not pack: ${String(repacked.error)}`);
        else if (!isDeepStrictEqual(struct.unpack(repacked.value), values)) fail(caseIndex, `${label()}: values change through pack/unpack`);
        else figures.roundTrips += 1;
      }
    } else {
      // ----- NetStruct
      const format = netStructFormat(random);
      let netStruct: NetStruct;
      try {
        netStruct = new NetStruct(format);
      } catch (error) {
        figures.formatsRejected += 1;
        if (!(error instanceof TypeError)) fail(caseIndex, `new NetStruct(${JSON.stringify(format)}) threw ${String(error)}`);
        continue;
      }
      figures.formatsAccepted += 1;
      if (netStruct.minimumSize > 4096) continue;
      const bytes = recordBytes(random, random.int(0, netStruct.minimumSize + 24));
      const label = () => `NetStruct(${JSON.stringify(format)}) on ${hex(bytes)}`;
      const length = attempt(caseIndex, () => `${label()}.recordLength`, () => netStruct.recordLength(bytes));
      const unpacked = attempt(caseIndex, () => `${label()}.unpack`, () => netStruct.unpack(bytes));
      if (length.ok && length.value !== -1 && (length.value < netStruct.minimumSize || length.value > bytes.length)) {
        fail(caseIndex, `${label()}.recordLength = ${length.value}, outside ${netStruct.minimumSize}..${bytes.length}`);
      }
      if (unpacked.ok !== (length.ok && length.value === bytes.length)) {
        fail(caseIndex, `${label()}: unpack ${unpacked.ok ? 'succeeded' : 'failed'} but recordLength is ${length.ok ? length.value : String(length.error)}`);
      }
      const recordEnd = length.ok ? length.value : -1;
      if (recordEnd >= 0) {
        const record = bytes.subarray(0, recordEnd);
        const values = attempt(caseIndex, () => `${label()}.unpack(first record)`, () => netStruct.unpack(record));
        if (!values.ok) {
          fail(caseIndex, `${label()}: the first record (${recordEnd} bytes) does not unpack: ${String(values.error)}`);
          continue;
        }
        const repacked = attempt(caseIndex, () => `${label()} repack`, () => netStruct.pack(...values.value));
        if (!repacked.ok) fail(caseIndex, `${label()}: its own values do not pack: ${String(repacked.error)}`);
        else if (repacked.value.length !== recordEnd) fail(caseIndex, `${label()}: repacked to ${repacked.value.length} bytes, not ${recordEnd}`);
        else if (!isDeepStrictEqual(netStruct.unpack(repacked.value), values.value)) fail(caseIndex, `${label()}: values change through pack/unpack`);
        else figures.roundTrips += 1;
      }
      const offset = random.int(-2, bytes.length + 2);
      attempt(caseIndex, () => `${label()}.recordLength(${offset})`, () => netStruct.recordLength(bytes, offset));
    }
  }
  figures.elapsedMs = Date.now() - started;
  return figures;
}

function main(): void {
  const figures = fuzzStructs(numberOption('cases', 1_000_000), numberOption('seed', 1));
  console.log(
    `fuzz-struct: ${figures.cases} cases, ${figures.executions} executions in ${(figures.elapsedMs / 1000).toFixed(1)} s; ` +
      `${figures.formatsAccepted} formats accepted, ${figures.formatsRejected} rejected, ${figures.typedErrors} typed errors, ${figures.roundTrips} round trips, ${figures.failureCount} failures`,
  );
  for (const failure of figures.failures) console.log(`  ${failure}`);
  printResult({ ...figures, ok: figures.failureCount === 0 });
  if (figures.failureCount > 0) process.exitCode = 1;
}

if (require.main === module) main();
