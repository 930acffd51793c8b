// A RegExp delimiter runs over bytes a peer chose. A pattern with
// catastrophic backtracking, /(a+)+b/, took seconds over 27 'a' bytes, and
// the engine (every connection, every timer) stood still meanwhile. V8's
// linear-time fallback, which the package enables when it loads, bounds it.
import test from 'ava';
import { Server, Stream } from 'pants-net';

import { closeAtEnd, netClient, portOf, readBytes, startedEngine } from './helpers.js';

/** Bytes of 'a' the attacker sends: without the fallback, about 20 s of backtracking here. */
const ATTACK_BYTES = 30;

class Echo extends Stream {
  override onRead(data: Buffer) {
    this.write(data);
  }
}

test.serial(`a pathological RegExp delimiter fed ${ATTACK_BYTES} 'a' bytes does not stop another connection's echo`, async (t) => {
  const engine = startedEngine(t);
  let frames = 0;
  class Vulnerable extends Stream {
    override onConnect() {
      this.readDelimiter = /(a+)+b/;
    }
    override onRead() {
      frames += 1;
    }
  }
  const vulnerable = closeAtEnd(t, new Server(Vulnerable, { engine }).listen(['127.0.0.1', 0]));
  const echo = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const attacker = await netClient(t, portOf(vulnerable));
  const user = await netClient(t, portOf(echo));
  user.write('warm');
  t.is((await readBytes(user, 4)).toString(), 'warm');

  const started = Date.now();
  attacker.write('a'.repeat(ATTACK_BYTES));
  await new Promise((resolve) => setTimeout(resolve, 50)); // the attack bytes reach the engine first
  user.write('ping');
  t.is((await readBytes(user, 4)).toString(), 'ping');
  const elapsed = Date.now() - started;
  t.log(`the other connection's echo came back ${elapsed} ms after the attack`);
  t.true(elapsed < 2000, `the echo took ${elapsed} ms`);
  // The attacked stream still frames: a 'b' completes the match.
  attacker.write('b');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(frames, 1);
});

test.serial('an anchored pathological RegExp (regexSearch = false) is bounded too', async (t) => {
  const engine = startedEngine(t);
  class Vulnerable extends Stream {
    override onConnect() {
      this.regexSearch = false;
      this.readDelimiter = /(a+)+b/;
    }
  }
  const vulnerable = closeAtEnd(t, new Server(Vulnerable, { engine }).listen(['127.0.0.1', 0]));
  const echo = closeAtEnd(t, new Server(Echo, { engine }).listen(['127.0.0.1', 0]));
  const attacker = await netClient(t, portOf(vulnerable));
  const user = await netClient(t, portOf(echo));
  const started = Date.now();
  attacker.write('a'.repeat(ATTACK_BYTES));
  await new Promise((resolve) => setTimeout(resolve, 50));
  user.write('ping');
  t.is((await readBytes(user, 4)).toString(), 'ping');
  const elapsed = Date.now() - started;
  t.log(`the other connection's echo came back ${elapsed} ms after the attack`);
  t.true(elapsed < 2000, `the echo took ${elapsed} ms`);
});
