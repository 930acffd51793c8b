// What one call across the native boundary costs: a function napi-rs wraps
// (`pendingInput`, two numbers in, one out) against the plain N-API
// callbacks of the hot path (crates/pants-node/src/functions/hot.rs), with
// numbers only and with a typed array. Prints one line per call, in ns.
//
//   node build/bench/boundary.js [--calls N]

import { createRequire } from 'node:module';
import * as path from 'node:path';

import { ROOT } from './lib/options.js';

// The package's own loader (not exported: these functions are internal).
const { native } = createRequire(__filename)(path.join(ROOT, 'dist', 'native.js')) as typeof import('../dist/native.js');

const index = process.argv.indexOf('--calls');
const calls = index >= 0 ? Number(process.argv[index + 1]) : 5_000_000;
const owner = new native.NativeEngine(); // the engine lives as long as this object
const id = owner.id;
const events = new Int32Array(4096);

const cases: [string, () => unknown][] = [
  ['napi-rs #[napi] fn, 2 numbers (pendingInput)', () => native.pendingInput(id, 0)],
  ['plain N-API callback, 2 numbers (cancelTimer)', () => native.cancelTimer(id, 0)],
  ['plain N-API callback, number + Int32Array (takeEvents)', () => native.takeEvents(id, events)],
];

for (let round = 0; round < 2; round++) {
  for (const [name, call] of cases) {
    for (let i = 0; i < 100_000; i++) call();
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) call();
    const ns = Number(process.hrtime.bigint() - start) / calls;
    if (round === 1) console.log(`${name}: ${ns.toFixed(0)} ns per call`);
  }
}
