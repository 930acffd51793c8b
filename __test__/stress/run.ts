// `npm run stress`: every full-size reliability program, each in a child
// process, one after the other, with its figures. About 5 minutes on a
// 2-core machine; each program has its own deadline, all of them well
// inside 15 minutes together.
//
//   node build/__test__/stress/run.js [--quick] [--only NAME[,NAME...]]
//
// --quick runs every program at the size of its reliability test (a smoke
// test of this runner). Exits non-zero when a program fails or a check of
// its figures does not hold.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

import { mebibytes, runChild } from './common.js';

const QUICK = process.argv.includes('--quick');
const ONLY = (() => {
  const at = process.argv.indexOf('--only');
  return at < 0 ? null : new Set(process.argv[at + 1].split(','));
})();
const ROOT = resolve(__dirname, '..', '..', '..');

type Figures = Record<string, any>;

interface Program {
  name: string;
  /** Runs the program; resolves with its figures. */
  run(): Promise<Figures>;
  /** One line of figures. */
  describe(figures: Figures): string;
}

const script = (name: string) => join(__dirname, `${name}.js`);
const size = (full: number, quick: number) => String(QUICK ? quick : full);
const memoryLine = (figures: Figures) => `rss ${mebibytes(figures.rssBefore)} -> ${mebibytes(figures.rssAfter)}`;

/** Runs a program and fails unless its result says ok. */
async function checked(name: string, args: string[], options: { nodeArgs?: string[]; timeoutMs: number }): Promise<Figures> {
  const { result } = await runChild<Figures>(script(name), args, options);
  if (!result.ok) throw new Error(`${name} reported a failure: ${JSON.stringify(result).slice(0, 2000)}`);
  return result;
}

/** `cargo test` of the framing fuzz tests with PANTS_FUZZ_CASES, counting the cases it reports. */
function cargoFuzz(cases: number): Promise<Figures> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn('cargo', ['test', '--release', '-p', 'pants-core', '--test', 'fuzz_framing', '--', '--nocapture', '--test-threads=2'], {
      cwd: ROOT,
      env: { ...process.env, PANTS_FUZZ_CASES: String(cases) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), 420_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`cargo test --test fuzz_framing failed (${code}):\n${output.slice(-6000)}`));
        return;
      }
      const properties = [...output.matchAll(/^fuzz: (\d+) cases$/gm)].map((match) => Number(match[1]));
      const exhaustive = Number(/^fuzz: (\d+) exhaustive chunkings$/m.exec(output)?.[1] ?? 0);
      const passed = /test result: ok\. (\d+) passed/.exec(output)?.[1];
      resolvePromise({ properties: properties.length, cases: properties.reduce((sum, count) => sum + count, 0), exhaustive, tests: Number(passed), elapsedMs: Date.now() - started });
    });
  });
}

/** A hostile-peer attack of hostile.ts, at full or --quick size. */
function attack(name: string, args: string[], describe: (f: Figures) => string, timeoutMs = 300_000): Program {
  return { name, run: () => checked('hostile', ['--attack', name, ...args], { nodeArgs: ['--expose-gc'], timeoutMs }), describe };
}

const blocked = (f: Figures) => `longest block of Node's loop ${f.longestBlockMs} ms`;

const PROGRAMS: Program[] = [
  {
    name: 'connections',
    run: () => checked('connections', ['--connections', size(10_000, 1000)], { timeoutMs: 300_000 }),
    describe: (f) =>
      `${f.held} connections held at once (after ${f.allOpenAfterMs} ms), ${f.bytesVerified} bytes verified, ` +
      `${f.server.closes} + ${f.client.closes} onClose, done in ${(f.elapsedMs / 1000).toFixed(1)} s; ` +
      `server rss ${mebibytes(f.rssBefore)} -> ${mebibytes(f.rssAllOpen)} with all open -> ${mebibytes(f.rssAfter)}`,
  },
  {
    name: 'bigstream',
    run: () => checked('bigstream', ['--mebibytes', size(1024, 64)], { nodeArgs: ['--expose-gc'], timeoutMs: 180_000 }),
    describe: (f) =>
      `${mebibytes(f.received)} through one stream, sha256 equal on both ends, ${f.writes} writes of random size, ` +
      `${f.frames} frames of random size, ${(f.received / 2 ** 20 / (f.elapsedMs / 1000)).toFixed(0)} MiB/s, peak bufferedAmount ${mebibytes(f.peakBufferedAmount)}; ${memoryLine(f)}`,
  },
  {
    name: 'faults',
    run: () => checked('faults', ['--connections', size(20_000, 300), '--concurrency', '64'], { nodeArgs: ['--expose-gc'], timeoutMs: 300_000 }),
    describe: (f) =>
      `${f.faultsInjected} faults injected over ${f.connections} connections ${JSON.stringify(f.scenarios)}, ` +
      `${f.linesVerified} lines and ${f.repliesVerified} replies verified, ${f.serverCloses} onClose for ${f.accepted} accepted, ` +
      `${f.violationCount} violations, in ${(f.elapsedMs / 1000).toFixed(1)} s; ${memoryLine(f)}`,
  },
  {
    name: 'leaks',
    run: () => checked('leaks', ['--cycles', size(100_000, 5000), '--concurrency', '16'], { nodeArgs: ['--expose-gc'], timeoutMs: 300_000 }),
    describe: (f) =>
      `${f.cycles} connect/echo/close cycles (after ${f.warmup} warm-up) in ${(f.elapsedMs / 1000).toFixed(1)} s; ` +
      `heap ${mebibytes(f.heapBefore)} -> ${mebibytes(f.heapAfter)} (after full GCs), ${memoryLine(f)}`,
  },
  {
    name: 'fuzz-struct',
    run: () => checked('fuzz-struct', ['--cases', size(1_000_000, 20_000), '--seed', '1'], { timeoutMs: 300_000 }),
    describe: (f) =>
      `${f.cases} Struct/NetStruct cases, ${f.executions} executions, ${f.formatsAccepted} formats accepted and ${f.formatsRejected} rejected, ` +
      `${f.typedErrors} typed errors, ${f.roundTrips} round trips, ${f.failureCount} failures, in ${(f.elapsedMs / 1000).toFixed(1)} s`,
  },
  {
    name: 'fuzz-framing',
    run: () => cargoFuzz(QUICK ? 2000 : 1_000_000),
    describe: (f) =>
      `${f.cases} proptest cases over ${f.properties} Framer properties (Count, Sequence, Records, switching, arbitrary bytes, Chunk) ` +
      `+ ${f.exhaustive} exhaustive chunkings, ${f.tests} tests passed, in ${(f.elapsedMs / 1000).toFixed(1)} s (build included)`,
  },
  attack('tls-hello-fin', ['--count', size(2000, 100)], (f) =>
    `${f.connections} ClientHellos then FIN or reset: ${f.closes} onClose, ${JSON.stringify(f.handshakeErrors)}, leaked fds ${f.leakedFds}, ${blocked(f)}`),
  attack('tls-first-flight', ['--count', size(500, 50)], (f) =>
    `${f.clients} TLS clients whose server closed after its first flight: ${f.closes} onClose, ${JSON.stringify(f.handshakeErrors)}, leaked fds ${f.leakedFds}, ${blocked(f)}`),
  attack('tls-silent', ['--count', size(5000, 200)], (f) =>
    `${f.connections} silent or half-ClientHello peers, handshakeTimeout 1 s: all ${f.closes} closed after ${f.closedAfterMs} ms, ${JSON.stringify(f.handshakeErrors)}, leaked fds ${f.leakedFds}, ${blocked(f)}`),
  attack('tls-writefile', ['--mebibytes', size(256, 16)], (f) =>
    `${f.mebibytes} MiB over TLS to ${f.readers} readers stalled 2 s: ${f.intact} intact (sha256), RSS growth ${mebibytes(f.rssGrowth)}, writeFile call ${f.longestWriteFileCallMs} ms, ${blocked(f)}`),
  attack('tls-early-writes', ['--count', size(200, 20)], (f) =>
    `1 MiB writes before an unanswered handshake: ${f.writesAcceptedWithTrue} accepted with true, bufferedAmount ${mebibytes(f.bufferedAmount)}, RSS growth ${mebibytes(f.rssGrowth)}`),
  attack('udp-senders', ['--count', size(100_000, 5000)], (f) =>
    `${f.senders} UDP senders with a partial line (maxSenders ${f.maxSenders}): RSS growth ${mebibytes(f.rssGrowth)}, ${blocked(f)}`),
  attack('udp-regex-cost', ['--count', size(10_000, 1000)], (f) =>
    `RegExp-framed packets: ${f.cpuMicrosecondsPerPacketAlone} µs CPU each alone, ${f.cpuMicrosecondsPerPacketWithSenders} µs with ${f.senders} senders holding partial frames (× ${f.ratio})`),
  attack('onwrite-pump', ['--seconds', size(5, 1)], (f) =>
    `write(1 KiB, true) from every onWrite for ${f.seconds} s: ${f.mebibytesSent} MiB sent, engine cycle (10 ms) ran ${f.engineCycleTicks} times, ${blocked(f)}`),
  attack('regexp', [], (f) => `/(a+)+b/ against 30 'a's: another peer's echo took ${f.echoLatencyMs} ms, ${blocked(f)}`),
];

async function main(): Promise<void> {
  const started = Date.now();
  let failures = 0;
  for (const program of PROGRAMS) {
    if (ONLY && !ONLY.has(program.name)) continue;
    const programStarted = Date.now();
    process.stdout.write(`stress: ${program.name} ...\n`);
    try {
      const figures = await program.run();
      process.stdout.write(`stress: ${program.name} ok (${((Date.now() - programStarted) / 1000).toFixed(1)} s): ${program.describe(figures)}\n`);
    } catch (error) {
      failures += 1;
      process.stdout.write(`stress: ${program.name} FAILED (${((Date.now() - programStarted) / 1000).toFixed(1)} s): ${(error as Error).message}\n`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`stress: ${failures === 0 ? 'all passed' : `${failures} failed`} in ${seconds.toFixed(0)} s${QUICK ? ' (--quick sizes)' : ''}\n`);
  if (failures > 0) process.exitCode = 1;
}

void main();
