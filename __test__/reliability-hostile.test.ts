// Hostile input: a delimiter that never arrives (100 MB), record lengths
// that lie, a slow reader while we write, an echo to a peer that never
// reads, and thousands of idle and half-closed connections.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Engine, NetStruct, Server, Stream, StreamBufferOverflow, Struct } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

const MB = 1_000_000;

/** Replaces Engine.logger for the test; returns the errors logged. */
function recordErrors(t: ExecutionContext): unknown[][] {
  const previous = Engine.logger;
  const errors: unknown[][] = [];
  Engine.logger = { ...console, error: (...args: unknown[]) => errors.push(args) };
  t.teardown(() => (Engine.logger = previous));
  return errors;
}

/** Writes `total` bytes of `fill` to `socket`, honouring backpressure; then `tail`. */
function flood(socket: net.Socket, total: number, fill: number, tail: string): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, fill);
  let sent = 0;
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    const pump = () => {
      while (sent < total) {
        const size = Math.min(chunk.length, total - sent);
        sent += size;
        if (!socket.write(chunk.subarray(0, size))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.write(tail, () => resolve());
    };
    pump();
  });
}

/** Samples this process's RSS every 5 ms until stopped; returns the peak. */
function watchRss(): () => number {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

test.serial('100 MB without the delimiter: overflow after overflow, memory bounded, the lines after it still arrive', async (t) => {
  const engine = startedEngine(t);
  const lines: number[] = [];
  let overflows = 0;
  let closes = 0;
  class Lines extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      lines.push(line.length);
    }
    override onOverflowError(error: StreamBufferOverflow) {
      t.true(error instanceof StreamBufferOverflow);
      overflows += 1; // stays open: the unframed bytes are discarded
    }
    override onClose() {
      closes += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const rssBefore = process.memoryUsage().rss;
  const peakRss = watchRss();
  const client = await netClient(t, portOf(server));
  await flood(client, 100 * MB, 0x61, '\nafter\n');
  client.end();
  await waitFor(() => closes === 1, 20_000, 'the close');
  const peak = peakRss();
  t.log(`${overflows} overflows; RSS ${(rssBefore / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB`);
  t.is(overflows, Math.floor((100 * MB) / 65537), 'one overflow per bufferSize + 1 bytes');
  t.is(lines.length, 2, 'the tail of the flood, then "after"');
  t.is(lines[1], 5);
  t.is(lines[0], (100 * MB) % 65537, 'the unframed bytes after the last overflow');
  t.true(peak - rssBefore < 64 * MB, `RSS grew by ${((peak - rssBefore) / MB).toFixed(0)} MB`);
});

test.serial('the default onOverflowError logs a StreamBufferOverflow and closes the stream once', async (t) => {
  const errors = recordErrors(t);
  const engine = startedEngine(t);
  let closes = 0;
  class Lines extends Stream {
    override onConnect() {
      this.readDelimiter = '\r\n';
      this.bufferSize = 1000;
    }
    override onClose() {
      closes += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  const ended = new Promise((resolve) => client.once('close', resolve));
  await flood(client, 10 * MB, 0x62, '\r\n').catch(() => undefined); // the server closes in the middle
  await ended;
  await waitFor(() => closes === 1);
  t.is(closes, 1);
  t.true(errors.some((args) => args.some((arg) => arg instanceof StreamBufferOverflow)));
});

test.serial('NetStruct and Struct delimiters fed lying lengths and junk: overflows or typed values, never a crash', async (t) => {
  recordErrors(t);
  const engine = startedEngine(t);
  const results: Record<string, { frames: unknown[][]; overflows: number }> = {};
  const formats: Record<string, Struct | NetStruct> = {
    huge: new NetStruct('!I$'),
    negative: new NetStruct('!i$'),
    junk: new Struct('!hI?d'),
  };
  class Records extends Stream {
    #name = '';
    override onRead(...values: unknown[]) {
      if (this.#name === '') {
        // The first line names the format to switch to.
        this.#name = String(values[0]).trim();
        results[this.#name] = { frames: [], overflows: 0 };
        this.bufferSize = 4096;
        this.readDelimiter = formats[this.#name];
        return;
      }
      results[this.#name].frames.push(values);
    }
    override onOverflowError() {
      results[this.#name].overflows += 1;
    }
  }
  class FirstLine extends Records {
    override onConnect() {
      this.readDelimiter = '\n';
    }
  }
  const server = closeAtEnd(t, new Server(FirstLine, { engine }).listen(['127.0.0.1', 0]));
  const send = async (name: string, body: Buffer) => {
    const client = await netClient(t, portOf(server));
    client.write(`${name}\n`);
    await waitFor(() => results[name] !== undefined, 5000, `the switch to ${name}`);
    client.end(body);
    await readToEnd(client);
  };
  const lyingLength = Buffer.alloc(20_000, 0x41);
  lyingLength.writeUInt32BE(0xfffffff0, 0);
  await send('huge', lyingLength);
  const negative = Buffer.alloc(20_000, 0x42);
  negative.writeInt32BE(-1, 0);
  await send('negative', negative);
  const junk = Buffer.alloc(15 * 200 + 7);
  for (let index = 0; index < junk.length; index++) junk[index] = (index * 151 + 7) & 0xff;
  await send('junk', junk);
  await waitFor(() => results.junk?.frames.length === 200);
  t.is(results.huge.frames.length, 0);
  t.true(results.huge.overflows >= 4, `${results.huge.overflows} overflows for a 4 GiB length`);
  t.is(results.negative.frames.length, 0);
  t.true(results.negative.overflows >= 4, `${results.negative.overflows} overflows for a negative length`);
  t.is(results.junk.overflows, 0);
  for (const values of results.junk.frames) {
    t.is(values.length, 4);
    t.is(typeof values[0], 'number');
    t.is(typeof values[2], 'boolean');
  }
});

// What bounds memory while we write to a slow reader: nothing. write()
// never refuses and there is no high-water mark; bufferedAmount grows by
// everything written, and onWrite tells when it has drained. An echo, on
// the other hand, is bounded: the engine stops reading a stream whose
// unsent bytes are above 1 MiB.
test.serial('a slow reader while we write: bufferedAmount grows unbounded, onWrite fires on drain, every byte arrives', async (t) => {
  const engine = startedEngine(t);
  const chunk = Buffer.alloc(1 << 20);
  for (let index = 0; index < chunk.length; index++) chunk[index] = (index * 31) & 0xff;
  const accepted = signal<Stream>();
  let onWriteCalls = 0;
  let peakBuffered = 0;
  let written = 0;
  class Writer extends Stream {
    override onConnect() {
      accepted.resolve(this);
    }
    override onWrite() {
      onWriteCalls += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Writer, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.pause();
  const stream = await accepted.promise;
  const producer = engine.cycle(0.005, () => {
    if (written >= 48) return;
    stream.write(chunk);
    written += 1;
    peakBuffered = Math.max(peakBuffered, stream.bufferedAmount);
  });
  t.teardown(() => producer.cancel());
  await waitFor(() => written === 48, 10_000, '48 MiB written');
  const callsWhileFull = onWriteCalls;
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(onWriteCalls, callsWhileFull, 'no onWrite while the reader does not read');
  t.true(peakBuffered > 32 << 20, `bufferedAmount reached ${peakBuffered}`);
  const hash = createHash('sha256');
  let received = 0;
  client.on('data', (data: Buffer) => {
    hash.update(data);
    received += data.length;
  });
  client.resume();
  await waitFor(() => received === 48 << 20, 10_000, 'every byte read');
  await waitFor(() => onWriteCalls > callsWhileFull, 5000, 'onWrite after the drain');
  t.is(stream.bufferedAmount, 0);
  const expected = createHash('sha256');
  for (let index = 0; index < 48; index++) expected.update(chunk);
  t.is(hash.digest('hex'), expected.digest('hex'));
});

test.serial('an echo to a peer that writes 32 MiB and does not read: the server holds little, then every byte comes back', async (t) => {
  const engine = startedEngine(t);
  const accepted = signal<Stream>();
  class Echo extends Stream {
    override onConnect() {
      accepted.resolve(this);
    }
    override onRead(data: Buffer) {
      this.write(data);
    }
  }
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.pause();
  const stream = await accepted.promise;
  const payload = Buffer.alloc(32 << 20);
  for (let index = 0; index < payload.length; index += 4) payload.writeUInt32LE((index * 2246822519) >>> 0, index);
  let peakBuffered = 0;
  const watch = setInterval(() => (peakBuffered = Math.max(peakBuffered, stream.bufferedAmount)), 2);
  client.write(payload);
  await new Promise((resolve) => setTimeout(resolve, 300)); // the peer is not reading
  t.true(client.writableLength > 0, 'the peer is held back: the server stopped reading');
  const echoed = readBytes(client, payload.length);
  client.resume();
  const bytes = await echoed;
  clearInterval(watch);
  t.log(`the server had at most ${peakBuffered} bytes unsent`);
  t.true(peakBuffered <= (1 << 20) + 65536 * 2, `bufferedAmount reached ${peakBuffered}`);
  t.true(bytes.equals(payload));
});

test.serial('2,000 idle and 2,000 half-closed connections: the server stays responsive and closes each once', async (t) => {
  const engine = startedEngine(t);
  let closes = 0;
  let doubleCloses = 0;
  class Echo extends Stream {
    #closed = false;
    override onRead(data: Buffer) {
      this.write(data);
    }
    override onClose() {
      if (this.#closed) doubleCloses += 1;
      this.#closed = true;
      closes += 1;
    }
  }
  const server = new Server(Echo, { engine }).listen(['127.0.0.1', 0], 4096);
  const port = portOf(server);
  const open = (allowHalfOpen: boolean) =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen });
      socket.on('error', () => {});
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  const idle: net.Socket[] = [];
  const halfClosed: net.Socket[] = [];
  t.teardown(() => [...idle, ...halfClosed].forEach((socket) => socket.destroy()));
  for (let batch = 0; batch < 20; batch++) {
    idle.push(...(await Promise.all(Array.from({ length: 100 }, () => open(false)))));
    const ending = await Promise.all(Array.from({ length: 100 }, () => open(true)));
    for (const socket of ending) socket.end(); // FIN, but keep reading
    halfClosed.push(...ending);
  }
  const halfClosedEnded = Promise.all(halfClosed.map((socket) => new Promise((resolve) => (socket.readableEnded ? resolve(null) : socket.once('end', resolve)))));
  // A regular client is served promptly meanwhile.
  const started = Date.now();
  const client = await netClient(t, port);
  client.write('ping');
  t.is((await readBytes(client, 4)).toString(), 'ping');
  const latency = Date.now() - started;
  await halfClosedEnded; // the server closed every half-closed connection
  await waitFor(() => server.channels.size === 2001, 10_000, 'only the idle connections and the client left');
  t.is(closes, 2000);
  client.destroy();
  server.close();
  await waitFor(() => closes === 4001, 10_000, 'every connection closed');
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.log(`echo latency with 4,000 other connections: ${latency} ms`);
  t.true(latency < 1000);
  t.is(doubleCloses, 0);
  t.is(server.channels.size, 0);
});
