// Benchmark runner: `npm run bench` (after `npm run build`).
//
// Builds the Rust load generator, then for every workload row runs
// alternating rounds of "start an echo server, drive it with loadgen, sample
// the server's CPU time, kill it" for each server, and reports the median
// rate, the Pants/node:net ratio and the server CPU time per message. The
// table goes to stdout and to bench/results.md.
//
//   node build/bench/run.js [--quick] [--rounds N] [--duration S] [--warmup S]
//                           [--filter TEXT] [--out FILE]
//
// The server is pinned to CPU 0 and loadgen to CPU 1 with taskset when it
// exists, so the two never compete for a core.
//
// HTTP rows are driven by wrk instead of loadgen (`apt-get install wrk`); without
// wrk they report n/a. Their "node:net" column is the node:http baseline.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

// ---------------------------------------------------------------------------
// What to run. Add workloads (or servers) here as data.

/** A server to start: a script in build/bench/ and its arguments. */
type ServerCommand = [script: string, args: string[]];

type ServerName = 'pants' | 'net';

interface Row {
  name: string;
  /** loadgen arguments except --host/--port/--duration/--warmup. */
  loadgen: string[];
  /** Drive the row with wrk instead of loadgen: its arguments except --duration and the URL. */
  wrk?: string[];
  servers: Record<ServerName, ServerCommand>;
}

const SERVER_ORDER: readonly ServerName[] = ['pants', 'net'];

const ROWS: Row[] = [
  {
    name: 'TCP echo 50x64B',
    loadgen: ['--connections', '50', '--size', '64', '--inflight', '1'],
    servers: { pants: ['pants-echo.js', []], net: ['net-echo.js', []] },
  },
  {
    name: 'Line echo 50x64B',
    loadgen: ['--connections', '50', '--size', '64', '--inflight', '1', '--line'],
    servers: { pants: ['pants-echo.js', ['--line']], net: ['net-echo.js', ['--line']] },
  },
  {
    name: 'HTTP keep-alive 50 conns (node:http)',
    loadgen: [],
    wrk: ['--threads', '1', '--connections', '50'],
    servers: { pants: ['http-pants.js', []], net: ['http-node.js', []] },
  },
];

const SERVER_CPU = '0';
const LOADGEN_CPU = '1';
const SERVER_START_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------------------
// Options

interface Options {
  rounds: number;
  duration: number;
  warmup: number;
  filter: string | null;
  out: string;
  quick: boolean;
}

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH_BUILD_DIR = __dirname;
const LOADGEN = path.join(ROOT, 'target', 'release', 'loadgen');

function parseOptions(argv: string[]): Options {
  const opts: Options = {
    rounds: 3,
    duration: 5,
    warmup: 1,
    filter: null,
    out: path.join(ROOT, 'bench', 'results.md'),
    quick: false,
  };
  const positive = (flag: string, value: string | undefined, allowZero = false): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new Error(`${flag} needs a ${allowZero ? 'non-negative' : 'positive'} number`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--quick':
        opts.quick = true;
        opts.rounds = 1;
        opts.duration = 2;
        break;
      case '--rounds':
        opts.rounds = Math.round(positive(arg, argv[++i]));
        break;
      case '--duration':
        opts.duration = positive(arg, argv[++i]);
        break;
      case '--warmup':
        opts.warmup = positive(arg, argv[++i], true);
        break;
      case '--filter':
        opts.filter = argv[++i] ?? '';
        break;
      case '--out':
        opts.out = path.resolve(argv[++i] ?? opts.out);
        break;
      case '-h':
      case '--help':
        console.log(
          'usage: node build/bench/run.js [--quick] [--rounds N] [--duration S] [--warmup S] [--filter TEXT] [--out FILE]',
        );
        process.exit(0);
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return opts;
}

// ---------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>();

function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

// Pin only where there are two CPUs to keep apart and taskset to do it.
const hasTaskset =
  os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;

/** The command line, pinned to `cpu` when taskset is available. */
function pinned(cpu: string, command: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];
}

function clockTicksPerSecond(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && Number.isInteger(n) && n > 0 ? n : 100;
}
const CLK_TCK = clockTicksPerSecond();

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  return Number(fields[14 - 3]) + Number(fields[15 - 3]);
}

function buildLoadgen(): void {
  console.log('Building loadgen: cargo build --release -p pants-loadgen');
  const r = spawnSync('cargo', ['build', '--release', '-p', 'pants-loadgen'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) {
    throw new Error(`cargo build failed (${r.error?.message ?? `exit ${r.status}`})`);
  }
}

interface RunningServer {
  child: ChildProcess;
  pid: number;
  port: number;
  stderr: () => string;
}

/** Starts a server script and waits for the port it prints. */
function startServer([script, args]: ServerCommand): Promise<RunningServer> {
  const [command, argv] = pinned(SERVER_CPU, process.execPath, [path.join(BENCH_BUILD_DIR, script), ...args]);
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });

  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    const fail = (why: string): void => {
      clearTimeout(timer);
      lines.close();
      child.kill('SIGKILL');
      const name = [script, ...args].join(' ');
      reject(new Error(`${name}: ${why}${stderr ? `\n${stderr.trimEnd()}` : ''}`));
    };
    const timer = setTimeout(() => fail('did not print its port in time'), SERVER_START_TIMEOUT_MS);
    child.once('error', (e) => fail(e.message));
    // 'close' rather than 'exit', so its stderr has been read in full.
    child.once('close', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before listening`));
    lines.once('line', (line) => {
      const port = Number(line.trim());
      if (!Number.isInteger(port) || port <= 0 || port > 65535) {
        fail(`printed ${JSON.stringify(line)} instead of a port`);
        return;
      }
      clearTimeout(timer);
      child.removeAllListeners('close');
      // Keep draining stdout so the server never blocks on a full pipe.
      child.stdout!.resume();
      resolve({ child, pid: child.pid!, port, stderr: () => stderr });
    });
  });
}

function stopServer(server: RunningServer): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 2000);
    server.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    server.child.kill('SIGTERM');
  });
}

interface LoadgenResult {
  msgs: number;
  seconds: number;
  msgsPerSec: number;
  p50us: number;
  p99us: number;
  errors: number;
}

/**
 * Runs loadgen against `port`. `onMark` is called when loadgen announces the
 * start and the end of its measured window (its --marks lines on stderr).
 */
function runLoadgen(
  port: number,
  args: string[],
  opts: Options,
  onMark: (mark: 'measuring' | 'done') => void,
): Promise<LoadgenResult> {
  const [command, argv] = pinned(LOADGEN_CPU, LOADGEN, [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--duration', String(opts.duration),
    '--warmup', String(opts.warmup),
    '--marks',
    ...args,
  ]);
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  readline.createInterface({ input: child.stderr! }).on('line', (line) => {
    if (line === 'loadgen: measuring') onMark('measuring');
    else if (line === 'loadgen: done') onMark('done');
    else stderr += `${line}\n`;
  });
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`loadgen: ${e.message}`)));
    child.once('close', (code, signal) => {
      children.delete(child);
      const json = stdout.trim().split('\n').pop() ?? '';
      let result: LoadgenResult | null = null;
      try {
        result = JSON.parse(json) as LoadgenResult;
      } catch {
        // reported below
      }
      if (code !== 0 || result === null || result.errors !== 0) {
        reject(
          new Error(
            `loadgen ${argv.join(' ')} failed (${signal ?? `exit ${code}`})` +
              `${json ? `: ${json}` : ''}${stderr ? `\n${stderr.trimEnd()}` : ''}`,
          ),
        );
        return;
      }
      resolve(result);
    });
  });
}

const hasWrk = spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;

/** A wrk latency figure (`491.00us`, `2.22ms`, `1.01s`) in microseconds. */
function wrkMicroseconds(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (match === null) return NaN;
  return Number(match[1]) * { us: 1, ms: 1e3, s: 1e6 }[match[2] as 'us' | 'ms' | 's'];
}

/** Runs wrk against `port` for `seconds`, in the same shape as loadgen's result. */
function runWrk(port: number, args: string[], seconds: number): Promise<LoadgenResult> {
  const [command, argv] = pinned(LOADGEN_CPU, 'wrk', [
    ...args,
    '--duration', `${seconds}s`,
    '--latency',
    `http://127.0.0.1:${port}/`,
  ]);
  const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  return new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`wrk: ${e.message}`)));
    child.once('close', (code, signal) => {
      children.delete(child);
      const requests = /(\d+) requests in ([\d.]+)(m?s)/.exec(output);
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
      const badStatus = /Non-2xx or 3xx responses: (\d+)/.exec(output);
      const errors =
        (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) +
        (badStatus ? Number(badStatus[1]) : 0);
      if (code !== 0 || requests === null || errors !== 0) {
        reject(new Error(`wrk ${argv.join(' ')} failed (${signal ?? `exit ${code}`})\n${output.trimEnd()}`));
        return;
      }
      const msgs = Number(requests[1]);
      const elapsed = Number(requests[2]) / (requests[3] === 'ms' ? 1000 : 1);
      resolve({
        msgs,
        seconds: elapsed,
        msgsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? msgs / elapsed),
        p50us: wrkMicroseconds(/^\s+50%\s+(\S+)/m.exec(output)?.[1]),
        p99us: wrkMicroseconds(/^\s+99%\s+(\S+)/m.exec(output)?.[1]),
        errors,
      });
    });
  });
}

/** A warm-up run of wrk, then a measured one with the server's CPU time sampled around it. */
async function measureWithWrk(row: Row, running: RunningServer, opts: Options): Promise<Sample> {
  if (opts.warmup > 0) await runWrk(running.port, row.wrk!, opts.warmup);
  const before = cpuTicks(running.pid);
  const result = await runWrk(running.port, row.wrk!, opts.duration);
  const cpuSeconds = (cpuTicks(running.pid) - before) / CLK_TCK;
  return {
    msgsPerSec: result.msgsPerSec,
    cpuUsPerMsg: result.msgs > 0 ? (cpuSeconds * 1e6) / result.msgs : NaN,
    p50us: result.p50us,
    p99us: result.p99us,
  };
}

// ---------------------------------------------------------------------------
// Measurement

interface Sample {
  msgsPerSec: number;
  cpuUsPerMsg: number;
  p50us: number;
  p99us: number;
}

async function measure(row: Row, server: ServerName, opts: Options): Promise<Sample> {
  const running = await startServer(row.servers[server]);
  try {
    if (row.wrk) return await measureWithWrk(row, running, opts);
    // Sampled when loadgen's measured window starts and ends; the outer
    // samples are a fallback in case the marks never come.
    let before = cpuTicks(running.pid);
    let after: number | null = null;
    const result = await runLoadgen(running.port, row.loadgen, opts, (mark) => {
      try {
        if (mark === 'measuring') before = cpuTicks(running.pid);
        else after = cpuTicks(running.pid);
      } catch {
        // The server died; loadgen will report the failure.
      }
    });
    if (after === null) after = cpuTicks(running.pid);
    const cpuSeconds = (after - before) / CLK_TCK;
    return {
      msgsPerSec: result.msgsPerSec,
      cpuUsPerMsg: result.msgs > 0 ? (cpuSeconds * 1e6) / result.msgs : NaN,
      p50us: result.p50us,
      p99us: result.p99us,
    };
  } catch (e) {
    const err = e as Error;
    const log = running.stderr().trimEnd();
    if (log) err.message += `\nserver stderr:\n${log}`;
    throw err;
  } finally {
    await stopServer(running);
  }
}

function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface ServerSummary {
  msgsPerSec: number;
  cpuUsPerMsg: number;
  p50us: number;
  p99us: number;
  error: string | null;
}

interface RowResult {
  row: Row;
  servers: Record<ServerName, ServerSummary>;
  /** Why the row was not measured (its figures are n/a), else undefined. */
  skipped?: string;
}

async function runRow(row: Row, opts: Options): Promise<RowResult> {
  if (row.wrk && !hasWrk) {
    const skipped = 'wrk is not installed (apt-get install wrk)';
    console.log(`  ${row.name}: skipped: ${skipped}`);
    const none: ServerSummary = { msgsPerSec: NaN, cpuUsPerMsg: NaN, p50us: NaN, p99us: NaN, error: null };
    return { row, servers: { pants: none, net: none }, skipped };
  }
  const samples: Record<ServerName, Sample[]> = { pants: [], net: [] };
  const errors: Record<ServerName, string | null> = { pants: null, net: null };
  for (let round = 0; round < opts.rounds; round++) {
    // Alternate which server goes first, so slow drift doesn't favour one.
    const order = round % 2 === 0 ? SERVER_ORDER : [...SERVER_ORDER].reverse();
    for (const server of order) {
      if (errors[server] !== null) continue; // it already failed: don't retry
      try {
        const s = await measure(row, server, opts);
        samples[server].push(s);
        console.log(
          `  ${row.name} | ${server.padEnd(5)} | round ${round + 1}/${opts.rounds}: ` +
            `${fmtRate(s.msgsPerSec)} msgs/s, ${fmtCpu(s.cpuUsPerMsg)} CPU µs/msg, ` +
            `p50 ${s.p50us.toFixed(0)} µs, p99 ${s.p99us.toFixed(0)} µs`,
        );
      } catch (e) {
        errors[server] = (e as Error).message;
        console.error(`  ${row.name} | ${server}: FAILED: ${errors[server]}`);
      }
    }
  }
  const summarize = (server: ServerName): ServerSummary => ({
    msgsPerSec: median(samples[server].map((s) => s.msgsPerSec)),
    cpuUsPerMsg: median(samples[server].map((s) => s.cpuUsPerMsg)),
    p50us: median(samples[server].map((s) => s.p50us)),
    p99us: median(samples[server].map((s) => s.p99us)),
    error: errors[server],
  });
  return { row, servers: { pants: summarize('pants'), net: summarize('net') } };
}

// ---------------------------------------------------------------------------
// Reporting

function fmtRate(n: number): string {
  return Number.isNaN(n) ? 'n/a' : Math.round(n).toLocaleString('en-US');
}

function fmtCpu(n: number): string {
  return Number.isNaN(n) ? 'n/a' : n.toFixed(2);
}

function fmtRatio(a: number, b: number): string {
  return Number.isNaN(a) || Number.isNaN(b) || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`;
}

const HEADER = [
  'Workload',
  'Pants msgs/s',
  'node:net msgs/s',
  'Pants / node:net',
  'Pants CPU µs/msg',
  'node:net CPU µs/msg',
];

function tableRows(results: RowResult[]): string[][] {
  return results.map(({ row, servers: { pants, net } }) => [
    row.name,
    fmtRate(pants.msgsPerSec),
    fmtRate(net.msgsPerSec),
    fmtRatio(pants.msgsPerSec, net.msgsPerSec),
    fmtCpu(pants.cpuUsPerMsg),
    fmtCpu(net.cpuUsPerMsg),
  ]);
}

function latencyRows(results: RowResult[]): string[][] {
  const us = (n: number): string => (Number.isNaN(n) ? 'n/a' : n.toFixed(0));
  return results.map(({ row, servers: { pants, net } }) => [
    row.name,
    us(pants.p50us),
    us(pants.p99us),
    us(net.p50us),
    us(net.p99us),
  ]);
}

const LATENCY_HEADER = ['Workload', 'Pants p50 µs', 'Pants p99 µs', 'node:net p50 µs', 'node:net p99 µs'];

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i === 0 ? ':---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}

function machineLine(opts: Options): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() || 'unknown CPU';
  const date = new Date().toISOString().slice(0, 10);
  const pinning = hasTaskset
    ? `server pinned to CPU ${SERVER_CPU}, loadgen to CPU ${LOADGEN_CPU}`
    : 'no CPU pinning (taskset not found)';
  return (
    `Machine: ${model}, ${cpus.length} cores; Node ${process.version}; ${date}. ` +
    `Median of ${opts.rounds} round${opts.rounds === 1 ? '' : 's'} of ${opts.duration} s ` +
    `(after ${opts.warmup} s warmup)${opts.quick ? ' (--quick)' : ''}; ${pinning}; ` +
    `CPU µs/msg is the server's user+system CPU time over the measured window per echoed message.`
  );
}

function markdownReport(results: RowResult[], opts: Options): string {
  const failures = results.flatMap(({ row, servers }) =>
    SERVER_ORDER.filter((s) => servers[s].error !== null).map(
      (s) => `- ${row.name}, ${s}: ${servers[s].error!.split('\n')[0]}`,
    ),
  );
  return [
    '# Benchmark results',
    '',
    'Generated by `npm run bench` (bench/run.ts); servers in bench/, load from bench/loadgen (HTTP: wrk, against node:http).',
    '',
    markdownTable(HEADER, tableRows(results)),
    '',
    machineLine(opts),
    '',
    '## Round-trip latency (median over rounds)',
    '',
    markdownTable(LATENCY_HEADER, latencyRows(results)),
    ...(failures.length ? ['', '## Failures', '', ...failures] : []),
    ...results.filter((r) => r.skipped).map((r) => `\n${r.row.name}: not measured, ${r.skipped}.`),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  buildLoadgen();
  const rows = ROWS.filter((r) => opts.filter === null || r.name.includes(opts.filter));
  if (rows.length === 0) throw new Error(`no workload matches ${JSON.stringify(opts.filter)}`);

  const results: RowResult[] = [];
  for (const row of rows) {
    console.log(`${row.name}: ${row.wrk ? `wrk ${row.wrk.join(' ')}` : `loadgen ${row.loadgen.join(' ')}`}`);
    results.push(await runRow(row, opts));
  }

  console.log('');
  console.log(textTable(HEADER, tableRows(results)));
  console.log('');
  console.log(textTable(LATENCY_HEADER, latencyRows(results)));
  console.log('');
  console.log(machineLine(opts));

  fs.writeFileSync(opts.out, markdownReport(results, opts));
  console.log(`\nWrote ${path.relative(process.cwd(), opts.out) || opts.out}`);

  const failed = results.some(({ servers }) => SERVER_ORDER.some((s) => servers[s].error !== null));
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
