// Leaks: 5,000 connect/echo/close cycles through the TypeScript API in a
// child process run with --expose-gc, the JS heap (after full GCs) and RSS
// measured before and after (`npm run stress` runs 100,000 cycles).
import test from 'ava';
import { join } from 'node:path';

import { runChild } from './stress/common.js';
import type { LeakFigures } from './stress/leaks.js';

const MiB = 2 ** 20;

test('5,000 connect/echo/close cycles leave the heap and RSS where they were (generous bounds)', async (t) => {
  const { result } = await runChild<LeakFigures & { ok: boolean }>(join(__dirname, 'stress', 'leaks.js'), ['--cycles', '5000', '--concurrency', '16'], {
    nodeArgs: ['--expose-gc'],
    timeoutMs: 50_000,
  });
  const heapGrowth = result.heapAfter - result.heapBefore;
  const rssGrowth = result.rssAfter - result.rssBefore;
  t.log(
    `${result.cycles} cycles in ${result.elapsedMs} ms: heap ${(result.heapBefore / MiB).toFixed(1)} -> ${(result.heapAfter / MiB).toFixed(1)} MiB, ` +
      `rss ${(result.rssBefore / MiB).toFixed(1)} -> ${(result.rssAfter / MiB).toFixed(1)} MiB`,
  );
  t.true(result.gc, 'the child ran with --expose-gc');
  t.true(result.ok, JSON.stringify(result));
  t.is(result.echoed, result.warmup + result.cycles);
  t.is(result.serverCloses, result.warmup + result.cycles);
  t.is(result.channelsLeft, 0);
  t.true(heapGrowth < 4 * MiB, `the heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB`);
  t.true(rssGrowth < 64 * MiB, `RSS grew by ${(rssGrowth / MiB).toFixed(1)} MiB`);
});
