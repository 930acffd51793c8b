// Running one row for one server: start it, drive it, sample it, stop it.

import { runLoadgen, runWrk, type DriverResult } from './drivers.js';
import type { Options } from './options.js';
import { CLIENT_CPU, SERVER_CPU, startProcess, startServer, type RunningServer, type Substitutions } from './process.js';
import type { Row, ServerName } from './rows.js';

/** One run's figures. NaN where a figure does not apply. */
export interface Sample {
  /** The row's figure, in its metric's unit. */
  value: number;
  /** The server's CPU time (user + system) per op, in µs. */
  cpuUsPerOp: number;
  p50us: number;
  p99us: number;
  /** How busy the load generator was over the window (1 = a whole core). */
  clientBusy: number;
  /** How much CPU everything else on the machine took from the two CPUs over the window (1 = a whole core). */
  otherBusy: number;
  /** Secondary figures a script reported (e.g. heap bytes per timer). */
  details: Record<string, number>;
}

export interface Context {
  opts: Options;
  substitutions: Substitutions;
}

function fromDriver(row: Row, r: DriverResult): Sample {
  const mb = r.bytes / 1e6;
  const ops = row.metric.from === 'MB' ? mb : r.msgs;
  // What compression made of the messages on the wire (headers included).
  const wire = Number.isFinite(r.wireBytes) && r.wireBytes < r.bytes && r.msgs > 0;
  return {
    value: ops / r.seconds,
    cpuUsPerOp: ops > 0 ? (r.serverCpu * 1e6) / ops : NaN,
    p50us: r.p50us,
    p99us: r.p99us,
    clientBusy: r.clientBusy,
    otherBusy: r.otherBusy,
    details: wire ? { wireBytesPerMsg: r.wireBytes / r.msgs } : {},
  };
}

/** Adds the server's stderr to an error about it. */
function withServerLog(e: unknown, server: RunningServer): Error {
  const err = e instanceof Error ? e : new Error(String(e));
  if (server.child.stderr) err.message += `\nserver stderr:\n${server.child.stderr}`;
  return err;
}

async function networkRun(row: Row & { kind: 'loadgen' | 'wrk' }, command: NonNullable<Row['servers'][ServerName]>, ctx: Context): Promise<Sample> {
  const server = await startServer(command, ctx.substitutions);
  try {
    if (row.kind === 'wrk') return fromDriver(row, await runWrk(server.child.pid, server.port, row.args, ctx.opts, row.path));
    const args = ctx.opts.quick && row.quickArgs ? row.quickArgs : row.args;
    return fromDriver(row, await runLoadgen(server.child.pid, server.port, [...args, ...(command.loadgenArgs ?? [])], ctx.opts));
  } catch (e) {
    throw withServerLog(e, server);
  } finally {
    await server.child.stop();
  }
}

async function scriptRun(command: NonNullable<Row['servers'][ServerName]>, ctx: Context): Promise<Sample> {
  const child = startProcess(command, SERVER_CPU, ctx.substitutions);
  try {
    const line = await child.nextLine(300_000);
    const code = await child.waitOrKill(30_000);
    if (code !== 0) throw new Error(`${child.name}: exit ${code}\n${child.stderr}`);
    const json = JSON.parse(line) as Record<string, unknown>;
    const details: Record<string, number> = {};
    for (const [key, v] of Object.entries(json)) if (typeof v === 'number') details[key] = v;
    return { value: Number(json.value), cpuUsPerOp: NaN, p50us: NaN, p99us: NaN, clientBusy: NaN, otherBusy: NaN, details };
  } finally {
    await child.stop();
  }
}

interface ServerStats {
  connections: number;
  rss: number;
  heapUsed: number;
  external: number;
}

/** Polls `condition` every 100 ms for up to `ms`. */
async function until(what: string, ms: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function idleRun(row: Row & { kind: 'idle' }, command: NonNullable<Row['servers'][ServerName]>, ctx: Context): Promise<Sample> {
  const count = ctx.opts.quick ? row.quickConnections : row.connections;
  const server = await startServer(command, ctx.substitutions);
  const stats = async (): Promise<ServerStats> => {
    server.child.send('stats');
    return JSON.parse(await server.child.nextLine()) as ServerStats;
  };
  const clients = (n: number, close: boolean) =>
    startProcess(
      { script: 'idle-clients.js', args: ['--port', String(server.port), '--count', String(n), ...(close ? ['--close'] : []), ...(row.clientArgs ?? [])] },
      CLIENT_CPU,
    );
  let holder: ReturnType<typeof clients> | null = null;
  try {
    // A few connections opened and closed first, so that whatever is set
    // up on the first accept is in the baseline rather than in the figure.
    const warm = clients(200, true);
    await warm.nextLine(60_000);
    await warm.waitOrKill(30_000);
    await until('the warm-up connections to close', 10_000, async () => (await stats()).connections === 0);
    const before = await stats();

    holder = clients(count, false);
    const line = await holder.nextLine(120_000);
    if (line !== `connected ${count}`) throw new Error(`idle-clients printed ${JSON.stringify(line)}`);
    let after = before;
    await until(`the server to see ${count} connections`, 30_000, async () => (after = await stats()).connections === count);
    const per = (key: 'rss' | 'heapUsed' | 'external'): number => (after[key] - before[key]) / count;
    return {
      value: per('rss'),
      cpuUsPerOp: NaN,
      p50us: NaN,
      p99us: NaN,
      clientBusy: NaN,
      otherBusy: NaN,
      details: { rssPerConn: per('rss'), heapPerConn: per('heapUsed'), externalPerConn: per('external'), baselineRss: before.rss },
    };
  } catch (e) {
    throw withServerLog(e, server);
  } finally {
    await holder?.stop();
    await server.child.stop();
  }
}

/** Runs `row` once against `server`. */
export function measure(row: Row, server: ServerName, ctx: Context): Promise<Sample> {
  const command = row.servers[server];
  if (command === undefined) throw new Error(`${row.name} has no ${server} server`);
  switch (row.kind) {
    case 'loadgen':
    case 'wrk':
      return networkRun(row, command, ctx);
    case 'script':
      return scriptRun(command, ctx);
    case 'idle':
      return idleRun(row, command, ctx);
  }
}
