/**
 * The decoding half of `Struct` (ts/struct.ts): reading the values of a
 * compiled format out of its bytes.
 *
 * @packageDocumentation
 */
import * as bytes from './bytes.js';
import { Kind } from './format.js';
import type { Step } from './format.js';
import * as half from './half.js';

// The helpers called for every item, as module-local constants: calling an
// imported name reads it off the other module's exports object every time,
// which V8 does not hoist out of the loop (up to ~15% slower on formats with
// many items).
const { F32, F32_BYTES, F64, F64_BYTES, copyOut, get16, get32, get64, getScratch } = bytes;
const { fromHalfBits } = half;

/**
 * Read the `items` values of `steps` from `b`, the struct starting at `base`.
 * The caller has checked that `b` holds the whole struct.
 */
export function unpackSteps(
  b: Uint8Array,
  base: number,
  steps: readonly Step[],
  items: number,
  le: boolean,
): unknown[] {
  const out: unknown[] = new Array(items);
  let vi = 0;
  for (let si = 0; si < steps.length; si++) {
    const st = steps[si];
    let off = base + st.offset;
    const end = vi + st.count;
    switch (st.kind) {
      case Kind.Int8:
        for (; vi < end; vi++, off++) out[vi] = (b[off] << 24) >> 24;
        break;
      case Kind.Uint8:
        for (; vi < end; vi++, off++) out[vi] = b[off];
        break;
      case Kind.Bool:
        for (; vi < end; vi++, off++) out[vi] = b[off] !== 0;
        break;
      case Kind.Int16:
        for (; vi < end; vi++, off += 2) out[vi] = (get16(b, off, le) << 16) >> 16;
        break;
      case Kind.Uint16:
        for (; vi < end; vi++, off += 2) out[vi] = get16(b, off, le);
        break;
      case Kind.Int32:
        for (; vi < end; vi++, off += 4) out[vi] = get32(b, off, le);
        break;
      case Kind.Uint32:
        for (; vi < end; vi++, off += 4) out[vi] = get32(b, off, le) >>> 0;
        break;
      case Kind.Int64:
        for (; vi < end; vi++, off += 8) out[vi] = get64(b, off, le, true);
        break;
      case Kind.Uint64:
      case Kind.Pointer:
        for (; vi < end; vi++, off += 8) out[vi] = get64(b, off, le, false);
        break;
      case Kind.Half:
        for (; vi < end; vi++, off += 2) out[vi] = fromHalfBits(get16(b, off, le));
        break;
      case Kind.Float32:
        for (; vi < end; vi++, off += 4) {
          getScratch(b, off, F32_BYTES, 4, le);
          out[vi] = F32[0];
        }
        break;
      case Kind.Float64:
        for (; vi < end; vi++, off += 8) {
          getScratch(b, off, F64_BYTES, 8, le);
          out[vi] = F64[0];
        }
        break;
      case Kind.Char:
        for (; vi < end; vi++, off++) out[vi] = copyOut(b, off, 1);
        break;
      case Kind.Bytes:
        out[vi++] = copyOut(b, off, st.itemSize);
        break;
      case Kind.Pascal: {
        const width = st.itemSize;
        if (width === 0) {
          out[vi++] = Buffer.alloc(0);
          break;
        }
        let n = b[off];
        if (n >= width) n = width - 1;
        out[vi++] = copyOut(b, off + 1, n);
        break;
      }
    }
  }
  return out;
}
