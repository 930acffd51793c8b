// The echo logic of the benchmark servers: Pants stream classes, and the
// node:net (and node:tls) socket handlers written the way a careful user would.

import type * as net from 'node:net';

import { Stream } from 'pants-net';

const NEWLINE = 0x0a;

/** The memory every Pants echo stream reads into: done with each read once it is written back. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Echoes every read back as it comes. */
export class Echo extends Stream {
  override onConnect(): void {
    this.readBuffer = READ_BUFFER;
  }

  override onRead(data: Buffer): void {
    this.write(data);
  }
}

/** Echoes every read back, with an idle timeout on the stream: what that machinery costs. */
export class TimedEcho extends Echo {
  override onConnect(): void {
    super.onConnect();
    this.timeout = 60;
  }
}

/** Echoes '\n'-delimited lines. */
export class LineEcho extends Stream {
  override onConnect(): void {
    this.readBuffer = READ_BUFFER;
    this.readDelimiter = '\n';
  }

  override onRead(line: Buffer): void {
    this.write(line);
    this.write('\n');
  }
}

/** node:net: echoes every chunk back as it comes. */
export function rawEcho(socket: net.Socket): void {
  socket.on('data', (chunk: Buffer) => {
    socket.write(chunk);
  });
}

/** node:net: echoes '\n'-terminated lines, splitting them by hand, one write per line. */
export function lineEcho(socket: net.Socket): void {
  // Bytes after the last '\n' seen, waiting for the rest of their line.
  let pending: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let start = 0;
    for (;;) {
      const end = data.indexOf(NEWLINE, start);
      if (end < 0) break;
      // The line and its '\n' in one write: the cheapest way to send it
      // back, so the baseline is not handicapped by extra syscalls.
      socket.write(data.subarray(start, end + 1));
      start = end + 1;
    }
    if (start < data.length) {
      // Copy so the remainder doesn't pin the whole chunk.
      pending = Buffer.from(data.subarray(start));
    }
  });
}
