// The WebSocket chat example of the README, served for real: the page over
// HTTP, and two rooms of pants-net WebSocket clients talking through it.
import test, { ExecutionContext } from 'ava';
import { Engine } from 'pants-net';
import { HTTPServer, WebSocket } from 'pants-net/http';

import { chatApp, PAGE } from '../examples/websocket_chat.js';
import { portOf, startedEngine, waitFor } from './helpers.js';

function serve(t: ExecutionContext, engine: Engine): number {
  const server = new HTTPServer(chatApp(), { engine }).listen(['127.0.0.1', 0]);
  t.teardown(() => server.close());
  return portOf(server);
}

/** A client that keeps every line it receives, and how its connection ended. */
class Member extends WebSocket {
  readonly lines: string[] = [];
  opened = false;
  closedWith: number | null = null;
  failure: Error | null = null;

  override onConnect(): void {
    this.opened = true;
  }

  override onRead(line: string): void {
    this.lines.push(line);
  }

  override onClose(code: number): void {
    this.closedWith = code;
  }

  override onError(error: Error): void {
    this.failure = error;
  }
}

function join(t: ExecutionContext, engine: Engine, port: number, room: string): Member {
  const member = new Member({ engine }).connect(`ws://127.0.0.1:${port}/chat/${room}`);
  t.teardown(() => {
    if (member.readyState === WebSocket.OPEN) member.close();
  });
  return member;
}

test('websocket_chat: the page is served, and a line reaches everyone in the room, not the other rooms', async (t) => {
  const engine = startedEngine(t);
  const port = serve(t, engine);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  t.is(await page.text(), PAGE);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html/);

  const alice = join(t, engine, port, 'lobby');
  const bob = join(t, engine, port, 'lobby');
  const carol = join(t, engine, port, 'kitchen');
  await waitFor(() => alice.opened && bob.opened && carol.opened, 5000, 'three members connected');
  await waitFor(() => alice.lines.some((line) => line.endsWith('joined lobby') && bob.lines.length > 0), 5000, 'the join notices');
  alice.write('hello, lobby');
  await waitFor(() => alice.lines.some((line) => line.endsWith(': hello, lobby')) && bob.lines.some((line) => line.endsWith(': hello, lobby')), 5000, 'the line reached both members');
  t.false(carol.lines.some((line) => line.includes('hello, lobby')), 'another room hears nothing');

  bob.close();
  await waitFor(() => bob.closedWith !== null, 5000, 'bob closed');
  t.is(bob.closedWith, 1000);
  await waitFor(() => alice.lines.some((line) => line.endsWith(' left')), 5000, 'alice hears that bob left');
});

test('websocket_chat: a room name the handshake refuses is answered 403', async (t) => {
  const engine = startedEngine(t);
  const port = serve(t, engine);
  const intruder = join(t, engine, port, 'no%20spaces%20here%21');
  await waitFor(() => intruder.closedWith !== null, 5000, 'the handshake failed');
  t.is(intruder.closedWith, 1006);
  t.is((intruder.failure as { code?: string } | null)?.code, 'ERR_PANTS_WS_HANDSHAKE');
  t.regex(intruder.failure?.message ?? '', /403/);
  t.false(intruder.opened);
});
