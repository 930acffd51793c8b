import { whenRejected } from './callback.js';
import { traceEvent, TRACING } from './debug.js';
import { codedError } from './errors.js';
import { FramePool } from './frame_pool.js';
import { EventTarget, kActiveChannels, kFramePool, kHandleEvent, kNative, kRegister, kUnregister } from './internal.js';
import { Logger, logger, setLogger } from './logger.js';
import { EventKind } from './contract.js';
import { native, NativeEngine } from './native.js';
import { IterationEntry, makeTimer, TimedEntry, Timer, TimerFunction } from './timer.js';

/** Events copied per native call: (kind, token, a, b) each. */
const EVENT_BATCH = 1024;
const TIMER_BATCH = 1024;

/** What `engine.stats()` reports. */
export interface EngineStats {
  /** Live channels (closed ones until their `onClose` has run). */
  channels: number;
  /** Pending deferreds, cycles, callbacks and loops. */
  timers: number;
  /** Bytes received from sockets. */
  bytesIn: number;
  /** Bytes handed to sockets. */
  bytesOut: number;
  /** Iterations run. */
  iterations: number;
}

let globalEngine: Engine | undefined;

/** Whole milliseconds of the timer wheel, rounding up (ignoring float noise: 0.003 s is 3 ms). */
function toMilliseconds(seconds: number): number {
  return Math.max(1, Math.ceil(seconds * 1000 - 1e-6));
}

/** The index of an engine timer key: its id in expired lists (the key's low 32 bits). */
function timerIndex(key: number): number {
  return key % 2 ** 32;
}

/** Logs an exception thrown by a timer's function, or the rejection of the promise it returned. */
function logTimerError(error: unknown): void {
  logger().error('Exception in a timer callback:', error);
}

function checkCallable(fn: unknown): asserts fn is (...args: any[]) => unknown {
  if (typeof fn !== 'function') throw codedError(TypeError, 'ERR_PANTS_INVALID_ARGUMENT', `Expected a function, got ${typeof fn}.`);
}

function checkDelay(delay: unknown, name: string): asserts delay is number {
  if (typeof delay !== 'number' || !(delay > 0) || !Number.isFinite(delay)) {
    throw codedError(RangeError, 'ERR_PANTS_INVALID_ARGUMENT', `${name} must be a positive, finite number of seconds; got ${String(delay)}.`);
  }
}

function checkPollTimeout(pollTimeout: unknown): asserts pollTimeout is number {
  if (typeof pollTimeout !== 'number' || !(pollTimeout >= 0)) {
    throw codedError(RangeError, 'ERR_PANTS_INVALID_ARGUMENT', `pollTimeout must be a non-negative number of seconds; got ${String(pollTimeout)}.`);
  }
}

/**
 * An event loop: it owns channels and timers and dispatches their events.
 *
 * The engine runs inside Node's own event loop: `start()` never blocks, and
 * Node's timers, promises and sockets keep working beside it. Each wake-up
 * runs one iteration: set `latestPollTime`, run callbacks and loops, run due
 * deferreds and cycles, then dispatch I/O. Writes are corked: those made
 * until the I/O is dispatched are sent together then, and those made in
 * promise continuations the iteration triggers are sent together at its
 * end. A write of 16 KiB or more to a stream with nothing waiting is sent
 * at once.
 *
 * An exception thrown by a timer or by any channel callback is caught and
 * logged with `logger().error`; the engine keeps running.
 */
export class Engine {
  /**
   * Where errors in user code and diagnostics go: `console` (default) or
   * anything with `error`, `warn`, `info` and `debug`. Assignable.
   */
  static get logger(): Logger {
    return logger();
  }

  static set logger(value: Logger) {
    setLogger(value);
  }

  /** The global engine of this thread (each worker thread has its own). */
  static instance(): Engine {
    return (globalEngine ??= new Engine());
  }

  /** Keeps the native engine alive as long as this engine. */
  readonly #owner: NativeEngine = new native.NativeEngine();
  readonly #id = this.#owner.id;
  readonly #channels: (EventTarget | undefined)[] = [];
  readonly #pool = new FramePool();
  readonly #events = new Int32Array(EVENT_BATCH * 4);
  readonly #expired = new Uint32Array(TIMER_BATCH);
  #callbacks: IterationEntry[] = [];
  #loops: IterationEntry[] = [];
  /**
   * Pending deferreds and cycles by the index of their engine timer key (the
   * engine allocates the indices; see `Engine::take_expired_timers`): a bare
   * function is a deferred without arguments.
   */
  readonly #timers: (TimerFunction | TimedEntry | undefined)[] = [];
  #inIteration = false;
  /** `latestPollTime` once read during the current iteration. */
  #iterationTime: number | null = null;
  /** Channels between their first step and their end (see `stopWhenIdle`). */
  #activeChannels = 0;
  #pollTimeoutMs = 200;
  #run: { promise: Promise<void>; resolve: () => void } | undefined;

  /**
   * An independent engine, with its own poller and timers. Most programs
   * use `Engine.instance()`; a `new Engine()` is for tests, embedding, or
   * running several loops on one thread.
   */
  constructor() {}

  /**
   * Wall-clock seconds (epoch, float) at the start of the latest iteration:
   * engine time, which timers count from. Outside an iteration of a started
   * engine it moves on whenever Node's loop has turned since (as Node's
   * own timers count from its loop's time).
   */
  get latestPollTime(): number {
    // Constant during an iteration: read once per iteration.
    if (this.#inIteration) return (this.#iterationTime ??= native.latestPollTime(this.#id));
    return native.latestPollTime(this.#id);
  }

  /** The native engine's id, for the native functions. @internal */
  get [kNative](): number {
    return this.#id;
  }

  /** @internal */
  get [kFramePool](): FramePool {
    return this.#pool;
  }

  /** @internal */
  [kRegister](token: number, channel: EventTarget): void {
    this.#channels[token] = channel;
  }

  /** @internal */
  [kUnregister](token: number): void {
    this.#channels[token] = undefined;
    native.release(this.#id, token);
  }

  /**
   * What the engine holds and has done: live channels, pending timers
   * (deferreds, cycles, callbacks and loops), bytes received and sent
   * (TLS records included) and iterations run.
   */
  stats(): EngineStats {
    const [channels, timers, bytesIn, bytesOut, iterations] = native.stats(this.#id);
    return { channels, timers: timers + this.#callbacks.length + this.#loops.length, bytesIn, bytesOut, iterations };
  }

  /**
   * Stop by itself once nothing is left to do: no channel connecting,
   * open or closing, and no timer, callback or loop pending. A client
   * script then ends when its last connection closes, as Node's own
   * sockets let it (default `false`: a server's engine runs until
   * `stop()`). Checked when a channel ends or a timer or callback has run,
   * so an engine started before its first `connect()` waits for it.
   */
  stopWhenIdle = false;

  /** A channel started (+1) or ended (-1) its active life. @internal */
  [kActiveChannels](delta: number): void {
    this.#activeChannels += delta;
    if (delta < 0 && this.stopWhenIdle) this.#stopIfIdle();
  }

  #stopIfIdle(): void {
    if (this.#run === undefined || this.#activeChannels > 0 || this.#callbacks.length > 0 || this.#loops.length > 0) return;
    if (native.timerCount(this.#id) > 0) return;
    this.stop();
  }

  /** True between `start()` and the end of the `stop()`. */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /**
   * Runs the engine inside Node's event loop until `stop()`. It keeps the
   * process alive meanwhile. The promise resolves once stopped; calling
   * `start()` again while running returns the same promise.
   * @param pollTimeout longest time in seconds between iterations when idle
   */
  start(pollTimeout = 0.2): Promise<void> {
    if (this.#run) return this.#run.promise;
    checkPollTimeout(pollTimeout);
    this.#pollTimeoutMs = pollTimeout * 1000;
    let resolve!: () => void;
    const promise = new Promise<void>((done) => (resolve = done));
    this.#run = { promise, resolve };
    native.start(this.#id, () => this.#iterate(0));
    return promise;
  }

  /** Stops after the current iteration; does nothing when not running. */
  stop(): void {
    const run = this.#run;
    if (!run) return;
    this.#run = undefined;
    native.stop(this.#id);
    run.resolve();
  }

  /**
   * Runs one iteration synchronously: callbacks and loops, due timers, then
   * waits up to `pollTimeout` seconds (less if a timer is due sooner) for
   * I/O and dispatches it. For embedding in another loop, and for tests.
   * Throws while `start()` is running.
   */
  poll(pollTimeout = 0.2): void {
    if (this.#run) throw codedError(Error, 'ERR_PANTS_ENGINE_STARTED', 'Engine.poll() cannot be used while the engine is started.');
    if (this.#inIteration) throw codedError(Error, 'ERR_PANTS_POLL_REENTERED', 'Engine.poll() cannot be called from inside an iteration.');
    checkPollTimeout(pollTimeout);
    try {
      this.#iterate(pollTimeout * 1000);
    } finally {
      native.endIteration(this.#id);
    }
  }

  /** Runs `fn(...args)` once, on the next iteration. */
  callback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Timer {
    checkCallable(fn);
    const entry: IterationEntry = { fn, args, active: true };
    this.#callbacks.push(entry);
    this.#wakeIfIdle();
    return makeTimer(() => {
      entry.active = false;
    });
  }

  /** Runs `fn(...args)` on every iteration until cancelled. */
  loop<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): Timer {
    checkCallable(fn);
    const entry: IterationEntry = { fn, args, active: true };
    this.#loops.push(entry);
    this.#wakeIfIdle();
    return makeTimer(() => {
      if (!entry.active) return;
      entry.active = false;
      this.#loops = this.#loops.filter((other) => other !== entry);
    });
  }

  /**
   * Runs `fn(...args)` once, due `delay` seconds after `latestPollTime`
   * (engine time, as libuv's cached loop time). `RangeError` unless `delay`
   * is positive and finite.
   */
  defer<A extends unknown[]>(delay: number, fn: (...args: A) => unknown, ...args: A): Timer {
    checkDelay(delay, 'delay');
    checkCallable(fn);
    return this.#schedule(toMilliseconds(delay), 0, fn, args);
  }

  /** Runs `fn(...args)` every `interval` seconds until cancelled. */
  cycle<A extends unknown[]>(interval: number, fn: (...args: A) => unknown, ...args: A): Timer {
    checkDelay(interval, 'interval');
    checkCallable(fn);
    const intervalMs = toMilliseconds(interval);
    return this.#schedule(intervalMs, intervalMs, fn, args);
  }

  #schedule(delayMs: number, intervalMs: number, fn: TimerFunction, args: unknown[]): Timer {
    const key = native.scheduleTimer(this.#id, delayMs);
    this.#wakeIfIdle();
    // Most deferreds are a bare function: then that is all a pending one keeps.
    if (intervalMs === 0 && args.length === 0) {
      this.#timers[timerIndex(key)] = fn;
      return makeTimer(() => this.#cancelTimer(key));
    }
    const entry: TimedEntry = { fn, args, intervalMs, key };
    this.#timers[timerIndex(key)] = entry;
    // A cycle's key changes each time it is scheduled again.
    return makeTimer(() => this.#cancelTimer(entry.key));
  }

  #cancelTimer(key: number): void {
    // False for a key that ran (and was not scheduled again) or was cancelled.
    if (native.cancelTimer(this.#id, key)) this.#timers[timerIndex(key)] = undefined;
  }

  /** Outside an iteration, make the running engine look at its timers and queues again. */
  #wakeIfIdle(): void {
    if (this.#run && !this.#inIteration) native.wake(this.#id);
  }

  /**
   * One iteration up to the end of its I/O dispatch (the engine ends it:
   * the driver after the callback scope closes, `poll()` itself); returns
   * the longest delay in ms after which the next one is wanted.
   */
  #iterate(maxWaitMs: number): number {
    this.#inIteration = true;
    this.#iterationTime = null;
    try {
      const expired = native.beginIteration(this.#id, this.#expired);
      const ranCallbacks = this.#callbacks.length > 0 || this.#loops.length > 0;
      this.#runCallbacks();
      if (expired > 0) this.#runTimers(expired);
      if (this.stopWhenIdle && (expired > 0 || ranCallbacks)) this.#stopIfIdle();
      // The engine waits no longer than its next timer.
      const wait = this.#callbacks.length > 0 || this.#loops.length > 0 ? 0 : maxWaitMs;
      let count = native.pollIo(this.#id, wait, this.#events);
      while (count > 0) {
        this.#dispatch(count);
        count = native.takeEvents(this.#id, this.#events);
      }
    } finally {
      this.#inIteration = false;
    }
    return this.#callbacks.length > 0 || this.#loops.length > 0 ? 0 : this.#pollTimeoutMs;
  }

  #runCallbacks(): void {
    const callbacks = this.#callbacks;
    if (callbacks.length > 0) {
      this.#callbacks = [];
      for (const entry of callbacks) {
        if (!entry.active) continue;
        entry.active = false;
        this.#call(entry.fn, entry.args);
      }
    }
    for (const entry of this.#loops) {
      if (entry.active) this.#call(entry.fn, entry.args);
    }
  }

  /** Runs the `count` due timers in the expired array, then any more the engine has. */
  #runTimers(count: number): void {
    const timers = this.#timers;
    for (; count > 0; count = native.takeExpiredTimers(this.#id, this.#expired)) {
      for (let index = 0; index < count; index++) {
        const id = this.#expired[index];
        const timer = timers[id];
        // Cancelled by an earlier timer of this batch.
        if (timer === undefined) continue;
        timers[id] = undefined;
        if (typeof timer === 'function') {
          this.#call(timer, undefined);
        } else {
          if (timer.intervalMs > 0) {
            timer.key = native.scheduleTimer(this.#id, timer.intervalMs);
            timers[timerIndex(timer.key)] = timer;
          }
          this.#call(timer.fn, timer.args);
        }
      }
    }
  }

  #call(fn: TimerFunction, args: unknown[] | undefined): void {
    try {
      const result = args === undefined || args.length === 0 ? fn() : fn(...args);
      if (result !== undefined) whenRejected(result, logTimerError);
    } catch (error) {
      logTimerError(error);
    }
  }

  #dispatch(count: number): void {
    const events = this.#events;
    for (let index = 0; index < count * 4; index += 4) {
      const kind = events[index];
      const token = events[index + 1];
      const channel = this.#channels[token];
      if (TRACING) traceEvent(kind, channel, events[index + 2], events[index + 3]);
      if (channel) {
        try {
          channel[kHandleEvent](kind, events[index + 2], events[index + 3]);
        } catch (error) {
          logger().error('Exception while dispatching an engine event:', error);
        }
      } else if (kind === EventKind.Close) {
        native.release(this.#id, token);
      }
    }
  }
}
