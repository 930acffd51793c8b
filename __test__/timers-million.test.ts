import test from 'ava';
import { Engine } from 'pants-net';

test('1,000,000 deferreds all fire once, in due order', (t) => {
  const engine = new Engine();
  const count = 1_000_000;
  let fired = 0;
  let lastMs = 0;
  let ordered = true;
  // Scheduled within one iteration, they share its time: due order is delay order.
  engine.callback(() => {
    for (let index = 0; index < count; index++) {
      const ms = 1 + (index % 50);
      engine.defer(ms / 1000, () => {
        if (ms < lastMs) ordered = false;
        lastMs = ms;
        fired += 1;
      });
    }
  });
  const deadline = Date.now() + 30000;
  while (fired < count && Date.now() < deadline) engine.poll(0.01);
  t.is(fired, count);
  t.true(ordered);
});
