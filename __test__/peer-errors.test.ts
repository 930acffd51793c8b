// Errors a peer causes are routine (API.md, "Beyond Pants", Stream): the
// default onReadError / onWriteError / onSslHandshakeError log them as one
// line with Engine.logger.warn, without a stack trace, and close(false).
// Errors that are not the peer's doing stay with Engine.logger.error.
import test from 'ava';
import net from 'node:net';
import { Server, Stream, StreamBufferOverflow } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, recordLog, signal, startedEngine, waitFor, wasLogged, type LogRecord } from './helpers.js';
import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';

let certs!: TestCerts;

test.before(() => {
  certs = makeCerts();
});

test.after.always(() => {
  removeCerts(certs);
});

/** A Stream class that counts its onClose calls. */
function closeCounter() {
  const closed = signal();
  const record = { closes: 0, closed: closed.promise };
  class Counted extends Stream {
    override onClose() {
      record.closes += 1;
      closed.resolve();
    }
  }
  return { Counted, record };
}

/** Asserts that every warn call is one line of plain text: no Error object (so no stack), no line break. */
function assertOneLineWarnings(t: import('ava').ExecutionContext, log: LogRecord): string[] {
  const lines = log.warn.map((args) => {
    t.true(
      args.every((part) => typeof part === 'string'),
      'only text is logged, no Error object with its stack',
    );
    const line = args.join(' ');
    t.false(line.includes('\n'), `one line: ${JSON.stringify(line)}`);
    return line;
  });
  return lines;
}

test.serial('a peer reset in the middle of a write closes the stream once, with no error logged', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const { Counted, record } = closeCounter();
  class Writer extends Counted {
    override onConnect() {
      // More than the socket buffers hold, so a write is pending when the reset comes.
      this.write(Buffer.alloc(8 << 20, 0x61));
    }
  }
  const server = closeAtEnd(t, new Server(Writer, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  await readBytes(client, 64 * 1024);
  client.write('some bytes the server never reads before the reset');
  client.resetAndDestroy();
  await record.closed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const lines = assertOneLineWarnings(t, log);
  t.true(lines.every((line) => /\b(ECONNRESET|EPIPE)\b/.test(line)), `warned: ${lines.join(' | ')}`);
  t.deepEqual(log.error, [], 'nothing is logged as an error');
  t.is(record.closes, 1);
});

/** An error as the engine reports a failed socket call (errors.ts' systemError). */
function socketError(code: string, errno: number, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno, syscall });
}

// The engine closes a reset stream itself today; onReadError/onWriteError
// get what it does report, so the defaults are checked with those errors.
test.serial('the default onReadError/onWriteError: ECONNRESET and EPIPE are one warn line naming the code and peer; other errors keep logger.error', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const cases: [string, Error, 'warn' | 'error'][] = [
    ['onReadError', socketError('ECONNRESET', -104, 'read'), 'warn'],
    ['onWriteError', socketError('EPIPE', -32, 'write'), 'warn'],
    ['onReadError', socketError('EIO', -5, 'read'), 'error'],
    ['onWriteError', socketError('ENOBUFS', -105, 'write'), 'error'],
  ];
  const { Counted, record } = closeCounter();
  let index = 0;
  class Failing extends Counted {
    override onConnect() {
      const [name, error] = cases[index++];
      if (name === 'onReadError') this.onReadError(error);
      else this.onWriteError(error);
    }
  }
  const server = closeAtEnd(t, new Server(Failing, { engine }).listen(['127.0.0.1', 0]));
  for (let count = 1; count <= cases.length; count++) {
    const client = await netClient(t, portOf(server));
    client.on('error', () => {});
    await waitFor(() => record.closes === count, 5000, `stream ${count} to close`);
  }
  const lines = assertOneLineWarnings(t, log);
  t.is(lines.length, 2);
  t.regex(lines[0], /^Failing\.onReadError: read ECONNRESET \(peer 127\.0\.0\.1:\d+\)$/);
  t.regex(lines[1], /^Failing\.onWriteError: write EPIPE \(peer 127\.0\.0\.1:\d+\)$/);
  t.is(log.error.length, 2);
  t.true(wasLogged(log.error, cases[2][1]), 'the EIO error itself, with its stack');
  t.true(wasLogged(log.error, cases[3][1]));
});

test.serial('a failed TLS handshake (a peer speaking plaintext): one warn line, the stream closes', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const { Counted, record } = closeCounter();
  const server = closeAtEnd(t, new Server(Counted, { engine, sslOptions: { cert: certs.cert, key: certs.key } }).listen(['127.0.0.1', 0]));
  const raw = await netClient(t, portOf(server));
  raw.on('error', () => {});
  raw.write('GET / HTTP/1.0\r\n\r\n');
  await record.closed;
  await waitFor(() => log.warn.length > 0, 5000, 'the failed handshake to be logged');
  const lines = assertOneLineWarnings(t, log);
  t.is(lines.length, 1);
  t.regex(lines[0], /ERR_SSL_WRONG_VERSION_NUMBER/);
  t.deepEqual(log.error, []);
  t.is(record.closes, 1);
});

test.serial('a failed TLS handshake on the client side (untrusted server) is also one warn line', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const { Counted, record } = closeCounter();
  const server = closeAtEnd(t, new Server(Stream, { engine, sslOptions: { cert: certs.otherCert, key: certs.otherKey } }).listen(['127.0.0.1', 0]));
  const client = new Counted({ engine, sslOptions: { ca: certs.ca, servername: 'localhost' } }).connect(['127.0.0.1', portOf(server)]);
  t.teardown(() => client.close(false));
  await record.closed;
  await waitFor(() => log.warn.some((args) => args.join(' ').includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE')), 5000, 'the client handshake error');
  assertOneLineWarnings(t, log);
  t.false(log.error.some((args) => args.join(' ').includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE')));
});

test.serial('errors that are not the peer’s doing keep Engine.logger.error with the Error itself', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const { Counted, record } = closeCounter();
  class Small extends Counted {
    override onConnect() {
      this.bufferSize = 4;
      this.readDelimiter = '\n';
    }
  }
  const server = closeAtEnd(t, new Server(Small, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.on('error', () => {});
  client.write('no newline in sight');
  await record.closed;
  t.true(log.error.some((args) => args.some((part) => part instanceof StreamBufferOverflow)));
  t.deepEqual(log.warn, []);
});

test.serial('a refused connect is still logged with Engine.logger.error', async (t) => {
  const log = recordLog(t);
  const engine = startedEngine(t);
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const { Counted, record } = closeCounter();
  new Counted({ engine }).connect(['127.0.0.1', port]);
  await record.closed;
  t.true(log.error.some((args) => args.some((part) => (part as NodeJS.ErrnoException)?.code === 'ECONNREFUSED')));
});
