/**
 * Bounds the work of a RegExp delimiter over bytes a peer chose.
 *
 * A RegExp with catastrophic backtracking, such as `/(a+)+b/`, takes time
 * exponential in its input: 27 bytes of `a` held the JavaScript thread (and
 * so every connection and timer of the engine) for 7 s, 30 bytes for about
 * a minute. V8 has a linear-time RegExp engine it falls back to once a
 * match has backtracked too often (`--regexp-backtracks-before-fallback`,
 * default 50,000). The fallback is off by default; the package turns it on
 * when it loads, with `v8.setFlagsFromString`. Measured on Node 20 (V8
 * 11.3): 30 bytes then take about 1.3 ms, 64 KiB about 25 ms per match
 * attempt, and patterns that do not backtrack cost the same as before.
 *
 * What it covers, and what it does not:
 * - the flag is read when V8 compiles a RegExp, which happens on its first
 *   `exec`: a pattern first run after the package loaded is covered, even
 *   one created before; a pattern (same source and flags) already run
 *   before the package loaded keeps its compiled code and is not;
 * - V8's linear engine handles only part of the syntax. Backreferences
 *   (`\1`), lookahead and lookbehind, the `i` and `u` (or `v`) flags and
 *   large counted repetitions (`{1,1000}`) are not handled in V8 11.3, and
 *   a RegExp using them keeps backtracking without bound;
 * - the flag is process-wide, so it covers every RegExp of the program.
 *
 * A process started with either flag (`node --no-enable-experimental-...`,
 * or in `NODE_OPTIONS`) keeps its own choice.
 * @internal
 */
import { setFlagsFromString } from 'node:v8';

const FALLBACK_FLAG = '--enable-experimental-regexp-engine-on-excessive-backtracks';

/** Turns V8's linear-time fallback on, unless the process was started with a choice of its own. */
function enableLinearFallback(): void {
  const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (/regexp-engine-on-excessive-backtracks|regexp-backtracks-before-fallback/.test(given)) return;
  setFlagsFromString(FALLBACK_FLAG);
}

enableLinearFallback();
