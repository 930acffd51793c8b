// Misuse: closing from inside callbacks, writing after close, closing twice,
// stopping the engine from callbacks, a server closing every channel from a
// timer, and exceptions thrown from every kind of callback. Nothing may
// crash, and every onClose must run exactly once.
import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import { Engine, Server, Stream, StreamBufferOverflow, StreamConnectError } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

/** Replaces Engine.logger for the test; returns what was logged. */
function recordLogs(t: ExecutionContext): { errors: unknown[][]; warnings: unknown[][] } {
  const previous = Engine.logger;
  const logs = { errors: [] as unknown[][], warnings: [] as unknown[][] };
  Engine.logger = { ...console, error: (...args: unknown[]) => logs.errors.push(args), warn: (...args: unknown[]) => logs.warnings.push(args) };
  t.teardown(() => (Engine.logger = previous));
  return logs;
}

/** Counts onClose per stream; `twice` lists streams closed more than once. */
class CloseLedger {
  readonly counts = new Map<object, number>();
  record(channel: object): void {
    this.counts.set(channel, (this.counts.get(channel) ?? 0) + 1);
  }
  get total(): number {
    return this.counts.size;
  }
  get twice(): number {
    return [...this.counts.values()].filter((count) => count !== 1).length;
  }
}

/** A port nobody listens on. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test.serial('close() inside onRead: no frame after it, what was written before still arrives, onClose once', async (t) => {
  const engine = startedEngine(t);
  const lines: string[] = [];
  const ledger = new CloseLedger();
  const closed = signal();
  class Quitter extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      lines.push(line.toString());
      this.write(`bye ${line}\n`);
      this.close();
      this.close(); // twice, inside the same callback
    }
    override onClose() {
      ledger.record(this);
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Quitter, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('one\ntwo\nthree\n');
  t.is((await readToEnd(client)).toString(), 'bye one\n');
  await closed.promise;
  await pause(20);
  t.deepEqual(lines, ['one']);
  t.is(ledger.total, 1);
  t.is(ledger.twice, 0);
});

test.serial('write() after close, in onClose and on a stream that never connected throws Error; so do writePacked and writeFile', async (t) => {
  const engine = startedEngine(t);
  const outcomes: string[] = [];
  const closed = signal();
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
      outcomes.push(`${what}: no error`);
    } catch (error) {
      outcomes.push(`${what}: ${(error as Error).constructor.name}`);
    }
  };
  class Closer extends Stream {
    override onConnect() {
      this.close();
      attempt('write after close()', () => this.write('x'));
      attempt('writePacked after close()', () => this.writePacked([1], '!H'));
      attempt('writeFile after close()', () => this.writeFile(__filename));
    }
    override onClose() {
      attempt('write in onClose', () => this.write('x'));
      attempt('write(flush) in onClose', () => this.write(Buffer.from('x'), true));
      attempt('flush in onClose', () => this.flush());
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Closer, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  await readToEnd(client);
  await closed.promise;
  attempt('write on a new stream', () => new Stream({ engine }).write('x'));
  t.deepEqual(outcomes, [
    'write after close(): Error',
    'writePacked after close(): Error',
    'writeFile after close(): Error',
    'write in onClose: Error',
    'write(flush) in onClose: Error',
    'flush in onClose: no error',
    'write on a new stream: Error',
  ]);
});

test.serial('close() twice, close(true) then close(false), and close() before or during connect: onClose once each, no onConnect', async (t) => {
  const engine = startedEngine(t);
  const ledger = new CloseLedger();
  const events: string[] = [];
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer((socket) => socket.resume());
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
    t.teardown(() => server.close());
  });
  class Tracked extends Stream {
    constructor(readonly label: string) {
      super({ engine });
    }
    override onConnect() {
      events.push(`${this.label}: connect`);
      if (this.label === 'closes in onConnect') {
        this.write('data');
        this.close(true);
        this.close(false);
        this.close(true);
      }
    }
    override onConnectError(error: StreamConnectError) {
      events.push(`${this.label}: connect error ${error.code}`);
    }
    override onClose() {
      ledger.record(this);
    }
  }
  const neverConnected = new Tracked('never connected');
  neverConnected.close();
  neverConnected.close();
  const resolving = new Tracked('closed while resolving').connect(['localhost', port]);
  resolving.close();
  const connecting = new Tracked('closed while connecting').connect(['127.0.0.1', port]);
  connecting.close(false);
  connecting.close();
  new Tracked('closes in onConnect').connect(['127.0.0.1', port]);
  const refused = new Tracked('refused, then closed');
  refused.connect(['127.0.0.1', await freePort()]);
  await waitFor(() => ledger.total === 5, 5000, 'five onClose calls');
  await pause(100);
  t.is(ledger.total, 5);
  t.is(ledger.twice, 0);
  t.deepEqual(events.sort(), ['closes in onConnect: connect', 'refused, then closed: connect error ECONNREFUSED']);
  refused.close();
  t.throws(() => neverConnected.connect(['127.0.0.1', port]), { instanceOf: Error });
});

test.serial('engine.stop() inside onRead: start() resolves, the reply written before it is sent, and a restarted engine goes on', async (t) => {
  const engine = new Engine();
  t.teardown(() => engine.stop());
  let reads = 0;
  class StopOnRead extends Stream {
    override onRead(data: Buffer) {
      reads += 1;
      this.write(data);
      this.engine.stop();
      this.engine.stop(); // a no-op once stopped
    }
  }
  const server = closeAtEnd(t, new Server(StopOnRead, { engine }).listen(['127.0.0.1', 0]));
  const firstRun = engine.start();
  const client = await netClient(t, portOf(server));
  client.write('first');
  await firstRun;
  t.false(engine.running);
  t.is((await readBytes(client, 5)).toString(), 'first');
  client.write('second');
  await pause(50);
  t.is(reads, 1, 'nothing is dispatched while stopped');
  const secondRun = engine.start();
  t.is((await readBytes(client, 6)).toString(), 'second');
  await secondRun;
  t.is(reads, 2);
});

test.serial('engine.stop() inside onClose, onConnect, onListen and a timer: each run ends, and nothing is lost across restarts', async (t) => {
  const engine = new Engine();
  t.teardown(() => engine.stop());
  const ledger = new CloseLedger();
  const seen: string[] = [];
  class StopEverywhere extends Stream {
    override onConnect() {
      seen.push('connect');
      this.engine.stop();
    }
    override onRead(data: Buffer) {
      this.write(data);
    }
    override onClose() {
      seen.push('close');
      ledger.record(this);
      this.engine.stop();
    }
  }
  class StopOnListen extends Server {
    override onListen() {
      seen.push('listen');
      this.engine.stop();
    }
  }
  const server = closeAtEnd(t, new StopOnListen(StopEverywhere, { engine }).listen(['127.0.0.1', 0]));
  await engine.start();
  t.deepEqual(seen, ['listen']);
  const client = net.connect(portOf(server), '127.0.0.1');
  t.teardown(() => client.destroy());
  await engine.start(); // until onConnect stops it
  t.deepEqual(seen, ['listen', 'connect']);
  engine.defer(0.01, () => engine.stop());
  const echoed = readBytes(client, 4);
  client.write('ping');
  await engine.start(); // until the deferred stops it
  // The echo may need one more run if the deferred came first.
  const more = engine.start();
  t.is((await echoed).toString(), 'ping');
  engine.stop();
  await more;
  client.end();
  await engine.start(); // until onClose stops it
  t.deepEqual(seen, ['listen', 'connect', 'close']);
  t.is(ledger.total, 1);
  t.is(ledger.twice, 0);
});

test.serial('a server closes all its channels from a timer, and then itself from another: every onClose once', async (t) => {
  const engine = startedEngine(t);
  const ledger = new CloseLedger();
  let serverCloses = 0;
  class Conn extends Stream {
    override onRead(data: Buffer) {
      this.write(data);
    }
    override onClose() {
      ledger.record(this);
    }
  }
  class Closing extends Server {
    override onClose() {
      serverCloses += 1;
      super.onClose();
    }
  }
  const server = new Closing(Conn, { engine }).listen(['127.0.0.1', 0]);
  const clients = await Promise.all(Array.from({ length: 50 }, () => netClient(t, portOf(server))));
  await waitFor(() => server.channels.size === 50, 5000, '50 connections');
  const ends = clients.map((client) => readToEnd(client));
  engine.defer(0.02, () => {
    for (const stream of server.channels.values()) {
      stream.write('closing\n');
      stream.close();
      stream.close(false); // the second close drops the unsent bytes at once
    }
  });
  const received = await Promise.all(ends);
  await waitFor(() => ledger.total === 50, 5000, '50 onClose calls');
  t.is(server.channels.size, 0);
  for (const text of received) t.true(text.toString() === '' || text.toString() === 'closing\n');
  // Connections accepted afterwards, then the server closed from a cycle.
  const late = await Promise.all(Array.from({ length: 10 }, () => netClient(t, portOf(server))));
  await waitFor(() => server.channels.size === 10, 5000, '10 more connections');
  const lateEnds = late.map((client) => readToEnd(client));
  const cycle = engine.cycle(0.01, () => {
    server.close();
    server.close();
    cycle.cancel();
  });
  await Promise.all(lateEnds);
  await waitFor(() => ledger.total === 60, 5000, '60 onClose calls');
  await pause(30);
  t.is(ledger.twice, 0);
  t.is(serverCloses, 1);
  t.false(server.listening);
});

test.serial('closing another stream whose events wait in the same iteration: it gets no more onRead, and onClose once', async (t) => {
  const engine = startedEngine(t);
  const ledger = new CloseLedger();
  const reads: string[] = [];
  const streams: Stream[] = [];
  class Peer extends Stream {
    override onConnect() {
      streams.push(this);
    }
    override onRead(data: Buffer) {
      reads.push(data.toString());
      for (const other of streams) {
        if (other !== this) {
          other.close(false);
          t.throws(() => other.write('x'), { instanceOf: Error });
        }
      }
    }
    override onClose() {
      ledger.record(this);
    }
  }
  const server = closeAtEnd(t, new Server(Peer, { engine }).listen(['127.0.0.1', 0]));
  const first = await netClient(t, portOf(server));
  const second = await netClient(t, portOf(server));
  await waitFor(() => streams.length === 2);
  first.on('error', () => {});
  second.on('error', () => {});
  // Both arrive before the engine's next wake-up (the loop is busy meanwhile).
  const busyUntil = Date.now() + 30;
  engine.callback(() => {
    while (Date.now() < busyUntil);
  });
  first.write('a');
  second.write('b');
  await waitFor(() => ledger.total === 1, 5000, 'one stream closed');
  await pause(50);
  t.is(reads.length, 1, `only one onRead: ${reads.join(',')}`);
  t.is(ledger.twice, 0);
});

test.serial('exceptions thrown from every callback are logged; the engine runs on and every onClose runs once', async (t) => {
  const logs = recordLogs(t);
  const engine = startedEngine(t);
  const ledger = new CloseLedger();
  const ran = new Set<string>();
  const boom = (where: string): never => {
    ran.add(where);
    throw new Error(`thrown from ${where}`);
  };
  class Throwing extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
      this.bufferSize = 16;
      boom('onConnect');
    }
    override onRead(line: Buffer) {
      if (line.toString() === 'write') this.write(Buffer.alloc(1 << 20));
      boom('onRead');
    }
    override onWrite() {
      boom('onWrite');
    }
    override onOverflowError(error: StreamBufferOverflow) {
      t.true(error instanceof StreamBufferOverflow);
      boom('onOverflowError');
    }
    override onClose() {
      ledger.record(this);
      boom('Stream.onClose');
    }
  }
  class ThrowingServer extends Server {
    override onListen() {
      boom('onListen');
    }
    override onAccept() {
      boom('onAccept');
    }
    override onClose() {
      super.onClose();
      boom('Server.onClose');
    }
  }
  class ThrowingClient extends Stream {
    override onConnectError() {
      boom('onConnectError');
    }
    override onClose() {
      ledger.record(this);
      boom('client onClose');
    }
  }
  const server = new ThrowingServer(Throwing, { engine }).listen(['127.0.0.1', 0]);
  // The loop cancels itself: a running loop() keeps Node's own timers from
  // running (see reliability-load), and this test waits on them.
  const loop = engine.loop(() => {
    loop.cancel();
    boom('loop');
  });
  const timers = [engine.callback(() => boom('callback')), engine.defer(0.001, () => boom('defer')), engine.cycle(0.005, () => boom('cycle')), loop];
  const client = await netClient(t, portOf(server));
  const received = readBytes(client, 1 << 20);
  client.write('write\n');
  await received; // onWrite follows the drain
  client.write('x'.repeat(100)); // no newline within bufferSize: overflow
  new ThrowingClient({ engine }).connect(['127.0.0.1', await freePort()]);
  await waitFor(() => ran.size === 12, 5000, `every callback ran (so far: ${[...ran].join(', ')})`);
  for (const timer of timers) timer.cancel();
  // The engine still serves.
  const second = await netClient(t, portOf(server));
  second.write('still there\n');
  await waitFor(() => server.channels.size === 2, 5000, 'the second connection');
  server.close();
  await readToEnd(client).catch(() => Buffer.alloc(0));
  await waitFor(() => ran.has('Server.onClose') && ledger.total === 3, 5000, 'every close');
  await pause(30);
  t.is(ledger.total, 3);
  t.is(ledger.twice, 0);
  t.deepEqual([...ran].sort(), [
    'Server.onClose',
    'Stream.onClose',
    'callback',
    'client onClose',
    'cycle',
    'defer',
    'loop',
    'onAccept',
    'onConnect',
    'onConnectError',
    'onListen',
    'onOverflowError',
    'onRead',
    'onWrite',
  ].sort());
  const logged = logs.errors.map((args) => args.map(String).join(' '));
  for (const where of ran) t.true(logged.some((line) => line.includes(`thrown from ${where}`)), `logged: ${where}`);
  t.true(engine.running);
});
