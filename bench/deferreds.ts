// Timers benchmark: Pants' engine.defer() against Node's setTimeout(), one
// implementation per process. Prints one JSON line whose `value` is the
// figure compared.
//
//   node --expose-gc build/bench/deferreds.js --impl pants|node --mode rate|memory [--count N]
//
//   rate     schedule N one-shot timers (delays spread over 1..100 ms), run
//            until every one has fired; value = N / elapsed seconds (timers/s)
//   memory   schedule N timers due in an hour (pending, never fired), collect
//            garbage, compare process.memoryUsage() with before; value = RSS
//            growth per timer in bytes (heap and external growth reported too)
//
// Timer handles are not kept in either case: setTimeout's Timeout object is
// kept alive by Node's timer list anyway, and a deferred needs no handle to fire.

import { Engine } from 'pants-net';

type Impl = 'pants' | 'node';
type Mode = 'rate' | 'memory';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const impl = argument('--impl', 'pants') as Impl;
const mode = argument('--mode', 'rate') as Mode;
const count = Number(argument('--count', '1000000'));
if (!['pants', 'node'].includes(impl) || !['rate', 'memory'].includes(mode) || !(count > 0)) {
  console.error('usage: deferreds.js --impl pants|node --mode rate|memory [--count N]');
  process.exit(2);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('deferreds.js: run node with --expose-gc');
  process.exit(2);
}

/** Schedules `fn` after `ms` milliseconds with the implementation under test. */
const schedule: (ms: number, fn: () => void) => void =
  impl === 'pants'
    ? (() => {
        const engine = Engine.instance();
        return (ms, fn) => void engine.defer(ms / 1000, fn);
      })()
    : (ms, fn) => void setTimeout(fn, ms);

function print(result: Record<string, number | string>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function collect(): void {
  gc!();
  gc!();
}

function rate(): void {
  const engine = Engine.instance();
  let fired = 0;
  let scheduledAt = 0;
  collect();
  const start = performance.now();
  const onFire = (): void => {
    if (++fired !== count) return;
    const seconds = (performance.now() - start) / 1000;
    print({
      impl,
      mode,
      count,
      value: count / seconds,
      seconds,
      scheduleSeconds: (scheduledAt - start) / 1000,
    });
    if (impl === 'pants') engine.stop();
  };
  for (let i = 0; i < count; i++) schedule(1 + (i % 100), onFire);
  scheduledAt = performance.now();
  if (impl === 'pants') void engine.start();
}

function memory(): void {
  const noop = (): void => {};
  // Touch both paths once so that lazily created state (the engine, Node's
  // timer list for the duration) is in the baseline, not in the figure.
  if (impl === 'pants') Engine.instance();
  collect();
  const before = process.memoryUsage();
  for (let i = 0; i < count; i++) schedule(3_600_000, noop);
  collect();
  const after = process.memoryUsage();
  const per = (key: 'rss' | 'heapUsed' | 'external'): number => (after[key] - before[key]) / count;
  print({
    impl,
    mode,
    count,
    value: per('rss'),
    rssPerTimer: per('rss'),
    heapPerTimer: per('heapUsed'),
    externalPerTimer: per('external'),
  });
  process.exit(0); // the timers are pending for an hour
}

if (mode === 'rate') rate();
else memory();
