// Fuzzing the parsers of the TypeScript layer with a seeded PRNG: Struct and
// NetStruct on random formats and random bytes (20,000 cases here, a million
// in `npm run stress`), and random records through a real stream at random
// chunk sizes. The Rust framing codecs are fuzzed by
// crates/pants-core/tests/fuzz_framing.rs.
import test from 'ava';
import net from 'node:net';
import { NetStruct, Server, Stream, Struct } from 'pants-net';

import { closeAtEnd, netClient, portOf, startedEngine, waitFor } from './helpers.js';
import { Random } from './stress/common.js';
import { fuzzStructs } from './stress/fuzz-struct.js';

for (const seed of [1, 2]) {
  test(`Struct and NetStruct on 10,000 random formats and inputs (seed ${seed}): only TypeError or RangeError, values survive pack/unpack`, (t) => {
    const figures = fuzzStructs(10_000, seed);
    t.log(`${figures.executions} executions, ${figures.formatsAccepted} formats accepted, ${figures.formatsRejected} rejected, ${figures.typedErrors} typed errors, ${figures.roundTrips} round trips`);
    t.deepEqual(figures.failures, []);
    t.true(figures.roundTrips > 1000);
    t.true(figures.formatsRejected > 0 && figures.typedErrors > 0, 'the generator reaches the error paths too');
  });
}

/** A record format and a generator of values for it. */
interface RecordKind {
  format: Struct | NetStruct;
  values(random: Random): unknown[];
}

const finiteDouble = (random: Random) => (random.uint32() - 2 ** 31) / (random.uint32() + 1);

const KINDS: Record<string, RecordKind> = {
  '!H$B': { format: new NetStruct('!H$B'), values: (random) => [random.bytes(random.int(0, 300)), random.int(0, 255)] },
  '<I$h$?': { format: new NetStruct('<I$h$?'), values: (random) => [random.bytes(random.int(0, 200)), random.bytes(random.int(0, 200)), random.chance(0.5)] },
  'B$q': { format: new NetStruct('B$q'), values: (random) => [random.bytes(random.int(0, 255)), BigInt.asIntN(64, (BigInt(random.uint32()) << 32n) | BigInt(random.uint32()))] },
  '!b$d': { format: new NetStruct('!b$d'), values: (random) => [random.bytes(random.int(0, 127)), finiteDouble(random)] },
  '!hI?d': { format: new Struct('!hI?d'), values: (random) => [random.int(-32768, 32767), random.uint32(), random.chance(0.5), finiteDouble(random)] },
};

for (const [name, kind] of Object.entries(KINDS)) {
  test(`500 random ${name} records through a stream in random chunks arrive as the same values`, async (t) => {
    const engine = startedEngine(t);
    const random = new Random(name.length * 7919);
    const sent = Array.from({ length: 500 }, () => kind.values(random));
    const bytes = Buffer.concat(sent.map((values) => kind.format.pack(...values)));
    const received: unknown[][] = [];
    class Records extends Stream {
      override onConnect() {
        this.readDelimiter = kind.format;
      }
      override onRead(...values: unknown[]) {
        received.push(values);
      }
    }
    const server = closeAtEnd(t, new Server(Records, { engine }).listen(['127.0.0.1', 0]));
    const client: net.Socket = await netClient(t, portOf(server));
    client.setNoDelay(true);
    for (let offset = 0; offset < bytes.length; ) {
      const size = random.chance(0.5) ? random.int(1, 8) : random.int(1, 4096);
      client.write(bytes.subarray(offset, offset + size));
      offset += size;
      if (random.chance(0.1)) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => received.length === sent.length, 10_000, `${sent.length} records`);
    t.deepEqual(received, sent);
  });
}
