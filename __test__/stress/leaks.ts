// Connect, echo, close, many times over: does anything stay behind?
//
//   node --expose-gc build/__test__/stress/leaks.js [--cycles 100000] [--concurrency 16]
//
// One engine runs an echo server and Pants clients. Each cycle connects a
// client, which arms a timer, sends 64 bytes, checks the echo, cancels its
// timer and closes; the server side closes on the client's end. After a
// warm-up (a tenth of the cycles), the JS heap (after full GCs) and RSS are
// measured, then again after all the cycles. The reliability test runs it
// with 5,000 cycles in a child process and bounds the growth.
import { Engine, Server, Stream, Timer } from 'pants-net';

import { mebibytes, memory, numberOption, printResult } from './common.js';

const MESSAGE = Buffer.from('0123456789abcdef'.repeat(4));

/** Figures of a run. */
export interface LeakFigures {
  cycles: number;
  warmup: number;
  concurrency: number;
  echoed: number;
  corrupt: number;
  clientCloses: number;
  serverCloses: number;
  channelsLeft: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
  elapsedMs: number;
  gc: boolean;
}

class Echo extends Stream {
  override onRead(data: Buffer): void {
    this.write(data);
  }
}

async function main(): Promise<void> {
  const cycles = numberOption('cycles', 100_000);
  const concurrency = numberOption('concurrency', 16);
  const warmup = Math.ceil(cycles / 10);
  const engine = Engine.instance();
  void engine.start();
  let serverCloses = 0;
  class CountedEcho extends Echo {
    override onClose(): void {
      serverCloses += 1;
    }
  }
  const server = new Server(CountedEcho, { engine }).listen(['127.0.0.1', 0]);
  const port = (server.localAddress as [string, number])[1];
  const figures = {
    cycles,
    warmup,
    concurrency,
    echoed: 0,
    corrupt: 0,
    clientCloses: 0,
    serverCloses: 0,
    channelsLeft: 0,
    gc: typeof (globalThis as { gc?: unknown }).gc === 'function',
  };

  /** Runs `count` cycles, `concurrency` at a time. */
  function run(count: number): Promise<void> {
    let started = 0;
    let finished = 0;
    return new Promise((resolve, reject) => {
      class Client extends Stream {
        #timer: Timer | undefined;
        #received: Buffer[] = [];
        #length = 0;
        override onConnect(): void {
          this.#timer = engine.defer(30, () => reject(new Error('a cycle took 30 s')));
          this.write(MESSAGE);
        }
        override onRead(data: Buffer): void {
          this.#received.push(data);
          this.#length += data.length;
          if (this.#length < MESSAGE.length) return;
          if (Buffer.concat(this.#received).equals(MESSAGE)) figures.echoed += 1;
          else figures.corrupt += 1;
          this.#timer!.cancel();
          this.close();
        }
        override onConnectError(error: Error): void {
          reject(error);
        }
        override onClose(): void {
          figures.clientCloses += 1;
          finished += 1;
          if (finished === count) resolve();
          else startOne();
        }
      }
      const startOne = () => {
        if (started === count) return;
        started += 1;
        new Client({ engine }).connect(['127.0.0.1', port]);
      };
      for (let index = 0; index < concurrency; index++) startOne();
    });
  }

  /** Lets the server side see the last ends and close. */
  async function settle(expectedCloses: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((serverCloses < expectedCloses || server.channels.size > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  await run(warmup);
  await settle(warmup);
  const before = memory();
  const started = Date.now();
  await run(cycles);
  await settle(warmup + cycles);
  const elapsedMs = Date.now() - started;
  const after = memory();
  figures.serverCloses = serverCloses;
  figures.channelsLeft = server.channels.size;
  server.close();
  engine.stop();
  const result: LeakFigures = { ...figures, heapBefore: before.heapUsed, heapAfter: after.heapUsed, rssBefore: before.rss, rssAfter: after.rss, elapsedMs };
  const ok =
    figures.echoed === warmup + cycles &&
    figures.corrupt === 0 &&
    figures.clientCloses === warmup + cycles &&
    serverCloses === warmup + cycles &&
    figures.channelsLeft === 0;
  console.log(
    `leaks: ${cycles} connect/echo/close cycles (after ${warmup} warm-up) in ${(elapsedMs / 1000).toFixed(1)} s; ` +
      `heap ${mebibytes(before.heapUsed)} -> ${mebibytes(after.heapUsed)}, rss ${mebibytes(before.rss)} -> ${mebibytes(after.rss)}` +
      (figures.gc ? '' : ' (no --expose-gc: heap figures without a full GC)'),
  );
  printResult({ ...result, ok });
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
