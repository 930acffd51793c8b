// Frames are views into shared pools that are never overwritten: every
// kept frame stays intact whatever came after it, and a kept small frame
// holds on to a small pool only.
import test from 'ava';
import { Server, Stream } from 'pants-net';

import { Random } from './stress/common.js';
import { closeAtEnd, netClient, portOf, startedEngine, waitFor } from './helpers.js';

/** `count` lines of random bytes (no newline), of lengths from 1 to `longest` (a few of each size class). */
function randomLines(count: number, longest: number, seed: number): Buffer[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () => {
    const length = random.chance(0.2) ? random.int(4096, longest) : random.int(1, 600);
    const line = random.bytes(length);
    for (let index = 0; index < length; index++) if (line[index] === 0x0a) line[index] = 0x0b;
    return line;
  });
}

for (const delimiter of ['\n', /\n/] as const) {
  test(`every kept frame stays intact across small and large pools (${delimiter instanceof RegExp ? 'RegExp' : 'string'} delimiter)`, async (t) => {
    const engine = startedEngine(t);
    const kept: Buffer[] = [];
    class Keeper extends Stream {
      override onConnect() {
        this.readDelimiter = delimiter;
        this.bufferSize = 200_000;
      }
      override onRead(frame: Buffer) {
        kept.push(frame);
      }
    }
    const server = closeAtEnd(t, new Server(Keeper, { engine }).listen(['127.0.0.1', 0]));
    const lines = randomLines(1500, 100_000, delimiter instanceof RegExp ? 2 : 1);
    const client = await netClient(t, portOf(server));
    client.write(Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])));
    await waitFor(() => kept.length === lines.length, 30_000, `${lines.length} frames (got ${kept.length})`);
    const wrong = lines.findIndex((line, index) => !line.equals(kept[index]));
    t.is(wrong, -1, `frame ${wrong} changed`);
  });
}

test.serial('2,000 kept 8-byte frames, each followed by 64 KiB of frames that are not kept, hold little memory', async (t) => {
  const engine = startedEngine(t);
  const kept: Buffer[] = [];
  let others = 0;
  class Chat extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      if (line[0] === 0x40) kept.push(line); // '@nickname'
      else others += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Chat, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const chatter = Buffer.from(`${'x'.repeat(1023)}\n`.repeat(64));
  for (let index = 0; index < 2000; index++) {
    const nick = Buffer.from(`@n${String(index).padStart(5, '0')}\n`);
    if (!client.write(Buffer.concat([nick, chatter]))) await new Promise((resolve) => client.once('drain', resolve));
  }
  await waitFor(() => kept.length === 2000 && others === 2000 * 64, 60_000, 'every line');
  // The pools the kept frames pin (the process-wide arrayBuffers figure also counted the
  // client's write buffers that the collector had not yet freed: 31-60 MiB from run to run).
  const held = [...new Set(kept.map((line) => line.buffer))].reduce((sum, pool) => sum + pool.byteLength, 0);
  t.log(`2,000 kept 8-byte frames hold ${(held / 2 ** 20).toFixed(1)} MiB of pools`);
  t.true(held < 48 * 2 ** 20, `${held} bytes held`);
  t.is(kept[1999].toString(), '@n01999');
});
