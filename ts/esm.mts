/** The ES module entry: the same classes as the CommonJS entry (one copy, no dual-package hazard). */
export * from './index.js';
