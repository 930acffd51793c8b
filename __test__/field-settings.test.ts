// Settings declared as class fields, as JavaScript users write them: they
// apply, the other fields keep their values and order, and the stream stays
// in V8's fast property mode (a dictionary-mode stream ran a line echo 36%
// slower).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import test from 'ava';
import { Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, startedEngine, waitFor } from './helpers.js';

test('settings declared as fields apply; the fields around them keep their values, order and attributes', async (t) => {
  const engine = startedEngine(t);
  const seen: { keys: string[]; lines: string[]; timeout: number | null; hidden: unknown; hiddenEnumerable: boolean | undefined }[] = [];
  class Lines extends Stream {
    before = 'first';
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    readDelimiter = '\n';
    count = 0;
    // @ts-expect-error TS2610: a setting declared as a field, as JavaScript users write it
    timeout = 30;
    after = ['last'];
    lines: string[] = [];
    constructor(...args: ConstructorParameters<typeof Stream>) {
      super(...args);
      Object.defineProperty(this, 'hidden', { value: 42, enumerable: false, writable: true, configurable: true });
    }
    override onRead(line: Buffer) {
      this.count++;
      this.lines.push(line.toString());
      if (this.count === 2) {
        const own = Object.getOwnPropertyDescriptor(this, 'hidden');
        seen.push({ keys: Object.keys(this), lines: this.lines, timeout: this.timeout, hidden: own?.value, hiddenEnumerable: own?.enumerable });
      }
    }
  }
  const server = closeAtEnd(t, new Server(Lines, { engine }).listen(['127.0.0.1', 0]));
  const client = await netClient(t, portOf(server));
  client.write('one\ntwo\n');
  await waitFor(() => seen.length === 1);
  t.deepEqual(seen[0], {
    keys: ['engine', 'before', 'count', 'after', 'lines'],
    lines: ['one', 'two'],
    timeout: 30,
    hidden: 42,
    hiddenEnumerable: false,
  });
});

test('a stream whose settings are fields stays in V8 fast property mode', (t) => {
  const entry = join(__dirname, '..', '..', 'dist', 'index.js');
  const program = `
    const net = require('node:net');
    const { Engine, Server, Stream } = require(${JSON.stringify(entry)});
    const engine = new Engine();
    class Lines extends Stream {
      readDelimiter = '\\n';
      count = 0;
      timeout = 30;
      onRead() {
        console.log(%HasFastProperties(this) ? 'fast' : 'dictionary');
        server.close();
        engine.stop();
        client.destroy();
      }
    }
    const server = new Server(Lines, { engine }).listen(['127.0.0.1', 0]);
    void engine.start();
    const client = net.connect(server.localAddress[1], '127.0.0.1', () => client.write('line\\n'));
  `;
  const result = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', program], { encoding: 'utf8', timeout: 10000 });
  t.is(result.status, 0, result.stderr);
  t.is(result.stdout.trim(), 'fast');
});
