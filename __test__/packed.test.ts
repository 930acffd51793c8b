// writePacked, and Struct / NetStruct read delimiters, against real node:net peers.
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { Engine, NetStruct, ReadDelimiter, Server, Stream, Struct } from 'pants-net';

import { closeAtEnd, netClient, portOf, readToEnd, signal, startedEngine, waitFor } from './helpers.js';

const NO_FORMAT = 'No format is available for writing packed data.';

/**
 * Connects a Stream to a node:net server, runs `act` on it in onConnect,
 * closes it (flushing), and resolves with every byte the node:net peer got.
 */
async function bytesWritten(t: ExecutionContext, act: (stream: Stream) => void): Promise<Buffer> {
  const engine = startedEngine(t);
  const received = signal<Buffer>();
  const server = net.createServer((socket) => {
    readToEnd(socket).then(received.resolve, () => received.resolve(Buffer.alloc(0)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  class Writer extends Stream {
    override onConnect() {
      try {
        act(this);
      } finally {
        this.close();
      }
    }
  }
  const stream = new Writer({ engine }).connect(['127.0.0.1', (server.address() as net.AddressInfo).port]);
  t.teardown(() => stream.close(false));
  return received.promise;
}

// ---------------------------------------------------------------------------
// Python references, computed once with CPython's struct module. netstruct's
// 'ih$5b' is struct '!ih' (the length in place of the string), the string,
// then struct '!5b'.
// ---------------------------------------------------------------------------

const PYTHON = `
import json, struct
print(json.dumps({
  'HIb': struct.pack('!HIb', 1, 2, -3).hex(),
  'iQ': struct.pack('<iQ', -5, 2**63 + 1).hex(),
  'ih$5b': (struct.pack('!ih', 7, 3) + b'hey' + struct.pack('!5b', 1, 2, 3, 4, 5)).hex(),
}))
`;

let pythonCache: Record<string, string> | undefined;
function python(): Record<string, string> {
  if (pythonCache === undefined) {
    const run = spawnSync('python3', ['-c', PYTHON], { encoding: 'utf8', timeout: 30_000 });
    if (run.status !== 0) throw new Error(`python3 failed (${run.error?.message ?? run.stderr})`);
    pythonCache = JSON.parse(run.stdout) as Record<string, string>;
  }
  return pythonCache;
}

// ----- writePacked with a format ---------------------------------------------

test('writePacked(values, Struct) sends exactly the bytes of CPython struct.pack', async (t) => {
  const format = new Struct('!HIb');
  const bytes = await bytesWritten(t, (stream) => {
    stream.readDelimiter = new Struct('!B'); // an explicit format wins over the delimiter
    stream.writePacked([1, 2, -3], format);
  });
  t.is(bytes.toString('hex'), python()['HIb']);
  t.is(bytes.toString('hex'), '0001' + '00000002' + 'fd');
});

test('writePacked(values, formatString) compiles the format (8-byte integers as bigint)', async (t) => {
  const bytes = await bytesWritten(t, (stream) => {
    stream.readDelimiter = '\n';
    stream.writePacked([-5, 2n ** 63n + 1n], '<iQ');
  });
  t.is(bytes.toString('hex'), python()['iQ']);
  t.is(bytes.toString('hex'), 'fbffffff' + '0100000000000080');
});

test("writePacked(values, NetStruct('ih$5b')) computes the $ length and sends the netstruct record", async (t) => {
  const bytes = await bytesWritten(t, (stream) => stream.writePacked([7, Buffer.from('hey'), 1, 2, 3, 4, 5], new NetStruct('ih$5b')));
  t.is(bytes.toString('hex'), python()['ih$5b']);
  t.is(bytes.toString('hex'), '00000007' + '0003' + '686579' + '0102030405');
});

test("writePacked(values, 'ih$5b') compiles a format string with $ as a NetStruct", async (t) => {
  const bytes = await bytesWritten(t, (stream) => stream.writePacked([7, 'hey', 1, 2, 3, 4, 5], 'ih$5b'));
  t.is(bytes.toString('hex'), '00000007' + '0003' + '686579' + '0102030405');
});

test('several writePacked calls are sent in order, with their own formats', async (t) => {
  const bytes = await bytesWritten(t, (stream) => {
    stream.writePacked([1], '!B');
    stream.writePacked([Buffer.from('ab')], 'B$');
    stream.writePacked([0x0102], '<H');
  });
  t.is(bytes.toString('hex'), '01' + '026162' + '0201');
});

// ----- writePacked without a format ----------------------------------------------

test('writePacked(values) with no format packs with the Struct readDelimiter', async (t) => {
  const bytes = await bytesWritten(t, (stream) => {
    stream.readDelimiter = new Struct('>hxI');
    stream.writePacked([-2, 0xdeadbeef]);
  });
  t.is(bytes.toString('hex'), 'fffe' + '00' + 'deadbeef');
});

test('writePacked(values) with no format packs with the NetStruct readDelimiter', async (t) => {
  const bytes = await bytesWritten(t, (stream) => {
    stream.readDelimiter = new NetStruct('ih$5b');
    stream.writePacked([7, Buffer.from('hey'), 1, 2, 3, 4, 5]);
  });
  t.is(bytes.toString('hex'), python()['ih$5b']);
});

test('writePacked(values) with no format and a null, Buffer, byte-count or RegExp readDelimiter throws the "no format" Error, even on an unconnected stream', (t) => {
  const stream = new Stream({ engine: new Engine() });
  const delimiters: ReadDelimiter[] = [null, Buffer.from('\r\n'), 4, /;/];
  for (const delimiter of delimiters) {
    stream.readDelimiter = delimiter;
    const error = t.throws(() => stream.writePacked([1]), { instanceOf: Error, message: NO_FORMAT }, `delimiter ${String(delimiter)}`);
    t.is(error?.constructor, Error, `delimiter ${String(delimiter)}`);
  }
});

test('writePacked(values) with no format and a byte-count readDelimiter throws the "no format" Error on a connected stream and sends nothing', async (t) => {
  const errors: unknown[] = [];
  const bytes = await bytesWritten(t, (stream) => {
    stream.readDelimiter = 4;
    try {
      stream.writePacked([1]);
    } catch (error) {
      errors.push(error);
    }
  });
  t.is(errors.length, 1);
  t.is((errors[0] as Error).message, NO_FORMAT);
  t.is(bytes.length, 0);
});

// A string readDelimiter is not a format: it must not be compiled as one
// (regression: '\n' compiled as an empty Struct and threw a TypeError, and
// 'B' packed and sent the value).
test('writePacked(values) with no format and a string readDelimiter throws the "no format" Error, even on an unconnected stream', (t) => {
  const stream = new Stream({ engine: new Engine() });
  for (const delimiter of ['\n', '\r\n', ';', 'B']) {
    stream.readDelimiter = delimiter;
    const error = t.throws(() => stream.writePacked([1]), { instanceOf: Error, message: NO_FORMAT }, `delimiter ${JSON.stringify(delimiter)}`);
    t.is(error?.constructor, Error, `delimiter ${JSON.stringify(delimiter)}`);
  }
});

test('writePacked(values) with no format and a string readDelimiter throws the "no format" Error on a connected stream and sends nothing', async (t) => {
  const errors: unknown[] = [];
  const bytes = await bytesWritten(t, (stream) => {
    for (const delimiter of ['\n', 'B']) {
      stream.readDelimiter = delimiter;
      try {
        stream.writePacked([1]);
      } catch (error) {
        errors.push(error);
      }
    }
  });
  t.is(errors.length, 2);
  t.deepEqual(
    errors.map((error) => (error as Error).message),
    [NO_FORMAT, NO_FORMAT],
  );
  t.is(bytes.length, 0);
});

test('the missing format is reported before the connection state: a usable format on an unconnected or closed stream gets the connection Error instead', async (t) => {
  const engine = startedEngine(t);
  const idle = new Stream({ engine });
  idle.readDelimiter = new Struct('!B');
  const notConnected = t.throws(() => idle.writePacked([1]), { instanceOf: Error });
  t.not(notConnected.message, NO_FORMAT);
  t.throws(() => idle.writePacked([1], '!H'), { instanceOf: Error, message: notConnected.message });
  const closed = new Stream({ engine });
  closed.close();
  t.throws(() => closed.writePacked([1]), { instanceOf: Error, message: NO_FORMAT });
  t.not(t.throws(() => closed.writePacked([1], '!H'), { instanceOf: Error }).message, NO_FORMAT);
});

// ----- NetStruct readDelimiter ------------------------------------------------------

/** Serves one connection with `delimiter` and records each onRead call's arguments; feeds `input` in `chunk`-byte writes. */
async function readRecords(t: ExecutionContext, delimiter: ReadDelimiter, input: Buffer, expected: number, chunk: number): Promise<unknown[][]> {
  const engine = startedEngine(t);
  const calls: unknown[][] = [];
  class Recorder extends Stream {
    override onConnect() {
      this.readDelimiter = delimiter;
    }
    override onRead(...args: unknown[]) {
      calls.push(args);
    }
  }
  const server = closeAtEnd(t, new Server(Recorder, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.setNoDelay(true);
  for (let offset = 0; offset < input.length; offset += chunk) {
    client.write(input.subarray(offset, offset + chunk));
    if (chunk < input.length) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await waitFor(() => calls.length >= expected, 10_000, `${expected} records (got ${calls.length})`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  return calls;
}

const record = new NetStruct('ih$5b');
const last: unknown[] = [-2, Buffer.from('tail'), -1, -2, -3, -4, -5];
const records: unknown[][] = [
  [7, Buffer.from('hey'), 1, 2, 3, 4, 5],
  // This string holds a whole packed record, header included, and the header
  // bytes of the record that follows it.
  [100, Buffer.concat([record.pack(...last), record.pack(...last).subarray(0, 6)]), 0, 0, 0, 0, 127],
  last,
  [0, Buffer.alloc(0), 9, 9, 9, 9, 9], // an empty string
  [2147483647, Buffer.alloc(300, 0xab), -128, 0, 0, 0, 1], // a length above one byte
];
const stream = Buffer.concat(records.map((values) => record.pack(...values)));

for (const chunk of [1, stream.length]) {
  test(`a NetStruct readDelimiter delivers each record's values as separate onRead arguments (fed ${chunk === 1 ? '1 byte at a time' : 'in one chunk'})`, async (t) => {
    const calls = await readRecords(t, new NetStruct('ih$5b'), stream, records.length, chunk);
    t.deepEqual(calls, records);
  });
}

test('a NetStruct readDelimiter with several $ strings and a little-endian length', async (t) => {
  const format = new NetStruct('<B$H$');
  const values = [
    [Buffer.from('a'), Buffer.from('bc')],
    [Buffer.alloc(0), Buffer.alloc(258, 1)],
  ];
  const calls = await readRecords(t, format, Buffer.concat(values.map((v) => format.pack(...v))), 2, 7);
  t.deepEqual(calls, values);
});

test('a Struct readDelimiter and writePacked() with no format round-trip between two pants streams', async (t) => {
  const engine = startedEngine(t);
  const format = new Struct('!Hd?');
  const got = signal<unknown[]>();
  class Receiver extends Stream {
    override onConnect() {
      this.readDelimiter = format;
    }
    override onRead(...values: unknown[]) {
      got.resolve(values);
    }
  }
  const server = closeAtEnd(t, new Server(Receiver, { engine }).listen(['127.0.0.1', 0]));
  class Sender extends Stream {
    override onConnect() {
      this.readDelimiter = format;
      this.writePacked([513, 0.5, true]);
    }
  }
  const sender = new Sender({ engine }).connect(['127.0.0.1', portOf(server)]);
  t.teardown(() => sender.close(false));
  t.deepEqual(await got.promise, [513, 0.5, true]);
});

// ----- malformed formats -----------------------------------------------------------------

test('malformed NetStruct formats throw TypeError', (t) => {
  for (const format of ['$', '$h', 'c$', 'f$', '2h$', 'h$$', 'iz', 'h$3', '!H$!']) {
    t.throws(() => new NetStruct(format), { instanceOf: TypeError }, format);
  }
  t.throws(() => new NetStruct(42 as never), { instanceOf: TypeError });
});

test('malformed Struct formats throw TypeError', (t) => {
  for (const format of ['z', '!!H', '3', 'H!', '<>H', 's3', '-1b']) {
    t.throws(() => new Struct(format), { instanceOf: TypeError }, format);
  }
});

test('writePacked with a malformed format string throws TypeError and sends nothing', async (t) => {
  const errors: unknown[] = [];
  const bytes = await bytesWritten(t, (stream) => {
    for (const format of ['z', 'c$']) {
      try {
        stream.writePacked([1], format);
      } catch (error) {
        errors.push(error);
      }
    }
  });
  t.is(errors.length, 2);
  t.true(errors.every((error) => error instanceof TypeError));
  t.is(bytes.length, 0);
});
