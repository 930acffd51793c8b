import test from 'ava';
import net from 'node:net';
import { Engine } from 'pants-net';

import { captureErrors, signal, startedEngine } from './helpers.js';

test('Engine.instance() is one engine per thread; new Engine() is independent', (t) => {
  t.is(Engine.instance(), Engine.instance());
  t.not(new Engine(), Engine.instance());
});

test('start() runs until stop(), returns the same promise while running, and sets running', async (t) => {
  const engine = new Engine();
  t.false(engine.running);
  const first = engine.start();
  t.is(engine.start(), first);
  t.true(engine.running);
  engine.callback(() => engine.stop());
  await first;
  t.false(engine.running);
  engine.stop(); // a no-op when stopped
});

test('Node timers, promises and node:net keep working while the engine runs', async (t) => {
  const engine = startedEngine(t);
  await new Promise((resolve) => setTimeout(resolve, 20));
  await Promise.resolve();
  const server = net.createServer((socket) => socket.end('hi'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const reply = await new Promise<string>((resolve) => {
    const client = net.connect(port, '127.0.0.1');
    let text = '';
    client.on('data', (chunk) => (text += chunk));
    client.on('end', () => resolve(text));
  });
  server.close();
  t.is(reply, 'hi');
  t.true(engine.running);
});

test('an iteration runs callbacks and loops, then due deferreds and cycles, in that order', async (t) => {
  const engine = startedEngine(t);
  const order: string[] = [];
  const done = signal();
  engine.callback(() => {
    // Scheduled together inside one iteration: the deferred is due in a later
    // iteration, the callback runs on the next one.
    engine.defer(0.001, () => {
      order.push('defer');
      done.resolve();
    });
    engine.callback(() => order.push('callback'));
  });
  await done.promise;
  t.deepEqual(order, ['callback', 'defer']);
});

test('callback(fn, ...args) runs once with its arguments', async (t) => {
  const engine = startedEngine(t);
  const calls: unknown[][] = [];
  engine.callback((...args: unknown[]) => calls.push(args), 1, 'two');
  // Two deferreds later the callback must have run, and only once.
  const later = signal();
  engine.defer(0.01, () => engine.defer(0.01, () => later.resolve()));
  await later.promise;
  t.deepEqual(calls, [[1, 'two']]);
});

test('loop() runs on every iteration until cancelled', async (t) => {
  const engine = startedEngine(t);
  let runs = 0;
  const done = signal();
  const timer = engine.loop(() => {
    runs += 1;
    if (runs === 5) {
      timer();
      done.resolve();
    }
  });
  await done.promise;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(runs, 5);
});

test.serial('defer() fires after its delay, in due order, within 10 ms of its due time', async (t) => {
  const engine = startedEngine(t);
  const fired: [string, number][] = [];
  const start = Date.now();
  const done = signal();
  engine.defer(0.06, () => {
    fired.push(['b', Date.now() - start]);
    done.resolve();
  });
  engine.defer(0.03, () => fired.push(['a', Date.now() - start]));
  await done.promise;
  t.deepEqual(
    fired.map(([name]) => name),
    ['a', 'b'],
  );
  t.true(fired[0][1] >= 29 && fired[0][1] <= 45, `a fired after ${fired[0][1]} ms`);
  t.true(fired[1][1] >= 59 && fired[1][1] <= 75, `b fired after ${fired[1][1]} ms`);
});

test.serial('cycle() repeats every interval until cancelled', async (t) => {
  const engine = startedEngine(t);
  const times: number[] = [];
  const done = signal();
  const timer = engine.cycle(0.02, () => {
    times.push(Date.now());
    if (times.length === 4) {
      timer.cancel();
      done.resolve();
    }
  });
  await done.promise;
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.is(times.length, 4);
  for (let index = 1; index < times.length; index++) {
    const gap = times[index] - times[index - 1];
    t.true(gap >= 15 && gap <= 40, `gap ${gap} ms`);
  }
});

test('a cancelled deferred never runs; cancelling twice or after it ran is a no-op', async (t) => {
  const engine = startedEngine(t);
  let ran = false;
  const timer = engine.defer(0.01, () => (ran = true));
  timer();
  timer.cancel();
  let ranOther = 0;
  const otherRan = signal();
  const other = engine.defer(0.005, () => {
    ranOther += 1;
    otherRan.resolve();
  });
  await otherRan.promise;
  // Past the cancelled deferred's due time too.
  await new Promise<void>((resolve) => engine.defer(0.02, resolve));
  other();
  other();
  t.false(ran);
  t.is(ranOther, 1);
});

test('a timer cancelled by an earlier timer of the same iteration does not run', (t) => {
  const engine = new Engine();
  const ran: string[] = [];
  let second: (() => void) | undefined;
  engine.defer(0.005, () => {
    ran.push('first');
    second?.();
    engine.defer(0.005, () => ran.push('replacement'));
  });
  second = engine.defer(0.005, () => ran.push('second'));
  const until = Date.now() + 100;
  while (Date.now() < until && !ran.includes('replacement')) engine.poll(0.01);
  t.deepEqual(ran, ['first', 'replacement']);
});

test('a Timer that already ran or was cancelled does not cancel a later timer', (t) => {
  const engine = new Engine();
  const ran: string[] = [];
  const fired = engine.defer(0.001, () => ran.push('fired'));
  const cancelled = engine.defer(0.001, (label: string) => ran.push(label), 'cancelled');
  cancelled();
  const until = Date.now() + 100;
  while (Date.now() < until && !ran.includes('fired')) engine.poll(0.005);
  // These take the timer slots the two above freed.
  engine.defer(0.001, () => ran.push('later deferred'));
  engine.cycle(0.001, () => ran.push('later cycle'));
  engine.defer(0.001, (label: string) => ran.push(label), 'later with argument');
  fired();
  cancelled.cancel();
  const again = Date.now() + 100;
  while (Date.now() < again && ran.length < 4) engine.poll(0.005);
  t.deepEqual(ran.slice(0, 4).sort(), ['fired', 'later cycle', 'later deferred', 'later with argument']);
  t.is(engine.stats().timers, 1); // the cycle
});

test('defer() and cycle() reject delays <= 0 or not finite with RangeError', (t) => {
  const engine = new Engine();
  for (const bad of [0, -1, Infinity, NaN]) {
    t.throws(() => engine.defer(bad, () => {}), { instanceOf: RangeError });
    t.throws(() => engine.cycle(bad, () => {}), { instanceOf: RangeError });
  }
  t.throws(() => engine.defer('1' as unknown as number, () => {}), { instanceOf: RangeError });
});

test('poll() runs one iteration synchronously and throws while started', (t) => {
  const engine = new Engine();
  let ran = 0;
  engine.callback(() => (ran += 1));
  engine.poll(0);
  t.is(ran, 1);
  const before = engine.latestPollTime;
  engine.poll(0.01);
  t.true(engine.latestPollTime >= before);
  void engine.start();
  t.throws(() => engine.poll(0), { instanceOf: Error });
  engine.stop();
});

test('poll() waits no longer than the next deferred', (t) => {
  const engine = new Engine();
  let firedAt = 0;
  engine.defer(0.02, () => (firedAt = Date.now()));
  const start = Date.now();
  engine.poll(0.5); // waits for the deferred's due time, not 0.5 s
  engine.poll(0); // runs it
  const elapsed = firedAt - start;
  t.true(firedAt > 0);
  t.true(elapsed >= 19 && elapsed < 100, `fired after ${elapsed} ms`);
});

test('a deferred scheduled between polls is due latestPollTime + delay, as with libuv loop time', (t) => {
  const engine = new Engine();
  let fired = 0;
  engine.poll(0.03); // waits 30 ms for I/O that does not come
  const scheduledAt = Date.now();
  engine.defer(0.03, () => (fired += 1));
  // Engine time is the latest iteration's start, 30 ms ago: the deferred is
  // due when the next iteration starts, before it waits for I/O.
  engine.poll(0);
  t.is(fired, 1, `not run by the next poll (${Date.now() - scheduledAt} ms later)`);
});

test("under start(), a deferred scheduled from a Node callback counts from the time Node's loop woke", async (t) => {
  const engine = startedEngine(t);
  // Idle, the engine iterates every 0.2 s: at 120 ms its latest iteration is old.
  await new Promise((resolve) => setTimeout(resolve, 120));
  const scheduledAt = performance.now();
  const elapsed = await new Promise<number>((resolve) => engine.defer(0.05, () => resolve(performance.now() - scheduledAt)));
  t.true(elapsed >= 48, `fired ${elapsed.toFixed(1)} ms after it was scheduled with a delay of 50 ms`);
  t.true(Math.abs(engine.latestPollTime - Date.now() / 1000) < 1);
});

test('latestPollTime is wall-clock seconds of the latest iteration', async (t) => {
  const engine = startedEngine(t);
  const seen = signal<number>();
  engine.callback(() => seen.resolve(engine.latestPollTime));
  const time = await seen.promise;
  t.true(Math.abs(time - Date.now() / 1000) < 1);
});

test.serial('an exception in a timer is logged and the engine goes on', async (t) => {
  const engine = startedEngine(t);
  const after = signal();
  const errors = await captureErrors(async () => {
    engine.callback(() => {
      throw new Error('boom');
    });
    engine.defer(0.01, () => after.resolve());
    await after.promise;
  });
  t.is(errors.length, 1);
  t.true(errors[0].some((part) => part instanceof Error && part.message === 'boom'));
  t.true(engine.running);
});

test('Engine.logger defaults to console and is assignable', (t) => {
  t.is(Engine.logger, console);
});

test('a callback added from a promise continuation of an iteration runs on the next turn, not after pollTimeout', async (t) => {
  const engine = new Engine();
  void engine.start(5);
  t.teardown(() => engine.stop());
  const ran = signal<number>();
  let added = 0;
  engine.defer(0.001, () => {
    void Promise.resolve().then(() => {
      added = Date.now();
      engine.callback(() => ran.resolve(Date.now()));
    });
  });
  const at = await ran.promise;
  t.true(at - added < 1000, `ran ${at - added} ms after it was added`);
});

test('promise continuations run right after an iteration that resolved them', async (t) => {
  const engine = startedEngine(t);
  const order: string[] = [];
  const done = signal();
  engine.callback(() => {
    order.push('callback');
    void Promise.resolve().then(() => {
      order.push('microtask');
      done.resolve();
    });
  });
  await done.promise;
  t.deepEqual(order, ['callback', 'microtask']);
});

test('each worker thread runs its own engine; terminating a worker with a running engine ends it', async (t) => {
  const { Worker } = await import('node:worker_threads');
  const { join } = await import('node:path');
  const entry = join(__dirname, '..', '..', 'dist', 'index.js');
  const source = `
    const { parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const { Engine, Server, Stream } = require(${JSON.stringify(entry)});
    const engine = Engine.instance();
    void engine.start();
    engine.cycle(0.01, () => {});
    class Echo extends Stream { onRead(data) { this.write(data); } }
    const server = new Server(Echo).listen(['127.0.0.1', 0]);
    const client = net.connect(server.localAddress[1], '127.0.0.1', () => client.write('from a worker'));
    client.on('data', (data) => parentPort.postMessage(data.toString()));
  `;
  const replies = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise<string>((resolve, reject) => {
          const worker = new Worker(source, { eval: true });
          worker.once('message', (message: string) => {
            void worker.terminate().then(() => resolve(message));
          });
          worker.once('error', reject);
        }),
    ),
  );
  t.deepEqual(replies, ['from a worker', 'from a worker', 'from a worker']);
});
