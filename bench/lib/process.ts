// Child processes of the runner: servers, load generators and helper
// scripts, pinned to CPUs, read line by line, sampled through /proc.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { BENCH_BUILD_DIR, ROOT, TARGET_DIR } from './options.js';

/** Servers run on this CPU, load generators and clients on the other. */
export const SERVER_CPU = '0';
export const CLIENT_CPU = '1';

const START_TIMEOUT_MS = 15_000;

/**
 * A process to start: a compiled script in build/bench/ under node, a cargo
 * binary in target/release/, or a shell script of bench/. `loadgenArgs`:
 * what bench/loadgen needs to speak to this server (e.g. `--ws`), after the row's own.
 */
export type Command = (
  | { script: string; args?: string[]; nodeFlags?: string[] }
  | { binary: string; args?: string[] }
  | { shell: string; args?: string[] }
) & { loadgenArgs?: string[] };

/** `$CERT`-style placeholders in arguments, filled in at run time. */
export type Substitutions = Record<string, string>;

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

/** Pin only where there are two CPUs to keep apart and taskset to do it. */
export const hasTaskset =
  os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;

/** The command line, pinned to `cpu` when taskset is available (taskset execs: the pid stays the command's). */
export function pinned(cpu: string, command: string, args: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];
}

function commandLine(command: Command, substitutions: Substitutions): [string, string[]] {
  const args = (command.args ?? []).map((a) => substitutions[a] ?? a);
  if ('binary' in command) return [path.join(TARGET_DIR, 'release', command.binary), args];
  if ('shell' in command) return ['/bin/sh', [path.join(ROOT, 'bench', command.shell), ...args]];
  return [process.execPath, [...(command.nodeFlags ?? []), path.join(BENCH_BUILD_DIR, command.script), ...args]];
}

export function describe(command: Command): string {
  const name = 'binary' in command ? command.binary : 'shell' in command ? command.shell : command.script;
  return [name, ...(command.args ?? [])].join(' ');
}

function clockTicksPerSecond(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && Number.isInteger(n) && n > 0 ? n : 100;
}
const CLK_TCK = clockTicksPerSecond();

/** utime and stime of a process in seconds (fields 14 and 15 of /proc/PID/stat). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field N is fields[N - 3].
  return { user: Number(fields[14 - 3]) / CLK_TCK, system: Number(fields[15 - 3]) / CLK_TCK };
}

/** utime + stime of a process in seconds. */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/**
 * Seconds CPUs 0 and 1 together spent busy (user, nice, system, irq,
 * softirq) or stolen by the hypervisor, from /proc/stat: with the time our
 * own processes used subtracted, what everything else on the machine took.
 */
export function busySeconds(): number {
  let ticks = 0;
  for (const line of fs.readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (m === null || (m[1] !== SERVER_CPU && m[1] !== CLIENT_CPU)) continue;
    const [user, nice, system, , , irq, softirq, steal] = m[2].trim().split(/\s+/).map(Number);
    ticks += user + nice + system + irq + softirq + steal;
  }
  return ticks / CLK_TCK;
}

/** A process's resident set size in bytes (VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** A started child whose stdout is read as lines and whose stderr tail is kept. */
export class Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly name: string;
  /** Sees each stderr line first; returning true keeps it out of `stderr`. */
  onStderrLine: ((line: string) => boolean) | null = null;
  #stderr = '';
  #lines: string[] = [];
  #waiting: ((line: string | null) => void) | null = null;
  #closed = false;

  constructor(name: string, command: string, args: string[], cpu: string | null) {
    this.name = name;
    const [cmd, argv] = cpu === null ? [command, args] : pinned(cpu, command, args);
    this.process = spawn(cmd, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(this.process);
    this.pid = this.process.pid!;
    this.process.once('exit', () => children.delete(this.process));
    this.process.once('error', (e) => {
      this.#stderr += `${e.message}\n`;
    });
    this.process.stdin!.on('error', () => {}); // the child may exit before reading
    readline.createInterface({ input: this.process.stderr! }).on('line', (line) => {
      if (this.onStderrLine?.(line)) return;
      this.#stderr = `${this.#stderr}${line}\n`.slice(-4000);
    });
    const lines = readline.createInterface({ input: this.process.stdout! });
    lines.on('line', (line) => this.#push(line));
    // 'close' rather than 'exit', so that stdout and stderr have been read in full.
    this.process.once('close', () => {
      this.#closed = true;
      this.#push(null);
    });
  }

  #push(line: string | null): void {
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = null;
      waiting(line);
    } else if (line !== null) {
      this.#lines.push(line);
    }
  }

  get stderr(): string {
    return this.#stderr.trimEnd();
  }

  get exited(): boolean {
    return this.process.exitCode !== null || this.process.signalCode !== null;
  }

  /** The next stdout line; rejects if the child exits first or `timeoutMs` passes. */
  nextLine(timeoutMs = START_TIMEOUT_MS): Promise<string> {
    if (this.#lines.length > 0) return Promise.resolve(this.#lines.shift()!);
    if (this.#closed) return Promise.reject(this.#failure('exited'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = null;
        reject(this.#failure(`printed nothing for ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#waiting = (line) => {
        clearTimeout(timer);
        if (line === null) reject(this.#failure('exited'));
        else resolve(line);
      };
    });
  }

  /** Writes one line to the child's stdin. */
  send(line: string): void {
    this.process.stdin!.write(`${line}\n`);
  }

  #failure(why: string): Error {
    const how = this.process.signalCode ?? (this.process.exitCode !== null ? `code ${this.process.exitCode}` : null);
    return new Error(`${this.name}: ${why}${how ? ` (${how})` : ''}${this.stderr ? `\n${this.stderr}` : ''}`);
  }

  /** Waits for the child to exit on its own; its exit code. */
  wait(): Promise<number | null> {
    if (this.#closed) return Promise.resolve(this.process.exitCode);
    return new Promise((resolve) => this.process.once('close', (code) => resolve(code)));
  }

  /** Waits up to `ms` for the child to exit on its own, then kills it; its exit code (null if killed). */
  async waitOrKill(ms: number): Promise<number | null> {
    const timer = setTimeout(() => this.process.kill('SIGKILL'), ms);
    try {
      return await this.wait();
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after 2 s. */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.process.kill('SIGKILL'), 2000);
      this.process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.process.kill('SIGTERM');
    });
  }
}

/** Starts a process pinned to `cpu`. */
export function startProcess(command: Command, cpu: string, substitutions: Substitutions = {}): Child {
  const [cmd, args] = commandLine(command, substitutions);
  return new Child(describe(command), cmd, args, cpu);
}

/** A server that printed its port. */
export interface RunningServer {
  child: Child;
  port: number;
}

/** Starts a server on the server CPU and waits for the port it prints on its first line. */
/** Resolves once `port` accepts a connection; rejects if the child exits or START_TIMEOUT_MS passes. */
async function acceptingConnections(port: number, child: Child): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    if (child.exited || Date.now() > deadline) throw new Error(`${child.name}: nothing listens on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function startServer(command: Command, substitutions: Substitutions = {}): Promise<RunningServer> {
  const child = startProcess(command, SERVER_CPU, substitutions);
  try {
    const line = await child.nextLine();
    const port = Number(line.trim());
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`${child.name}: printed ${JSON.stringify(line)} instead of a port`);
    }
    // A server may print its port before it listens (nginx.sh execs nginx after printing).
    await acceptingConnections(port, child);
    return { child, port };
  } catch (e) {
    child.process.kill('SIGKILL');
    throw e;
  }
}

/** Runs a command to completion, with its output passed through. */
export function runToCompletion(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
  }
}
