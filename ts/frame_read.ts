/**
 * The one reading of the numbers `readFrame` and `peekInput` return
 * (`pants_core::FrameRead::encode`, constants in contract.ts): a frame's
 * length, plus `MORE_INPUT` when more bytes stay buffered after it, or a
 * negative code. Plain functions over a number, so that the per-frame path
 * allocates nothing.
 * @internal
 */
import { FRAME_INCOMPLETE, FRAME_OVERFLOW, MORE_INPUT, NEED_SPACE } from './contract.js';

/** What a result says. */
export const enum FrameReadKind {
  /** A frame was copied to the pool: `frameReadLength` bytes. */
  Frame,
  /** No complete frame is buffered. */
  Incomplete,
  /** No complete frame, and more than `bufferSize` bytes wait for one. */
  Overflow,
  /** The frame needs `frameReadLength` bytes of room: more than the pool has. */
  NeedSpace,
}

/** The kind of a `readFrame` / `peekInput` result. */
export function frameReadKind(result: number): FrameReadKind {
  if (result >= 0) return FrameReadKind.Frame;
  if (result === FRAME_INCOMPLETE) return FrameReadKind.Incomplete;
  if (result === FRAME_OVERFLOW) return FrameReadKind.Overflow;
  return FrameReadKind.NeedSpace;
}

/** A Frame's length, or the room a NeedSpace asks for (0 for the other kinds). */
export function frameReadLength(result: number): number {
  if (result >= MORE_INPUT) return result - MORE_INPUT;
  if (result >= 0) return result;
  return result <= NEED_SPACE ? NEED_SPACE - result : 0;
}

/** True for a Frame after which more bytes stay buffered (another frame may follow). */
export function moreInputAfter(result: number): boolean {
  return result >= MORE_INPUT;
}
