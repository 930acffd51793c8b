// A Pants echo server for running out of file descriptors: the reliability
// test starts it under `prlimit --nofile=64:64` and drives it from outside.
//
//   prlimit --nofile=64:64 node build/__test__/stress/emfile-server.js
//
// It prints `listening PORT`, one `log LEVEL CODE` line per Engine.logger
// call (accept errors are logged with warn; each warn also prints
// `log text "..."` with what was logged), and obeys commands on stdin:
// `hog` opens /dev/null until the process is out of descriptors (`hogged N`),
// `free` closes them again (`freed N`), `fds` prints `fds N` (descriptors
// open), and `exit` closes the server and prints the result line.
import { closeSync, openSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Engine, Server, Stream } from 'pants-net';

import { printResult } from './common.js';

/** The error code of a log call: the `code` of an Error argument, or an `E...` code in its text. */
function codeOf(args: unknown[]): string {
  const error = args.find((arg): arg is NodeJS.ErrnoException => arg instanceof Error);
  if (error?.code) return error.code;
  return /\bE[A-Z]{3,}\b/.exec(args.filter((arg) => typeof arg === 'string').join(' '))?.[0] ?? 'none';
}

function main(): void {
  const counts = { accepted: 0, closes: 0, warnings: {} as Record<string, number>, errors: [] as string[] };
  Engine.logger = {
    ...console,
    warn: (...args: unknown[]) => {
      const code = codeOf(args);
      counts.warnings[code] = (counts.warnings[code] ?? 0) + 1;
      process.stdout.write(`log warn ${code}\n`);
      process.stdout.write(`log text ${JSON.stringify(args.map(String).join(' '))}\n`);
    },
    error: (...args: unknown[]) => {
      counts.errors.push(args.map(String).join(' '));
      process.stdout.write(`log error ${codeOf(args)}\n`);
    },
  };
  class Echo extends Stream {
    override onRead(data: Buffer): void {
      this.write(data);
    }
    override onClose(): void {
      counts.closes += 1;
    }
  }
  class Counting extends Server {
    override onAccept(): void {
      counts.accepted += 1;
    }
  }
  const engine = Engine.instance();
  void engine.start(0.05);
  const server = new Counting(Echo, { engine }).listen(['127.0.0.1', 0], 512);
  process.stdout.write(`listening ${(server.localAddress as [string, number])[1]}\n`);

  const hogged: number[] = [];
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    switch (line.trim()) {
      case 'hog':
        try {
          for (;;) hogged.push(openSync('/dev/null', 'r'));
        } catch (error) {
          process.stdout.write(`hogged ${hogged.length} ${(error as NodeJS.ErrnoException).code}\n`);
        }
        break;
      case 'free':
        process.stdout.write(`freed ${hogged.length}\n`);
        for (const fd of hogged.splice(0)) closeSync(fd);
        break;
      case 'fds':
        process.stdout.write(`fds ${readdirSync('/proc/self/fd').length}\n`);
        break;
      case 'exit':
        lines.close();
        process.stdin.destroy(); // a closed readline still holds a piped stdin open
        server.close();
        engine.callback(() => {
          engine.stop();
          printResult({ ...counts, channelsLeft: server.channels.size, listening: server.listening });
        });
        break;
    }
  });
}

main();
