// TLS (rustls inside the engine) against real peers: node:tls and the
// `openssl s_client` command line. Certificates are made at test time by
// tls-certs.ts in a temporary directory removed after the last test.
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import net from 'node:net';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Engine, Server, Stream, type SslOptions } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBufferEcho, readBytes, readToEnd, recordLog, signal, startedEngine, waitFor } from './helpers.js';
import { makeCerts, removeCerts, type TestCerts } from './tls-certs.js';
import { nodeTlsServer } from './tls-peers.js';

let certs!: TestCerts;

test.before(() => {
  certs = makeCerts();
});

test.after.always(() => {
  removeCerts(certs);
});

// ----- helpers -------------------------------------------------------------

const MiB = 1024 * 1024;

function sha256(data: Buffer | Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of Array.isArray(data) ? data : [data]) hash.update(part);
  return hash.digest('hex');
}

/** `size` bytes of a non-repeating pattern (seeded), so misordered chunks change the checksum. */
function pattern(size: number, seed = 1): Buffer {
  const buffer = Buffer.alloc(size);
  let state = seed >>> 0 || 1;
  for (let index = 0; index + 4 <= size; index += 4) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    buffer.writeUInt32LE(state, index);
  }
  return buffer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

/** Server-side options of the good localhost certificate. */
function serverOptions(extra: SslOptions = {}): SslOptions {
  return { cert: certs.cert, key: certs.key, ...extra };
}

/** A node:tls client to 127.0.0.1:`port` that verifies against `ca` as 'localhost', after 'secureConnect'. */
async function nodeTlsClient(t: ExecutionContext, port: number, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  const socket = tls.connect({ port, host: '127.0.0.1', ca: certs.ca, servername: 'localhost', ...options });
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** `openssl s_client` to 127.0.0.1:`port`, verifying against the test CA as localhost; killed when the test ends. */
function sClient(t: ExecutionContext, port: number): ChildProcessWithoutNullStreams {
  const child = spawn('openssl', [
    's_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', certs.caPath, '-verify_return_error', '-quiet',
  ]);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return child;
}

/** Collects a child's output; resolves with it when `done(output)` is true. */
function outputUntil(stream: NodeJS.ReadableStream, done: (output: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (done(output)) resolve(output);
    });
    stream.on('end', () => (done(output) ? resolve(output) : reject(new Error(`output ended early: ${JSON.stringify(output)}`))));
  });
}

/** Records a Pants stream's TLS events. */
interface TlsLog {
  handshakes: number;
  handshakeErrors: (Error & { code?: string })[];
  sslErrors: (Error & { code?: string })[];
  reads: Buffer[];
  closes: number;
  closed: Promise<void>;
  handshook: Promise<void>;
}

/** A Stream class that logs TLS events into `log` (handshake errors close the stream, like the default). */
function loggingStream(base: typeof Stream = Stream): { Class: typeof Stream; log: TlsLog } {
  const closed = signal();
  const handshook = signal();
  const log: TlsLog = { handshakes: 0, handshakeErrors: [], sslErrors: [], reads: [], closes: 0, closed: closed.promise, handshook: handshook.promise };
  class Logged extends base {
    override onSslHandshake() {
      log.handshakes += 1;
      handshook.resolve();
    }
    override onSslHandshakeError(error: Error) {
      log.handshakeErrors.push(error);
      this.close(false);
    }
    override onSslError(error: Error) {
      log.sslErrors.push(error);
      this.close(false);
    }
    override onRead(data: Buffer) {
      log.reads.push(data);
    }
    override onClose() {
      log.closes += 1;
      closed.resolve();
    }
  }
  return { Class: Logged, log };
}

/**
 * A Pants TLS client with `sslOptions` that connects to `address` and writes
 * 'from pants' as soon as it is connected (before the handshake); its
 * handshake must fail. Returns the log once the stream has closed, and
 * whether the node:tls server ever saw a secure connection or plaintext.
 */
async function rejectedHandshake(t: ExecutionContext, serverCert: { cert: string; key: string }, sslOptions: SslOptions, host = '127.0.0.1') {
  const engine = startedEngine(t);
  let secureConnections = 0;
  const plaintext: Buffer[] = [];
  const onSecure = (socket: tls.TLSSocket) => {
    secureConnections += 1;
    socket.on('data', (chunk: Buffer) => plaintext.push(chunk));
    socket.write('secret from the server');
  };
  const { port } = await nodeTlsServer(t, serverCert, onSecure, host);
  const { Class, log } = loggingStream();
  class Client extends Class {
    override onConnect() {
      this.write('from pants');
    }
  }
  const client = new Client({ engine, sslOptions }).connect([host, port]);
  t.teardown(() => client.close(false));
  await log.closed;
  await sleep(50);
  return { log, secureConnections, plaintext };
}

/** The first bytes a node:tls client sends: its ClientHello. */
async function captureClientHello(t: ExecutionContext): Promise<Buffer> {
  const hello = signal<Buffer>();
  const catcher = net.createServer((socket) => {
    socket.once('data', (chunk: Buffer) => {
      hello.resolve(chunk);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => catcher.listen(0, '127.0.0.1', resolve));
  t.teardown(() => catcher.close());
  const client = tls.connect({ port: (catcher.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'localhost', ca: certs.ca });
  client.on('error', () => {});
  t.teardown(() => client.destroy());
  return hello.promise;
}

// ----- echo through a Pants TLS server -----------------------------------------

test('a Pants TLS server (sslOptions in the constructor) echoes to a verifying node:tls client', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  t.true(client.authorized);
  client.write('hello over tls');
  t.is((await readBytes(client, 14)).toString(), 'hello over tls');
});

test('server.startSSL() after construction (while listening) makes accepted connections speak TLS', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  t.is(server.startSSL(serverOptions()), server);
  const client = await nodeTlsClient(t, portOf(server));
  t.true(client.authorized);
  client.write('started later');
  t.is((await readBytes(client, 13)).toString(), 'started later');
});

test('accepted streams of a TLS server report secure = true', async (t) => {
  const engine = startedEngine(t);
  const accepted = signal<Stream>();
  const server = closeAtEnd(
    t,
    new (class extends Server {
      override onAccept(stream: Stream) {
        accepted.resolve(stream);
      }
    })(Echo, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]),
  );
  await nodeTlsClient(t, portOf(server));
  t.true((await accepted.promise).secure);
});

test('a Pants TLS server echoes to `openssl s_client -CAfile ca.pem -servername localhost`', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const child = sClient(t, portOf(server));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const echoed = outputUntil(child.stdout, (output) => output.includes('hello openssl\n'));
  child.stdin.write('hello openssl\n');
  const output = await Promise.race([echoed, exited.then((code) => `s_client exited with ${code}`)]);
  t.is(output, 'hello openssl\n');
});

// ----- a Pants TLS client ---------------------------------------------------

test('a Pants TLS client sends SNI = the connect host, negotiates ALPN, and runs onSslHandshake once', async (t) => {
  const engine = startedEngine(t);
  const seen = signal<{ servername: unknown; alpn: string | false | null }>();
  const { port } = await nodeTlsServer(t, { cert: certs.cert, key: certs.key, ALPNProtocols: ['a', 'b'] }, (socket) => {
    seen.resolve({ servername: (socket as tls.TLSSocket & { servername?: unknown }).servername, alpn: socket.alpnProtocol });
    socket.pipe(socket);
  });
  let handshakes = 0;
  let alpnAtHandshake: string | null | undefined;
  const echoed = signal<string>();
  class Client extends Stream {
    override onSslHandshake() {
      handshakes += 1;
      alpnAtHandshake = this.alpnProtocol;
      this.write('after handshake');
    }
    override onRead(data: Buffer) {
      echoed.resolve(data.toString());
    }
  }
  const client = new Client({ engine, sslOptions: { ca: certs.ca, ALPNProtocols: ['b'] } }).connect(['localhost', port]);
  t.teardown(() => client.close(false));
  t.true(client.secure);
  t.is(await echoed.promise, 'after handshake');
  const server = await seen.promise;
  t.is(server.servername, 'localhost');
  t.is(server.alpn, 'b');
  t.is(alpnAtHandshake, 'b');
  t.is(client.alpnProtocol, 'b');
  await sleep(50);
  t.is(handshakes, 1);
});

test('a Pants TLS client holds what it writes in onConnect until the handshake is done, then sends it encrypted', async (t) => {
  const engine = startedEngine(t);
  const received = signal<string>();
  const { port } = await nodeTlsServer(t, { cert: certs.cert, key: certs.key }, (socket) => {
    socket.once('data', (chunk: Buffer) => received.resolve(chunk.toString()));
  });
  class Client extends Stream {
    override onConnect() {
      this.write('early words');
    }
  }
  const client = new Client({ engine, sslOptions: { ca: certs.ca } }).connect(['127.0.0.1', port]);
  t.teardown(() => client.close(false));
  t.is(await received.promise, 'early words');
});

test('startSSL() before connect() on a Pants client verifies an IP address against the certificate', async (t) => {
  const engine = startedEngine(t);
  const { port } = await nodeTlsServer(t, { cert: certs.cert, key: certs.key }, (socket) => socket.end('hi'));
  const { Class, log } = loggingStream();
  const client = new Class({ engine }).startSSL({ ca: certs.ca }).connect(['127.0.0.1', port]);
  t.teardown(() => client.close(false));
  await log.closed;
  t.is(log.handshakes, 1);
  t.deepEqual(log.handshakeErrors, []);
  t.is(Buffer.concat(log.reads).toString(), 'hi');
});

// ----- bulk ------------------------------------------------------------------

// Library bug: TlsSession::receive drops the rest of a socket read once rustls'
// received-plaintext buffer (16 KiB) is full, so larger bursts are corrupted.
test('16 MiB each way through a Pants TLS server echoing to a node:tls client (sha256)', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  const payload = pattern(16 * MiB, 7);
  const echoed = readBytes(client, payload.length);
  for (let offset = 0; offset < payload.length; offset += 256 * 1024) client.write(payload.subarray(offset, offset + 256 * 1024));
  const received = await echoed;
  t.is(received.length, payload.length);
  t.is(sha256(received), sha256(payload));
});

test('4 MiB through a Pants TLS server whose echo reads plaintext into one readBuffer (sha256)', async (t) => {
  const engine = startedEngine(t);
  const { Echo: ReusingEcho, tally } = readBufferEcho(Buffer.alloc(64 * 1024));
  const server = closeAtEnd(t, new Server(ReusingEcho, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  const payload = pattern(4 * MiB, 11);
  const echoed = readBytes(client, payload.length);
  for (let offset = 0; offset < payload.length; offset += 256 * 1024) client.write(payload.subarray(offset, offset + 256 * 1024));
  t.is(sha256(await echoed), sha256(payload));
  t.is(tally.inMemory, tally.chunks, 'every plaintext chunk was a view of the readBuffer');
});

// Library bug: as above (the Pants client's reads are corrupted the same way).
test('16 MiB each way between a Pants TLS client and a node:tls server (sha256 of both directions)', async (t) => {
  const engine = startedEngine(t);
  const up = pattern(16 * MiB, 11);
  const down = pattern(16 * MiB, 13);
  const serverGot = signal<string>();
  const { port } = await nodeTlsServer(t, { cert: certs.cert, key: certs.key }, (socket) => {
    const hash = createHash('sha256');
    let length = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
      if (length === up.length) serverGot.resolve(hash.digest('hex'));
      if (length > up.length) serverGot.resolve(`too many bytes: ${length}`);
    });
    socket.on('close', () => serverGot.resolve(`closed after ${length} bytes`));
    socket.write(down);
  });
  const clientGot = signal<string>();
  class Client extends Stream {
    #hash = createHash('sha256');
    #length = 0;
    override onSslHandshake() {
      for (let offset = 0; offset < up.length; offset += 256 * 1024) this.write(up.subarray(offset, offset + 256 * 1024));
    }
    override onRead(data: Buffer) {
      this.#hash.update(data);
      this.#length += data.length;
      if (this.#length === down.length) clientGot.resolve(this.#hash.digest('hex'));
      if (this.#length > down.length) clientGot.resolve(`too many bytes: ${this.#length}`);
    }
    override onSslError(error: Error) {
      clientGot.resolve(`onSslError: ${error.message}`);
      this.close(false);
    }
    override onClose() {
      clientGot.resolve(`closed after ${this.#length} bytes`);
    }
  }
  const client = new Client({ engine, sslOptions: { ca: certs.ca } }).connect(['localhost', port]);
  t.teardown(() => client.close(false));
  const [atServer, atClient] = await Promise.all([serverGot.promise, clientGot.promise]);
  t.is(atServer, sha256(up));
  t.is(atClient, sha256(down));
});

// Library bug (same cause): here no error is reported at all, the tail is just lost.
test('a single 40000-byte write from a node:tls client is echoed in full by a Pants TLS server', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  const payload = pattern(40_000, 29);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  client.write(payload);
  await waitFor(() => Buffer.concat(chunks).length >= payload.length, 3000, 'the echo').catch(() => {});
  t.is(Buffer.concat(chunks).length, payload.length);
  t.is(sha256(chunks), sha256(payload));
});

// ----- verification failures ------------------------------------------------------

test('a server certificate from an untrusted CA fails the handshake with UNABLE_TO_VERIFY_LEAF_SIGNATURE; nothing is read or sent', async (t) => {
  const { log, secureConnections, plaintext } = await rejectedHandshake(t, { cert: certs.otherCert, key: certs.otherKey }, { ca: certs.ca, servername: 'localhost' });
  t.is(log.handshakeErrors.length, 1);
  t.true(log.handshakeErrors[0] instanceof Error);
  t.is(log.handshakeErrors[0].code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  t.is(log.handshakes, 0);
  t.deepEqual(log.reads, []);
  t.is(secureConnections, 0);
  t.deepEqual(plaintext, []);
  t.is(log.closes, 1);
});

test('a servername not in the certificate fails the handshake with ERR_TLS_CERT_ALTNAME_INVALID; nothing is read', async (t) => {
  const { log, secureConnections } = await rejectedHandshake(t, { cert: certs.cert, key: certs.key }, { ca: certs.ca, servername: 'not-localhost.test' });
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0].code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  t.is(log.handshakes, 0);
  t.deepEqual(log.reads, []);
  t.is(secureConnections, 0);
});

test('a connect host not in the certificate (no servername) fails with ERR_TLS_CERT_ALTNAME_INVALID', async (t) => {
  // 127.0.0.2 is loopback on Linux but not in the certificate's SAN.
  const { log } = await rejectedHandshake(t, { cert: certs.cert, key: certs.key }, { ca: certs.ca }, '127.0.0.2');
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0].code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  t.deepEqual(log.reads, []);
});

test('an expired server certificate fails the handshake with CERT_HAS_EXPIRED; nothing is read', async (t) => {
  const { log, secureConnections } = await rejectedHandshake(t, { cert: certs.expiredCert, key: certs.expiredKey }, { ca: certs.ca, servername: 'localhost' });
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0].code, 'CERT_HAS_EXPIRED');
  t.is(log.handshakes, 0);
  t.deepEqual(log.reads, []);
  t.is(secureConnections, 0);
});

test.serial('the default onSslHandshakeError logs the error (one warn line: the peer failed the handshake) and closes the stream', async (t) => {
  const engine = startedEngine(t);
  const { port } = await nodeTlsServer(t, { cert: certs.otherCert, key: certs.otherKey });
  const log = recordLog(t);
  const closed = signal();
  class Client extends Stream {
    override onClose() {
      closed.resolve();
    }
  }
  const client = new Client({ engine, sslOptions: { ca: certs.ca, servername: 'localhost' } }).connect(['127.0.0.1', port]);
  t.teardown(() => client.close(false));
  await closed.promise;
  t.true(log.warn.some((args) => args.join(' ').includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE')));
  t.deepEqual(log.error, []);
});

test('rejectUnauthorized: false accepts a server from an untrusted CA', async (t) => {
  const engine = startedEngine(t);
  const { port } = await nodeTlsServer(t, { cert: certs.otherCert, key: certs.otherKey }, (socket) => socket.pipe(socket));
  const { Class, log } = loggingStream();
  const echoed = signal<string>();
  class Client extends Class {
    override onSslHandshake() {
      super.onSslHandshake();
      this.write('trust me');
    }
    override onRead(data: Buffer) {
      echoed.resolve(data.toString());
    }
  }
  const client = new Client({ engine, sslOptions: { ca: certs.ca, rejectUnauthorized: false } }).connect(['localhost', port]);
  t.teardown(() => client.close(false));
  t.is(await echoed.promise, 'trust me');
  t.is(log.handshakes, 1);
  t.deepEqual(log.handshakeErrors, []);
});

// ----- client certificates ----------------------------------------------------

test('requestCert: a node:tls client without a certificate is rejected (server: ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE)', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  const server = closeAtEnd(t, new Server(Class, { engine, sslOptions: serverOptions({ requestCert: true, ca: certs.ca }) }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  client.on('error', () => {});
  client.on('secureConnect', () => client.write('let me in'));
  await new Promise((resolve) => client.once('close', resolve));
  await log.closed;
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0].code, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
  t.is(log.handshakes, 0);
  t.deepEqual(log.reads, []);
  t.deepEqual(received, []);
});

// Library bug: the fatal alert rustls queues is dropped, because the default
// onSslHandshakeError closes with close(false), which discards buffered output.
test.serial('requestCert with the default onSslHandshakeError: a node:tls client without a certificate sees the certificate_required alert', async (t) => {
  const engine = startedEngine(t);
  const previous = Engine.logger;
  Engine.logger = { ...console, error: () => {}, warn: () => {} };
  t.teardown(() => (Engine.logger = previous));
  const server = closeAtEnd(t, new Server(Stream, { engine, sslOptions: serverOptions({ requestCert: true, ca: certs.ca }) }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  let clientError: (Error & { code?: string }) | undefined;
  client.on('error', (error) => (clientError = error));
  client.resume();
  await new Promise((resolve) => client.once('close', resolve));
  t.is(clientError?.code, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
});

// Library bug: as above, on the client side.
test.serial('a Pants client rejecting an untrusted server (default onSslHandshakeError) sends the unknown_ca alert', async (t) => {
  const engine = startedEngine(t);
  const previous = Engine.logger;
  Engine.logger = { ...console, error: () => {}, warn: () => {} };
  t.teardown(() => (Engine.logger = previous));
  const { server, port } = await nodeTlsServer(t, { cert: certs.otherCert, key: certs.otherKey });
  const serverError = signal<Error & { code?: string }>();
  server.on('tlsClientError', (error: Error) => serverError.resolve(error));
  const client = new Stream({ engine, sslOptions: { ca: certs.ca, servername: 'localhost' } }).connect(['127.0.0.1', port]);
  t.teardown(() => client.close(false));
  t.is((await serverError.promise).code, 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
});

test('requestCert: a node:tls client with a certificate signed by ca is accepted', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  class EchoLogged extends Class {
    override onRead(data: Buffer) {
      super.onRead(data);
      this.write(data);
    }
  }
  const server = closeAtEnd(t, new Server(EchoLogged, { engine, sslOptions: serverOptions({ requestCert: true, ca: certs.ca }) }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server), { cert: certs.clientCert, key: certs.clientKey });
  client.write('with a certificate');
  t.is((await readBytes(client, 18)).toString(), 'with a certificate');
  t.is(log.handshakes, 1);
  t.deepEqual(log.handshakeErrors, []);
});

test('requestCert: a client certificate from another CA is rejected with UNABLE_TO_VERIFY_LEAF_SIGNATURE', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  const server = closeAtEnd(t, new Server(Class, { engine, sslOptions: serverOptions({ requestCert: true, ca: certs.ca }) }).listen(['127.0.0.1', 0]));
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost', cert: certs.otherClientCert, key: certs.otherClientKey });
  t.teardown(() => client.destroy());
  client.on('error', () => {});
  client.on('secureConnect', () => client.write('let me in'));
  await log.closed;
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0].code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  t.deepEqual(log.reads, []);
});

// ----- STARTTLS ------------------------------------------------------------

test('STARTTLS: a plain stream calls startSSL() in onRead after replying OK, and the node client upgrades with tls.connect({ socket })', async (t) => {
  const engine = startedEngine(t);
  const lines: string[] = [];
  let handshakes = 0;
  class StartTls extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      lines.push(line.toString());
      if (!this.secure && line.toString() === 'STARTTLS') {
        this.write('OK\n');
        this.startSSL({ cert: certs.cert, key: certs.key });
      } else {
        this.write(`${line}\n`);
      }
    }
    override onSslHandshake() {
      handshakes += 1;
    }
  }
  const server = closeAtEnd(t, new Server(StartTls, { engine }).listen(['127.0.0.1', 0]));
  const plain = await netClient(t, portOf(server));
  plain.write('plain hello\n');
  t.is((await readBytes(plain, 12)).toString(), 'plain hello\n');
  plain.write('STARTTLS\n');
  t.is((await readBytes(plain, 3)).toString(), 'OK\n');
  const secure = tls.connect({ socket: plain, ca: certs.ca, servername: 'localhost' });
  t.teardown(() => secure.destroy());
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  t.true(secure.authorized);
  secure.write('secret line\n');
  t.is((await readBytes(secure, 12)).toString(), 'secret line\n');
  t.deepEqual(lines, ['plain hello', 'STARTTLS', 'secret line']);
  t.is(handshakes, 1);
});

test('STARTTLS: TLS bytes that arrived together with the STARTTLS line are read as TLS', async (t) => {
  const engine = startedEngine(t);
  class StartTls extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      if (!this.secure && line.toString() === 'STARTTLS') this.startSSL({ cert: certs.cert, key: certs.key });
      else this.write(`${line}\n`);
    }
  }
  const server = closeAtEnd(t, new Server(StartTls, { engine }).listen(['127.0.0.1', 0]));
  const raw = await netClient(t, portOf(server));
  // The ClientHello goes out in the same write as 'STARTTLS\n'.
  let first = true;
  const pipe = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      raw.write(first ? Buffer.concat([Buffer.from('STARTTLS\n'), chunk]) : chunk);
      first = false;
      callback();
    },
  });
  raw.on('data', (chunk: Buffer) => pipe.push(chunk));
  raw.on('end', () => pipe.push(null));
  const secure = tls.connect({ socket: pipe, ca: certs.ca, servername: 'localhost' });
  t.teardown(() => secure.destroy());
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  secure.write('pipelined\n');
  t.is((await readBytes(secure as unknown as net.Socket, 10)).toString(), 'pipelined\n');
});

// Library bug: start_tls() feeds the early bytes to the session but ignores a
// failure; the stream then stops reading and never reports or closes.
test('STARTTLS: non-TLS bytes that arrived together with the STARTTLS line reach onSslHandshakeError', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  class StartTls extends Class {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      super.onRead(line);
      if (!this.secure && line.toString() === 'STARTTLS') this.startSSL({ cert: certs.cert, key: certs.key });
    }
  }
  const server = closeAtEnd(t, new Server(StartTls, { engine }).listen(['127.0.0.1', 0]));
  const raw = await netClient(t, portOf(server));
  raw.on('error', () => {});
  raw.write('STARTTLS\nthis is not TLS at all\r\n');
  await Promise.race([log.closed, sleep(2000)]);
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0]?.code, 'ERR_SSL_WRONG_VERSION_NUMBER');
  t.is(log.closes, 1);
});

test('a peer speaking plaintext to a TLS server: onSslHandshakeError (ERR_SSL_WRONG_VERSION_NUMBER), nothing reaches onRead', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  const server = closeAtEnd(t, new Server(Class, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const raw = await netClient(t, portOf(server));
  raw.on('error', () => {});
  raw.write('GET / HTTP/1.0\r\n\r\n');
  await log.closed;
  t.is(log.handshakeErrors.length, 1);
  t.is(log.handshakeErrors[0].code, 'ERR_SSL_WRONG_VERSION_NUMBER');
  t.deepEqual(log.reads, []);
});

// ----- framing, files and closing over TLS -------------------------------------------

test("readDelimiter '\\n' frames the decrypted bytes over TLS", async (t) => {
  const engine = startedEngine(t);
  const lines: string[] = [];
  const gotThree = signal();
  class Lines extends Stream {
    override onConnect() {
      this.readDelimiter = '\n';
    }
    override onRead(line: Buffer) {
      lines.push(line.toString());
      if (lines.length === 3) gotThree.resolve();
    }
  }
  const server = closeAtEnd(t, new Server(Lines, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  client.write('one\ntw');
  await sleep(20);
  client.write('o\nthr');
  await sleep(20);
  client.write('ee\nunfinished');
  await gotThree.promise;
  await sleep(30);
  t.deepEqual(lines, ['one', 'two', 'three']);
});

test('writeFile over TLS sends a 3 MiB file encrypted (sha256)', async (t) => {
  const engine = startedEngine(t);
  const contents = pattern(3 * MiB, 17);
  const file = path.join(certs.dir, 'writefile-3mib.bin');
  fs.writeFileSync(file, contents);
  t.teardown(() => fs.rmSync(file, { force: true }));
  class Sender extends Stream {
    override onSslHandshake() {
      this.writeFile(file);
    }
  }
  const server = closeAtEnd(t, new Server(Sender, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  const received = await readBytes(client, contents.length);
  t.is(received.length, contents.length);
  t.is(sha256(received), sha256(contents));
});

/** A Pants TLS server whose streams write `payload` and close(true) in `when`. */
function senderServer(t: ExecutionContext, engine: Engine, payload: Buffer, when: 'onConnect' | 'onSslHandshake'): Server {
  class Sender extends Stream {
    override onConnect() {
      if (when === 'onConnect') this.#send();
    }
    override onSslHandshake() {
      if (when === 'onSslHandshake') this.#send();
    }
    #send() {
      for (let offset = 0; offset < payload.length; offset += 64 * 1024) this.write(payload.subarray(offset, offset + 64 * 1024));
      this.close(true);
    }
  }
  return closeAtEnd(t, new Server(Sender, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
}

test('close(true) over TLS delivers everything, then the node:tls client sees a clean end (no ECONNRESET)', async (t) => {
  const engine = startedEngine(t);
  const payload = pattern(2 * MiB, 19);
  const server = senderServer(t, engine, payload, 'onSslHandshake');
  const client = await nodeTlsClient(t, portOf(server));
  const errors: Error[] = [];
  client.on('error', (error) => errors.push(error));
  const received = await readToEnd(client);
  await new Promise((resolve) => (client.closed ? resolve(undefined) : client.once('close', resolve)));
  t.deepEqual(errors, []);
  t.is(received.length, payload.length);
  t.is(sha256(received), sha256(payload));
});

test('close(true) over TLS sends close_notify: openssl s_client does not see an unexpected EOF', async (t) => {
  const engine = startedEngine(t);
  const payload = Buffer.from('goodbye\n');
  const server = senderServer(t, engine, payload, 'onSslHandshake');
  const child = sClient(t, portOf(server));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.is(stdout, 'goodbye\n');
  t.notRegex(stderr, /unexpected eof/i);
  t.is(code, 0);
});

// Library bug: close(true) while the handshake is in progress queues close_notify
// and closes as soon as the socket buffer drains; the plaintext rustls holds until
// the handshake completes is never sent (state Closing stops reading the peer's Finished).
test('close(true) called in onConnect, before the handshake has completed, still delivers everything written', async (t) => {
  const engine = startedEngine(t);
  const payload = pattern(256 * 1024, 23);
  const server = senderServer(t, engine, payload, 'onConnect');
  const client = tls.connect({ port: portOf(server), host: '127.0.0.1', ca: certs.ca, servername: 'localhost' });
  t.teardown(() => client.destroy());
  const errors: Error[] = [];
  client.on('error', (error) => errors.push(error));
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => client.once('close', resolve));
  const received = Buffer.concat(chunks);
  t.deepEqual(errors, []);
  t.is(received.length, payload.length);
  t.is(sha256(received), sha256(payload));
});

test('a node:tls peer calling end() makes the Pants stream deliver what came before, then run onClose once', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  const server = closeAtEnd(t, new Server(Class, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(server));
  client.on('error', () => {});
  client.end('last words');
  await log.closed;
  await sleep(50);
  t.is(Buffer.concat(log.reads).toString(), 'last words');
  t.is(log.closes, 1);
  t.deepEqual(log.sslErrors, []);
});

test('a Pants TLS client whose node:tls server calls end() runs onClose once after reading everything', async (t) => {
  const engine = startedEngine(t);
  const { port } = await nodeTlsServer(t, { cert: certs.cert, key: certs.key }, (socket) => socket.end('server says bye'));
  const { Class, log } = loggingStream();
  const client = new Class({ engine, sslOptions: { ca: certs.ca } }).connect(['localhost', port]);
  t.teardown(() => client.close(false));
  await log.closed;
  await sleep(50);
  t.is(Buffer.concat(log.reads).toString(), 'server says bye');
  t.is(log.closes, 1);
  t.deepEqual(log.handshakeErrors, []);
  t.deepEqual(log.sslErrors, []);
});

// ----- bad options ------------------------------------------------------------

test('a TLS server without cert throws synchronously naming cert', (t) => {
  const engine = new Engine();
  t.throws(() => new Server(Echo, { engine, sslOptions: {} }), { message: /cert/ });
  t.throws(() => new Server(Echo, { engine, sslOptions: { key: certs.key } }), { message: /cert/ });
  t.throws(() => new Server(Echo, { engine }).startSSL({ key: certs.key }), { message: /cert/ });
});

test('a TLS server without key throws synchronously naming key', (t) => {
  const engine = new Engine();
  t.throws(() => new Server(Echo, { engine, sslOptions: { cert: certs.cert } }), { message: /key/ });
});

test('a cert that is not PEM throws synchronously naming cert', (t) => {
  const engine = new Engine();
  t.throws(() => new Server(Echo, { engine, sslOptions: { cert: 'this is not a certificate', key: certs.key } }), { message: /cert/ });
  t.throws(() => new Server(Echo, { engine, sslOptions: { cert: 42 as never, key: certs.key } }), { message: /cert/ });
});

test('a key that does not match cert throws synchronously naming key', (t) => {
  const engine = new Engine();
  t.throws(() => new Server(Echo, { engine, sslOptions: { cert: certs.cert, key: certs.strayKey } }), { message: /key/ });
});

test('ALPNProtocols that is not an array throws synchronously naming ALPNProtocols', (t) => {
  const engine = new Engine();
  t.throws(() => new Stream({ engine, sslOptions: { ALPNProtocols: 'b' as never } }), { message: /ALPNProtocols/ });
  t.throws(() => new Server(Echo, { engine, sslOptions: serverOptions({ ALPNProtocols: 'b' as never }) }), { message: /ALPNProtocols/ });
});

test('rejectUnauthorized that is not a boolean throws synchronously naming rejectUnauthorized', (t) => {
  const engine = new Engine();
  t.throws(() => new Stream({ engine, sslOptions: { rejectUnauthorized: 'yes' as never } }), { message: /rejectUnauthorized/ });
  t.throws(() => new Stream({ engine }).startSSL({ rejectUnauthorized: 0 as never }), { message: /rejectUnauthorized/ });
});

test("servername '' throws synchronously naming servername", (t) => {
  const engine = new Engine();
  t.throws(() => new Stream({ engine, sslOptions: { servername: '' } }), { message: /servername/ });
});

test('startSSL() twice on a stream throws', (t) => {
  const stream = new Stream({ engine: new Engine() }).startSSL({});
  t.throws(() => stream.startSSL({}), { message: /already/ });
});

// ----- a peer that vanishes mid-handshake ------------------------------------------

test('a peer that sends half a ClientHello and vanishes: onClose runs once, and the server keeps serving', async (t) => {
  const engine = startedEngine(t);
  const { Class, log } = loggingStream();
  const accepted: Stream[] = [];
  const server = closeAtEnd(
    t,
    new (class extends Server {
      override onAccept(stream: Stream) {
        accepted.push(stream);
      }
    })(Class, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]),
  );
  const hello = await captureClientHello(t);
  t.true(hello.length > 20);
  t.is(hello[0], 0x16); // a handshake record
  const raw = await netClient(t, portOf(server));
  raw.write(hello.subarray(0, Math.floor(hello.length / 2)));
  await sleep(30);
  raw.destroy();
  await log.closed;
  await sleep(50);
  t.is(log.closes, 1);
  t.is(log.handshakes, 0);
  t.deepEqual(log.reads, []);
  await waitFor(() => server.channels.size === 0, 2000, 'the stream to leave server.channels');
  // The engine and server still work.
  const again = closeAtEnd(t, new Server(Echo, { engine, sslOptions: serverOptions() }).listen(['127.0.0.1', 0]));
  const client = await nodeTlsClient(t, portOf(again));
  client.write('still alive');
  t.is((await readBytes(client, 11)).toString(), 'still alive');
  t.is(accepted.length, 1);
});
