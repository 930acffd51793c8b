// Many concurrent connections through the TypeScript API, every byte checked.
//
//   node build/__test__/stress/connections.js [--connections 10000]
//
// This process runs a Pants echo server; a child process (this program with
// --client) connects the clients with Pants Streams, so that each process
// needs one descriptor per connection (the hard fd limit here is 20,000).
// No payload is sent before the server holds every connection, so they are
// all open at once. Each client then sends PAYLOAD bytes that carry its
// index; the server checks them before echoing, the client checks the echo
// and closes, and the server sees the end and closes too. The reliability
// test runs the same server and clients in one process with 1,000.
import { createInterface } from 'node:readline';
import { spawn } from 'node:child_process';
import { Engine, Server, Stream, StreamConnectError } from 'pants-net';

import { mebibytes, memory, numberOption, payloadFor, printResult, RESULT_PREFIX } from './common.js';

/** Bytes each client sends and gets back. */
export const PAYLOAD = 1024;
/** Connects started but not yet answered, so the listen backlog never overflows. */
const MAX_IN_FLIGHT = 256;

/** What the server side counted. */
export interface ServerStats {
  accepted: number;
  verified: number;
  corrupt: number;
  closes: number;
  doubleCloses: number;
  peakChannels: number;
}

/**
 * An echo server for the clients of `runClients`: each PAYLOAD-byte frame
 * must be the payload of the index it carries; it is echoed as it came.
 */
export function startEchoServer(engine: Engine, backlog = 4096): { server: Server; stats: ServerStats } {
  const stats: ServerStats = { accepted: 0, verified: 0, corrupt: 0, closes: 0, doubleCloses: 0, peakChannels: 0 };
  class CheckedEcho extends Stream {
    #closed = false;
    override onConnect(): void {
      this.readDelimiter = PAYLOAD;
    }
    override onRead(frame: Buffer): void {
      const index = frame.readUInt32LE(0);
      if (frame.equals(payloadFor(index, PAYLOAD))) stats.verified += frame.length;
      else stats.corrupt += 1;
      this.write(frame);
    }
    override onClose(): void {
      if (this.#closed) stats.doubleCloses += 1;
      this.#closed = true;
      stats.closes += 1;
    }
  }
  class CountingServer extends Server {
    override onAccept(): void {
      stats.accepted += 1;
      stats.peakChannels = Math.max(stats.peakChannels, this.channels.size);
    }
  }
  const server = new CountingServer(CheckedEcho, { engine }).listen(['127.0.0.1', 0], backlog);
  return { server, stats };
}

/** What the client side counted. */
export interface ClientStats {
  connected: number;
  verified: number;
  corrupt: number;
  connectErrors: string[];
  closes: number;
  doubleCloses: number;
}

/**
 * Connects `count` Pants clients to `port`, at most MAX_IN_FLIGHT connects
 * at a time. Once all are connected it calls `allConnected` and waits for
 * the promise it returns; then every client sends its payload, checks the
 * echo and closes. Resolves when every client has closed.
 */
export function runClients(engine: Engine, port: number, count: number, allConnected: () => Promise<void>): { stats: ClientStats; done: Promise<void> } {
  const stats: ClientStats = { connected: 0, verified: 0, corrupt: 0, connectErrors: [], closes: 0, doubleCloses: 0 };
  const clients: Client[] = [];
  let resolveDone!: () => void;
  let rejectDone!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  let started = 0;
  let inFlight = 0;

  class Client extends Stream {
    #closed = false;
    constructor(readonly index: number) {
      super({ engine });
      this.readDelimiter = PAYLOAD;
    }
    override onConnect(): void {
      stats.connected += 1;
      inFlight -= 1;
      openMore();
      if (stats.connected === count) {
        allConnected().then(sendAll, rejectDone);
      }
    }
    override onConnectError(error: StreamConnectError): void {
      stats.connectErrors.push(`${this.index}: ${error.code}`);
      rejectDone(new Error(`client ${this.index} could not connect: ${error.code}`));
    }
    override onRead(frame: Buffer): void {
      if (frame.equals(payloadFor(this.index, PAYLOAD))) stats.verified += frame.length;
      else stats.corrupt += 1;
      this.close();
    }
    override onClose(): void {
      if (this.#closed) stats.doubleCloses += 1;
      this.#closed = true;
      stats.closes += 1;
      if (stats.closes === count) resolveDone();
    }
  }

  function openMore(): void {
    while (started < count && inFlight < MAX_IN_FLIGHT) {
      const client = new Client(started);
      clients.push(client);
      started += 1;
      inFlight += 1;
      client.connect(['127.0.0.1', port]);
    }
  }

  function sendAll(): void {
    for (const client of clients) client.write(payloadFor(client.index, PAYLOAD));
  }

  openMore();
  return { stats, done };
}

/** Rejects after `ms` with `what`, unless `promise` settles first. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The child: `--client --port P --connections N`. Says "connected" and waits for "go" on stdin. */
async function clientMain(): Promise<void> {
  const engine = Engine.instance();
  void engine.start();
  const count = numberOption('connections', 10_000);
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.on('line', (line) => line === 'go' && resolve()));
  const { stats, done } = runClients(engine, numberOption('port', 0), count, async () => {
    process.stdout.write(`connected ${stats.connected}\n`);
    await go;
  });
  await withDeadline(done, 240_000, () => JSON.stringify(stats));
  lines.close();
  process.stdin.destroy();
  engine.stop();
  printResult(stats);
}

async function serverMain(): Promise<void> {
  const count = numberOption('connections', 10_000);
  const started = Date.now();
  const before = memory();
  const engine = Engine.instance();
  void engine.start();
  const { server, stats } = startEchoServer(engine);
  const port = (server.localAddress as [string, number])[1];
  const child = spawn(process.execPath, [__filename, '--client', '--port', String(port), '--connections', String(count)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let clientResult: ClientStats | undefined;
  let allOpenAfterMs = 0;
  let held = 0;
  let peakRss = 0;
  const childDone = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('connected ')) {
        // Every client is connected; wait until the server holds every connection too.
        const check = setInterval(() => {
          if (server.channels.size < count) return;
          clearInterval(check);
          held = server.channels.size;
          allOpenAfterMs = Date.now() - started;
          peakRss = process.memoryUsage().rss;
          child.stdin!.write('go\n');
        }, 5);
      } else if (line.startsWith(RESULT_PREFIX)) {
        clientResult = JSON.parse(line.slice(RESULT_PREFIX.length)) as ClientStats;
      }
    });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the client process exited with ${code}`))));
  });
  await withDeadline(childDone, 300_000, () => JSON.stringify(stats));
  const serverDone = new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (stats.closes < count) return;
      clearInterval(check);
      resolve();
    }, 5);
  });
  await withDeadline(serverDone, 30_000, () => JSON.stringify(stats));
  server.close();
  engine.stop();
  const after = memory();
  const client = clientResult!;
  const figures = {
    connections: count,
    held,
    allOpenAfterMs,
    elapsedMs: Date.now() - started,
    bytesVerified: client.verified + stats.verified,
    client,
    server: stats,
    rssBefore: before.rss,
    rssAllOpen: peakRss,
    rssAfter: after.rss,
  };
  const ok =
    held === count &&
    client.verified === count * PAYLOAD &&
    stats.verified === count * PAYLOAD &&
    client.corrupt + stats.corrupt === 0 &&
    client.closes === count &&
    stats.closes === count &&
    client.doubleCloses + stats.doubleCloses === 0;
  console.log(
    `connections: ${held} held at once after ${allOpenAfterMs} ms; ${figures.bytesVerified} bytes verified; ` +
      `rss ${mebibytes(before.rss)} -> ${mebibytes(peakRss)} with all open -> ${mebibytes(after.rss)}`,
  );
  printResult({ ...figures, ok });
  if (!ok) process.exitCode = 1;
}

if (require.main === module) {
  (process.argv.includes('--client') ? clientMain() : serverMain()).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
