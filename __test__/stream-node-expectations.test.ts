// What Node users expect of a stream (API.md, "Beyond Pants", Stream):
// idle timeouts, pause/resume and highWaterMark, half-close, why a stream
// closed, keepalive and byte counts; each against real node:net peers.
import test, { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { Engine, Server, Stream, type Timer } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

/** A server of `engine` on an ephemeral port whose connections are `ConnectionClass`, closed at the end. */
function serve(t: ExecutionContext, engine: Engine, ConnectionClass: typeof Stream): Server {
  return closeAtEnd(t, new Server({ engine, ConnectionClass }).listen(['127.0.0.1', 0]));
}

/** The first stream `server` accepts. */
async function accepted(server: Server): Promise<Stream> {
  await waitFor(() => server.channels.size > 0, 5000, 'a connection');
  return [...server.channels.values()][0];
}

/** Resolves with the error (or null) a stream's onClose got. */
function closeRecorder() {
  const closed = signal<Error | null>();
  return { closed, onClose: (error: Error | null) => closed.resolve(error) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ----- settings -----------------------------------------------------------

test('the new settings have their defaults and validate what is assigned', (t) => {
  const stream = new Stream({ engine: new Engine() });
  t.is(stream.timeout, null);
  t.is(stream.keepAlive, null);
  t.is(stream.allowHalfOpen, false);
  t.is(stream.highWaterMark, 1048576);
  t.is(stream.paused, false);
  t.is(stream.bytesRead, 0);
  t.is(stream.bytesWritten, 0);
  for (const name of ['timeout', 'keepAlive'] as const) {
    for (const bad of [0, -1, Infinity, NaN, '5', true, undefined]) {
      const error = t.throws(() => ((stream as any)[name] = bad), { instanceOf: TypeError }) as Error & { code: string };
      t.is(error.code, 'ERR_PANTS_INVALID_SETTING');
      t.true(error.message.includes(name), error.message);
    }
    stream[name] = 1.5;
    t.is(stream[name], 1.5);
    stream[name] = null;
    t.is(stream[name], null);
  }
  for (const bad of [0, -1, 1.5, Infinity, NaN, '1024', null]) {
    const error = t.throws(() => ((stream as any).highWaterMark = bad), { instanceOf: TypeError }) as Error & { code: string };
    t.is(error.code, 'ERR_PANTS_INVALID_SETTING');
    t.true(error.message.includes('highWaterMark'), error.message);
  }
  stream.highWaterMark = 1;
  t.is(stream.highWaterMark, 1);
  for (const bad of [1, 'yes', null, undefined]) {
    const error = t.throws(() => ((stream as any).allowHalfOpen = bad), { instanceOf: TypeError }) as Error & { code: string };
    t.is(error.code, 'ERR_PANTS_INVALID_SETTING');
  }
  stream.allowHalfOpen = true;
  t.is(stream.allowHalfOpen, true);  const configured = new Stream({ engine: new Engine(), timeout: 2, keepAlive: 10, allowHalfOpen: true, highWaterMark: 4096 });
  t.deepEqual([configured.timeout, configured.keepAlive, configured.allowHalfOpen, configured.highWaterMark], [2, 10, true, 4096]);
  t.throws(() => new Stream({ engine: new Engine(), timeout: -1 }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_SETTING' });
});

// ----- timeout ------------------------------------------------------------

test('timeout: an idle peer is closed after timeout seconds, with onClose(null)', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  let timeouts = 0;
  class Idle extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    timeout = 0.3; // a subclass field, as users write settings
    override onTimeout() {
      timeouts++;
      super.onTimeout();
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Idle);
  const started = Date.now();
  const client = await netClient(t, portOf(server));
  const ended = readToEnd(client);
  t.is(await record.closed.promise, null);
  t.true(Date.now() - started >= 250, `closed after ${Date.now() - started} ms`);
  t.is(timeouts, 1);
  await ended;
});

test('timeout: every byte read or written re-arms it', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  let timedOutAt = 0;
  class Echo extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    timeout = 1;
    override onRead(data: Buffer) {
      this.write(data);
    }
    override onTimeout() {
      timedOutAt = Date.now();
      super.onTimeout();
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Echo);
  const client = await netClient(t, portOf(server));
  const started = Date.now();
  let lastWrite = 0;
  while (Date.now() - started < 1600) {
    client.write('x');
    lastWrite = Date.now();
    await sleep(100);
  }
  t.is(timedOutAt, 0, 'no timeout while bytes flow');
  t.is(await record.closed.promise, null);
  t.true(timedOutAt - lastWrite >= 900, `timed out ${timedOutAt - lastWrite} ms after the last byte`);
});

test('timeout: onTimeout runs once per idle stretch, and a stream it keeps open works on', async (t) => {
  const engine = startedEngine(t);
  let timeouts = 0;
  class Patient extends Stream {
    override onConnect() {
      this.timeout = 0.2;
    }
    override onRead(data: Buffer) {
      this.write(data);
    }
    override onTimeout() {
      timeouts++;
    }
  }
  const server = serve(t, engine, Patient);
  const client = await netClient(t, portOf(server));
  await waitFor(() => timeouts === 1, 5000, 'the first timeout');
  await sleep(700);
  t.is(timeouts, 1);
  const echoed = readBytes(client, 4);
  client.write('ping');
  t.is((await echoed).toString(), 'ping');
  await waitFor(() => timeouts === 2, 5000, 'the second timeout');
  const stream = await accepted(server);
  stream.timeout = null;
  await sleep(500);
  t.is(timeouts, 2);
});

// ----- onClose(error) -------------------------------------------------------

test('onClose(error): a peer reset closes the stream with ECONNRESET', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  const connected = signal();
  class Victim extends Stream {
    override onConnect() {
      connected.resolve();
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Victim);
  const client = await netClient(t, portOf(server));
  await connected.promise;
  client.resetAndDestroy();
  const error = await record.closed.promise;
  t.true(error instanceof Error);
  t.is((error as NodeJS.ErrnoException).code, 'ECONNRESET');
});

test('onClose(error): null after close(), and after the peer ends', async (t) => {
  const engine = startedEngine(t);
  const results: (Error | null)[] = [];
  class Recorded extends Stream {
    override onRead(data: Buffer) {
      if (data.toString() === 'close') this.close();
    }
    override onClose(error: Error | null) {
      results.push(error);
    }
  }
  const server = serve(t, engine, Recorded);
  const closing = await netClient(t, portOf(server));
  closing.write('close');
  await readToEnd(closing);
  const ending = await netClient(t, portOf(server));
  ending.end();
  await waitFor(() => results.length === 2, 5000, 'both closes');
  t.deepEqual(results, [null, null]);
});

// ----- half-close ------------------------------------------------------------

test('allowHalfOpen: a request followed by FIN is answered after an asynchronous lookup', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  const order: string[] = [];
  class Answering extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    allowHalfOpen = true;
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    readDelimiter = '\n';
    #request = '';
    override onRead(line: Buffer) {
      order.push('read');
      this.#request = line.toString();
    }
    override onEnd() {
      order.push('end');
      setTimeout(() => this.end(`answer to ${this.#request}\n`), 100);
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Answering);
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => client.destroy());
  const answer = readToEnd(client);
  client.write('question\n');
  client.end();
  t.is((await answer).toString(), 'answer to question\n');
  t.is(await record.closed.promise, null);
  t.deepEqual(order, ['read', 'end']);
});

test('without allowHalfOpen the peer\'s end closes the stream and onEnd does not run', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  let ends = 0;
  class Plain extends Stream {
    override onEnd() {
      ends++;
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Plain);
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => client.destroy());
  const ended = readToEnd(client);
  client.end('bye');
  t.is(await record.closed.promise, null);
  await ended;
  t.is(ends, 0);
});

test('end(data): sends data then FIN, still reads, and closes once the peer ends', async (t) => {
  const engine = startedEngine(t);
  const received = signal<Buffer>();
  const peerDone = signal();
  const netServer = net.createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      received.resolve(Buffer.concat(chunks));
      // Answer after our end of stream: the Pants stream still reads.
      setTimeout(() => socket.end('reply'), 100);
    });
    socket.on('close', () => peerDone.resolve());
  });
  await new Promise<void>((resolve) => netServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => netServer.close());
  const record = closeRecorder();
  const reads: string[] = [];
  const connected = signal();
  class Client extends Stream {
    override onConnect() {
      connected.resolve();
    }
    override onRead(data: Buffer) {
      reads.push(data.toString());
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const stream = new Client({ engine }).connect(['127.0.0.1', (netServer.address() as net.AddressInfo).port]);
  t.teardown(() => stream.close(false));
  await connected.promise;
  stream.write('first ');
  t.is(stream.end('last'), stream);
  stream.end('ignored');
  t.throws(() => stream.write('late'), { instanceOf: Error, code: 'ERR_PANTS_WRITE_AFTER_END' });
  t.is((await received.promise).toString(), 'first last');
  t.is(await record.closed.promise, null);
  t.is(reads.join(''), 'reply');
  await peerDone.promise;
  t.notThrows(() => stream.end('after close'));
});

test('end() after the peer has ended closes the stream once everything is sent', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  class HalfOpen extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    allowHalfOpen = true;
    override onEnd() {
      this.write('one ');
      this.end('two');
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, HalfOpen);
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => client.destroy());
  const answer = readToEnd(client);
  client.end();
  t.is((await answer).toString(), 'one two');
  t.is(await record.closed.promise, null);
});

// ----- pause / resume / highWaterMark ---------------------------------------

test('pause(): no onRead until resume(), then what waited arrives in order', async (t) => {
  const engine = startedEngine(t);
  const reads: string[] = [];
  class Paused extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    readDelimiter = '\n';
    override onConnect() {
      this.pause();
    }
    override onRead(line: Buffer) {
      reads.push(line.toString());
    }
  }
  const server = serve(t, engine, Paused);
  const client = await netClient(t, portOf(server));
  const stream = await accepted(server);
  await waitFor(() => stream.paused, 5000, 'the pause');
  client.write('one\ntwo\n');
  await sleep(300);
  t.deepEqual(reads, []);
  stream.resume();
  t.false(stream.paused);
  t.deepEqual(reads, [], 'onRead runs from the engine, not from resume()');
  await waitFor(() => reads.length === 2, 5000, 'the frames');
  t.deepEqual(reads, ['one', 'two']);
});

test('pause() inside onRead holds the frames already buffered', async (t) => {
  const engine = startedEngine(t);
  const reads: string[] = [];
  class OneAtATime extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    readDelimiter = '\n';
    override onRead(line: Buffer) {
      reads.push(line.toString());
      this.pause();
    }
  }
  const server = serve(t, engine, OneAtATime);
  const client = await netClient(t, portOf(server));
  client.write('a\nb\nc\n');
  await waitFor(() => reads.length === 1, 5000, 'the first frame');
  const stream = await accepted(server);
  await sleep(200);
  t.deepEqual(reads, ['a']);
  stream.resume();
  await waitFor(() => reads.length === 2, 5000, 'the second frame');
  await sleep(200);
  t.deepEqual(reads, ['a', 'b']);
  stream.resume();
  await waitFor(() => reads.length === 3, 5000, 'the third frame');
});

test('a paused stream slows its peer down, and the end of stream waits for resume()', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  class Sink extends Stream {
    override onConnect() {
      this.pause();
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Sink);
  const client = await netClient(t, portOf(server));
  const stream = await accepted(server);
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 7);
  for (let sent = 0; sent < total; sent += chunk.length) client.write(chunk);
  client.end();
  // The kernel buffers fill; the rest waits in the client.
  await sleep(500);
  t.true(client.writableLength > 0, 'the peer is held back');
  t.true(stream.bytesRead < total);
  let closed = false;
  void record.closed.promise.then(() => (closed = true));
  await sleep(100);
  t.false(closed, 'the end of stream waits');
  stream.resume();
  t.is(await record.closed.promise, null);
  t.is(stream.bytesRead, total);
});

test('highWaterMark: write() returns false above it, and onWrite follows the drain', async (t) => {
  const engine = startedEngine(t);
  const results = signal<boolean[]>();
  const drained = signal();
  class Writer extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    highWaterMark = 1000;
    override onConnect() {
      results.resolve([this.write(Buffer.alloc(900)), this.write(Buffer.alloc(200))]);
    }
    override onWrite() {
      drained.resolve();
    }
  }
  const server = serve(t, engine, Writer);
  const client = await netClient(t, portOf(server));
  const data = readBytes(client, 1100);
  t.deepEqual(await results.promise, [true, false]);
  await drained.promise;
  t.is((await data).length, 1100);
});

test('highWaterMark: reading stops while more than it waits to be sent', async (t) => {
  const engine = startedEngine(t);
  class Echo extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    highWaterMark = 64 * 1024;
    override onRead(data: Buffer) {
      this.write(data);
    }
  }
  const server = serve(t, engine, Echo);
  const client = await netClient(t, portOf(server));
  client.pause(); // never reads the echo
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(1024 * 1024, 1);
  for (let sent = 0; sent < total; sent += chunk.length) client.write(chunk);
  const stream = await accepted(server);
  await sleep(800);
  const held = stream.bytesRead;
  t.true(held < total, `read ${held} bytes`);
  t.true(stream.bufferedAmount <= held);
  await sleep(300);
  t.is(stream.bytesRead, held, 'no more is read until the echo drains');
  client.resume();
  await waitFor(() => stream.bytesRead === total, 30000, 'everything to be read once the echo drains');
  t.pass();
});

// ----- keepAlive, bytesRead, bytesWritten -----------------------------------

test('keepAlive turns TCP keepalive on with its idle time (ss shows the timer)', async (t) => {
  const engine = startedEngine(t);
  class Kept extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    keepAlive = 30;
  }
  const server = serve(t, engine, Kept);
  const client = await netClient(t, portOf(server));
  await accepted(server);
  const port = portOf(server);
  const timers = () => execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  await waitFor(() => timers().includes('keepalive'), 5000, 'a keepalive timer');
  const seconds = Number(/keepalive,(?:(\d+)min)?(\d+(?:\.\d+)?)sec/.exec(timers())?.slice(1).reduce((sum, part, index) => sum + (index === 0 ? Number(part ?? 0) * 60 : Number(part)), 0));
  t.true(seconds > 20 && seconds <= 30, `keepalive timer ${seconds} s`);
  const stream = await accepted(server);
  stream.keepAlive = null;
  await waitFor(() => !timers().includes('keepalive'), 5000, 'keepalive off');
  client.destroy();
});

test('bytesRead and bytesWritten count application bytes and are kept after close', async (t) => {
  const engine = startedEngine(t);
  const record = closeRecorder();
  let reads = 0;
  class Echo extends Stream {
    override onRead(data: Buffer) {
      reads++;
      this.write(data);
      this.write('!');
    }
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Echo);
  const client = await netClient(t, portOf(server));
  const stream = await accepted(server);
  const echoed = readBytes(client, 1001);
  client.write(Buffer.alloc(1000, 3));
  await echoed;
  await waitFor(() => stream.bytesRead === 1000, 5000, 'the count');
  t.is(stream.bytesWritten, 1000 + reads);
  client.end();
  t.is(await record.closed.promise, null);
  t.is(stream.bytesRead, 1000);
  t.is(stream.bytesWritten, 1000 + reads);
});

test('end() on a connecting stream takes effect once connected; on a stream never connected it throws', async (t) => {
  const engine = startedEngine(t);
  t.throws(() => new Stream({ engine }).end(), { instanceOf: Error, code: 'ERR_PANTS_NOT_CONNECTED' });
  const peerEnded = signal<Buffer>();
  const netServer = net.createServer({ allowHalfOpen: true }, (socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => {
      peerEnded.resolve(Buffer.concat(chunks));
      socket.end();
    });
  });
  await new Promise<void>((resolve) => netServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => netServer.close());
  const record = closeRecorder();
  class Client extends Stream {
    override onClose(error: Error | null) {
      record.onClose(error);
    }
  }
  const stream = new Client({ engine }).connect(['127.0.0.1', (netServer.address() as net.AddressInfo).port]);
  t.teardown(() => stream.close(false));
  t.true(stream.connecting);
  stream.end();
  t.is((await peerEnded.promise).length, 0);
  t.is(await record.closed.promise, null);
});

test('pause() in onRead: the frames after it and the peer\'s end wait for resume(), in order', async (t) => {
  const engine = startedEngine(t);
  const events: string[] = [];
  const record = closeRecorder();
  class Holding extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      events.push(line.toString());
      if (events.length === 1) this.pause();
    }
    override onClose(error: Error | null) {
      events.push('close');
      record.onClose(error);
    }
  }
  const server = serve(t, engine, Holding);
  const client = await netClient(t, portOf(server));
  const stream = await accepted(server);
  client.end('a\nb\nc\n');
  await waitFor(() => events.length === 1, 5000, 'the first frame');
  await sleep(300);
  t.deepEqual(events, ['a'], 'neither frames nor the end run while paused');
  t.true(stream.connected);
  stream.resume();
  t.is(await record.closed.promise, null);
  t.deepEqual(events, ['a', 'b', 'c', 'close']);
});

test('timeout: bytes written re-arm it too', async (t) => {
  const engine = startedEngine(t);
  let ticks = 0;
  let lastTick = 0;
  let timedOutAt = 0;
  class Talker extends Stream {
    override onConnect() {
      this.timeout = 0.5;
      const ticker: Timer = this.engine.cycle(0.1, (): void => {
        this.write('tick\n');
        lastTick = Date.now();
        if (++ticks === 8) ticker.cancel();
      });
    }
    override onTimeout() {
      timedOutAt = Date.now();
      this.close(false);
    }
  }
  const server = serve(t, engine, Talker);
  const client = await netClient(t, portOf(server));
  const received = readToEnd(client);
  await waitFor(() => timedOutAt > 0, 10000, 'the timeout');
  t.is(ticks, 8, 'no timeout while the stream writes');
  t.true(timedOutAt - lastTick >= 400, `timed out ${timedOutAt - lastTick} ms after the last write`);
  t.is((await received).toString(), 'tick\n'.repeat(8));
});
