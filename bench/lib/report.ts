// Turning medians into the results table (text and Markdown) and the chart.

import * as os from 'node:os';

import type { Sample } from './measure.js';
import type { Options } from './options.js';
import { CLIENT_CPU, hasTaskset, SERVER_CPU } from './process.js';
import type { Row, ServerName } from './rows.js';

/** The medians of one server's samples for one row. */
export interface Summary extends Sample {
  /** Why this server's runs stopped, if one failed. */
  error: string | null;
  runs: number;
}

export interface RowResult {
  row: Row;
  servers: Partial<Record<ServerName, Summary>>;
  /** Why the row was not measured at all. */
  skipped?: string;
}

/** Machine conditions around the run. */
export interface RunInfo {
  opts: Options;
  loadBefore: string;
  loadAfter: string;
  seconds: number;
}

// ---------------------------------------------------------------------------
// Judging a row against its target

export interface Verdict {
  /** Pants / node:net on the row's figure. */
  ratio: number;
  /** Pants' CPU per op / node:net's. */
  cpuRatio: number;
  /** Pants / native, where there is a native ceiling. */
  ceiling: number;
  /** null when the row has no target. */
  met: boolean | null;
  /** The parts of the target that were missed. */
  missed: string[];
  /** How many times better than node:net, whichever way the metric goes (for the chart). */
  advantage: number;
  targetAdvantage: number;
  /** The load generator was (nearly) saturated in Pants' runs: Pants' rate is a lower bound. */
  loadgenBound: boolean;
  /** Other work on the machine took a large share of the CPUs during the runs. */
  disturbed: boolean;
}

/** loadgen at least this busy counts as the limit. */
const LOADGEN_BOUND = 0.9;
/** Other load above this (in cores, over both CPUs) marks a row as disturbed. */
const DISTURBED = 0.3;

const ok = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);

export function judge({ row, servers }: RowResult): Verdict {
  const pants = servers.pants;
  const net = servers.net;
  const native = servers.native;
  const ratio = pants && net ? pants.value / net.value : NaN;
  const cpuRatio = pants && net ? pants.cpuUsPerOp / net.cpuUsPerOp : NaN;
  const ceiling = pants && native ? pants.value / native.value : NaN;
  const up = row.metric.higherIsBetter;
  const advantage = up ? ratio : 1 / ratio;
  const loadgenBound = ok(pants?.clientBusy) && pants.clientBusy >= LOADGEN_BOUND;
  const disturbed = [pants, net, native].some((s) => ok(s?.otherBusy) && s.otherBusy > DISTURBED);
  const flags = { loadgenBound, disturbed };
  const t = row.target;
  if (t === undefined) return { ratio, cpuRatio, ceiling, met: null, missed: [], advantage, targetAdvantage: NaN, ...flags };
  const missed: string[] = [];
  const mainMet = !ok(ratio) ? false : up ? ratio >= t.ratio : t.strict ? ratio < t.ratio : ratio <= t.ratio;
  if (!mainMet) missed.push(ok(ratio) ? `${advantage.toFixed(2)}× better` : 'not measured');
  if (t.cpuRatio !== undefined && !(ok(cpuRatio) && cpuRatio <= t.cpuRatio)) {
    missed.push(`CPU ${ok(cpuRatio) ? `${cpuRatio.toFixed(2)}×` : 'n/a'}`);
  }
  if (t.p50 && !(pants && net && ok(pants.p50us) && ok(net.p50us) && pants.p50us <= net.p50us)) missed.push('p50');
  if (t.p99Slack !== undefined && !(pants && native && ok(pants.p99us) && ok(native.p99us) && pants.p99us <= native.p99us + t.p99Slack)) {
    missed.push(`p99 > native + ${t.p99Slack} µs`);
  }
  return {
    ratio,
    cpuRatio,
    ceiling,
    met: missed.length === 0,
    missed,
    advantage,
    targetAdvantage: up ? t.ratio : 1 / t.ratio,
    ...flags,
  };
}

// ---------------------------------------------------------------------------
// Formatting

export function fmtValue(n: number | undefined): string {
  if (!ok(n)) return 'n/a';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 100) return n.toFixed(0);
  return n.toFixed(1);
}

export function fmtCpu(n: number | undefined): string {
  return ok(n) ? n.toFixed(2) : '–';
}

function fmtRatio(n: number): string {
  return ok(n) ? `${n.toFixed(2)}×` : 'n/a';
}

function fmtUs(n: number | undefined): string {
  return ok(n) ? n.toFixed(0) : '–';
}

function fmtBusy(n: number | undefined): string {
  return ok(n) ? `${Math.round(n * 100)}%` : '–';
}

/** The target in "times better" terms, like the column it judges (a ratio ≤ 0.5× on memory is ≥ 2× better). */
function targetText(row: Row, v: Verdict): string {
  const t = row.target;
  if (t === undefined) return '–';
  const parts = [`${t.strict ? '>' : '≥'} ${v.targetAdvantage.toFixed(2)}×`];
  if (t.cpuRatio !== undefined) parts.push(`CPU ≤ ${t.cpuRatio.toFixed(2)}×`);
  if (t.p50) parts.push('p50 ≤');
  if (t.p99Slack !== undefined) parts.push(`p99 ≤ native + ${t.p99Slack} µs`);
  return parts.join(', ');
}

function metText(v: Verdict): string {
  if (v.met === null) return '–';
  return v.met ? 'yes' : `**no** (${v.missed.join(', ')})`;
}

/** How many times better, marked † when loadgen was the limit for Pants and ‡ when other load disturbed the row. */
function advantageText(v: Verdict): string {
  return `${fmtRatio(v.advantage)}${v.loadgenBound ? ' †' : ''}${v.disturbed ? ' ‡' : ''}`;
}

function ceilingText(row: Row, v: Verdict): string {
  if (!ok(v.ceiling)) return '–';
  const aim = row.target?.ceiling;
  const against = row.nativeLabel ? ` (/ ${row.nativeLabel})` : '';
  if (aim === undefined) return `${fmtRatio(v.ceiling)}${against}`;
  return `${fmtRatio(v.ceiling)}${against} (aim ≥ ${aim.toFixed(2)}×: ${v.ceiling >= aim ? 'yes' : '**no**'})`;
}

export const MAIN_HEADER = [
  'Workload',
  'Unit',
  'Pants',
  'node:net',
  'Times better than node:net',
  'Target',
  'Met?',
  'Pants / native (ceiling)',
  'Pants CPU µs/op',
  'node:net CPU µs/op',
];

export function mainRows(results: RowResult[]): string[][] {
  return results.map((r) => {
    const { row, servers } = r;
    const v = judge(r);
    const net = row.netLabel ? ` (${row.netLabel})` : '';
    return [
      row.name,
      row.metric.unit,
      fmtValue(servers.pants?.value),
      `${fmtValue(servers.net?.value)}${net}`,
      advantageText(v),
      targetText(row, v),
      metText(v),
      ceilingText(row, v),
      fmtCpu(servers.pants?.cpuUsPerOp),
      fmtCpu(servers.net?.cpuUsPerOp),
    ];
  });
}

export const LATENCY_HEADER = [
  'Workload',
  'Pants p50 µs',
  'Pants p99 µs',
  'node:net p50 µs',
  'node:net p99 µs',
  'native p50 µs',
  'native p99 µs',
  'native CPU µs/op',
  'loadgen busy (Pants / node:net / native)',
  'other load (Pants / node:net / native)',
];

export function latencyRows(results: RowResult[]): string[][] {
  return results
    .filter((r) => ok(r.servers.pants?.p50us) || ok(r.servers.net?.p50us))
    .map(({ row, servers: { pants, net, native } }) => [
      row.name,
      fmtUs(pants?.p50us),
      fmtUs(pants?.p99us),
      fmtUs(net?.p50us),
      fmtUs(net?.p99us),
      fmtUs(native?.p50us),
      fmtUs(native?.p99us),
      fmtCpu(native?.cpuUsPerOp),
      [pants, net, native].map((s) => fmtBusy(s?.clientBusy)).join(' / '),
      [pants, net, native].map((s) => fmtBusy(s?.otherBusy)).join(' / '),
    ]);
}

/** The secondary figures of script and idle rows, one line per row. */
function detailLines(results: RowResult[]): string[] {
  const lines: string[] = [];
  for (const { row, servers } of results) {
    const parts = (['pants', 'net'] as const)
      .filter((s) => servers[s] && Object.keys(servers[s]!.details).length > 0)
      .map((s) => {
        const label = s === 'pants' ? 'Pants' : (row.netLabel ?? 'node:net');
        const d = Object.entries(servers[s]!.details)
          .filter(([key]) => key !== 'count' && key !== 'value')
          .map(([key, n]) => `${key} ${fmtValue(n)}`)
          .join(', ');
        return `${label}: ${d}`;
      });
    if (parts.length > 0) lines.push(`- ${row.name}: ${parts.join('; ')}`);
  }
  return lines;
}

export function textTable(header: string[], rows: string[][]): string {
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

export function machineLine({ opts, loadBefore, loadAfter, seconds }: RunInfo, results: RowResult[]): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() || 'unknown CPU';
  const date = new Date().toISOString().slice(0, 10);
  const pinning = hasTaskset
    ? `servers pinned to CPU ${SERVER_CPU}, load generators and clients to CPU ${CLIENT_CPU}`
    : 'no CPU pinning (taskset not found)';
  // The load average counts the benchmark's own server and client too, so
  // whether others shared the machine is judged by the measured other load.
  const disturbed = results.filter((r) => judge(r).disturbed).length;
  const measured = results.filter((r) => Object.values(r.servers).some((s) => ok(s.otherBusy))).length;
  const shared =
    disturbed > 0
      ? ` **Other work on the machine took more than ${DISTURBED * 100}% of a core during ${disturbed} of the ${measured} network rows (‡): their rates are noisy.**`
      : measured > 0
        ? ` Other work on the machine took under ${DISTURBED * 100}% of a core during every network row.`
        : '';
  return (
    `Machine: ${model}, ${cpus.length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Linux ${os.release()}; ` +
    `Node ${process.version}; ${date}. Median of ${opts.rounds} alternating round${opts.rounds === 1 ? '' : 's'} ` +
    `of ${opts.duration} s after ${opts.warmup} s warmup${opts.quick ? ' (--quick: smaller counts too)' : ''}; ` +
    `${pinning}. Load average (1, 5, 15 min; the benchmark's own two processes included) ${loadBefore} before, ${loadAfter} after; ` +
    `the whole run took ${Math.round(seconds)} s.${shared}`
  );
}

const NOTES = [
  `- † loadgen was at least ${LOADGEN_BOUND * 100}% busy in Pants' runs: on two cores it, not the Pants server, was the limit, so Pants' rate (and its ratios) are lower bounds. ‡ other work on the machine took more than ${DISTURBED * 100}% of a core from the two CPUs during the row's runs (see "other load" below): its rates are unreliable; the CPU µs/op columns much less so.`,
  '- **Times better than node:net** (or the baseline named: node:tls, node:http, setTimeout) reads the same way on every row, above 1 a win: the Pants figure divided by the baseline\'s for rates, the baseline\'s divided by Pants\' for memory and latency.',
  '- **Pants / native** divides by `native-echo` (bench/loadgen/src/bin/native_echo.rs), a minimal single-threaded epoll echo server: the ceiling for one core. Where another server is named (the WebSocket echo row: Pants\' own raw TCP echo of the same messages in the same run), by that one.',
  '- **CPU µs/op** is the server process\'s user + system CPU time (/proc/PID/stat) over the measured window, divided by the ops done in it: messages, connections (churn) or MB (bulk).',
  '- Every echoed byte is checked by the load generator; a single mismatch fails the run.',
];

export function markdownReport(results: RowResult[], info: RunInfo): string {
  const failures = results.flatMap(({ row, servers }) =>
    (Object.keys(servers) as ServerName[])
      .filter((s) => servers[s]!.error !== null)
      .map((s) => `- ${row.name}, ${s}: ${servers[s]!.error!.split('\n').slice(0, 3).join(' / ')}`),
  );
  const skipped = results.filter((r) => r.skipped).map((r) => `- ${r.row.name}: not measured, ${r.skipped}.`);
  const details = detailLines(results);
  return [
    '# Benchmark results',
    '',
    'Generated by `npm run bench` (bench/run.ts; see bench/README.md). Servers in bench/, load from bench/loadgen (HTTP: wrk).',
    '',
    '![Pants against node:net: how many times better, per workload](results.svg)',
    '',
    markdownTable(MAIN_HEADER, mainRows(results)),
    '',
    machineLine(info, results),
    '',
    ...NOTES,
    '',
    '## Round-trip latency and load generator',
    '',
    'Medians over rounds of each run\'s p50 and p99 round trip (churn: connect to last echoed byte). "loadgen busy" is the load generator\'s CPU use over the window: near 100% it, not the server, may be the limit. "other load" is the CPU time that everything else on the machine (other processes, the hypervisor\'s steal) took from the two CPUs over the window, in cores: well above 0% the run competed for its CPUs.',
    '',
    markdownTable(LATENCY_HEADER, latencyRows(results)),
    ...(details.length ? ['', '## Details', '', ...details] : []),
    ...(failures.length || skipped.length ? ['', '## Failures', '', ...failures, ...skipped] : []),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// The chart

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A horizontal bar per row: how many times better Pants did than node:net
 * (ratio for rates, inverse ratio for memory), with the target marked.
 */
export function svgChart(results: RowResult[], info: RunInfo): string {
  const bars = results
    .map((r) => ({ row: r.row, v: judge(r) }))
    .filter(({ v }) => ok(v.advantage));
  const label = 330;
  const plot = 400;
  const rowHeight = 28;
  const top = 44;
  const width = label + plot + 150;
  const height = top + bars.length * rowHeight + 58;
  const max = Math.max(2, Math.ceil(Math.max(...bars.map(({ v }) => Math.max(v.advantage, ok(v.targetAdvantage) ? v.targetAdvantage : 0))) * 1.05));
  const x = (n: number): number => label + (Math.min(n, max) / max) * plot;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">Pants vs node:net (node:tls, node:http, setTimeout): times better</text>`,
  ];
  const plotBottom = top + bars.length * rowHeight;
  for (let tick = 0; tick <= max; tick += max > 8 ? 2 : max > 4 ? 1 : 0.5) {
    const xt = x(tick);
    const parity = tick === 1;
    out.push(
      `<line x1="${xt}" y1="${top - 6}" x2="${xt}" y2="${plotBottom}" stroke="${parity ? '#555' : '#ddd'}" stroke-width="${parity ? 1.5 : 1}"${parity ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${xt}" y="${plotBottom + 16}" text-anchor="middle" fill="#444">${tick}×</text>`,
    );
  }
  bars.forEach(({ row, v }, i) => {
    const y = top + i * rowHeight;
    const color = v.met === null ? '#9a9a9a' : v.met ? '#2e9d5b' : '#e07b24';
    // The other clauses of the target, where there are any.
    const clauses = [
      row.target?.cpuRatio !== undefined ? `CPU ${ok(v.cpuRatio) ? v.cpuRatio.toFixed(2) : 'n/a'}×` : '',
      row.target?.p50 ? `p50 ${v.missed.includes('p50') ? 'worse' : 'ok'}` : '',
    ].filter((c) => c !== '');
    const text = `${v.advantage.toFixed(2)}×${clauses.length ? ` (${clauses.join(', ')})` : ''}`;
    const labelX = Math.max(x(v.advantage), ok(v.targetAdvantage) ? x(v.targetAdvantage) + 2 : 0) + 5;
    out.push(
      `<text x="${label - 8}" y="${y + 17}" text-anchor="end">${escapeXml(row.name)}</text>`,
      `<rect x="${label}" y="${y + 5}" width="${Math.max(1, x(v.advantage) - label)}" height="${rowHeight - 10}" fill="${color}"/>`,
      `<text x="${labelX}" y="${y + 17}" fill="#222">${escapeXml(text)}</text>`,
    );
    if (ok(v.targetAdvantage)) {
      const xt = x(v.targetAdvantage);
      out.push(`<line x1="${xt}" y1="${y + 1}" x2="${xt}" y2="${y + rowHeight - 1}" stroke="#111" stroke-width="3"/>`);
    }
  });
  const ly = plotBottom + 36;
  out.push(
    `<rect x="${label}" y="${ly - 10}" width="12" height="12" fill="#2e9d5b"/><text x="${label + 17}" y="${ly}">target met</text>`,
    `<rect x="${label + 95}" y="${ly - 10}" width="12" height="12" fill="#e07b24"/><text x="${label + 112}" y="${ly}">target missed</text>`,
    `<rect x="${label + 205}" y="${ly - 10}" width="12" height="12" fill="#9a9a9a"/><text x="${label + 222}" y="${ly}">no target</text>`,
    `<line x1="${label + 300}" y1="${ly - 11}" x2="${label + 300}" y2="${ly + 2}" stroke="#111" stroke-width="3"/><text x="${label + 307}" y="${ly}">target</text>`,
    `<text x="10" y="${ly + 16}" fill="#666" font-size="10">${escapeXml(`Bars: Pants ÷ node:net (memory rows: node:net ÷ Pants); the dashed line is parity. ${info.opts.rounds} round median${info.opts.quick ? ' (--quick)' : ''}, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load avg ${info.loadBefore.split(' ')[0]}–${info.loadAfter.split(' ')[0]}.`)}</text>`,
    '</svg>',
    '',
  );
  return out.join('\n');
}
