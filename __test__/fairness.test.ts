// One channel must not hold the engine: a stream that writes and flushes
// again from every onWrite, to a reader in another process that keeps up,
// still lets Node's timers, the engine's timers and other peers run.
import test from 'ava';
import { spawn } from 'node:child_process';
import { Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';

/** A node process that connects to `port`, reads and discards everything, and exits at the end. */
function sinkProcess(port: number) {
  const script = `require('net').connect(${port}, '127.0.0.1').on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume()`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
}

for (const flushing of ['write(data, true)', 'flush()'] as const) {
  test.serial(`a stream pumping with ${flushing} inside onWrite leaves room for Node's timers, engine timers and other peers`, async (t) => {
    const engine = startedEngine(t);
    const chunk = Buffer.alloc(1024, 0x61);
    const pumpMs = 1500;
    const pumping = signal<Stream>();
    const done = signal();
    class Pump extends Stream {
      #until = 0;
      override onConnect() {
        this.#until = Date.now() + pumpMs;
        pumping.resolve(this);
        this.onWrite();
      }
      override onWrite() {
        if (Date.now() > this.#until) {
          this.close(false);
          done.resolve();
          return;
        }
        if (flushing === 'flush()') {
          this.write(chunk);
          this.flush();
        } else {
          this.write(chunk, true);
        }
      }
    }
    class Echo extends Stream {
      override onRead(data: Buffer) {
        this.write(data);
      }
    }
    const pumpServer = closeAtEnd(t, new Server(Pump, { engine }).listen(['127.0.0.1', 0]));
    const echoServer = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
    // Node's own timers: the longest gap between 10 ms ticks while the pump runs.
    let last = performance.now();
    let longestGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 10);
    t.teardown(() => clearInterval(ticker));
    // An engine timer and another peer, during the pump.
    let engineTicks = 0;
    const cycle = engine.cycle(0.05, () => (engineTicks += 1));
    t.teardown(() => cycle());
    const sink = sinkProcess(portOf(pumpServer));
    t.teardown(() => sink.kill());
    await pumping.promise;
    const client = await netClient(t, portOf(echoServer));
    client.write('ping');
    t.is((await readBytes(client, 4)).toString(), 'ping');
    await done.promise;
    clearInterval(ticker);
    t.log(`longest gap between Node's 10 ms ticks: ${longestGap.toFixed(0)} ms; engine cycle ran ${engineTicks} times`);
    t.true(longestGap < pumpMs / 2, `Node's loop stalled for ${longestGap.toFixed(0)} ms`);
    await waitFor(() => engineTicks >= 3, 5000, 'the engine cycle');
  });
}
