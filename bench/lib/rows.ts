// What the benchmark runs: one entry per row of the results table, as data.
// Add rows (or servers) here; measure.ts knows how to run each kind.

import { ROUTES } from './http-modes.js';
import type { Command } from './process.js';

export type ServerName = 'pants' | 'net' | 'native';

/** How a row's figure is obtained. */
export type Kind =
  /** bench/loadgen against each server; `args` go after the runner's own (so they may override --duration). */
  | { kind: 'loadgen'; args: string[]; quickArgs?: string[] }
  /** wrk against each server (HTTP): its arguments except --duration and the URL, and the path asked for (default `/`). */
  | { kind: 'wrk'; args: string[]; path?: string }
  /** A script run once per server and round, printing one JSON line with a `value`. */
  | { kind: 'script' }
  /** Idle connections held open by bench/idle-clients against bench/idle-server. */
  | { kind: 'idle'; connections: number; quickConnections: number; clientArgs?: string[] };

/** The figure a row compares, and which way is better. */
export interface Metric {
  /** Unit of the figure, e.g. `msgs/s`. */
  unit: string;
  /** What the server's CPU time is divided by: one of these per "op". */
  op: string;
  higherIsBetter: boolean;
  /** From a loadgen/wrk run: msgs per second, or MB (10^6 bytes) per second. */
  from?: 'msgs' | 'MB';
}

export interface Target {
  /** Pants / node:net on the row's figure must be at least (or, lower-is-better, at most) this. */
  ratio: number;
  /** The ratio must be strictly below `ratio` (lower-is-better "less than"). */
  strict?: boolean;
  /** Pants' server CPU per op / node:net's must be at most this. */
  cpuRatio?: number;
  /** Pants' median p50 latency must be no worse than node:net's. */
  p50?: boolean;
  /** The aim for Pants / native (the ceiling column), shown beside it; it does not decide "Met?". */
  ceiling?: number;
  /** Pants' median p99 latency must be at most native's plus this many µs. */
  p99Slack?: number;
}

export type Row = Kind & {
  name: string;
  metric: Metric;
  target?: Target;
  /** The servers (or script invocations) compared; `native` is the optional ceiling. */
  servers: { pants: Command; net: Command; native?: Command };
  /** Label of the `net` column for this row when it isn't node:net (node:tls, node:http, setTimeout). */
  netLabel?: string;
  /** What the `native` server is when it isn't a native ceiling (Pants raw TCP for a WebSocket row). */
  nativeLabel?: string;
};

const MSGS: Metric = { unit: 'msgs/s', op: 'msg', higherIsBetter: true, from: 'msgs' };

/** The three echo servers, raw or line-framed. */
function echo(line = false): Row['servers'] {
  const args = line ? ['--line'] : [];
  return {
    pants: { script: 'pants-echo.js', args },
    net: { script: 'net-echo.js', args },
    native: { binary: 'native-echo', args },
  };
}

/** The TLS echo servers, Pants (rustls in the engine) and node:tls, on the same certificate. */
function tlsEcho(): Row['servers'] {
  const args = ['--cert', '$CERT', '--key', '$KEY'];
  return { pants: { script: 'tls-echo-pants.js', args }, net: { script: 'tls-echo-node.js', args } };
}

function deferreds(mode: 'rate' | 'memory'): Row['servers'] {
  const run = (impl: string): Command => ({
    script: 'deferreds.js',
    nodeFlags: ['--expose-gc'],
    args: ['--impl', impl, '--mode', mode, '--count', '$TIMERS'],
  });
  return { pants: run('pants'), net: run('node') };
}

const C50 = ['--connections', '50', '--size', '64'];

/** 10,000 connections held idle (2,000 with --quick) against bench/idle-server.ts in two of its `--impl` modes. */
function idle(pants: string, net: string, clientArgs: string[] = []): Extract<Kind, { kind: 'idle' }> & Pick<Row, 'metric' | 'servers'> {
  const run = (impl: string): Command => ({ script: 'idle-server.js', nodeFlags: ['--expose-gc'], args: ['--impl', impl] });
  return {
    kind: 'idle',
    connections: 10_000,
    quickConnections: 2_000,
    clientArgs,
    metric: { unit: 'B/conn', op: 'conn', higherIsBetter: false },
    servers: { pants: run(pants), net: run(net) },
  };
}

const REQS: Metric = { unit: 'req/s', op: 'req', higherIsBetter: true };
const WRK50 = ['--threads', '1', '--connections', '50'];
/** nginx, one process, its own config (bench/nginx.sh): the native HTTP ceiling. */
const NGINX: Command = { shell: 'nginx.sh' };

/** The Pants HTTP server of the benchmark in one of its modes (bench/lib/http-modes.ts). */
function http(mode: string, args: string[] = []): Command {
  return { script: 'http-pants.js', args: ['--mode', mode, ...args] };
}

/** The WebSocket servers: Pants (`HTTPServer(Echo)`) and the npm `ws` package, in a mode of bench/lib/ws-modes.ts. */
function websocket(modes: string[], loadgenArgs: string[]): Row['servers'] {
  return {
    pants: { script: 'ws-pants.js', args: modes, loadgenArgs: ['--ws', ...loadgenArgs] },
    net: { script: 'ws-node.js', args: modes, loadgenArgs: ['--ws', ...loadgenArgs] },
  };
}

const DELIVERIES: Metric = { unit: 'deliveries/s', op: 'delivery', higherIsBetter: true, from: 'msgs' };

/**
 * A row of the HTTP client benchmark (bench/http-client.ts): Pants'
 * HTTPClient against undici, with node:http's request in the ceiling column,
 * all fetching `what` from one nginx.
 */
function httpClientRow(what: string, metric: Metric, ratio: number, args: string[]): Row {
  const run = (impl: string): Command => ({ script: 'http-client.js', args: ['--impl', impl, '--duration', '$DURATION', '--warmup', '$WARMUP', ...args] });
  return {
    name: `HTTP client, 50 requests in flight, ${what} from nginx`,
    kind: 'script',
    metric,
    target: { ratio },
    netLabel: 'undici',
    nativeLabel: 'node:http request, keep-alive agent',
    servers: { pants: run('pants'), net: run('undici'), native: run('node') },
  };
}

export const ROWS: Row[] = [
  {
    name: 'Echo, 50 conns × 64 B, 1 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '1'],
    metric: MSGS,
    target: { ratio: 2.5, ceiling: 1.0 },
    servers: echo(),
  },
  {
    name: 'Echo, 50 conns × 64 B, 16 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '16'],
    metric: MSGS,
    target: { ratio: 1.0, cpuRatio: 0.5, ceiling: 1.0 },
    servers: echo(),
  },
  {
    name: 'Line echo, 50 conns × 64 B, 1 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '1', '--line'],
    metric: MSGS,
    target: { ratio: 3.0, ceiling: 1.0 },
    servers: echo(true),
  },
  {
    name: 'Line echo, 50 conns × 64 B, 16 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '16', '--line'],
    metric: MSGS,
    target: { ratio: 1.4, cpuRatio: 0.5, ceiling: 1.0 },
    servers: echo(true),
  },
  {
    name: 'Echo, 1 conn × 64 B, 1 in flight (latency)',
    kind: 'loadgen',
    args: ['--connections', '1', '--size', '64', '--inflight', '1'],
    metric: MSGS,
    target: { ratio: 1.15, p50: true, ceiling: 1.0, p99Slack: 10 },
    servers: echo(),
  },
  {
    name: 'Echo, 20 conns × 16 KiB, 1 in flight',
    kind: 'loadgen',
    args: ['--connections', '20', '--size', '16384', '--inflight', '1'],
    metric: MSGS,
    target: { ratio: 2.0, ceiling: 0.9 },
    servers: echo(),
  },
  {
    // 16384 × 64 KiB = 1 GiB; --duration is only a cap here.
    name: 'Bulk, 1 conn, 1 GiB echoed (64 KiB × 4 in flight)',
    kind: 'loadgen',
    args: ['--connections', '1', '--size', '65536', '--inflight', '4', '--messages', '16384', '--duration', '60'],
    quickArgs: ['--connections', '1', '--size', '65536', '--inflight', '4', '--messages', '2048', '--duration', '60'],
    metric: { unit: 'MB/s', op: 'MB', higherIsBetter: true, from: 'MB' },
    target: { ratio: 1.5, ceiling: 0.9 },
    servers: echo(),
  },
  {
    name: 'Churn: connect, 64 B echo, close (50 in parallel)',
    kind: 'loadgen',
    args: ['--churn', ...C50],
    metric: { unit: 'conns/s', op: 'conn', higherIsBetter: true, from: 'msgs' },
    target: { ratio: 1.5, ceiling: 0.9 },
    servers: echo(),
  },
  {
    // The cost of the idle timeout: the same Pants server with and without `timeout` on every stream.
    name: 'Echo, 50 conns × 64 B, 1 in flight, timeout on every stream',
    kind: 'loadgen',
    args: [...C50, '--inflight', '1'],
    metric: MSGS,
    target: { ratio: 0.95 },
    netLabel: 'Pants without timeout',
    servers: { pants: { script: 'pants-echo.js', args: ['--timeout'] }, net: { script: 'pants-echo.js' } },
  },
  {
    name: 'TLS echo, 50 conns × 64 B, 1 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '1', '--tls'],
    metric: MSGS,
    target: { ratio: 2.0 },
    netLabel: 'node:tls',
    servers: tlsEcho(),
  },
  {
    name: 'TLS echo, 20 conns × 16 KiB, 1 in flight',
    kind: 'loadgen',
    args: ['--connections', '20', '--size', '16384', '--inflight', '1', '--tls'],
    metric: MSGS,
    target: { ratio: 2.0 },
    netLabel: 'node:tls',
    servers: tlsEcho(),
  },
  {
    name: 'HTTP hello world, keep-alive, 50 conns (wrk)',
    kind: 'wrk',
    args: WRK50,
    metric: REQS,
    target: { ratio: 2.5, ceiling: 0.9 },
    netLabel: 'node:http',
    servers: { pants: http('hello'), net: { script: 'http-node.js' }, native: NGINX },
  },
  {
    name: 'HTTP Application, 50 routes, the last one hit',
    kind: 'wrk',
    args: WRK50,
    path: `/route${ROUTES - 1}/123`,
    metric: REQS,
    target: { ratio: 3.0, ceiling: 0.85 },
    netLabel: 'fastify',
    servers: { pants: http('app'), net: { script: 'http-fastify.js' }, native: NGINX },
  },
  {
    name: 'HTTP pipelined, 16 requests in flight per conn',
    kind: 'wrk',
    args: [...WRK50, '--script', 'bench/wrk/pipeline.lua'],
    metric: REQS,
    target: { ratio: 2.5, ceiling: 1.0 },
    netLabel: 'node:http',
    servers: { pants: http('hello'), net: { script: 'http-node.js' }, native: NGINX },
  },
  {
    name: 'HTTP 64 KiB static file, keep-alive',
    kind: 'wrk',
    args: WRK50,
    path: '/static/file.bin',
    metric: REQS,
    target: { ratio: 1.0, ceiling: 0.8 },
    netLabel: 'node:http',
    servers: {
      pants: http('file', ['--root', '$STATIC']),
      net: { script: 'http-node.js', args: ['--mode', 'file', '--root', '$STATIC'] },
      native: { shell: 'nginx.sh', args: ['$STATIC'] },
    },
  },
  {
    name: 'HTTP JSON POST, 1 KiB echoed',
    kind: 'wrk',
    args: [...WRK50, '--script', 'bench/wrk/post-json.lua'],
    path: '/echo',
    metric: REQS,
    target: { ratio: 2.5 },
    netLabel: 'node:http',
    servers: { pants: http('json'), net: { script: 'http-node.js', args: ['--mode', 'json'] } },
  },
  httpClientRow('small responses', { unit: 'req/s', op: 'req', higherIsBetter: true }, 2, []),
  httpClientRow('1 MiB responses', { unit: 'MB/s', op: 'MB', higherIsBetter: true }, 1.2, ['--size', '1m']),
  {
    name: '1M deferreds scheduled and fired',
    kind: 'script',
    metric: { unit: 'timers/s', op: 'timer', higherIsBetter: true },
    target: { ratio: 1.0 },
    netLabel: 'setTimeout',
    servers: deferreds('rate'),
  },
  {
    name: '1M pending deferreds: RSS per timer',
    kind: 'script',
    metric: { unit: 'B/timer', op: 'timer', higherIsBetter: false },
    target: { ratio: 1.0, strict: true },
    netLabel: 'setTimeout',
    servers: deferreds('memory'),
  },
  {
    name: '10,000 idle connections: RSS per connection',
    ...idle('pants', 'net'),
    target: { ratio: 0.5 },
  },
  {
    name: '10,000 idle HTTP keep-alive connections: RSS per connection',
    ...idle('pants-http', 'node-http', ['--http']),
    target: { ratio: 0.5 },
    netLabel: 'node:http',
  },
  {
    // Against ws, and (the native column) against Pants' own raw TCP echo of the same 64 B in the same run.
    name: 'WebSocket echo, 50 conns × 64 B text, 1 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '1'],
    metric: MSGS,
    target: { ratio: 3.0, ceiling: 0.9 },
    netLabel: 'ws',
    nativeLabel: 'Pants raw TCP echo',
    servers: { ...websocket([], ['--text']), native: { script: 'pants-echo.js' } },
  },
  {
    name: 'WebSocket echo, 50 conns × 64 B text, 16 in flight',
    kind: 'loadgen',
    args: [...C50, '--inflight', '16'],
    metric: MSGS,
    target: { ratio: 3.0, cpuRatio: 0.3 },
    netLabel: 'ws',
    servers: websocket([], ['--text']),
  },
  {
    // loadgen's 1,000 connections subscribe (GET /), one more publishes (GET /publish), keeping 16 messages on their way
    // (as the 16-in-flight echo row; with fewer the round trip, not the server, sets the rate); a message is one
    // delivery to one subscriber, checked byte for byte.
    name: 'WebSocket broadcast: 1 publisher, 1,000 subscribers, 64 B',
    kind: 'loadgen',
    args: ['--connections', '1000', '--size', '64', '--inflight', '16', '--broadcast'],
    metric: DELIVERIES,
    target: { ratio: 10.0 },
    netLabel: 'ws',
    servers: websocket(['--broadcast'], ['--text']),
  },
  {
    // No target: the issue asks for the ratio. Details: bytes on the wire per 4,096-byte message.
    name: 'WebSocket echo, compression, 50 conns × 4 KiB JSON',
    kind: 'loadgen',
    args: ['--connections', '50', '--size', '4096', '--inflight', '1'],
    metric: MSGS,
    netLabel: 'ws',
    servers: websocket(['--compression'], ['--json', '--compress']),
  },
  {
    name: '10,000 idle WebSockets: RSS per connection',
    ...idle('pants-ws', 'node-ws', ['--ws']),
    target: { ratio: 0.3 },
    netLabel: 'ws',
  },
];
