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
 * the frame). The first of a run of large frames costs one more native
 * call, to learn its size; a small frame right after a large one may land
 * in the large pool.
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

  /**
   * Takes the `length` bytes written at `offset` as a frame. The next frame
   * goes to the small pool, unless this one was large and the large pool
   * has room for another (saving the call that learns a large frame's size).
   */
  take(length: number): Buffer {
    const start = this.offset;
    const frame = this.buffer.subarray(start, start + length);
    const next = (start + length + 7) & ~7;
    if (this.buffer !== this.#small) {
      this.#largeOffset = next;
      if (length < LARGE_FRAME || this.buffer.length - next < LARGE_FRAME) {
        this.buffer = this.#small;
        this.offset = this.#smallOffset;
      } else {
        this.offset = next; // a large frame is likely followed by another: read it here at once
      }
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
