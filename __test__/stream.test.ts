import test from 'ava';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Engine, InvalidAddressFormatError, Server, Stream, StreamConnectError } from 'pants-net';

import { closeAtEnd, lineRecorder, netClient, portOf, readBytes, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

/** A node:net server on an ephemeral port; `onSocket` gets each connection. */
async function netServer(t: import('ava').ExecutionContext, onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

test('connect() to a node:net server: onConnect, then data both ways', async (t) => {
  const engine = startedEngine(t);
  const port = await netServer(t, (socket) => socket.pipe(socket));
  const received = signal<Buffer>();
  class Client extends Stream {
    override onConnect() {
      this.write('ping');
    }
    override onRead(data: Buffer) {
      received.resolve(data);
      this.close();
    }
  }
  const client = new Client({ engine }).connect(['127.0.0.1', port]);
  t.true(client.connecting);
  t.false(client.connected);
  t.is((await received.promise).toString(), 'ping');
});

test('connect() resolves hostnames with dns.lookup', async (t) => {
  const engine = startedEngine(t);
  const port = await netServer(t, (socket) => socket.end('hello'));
  const done = signal<string>();
  class Client extends Stream {
    override onRead(data: Buffer) {
      done.resolve(data.toString());
    }
  }
  new Client({ engine }).connect(['localhost', port]);
  t.is(await done.promise, 'hello');
});

test('remoteAddress and localAddress report [host, port] once connected, and remoteAddress survives the close', async (t) => {
  const engine = startedEngine(t);
  let peerPort = 0;
  const port = await netServer(t, (socket) => {
    peerPort = socket.remotePort!;
    socket.end();
  });
  const closed = signal();
  const client = new (class extends Stream {
    override onClose() {
      closed.resolve();
    }
  })({ engine });
  t.is(client.remoteAddress, null);
  client.connect(['127.0.0.1', port]);
  await closed.promise;
  t.deepEqual(client.remoteAddress, ['127.0.0.1', port]);
  t.deepEqual(client.localAddress, ['127.0.0.1', peerPort]);
  t.is(client.fileno, null);
});

test('a refused connect reaches onConnectError with a StreamConnectError coded ECONNREFUSED, then onClose once', async (t) => {
  const engine = startedEngine(t);
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const errors: StreamConnectError[] = [];
  let closes = 0;
  const closed = signal();
  class Client extends Stream {
    override onConnectError(error: StreamConnectError) {
      errors.push(error);
    }
    override onClose() {
      closes += 1;
      closed.resolve();
    }
  }
  new Client({ engine }).connect(['127.0.0.1', port]);
  await closed.promise;
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.is(errors.length, 1);
  t.true(errors[0] instanceof StreamConnectError);
  t.is(errors[0].code, 'ECONNREFUSED');
  t.is(typeof errors[0].errno, 'number');
  t.is(closes, 1);
});

test('an unresolvable host reaches onConnectError with code ENOTFOUND', async (t) => {
  const engine = startedEngine(t);
  const failed = signal<StreamConnectError>();
  class Client extends Stream {
    override onConnectError(error: StreamConnectError) {
      failed.resolve(error);
    }
  }
  new Client({ engine }).connect(['no-such-host.invalid', 80]);
  const error = await failed.promise;
  t.true(error instanceof StreamConnectError);
  t.is(error.code, 'ENOTFOUND');
});

test('invalid addresses throw InvalidAddressFormatError (a TypeError) synchronously', (t) => {
  const stream = new Stream({ engine: new Engine() });
  for (const bad of [-1, 70000, 1.5, '', ['127.0.0.1'], ['127.0.0.1', 'x'], [1, 2], ['::1', 80, 0], ['127.0.0.1', 80, 0, 0], {}, null, true]) {
    const error = t.throws(() => stream.connect(bad as never), { instanceOf: InvalidAddressFormatError });
    t.true(error instanceof TypeError);
  }
});

test('write() on an unconnected or closed stream throws Error; connect() twice throws Error', async (t) => {
  const engine = startedEngine(t);
  const stream = new Stream({ engine });
  t.throws(() => stream.write('x'), { instanceOf: Error });
  const port = await netServer(t, (socket) => socket.resume());
  const connected = signal();
  class Client extends Stream {
    override onConnect() {
      connected.resolve();
    }
  }
  const client = new Client({ engine }).connect(['127.0.0.1', port]);
  t.throws(() => client.connect(['127.0.0.1', port]), { instanceOf: Error });
  await connected.promise;
  t.throws(() => client.connect(['127.0.0.1', port]), { instanceOf: Error });
  client.close();
  t.throws(() => client.write('x'), { instanceOf: Error });
  t.throws(() => client.write(42 as never), { instanceOf: Error });
});

test('close(true) delivers every buffered byte first (8 MiB, checksummed)', async (t) => {
  const engine = startedEngine(t);
  const payload = Buffer.alloc(8 * 1024 * 1024);
  for (let index = 0; index < payload.length; index += 4) payload.writeUInt32LE(index * 2654435761 >>> 0, index);
  class Sender extends Stream {
    override onConnect() {
      for (let offset = 0; offset < payload.length; offset += 100_000) this.write(payload.subarray(offset, offset + 100_000));
      this.close(true);
    }
  }
  const server = closeAtEnd(t, new Server(Sender, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.pause();
  await new Promise((resolve) => setTimeout(resolve, 100)); // a slow reader at first
  client.resume();
  const received = await readToEnd(client);
  t.is(received.length, payload.length);
  t.is(createHash('sha256').update(received).digest('hex'), createHash('sha256').update(payload).digest('hex'));
});

test('close(false) drops buffered data and closes at once; onClose runs exactly once', async (t) => {
  const engine = startedEngine(t);
  let closes = 0;
  const closed = signal();
  class Dropper extends Stream {
    override onConnect() {
      this.write(Buffer.alloc(1 << 20));
      this.close(false);
      this.close(false);
      this.close(true);
    }
    override onClose() {
      closes += 1;
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Dropper, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  client.resume();
  await closed.promise;
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.is(closes, 1);
});

test('onWrite runs when the send buffer has emptied', async (t) => {
  const engine = startedEngine(t);
  const wrote = signal();
  class Writer extends Stream {
    override onConnect() {
      this.write(Buffer.alloc(4 * 1024 * 1024, 1));
    }
    override onWrite() {
      t.is(this.bufferedAmount, 0);
      wrote.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Writer, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const received = readBytes(client, 4 * 1024 * 1024);
  await wrote.promise;
  t.is((await received).length, 4 * 1024 * 1024);
});

test('a writer pumping large chunks from onWrite gets one onWrite per emptied buffer and iteration, and the bytes in order', async (t) => {
  const engine = startedEngine(t);
  const chunk = 64 * 1024;
  const chunks = 64;
  const bufferedAtOnWrite: number[] = [];
  const iterations: number[] = [];
  let ticks = 0;
  const ticker = engine.cycle(0.001, () => ticks++);
  t.teardown(ticker);
  class Pump extends Stream {
    #sent = 0;
    override onConnect() {
      this.#next();
    }
    override onWrite() {
      bufferedAtOnWrite.push(this.bufferedAmount);
      iterations.push(engine.stats().iterations);
      this.#next();
    }
    #next() {
      if (this.#sent < chunks) this.write(Buffer.alloc(chunk, this.#sent++));
    }
  }
  const server = closeAtEnd(t, new Server(Pump, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const received = await readBytes(client, chunk * chunks);
  for (let index = 0; index < chunks; index++) t.is(received[index * chunk + chunk - 1], index);
  await waitFor(() => bufferedAtOnWrite.length === chunks);
  t.deepEqual(new Set(bufferedAtOnWrite), new Set([0]));
  // One chunk per iteration: the pump never keeps an iteration to itself.
  t.true(iterations.every((iteration, index) => index === 0 || iteration > iterations[index - 1]));
  t.true(ticks > 0, 'timers kept running while the pump ran');
});

test('no onWrite after close(), even when the last write went out at once', async (t) => {
  const engine = startedEngine(t);
  const closed = signal();
  let onWrites = 0;
  class WriteAndClose extends Stream {
    override onConnect() {
      this.write(Buffer.alloc(64 * 1024, 7));
      this.close();
    }
    override onWrite() {
      onWrites++;
    }
    override onClose() {
      closed.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(WriteAndClose, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  t.is((await readToEnd(client)).length, 64 * 1024);
  await closed.promise;
  t.is(onWrites, 0);
});

test('when the peer closes, buffered complete frames reach onRead, then onClose; an unfinished frame is dropped', async (t) => {
  const engine = startedEngine(t);
  const { Lines, record } = lineRecorder();
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.end('one\ntwo\nunfinished');
  await record.closed;
  t.deepEqual(record.lines, ['one', 'two']);
});

test('data written in reply to the last frames still reaches a half-closed peer', async (t) => {
  const engine = startedEngine(t);
  class Upper extends Stream {
    override onRead(data: Buffer) {
      this.write(data.toString().toUpperCase());
    }
  }
  const server = closeAtEnd(t, new Server(Upper, { engine }).listen(['127.0.0.1', 0]));
  const client = net.connect({ port: portOf(server), host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => client.destroy());
  client.end('shout');
  t.is((await readToEnd(client)).toString(), 'SHOUT');
});

test('writes made in promise continuations join the same send', async (t) => {
  const engine = startedEngine(t);
  class Async extends Stream {
    override onRead(data: Buffer) {
      void Promise.resolve().then(() => this.write(data));
    }
  }
  const server = closeAtEnd(t, new Server(Async, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('later');
  t.is((await readBytes(client, 5)).toString(), 'later');
});

test('writes made outside any iteration are sent at once', async (t) => {
  const engine = startedEngine(t);
  const accepted = signal<Stream>();
  const server = closeAtEnd(
    t,
    new (class extends Server {
      override onAccept(stream: Stream) {
        accepted.resolve(stream);
      }
    })({ engine }).listen(['127.0.0.1', 0]),
  );
  const client = await netClient(t, portOf(server));
  const stream = await accepted.promise;
  await new Promise((resolve) => setTimeout(resolve, 10));
  stream.write('from a timer');
  t.is((await readBytes(client, 12)).toString(), 'from a timer');
});

test('bufferSize accepts positive integers only (TypeError otherwise)', (t) => {
  const stream = new Stream({ engine: new Engine() });
  t.is(stream.bufferSize, 65536);
  for (const bad of [0, -5, 1.5, NaN, '10']) t.throws(() => (stream.bufferSize = bad as never), { instanceOf: TypeError });
  stream.bufferSize = 10;
  t.is(stream.bufferSize, 10);
});

test('noDelay is on by default and can be turned off', async (t) => {
  const engine = startedEngine(t);
  const connected = signal<Stream>();
  class Client extends Stream {
    override onConnect() {
      connected.resolve(this);
    }
  }
  const port = await netServer(t, (socket) => socket.resume());
  const client = new Client({ engine }).connect(['127.0.0.1', port]);
  t.true(client.noDelay);
  await connected.promise;
  client.noDelay = false;
  t.false(client.noDelay);
  client.close();
});

test.serial('an exception in onRead is logged and the stream keeps working', async (t) => {
  const engine = startedEngine(t);
  const previous = Engine.logger;
  const logged: unknown[] = [];
  Engine.logger = { ...console, error: (...args: unknown[]) => logged.push(args) };
  t.teardown(() => (Engine.logger = previous));
  let reads = 0;
  class Flaky extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      reads += 1;
      if (reads === 1) throw new Error('first line fails');
      this.write(`${line}\n`);
    }
  }
  const server = closeAtEnd(t, new Server(Flaky, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('a\nb\n');
  t.is((await readBytes(client, 2)).toString(), 'b\n');
  t.true(logged.some((args) => (args as unknown[]).some((part) => part instanceof Error && part.message === 'first line fails')));
});

test('write() returns false above the 1 MiB high-water mark, and onWrite tells when the buffer has emptied', async (t) => {
  const engine = startedEngine(t);
  const results: boolean[] = [];
  const chunk = 256 * 1024;
  const drained = signal();
  class Bulk extends Stream {
    override onConnect() {
      // The kernel takes what fits in its socket buffers; past that, 1 MiB may wait here.
      while (results.length < 128 && results.at(-1) !== false) results.push(this.write(Buffer.alloc(chunk, results.length)));
    }
    override onWrite() {
      t.is(this.bufferedAmount, 0);
      drained.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Bulk, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.pause(); // a slow reader: nothing drains until it reads
  await waitFor(() => results.length > 0);
  t.true(results[0]);
  t.false(results.at(-1));
  t.true(results.length > 4); // at least 1 MiB was taken before the mark was passed
  client.resume();
  const received = await readBytes(client, results.length * chunk);
  t.is(received.length, results.length * chunk);
  t.is(received[received.length - 1], results.length - 1);
  await drained.promise;
  t.pass();
});
