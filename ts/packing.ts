import { codedError } from './errors.js';
import { NetStruct } from './netstruct.js';
import { Struct } from './struct.js';

/** Formats compiled for `writePacked`, by format string (a few, reused). */
const compiled = new Map<string, Struct | NetStruct>();
const MAX_COMPILED = 64;

/**
 * What packs values for `writePacked`: the given Struct or NetStruct, or a
 * format string compiled as a NetStruct when it has `$` strings, else as a
 * Struct; without a format, a Struct or NetStruct read delimiter. Nothing usable: `Error('No format is available for writing packed data.')`.
 * @internal
 */
export function packerFor(format: unknown, delimiter: unknown): Struct | NetStruct {
  if (format === undefined || format === null) format = delimiter instanceof Struct || delimiter instanceof NetStruct ? delimiter : undefined;
  if (format instanceof Struct || format instanceof NetStruct) return format;
  if (typeof format !== 'string') throw codedError(Error, 'ERR_PANTS_NO_PACK_FORMAT', 'No format is available for writing packed data.');
  let packer = compiled.get(format);
  if (packer === undefined) {
    packer = format.includes('$') ? new NetStruct(format) : new Struct(format);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(format, packer);
  }
  return packer;
}
