// Where the time per message goes: runs one server under loadgen and, over
// loadgen's measured window, samples the server with perf and/or strace.
//
//   node build/bench/profile.js --server pants|net|native|ws-pants|ws-node [--line] [--tool stat|strace|record]...
//                               [--duration S] [--out DIR] [-- loadgen args]
//
//   stat     (default) perf stat -e raw_syscalls:sys_enter: syscalls per
//            message, with the server's user and system CPU time per message
//   strace   strace -c -f: the syscalls by name (slows the server down: use
//            its counts per message, not its times)
//   record   perf record -e cpu-clock -g: the hottest symbols and DSOs
//            (node servers run with --perf-basic-prof so JS frames have names)
//
// Loadgen defaults to 50 connections × 64 B, 1 in flight. The WebSocket
// echo servers (ws-pants.ts, ws-node.ts) need loadgen's `--ws`. Examples:
//   node build/bench/profile.js --server pants --tool stat --tool record -- --inflight 16
//   node build/bench/profile.js --server ws-pants --tool record -- --connections 50 --size 64 --ws --text

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TARGET_DIR } from './lib/options.js';
import { Child, CLIENT_CPU, cpuTimes, startServer, type Command } from './lib/process.js';

type Tool = 'stat' | 'strace' | 'record';

function parse(argv: string[]): { server: string; line: boolean; tools: Tool[]; duration: number; out: string; loadgen: string[] } {
  const o = { server: 'pants', line: false, tools: [] as Tool[], duration: 5, out: '', loadgen: [] as string[] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      o.loadgen = argv.slice(i + 1);
      break;
    } else if (a === '--server') o.server = argv[++i];
    else if (a === '--line') o.line = true;
    else if (a === '--tool') o.tools.push(argv[++i] as Tool);
    else if (a === '--duration') o.duration = Number(argv[++i]);
    else if (a === '--out') o.out = argv[++i];
    else throw new Error(`unknown argument ${a}`);
  }
  if (o.tools.length === 0) o.tools = ['stat'];
  if (!o.out) o.out = fs.mkdtempSync(path.join(os.tmpdir(), 'pants-profile-'));
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const line = o.line ? ['--line'] : [];
  const perfFlags = o.tools.includes('record') ? ['--perf-basic-prof'] : [];
  const commands: Record<string, Command> = {
    pants: { script: 'pants-echo.js', args: line, nodeFlags: perfFlags },
    net: { script: 'net-echo.js', args: line, nodeFlags: perfFlags },
    native: { binary: 'native-echo', args: line },
    'ws-pants': { script: 'ws-pants.js', nodeFlags: perfFlags },
    'ws-node': { script: 'ws-node.js', nodeFlags: perfFlags },
  };
  const command = commands[o.server];
  if (command === undefined) throw new Error(`unknown server ${o.server}`);
  const server = await startServer(command);
  const pid = server.child.pid;
  const loadgenArgs = o.loadgen.length ? o.loadgen : ['--connections', '50', '--size', '64', '--inflight', '1'];
  if (o.line && !loadgenArgs.includes('--line')) loadgenArgs.push('--line');

  const tools: Child[] = [];
  let before = { user: 0, system: 0 };
  let after = { user: 0, system: 0 };
  const loadgen = new Child(
    'loadgen',
    path.join(TARGET_DIR, 'release', 'loadgen'),
    ['--port', String(server.port), '--warmup', '1', '--duration', String(o.duration), '--marks', ...loadgenArgs],
    CLIENT_CPU,
  );
  loadgen.onStderrLine = (l) => {
    if (l === 'loadgen: measuring') {
      before = cpuTimes(pid);
      const sleep = ['sleep', String(o.duration)];
      for (const tool of o.tools) {
        const argv =
          tool === 'stat'
            ? ['perf', 'stat', '-x,', '-e', 'raw_syscalls:sys_enter,context-switches', '-p', String(pid), '--', ...sleep]
            : tool === 'strace'
              ? ['timeout', '-s', 'INT', String(o.duration), 'strace', '-c', '-f', '-p', String(pid)]
              : ['perf', 'record', '-e', 'cpu-clock', '-g', '-o', path.join(o.out, `${o.server}.perf.data`), '-p', String(pid), '--', ...sleep];
        const child = new Child(tool, argv[0], argv.slice(1), null);
        tools.push(child);
      }
      return true;
    }
    if (l === 'loadgen: done') {
      after = cpuTimes(pid);
      return true;
    }
    return false;
  };
  const result = JSON.parse(await loadgen.nextLine(o.duration * 1000 + 60_000)) as { msgs: number; seconds: number };
  await loadgen.wait();
  for (const t of tools) await t.wait();
  await server.child.stop();

  const msgs = result.msgs;
  const us = (s: number): string => ((s * 1e6) / msgs).toFixed(2);
  console.log(`server ${o.server}${o.line ? ' --line' : ''}, loadgen ${loadgenArgs.join(' ')}`);
  console.log(`${msgs} msgs in ${result.seconds} s = ${Math.round(msgs / result.seconds)} msgs/s`);
  const user = after.user - before.user;
  const sys = after.system - before.system;
  console.log(`server CPU per msg: user ${us(user)} µs + system ${us(sys)} µs = ${us(user + sys)} µs (system ${((100 * sys) / (user + sys)).toFixed(0)}%)`);
  for (const t of tools) {
    const out = t.stderr;
    if (t.name === 'stat') {
      for (const row of out.split('\n')) {
        const [count, , event] = row.split(',');
        if (event && Number(count) > 0) console.log(`${event}: ${count} = ${(Number(count) / msgs).toFixed(3)} per msg`);
      }
    } else if (t.name === 'strace') {
      console.log('strace -c (calls per msg added):');
      for (const row of out.split('\n')) {
        const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(row);
        console.log(m ? `${row}   ${(Number(m[1]) / msgs).toFixed(3)}/msg` : row);
      }
    } else {
      const data = path.join(o.out, `${o.server}.perf.data`);
      for (const sort of ['dso', 'sym']) {
        const r = spawnSync('perf', ['report', '-i', data, '--no-children', '--sort', sort, '--stdio', '--percent-limit', '1.5'], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        });
        console.log(`perf report --sort ${sort}:`);
        console.log(
          r.stdout
            .split('\n')
            .filter((l) => /^\s+[\d.]+%/.test(l))
            .join('\n'),
        );
      }
      console.log(`(perf data in ${data})`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
