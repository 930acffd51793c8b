// UNIX socket streams and servers, against real node:net peers on socket paths.
import test, { ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Server, Stream, StreamConnectError } from 'pants-net';

import { closeAtEnd, readBytes, signal, startedEngine } from './helpers.js';

/** A fresh socket path under the temporary directory, removed when the test ends. */
function socketPath(t: ExecutionContext): string {
  const file = path.join(os.tmpdir(), `pants-net-${process.pid}-${randomUUID().slice(0, 8)}.sock`);
  t.teardown(() => fs.rmSync(file, { force: true }));
  return file;
}

/** A node:net client connected to the socket at `file`, destroyed when the test ends. */
async function unixClient(t: ExecutionContext, file: string): Promise<net.Socket> {
  const socket = net.connect(file);
  t.teardown(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** A node:net server listening on `file`; `onSocket` gets each connection. */
async function unixServer(t: ExecutionContext, file: string, onSocket: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, resolve);
  });
  t.teardown(() => server.close());
  return server;
}

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

test('Server.listen(path) serves a node:net client over the socket path (echo)', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(file));
  t.true(server.listening);
  t.is(server.localAddress, file);
  t.true(fs.statSync(file).isSocket());
  const client = await unixClient(t, file);
  client.write('over a path');
  t.is((await readBytes(client, 11)).toString(), 'over a path');
});

test('Stream.connect(path) reaches a node:net server on a socket path; data flows both ways', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  await unixServer(t, file, (socket) => socket.pipe(socket));
  const received = signal<string>();
  class Client extends Stream {
    override onConnect() {
      this.write('ping');
    }
    override onRead(data: Buffer) {
      received.resolve(data.toString());
      this.close();
    }
  }
  const client = new Client({ engine }).connect(file);
  t.teardown(() => client.close(false));
  t.true(client.connecting);
  t.is(await received.promise, 'ping');
});

test('Stream.connect() to a path nobody listens on reaches onConnectError with code ENOENT', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  const failed = signal<StreamConnectError>();
  class Client extends Stream {
    override onConnectError(error: StreamConnectError) {
      failed.resolve(error);
    }
  }
  new Client({ engine }).connect(file);
  const error = await failed.promise;
  t.true(error instanceof StreamConnectError);
  t.is(error.code, 'ENOENT');
});

test('listening on a path already in use throws with code EADDRINUSE', (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  closeAtEnd(t, new Server({ engine }).listen(file));
  const second = new Server({ engine });
  t.teardown(() => second.close());
  const error = t.throws(() => second.listen(file));
  t.is((error as NodeJS.ErrnoException).code, 'EADDRINUSE');
  t.false(second.listening);
});

// API.md: remoteAddress/localAddress report "a path" for UNIX sockets, null
// when there is none. The side that connected out has no name (it never
// bound a path): the engine reports that as '' (as Python's getpeername()
// does for an unnamed UNIX socket); null would also fit API.md's "none", so
// both are accepted for the unnamed side. The named side must be the path.

test('an accepted UNIX stream reports the socket path as localAddress; its unnamed peer is not an IP address', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  const accepted = signal<Stream>();
  class Reporter extends Stream {
    override onConnect() {
      accepted.resolve(this);
    }
  }
  closeAtEnd(t, new Server(Reporter, { engine }).listen(file));
  await unixClient(t, file);
  const stream = await accepted.promise;
  t.is(stream.localAddress, file);
  t.true(stream.remoteAddress === '' || stream.remoteAddress === null, `remoteAddress: ${JSON.stringify(stream.remoteAddress)}`);
});

test('a UNIX stream that connected out reports the socket path as remoteAddress, also after the close', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  await unixServer(t, file, (socket) => socket.end());
  const connected = signal<Stream>();
  const closed = signal();
  class Client extends Stream {
    override onConnect() {
      connected.resolve(this);
    }
    override onClose() {
      closed.resolve();
    }
  }
  const client = new Client({ engine });
  t.is(client.remoteAddress, null);
  client.connect(file);
  await connected.promise;
  t.is(client.remoteAddress, file);
  t.true(client.localAddress === '' || client.localAddress === null, `localAddress: ${JSON.stringify(client.localAddress)}`);
  await closed.promise; // the server ended the connection
  t.is(client.remoteAddress, file);
});

// What happens to the socket file: like Python Pants (and node:net, which
// removes it only on close()), the engine does not unlink the path when the
// server closes; the file stays behind until someone removes it, and until
// then a new listen() on the path fails with EADDRINUSE.

test('the socket file remains after server.close() (the engine does not unlink it)', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  const closed = signal();
  class Closing extends Server {
    override onClose() {
      super.onClose();
      closed.resolve();
    }
  }
  const server = new Closing({ engine }).listen(file);
  server.close();
  await closed.promise;
  t.false(server.listening);
  t.true(fs.existsSync(file));
  t.true(fs.lstatSync(file).isSocket());
  // Nobody listens behind the leftover file.
  const refused = await new Promise<NodeJS.ErrnoException>((resolve) => net.connect(file).once('error', resolve));
  t.is(refused.code, 'ECONNREFUSED');
});

test('listening again on a leftover socket file throws EADDRINUSE until the file is removed', async (t) => {
  const engine = startedEngine(t);
  const file = socketPath(t);
  const closed = signal();
  class Closing extends Server {
    override onClose() {
      super.onClose();
      closed.resolve();
    }
  }
  new Closing({ engine }).listen(file).close();
  await closed.promise;
  const again = new Server(Echo, { engine });
  t.teardown(() => again.close());
  const error = t.throws(() => again.listen(file));
  t.is((error as NodeJS.ErrnoException).code, 'EADDRINUSE');
  fs.rmSync(file);
  again.listen(file);
  t.true(again.listening);
  const client = await unixClient(t, file);
  client.write('fresh');
  t.is((await readBytes(client, 5)).toString(), 'fresh');
});
