// `readBuffer`: frames read into memory the user gives and reuses, valid
// until onRead returns; frames that do not fit arrive in their own memory.
import * as dgram from 'node:dgram';

import test from 'ava';
import { Datagram, Server, Stream, Struct } from 'pants-net';

import { Random } from './stress/common.js';
import { closeAtEnd, isIn, netClient, portOf, readBufferEcho, readBytes, startedEngine, waitFor } from './helpers.js';

test('an echo with a readBuffer reads every chunk into it and sends 3 MiB back intact', async (t) => {
  const engine = startedEngine(t);
  const { Echo, tally } = readBufferEcho(Buffer.alloc(64 * 1024));
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const sent = new Random(7).bytes(3 * 1024 * 1024);
  const received = readBytes(client, sent.length);
  for (let offset = 0; offset < sent.length; offset += 100_000) client.write(sent.subarray(offset, offset + 100_000));
  t.true((await received).equals(sent));
  t.true(tally.chunks > 1);
  t.is(tally.inMemory, tally.chunks, 'every chunk was a view of the readBuffer');
});

test('lines are read into a readBuffer that is a view at an offset; a longer line arrives whole in its own memory', async (t) => {
  const engine = startedEngine(t);
  const memory = new Uint8Array(new ArrayBuffer(64), 8, 16);
  const frames: { text: string; inMemory: boolean }[] = [];
  class Lines extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
      this.readBuffer = memory;
    }
    override onRead(line: Buffer) {
      frames.push({ text: line.toString('latin1'), inMemory: isIn(line, memory) });
      if (line.toString() === 'count') this.readDelimiter = 3;
    }
  }
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const long = 'x'.repeat(40);
  client.write(`one\ntwo\n${long}\nthree\ncount\nabcdef`);
  await waitFor(() => frames.length === 7, 5000, `7 frames (got ${frames.length})`);
  t.deepEqual(frames, [
    { text: 'one', inMemory: true },
    { text: 'two', inMemory: true },
    { text: long, inMemory: false },
    { text: 'three', inMemory: true },
    { text: 'count', inMemory: true },
    { text: 'abc', inMemory: true },
    { text: 'def', inMemory: true },
  ]);
  t.deepEqual([...new Uint8Array(memory.buffer, 0, 8)], new Array(8).fill(0), 'nothing written before the view');
  t.deepEqual([...new Uint8Array(memory.buffer, 24)], new Array(40).fill(0), 'nothing written after it');
});

test('Struct records are unpacked from the readBuffer; a RegExp delimiter frames in fresh memory', async (t) => {
  const engine = startedEngine(t);
  const memory = Buffer.alloc(256);
  const received: unknown[] = [];
  class Records extends Stream {
    override onConnect() {
      this.readBuffer = memory;
      this.readDelimiter = new Struct('!H3s');
    }
    override onRead(...values: unknown[]) {
      const [count, name] = values as [number, Buffer];
      received.push([count, name.toString()]);
      if (count === 2) this.readDelimiter = /;/;
    }
  }
  class RegexTail extends Records {
    override onRead(...values: unknown[]) {
      if (this.readDelimiter instanceof RegExp) {
        const frame = values[0] as Buffer;
        received.push({ text: frame.toString(), inMemory: isIn(frame, memory) });
        return;
      }
      super.onRead(...values);
    }
  }
  const server = closeAtEnd(t, new Server(RegexTail, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const records = new Struct('!H3s');
  client.write(Buffer.concat([records.pack(1, Buffer.from('one')), records.pack(2, Buffer.from('two')), Buffer.from('alpha;beta;')]));
  await waitFor(() => received.length === 4, 5000, `4 frames (got ${received.length})`);
  t.deepEqual(received, [
    [1, 'one'],
    [2, 'two'],
    { text: 'alpha', inMemory: false },
    { text: 'beta', inMemory: false },
  ]);
});

test('a readBuffer declared as a class field, and shared by two streams, serves both', async (t) => {
  const engine = startedEngine(t);
  const memory = Buffer.alloc(1024);
  const received = new Map<number, string>();
  let inMemory = 0;
  class Shared extends Stream {
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    readBuffer = memory;
    override onRead(data: Buffer) {
      if (isIn(data, memory)) inMemory++;
      const port = (this.remoteAddress as [string, number])[1];
      received.set(port, (received.get(port) ?? '') + data.toString());
    }
  }
  const server = closeAtEnd(t, new Server(Shared, { engine }).listen(['127.0.0.1', 0]));
  const first = await netClient(t, portOf(server));
  const second = await netClient(t, portOf(server));
  first.write('from the first');
  second.write('from the second');
  await waitFor(() => [...received.values()].join('').length === 'from the first'.length + 'from the second'.length);
  t.deepEqual([...received.values()].sort(), ['from the first', 'from the second']);
  t.true(inMemory >= 2);
});

test('a Datagram with a readBuffer reads packets into it', async (t) => {
  const engine = startedEngine(t);
  const memory = Buffer.alloc(2048);
  const packets: { text: string; inMemory: boolean }[] = [];
  class Receiver extends Datagram {
    override onRead(data: Buffer) {
      packets.push({ text: data.toString(), inMemory: isIn(data, memory) });
    }
  }
  const receiver = new Receiver({ engine });
  t.teardown(() => receiver.close(false));
  receiver.readBuffer = memory;
  receiver.listen(['127.0.0.1', 0]);
  const port = (receiver.localAddress as [string, number])[1];
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  socket.send('first', port, '127.0.0.1');
  socket.send('second', port, '127.0.0.1');
  await waitFor(() => packets.length === 2);
  t.deepEqual(packets, [
    { text: 'first', inMemory: true },
    { text: 'second', inMemory: true },
  ]);
});

test('a Datagram relaying each packet of its readBuffer to a hostname sends every packet intact', async (t) => {
  const engine = startedEngine(t);
  const target = dgram.createSocket('udp4');
  t.teardown(() => target.close());
  const relayed: string[] = [];
  target.on('message', (message) => relayed.push(message.toString()));
  await new Promise<void>((resolve) => target.bind(0, '127.0.0.1', resolve));
  const targetPort = target.address().port;
  class Relay extends Datagram {
    override onRead(data: Buffer) {
      this.write(data, ['localhost', targetPort]); // resolved later: the packet must not be read from the readBuffer then
    }
  }
  const relay = new Relay({ engine });
  t.teardown(() => relay.close(false));
  relay.readBuffer = Buffer.alloc(2048);
  relay.listen(['127.0.0.1', 0]);
  const relayPort = (relay.localAddress as [string, number])[1];
  const sender = dgram.createSocket('udp4');
  t.teardown(() => sender.close());
  const sent = Array.from({ length: 20 }, (_, index) => `packet ${index} `.padEnd(40, String.fromCharCode(97 + index)));
  for (const packet of sent) sender.send(packet, relayPort, '127.0.0.1');
  await waitFor(() => relayed.length === sent.length, 5000, `${sent.length} relayed packets (got ${relayed.length})`);
  t.deepEqual([...relayed].sort(), [...sent].sort());
});

test('readBuffer takes a non-empty Uint8Array or null; anything else is a TypeError with a code', (t) => {
  const engine = startedEngine(t);
  const stream = new Stream({ engine });
  t.is(stream.readBuffer, null);
  const memory = new Uint8Array(8);
  stream.readBuffer = memory;
  t.is(stream.readBuffer, memory);
  for (const bad of [5, 'text', new Uint16Array(4), new Uint8ClampedArray(4), new Uint8Array(0), new ArrayBuffer(8), {}]) {
    const error = t.throws(() => (stream.readBuffer = bad as Uint8Array), { instanceOf: TypeError });
    t.is((error as NodeJS.ErrnoException).code, 'ERR_PANTS_INVALID_SETTING');
    t.regex(error!.message, /readBuffer must be a non-empty Uint8Array or null/);
  }
  t.is(stream.readBuffer, memory, 'a refused value changes nothing');
  stream.readBuffer = null;
  t.is(stream.readBuffer, null);
});
