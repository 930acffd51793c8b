// Benchmark runner: `npm run bench` (after `npm run build`).
//
// Builds the Rust load generator and the native ceiling server, makes a
// throwaway TLS certificate, then for every row of lib/rows.ts runs
// alternating rounds of "start a server, drive it, sample it, stop it" for
// Pants, node:net and (for the echo rows) a minimal native epoll server.
// Reports medians, the ratios and whether each target was met: on stdout,
// in bench/results.md and as a chart in bench/results.svg.
//
//   node build/bench/run.js [--quick] [--rounds N] [--duration S] [--warmup S]
//                           [--filter TEXT] [--no-native] [--out FILE.md] [--svg FILE.svg]
//
// Servers run on CPU 0 and load generators on CPU 1 (taskset), so the two
// never compete for a core. See bench/README.md for what each row measures.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { hasWrk } from './lib/drivers.js';
import { measure, type Context, type Sample } from './lib/measure.js';
import { parseOptions, ROOT, type Options } from './lib/options.js';
import { runToCompletion, type Substitutions } from './lib/process.js';
import {
  fmtCpu,
  fmtValue,
  LATENCY_HEADER,
  latencyRows,
  MAIN_HEADER,
  mainRows,
  machineLine,
  markdownReport,
  svgChart,
  textTable,
  type RowResult,
  type RunInfo,
  type Summary,
} from './lib/report.js';
import { ROWS, type Row, type ServerName } from './lib/rows.js';

/** A throwaway self-signed certificate for the TLS row, removed at exit. */
function makeCertificate(): { cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-bench-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert, key };
}

function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function summarize(samples: Sample[], error: string | null): Summary {
  const of = (pick: (s: Sample) => number): number => median(samples.map(pick));
  const details: Record<string, number> = {};
  for (const key of new Set(samples.flatMap((s) => Object.keys(s.details)))) {
    details[key] = of((s) => s.details[key] ?? NaN);
  }
  return {
    value: of((s) => s.value),
    cpuUsPerOp: of((s) => s.cpuUsPerOp),
    p50us: of((s) => s.p50us),
    p99us: of((s) => s.p99us),
    clientBusy: of((s) => s.clientBusy),
    otherBusy: of((s) => s.otherBusy),
    details,
    error,
    runs: samples.length,
  };
}

function serversOf(row: Row, opts: Options): ServerName[] {
  return row.servers.native && !opts.noNative ? ['pants', 'net', 'native'] : ['pants', 'net'];
}

async function runRow(row: Row, ctx: Context): Promise<RowResult> {
  const { opts } = ctx;
  if (row.kind === 'wrk' && !hasWrk) {
    const skipped = 'wrk is not installed (apt-get install wrk)';
    console.log(`  skipped: ${skipped}`);
    return { row, servers: {}, skipped };
  }
  const names = serversOf(row, opts);
  const samples = new Map<ServerName, Sample[]>(names.map((n) => [n, []]));
  const errors = new Map<ServerName, string | null>(names.map((n) => [n, null]));
  for (let round = 0; round < opts.rounds; round++) {
    // Alternate the order, so that slow drift favours no server.
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const server of order) {
      if (errors.get(server) !== null) continue; // it failed once: don't retry
      try {
        const s = await measure(row, server, ctx);
        samples.get(server)!.push(s);
        const extra = [
          Number.isNaN(s.cpuUsPerOp) ? '' : `, CPU ${fmtCpu(s.cpuUsPerOp)} µs/${row.metric.op}`,
          Number.isNaN(s.p50us) ? '' : `, p50 ${s.p50us.toFixed(0)} µs, p99 ${s.p99us.toFixed(0)} µs`,
          Number.isNaN(s.clientBusy) ? '' : `, loadgen ${Math.round(s.clientBusy * 100)}% busy`,
          Number.isNaN(s.otherBusy) ? '' : `, other load ${Math.round(s.otherBusy * 100)}%`,
        ].join('');
        console.log(`  ${server.padEnd(6)} round ${round + 1}/${opts.rounds}: ${fmtValue(s.value)} ${row.metric.unit}${extra}`);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        errors.set(server, message);
        console.error(`  ${server}: FAILED: ${message}`);
      }
    }
  }
  const servers: RowResult['servers'] = {};
  for (const name of names) servers[name] = summarize(samples.get(name)!, errors.get(name)!);
  return { row, servers };
}

function describeRow(row: Row, opts: Options): string {
  switch (row.kind) {
    case 'loadgen':
      return `loadgen ${[...(opts.quick && row.quickArgs ? row.quickArgs : row.args), ...(row.servers.pants.loadgenArgs ?? [])].join(' ')}`;
    case 'wrk':
      return `wrk ${row.args.join(' ')}`;
    case 'script':
      return `${row.servers.pants.args?.join(' ') ?? ''}`;
    case 'idle':
      return `${opts.quick ? row.quickConnections : row.connections} idle connections`;
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const opts = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  console.log('Building loadgen and native-echo: cargo build --release -p pants-loadgen');
  runToCompletion('cargo', ['build', '--release', '-p', 'pants-loadgen']);
  const rows = ROWS.filter((r) => opts.filter === null || r.name.includes(opts.filter));
  if (rows.length === 0) throw new Error(`no workload matches ${JSON.stringify(opts.filter)}`);

  const tls = makeCertificate();
  const staticDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-bench-static-'));
  fs.writeFileSync(path.join(staticDir, 'file.bin'), Buffer.alloc(64 * 1024, 'x'));
  const substitutions: Substitutions = {
    $STATIC: staticDir,
    $CERT: tls.cert,
    $KEY: tls.key,
    $TIMERS: String(opts.quick ? 200_000 : 1_000_000),
    $DURATION: String(opts.duration),
    $WARMUP: String(opts.warmup),
  };
  const ctx: Context = { opts, substitutions };
  const loadBefore = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`Load average before: ${loadBefore}`);

  const results: RowResult[] = [];
  for (const row of rows) {
    console.log(`${row.name}: ${describeRow(row, opts)}`);
    results.push(await runRow(row, ctx));
  }

  const info: RunInfo = {
    opts,
    loadBefore,
    loadAfter: fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    seconds: (Date.now() - started) / 1000,
  };
  console.log('');
  console.log(textTable(MAIN_HEADER, mainRows(results)));
  console.log('');
  console.log(textTable(LATENCY_HEADER, latencyRows(results)));
  console.log('');
  console.log(machineLine(info, results));

  fs.writeFileSync(opts.out, markdownReport(results, info));
  fs.writeFileSync(opts.svg, svgChart(results, info));
  console.log(`\nWrote ${path.relative(process.cwd(), opts.out) || opts.out} and ${path.relative(process.cwd(), opts.svg) || opts.svg}`);

  const failed = results.some(({ servers }) => Object.values(servers).some((s) => s.error !== null));
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
