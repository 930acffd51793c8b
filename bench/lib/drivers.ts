// The load generators: bench/loadgen (echo, churn, TLS) and wrk (HTTP).
// Each run reports what was done in its measured window, with the server's
// CPU time over that window and how busy the load generator itself was.

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import type { Options } from './options.js';
import { TARGET_DIR } from './options.js';
import { busySeconds, Child, CLIENT_CPU, cpuSeconds } from './process.js';

export interface DriverResult {
  msgs: number;
  bytes: number;
  seconds: number;
  p50us: number;
  p99us: number;
  /** Bytes loadgen read from its sockets (NaN if not known): with WebSocket framing and compression. */
  wireBytes: number;
  /** The server's user + system CPU seconds over the measured window. */
  serverCpu: number;
  /** The load generator's CPU seconds over the window, per second: 1 is a whole core (NaN if unknown). */
  clientBusy: number;
  /** CPU time per second that other processes (and the hypervisor) took from the two CPUs during the window. */
  otherBusy: number;
}

const LOADGEN = path.join(TARGET_DIR, 'release', 'loadgen');

interface LoadgenJson {
  msgs: number;
  bytes: number;
  seconds: number;
  p50us: number;
  p99us: number;
  errors: number;
  wireBytes?: number;
}

/** CPU seconds of both processes at one instant. */
interface CpuSnapshot {
  server: number;
  client: number;
  machine: number;
}

function snapshot(serverPid: number, clientPid: number): CpuSnapshot | null {
  try {
    return { server: cpuSeconds(serverPid), client: cpuSeconds(clientPid), machine: busySeconds() };
  } catch {
    return null; // one of them died: the run reports the failure
  }
}

/**
 * Runs loadgen against `port`, sampling CPU time when it announces the
 * start and the end of its measured window (its --marks lines).
 * `args` go last, so a row can override --duration.
 */
export async function runLoadgen(serverPid: number, port: number, args: string[], opts: Options): Promise<DriverResult> {
  const argv = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--duration', String(opts.duration),
    '--warmup', String(opts.warmup),
    '--marks',
    ...args,
  ];
  const child = new Child('loadgen', LOADGEN, argv, CLIENT_CPU);
  let before: CpuSnapshot | null = null;
  let after: CpuSnapshot | null = null;
  child.onStderrLine = (line) => {
    if (line === 'loadgen: measuring') before = snapshot(serverPid, child.pid);
    else if (line === 'loadgen: done') after = snapshot(serverPid, child.pid);
    else return false;
    return true;
  };
  let json = '';
  for (;;) {
    try {
      json = await child.nextLine(opts.duration * 1000 + 120_000);
    } catch {
      break; // loadgen exited (its last line was the result) or hung
    }
  }
  if (!child.exited) child.process.kill('SIGKILL');
  const code = await child.wait();
  let result: LoadgenJson | null = null;
  try {
    result = JSON.parse(json) as LoadgenJson;
  } catch {
    // reported below
  }
  if (code !== 0 || result === null || result.errors !== 0 || before === null || after === null) {
    throw new Error(
      `loadgen ${argv.join(' ')} failed (exit ${code})${json ? `: ${json}` : ''}${child.stderr ? `\n${child.stderr}` : ''}`,
    );
  }
  const b = before as CpuSnapshot;
  const a = after as CpuSnapshot;
  return {
    msgs: result.msgs,
    bytes: result.bytes,
    seconds: result.seconds,
    p50us: result.p50us,
    p99us: result.p99us,
    wireBytes: result.wireBytes ?? NaN,
    serverCpu: a.server - b.server,
    clientBusy: result.seconds > 0 ? (a.client - b.client) / result.seconds : NaN,
    otherBusy:
      result.seconds > 0
        ? Math.max(0, a.machine - b.machine - (a.server - b.server) - (a.client - b.client)) / result.seconds
        : NaN,
  };
}

export const hasWrk = spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;

/** A wrk latency figure (`491.00us`, `2.22ms`, `1.01s`) in microseconds. */
function wrkMicroseconds(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (match === null) return NaN;
  return Number(match[1]) * { us: 1, ms: 1e3, s: 1e6 }[match[2] as 'us' | 'ms' | 's'];
}

async function wrkOnce(port: number, args: string[], seconds: number, path: string): Promise<{ out: string; child: Child }> {
  const argv = [...args, '--duration', `${seconds}s`, '--latency', `http://127.0.0.1:${port}${path}`];
  const child = new Child('wrk', 'wrk', argv, CLIENT_CPU);
  let out = '';
  child.onStderrLine = (line) => {
    out += `${line}\n`;
    return true;
  };
  for (;;) {
    try {
      out += `${await child.nextLine(seconds * 1000 + 60_000)}\n`;
    } catch {
      break; // wrk exited, or hung
    }
  }
  if (!child.exited) child.process.kill('SIGKILL');
  const code = await child.wait();
  if (code !== 0) throw new Error(`wrk ${argv.join(' ')} failed (exit ${code})\n${out.trimEnd()}`);
  return { out, child };
}

/** A warm-up run of wrk, then a measured one with the server's CPU time sampled around it. */
export async function runWrk(serverPid: number, port: number, args: string[], opts: Options, path = '/'): Promise<DriverResult> {
  if (opts.warmup > 0) await wrkOnce(port, args, Math.max(1, Math.round(opts.warmup)), path);
  const before = cpuSeconds(serverPid);
  const machineBefore = busySeconds();
  const { out } = await wrkOnce(port, args, Math.max(1, Math.round(opts.duration)), path);
  const serverCpu = cpuSeconds(serverPid) - before;
  const machine = busySeconds() - machineBefore;
  const requests = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const badStatus = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) +
    (badStatus ? Number(badStatus[1]) : 0);
  if (requests === null || errors !== 0) throw new Error(`wrk reported errors\n${out.trimEnd()}`);
  const msgs = Number(requests[1]);
  const seconds = Number(requests[2]) / (requests[3] === 'ms' ? 1000 : 1);
  return {
    msgs,
    bytes: NaN,
    seconds,
    p50us: wrkMicroseconds(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99us: wrkMicroseconds(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    wireBytes: NaN,
    serverCpu,
    clientBusy: NaN,
    // wrk's own CPU time is not known here: this includes it.
    otherBusy: NaN,
  };
}
