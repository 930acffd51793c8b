// WebSocket topics (per engine): subscribe / unsubscribe / publish, the
// static WebSocket.publish, 1,000 subscribers receiving one publish, and a
// closing socket leaving its topics.
import test, { type ExecutionContext } from 'ava';
import { Engine } from 'pants-net';
import { HTTPServer, WebSocket } from 'pants-net/http';

import { portOf, startedEngine, waitFor } from './helpers.js';
import { firstOpened, instancesOf, Recording, sleep, within, wsClient, wsServe } from './ws-helpers.js';
import { OP, rawConnect } from './ws-frames.js';

/** Server sockets that subscribe to the topics named in their path (`/a,b`), and obey 'sub:x' / 'unsub:x' / 'pub:x:msg' messages. */
class Subscriber extends Recording {
  results: unknown[] = [];
  override onConnect(...args: unknown[]) {
    const topics = (this.request?.path ?? '/').slice(1).split(',').filter(Boolean);
    for (const topic of topics) this.results.push(this.subscribe(topic));
    super.onConnect(...args);
  }
  override onRead(data: string | Buffer, ...more: unknown[]) {
    super.onRead(data, ...more);
    if (typeof data !== 'string') return;
    const [command, topic, message] = data.split(':');
    if (command === 'sub') this.write(`sub:${this.subscribe(topic)}`);
    if (command === 'unsub') this.write(`unsub:${this.unsubscribe(topic)}`);
    if (command === 'pub') this.write(`pub:${this.publish(topic, message)}`);
  }
}

/** `count` Pants clients on their own engine, each connected to `url`. */
async function clients(t: ExecutionContext, count: number, url: string, engine: Engine, batch = 100): Promise<Recording[]> {
  class Client extends Recording {}
  const made: Recording[] = [];
  for (let start = 0; start < count; start += batch) {
    made.push(...(await Promise.all(Array.from({ length: Math.min(batch, count - start) }, () => wsClient(t, Client, url, engine)))));
  }
  return made;
}

test('subscribe / unsubscribe return whether anything changed; subscriptions lists the topics', async (t) => {
  class Server extends Subscriber {}
  const { engine, url } = wsServe(t, Server);
  const clientEngine = startedEngine(t);
  await clients(t, 1, `${url}/`, clientEngine);
  const socket = await firstOpened(Server);
  t.deepEqual([...socket.subscriptions], []);
  t.true(socket.subscribe('a'));
  t.false(socket.subscribe('a'));
  t.true(socket.subscribe('b'));
  t.deepEqual([...socket.subscriptions].sort(), ['a', 'b']);
  t.true(socket.unsubscribe('a'));
  t.false(socket.unsubscribe('a'));
  t.false(socket.unsubscribe('never'));
  t.deepEqual([...socket.subscriptions], ['b']);
  t.is(WebSocket.publish('nobody-here', 'x', false, engine), 0);
});

test('1,000 subscribers all receive one publish exactly once; the count says so; WebSocket.publish and socket.publish', async (t) => {
  class Server extends Subscriber {}
  const { engine, url } = wsServe(t, Server);
  const clientEngine = startedEngine(t);
  const all = await clients(t, 1000, `${url}/news`, clientEngine);
  await waitFor(() => instancesOf(Server).filter((socket) => socket.connectArgs !== null).length === 1000, 20_000, '1,000 server sockets');
  t.true(instancesOf(Server).every((socket) => socket.results.length === 1 && socket.results[0] === true));
  t.is(WebSocket.publish('news', 'extra, extra ✓', false, engine), 1000);
  const received = await Promise.all(all.map((client) => client.messagesUntil(1, 30_000)));
  t.true(received.every(([message]) => message === 'extra, extra ✓'));
  // a subscriber publishes: it is one of the 1,000 and receives its own message too
  const [first] = all;
  first.write('pub:news:from a subscriber');
  const answers = await Promise.all(all.map((client) => client.messagesUntil(2, 30_000)));
  t.true(answers.every((messages) => messages[1] === 'from a subscriber'));
  t.deepEqual(await first.messagesUntil(3), ['extra, extra ✓', 'from a subscriber', 'pub:1000']);
  await sleep(200);
  t.true(all.slice(1).every((client) => client.messages.length === 2), 'nobody got a message twice');
});

test('binary publishes: a Buffer, or a string with binary = true, arrive as Buffers; a Buffer with binary = false as text', async (t) => {
  class Server extends Subscriber {}
  const { engine, url } = wsServe(t, Server);
  const clientEngine = startedEngine(t);
  const [a, b] = await clients(t, 2, `${url}/bin`, clientEngine);
  t.is(WebSocket.publish('bin', Buffer.from([1, 2, 3]), undefined, engine), 2);
  t.is(WebSocket.publish('bin', 'as bytes', true, engine), 2);
  t.is(WebSocket.publish('bin', Buffer.from('as text'), false, engine), 2);
  for (const client of [a, b]) t.deepEqual(await client.messagesUntil(3), [Buffer.from([1, 2, 3]), Buffer.from('as bytes'), 'as text']);
});

test('a raw client gets the published message as one unmasked frame of the right type', async (t) => {
  class Server extends Subscriber {}
  const { engine, port } = wsServe(t, Server);
  const raw = await rawConnect(t, port, '/raw');
  await firstOpened(Server);
  t.is(WebSocket.publish('raw', 'x'.repeat(70_000), false, engine), 1);
  const frame = await raw.next();
  t.deepEqual([frame.fin, frame.opcode, frame.masked, frame.payload.length], [true, OP.TEXT, false, 70_000]);
  raw.destroy();
});

test('a publisher that is not subscribed does not get its own message and is not counted', async (t) => {
  class Server extends Subscriber {}
  const { url } = wsServe(t, Server);
  const clientEngine = startedEngine(t);
  const [subscribed] = await clients(t, 1, `${url}/room`, clientEngine);
  const [outsider] = await clients(t, 1, `${url}/`, clientEngine);
  outsider.write('pub:room:hello room');
  t.deepEqual(await outsider.messagesUntil(1), ['pub:1']);
  t.deepEqual(await subscribed.messagesUntil(1), ['hello room']);
  await sleep(100);
  t.deepEqual(outsider.messages, ['pub:1']);
});

test('unsubscribe: half of 200 leave, a publish reaches the other half only', async (t) => {
  class Server extends Subscriber {}
  const { engine, url } = wsServe(t, Server);
  const clientEngine = startedEngine(t);
  const all = await clients(t, 200, `${url}/half`, clientEngine);
  await waitFor(() => instancesOf(Server).filter((socket) => socket.connectArgs !== null).length === 200, 20_000, 'server sockets');
  const leaving = all.filter((_, index) => index % 2 === 0);
  for (const client of leaving) client.write('unsub:half');
  await Promise.all(leaving.map(async (client) => t.is(await client.nextMessage(), 'unsub:true')));
  t.is(WebSocket.publish('half', 'for those who stayed', false, engine), 100);
  const staying = all.filter((_, index) => index % 2 === 1);
  await Promise.all(staying.map(async (client) => t.is(await client.nextMessage(), 'for those who stayed')));
  await sleep(200);
  t.true(leaving.every((client) => client.messages.length === 1));
});

test('a socket that closes leaves all its topics: by close(), by the peer closing, by TCP dropping', async (t) => {
  class Server extends Subscriber {}
  const { engine, url, port } = wsServe(t, Server);
  const clientEngine = startedEngine(t);
  const [closer, stayer] = await clients(t, 2, `${url}/t1,t2`, clientEngine);
  const raw = await rawConnect(t, port, '/t1,t2');
  await waitFor(() => instancesOf(Server).filter((socket) => socket.connectArgs !== null).length === 3, 20_000, 'three sockets');
  t.is(WebSocket.publish('t1', 'three', false, engine), 3);
  // the client closes
  closer.close();
  await within(closer.closed.promise, 20_000, 'close');
  await waitFor(() => instancesOf(Server).filter((socket) => socket.closeArgs).length === 1, 20_000, 'server onClose');
  const [gone] = instancesOf(Server).filter((socket) => socket.closeArgs);
  t.deepEqual([...gone.subscriptions], []);
  t.is(WebSocket.publish('t2', 'two', false, engine), 2);
  // the TCP connection drops
  raw.destroy();
  await waitFor(() => instancesOf(Server).filter((socket) => socket.closeArgs).length === 2, 20_000, 'the dropped one');
  t.is(WebSocket.publish('t1', 'one', false, engine), 1);
  // the server side closes: it leaves as soon as it is closing
  const last = instancesOf(Server).find((socket) => !socket.closeArgs)!;
  last.close(4000, 'bye');
  t.is(WebSocket.publish('t1', 'nobody', false, engine), 0);
  t.deepEqual([...last.subscriptions], []);
  await within(stayer.closed.promise, 20_000, 'the last client closes');
  t.deepEqual(stayer.messages, ['three', 'two', 'one']);
});

test('topics are per engine: a publish on one engine does not reach subscribers of another', async (t) => {
  class ServerA extends Subscriber {}
  class ServerB extends Subscriber {}
  const a = wsServe(t, ServerA);
  const b = wsServe(t, ServerB);
  const clientEngine = startedEngine(t);
  const [onA] = await clients(t, 1, `${a.url}/shared`, clientEngine);
  const [onB] = await clients(t, 1, `${b.url}/shared`, clientEngine);
  t.is(WebSocket.publish('shared', 'only A', false, a.engine), 1);
  t.is(await onA.nextMessage(), 'only A');
  t.is(WebSocket.publish('shared', 'only B', false, b.engine), 1);
  t.is(await onB.nextMessage(), 'only B');
  await sleep(100);
  t.deepEqual(onA.messages, ['only A']);
  t.deepEqual(onB.messages, ['only B']);
  // client sockets subscribe too: topics live on the engine, whichever side
  onA.subscribe('clients');
  onB.subscribe('clients');
  t.is(WebSocket.publish('clients', 'to the client engine', false, clientEngine), 2, 'client-side sockets on the client engine');
  const [serverA] = instancesOf(ServerA);
  await within(
    (async () => {
      while (serverA.messages.length === 0) await sleep(10);
    })(),
    10_000,
    'the server side to get the client’s publish',
  );
  t.deepEqual(serverA.messages, ['to the client engine']);
});

test.serial('WebSocket.publish without an engine publishes on Engine.instance(), where sockets made without an engine live', async (t) => {
  const engine = Engine.instance();
  void engine.start();
  t.teardown(() => engine.stop());
  class Server extends Subscriber {}
  const server = new HTTPServer(Server).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  class Client extends Recording {}
  const client = new Client();
  t.is(client.engine, engine);
  client.connect(`ws://127.0.0.1:${portOf(server)}/global`);
  await within(client.opened.promise, 20_000, 'open');
  await waitFor(() => instancesOf(Server).some((socket) => socket.connectArgs !== null), 20_000, 'server socket');
  t.is(instancesOf(Server)[0].engine, engine);
  t.is(WebSocket.publish('global', 'via the global engine'), 1);
  t.deepEqual(await client.messagesUntil(1), ['via the global engine']);
  client.close();
  await within(client.closed.promise, 20_000, 'close');
});
