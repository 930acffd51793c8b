// The typings a user leans on, proven by `tsc --strict` on a user's file:
// `this.server` typed by `Stream<TServer>`, `remoteAddress` read without casts (hostPort, isInetAddress), onRead
// declared with what its delimiter delivers; the `@ts-expect-error` lines
// prove the types are not merely `any`.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, hostPort, isInetAddress, Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, startedEngine } from './helpers.js';

const ROOT = join(__dirname, '..', '..');

const USER_FILE = `
import { Address, hostPort, isInetAddress, Server, Stream, StreamClass } from 'pants-net';

class ChatServer extends Server {
  override ConnectionClass = ChatConnection;
  readonly names: string[] = [];
  broadcast(line: string): number {
    for (const stream of this.channels.values()) stream.write(line);
    return this.channels.size;
  }
}

class ChatConnection extends Stream<ChatServer> {
  override onConnect(): void {
    this.readDelimiter = '\\n';
    this.encoding = 'utf8';
    const sent: number | undefined = this.server?.broadcast('hello\\n');
    const names: string[] | undefined = this.server?.names;
    // @ts-expect-error the server is typed: ChatServer has no such member
    this.server?.shout('x');
    // @ts-expect-error and it may be null (a stream that connected out)
    this.server.broadcast('x');
    const peer = hostPort(this.remoteAddress);
    const host: string | undefined = peer?.host;
    const port: number | undefined = peer?.port;
    const address = this.remoteAddress;
    if (isInetAddress(address)) {
      const [h, p]: [string, number] = [address[0], address[1]];
      void h;
      void p;
    }
    void sent, names, host, port;
  }
  override onRead(line: string): void {
    // @ts-expect-error a number is not a string
    const wrong: number = line;
    void wrong;
  }
}

class Plain extends Stream {
  override onConnect(): void {
    // Without a type parameter the server is untyped, so that the class still
    // passes as \`typeof Stream\`; a cast reaches a subclass's members.
    const size: number | undefined = this.server?.channels.size;
    const sent: number | undefined = (this.server as ChatServer | null)?.broadcast('x');
    void sent;
    // @ts-expect-error an Address is not a host string without hostPort()
    const host: string = this.remoteAddress;
    void size, host;
  }
}

const streams: Stream[] = [new ChatConnection(), new Plain()];
// Both pass where a Stream class is asked for: StreamClass takes either, and
// typeof Stream a subclass without a server type.
const classes: StreamClass[] = [ChatConnection, Plain];
function wrap(base: typeof Stream): typeof Stream {
  return class extends base {};
}
const wrapped: typeof Stream = wrap(Plain);
const served = new Server(ChatConnection);
void classes, wrapped, served;
const address: Address | null = streams[0].remoteAddress;
void address;
export { ChatServer };
`;

test('tsc --strict compiles a typed user file: Stream<TServer>, hostPort, isInetAddress, onRead by delimiter', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pants-typing-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'pants-net'), 'dir');
  writeFileSync(join(dir, 'user.ts'), USER_FILE);
  const compiler = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--strict', '--noEmit', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--skipLibCheck', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', 'user.ts'];
  const result = spawnSync(process.execPath, [compiler, ...args], { cwd: dir, encoding: 'utf8' });
  t.is(result.status, 0, `${result.stdout}${result.stderr}`);
});

test('hostPort and isInetAddress read a real peer address; a UNIX path or null gives null', async (t) => {
  const engine = startedEngine(t);
  let seen: { host: string; port: number } | null = null;
  let inet = false;
  class Peer extends Stream {
    override onConnect() {
      seen = hostPort(this.remoteAddress);
      inet = isInetAddress(this.remoteAddress);
      this.write('ok');
    }
  }
  const server = closeAtEnd(t, new Server(Peer, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  t.is((await readBytes(client, 2)).toString(), 'ok');
  t.true(inet);
  t.deepEqual(seen, { host: '127.0.0.1', port: client.localPort });
  t.is(hostPort('/tmp/x.sock'), null);
  t.is(hostPort(null), null);
  t.is(hostPort(4040), null);
  t.deepEqual(hostPort(['::1', 80, 0, 0]), { host: '::1', port: 80 });
  t.false(isInetAddress('/tmp/x.sock'));
  void Engine;
});

test('this.server is the accepting server', async (t) => {
  const engine = startedEngine(t);
  class Counter extends Server {
    override ConnectionClass = Counted;
    count = 0;
  }
  class Counted extends Stream<Counter> {
    override onConnect() {
      const server = this.server!;
      t.true(server instanceof Counter);
      server.count += 1;
      this.write(String(server.count));
    }
  }
  const server = closeAtEnd(t, new Counter({ engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  t.is((await readBytes(client, 1)).toString(), '1');
  t.is(server.count, 1);
});
