import { codedError } from './errors.js';
import { DelimiterKind } from './contract.js';
import { NetStruct } from './netstruct.js';
import './regexp_guard.js'; // before any RegExp delimiter is compiled
import { Struct } from './struct.js';

/**
 * How a channel frames incoming bytes before `onRead`: by chunk, length,
 * delimiter bytes, RegExp or Struct.
 *
 * - `null`: every chunk as it arrives;
 * - a positive integer `n`: exactly `n` bytes at a time;
 * - a string (UTF-8) or bytes: everything up to the delimiter, which is dropped;
 * - a `RegExp`: with `regexSearch` the bytes before the first match (dropped),
 *   otherwise the `RegExpExecArray` of a match anchored at the start. It is
 *   run over all the bytes buffered so far at each arrival (see
 *   `readDelimiter` for what that costs);
 * - a `Struct` or `NetStruct`: its unpacked values, as separate `onRead` arguments.
 */
export type ReadDelimiter = null | number | string | Uint8Array | RegExp | Struct | NetStruct;

/** A delimiter checked and prepared for the engine. @internal */
export interface Framing {
  kind: DelimiterKind;
  count: number;
  /** The delimiter bytes, or a record layout (little-endian i32s). */
  sequence: Uint8Array | null;
  /** What unpacks each frame into `onRead`'s arguments. */
  record: Struct | NetStruct | null;
  /** The RegExp without `g`/`y`, for `regexSearch = true`. */
  search: RegExp | null;
  /** The RegExp made sticky, for `regexSearch = false`. */
  anchored: RegExp | null;
}

const CHUNK: Framing = { kind: DelimiterKind.Chunk, count: 0, sequence: null, record: null, search: null, anchored: null };

function invalidDelimiter(message: string): TypeError {
  return codedError(TypeError, 'ERR_PANTS_INVALID_DELIMITER', message);
}

/** Checks a `readDelimiter` value; throws `TypeError` for anything else. @internal */
export function framingOf(value: unknown): Framing {
  if (value === null || value === undefined) return CHUNK;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > 0xffffffff) {
      throw invalidDelimiter(`A numeric readDelimiter must be a positive integer; got ${value}.`);
    }
    return { ...CHUNK, kind: DelimiterKind.Count, count: value };
  }
  if (typeof value === 'string' || value instanceof Uint8Array) {
    const sequence = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (sequence.length === 0) throw invalidDelimiter('A readDelimiter string or buffer must not be empty.');
    return { ...CHUNK, kind: DelimiterKind.Sequence, sequence: Uint8Array.from(sequence) };
  }
  if (value instanceof RegExp) {
    const flags = value.flags.replace(/[gy]/g, '');
    return {
      ...CHUNK,
      kind: DelimiterKind.External,
      search: new RegExp(value.source, flags),
      anchored: new RegExp(value.source, `${flags}y`),
    };
  }
  if (value instanceof Struct) {
    if (value.size < 1) throw invalidDelimiter('A Struct readDelimiter must have a size of at least one byte.');
    return { ...CHUNK, kind: DelimiterKind.Count, count: value.size, record: value };
  }
  if (value instanceof NetStruct) {
    const layout = value.frameLayout();
    if (layout.length === 0 || (layout.length === 4 && layout[0] === 0 && layout[1] < 0)) {
      throw invalidDelimiter('A NetStruct readDelimiter must describe at least one byte.');
    }
    return { ...CHUNK, kind: DelimiterKind.Records, sequence: new Uint8Array(Int32Array.from(layout).buffer), record: value };
  }
  throw invalidDelimiter(
    `Invalid readDelimiter: expected null, a positive integer, a string, a Buffer, a RegExp, a Struct or a NetStruct; got ${Object.prototype.toString.call(value)}.`,
  );
}
