/**
 * Loads the native engine: the locally built binary next to the package, or
 * the prebuilt one from the platform package (`pants-<platform>-<arch>[-<abi>]`).
 * @internal
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** An address as the native side reports it. */
export interface NativeAddress {
  host: string;
  port: number;
  flowinfo: number;
  scopeId: number;
  ipv6: boolean;
  path?: string | null;
}

/** The binding's engine class (crates/pants-node/src/native_engine.rs). */
export interface NativeEngine {
  start(iterate: () => number): void;
  stop(): void;
  wake(): void;
  beginIteration(): number;
  endIteration(): void;
  pollIo(timeoutMs: number, out: Int32Array): number;
  takeEvents(out: Int32Array): number;
  scheduleTimer(delayMs: number, id: number): void;
  cancelTimer(id: number): boolean;
  takeExpiredTimers(out: Uint32Array): number;
  nextTimerDelay(): number;
  timerCount(): number;
  channelCount(): number;
  listen(host: string, port: number, flowinfo: number, scopeId: number, backlog: number, v6Only: boolean, reusePort: boolean): number;
  listenUnix(path: string, backlog: number): number;
  connect(host: string, port: number, flowinfo: number, scopeId: number): number;
  connectUnix(path: string): number;
  fd(token: number): number;
  localAddress(token: number): NativeAddress | null;
  peerAddress(token: number): NativeAddress | null;
  setDelimiter(token: number, kind: number, count: number, sequence?: Uint8Array | null): void;
  setBufferSize(token: number, size: number): void;
  setNotifyDrain(token: number, on: boolean): void;
  setNoDelay(token: number, on: boolean): number;
  readFrame(token: number, out: Uint8Array, offset: number): number;
  peekInput(token: number, out: Uint8Array, offset: number): number;
  consumeInput(token: number, count: number): void;
  pendingInput(token: number): number;
  pendingOutput(token: number): number;
  write(token: number, data: Uint8Array): number;
  writeString(token: number, data: string): number;
  flush(token: number): void;
  close(token: number, flush: boolean): void;
  release(token: number): void;
}

/** Event kinds, as `pants-core`'s `EventKind`. */
export const enum EventKind {
  Accept = 1,
  Connect = 2,
  ConnectError = 3,
  Read = 4,
  Hangup = 5,
  Write = 6,
  Close = 7,
  ReadError = 8,
  WriteError = 9,
  AcceptError = 10,
}

/** Delimiter kinds of `setDelimiter`. */
export const enum DelimiterKind {
  Chunk = 0,
  Count = 1,
  Sequence = 2,
  External = 3,
}

/** `readFrame` / `peekInput` results below zero. */
export const FRAME_INCOMPLETE = -1;
export const FRAME_OVERFLOW = -2;
/** A result `r <= NEED_SPACE` means the frame needs `NEED_SPACE - r` bytes. */
export const NEED_SPACE = -3;

function platformTag(): string {
  const { platform, arch } = process;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const abi = report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
  return `${platform}-${arch}-${abi}`;
}

function load(): { NativeEngine: new () => NativeEngine } {
  const tag = platformTag();
  const local = join(__dirname, '..', `pants.${tag}.node`);
  if (existsSync(local)) return require(local);
  try {
    return require(`pants-${tag}`);
  } catch (cause) {
    throw new Error(
      `pants has no native binary for this platform (${tag}): install the optional package ` +
        `pants-${tag}, or build from source with Rust (npm run build:native).`,
      { cause },
    );
  }
}

export const binding = load();
