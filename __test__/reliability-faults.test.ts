// Peer faults: resets in the middle of a write, half-closes, peers whose
// process dies mid-stream, connects that never complete, and a batch of
// random faults over 300 connections (`npm run stress` runs 20,000).
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Engine, Server, Stream, StreamConnectError } from 'pants-net';

import { closeAtEnd, lineRecorder, netClient, portOf, readBytes, readToEnd, signal, startedEngine, waitFor } from './helpers.js';
import { injectFaults } from './stress/faults.js';

/** Replaces Engine.logger for the test; returns the errors logged. */
function recordErrors(t: ExecutionContext): string[] {
  const previous = Engine.logger;
  const errors: string[] = [];
  Engine.logger = { ...console, error: (...args: unknown[]) => errors.push(args.map(String).join(' ')), warn: (...args: unknown[]) => errors.push(args.map(String).join(' ')) };
  t.teardown(() => (Engine.logger = previous));
  return errors;
}

test.serial('300 connections with random faults: no corrupt or lost frame, one onClose per stream, correct replies', async (t) => {
  const engine = startedEngine(t);
  const figures = await injectFaults(engine, 300, 32, 7);
  t.log(`${figures.faultsInjected} faults: ${JSON.stringify(figures.scenarios)}; logged errors: ${JSON.stringify(figures.loggedErrors)}`);
  t.deepEqual(figures.violations, []);
  t.is(figures.accepted, 300);
  t.is(figures.serverCloses, 300);
  t.is(figures.doubleCloses, 0);
  t.is(figures.corruptLines, 0);
  t.true(figures.linesVerified > 0 && figures.repliesVerified > 0);
});

test.serial('a peer that resets in the middle of a 32 MiB write: onClose once, nothing left buffered, the server goes on', async (t) => {
  const errors = recordErrors(t);
  const engine = startedEngine(t);
  let closes = 0;
  let bufferedAtClose = -1;
  const closed = signal();
  class Writer extends Stream {
    override onConnect() {
      this.write(Buffer.alloc(32 << 20, 0x5a));
    }
    override onRead(data: Buffer) {
      this.write(data);
    }
    override onClose() {
      closes += 1;
      bufferedAtClose = this.bufferedAmount;
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Writer, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  await readBytes(client, 1 << 20);
  client.resetAndDestroy();
  await closed.promise;
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(closes, 1);
  t.is(bufferedAtClose, 0);
  for (const error of errors) t.regex(error, /ECONNRESET|EPIPE/, 'only reset errors are logged');
  // A fresh connection still gets its 32 MiB, and its echo after them.
  const next = await netClient(t, portOf(server));
  await readBytes(next, 32 << 20);
  next.write('still here');
  t.is((await readBytes(next, 10)).toString(), 'still here');
});

test.serial('a peer that resets after sending frames: the complete frames before the reset reach onRead, then onClose once', async (t) => {
  const engine = startedEngine(t);
  const { Lines, record } = lineRecorder();
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  const sent = Array.from({ length: 1000 }, (_, index) => `line ${index}`);
  client.write(`${sent.join('\n')}\nhalf a li`, () => client.resetAndDestroy());
  await record.closed;
  t.is(record.closes, 1);
  t.deepEqual(record.lines, sent.slice(0, record.lines.length), 'a prefix of what was sent, in order');
});

// Found by this suite (fixed since): after a peer reset the engine closes
// the socket at once but still delivers the frames it had read, and a
// write() in onRead for them threw `Error: write ENOTCONN` (logged as an
// exception in onRead, once per buffered frame of every resetting peer).
// Now such writes are dropped, as the socket would drop them.
test.serial('write() in onRead for frames read before a peer reset is dropped quietly; onClose follows once', async (t) => {
  const errors = recordErrors(t);
  const engine = startedEngine(t);
  const closed = signal();
  const lines: string[] = [];
  let closes = 0;
  class Replier extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      lines.push(line.toString());
      this.write(`re ${line}\n`);
    }
    override onClose() {
      closes += 1;
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Replier, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  client.write('a\nb\nc\n', () => client.resetAndDestroy());
  await closed.promise;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(lines, ['a', 'b', 'c'].slice(0, lines.length));
  t.deepEqual(errors, []);
  t.is(closes, 1);
});

// A peer that shuts its write side (FIN) while still reading: Pants delivers
// every complete frame, then closes after sending what was written. A reply
// must be written from onRead of the last frames: no callback tells the
// stream that the peer ended (MISSING: an onEnd/allowHalfOpen to go on
// writing after the peer's end), and the stream is no longer `connected`
// once the end is seen.
test.serial('a half-closed peer: every line arrives, an 8 MiB reply written in the last onRead reaches it in full, then onClose once', async (t) => {
  const engine = startedEngine(t);
  let lines = 0;
  let closes = 0;
  let connectedAfterEnd: boolean | undefined;
  const reply = Buffer.alloc(8 << 20);
  for (let index = 0; index < reply.length; index += 4) reply.writeUInt32LE((index * 2654435761) >>> 0, index);
  class Collector extends Stream {
    override onConnect() {
      this.readDelimiter = '\r\n';
    }
    override onRead(line: Buffer) {
      if (line.toString() === `line ${lines}`) lines += 1;
      if (lines === 10_000) {
        this.write(reply);
        // Still connected while the last frames are delivered; after that
        // the end-of-stream closes it (with flush) on its own.
        this.engine.callback(() => (connectedAfterEnd = this.connected));
      }
    }
    override onClose() {
      closes += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Collector, { engine }).listen(['127.0.0.1', 0]));
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => client.destroy());
  const received = readToEnd(client);
  client.end(`${Array.from({ length: 10_000 }, (_, index) => `line ${index}\r\n`).join('')}unfinished`);
  const bytes = await received;
  await waitFor(() => closes === 1);
  t.is(lines, 10_000);
  t.is(bytes.length, reply.length);
  t.is(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(reply).digest('hex'));
  t.false(connectedAfterEnd, 'closing on its own once the end is seen');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(closes, 1);
});

/** A node child process running `source` with the port in PORT; resolves once it is connected. */
function childPeer(t: ExecutionContext, port: number, source: string) {
  const child = spawn(process.execPath, ['-e', source], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signalName) => resolve(signalName)));
  return { child, exited };
}

test.serial('a peer process killed while it sends: the complete lines it sent arrive in order, then onClose once', async (t) => {
  recordErrors(t);
  const engine = startedEngine(t);
  const { Lines, record } = lineRecorder();
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const { child, exited } = childPeer(
    t,
    portOf(server),
    `const s = require('net').connect(+process.env.PORT, '127.0.0.1');
     let i = 0;
     const pump = () => { while (s.write('line ' + i++ + ' ' + 'x'.repeat(i % 300) + '\\n')); s.once('drain', pump); };
     s.on('connect', pump);`,
  );
  await waitFor(() => record.lines.length > 20_000, 10_000, '20,000 lines');
  child.kill('SIGKILL');
  t.is(await exited, 'SIGKILL');
  await record.closed;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(record.closes, 1);
  record.lines.forEach((line, index) => {
    if (line !== `line ${index} ${'x'.repeat((index + 1) % 300)}`) t.fail(`line ${index} is ${line.slice(0, 40)}`);
  });
  t.pass();
});

test.serial('a peer process killed while we send it 64 MiB: onClose once, unsent bytes dropped, no exception', async (t) => {
  const errors = recordErrors(t);
  const engine = startedEngine(t);
  let closes = 0;
  let bufferedBeforeKill = 0;
  const closed = signal();
  const accepted = signal<Stream>();
  class Sender extends Stream {
    override onConnect() {
      this.write(Buffer.alloc(64 << 20, 1));
      accepted.resolve(this);
    }
    override onClose() {
      closes += 1;
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Sender, { engine }).listen(['127.0.0.1', 0]));
  const { child, exited } = childPeer(
    t,
    portOf(server),
    `const s = require('net').connect(+process.env.PORT, '127.0.0.1');
     let got = 0;
     setInterval(() => {}, 1000); // a paused socket alone does not keep node alive
     s.on('data', (d) => { got += d.length; if (got > (1 << 20)) { s.pause(); console.log('paused'); } });`,
  );
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  const stream = await accepted.promise;
  await waitFor(() => stream.bufferedAmount > 0 && stream.bufferedAmount < 64 << 20, 5000, `a partial send (bufferedAmount ${stream.bufferedAmount}, connected ${stream.connected}, closes ${closes})`);
  bufferedBeforeKill = stream.bufferedAmount;
  child.kill('SIGKILL');
  await exited;
  await closed.promise;
  t.log(`${bufferedBeforeKill} bytes were still buffered when the peer died; logged: ${errors.join(' | ') || 'nothing'}`);
  t.is(closes, 1);
  t.is(stream.bufferedAmount, 0);
  t.false(stream.connected);
  for (const error of errors) t.regex(error, /ECONNRESET|EPIPE/);
});

/**
 * A listener on an engine that never runs: it never accepts, so once its
 * backlog (0: room for one connection) is full, the kernel drops further
 * SYNs and a connect to it neither succeeds nor fails for minutes.
 */
async function blackHole(t: ExecutionContext): Promise<number> {
  const idle = new Engine();
  const full = new Server({ engine: idle }).listen(['127.0.0.1', 0], 0);
  t.teardown(() => full.close());
  for (let index = 0; index < 2; index++) {
    const filler = net.connect(portOf(full), '127.0.0.1');
    filler.on('error', () => {});
    t.teardown(() => filler.destroy());
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  return portOf(full);
}

test.serial('connectTimeout: a connect that never completes fails with ETIMEDOUT, then onClose once', async (t) => {
  const engine = startedEngine(t);
  const port = await blackHole(t);
  const events: string[] = [];
  const closed = signal();
  class Client extends Stream {
    override onConnect() {
      events.push('connect');
    }
    override onConnectError(error: StreamConnectError) {
      t.true(error instanceof StreamConnectError);
      events.push(`connect error ${error.code}`);
    }
    override onClose() {
      events.push('close');
      closed.resolve();
    }
  }
  const started = Date.now();
  new Client({ engine, connectTimeout: 0.3 }).connect(['127.0.0.1', port]);
  await closed.promise;
  const elapsed = Date.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.true(elapsed >= 280 && elapsed < 2000, `failed after ${elapsed} ms`);
  t.deepEqual(events, ['connect error ETIMEDOUT', 'close']);
});

test.serial('without connectTimeout, a deferred close abandons a connect that never completes: no onConnect, no onConnectError, onClose once', async (t) => {
  const engine = startedEngine(t);
  const port = await blackHole(t);
  const events: string[] = [];
  const closed = signal();
  class Client extends Stream {
    override onConnect() {
      events.push('connect');
    }
    override onConnectError(error: StreamConnectError) {
      events.push(`connect error ${error.code}`);
    }
    override onClose() {
      events.push('close');
      closed.resolve();
    }
  }
  const client = new Client({ engine }).connect(['127.0.0.1', port]);
  engine.defer(0.3, () => {
    if (client.connecting) client.close();
  });
  await closed.promise;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.deepEqual(events, ['close']);
});
