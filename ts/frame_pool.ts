/**
 * The memory frames are delivered in. Rust copies each frame into the
 * current pool and JavaScript takes a `Buffer` view of it, with no
 * allocation per frame on the native side. A pool is filled front to back
 * and replaced when full, never overwritten, so a frame stays valid for as
 * long as the user keeps it.
 * @internal
 */
const POOL_SIZE = 256 * 1024;
/** Pools with less room than this are replaced before the next frame. */
const MIN_ROOM = 1024;

export class FramePool {
  buffer: Buffer = Buffer.allocUnsafeSlow(POOL_SIZE);
  offset = 0;

  /** Makes sure `bytes` fit after `offset` (a new pool if not). */
  reserve(bytes: number): void {
    if (this.buffer.length - this.offset < bytes) {
      this.buffer = Buffer.allocUnsafeSlow(Math.max(POOL_SIZE, bytes));
      this.offset = 0;
    }
  }

  /** Takes the `length` bytes written at `offset` as a frame. */
  take(length: number): Buffer {
    const start = this.offset;
    const frame = this.buffer.subarray(start, start + length);
    this.offset = (start + length + 7) & ~7;
    if (this.buffer.length - this.offset < MIN_ROOM) {
      this.buffer = Buffer.allocUnsafeSlow(POOL_SIZE);
      this.offset = 0;
    }
    return frame;
  }
}
