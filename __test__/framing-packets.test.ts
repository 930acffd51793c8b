// The framing paths of framing-chunks.test.ts through the real engine, at
// every piece size: a Datagram channel frames each sender's packets as one
// byte stream, and UDP keeps packet boundaries, so a node:dgram sender that
// sends a stream in pieces of n bytes (one packet each) feeds the engine's
// framing exactly those pieces. Struct and NetStruct records are cut in Rust
// here, RegExp frames in JavaScript; every piece size must give the frames
// the stream was made of.
import test, { ExecutionContext } from 'ava';
import dgram from 'node:dgram';
import { Datagram, NetStruct, Struct } from 'pants-net';

import { startedEngine, waitFor } from './helpers.js';

type Delimiter = Datagram['readDelimiter'];

/** Sends `input` from a fresh socket in packets of `size` bytes, one after another. */
async function sendInPieces(t: ExecutionContext, port: number, input: Buffer, size: number): Promise<number> {
  const socket = dgram.createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  for (let at = 0; at < input.length; at += size) {
    await new Promise<void>((resolve, reject) => socket.send(input.subarray(at, at + size), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }
  return socket.address().port;
}

/** Frames arguments made comparable: RegExp matches become plain arrays. */
const plain = (args: unknown[]) => args.map((value) => (Array.isArray(value) ? [...value] : value));

/** Sends `input` at every piece size to a Datagram framing by `delimiter`; each sender must get `expected`. */
async function checkEveryPieceSize(t: ExecutionContext, delimiter: Delimiter, input: Buffer, expected: unknown[][], regexSearch = true): Promise<void> {
  const engine = startedEngine(t);
  const framesBySender = new Map<number, unknown[][]>();
  class Receiver extends Datagram {
    override onRead(...args: unknown[]) {
      const port = (this.remoteAddress as [string, number])[1];
      if (!framesBySender.has(port)) framesBySender.set(port, []);
      framesBySender.get(port)!.push(plain(args));
    }
  }
  const receiver = new Receiver({ engine });
  receiver.readDelimiter = delimiter;
  receiver.regexSearch = regexSearch;
  receiver.listen(['127.0.0.1', 0]);
  t.teardown(() => receiver.close(false));
  const port = (receiver.localAddress as [string, number])[1];
  const senders: [number, number][] = [];
  for (let size = 1; size <= input.length; size++) senders.push([size, await sendInPieces(t, port, input, size)]);
  const complete = () => senders.every(([, sender]) => (framesBySender.get(sender)?.length ?? 0) >= expected.length);
  await waitFor(complete, 10_000, 'every sender’s frames').catch(() => {});
  for (const [size, sender] of senders) t.deepEqual(framesBySender.get(sender), expected, `${size}-byte packets`);
}

const bytes = (text: string) => Buffer.from(text, 'utf8');

test('Struct records cut by the engine, at every packet size', async (t) => {
  const struct = new Struct('!HI');
  const values = [[1, 2], [65535, 4294967295], [258, 16909060]];
  await checkEveryPieceSize(t, struct, Buffer.concat(values.map((record) => struct.pack(...record))), values);
});

test("NetStruct 'H$' and '<B$Q$' records cut by the engine, at every packet size", async (t) => {
  const short = new NetStruct('H$');
  const shortValues = [[bytes('hello')], [bytes('')], [bytes('abc')]];
  await checkEveryPieceSize(t, short, Buffer.concat(shortValues.map((value) => short.pack(...value))), shortValues);
  const long = new NetStruct('<B$Q$');
  const longValues = [[bytes('ab'), bytes('cde')], [bytes(''), bytes('')]];
  await checkEveryPieceSize(t, long, Buffer.concat(longValues.map((value) => long.pack(...value))), longValues);
});

test('RegExp frames, searched and anchored, at every packet size', async (t) => {
  await checkEveryPieceSize(t, /\r?\n/, bytes('one\r\ntwo\n\ncafé\r\n'), [[bytes('one')], [bytes('two')], [bytes('')], [bytes('café')]]);
  await checkEveryPieceSize(t, /(\w+)=(\d+);/, bytes('a=1;bb=22;'), [[['a=1;', 'a', '1']], [['bb=22;', 'bb', '22']]], false);
});
