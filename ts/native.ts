/**
 * Loads the native engine: the locally built binary next to the package, or
 * the prebuilt one from the platform package (`pants-net-<platform>-<arch>[-<abi>]`).
 * @internal
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type * as Binding from './binding.js';

/** An address as the native side reports it. */
export type NativeAddress = Binding.AddressInfo;

/** Owns a native engine (crates/pants-node/src/native_engine.rs); the engine lives as long as this object. */
export type NativeEngine = Binding.NativeEngine;

/**
 * The calls made for every message and timer (crates/pants-node/src/functions/hot.rs):
 * plain N-API callbacks, for which napi-rs writes no types.
 */
interface HotFunctions {
  beginIteration(engine: number, expired: Uint32Array): number;
  takeExpiredTimers(engine: number, out: Uint32Array): number;
  pollIo(engine: number, timeoutMs: number, out: Int32Array): number;
  takeEvents(engine: number, out: Int32Array): number;
  scheduleTimer(engine: number, delayMs: number): number;
  cancelTimer(engine: number, key: number): boolean;
  latestPollTime(engine: number): number;
  readFrame(engine: number, token: number, out: Uint8Array, offset: number): number;
  readBody(engine: number, token: number, body: Uint8Array, offset: number): number;
  write(engine: number, token: number, data: Uint8Array): number;
  writeString(engine: number, token: number, data: string): number;
}

/**
 * The binding's engine functions, typed by the declarations napi-rs
 * generates from the Rust (`ts/binding.d.ts`, written by `npm run
 * build:native`) plus the hot calls. Each takes the engine's `id` first:
 * plain functions cross the boundary about 8x faster than napi-rs class methods.
 */
export type NativeFunctions = typeof Binding & HotFunctions;

function platformTag(): string {
  const { platform, arch } = process;
  if (platform === 'win32') return `${platform}-${arch}-msvc`;
  if (platform !== 'linux') return `${platform}-${arch}`;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  const abi = report?.header?.glibcVersionRuntime ? 'gnu' : 'musl';
  return `${platform}-${arch}-${abi}`;
}

function load(): NativeFunctions {
  const tag = platformTag();
  const local = join(__dirname, '..', `pants-net.${tag}.node`);
  if (existsSync(local)) return require(local);
  try {
    return require(`pants-net-${tag}`);
  } catch (cause) {
    throw new Error(
      `pants-net has no native binary for this platform (${tag}): install the optional package ` +
        `pants-net-${tag}, or build from source with Rust (npm run build:native).`,
      { cause },
    );
  }
}

/**
 * The functions, copied into an object of V8's fast kind: the addon's own
 * exports object holds its 65 properties in dictionary mode, where every
 * `native.readFrame` in optimized code is a generic property lookup (the
 * `LoadIC` builtin: 5.7% of a line echo's samples) instead of a constant.
 */
export const native: NativeFunctions = { ...load() };
