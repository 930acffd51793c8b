// RFC 6455 conformance of the Pants WebSocket server with raw frames, in
// the order of Autobahn's case list: framing, pings/pongs, reserved bits,
// opcodes, fragmentation, UTF-8, close handling, limits, compression off.
// Every failure case asserts the close code RFC 6455 and ../wsspec.md name,
// that the TCP connection then closes, and that the server still serves a
// new client. Then the handshake: 101 / 400 / 426 / 403, Sec-WebSocket-Accept.
import test, { type ExecutionContext } from 'ava';
import { deflateRawSync, inflateRawSync, constants as zlibConstants } from 'node:zlib';
import { WebSocket } from 'pants-net/http';

import { startedEngine } from './helpers.js';
import { Deferred, EchoRecording, instancesOf, Recording, sleep, within, wsClient, wsServe } from './ws-helpers.js';
import { acceptFor, closeOf, closePayload, frame, type FrameOptions, newKey, OP, rawConnect, rawRequest, rawServer, rest, upgradeRequest } from './ws-frames.js';

/** One echo server per test file run (engines are cheap, but one keeps the log short). */
class Echo extends EchoRecording {
  constructor(...args: any[]) {
    super(...args);
    this.idleTimeout = null;
    this.pingInterval = null;
  }
  override onError() {
    // protocol errors are the point here; keep the log quiet
  }
}

function echoServer(t: ExecutionContext, Class: typeof WebSocket = Echo): number {
  return wsServe(t, Class).port;
}

/** Checks a fresh client still gets its echo from the server on `port`. */
async function stillHealthy(t: ExecutionContext, port: number): Promise<void> {
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.TEXT, 'still there?');
  const { opcode, payload } = await raw.message();
  t.is(opcode, OP.TEXT);
  t.is(payload.toString(), 'still there?', 'the server serves a new client after the failure');
  raw.destroy();
}

type Step = Buffer | { frame: [number, (string | Buffer)?, FrameOptions?] };

function bytesOf(steps: Step[]): Buffer {
  return Buffer.concat(steps.map((step) => (Buffer.isBuffer(step) ? step : frame(...step.frame))));
}

/**
 * Sends `steps` and expects the server to fail the connection with `code`:
 * its close frame carries it and TCP closes. `echoes` are the messages it must
 * have echoed before (valid messages ahead of the bad frame).
 */
async function failsWith(t: ExecutionContext, steps: Step[], code: number, echoes: string[] = [], byteByByte = false): Promise<void> {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  const bytes = bytesOf(steps);
  if (byteByByte) await raw.sendByteByByte(bytes);
  else raw.send(bytes);
  const result = await raw.failure(15_000);
  t.is(result.code, code, `close code (reason ${JSON.stringify(result.reason)})`);
  const echoed = result.before.filter((received) => received.opcode === OP.TEXT || received.opcode === OP.BINARY).map((received) => received.payload.toString());
  t.deepEqual(echoed, echoes, 'the valid messages before the bad frame were echoed');
  await stillHealthy(t, port);
}

/** Sends `steps` and expects exactly the echoed text/binary `messages` back (and `pongs`), the connection staying open. */
async function echoes(t: ExecutionContext, steps: Step[], messages: (string | Buffer)[], pongs: string[] = [], byteByByte = false): Promise<void> {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  const bytes = bytesOf(steps);
  if (byteByByte) await raw.sendByteByByte(bytes);
  else raw.send(bytes);
  const gotMessages: (string | Buffer)[] = [];
  const gotPongs: string[] = [];
  let current: Buffer[] = [];
  let currentOpcode = -1;
  while (gotMessages.length < messages.length || gotPongs.length < pongs.length) {
    const received = await raw.next(15_000);
    if (received.opcode === OP.CLOSE) t.fail(`unexpected close ${JSON.stringify(closeOf(received))}`);
    if (received.opcode === OP.PONG) {
      gotPongs.push(received.payload.toString('latin1'));
      continue;
    }
    if (received.opcode === OP.PING) continue;
    if (currentOpcode === -1) currentOpcode = received.opcode;
    current.push(received.payload);
    if (received.fin) {
      const payload = Buffer.concat(current);
      gotMessages.push(currentOpcode === OP.TEXT ? payload.toString('utf8') : payload);
      current = [];
      currentOpcode = -1;
    }
  }
  t.is(gotMessages.length, messages.length);
  messages.forEach((expected, index) => {
    const got = gotMessages[index];
    if (typeof expected === 'string') t.true(got === expected, `message ${index}: ${JSON.stringify(String(got).slice(0, 80))} instead of ${JSON.stringify(expected.slice(0, 80))}`);
    else t.true(Buffer.isBuffer(got) && got.equals(expected), `message ${index}: the bytes arrived intact`);
  });
  t.deepEqual(gotPongs, pongs);
  // nothing else: a close handshake of ours is answered normally
  t.deepEqual(await raw.closeHandshake(1000, ''), { code: 1000, reason: '' });
}

const f = (opcode: number, payload?: string | Buffer, options?: FrameOptions): Step => ({ frame: [opcode, payload, options] });

// ----- 1. framing: lengths, split writes ----------------------------------------------

for (const length of [0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20]) {
  test(`1. text and binary of ${length} bytes echo intact`, async (t) => {
    const text = 'a'.repeat(length);
    const binary = Buffer.alloc(length, 0xfe);
    await echoes(t, [f(OP.TEXT, text), f(OP.BINARY, binary)], [text, binary]);
  });
}

test('1. a 126-byte payload with a 64-bit length and a 5-byte payload with a 16-bit length (non-minimal lengths) are read', async (t) => {
  await echoes(t, [f(OP.TEXT, 'x'.repeat(126), { lengthForm: 64 }), f(OP.TEXT, 'short', { lengthForm: 16 })], ['x'.repeat(126), 'short']);
});

test('1. frames written one byte per TCP write: text, ping, fragmented binary, all answered', async (t) => {
  await echoes(
    t,
    [f(OP.TEXT, 'byte by byte ✓'), f(OP.PING, 'pi'), f(OP.BINARY, Buffer.from([1, 2]), { fin: false }), f(OP.CONT, Buffer.from([3]), { fin: true }), f(OP.TEXT, 'y'.repeat(130))],
    ['byte by byte ✓', Buffer.from([1, 2, 3]), 'y'.repeat(130)],
    ['pi'],
    true,
  );
});

test('1. the first frame in the same TCP write as the upgrade request is read', async (t) => {
  const port = echoServer(t);
  const key = newKey();
  const { head, socket, leftover } = await rawRequest(t, port, Buffer.concat([Buffer.from(upgradeRequest('/', key)), frame(OP.TEXT, 'early bird')]));
  t.is(head.status, 101);
  const { RawClient } = await import('./ws-frames.js');
  const raw = new RawClient(socket, leftover);
  socket.resume();
  t.is((await raw.message()).payload.toString(), 'early bird');
  raw.destroy();
});

test('1. many messages in one TCP write are all echoed in order', async (t) => {
  const texts = Array.from({ length: 200 }, (_, index) => `m${index}`);
  await echoes(t, texts.map((text) => f(OP.TEXT, text)), texts);
});

test('1. an unmasked data frame from a client → 1002', async (t) => {
  await failsWith(t, [f(OP.TEXT, 'x', { mask: false })], 1002);
});

test('1. an unmasked ping from a client → 1002', async (t) => {
  await failsWith(t, [f(OP.PING, 'x', { mask: false })], 1002);
});

test('1. an unmasked frame after valid ones → 1002, the valid ones echoed first', async (t) => {
  await failsWith(t, [f(OP.TEXT, 'ok'), f(OP.BINARY, Buffer.from([1]), { mask: false })], 1002, ['ok']);
});

// ----- 2. pings and pongs ------------------------------------------------------------

test('2. pings with 0, 1, 125 bytes and binary payloads are answered with the same payload', async (t) => {
  const binary = Buffer.from([0, 0xff, 0xfe, 0x80]);
  await echoes(t, [f(OP.PING), f(OP.PING, 'a'), f(OP.PING, 'p'.repeat(125)), f(OP.PING, binary)], [], ['', 'a', 'p'.repeat(125), binary.toString('latin1')]);
});

test('2. ten pings in a row: ten pongs in order', async (t) => {
  const payloads = Array.from({ length: 10 }, (_, index) => `ping ${index}`);
  await echoes(t, payloads.map((payload) => f(OP.PING, payload)), [], payloads);
});

test('2. a ping of 126 bytes → 1002', async (t) => {
  await failsWith(t, [f(OP.PING, 'p'.repeat(126))], 1002);
});

test('2. an unsolicited pong is ignored; the next message is echoed', async (t) => {
  await echoes(t, [f(OP.PONG, 'unsolicited'), f(OP.TEXT, 'after pong')], ['after pong']);
});

test('2. a pong of 126 bytes → 1002', async (t) => {
  await failsWith(t, [f(OP.PONG, 'p'.repeat(126))], 1002);
});

// ----- 3. reserved bits --------------------------------------------------------------

for (const rsv of [1, 2, 3, 4, 5, 6, 7]) {
  test(`3. RSV bits ${rsv.toString(2).padStart(3, '0')} on a text frame without an extension → 1002`, async (t) => {
    await failsWith(t, [f(OP.TEXT, 'reserved', { rsv })], 1002);
  });
}

test('3. RSV on a ping → 1002; RSV on a binary frame after a valid message → 1002, the message echoed first', async (t) => {
  await failsWith(t, [f(OP.PING, 'x', { rsv: 2 })], 1002);
  await failsWith(t, [f(OP.TEXT, 'first'), f(OP.BINARY, Buffer.from([1]), { rsv: 1 })], 1002, ['first']);
});

test('3. compression off: RSV1 (a would-be compressed message) → 1002', async (t) => {
  await failsWith(t, [f(OP.TEXT, Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]), { rsv: 4 })], 1002);
});

// ----- 4. opcodes --------------------------------------------------------------------

for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
  test(`4. reserved opcode 0x${opcode.toString(16)} → 1002`, async (t) => {
    await failsWith(t, [f(opcode, 'reserved')], 1002);
  });
}

test('4. a reserved opcode after a valid message → 1002, the message echoed first; also with an empty payload', async (t) => {
  await failsWith(t, [f(OP.TEXT, 'first'), f(5)], 1002, ['first']);
  await failsWith(t, [f(OP.TEXT, 'first'), f(0xb, '', { fin: false })], 1002, ['first']);
});

// ----- 5. fragmentation --------------------------------------------------------------

test('5. a fragmented ping → 1002', async (t) => {
  await failsWith(t, [f(OP.PING, 'frag', { fin: false }), f(OP.CONT, 'ment', { fin: true })], 1002);
});

test('5. a fragmented pong → 1002', async (t) => {
  await failsWith(t, [f(OP.PONG, 'frag', { fin: false }), f(OP.CONT, 'ment', { fin: true })], 1002);
});

test('5. a fragmented close → 1002', async (t) => {
  await failsWith(t, [f(OP.CLOSE, closePayload(1000), { fin: false }), f(OP.CONT, '', { fin: true })], 1002);
});

test('5. a message in many fragments (1 byte each, 100 of them, empty ones too) is echoed whole', async (t) => {
  const steps: Step[] = [f(OP.TEXT, 'a', { fin: false })];
  for (let index = 1; index < 99; index += 1) steps.push(f(OP.CONT, index % 10 === 0 ? '' : 'a', { fin: false }));
  steps.push(f(OP.CONT, 'z', { fin: true }));
  const expected = 'a' + Array.from({ length: 98 }, (_, index) => ((index + 1) % 10 === 0 ? '' : 'a')).join('') + 'z';
  await echoes(t, steps, [expected]);
});

test('5. pings between fragments are answered at once, the message still whole; also written byte by byte', async (t) => {
  const steps = [f(OP.TEXT, 'frag', { fin: false }), f(OP.PING, 'one'), f(OP.CONT, 'men', { fin: false }), f(OP.PING, 'two'), f(OP.CONT, 'ted', { fin: true })];
  await echoes(t, steps, ['fragmented'], ['one', 'two']);
  await echoes(t, steps, ['fragmented'], ['one', 'two'], true);
});

test('5. a continuation with no message begun (fin set) → 1002', async (t) => {
  await failsWith(t, [f(OP.CONT, 'orphan', { fin: true })], 1002);
});

test('5. a continuation with no message begun (fin clear) → 1002', async (t) => {
  await failsWith(t, [f(OP.CONT, 'orphan', { fin: false })], 1002);
});

test('5. a continuation after a complete message → 1002, the message echoed', async (t) => {
  await failsWith(t, [f(OP.TEXT, 'done'), f(OP.CONT, 'late', { fin: true })], 1002, ['done']);
});

test('5. a new text frame inside a fragmented message → 1002', async (t) => {
  await failsWith(t, [f(OP.TEXT, 'begun', { fin: false }), f(OP.TEXT, 'again', { fin: true })], 1002);
});

test('5. a new binary frame (unfragmented) inside a fragmented message → 1002', async (t) => {
  await failsWith(t, [f(OP.BINARY, Buffer.from([1]), { fin: false }), f(OP.BINARY, Buffer.from([2]), { fin: false })], 1002);
});

// ----- 6. UTF-8 ----------------------------------------------------------------------

const validUtf8 = ['κόσμε', 'Hello-µ@ßöäüàá-UTF-8!!', '\u{10FFFF}\u{10000}€¢$', '\uFEFF\u0000\uFFFD', '💩'.repeat(50)];

test('6. valid UTF-8 texts are echoed, also split across fragments at every byte', async (t) => {
  await echoes(t, validUtf8.map((text) => f(OP.TEXT, text)), validUtf8);
  const text = 'κόσμε€💩';
  const bytes = Buffer.from(text);
  const steps: Step[] = [];
  for (let cut = 1; cut < bytes.length; cut += 1) {
    steps.push(f(OP.TEXT, bytes.subarray(0, cut), { fin: false }), f(OP.CONT, bytes.subarray(cut), { fin: true }));
  }
  await echoes(t, steps, Array.from({ length: bytes.length - 1 }, () => text));
  const oneByteFragments: Step[] = [f(OP.TEXT, bytes.subarray(0, 1), { fin: false })];
  for (let index = 1; index < bytes.length; index += 1) oneByteFragments.push(f(OP.CONT, bytes.subarray(index, index + 1), { fin: index === bytes.length - 1 }));
  await echoes(t, oneByteFragments, [text]);
});

const invalidUtf8: [string, Buffer][] = [
  ['a lone continuation byte', Buffer.from([0x80])],
  ['a lone start byte then ASCII', Buffer.from([0xc3, 0x28])],
  ['an overlong "/" (C0 AF)', Buffer.from([0xc0, 0xaf])],
  ['an overlong NUL in three bytes', Buffer.from([0xe0, 0x80, 0x80])],
  ['an overlong in four bytes', Buffer.from([0xf0, 0x80, 0x80, 0xaf])],
  ['a UTF-16 surrogate (U+D800)', Buffer.from([0xed, 0xa0, 0x80])],
  ['a low surrogate (U+DFFF)', Buffer.from([0xed, 0xbf, 0xbf])],
  ['above U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
  ['byte FE', Buffer.from([0xfe])],
  ['byte FF', Buffer.from([0xff])],
  ['a five-byte form', Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])],
  ['a truncated three-byte sequence at the end', Buffer.from([0x61, 0xe2, 0x82])],
  ['κόσμε with an invalid byte inside', Buffer.concat([Buffer.from('κόσ'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('με')])],
];

for (const [what, bytes] of invalidUtf8) {
  test(`6. invalid UTF-8 in a text message → 1007: ${what}`, async (t) => {
    await failsWith(t, [f(OP.TEXT, bytes)], 1007);
  });
}

test('6. invalid UTF-8 split across fragments → 1007 (sequence begun in one, broken in the next)', async (t) => {
  await failsWith(t, [f(OP.TEXT, Buffer.from([0x61, 0xf4]), { fin: false }), f(OP.CONT, Buffer.from([0x90, 0x80, 0x80]), { fin: true })], 1007);
  await failsWith(t, [f(OP.TEXT, Buffer.from([0xe2, 0x82]), { fin: false }), f(OP.CONT, Buffer.from([0x28]), { fin: true })], 1007);
});

test('6. a message ending inside a sequence (last fragment) → 1007', async (t) => {
  await failsWith(t, [f(OP.TEXT, Buffer.from('ab'), { fin: false }), f(OP.CONT, Buffer.from([0xf0, 0x9f, 0x92]), { fin: true })], 1007);
});

test('6. fail fast: invalid UTF-8 in the first fragment closes 1007 without waiting for the rest of the message', async (t) => {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.TEXT, Buffer.from([0x61, 0xff, 0x62]), { fin: false });
  t.is((await raw.failure(5000)).code, 1007);
  await stillHealthy(t, port);
});

test('6. binary messages are not UTF-8 checked', async (t) => {
  await echoes(t, [f(OP.BINARY, Buffer.from([0xff, 0xfe, 0xc0, 0x80]))], [Buffer.from([0xff, 0xfe, 0xc0, 0x80])]);
});

// ----- 7. close handling -------------------------------------------------------------

const validCloseCodes = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const invalidCloseCodes = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

test('7. a close with a valid code is answered with the same code; the TCP connection closes; onClose gets it', async (t) => {
  const port = echoServer(t);
  for (const code of validCloseCodes) {
    const raw = await rawConnect(t, port);
    raw.sendFrame(OP.CLOSE, closePayload(code, 'r'));
    const answer = await raw.closeFrame();
    t.is(answer.code, code, `close ${code}`);
    await within(raw.closed, 20_000, `TCP close after ${code}`);
  }
  await sleep(50);
  const closes = instancesOf(Echo)
    .filter((socket) => socket.closeArgs !== null && socket.messages.length === 0)
    .map((socket) => socket.closeArgs?.[0]);
  for (const code of validCloseCodes) t.true(closes.includes(code), `onClose(${code})`);
});

for (const code of invalidCloseCodes) {
  test(`7. a close with the invalid code ${code} → 1002`, async (t) => {
    await failsWith(t, [f(OP.CLOSE, closePayload(code))], 1002);
  });
}

test('7. a close with a 1-byte payload → 1002', async (t) => {
  await failsWith(t, [f(OP.CLOSE, Buffer.from([0x03]))], 1002);
});

test('7. a close with a reason of invalid UTF-8 → 1007', async (t) => {
  await failsWith(t, [f(OP.CLOSE, closePayload(1000, Buffer.from([0x61, 0xed, 0xa0, 0x80])))], 1007);
});

test('7. a close with a 123-byte reason (125-byte payload) is valid; 124 bytes (payload 126) → 1002', async (t) => {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.CLOSE, closePayload(1000, 'r'.repeat(123)));
  t.is((await raw.closeFrame()).code, 1000);
  await failsWith(t, [f(OP.CLOSE, closePayload(1000, 'r'.repeat(124)))], 1002);
});

test('7. an empty close is answered with an empty close', async (t) => {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.CLOSE);
  const answer = await raw.closeFrame();
  t.is(answer.frame?.payload.length, 0);
  await within(raw.closed, 20_000, 'TCP close');
});

test('7. data after the close frame is ignored (not echoed)', async (t) => {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  raw.send(Buffer.concat([frame(OP.TEXT, 'before'), frame(OP.CLOSE, closePayload(1000)), frame(OP.TEXT, 'after'), frame(OP.PING, 'after')]));
  const { code, before } = await raw.closeFrame();
  t.is(code, 1000);
  t.deepEqual(before.map((received) => received.payload.toString()), ['before']);
  await within(raw.closed, 20_000, 'TCP close');
  t.deepEqual(raw.frames, [], 'nothing after the close frame');
});

test('7. a close in the middle of a fragmented message is a normal close', async (t) => {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  raw.send(Buffer.concat([frame(OP.TEXT, 'half', { fin: false }), frame(OP.CLOSE, closePayload(1000))]));
  t.is((await raw.closeFrame()).code, 1000);
  await within(raw.closed, 20_000, 'TCP close');
});

// ----- 9. limits ---------------------------------------------------------------------

class Small extends Echo {
  constructor(...args: any[]) {
    super(...args);
    this.maxPayload = 1024;
  }
}

test('9. maxPayload: exactly the limit echoes; over it → 1009, as soon as the header says so', async (t) => {
  const port = echoServer(t, Small);
  const raw = await rawConnect(t, port);
  raw.sendFrame(OP.BINARY, Buffer.alloc(1024, 1));
  t.is((await raw.message()).payload.length, 1024);
  raw.destroy();
  // only the header of a 2 GB frame: the server cannot wait for the payload
  const big = await rawConnect(t, port);
  big.send(frame(OP.BINARY, Buffer.alloc(0), { claimedLength: 2 ** 31 }));
  t.is((await big.failure(5000)).code, 1009);
  const text = await rawConnect(t, port);
  text.send(frame(OP.TEXT, Buffer.alloc(0), { claimedLength: 1025 }));
  t.is((await text.failure(5000)).code, 1009);
  await stillHealthy(t, port);
});

test('9. maxPayload over fragments: the fragment that crosses the limit → 1009, before the message ends', async (t) => {
  const port = echoServer(t, Small);
  const raw = await rawConnect(t, port);
  raw.send(Buffer.concat([frame(OP.TEXT, 'a'.repeat(600), { fin: false }), frame(OP.CONT, 'a'.repeat(600), { fin: false })]));
  t.is((await raw.failure(5000)).code, 1009);
  await stillHealthy(t, port);
});

test('9. a 64-bit length with the top bit set is refused (1002, or 1009 as too big)', async (t) => {
  const port = echoServer(t);
  const raw = await rawConnect(t, port);
  const header = Buffer.from([0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]);
  raw.send(header);
  const { code } = await raw.failure(5000);
  t.true(code === 1002 || code === 1009, `code ${code}`);
  await stillHealthy(t, port);
});

// ----- handshake ---------------------------------------------------------------------

test('handshake: the RFC 6455 sample key gets the RFC’s Sec-WebSocket-Accept; 101 with Upgrade and Connection', async (t) => {
  const port = echoServer(t);
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  t.is(acceptFor(key), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  const { head, socket } = await rawRequest(t, port, upgradeRequest('/chat', key));
  t.is(head.status, 101);
  t.is(head.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  t.is(head.headers.upgrade?.toLowerCase(), 'websocket');
  t.regex(head.headers.connection ?? '', /\bupgrade\b/i);
  t.is(head.headers['content-length'], undefined, 'a 101 has no body');
  t.is(head.headers['transfer-encoding'], undefined);
  socket.destroy();
});

test('handshake: header names and token values are case-insensitive; Connection may list other tokens', async (t) => {
  const port = echoServer(t);
  for (const extra of [
    { Upgrade: 'WebSocket', Connection: 'upgrade' },
    { Upgrade: 'websocket', Connection: 'keep-alive, Upgrade' },
    { upgrade: 'WEBSOCKET', connection: 'Keep-Alive,upgrade' },
  ] as Record<string, string>[]) {
    const raw = await rawConnect(t, port, '/', extra);
    t.is(raw.head.status, 101, JSON.stringify(extra));
    raw.sendFrame(OP.TEXT, 'ok');
    t.is((await raw.message()).payload.toString(), 'ok');
    raw.destroy();
  }
});

const badHandshakes: [what: string, request: string, status: number, headers?: Record<string, string>][] = [
  ['no Upgrade header', upgradeRequest('/', newKey(), { Upgrade: null }), 426, { upgrade: 'websocket' }],
  ['no Upgrade and no Connection (a plain GET)', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 426, { upgrade: 'websocket' }],
  ['Upgrade: h2c', upgradeRequest('/', newKey(), { Upgrade: 'h2c' }), 400],
  ['Connection without upgrade', upgradeRequest('/', newKey(), { Connection: 'keep-alive' }), 400],
  ['no Connection header', upgradeRequest('/', newKey(), { Connection: null }), 400],
  ['Sec-WebSocket-Version 8', upgradeRequest('/', newKey(), { 'Sec-WebSocket-Version': '8' }), 400, { 'sec-websocket-version': '13' }],
  ['Sec-WebSocket-Version 14', upgradeRequest('/', newKey(), { 'Sec-WebSocket-Version': '14' }), 400, { 'sec-websocket-version': '13' }],
  ['no Sec-WebSocket-Version', upgradeRequest('/', newKey(), { 'Sec-WebSocket-Version': null }), 400],
  ['no Sec-WebSocket-Key', upgradeRequest('/', newKey(), { 'Sec-WebSocket-Key': null }), 400],
  ['a key of 15 bytes', upgradeRequest('/', Buffer.alloc(15, 1).toString('base64')), 400],
  ['a key of 17 bytes', upgradeRequest('/', Buffer.alloc(17, 1).toString('base64')), 400],
  ['a key that is not base64', upgradeRequest('/', '!!!!not*base64!!!!!!!!=='), 400],
  ['an empty key', upgradeRequest('/', ''), 400],
  ['POST', upgradeRequest('/', newKey(), {}, 'POST / HTTP/1.1'), 400],
  ['HTTP/1.0', upgradeRequest('/', newKey(), {}, 'GET / HTTP/1.0'), 400],
];

for (const [what, request, status, headers] of badHandshakes) {
  test(`handshake refused: ${what} → ${status}`, async (t) => {
    const port = echoServer(t);
    const { head, socket } = await rawRequest(t, port, request);
    t.is(head.status, status);
    t.is(head.headers['sec-websocket-accept'], undefined);
    for (const [name, value] of Object.entries(headers ?? {})) t.is(head.headers[name]?.toLowerCase(), value, name);
    socket.destroy();
    const key = /Sec-WebSocket-Key: (.*)\r\n/.exec(request)?.[1];
    t.is(instancesOf(Echo).filter((opened) => opened.connectArgs !== null && key !== undefined && opened.request?.headers.get('sec-websocket-key') === key).length, 0, 'nothing opened');
    await stillHealthy(t, port);
  });
}

test('handshake: the connection after a refused upgrade still answers (or closes), and a frame sent anyway is not treated as WebSocket', async (t) => {
  const port = echoServer(t);
  const { head, socket, leftover } = await rawRequest(t, port, upgradeRequest('/', newKey(), { 'Sec-WebSocket-Version': '7' }));
  t.is(head.status, 400);
  socket.write(frame(OP.TEXT, 'sneaky'));
  const after = await within(rest(socket, leftover), 15_000, 'the connection to close');
  t.false(after.includes(Buffer.from('sneaky')));
});

test('handshake: subprotocol offered over several header lines; the response names exactly one the client offered', async (t) => {
  class Protocols extends Echo {
    constructor(...args: any[]) {
      super(...args);
      this.protocols = ['chat', 'superchat'];
    }
  }
  const port = echoServer(t, Protocols);
  const key = newKey();
  const request = upgradeRequest('/', key).replace('\r\n\r\n', '\r\nSec-WebSocket-Protocol: soap\r\nSec-WebSocket-Protocol: superchat, other\r\n\r\n');
  const { head, socket } = await rawRequest(t, port, request);
  t.is(head.status, 101);
  t.is(head.headers['sec-websocket-accept'], acceptFor(key));
  t.is(head.headers['sec-websocket-protocol'], 'superchat');
  socket.destroy();
});

// ----- the client side: a raw server sends what a Pants client must refuse ----------------

/** A raw server that sends `frames` (unmasked unless told) to a new Pants client; resolves with the client's close frame and the client. */
async function clientAnswers(t: ExecutionContext, frames: Buffer[]): Promise<{ code: number; masked: boolean; client: Recording; before: { opcode: number; payload: Buffer; masked: boolean }[] }> {
  const engine = startedEngine(t);
  const answer = new Deferred<{ code: number; masked: boolean; before: { opcode: number; payload: Buffer; masked: boolean }[] }>();
  const { port } = await rawServer(t, (raw) => {
    raw.send(Buffer.concat(frames));
    void raw.closeFrame(15_000).then(({ code, frame: received, before }) => answer.resolve({ code, masked: received?.masked ?? false, before }));
  });
  class Client extends Recording {}
  const client = new Client({ engine }).connect(`ws://127.0.0.1:${port}/`);
  const result = await within(answer.promise, 15_000, 'the client’s close frame');
  return { ...result, client };
}

const u = (opcode: number, payload: string | Buffer = Buffer.alloc(0), options: FrameOptions = {}) => frame(opcode, payload, { mask: false, ...options });

const clientCases: [string, Buffer[], number][] = [
  ['RSV1 without an extension', [u(OP.TEXT, 'x', { rsv: 4 })], 1002],
  ['reserved opcode 0x3', [u(3, 'x')], 1002],
  ['reserved opcode 0xB', [u(0xb)], 1002],
  ['a continuation with no message begun', [u(OP.CONT, 'x')], 1002],
  ['a new text frame inside a fragmented message', [u(OP.TEXT, 'a', { fin: false }), u(OP.TEXT, 'b')], 1002],
  ['a fragmented ping', [u(OP.PING, 'a', { fin: false })], 1002],
  ['a ping of 126 bytes', [u(OP.PING, 'p'.repeat(126))], 1002],
  ['invalid UTF-8', [u(OP.TEXT, Buffer.from([0xed, 0xa0, 0x80]))], 1007],
  ['invalid UTF-8 across fragments', [u(OP.TEXT, Buffer.from([0xf0, 0x9f]), { fin: false }), u(OP.CONT, Buffer.from([0x28, 0x29]))], 1007],
  ['a close with code 1005', [u(OP.CLOSE, closePayload(1005))], 1002],
  ['a close with a 1-byte payload', [u(OP.CLOSE, Buffer.from([1]))], 1002],
  ['a close reason of invalid UTF-8', [u(OP.CLOSE, closePayload(1000, Buffer.from([0xff])))], 1007],
];

for (const [what, frames, code] of clientCases) {
  test(`client side: ${what} → the client closes ${code} with a masked close frame; onClose(${code})`, async (t) => {
    const result = await clientAnswers(t, frames);
    t.is(result.code, code);
    t.true(result.masked, 'client frames are masked, the close frame too');
    const [closeCode] = await within(result.client.closed.promise, 15_000, 'client onClose');
    t.is(closeCode, code);
    t.true(result.client.errors.length >= 1, 'onError was called');
  });
}

test('client side: a fragmented message with a ping between fragments: one onRead, the ping answered with a masked pong of the same payload', async (t) => {
  const engine = startedEngine(t);
  const pong = new Deferred<{ masked: boolean; payload: string }>();
  const { port } = await rawServer(t, (raw) => {
    raw.send(Buffer.concat([u(OP.TEXT, 'κό', { fin: false }), u(OP.PING, 'are you there'), u(OP.CONT, Buffer.from('σμε')), u(OP.BINARY, Buffer.from([1]), { fin: false }), u(OP.CONT, Buffer.from([2]))]));
    void raw.next().then((received) => pong.resolve({ masked: received.masked, payload: `${received.opcode}:${received.payload.toString()}` }));
  });
  class Client extends Recording {}
  const client = await wsClient(t, Client, `ws://127.0.0.1:${port}/`, engine);
  t.deepEqual(await client.messagesUntil(2), ['κόσμε', Buffer.from([1, 2])]);
  t.deepEqual(await within(pong.promise, 20_000, 'the pong'), { masked: true, payload: `${OP.PONG}:are you there` });
});

/** A raw server whose first Pants client of class `Client` is watched: resolves with the frames it sends until its close frame (or 30 s). */
async function framesFromClient(t: ExecutionContext, Client: new (options: { engine: ReturnType<typeof startedEngine> }) => Recording): Promise<{ frames: { opcode: number; masked: boolean; payload: Buffer }[]; client: Recording }> {
  const engine = startedEngine(t);
  const seen = new Deferred<{ opcode: number; masked: boolean; payload: Buffer }[]>();
  const { port } = await rawServer(t, (raw) => {
    void (async () => {
      const frames: { opcode: number; masked: boolean; payload: Buffer }[] = [];
      for (;;) {
        const received = await raw.next(30_000).catch(() => null);
        if (!received) break;
        frames.push({ opcode: received.opcode, masked: received.masked, payload: received.payload });
        if (received.opcode === OP.CLOSE || frames.length >= 2) break;
      }
      seen.resolve(frames);
    })();
  });
  const client = await wsClient(t, Client as never, `ws://127.0.0.1:${port}/`, engine);
  return { frames: await within(seen.promise, 40_000, 'frames from the client'), client: client as Recording };
}

test('client side: pingInterval pings a quiet server (masked pings)', async (t) => {
  class Client extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.pingInterval = 1;
      this.idleTimeout = null;
    }
  }
  const { frames } = await framesFromClient(t, Client);
  t.deepEqual(frames.map((received) => [received.opcode, received.masked]), [
    [OP.PING, true],
    [OP.PING, true],
  ]);
});

test('client side: idleTimeout closes a quiet connection with 1001', async (t) => {
  class Client extends Recording {
    constructor(...args: any[]) {
      super(...args);
      this.pingInterval = null;
      this.idleTimeout = 1;
    }
  }
  const { frames, client } = await framesFromClient(t, Client);
  t.deepEqual(frames.map((received) => [received.opcode, received.masked]), [[OP.CLOSE, true]]);
  t.is(closeOf(frames[0] as never).code, 1001);
  t.is((await within(client.closed.promise, 20_000, 'onClose'))[0], 1001);
});
