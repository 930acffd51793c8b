// TLS against peers that give up, stall or flood: every stream reaches
// onClose once, memory stays bounded by the high-water mark, and bytes the
// application never wrote raise no onWrite. Real peers: raw node:net
// sockets replaying a real ClientHello, node:tls servers and clients.
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import net from 'node:net';
import * as path from 'node:path';
import tls from 'node:tls';
import { Server, Stream, type SslOptions } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';
import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';
import { captureClientHello, firstFlightServer, plainServer } from './tls-peers.js';

let certs!: TestCerts;

test.before(() => {
  certs = makeCerts();
});

test.after.always(() => {
  removeCerts(certs);
});

const MiB = 1024 * 1024;

function serverOptions(extra: SslOptions = {}): SslOptions {
  return { cert: certs.cert, key: certs.key, ...extra };
}

/** A plain node:net server on 127.0.0.1, closed when the test ends; resolves with its port. */
async function netServer(t: ExecutionContext, onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = await plainServer(onConnection);
  t.teardown(() => server.close());
  return server.port;
}

/** The ClientHello of a node:tls client that trusts the test CA. */
function clientHello(): Promise<Buffer> {
  return captureClientHello({ ca: certs.ca });
}

/** Open file descriptors of this process. */
function openDescriptors(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** A Stream class counting onClose and the TLS errors it was given. */
function countingStream() {
  const log = { closes: 0, handshakes: 0, handshakeErrors: [] as (Error & { code?: string })[], writes: 0 };
  class Counting extends Stream {
    override onSslHandshake() {
      log.handshakes += 1;
    }
    override onSslHandshakeError(error: Error) {
      log.handshakeErrors.push(error);
      this.close(false);
    }
    override onClose() {
      log.closes += 1;
    }
  }
  return { Counting, log };
}

test('a TLS server: 100 peers that send a ClientHello and then FIN all reach onClose once, and their descriptors are released', async (t) => {
  const engine = startedEngine(t);
  const { Counting, log } = countingStream();
  const server = closeAtEnd(t, new Server(Counting, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const hello = await clientHello();
  t.is(hello[0], 0x16); // a handshake record
  const before = openDescriptors();
  const peers = await Promise.all(Array.from({ length: 100 }, () => netClient(t, portOf(server))));
  for (const peer of peers) peer.end(hello); // the ClientHello, then FIN
  await waitFor(() => log.closes === 100, 20_000, 'onClose of all 100 streams');
  for (const peer of peers) peer.destroy();
  await waitFor(() => server.channels.size === 0 && openDescriptors() <= before, 10_000, 'the descriptors to be released');
  t.is(log.closes, 100);
  t.is(log.handshakes, 0);
  t.true(log.handshakeErrors.every((error) => error.code === 'ECONNRESET'));
  t.is(engine.stats().channels, 1); // the listener
});

test('a TLS server: a peer that connects and leaves without a byte closes quietly (no handshake error)', async (t) => {
  const engine = startedEngine(t);
  const { Counting, log } = countingStream();
  const server = closeAtEnd(t, new Server(Counting, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const peer = await netClient(t, portOf(server));
  peer.end();
  await waitFor(() => log.closes === 1, 10_000, 'onClose');
  t.deepEqual(log.handshakeErrors, []);
});

test('a TLS client whose TLS 1.2 server sends its first flight and closes: onSslHandshakeError (ECONNRESET), then onClose once', async (t) => {
  const engine = startedEngine(t);
  const upstream = await firstFlightServer(certs.cert, certs.key);
  t.teardown(() => upstream.close());
  const { Counting, log } = countingStream();
  const stream = new Counting({ engine, sslOptions: { ca: certs.ca, servername: 'localhost' } }).connect(['127.0.0.1', upstream.port]);
  t.teardown(() => stream.close(false));
  await waitFor(() => log.closes === 1, 10_000, 'onClose');
  t.is(log.handshakes, 0);
  t.deepEqual(
    log.handshakeErrors.map((error) => error.code),
    ['ECONNRESET'],
  );
});

test('a TLS client writing before the handshake completes: write() returns false above the high-water mark and bufferedAmount counts it', async (t) => {
  const engine = startedEngine(t);
  const silent = await netServer(t, (socket) => socket.resume()); // reads, never answers the ClientHello
  const result = signal<{ accepted: number; buffered: number }>();
  class Eager extends Stream {
    override onConnect() {
      const chunk = Buffer.alloc(MiB, 0x61);
      let accepted = 0;
      while (accepted < 64 && this.write(chunk)) accepted += 1;
      result.resolve({ accepted, buffered: this.bufferedAmount });
    }
  }
  const stream = new Eager({ engine, sslOptions: { ca: certs.ca, servername: 'localhost' } }).connect(['127.0.0.1', silent]);
  t.teardown(() => stream.close(false));
  const { accepted, buffered } = await result.promise;
  t.true(accepted <= 1, `${accepted} MiB were accepted with true`);
  t.true(buffered > MiB, `bufferedAmount ${buffered}`);
});

test('data written before the handshake is sent once it completes, in order, and onWrite follows its drain', async (t) => {
  const engine = startedEngine(t);
  const payload = Buffer.alloc(3 * MiB);
  for (let index = 0; index < payload.length; index += 4) payload.writeUInt32LE(index, index);
  const received = signal<Buffer>();
  const upstream = tls.createServer({ cert: certs.cert, key: certs.key }, (socket) => {
    void readBytes(socket as unknown as net.Socket, payload.length).then(received.resolve);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  t.teardown(() => upstream.close());
  let writes = 0;
  class Early extends Stream {
    override onConnect() {
      for (let offset = 0; offset < payload.length; offset += MiB) this.write(payload.subarray(offset, offset + MiB));
    }
    override onWrite() {
      writes += 1;
    }
  }
  const stream = new Early({ engine, sslOptions: { ca: certs.ca, servername: 'localhost' } }).connect(['127.0.0.1', (upstream.address() as net.AddressInfo).port]);
  t.teardown(() => stream.close(false));
  const data = await received.promise;
  t.true(data.equals(payload));
  await waitFor(() => writes > 0, 5000, 'onWrite');
  t.is(stream.bufferedAmount, 0);
});

test.serial('writeFile over TLS to a peer that does not read: memory stays near the high-water mark, then every byte arrives (sha256)', async (t) => {
  const engine = startedEngine(t);
  const size = 64 * MiB;
  const file = path.join(certs.dir, 'writefile-64mib.bin');
  const contents = Buffer.alloc(size);
  for (let index = 0; index < size; index += 4) contents.writeUInt32LE((index * 2654435761) >>> 0, index);
  fs.writeFileSync(file, contents);
  t.teardown(() => fs.rmSync(file, { force: true }));
  const sent = signal<{ callMs: number; buffered: number }>();
  class Sender extends Stream {
    override onSslHandshake() {
      const start = performance.now();
      this.writeFile(file);
      sent.resolve({ callMs: performance.now() - start, buffered: this.bufferedAmount });
    }
  }
  const server = closeAtEnd(t, new Server(Sender, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  // A reset once the engine stops at the end must not crash the test process; the assertions check what arrived.
  client.on('error', () => {});
  client.pause();
  const rssBefore = process.memoryUsage().rss;
  const { callMs, buffered } = await sent.promise;
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the engine fill the socket
  const growth = process.memoryUsage().rss - rssBefore;
  t.log(`writeFile took ${callMs.toFixed(1)} ms; RSS grew ${(growth / MiB).toFixed(1)} MiB while the peer did not read`);
  t.true(buffered >= size, `bufferedAmount ${buffered} counts the file`);
  t.true(growth < 24 * MiB, `RSS grew ${growth} bytes`);
  const hash = createHash('sha256');
  let received = 0;
  client.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    received += chunk.length;
  });
  client.resume();
  await waitFor(() => received >= size, 60_000, 'the whole file');
  t.is(received, size);
  t.is(hash.digest('hex'), createHash('sha256').update(contents).digest('hex'));
});

test('writes after a TLS writeFile follow the file, in order', async (t) => {
  const engine = startedEngine(t);
  const file = path.join(certs.dir, 'writefile-order.bin');
  const body = Buffer.alloc(MiB + 123, 0x62);
  fs.writeFileSync(file, body);
  t.teardown(() => fs.rmSync(file, { force: true }));
  class Sender extends Stream {
    override onSslHandshake() {
      this.write('head|');
      this.writeFile(file);
      this.write('|tail');
      this.close(true);
    }
  }
  const server = closeAtEnd(t, new Server(Sender, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  // A reset once the engine stops at the end must not crash the test process; the assertions check what arrived.
  client.on('error', () => {});
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    client.once('end', resolve);
    client.once('error', reject);
  });
  t.true(Buffer.concat(chunks).equals(Buffer.concat([Buffer.from('head|'), body, Buffer.from('|tail')])));
});

test('handshake records raise no onWrite: only bytes the application wrote do', async (t) => {
  const engine = startedEngine(t);
  let writes = 0;
  const handshook = signal<Stream>();
  class Quiet extends Stream {
    override onSslHandshake() {
      handshook.resolve(this);
    }
    override onWrite() {
      writes += 1;
    }
  }
  const server = closeAtEnd(t, new Server(Quiet, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  // A reset once the engine stops at the end must not crash the test process; the assertions check what arrived.
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('secureConnect', resolve));
  const stream = await handshook.promise;
  // TLS 1.3 tickets and the rest of the handshake have gone out by now.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(writes, 0);
  stream.write('hello');
  t.is((await readBytes(client as unknown as net.Socket, 5)).toString(), 'hello');
  await waitFor(() => writes === 1, 5000, 'onWrite after the application write');
});

test('a peer that never finishes the handshake: after handshakeTimeout, onSslHandshakeError (ERR_TLS_HANDSHAKE_TIMEOUT) and the stream closes', async (t) => {
  const engine = startedEngine(t);
  const { Counting, log } = countingStream();
  const server = closeAtEnd(t, new Server(Counting, { engine, sslOptions: serverOptions({ handshakeTimeout: 0.3 }) }).listen(['127.0.0.1', 0]));
  const hello = await clientHello();
  const silent = await netClient(t, portOf(server)); // connects, says nothing
  const halfway = await netClient(t, portOf(server)); // half a ClientHello, then nothing
  halfway.write(hello.subarray(0, hello.length >> 1));
  const ended = [silent, halfway].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
  await waitFor(() => log.closes === 2, 10_000, 'both streams to close');
  await Promise.all(ended);
  t.deepEqual(
    log.handshakeErrors.map((error) => error.code),
    ['ERR_TLS_HANDSHAKE_TIMEOUT', 'ERR_TLS_HANDSHAKE_TIMEOUT'],
  );
});

test('a completed handshake is not cut by handshakeTimeout', async (t) => {
  const engine = startedEngine(t);
  const { Counting, log } = countingStream();
  class Echo extends Counting {
    override onRead(data: Buffer) {
      this.write(data);
    }
  }
  const server = closeAtEnd(t, new Server(Echo, { engine, sslOptions: serverOptions({ handshakeTimeout: 0.2 }) }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  // A reset once the engine stops at the end must not crash the test process; the assertions check what arrived.
  client.on('error', () => {});
  await new Promise<void>((resolve) => client.once('secureConnect', resolve));
  await new Promise((resolve) => setTimeout(resolve, 500));
  client.write('still here');
  t.is((await readBytes(client as unknown as net.Socket, 10)).toString(), 'still here');
  t.is(log.closes, 0);
  t.deepEqual(log.handshakeErrors, []);
});

for (const handshakeTimeout of [0, -1, Number.NaN, Infinity, '5']) {
  test(`sslOptions.handshakeTimeout ${String(handshakeTimeout)} throws TypeError naming it`, (t) => {
    const error = t.throws(() => new Server({ sslOptions: serverOptions({ handshakeTimeout: handshakeTimeout as number }) }), { instanceOf: TypeError });
    t.regex(error.message, /handshakeTimeout/);
  });
}

test('a handshake message larger than TLS allows fails with ERR_SSL_EXCESSIVE_MESSAGE_SIZE, not a version error', async (t) => {
  const engine = startedEngine(t);
  const { Counting, log } = countingStream();
  const server = closeAtEnd(t, new Server(Counting, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const peer = await netClient(t, portOf(server));
  // A handshake record holding the header of a 16 MiB ClientHello.
  peer.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff]));
  await waitFor(() => log.closes === 1, 10_000, 'onClose');
  t.deepEqual(
    log.handshakeErrors.map((error) => error.code),
    ['ERR_SSL_EXCESSIVE_MESSAGE_SIZE'],
  );
});
