import test, { ExecutionContext } from 'ava';
import { Engine, ReadDelimiter, Server, Stream, StreamBufferOverflow, Struct } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';

/**
 * Serves one connection whose stream is set up by `setup` and records every
 * onRead call; sends `input` from a node:net client in chunks of `chunk`
 * bytes, each in its own packet, and waits until `expected` calls arrived.
 */
async function framesOf(t: ExecutionContext, setup: (stream: Stream) => void, input: Buffer, expected: number, chunk = input.length): Promise<unknown[][]> {
  const engine = startedEngine(t);
  const calls: unknown[][] = [];
  class Recorder extends Stream {
    override onConnect() {
      setup(this);
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
  await waitFor(() => calls.length >= expected, 5000, `${expected} frames (got ${calls.length})`);
  await new Promise((resolve) => setTimeout(resolve, 20));
  return calls;
}

const text = (calls: unknown[][]) => calls.map(([frame]) => (frame as Buffer).toString('latin1'));

for (const chunk of [1, 2, 3, 7, 64]) {
  test(`a string delimiter frames lines fed ${chunk} byte(s) at a time`, async (t) => {
    const calls = await framesOf(t, (s) => (s.readDelimiter = '\r\n'), Buffer.from('alpha\r\nbeta\r\n\r\ngamma\r\ntail'), 4, chunk);
    t.deepEqual(text(calls), ['alpha', 'beta', '', 'gamma']);
  });

  test(`a byte count frames exact blocks fed ${chunk} byte(s) at a time`, async (t) => {
    const calls = await framesOf(t, (s) => (s.readDelimiter = 4), Buffer.from('abcdefghijk'), 2, chunk);
    t.deepEqual(text(calls), ['abcd', 'efgh']);
  });
}

test('null delivers every chunk as it arrives', async (t) => {
  const calls = await framesOf(t, () => {}, Buffer.from('hello'), 1);
  t.deepEqual(text(calls), ['hello']);
});

test('a Buffer delimiter works like a string one', async (t) => {
  const calls = await framesOf(t, (s) => (s.readDelimiter = Buffer.from([0, 255])), Buffer.from([1, 2, 0, 255, 3, 0, 255]), 2, 1);
  t.deepEqual(
    calls.map(([frame]) => [...(frame as Buffer)]),
    [[1, 2], [3]],
  );
});

test('a RegExp with regexSearch delivers the bytes before each match', async (t) => {
  const calls = await framesOf(t, (s) => (s.readDelimiter = /[,;]+/), Buffer.from('a,b;;c,,d'), 3);
  t.deepEqual(text(calls), ['a', 'b', 'c']);
});

test('a RegExp with regexSearch = false delivers match arrays anchored at the start', async (t) => {
  const calls = await framesOf(
    t,
    (s) => {
      s.regexSearch = false;
      s.readDelimiter = /(\d+)([a-z])/;
    },
    Buffer.from('12a345b6'),
    2,
    1,
  );
  t.deepEqual(
    calls.map(([match]) => [...(match as RegExpExecArray)]),
    [
      ['12a', '12', 'a'],
      ['345b', '345', 'b'],
    ],
  );
});

test('RegExp offsets are byte offsets (the buffer is read as latin1)', async (t) => {
  const input = Buffer.concat([Buffer.from('é', 'utf8'), Buffer.from('|x|')]);
  const calls = await framesOf(t, (s) => (s.readDelimiter = /\|/), input, 2, 1);
  t.deepEqual(
    calls.map(([frame]) => (frame as Buffer).toString('utf8')),
    ['é', 'x'],
  );
});

test('a Struct delimiter delivers unpacked values as separate arguments', async (t) => {
  const format = new Struct('!HI');
  const input = Buffer.concat([format.pack(1, 2), format.pack(65535, 4294967295)]);
  const calls = await framesOf(t, (s) => (s.readDelimiter = format), input, 2, 1);
  t.deepEqual(calls, [
    [1, 2],
    [65535, 4294967295],
  ]);
});

test('encoding decodes frames to strings', async (t) => {
  const calls = await framesOf(
    t,
    (s) => {
      s.encoding = 'utf8';
      s.readDelimiter = '\n';
    },
    Buffer.from('żółw\nok\n'),
    2,
    1,
  );
  t.deepEqual(calls, [['żółw'], ['ok']]);
});

test('a delimiter assigned inside onRead applies to the very next frame (header line, then a body by length)', async (t) => {
  const engine = startedEngine(t);
  const frames: string[] = [];
  class Http extends Stream {
    override onConnect() {
      this.readDelimiter = '\r\n\r\n';
    }
    override onRead(frame: Buffer) {
      frames.push(frame.toString());
      if (typeof this.readDelimiter === 'string') {
        const length = Number(/Content-Length: (\d+)/.exec(frame.toString())![1]);
        this.readDelimiter = length;
      } else {
        this.readDelimiter = '\r\n\r\n';
        this.write(`got ${frame.length}`);
      }
    }
  }
  const server = closeAtEnd(t, new Server(Http, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  // Two requests in one packet: the switch must happen between frames of one read.
  client.write('POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc');
  t.is((await readBytes(client, 10)).toString(), 'got 5got 3');
  t.deepEqual(frames, ['POST / HTTP/1.1\r\nContent-Length: 5', 'hello', 'POST / HTTP/1.1\r\nContent-Length: 3', 'abc']);
});

test('invalid readDelimiter values throw TypeError', (t) => {
  const stream = new Stream({ engine: new Engine() });
  for (const bad of [0, -1, 1.5, '', Buffer.alloc(0), {}, [], true, new Struct('')]) {
    t.throws(() => (stream.readDelimiter = bad as ReadDelimiter), { instanceOf: TypeError });
  }
  t.is(stream.readDelimiter, null);
});

test('a readDelimiter declared as a subclass field is used', async (t) => {
  const engine = startedEngine(t);
  const lines: string[] = [];
  class FieldLines extends Stream {
    // As JavaScript users write it (TypeScript wants accessors set in a method).
    // @ts-expect-error TS2610: overriding an accessor with a field
    readDelimiter: ReadDelimiter = '\n';
    override onRead(line: Buffer) {
      lines.push(line.toString());
    }
  }
  const server = closeAtEnd(t, new Server(FieldLines, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('x\ny\n');
  await waitFor(() => lines.length === 2);
  t.deepEqual(lines, ['x', 'y']);
});

test('more than bufferSize bytes without a delimiter calls onOverflowError(StreamBufferOverflow); memory stays bounded', async (t) => {
  const engine = startedEngine(t);
  const overflow = signal<StreamBufferOverflow>();
  let closed = false;
  class Bounded extends Stream {
    override onConnect() {
      this.bufferSize = 1000;
      this.readDelimiter = '\n';
    }
    override onOverflowError(error: StreamBufferOverflow) {
      overflow.resolve(error);
      super.onOverflowError(error);
    }
    override onClose() {
      closed = true;
    }
  }
  const previous = Engine.logger;
  Engine.logger = { ...console, error: () => {} };
  t.teardown(() => (Engine.logger = previous));
  const server = closeAtEnd(t, new Server(Bounded, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  client.write(Buffer.alloc(5000, 'a'));
  const error = await overflow.promise;
  t.true(error instanceof StreamBufferOverflow);
  t.true(error instanceof Error);
  await waitFor(() => closed);
});

test('a frame of exactly bufferSize bytes plus its delimiter is not an overflow', async (t) => {
  const calls = await framesOf(
    t,
    (s) => {
      s.bufferSize = 8;
      s.readDelimiter = '\r\n';
    },
    Buffer.from('12345678\r\nabc\r\n'),
    2,
  );
  t.deepEqual(text(calls), ['12345678', 'abc']);
});

test('frames stay valid after onRead returns (their memory is never reused)', async (t) => {
  const engine = startedEngine(t);
  const kept: Buffer[] = [];
  class Keeper extends Stream {
    override onConnect() {
      this.readDelimiter = 1000;
    }
    override onRead(frame: Buffer) {
      kept.push(frame);
    }
  }
  const server = closeAtEnd(t, new Server(Keeper, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  const total = 2000;
  const payload = Buffer.alloc(total * 1000);
  for (let index = 0; index < total; index++) payload.fill(index % 251, index * 1000, (index + 1) * 1000);
  client.write(payload);
  await waitFor(() => kept.length === total, 10000, 'all frames');
  t.true(kept.every((frame, index) => frame.length === 1000 && frame[0] === index % 251 && frame[999] === index % 251));
});
