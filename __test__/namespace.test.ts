// The package's internals do not share the user's namespace: a subclass may
// declare fields and methods with any of the names the classes once used
// among themselves (token, reading, engineId, safely, readFrames, ...).
// This file compiling under tsconfig.test.json (part of the test command)
// is half of the test: before, those names clashed with protected members
// of the shipped .d.ts. The other half runs: the subclasses still work.
import test from 'ava';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Datagram, Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';

/** Echoes, with fields and methods named like the package's old internals. */
class UserStream extends Stream {
  token = 'a session token';
  reading = 'a book';
  engineId = 'V8';
  safely = true;
  readFrames = [] as string[];
  bindToken(): string {
    return 'bound';
  }
  releaseToken(): string {
    return 'released';
  }
  logAndClose = 'not a function';
  warnAndClose = 0;
  frameArrived = false;
  overflowError = null;
  adoptFieldSettings(): number {
    return 42;
  }

  override onRead(data: Buffer) {
    this.frameArrived = true;
    this.readFrames.push(data.toString());
    this.write(data);
  }
}

class UserServer extends Server {
  override ConnectionClass = UserStream;
  token = 7;
  engineId = 'mine';
  safely = 'yes';
  logAndClose = 'no';
  accepted: UserStream[] = [];
  override onAccept(stream: Stream) {
    this.accepted.push(stream as UserStream);
  }
}

class UserDatagram extends Datagram {
  token = 'datagram token';
  reading = false;
  engineId = -1;
  safely = null;
  readFrames = 'none';
  frameArrived = 'never';
  overflowError = 'none';
  releaseToken = 'kept';

  override onRead(data: Buffer) {
    this.write(data);
  }
}

test('a Stream and a Server subclass with fields named like the old internals still echo, and keep their values', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new UserServer({ engine }).listen(['127.0.0.1', 0]));
  t.is(server.token, 7);
  t.is(server.safely, 'yes');
  const client = await netClient(t, portOf(server));
  client.write('echo me');
  t.is((await readBytes(client, 7)).toString(), 'echo me');
  await waitFor(() => server.accepted.length === 1, 2000, 'the accepted stream');
  const stream = server.accepted[0];
  t.is(stream.token, 'a session token');
  t.is(stream.reading, 'a book');
  t.is(stream.engineId, 'V8');
  t.deepEqual(stream.readFrames, ['echo me']);
  t.true(stream.frameArrived);
  t.is(stream.adoptFieldSettings(), 42);
  t.is(stream.bindToken(), 'bound');
  // Closing goes through the package's own release, not the user's method.
  const closed = signal();
  stream.onClose = () => closed.resolve();
  stream.close();
  await closed.promise;
  t.is(stream.releaseToken(), 'released');
});

test('a Stream subclass with those names connects out and writes', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(UserStream, { engine }).listen(['127.0.0.1', 0]));
  const replied = signal<string>();
  class Client extends UserStream {
    override onConnect() {
      this.write('out and back');
    }
    override onRead(data: Buffer) {
      replied.resolve(data.toString());
    }
  }
  const client = new Client({ engine }).connect(['127.0.0.1', portOf(server)]);
  t.teardown(() => client.close(false));
  t.is(await replied.promise, 'out and back');
});

test('a Datagram subclass with those names answers', async (t) => {
  const engine = startedEngine(t);
  const datagram = new UserDatagram({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => datagram.close(false));
  const peer = dgram.createSocket('udp4');
  t.teardown(() => peer.close());
  const reply = new Promise<string>((resolve) => peer.once('message', (message) => resolve(message.toString())));
  peer.send('udp', (datagram.localAddress as [string, number])[1], '127.0.0.1');
  t.is(await reply, 'udp');
  t.is(datagram.token, 'datagram token');
});

test('the shipped declarations carry no @internal member and no protected helper', (t) => {
  const dist = join(__dirname, '..', '..', 'dist');
  for (const file of readdirSync(dist).filter((name) => name.endsWith('.d.ts'))) {
    const text = readFileSync(join(dist, file), 'utf8');
    t.false(text.includes('@internal'), `${file} lists @internal members`);
    t.false(/\bprotected\b/.test(text), `${file} has protected members`);
  }
});
