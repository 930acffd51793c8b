/**
 * `Range: bytes=...` requests (RFC 9110 section 14) against a file's size.
 */

/** An inclusive byte range. @internal */
export interface ByteRange {
  start: number;
  end: number;
}

/** Ranges beyond this many are not served one by one: the whole file is sent instead (a cheap defence against range floods). */
const MAX_RANGES = 64;

/**
 * The ranges a `Range` header asks for within `size` bytes: `null` when the
 * header is absent, malformed or not in bytes (serve the whole file, as the
 * RFC says), `'unsatisfiable'` when no range overlaps the file (`416`).
 * @internal
 */
export function parseRange(header: string | null, size: number): ByteRange[] | 'unsatisfiable' | null {
  if (header === null) return null;
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (match === null) return null;
  const specs = match[1].split(',').map((spec) => spec.trim()).filter((spec) => spec !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return null;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const parts = /^(\d*)-(\d*)$/.exec(spec);
    if (parts === null || (parts[1] === '' && parts[2] === '')) return null;
    const [, first, last] = parts;
    if (first === '') {
      // A suffix: the last n bytes.
      const length = Number(last);
      if (length > 0 && size > 0) ranges.push({ start: Math.max(0, size - length), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return null;
    if (start < size) ranges.push({ start, end });
  }
  return ranges.length === 0 ? 'unsatisfiable' : ranges;
}
