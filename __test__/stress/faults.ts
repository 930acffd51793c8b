// Peer faults injected at random into many connections to a Pants server.
//
//   node build/__test__/stress/faults.js [--connections 20000] [--concurrency 64] [--seed 1]
//
// Each node:net client plays one scenario, announced in its first line:
// - clean: sends lines, reads a reply to each, ends;
// - half-close: sends lines and half a line, ends its write side, still
//   reads every reply;
// - fin-mid-frame: sends lines and half a line, ends, ignores the replies;
// - reset-while-sending: sends lines and half a line, then resets (RST);
// - reset-while-receiving: asks for 8 MiB and resets after a random part;
// - vanish: connects and is destroyed before sending anything.
// The server checks every line it gets (content derived from the client
// and line number). What must hold: no corrupt line ever; every complete
// line sent before an end (FIN) is delivered; after a reset, a prefix of
// them is; every accepted stream gets exactly one onClose; clients that
// read get a correct reply to every line. The reliability test runs 300.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Engine, Server, Stream } from 'pants-net';

import { mebibytes, memory, numberOption, printResult, Random } from './common.js';

export const SCENARIOS = ['clean', 'half-close', 'fin-mid-frame', 'reset-while-sending', 'reset-while-receiving', 'vanish'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const BIG_REPLY = 8 << 20;

/** Line `index` of client `id`: deterministic, 1 to 3,000 characters of payload. */
function lineOf(id: number, index: number): string {
  const random = new Random(id * 100_003 + index);
  return `line ${id} ${index} ${random.bytes(random.int(1, 1500)).toString('hex')}`;
}

function replyOf(line: string): string {
  return `ok ${createHash('sha1').update(line).digest('hex')}\n`;
}

/** Figures of a run. */
export interface FaultFigures {
  connections: number;
  seed: number;
  scenarios: Record<string, number>;
  /** Connections whose peer misbehaved (everything but clean). */
  faultsInjected: number;
  accepted: number;
  serverCloses: number;
  doubleCloses: number;
  linesVerified: number;
  corruptLines: number;
  repliesVerified: number;
  bigRepliesStarted: number;
  /** Most bytes a server stream had written but not yet sent. */
  peakBufferedAmount: number;
  /** Logged errors by code (resets reach onReadError/onWriteError, whose default logs). */
  loggedErrors: Record<string, number>;
  /** Invariant violations, first 20. */
  violations: string[];
  violationCount: number;
  elapsedMs: number;
}

interface Expectation {
  scenario: Scenario;
  lines: number;
}

/** Runs `connections` clients, `concurrency` at a time, against a Pants server on `engine`. */
export async function injectFaults(engine: Engine, connections: number, concurrency: number, seed: number): Promise<FaultFigures> {
  const random = new Random(seed);
  const started = Date.now();
  const figures: FaultFigures = {
    connections,
    seed,
    scenarios: {},
    faultsInjected: 0,
    accepted: 0,
    serverCloses: 0,
    doubleCloses: 0,
    linesVerified: 0,
    corruptLines: 0,
    repliesVerified: 0,
    bigRepliesStarted: 0,
    peakBufferedAmount: 0,
    loggedErrors: {},
    violations: [],
    violationCount: 0,
    elapsedMs: 0,
  };
  const violation = (what: string) => {
    figures.violationCount += 1;
    if (figures.violations.length < 20) figures.violations.push(what);
  };
  const previousLogger = Engine.logger;
  Engine.logger = {
    ...previousLogger,
    error: (...args: unknown[]) => {
      const error = args.find((arg): arg is NodeJS.ErrnoException => arg instanceof Error);
      const code = error?.code ?? String(args[0]);
      figures.loggedErrors[code] = (figures.loggedErrors[code] ?? 0) + 1;
    },
  };
  /** What each client id announced, and what the server got from it. */
  const expected = new Map<number, Expectation>();
  const delivered = new Map<number, number>();

  class Checked extends Stream {
    #id = -1;
    #lines = 0;
    #closes = 0;
    override onConnect(): void {
      figures.accepted += 1;
      this.readDelimiter = '\n';
      this.encoding = 'latin1';
    }
    override onRead(line: string): void {
      if (this.#id < 0) {
        const [, id] = line.split(' ');
        this.#id = Number(id);
        return;
      }
      if (line === 'big') {
        figures.bigRepliesStarted += 1;
        this.write(Buffer.alloc(BIG_REPLY, 0x42));
        return;
      }
      if (line !== lineOf(this.#id, this.#lines)) {
        figures.corruptLines += 1;
        violation(`client ${this.#id}: line ${this.#lines} is corrupt (${line.length} chars)`);
      } else {
        figures.linesVerified += 1;
      }
      this.#lines += 1;
      this.write(replyOf(line));
    }
    override onClose(): void {
      this.#closes += 1;
      if (this.#closes > 1) {
        figures.doubleCloses += 1;
        violation(`client ${this.#id}: onClose ran ${this.#closes} times`);
      }
      figures.serverCloses += 1;
      if (this.#id >= 0) delivered.set(this.#id, this.#lines);
    }
  }
  const server = new Server(Checked, { engine }).listen(['127.0.0.1', 0], 1024);
  const port = (server.localAddress as [string, number])[1];
  const outputWatch = setInterval(() => {
    for (const stream of server.channels.values()) figures.peakBufferedAmount = Math.max(figures.peakBufferedAmount, stream.bufferedAmount);
  }, 20);

  /** One client playing `scenario`; resolves when its socket is closed. */
  function client(id: number, scenario: Scenario): Promise<void> {
    const lines = random.int(1, 20);
    expected.set(id, { scenario, lines });
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const body = Array.from({ length: lines }, (_, index) => `${lineOf(id, index)}\n`).join('');
    const partial = lineOf(id, lines).slice(0, random.int(1, 100));
    const hello = `hello ${id} ${scenario}\n`;
    const want = Array.from({ length: lines }, (_, index) => replyOf(lineOf(id, index))).join('');
    let replies = '';
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => (replies += text));
    const checkReplies = () => {
      if (replies === want) figures.repliesVerified += lines;
      else violation(`client ${id} (${scenario}): replies differ (${replies.length} of ${want.length} chars)`);
    };
    socket.once('connect', () => {
      switch (scenario) {
        case 'clean':
          socket.write(hello + body);
          socket.on('data', () => {
            if (replies.length === want.length) {
              checkReplies();
              socket.end();
            }
          });
          break;
        case 'half-close':
          socket.end(hello + body + partial);
          socket.once('end', checkReplies);
          break;
        case 'fin-mid-frame':
          socket.end(hello + body + partial);
          socket.resume();
          break;
        case 'reset-while-sending':
          socket.write(hello + body + partial, () => socket.resetAndDestroy());
          break;
        case 'reset-while-receiving': {
          socket.write(`${hello}big\n`);
          const resetAfter = random.int(1, BIG_REPLY - 1);
          let received = 0;
          socket.on('data', (text: string) => {
            received += text.length;
            if (received >= resetAfter && !socket.destroyed) socket.resetAndDestroy();
          });
          break;
        }
        case 'vanish':
          socket.destroy();
          break;
      }
    });
    return closed;
  }

  let next = 0;
  async function worker(): Promise<void> {
    while (next < connections) {
      const id = next++;
      const scenario = random.pick(SCENARIOS);
      figures.scenarios[scenario] = (figures.scenarios[scenario] ?? 0) + 1;
      if (scenario !== 'clean') figures.faultsInjected += 1;
      await client(id, scenario);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));

  // Let the server see the last closes.
  const deadline = Date.now() + 20_000;
  while ((figures.serverCloses < figures.accepted || server.channels.size > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  clearInterval(outputWatch);
  server.close();
  Engine.logger = previousLogger;

  if (server.channels.size > 0) violation(`${server.channels.size} streams still open on the server`);
  if (figures.serverCloses !== figures.accepted) violation(`${figures.accepted} accepted but ${figures.serverCloses} onClose calls`);
  for (const [id, { scenario, lines }] of expected) {
    const got = delivered.get(id);
    switch (scenario) {
      case 'clean':
      case 'half-close':
      case 'fin-mid-frame':
        if (got !== lines) violation(`client ${id} (${scenario}): ${got} of ${lines} lines delivered`);
        break;
      case 'reset-while-sending':
        if (got !== undefined && got > lines) violation(`client ${id} (${scenario}): ${got} lines delivered, only ${lines} sent`);
        break;
      default:
        break;
    }
  }
  figures.elapsedMs = Date.now() - started;
  return figures;
}

async function main(): Promise<void> {
  const before = memory();
  const engine = Engine.instance();
  void engine.start();
  const figures = await injectFaults(engine, numberOption('connections', 20_000), numberOption('concurrency', 64), numberOption('seed', 1));
  engine.stop();
  const after = memory();
  console.log(
    `faults: ${figures.faultsInjected} faults injected over ${figures.connections} connections in ${(figures.elapsedMs / 1000).toFixed(1)} s ` +
      `(${JSON.stringify(figures.scenarios)}); ${figures.linesVerified} lines and ${figures.repliesVerified} replies verified; ` +
      `${figures.violationCount} violations; rss ${mebibytes(before.rss)} -> ${mebibytes(after.rss)}`,
  );
  for (const violation of figures.violations) console.log(`  ${violation}`);
  printResult({ ...figures, ok: figures.violationCount === 0, rssBefore: before.rss, rssAfter: after.rss });
  if (figures.violationCount > 0) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
