// Shared by the stress programs (run by `npm run stress`, see run.ts) and by
// the reliability tests that run the same code at a smaller size: a seeded
// PRNG, deterministic payloads, command-line options, memory figures and a
// child-process runner that reads a program's result line.
import { spawn } from 'node:child_process';

/** The line prefix a stress program prints its JSON result after. */
export const RESULT_PREFIX = 'PANTS-STRESS-RESULT ';

/** A small, fast, seeded PRNG (sfc32): the same seed gives the same sequence on every run. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let index = 0; index < 15; index++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** An integer in `[low, high]`. */
  int(low: number, high: number): number {
    return low + Math.floor((this.uint32() / 2 ** 32) * (high - low + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.uint32() / 2 ** 32 < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** `length` random bytes. */
  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    let index = 0;
    for (; index + 4 <= length; index += 4) out.writeUInt32LE(this.uint32(), index);
    for (; index < length; index++) out[index] = this.uint32() & 0xff;
    return out;
  }
}

/**
 * Connection `index`'s payload of `size` bytes (at least 8): the index as a
 * little-endian u32 twice, then bytes that differ per index, so a payload
 * delivered to the wrong connection, cut, or reordered is caught.
 */
export function payloadFor(index: number, size: number): Buffer {
  const payload = new Random(index * 7919 + 17).bytes(size);
  payload.writeUInt32LE(index, 0);
  payload.writeUInt32LE(index, 4);
  return payload;
}

/** `--name value` from the command line, as a number, or `fallback`. */
export function numberOption(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value)) throw new Error(`--${name} takes a number; got ${process.argv[at + 1]}`);
  return value;
}

/** `--name value` from the command line, or `fallback`. */
export function stringOption(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : process.argv[at + 1];
}

/** Prints a program's figures as its result line. */
export function printResult(figures: object): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(figures)}\n`);
}

/** Heap and RSS in bytes, after a full GC when `--expose-gc` gave us one. */
export function memory(): { heapUsed: number; rss: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    for (let index = 0; index < 3; index++) gc();
  }
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external };
}

/** `bytes` as MiB with one decimal. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A pause on Node's timers. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a child program printed and how it ended. */
export interface ChildOutcome<R> {
  result: R;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Runs `node [nodeArgs] script [args]`, optionally under a shell prefix
 * (`prlimit --nofile=64:64`), and resolves with the JSON on its result
 * line. Rejects when it exits non-zero, prints no result, or outlives
 * `timeoutMs` (it is then killed).
 */
export function runChild<R>(script: string, args: string[], options: { nodeArgs?: string[]; prefix?: string[]; timeoutMs?: number } = {}): Promise<ChildOutcome<R>> {
  const command = [...(options.prefix ?? []), process.execPath, ...(options.nodeArgs ?? []), script, ...args];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((text) => text.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${command.join(' ')} ended with ${signal ?? `code ${code}`}${line ? '' : ' and no result'}\n--- stdout\n${stdout.slice(-4000)}\n--- stderr\n${stderr.slice(-4000)}`));
        return;
      }
      resolve({ result: JSON.parse(line.slice(RESULT_PREFIX.length)) as R, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}
