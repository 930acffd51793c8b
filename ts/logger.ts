/** Where the engine reports errors and diagnostics: `console` or anything shaped like it. */
export interface Logger {
  /** Exceptions thrown by callbacks, and the default error callbacks' errors. */
  error(...args: unknown[]): void;
  /** Trouble the engine works around, such as a failed accept. */
  warn(...args: unknown[]): void;
  /** Information. */
  info(...args: unknown[]): void;
  /** Traces, with `PANTS_DEBUG=1`. */
  debug(...args: unknown[]): void;
}

/** The logger in use: `Engine.logger` reads and assigns it. */
let current: Logger = console;

/** Where the engine reports errors and diagnostics now (`Engine.logger`). @internal */
export function logger(): Logger {
  return current;
}

/** Assigns `Engine.logger`. @internal */
export function setLogger(value: Logger): void {
  current = value;
}
