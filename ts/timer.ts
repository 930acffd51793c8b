/**
 * A scheduled callback. Calling it cancels it, as does `timer.cancel()`;
 * cancelling twice, or after it ran, does nothing.
 */
export interface Timer {
  (): void;
  /** Cancels the timer (same as calling it). */
  cancel(): void;
}

/** A Timer whose cancellation runs `cancel`. @internal */
export function makeTimer(cancel: () => void): Timer {
  const timer = (() => cancel()) as Timer;
  timer.cancel = timer;
  return timer;
}

/** Something the engine runs: once, every iteration, after a delay, or periodically. @internal */
export interface TimerEntry {
  fn: (...args: any[]) => unknown;
  args: unknown[];
  /** Milliseconds between runs of a cycle; 0 for the other kinds. */
  intervalMs: number;
  /** Still scheduled: cleared when cancelled or (for one-shot kinds) when run. */
  active: boolean;
  /** Slot in the engine's timer table (deferreds and cycles), else -1. */
  id: number;
}
