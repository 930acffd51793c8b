// HTTP client benchmark: pants-net's HTTPClient, undici and node:http's
// http.request with a keep-alive agent, each fetching from the same nginx
// (bench/nginx.sh, started here on the load-generator CPU) with a fixed
// number of requests in flight. Prints one JSON line: `value` (requests/s,
// or MB/s with --size 1m) and `cpuUsPerReq`, this process's CPU per request.
//
//   node build/bench/http-client.js --impl pants|undici|node [--size small|1m]
//        [--concurrency 50] [--duration 3] [--warmup 1]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Engine } from 'pants-net';
import { HTTPClient } from 'pants-net/http';
import { Agent, request as undiciRequest } from 'undici';

type Impl = 'pants' | 'undici' | 'node';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index >= 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const impl = argument('--impl', 'pants') as Impl;
const large = argument('--size', 'small') === '1m';
const concurrency = Number(argument('--concurrency', '50'));
const duration = Number(argument('--duration', '3'));
const warmup = Number(argument('--warmup', '1'));
if (!['pants', 'undici', 'node'].includes(impl)) {
  console.error('usage: http-client.js --impl pants|undici|node [--size small|1m] [--concurrency N] [--duration S] [--warmup S]');
  process.exit(2);
}

/** A response body of 1 MiB for --size 1m. */
const LARGE_BYTES = 1 << 20;
/** The CPU nginx runs on: the load generator's (the harness pins this script to the server's). */
const NGINX_CPU = '1';

/** Starts nginx serving `root` under /static/; resolves with its port and a stop function. */
async function startNginx(root: string): Promise<{ port: number; stop: () => void }> {
  const child = spawn('taskset', ['-c', NGINX_CPU, 'sh', join(__dirname, '..', '..', 'bench', 'nginx.sh'), root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`nginx.sh exited with ${code}`)));
  });
  // nginx prints nothing when ready: wait until it answers.
  const port = Number(line);
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await new Promise<boolean>((resolve) => {
      const probe = http.get({ host: '127.0.0.1', port, path: '/' }, (response) => {
        response.resume();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, stop: () => child.kill('SIGTERM') };
}

/** One request with the implementation under test: resolves with the body's length. */
function fetcher(url: string): { get: () => Promise<number>; close: () => Promise<void> } {
  switch (impl) {
    case 'pants': {
      const client = new HTTPClient({ maxSockets: concurrency });
      void Engine.instance().start();
      return {
        get: async () => (await client.get(url)).body.length,
        close: async () => {
          client.close();
          Engine.instance().stop();
        },
      };
    }
    case 'undici': {
      const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
      return {
        get: async () => {
          const { body } = await undiciRequest(url, { dispatcher });
          return (await body.arrayBuffer()).byteLength;
        },
        close: () => dispatcher.close(),
      };
    }
    case 'node': {
      const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
      return {
        get: () =>
          new Promise((resolve, reject) => {
            http
              .get(url, { agent }, (response) => {
                const chunks: Buffer[] = [];
                response.on('data', (chunk: Buffer) => chunks.push(chunk));
                response.on('end', () => resolve(Buffer.concat(chunks).length));
                response.on('error', reject);
              })
              .on('error', reject);
          }),
        close: async () => agent.destroy(),
      };
    }
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'pants-client-bench-'));
  writeFileSync(join(root, 'large.bin'), Buffer.alloc(LARGE_BYTES, 7));
  const nginx = await startNginx(root);
  const url = `http://127.0.0.1:${nginx.port}${large ? '/static/large.bin' : '/'}`;
  const { get, close } = fetcher(url);
  const expected = large ? LARGE_BYTES : 'Hello, World!\n'.length;
  let measuring = false;
  let stopped = false;
  let requests = 0;
  let bytes = 0;
  let failure: unknown = null;
  const worker = async (): Promise<void> => {
    while (!stopped) {
      const length = await get();
      if (length !== expected) throw new Error(`a body of ${length} bytes, expected ${expected}`);
      if (measuring) {
        requests += 1;
        bytes += length;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker().catch((error: unknown) => (failure ??= error)));
  await new Promise((resolve) => setTimeout(resolve, warmup * 1000));
  measuring = true;
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, duration * 1000));
  measuring = false;
  const cpu = process.cpuUsage(cpuBefore);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  stopped = true;
  await Promise.all(workers);
  await close();
  nginx.stop();
  rmSync(root, { recursive: true, force: true });
  if (failure !== null) throw failure;
  const value = large ? bytes / 1e6 / seconds : requests / seconds;
  process.stdout.write(`${JSON.stringify({ value, requests, seconds, cpuUsPerReq: (cpu.user + cpu.system) / requests })}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
