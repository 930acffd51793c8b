// Server.maxConnections and Server.shutdown(timeout), against node:net clients.
import test from 'ava';
import net from 'node:net';
import { Engine, Server, Stream } from 'pants-net';
import { HTTPRequest, HTTPServer } from 'pants-net/http';

import { SlowEcho, stopOnSigterm } from '../examples/graceful_shutdown.js';
import { closeAtEnd, netClient, portOf, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

/** Connects, and resolves once the peer has ended or the socket closed: true when it closed without a byte. */
async function refused(port: number): Promise<boolean> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const bytes: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => bytes.push(chunk));
  await new Promise((resolve) => socket.once('close', resolve));
  return Buffer.concat(bytes).length === 0;
}

test('maxConnections: connections beyond it are closed at once, before onAccept or onConnect', async (t) => {
  const engine = startedEngine(t);
  const accepted: Stream[] = [];
  const connected: Stream[] = [];
  class Counting extends Echo {
    override onConnect() {
      connected.push(this);
    }
  }
  class Limited extends Server {
    override ConnectionClass = Counting;
    override onAccept(stream: Stream) {
      accepted.push(stream);
    }
  }
  const server = closeAtEnd(t, new Limited({ engine }).listen(['127.0.0.1', 0]));
  t.is(server.maxConnections, null);
  server.maxConnections = 2;
  const first = await netClient(t, portOf(server));
  const second = await netClient(t, portOf(server));
  await waitFor(() => connected.length === 2, 5000, 'two connections');
  t.true(await refused(portOf(server)));
  t.is(accepted.length, 2);
  t.is(connected.length, 2);
  t.is(server.channels.size, 2);
  // The ones accepted still work; once one leaves, a new one is served.
  first.write('ping');
  t.is((await new Promise<Buffer>((resolve) => first.once('data', resolve))).toString(), 'ping');
  second.destroy();
  await waitFor(() => server.channels.size === 1, 5000, 'the second to leave');
  const third = await netClient(t, portOf(server));
  third.write('pong');
  t.is((await new Promise<Buffer>((resolve) => third.once('data', resolve))).toString(), 'pong');
  t.is(accepted.length, 3);
});

test('maxConnections = 0 refuses every connection; bad values throw naming it', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  server.maxConnections = 0;
  t.true(await refused(portOf(server)));
  t.is(server.channels.size, 0);
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
    const error = t.throws(() => (server.maxConnections = bad), { instanceOf: RangeError, message: /maxConnections/ });
    t.is((error as NodeJS.ErrnoException).code, 'ERR_PANTS_INVALID_SETTING');
  }
  for (const bad of ['2', {}, undefined]) {
    t.throws(() => (server.maxConnections = bad as unknown as number), { instanceOf: TypeError, message: /maxConnections/ });
  }
  server.maxConnections = null;
  t.is(server.maxConnections, null);
  const client = await netClient(t, portOf(server));
  client.write('back');
  t.is((await new Promise<Buffer>((resolve) => client.once('data', resolve))).toString(), 'back');
});

test('shutdown() stops listening at once, lets streams finish, then runs onClose and resolves', async (t) => {
  const engine = startedEngine(t);
  const events: string[] = [];
  class Tracked extends Server {
    override ConnectionClass = SlowEcho;
    override onClose() {
      events.push(`server closed with ${this.channels.size} streams`);
      super.onClose();
    }
  }
  const server = closeAtEnd(t, new Tracked({ engine }).listen(['127.0.0.1', 0]));
  const port = portOf(server);
  const client = await netClient(t, port);
  const answer = readToEnd(client);
  client.write('job\n');
  await waitFor(() => server.channels.size === 1, 5000, 'the connection');
  const done = server.shutdown();
  t.is(server.shutdown(), done, 'a second call returns the same promise');
  t.false(server.listening);
  void done.then(() => events.push('resolved'));
  // No new connections: the port is closed.
  await t.throwsAsync(netClient(t, port), { code: 'ECONNREFUSED' });
  t.deepEqual(events, [], 'onClose waits for the stream');
  t.is((await answer).toString(), 'done: job\n', 'the stream finished its work');
  await done;
  t.deepEqual(events, ['server closed with 0 streams', 'resolved']);
});

test('shutdown(timeout) closes the streams still open after timeout seconds without flushing', async (t) => {
  const engine = startedEngine(t);
  let closed = 0;
  class Silent extends Stream {
    override onClose() {
      closed += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Silent, { engine }).listen(['127.0.0.1', 0]));
  const clients = [await netClient(t, portOf(server)), await netClient(t, portOf(server))];
  await waitFor(() => server.channels.size === 2, 5000, 'two connections');
  const ends = clients.map((client) => new Promise((resolve) => client.once('close', resolve)));
  clients.forEach((client) => client.on('error', () => {}));
  const started = Date.now();
  await server.shutdown(0.3);
  const elapsed = Date.now() - started;
  t.true(elapsed >= 250, `waited ${elapsed} ms`);
  t.true(elapsed < 3000, `waited ${elapsed} ms`);
  t.is(closed, 2);
  t.is(server.channels.size, 0);
  await Promise.all(ends);
});

test('shutdown() of a server without streams resolves at once; of a closed or never-listening server too', async (t) => {
  const engine = startedEngine(t);
  let onClose = 0;
  class Counted extends Server {
    override onClose() {
      onClose += 1;
    }
  }
  const server = new Counted(Echo, { engine }).listen(['127.0.0.1', 0]);
  const started = Date.now();
  await server.shutdown(30);
  t.true(Date.now() - started < 2000);
  t.is(onClose, 1);
  await server.shutdown();
  t.is(onClose, 1);
  const idle = new Counted(Echo, { engine });
  await idle.shutdown();
  t.is(onClose, 2);
  const closed = new Counted(Echo, { engine }).listen(['127.0.0.1', 0]);
  closed.close();
  await closed.shutdown();
  t.is(onClose, 3);
});

test('shutdown() validates timeout', (t) => {
  const server = new Server(Echo, { engine: new Engine() });
  t.throws(() => server.shutdown(-1), { instanceOf: RangeError, message: /timeout/ });
  t.throws(() => server.shutdown(Number.NaN), { instanceOf: RangeError, message: /timeout/ });
  t.throws(() => server.shutdown('5' as unknown as number), { instanceOf: TypeError, message: /timeout/ });
  t.false(server.listening);
});

test.serial('example graceful_shutdown: SIGTERM finishes the open connection, then stops the engine', async (t) => {
  const engine = new Engine();
  const run = engine.start();
  t.teardown(() => engine.stop());
  const previous = Engine.logger;
  const info: string[] = [];
  Engine.logger = { ...console, info: (line: string) => info.push(line) };
  t.teardown(() => (Engine.logger = previous));
  const server = closeAtEnd(t, new Server({ ConnectionClass: SlowEcho, engine }).listen(['127.0.0.1', 0]));
  stopOnSigterm(server, 5);
  const client = await netClient(t, portOf(server));
  const answer = readToEnd(client);
  client.write('last\n');
  await waitFor(() => server.channels.size === 1, 5000, 'the connection');
  process.emit('SIGTERM', 'SIGTERM');
  t.false(server.listening);
  t.is((await answer).toString(), 'done: last\n');
  await run;
  t.deepEqual(info, ['SIGTERM: no new connections; 1 to finish']);
});

test('HTTPServer.shutdown() closes idle keep-alive connections at once and answers a request in flight with Connection: close', async (t) => {
  const engine = startedEngine(t);
  const release = signal();
  const server = closeAtEnd(
    t,
    new HTTPServer(
      async (request: HTTPRequest) => {
        if (request.path === '/slow') await release.promise;
        request.sendResponse(`answer to ${request.path}`);
      },
      { engine },
    ).listen(['127.0.0.1', 0]),
  );
  const idle = await netClient(t, portOf(server));
  const idleClosed = new Promise((resolve) => idle.once('close', resolve));
  const idleText = readToEnd(idle);
  idle.write('GET /quick HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => idle.bytesRead > 0, 5000, 'the first answer');
  const busy = await netClient(t, portOf(server));
  const busyText = readToEnd(busy);
  busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => server.channels.size === 2, 5000, 'two connections');
  await new Promise((resolve) => setTimeout(resolve, 50));
  let resolved = false;
  const started = Date.now();
  const done = server.shutdown(10).then(() => (resolved = true));
  await idleClosed;
  t.true(Date.now() - started < 2000, 'the idle connection closed at once, not after keepAliveTimeout');
  t.regex((await idleText).toString(), /answer to \/quick$/);
  t.false(resolved, 'the slow request is still being answered');
  t.is(server.channels.size, 1);
  release.resolve();
  const slowAnswer = (await busyText).toString();
  t.regex(slowAnswer, /^HTTP\/1\.1 200[\s\S]*answer to \/slow$/);
  t.regex(slowAnswer, /\r\nConnection: close\r\n/i, 'a response begun during shutdown tells the client the connection ends');
  await done;
  t.is(server.channels.size, 0);
});
