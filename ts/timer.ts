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

/** A function the engine runs, with its arguments. @internal */
export type TimerFunction = (...args: any[]) => unknown;

/** A callback or loop: run on the next iteration, or on every one. @internal */
export interface IterationEntry {
  fn: TimerFunction;
  args: unknown[];
  /** Still scheduled: cleared when cancelled, and when a callback has run. */
  active: boolean;
}

/**
 * A deferred or cycle that needs more than its function: arguments, or an
 * interval. A deferred without arguments is kept as its bare function. @internal
 */
export interface TimedEntry {
  fn: TimerFunction;
  args: unknown[];
  /** Milliseconds between runs of a cycle; 0 for a deferred. */
  intervalMs: number;
  /** Its engine timer key (a cycle gets a new one each time it is scheduled again). */
  key: number;
}
