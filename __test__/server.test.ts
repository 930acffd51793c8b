import test from 'ava';
import net from 'node:net';
import { Engine, Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, signal, startedEngine, waitFor } from './helpers.js';

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

async function echoes(t: import('ava').ExecutionContext, server: Server): Promise<void> {
  const client = await netClient(t, portOf(server));
  client.write('echo?');
  t.is((await readBytes(client, 5)).toString(), 'echo?');
}

test('ConnectionClass as the first constructor argument', async (t) => {
  const engine = startedEngine(t);
  await echoes(t, closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0])));
});

test('ConnectionClass in an options object', async (t) => {
  const engine = startedEngine(t);
  await echoes(t, closeAtEnd(t, new Server({ ConnectionClass: Echo, engine }).listen(['127.0.0.1', 0])));
});

test('ConnectionClass declared as a subclass field', async (t) => {
  const engine = startedEngine(t);
  class EchoServer extends Server {
    override ConnectionClass = Echo;
  }
  await echoes(t, closeAtEnd(t, new EchoServer({ engine }).listen(['127.0.0.1', 0])));
});

test('listen on port 0 reports the real port in localAddress; listening and fileno are set', (t) => {
  const server = new Server({ engine: new Engine() }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  t.true(server.listening);
  t.is(typeof server.fileno, 'number');
  const [host, port] = server.localAddress as [string, number];
  t.is(host, '127.0.0.1');
  t.true(port > 0);
});

test('listen(port) alone listens on every IPv4 interface', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(0));
  t.is((server.localAddress as [string, number])[0], '0.0.0.0');
  await echoes(t, server);
});

test('a taken port makes listen() throw with code EADDRINUSE', (t) => {
  const engine = new Engine();
  const first = new Server({ engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => first.close());
  const error = t.throws(() => new Server({ engine }).listen(['127.0.0.1', portOf(first)]));
  t.is((error as NodeJS.ErrnoException).code, 'EADDRINUSE');
});

test('onListen, onAccept (server set, before onConnect), then the stream onConnect', async (t) => {
  const engine = startedEngine(t);
  const order: string[] = [];
  const connected = signal();
  class Conn extends Stream {
    override onConnect() {
      order.push(`connect:${this.server === server}`);
      connected.resolve();
    }
  }
  class Recording extends Server {
    override onListen() {
      order.push('listen');
    }
    override onAccept(stream: Stream) {
      order.push(`accept:${stream instanceof Conn}:${stream.server === this}`);
    }
  }
  const server = closeAtEnd(t, new Recording(Conn, { engine }).listen(['127.0.0.1', 0]));
  await waitFor(() => order.includes('listen'));
  await netClient(t, portOf(server));
  await connected.promise;
  t.deepEqual(order, ['listen', 'accept:true:true', 'connect:true']);
});

test('channels holds live connections by fileno; closed ones leave it', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const first = await netClient(t, portOf(server));
  await netClient(t, portOf(server));
  await waitFor(() => server.channels.size === 2);
  for (const [fileno, stream] of server.channels) t.is(stream.fileno, fileno);
  first.destroy();
  await waitFor(() => server.channels.size === 1);
  t.pass();
});

test('close() stops listening, runs onClose, and by default closes every accepted stream', async (t) => {
  const engine = startedEngine(t);
  const closed = signal();
  class Closing extends Server {
    override onClose() {
      super.onClose();
      closed.resolve();
    }
  }
  const server = new Closing(Echo, { engine }).listen(['127.0.0.1', 0]);
  const port = portOf(server);
  const client = await netClient(t, port);
  await waitFor(() => server.channels.size === 1);
  const ended = new Promise((resolve) => client.once('close', resolve));
  server.close();
  await closed.promise;
  t.false(server.listening);
  await ended;
  await waitFor(() => server.channels.size === 0);
  const refused = await new Promise<string>((resolve) => {
    const again = net.connect(port, '127.0.0.1');
    again.once('connect', () => resolve('connected'));
    again.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  t.is(refused, 'ECONNREFUSED');
});

test('many clients at once are each served', async (t) => {
  const engine = startedEngine(t);
  const server = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const replies = await Promise.all(
    Array.from({ length: 200 }, async (_, index) => {
      const client = await netClient(t, portOf(server));
      client.write(`client ${index};`);
      return (await readBytes(client, `client ${index};`.length)).toString();
    }),
  );
  t.deepEqual(
    replies,
    Array.from({ length: 200 }, (_, index) => `client ${index};`),
  );
});

test.serial('an exception in a ConnectionClass constructor is logged; the server keeps accepting', async (t) => {
  const engine = startedEngine(t);
  const previous = Engine.logger;
  const logged: unknown[] = [];
  Engine.logger = { ...console, error: (...args: unknown[]) => logged.push(args) };
  t.teardown(() => (Engine.logger = previous));
  let first = true;
  class Picky extends Echo {
    constructor(options?: object) {
      super(options);
      if (first) {
        first = false;
        throw new Error('not this one');
      }
    }
  }
  const server = closeAtEnd(t, new Server(Picky, { engine }).listen(['127.0.0.1', 0]));
  const rejected = await netClient(t, portOf(server));
  await new Promise((resolve) => rejected.once('close', resolve));
  await echoes(t, server);
  t.is(logged.length, 1);
});

// ----- ConnectionClass checks (API.md, Server "constructor") ---------------------

test('a ConnectionClass that is not a Stream class is a TypeError at construction', (t) => {
  const engine = new Engine();
  class NotAStream {}
  for (const bad of [123, 'Echo', true, Symbol('Echo')]) {
    t.throws(() => new Server(bad as never, { engine }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_CONNECTION_CLASS' }, `new Server(${String(bad)})`);
  }
  for (const bad of [5, 'Echo', NotAStream, () => new Stream({ engine }), Object, {}]) {
    t.throws(() => new Server({ ConnectionClass: bad as never, engine }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_CONNECTION_CLASS' }, `ConnectionClass: ${String(bad)}`);
  }
  t.throws(() => new Server(NotAStream as never, { engine }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_CONNECTION_CLASS' });
  t.throws(() => new Server(Engine as never, { engine }), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_CONNECTION_CLASS' });
});

test('Stream itself, subclasses of subclasses, and no ConnectionClass at all are accepted', (t) => {
  const engine = new Engine();
  class Deeper extends Echo {}
  t.is(new Server({ engine }).ConnectionClass, Stream);
  t.is(new Server(undefined, { engine }).ConnectionClass, Stream);
  t.is(new Server(Stream, { engine }).ConnectionClass, Stream);
  t.is(new Server(Deeper, { engine }).ConnectionClass, Deeper);
  t.is(new Server({ ConnectionClass: Deeper, engine }).ConnectionClass, Deeper);
});

test('a subclass field ConnectionClass that is not a Stream class makes listen() throw a TypeError, and nothing listens', (t) => {
  const engine = new Engine();
  class NotAStream {}
  class BadServer extends Server {
    override ConnectionClass = NotAStream as never;
  }
  const server = new BadServer({ engine });
  t.throws(() => server.listen(['127.0.0.1', 0]), { instanceOf: TypeError, code: 'ERR_PANTS_INVALID_CONNECTION_CLASS' });
  t.false(server.listening);
  t.is(server.fileno, null);
  server.close();
});
