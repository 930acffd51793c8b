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
