/**
 * The memory frames are delivered in. Rust copies each frame into the
 * current pool and JavaScript takes a `Buffer` view of it, with no
 * allocation per frame on the native side. A pool is filled front to back
 * and replaced when full, never overwritten, so a frame stays valid for as
 * long as the user keeps it.
 *
 * A kept frame keeps its whole pool alive, so pools are sized by what
 * they hold: frames under {@link LARGE_FRAME} bytes share 16 KiB pools
 * (a kept 8-byte frame holds at most 16 KiB, as a kept slice of Node's
 * own 8 KiB buffer pool does), larger ones 256 KiB pools (at most 64 times
 * the frame). Reading a large frame costs one more native call, to learn
 * its size, and no allocation more than before.
 * @internal
 */
const SMALL_POOL = 16 * 1024;
const LARGE_POOL = 256 * 1024;
/** Frames at least this large go to the large pool. */
const LARGE_FRAME = 4 * 1024;
/** Small pools with less room than this are replaced before the next frame. */
const MIN_ROOM = 512;

export class FramePool {
  /** Where the next frame is copied: `buffer` from `offset`. */
  buffer: Buffer = Buffer.allocUnsafeSlow(SMALL_POOL);
  offset = 0;
  #small = this.buffer;
  #smallOffset = 0;
  #large: Buffer | null = null;
  #largeOffset = 0;

  /** Makes sure `bytes` fit at `offset`: in a fresh small pool, or in the large pool. */
  reserve(bytes: number): void {
    if (bytes < LARGE_FRAME) {
      this.#small = Buffer.allocUnsafeSlow(SMALL_POOL);
      this.buffer = this.#small;
      this.offset = 0;
      return;
    }
    if (this.buffer === this.#small) this.#smallOffset = this.offset;
    if (this.#large === null || this.#large.length - this.#largeOffset < bytes) {
      this.#large = Buffer.allocUnsafeSlow(Math.max(LARGE_POOL, bytes));
      this.#largeOffset = 0;
    }
    this.buffer = this.#large;
    this.offset = this.#largeOffset;
  }

  /** Takes the `length` bytes written at `offset` as a frame; the next frame goes to the small pool. */
  take(length: number): Buffer {
    const start = this.offset;
    const frame = this.buffer.subarray(start, start + length);
    const next = (start + length + 7) & ~7;
    if (this.buffer !== this.#small) {
      this.#largeOffset = next;
      this.buffer = this.#small;
      this.offset = this.#smallOffset;
    } else if (SMALL_POOL - next < MIN_ROOM) {
      this.#small = Buffer.allocUnsafeSlow(SMALL_POOL);
      this.buffer = this.#small;
      this.offset = 0;
    } else {
      this.offset = next;
    }
    return frame;
  }
}
